//! The storage seam: igsync's domain types, the [`Store`] trait both SQL dialects implement,
//! token encryption, and (behind the `testkit` feature) the conformance suite every dialect
//! must pass.
//!
//! `store` holds no SQL and must not depend on `sqlx`, `graph`, `sync`, `server` or
//! `analytics`.
//!
//! Every write method is one transaction: it either applies completely or not at all, and
//! applying the same input twice leaves the same rows (idempotent bulk upserts, never one
//! statement per row in a loop). Times are UTC with microsecond precision.

mod account;
mod content;
mod crypto;
mod error;
mod history;
mod ops;
mod queue;
mod redact;

#[cfg(feature = "testkit")]
pub mod testkit;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

pub use crate::account::*;
pub use crate::content::*;
pub use crate::crypto::{Cipher, CryptoError, EncryptedToken, SecretKey, SecretString};
pub use crate::error::{Result, StoreError};
pub use crate::history::*;
pub use crate::ops::*;
pub use crate::queue::*;
pub use crate::redact::redact_url;

/// A shared handle to whichever database is configured.
pub type DynStore = Arc<dyn Store>;

/// Everything igsync reads and writes, on SQLite or PostgreSQL.
///
/// Method names are `noun_verb`. Implementations must pass [`testkit`]'s conformance suite.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    // ----- health -----

    /// `sqlite` or `postgres`.
    fn dialect(&self) -> &'static str;
    /// A cheap round trip to the database (for `/readyz` and `igsync doctor`).
    async fn ping(&self) -> Result<()>;
    /// Applies pending migrations (a no-op when up to date). Returns how many were applied.
    async fn migrate(&self) -> Result<u32>;
    async fn totals(&self) -> Result<StoreTotals>;

    // ----- accounts -----

    async fn account_upsert(&self, account: NewAccount) -> Result<Account>;
    async fn account_get(&self, id: AccountId) -> Result<Option<Account>>;
    async fn account_get_by_ig(&self, ig_user_id: &str) -> Result<Option<Account>>;
    /// All accounts, by id.
    async fn account_list(&self) -> Result<Vec<Account>>;
    /// Returns false when the account does not exist or `only_if` did not match.
    async fn account_status_set(&self, id: AccountId, change: StatusChange) -> Result<bool>;
    /// Returns false when the account does not exist. The zone is validated by the caller.
    async fn account_timezone_set(&self, id: AccountId, timezone: &str) -> Result<bool>;
    async fn account_token_set(&self, update: TokenUpdate) -> Result<bool>;
    /// Deletes the account and all its data (history, jobs, runs, alerts). Returns false
    /// when it did not exist.
    async fn account_delete(&self, id: AccountId) -> Result<bool>;
    /// Accounts that hold an encrypted token.
    async fn account_count_with_token(&self) -> Result<i64>;
    /// Re-encrypts every stored token from `old` to `new` in one transaction; fails (and
    /// changes nothing) if any token cannot be opened with `old`. Returns how many.
    async fn account_tokens_reencrypt(&self, old: &Cipher, new: &Cipher) -> Result<u64>;

    // ----- content and history -----

    async fn profile_apply(&self, update: ProfileUpdate) -> Result<()>;
    /// Inclusive range on `captured_at`, oldest first.
    async fn profile_snapshots(
        &self,
        account_id: AccountId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ProfileSnapshot>>;

    /// Returns rows written (inserted or updated media + deletions marked).
    async fn media_apply(&self, batch: MediaBatch) -> Result<u64>;
    async fn media_index(&self, account_id: AccountId) -> Result<Vec<MediaIndexEntry>>;
    async fn media_list(&self, query: MediaQuery) -> Result<Vec<Media>>;
    async fn media_get(&self, ig_media_id: &str) -> Result<Option<Media>>;
    /// Every post of an account (deleted ones included), newest first, with only what the
    /// analytics need: the same values [`Store::media_list`] gives, lighter to read.
    async fn media_summaries(&self, account_id: AccountId) -> Result<Vec<MediaSummary>>;
    /// Returns rows written. Fails as a whole (nothing written) if any row names unknown
    /// media or holds a non-finite value.
    async fn media_insights_apply(&self, batch: InsightBatch) -> Result<u64>;
    /// Snapshot history of the given media (all metrics when `metrics` is empty), ordered
    /// by media, metric, breakdown, `captured_at`.
    async fn media_insight_history(
        &self,
        ig_media_ids: &[String],
        metrics: &[String],
    ) -> Result<Vec<InsightSnapshot>>;
    /// Snapshot history of the posts of a [`PostWindow`], chosen in the database so it can
    /// be read while the posts themselves are; same filter and order as
    /// [`Store::media_insight_history`].
    async fn media_insight_history_window(
        &self,
        window: PostWindow,
        metrics: &[String],
    ) -> Result<Vec<InsightSnapshot>>;

    async fn stories_apply(&self, batch: StoryBatch) -> Result<u64>;
    /// Stories published in the inclusive range, newest first.
    async fn story_list(
        &self,
        account_id: AccountId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Story>>;
    async fn story_insight_history(&self, ig_media_ids: &[String]) -> Result<Vec<InsightSnapshot>>;

    async fn account_insights_apply(&self, batch: AccountInsightBatch) -> Result<u64>;
    /// Days in the inclusive range (all metrics when `metrics` is empty), ordered by metric,
    /// day, breakdown, key.
    async fn account_insight_days(
        &self,
        account_id: AccountId,
        metrics: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<AccountInsightDay>>;
    /// The latest day stored for a metric (to decide between backfill and settling window).
    async fn account_insight_last_day(
        &self,
        account_id: AccountId,
        metric: &str,
    ) -> Result<Option<NaiveDate>>;

    async fn demographics_apply(&self, batch: DemographicBatch) -> Result<u64>;
    /// The most recent snapshot day and its values, if any.
    async fn demographics_latest(
        &self,
        account_id: AccountId,
    ) -> Result<Option<(NaiveDate, Vec<DemographicValue>)>>;

    // ----- sync history -----

    async fn sync_run_create(&self, run: NewSyncRun) -> Result<RunId>;
    async fn sync_run_finish(&self, finish: RunFinish) -> Result<bool>;
    async fn sync_step_record(&self, step: SyncStep) -> Result<()>;
    async fn sync_run_get(&self, id: RunId) -> Result<Option<(SyncRun, Vec<SyncStep>)>>;
    async fn sync_runs_list(&self, query: RunQuery) -> Result<Vec<SyncRun>>;

    // ----- queue -----

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
    async fn job_snapshot(&self, now: DateTime<Utc>) -> Result<QueueSnapshot>;
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

    /// A sliding-window limiter shared by all workers: grants a start if fewer than `limit`
    /// were granted under `name` in the `window` before `now`.
    async fn rate_limit_acquire(
        &self,
        name: &str,
        limit: u32,
        window: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<RateDecision>;

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

    async fn worker_heartbeat(&self, worker: WorkerInfo) -> Result<()>;
    /// Workers seen at or after `seen_since`.
    async fn worker_list(&self, seen_since: DateTime<Utc>) -> Result<Vec<WorkerInfo>>;
    async fn worker_remove(&self, id: &str) -> Result<()>;

    // ----- operations -----

    /// None when an alert with the same `dedup_key` exists.
    async fn alert_insert(&self, alert: NewAlert) -> Result<Option<Alert>>;
    async fn alert_list(&self, query: AlertQuery) -> Result<Vec<Alert>>;
    async fn alert_ack(&self, id: AlertId, at: DateTime<Utc>) -> Result<bool>;
    async fn alert_delivery_set(
        &self,
        id: AlertId,
        delivered_at: Option<DateTime<Utc>>,
        error: Option<String>,
    ) -> Result<bool>;

    async fn api_key_insert(&self, key: ApiKey) -> Result<()>;
    async fn api_key_get(&self, id: &str) -> Result<Option<ApiKey>>;
    async fn api_key_list(&self) -> Result<Vec<ApiKey>>;
    async fn api_key_revoke(&self, id: &str, at: DateTime<Utc>) -> Result<bool>;
    async fn api_key_touch(&self, id: &str, at: DateTime<Utc>) -> Result<()>;
    /// Replaces a key's stored hash with `new_hash` only while it still equals `old_hash`
    /// (a compare-and-set, so two servers upgrading one key cannot undo each other). Returns
    /// whether the row changed.
    async fn api_key_rehash(&self, id: &str, old_hash: &str, new_hash: &str) -> Result<bool>;

    async fn session_insert(&self, session: Session) -> Result<()>;
    async fn session_get(&self, id_hash: &str) -> Result<Option<Session>>;
    async fn session_delete(&self, id_hash: &str) -> Result<()>;
    /// Deletes expired sessions and sessions of revoked keys.
    async fn session_prune(&self, now: DateTime<Utc>) -> Result<u64>;

    /// Upserts the latest usage per account (or app when `account_id` is None).
    async fn api_usage_record(&self, usage: Vec<ApiUsage>) -> Result<()>;
    async fn api_usage_latest(&self) -> Result<Vec<ApiUsage>>;
    /// Adds to the per-account daily call counters.
    async fn api_calls_add(&self, deltas: Vec<ApiCallsDelta>) -> Result<()>;
    async fn api_calls_days(
        &self,
        account_id: Option<AccountId>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ApiCallsDay>>;
}
