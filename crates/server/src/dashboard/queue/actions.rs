//! Retry, cancel and delete jobs: in bulk (by selection or by the current filter) and one
//! job at a time from its detail page.

use axum::body::Bytes;
use axum::extract::{Path, State};
use store::{JobId, JobSelector, JobState};

use crate::access::Access;
use crate::auth::{RequireSession, verify_csrf};
use crate::dashboard::form::FormData;
use crate::dashboard::layout::{PageResult, see_other};
use crate::error::AppError;
use crate::state::AppState;

use super::{Filter, MAX_SELECTED};

/// What a form asks to do with jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Retry,
    Cancel,
    Delete,
}

impl Action {
    fn parse(value: Option<&str>) -> Result<Action, AppError> {
        match value {
            Some("retry") => Ok(Action::Retry),
            Some("cancel") => Ok(Action::Cancel),
            Some("delete") => Ok(Action::Delete),
            other => Err(AppError::bad_request(format!(
                "action must be retry, cancel or delete, got {:?}",
                other.unwrap_or("")
            ))),
        }
    }

    fn done_code(self) -> &'static str {
        match self {
            Action::Retry => "retried",
            Action::Cancel => "cancelled",
            Action::Delete => "deleted",
        }
    }

    async fn apply(self, state: &AppState, selector: JobSelector) -> Result<u64, AppError> {
        let now = state.clock.now();
        Ok(match self {
            Action::Retry => state.store.jobs_retry(selector, now).await?,
            Action::Cancel => state.store.jobs_cancel(selector, now).await?,
            Action::Delete => state.store.jobs_delete(selector).await?,
        })
    }
}

/// `POST /queue/bulk`: retry, cancel or delete the selected jobs (`scope=selected`, `ids`)
/// or every job the filter matches (`scope=filter`, `f_*` fields).
pub(crate) async fn bulk(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    access: Access,
    body: Bytes,
) -> PageResult {
    let form = FormData::parse(&body)?;
    verify_csrf(&session, form.get("csrf"))?;
    let action = Action::parse(form.get("action"))?;
    let filter = Filter::from_form(&form, "f_", false)?;
    let back = filter.to_query_string();
    let selector = match form.get("scope") {
        Some("filter") => JobSelector::Filter(filter.query(&access, 0, 0)),
        Some("selected") | None => {
            let ids = form
                .all("ids")
                .map(|v| {
                    v.trim()
                        .parse::<JobId>()
                        .map_err(|_| AppError::bad_request(format!("job id {v:?} is not a number")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if ids.is_empty() {
                return Ok(see_other(&format!("/queue?{back}&err=no_selection")));
            }
            if ids.len() > MAX_SELECTED {
                return Err(AppError::invalid(format!(
                    "select at most {MAX_SELECTED} jobs at once"
                ))
                .into());
            }
            JobSelector::Ids(ids)
        }
        Some(other) => {
            return Err(AppError::bad_request(format!(
                "scope must be selected or filter, got {other:?}"
            ))
            .into());
        }
    };
    // A key of one workspace acts on its accounts' jobs only.
    let n = action.apply(&state, access.narrow(selector)).await?;
    if n == 0 {
        return Ok(see_other(&format!("/queue?{back}&err=nothing")));
    }
    Ok(see_other(&format!(
        "/queue?{back}&ok={}&n={n}",
        action.done_code()
    )))
}

/// `POST /queue/jobs/{id}/{retry|cancel|delete}`.
pub(crate) async fn job_action(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    access: Access,
    Path((id, action)): Path<(JobId, String)>,
    body: Bytes,
) -> PageResult {
    let form = FormData::parse(&body)?;
    verify_csrf(&session, form.get("csrf"))?;
    let action = Action::parse(Some(action.as_str()))?;
    let job = crate::api::jobs::job_or_404(&state, &access, id).await?;
    let n = action
        .apply(&state, access.narrow(JobSelector::Ids(vec![id])))
        .await?;
    if n == 0 {
        let code = match (action, job.state) {
            (Action::Delete, JobState::Running) => "running",
            (Action::Retry, _) => "not_retryable",
            (Action::Cancel, _) => "not_cancellable",
            (Action::Delete, _) => "nothing",
        };
        return Ok(see_other(&format!("/queue/jobs/{id}?err={code}")));
    }
    if action == Action::Delete {
        return Ok(see_other("/queue?ok=deleted&n=1"));
    }
    Ok(see_other(&format!(
        "/queue/jobs/{id}?ok={}&n=1",
        action.done_code()
    )))
}
