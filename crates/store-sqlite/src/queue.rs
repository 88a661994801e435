//! The durable job queue on SQLite: inserts with unique-key merging, claims, leases,
//! completion and failure with persisted metrics, snoozes, the rescuer, bulk actions,
//! retention, the global start limiter, schedules and worker registrations.
//!
//! Every state change runs in a `BEGIN IMMEDIATE` transaction. SQLite has one writer at a
//! time, so a claim's "is this account already running?" check and its update cannot
//! interleave with another claim, in this process or any other.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, SqliteConnection};
use store::{
    AttemptError, ClaimParams, HISTOGRAM_BUCKETS, InsertOutcome, Job, JobCompletion, JobCount,
    JobFailure, JobId, JobMetricPoint, JobMetricsQuery, JobPage, JobQuery, JobSelector, JobState,
    NewJob, PruneReport, QueueSnapshot, RateDecision, RescueReport, Resolution, Result,
    RetentionPolicy, Schedule, ScheduleDef, ScheduleFire, StoreError, WorkerInfo, histogram_bucket,
};

use crate::SqliteStore;
use crate::error::{corrupt, db_err};
use crate::history::limit;
use crate::sql::{Arg, Filter, RowExt, from_micros, json_ints, json_texts, micros};

const JOB_COLUMNS: &str = "id, queue, kind, args, account_id, unique_key, run_id, state, attempt, \
     max_attempts, priority, run_at, created_at, attempted_at, finished_at, locked_by, \
     lease_expires_at, errors, progress, result";

/// The attempts of a job as stored. An entry (or a whole column) that cannot be read becomes
/// an [`AttemptError::unreadable`] entry dated `fallback`, so one bad row never fails a
/// listing.
fn errors_from(stored: Option<String>, fallback: DateTime<Utc>) -> Vec<AttemptError> {
    let Some(text) = stored else {
        return Vec::new();
    };
    let items = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(items)) => items,
        _ => return vec![AttemptError::unreadable(&text, None, fallback)],
    };
    items
        .iter()
        .map(|e| {
            let attempt = e["attempt"].as_i64().and_then(|a| i32::try_from(a).ok());
            let at = e["at"].as_i64().and_then(|t| from_micros(t).ok());
            match (attempt, at, e["error"].as_str()) {
                (Some(attempt), Some(at), Some(error)) => AttemptError {
                    attempt,
                    at,
                    worker_id: e["worker_id"].as_str().map(str::to_owned),
                    error: error.to_owned(),
                    unreadable: false,
                },
                _ => AttemptError::unreadable(&e.to_string(), attempt, at.unwrap_or(fallback)),
            }
        })
        .collect()
}

fn job_from(row: &SqliteRow) -> Result<Job> {
    let created_at = row.time("created_at")?;
    let attempted_at = row.time_opt("attempted_at")?;
    // A value SQLite holds as something other than text is unreadable as a whole.
    let stored = row
        .col::<Option<String>>("errors")
        .unwrap_or_else(|_| Some("(a value that is not text)".to_owned()));
    let errors = errors_from(stored, attempted_at.unwrap_or(created_at));
    Ok(Job {
        id: row.col("id")?,
        queue: row.col("queue")?,
        kind: row.col("kind")?,
        args: row.json("args")?,
        account_id: row.col("account_id")?,
        unique_key: row.col("unique_key")?,
        run_id: row.col("run_id")?,
        state: row.parsed("state", JobState::parse)?,
        attempt: row.col("attempt")?,
        max_attempts: row.col("max_attempts")?,
        priority: row.col("priority")?,
        run_at: row.time("run_at")?,
        created_at,
        attempted_at,
        finished_at: row.time_opt("finished_at")?,
        locked_by: row.col("locked_by")?,
        lease_expires_at: row.time_opt("lease_expires_at")?,
        errors,
        progress: row.json_opt("progress")?,
        result: row.json_opt("result")?,
    })
}

// ----- inserts -----

fn check_job(job: &NewJob) -> Result<()> {
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
async fn insert_jobs(conn: &mut SqliteConnection, jobs: &[NewJob]) -> Result<Vec<InsertOutcome>> {
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
            holders.insert(row.col("unique_key")?, row.col("id")?);
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
                .bind(job.account_id)
                .bind(job.unique_key.clone())
                .bind(job.run_id)
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
            .map(|row| row.col("id"))
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

// ----- claims and leases -----

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
    let mut held: Vec<JobId> = sqlx::query_scalar(
        "UPDATE jobs SET lease_expires_at = ?
         WHERE state = 'running' AND locked_by = ?
           AND id IN (SELECT value FROM json_each(?))
         RETURNING id",
    )
    .bind(micros(lease_until))
    .bind(worker_id)
    .bind(json_ints(ids))
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    held.sort_unstable();
    Ok(held)
}

// ----- outcomes -----

/// The timing of a finishing attempt, for the persisted metrics.
struct Finished {
    queue: String,
    kind: String,
    run_at: i64,
    created_at: i64,
    attempted_at: Option<i64>,
}

impl Finished {
    fn from_row(row: &SqliteRow) -> Result<Finished> {
        Ok(Finished {
            queue: row.col("queue")?,
            kind: row.col("kind")?,
            run_at: row.col("run_at")?,
            created_at: row.col("created_at")?,
            attempted_at: row.col("attempted_at")?,
        })
    }
}

fn one_hot(bucket: usize) -> String {
    let mut hist = vec![0u64; HISTOGRAM_BUCKETS];
    hist[bucket] = 1;
    Value::from(hist).to_string()
}

/// Adds one finished job to its minute's counters and histograms.
async fn record_metric(
    conn: &mut SqliteConnection,
    job: &Finished,
    finished_at: i64,
    completed: bool,
) -> Result<()> {
    const MINUTE: i64 = 60_000_000;
    let attempted = job.attempted_at.unwrap_or(finished_at);
    let wait_ms = (attempted - job.run_at.max(job.created_at)).max(0) / 1000;
    let run_ms = (finished_at - attempted).max(0) / 1000;
    let (wait, run) = (histogram_bucket(wait_ms), histogram_bucket(run_ms));
    sqlx::query(
        "INSERT INTO job_metrics (bucket_start, queue, kind, completed, failed, wait_hist, run_hist)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (bucket_start, queue, kind) DO UPDATE SET
             completed = job_metrics.completed + excluded.completed,
             failed = job_metrics.failed + excluded.failed,
             wait_hist = json_set(job_metrics.wait_hist, '$[' || ?8 || ']',
                 json_extract(job_metrics.wait_hist, '$[' || ?8 || ']') + 1),
             run_hist = json_set(job_metrics.run_hist, '$[' || ?9 || ']',
                 json_extract(job_metrics.run_hist, '$[' || ?9 || ']') + 1)",
    )
    .bind(finished_at.div_euclid(MINUTE) * MINUTE)
    .bind(&job.queue)
    .bind(&job.kind)
    .bind(i64::from(completed))
    .bind(i64::from(!completed))
    .bind(one_hot(wait))
    .bind(one_hot(run))
    .bind(wait as i64)
    .bind(run as i64)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn complete(db: &SqliteStore, completion: JobCompletion) -> Result<bool> {
    let finished_at = micros(completion.finished_at);
    let mut tx = db.write().await?;
    let row = sqlx::query(
        "UPDATE jobs SET state = 'completed', finished_at = ?, result = ?,
             lease_expires_at = NULL
         WHERE id = ? AND state = 'running' AND locked_by = ?
         RETURNING queue, kind, run_at, created_at, attempted_at",
    )
    .bind(finished_at)
    .bind(completion.result.as_ref().map(Value::to_string))
    .bind(completion.id)
    .bind(&completion.worker_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    let Some(row) = row else {
        return Ok(false);
    };
    record_metric(&mut tx, &Finished::from_row(&row)?, finished_at, true).await?;
    if !completion.next.is_empty() {
        insert_jobs(&mut tx, &completion.next).await?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(true)
}

pub(crate) async fn fail(db: &SqliteStore, failure: JobFailure) -> Result<Option<JobState>> {
    let at = micros(failure.at);
    let mut tx = db.write().await?;
    let row = sqlx::query(
        "UPDATE jobs SET
             state = CASE WHEN ?1 IS NOT NULL AND attempt < max_attempts
                          THEN 'pending' ELSE 'failed' END,
             run_at = CASE WHEN ?1 IS NOT NULL AND attempt < max_attempts
                           THEN ?1 ELSE run_at END,
             finished_at = CASE WHEN ?1 IS NOT NULL AND attempt < max_attempts
                                THEN NULL ELSE ?2 END,
             locked_by = CASE WHEN ?1 IS NOT NULL AND attempt < max_attempts
                              THEN NULL ELSE locked_by END,
             lease_expires_at = NULL,
             errors = json_insert(
                 CASE WHEN NOT json_valid(errors) THEN json_array(errors)
                      WHEN json_type(errors) = 'array' THEN errors
                      ELSE json_array(json(errors)) END,
                 '$[#]', json_object('attempt', attempt, 'at', ?2, 'worker_id', ?4, 'error', ?5))
         WHERE id = ?3 AND state = 'running' AND locked_by = ?4
         RETURNING state, queue, kind, run_at, created_at, attempted_at",
    )
    .bind(failure.retry_at.map(micros))
    .bind(at)
    .bind(failure.id)
    .bind(&failure.worker_id)
    .bind(&failure.error)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let state = row.parsed("state", JobState::parse)?;
    if state == JobState::Failed {
        record_metric(&mut tx, &Finished::from_row(&row)?, at, false).await?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(Some(state))
}

pub(crate) async fn snooze(
    db: &SqliteStore,
    id: JobId,
    worker_id: &str,
    until: DateTime<Utc>,
    reason: &str,
) -> Result<bool> {
    let mut tx = db.write().await?;
    let done = sqlx::query(
        "UPDATE jobs SET state = 'pending', run_at = ?, attempt = max(attempt - 1, 0),
             locked_by = NULL, lease_expires_at = NULL,
             snoozes = snoozes + 1, snooze_reason = ?
         WHERE id = ? AND state = 'running' AND locked_by = ?",
    )
    .bind(micros(until))
    .bind(reason)
    .bind(id)
    .bind(worker_id)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done > 0)
}

pub(crate) async fn progress_set(
    db: &SqliteStore,
    id: JobId,
    worker_id: &str,
    progress: Value,
) -> Result<bool> {
    let mut tx = db.write().await?;
    let done = sqlx::query(
        "UPDATE jobs SET progress = ? WHERE id = ? AND state = 'running' AND locked_by = ?",
    )
    .bind(progress.to_string())
    .bind(id)
    .bind(worker_id)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done > 0)
}

pub(crate) async fn rescue(db: &SqliteStore, now: DateTime<Utc>) -> Result<RescueReport> {
    let now = micros(now);
    let mut tx = db.write().await?;
    let rows = sqlx::query(
        "UPDATE jobs SET
             state = CASE WHEN attempt < max_attempts THEN 'pending' ELSE 'failed' END,
             run_at = CASE WHEN attempt < max_attempts THEN ?1 ELSE run_at END,
             finished_at = CASE WHEN attempt < max_attempts THEN NULL ELSE ?1 END,
             locked_by = CASE WHEN attempt < max_attempts THEN NULL ELSE locked_by END,
             lease_expires_at = NULL,
             errors = json_insert(
                 CASE WHEN NOT json_valid(errors) THEN json_array(errors)
                      WHEN json_type(errors) = 'array' THEN errors
                      ELSE json_array(json(errors)) END,
                 '$[#]', json_object('attempt', attempt, 'at', ?1, 'worker_id', locked_by,
                 'error', 'worker lost: its lease expired before the job finished'))
         WHERE state = 'running' AND lease_expires_at < ?1
         RETURNING state, queue, kind, run_at, created_at, attempted_at",
    )
    .bind(now)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    let mut report = RescueReport::default();
    for row in &rows {
        if row.parsed("state", JobState::parse)? == JobState::Failed {
            record_metric(&mut tx, &Finished::from_row(row)?, now, false).await?;
            report.failed += 1;
        } else {
            report.rescued += 1;
        }
    }
    tx.commit().await.map_err(db_err)?;
    Ok(report)
}

// ----- reads -----

pub(crate) async fn get(db: &SqliteStore, id: JobId) -> Result<Option<Job>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(&db.reader)
    .await
    .map_err(db_err)?
    .as_ref()
    .map(job_from)
    .transpose()
}

/// `text` as a `LIKE` pattern that matches it literally, anywhere.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn job_filter(query: &JobQuery) -> Filter {
    let mut filter = Filter::default();
    if !query.states.is_empty() {
        let states: Vec<&str> = query.states.iter().map(|s| s.as_str()).collect();
        filter.and(
            "state IN (SELECT value FROM json_each(?))",
            [Arg::Text(json_texts(&states))],
        );
    }
    if let Some(queue) = &query.queue {
        filter.and("queue = ?", [Arg::Text(queue.clone())]);
    }
    if let Some(kind) = &query.kind {
        filter.and("kind = ?", [Arg::Text(kind.clone())]);
    }
    if let Some(account) = query.account_id {
        filter.and("account_id = ?", [Arg::Int(account)]);
    }
    if let Some(run) = query.run_id {
        filter.and("run_id = ?", [Arg::Int(run)]);
    }
    if let Some(search) = query.search.as_deref().filter(|s| !s.is_empty()) {
        let pattern = contains_pattern(search);
        filter.and(
            "(kind LIKE ? ESCAPE '\\' OR args LIKE ? ESCAPE '\\'
              OR EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(jobs.errors)
                                                 THEN jobs.errors ELSE '[]' END) e
                         WHERE CASE WHEN e.type = 'object'
                                    THEN json_extract(e.value, '$.error') END
                               LIKE ? ESCAPE '\\'))",
            [
                Arg::Text(pattern.clone()),
                Arg::Text(pattern.clone()),
                Arg::Text(pattern),
            ],
        );
    }
    filter
}

fn selector_filter(selector: &JobSelector) -> Filter {
    match selector {
        JobSelector::Ids(ids) => {
            let mut filter = Filter::default();
            filter.and(
                "id IN (SELECT value FROM json_each(?))",
                [Arg::Text(json_ints(ids))],
            );
            filter
        }
        JobSelector::Filter(query) => job_filter(query),
    }
}

pub(crate) async fn list(db: &SqliteStore, query: JobQuery) -> Result<JobPage> {
    let filter = job_filter(&query);
    let where_sql = filter.sql();
    let mut tx = db.reader.begin().await.map_err(db_err)?;
    let total: i64 = filter
        .bind(sqlx::query(AssertSqlSafe(format!(
            "SELECT count(*) AS total FROM jobs{where_sql}"
        ))))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?
        .col("total")?;
    let jobs = filter
        .bind(sqlx::query(AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs{where_sql} ORDER BY id DESC LIMIT ? OFFSET ?"
        ))))
        .bind(limit(query.limit))
        .bind(i64::from(query.offset))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?
        .iter()
        .map(job_from)
        .collect::<Result<Vec<_>>>()?;
    tx.commit().await.map_err(db_err)?;
    Ok(JobPage { jobs, total })
}

pub(crate) async fn snapshot(db: &SqliteStore, now: DateTime<Utc>) -> Result<QueueSnapshot> {
    let now = micros(now);
    let mut tx = db.reader.begin().await.map_err(db_err)?;
    let mut counts =
        sqlx::query("SELECT queue, state, count(*) AS n FROM jobs GROUP BY queue, state")
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?
            .iter()
            .map(|row| {
                Ok(JobCount {
                    queue: row.col("queue")?,
                    state: row.parsed("state", JobState::parse)?,
                    count: row.col("n")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
    counts.sort_by(|a, b| (&a.queue, a.state).cmp(&(&b.queue, b.state)));
    let scheduled = sqlx::query(
        "SELECT queue, count(*) AS n FROM jobs
         WHERE state = 'pending' AND run_at > ? GROUP BY queue ORDER BY queue",
    )
    .bind(now)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| Ok((row.col("queue")?, row.col("n")?)))
    .collect::<Result<Vec<_>>>()?;
    let oldest_due = sqlx::query(
        "SELECT queue, min(run_at) AS oldest FROM jobs
         WHERE state = 'pending' AND run_at <= ? GROUP BY queue ORDER BY queue",
    )
    .bind(now)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| Ok((row.col("queue")?, row.time("oldest")?)))
    .collect::<Result<Vec<_>>>()?;
    tx.commit().await.map_err(db_err)?;
    Ok(QueueSnapshot {
        counts,
        scheduled,
        oldest_due,
    })
}

// ----- bulk actions and retention -----

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

// ----- metrics -----

fn histogram(value: Value) -> Result<Vec<u64>> {
    let Value::Array(items) = value else {
        return Err(corrupt("job metric histogram"));
    };
    let mut hist: Vec<u64> = items
        .iter()
        .map(|v| {
            v.as_u64()
                .ok_or_else(|| corrupt(format!("histogram count {v}")))
        })
        .collect::<Result<_>>()?;
    hist.resize(HISTOGRAM_BUCKETS, 0);
    Ok(hist)
}

fn bucket_of(at: DateTime<Utc>, resolution: Resolution) -> DateTime<Utc> {
    let step = match resolution {
        Resolution::Minute => Duration::minutes(1),
        Resolution::Hour => Duration::hours(1),
        Resolution::Day => Duration::days(1),
    };
    at.duration_trunc(step).unwrap_or(at)
}

pub(crate) async fn metrics(
    db: &SqliteStore,
    query: JobMetricsQuery,
) -> Result<Vec<JobMetricPoint>> {
    let rows = sqlx::query(
        "SELECT bucket_start, queue, kind, completed, failed, wait_hist, run_hist
         FROM job_metrics
         WHERE bucket_start >= ?1 AND bucket_start <= ?2 AND (?3 IS NULL OR queue = ?3)
         ORDER BY bucket_start, queue, kind",
    )
    .bind(micros(bucket_of(query.from, Resolution::Minute)))
    .bind(micros(query.to))
    .bind(&query.queue)
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    let mut points: BTreeMap<(DateTime<Utc>, String, String), JobMetricPoint> = BTreeMap::new();
    for row in &rows {
        let start = bucket_of(row.time("bucket_start")?, query.resolution);
        let queue: String = row.col("queue")?;
        let kind: String = row.col("kind")?;
        let point = points
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
        point.completed += row.col::<i64>("completed")?.max(0) as u64;
        point.failed += row.col::<i64>("failed")?.max(0) as u64;
        for (sum, n) in point
            .wait_histogram
            .iter_mut()
            .zip(histogram(row.json("wait_hist")?)?)
        {
            *sum += n;
        }
        for (sum, n) in point
            .run_histogram
            .iter_mut()
            .zip(histogram(row.json("run_hist")?)?)
        {
            *sum += n;
        }
    }
    Ok(points.into_values().collect())
}

// ----- the global start limiter -----

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

// ----- schedules -----

fn schedule_from(row: &SqliteRow) -> Result<Schedule> {
    Ok(Schedule {
        def: ScheduleDef {
            name: row.col("name")?,
            cron: row.col("cron")?,
            queue: row.col("queue")?,
            kind: row.col("kind")?,
            args: row.json("args")?,
        },
        paused: row.col("paused")?,
        next_run_at: row.time("next_run_at")?,
        last_run_at: row.time_opt("last_run_at")?,
        last_job_id: row.col("last_job_id")?,
    })
}

const SCHEDULE_COLUMNS: &str =
    "name, cron, queue, kind, args, paused, next_run_at, last_run_at, last_job_id";

pub(crate) async fn schedule_upsert(
    db: &SqliteStore,
    def: ScheduleDef,
    next_run_at: DateTime<Utc>,
) -> Result<()> {
    if def.name.trim().is_empty() {
        return Err(StoreError::invalid("a schedule needs a name"));
    }
    let mut tx = db.write().await?;
    sqlx::query(
        "INSERT INTO schedules (name, cron, queue, kind, args, next_run_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET
             cron = excluded.cron,
             queue = excluded.queue,
             kind = excluded.kind,
             args = excluded.args,
             next_run_at = CASE WHEN schedules.cron <> excluded.cron
                                THEN excluded.next_run_at ELSE schedules.next_run_at END",
    )
    .bind(&def.name)
    .bind(&def.cron)
    .bind(&def.queue)
    .bind(&def.kind)
    .bind(def.args.to_string())
    .bind(micros(next_run_at))
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn schedule_list(db: &SqliteStore) -> Result<Vec<Schedule>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY name"
    )))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?
    .iter()
    .map(schedule_from)
    .collect()
}

pub(crate) async fn schedule_get(db: &SqliteStore, name: &str) -> Result<Option<Schedule>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE name = ?"
    )))
    .bind(name)
    .fetch_optional(&db.reader)
    .await
    .map_err(db_err)?
    .as_ref()
    .map(schedule_from)
    .transpose()
}

pub(crate) async fn schedule_set_paused(
    db: &SqliteStore,
    name: &str,
    paused: bool,
    next_run_at: DateTime<Utc>,
) -> Result<bool> {
    let mut tx = db.write().await?;
    let done = sqlx::query(
        "UPDATE schedules SET paused = ?1,
             next_run_at = CASE WHEN ?1 THEN next_run_at ELSE ?2 END
         WHERE name = ?3",
    )
    .bind(paused)
    .bind(micros(next_run_at))
    .bind(name)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done > 0)
}

pub(crate) async fn schedule_fire(
    db: &SqliteStore,
    fire: ScheduleFire,
) -> Result<Option<InsertOutcome>> {
    check_job(&fire.job)?;
    let mut tx = db.write().await?;
    let won = sqlx::query(
        "UPDATE schedules SET last_run_at = ?, next_run_at = ?
         WHERE name = ? AND paused = 0 AND next_run_at = ?",
    )
    .bind(micros(fire.now))
    .bind(micros(fire.new_next_run_at))
    .bind(&fire.name)
    .bind(micros(fire.expected_next_run_at))
    .execute(&mut *tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    if won == 0 {
        return Ok(None);
    }
    let outcome = insert_jobs(&mut tx, std::slice::from_ref(&fire.job))
        .await?
        .pop()
        .ok_or_else(|| corrupt("no outcome for a scheduled job"))?;
    sqlx::query("UPDATE schedules SET last_job_id = ? WHERE name = ?")
        .bind(outcome.id())
        .bind(&fire.name)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(Some(outcome))
}

// ----- workers -----

pub(crate) async fn worker_heartbeat(db: &SqliteStore, worker: WorkerInfo) -> Result<()> {
    let mut tx = db.write().await?;
    sqlx::query(
        "INSERT INTO workers (id, hostname, pid, queues, concurrency, started_at, last_seen_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET
             hostname = excluded.hostname,
             pid = excluded.pid,
             queues = excluded.queues,
             concurrency = excluded.concurrency,
             started_at = excluded.started_at,
             last_seen_at = excluded.last_seen_at",
    )
    .bind(&worker.id)
    .bind(&worker.hostname)
    .bind(worker.pid)
    .bind(json_texts(&worker.queues))
    .bind(worker.concurrency)
    .bind(micros(worker.started_at))
    .bind(micros(worker.last_seen_at))
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn worker_list(
    db: &SqliteStore,
    seen_since: DateTime<Utc>,
) -> Result<Vec<WorkerInfo>> {
    let rows = sqlx::query(
        "SELECT id, hostname, pid, queues, concurrency, started_at, last_seen_at
         FROM workers WHERE last_seen_at >= ? ORDER BY id",
    )
    .bind(micros(seen_since))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            let queues = match row.json("queues")? {
                Value::Array(items) => items
                    .iter()
                    .map(|q| {
                        q.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| corrupt(format!("worker queue {q}")))
                    })
                    .collect::<Result<Vec<_>>>()?,
                other => return Err(corrupt(format!("worker queues {other}"))),
            };
            Ok(WorkerInfo {
                id: row.col("id")?,
                hostname: row.col("hostname")?,
                pid: row.col("pid")?,
                queues,
                concurrency: row.col("concurrency")?,
                started_at: row.time("started_at")?,
                last_seen_at: row.time("last_seen_at")?,
            })
        })
        .collect()
}

pub(crate) async fn worker_remove(db: &SqliteStore, id: &str) -> Result<()> {
    let mut tx = db.write().await?;
    sqlx::query("DELETE FROM workers WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}
