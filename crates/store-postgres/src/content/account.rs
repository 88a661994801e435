//! Account insight days (one value per metric and day, revised in place; every change
//! appends the earlier value to `account_insight_revisions`, by trigger) and the
//! latest demographic breakdowns.

use chrono::NaiveDate;
use sqlx::{PgPool, Row};
use store::{
    AccountId, AccountInsightBatch, AccountInsightDay, AccountInsightReading, Breakdown,
    DemographicBatch, DemographicValue, Result, ValueSource,
};

use crate::accounts::get;
use crate::error::db;

use super::media::dedup_last;
use super::{account_exists, check_finite};

// ----- account insights and demographics -----

/// The newest stored row of a demographic series: metric, breakdown, timeframe, key,
/// captured_on, value, api_version, source.
type DemographicRow = (
    String,
    String,
    String,
    String,
    NaiveDate,
    f64,
    Option<String>,
    String,
);

pub(crate) async fn account_insights_apply(
    pool: &PgPool,
    batch: AccountInsightBatch,
) -> Result<u64> {
    check_finite(batch.rows.iter().map(|r| r.value), "account insight")?;
    let rows = dedup_last(batch.rows, |r| {
        (r.metric.clone(), r.day, r.breakdown.clone())
    });
    let mut tx = pool.begin().await.map_err(db)?;
    account_exists(&mut tx, batch.account_id).await?;
    if rows.is_empty() {
        tx.commit().await.map_err(db)?;
        return Ok(0);
    }
    let metrics: Vec<&str> = rows.iter().map(|r| r.metric.as_str()).collect();
    let days: Vec<NaiveDate> = rows.iter().map(|r| r.day).collect();
    let (breakdowns, keys): (Vec<&str>, Vec<&str>) = rows
        .iter()
        .map(|r| Breakdown::to_columns(r.breakdown.as_ref()))
        .unzip();
    let values: Vec<f64> = rows.iter().map(|r| r.value).collect();
    let done = sqlx::query(
        "INSERT INTO account_insight_days
             (account_id, metric, day, breakdown, key, value, fetched_at, first_fetched_at,
              api_version, source)
         SELECT $1, u.m, u.d, u.b, u.k, u.v, $2, $2, $8, $9
         FROM UNNEST($3::text[], $4::date[], $5::text[], $6::text[], $7::float8[])
             AS u(m, d, b, k, v)
         ON CONFLICT (account_id, metric, day, breakdown, key) DO UPDATE
             SET value = EXCLUDED.value, fetched_at = EXCLUDED.fetched_at,
                 api_version = EXCLUDED.api_version, source = EXCLUDED.source
             WHERE account_insight_days.fetched_at < EXCLUDED.fetched_at
                OR (account_insight_days.fetched_at = EXCLUDED.fetched_at
                    AND account_insight_days.value IS DISTINCT FROM EXCLUDED.value)",
    )
    .bind(batch.account_id.get())
    .bind(batch.fetched_at)
    .bind(&metrics)
    .bind(&days)
    .bind(&breakdowns)
    .bind(&keys)
    .bind(&values)
    .bind(&batch.origin.api_version)
    .bind(batch.origin.source.as_str())
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(done.rows_affected())
}

/// Days of account insights, ordered here (see [`media_insight_history`]).
pub(crate) async fn account_insight_days(
    pool: &PgPool,
    account_id: AccountId,
    metrics: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<AccountInsightDay>> {
    // Named metrics are a condition of the key's index (with the days), so only their rows
    // are read; a test of an empty list beside them would make the index serve the account
    // alone and read every metric's days.
    let sql = if metrics.is_empty() {
        "SELECT metric, day, breakdown, key, value FROM account_insight_days
         WHERE account_id = $1 AND day >= $2 AND day <= $3"
    } else {
        "SELECT metric, day, breakdown, key, value FROM account_insight_days
         WHERE account_id = $1 AND day >= $2 AND day <= $3 AND metric = ANY($4)"
    };
    let mut query = sqlx::query(sql).bind(account_id.get()).bind(from).bind(to);
    if !metrics.is_empty() {
        query = query.bind(metrics);
    }
    let rows = query.fetch_all(pool).await.map_err(db)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(AccountInsightDay {
            metric: row.try_get(0).map_err(db)?,
            day: row.try_get(1).map_err(db)?,
            breakdown: Breakdown::from_columns(
                row.try_get(2).map_err(db)?,
                row.try_get(3).map_err(db)?,
            ),
            value: row.try_get(4).map_err(db)?,
        });
    }
    out.sort_unstable_by(|a, b| {
        (&a.metric, a.day, &a.breakdown).cmp(&(&b.metric, b.day, &b.breakdown))
    });
    Ok(out)
}

pub(crate) async fn account_insight_as_of(
    pool: &PgPool,
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
                            AND $5::timestamptz IS NOT NULL AND r.revised_at > $5
                          ORDER BY r.revised_at LIMIT 1) AS next_revision
             FROM account_insight_days d
             WHERE d.account_id = $1 AND d.metric = $2 AND d.day >= $3 AND d.day <= $4
               AND ($5::timestamptz IS NULL OR coalesce(d.first_fetched_at, d.fetched_at) <= $5))
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
                   AND ($5::timestamptz IS NULL OR r.revised_at <= $5)) AS revisions
         FROM days
         LEFT JOIN account_insight_revisions nr
           ON nr.account_id = days.account_id AND nr.metric = days.metric
          AND nr.day = days.day AND nr.breakdown = days.breakdown AND nr.key = days.key
          AND nr.revised_at = days.next_revision
         ORDER BY days.day, days.breakdown COLLATE \"C\", days.key COLLATE \"C\"",
    )
    .bind(account_id.get())
    .bind(metric)
    .bind(from)
    .bind(to)
    .bind(as_of)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|row| {
            Ok(AccountInsightReading {
                day: get(row, "day")?,
                breakdown: Breakdown::from_columns(get(row, "breakdown")?, get(row, "key")?),
                value: get(row, "value")?,
                first_value: get(row, "first_value")?,
                first_fetched_at: get(row, "first_fetched_at")?,
                fetched_at: get(row, "fetched_at")?,
                revisions: get(row, "revisions")?,
                api_version: get(row, "api_version")?,
                source: value_source(&get::<String>(row, "source")?)?,
            })
        })
        .collect()
}

pub(crate) async fn account_insight_last_day(
    pool: &PgPool,
    account_id: AccountId,
    metric: &str,
) -> Result<Option<NaiveDate>> {
    sqlx::query_scalar(
        "SELECT max(day) FROM account_insight_days WHERE account_id = $1 AND metric = $2",
    )
    .bind(account_id.get())
    .bind(metric)
    .fetch_one(pool)
    .await
    .map_err(db)
}

pub(crate) async fn account_insight_oldest_read(
    pool: &PgPool,
    account_id: AccountId,
    metric: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    sqlx::query_scalar(
        "SELECT min(fetched_at) FROM account_insight_days
         WHERE account_id = $1 AND metric = $2 AND day >= $3 AND day <= $4 AND breakdown = ''",
    )
    .bind(account_id.get())
    .bind(metric)
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await
    .map_err(db)
}

pub(crate) async fn account_insight_freshness(
    pool: &PgPool,
    account_id: AccountId,
    metric: &str,
    day: NaiveDate,
) -> Result<(Option<NaiveDate>, Option<chrono::DateTime<chrono::Utc>>)> {
    sqlx::query_as(
        "SELECT (SELECT max(day) FROM account_insight_days WHERE account_id = $1 AND metric = $2),
             (SELECT min(fetched_at) FROM account_insight_days
              WHERE account_id = $1 AND metric = $2 AND day = $3 AND breakdown = '')",
    )
    .bind(account_id.get())
    .bind(metric)
    .bind(day)
    .fetch_one(pool)
    .await
    .map_err(db)
}

pub(crate) async fn demographics_apply(pool: &PgPool, batch: DemographicBatch) -> Result<u64> {
    check_finite(batch.rows.iter().map(|r| r.value), "demographic")?;
    let rows = dedup_last(batch.rows, |r| {
        (
            r.metric.clone(),
            r.breakdown.clone(),
            r.timeframe.clone(),
            r.key.clone(),
        )
    });
    let mut tx = pool.begin().await.map_err(db)?;
    account_exists(&mut tx, batch.account_id).await?;
    if rows.is_empty() {
        tx.commit().await.map_err(db)?;
        return Ok(0);
    }
    // Values equal to the newest row of their series (provenance included) confirm that
    // row on this day instead of appending one (`store::plan_snapshot_writes`).
    let newest: Vec<DemographicRow> = sqlx::query_as(
        "SELECT DISTINCT ON (metric, breakdown, timeframe, key)
                 metric, breakdown, timeframe, key, captured_on, value, api_version, source
             FROM demographic_snapshots WHERE account_id = $1
             ORDER BY metric, breakdown, timeframe, key, captured_on DESC",
    )
    .bind(batch.account_id.get())
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;
    let source = batch.origin.source.as_str();
    let version = batch.origin.api_version.as_deref();
    let incoming: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                (
                    r.metric.as_str(),
                    r.breakdown.as_str(),
                    r.timeframe.as_str(),
                    r.key.as_str(),
                ),
                batch.captured_on,
                (r.value, version, source),
            )
        })
        .collect();
    let plan = store::plan_snapshot_writes(
        newest
            .iter()
            .map(|(m, b, t, k, on, v, a, src)| {
                (
                    (m.as_str(), b.as_str(), t.as_str(), k.as_str()),
                    (*on, (*v, a.as_deref(), src.as_str())),
                )
            })
            .collect(),
        &incoming,
    );
    let keys: Vec<_> = incoming.iter().map(|(k, on, _)| (*k, *on)).collect();
    let confirmed = store::confirmations(&keys, &plan);
    let mut written = 0;
    if !confirmed.is_empty() {
        let done = sqlx::query(
            "UPDATE demographic_snapshots AS s SET confirmed_on = u.t
             FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::date[], $7::date[])
                 AS u(m, b, tf, k, c, t)
             WHERE s.account_id = $1 AND s.metric = u.m AND s.breakdown = u.b
               AND s.timeframe = u.tf AND s.key = u.k AND s.captured_on = u.c
               AND (s.confirmed_on IS NULL OR s.confirmed_on < u.t)",
        )
        .bind(batch.account_id.get())
        .bind(confirmed.iter().map(|c| c.0.0).collect::<Vec<_>>())
        .bind(confirmed.iter().map(|c| c.0.1).collect::<Vec<_>>())
        .bind(confirmed.iter().map(|c| c.0.2).collect::<Vec<_>>())
        .bind(confirmed.iter().map(|c| c.0.3).collect::<Vec<_>>())
        .bind(confirmed.iter().map(|c| c.1).collect::<Vec<_>>())
        .bind(confirmed.iter().map(|c| c.2).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        written += done.rows_affected();
    }
    let rows: Vec<&DemographicValue> = rows
        .iter()
        .zip(&plan)
        .filter(|(_, w)| **w == store::SnapshotWrite::Insert)
        .map(|(r, _)| r)
        .collect();
    if rows.is_empty() {
        tx.commit().await.map_err(db)?;
        return Ok(written);
    }
    let metrics: Vec<&str> = rows.iter().map(|r| r.metric.as_str()).collect();
    let breakdowns: Vec<&str> = rows.iter().map(|r| r.breakdown.as_str()).collect();
    let timeframes: Vec<&str> = rows.iter().map(|r| r.timeframe.as_str()).collect();
    let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    let values: Vec<f64> = rows.iter().map(|r| r.value).collect();
    let done = sqlx::query(
        "INSERT INTO demographic_snapshots
             (account_id, captured_on, metric, breakdown, timeframe, key, value, api_version,
              source)
         SELECT $1, $2, u.m, u.b, u.t, u.k, u.v, $8, $9
         FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::float8[])
             AS u(m, b, t, k, v)
         ON CONFLICT (account_id, captured_on, metric, breakdown, timeframe, key) DO UPDATE
             SET value = EXCLUDED.value, api_version = EXCLUDED.api_version,
                 source = EXCLUDED.source
             WHERE demographic_snapshots.value IS DISTINCT FROM EXCLUDED.value
                OR demographic_snapshots.api_version IS DISTINCT FROM EXCLUDED.api_version
                OR demographic_snapshots.source IS DISTINCT FROM EXCLUDED.source",
    )
    .bind(batch.account_id.get())
    .bind(batch.captured_on)
    .bind(&metrics)
    .bind(&breakdowns)
    .bind(&timeframes)
    .bind(&keys)
    .bind(&values)
    .bind(&batch.origin.api_version)
    .bind(batch.origin.source.as_str())
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(written + done.rows_affected())
}

pub(crate) async fn demographics_latest(
    pool: &PgPool,
    account_id: AccountId,
) -> Result<Option<(NaiveDate, Vec<DemographicValue>)>> {
    let rows = sqlx::query(
        // The newest row of each series, where it still held at the account's last read
        // (its capture or its confirmation).
        "WITH last AS (
             SELECT max(coalesce(confirmed_on, captured_on)) AS d
             FROM demographic_snapshots WHERE account_id = $1),
         newest AS (
             SELECT DISTINCT ON (metric, breakdown, timeframe, key)
                 metric, breakdown, timeframe, key, value,
                 coalesce(confirmed_on, captured_on) AS held_on
             FROM demographic_snapshots WHERE account_id = $1
             ORDER BY metric, breakdown, timeframe, key, captured_on DESC)
         SELECT last.d AS captured_on, n.metric, n.breakdown, n.timeframe, n.key, n.value
         FROM newest n JOIN last ON n.held_on = last.d
         ORDER BY n.metric, n.breakdown, n.timeframe, n.key",
    )
    .bind(account_id.get())
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let day: NaiveDate = get(first, "captured_on")?;
    let values = rows
        .iter()
        .map(|r| {
            Ok(DemographicValue {
                metric: get(r, "metric")?,
                breakdown: get(r, "breakdown")?,
                timeframe: get(r, "timeframe")?,
                key: get(r, "key")?,
                value: get(r, "value")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some((day, values)))
}

/// A stored `source`, as the store's type.
pub(crate) fn value_source(s: &str) -> Result<ValueSource> {
    ValueSource::parse(s)
        .ok_or_else(|| crate::error::corrupt(format!("unknown value source {s:?}")))
}
