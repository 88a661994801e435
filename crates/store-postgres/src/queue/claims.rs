//! Claims and leases: due jobs by priority, never two of one account at once; heartbeats.

use super::*;

pub(crate) async fn claim(pool: &PgPool, p: ClaimParams) -> Result<Vec<Job>> {
    if p.limit == 0 || p.queues.is_empty() {
        return Ok(Vec::new());
    }
    // One round trip: the function (migration 0017) takes the claimers' advisory lock, then
    // reads the due jobs under it with a fresh snapshot and makes them running.
    let limit = i32::try_from(p.limit).unwrap_or(i32::MAX);
    let sql = format!("SELECT {JOB_COLUMNS} FROM igsync_claim_jobs($1, $2, $3, $4, $5, $6, $7)");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&p.queues)
        .bind(p.now)
        .bind(&p.worker_id)
        .bind(p.lease_until)
        .bind(limit)
        .bind(LOCK_NAMESPACE)
        .bind(LOCK_CLAIM)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    let mut jobs = rows.iter().map(job_from).collect::<Result<Vec<_>>>()?;
    jobs.sort_by_key(|j| (j.priority, j.run_at, j.id));
    Ok(jobs)
}

pub(crate) async fn heartbeat(
    pool: &PgPool,
    worker_id: &str,
    ids: &[JobId],
    lease_until: DateTime<Utc>,
) -> Result<Vec<JobId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
    let mut held: Vec<i64> = sqlx::query_scalar(
        "UPDATE jobs SET lease_expires_at = GREATEST(lease_expires_at, $3)
         WHERE id = ANY($1) AND state = 'running' AND locked_by = $2
         RETURNING id",
    )
    .bind(ids)
    .bind(worker_id)
    .bind(lease_until)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    held.sort_unstable();
    Ok(held.into_iter().map(JobId::new).collect())
}
