//! Sync history: one run per orchestrated sync of an account, one step row per step of the
//! chain, with its cost (API calls, rate-limit units), rows written and completeness.

use chrono::{DateTime, Utc};

use crate::account::AccountId;

use queue::types::{JobId, RunId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<RunStatus> {
        Some(match s {
            "running" => RunStatus::Running,
            "succeeded" => RunStatus::Succeeded,
            "failed" => RunStatus::Failed,
            "cancelled" => RunStatus::Cancelled,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewSyncRun {
    pub account_id: AccountId,
    /// `full` or `light`.
    pub plan: String,
    /// What started it: `schedule:<name>`, `manual`, `api`, `demo`…
    pub trigger: String,
    /// The steps the run will execute, in order.
    pub steps: Vec<String>,
    pub started_at: DateTime<Utc>,
    /// The job that runs the sync: its `run_id` is set to the new run in the same
    /// transaction, so the job names its run from the moment it exists.
    pub job_id: Option<JobId>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SyncRun {
    pub id: RunId,
    pub account_id: AccountId,
    pub plan: String,
    pub trigger: String,
    pub steps_planned: Vec<String>,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// Sums over the run's steps.
    pub api_calls: i64,
    pub rate_limit_units: i64,
    pub rows_written: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepStatus {
    Running,
    Succeeded,
    Failed,
    Skipped,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Running => "running",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<StepStatus> {
        Some(match s {
            "running" => StepStatus::Running,
            "succeeded" => StepStatus::Succeeded,
            "failed" => StepStatus::Failed,
            "skipped" => StepStatus::Skipped,
            _ => return None,
        })
    }
}

/// One step's outcome, upserted on `(run_id, step)` (a retried step overwrites its row and
/// increments nothing by itself: `attempts` is what the caller says).
#[derive(Debug, Clone, PartialEq)]
pub struct SyncStep {
    pub run_id: RunId,
    pub step: String,
    /// Position in the chain, from 0.
    pub position: i32,
    pub status: StepStatus,
    pub attempts: i32,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub api_calls: i64,
    pub rate_limit_units: i64,
    pub rows_written: i64,
    /// Completeness: what the API said exists vs what is stored after the step.
    pub expected: Option<i64>,
    pub stored: Option<i64>,
    pub complete: Option<bool>,
    pub error: Option<String>,
    /// Step-specific facts (dropped metrics, pages read, items with errors…).
    pub detail: serde_json::Value,
}

impl SyncStep {
    /// The rows a batch writes: the last of each `(run_id, step)`, in the order of their
    /// first appearance (an upsert cannot touch one row twice in a statement).
    pub fn last_of_each(steps: Vec<SyncStep>) -> Vec<SyncStep> {
        let mut out: Vec<SyncStep> = Vec::with_capacity(steps.len());
        for step in steps {
            match out
                .iter_mut()
                .find(|s| s.run_id == step.run_id && s.step == step.step)
            {
                Some(earlier) => *earlier = step,
                None => out.push(step),
            }
        }
        out
    }

    /// Refuses a row of another run than `run`: the rows written with a run's close are
    /// its own.
    pub fn all_of_run(steps: &[SyncStep], run: RunId) -> crate::Result<()> {
        match steps.iter().find(|s| s.run_id != run) {
            Some(other) => Err(crate::StoreError::invalid(format!(
                "step {} of run {} cannot be written with the close of run {run}",
                other.step, other.run_id
            ))),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunFinish {
    pub run_id: RunId,
    pub status: RunStatus,
    pub error: Option<String>,
    pub finished_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunQuery {
    pub account_id: Option<AccountId>,
    /// Only runs of these accounts (a workspace's); None: every account.
    pub accounts: Option<Vec<AccountId>>,
    pub status: Option<RunStatus>,
    /// Newest first.
    pub limit: u32,
    pub before_id: Option<RunId>,
}
