//! `GET /accounts/{id}`: one account's analytics over a period (follower growth, reach and
//! views over time, engagement rates with their definitions, trending posts with why, best
//! posting times, top posts, demographics — the same sections as the HTML report), its sync
//! status and history, and a "sync now" button (`POST /accounts/{id}/sync`).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use chrono::{DateTime, Utc};
use store::{Account, AccountId, AlertQuery, RunQuery, RunStatus, SyncStatus};

use super::form::{FormData, encode};
use super::layout::{
    Flash, Nav, Page, PageResult, badge, clip, duration_ms, post_button, render, see_other, when,
};
use super::overview::{next_sync, retry_note, status_badge, token_expiry};
use crate::api::accounts::NextSyncs;
use crate::api::analytics as analytics_api;
use crate::auth::{RequireSession, verify_csrf};
use crate::charts::{escape, format_count};
use crate::error::AppError;
use crate::report::html;
use crate::state::AppState;

/// The reported period from `?days=N` or `?from=YYYY-MM-DD&to=YYYY-MM-DD`, read exactly
/// as the API's report endpoint reads them (default: the last 30 days in the account's time
/// zone), so the download links give the same report.
fn period_of(
    query: &FormData,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Result<analytics::Period, AppError> {
    let days = match query.get_i64("days")? {
        None => None,
        Some(d) => Some(u32::try_from(d).map_err(|_| {
            AppError::invalid(format!(
                "days must be between 1 and {}, got {d}",
                analytics_api::MAX_DAYS
            ))
        })?),
    };
    let params = analytics_api::ReportParams {
        from: query.get("from").map(str::to_owned),
        to: query.get("to").map(str::to_owned),
        days: if query.get("from").is_some() {
            None
        } else {
            days
        },
        format: None,
    };
    analytics_api::period_of(&params, now, tz)
}

async fn account_or_404(state: &AppState, id: AccountId) -> Result<Account, AppError> {
    state
        .store
        .account_get(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("account {id} not found")))
}

/// `GET /accounts/{id}`.
pub(crate) async fn page(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    access: crate::access::Access,
    Path(id): Path<AccountId>,
    RawQuery(query): RawQuery,
) -> PageResult {
    let now = state.clock.now();
    let account = account_or_404(&state, id).await?;
    let form = FormData::parse_str(query.as_deref().unwrap_or_default())?;
    let period = period_of(&form, now, account.time_zone()?)?;
    let report = sync::build_report(&*state.store, &account, period, now).await?;
    let next_syncs = NextSyncs::load(&state).await?;
    let next = next_syncs.of(&account);
    let retry = next_syncs
        .retry_of(&account)
        .map(|r| retry_note(r, now))
        .unwrap_or_default();
    let runs = state
        .store
        .sync_runs_list(RunQuery {
            account_id: Some(id),
            limit: 15,
            ..Default::default()
        })
        .await?;
    let alerts = state
        .store
        .alert_list(AlertQuery {
            account_id: Some(id),
            unacknowledged_only: true,
            limit: 20,
            ..Default::default()
        })
        .await?;
    let usage = state
        .store
        .api_usage_latest()
        .await?
        .into_iter()
        .find(|u| u.account_id == Some(id));

    let csrf = &session.csrf_token;
    let mut body = String::new();

    // Header: who, status, actions.
    let name = account
        .name
        .as_deref()
        .map(|n| format!(" <span class=\"sub\">{}</span>", escape(n)))
        .unwrap_or_default();
    let sync_button = match account.status {
        SyncStatus::Paused => "<span class=\"sub\">Paused: resume it to sync.</span>".to_owned(),
        SyncStatus::NeedsReauth => format!(
            "<span class=\"sub\">Meta rejected the token: re-authorize the account.</span> {}",
            super::connect::reconnect_link(&account)
        ),
        _ => post_button(
            &format!("/accounts/{id}/sync"),
            "Sync now",
            csrf,
            "primary",
            None,
        ),
    };
    body.push_str(&format!(
        "<div class=\"head\"><div><h1>@{}{name}</h1><p class=\"sub\">Account {id} · {} · time zone {}</p></div>\
         <div class=\"row\">{sync_button}<a class=\"button\" href=\"/queue?account={id}&amp;state=\">Jobs</a></div></div>",
        escape(&account.username),
        escape(account.account_type.as_str()),
        escape(&account.timezone),
    ));

    let error = account
        .last_sync_error
        .as_deref()
        .map(|e| format!("<p class=\"note\">Last error: {}</p>", escape(e)))
        .unwrap_or_default();
    let usage = usage
        .map(|u| {
            format!(
                "<div><span class=\"label\">API usage</span>{} of its budget <span class=\"sub\">({})</span></div>",
                escape(&crate::report::format_value(u.usage_pct, analytics::Unit::Percent)),
                when(Some(u.observed_at), now)
            )
        })
        .unwrap_or_default();
    let next = match account.status {
        SyncStatus::Paused => "<span class=\"sub\">paused</span>".to_owned(),
        _ => next_sync(next, now),
    };
    // Period selector and report downloads.
    let mut periods = String::new();
    for days in [7, 30, 90, 365] {
        let active = period.n_days() == days && form.get("from").is_none();
        let class = if active { "button primary" } else { "button" };
        periods.push_str(&format!(
            "<a class=\"{class}\" href=\"/accounts/{id}?days={days}\">{days} days</a>"
        ));
    }
    let range = format!("from={}&amp;to={}", period.start(), period.end());
    body.push_str(&format!(
        "<div class=\"panel\"><div class=\"facts\"><div><span class=\"label\">status</span>{}</div>\
         <div><span class=\"label\">last sync</span>{}</div><div><span class=\"label\">next sync</span>{next}</div>\
         <div><span class=\"label\">token expiry</span>{}</div>{usage}\
         <div><span class=\"label\">login</span>{}</div></div>\
         <p class=\"sub\" data-capabilities>{}</p>{retry}{error}\
         <div class=\"row\">{periods}<form class=\"row inline\" method=\"get\" action=\"/accounts/{id}\">\
         <input type=\"text\" name=\"from\" value=\"{}\" size=\"10\" aria-label=\"from\"> to \
         <input type=\"text\" name=\"to\" value=\"{}\" size=\"10\" aria-label=\"to\"><button type=\"submit\">Show</button></form>\
         <span class=\"sub\">Download: <a href=\"/api/v1/accounts/{id}/report?{range}&amp;format=html\">HTML</a> · \
         <a href=\"/api/v1/accounts/{id}/report?{range}&amp;format=json\">JSON</a> · \
         <a href=\"/api/v1/accounts/{id}/report?{range}&amp;format=csv\">CSV</a></span></div></div>",
        status_badge(account.status),
        when(account.last_synced_at, now),
        token_expiry(&account, now),
        escape(match account.login {
            store::LoginKind::Facebook => "Facebook Login",
            store::LoginKind::Instagram => "Instagram Login",
        }),
        escape(super::connect::capabilities(account.login)),
        period.start(),
        period.end(),
    ));

    if !alerts.is_empty() {
        body.push_str("<div class=\"panel\"><h2>Open alerts</h2><ul class=\"why\">");
        for a in &alerts {
            body.push_str(&format!(
                "<li>{} <strong>{}</strong> {} <span class=\"sub\">{}</span></li>",
                badge(a.alert.severity.as_str(), a.alert.severity.as_str()),
                escape(&a.alert.title),
                escape(&a.alert.message),
                when(Some(a.alert.created_at), now)
            ));
        }
        body.push_str("</ul><p><a href=\"/alerts\">All alerts</a></p></div>");
    }

    let previous = report
        .previous_period
        .map(|p| format!(", compared with {} to {}", p.start(), p.end()))
        .unwrap_or_default();
    body.push_str(&format!(
        "<div class=\"report-embed\"><h2>Analytics for {} to {} ({} days, {}){previous}</h2>{}</div>",
        period.start(),
        period.end(),
        period.n_days(),
        escape(report.time_zone.name()),
        html::sections(&report, "acct")
    ));

    body.push_str(&super::provenance::panel(&state, &account, period.end(), now).await?);
    body.push_str(&super::webhooks::account_panels(&state, &account, now).await?);

    // Sync history.
    body.push_str("<div class=\"panel\"><h2>Sync history</h2>");
    if runs.is_empty() {
        body.push_str("<p class=\"empty\">This account has not been synced yet.</p>");
    } else {
        body.push_str(
            "<div class=\"table-wrap\"><table><thead><tr><th>run</th><th>started</th><th>trigger</th><th>plan</th><th>status</th>\
             <th class=\"num\">duration</th><th class=\"num\">API calls</th><th class=\"num\">rows written</th><th>error</th></tr></thead><tbody>",
        );
        for r in &runs {
            let duration = r
                .finished_at
                .map(|f| duration_ms((f - r.started_at).num_milliseconds()))
                .unwrap_or_else(|| "running".to_owned());
            let status_class = match r.status {
                RunStatus::Running => "running",
                RunStatus::Succeeded => "succeeded",
                RunStatus::Failed => "failed",
                RunStatus::Cancelled => "cancelled",
            };
            body.push_str(&format!(
                "<tr><td><a href=\"/queue?run={}&amp;state=\">#{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td class=\"num\">{duration}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"note\">{}</td></tr>",
                r.id,
                r.id,
                when(Some(r.started_at), now),
                escape(&r.trigger),
                escape(&r.plan),
                badge(status_class, r.status.as_str()),
                format_count(r.api_calls as f64),
                format_count(r.rows_written as f64),
                escape(&clip(r.error.as_deref().unwrap_or(""), 90)),
            ));
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str("</div>");
    body.push_str(&super::share::section(&state, &access, id, csrf, now).await?);

    Ok(render(Page {
        title: format!("@{}", account.username),
        nav: Some(Nav::Overview),
        csrf: Some(csrf),
        flash: Flash::from_query(query.as_deref()),
        live_src: None,
        body,
    }))
}

/// `POST /accounts/{id}/sync`: queues a full sync of the account now.
pub(crate) async fn sync_now(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    Path(id): Path<AccountId>,
    body: Bytes,
) -> PageResult {
    let form = FormData::parse(&body)?;
    verify_csrf(&session, form.get("csrf"))?;
    account_or_404(&state, id).await?;
    let Some(engine) = state.engine.as_ref() else {
        return Err(AppError::NotConfigured(
            "this server runs without a sync engine (no Graph API configured), so it cannot sync"
                .to_owned(),
        )
        .into());
    };
    let enqueued = engine
        .enqueue_sync(id, sync::Plan::Full, "manual")
        .await
        .map_err(|e| match e {
            sync::SyncError::Invalid(message) => AppError::Conflict(message),
            sync::SyncError::UnknownAccount(id) => {
                AppError::not_found(format!("account {id} not found"))
            }
            other => AppError::internal(other.to_string()),
        })?;
    let code = match enqueued.outcome {
        store::InsertOutcome::Inserted(_) => "sync_queued",
        store::InsertOutcome::Merged(_) => "sync_merged",
    };
    Ok(see_other(&format!("/accounts/{id}?ok={}", encode(code))))
}
