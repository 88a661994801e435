//! Values Meta does not give, with their reasons (`missing_values`): upserted on their
//! natural key, removed once the value is present; and the metric catalog decisions learnt
//! from the API's refusals (`catalog_decisions`).

use store::{
    AccountId, MissingBatch, MissingKey, MissingKind, MissingReason, MissingValue, Result,
};

use crate::SqliteStore;
use crate::accounts::ensure_exists;
use crate::error::{corrupt, db_err};
use crate::sql::{RowExt, chunked_values, day, from_micros, json_texts, micros, parse_day};

fn day_text(d: Option<chrono::NaiveDate>) -> String {
    d.map(day).unwrap_or_default()
}

pub(crate) async fn missing_apply(db: &SqliteStore, batch: MissingBatch) -> Result<u64> {
    let account = batch.account_id;
    let (missing, present) = batch.last_words();
    let mut tx = db.write().await?;
    ensure_exists(&mut tx, account).await?;
    let mut written = chunked_values(
        &mut tx,
        "INSERT INTO missing_values
             (account_id, kind, object_id, day, metric, timeframe, breakdown, reason, dropped,
              detail, since, checked_at, next_retry_at)",
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "ON CONFLICT (account_id, kind, object_id, day, metric, timeframe, breakdown)
         DO UPDATE SET
             since = CASE WHEN missing_values.reason = excluded.reason
                          THEN min(missing_values.since, excluded.since)
                          ELSE excluded.since END,
             reason = excluded.reason,
             dropped = excluded.dropped,
             detail = excluded.detail,
             checked_at = excluded.checked_at,
             next_retry_at = excluded.next_retry_at",
        &missing,
        |q, m| {
            q.bind(account.get())
                .bind(m.key.kind.as_str())
                .bind(m.key.object_id.clone())
                .bind(day_text(m.key.day))
                .bind(m.key.metric.clone())
                .bind(m.key.timeframe.clone())
                .bind(m.key.breakdown.clone())
                .bind(m.reason.as_str())
                .bind(m.dropped)
                .bind(m.detail.clone())
                .bind(micros(m.since))
                .bind(micros(m.checked_at))
                .bind(m.next_retry_at.map(micros))
        },
    )
    .await?;
    if !present.is_empty() {
        // One JSON array of key tuples, matched with json_each.
        let keys: Vec<String> = present
            .iter()
            .map(|k| {
                serde_json::json!([
                    k.kind.as_str(),
                    k.object_id,
                    day_text(k.day),
                    k.metric,
                    k.timeframe,
                    k.breakdown
                ])
                .to_string()
            })
            .collect();
        written += sqlx::query(
            "DELETE FROM missing_values
             WHERE account_id = ?1
               AND EXISTS (SELECT 1 FROM json_each(?2) AS j
                           WHERE json_extract(j.value, '$[0]') = missing_values.kind
                             AND json_extract(j.value, '$[1]') = missing_values.object_id
                             AND json_extract(j.value, '$[2]') = missing_values.day
                             AND json_extract(j.value, '$[3]') = missing_values.metric
                             AND json_extract(j.value, '$[4]') = missing_values.timeframe
                             AND json_extract(j.value, '$[5]') = missing_values.breakdown)",
        )
        .bind(account.get())
        .bind(format!("[{}]", keys.join(",")))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    }
    tx.commit().await.map_err(db_err)?;
    Ok(written)
}

pub(crate) async fn missing_list(
    db: &SqliteStore,
    account_id: AccountId,
    kinds: &[MissingKind],
) -> Result<Vec<MissingValue>> {
    let kinds = MissingKind::names_or_all(kinds);
    let rows = sqlx::query(
        "SELECT kind, object_id, day, metric, timeframe, breakdown, reason, dropped, detail,
                since, checked_at, next_retry_at
         FROM missing_values
         WHERE account_id = ?1 AND kind IN (SELECT value FROM json_each(?2))
         ORDER BY kind, object_id, day, metric, timeframe, breakdown",
    )
    .bind(account_id.get())
    .bind(json_texts(&kinds))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            let kind: String = row.col("kind")?;
            let reason: String = row.col("reason")?;
            let day: String = row.col("day")?;
            let retry: Option<i64> = row.col("next_retry_at")?;
            Ok(MissingValue {
                key: MissingKey {
                    kind: MissingKind::parse(&kind)
                        .ok_or_else(|| corrupt(format!("missing kind {kind:?}")))?,
                    object_id: row.col("object_id")?,
                    day: if day.is_empty() {
                        None
                    } else {
                        Some(parse_day(&day)?)
                    },
                    metric: row.col("metric")?,
                    timeframe: row.col("timeframe")?,
                    breakdown: row.col("breakdown")?,
                },
                reason: MissingReason::parse(&reason)
                    .ok_or_else(|| corrupt(format!("missing reason {reason:?}")))?,
                dropped: row.col("dropped")?,
                detail: row.col("detail")?,
                since: from_micros(row.col("since")?)?,
                checked_at: from_micros(row.col("checked_at")?)?,
                next_retry_at: retry.map(from_micros).transpose()?,
            })
        })
        .collect()
}

pub(crate) async fn catalog_decisions_record(
    db: &SqliteStore,
    decisions: Vec<store::CatalogDecisionRecord>,
) -> Result<u64> {
    if decisions.is_empty() {
        return Ok(0);
    }
    let mut tx = db.write().await?;
    let written = chunked_values(
        &mut tx,
        "INSERT INTO catalog_decisions
             (api_version, login, scope, metric, reason, decided_at)",
        "(?, ?, ?, ?, ?, ?)",
        "ON CONFLICT (api_version, login, scope, metric) DO NOTHING",
        &decisions,
        |q, d| {
            q.bind(d.api_version.clone())
                .bind(d.login.clone())
                .bind(d.scope.clone())
                .bind(d.metric.clone())
                .bind(d.reason.clone())
                .bind(micros(d.decided_at))
        },
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(written)
}

pub(crate) async fn catalog_decisions_list(
    db: &SqliteStore,
) -> Result<Vec<store::CatalogDecisionRecord>> {
    let rows = sqlx::query(
        "SELECT api_version, login, scope, metric, reason, decided_at FROM catalog_decisions
         ORDER BY api_version, login, scope, metric",
    )
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            Ok(store::CatalogDecisionRecord {
                api_version: row.col("api_version")?,
                login: row.col("login")?,
                scope: row.col("scope")?,
                metric: row.col("metric")?,
                reason: row.col("reason")?,
                decided_at: from_micros(row.col("decided_at")?)?,
            })
        })
        .collect()
}
