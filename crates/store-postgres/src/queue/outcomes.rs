//! Outcomes: completion with chained inserts, failure and retry, snoozes, progress, the
//! rescuer, and the persisted metrics each finished job adds.

use super::*;

pub(super) fn millis(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_milliseconds().max(0)
}

/// How many rows each minute of metrics is spread over.
pub(super) const METRIC_SHARDS: i64 = 8;

/// One finished job's contribution to the per-minute metrics.
pub(super) struct Finished {
    id: JobId,
    queue: String,
    kind: String,
    created_at: DateTime<Utc>,
    run_at: DateTime<Utc>,
    attempted_at: Option<DateTime<Utc>>,
    finished_at: DateTime<Utc>,
    completed: bool,
}

/// How a minute's metrics row takes in more finished jobs: counts and histograms add up.
const METRICS_ADD: &str = "ON CONFLICT (bucket_start, queue, kind, shard) DO UPDATE SET
    completed = job_metrics.completed + EXCLUDED.completed,
    failed = job_metrics.failed + EXCLUDED.failed,
    wait_hist = ARRAY(SELECT a + b FROM unnest(job_metrics.wait_hist,
        EXCLUDED.wait_hist) WITH ORDINALITY AS t(a, b, o) ORDER BY o),
    run_hist = ARRAY(SELECT a + b FROM unnest(job_metrics.run_hist,
        EXCLUDED.run_hist) WITH ORDINALITY AS t(a, b, o) ORDER BY o)";

pub(super) async fn metrics_add(conn: &mut PgConnection, finished: &[Finished]) -> Result<()> {
    type Key = (DateTime<Utc>, String, String, i16);
    let mut groups: BTreeMap<Key, (i64, i64, Vec<i64>, Vec<i64>)> = BTreeMap::new();
    for f in finished {
        let key = (
            Resolution::Minute.bucket_start(f.finished_at),
            f.queue.clone(),
            f.kind.clone(),
            (f.id.get().rem_euclid(METRIC_SHARDS)) as i16,
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
        let sql = format!(
            "INSERT INTO job_metrics (bucket_start, queue, kind, shard, completed, failed,
                 wait_hist, run_hist)
             VALUES ($1, $2, $3, $8, $4, $5, $6, $7)
             {METRICS_ADD}"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
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

pub(super) fn finished_from(
    r: &PgRow,
    finished_at: DateTime<Utc>,
    completed: bool,
) -> Result<Finished> {
    Ok(Finished {
        id: JobId::new(get(r, "id")?),
        queue: get(r, "queue")?,
        kind: get(r, "kind")?,
        created_at: get(r, "created_at")?,
        run_at: get(r, "run_at")?,
        attempted_at: get(r, "attempted_at")?,
        finished_at,
        completed,
    })
}

/// The lower edges of the histogram buckets after the first (2, 4, 8, … ms): with
/// `width_bucket` they put a duration in the bucket [`histogram_bucket`] gives it.
fn bucket_edges() -> Vec<i64> {
    (1..HISTOGRAM_BUCKETS).map(|i| 1i64 << i).collect()
}

/// A completion that queues no next job, as one statement: the job's update and its
/// minute's metrics (the wait from due to claim, the run from claim to completion, each
/// in its bucket, counted in SQL from the row the update returns).
async fn complete_alone(pool: &PgPool, c: &JobCompletion) -> Result<bool> {
    let sql = format!(
        "WITH done AS (
             UPDATE jobs SET state = 'completed', finished_at = $3, result = $4,
                 lease_expires_at = NULL, progress = COALESCE($5, progress)
             WHERE id = $1 AND state = 'running' AND locked_by = $2
             RETURNING id, queue, kind, attempted_at,
                 GREATEST(run_at, created_at) AS due, finished_at
         ), timed AS (
             SELECT queue, kind, (id % $7)::smallint AS shard, attempted_at IS NOT NULL AS claimed,
                 width_bucket(GREATEST(0, floor(extract(epoch FROM attempted_at - due)
                     * 1000))::bigint, $8::bigint[]) AS wait,
                 width_bucket(GREATEST(0, floor(extract(epoch FROM finished_at - attempted_at)
                     * 1000))::bigint, $8::bigint[]) AS run
             FROM done
         )
         INSERT INTO job_metrics (bucket_start, queue, kind, shard, completed, failed,
             wait_hist, run_hist)
         SELECT $6, queue, kind, shard, 1, 0,
             ARRAY(SELECT (claimed AND g = wait)::int::bigint FROM generate_series(0, $9) g),
             ARRAY(SELECT (claimed AND g = run)::int::bigint FROM generate_series(0, $9) g)
         FROM timed
         {METRICS_ADD}
         RETURNING 1"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(c.id.get())
        .bind(&c.worker_id)
        .bind(c.finished_at)
        .bind(&c.result)
        .bind(&c.progress)
        .bind(Resolution::Minute.bucket_start(c.finished_at))
        .bind(METRIC_SHARDS)
        .bind(bucket_edges())
        .bind(HISTOGRAM_BUCKETS as i32 - 1)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    Ok(done.is_some())
}

pub(crate) async fn complete(pool: &PgPool, c: JobCompletion) -> Result<bool> {
    if c.next.is_empty() {
        return complete_alone(pool, &c).await;
    }
    let mut tx = pool.begin().await.map_err(db)?;
    let row = sqlx::query(
        "UPDATE jobs SET state = 'completed', finished_at = $3, result = $4,
             lease_expires_at = NULL, progress = COALESCE($5, progress)
         WHERE id = $1 AND state = 'running' AND locked_by = $2
         RETURNING id, queue, kind, created_at, run_at, attempted_at",
    )
    .bind(c.id.get())
    .bind(&c.worker_id)
    .bind(c.finished_at)
    .bind(&c.result)
    .bind(&c.progress)
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
    .bind(f.id.get())
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
            .bind(f.id.get())
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
            .bind(f.id.get())
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
    .bind(id.get())
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
    .bind(id.get())
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
