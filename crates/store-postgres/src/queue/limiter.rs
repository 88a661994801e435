//! The global start limiter: a sliding window shared by all workers.

use super::*;

pub(crate) async fn rate_limit_acquire(
    pool: &PgPool,
    name: &str,
    limit: u32,
    window: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<RateDecision> {
    if window <= chrono::Duration::zero() {
        return Err(StoreError::invalid("a rate limit window must be positive"));
    }
    let since = now
        .checked_sub_signed(window)
        .ok_or_else(|| StoreError::invalid("rate limit window out of range"))?;
    let mut tx = pool.begin().await.map_err(db)?;
    // Serializes callers of this limiter across every process.
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(LOCK_NAMESPACE)
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    sqlx::query("DELETE FROM rate_limit_grants WHERE name = $1 AND granted_at <= $2")
        .bind(name)
        .bind(since)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let (count, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT count(*), min(granted_at) FROM rate_limit_grants
         WHERE name = $1 AND granted_at > $2",
    )
    .bind(name)
    .bind(since)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    let decision = if count < i64::from(limit) {
        sqlx::query("INSERT INTO rate_limit_grants (name, granted_at) VALUES ($1, $2)")
            .bind(name)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        RateDecision::Granted
    } else {
        RateDecision::RetryAt(oldest.unwrap_or(now) + window)
    };
    tx.commit().await.map_err(db)?;
    Ok(decision)
}
