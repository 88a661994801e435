//! `GET /schedules`: every recurring schedule with its cron, last and next run and the job
//! it last inserted; pause, resume and run now (`POST /schedules/{name}/{action}`).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};

use super::form::FormData;
use super::layout::{Flash, Nav, Page, PageResult, badge, post_button, render, see_other, when};
use crate::auth::{RequireSession, verify_csrf};
use crate::charts::escape;
use crate::error::AppError;
use crate::state::AppState;

/// `GET /schedules`.
pub(crate) async fn page(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let now = state.clock.now();
    let schedules = state.store.schedule_list().await?;
    let csrf = &session.csrf_token;
    let mut body = String::from(
        "<div class=\"head\"><div><h1>Schedules</h1><p class=\"sub\">Each tick inserts one job, exactly once across all workers. \
         Resuming skips the ticks missed while paused; run now inserts the job immediately and leaves the next tick alone.</p></div></div>\
         <div class=\"panel\">",
    );
    if schedules.is_empty() {
        body.push_str("<p class=\"empty\">No schedules installed yet (the engine installs them when a worker starts).</p>");
    } else {
        body.push_str(
            "<div class=\"table-wrap\"><table><thead><tr><th>schedule</th><th>cron (UTC, with seconds)</th><th>job</th><th>status</th>\
             <th>last run</th><th>next run</th><th>actions</th></tr></thead><tbody>",
        );
        for s in &schedules {
            let name = &s.def.name;
            let path = |action: &str| format!("/schedules/{}/{action}", super::form::encode(name));
            let status = if s.paused {
                badge("paused", "paused")
            } else {
                badge("ok", "active")
            };
            let last_job = s
                .last_job_id
                .map(|id| format!(" <a href=\"/queue/jobs/{id}\">job #{id}</a>"))
                .unwrap_or_default();
            let toggle = if s.paused {
                post_button(&path("resume"), "Resume", csrf, "", None)
            } else {
                post_button(&path("pause"), "Pause", csrf, "", None)
            };
            let next = if s.paused {
                "<span class=\"sub\">paused</span>".to_owned()
            } else {
                when(Some(s.next_run_at), now)
            };
            body.push_str(&format!(
                "<tr><td><strong>{}</strong></td><td><code>{}</code></td><td><code>{}</code> <span class=\"sub\">on {}</span></td>\
                 <td>{status}</td><td>{}{last_job}</td><td>{next}</td><td><div class=\"row\">{toggle}{}</div></td></tr>",
                escape(name),
                escape(&s.def.cron),
                escape(&s.def.kind),
                escape(&s.def.queue),
                when(s.last_run_at, now),
                post_button(&path("run"), "Run now", csrf, "primary", None),
            ));
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str("</div>");
    report_deliveries(&state, now, &mut body).await?;
    Ok(render(Page {
        title: "Schedules".to_owned(),
        nav: Some(Nav::Schedules),
        csrf: Some(csrf),
        flash: Flash::from_query(raw.as_deref()),
        live_src: None,
        body,
    }))
}

/// The scheduled reports (`igsync reports`) and each period's delivery: attempts, the last
/// error, when it was delivered.
async fn report_deliveries(
    state: &AppState,
    now: chrono::DateTime<chrono::Utc>,
    body: &mut String,
) -> Result<(), AppError> {
    let schedules = state.store.report_schedule_list().await?;
    let deliveries = state.store.report_delivery_list(None, 200).await?;
    body.push_str(
        "<div class=\"panel\" id=\"reports\"><h2>Scheduled reports</h2>\
         <p class=\"sub\">Created with <code>igsync reports schedule</code>; each period is delivered once, failed attempts retry.</p>",
    );
    if schedules.is_empty() {
        body.push_str("<p class=\"empty\">No scheduled reports.</p></div>");
        return Ok(());
    }
    body.push_str(
        "<div class=\"table-wrap\"><table><thead><tr><th>report</th><th>account</th><th>period</th>\
         <th>status</th><th>attempts</th><th>last attempt</th><th>last error</th></tr></thead><tbody>",
    );
    for s in &schedules {
        let target = sync::ReportTarget::parse(&s.schedule.target)
            .map_or_else(|_| s.schedule.target.clone(), |t| t.shown());
        let label = format!(
            "#{} {} {} to {}",
            s.id, s.schedule.every, s.schedule.format, target
        );
        let rows: Vec<_> = deliveries
            .iter()
            .filter(|d| d.schedule_id == s.id)
            .collect();
        if rows.is_empty() {
            body.push_str(&format!(
                "<tr><td>{}</td><td colspan=\"6\" class=\"sub\">nothing delivered yet</td></tr>",
                escape(&label)
            ));
        }
        for d in rows {
            let status = if d.delivered_at.is_some() {
                badge("ok", "delivered")
            } else {
                badge("failed", "failing")
            };
            body.push_str(&format!(
                "<tr><td>{}</td><td><a href=\"/accounts/{a}\">{a}</a></td><td>{} to {}</td><td>{status}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&label),
                d.period_start,
                d.period_end,
                d.attempts,
                when(Some(d.last_attempt_at), now),
                escape(d.last_error.as_deref().unwrap_or("")),
                a = d.account_id,
            ));
        }
    }
    body.push_str("</tbody></table></div></div>");
    Ok(())
}

/// `POST /schedules/{name}/{pause|resume|run}`.
pub(crate) async fn action(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    Path((name, action)): Path<(String, String)>,
    body: Bytes,
) -> PageResult {
    let form = FormData::parse(&body)?;
    verify_csrf(&session, form.get("csrf"))?;
    if state.store.schedule_get(&name).await?.is_none() {
        return Err(AppError::not_found(format!("schedule {name:?} not found")).into());
    }
    let scheduler = crate::api::schedules::scheduler(&state);
    let map = |e: sync::SyncError| match e {
        sync::SyncError::UnknownSchedule { name: n, .. } => {
            AppError::not_found(format!("schedule {n:?} not found"))
        }
        other => AppError::internal(other.to_string()),
    };
    let code = match action.as_str() {
        "pause" => {
            scheduler.pause(&name).await.map_err(|e| map(e.into()))?;
            "paused"
        }
        "resume" => {
            scheduler.resume(&name).await.map_err(|e| map(e.into()))?;
            "resumed"
        }
        "run" => {
            scheduler.run_now(&name).await.map_err(|e| map(e.into()))?;
            "run"
        }
        other => {
            return Err(AppError::bad_request(format!(
                "action must be pause, resume or run, got {other:?}"
            ))
            .into());
        }
    };
    Ok(see_other(&format!("/schedules?ok={code}")))
}
