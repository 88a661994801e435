//! The durable job queue's engine, generic over job kinds (it knows nothing about
//! Instagram): the [`Worker`] executor, the [`RetryPolicy`], job handlers and outcomes.
//! Persistence (claims, leases, transactional chaining, the rescuer, the limiter) is the
//! `store::Store` trait's `job_*`, `schedule_*`, `rate_limit_acquire` and `worker_*` methods.

mod handler;
mod policy;
mod worker;

pub use handler::{DynHandler, JobContext, JobHandler, JobOutcome};
pub use policy::{MAINTENANCE_QUEUE, RetryPolicy, SYNC_QUEUE, WorkerConfig};
pub use worker::{Maintenance, Worker, WorkerStats, worker_process_gone};
