//! The sync engine: the durable job queue (executor, retries, snoozes, leases, rescuer,
//! pruner), cron schedules, one job per account sync running its steps in stages, token refresh,
//! alerts and the sync history.
//!
//! Jobs talk to the Graph API through `graph` and to the database through the `store` trait
//! only: this crate holds no SQL and must not depend on `sqlx`, `axum` or a dialect crate.
//!
//! Entry point: [`Engine`] (built from an [`EngineConfig`]): `enqueue_sync`,
//! `install_schedules`, `run_worker`, `run_until_idle`, `progress`, `refresh_tokens_now`.

pub mod accounts;
pub mod args;
pub mod connect;
pub mod dbcopy;
pub mod engine;
pub mod error;
pub mod history;
mod jobs;
mod missing;
pub mod peers;
mod phase;
pub mod plan;
pub mod report;
pub mod retry;
mod settings;
mod steps;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tiered;
pub mod webhooks;

pub use ::clock::Clock;
/// The engine's one clock (the `clock` crate), under its old path.
pub mod clock {
    pub use ::clock::Clock;
}
pub use ::queue::{CronExpr, Scheduler, WorkerStats, validate_cron};
pub use engine::{
    AlertSettings, DEFAULT_ACCOUNT_CONCURRENCY, DEFAULT_ACCOUNT_INSIGHTS_LIGHT_INTERVAL,
    DEFAULT_SYNCS_PER_MINUTE, Engine, EngineConfig, Enqueued, GraphClients,
    MAX_ACCOUNT_CONCURRENCY, RetentionSettings, SCHEDULE_FULL_SYNC, SCHEDULE_LIGHT_SYNC,
    SCHEDULE_RETENTION, SCHEDULE_TOKEN_REFRESH, StepProgress, StepState, SyncProgress,
    SyncSettings, SyncState, graph_clients,
};
pub use error::{Result, SyncError};
pub use history::{
    BASELINE_POSTS, DailySeries, HistoryWindow, load_account_history, load_alert_history,
};
pub use jobs::competitors::{
    CompetitorSettings, DEFAULT_COMPETITORS_CRON, KIND_COMPETITOR_SNAPSHOT, KIND_COMPETITORS_DUE,
    SCHEDULE_COMPETITORS, normalize_username,
};
pub use jobs::reports::{
    DEFAULT_REPORTS_CRON, DeliverReportArgs, Every, FigureRow, KIND_DELIVER_REPORT,
    KIND_REPORTS_DUE, PeerRow, PeerSection, RenderedReport, ReportChart, ReportFormat,
    ReportTarget, SCHEDULE_REPORTS, SmtpSettings, SmtpTls, render_report,
};
pub use jobs::{StoryFinalReadArgs, WebhookUrl, webhook_signature};
pub use phase::SyncStarts;
pub use plan::{Plan, Scope, Step};
pub use report::build_report;
pub use retry::{RetryState, retries_by_account};
