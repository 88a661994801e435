//! The queue at a glance: live counts by queue and state with the queue age (the oldest due
//! job's wait: a stalled queue looks like an idle one without it), throughput and wait /
//! run-time percentiles over time from the persisted histograms, and the workers.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use store::{
    HISTOGRAM_BUCKETS, JobId, JobMetricPoint, JobMetricsQuery, JobQuery, JobState, QueueSnapshot,
    Resolution, histogram_quantile,
};

use crate::access::Access;
use crate::api::{check_text, parse_instant};
use crate::error::{ApiJson, ApiQuery, AppError, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/queue", get(snapshot))
        .route("/queue/metrics", get(metrics))
        .route("/queue/workers", get(workers))
}

/// Counts of one queue (or of all queues) by state.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct StateCounts {
    /// Pending jobs, due or scheduled for later.
    pub pending: i64,
    /// Pending jobs whose `run_at` is in the future (part of `pending`).
    pub scheduled: i64,
    pub running: i64,
    pub completed: i64,
    pub failed: i64,
    pub cancelled: i64,
}

impl StateCounts {
    fn add(&mut self, state: JobState, n: i64) {
        match state {
            JobState::Pending => self.pending += n,
            JobState::Running => self.running += n,
            JobState::Completed => self.completed += n,
            JobState::Failed => self.failed += n,
            JobState::Cancelled => self.cancelled += n,
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "QueueCounts")]
pub struct QueueView {
    pub queue: String,
    pub counts: StateCounts,
    /// When the oldest due pending job became due.
    pub oldest_due_at: Option<DateTime<Utc>>,
    /// How long the oldest due pending job has waited, in seconds (0 when none waits).
    pub age_seconds: f64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "QueueSnapshot")]
pub struct SnapshotView {
    pub generated_at: DateTime<Utc>,
    pub totals: StateCounts,
    /// The largest queue age, in seconds.
    pub age_seconds: f64,
    pub queues: Vec<QueueView>,
}

impl SnapshotView {
    pub fn of(snapshot: &QueueSnapshot, now: DateTime<Utc>) -> SnapshotView {
        fn entry<'a>(queues: &'a mut BTreeMap<String, QueueView>, name: &str) -> &'a mut QueueView {
            queues.entry(name.to_owned()).or_insert_with(|| QueueView {
                queue: name.to_owned(),
                counts: StateCounts::default(),
                oldest_due_at: None,
                age_seconds: 0.0,
            })
        }
        let mut queues: BTreeMap<String, QueueView> = BTreeMap::new();
        let mut totals = StateCounts::default();
        for c in &snapshot.counts {
            entry(&mut queues, &c.queue).counts.add(c.state, c.count);
            totals.add(c.state, c.count);
        }
        for (name, n) in &snapshot.scheduled {
            entry(&mut queues, name).counts.scheduled += n;
            totals.scheduled += n;
        }
        for (name, at) in &snapshot.oldest_due {
            let q = entry(&mut queues, name);
            q.oldest_due_at = Some(*at);
            q.age_seconds = seconds(now - *at);
        }
        let age_seconds = queues.values().map(|q| q.age_seconds).fold(0.0, f64::max);
        SnapshotView {
            generated_at: now,
            totals,
            age_seconds,
            queues: queues.into_values().collect(),
        }
    }
}

fn seconds(d: Duration) -> f64 {
    (d.num_milliseconds().max(0) as f64) / 1000.0
}

/// The live counts; a key of one workspace counts its accounts' jobs only.
async fn snapshot(
    State(state): State<AppState>,
    access: Access,
) -> AppResult<ApiJson<SnapshotView>> {
    let now = state.clock.now();
    let only = access.account_set();
    let snapshot = state.store.job_snapshot(now, only.as_deref()).await?;
    Ok(ApiJson(SnapshotView::of(&snapshot, now)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsParams {
    /// Start (date or RFC 3339); default: `to` minus 7 days (minute: 6 hours).
    pub from: Option<String>,
    /// End (date or RFC 3339); default: now.
    pub to: Option<String>,
    /// `minute`, `hour` (default) or `day`.
    pub resolution: Option<String>,
    pub queue: Option<String>,
}

/// p50 / p95 / p99 in milliseconds (upper edges of the histogram buckets); null without data.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Percentiles {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

impl Percentiles {
    pub fn of(hist: &[u64]) -> Percentiles {
        Percentiles {
            p50: histogram_quantile(hist, 0.50),
            p95: histogram_quantile(hist, 0.95),
            p99: histogram_quantile(hist, 0.99),
        }
    }
}

/// Finished jobs in one bucket (all kinds of the selected queues merged).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MetricBucket {
    pub bucket_start: DateTime<Utc>,
    pub completed: u64,
    pub failed: u64,
    pub wait_ms: Percentiles,
    pub run_ms: Percentiles,
}

/// The whole range for one queue and kind.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct KindSummary {
    pub queue: String,
    pub kind: String,
    pub completed: u64,
    pub failed: u64,
    pub wait_ms: Percentiles,
    pub run_ms: Percentiles,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "QueueMetrics")]
pub struct MetricsView {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[schemars(extend("enum" = ["minute", "hour", "day"]))]
    pub resolution: &'static str,
    pub queue: Option<String>,
    /// Oldest first; buckets without finished jobs are absent.
    pub series: Vec<MetricBucket>,
    pub by_kind: Vec<KindSummary>,
}

/// Parses `minute | hour | day`.
pub fn parse_resolution(value: Option<&str>) -> AppResult<Resolution> {
    match value {
        None | Some("") | Some("hour") => Ok(Resolution::Hour),
        Some("minute") => Ok(Resolution::Minute),
        Some("day") => Ok(Resolution::Day),
        Some(other) => Err(AppError::invalid(format!(
            "resolution must be minute, hour or day, got {other:?}"
        ))),
    }
}

fn resolution_name(r: Resolution) -> &'static str {
    match r {
        Resolution::Minute => "minute",
        Resolution::Hour => "hour",
        Resolution::Day => "day",
    }
}

/// The longest range each resolution may cover (bounds the size of an answer).
fn max_range(r: Resolution) -> Duration {
    match r {
        Resolution::Minute => Duration::days(2),
        Resolution::Hour => Duration::days(93),
        Resolution::Day => Duration::days(3 * 366),
    }
}

/// Validated metrics query from request parameters.
pub fn metrics_query(params: &MetricsParams, now: DateTime<Utc>) -> AppResult<JobMetricsQuery> {
    let resolution = parse_resolution(params.resolution.as_deref())?;
    let to = match &params.to {
        Some(v) => parse_instant("to", v)?,
        None => now,
    };
    let from = match &params.from {
        Some(v) => parse_instant("from", v)?,
        None if resolution == Resolution::Minute => to - Duration::hours(6),
        None => to - Duration::days(7),
    };
    if from >= to {
        return Err(AppError::invalid("`from` must be before `to`"));
    }
    if to - from > max_range(resolution) {
        return Err(AppError::invalid(format!(
            "a {} resolution covers at most {} days; narrow the range or use a coarser \
             resolution",
            resolution_name(resolution),
            max_range(resolution).num_days()
        )));
    }
    Ok(JobMetricsQuery {
        from,
        to,
        resolution,
        queue: check_text("queue", params.queue.as_deref(), 100)?,
    })
}

/// Finished jobs and their merged wait / run-time histograms.
#[derive(Debug, Clone, PartialEq)]
pub struct Totals {
    pub completed: u64,
    pub failed: u64,
    pub wait_histogram: Vec<u64>,
    pub run_histogram: Vec<u64>,
}

impl Default for Totals {
    fn default() -> Self {
        Totals {
            completed: 0,
            failed: 0,
            wait_histogram: vec![0; HISTOGRAM_BUCKETS],
            run_histogram: vec![0; HISTOGRAM_BUCKETS],
        }
    }
}

impl Totals {
    /// Adds a point (the layout of the buckets is fixed, so histograms merge exactly).
    pub fn add(&mut self, p: &JobMetricPoint) {
        self.completed += p.completed;
        self.failed += p.failed;
        for (a, b) in self.wait_histogram.iter_mut().zip(&p.wait_histogram) {
            *a += b;
        }
        for (a, b) in self.run_histogram.iter_mut().zip(&p.run_histogram) {
            *a += b;
        }
    }
}

/// The points merged per queue and kind.
pub fn totals_by_kind(points: &[JobMetricPoint]) -> BTreeMap<(String, String), Totals> {
    let mut kinds: BTreeMap<(String, String), Totals> = BTreeMap::new();
    for p in points {
        kinds
            .entry((p.queue.clone(), p.kind.clone()))
            .or_default()
            .add(p);
    }
    kinds
}

/// Merges the store's points per bucket (all kinds) and per kind (whole range).
pub fn summarize(query: &JobMetricsQuery, points: &[JobMetricPoint]) -> MetricsView {
    let mut buckets: BTreeMap<DateTime<Utc>, Totals> = BTreeMap::new();
    for p in points {
        buckets.entry(p.bucket_start).or_default().add(p);
    }
    MetricsView {
        from: query.from,
        to: query.to,
        resolution: resolution_name(query.resolution),
        queue: query.queue.clone(),
        series: buckets
            .into_iter()
            .map(|(bucket_start, t)| MetricBucket {
                bucket_start,
                completed: t.completed,
                failed: t.failed,
                wait_ms: Percentiles::of(&t.wait_histogram),
                run_ms: Percentiles::of(&t.run_histogram),
            })
            .collect(),
        by_kind: totals_by_kind(points)
            .into_iter()
            .map(|((queue, kind), t)| KindSummary {
                queue,
                kind,
                completed: t.completed,
                failed: t.failed,
                wait_ms: Percentiles::of(&t.wait_histogram),
                run_ms: Percentiles::of(&t.run_histogram),
            })
            .collect(),
    }
}

async fn metrics(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<MetricsParams>,
) -> AppResult<ApiJson<MetricsView>> {
    let query = metrics_query(&params, state.clock.now())?;
    let points = state.store.job_metrics(query.clone()).await?;
    Ok(ApiJson(summarize(&query, &points)))
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "Worker")]
pub struct WorkerView {
    pub id: String,
    pub hostname: String,
    pub pid: i64,
    pub queues: Vec<String>,
    pub concurrency: i32,
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// Jobs this worker runs now.
    pub running_jobs: Vec<JobId>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WorkerList {
    /// Workers seen within the last this many seconds.
    pub seen_within_seconds: i64,
    pub workers: Vec<WorkerView>,
}

/// A worker that has not been seen for this long is not listed.
const WORKER_SEEN_WITHIN: Duration = Duration::minutes(2);

async fn workers(State(state): State<AppState>) -> AppResult<ApiJson<WorkerList>> {
    let now = state.clock.now();
    let workers = state.store.worker_list(now - WORKER_SEEN_WITHIN).await?;
    let running = state
        .store
        .job_list(JobQuery {
            states: vec![JobState::Running],
            limit: crate::api::MAX_LIMIT,
            ..Default::default()
        })
        .await?;
    Ok(ApiJson(WorkerList {
        seen_within_seconds: WORKER_SEEN_WITHIN.num_seconds(),
        workers: workers
            .into_iter()
            .map(|w| WorkerView {
                running_jobs: running
                    .jobs
                    .iter()
                    .filter(|j| j.locked_by.as_deref() == Some(w.id.as_str()))
                    .map(|j| j.id)
                    .collect(),
                id: w.id,
                hostname: w.hostname,
                pid: w.pid,
                queues: w.queues,
                concurrency: w.concurrency,
                started_at: w.started_at,
                last_seen_at: w.last_seen_at,
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::JobCount;

    #[test]
    fn the_snapshot_groups_by_queue_and_measures_age() {
        let now = Utc::now();
        let snap = QueueSnapshot {
            counts: vec![
                JobCount {
                    queue: "a".into(),
                    state: JobState::Pending,
                    count: 3,
                },
                JobCount {
                    queue: "b".into(),
                    state: JobState::Failed,
                    count: 2,
                },
            ],
            scheduled: vec![("a".into(), 1)],
            oldest_due: vec![("a".into(), now - Duration::seconds(90))],
        };
        let v = SnapshotView::of(&snap, now);
        assert_eq!(v.totals.pending, 3);
        assert_eq!(v.totals.scheduled, 1);
        assert_eq!(v.totals.failed, 2);
        assert_eq!(v.queues.len(), 2);
        assert_eq!(v.queues[0].queue, "a");
        assert_eq!(v.queues[0].age_seconds, 90.0);
        assert_eq!(v.queues[1].age_seconds, 0.0);
        assert_eq!(v.age_seconds, 90.0);
    }

    #[test]
    fn metrics_merge_histograms_per_bucket_and_kind() {
        let t0 = Utc::now();
        let mut wait = vec![0; HISTOGRAM_BUCKETS];
        wait[3] = 10;
        let mut run = vec![0; HISTOGRAM_BUCKETS];
        run[10] = 10;
        let point = |kind: &str, at| JobMetricPoint {
            bucket_start: at,
            queue: "q".into(),
            kind: kind.into(),
            completed: 9,
            failed: 1,
            wait_histogram: wait.clone(),
            run_histogram: run.clone(),
        };
        let query = JobMetricsQuery {
            from: t0,
            to: t0 + Duration::hours(2),
            resolution: Resolution::Hour,
            queue: None,
        };
        let v = summarize(
            &query,
            &[
                point("a", t0),
                point("b", t0),
                point("a", t0 + Duration::hours(1)),
            ],
        );
        assert_eq!(v.series.len(), 2);
        assert_eq!(v.series[0].completed, 18);
        assert_eq!(v.series[0].failed, 2);
        assert_eq!(v.series[0].wait_ms.p50, Some(16.0));
        assert_eq!(v.series[0].run_ms.p99, Some(2048.0));
        assert_eq!(v.by_kind.len(), 2);
        assert_eq!(v.by_kind[0].kind, "a");
        assert_eq!(v.by_kind[0].completed, 18);
    }

    #[test]
    fn metric_ranges_are_validated() {
        let now = Utc::now();
        let params = |from: Option<&str>, to: Option<&str>, res: Option<&str>| MetricsParams {
            from: from.map(Into::into),
            to: to.map(Into::into),
            resolution: res.map(Into::into),
            queue: None,
        };
        let q = metrics_query(&params(None, None, None), now).unwrap();
        assert_eq!(q.to - q.from, Duration::days(7));
        assert!(metrics_query(&params(None, None, Some("week")), now).is_err());
        assert!(metrics_query(&params(Some("2025-01-02"), Some("2025-01-01"), None), now).is_err());
        assert!(
            metrics_query(
                &params(Some("2025-01-01"), Some("2025-01-10"), Some("minute")),
                now
            )
            .is_err()
        );
        assert!(
            metrics_query(
                &params(Some("2024-01-01"), Some("2025-01-01"), Some("day")),
                now
            )
            .is_ok()
        );
    }
}
