//! Account insight days (one value per metric and day, revised in place; every change
//! appends the earlier value to `account_insight_revisions`, by trigger) and the
//! latest demographic breakdowns.

use chrono::NaiveDate;
use store::{
    AccountId, AccountInsightBatch, AccountInsightDay, AccountInsightReading, Breakdown,
    DemographicBatch, DemographicValue, Result, StoreError, ValueSource,
};

use crate::SqliteStore;
use crate::accounts::ensure_exists;
use crate::error::{corrupt, db_err};
use crate::sql::{
    RowExt, check_finite, chunked_values, day, from_micros, json_texts, micros, parse_day,
};

// ----- account insights -----

pub(crate) async fn account_insights_apply(
    db: &SqliteStore,
    batch: AccountInsightBatch,
) -> Result<u64> {
    for row in &batch.rows {
        if row.metric.is_empty() {
            return Err(StoreError::invalid(
                "an account insight without a metric name",
            ));
        }
        check_finite(
            &format!("account insight {} on {}", row.metric, row.day),
            row.value,
        )?;
    }
    let account = batch.account_id;
    let fetched = micros(batch.fetched_at);
    let origin = &batch.origin;
    let mut tx = db.write().await?;
    ensure_exists(&mut tx, account).await?;
    // A fresher fetch replaces a day's value (the settling window); an older one does not.
    let written = chunked_values(
        &mut tx,
        "INSERT INTO account_insight_days
             (account_id, metric, day, breakdown, key, value, fetched_at, first_fetched_at,
              api_version, source)",
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "ON CONFLICT (account_id, metric, day, breakdown, key) DO UPDATE SET
             value = excluded.value, fetched_at = excluded.fetched_at,
             api_version = excluded.api_version, source = excluded.source
         WHERE excluded.fetched_at >= account_insight_days.fetched_at",
        &batch.rows,
        |q, r| {
            let (breakdown, key) = Breakdown::to_columns(r.breakdown.as_ref());
            q.bind(account.get())
                .bind(r.metric.clone())
                .bind(day(r.day))
                .bind(breakdown.to_owned())
                .bind(key.to_owned())
                .bind(r.value)
                .bind(fetched)
                .bind(fetched)
                .bind(origin.api_version.clone())
                .bind(origin.source.as_str())
        },
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(written)
}

/// Days of account insights, aggregated into one JSON text (a year of daily metrics with
/// breakdowns is tens of thousands of rows; see [`media_summaries`]) and ordered here.
pub(crate) async fn account_insight_days(
    db: &SqliteStore,
    account_id: AccountId,
    metrics: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<AccountInsightDay>> {
    // Named metrics are a condition of the key's index (with the days), so only their rows
    // are read; a test of an empty list beside them would make the index serve the account
    // alone and read every metric's days.
    let sql = if metrics.is_empty() {
        "SELECT json_group_array(json_array(metric, day, breakdown, key,
                    json(printf('%!.17g', value))))
         FROM account_insight_days
         WHERE account_id = ?1 AND day BETWEEN ?2 AND ?3"
    } else {
        "SELECT json_group_array(json_array(metric, day, breakdown, key,
                    json(printf('%!.17g', value))))
         FROM account_insight_days
         WHERE account_id = ?1 AND day BETWEEN ?2 AND ?3
           AND metric IN (SELECT value FROM json_each(?4))"
    };
    let mut query = sqlx::query_scalar(sql)
        .bind(account_id.get())
        .bind(day(from))
        .bind(day(to));
    if !metrics.is_empty() {
        query = query.bind(json_texts(metrics));
    }
    let text: String = query.fetch_one(&db.reader).await.map_err(db_err)?;
    let mut rows: Vec<(String, String, String, String, f64)> =
        serde_json::from_str(&text).map_err(|e| corrupt(format!("account insight days: {e}")))?;
    rows.sort_unstable_by(|a, b| (&a.0, &a.1, &a.2, &a.3).cmp(&(&b.0, &b.1, &b.2, &b.3)));
    rows.into_iter()
        .map(|(metric, d, breakdown, key, value)| {
            Ok(AccountInsightDay {
                metric,
                day: parse_day(&d)?,
                breakdown: Breakdown::from_columns(breakdown, key),
                value,
            })
        })
        .collect()
}

pub(crate) async fn account_insight_as_of(
    db: &SqliteStore,
    account_id: AccountId,
    metric: &str,
    from: NaiveDate,
    to: NaiveDate,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Vec<AccountInsightReading>> {
    let rows = sqlx::query(
        "WITH days AS (
             SELECT d.*, (SELECT r.revised_at FROM account_insight_revisions r
                          WHERE r.account_id = d.account_id AND r.metric = d.metric
                            AND r.day = d.day AND r.breakdown = d.breakdown AND r.key = d.key
                            AND r.revised_at > ?5
                          ORDER BY r.revised_at LIMIT 1) AS next_revision
             FROM account_insight_days d
             WHERE d.account_id = ?1 AND d.metric = ?2 AND d.day BETWEEN ?3 AND ?4
               AND coalesce(d.first_fetched_at, d.fetched_at) <= ?5)
         SELECT days.day, days.breakdown, days.key,
                coalesce(nr.previous_value, days.value) AS value,
                coalesce(nr.previous_fetched_at, days.fetched_at) AS fetched_at,
                CASE WHEN nr.revised_at IS NULL THEN days.api_version
                     ELSE nr.previous_api_version END AS api_version,
                CASE WHEN nr.revised_at IS NULL THEN days.source
                     ELSE nr.previous_source END AS source,
                coalesce(days.first_fetched_at, days.fetched_at) AS first_fetched_at,
                coalesce((SELECT r.previous_value FROM account_insight_revisions r
                          WHERE r.account_id = days.account_id AND r.metric = days.metric
                            AND r.day = days.day AND r.breakdown = days.breakdown
                            AND r.key = days.key
                          ORDER BY r.revised_at LIMIT 1), days.value) AS first_value,
                (SELECT count(*) FROM account_insight_revisions r
                 WHERE r.account_id = days.account_id AND r.metric = days.metric
                   AND r.day = days.day AND r.breakdown = days.breakdown AND r.key = days.key
                   AND r.revised_at <= ?5) AS revisions
         FROM days
         LEFT JOIN account_insight_revisions nr
           ON nr.account_id = days.account_id AND nr.metric = days.metric
          AND nr.day = days.day AND nr.breakdown = days.breakdown AND nr.key = days.key
          AND nr.revised_at = days.next_revision
         ORDER BY days.day, days.breakdown, days.key",
    )
    .bind(account_id.get())
    .bind(metric)
    .bind(day(from))
    .bind(day(to))
    .bind(as_of.map_or(i64::MAX, micros))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            let d: String = row.col("day")?;
            Ok(AccountInsightReading {
                day: parse_day(&d)?,
                breakdown: Breakdown::from_columns(row.col("breakdown")?, row.col("key")?),
                value: row.col("value")?,
                first_value: row.col("first_value")?,
                first_fetched_at: from_micros(row.col("first_fetched_at")?)?,
                fetched_at: from_micros(row.col("fetched_at")?)?,
                revisions: row.col("revisions")?,
                api_version: row.col("api_version")?,
                source: value_source(&row.col::<String>("source")?)?,
            })
        })
        .collect()
}

pub(crate) async fn account_insight_last_day(
    db: &SqliteStore,
    account_id: AccountId,
    metric: &str,
) -> Result<Option<NaiveDate>> {
    let last: Option<String> = sqlx::query_scalar(
        "SELECT max(day) FROM account_insight_days WHERE account_id = ? AND metric = ?",
    )
    .bind(account_id.get())
    .bind(metric)
    .fetch_one(&db.reader)
    .await
    .map_err(db_err)?;
    last.as_deref().map(crate::sql::parse_day).transpose()
}

pub(crate) async fn account_insight_oldest_read(
    db: &SqliteStore,
    account_id: AccountId,
    metric: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    let oldest: Option<i64> = sqlx::query_scalar(
        "SELECT min(fetched_at) FROM account_insight_days
         WHERE account_id = ? AND metric = ? AND day BETWEEN ? AND ? AND breakdown = ''",
    )
    .bind(account_id.get())
    .bind(metric)
    .bind(day(from))
    .bind(day(to))
    .fetch_one(&db.reader)
    .await
    .map_err(db_err)?;
    oldest.map(crate::sql::from_micros).transpose()
}

// ----- demographics -----

pub(crate) async fn demographics_apply(db: &SqliteStore, batch: DemographicBatch) -> Result<u64> {
    for row in &batch.rows {
        if row.metric.is_empty() {
            return Err(StoreError::invalid(
                "a demographic value without a metric name",
            ));
        }
        check_finite(
            &format!("demographic {} {} {}", row.metric, row.breakdown, row.key),
            row.value,
        )?;
    }
    let account = batch.account_id;
    let on = day(batch.captured_on);
    let origin = &batch.origin;
    let mut tx = db.write().await?;
    ensure_exists(&mut tx, account).await?;
    // Values equal to the newest row of their series (provenance included) confirm that
    // row on this day instead of appending one (`store::plan_snapshot_writes`); SQLite
    // takes the bare columns from the row of `max`.
    let newest_rows = sqlx::query(
        "SELECT metric, breakdown, timeframe, key, max(captured_on) AS captured_on, value,
                api_version, source
         FROM demographic_snapshots WHERE account_id = ?
         GROUP BY metric, breakdown, timeframe, key",
    )
    .bind(account.get())
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    type Series = (String, String, String, String);
    type Stored = (f64, Option<String>, String);
    let mut newest: std::collections::HashMap<Series, (NaiveDate, Stored)> =
        std::collections::HashMap::with_capacity(newest_rows.len());
    for row in &newest_rows {
        newest.insert(
            (
                row.col("metric")?,
                row.col("breakdown")?,
                row.col("timeframe")?,
                row.col("key")?,
            ),
            (
                row.day("captured_on")?,
                (
                    row.col("value")?,
                    row.col("api_version")?,
                    row.col("source")?,
                ),
            ),
        );
    }
    let incoming: Vec<(Series, NaiveDate, Stored)> = batch
        .rows
        .iter()
        .map(|r| {
            (
                (
                    r.metric.clone(),
                    r.breakdown.clone(),
                    r.timeframe.clone(),
                    r.key.clone(),
                ),
                batch.captured_on,
                (
                    r.value,
                    origin.api_version.clone(),
                    origin.source.as_str().to_string(),
                ),
            )
        })
        .collect();
    let plan = store::plan_snapshot_writes(newest, &incoming);
    let keys: Vec<(Series, NaiveDate)> = incoming.into_iter().map(|(k, d, _)| (k, d)).collect();
    let confirmed = store::confirmations(&keys, &plan);
    let mut written = chunked_values(
        &mut tx,
        "WITH v (account_id, metric, breakdown, timeframe, key, c, t) AS (",
        "(?, ?, ?, ?, ?, ?, ?)",
        ") UPDATE demographic_snapshots AS d SET confirmed_on = v.t FROM v
         WHERE d.account_id = v.account_id AND d.metric = v.metric AND d.breakdown = v.breakdown
           AND d.timeframe = v.timeframe AND d.key = v.key AND d.captured_on = v.c
           AND (d.confirmed_on IS NULL OR d.confirmed_on < v.t)",
        &confirmed,
        |q, ((m, b, tf, k), c, t)| {
            q.bind(account.get())
                .bind(m.clone())
                .bind(b.clone())
                .bind(tf.clone())
                .bind(k.clone())
                .bind(day(*c))
                .bind(day(*t))
        },
    )
    .await?;
    let appended: Vec<&DemographicValue> = batch
        .rows
        .iter()
        .zip(&plan)
        .filter(|(_, w)| **w == store::SnapshotWrite::Insert)
        .map(|(r, _)| r)
        .collect();
    written += chunked_values(
        &mut tx,
        "INSERT INTO demographic_snapshots
             (account_id, captured_on, metric, breakdown, timeframe, key, value, api_version,
              source)",
        "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "ON CONFLICT (account_id, captured_on, metric, breakdown, timeframe, key)
         DO UPDATE SET value = excluded.value, api_version = excluded.api_version,
             source = excluded.source",
        &appended,
        |q, r| {
            q.bind(account.get())
                .bind(on.clone())
                .bind(r.metric.clone())
                .bind(r.breakdown.clone())
                .bind(r.timeframe.clone())
                .bind(r.key.clone())
                .bind(r.value)
                .bind(origin.api_version.clone())
                .bind(origin.source.as_str())
        },
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(written)
}

pub(crate) async fn demographics_latest(
    db: &SqliteStore,
    account_id: AccountId,
) -> Result<Option<(NaiveDate, Vec<DemographicValue>)>> {
    let rows = sqlx::query(
        // The newest row of each series, where it still held at the account's last read
        // (its capture or its confirmation).
        "WITH newest AS (
             SELECT metric, breakdown, timeframe, key, max(captured_on) AS captured_on, value,
                    confirmed_on
             FROM demographic_snapshots WHERE account_id = ?1
             GROUP BY metric, breakdown, timeframe, key),
         last AS (SELECT max(coalesce(confirmed_on, captured_on)) AS d
                  FROM demographic_snapshots WHERE account_id = ?1)
         SELECT last.d AS captured_on, n.metric, n.breakdown, n.timeframe, n.key, n.value
         FROM newest n JOIN last ON coalesce(n.confirmed_on, n.captured_on) = last.d
         ORDER BY n.metric, n.breakdown, n.timeframe, n.key",
    )
    .bind(account_id.get())
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let on = first.day("captured_on")?;
    let values = rows
        .iter()
        .map(|row| {
            Ok(DemographicValue {
                metric: row.col("metric")?,
                breakdown: row.col("breakdown")?,
                timeframe: row.col("timeframe")?,
                key: row.col("key")?,
                value: row.col("value")?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Some((on, values)))
}

/// A stored `source`, as the store's type.
pub(crate) fn value_source(s: &str) -> Result<ValueSource> {
    ValueSource::parse(s).ok_or_else(|| corrupt(format!("unknown value source {s:?}")))
}
