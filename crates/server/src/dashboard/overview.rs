//! `GET /`: every account with its sync status, last and next sync, token expiry, followers
//! and open alerts; live job counts; what is stored.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use chrono::{DateTime, Duration, Utc};
use store::{Account, AccountId, AlertQuery, JobState, SyncStatus};

use super::layout::{Flash, Nav, Page, PageResult, badge, clip, render, when};
use crate::api::accounts::NextSyncs;
use crate::auth::RequireSession;
use crate::charts::{escape, format_count};
use crate::state::AppState;

/// Tokens expiring within this many days are flagged.
pub(crate) const TOKEN_WARNING_DAYS: i64 = 7;

/// `GET /`.
pub(crate) async fn page(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    RawQuery(query): RawQuery,
    access: Option<axum::Extension<crate::access::Access>>,
) -> PageResult {
    if let Some(axum::Extension(access)) = &access
        && let Some(workspace) = &access.workspace
    {
        return workspace_page(&state, &session, workspace, query.as_deref()).await;
    }
    let now = state.clock.now();
    let accounts = state.store.account_list().await?;
    let next = NextSyncs::load(&state).await?;
    let alerts = state
        .store
        .alert_list(AlertQuery {
            unacknowledged_only: true,
            limit: 1000,
            ..Default::default()
        })
        .await?;
    let snapshot = state.store.job_snapshot(now, None).await?;
    let totals = state.store.totals().await?;

    let mut open_by_account: HashMap<AccountId, usize> = HashMap::new();
    for a in &alerts {
        if let Some(id) = a.alert.account_id {
            *open_by_account.entry(id).or_default() += 1;
        }
    }
    let count_state = |s: JobState| -> i64 {
        snapshot
            .counts
            .iter()
            .filter(|c| c.state == s)
            .map(|c| c.count)
            .sum()
    };
    let scheduled: i64 = snapshot.scheduled.iter().map(|(_, n)| n).sum();
    let n_status = |s: SyncStatus| accounts.iter().filter(|a| a.status == s).count();

    let mut body = String::new();
    body.push_str(&format!(
        "<div class=\"head\"><div><h1>Overview</h1><p class=\"sub\">{} account(s). Times are UTC; hover a time for the exact instant.</p></div></div>",
        accounts.len()
    ));

    // Headline counts (the job counts refresh live).
    body.push_str("<div class=\"counts\">");
    let mut count =
        |label: &str, value: String, live: Option<&str>, class: &str, href: Option<&str>| {
            let live = live
                .map(|k| format!(" data-live=\"{k}\""))
                .unwrap_or_default();
            let inner = format!(
                "<div class=\"n\"{live}>{}</div><div class=\"what\">{}</div>",
                escape(&value),
                escape(label)
            );
            match href {
                Some(h) => body.push_str(&format!(
                    "<a class=\"count {class}\" href=\"{h}\">{inner}</a>"
                )),
                None => body.push_str(&format!("<div class=\"count {class}\">{inner}</div>")),
            }
        };
    count("accounts", accounts.len().to_string(), None, "", None);
    count(
        "syncing",
        n_status(SyncStatus::Syncing).to_string(),
        None,
        "",
        None,
    );
    count(
        "failed / reauth",
        (n_status(SyncStatus::Failed) + n_status(SyncStatus::NeedsReauth)).to_string(),
        None,
        "failed",
        None,
    );
    count(
        "open alerts",
        alerts.len().to_string(),
        None,
        "",
        Some("/alerts"),
    );
    count(
        "jobs pending",
        (count_state(JobState::Pending) - scheduled)
            .max(0)
            .to_string(),
        Some("state:pending"),
        "",
        Some("/queue?state=pending"),
    );
    count(
        "jobs running",
        count_state(JobState::Running).to_string(),
        Some("state:running"),
        "",
        Some("/queue?state=running"),
    );
    count(
        "jobs failed",
        count_state(JobState::Failed).to_string(),
        Some("state:failed"),
        "failed",
        Some("/queue?state=failed"),
    );
    body.push_str(
        "</div><div class=\"panel\"><div class=\"head\"><h2>Accounts</h2>\
         <a class=\"button primary\" href=\"/connect\">Connect account</a></div>",
    );

    if accounts.is_empty() {
        body.push_str(
            "<p class=\"empty\">No accounts yet. Add one with <code>igsync accounts add</code> or \
             <code>POST /api/v1/accounts</code>.</p>",
        );
    } else {
        body.push_str(
            "<div class=\"table-wrap\"><table><thead><tr><th>account</th><th>status</th><th class=\"num\">followers</th>\
             <th>last sync</th><th>next sync</th><th>token expiry</th><th class=\"num\">open alerts</th></tr></thead><tbody>",
        );
        for a in &accounts {
            body.push_str(&account_row(
                a,
                next.of(a),
                next.retry_of(a),
                open_by_account.get(&a.id).copied().unwrap_or(0),
                now,
            ));
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str("</div>");

    // What is stored.
    body.push_str("<div class=\"panel\"><h2>Stored history</h2><div class=\"counts\">");
    for (label, n) in [
        ("posts and reels", totals.media),
        ("deleted on Instagram", totals.media_deleted),
        ("post insight snapshots", totals.media_insight_snapshots),
        ("stories", totals.stories),
        ("story insight snapshots", totals.story_insight_snapshots),
        ("profile snapshots", totals.profile_snapshots),
        ("account insight days", totals.account_insight_days),
        ("demographic values", totals.demographic_values),
        ("sync runs", totals.sync_runs),
    ] {
        body.push_str(&format!(
            "<div class=\"count\"><div class=\"n\">{}</div><div class=\"what\">{}</div></div>",
            format_count(n as f64),
            escape(label)
        ));
    }
    body.push_str("</div></div>");

    // Deprecation early warning.
    let at_risk = crate::api::deprecations::at_risk(&state).await?;
    if !at_risk.is_empty() {
        body.push_str(
            "<div class=\"panel\"><h2>Metrics at risk</h2><p class=\"sub\">Served by the pinned \
             Graph API version, refused by a newer one: gone when the pinned version expires.</p>\
             <table><thead><tr><th>Metric</th><th>Login</th><th>Refused by</th>\
             <th>Removal date</th></tr></thead><tbody>",
        );
        for r in &at_risk {
            body.push_str(&format!(
                "<tr><td title=\"{}\">{} <span class=\"sub\">{}</span></td><td>{}</td><td>{} (pinned {})</td><td>{}</td></tr>",
                escape(&r.message),
                escape(&r.metric),
                escape(&r.scope),
                r.login,
                escape(&r.refused_on),
                escape(&r.pinned_version),
                r.removal_date
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "not announced yet".to_owned()),
            ));
        }
        body.push_str("</tbody></table></div>");
    }

    Ok(render(Page {
        title: "Overview".to_owned(),
        nav: Some(Nav::Overview),
        csrf: Some(&session.csrf_token),
        flash: Flash::from_query(query.as_deref()),
        live_src: Some("/queue/live"),
        body,
    }))
}

/// `GET /` for a key of one workspace: its accounts only, without the installation's job
/// counts and stored totals (which count every workspace).
async fn workspace_page(
    state: &AppState,
    session: &crate::auth::SessionInfo,
    workspace: &crate::access::WorkspaceScope,
    query: Option<&str>,
) -> PageResult {
    let now = state.clock.now();
    let mut accounts = state.store.account_list().await?;
    accounts.retain(|a| workspace.accounts.contains(&a.id));
    let next = NextSyncs::load(state).await?;
    let mut open_by_account: HashMap<AccountId, usize> = HashMap::new();
    for a in state
        .store
        .alert_list(AlertQuery {
            unacknowledged_only: true,
            limit: 1000,
            ..Default::default()
        })
        .await?
    {
        if let Some(id) = a
            .alert
            .account_id
            .filter(|id| workspace.accounts.contains(id))
        {
            *open_by_account.entry(id).or_default() += 1;
        }
    }
    let mut body = format!(
        "<div class=\"head\"><div><h1>{}</h1><p class=\"sub\">{} account(s). Times are UTC.</p></div></div>\
         <div class=\"panel\"><h2>Accounts</h2>",
        escape(&workspace.name),
        accounts.len()
    );
    if accounts.is_empty() {
        body.push_str("<p class=\"empty\">No accounts in this workspace yet.</p>");
    } else {
        body.push_str(
            "<div class=\"table-wrap\"><table><thead><tr><th>account</th><th>status</th><th class=\"num\">followers</th>\
             <th>last sync</th><th>next sync</th><th>token expiry</th><th class=\"num\">open alerts</th></tr></thead><tbody>",
        );
        for a in &accounts {
            body.push_str(&account_row(
                a,
                next.of(a),
                next.retry_of(a),
                open_by_account.get(&a.id).copied().unwrap_or(0),
                now,
            ));
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str("</div>");
    Ok(render(Page {
        title: workspace.name.clone(),
        nav: Some(Nav::Overview),
        csrf: Some(&session.csrf_token),
        flash: Flash::from_query(query),
        live_src: None,
        body,
    }))
}

/// The status badge of an account.
pub(crate) fn status_badge(status: SyncStatus) -> String {
    let label = match status {
        SyncStatus::Idle => "idle",
        SyncStatus::Syncing => "syncing",
        SyncStatus::Failed => "failed",
        SyncStatus::Paused => "paused",
        SyncStatus::NeedsReauth => "needs re-auth",
    };
    badge(status.as_str(), label)
}

/// When the next sync is due; one whose time has passed is waiting for a worker.
pub(crate) fn next_sync(next: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match next {
        Some(at) if at <= now => format!(
            "{} <span class=\"sub\">since {}</span>",
            badge("pending", "due now"),
            when(Some(at), now)
        ),
        other => when(other, now),
    }
}

/// Token expiry with a warning when it is close or past.
pub(crate) fn token_expiry(account: &Account, now: DateTime<Utc>) -> String {
    if account.token.is_none() {
        return badge("warning", "no token");
    }
    match account.token_expires_at {
        None => "<span class=\"sub\">does not expire</span>".to_owned(),
        Some(at) if at <= now => {
            format!("{} {}", badge("critical", "expired"), when(Some(at), now))
        }
        Some(at) if at - now <= Duration::days(TOKEN_WARNING_DAYS) => {
            format!(
                "{} {}",
                badge("warning", "expires soon"),
                when(Some(at), now)
            )
        }
        Some(at) => format!(
            "<span title=\"{}\">{}</span>",
            at.format("%Y-%m-%d %H:%M UTC"),
            at.format("%Y-%m-%d")
        ),
    }
}

/// A sync retrying after a failed attempt: the last error and when the next attempt starts.
pub(crate) fn retry_note(retry: &sync::RetryState, now: DateTime<Utc>) -> String {
    let what = match retry.step {
        Some(step) => format!("step {step}"),
        None => "start".to_owned(),
    };
    let next = match retry.next_attempt_at {
        Some(at) => format!("next attempt {}", when(Some(at), now)),
        None => "next attempt running".to_owned(),
    };
    format!(
        "<div class=\"note\" title=\"{}\">{} {} of {} attempts failed ({}): {}; {next}</div>",
        escape(&retry.last_error),
        badge("warning", "retrying"),
        retry.failed_attempts,
        retry.max_attempts,
        escape(&what),
        escape(&clip(&retry.last_error, 80)),
    )
}

fn account_row(
    a: &Account,
    next: Option<DateTime<Utc>>,
    retry: Option<&sync::RetryState>,
    open_alerts: usize,
    now: DateTime<Utc>,
) -> String {
    let name = a
        .name
        .as_deref()
        .map(|n| format!("<div class=\"sub\">{}</div>", escape(n)))
        .unwrap_or_default();
    let error = a
        .last_sync_error
        .as_deref()
        .filter(|_| matches!(a.status, SyncStatus::Failed | SyncStatus::NeedsReauth))
        .map(|e| {
            format!(
                "<div class=\"note\" title=\"{}\">{}</div>",
                escape(e),
                escape(&clip(e, 80))
            )
        })
        .unwrap_or_default();
    let error = match retry {
        Some(r) => format!("{error}{}", retry_note(r, now)),
        None => error,
    };
    let next = match (a.status, next) {
        (SyncStatus::Paused, _) => "<span class=\"sub\">paused</span>".to_owned(),
        (SyncStatus::NeedsReauth, None) => format!(
            "<span class=\"sub\">after re-authorization</span> {}",
            super::connect::reconnect_link(a)
        ),
        (_, next) => next_sync(next, now),
    };
    let alerts = if open_alerts > 0 {
        format!(
            "<a href=\"/alerts?account={}\">{}</a>",
            a.id,
            badge("warning", &open_alerts.to_string())
        )
    } else {
        "<span class=\"sub\">0</span>".to_owned()
    };
    format!(
        "<tr><td><a href=\"/accounts/{}\">@{}</a>{name}</td><td>{}{error}</td><td class=\"num\">{}</td>\
         <td>{}</td><td>{next}</td><td>{}</td><td class=\"num\">{alerts}</td></tr>",
        a.id,
        escape(&a.username),
        status_badge(a.status),
        a.followers_count
            .map_or_else(|| "n/a".to_owned(), |f| format_count(f as f64)),
        when(a.last_synced_at, now),
        token_expiry(a, now),
    )
}
