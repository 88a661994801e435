//! The job queue as this crate uses it: the `queue` crate's engine (re-exported under this
//! path) and the names of igsync's two queues and default schedules.

pub use ::queue::{
    DynHandler, JobContext, JobHandler, JobOutcome, Maintenance, QueueError, RetryPolicy, Worker,
    WorkerConfig, WorkerStats, worker_process_gone,
};

/// The queue sync jobs run on.
pub const SYNC_QUEUE: &str = "instagram-sync";
/// The queue of everything else (fan-outs, token refresh, retention, webhook deliveries).
pub const MAINTENANCE_QUEUE: &str = "maintenance";
