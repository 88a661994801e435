//! The storage seam: igsync's domain types, the [`Store`] trait both SQL dialects implement,
//! token encryption, and (behind the `testkit` feature) the conformance suite every dialect
//! must pass.
//!
//! `store` holds no SQL and must not depend on `sqlx`, `graph`, `sync`, `server` or
//! `analytics`. The queue's half of the seam (jobs, schedules, workers, the limiter) is
//! `queue::QueueStore`, which [`Store`] extends; its types and the one [`StoreError`] are
//! re-exported here.
//!
//! Every write method is one transaction: it either applies completely or not at all, and
//! applying the same input twice leaves the same rows (idempotent bulk upserts, never one
//! statement per row in a loop). Times are UTC with microsecond precision.

mod account;
mod content;
mod crypto;
mod export;
mod history;
mod ops;
mod redact;

#[cfg(feature = "testkit")]
pub mod testkit;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

pub use crate::account::*;
pub use crate::content::*;
pub use crate::crypto::{Cipher, CryptoError, EncryptedToken, SecretKey, SecretString};
pub use crate::export::*;
pub use crate::history::*;
pub use crate::ops::*;
pub use crate::redact::redact_url;
pub use queue::types::*;
pub use queue::{QueueStore, Result, StoreError};

impl From<CryptoError> for StoreError {
    fn from(e: CryptoError) -> Self {
        StoreError::Crypto(e.to_string())
    }
}

/// A shared handle to whichever database is configured.
pub type DynStore = Arc<dyn Store>;

/// Everything igsync reads and writes, on SQLite or PostgreSQL.
///
/// Method names are `noun_verb`. Implementations must pass [`testkit`]'s conformance suite.
#[async_trait::async_trait]
pub trait Store: QueueStore {
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

    // ----- export -----

    /// One page of an exported table of one account, in the table's key order (see
    /// [`ExportTable`]); each row holds the table's [`ExportTable::columns`] in order.
    async fn export_page(&self, query: ExportPageQuery) -> Result<Vec<Vec<ExportValue>>>;

    // ----- sync history -----

    async fn sync_run_create(&self, run: NewSyncRun) -> Result<RunId>;
    async fn sync_run_finish(&self, finish: RunFinish) -> Result<bool>;
    async fn sync_step_record(&self, step: SyncStep) -> Result<()>;
    async fn sync_run_get(&self, id: RunId) -> Result<Option<(SyncRun, Vec<SyncStep>)>>;
    async fn sync_runs_list(&self, query: RunQuery) -> Result<Vec<SyncRun>>;

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
