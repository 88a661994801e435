//! The [`Store`] trait for [`PostgresStore`]: each method delegates to the module that
//! holds its SQL.

use chrono::{DateTime, NaiveDate, Utc};
use store::*;

use crate::error::db;
use crate::{
    PostgresStore, access, accounts, competitors, content, ops, queue, reports, runs, webhooks,
};

#[async_trait::async_trait]
impl Store for PostgresStore {
    fn dialect(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn migrate(&self) -> Result<u32> {
        self.run_migrations().await
    }

    async fn statistics_refresh(&self) -> Result<Vec<String>> {
        ops::statistics_refresh(&self.pool).await
    }

    async fn totals(&self) -> Result<StoreTotals> {
        content::totals(&self.pool).await
    }

    // ----- accounts -----

    async fn account_upsert(&self, account: NewAccount) -> Result<Account> {
        accounts::upsert(&self.pool, account).await
    }

    async fn account_get(&self, id: AccountId) -> Result<Option<Account>> {
        accounts::get_by_id(&self.pool, id).await
    }

    async fn account_get_by_ig(&self, ig_user_id: &str) -> Result<Option<Account>> {
        accounts::get_by_ig(&self.pool, ig_user_id).await
    }

    async fn account_list(&self) -> Result<Vec<Account>> {
        accounts::list(&self.pool).await
    }

    async fn account_status_set(&self, id: AccountId, change: StatusChange) -> Result<bool> {
        accounts::status_set(&self.pool, id, change).await
    }

    async fn account_timezone_set(&self, id: AccountId, timezone: &str) -> Result<bool> {
        accounts::timezone_set(&self.pool, id, timezone).await
    }

    async fn account_token_set(&self, update: TokenUpdate) -> Result<bool> {
        accounts::token_set(&self.pool, update).await
    }

    async fn account_delete(&self, id: AccountId) -> Result<bool> {
        accounts::delete(&self.pool, id).await
    }

    async fn account_count_with_token(&self) -> Result<i64> {
        accounts::count_with_token(&self.pool).await
    }

    async fn account_tokens_reencrypt(&self, old: &Cipher, new: &Cipher) -> Result<u64> {
        accounts::tokens_reencrypt(&self.pool, old, new).await
    }

    // ----- content and history -----

    async fn profile_apply(&self, update: ProfileUpdate) -> Result<()> {
        content::profile_apply(&self.pool, update).await
    }

    async fn profile_snapshots(
        &self,
        account_id: AccountId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ProfileSnapshot>> {
        content::profile_snapshots(&self.pool, account_id, from, to).await
    }

    async fn media_apply(&self, batch: MediaBatch) -> Result<u64> {
        content::media_apply(&self.pool, batch).await
    }

    async fn media_index(&self, account_id: AccountId) -> Result<Vec<MediaIndexEntry>> {
        content::media_index(&self.pool, account_id).await
    }

    async fn media_list(&self, query: MediaQuery) -> Result<Vec<Media>> {
        content::media_list(&self.pool, query).await
    }

    async fn media_get(&self, ig_media_id: &str) -> Result<Option<Media>> {
        content::media_get(&self.pool, ig_media_id).await
    }

    async fn media_summaries(&self, account_id: AccountId) -> Result<Vec<MediaSummary>> {
        content::media_summaries(&self.pool, account_id).await
    }

    async fn media_summaries_window(&self, window: PostWindow) -> Result<Vec<MediaSummary>> {
        content::media_summaries_window(&self.pool, window).await
    }

    async fn media_insights_apply(&self, batch: InsightBatch) -> Result<u64> {
        content::media_insights_apply(&self.pool, batch).await
    }

    async fn media_insight_history(
        &self,
        ig_media_ids: &[String],
        metrics: &[String],
    ) -> Result<Vec<InsightSnapshot>> {
        content::media_insight_history(&self.pool, ig_media_ids, metrics).await
    }

    async fn media_insight_history_window(
        &self,
        window: PostWindow,
        metrics: &[String],
    ) -> Result<Vec<InsightSnapshot>> {
        content::media_insight_history_window(&self.pool, window, metrics).await
    }

    // ----- webhooks, final story numbers, comments and mentions -----

    async fn webhook_event_insert(&self, event: NewWebhookEvent) -> Result<(i64, bool)> {
        webhooks::event_insert(&self.pool, event).await
    }

    async fn webhook_event_get(&self, id: i64) -> Result<Option<WebhookEvent>> {
        webhooks::event_get(&self.pool, id).await
    }

    async fn webhook_event_list(&self, unprocessed: bool, limit: u32) -> Result<Vec<WebhookEvent>> {
        webhooks::event_list(&self.pool, unprocessed, limit).await
    }

    async fn webhook_apply(&self, apply: WebhookApply) -> Result<u64> {
        webhooks::apply(&self.pool, apply).await
    }

    async fn webhook_rejection_record(&self, reason: &str, at: DateTime<Utc>) -> Result<()> {
        webhooks::rejection_record(&self.pool, reason, at).await
    }

    async fn webhook_rejections(&self) -> Result<Vec<WebhookRejections>> {
        webhooks::rejections(&self.pool).await
    }

    async fn webhook_subscription_set(&self, update: WebhookSubscriptionUpdate) -> Result<()> {
        webhooks::subscription_set(&self.pool, update).await
    }

    async fn webhook_account_status(&self) -> Result<Vec<WebhookAccountStatus>> {
        webhooks::account_status(&self.pool).await
    }

    async fn story_finals_apply(&self, finals: Vec<StoryFinal>) -> Result<u64> {
        webhooks::finals_apply(&self.pool, finals).await
    }

    async fn story_final_list(
        &self,
        account_id: AccountId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StoryFinal>> {
        webhooks::final_list(&self.pool, account_id, from, to).await
    }

    async fn comment_list(
        &self,
        account_id: AccountId,
        ig_media_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Comment>> {
        webhooks::comment_list(&self.pool, account_id, ig_media_id, limit).await
    }

    async fn mention_list(&self, account_id: AccountId, limit: u32) -> Result<Vec<Mention>> {
        webhooks::mention_list(&self.pool, account_id, limit).await
    }

    async fn stories_apply(&self, batch: StoryBatch) -> Result<u64> {
        content::stories_apply(&self.pool, batch).await
    }

    async fn story_list(
        &self,
        account_id: AccountId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Story>> {
        content::story_list(&self.pool, account_id, from, to).await
    }

    async fn story_insight_history(&self, ig_media_ids: &[String]) -> Result<Vec<InsightSnapshot>> {
        content::story_insight_history(&self.pool, ig_media_ids).await
    }

    async fn account_insights_apply(&self, batch: AccountInsightBatch) -> Result<u64> {
        content::account_insights_apply(&self.pool, batch).await
    }

    async fn account_insight_days(
        &self,
        account_id: AccountId,
        metrics: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<AccountInsightDay>> {
        content::account_insight_days(&self.pool, account_id, metrics, from, to).await
    }

    async fn account_insight_last_day(
        &self,
        account_id: AccountId,
        metric: &str,
    ) -> Result<Option<NaiveDate>> {
        content::account_insight_last_day(&self.pool, account_id, metric).await
    }

    async fn account_insight_oldest_read(
        &self,
        account_id: AccountId,
        metric: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Option<DateTime<Utc>>> {
        content::account_insight_oldest_read(&self.pool, account_id, metric, from, to).await
    }

    async fn account_insight_freshness(
        &self,
        account_id: AccountId,
        metric: &str,
        day: NaiveDate,
    ) -> Result<(Option<NaiveDate>, Option<DateTime<Utc>>)> {
        content::account_insight_freshness(&self.pool, account_id, metric, day).await
    }

    async fn demographics_apply(&self, batch: DemographicBatch) -> Result<u64> {
        content::demographics_apply(&self.pool, batch).await
    }

    async fn account_insight_as_of(
        &self,
        account_id: AccountId,
        metric: &str,
        from: NaiveDate,
        to: NaiveDate,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Vec<AccountInsightReading>> {
        content::account_insight_as_of(&self.pool, account_id, metric, from, to, as_of).await
    }

    async fn catalog_decisions_record(&self, decisions: Vec<CatalogDecisionRecord>) -> Result<u64> {
        content::catalog_decisions_record(&self.pool, decisions).await
    }

    async fn catalog_decisions_list(&self) -> Result<Vec<CatalogDecisionRecord>> {
        content::catalog_decisions_list(&self.pool).await
    }

    async fn missing_apply(&self, batch: MissingBatch) -> Result<u64> {
        content::missing_apply(&self.pool, batch).await
    }

    async fn missing_list(
        &self,
        account_id: AccountId,
        kinds: &[MissingKind],
    ) -> Result<Vec<MissingValue>> {
        content::missing_list(&self.pool, account_id, kinds).await
    }

    async fn demographics_latest(
        &self,
        account_id: AccountId,
    ) -> Result<Option<(NaiveDate, Vec<DemographicValue>)>> {
        content::demographics_latest(&self.pool, account_id).await
    }

    // ----- sync history -----

    async fn export_page(&self, query: ExportPageQuery) -> Result<Vec<Vec<ExportValue>>> {
        crate::export::page(self, query).await
    }
    async fn export_batch(&self, query: ExportPageQuery) -> Result<ExportBatch> {
        crate::export::batch(self, query).await
    }

    async fn sync_run_create(&self, run: NewSyncRun) -> Result<RunId> {
        runs::create(&self.pool, run).await
    }

    async fn sync_run_finish(&self, finish: RunFinish) -> Result<bool> {
        runs::finish(&self.pool, finish).await
    }

    async fn sync_run_open(&self, change: StatusChange, run: NewSyncRun) -> Result<Option<RunId>> {
        runs::open(&self.pool, change, run).await
    }

    async fn sync_run_close(
        &self,
        account_id: AccountId,
        change: StatusChange,
        finish: RunFinish,
        steps: Vec<SyncStep>,
    ) -> Result<bool> {
        runs::close(&self.pool, account_id, change, finish, steps).await
    }

    async fn sync_steps_record(&self, steps: Vec<SyncStep>) -> Result<()> {
        runs::steps_record(&self.pool, steps).await
    }

    async fn sync_run_get(&self, id: RunId) -> Result<Option<(SyncRun, Vec<SyncStep>)>> {
        runs::get_run(&self.pool, id).await
    }

    async fn sync_runs_list(&self, query: RunQuery) -> Result<Vec<SyncRun>> {
        runs::list(&self.pool, query).await
    }

    // ----- operations -----

    async fn alert_insert(&self, alert: NewAlert) -> Result<Option<Alert>> {
        ops::alert_insert(&self.pool, alert).await
    }

    async fn alert_list(&self, query: AlertQuery) -> Result<Vec<Alert>> {
        ops::alert_list(&self.pool, query).await
    }

    async fn alert_ack(&self, id: AlertId, at: DateTime<Utc>) -> Result<bool> {
        ops::alert_ack(&self.pool, id, at).await
    }

    async fn alert_delivery_set(
        &self,
        id: AlertId,
        delivered_at: Option<DateTime<Utc>>,
        error: Option<String>,
    ) -> Result<bool> {
        ops::alert_delivery_set(&self.pool, id, delivered_at, error).await
    }

    async fn report_schedule_insert(&self, schedule: NewReportSchedule) -> Result<ReportSchedule> {
        reports::schedule_insert(&self.pool, schedule).await
    }

    async fn report_schedule_list(&self) -> Result<Vec<ReportSchedule>> {
        reports::schedule_list(&self.pool).await
    }

    async fn report_schedule_remove(&self, id: ReportScheduleId) -> Result<bool> {
        reports::schedule_remove(&self.pool, id).await
    }

    async fn report_delivery_record(&self, attempt: ReportAttempt) -> Result<ReportDelivery> {
        reports::delivery_record(&self.pool, attempt).await
    }

    async fn report_delivery_list(
        &self,
        schedule_id: Option<ReportScheduleId>,
        limit: u32,
    ) -> Result<Vec<ReportDelivery>> {
        reports::delivery_list(&self.pool, schedule_id, limit).await
    }

    async fn competitor_add(&self, competitor: store::NewCompetitor) -> Result<store::Competitor> {
        competitors::add(&self.pool, competitor).await
    }

    async fn competitor_list(&self) -> Result<Vec<store::Competitor>> {
        competitors::list(&self.pool).await
    }

    async fn competitor_remove(&self, id: store::CompetitorId) -> Result<bool> {
        competitors::remove(&self.pool, id).await
    }

    async fn competitor_capture(&self, capture: store::CompetitorCapture) -> Result<()> {
        competitors::capture(&self.pool, capture).await
    }

    async fn competitor_fail(&self, failure: store::CompetitorFailure) -> Result<()> {
        competitors::fail(&self.pool, failure).await
    }

    async fn competitor_snapshots(
        &self,
        id: store::CompetitorId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<store::CompetitorSnapshot>> {
        competitors::snapshots(&self.pool, id, from, to).await
    }

    async fn competitor_media_snapshots(
        &self,
        id: store::CompetitorId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<store::CompetitorMediaSnapshot>> {
        competitors::media_snapshots(&self.pool, id, from, to).await
    }

    async fn api_key_insert(&self, key: ApiKey) -> Result<()> {
        ops::api_key_insert(&self.pool, key).await
    }

    async fn api_key_get(&self, id: &str) -> Result<Option<ApiKey>> {
        ops::api_key_get(&self.pool, id).await
    }

    async fn api_key_list(&self) -> Result<Vec<ApiKey>> {
        ops::api_key_list(&self.pool).await
    }

    async fn api_key_revoke(&self, id: &str, at: DateTime<Utc>) -> Result<bool> {
        ops::api_key_revoke(&self.pool, id, at).await
    }

    async fn api_key_touch(&self, id: &str, at: DateTime<Utc>) -> Result<()> {
        ops::api_key_touch(&self.pool, id, at).await
    }

    async fn api_key_rehash(&self, id: &str, old_hash: &str, new_hash: &str) -> Result<bool> {
        ops::api_key_rehash(&self.pool, id, old_hash, new_hash).await
    }

    async fn workspace_insert(&self, name: &str, at: DateTime<Utc>) -> Result<store::Workspace> {
        access::workspace_insert(&self.pool, name, at).await
    }

    async fn workspace_list(&self) -> Result<Vec<store::Workspace>> {
        access::workspace_list(&self.pool).await
    }

    async fn workspace_get(&self, id: store::WorkspaceId) -> Result<Option<store::Workspace>> {
        access::workspace_get(&self.pool, id).await
    }

    async fn workspace_add_account(
        &self,
        workspace: store::WorkspaceId,
        account: AccountId,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        access::workspace_add_account(&self.pool, workspace, account, at).await
    }

    async fn workspace_remove_account(
        &self,
        workspace: store::WorkspaceId,
        account: AccountId,
    ) -> Result<bool> {
        access::workspace_remove_account(&self.pool, workspace, account).await
    }

    async fn share_link_insert(&self, link: store::ShareLink) -> Result<()> {
        access::share_link_insert(&self.pool, link).await
    }

    async fn share_link_get(&self, id: &str) -> Result<Option<store::ShareLink>> {
        access::share_link_get(&self.pool, id).await
    }

    async fn share_link_list(&self) -> Result<Vec<store::ShareLink>> {
        access::share_link_list(&self.pool).await
    }

    async fn share_link_revoke(&self, id: &str, at: DateTime<Utc>) -> Result<bool> {
        access::share_link_revoke(&self.pool, id, at).await
    }

    async fn audit_insert(&self, entry: store::NewAuditEntry) -> Result<()> {
        access::audit_insert(&self.pool, entry).await
    }

    async fn audit_list(
        &self,
        limit: u32,
        of: Option<&store::AuditOf>,
    ) -> Result<Vec<store::AuditEntry>> {
        access::audit_list(&self.pool, limit, of).await
    }

    async fn session_insert(&self, session: Session) -> Result<()> {
        ops::session_insert(&self.pool, session).await
    }

    async fn session_get(&self, id_hash: &str) -> Result<Option<Session>> {
        ops::session_get(&self.pool, id_hash).await
    }

    async fn session_delete(&self, id_hash: &str) -> Result<()> {
        ops::session_delete(&self.pool, id_hash).await
    }

    async fn session_prune(&self, now: DateTime<Utc>) -> Result<u64> {
        ops::session_prune(&self.pool, now).await
    }

    async fn api_usage_record(&self, usage: Vec<ApiUsage>) -> Result<()> {
        ops::api_usage_record(&self.pool, usage).await
    }

    async fn api_usage_latest(&self) -> Result<Vec<ApiUsage>> {
        ops::api_usage_latest(&self.pool).await
    }

    async fn api_calls_add(&self, deltas: Vec<ApiCallsDelta>) -> Result<()> {
        ops::api_calls_add(&self.pool, deltas).await
    }

    async fn api_spend_record(
        &self,
        deltas: Vec<ApiCallsDelta>,
        usage: Vec<ApiUsage>,
    ) -> Result<()> {
        ops::api_spend_record(&self.pool, deltas, usage).await
    }

    async fn api_calls_days(
        &self,
        account_id: Option<AccountId>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ApiCallsDay>> {
        ops::api_calls_days(&self.pool, account_id, from, to).await
    }

    // ----- whole-database copy, backup and restore -----

    async fn copy_schema(&self) -> Result<CopySchema> {
        crate::copy::schema(&self.pool).await
    }

    async fn copy_read(
        &self,
        table: &str,
        order: &[String],
        after: Option<&[CopyValue]>,
        limit: u32,
    ) -> Result<Vec<Vec<CopyValue>>> {
        crate::copy::read(&self.pool, table, order, after, limit).await
    }

    async fn copy_last_key(&self, table: &str, order: &[String]) -> Result<Option<Vec<CopyValue>>> {
        crate::copy::last_key(&self.pool, table, order).await
    }

    async fn copy_write(
        &self,
        table: &str,
        columns: &[String],
        rows: Vec<Vec<CopyValue>>,
    ) -> Result<u64> {
        crate::copy::write(&self.pool, table, columns, rows).await
    }

    async fn copy_clear(&self, tables: &[String]) -> Result<()> {
        crate::copy::clear(&self.pool, tables).await
    }

    async fn copy_finish(&self) -> Result<()> {
        crate::copy::finish(&self.pool).await
    }

    async fn copy_count(&self, table: &str) -> Result<i64> {
        crate::copy::count(&self.pool, table).await
    }

    async fn backup_into(&self, _path: &str) -> Result<Vec<(String, i64)>> {
        Err(StoreError::invalid(
            "a PostgreSQL database is backed up with pg_dump and restored with pg_restore \
             (see docs/reliability.md, \"Backup and restore\"), not by igsync",
        ))
    }

    async fn integrity_check(&self) -> Result<Vec<String>> {
        // PostgreSQL checks its pages and constraints itself; there is no cheap whole-database
        // check to run here.
        Ok(Vec::new())
    }
}

#[async_trait::async_trait]
impl QueueStore for PostgresStore {
    async fn job_insert(&self, job: NewJob) -> Result<InsertOutcome> {
        let mut out = queue::insert_many(&self.pool, vec![job]).await?;
        out.pop()
            .ok_or_else(|| crate::error::corrupt("job insert returned nothing"))
    }

    async fn job_insert_many(&self, jobs: Vec<NewJob>) -> Result<Vec<InsertOutcome>> {
        queue::insert_many(&self.pool, jobs).await
    }

    async fn job_claim(&self, params: ClaimParams) -> Result<Vec<Job>> {
        queue::claim(&self.pool, params).await
    }

    async fn job_heartbeat(
        &self,
        worker_id: &str,
        ids: &[JobId],
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<JobId>> {
        queue::heartbeat(&self.pool, worker_id, ids, lease_until).await
    }

    async fn job_complete(&self, completion: JobCompletion) -> Result<bool> {
        queue::complete(&self.pool, completion).await
    }

    async fn job_fail(&self, failure: JobFailure) -> Result<Option<JobState>> {
        queue::fail(&self.pool, failure).await
    }

    async fn job_snooze(
        &self,
        id: JobId,
        worker_id: &str,
        until: DateTime<Utc>,
        reason: &str,
    ) -> Result<bool> {
        queue::snooze(&self.pool, id, worker_id, until, reason).await
    }

    async fn job_progress_set(
        &self,
        id: JobId,
        worker_id: &str,
        progress: serde_json::Value,
    ) -> Result<bool> {
        queue::progress_set(&self.pool, id, worker_id, progress).await
    }

    async fn job_rescue(&self, now: DateTime<Utc>) -> Result<RescueReport> {
        queue::rescue(&self.pool, now).await
    }

    async fn job_get(&self, id: JobId) -> Result<Option<Job>> {
        queue::get_job(&self.pool, id).await
    }

    async fn job_list(&self, query: JobQuery) -> Result<JobPage> {
        queue::list(&self.pool, query).await
    }

    async fn job_snapshot(
        &self,
        now: DateTime<Utc>,
        accounts: Option<&[AccountId]>,
    ) -> Result<QueueSnapshot> {
        queue::snapshot(&self.pool, now, accounts).await
    }

    async fn job_due_count(&self, now: DateTime<Utc>) -> Result<i64> {
        queue::due_count(&self.pool, now).await
    }

    async fn jobs_retry(&self, selector: JobSelector, now: DateTime<Utc>) -> Result<u64> {
        queue::retry(&self.pool, selector, now).await
    }

    async fn jobs_cancel(&self, selector: JobSelector, now: DateTime<Utc>) -> Result<u64> {
        queue::cancel(&self.pool, selector, now).await
    }

    async fn jobs_delete(&self, selector: JobSelector) -> Result<u64> {
        queue::delete(&self.pool, selector).await
    }

    async fn job_prune(&self, policy: RetentionPolicy) -> Result<PruneReport> {
        queue::prune(&self.pool, policy).await
    }

    async fn job_metrics(&self, query: JobMetricsQuery) -> Result<Vec<JobMetricPoint>> {
        queue::metrics(&self.pool, query).await
    }

    async fn rate_limit_acquire(
        &self,
        name: &str,
        limit: u32,
        window: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<RateDecision> {
        queue::rate_limit_acquire(&self.pool, name, limit, window, now).await
    }

    async fn schedule_upsert(&self, def: ScheduleDef, next_run_at: DateTime<Utc>) -> Result<()> {
        queue::schedule_upsert(&self.pool, def, next_run_at).await
    }

    async fn schedule_list(&self) -> Result<Vec<Schedule>> {
        queue::schedule_list(&self.pool).await
    }

    async fn schedule_get(&self, name: &str) -> Result<Option<Schedule>> {
        queue::schedule_get(&self.pool, name).await
    }

    async fn schedule_set_paused(
        &self,
        name: &str,
        paused: bool,
        next_run_at: DateTime<Utc>,
    ) -> Result<bool> {
        queue::schedule_set_paused(&self.pool, name, paused, next_run_at).await
    }

    async fn schedule_fire(&self, fire: ScheduleFire) -> Result<Option<InsertOutcome>> {
        queue::schedule_fire(&self.pool, fire).await
    }

    async fn worker_heartbeat(&self, worker: WorkerInfo) -> Result<()> {
        queue::worker_heartbeat(&self.pool, worker).await
    }

    async fn worker_list(&self, seen_since: DateTime<Utc>) -> Result<Vec<WorkerInfo>> {
        queue::worker_list(&self.pool, seen_since).await
    }

    async fn worker_remove(&self, id: &str) -> Result<()> {
        queue::worker_remove(&self.pool, id).await
    }
}
