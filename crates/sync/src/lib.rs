//! The sync engine: the durable job queue (executor, retries, snoozes, leases, rescuer,
//! pruner), cron schedules, the orchestrator chain of sync steps per account, token refresh,
//! alerts and the sync history.
//!
//! Jobs talk to the Graph API through `graph` and to the database through the `store` trait
//! only: this crate holds no SQL and must not depend on `sqlx`, `axum` or a dialect crate.

pub mod clock;
pub mod error;
pub mod queue;
pub mod schedule;

pub use clock::Clock;
pub use error::{Result, SyncError};
pub use schedule::{CronExpr, Scheduler, validate_cron};
