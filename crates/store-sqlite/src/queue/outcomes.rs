//! Outcomes: completion with chained inserts, failure and retry, snoozes, progress, the
//! rescuer, and the persisted metrics each finished job adds.

use super::*;

/// The timing of a finishing attempt, for the persisted metrics.
pub(super) struct Finished {
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

pub(super) fn one_hot(bucket: usize) -> String {
    let mut hist = vec![0u64; HISTOGRAM_BUCKETS];
    hist[bucket] = 1;
    Value::from(hist).to_string()
}

/// Adds one finished job to its minute's counters and histograms.
pub(super) async fn record_metric(
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
             lease_expires_at = NULL, progress = COALESCE(?, progress)
         WHERE id = ? AND state = 'running' AND locked_by = ?
         RETURNING queue, kind, run_at, created_at, attempted_at",
    )
    .bind(finished_at)
    .bind(completion.result.as_ref().map(Value::to_string))
    .bind(completion.progress.as_ref().map(Value::to_string))
    .bind(completion.id.get())
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
    .bind(failure.id.get())
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
    .bind(id.get())
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
    .bind(id.get())
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
