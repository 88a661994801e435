//! Jobs of the queue: search by state, queue, kind, account, run and free text (kind,
//! arguments, error texts) with paging; detail (arguments, attempts, errors, progress,
//! timings); retry / cancel / delete one; the same in bulk, by ids or by a filter.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use store::{AccountId, Job, JobId, JobQuery, JobSelector, JobState, RunId};

use crate::access::Access;
use crate::api::{MAX_SEARCH_CHARS, Paging, check_limit, check_text};
use crate::error::{ApiJson, ApiPath, ApiQuery, AppError, AppResult};
use crate::openapi::schema;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(list))
        .route("/jobs/bulk", post(bulk))
        .route("/jobs/{id}", get(detail).delete(delete_one))
        .route("/jobs/{id}/retry", post(retry_one))
        .route("/jobs/{id}/cancel", post(cancel_one))
}

/// Most ids one bulk request may name.
pub const MAX_BULK_IDS: usize = 1000;

/// Filters of the job list and of bulk actions by filter. All given filters must match.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobFilter {
    /// One state or several separated by commas: `pending`, `running`, `completed`,
    /// `failed`, `cancelled`.
    #[schemars(regex(pattern = schema::job_states_pattern()))]
    pub state: Option<String>,
    #[schemars(length(max = 100), regex(pattern = schema::NO_CONTROL_CHARACTERS))]
    pub queue: Option<String>,
    #[schemars(length(max = 100), regex(pattern = schema::NO_CONTROL_CHARACTERS))]
    pub kind: Option<String>,
    pub account: Option<AccountId>,
    pub run: Option<RunId>,
    /// Case-insensitive plain text matched against the kind, the arguments and the errors.
    #[schemars(length(max = MAX_SEARCH_CHARS), regex(pattern = schema::NO_CONTROL_CHARACTERS))]
    pub search: Option<String>,
}

impl JobFilter {
    /// The store query, validated (422 on an unknown state or an overlong text).
    pub fn to_query(&self, limit: u32, offset: u32) -> AppResult<JobQuery> {
        Ok(JobQuery {
            states: parse_states(self.state.as_deref())?,
            queue: check_text("queue", self.queue.as_deref(), 100)?,
            kind: check_text("kind", self.kind.as_deref(), 100)?,
            account_id: self.account,
            run_id: self.run,
            search: check_text("search", self.search.as_deref(), MAX_SEARCH_CHARS)?,
            ids: Vec::new(),
            accounts: None,
            limit,
            offset,
        })
    }
}

/// Parses `failed` or `failed,cancelled`; empty means every state.
pub fn parse_states(value: Option<&str>) -> AppResult<Vec<JobState>> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let mut states = Vec::new();
    for part in value
        .split(',')
        .map(|s| s.trim_matches(' '))
        .filter(|s| !s.is_empty())
    {
        let state = JobState::parse(part).ok_or_else(|| {
            AppError::invalid(format!(
                "unknown job state {part:?} (expected pending, running, completed, failed or \
                 cancelled)"
            ))
        })?;
        if !states.contains(&state) {
            states.push(state);
        }
    }
    Ok(states)
}

/// A job as the API shows it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "Job")]
pub struct JobView {
    pub id: JobId,
    pub queue: String,
    pub kind: String,
    /// `pending | running | completed | failed | cancelled`.
    #[schemars(extend("enum" = JobState::ALL.map(JobState::as_str)))]
    pub state: &'static str,
    /// A pending job whose `run_at` is in the future.
    pub scheduled: bool,
    pub account_id: Option<AccountId>,
    pub run_id: Option<RunId>,
    pub unique_key: Option<String>,
    pub args: serde_json::Value,
    pub attempt: i32,
    pub max_attempts: i32,
    pub priority: i16,
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub attempted_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub locked_by: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// The latest error, if any (all of them are in `errors`).
    pub last_error: Option<String>,
    pub errors: Vec<AttemptErrorView>,
    #[schemars(schema_with = "schema::job_progress")]
    pub progress: Option<serde_json::Value>,
    pub result: Option<serde_json::Value>,
    pub timings: Timings,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "AttemptError")]
pub struct AttemptErrorView {
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub worker_id: Option<String>,
    pub error: String,
    /// The stored entry could not be read; `error` says so and quotes it.
    pub unreadable: bool,
}

/// Durations in milliseconds of the latest attempt; null when they do not apply (not
/// attempted yet, scheduled for later, cancelled before running).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "JobTimings")]
pub struct Timings {
    /// From when the job was due (`max(run_at, created_at)`) to its latest attempt's start
    /// (or to now while a due job waits).
    pub wait_ms: Option<i64>,
    /// From the latest attempt's start to its finish (or to now while it runs); null for a
    /// cancelled job.
    pub run_ms: Option<i64>,
    /// From creation to finish (or to now).
    pub total_ms: i64,
}

impl JobView {
    pub fn of(job: &Job, now: DateTime<Utc>) -> JobView {
        // Wait and run describe the latest attempt only: a retry moves `run_at` past it and
        // a cancel sets `finished_at` without a run.
        let due = job.run_at.max(job.created_at);
        let wait_ms = match (job.state, job.attempted_at) {
            (JobState::Pending, _) if job.run_at <= now => Some((now - due).num_milliseconds()),
            (JobState::Pending, _) => None,
            (_, Some(start)) if start >= due => Some((start - due).num_milliseconds()),
            _ => None,
        };
        let run_ms = match (job.state, job.attempted_at, job.finished_at) {
            (JobState::Running, Some(start), _) => Some((now - start).num_milliseconds().max(0)),
            (JobState::Completed | JobState::Failed, Some(start), Some(end))
                if end >= start && start >= due =>
            {
                Some((end - start).num_milliseconds())
            }
            _ => None,
        };
        let total_ms = (job.finished_at.unwrap_or(now) - job.created_at).num_milliseconds();
        JobView {
            id: job.id,
            queue: job.queue.clone(),
            kind: job.kind.clone(),
            state: job.state.as_str(),
            scheduled: job.state == JobState::Pending && job.run_at > now,
            account_id: job.account_id,
            run_id: job.run_id,
            unique_key: job.unique_key.clone(),
            args: job.args.clone(),
            attempt: job.attempt,
            max_attempts: job.max_attempts,
            priority: job.priority,
            run_at: job.run_at,
            created_at: job.created_at,
            attempted_at: job.attempted_at,
            finished_at: job.finished_at,
            locked_by: job.locked_by.clone(),
            lease_expires_at: job.lease_expires_at,
            last_error: job.errors.last().map(|e| e.error.clone()),
            errors: job
                .errors
                .iter()
                .map(|e| AttemptErrorView {
                    attempt: e.attempt,
                    at: e.at,
                    worker_id: e.worker_id.clone(),
                    error: e.error.clone(),
                    unreadable: e.unreadable,
                })
                .collect(),
            progress: job.progress.clone(),
            result: job.result.clone(),
            timings: Timings {
                wait_ms,
                run_ms,
                total_ms,
            },
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub state: Option<String>,
    pub queue: Option<String>,
    pub kind: Option<String>,
    pub account: Option<AccountId>,
    pub run: Option<RunId>,
    pub search: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct JobList {
    pub jobs: Vec<JobView>,
    /// All matches, ignoring paging.
    pub total: i64,
    pub limit: u32,
    pub offset: u32,
}

/// Jobs, newest first; a key of one workspace gets its accounts' jobs only (and the total
/// of those), never a job without an account.
async fn list(
    State(state): State<AppState>,
    access: Access,
    ApiQuery(params): ApiQuery<ListParams>,
) -> AppResult<ApiJson<JobList>> {
    let paging = Paging {
        limit: params.limit,
        offset: params.offset,
    };
    let filter = JobFilter {
        state: params.state,
        queue: params.queue,
        kind: params.kind,
        account: params.account,
        run: params.run,
        search: params.search,
    };
    let (limit, offset) = (paging.limit()?, paging.offset());
    let query = JobQuery {
        accounts: access.account_set(),
        ..filter.to_query(limit, offset)?
    };
    let page = state.store.job_list(query).await?;
    let now = state.clock.now();
    Ok(ApiJson(JobList {
        jobs: page.jobs.iter().map(|j| JobView::of(j, now)).collect(),
        total: page.total,
        limit,
        offset,
    }))
}

/// The job, if it exists and the key may see it: a job of another workspace's account (or
/// of none) is answered exactly like a job that does not exist.
pub async fn job_or_404(state: &AppState, access: &Access, id: JobId) -> AppResult<Job> {
    state
        .store
        .job_get(id)
        .await?
        .filter(|job| access.sees_owned(job.account_id))
        .ok_or_else(|| AppError::not_found(format!("job {id} not found")))
}

async fn detail(
    State(state): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<JobId>,
) -> AppResult<ApiJson<JobView>> {
    let job = job_or_404(&state, &access, id).await?;
    Ok(ApiJson(JobView::of(&job, state.clock.now())))
}

/// What a bulk action (or a single retry, cancel or delete) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "BulkAction")]
pub enum Action {
    /// Failed, cancelled or pending jobs → pending, due now, attempts reset.
    Retry,
    /// Pending and running jobs → cancelled.
    Cancel,
    /// Deletes jobs that are not running.
    Delete,
}

/// Applies an action to the selected jobs; returns how many changed.
pub async fn apply(state: &AppState, action: Action, selector: JobSelector) -> AppResult<u64> {
    let now = state.clock.now();
    Ok(match action {
        Action::Retry => state.store.jobs_retry(selector, now).await?,
        Action::Cancel => state.store.jobs_cancel(selector, now).await?,
        Action::Delete => state.store.jobs_delete(selector).await?,
    })
}

/// Applies the action to one job: 404 when it does not exist, 409 when its state does not
/// allow the action.
async fn one(state: &AppState, access: &Access, id: JobId, action: Action) -> AppResult<()> {
    let job = job_or_404(state, access, id).await?;
    let selector = access.narrow(JobSelector::Ids(vec![id]));
    if apply(state, action, selector).await? == 0 {
        let allowed = match action {
            Action::Retry => "only failed, cancelled or pending jobs can be retried",
            Action::Cancel => "only pending or running jobs can be cancelled",
            Action::Delete => "a running job cannot be deleted; cancel it first",
        };
        return Err(AppError::Conflict(format!(
            "job {id} is {}: {allowed}",
            job.state.as_str()
        )));
    }
    Ok(())
}

async fn retry_one(
    State(state): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<JobId>,
) -> AppResult<ApiJson<JobView>> {
    one_then_view(&state, &access, id, Action::Retry).await
}

async fn cancel_one(
    State(state): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<JobId>,
) -> AppResult<ApiJson<JobView>> {
    one_then_view(&state, &access, id, Action::Cancel).await
}

/// Applies the action to one job and answers with the job as it is now.
async fn one_then_view(
    state: &AppState,
    access: &Access,
    id: JobId,
    action: Action,
) -> AppResult<ApiJson<JobView>> {
    one(state, access, id, action).await?;
    let job = job_or_404(state, access, id).await?;
    Ok(ApiJson(JobView::of(&job, state.clock.now())))
}

async fn delete_one(
    State(state): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<JobId>,
) -> AppResult<StatusCode> {
    one(&state, &access, id, Action::Delete).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /jobs/bulk`: exactly one of `ids` and `filter` (null stands for absent); a filter
/// must restrict something: a state, a queue, a kind, an account, a run or a search.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    {"required": ["ids"], "properties": {"ids": {"type": "array"}}},
    {"required": ["filter"], "properties": {"filter": {"type": "object"}}},
]))]
pub struct BulkRequest {
    pub action: Action,
    #[schemars(length(min = 1, max = MAX_BULK_IDS))]
    pub ids: Option<Vec<JobId>>,
    #[serde(default)]
    #[schemars(schema_with = "schema::bulk_filter")]
    pub filter: Option<JobFilter>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BulkResult {
    pub action: Action,
    /// How many jobs changed.
    pub affected: u64,
}

/// Validates a bulk request into a selector (shared with the dashboard's bulk forms).
pub fn selector_of(ids: Option<Vec<JobId>>, filter: Option<JobFilter>) -> AppResult<JobSelector> {
    match (ids, filter) {
        (Some(ids), None) => {
            if ids.is_empty() || ids.len() > MAX_BULK_IDS {
                return Err(AppError::invalid(format!(
                    "ids must name 1 to {MAX_BULK_IDS} jobs"
                )));
            }
            Ok(JobSelector::Ids(ids))
        }
        (None, Some(filter)) => {
            let query = filter.to_query(check_limit(None)?, 0)?;
            let unfiltered = query.states.is_empty()
                && query.queue.is_none()
                && query.kind.is_none()
                && query.account_id.is_none()
                && query.run_id.is_none()
                && query.search.is_none();
            if unfiltered {
                return Err(AppError::invalid(
                    "a bulk filter must restrict something (state, queue, kind, account, run \
                     or search)",
                ));
            }
            Ok(JobSelector::Filter(query))
        }
        _ => Err(AppError::invalid("give exactly one of `ids` and `filter`")),
    }
}

/// A key of one workspace acts on its accounts' jobs only, whatever the ids or filter.
async fn bulk(
    State(state): State<AppState>,
    access: Access,
    ApiJson(body): ApiJson<BulkRequest>,
) -> AppResult<ApiJson<BulkResult>> {
    let selector = access.narrow(selector_of(body.ids, body.filter)?);
    let affected = apply(&state, body.action, selector).await?;
    tracing::info!(action = ?body.action, affected, "bulk job action");
    Ok(ApiJson(BulkResult {
        action: body.action,
        affected,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_parse_as_a_list() {
        assert_eq!(parse_states(None).unwrap(), vec![]);
        assert_eq!(
            parse_states(Some("failed, cancelled,failed")).unwrap(),
            vec![JobState::Failed, JobState::Cancelled]
        );
        assert!(matches!(
            parse_states(Some("dead")),
            Err(AppError::Invalid(_))
        ));
    }

    #[test]
    fn timings_describe_the_latest_attempt_only() {
        use chrono::Duration;
        let t0 = Utc::now() - Duration::hours(1);
        let job = Job {
            id: JobId::new(1),
            queue: "q".into(),
            kind: "k".into(),
            args: serde_json::json!({}),
            account_id: None,
            unique_key: None,
            run_id: None,
            state: JobState::Completed,
            attempt: 1,
            max_attempts: 3,
            priority: 0,
            run_at: t0,
            created_at: t0,
            attempted_at: Some(t0 + Duration::seconds(2)),
            finished_at: Some(t0 + Duration::seconds(5)),
            locked_by: None,
            lease_expires_at: None,
            errors: vec![],
            progress: None,
            result: None,
        };
        let now = t0 + Duration::minutes(10);
        let t = JobView::of(&job, now).timings;
        assert_eq!(
            (t.wait_ms, t.run_ms, t.total_ms),
            (Some(2000), Some(3000), 5000)
        );
        // Retried for later: the old attempt's times no longer apply.
        let retried = Job {
            state: JobState::Pending,
            run_at: now + Duration::minutes(1),
            finished_at: None,
            ..job.clone()
        };
        let t = JobView::of(&retried, now).timings;
        assert_eq!((t.wait_ms, t.run_ms), (None, None));
        assert!(JobView::of(&retried, now).scheduled);
        // Due and waiting: the wait so far.
        let due = Job {
            run_at: now - Duration::seconds(30),
            ..retried.clone()
        };
        assert_eq!(JobView::of(&due, now).timings.wait_ms, Some(30_000));
        // Cancelled while pending: no run.
        let cancelled = Job {
            state: JobState::Cancelled,
            attempted_at: None,
            ..job.clone()
        };
        let t = JobView::of(&cancelled, now).timings;
        assert_eq!((t.wait_ms, t.run_ms), (None, None));
        // Running: the run so far.
        let running = Job {
            state: JobState::Running,
            finished_at: None,
            ..job
        };
        assert_eq!(JobView::of(&running, now).timings.run_ms, Some(598_000));
    }

    #[test]
    fn bulk_selection_needs_exactly_one_restriction() {
        assert!(selector_of(None, None).is_err());
        assert!(selector_of(Some(vec![]), None).is_err());
        assert!(selector_of(Some(vec![JobId::new(1)]), Some(JobFilter::default())).is_err());
        assert!(selector_of(None, Some(JobFilter::default())).is_err());
        let filter = JobFilter {
            state: Some("failed".into()),
            ..Default::default()
        };
        assert!(matches!(
            selector_of(None, Some(filter)),
            Ok(JobSelector::Filter(JobQuery { ref states, .. })) if states == &[JobState::Failed]
        ));
    }
}
