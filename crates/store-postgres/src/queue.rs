//! The durable job queue on PostgreSQL (the River / Oban model): inserts with unique-key
//! merging, claims that never run two jobs of one account at once (a transaction-scoped
//! advisory lock around the claim, and a partial unique index on running jobs' accounts as
//! the database-enforced invariant), leases and heartbeats, retries, snoozes, the rescuer,
//! bulk actions, retention, persisted per-minute metrics, the global start limiter,
//! schedules that fire exactly once, and worker registrations.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use store::{
    AttemptError, ClaimParams, HISTOGRAM_BUCKETS, InsertOutcome, Job, JobCompletion, JobCount,
    JobFailure, JobId, JobMetricPoint, JobMetricsQuery, JobPage, JobQuery, JobSelector, JobState,
    NewJob, PruneReport, QueueSnapshot, RateDecision, RescueReport, Resolution, Result, Schedule,
    ScheduleDef, ScheduleFire, StoreError, WorkerInfo, histogram_bucket,
};

use crate::accounts::get;
use crate::error::{corrupt, db};
use crate::{LOCK_CLAIM, LOCK_NAMESPACE};

const JOB_COLUMNS: &str = "id, queue, kind, args, account_id, unique_key, run_id, state, \
    attempt, max_attempts, priority, run_at, created_at, attempted_at, finished_at, locked_by, \
    lease_expires_at, errors, progress, result";

/// The error text a rescued job carries.
pub(crate) const WORKER_LOST: &str = "worker lost: its lease expired before it finished";

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn error_entry(attempt: i32, at: DateTime<Utc>, worker: Option<&str>, error: &str) -> String {
    json!([{ "attempt": attempt, "at": stamp(at), "worker_id": worker, "error": error }])
        .to_string()
}

/// The attempts of a job as stored. An entry (or a whole column) that cannot be read becomes
/// an [`AttemptError::unreadable`] entry dated `fallback`, so one bad row never fails a
/// listing.
fn errors_from(value: serde_json::Value, fallback: DateTime<Utc>) -> Vec<AttemptError> {
    let serde_json::Value::Array(items) = value else {
        return vec![AttemptError::unreadable(&value.to_string(), None, fallback)];
    };
    items
        .into_iter()
        .map(|e| {
            let attempt = e["attempt"].as_i64().and_then(|a| i32::try_from(a).ok());
            let at = e["at"]
                .as_str()
                .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
                .map(|at| at.with_timezone(&Utc));
            match (attempt, at, e["error"].as_str()) {
                (Some(attempt), Some(at), Some(error)) => AttemptError {
                    attempt,
                    at,
                    worker_id: e["worker_id"].as_str().map(str::to_string),
                    error: error.to_string(),
                    unreadable: false,
                },
                _ => AttemptError::unreadable(&e.to_string(), attempt, at.unwrap_or(fallback)),
            }
        })
        .collect()
}

fn state_from(s: &str) -> Result<JobState> {
    JobState::parse(s).ok_or_else(|| corrupt(format!("job state {s:?}")))
}

fn job_from(r: &PgRow) -> Result<Job> {
    let state: String = get(r, "state")?;
    let created_at: DateTime<Utc> = get(r, "created_at")?;
    let attempted_at: Option<DateTime<Utc>> = get(r, "attempted_at")?;
    Ok(Job {
        id: get(r, "id")?,
        queue: get(r, "queue")?,
        kind: get(r, "kind")?,
        args: get(r, "args")?,
        account_id: get(r, "account_id")?,
        unique_key: get(r, "unique_key")?,
        run_id: get(r, "run_id")?,
        state: state_from(&state)?,
        attempt: get(r, "attempt")?,
        max_attempts: get(r, "max_attempts")?,
        priority: get(r, "priority")?,
        run_at: get(r, "run_at")?,
        created_at,
        attempted_at,
        finished_at: get(r, "finished_at")?,
        locked_by: get(r, "locked_by")?,
        lease_expires_at: get(r, "lease_expires_at")?,
        errors: errors_from(get(r, "errors")?, attempted_at.unwrap_or(created_at)),
        progress: get(r, "progress")?,
        result: get(r, "result")?,
    })
}

fn validate(job: &NewJob) -> Result<()> {
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
            accounts.push(j.account_id);
            keys.push(j.unique_key.as_deref());
            runs.push(j.run_id);
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
                outcomes[i] = Some(InsertOutcome::Inserted(ids[slot]));
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
                outcomes[i] = Some(InsertOutcome::Merged(*id));
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
    Ok(held)
}

/// Start of the minute (or hour, or day) holding `t`, in UTC.
fn truncate(t: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    let s = t.timestamp();
    DateTime::from_timestamp(s - s.rem_euclid(seconds), 0).unwrap_or(t)
}

fn millis(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_milliseconds().max(0)
}

/// How many rows each minute of metrics is spread over.
const METRIC_SHARDS: i64 = 8;

/// One finished job's contribution to the per-minute metrics.
struct Finished {
    id: JobId,
    queue: String,
    kind: String,
    created_at: DateTime<Utc>,
    run_at: DateTime<Utc>,
    attempted_at: Option<DateTime<Utc>>,
    finished_at: DateTime<Utc>,
    completed: bool,
}

async fn metrics_add(conn: &mut PgConnection, finished: &[Finished]) -> Result<()> {
    type Key = (DateTime<Utc>, String, String, i16);
    let mut groups: BTreeMap<Key, (i64, i64, Vec<i64>, Vec<i64>)> = BTreeMap::new();
    for f in finished {
        let key = (
            truncate(f.finished_at, 60),
            f.queue.clone(),
            f.kind.clone(),
            (f.id.rem_euclid(METRIC_SHARDS)) as i16,
        );
        let g = groups
            .entry(key)
            .or_insert_with(|| (0, 0, vec![0; HISTOGRAM_BUCKETS], vec![0; HISTOGRAM_BUCKETS]));
        if f.completed {
            g.0 += 1;
        } else {
            g.1 += 1;
        }
        if let Some(claimed) = f.attempted_at {
            let due = f.run_at.max(f.created_at);
            g.2[histogram_bucket(millis(due, claimed))] += 1;
            g.3[histogram_bucket(millis(claimed, f.finished_at))] += 1;
        }
    }
    for ((bucket, queue, kind, shard), (completed, failed, wait, run)) in groups {
        sqlx::query(
            "INSERT INTO job_metrics (bucket_start, queue, kind, shard, completed, failed,
                 wait_hist, run_hist)
             VALUES ($1, $2, $3, $8, $4, $5, $6, $7)
             ON CONFLICT (bucket_start, queue, kind, shard) DO UPDATE SET
                 completed = job_metrics.completed + EXCLUDED.completed,
                 failed = job_metrics.failed + EXCLUDED.failed,
                 wait_hist = ARRAY(SELECT a + b FROM unnest(job_metrics.wait_hist,
                     EXCLUDED.wait_hist) WITH ORDINALITY AS t(a, b, o) ORDER BY o),
                 run_hist = ARRAY(SELECT a + b FROM unnest(job_metrics.run_hist,
                     EXCLUDED.run_hist) WITH ORDINALITY AS t(a, b, o) ORDER BY o)",
        )
        .bind(bucket)
        .bind(&queue)
        .bind(&kind)
        .bind(completed)
        .bind(failed)
        .bind(&wait)
        .bind(&run)
        .bind(shard)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

fn finished_from(r: &PgRow, finished_at: DateTime<Utc>, completed: bool) -> Result<Finished> {
    Ok(Finished {
        id: get(r, "id")?,
        queue: get(r, "queue")?,
        kind: get(r, "kind")?,
        created_at: get(r, "created_at")?,
        run_at: get(r, "run_at")?,
        attempted_at: get(r, "attempted_at")?,
        finished_at,
        completed,
    })
}

pub(crate) async fn complete(pool: &PgPool, c: JobCompletion) -> Result<bool> {
    let mut tx = pool.begin().await.map_err(db)?;
    let row = sqlx::query(
        "UPDATE jobs SET state = 'completed', finished_at = $3, result = $4,
             lease_expires_at = NULL
         WHERE id = $1 AND state = 'running' AND locked_by = $2
         RETURNING id, queue, kind, created_at, run_at, attempted_at",
    )
    .bind(c.id)
    .bind(&c.worker_id)
    .bind(c.finished_at)
    .bind(&c.result)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(row) = row else {
        return Ok(false);
    };
    metrics_add(&mut tx, &[finished_from(&row, c.finished_at, true)?]).await?;
    if !c.next.is_empty() {
        insert_jobs(&mut tx, &c.next).await?;
    }
    tx.commit().await.map_err(db)?;
    Ok(true)
}

pub(crate) async fn fail(pool: &PgPool, f: JobFailure) -> Result<Option<JobState>> {
    let mut tx = pool.begin().await.map_err(db)?;
    let row = sqlx::query(
        "SELECT id, attempt, max_attempts, queue, kind, created_at, run_at, attempted_at FROM jobs
         WHERE id = $1 AND state = 'running' AND locked_by = $2 FOR UPDATE",
    )
    .bind(f.id)
    .bind(&f.worker_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let attempt: i32 = get(&row, "attempt")?;
    let max_attempts: i32 = get(&row, "max_attempts")?;
    let entry = error_entry(attempt, f.at, Some(&f.worker_id), &f.error);
    let state = match f.retry_at {
        Some(retry_at) if attempt < max_attempts => {
            sqlx::query(
                "UPDATE jobs SET state = 'pending', run_at = $2, locked_by = NULL,
                     lease_expires_at = NULL, errors = errors || $3::jsonb
                 WHERE id = $1",
            )
            .bind(f.id)
            .bind(retry_at)
            .bind(&entry)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            JobState::Pending
        }
        _ => {
            sqlx::query(
                "UPDATE jobs SET state = 'failed', finished_at = $2, lease_expires_at = NULL,
                     errors = errors || $3::jsonb
                 WHERE id = $1",
            )
            .bind(f.id)
            .bind(f.at)
            .bind(&entry)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            metrics_add(&mut tx, &[finished_from(&row, f.at, false)?]).await?;
            JobState::Failed
        }
    };
    tx.commit().await.map_err(db)?;
    Ok(Some(state))
}

pub(crate) async fn snooze(
    pool: &PgPool,
    id: JobId,
    worker_id: &str,
    until: DateTime<Utc>,
    reason: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET state = 'pending', run_at = $3, attempt = GREATEST(attempt - 1, 0),
             locked_by = NULL, lease_expires_at = NULL, snoozes = snoozes + 1,
             snooze_reason = $4
         WHERE id = $1 AND state = 'running' AND locked_by = $2",
    )
    .bind(id)
    .bind(worker_id)
    .bind(until)
    .bind(reason)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn progress_set(
    pool: &PgPool,
    id: JobId,
    worker_id: &str,
    progress: serde_json::Value,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET progress = $3 WHERE id = $1 AND state = 'running' AND locked_by = $2",
    )
    .bind(id)
    .bind(worker_id)
    .bind(&progress)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn rescue(pool: &PgPool, now: DateTime<Utc>) -> Result<RescueReport> {
    let mut tx = pool.begin().await.map_err(db)?;
    let rows = sqlx::query(
        "WITH expired AS (
             SELECT id FROM jobs
             WHERE state = 'running' AND lease_expires_at < $1
             FOR UPDATE SKIP LOCKED
         )
         UPDATE jobs j SET
             state = CASE WHEN j.attempt < j.max_attempts THEN 'pending' ELSE 'failed' END,
             run_at = CASE WHEN j.attempt < j.max_attempts THEN $1 ELSE j.run_at END,
             finished_at = CASE WHEN j.attempt < j.max_attempts THEN NULL ELSE $1 END,
             locked_by = CASE WHEN j.attempt < j.max_attempts THEN NULL ELSE j.locked_by END,
             lease_expires_at = NULL,
             errors = j.errors || jsonb_build_array(jsonb_build_object(
                 'attempt', j.attempt, 'at', $2::text, 'worker_id', j.locked_by,
                 'error', $3::text))
         FROM expired WHERE j.id = expired.id
         RETURNING j.id, j.state, j.queue, j.kind, j.created_at, j.run_at, j.attempted_at",
    )
    .bind(now)
    .bind(stamp(now))
    .bind(WORKER_LOST)
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;
    let mut report = RescueReport::default();
    let mut finished = Vec::new();
    for r in &rows {
        let state: String = get(r, "state")?;
        if state == "failed" {
            report.failed += 1;
            finished.push(finished_from(r, now, false)?);
        } else {
            report.rescued += 1;
        }
    }
    metrics_add(&mut tx, &finished).await?;
    tx.commit().await.map_err(db)?;
    Ok(report)
}

pub(crate) async fn get_job(pool: &PgPool, id: JobId) -> Result<Option<Job>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.as_ref().map(job_from).transpose()
}

/// `LIKE` pattern matching `text` anywhere, with `\`, `%` and `_` taken literally.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Appends ` AND …` conditions on the jobs table aliased `j` (fixed fragments; every
/// value bound).
fn push_filter(b: &mut QueryBuilder<Postgres>, q: &JobQuery) {
    if !q.states.is_empty() {
        let states: Vec<&str> = q.states.iter().map(|s| s.as_str()).collect();
        b.push(" AND j.state = ANY(").push_bind(states).push(")");
    }
    if let Some(queue) = &q.queue {
        b.push(" AND j.queue = ").push_bind(queue.clone());
    }
    if let Some(kind) = &q.kind {
        b.push(" AND j.kind = ").push_bind(kind.clone());
    }
    if let Some(a) = q.account_id {
        b.push(" AND j.account_id = ").push_bind(a);
    }
    if let Some(r) = q.run_id {
        b.push(" AND j.run_id = ").push_bind(r);
    }
    if let Some(search) = q.search.as_deref().filter(|s| !s.is_empty()) {
        let p = contains_pattern(search);
        b.push(" AND (j.kind ILIKE ")
            .push_bind(p.clone())
            .push(" ESCAPE '\\' OR j.args::text ILIKE ")
            .push_bind(p.clone())
            .push(
                " ESCAPE '\\' OR EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN \
                 jsonb_typeof(j.errors) = 'array' THEN j.errors ELSE '[]'::jsonb END) AS e \
                 WHERE e->>'error' ILIKE ",
            )
            .push_bind(p)
            .push(" ESCAPE '\\'))");
    }
}

fn push_selector(b: &mut QueryBuilder<Postgres>, selector: &JobSelector) {
    match selector {
        JobSelector::Ids(ids) => {
            b.push(" AND j.id = ANY(").push_bind(ids.clone()).push(")");
        }
        JobSelector::Filter(q) => push_filter(b, q),
    }
}

pub(crate) async fn list(pool: &PgPool, q: JobQuery) -> Result<JobPage> {
    let mut count: QueryBuilder<Postgres> =
        QueryBuilder::new("SELECT count(*) FROM jobs j WHERE TRUE");
    push_filter(&mut count, &q);
    let total: i64 = count
        .build_query_scalar()
        .fetch_one(pool)
        .await
        .map_err(db)?;
    let mut page: QueryBuilder<Postgres> = QueryBuilder::new("SELECT ");
    page.push(JOB_COLUMNS).push(" FROM jobs j WHERE TRUE");
    push_filter(&mut page, &q);
    page.push(" ORDER BY j.id DESC");
    if q.limit > 0 {
        page.push(" LIMIT ").push_bind(i64::from(q.limit));
    }
    page.push(" OFFSET ").push_bind(i64::from(q.offset));
    let rows = page.build().fetch_all(pool).await.map_err(db)?;
    let jobs = rows.iter().map(job_from).collect::<Result<Vec<_>>>()?;
    Ok(JobPage { jobs, total })
}

pub(crate) async fn snapshot(pool: &PgPool, now: DateTime<Utc>) -> Result<QueueSnapshot> {
    let counts: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT queue, state, count(*) FROM jobs GROUP BY queue, state")
            .fetch_all(pool)
            .await
            .map_err(db)?;
    let mut counts = counts
        .into_iter()
        .map(|(queue, state, count)| {
            Ok(JobCount {
                queue,
                state: state_from(&state)?,
                count,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    counts.sort_by(|a, b| (&a.queue, a.state).cmp(&(&b.queue, b.state)));
    let scheduled: Vec<(String, i64)> = sqlx::query_as(
        "SELECT queue, count(*) FROM jobs WHERE state = 'pending' AND run_at > $1
         GROUP BY queue ORDER BY queue",
    )
    .bind(now)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let oldest_due: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT queue, min(run_at) FROM jobs WHERE state = 'pending' AND run_at <= $1
         GROUP BY queue ORDER BY queue",
    )
    .bind(now)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    Ok(QueueSnapshot {
        counts,
        scheduled,
        oldest_due,
    })
}

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

/// A stored minute: start, queue, kind, completed, failed, wait and run histograms.
type MetricRow = (DateTime<Utc>, String, String, i64, i64, Vec<i64>, Vec<i64>);

pub(crate) async fn metrics(pool: &PgPool, q: JobMetricsQuery) -> Result<Vec<JobMetricPoint>> {
    let rows: Vec<MetricRow> = sqlx::query_as(
        "SELECT bucket_start, queue, kind, completed, failed, wait_hist, run_hist
             FROM job_metrics
             WHERE bucket_start >= $1 AND bucket_start <= $2
               AND ($3::text IS NULL OR queue = $3)
             ORDER BY bucket_start, queue, kind",
    )
    .bind(q.from)
    .bind(q.to)
    .bind(&q.queue)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let width = match q.resolution {
        Resolution::Minute => 60,
        Resolution::Hour => 3_600,
        Resolution::Day => 86_400,
    };
    let mut points: BTreeMap<(DateTime<Utc>, String, String), JobMetricPoint> = BTreeMap::new();
    for (bucket, queue, kind, completed, failed, wait, run) in rows {
        let start = truncate(bucket, width);
        let p = points
            .entry((start, queue.clone(), kind.clone()))
            .or_insert_with(|| JobMetricPoint {
                bucket_start: start,
                queue,
                kind,
                completed: 0,
                failed: 0,
                wait_histogram: vec![0; HISTOGRAM_BUCKETS],
                run_histogram: vec![0; HISTOGRAM_BUCKETS],
            });
        p.completed += completed.max(0) as u64;
        p.failed += failed.max(0) as u64;
        for (i, n) in wait.iter().enumerate().take(HISTOGRAM_BUCKETS) {
            p.wait_histogram[i] += (*n).max(0) as u64;
        }
        for (i, n) in run.iter().enumerate().take(HISTOGRAM_BUCKETS) {
            p.run_histogram[i] += (*n).max(0) as u64;
        }
    }
    Ok(points.into_values().collect())
}

// ----- the global start limiter -----

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

// ----- schedules -----

const SCHEDULE_COLUMNS: &str =
    "name, cron, queue, kind, args, paused, next_run_at, last_run_at, last_job_id";

fn schedule_from(r: &PgRow) -> Result<Schedule> {
    Ok(Schedule {
        def: ScheduleDef {
            name: get(r, "name")?,
            cron: get(r, "cron")?,
            queue: get(r, "queue")?,
            kind: get(r, "kind")?,
            args: get(r, "args")?,
        },
        paused: get(r, "paused")?,
        next_run_at: get(r, "next_run_at")?,
        last_run_at: get(r, "last_run_at")?,
        last_job_id: get(r, "last_job_id")?,
    })
}

pub(crate) async fn schedule_upsert(
    pool: &PgPool,
    def: ScheduleDef,
    next_run_at: DateTime<Utc>,
) -> Result<()> {
    if def.name.trim().is_empty() {
        return Err(StoreError::invalid("a schedule needs a name"));
    }
    sqlx::query(
        "INSERT INTO schedules (name, cron, queue, kind, args, next_run_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (name) DO UPDATE SET
             cron = EXCLUDED.cron, queue = EXCLUDED.queue, kind = EXCLUDED.kind,
             args = EXCLUDED.args,
             next_run_at = CASE WHEN schedules.cron IS DISTINCT FROM EXCLUDED.cron
                                THEN EXCLUDED.next_run_at ELSE schedules.next_run_at END",
    )
    .bind(&def.name)
    .bind(&def.cron)
    .bind(&def.queue)
    .bind(&def.kind)
    .bind(&def.args)
    .bind(next_run_at)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(())
}

pub(crate) async fn schedule_list(pool: &PgPool) -> Result<Vec<Schedule>> {
    let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY name");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.iter().map(schedule_from).collect()
}

pub(crate) async fn schedule_get(pool: &PgPool, name: &str) -> Result<Option<Schedule>> {
    let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE name = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.as_ref().map(schedule_from).transpose()
}

pub(crate) async fn schedule_set_paused(
    pool: &PgPool,
    name: &str,
    paused: bool,
    next_run_at: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE schedules SET paused = $2,
             next_run_at = CASE WHEN $2 THEN next_run_at ELSE $3 END
         WHERE name = $1",
    )
    .bind(name)
    .bind(paused)
    .bind(next_run_at)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn schedule_fire(
    pool: &PgPool,
    fire: ScheduleFire,
) -> Result<Option<InsertOutcome>> {
    let mut tx = pool.begin().await.map_err(db)?;
    // The row lock taken by this update makes a racing caller wait, then see the new
    // next_run_at and match nothing.
    let won = sqlx::query(
        "UPDATE schedules SET next_run_at = $3, last_run_at = $4
         WHERE name = $1 AND NOT paused AND next_run_at = $2",
    )
    .bind(&fire.name)
    .bind(fire.expected_next_run_at)
    .bind(fire.new_next_run_at)
    .bind(fire.now)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    if won.rows_affected() == 0 {
        return Ok(None);
    }
    let outcome = insert_jobs(&mut tx, std::slice::from_ref(&fire.job))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| corrupt("schedule job insert returned nothing"))?;
    sqlx::query("UPDATE schedules SET last_job_id = $2 WHERE name = $1")
        .bind(&fire.name)
        .bind(outcome.id())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(Some(outcome))
}

// ----- workers -----

pub(crate) async fn worker_heartbeat(pool: &PgPool, w: WorkerInfo) -> Result<()> {
    sqlx::query(
        "INSERT INTO workers (id, hostname, pid, queues, concurrency, started_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET
             hostname = EXCLUDED.hostname, pid = EXCLUDED.pid, queues = EXCLUDED.queues,
             concurrency = EXCLUDED.concurrency, started_at = EXCLUDED.started_at,
             last_seen_at = GREATEST(workers.last_seen_at, EXCLUDED.last_seen_at)",
    )
    .bind(&w.id)
    .bind(&w.hostname)
    .bind(w.pid)
    .bind(&w.queues)
    .bind(w.concurrency)
    .bind(w.started_at)
    .bind(w.last_seen_at)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(())
}

pub(crate) async fn worker_list(
    pool: &PgPool,
    seen_since: DateTime<Utc>,
) -> Result<Vec<WorkerInfo>> {
    let rows = sqlx::query(
        "SELECT id, hostname, pid, queues, concurrency, started_at, last_seen_at FROM workers
         WHERE last_seen_at >= $1 ORDER BY id",
    )
    .bind(seen_since)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(WorkerInfo {
                id: get(r, "id")?,
                hostname: get(r, "hostname")?,
                pid: get(r, "pid")?,
                queues: get(r, "queues")?,
                concurrency: get(r, "concurrency")?,
                started_at: get(r, "started_at")?,
                last_seen_at: get(r, "last_seen_at")?,
            })
        })
        .collect()
}

pub(crate) async fn worker_remove(pool: &PgPool, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM workers WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(())
}
