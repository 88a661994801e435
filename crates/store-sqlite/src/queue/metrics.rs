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

pub(super) fn bucket_of(at: DateTime<Utc>, resolution: Resolution) -> DateTime<Utc> {
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
