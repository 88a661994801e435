//! Sync history: runs (newest first, by account and status) and one run with its steps
//! (timing, API calls, rate-limit units, rows written, completeness, errors).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use store::{AccountId, RunId, RunQuery, RunStatus, SyncRun, SyncStep};

use crate::access::Access;
use crate::api::check_limit;
use crate::error::{ApiJson, ApiPath, ApiQuery, AppError, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/runs", get(list))
        .route("/runs/{id}", get(detail))
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "Run")]
pub struct RunView {
    pub id: RunId,
    pub account_id: AccountId,
    /// `full` or `light`.
    pub plan: String,
    /// What started it: `schedule:<name>`, `manual`, `api`…
    pub trigger: String,
    pub steps_planned: Vec<String>,
    /// `running | succeeded | failed | cancelled`.
    #[schemars(extend("enum" = ["running", "succeeded", "failed", "cancelled"]))]
    pub status: &'static str,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    pub api_calls: i64,
    pub rate_limit_units: i64,
    pub rows_written: i64,
}

impl RunView {
    pub fn of(r: &SyncRun) -> RunView {
        RunView {
            id: r.id,
            account_id: r.account_id,
            plan: r.plan.clone(),
            trigger: r.trigger.clone(),
            steps_planned: r.steps_planned.clone(),
            status: r.status.as_str(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            duration_ms: r.finished_at.map(|f| (f - r.started_at).num_milliseconds()),
            error: r.error.clone(),
            api_calls: r.api_calls,
            rate_limit_units: r.rate_limit_units,
            rows_written: r.rows_written,
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "RunStep")]
pub struct StepView {
    pub step: String,
    pub position: i32,
    /// `running | succeeded | failed | skipped`.
    #[schemars(extend("enum" = ["running", "succeeded", "failed", "skipped"]))]
    pub status: &'static str,
    pub attempts: i32,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub api_calls: i64,
    pub rate_limit_units: i64,
    pub rows_written: i64,
    /// What the API said exists vs. what is stored after the step.
    pub expected: Option<i64>,
    pub stored: Option<i64>,
    pub complete: Option<bool>,
    pub error: Option<String>,
    pub detail: serde_json::Value,
}

impl StepView {
    pub fn of(s: &SyncStep) -> StepView {
        StepView {
            step: s.step.clone(),
            position: s.position,
            status: s.status.as_str(),
            attempts: s.attempts,
            started_at: s.started_at,
            finished_at: s.finished_at,
            duration_ms: s.finished_at.map(|f| (f - s.started_at).num_milliseconds()),
            api_calls: s.api_calls,
            rate_limit_units: s.rate_limit_units,
            rows_written: s.rows_written,
            expected: s.expected,
            stored: s.stored,
            complete: s.complete,
            error: s.error.clone(),
            detail: s.detail.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub account: Option<AccountId>,
    /// `running | succeeded | failed | cancelled`.
    pub status: Option<String>,
    pub limit: Option<u32>,
    /// Runs older than this run id (paging backwards).
    pub before: Option<RunId>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RunList {
    pub runs: Vec<RunView>,
    /// Pass as `before` for the next page; null on the last page.
    pub next_before: Option<RunId>,
}

/// Runs, newest first; a key of one workspace gets its accounts' runs only.
async fn list(
    State(state): State<AppState>,
    access: Access,
    ApiQuery(params): ApiQuery<ListParams>,
) -> AppResult<ApiJson<RunList>> {
    let status = match params.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(RunStatus::parse(s).ok_or_else(|| {
            AppError::invalid(format!(
                "unknown run status {s:?} (expected running, succeeded, failed or cancelled)"
            ))
        })?),
    };
    let limit = check_limit(params.limit)?;
    if let Some(id) = params.account {
        // An account outside the key's workspace is answered like one that does not exist.
        if !access.sees(id) {
            return Err(AppError::not_found(format!("account {id} not found")));
        }
        crate::api::account_or_404(&state, id).await?;
    }
    let runs = state
        .store
        .sync_runs_list(RunQuery {
            account_id: params.account,
            accounts: access.account_set(),
            status,
            limit,
            before_id: params.before,
        })
        .await?;
    let next_before = (runs.len() as u32 == limit)
        .then(|| runs.last().map(|r| r.id))
        .flatten();
    Ok(ApiJson(RunList {
        runs: runs.iter().map(RunView::of).collect(),
        next_before,
    }))
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: RunView,
    pub steps: Vec<StepView>,
}

/// One run; a run of another workspace's account is answered like one that does not exist.
async fn detail(
    State(state): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<RunId>,
) -> AppResult<ApiJson<RunDetail>> {
    let (run, steps) = state
        .store
        .sync_run_get(id)
        .await?
        .filter(|(run, _)| access.sees(run.account_id))
        .ok_or_else(|| AppError::not_found(format!("run {id} not found")))?;
    Ok(ApiJson(RunDetail {
        run: RunView::of(&run),
        steps: steps.iter().map(StepView::of).collect(),
    }))
}
