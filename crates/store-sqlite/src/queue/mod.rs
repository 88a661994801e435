//! The durable job queue on SQLite: inserts with unique-key merging, claims, leases,
//! completion and failure with persisted metrics, snoozes, the rescuer, bulk actions,
//! retention, the global start limiter, schedules and worker registrations.
//!
//! Every state change runs in a `BEGIN IMMEDIATE` transaction. SQLite has one writer at a
//! time, so a claim's "is this account already running?" check and its update cannot
//! interleave with another claim, in this process or any other.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, SqliteConnection};
use store::{
    AccountId, AttemptError, ClaimParams, HISTOGRAM_BUCKETS, InsertOutcome, Job, JobCompletion,
    JobCount, JobFailure, JobId, JobMetricPoint, JobMetricsQuery, JobPage, JobQuery, JobSelector,
    JobState, NewJob, PruneReport, QueueSnapshot, RateDecision, RescueReport, Resolution, Result,
    RetentionPolicy, RunId, Schedule, ScheduleDef, ScheduleFire, StoreError, WorkerInfo,
    histogram_bucket,
};

use crate::SqliteStore;
use crate::error::{corrupt, db_err};
use crate::history::limit;
use crate::sql::{Arg, Filter, RowExt, from_micros, json_ints, json_texts, micros};

const JOB_COLUMNS: &str = "id, queue, kind, args, account_id, unique_key, run_id, state, attempt, \
     max_attempts, priority, run_at, created_at, attempted_at, finished_at, locked_by, \
     lease_expires_at, errors, progress, result";

/// The attempts of a job as stored. An entry (or a whole column) that cannot be read becomes
/// an [`AttemptError::unreadable`] entry dated `fallback`, so one bad row never fails a
/// listing.
fn errors_from(stored: Option<String>, fallback: DateTime<Utc>) -> Vec<AttemptError> {
    let Some(text) = stored else {
        return Vec::new();
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(list @ Value::Array(_)) => AttemptError::list_from_json(
            &list,
            |at| at.as_i64().and_then(|t| from_micros(t).ok()),
            fallback,
        ),
        _ => vec![AttemptError::unreadable(&text, None, fallback)],
    }
}

fn job_from(row: &SqliteRow) -> Result<Job> {
    let created_at = row.time("created_at")?;
    let attempted_at = row.time_opt("attempted_at")?;
    // A value SQLite holds as something other than text is unreadable as a whole.
    let stored = row
        .col::<Option<String>>("errors")
        .unwrap_or_else(|_| Some("(a value that is not text)".to_owned()));
    let errors = errors_from(stored, attempted_at.unwrap_or(created_at));
    Ok(Job {
        id: JobId::new(row.col("id")?),
        queue: row.col("queue")?,
        kind: row.col("kind")?,
        args: row.json("args")?,
        account_id: row.col::<Option<i64>>("account_id")?.map(AccountId::new),
        unique_key: row.col("unique_key")?,
        run_id: row.col::<Option<i64>>("run_id")?.map(RunId::new),
        state: row.parsed("state", JobState::parse)?,
        attempt: row.col("attempt")?,
        max_attempts: row.col("max_attempts")?,
        priority: row.col("priority")?,
        run_at: row.time("run_at")?,
        created_at,
        attempted_at,
        finished_at: row.time_opt("finished_at")?,
        locked_by: row.col("locked_by")?,
        lease_expires_at: row.time_opt("lease_expires_at")?,
        errors,
        progress: row.json_opt("progress")?,
        result: row.json_opt("result")?,
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
