//! The durable job queue, generic over job kinds: it knows nothing about Instagram (Cargo
//! keeps it so: it depends on none of igsync's crates but `clock`).
//!
//! - [`types`]: jobs and their state machine, schedules, the limiter, worker registrations
//!   and persisted queue metrics;
//! - [`JobArgs`]: the typed arguments of one job kind, encoded by [`NewJob::typed`] and
//!   decoded by [`JobContext::args`];
//! - [`QueueStore`]: the persistence seam for them (claims, leases, transactional chaining,
//!   the rescuer, the limiter), implemented by both SQL dialects; `store::Store` extends it;
//! - the engine: the [`Worker`] executor, the [`RetryPolicy`], [`JobHandler`]s and their
//!   [`JobOutcome`]s, and the cron [`Scheduler`] (exactly-once ticks);
//! - `testkit` (feature `testkit`): the conformance suite every [`QueueStore`] runs.

mod args;
mod error;
mod handler;
mod policy;
pub mod schedule;
mod store_error;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod types;
mod worker;

use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use args::JobArgs;
pub use clock::Clock;
pub use error::QueueError;
pub use handler::{DynHandler, JobContext, JobHandler, JobOutcome};
pub use policy::{DEFAULT_QUEUE, RetryPolicy, WorkerConfig};
pub use schedule::{CronExpr, Scheduler, next_tick, spread_offset, validate_cron};
pub use store_error::{Result, StoreError};
pub use types::*;
pub use worker::{Maintenance, Worker, WorkerStats, worker_process_gone};

/// A shared handle to the queue's persistence.
pub type DynQueueStore = Arc<dyn QueueStore>;

/// The queue's persistence: jobs, the global start limiter, schedules and worker
/// registrations, on SQLite or PostgreSQL. The conformance suite of both dialects covers
/// every method.
#[async_trait::async_trait]
pub trait QueueStore: Send + Sync + 'static {
    // ----- jobs -----

    async fn job_insert(&self, job: NewJob) -> Result<InsertOutcome>;
    /// One transaction; outcomes in input order.
    async fn job_insert_many(&self, jobs: Vec<NewJob>) -> Result<Vec<InsertOutcome>>;
    async fn job_claim(&self, params: ClaimParams) -> Result<Vec<Job>>;
    /// Extends the leases of the given running jobs held by this worker. Returns the ids
    /// still held (a job missing from the answer was cancelled or rescued elsewhere).
    async fn job_heartbeat(
        &self,
        worker_id: &str,
        ids: &[JobId],
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<JobId>>;
    async fn job_complete(&self, completion: JobCompletion) -> Result<bool>;
    async fn job_fail(&self, failure: JobFailure) -> Result<Option<JobState>>;
    /// Puts a running job back to pending until `until` without consuming its attempt
    /// (rate limits, the global start limiter). Returns false if not held by this worker.
    async fn job_snooze(
        &self,
        id: JobId,
        worker_id: &str,
        until: DateTime<Utc>,
        reason: &str,
    ) -> Result<bool>;
    async fn job_progress_set(
        &self,
        id: JobId,
        worker_id: &str,
        progress: serde_json::Value,
    ) -> Result<bool>;
    /// Running jobs whose lease expired before `now` go back to pending (attempts left) or
    /// fail, with a "worker lost" error entry.
    async fn job_rescue(&self, now: DateTime<Utc>) -> Result<RescueReport>;
    async fn job_get(&self, id: JobId) -> Result<Option<Job>>;
    async fn job_list(&self, query: JobQuery) -> Result<JobPage>;
    /// Counts per queue and state; `accounts` narrows them to those accounts' jobs (jobs
    /// without an account left out), None counts every job.
    async fn job_snapshot(
        &self,
        now: DateTime<Utc>,
        accounts: Option<&[AccountId]>,
    ) -> Result<QueueSnapshot>;
    /// Jobs the queue has in hand at `now`: pending ones due (`run_at <= now`) plus running
    /// ones, in every queue. Read from the pending and running jobs alone (partial indexes),
    /// so it stays cheap however many finished jobs the table keeps.
    async fn job_due_count(&self, now: DateTime<Utc>) -> Result<i64>;
    /// Failed or cancelled jobs (and pending ones, to run now) → pending, `run_at = now`,
    /// attempts reset. Running and completed jobs are left alone. Returns how many.
    async fn jobs_retry(&self, selector: JobSelector, now: DateTime<Utc>) -> Result<u64>;
    /// Pending and running jobs → cancelled (a running job's worker learns it at its next
    /// heartbeat). Returns how many.
    async fn jobs_cancel(&self, selector: JobSelector, now: DateTime<Utc>) -> Result<u64>;
    /// Deletes jobs that are not running. Returns how many.
    async fn jobs_delete(&self, selector: JobSelector) -> Result<u64>;
    async fn job_prune(&self, policy: RetentionPolicy) -> Result<PruneReport>;
    async fn job_metrics(&self, query: JobMetricsQuery) -> Result<Vec<JobMetricPoint>>;

    // ----- limiter -----

    /// A sliding-window limiter shared by all workers: grants a start if fewer than `limit`
    /// were granted under `name` in the `window` before `now`.
    async fn rate_limit_acquire(
        &self,
        name: &str,
        limit: u32,
        window: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<RateDecision>;

    // ----- schedules -----

    /// Creates the schedule (paused = false, `next_run_at` as given) or updates its
    /// definition, keeping `paused` and `last_*`; `next_run_at` is replaced only when the cron
    /// expression changed.
    async fn schedule_upsert(&self, def: ScheduleDef, next_run_at: DateTime<Utc>) -> Result<()>;
    async fn schedule_list(&self) -> Result<Vec<Schedule>>;
    async fn schedule_get(&self, name: &str) -> Result<Option<Schedule>>;
    /// Returns false when the schedule does not exist. Resuming sets `next_run_at`.
    async fn schedule_set_paused(
        &self,
        name: &str,
        paused: bool,
        next_run_at: DateTime<Utc>,
    ) -> Result<bool>;
    async fn schedule_fire(&self, fire: ScheduleFire) -> Result<Option<InsertOutcome>>;

    // ----- workers -----

    async fn worker_heartbeat(&self, worker: WorkerInfo) -> Result<()>;
    /// Workers seen at or after `seen_since`.
    async fn worker_list(&self, seen_since: DateTime<Utc>) -> Result<Vec<WorkerInfo>>;
    async fn worker_remove(&self, id: &str) -> Result<()>;
}
