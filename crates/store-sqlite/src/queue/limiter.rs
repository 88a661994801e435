//! The global start limiter: a sliding window shared by all workers.

use super::*;

pub(crate) async fn rate_limit_acquire(
    db: &SqliteStore,
    name: &str,
    limit: u32,
    window: Duration,
    now: DateTime<Utc>,
) -> Result<RateDecision> {
    if window <= Duration::zero() {
        return Err(StoreError::invalid(format!(
            "the window of rate limit {name:?} must be positive"
        )));
    }
    let since = micros(now) - window.num_microseconds().unwrap_or(i64::MAX / 2);
    let mut tx = db.write().await?;
    sqlx::query("DELETE FROM rate_limit_grants WHERE name = ? AND granted_at <= ?")
        .bind(name)
        .bind(since)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    let row = sqlx::query(
        "SELECT count(*) AS n, min(granted_at) AS oldest FROM rate_limit_grants WHERE name = ?",
    )
    .bind(name)
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let granted: i64 = row.col("n")?;
    let decision = if granted < i64::from(limit) {
        sqlx::query("INSERT INTO rate_limit_grants (name, granted_at) VALUES (?, ?)")
            .bind(name)
            .bind(micros(now))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        RateDecision::Granted
    } else {
        let oldest = row.time_opt("oldest")?.unwrap_or(now);
        RateDecision::RetryAt(oldest + window)
    };
    tx.commit().await.map_err(db_err)?;
    Ok(decision)
}
