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
