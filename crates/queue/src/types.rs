//! The durable job queue's data: jobs, their state machine, schedules, the global start
//! limiter, worker registrations and persisted queue metrics.
//!
//! State machine (see ARCHITECTURE.md):
//!
//! ```text
//!  insert ─▶ pending ──claim──▶ running ──complete──▶ completed
//!              ▲  ▲               │  │
//!              │  └──snooze/retry─┘  └──fail (no attempts left)──▶ failed
//!              │        (lease expired: rescue)
//!              └──────── retry (manual) ◀── failed / cancelled
//!  pending / running ──cancel──▶ cancelled
//! ```
//!
//! A job is `pending` until `run_at`; the UI calls a pending job with a future `run_at`
//! "scheduled". `attempt` counts claims; a snooze gives the attempt back.

use chrono::{DateTime, Utc};

/// Defines an id type: a `Copy` newtype over the stored `i64` that reads, writes, prints and
/// parses exactly as the bare number (serde transparent, `Display` and `FromStr` of `i64`;
/// with the feature `schemars`, the JSON Schema of `i64`), so that ids of different things
/// cannot be swapped and nothing outside changes.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize,
            serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// The id stored as `value`.
            pub const fn new(value: i64) -> Self {
                Self(value)
            }

            /// The number stored for this id.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }

        #[cfg(feature = "schemars")]
        impl schemars::JsonSchema for $name {
            fn inline_schema() -> bool {
                <i64 as schemars::JsonSchema>::inline_schema()
            }

            fn schema_name() -> std::borrow::Cow<'static, str> {
                <i64 as schemars::JsonSchema>::schema_name()
            }

            fn schema_id() -> std::borrow::Cow<'static, str> {
                <i64 as schemars::JsonSchema>::schema_id()
            }

            fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                <i64 as schemars::JsonSchema>::json_schema(generator)
            }
        }
    };
}

id_type! {
    /// Our own surrogate key for an account (the queue only carries it: one running job per
    /// account).
    AccountId
}

id_type! {
    /// A sync run's id (the queue only carries it, for the run's own bookkeeping).
    RunId
}

id_type! {
    /// A job's id.
    JobId
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobState {
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        JobState::Pending,
        JobState::Running,
        JobState::Completed,
        JobState::Failed,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|it| it.as_str() == s)
    }

    /// Pending and running jobs hold their `unique_key`.
    pub fn is_active(self) -> bool {
        matches!(self, JobState::Pending | JobState::Running)
    }
}

/// A job to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub queue: String,
    /// Stable snake_case name of the job's handler (persisted: never rename).
    pub kind: String,
    pub args: serde_json::Value,
    /// The account the job works on, if any: at most one job per account runs at a time.
    pub account_id: Option<AccountId>,
    /// While a pending or running job holds this key, inserting another job with the same
    /// key merges into it (the insert returns [`InsertOutcome::Merged`]).
    pub unique_key: Option<String>,
    pub run_id: Option<RunId>,
    pub run_at: DateTime<Utc>,
    pub max_attempts: i32,
    /// Lower runs first.
    pub priority: i16,
    pub now: DateTime<Utc>,
}

impl NewJob {
    /// A job of `kind` on `queue` with `args`: for no account, without unique key or run,
    /// due at `now`, three attempts, priority 0. Set the other fields with struct update
    /// syntax (`NewJob { account_id, ..NewJob::new(queue, kind, args, now) }`).
    pub fn new(
        queue: impl Into<String>,
        kind: impl Into<String>,
        args: serde_json::Value,
        now: DateTime<Utc>,
    ) -> NewJob {
        NewJob {
            queue: queue.into(),
            kind: kind.into(),
            args,
            account_id: None,
            unique_key: None,
            run_id: None,
            run_at: now,
            max_attempts: 3,
            priority: 0,
            now,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted(JobId),
    /// An active job already held the unique key; nothing was inserted.
    Merged(JobId),
}

impl InsertOutcome {
    pub fn id(self) -> JobId {
        match self {
            InsertOutcome::Inserted(id) | InsertOutcome::Merged(id) => id,
        }
    }
}

/// One failed attempt, kept on the job.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptError {
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub worker_id: Option<String>,
    pub error: String,
    /// The stored entry could not be read (edited by hand, written by a foreign tool): the
    /// job is still listed, and `error` says so and quotes what is stored.
    pub unreadable: bool,
}

impl AttemptError {
    /// Longest excerpt of an unreadable entry quoted in its `error`.
    pub const UNREADABLE_EXCERPT_CHARS: usize = 200;

    /// Stands in for a stored error entry that cannot be read, so that one bad entry flags
    /// its job instead of failing every listing that includes it. `attempt` is the entry's
    /// own attempt number when that much is readable, else 0; `at` is the best time known.
    /// Reads a job's stored error list (a JSON array of `{attempt, at, worker_id, error}`),
    /// each dialect giving how it stores `at` (`read_at`). A list that is not an array, or an
    /// entry missing a field, becomes an [`AttemptError::unreadable`] entry, never a failure,
    /// so one bad entry flags its job instead of failing every listing that includes it.
    pub fn list_from_json(
        value: &serde_json::Value,
        read_at: impl Fn(&serde_json::Value) -> Option<DateTime<Utc>>,
        fallback: DateTime<Utc>,
    ) -> Vec<AttemptError> {
        let serde_json::Value::Array(items) = value else {
            return vec![AttemptError::unreadable(&value.to_string(), None, fallback)];
        };
        items
            .iter()
            .map(|e| {
                let attempt = e["attempt"].as_i64().and_then(|a| i32::try_from(a).ok());
                let at = read_at(&e["at"]);
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

    pub fn unreadable(stored: &str, attempt: Option<i32>, at: DateTime<Utc>) -> AttemptError {
        let mut excerpt: String = stored
            .chars()
            .take(Self::UNREADABLE_EXCERPT_CHARS)
            .collect();
        if excerpt.len() < stored.len() {
            excerpt.push('…');
        }
        AttemptError {
            attempt: attempt.unwrap_or(0),
            at,
            worker_id: None,
            error: format!("unreadable error entry: {excerpt}"),
            unreadable: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub queue: String,
    pub kind: String,
    pub args: serde_json::Value,
    pub account_id: Option<AccountId>,
    pub unique_key: Option<String>,
    pub run_id: Option<RunId>,
    pub state: JobState,
    pub attempt: i32,
    pub max_attempts: i32,
    pub priority: i16,
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// When the current or last attempt started.
    pub attempted_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub locked_by: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub errors: Vec<AttemptError>,
    pub progress: Option<serde_json::Value>,
    pub result: Option<serde_json::Value>,
}

/// Claim up to `limit` due jobs (`pending`, `run_at <= now`) of the given queues for one
/// worker, by priority then `run_at` then id. Never claims a job whose account already has
/// a running job, nor two jobs of one account in one claim — across all workers.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimParams {
    pub queues: Vec<String>,
    pub worker_id: String,
    pub limit: u32,
    pub now: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
}

/// Finish a running job successfully. In the same transaction, insert `next` (the next
/// step of a chain: its unique key may equal this job's, which is released first). Returns
/// false (and changes nothing) if the job is no longer running under this worker.
#[derive(Debug, Clone, PartialEq)]
pub struct JobCompletion {
    pub id: JobId,
    pub worker_id: String,
    pub finished_at: DateTime<Utc>,
    pub result: Option<serde_json::Value>,
    pub next: Vec<NewJob>,
    /// The attempt's last progress when it was not written yet (see
    /// [`JobContext::set_progress`](crate::JobContext::set_progress)): stored with the
    /// completion; None keeps the stored progress.
    pub progress: Option<serde_json::Value>,
}

/// Record a failed attempt of a running job. With `retry_at` the job goes back to
/// `pending` at that time if attempts remain; otherwise (or without `retry_at`) it becomes
/// `failed`. Returns the new state, or None if the job was not running under this worker.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFailure {
    pub id: JobId,
    pub worker_id: String,
    pub at: DateTime<Utc>,
    pub error: String,
    pub retry_at: Option<DateTime<Utc>>,
}

/// Which jobs a bulk action applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum JobSelector {
    Ids(Vec<JobId>),
    Filter(JobQuery),
}

/// Search over jobs. All given filters must match. `search` matches (case-insensitively,
/// as plain text — never as SQL) the kind, the args JSON text and the error texts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobQuery {
    pub states: Vec<JobState>,
    pub queue: Option<String>,
    pub kind: Option<String>,
    pub account_id: Option<AccountId>,
    pub run_id: Option<RunId>,
    pub search: Option<String>,
    /// Only these jobs; empty: any job.
    pub ids: Vec<JobId>,
    /// Only jobs of these accounts (a job without an account never matches); None: every
    /// job. How a key of one workspace sees the queue.
    pub accounts: Option<Vec<AccountId>>,
    /// Newest first (by id).
    pub limit: u32,
    pub offset: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    /// All matches, ignoring limit/offset.
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobCount {
    pub queue: String,
    pub state: JobState,
    pub count: i64,
}

/// Live counts, and the age of the oldest due pending job per queue ("queue age": a
/// stalled queue looks identical to an idle one without it).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueSnapshot {
    pub counts: Vec<JobCount>,
    /// Pending jobs whose `run_at` is in the future.
    pub scheduled: Vec<(String, i64)>,
    pub oldest_due: Vec<(String, DateTime<Utc>)>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RescueReport {
    /// Back to pending with a "worker lost" error entry.
    pub rescued: u64,
    /// No attempts left: failed.
    pub failed: u64,
}

/// Retention of finished jobs. Counts are "keep at least the newest N"; ages are "delete
/// older than" — a job is deleted when it is beyond the newest `keep` of its state AND
/// older than `max_age`.
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionPolicy {
    pub completed_keep: u32,
    pub completed_max_age: chrono::Duration,
    pub failed_keep: u32,
    pub failed_max_age: chrono::Duration,
    /// Cancelled jobs follow the failed policy.
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub completed: u64,
    pub failed: u64,
    pub cancelled: u64,
}

/// The outcome of asking the global limiter for a start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Granted,
    /// No slot left in the window; the next one frees at this time.
    RetryAt(DateTime<Utc>),
}

/// A recurring schedule (cron) that inserts one job per tick.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleDef {
    pub name: String,
    pub cron: String,
    pub queue: String,
    pub kind: String,
    pub args: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub def: ScheduleDef,
    pub paused: bool,
    pub next_run_at: DateTime<Utc>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_job_id: Option<JobId>,
}

/// Fire a schedule's tick exactly once across all workers: succeeds only if the schedule
/// is not paused and its `next_run_at` still equals `expected_next_run_at`; then, in one
/// transaction, inserts `job`, sets `last_run_at = now`, `last_job_id` and
/// `next_run_at = new_next_run_at`. Returns the job id, or None when another worker won.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleFire {
    pub name: String,
    pub expected_next_run_at: DateTime<Utc>,
    pub new_next_run_at: DateTime<Utc>,
    pub job: NewJob,
    pub now: DateTime<Utc>,
}

/// A worker process, as it registers itself on each heartbeat.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerInfo {
    pub id: String,
    pub hostname: String,
    pub pid: i64,
    pub queues: Vec<String>,
    pub concurrency: i32,
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// Bucket layout of the persisted wait/run-time histograms: bucket `i` counts durations in
/// `[2^i, 2^(i+1))` milliseconds (bucket 0 also takes 0 ms); the last bucket is open-ended.
/// Fixed, so minutes merge into hours and days exactly.
pub const HISTOGRAM_BUCKETS: usize = 24;

/// The histogram bucket of a duration in milliseconds.
pub fn histogram_bucket(ms: i64) -> usize {
    if ms <= 1 {
        return 0;
    }
    let b = 63 - (ms as u64).leading_zeros() as usize;
    b.min(HISTOGRAM_BUCKETS - 1)
}

/// The `q`-quantile (0..=1) of a histogram, as the upper edge of the bucket holding it, in
/// milliseconds. None when empty.
pub fn histogram_quantile(hist: &[u64], q: f64) -> Option<f64> {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, n) in hist.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Some(2f64.powi(i as i32 + 1));
        }
    }
    Some(2f64.powi(HISTOGRAM_BUCKETS as i32))
}

/// Finished jobs of one queue and kind within one minute: persisted when each job
/// finishes, kept for the long run (charts over days, not minutes).
#[derive(Debug, Clone, PartialEq)]
pub struct JobMetricPoint {
    /// Start of the bucket (minute, hour or day, per the query's resolution).
    pub bucket_start: DateTime<Utc>,
    pub queue: String,
    pub kind: String,
    pub completed: u64,
    pub failed: u64,
    /// `HISTOGRAM_BUCKETS` counts each: wait = claim − max(run_at, created_at) of the
    /// finishing attempt; run = finish − claim.
    pub wait_histogram: Vec<u64>,
    pub run_histogram: Vec<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Minute,
    Hour,
    Day,
}

impl Resolution {
    /// Start of the minute, hour or day (UTC) holding `at`.
    pub fn bucket_start(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let width = match self {
            Resolution::Minute => 60,
            Resolution::Hour => 3_600,
            Resolution::Day => 86_400,
        };
        let s = at.timestamp();
        DateTime::from_timestamp(s - s.rem_euclid(width), 0).unwrap_or(at)
    }
}

impl JobMetricPoint {
    /// Stored points (minutes, one row per shard) summed per bucket of `resolution`, queue
    /// and kind, in that order: the one roll-up of both dialects' `job_metrics`.
    pub fn roll_up(
        stored: impl IntoIterator<Item = JobMetricPoint>,
        resolution: Resolution,
    ) -> Vec<JobMetricPoint> {
        let mut points: std::collections::BTreeMap<
            (DateTime<Utc>, String, String),
            JobMetricPoint,
        > = std::collections::BTreeMap::new();
        for row in stored {
            let start = resolution.bucket_start(row.bucket_start);
            let point = points
                .entry((start, row.queue.clone(), row.kind.clone()))
                .or_insert_with(|| JobMetricPoint {
                    bucket_start: start,
                    queue: row.queue,
                    kind: row.kind,
                    completed: 0,
                    failed: 0,
                    wait_histogram: vec![0; HISTOGRAM_BUCKETS],
                    run_histogram: vec![0; HISTOGRAM_BUCKETS],
                });
            point.completed += row.completed;
            point.failed += row.failed;
            for (sum, n) in point.wait_histogram.iter_mut().zip(row.wait_histogram) {
                *sum += n;
            }
            for (sum, n) in point.run_histogram.iter_mut().zip(row.run_histogram) {
                *sum += n;
            }
        }
        points.into_values().collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobMetricsQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub resolution: Resolution,
    pub queue: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_and_write_as_their_numbers() {
        let account = AccountId::new(42);
        assert_eq!(account.get(), 42);
        assert_eq!(account.to_string(), "42");
        assert_eq!(format!("#{:>4}", JobId::new(7)), "#   7");
        assert_eq!("42".parse::<AccountId>(), Ok(account));
        assert_eq!(
            "x".parse::<RunId>().unwrap_err().to_string(),
            "x".parse::<i64>().unwrap_err().to_string()
        );
        assert_eq!(serde_json::to_string(&account).unwrap(), "42");
        assert_eq!(
            serde_json::to_value(Some(RunId::new(-3))).unwrap(),
            serde_json::json!(-3)
        );
        assert_eq!(
            serde_json::from_str::<Vec<JobId>>("[1, 2]").unwrap(),
            [JobId::new(1), JobId::new(2)]
        );
        assert!(serde_json::from_str::<JobId>("\"1\"").is_err());
        assert!(JobId::new(2) > JobId::new(1));
    }

    #[test]
    fn histogram_buckets_are_powers_of_two() {
        assert_eq!(histogram_bucket(0), 0);
        assert_eq!(histogram_bucket(1), 0);
        assert_eq!(histogram_bucket(2), 1);
        assert_eq!(histogram_bucket(3), 1);
        assert_eq!(histogram_bucket(1024), 10);
        assert_eq!(histogram_bucket(i64::MAX), HISTOGRAM_BUCKETS - 1);
        let mut h = vec![0u64; HISTOGRAM_BUCKETS];
        h[3] = 90;
        h[10] = 10;
        assert_eq!(histogram_quantile(&h, 0.5), Some(16.0));
        assert_eq!(histogram_quantile(&h, 0.95), Some(2048.0));
        assert_eq!(histogram_quantile(&[0; 4], 0.5), None);
    }
}
