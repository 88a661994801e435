//! Values Meta does not give, with their reasons (`missing_values`): upserted on their
//! natural key, removed once the value is present; and the metric catalog decisions learnt
//! from the API's refusals (`catalog_decisions`).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use store::{
    AccountId, MissingBatch, MissingKey, MissingKind, MissingReason, MissingValue, Result,
};

use super::account_exists;
use crate::accounts::get;
use crate::error::{corrupt, db};

fn day_text(d: Option<chrono::NaiveDate>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

pub(crate) async fn missing_apply(pool: &PgPool, batch: MissingBatch) -> Result<u64> {
    let account_id = batch.account_id;
    let (missing, present) = batch.last_words();
    let mut tx = pool.begin().await.map_err(db)?;
    account_exists(&mut tx, account_id).await?;
    let mut written = 0;
    if !missing.is_empty() {
        let kinds: Vec<&str> = missing.iter().map(|m| m.key.kind.as_str()).collect();
        let objects: Vec<&str> = missing.iter().map(|m| m.key.object_id.as_str()).collect();
        let days: Vec<String> = missing.iter().map(|m| day_text(m.key.day)).collect();
        let metrics: Vec<&str> = missing.iter().map(|m| m.key.metric.as_str()).collect();
        let timeframes: Vec<&str> = missing.iter().map(|m| m.key.timeframe.as_str()).collect();
        let breakdowns: Vec<&str> = missing.iter().map(|m| m.key.breakdown.as_str()).collect();
        let reasons: Vec<&str> = missing.iter().map(|m| m.reason.as_str()).collect();
        let dropped: Vec<Option<i64>> = missing.iter().map(|m| m.dropped).collect();
        let details: Vec<&str> = missing.iter().map(|m| m.detail.as_str()).collect();
        let since: Vec<DateTime<Utc>> = missing.iter().map(|m| m.since).collect();
        let checked: Vec<DateTime<Utc>> = missing.iter().map(|m| m.checked_at).collect();
        let retry: Vec<Option<DateTime<Utc>>> = missing.iter().map(|m| m.next_retry_at).collect();
        written += sqlx::query(
            "INSERT INTO missing_values
                 (account_id, kind, object_id, day, metric, timeframe, breakdown, reason,
                  dropped, detail, since, checked_at, next_retry_at)
             SELECT $1, u.k, u.o, u.d, u.m, u.t, u.b, u.r, u.x, u.e, u.s, u.c, u.n
             FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::text[], $9::int8[], $10::text[],
                         $11::timestamptz[], $12::timestamptz[], $13::timestamptz[])
                 AS u(k, o, d, m, t, b, r, x, e, s, c, n)
             ON CONFLICT (account_id, kind, object_id, day, metric, timeframe, breakdown)
             DO UPDATE SET
                 since = CASE WHEN missing_values.reason = EXCLUDED.reason
                              THEN LEAST(missing_values.since, EXCLUDED.since)
                              ELSE EXCLUDED.since END,
                 reason = EXCLUDED.reason,
                 dropped = EXCLUDED.dropped,
                 detail = EXCLUDED.detail,
                 checked_at = EXCLUDED.checked_at,
                 next_retry_at = EXCLUDED.next_retry_at",
        )
        .bind(account_id.get())
        .bind(&kinds)
        .bind(&objects)
        .bind(&days)
        .bind(&metrics)
        .bind(&timeframes)
        .bind(&breakdowns)
        .bind(&reasons)
        .bind(&dropped)
        .bind(&details)
        .bind(&since)
        .bind(&checked)
        .bind(&retry)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
    }
    if !present.is_empty() {
        let kinds: Vec<&str> = present.iter().map(|k| k.kind.as_str()).collect();
        let objects: Vec<&str> = present.iter().map(|k| k.object_id.as_str()).collect();
        let days: Vec<String> = present.iter().map(|k| day_text(k.day)).collect();
        let metrics: Vec<&str> = present.iter().map(|k| k.metric.as_str()).collect();
        let timeframes: Vec<&str> = present.iter().map(|k| k.timeframe.as_str()).collect();
        let breakdowns: Vec<&str> = present.iter().map(|k| k.breakdown.as_str()).collect();
        written += sqlx::query(
            "DELETE FROM missing_values AS v
             USING UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                          $7::text[]) AS u(k, o, d, m, t, b)
             WHERE v.account_id = $1 AND v.kind = u.k AND v.object_id = u.o AND v.day = u.d
               AND v.metric = u.m AND v.timeframe = u.t AND v.breakdown = u.b",
        )
        .bind(account_id.get())
        .bind(&kinds)
        .bind(&objects)
        .bind(&days)
        .bind(&metrics)
        .bind(&timeframes)
        .bind(&breakdowns)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
    }
    tx.commit().await.map_err(db)?;
    Ok(written)
}

pub(crate) async fn missing_list(
    pool: &PgPool,
    account_id: AccountId,
    kinds: &[MissingKind],
) -> Result<Vec<MissingValue>> {
    let kinds = MissingKind::names_or_all(kinds);
    let rows = sqlx::query(
        "SELECT kind, object_id, day, metric, timeframe, breakdown, reason, dropped, detail,
                since, checked_at, next_retry_at
         FROM missing_values
         WHERE account_id = $1 AND kind = ANY($2::text[])
         ORDER BY kind COLLATE \"C\", object_id COLLATE \"C\", day COLLATE \"C\",
                  metric COLLATE \"C\", timeframe COLLATE \"C\", breakdown COLLATE \"C\"",
    )
    .bind(account_id.get())
    .bind(&kinds)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|row| {
            let kind: String = get(row, "kind")?;
            let reason: String = get(row, "reason")?;
            let day: String = get(row, "day")?;
            Ok(MissingValue {
                key: MissingKey {
                    kind: MissingKind::parse(&kind)
                        .ok_or_else(|| corrupt(format!("missing kind {kind:?}")))?,
                    object_id: get(row, "object_id")?,
                    day: if day.is_empty() {
                        None
                    } else {
                        Some(
                            chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                                .map_err(|_| corrupt(format!("day {day:?}")))?,
                        )
                    },
                    metric: get(row, "metric")?,
                    timeframe: get(row, "timeframe")?,
                    breakdown: get(row, "breakdown")?,
                },
                reason: MissingReason::parse(&reason)
                    .ok_or_else(|| corrupt(format!("missing reason {reason:?}")))?,
                dropped: get(row, "dropped")?,
                detail: get(row, "detail")?,
                since: get(row, "since")?,
                checked_at: get(row, "checked_at")?,
                next_retry_at: get(row, "next_retry_at")?,
            })
        })
        .collect()
}

pub(crate) async fn catalog_decisions_record(
    pool: &PgPool,
    decisions: Vec<store::CatalogDecisionRecord>,
) -> Result<u64> {
    if decisions.is_empty() {
        return Ok(0);
    }
    let versions: Vec<&str> = decisions.iter().map(|d| d.api_version.as_str()).collect();
    let logins: Vec<&str> = decisions.iter().map(|d| d.login.as_str()).collect();
    let scopes: Vec<&str> = decisions.iter().map(|d| d.scope.as_str()).collect();
    let metrics: Vec<&str> = decisions.iter().map(|d| d.metric.as_str()).collect();
    let reasons: Vec<&str> = decisions.iter().map(|d| d.reason.as_str()).collect();
    let at: Vec<DateTime<Utc>> = decisions.iter().map(|d| d.decided_at).collect();
    let done = sqlx::query(
        "INSERT INTO catalog_decisions (api_version, login, scope, metric, reason, decided_at)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                              $6::timestamptz[])
         ON CONFLICT (api_version, login, scope, metric) DO NOTHING",
    )
    .bind(&versions)
    .bind(&logins)
    .bind(&scopes)
    .bind(&metrics)
    .bind(&reasons)
    .bind(&at)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(done.rows_affected())
}

pub(crate) async fn catalog_decisions_list(
    pool: &PgPool,
) -> Result<Vec<store::CatalogDecisionRecord>> {
    let rows = sqlx::query(
        "SELECT api_version, login, scope, metric, reason, decided_at FROM catalog_decisions
         ORDER BY api_version COLLATE \"C\", login COLLATE \"C\", scope COLLATE \"C\",
                  metric COLLATE \"C\"",
    )
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|row| {
            Ok(store::CatalogDecisionRecord {
                api_version: get(row, "api_version")?,
                login: get(row, "login")?,
                scope: get(row, "scope")?,
                metric: get(row, "metric")?,
                reason: get(row, "reason")?,
                decided_at: get(row, "decided_at")?,
            })
        })
        .collect()
}
