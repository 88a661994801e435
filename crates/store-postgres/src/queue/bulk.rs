//! Bulk actions (retry, cancel, delete by ids or filter) and retention.

use super::*;

pub(crate) async fn retry(pool: &PgPool, selector: JobSelector, now: DateTime<Utc>) -> Result<u64> {
    // Newest job per unique key only, and only when no active job holds the key (a
    // pending job already holds its own).
    let mut b: QueryBuilder<Postgres> =
        QueryBuilder::new("UPDATE jobs SET state = 'pending', run_at = ");
    b.push_bind(now).push(
        ", attempt = 0, finished_at = NULL, locked_by = NULL, lease_expires_at = NULL, \
         progress = NULL, result = NULL \
         WHERE id IN (SELECT DISTINCT ON (j.unique_key, \
             CASE WHEN j.unique_key IS NULL THEN j.id END) j.id \
         FROM jobs j WHERE j.state IN ('pending', 'failed', 'cancelled') \
           AND (j.unique_key IS NULL OR j.state = 'pending' OR NOT EXISTS ( \
               SELECT 1 FROM jobs o WHERE o.unique_key = j.unique_key \
                 AND o.state IN ('pending', 'running')))",
    );
    push_selector(&mut b, &selector);
    b.push(" ORDER BY j.unique_key, CASE WHEN j.unique_key IS NULL THEN j.id END, j.id DESC)");
    let done = b.build().execute(pool).await.map_err(db)?;
    Ok(done.rows_affected())
}

pub(crate) async fn cancel(
    pool: &PgPool,
    selector: JobSelector,
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut b: QueryBuilder<Postgres> =
        QueryBuilder::new("UPDATE jobs j SET state = 'cancelled', finished_at = ");
    b.push_bind(now)
        .push(", lease_expires_at = NULL WHERE j.state IN ('pending', 'running')");
    push_selector(&mut b, &selector);
    let done = b.build().execute(pool).await.map_err(db)?;
    Ok(done.rows_affected())
}

pub(crate) async fn delete(pool: &PgPool, selector: JobSelector) -> Result<u64> {
    let mut b: QueryBuilder<Postgres> =
        QueryBuilder::new("DELETE FROM jobs j WHERE j.state <> 'running'");
    push_selector(&mut b, &selector);
    let done = b.build().execute(pool).await.map_err(db)?;
    Ok(done.rows_affected())
}

pub(crate) async fn prune(pool: &PgPool, policy: store::RetentionPolicy) -> Result<PruneReport> {
    let mut tx = pool.begin().await.map_err(db)?;
    let mut counts = [0u64; 3];
    let plans = [
        ("completed", policy.completed_keep, policy.completed_max_age),
        ("failed", policy.failed_keep, policy.failed_max_age),
        ("cancelled", policy.failed_keep, policy.failed_max_age),
    ];
    for (slot, (state, keep, max_age)) in plans.into_iter().enumerate() {
        let Some(cutoff) = policy.now.checked_sub_signed(max_age) else {
            continue;
        };
        let done = sqlx::query(
            "DELETE FROM jobs WHERE state = $1 AND finished_at < $2
               AND id NOT IN (SELECT id FROM jobs WHERE state = $1
                              ORDER BY finished_at DESC NULLS LAST, id DESC LIMIT $3)",
        )
        .bind(state)
        .bind(cutoff)
        .bind(i64::from(keep))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        counts[slot] = done.rows_affected();
    }
    tx.commit().await.map_err(db)?;
    Ok(PruneReport {
        completed: counts[0],
        failed: counts[1],
        cancelled: counts[2],
    })
}
