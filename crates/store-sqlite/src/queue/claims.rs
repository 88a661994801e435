//! Claims and leases: due jobs by priority, never two of one account at once; heartbeats.

use super::*;

pub(crate) async fn claim(db: &SqliteStore, params: ClaimParams) -> Result<Vec<Job>> {
    if params.limit == 0 || params.queues.is_empty() {
        return Ok(Vec::new());
    }
    let now = micros(params.now);
    let mut tx = db.write().await?;
    // The best due job of each account that has nothing running (jobs without an account
    // all qualify), then the best of those overall.
    let rows = sqlx::query(AssertSqlSafe(format!(
        "UPDATE jobs SET state = 'running', attempt = attempt + 1, attempted_at = ?1,
             locked_by = ?2, lease_expires_at = ?3
         WHERE id IN (
             SELECT id FROM (
                 SELECT id, account_id, priority, run_at,
                        row_number() OVER (PARTITION BY account_id
                                           ORDER BY priority, run_at, id) AS nth
                 FROM jobs
                 WHERE state = 'pending' AND run_at <= ?1
                   AND queue IN (SELECT value FROM json_each(?4))
                   AND (account_id IS NULL OR account_id NOT IN (
                        SELECT account_id FROM jobs
                        WHERE state = 'running' AND account_id IS NOT NULL))
             )
             WHERE account_id IS NULL OR nth = 1
             ORDER BY priority, run_at, id
             LIMIT ?5
         )
         RETURNING {JOB_COLUMNS}"
    )))
    .bind(now)
    .bind(&params.worker_id)
    .bind(micros(params.lease_until))
    .bind(json_texts(&params.queues))
    .bind(i64::from(params.limit))
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    let mut jobs = rows.iter().map(job_from).collect::<Result<Vec<_>>>()?;
    jobs.sort_by_key(|j| (j.priority, j.run_at, j.id));
    Ok(jobs)
}

pub(crate) async fn heartbeat(
    db: &SqliteStore,
    worker_id: &str,
    ids: &[JobId],
    lease_until: DateTime<Utc>,
) -> Result<Vec<JobId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = db.write().await?;
    let mut held: Vec<JobId> = sqlx::query_scalar::<_, i64>(
        "UPDATE jobs SET lease_expires_at = ?
         WHERE state = 'running' AND locked_by = ?
           AND id IN (SELECT value FROM json_each(?))
         RETURNING id",
    )
    .bind(micros(lease_until))
    .bind(worker_id)
    .bind(json_ints(ids.iter().map(|id| id.get())))
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    .into_iter()
    .map(JobId::new)
    .collect();
    tx.commit().await.map_err(db_err)?;
    held.sort_unstable();
    Ok(held)
}
