//! Job inserts: validation and unique-key merging, one transaction per batch.

use super::*;

pub(super) fn validate(job: &NewJob) -> Result<()> {
    if job.queue.trim().is_empty() {
        return Err(StoreError::invalid("a job needs a queue name"));
    }
    if job.kind.trim().is_empty() {
        return Err(StoreError::invalid("a job needs a kind"));
    }
    if job.max_attempts < 1 {
        return Err(StoreError::invalid(format!(
            "max_attempts must be at least 1 (got {})",
            job.max_attempts
        )));
    }
    Ok(())
}

/// Inserts jobs with multi-row statements inside the caller's transaction. A job whose
/// unique key is held by an active job (or by an earlier job of the same batch) merges.
pub(crate) async fn insert_jobs(
    conn: &mut PgConnection,
    jobs: &[NewJob],
) -> Result<Vec<InsertOutcome>> {
    for job in jobs {
        validate(job)?;
    }
    let mut outcomes: Vec<Option<InsertOutcome>> = vec![None; jobs.len()];
    // A key held by a job that finishes between our insert and our look-up frees up:
    // the next round inserts it. Each round settles at least one job.
    for _round in 0..8 {
        let todo: Vec<usize> = (0..jobs.len()).filter(|i| outcomes[*i].is_none()).collect();
        if todo.is_empty() {
            break;
        }
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT nextval('jobs_id_seq') FROM generate_series(1, $1::int)")
                .bind(todo.len() as i32)
                .fetch_all(&mut *conn)
                .await
                .map_err(db)?;
        let mut queues = Vec::with_capacity(todo.len());
        let mut kinds = Vec::with_capacity(todo.len());
        let mut args = Vec::with_capacity(todo.len());
        let mut accounts = Vec::with_capacity(todo.len());
        let mut keys = Vec::with_capacity(todo.len());
        let mut runs = Vec::with_capacity(todo.len());
        let mut run_ats = Vec::with_capacity(todo.len());
        let mut maxes = Vec::with_capacity(todo.len());
        let mut prios = Vec::with_capacity(todo.len());
        let mut nows = Vec::with_capacity(todo.len());
        for &i in &todo {
            let j = &jobs[i];
            queues.push(j.queue.as_str());
            kinds.push(j.kind.as_str());
            args.push(j.args.to_string());
            accounts.push(j.account_id.map(AccountId::get));
            keys.push(j.unique_key.as_deref());
            runs.push(j.run_id.map(RunId::get));
            run_ats.push(j.run_at);
            maxes.push(j.max_attempts);
            prios.push(j.priority);
            nows.push(j.now);
        }
        let inserted: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO jobs (id, queue, kind, args, account_id, unique_key, run_id, state,
                 max_attempts, priority, run_at, created_at)
             SELECT u.id, u.q, u.k, u.a::jsonb, u.acc, u.key, u.run, 'pending', u.mx, u.p,
                 u.ra, u.now
             FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                 $6::text[], $7::bigint[], $8::int[], $9::smallint[], $10::timestamptz[],
                 $11::timestamptz[]) WITH ORDINALITY
                 AS u(id, q, k, a, acc, key, run, mx, p, ra, now, ord)
             ORDER BY u.ord
             ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL
                 AND state IN ('pending', 'running') DO NOTHING
             RETURNING id",
        )
        .bind(&ids)
        .bind(&queues)
        .bind(&kinds)
        .bind(&args)
        .bind(&accounts)
        .bind(&keys)
        .bind(&runs)
        .bind(&maxes)
        .bind(&prios)
        .bind(&run_ats)
        .bind(&nows)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        let inserted: HashSet<i64> = inserted.into_iter().collect();
        let mut merged_keys = Vec::new();
        for (slot, &i) in todo.iter().enumerate() {
            if inserted.contains(&ids[slot]) {
                outcomes[i] = Some(InsertOutcome::Inserted(JobId::new(ids[slot])));
            } else if let Some(key) = &jobs[i].unique_key {
                merged_keys.push(key.clone());
            }
        }
        if merged_keys.is_empty() {
            continue;
        }
        let holders: Vec<(String, i64)> = sqlx::query_as(
            "SELECT unique_key, id FROM jobs
             WHERE unique_key = ANY($1) AND state IN ('pending', 'running')",
        )
        .bind(&merged_keys)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        let holders: HashMap<String, i64> = holders.into_iter().collect();
        for &i in &todo {
            if outcomes[i].is_none()
                && let Some(id) = jobs[i].unique_key.as_ref().and_then(|k| holders.get(k))
            {
                outcomes[i] = Some(InsertOutcome::Merged(JobId::new(*id)));
            }
        }
    }
    outcomes
        .into_iter()
        .map(|o| {
            o.ok_or_else(|| StoreError::Conflict {
                message: "a unique job key kept changing hands during the insert".into(),
            })
        })
        .collect()
}

pub(crate) async fn insert_many(pool: &PgPool, jobs: Vec<NewJob>) -> Result<Vec<InsertOutcome>> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = pool.begin().await.map_err(db)?;
    let out = insert_jobs(&mut tx, &jobs).await?;
    tx.commit().await.map_err(db)?;
    Ok(out)
}
