//! Where an account's sync stands between failed attempts: the job of its chain that failed
//! an attempt and will try again, with the last error and when the next attempt starts. The
//! account itself stays `syncing` until the chain succeeds or fails for good, so this is
//! what the account list, the API and the dashboard show meanwhile.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use store::{AccountId, Job, JobId, JobQuery, JobState, Store};

use crate::error::Result;
use crate::plan::SYNC_QUEUE;
use crate::plan::Step;

/// A sync job that failed an attempt and has attempts left.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryState {
    pub job_id: JobId,
    pub kind: String,
    /// The step the job was at (None when a sync had not started its first step).
    pub step: Option<Step>,
    /// Attempts that failed so far (a lost worker counts).
    pub failed_attempts: usize,
    pub max_attempts: i32,
    pub last_error: String,
    pub last_error_at: DateTime<Utc>,
    /// When the next attempt starts; None while it runs.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl RetryState {
    /// The retry state of an active job whose last attempt failed, if it is one.
    pub fn of(job: &Job) -> Option<RetryState> {
        let last = job.errors.last()?;
        let next_attempt_at = match job.state {
            JobState::Pending => Some(job.run_at),
            JobState::Running => None,
            _ => return None,
        };
        Some(RetryState {
            job_id: job.id,
            kind: job.kind.clone(),
            step: crate::steps::step_of(job),
            failed_attempts: job.errors.len(),
            max_attempts: job.max_attempts,
            last_error: last.error.clone(),
            last_error_at: last.at,
            next_attempt_at,
        })
    }

    /// One line: "step media: attempt 1 of 3 failed (…); next attempt at 12:00:00 UTC".
    pub fn describe(&self) -> String {
        let what = match self.step {
            Some(step) => format!("step {step}"),
            None => "the sync's start".to_string(),
        };
        let next = match self.next_attempt_at {
            Some(at) => format!("next attempt at {}", at.format("%Y-%m-%d %H:%M:%S UTC")),
            None => "the next attempt is running".to_string(),
        };
        format!(
            "{what}: {} of {} attempts failed, the last with: {}; {next}",
            self.failed_attempts, self.max_attempts, self.last_error
        )
    }
}

/// The retry state of every account whose sync chain is between (or in) attempts after a
/// failed one. When several chains of an account are active, the most recent failure wins.
pub async fn retries_by_account(store: &dyn Store) -> Result<HashMap<AccountId, RetryState>> {
    let page = store
        .job_list(JobQuery {
            states: vec![JobState::Pending, JobState::Running],
            queue: Some(SYNC_QUEUE.to_string()),
            limit: 10_000,
            ..Default::default()
        })
        .await?;
    let mut out: HashMap<AccountId, RetryState> = HashMap::new();
    for job in &page.jobs {
        let (Some(account_id), Some(state)) = (job.account_id, RetryState::of(job)) else {
            continue;
        };
        match out.get(&account_id) {
            Some(seen) if seen.last_error_at >= state.last_error_at => {}
            _ => {
                out.insert(account_id, state);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::{AccountId, AttemptError, JobId, RunId};

    fn job(state: JobState, errors: usize) -> Job {
        let at: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
        Job {
            id: JobId::new(7),
            queue: SYNC_QUEUE.to_string(),
            kind: "sync_media".to_string(),
            args: serde_json::json!({}),
            account_id: Some(AccountId::new(1)),
            unique_key: None,
            run_id: Some(RunId::new(3)),
            state,
            attempt: errors as i32,
            max_attempts: 3,
            priority: 0,
            run_at: at + chrono::Duration::minutes(2),
            created_at: at,
            attempted_at: Some(at),
            finished_at: None,
            locked_by: None,
            lease_expires_at: None,
            errors: (1..=errors)
                .map(|n| AttemptError {
                    attempt: n as i32,
                    at: at + chrono::Duration::seconds(n as i64),
                    worker_id: None,
                    error: format!("Graph API: HTTP 503 ({n})"),
                    unreadable: false,
                })
                .collect(),
            progress: None,
            result: None,
        }
    }

    #[test]
    fn a_pending_job_with_a_failed_attempt_is_retrying() {
        let r = RetryState::of(&job(JobState::Pending, 2)).unwrap();
        assert_eq!(r.step, Some(Step::Media));
        assert_eq!((r.failed_attempts, r.max_attempts), (2, 3));
        assert_eq!(r.last_error, "Graph API: HTTP 503 (2)");
        assert_eq!(
            r.next_attempt_at.unwrap().to_rfc3339(),
            "2026-03-01T12:02:00+00:00"
        );
        assert_eq!(
            r.describe(),
            "step media: 2 of 3 attempts failed, the last with: Graph API: HTTP 503 (2); \
             next attempt at 2026-03-01 12:02:00 UTC"
        );
        let running = RetryState::of(&job(JobState::Running, 1)).unwrap();
        assert_eq!(running.next_attempt_at, None);
        assert!(RetryState::of(&job(JobState::Pending, 0)).is_none());
        assert!(RetryState::of(&job(JobState::Failed, 3)).is_none());
    }
}
