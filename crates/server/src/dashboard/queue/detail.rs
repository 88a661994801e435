//! The job detail page: arguments, attempts, errors, progress, timings and actions.

use axum::extract::{Path, RawQuery, State};
use serde_json::Value;
use store::{JobId, JobState};

use crate::access::Access;
use crate::auth::RequireSession;
use crate::charts::escape;
use crate::dashboard::layout::{
    Flash, Nav, Page, PageResult, badge, duration_ms, post_button, render, when,
};
use crate::state::AppState;

use super::panels::state_badge;

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// `GET /queue/jobs/{id}`: arguments, attempts, errors, progress, timings and actions.
pub(crate) async fn job_page(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    access: Access,
    Path(id): Path<JobId>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let now = state.clock.now();
    let job = crate::api::jobs::job_or_404(&state, &access, id).await?;
    let account = match job.account_id {
        Some(a) => state.store.account_get(a).await?,
        None => None,
    };
    let csrf = &session.csrf_token;
    let mut actions = String::new();
    if matches!(
        job.state,
        JobState::Failed | JobState::Cancelled | JobState::Pending
    ) {
        actions.push_str(&post_button(
            &format!("/queue/jobs/{id}/retry"),
            "Retry",
            csrf,
            "primary",
            None,
        ));
    }
    if matches!(job.state, JobState::Pending | JobState::Running) {
        actions.push_str(&post_button(
            &format!("/queue/jobs/{id}/cancel"),
            "Cancel",
            csrf,
            "",
            None,
        ));
    }
    if job.state != JobState::Running {
        actions.push_str(&post_button(
            &format!("/queue/jobs/{id}/delete"),
            "Delete",
            csrf,
            "danger",
            Some("Delete this job? This cannot be undone."),
        ));
    }
    let mut body = format!(
        "<div class=\"head\"><div><h1>Job #{id} <code>{}</code> {}</h1><p class=\"sub\">queue {} · priority {}{}</p></div>\
         <div class=\"row\">{actions}<a class=\"button\" href=\"/queue?state=\">Back to the queue</a></div></div>",
        escape(&job.kind),
        state_badge(&job, now),
        escape(&job.queue),
        job.priority,
        job.unique_key
            .as_deref()
            .map(|k| format!(" · unique key <code>{}</code>", escape(k)))
            .unwrap_or_default(),
    );

    // Timings.
    // Wait and run belong to the last attempt; a retry moves `run_at` past it and a cancel
    // sets `finished_at` without a run, so they are shown only when they describe one attempt.
    let due = job.run_at.max(job.created_at);
    let wait = job
        .attempted_at
        .filter(|a| *a >= due)
        .map(|a| duration_ms((a - due).num_milliseconds()));
    let run = match (job.state, job.attempted_at, job.finished_at) {
        (JobState::Completed | JobState::Failed, Some(a), Some(f)) if f >= a && a >= due => {
            Some(duration_ms((f - a).num_milliseconds()))
        }
        (JobState::Running, Some(a), _) => Some(format!(
            "{} so far",
            duration_ms((now - a).num_milliseconds().max(0))
        )),
        _ => None,
    };
    let account_row = match (&job.account_id, &account) {
        (Some(id), Some(a)) => format!(
            "<tr><th>account</th><td><a href=\"/accounts/{id}\">@{}</a></td></tr>",
            escape(&a.username)
        ),
        (Some(id), None) => format!(
            "<tr><th>account</th><td>#{id} <span class=\"sub\">(no longer exists)</span></td></tr>"
        ),
        _ => String::new(),
    };
    let run_row = job
        .run_id
        .map(|r| format!("<tr><th>sync run</th><td><a href=\"/queue?run={r}&amp;state=\">#{r}</a> (all jobs of the run)</td></tr>"))
        .unwrap_or_default();
    body.push_str(&format!(
        "<div class=\"grid2\"><div class=\"panel\"><h2>Timings</h2><table>\
         <tr><th>created</th><td>{}</td></tr><tr><th>due</th><td>{}</td></tr><tr><th>last attempt started</th><td>{}</td></tr>\
         <tr><th>finished</th><td>{}</td></tr><tr><th>wait</th><td>{}</td></tr><tr><th>run</th><td>{}</td></tr>\
         <tr><th>attempt</th><td>{} of {}</td></tr><tr><th>worker</th><td>{}</td></tr><tr><th>lease expires</th><td>{}</td></tr>\
         {account_row}{run_row}</table></div>",
        when(Some(job.created_at), now),
        when(Some(job.run_at), now),
        when(job.attempted_at, now),
        when(job.finished_at, now),
        wait.unwrap_or_else(|| "–".to_owned()),
        run.unwrap_or_else(|| "–".to_owned()),
        job.attempt,
        job.max_attempts,
        job.locked_by.as_deref().map_or_else(|| "–".to_owned(), |w| format!("<code>{}</code>", escape(w))),
        when(job.lease_expires_at, now),
    ));
    let progress = job
        .progress
        .as_ref()
        .map(|p| {
            format!(
                "<h3>Progress</h3><pre class=\"json\">{}</pre>",
                escape(&pretty(p))
            )
        })
        .unwrap_or_default();
    let result = job
        .result
        .as_ref()
        .map(|p| {
            format!(
                "<h3>Result</h3><pre class=\"json\">{}</pre>",
                escape(&pretty(p))
            )
        })
        .unwrap_or_default();
    body.push_str(&format!(
        "<div class=\"panel\"><h2>Arguments</h2><pre class=\"json\">{}</pre>{progress}{result}</div></div>",
        escape(&pretty(&job.args))
    ));

    // Errors of every attempt.
    body.push_str("<div class=\"panel\"><h2>Attempts and errors</h2>");
    if job.errors.is_empty() {
        body.push_str("<p class=\"empty\">No attempt has failed.</p>");
    } else {
        body.push_str("<div class=\"table-wrap\"><table><thead><tr><th class=\"num\">attempt</th><th>at</th><th>worker</th><th>error</th></tr></thead><tbody>");
        for e in job.errors.iter().rev() {
            body.push_str(&format!(
                "<tr><td class=\"num\">{}</td><td>{}</td><td><code>{}</code></td><td>{}<pre class=\"error-text\">{}</pre></td></tr>",
                e.attempt,
                when(Some(e.at), now),
                escape(e.worker_id.as_deref().unwrap_or("–")),
                if e.unreadable {
                    badge("failed", "unreadable entry")
                } else {
                    String::new()
                },
                escape(&e.error)
            ));
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str("</div>");

    Ok(render(Page {
        title: format!("Job #{id}"),
        nav: Some(Nav::Queue),
        csrf: Some(csrf),
        flash: Flash::from_query(raw.as_deref()),
        live_src: None,
        body,
    }))
}
