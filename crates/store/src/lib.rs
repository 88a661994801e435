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

mod access;
mod account;
mod breakdown;
mod catalog;
mod competitors;
mod confirm;
mod content;
mod copy;
mod crypto;
mod export;
mod history;
mod missing;
mod ops;
mod provenance;
mod redact;
mod reports;
mod webhooks;

#[cfg(feature = "testkit")]
pub mod testkit;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

pub use crate::access::*;
pub use crate::account::*;
pub use crate::breakdown::Breakdown;
pub use crate::catalog::*;
pub use crate::competitors::*;
pub use crate::confirm::*;
pub use crate::content::*;
pub use crate::copy::*;
pub use crate::crypto::{Cipher, CryptoError, EncryptedToken, SecretKey, SecretString};
pub use crate::export::*;
pub use crate::history::*;
pub use crate::missing::*;
pub use crate::ops::*;
pub use crate::provenance::*;
pub use crate::redact::redact_url;
pub use crate::reports::*;
pub use crate::webhooks::*;
pub use queue::types::*;
pub use queue::{QueueStore, Result, StoreError};

impl From<CryptoError> for StoreError {
    fn from(e: CryptoError) -> Self {
        StoreError::Crypto(e.to_string())
    }
}

/// A stored token that could not be opened, naming the account it belongs to, so an operator
/// knows which account to re-connect or remove.
pub fn token_of_account(id: AccountId, username: &str, e: CryptoError) -> StoreError {
    StoreError::Crypto(format!("account {id} (@{username}): {e}"))
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
    /// Gathers the query planner's statistics of every table changed by more than a tenth
    /// of its rows (and at least 50) since they were last gathered, and returns those
    /// tables. PostgreSQL plans from these statistics, and its autovacuum daemon, which
    /// gathers them, may be off or far behind a bulk backfill: a table never analyzed is
    /// planned as if it were tiny, and a history read of one account then scans the fleet.
    /// Where the server's autovacuum is off, tables past its vacuum threshold are vacuumed
    /// too (the dead row versions an hourly upsert leaves would otherwise slow every lookup).
    /// One caller at a time per database schema does the work; the others return at once
    /// with nothing. SQLite plans from its indexes alone and returns nothing.
    async fn statistics_refresh(&self) -> Result<Vec<String>>;
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
    /// The summaries of a [`PostWindow`]'s posts (the posts
    /// [`Store::media_insight_history_window`] reads the history of), in
    /// [`Store::media_summaries`]' order: a read bounded by the window, not by the account's
    /// history.
    async fn media_summaries_window(&self, window: PostWindow) -> Result<Vec<MediaSummary>>;
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
    /// One metric's days in the inclusive range (totals and breakdown rows) as they were
    /// known at `as_of` (`None`: now): days first read after `as_of` are absent, a value
    /// revised after `as_of` is the earlier one. Ordered by day, breakdown, key.
    async fn account_insight_as_of(
        &self,
        account_id: AccountId,
        metric: &str,
        from: NaiveDate,
        to: NaiveDate,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Vec<AccountInsightReading>>;
    /// The latest day stored for a metric (to decide between backfill and settling window).
    async fn account_insight_last_day(
        &self,
        account_id: AccountId,
        metric: &str,
    ) -> Result<Option<NaiveDate>>;
    /// When the least recently read total (no breakdown) of a metric's days in the
    /// inclusive range was last read; `None` when none of those days is stored. Decides
    /// whether older days are due to be read again, without reading their history.
    async fn account_insight_oldest_read(
        &self,
        account_id: AccountId,
        metric: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Option<DateTime<Utc>>>;
    /// What a sync asks before reading a metric's days: the latest day stored
    /// ([`Store::account_insight_last_day`]) and when `day`'s total was last read
    /// ([`Store::account_insight_oldest_read`] of that day). A dialect may ask both at once.
    async fn account_insight_freshness(
        &self,
        account_id: AccountId,
        metric: &str,
        day: NaiveDate,
    ) -> Result<(Option<NaiveDate>, Option<DateTime<Utc>>)> {
        let last = self.account_insight_last_day(account_id, metric).await?;
        let read = self
            .account_insight_oldest_read(account_id, metric, day, day)
            .await?;
        Ok((last, read))
    }

    async fn demographics_apply(&self, batch: DemographicBatch) -> Result<u64>;
    /// The most recent snapshot day and its values, if any.
    async fn demographics_latest(
        &self,
        account_id: AccountId,
    ) -> Result<Option<(NaiveDate, Vec<DemographicValue>)>>;

    // ----- webhooks, final story numbers, comments and mentions -----

    /// Stores a received notification unless its `delivery_key` is known. Returns the
    /// event's id and whether it was new.
    async fn webhook_event_insert(&self, event: NewWebhookEvent) -> Result<(i64, bool)>;
    async fn webhook_event_get(&self, id: i64) -> Result<Option<WebhookEvent>>;
    /// Stored events, oldest first; only those not yet processed when `unprocessed`.
    /// `limit` 0 means no limit.
    async fn webhook_event_list(&self, unprocessed: bool, limit: u32) -> Result<Vec<WebhookEvent>>;
    /// Applies what an event meant and marks it processed, in one transaction. Unknown
    /// accounts are `NotFound` and nothing is written.
    async fn webhook_apply(&self, apply: WebhookApply) -> Result<u64>;
    /// Counts one refused notification.
    async fn webhook_rejection_record(&self, reason: &str, at: DateTime<Utc>) -> Result<()>;
    async fn webhook_rejections(&self) -> Result<Vec<WebhookRejections>>;
    async fn webhook_subscription_set(&self, update: WebhookSubscriptionUpdate) -> Result<()>;
    /// Every account that was subscribed or heard from, by account id.
    async fn webhook_account_status(&self) -> Result<Vec<WebhookAccountStatus>>;
    /// Upserts final numbers: a stronger [`Provenance`] wins, then a later `captured_at`.
    /// Returns rows changed.
    async fn story_finals_apply(&self, finals: Vec<StoryFinal>) -> Result<u64>;
    /// Final numbers of the account's stories expiring in the inclusive range, by expiry.
    async fn story_final_list(
        &self,
        account_id: AccountId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StoryFinal>>;
    /// The account's comments (of one media item when given), newest first.
    async fn comment_list(
        &self,
        account_id: AccountId,
        ig_media_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Comment>>;
    /// The account's mentions, newest first.
    async fn mention_list(&self, account_id: AccountId, limit: u32) -> Result<Vec<Mention>>;

    // ----- missing values -----

    /// Records values Meta does not give (upserted on their key; a value missing for the
    /// same reason as before keeps its `since`) and removes the rows of values now present,
    /// in one transaction. Returns rows written.
    async fn missing_apply(&self, batch: MissingBatch) -> Result<u64>;
    /// The missing values of an account (of the given kinds; all when empty), ordered by
    /// kind, object, day, metric, timeframe, breakdown.
    async fn missing_list(
        &self,
        account_id: AccountId,
        kinds: &[MissingKind],
    ) -> Result<Vec<MissingValue>>;

    // ----- learnt metric catalog -----

    /// Records catalog decisions; one already known (same version, login, scope and metric)
    /// keeps its first reason and time. Returns rows written.
    async fn catalog_decisions_record(&self, decisions: Vec<CatalogDecisionRecord>) -> Result<u64>;
    /// Every recorded decision, by version, login, scope, metric.
    async fn catalog_decisions_list(&self) -> Result<Vec<CatalogDecisionRecord>>;
    // ----- export -----

    /// One page of an exported table of one account, in the table's key order (see
    /// [`ExportTable`]); each row holds the table's [`ExportTable::columns`] in order.
    async fn export_page(&self, query: ExportPageQuery) -> Result<Vec<Vec<ExportValue>>>;
    /// The page [`Store::export_page`] returns, column by column: what `igsync export` reads,
    /// without a value of its own per cell. Dialects read it straight from the database.
    async fn export_batch(&self, query: ExportPageQuery) -> Result<ExportBatch> {
        let table = query.table;
        ExportBatch::from_rows(table, &self.export_page(query).await?)
    }

    // ----- sync history -----

    async fn sync_run_create(&self, run: NewSyncRun) -> Result<RunId>;
    async fn sync_run_finish(&self, finish: RunFinish) -> Result<bool>;
    /// A sync's start: marks the run's account per `change` and, when it was marked, opens
    /// the run (as [`Store::sync_run_create`]). None, with nothing written, when the account
    /// does not exist or its status is not one `change.only_if` allows. A dialect may do
    /// both in one statement.
    async fn sync_run_open(&self, change: StatusChange, run: NewSyncRun) -> Result<Option<RunId>> {
        if !self.account_status_set(run.account_id, change).await? {
            return Ok(None);
        }
        self.sync_run_create(run).await.map(Some)
    }
    /// A sync's end: closes the run (as [`Store::sync_run_finish`]) with the rows of its
    /// last steps (as [`Store::sync_steps_record`]; `InvalidInput` when a row is of another
    /// run) and sets its account's status per `change` (as [`Store::account_status_set`]).
    /// Returns whether the run was found; when it was not, no step row is written. A dialect
    /// may do it all in one statement.
    async fn sync_run_close(
        &self,
        account_id: AccountId,
        change: StatusChange,
        finish: RunFinish,
        steps: Vec<SyncStep>,
    ) -> Result<bool> {
        SyncStep::all_of_run(&steps, finish.run_id)?;
        self.account_status_set(account_id, change).await?;
        if !steps.is_empty() {
            match self.sync_steps_record(steps).await {
                Err(StoreError::NotFound { .. }) => return Ok(false),
                done => done?,
            }
        }
        self.sync_run_finish(finish).await
    }
    /// Upserts steps' rows in one transaction: a stage's steps as they finish together.
    /// Refuses the whole batch (`NotFound`, nothing written) when a step's run does not
    /// exist; of two rows of one step in a batch, the later wins.
    async fn sync_steps_record(&self, steps: Vec<SyncStep>) -> Result<()>;
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

    // ----- scheduled reports -----

    async fn report_schedule_insert(&self, schedule: NewReportSchedule) -> Result<ReportSchedule>;
    /// Every schedule, oldest first.
    async fn report_schedule_list(&self) -> Result<Vec<ReportSchedule>>;
    /// Removes a schedule and its delivery history. Returns false when there was none.
    async fn report_schedule_remove(&self, id: ReportScheduleId) -> Result<bool>;
    /// Records one delivery attempt of a schedule's report for an account and period: the
    /// attempt count grows, a failure sets the last error, the first success sets
    /// `delivered_at` (kept by later attempts). Returns the delivery as it now stands.
    async fn report_delivery_record(&self, attempt: ReportAttempt) -> Result<ReportDelivery>;
    /// Deliveries (of one schedule, or all), newest period first, at most `limit` (0: all).
    async fn report_delivery_list(
        &self,
        schedule_id: Option<ReportScheduleId>,
        limit: u32,
    ) -> Result<Vec<ReportDelivery>>;

    // ----- competitors (Business Discovery) -----

    /// Starts tracking a competitor; a username already tracked is a `Conflict`, an unknown
    /// via account `NotFound`.
    async fn competitor_add(&self, competitor: NewCompetitor) -> Result<Competitor>;
    /// Every tracked competitor, by username.
    async fn competitor_list(&self) -> Result<Vec<Competitor>>;
    /// Stops tracking a competitor and drops its history. Returns false when there was none.
    async fn competitor_remove(&self, id: CompetitorId) -> Result<bool>;
    /// Stores one successful read in one transaction: the counters' snapshot and every
    /// post's (appended, idempotent on competitor, media and capture time), the id and name
    /// learnt, and the status `ok`.
    async fn competitor_capture(&self, capture: CompetitorCapture) -> Result<()>;
    /// Records a failed read: status `error` with its reason and message.
    async fn competitor_fail(&self, failure: CompetitorFailure) -> Result<()>;
    /// A competitor's counter snapshots captured in `[from, to]`, oldest first.
    async fn competitor_snapshots(
        &self,
        id: CompetitorId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CompetitorSnapshot>>;
    /// A competitor's post snapshots captured in `[from, to]`, by capture then post time.
    async fn competitor_media_snapshots(
        &self,
        id: CompetitorId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CompetitorMediaSnapshot>>;

    async fn api_key_insert(&self, key: ApiKey) -> Result<()>;
    async fn api_key_get(&self, id: &str) -> Result<Option<ApiKey>>;
    async fn api_key_list(&self) -> Result<Vec<ApiKey>>;
    async fn api_key_revoke(&self, id: &str, at: DateTime<Utc>) -> Result<bool>;
    async fn api_key_touch(&self, id: &str, at: DateTime<Utc>) -> Result<()>;
    /// Replaces a key's stored hash with `new_hash` only while it still equals `old_hash`
    /// (a compare-and-set, so two servers upgrading one key cannot undo each other). Returns
    /// whether the row changed.
    async fn api_key_rehash(&self, id: &str, old_hash: &str, new_hash: &str) -> Result<bool>;

    // ----- workspaces and the audit log -----

    /// A new workspace; `Conflict` when the name is taken.
    async fn workspace_insert(&self, name: &str, at: DateTime<Utc>) -> Result<Workspace>;
    /// Every workspace with its accounts, by name.
    async fn workspace_list(&self) -> Result<Vec<Workspace>>;
    async fn workspace_get(&self, id: WorkspaceId) -> Result<Option<Workspace>>;
    /// Puts an account in a workspace. Returns false when it was already there.
    async fn workspace_add_account(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Takes an account out of a workspace. Returns false when it was not there.
    async fn workspace_remove_account(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
    ) -> Result<bool>;
    async fn share_link_insert(&self, link: ShareLink) -> Result<()>;
    async fn share_link_get(&self, id: &str) -> Result<Option<ShareLink>>;
    /// Every link, oldest first.
    async fn share_link_list(&self) -> Result<Vec<ShareLink>>;
    /// Revokes a link (the first revocation's time is kept). Returns false when none exists.
    async fn share_link_revoke(&self, id: &str, at: DateTime<Utc>) -> Result<bool>;
    async fn audit_insert(&self, entry: NewAuditEntry) -> Result<()>;
    /// The newest `limit` entries (0: all), newest first; `of` a workspace: its entries only.
    async fn audit_list(&self, limit: u32, of: Option<&AuditOf>) -> Result<Vec<AuditEntry>>;

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
    /// What a job spent and saw: [`Store::api_calls_add`] and [`Store::api_usage_record`]
    /// together (the usage is checked before anything is written). A dialect may do both in
    /// one statement.
    async fn api_spend_record(
        &self,
        deltas: Vec<ApiCallsDelta>,
        usage: Vec<ApiUsage>,
    ) -> Result<()> {
        ApiUsage::check_all(&usage)?;
        if !deltas.is_empty() {
            self.api_calls_add(deltas).await?;
        }
        if !usage.is_empty() {
            self.api_usage_record(usage).await?;
        }
        Ok(())
    }
    async fn api_calls_days(
        &self,
        account_id: Option<AccountId>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ApiCallsDay>>;

    // ----- whole-database copy, backup and restore (see `copy.rs`) -----

    /// Every table of the database as its catalog describes it, and the schema level.
    async fn copy_schema(&self) -> Result<CopySchema>;
    /// Up to `limit` rows of `table` whose key is after `after` (from the start when `None`),
    /// in key order, each with the values of the table's columns in their order. `order`
    /// names the key's columns in the order to sort by (empty: the table's own key order);
    /// `after` follows it.
    async fn copy_read(
        &self,
        table: &str,
        order: &[String],
        after: Option<&[CopyValue]>,
        limit: u32,
    ) -> Result<Vec<Vec<CopyValue>>>;
    /// The key of the last row of `table` in key order (`order` as in
    /// [`Store::copy_read`]); `None` when it is empty.
    async fn copy_last_key(&self, table: &str, order: &[String]) -> Result<Option<Vec<CopyValue>>>;
    /// Inserts rows (values in the order of `columns`) in one transaction of multi-row
    /// statements; a row whose key is already present is left as it is. Returns rows added.
    async fn copy_write(
        &self,
        table: &str,
        columns: &[String],
        rows: Vec<Vec<CopyValue>>,
    ) -> Result<u64>;
    /// Deletes every row of the tables, in the order given, in one transaction.
    async fn copy_clear(&self, tables: &[String]) -> Result<()>;
    /// After a copy: moves id generators (PostgreSQL sequences) past the copied ids.
    async fn copy_finish(&self) -> Result<()>;
    async fn copy_count(&self, table: &str) -> Result<i64>;
    /// Writes a consistent copy of the whole database to a new file at `path` while others
    /// keep working, and returns the row count per table of the snapshot it copied.
    /// SQLite only; PostgreSQL answers with an error naming `pg_dump`.
    async fn backup_into(&self, path: &str) -> Result<Vec<(String, i64)>>;
    /// The database's own consistency check: the problems found (empty when sound).
    async fn integrity_check(&self) -> Result<Vec<String>>;
}
