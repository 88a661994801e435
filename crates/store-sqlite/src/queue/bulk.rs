//! Bulk actions (retry, cancel, delete by ids or filter) and retention.

use super::*;

pub(crate) async fn retry(
    db: &SqliteStore,
    selector: JobSelector,
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut filter = selector_filter(&selector);
    filter.and("state IN ('failed', 'cancelled', 'pending')", []);
    // OR IGNORE: a job whose unique key another active job holds now stays where it is.
    let sql = format!(
        "UPDATE OR IGNORE jobs SET state = 'pending', run_at = ?, attempt = 0,
             finished_at = NULL, locked_by = NULL, lease_expires_at = NULL{}",
        filter.sql()
    );
    let mut tx = db.write().await?;
    let done = filter
        .bind(sqlx::query(AssertSqlSafe(sql)).bind(micros(now)))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done)
}

pub(crate) async fn cancel(
    db: &SqliteStore,
    selector: JobSelector,
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut filter = selector_filter(&selector);
    filter.and("state IN ('pending', 'running')", []);
    let sql = format!(
        "UPDATE jobs SET state = 'cancelled', finished_at = ?, lease_expires_at = NULL{}",
        filter.sql()
    );
    let mut tx = db.write().await?;
    let done = filter
        .bind(sqlx::query(AssertSqlSafe(sql)).bind(micros(now)))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done)
}

pub(crate) async fn delete(db: &SqliteStore, selector: JobSelector) -> Result<u64> {
    let mut filter = selector_filter(&selector);
    filter.and("state <> 'running'", []);
    let sql = format!("DELETE FROM jobs{}", filter.sql());
    let mut tx = db.write().await?;
    let done = filter
        .bind(sqlx::query(AssertSqlSafe(sql)))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done)
}

pub(crate) async fn prune(db: &SqliteStore, policy: RetentionPolicy) -> Result<PruneReport> {
    let now = policy.now;
    let mut tx = db.write().await?;
    let mut deleted = [0u64; 3];
    let rules = [
        ("completed", policy.completed_keep, policy.completed_max_age),
        ("failed", policy.failed_keep, policy.failed_max_age),
        ("cancelled", policy.failed_keep, policy.failed_max_age),
    ];
    for (slot, (state, keep, max_age)) in deleted.iter_mut().zip(rules) {
        let cutoff = now
            .checked_sub_signed(max_age)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        *slot = sqlx::query(
            "DELETE FROM jobs
             WHERE state = ?1 AND finished_at < ?2
               AND id NOT IN (SELECT id FROM jobs WHERE state = ?1
                              ORDER BY finished_at DESC, id DESC LIMIT ?3)",
        )
        .bind(state)
        .bind(micros(cutoff))
        .bind(i64::from(keep))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    }
    tx.commit().await.map_err(db_err)?;
    Ok(PruneReport {
        completed: deleted[0],
        failed: deleted[1],
        cancelled: deleted[2],
    })
}
