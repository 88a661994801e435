//! Job inserts: validation and unique-key merging, one transaction per batch.

use super::*;

pub(super) fn check_job(job: &NewJob) -> Result<()> {
    if job.queue.trim().is_empty() || job.kind.trim().is_empty() {
        return Err(StoreError::invalid("a job needs a queue and a kind"));
    }
    if job.max_attempts < 1 {
        return Err(StoreError::invalid(format!(
            "a job needs at least one attempt (max_attempts = {})",
            job.max_attempts
        )));
    }
    Ok(())
}

/// Inserts jobs in one multi-row statement, merging each job whose unique key is held by
/// an active job (or by an earlier job of the same batch). Outcomes in input order.
pub(super) async fn insert_jobs(
    conn: &mut SqliteConnection,
    jobs: &[NewJob],
) -> Result<Vec<InsertOutcome>> {
    jobs.iter().try_for_each(check_job)?;
    let keys: Vec<&str> = jobs
        .iter()
        .filter_map(|j| j.unique_key.as_deref())
        .collect();
    let mut holders: HashMap<String, JobId> = HashMap::new();
    if !keys.is_empty() {
        let rows = sqlx::query(
            "SELECT unique_key, id FROM jobs
             WHERE state IN ('pending', 'running')
               AND unique_key IN (SELECT value FROM json_each(?))",
        )
        .bind(json_texts(&keys))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
        for row in &rows {
            holders.insert(row.col("unique_key")?, JobId::new(row.col("id")?));
        }
    }

    // Which inputs are inserted, and for merged ones, which job (or input) they merge into.
    enum Plan<'a> {
        Insert,
        MergeInto(JobId),
        MergeWithInput(&'a str),
    }
    let mut first_of_key: HashMap<&str, ()> = HashMap::new();
    let plans: Vec<Plan<'_>> = jobs
        .iter()
        .map(|job| match job.unique_key.as_deref() {
            None => Plan::Insert,
            Some(key) => {
                if let Some(id) = holders.get(key) {
                    Plan::MergeInto(*id)
                } else if first_of_key.insert(key, ()).is_some() {
                    Plan::MergeWithInput(key)
                } else {
                    Plan::Insert
                }
            }
        })
        .collect();
    let fresh: Vec<&NewJob> = jobs
        .iter()
        .zip(&plans)
        .filter(|(_, plan)| matches!(plan, Plan::Insert))
        .map(|(job, _)| job)
        .collect();

    let mut ids: Vec<JobId> = Vec::with_capacity(fresh.len());
    for part in fresh.chunks(500) {
        let values = vec!["(?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)"; part.len()].join(", ");
        let mut query = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO jobs (queue, kind, args, account_id, unique_key, run_id, state,
                 max_attempts, priority, run_at, created_at)
             VALUES {values}
             RETURNING id"
        )))
        .persistent(part.len() == 500);
        for job in part {
            query = query
                .bind(job.queue.clone())
                .bind(job.kind.clone())
                .bind(job.args.to_string())
                .bind(job.account_id.map(AccountId::get))
                .bind(job.unique_key.clone())
                .bind(job.run_id.map(RunId::get))
                .bind(job.max_attempts)
                .bind(job.priority)
                .bind(micros(job.run_at))
                .bind(micros(job.now));
        }
        let mut returned: Vec<JobId> = query
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?
            .iter()
            .map(|row| row.col("id").map(JobId::new))
            .collect::<Result<_>>()?;
        // AUTOINCREMENT assigns ascending ids in VALUES order; RETURNING's order is
        // unspecified, so sorting restores the input order.
        returned.sort_unstable();
        ids.extend(returned);
    }

    let mut inserted = ids.into_iter();
    let mut by_key: HashMap<&str, JobId> = HashMap::new();
    let mut outcomes = Vec::with_capacity(jobs.len());
    for (job, plan) in jobs.iter().zip(&plans) {
        outcomes.push(match plan {
            Plan::Insert => {
                let id = inserted
                    .next()
                    .ok_or_else(|| corrupt("fewer job ids returned than jobs inserted"))?;
                if let Some(key) = job.unique_key.as_deref() {
                    by_key.insert(key, id);
                }
                InsertOutcome::Inserted(id)
            }
            Plan::MergeInto(id) => InsertOutcome::Merged(*id),
            Plan::MergeWithInput(key) => InsertOutcome::Merged(by_key[key]),
        });
    }
    Ok(outcomes)
}

pub(crate) async fn insert(db: &SqliteStore, job: NewJob) -> Result<InsertOutcome> {
    let mut outcomes = insert_many(db, vec![job]).await?;
    outcomes
        .pop()
        .ok_or_else(|| corrupt("no outcome for an inserted job"))
}

pub(crate) async fn insert_many(db: &SqliteStore, jobs: Vec<NewJob>) -> Result<Vec<InsertOutcome>> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = db.write().await?;
    let outcomes = insert_jobs(&mut tx, &jobs).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(outcomes)
}
