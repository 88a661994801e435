//! The durable job queue on PostgreSQL (the River / Oban model): inserts with unique-key
//! merging, claims that never run two jobs of one account at once (a transaction-scoped
//! advisory lock around the claim, and a partial unique index on running jobs' accounts as
//! the database-enforced invariant), leases and heartbeats, retries, snoozes, the rescuer,
//! bulk actions, retention, persisted per-minute metrics, the global start limiter,
//! schedules that fire exactly once, and worker registrations.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use store::{
    AccountId, AttemptError, ClaimParams, HISTOGRAM_BUCKETS, InsertOutcome, Job, JobCompletion,
    JobCount, JobFailure, JobId, JobMetricPoint, JobMetricsQuery, JobPage, JobQuery, JobSelector,
    JobState, NewJob, PruneReport, QueueSnapshot, RateDecision, RescueReport, Resolution, Result,
    RunId, Schedule, ScheduleDef, ScheduleFire, StoreError, WorkerInfo, histogram_bucket,
};

use crate::accounts::get;
use crate::error::{corrupt, db};
use crate::{LOCK_CLAIM, LOCK_NAMESPACE};

const JOB_COLUMNS: &str = "id, queue, kind, args, account_id, unique_key, run_id, state, \
    attempt, max_attempts, priority, run_at, created_at, attempted_at, finished_at, locked_by, \
    lease_expires_at, errors, progress, result";

/// The error text a rescued job carries.
pub(crate) const WORKER_LOST: &str = "worker lost: its lease expired before it finished";

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn error_entry(attempt: i32, at: DateTime<Utc>, worker: Option<&str>, error: &str) -> String {
    json!([{ "attempt": attempt, "at": stamp(at), "worker_id": worker, "error": error }])
        .to_string()
}

/// The attempts of a job as stored. An entry (or a whole column) that cannot be read becomes
/// an [`AttemptError::unreadable`] entry dated `fallback`, so one bad row never fails a
/// listing.
fn errors_from(value: serde_json::Value, fallback: DateTime<Utc>) -> Vec<AttemptError> {
    AttemptError::list_from_json(
        &value,
        |at| {
            at.as_str()
                .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
                .map(|at| at.with_timezone(&Utc))
        },
        fallback,
    )
}

fn state_from(s: &str) -> Result<JobState> {
    JobState::parse(s).ok_or_else(|| corrupt(format!("job state {s:?}")))
}

fn job_from(r: &PgRow) -> Result<Job> {
    let state: String = get(r, "state")?;
    let created_at: DateTime<Utc> = get(r, "created_at")?;
    let attempted_at: Option<DateTime<Utc>> = get(r, "attempted_at")?;
    Ok(Job {
        id: JobId::new(get(r, "id")?),
        queue: get(r, "queue")?,
        kind: get(r, "kind")?,
        args: get(r, "args")?,
        account_id: get::<Option<i64>>(r, "account_id")?.map(AccountId::new),
        unique_key: get(r, "unique_key")?,
        run_id: get::<Option<i64>>(r, "run_id")?.map(RunId::new),
        state: state_from(&state)?,
        attempt: get(r, "attempt")?,
        max_attempts: get(r, "max_attempts")?,
        priority: get(r, "priority")?,
        run_at: get(r, "run_at")?,
        created_at,
        attempted_at,
        finished_at: get(r, "finished_at")?,
        locked_by: get(r, "locked_by")?,
        lease_expires_at: get(r, "lease_expires_at")?,
        errors: errors_from(get(r, "errors")?, attempted_at.unwrap_or(created_at)),
        progress: get(r, "progress")?,
        result: get(r, "result")?,
    })
}

mod bulk;
mod claims;
mod inserts;
mod limiter;
mod metrics;
mod outcomes;
mod reads;
mod schedules;
mod workers;

pub(crate) use bulk::*;
pub(crate) use claims::*;
pub(crate) use inserts::*;
pub(crate) use limiter::*;
pub(crate) use metrics::*;
pub(crate) use outcomes::*;
pub(crate) use reads::*;
pub(crate) use schedules::*;
pub(crate) use workers::*;
