//! `GET /alerts`: what needs attention right now (failing syncs, tokens Meta rejected, that
//! expire soon or that igsync cannot renew, stale syncs, Graph API rate-limit pressure, failed jobs, a queue whose
//! oldest due job waits too long), computed on each request, and the alerts the engine
//! raised (follower growth, trending posts, failures…) with acknowledgement
//! (`POST /alerts/{id}/ack`).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use chrono::{DateTime, Duration, Utc};
use store::{AccountId, AlertQuery, JobState, SyncStatus};

use super::form::FormData;
use super::layout::{
    Flash, Nav, Page, PageResult, badge, human_duration, post_button, render, see_other, when,
};
use super::overview::TOKEN_WARNING_DAYS;
use crate::access::Access;
use crate::api::alerts::alerts_of;
use crate::auth::{RequireSession, verify_csrf};
use crate::charts::escape;
use crate::error::AppError;
use crate::state::AppState;

/// An active account without a successful sync for this long is stale.
const STALE_AFTER_HOURS: i64 = 24;
/// Graph API usage at or above this share of a budget is pressure.
const USAGE_PRESSURE_PCT: f64 = 75.0;
/// A due job waiting longer than this means the queue is stuck or under-provisioned.
const QUEUE_AGE_WARNING_MINUTES: i64 = 15;

/// Whether the daily token refresh can renew the account's token with the configured Graph
/// API clients (true when no client is configured: then nothing syncs at all).
fn renewable(state: &AppState, account: &store::Account) -> bool {
    state
        .graph
        .get(&sync::accounts::graph_login(account.login))
        .is_none_or(sync::accounts::can_refresh)
}

/// One condition that holds now.
struct Condition {
    severity: &'static str,
    kind: &'static str,
    title: String,
    detail: String,
    link: Option<String>,
}

/// The conditions of every account, or (`only` some accounts) of those accounts alone.
async fn conditions(
    state: &AppState,
    now: DateTime<Utc>,
    only: Option<&[AccountId]>,
) -> Result<Vec<Condition>, AppError> {
    let mut out = Vec::new();
    let mine = |id: AccountId| only.is_none_or(|set| set.contains(&id));
    let mut accounts = state.store.account_list().await?;
    accounts.retain(|a| mine(a.id));
    let who = |id: AccountId| {
        accounts
            .iter()
            .find(|a| a.id == id)
            .map_or_else(|| format!("account #{id}"), |a| format!("@{}", a.username))
    };
    for a in &accounts {
        let link = Some(format!("/accounts/{}", a.id));
        match a.status {
            SyncStatus::Failed => out.push(Condition {
                severity: "critical",
                kind: "sync failed",
                title: format!("The last sync of @{} failed", a.username),
                detail: a.last_sync_error.clone().unwrap_or_default(),
                link: link.clone(),
            }),
            SyncStatus::NeedsReauth => out.push(Condition {
                severity: "critical",
                kind: "needs re-authorization",
                title: format!("Meta rejected the token of @{}", a.username),
                detail: "No sync runs until the account is authorized again.".to_owned(),
                link: link.clone(),
            }),
            _ => {}
        }
        if !matches!(a.status, SyncStatus::Paused | SyncStatus::NeedsReauth) {
            let stale = match a.last_synced_at {
                None => now - a.created_at > Duration::hours(STALE_AFTER_HOURS),
                Some(at) => now - at > Duration::hours(STALE_AFTER_HOURS),
            };
            if stale {
                out.push(Condition {
                    severity: "warning",
                    kind: "stale sync",
                    title: format!(
                        "@{} has not synced successfully for over {STALE_AFTER_HOURS} h",
                        a.username
                    ),
                    detail: match a.last_synced_at {
                        Some(at) => {
                            format!("Last successful sync {}.", super::layout::relative(at, now))
                        }
                        None => "It has never synced successfully.".to_owned(),
                    },
                    link: link.clone(),
                });
            }
        }
        if a.token.is_some()
            && let Some(expires) = a.token_expires_at
        {
            if expires <= now {
                out.push(Condition {
                    severity: "critical",
                    kind: "token expired",
                    title: format!("The token of @{} has expired", a.username),
                    detail: format!("It expired {}.", super::layout::relative(expires, now)),
                    link: link.clone(),
                });
            } else if expires - now <= Duration::days(TOKEN_WARNING_DAYS) {
                out.push(Condition {
                    severity: "warning",
                    kind: "token expiring",
                    title: format!("The token of @{} expires {}", a.username, super::layout::relative(expires, now)),
                    detail: "The daily token refresh renews it; if it keeps failing, authorize the account again.".to_owned(),
                    link: link.clone(),
                });
            }
        }
        if a.token.is_some() && a.status != SyncStatus::NeedsReauth && !renewable(state, a) {
            let lapses = a.token_expires_at.map_or_else(
                || "when Meta's documented 60 days run out".to_owned(),
                |at| {
                    format!(
                        "around {} (the expiry may be assumed: 60 days from when it was added)",
                        at.format("%Y-%m-%d")
                    )
                },
            );
            out.push(Condition {
                severity: "warning",
                kind: "token not renewed",
                title: format!("igsync cannot renew the token of @{}", a.username),
                detail: format!(
                    "Facebook Login tokens are renewed with the Meta app's credentials: set graph.app_id and \
                     graph.app_secret (IGSYNC_GRAPH_APP_ID, IGSYNC_GRAPH_APP_SECRET), or add a fresh token \
                     before it lapses {lapses}."
                ),
                link: link.clone(),
            });
        }
    }
    for u in state.store.api_usage_latest().await? {
        // The app's own budget is the whole installation's, not a workspace's.
        if u.account_id.map_or(only.is_some(), |id| !mine(id)) {
            continue;
        }
        let throttled = u.regain_access_minutes.is_some_and(|m| m > 0);
        if u.usage_pct >= USAGE_PRESSURE_PCT || throttled {
            let subject = u.account_id.map_or_else(|| "The app".to_owned(), who);
            let detail = match u.regain_access_minutes.filter(|m| *m > 0) {
                Some(m) => format!(
                    "Meta throttles it: access returns in about {m} min. Syncs back off until then."
                ),
                None => "Syncs slow down to stay within the budget.".to_owned(),
            };
            out.push(Condition {
                severity: if throttled || u.usage_pct >= 90.0 {
                    "critical"
                } else {
                    "warning"
                },
                kind: "rate-limit pressure",
                title: format!(
                    "{subject} has used {} of its Graph API budget",
                    crate::report::format_value(u.usage_pct, analytics::Unit::Percent)
                ),
                detail,
                link: Some("/queue".to_owned()),
            });
        }
    }
    let snapshot = state.store.job_snapshot(now, only).await?;
    let failed: i64 = snapshot
        .counts
        .iter()
        .filter(|c| c.state == JobState::Failed)
        .map(|c| c.count)
        .sum();
    if failed > 0 {
        out.push(Condition {
            severity: "warning",
            kind: "failed jobs",
            title: format!("{failed} job(s) failed for good"),
            detail:
                "They used up their attempts; search, inspect and retry them in the queue monitor."
                    .to_owned(),
            link: Some("/queue?state=failed".to_owned()),
        });
    }
    for (queue, oldest) in &snapshot.oldest_due {
        let age = now - *oldest;
        if age > Duration::minutes(QUEUE_AGE_WARNING_MINUTES) {
            out.push(Condition {
                severity: "warning",
                kind: "queue age",
                title: format!(
                    "The oldest due job of queue {queue} has waited {}",
                    human_duration(age.num_seconds().max(0) as u64)
                ),
                detail: "Are workers running? A stalled queue looks like an idle one without this."
                    .to_owned(),
                link: Some(format!(
                    "/queue?state=pending&queue={}",
                    super::form::encode(queue)
                )),
            });
        }
    }
    Ok(out)
}

/// `GET /alerts` (`?all=1` includes acknowledged alerts, `?account=ID` filters).
/// A key of one workspace sees its accounts' conditions and alerts only.
pub(crate) async fn page(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    access: Access,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let now = state.clock.now();
    let form = FormData::parse_str(raw.as_deref().unwrap_or_default())?;
    let all = form.get("all").is_some_and(|v| v == "1");
    let account = form.get_id("account")?;
    let csrf = &session.csrf_token;
    let only = access.account_set();
    let current = conditions(&state, now, only.as_deref()).await?;
    let alerts = alerts_of(
        &state,
        AlertQuery {
            account_id: account,
            unacknowledged_only: !all,
            limit: 200,
            ..Default::default()
        },
        only.as_deref(),
    )
    .await?;
    let usernames: std::collections::HashMap<AccountId, String> = state
        .store
        .account_list()
        .await?
        .into_iter()
        .filter(|a| access.sees(a.id))
        .map(|a| (a.id, a.username))
        .collect();

    let mut body = String::from(
        "<div class=\"head\"><div><h1>Alerts</h1></div></div><div class=\"panel\"><h2>Needs attention now</h2>",
    );
    if current.is_empty() {
        body.push_str("<p class=\"empty\">Nothing: syncs are fresh, tokens valid, budgets fine and no job has failed.</p>");
    } else {
        body.push_str("<div class=\"table-wrap\"><table><thead><tr><th>severity</th><th>what</th><th>details</th></tr></thead><tbody>");
        for c in &current {
            let title = match &c.link {
                Some(l) => format!("<a href=\"{}\">{}</a>", escape(l), escape(&c.title)),
                None => escape(&c.title),
            };
            body.push_str(&format!(
                "<tr><td>{}</td><td>{title}<div class=\"sub\">{}</div></td><td>{}</td></tr>",
                badge(c.severity, c.severity),
                escape(c.kind),
                escape(&c.detail)
            ));
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str("</div>");

    let toggle = if all {
        "<a href=\"/alerts\">show open only</a>"
    } else {
        "<a href=\"/alerts?all=1\">show acknowledged too</a>"
    };
    body.push_str(&format!(
        "<div class=\"panel\"><div class=\"head\"><h2>Raised alerts</h2><span class=\"sub\">{toggle}</span></div>"
    ));
    if alerts.is_empty() {
        body.push_str("<p class=\"empty\">No open alerts.</p>");
    } else {
        body.push_str(
            "<div class=\"table-wrap\"><table><thead><tr><th>severity</th><th>alert</th><th>account</th><th>raised</th><th></th></tr></thead><tbody>",
        );
        for a in &alerts {
            let account = a
                .alert
                .account_id
                .map(|id| {
                    let name = usernames
                        .get(&id)
                        .map_or_else(|| format!("#{id}"), |u| format!("@{u}"));
                    format!("<a href=\"/accounts/{id}\">{}</a>", escape(&name))
                })
                .unwrap_or_default();
            let ack = match a.acknowledged_at {
                Some(at) => format!(
                    "<span class=\"sub\">acknowledged {}</span>",
                    when(Some(at), now)
                ),
                None => post_button(
                    &format!("/alerts/{}/ack", a.id),
                    "Acknowledge",
                    csrf,
                    "",
                    None,
                ),
            };
            body.push_str(&format!(
                "<tr><td>{}</td><td><strong>{}</strong><div class=\"sub\">{} · {}</div></td><td>{account}</td><td>{}</td><td>{ack}</td></tr>",
                badge(a.alert.severity.as_str(), a.alert.severity.as_str()),
                escape(&a.alert.title),
                escape(&a.alert.kind),
                escape(&a.alert.message),
                when(Some(a.alert.created_at), now),
            ));
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str("</div>");
    Ok(render(Page {
        title: "Alerts".to_owned(),
        nav: Some(Nav::Alerts),
        csrf: Some(csrf),
        flash: Flash::from_query(raw.as_deref()),
        live_src: None,
        body,
    }))
}

/// `POST /alerts/{id}/ack`.
pub(crate) async fn ack(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    access: Access,
    Path(id): Path<i64>,
    body: Bytes,
) -> PageResult {
    let form = FormData::parse(&body)?;
    verify_csrf(&session, form.get("csrf"))?;
    if !crate::api::alerts::ack_as(&state, &access, id).await? {
        return Err(AppError::not_found(format!("alert {id} not found")).into());
    }
    Ok(see_other("/alerts?ok=acked"))
}
