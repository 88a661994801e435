//! Per-minute job metrics and their roll-ups by hour and day.

use super::*;

/// A stored minute: start, queue, kind, completed, failed, wait and run histograms.
pub(super) type MetricRow = (DateTime<Utc>, String, String, i64, i64, Vec<i64>, Vec<i64>);

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
    let counts = |hist: Vec<i64>| -> Vec<u64> {
        hist.iter()
            .take(HISTOGRAM_BUCKETS)
            .map(|n| (*n).max(0) as u64)
            .collect()
    };
    let stored = rows.into_iter().map(
        |(bucket_start, queue, kind, completed, failed, wait, run)| JobMetricPoint {
            bucket_start,
            queue,
            kind,
            completed: completed.max(0) as u64,
            failed: failed.max(0) as u64,
            wait_histogram: counts(wait),
            run_histogram: counts(run),
        },
    );
    Ok(JobMetricPoint::roll_up(stored, q.resolution))
}
