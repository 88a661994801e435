//! Claims and leases: due jobs by priority, never two of one account at once; heartbeats.

use super::*;

pub(crate) async fn claim(pool: &PgPool, p: ClaimParams) -> Result<Vec<Job>> {
    if p.limit == 0 || p.queues.is_empty() {
        return Ok(Vec::new());
    }
    let limit = p.limit as usize;
    let mut tx = pool.begin().await.map_err(db)?;
    // One claimer at a time across every process: the "no two running jobs of one account"
    // check and the update that makes jobs running happen under this lock.
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(LOCK_NAMESPACE)
        .bind(LOCK_CLAIM)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let mut scan = (limit * 4).max(32);
    let picked = loop {
        let rows: Vec<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT j.id, j.account_id FROM jobs j
             WHERE j.state = 'pending' AND j.queue = ANY($1) AND j.run_at <= $2
               AND (j.account_id IS NULL OR NOT EXISTS (
                   SELECT 1 FROM jobs r WHERE r.account_id = j.account_id AND r.state = 'running'))
             ORDER BY j.priority, j.run_at, j.id
             LIMIT $3",
        )
        .bind(&p.queues)
        .bind(p.now)
        .bind(scan as i64)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let mut accounts = HashSet::new();
        let mut picked = Vec::with_capacity(limit);
        for (id, account) in &rows {
            if picked.len() == limit {
                break;
            }
            if let Some(a) = account
                && !accounts.insert(*a)
            {
                continue;
            }
            picked.push(*id);
        }
        if picked.len() == limit || rows.len() < scan {
            break picked;
        }
        scan *= 4;
    };
    if picked.is_empty() {
        tx.commit().await.map_err(db)?;
        return Ok(Vec::new());
    }
    let sql = format!(
        "UPDATE jobs SET state = 'running', attempt = attempt + 1, attempted_at = $2,
             locked_by = $3, lease_expires_at = $4, finished_at = NULL
         WHERE id = ANY($1) AND state = 'pending'
         RETURNING {JOB_COLUMNS}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&picked)
        .bind(p.now)
        .bind(&p.worker_id)
        .bind(p.lease_until)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
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
