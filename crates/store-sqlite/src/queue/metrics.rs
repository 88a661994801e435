//! Per-minute job metrics and their roll-ups by hour and day.

use super::*;

pub(super) fn histogram(value: Value) -> Result<Vec<u64>> {
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
    .bind(micros(Resolution::Minute.bucket_start(query.from)))
    .bind(micros(query.to))
    .bind(&query.queue)
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    let stored = rows
        .iter()
        .map(|row| {
            Ok(JobMetricPoint {
                bucket_start: row.time("bucket_start")?,
                queue: row.col("queue")?,
                kind: row.col("kind")?,
                completed: row.col::<i64>("completed")?.max(0) as u64,
                failed: row.col::<i64>("failed")?.max(0) as u64,
                wait_histogram: histogram(row.json("wait_hist")?)?,
                run_histogram: histogram(row.json("run_hist")?)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(JobMetricPoint::roll_up(stored, query.resolution))
}
