//! Schedules: every cron schedule with its last and next run, pause / resume / run now.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use store::{JobId, Schedule};

use crate::error::{ApiJson, ApiPath, AppError, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schedules", get(list))
        .route("/schedules/{name}", get(detail))
        .route("/schedules/{name}/pause", post(pause))
        .route("/schedules/{name}/resume", post(resume))
        .route("/schedules/{name}/run", post(run_now))
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "Schedule")]
pub struct ScheduleView {
    pub name: String,
    /// Six fields with seconds, UTC.
    pub cron: String,
    pub queue: String,
    pub kind: String,
    pub args: serde_json::Value,
    pub paused: bool,
    /// Null while paused.
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_job_id: Option<JobId>,
    /// The state of the last job it inserted, when that job is still kept.
    pub last_job_state: Option<&'static str>,
}

impl ScheduleView {
    pub fn of(s: &Schedule, last_job_state: Option<&'static str>) -> ScheduleView {
        ScheduleView {
            name: s.def.name.clone(),
            cron: s.def.cron.clone(),
            queue: s.def.queue.clone(),
            kind: s.def.kind.clone(),
            args: s.def.args.clone(),
            paused: s.paused,
            next_run_at: (!s.paused).then_some(s.next_run_at),
            last_run_at: s.last_run_at,
            last_job_id: s.last_job_id,
            last_job_state,
        }
    }
}

async fn view(state: &AppState, s: &Schedule) -> AppResult<ScheduleView> {
    let last_state = match s.last_job_id {
        Some(id) => state.store.job_get(id).await?.map(|j| j.state.as_str()),
        None => None,
    };
    Ok(ScheduleView::of(s, last_state))
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ScheduleList {
    pub schedules: Vec<ScheduleView>,
}

/// Every schedule with its last job's state.
pub async fn schedule_views(state: &AppState) -> AppResult<Vec<ScheduleView>> {
    let mut out = Vec::new();
    for s in state.store.schedule_list().await? {
        out.push(view(state, &s).await?);
    }
    Ok(out)
}

async fn list(State(state): State<AppState>) -> AppResult<ApiJson<ScheduleList>> {
    Ok(ApiJson(ScheduleList {
        schedules: schedule_views(&state).await?,
    }))
}

async fn get_or_404(state: &AppState, name: &str) -> AppResult<Schedule> {
    state
        .store
        .schedule_get(name)
        .await?
        .ok_or_else(|| AppError::not_found(format!("schedule `{name}` not found")))
}

async fn detail(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> AppResult<ApiJson<ScheduleView>> {
    let s = get_or_404(&state, &name).await?;
    Ok(ApiJson(view(&state, &s).await?))
}

/// The engine's scheduler (pause, resume and run-now follow its rules: resuming skips
/// missed ticks, run-now merges into a run-now still active); without an engine, one with
/// the engine's default attempts.
pub fn scheduler(state: &AppState) -> sync::Scheduler {
    match &state.engine {
        Some(engine) => engine.scheduler(),
        None => sync::Scheduler::new(
            state.store.clone(),
            state.clock.clone(),
            sync::SyncSettings::default().max_attempts,
        ),
    }
}

async fn pause(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> AppResult<ApiJson<ScheduleView>> {
    get_or_404(&state, &name).await?;
    scheduler(&state)
        .pause(&name)
        .await
        .map_err(sync::SyncError::from)?;
    let s = get_or_404(&state, &name).await?;
    Ok(ApiJson(view(&state, &s).await?))
}

async fn resume(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> AppResult<ApiJson<ScheduleView>> {
    get_or_404(&state, &name).await?;
    scheduler(&state)
        .resume(&name)
        .await
        .map_err(sync::SyncError::from)?;
    let s = get_or_404(&state, &name).await?;
    Ok(ApiJson(view(&state, &s).await?))
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RunNow {
    pub schedule: String,
    pub job_id: JobId,
    /// True when a run-now job of this schedule was still active and nothing new was queued.
    pub merged: bool,
}

async fn run_now(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> AppResult<(StatusCode, ApiJson<RunNow>)> {
    get_or_404(&state, &name).await?;
    let outcome = scheduler(&state)
        .run_now(&name)
        .await
        .map_err(sync::SyncError::from)?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(RunNow {
            schedule: name,
            job_id: outcome.id(),
            merged: matches!(outcome, store::InsertOutcome::Merged(_)),
        }),
    ))
}
