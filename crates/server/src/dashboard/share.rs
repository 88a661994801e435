//! The account page's "Share" section (admins): read-only links to the account's report,
//! created with an expiry (`POST /accounts/{id}/share`, the URL shown once on the page that
//! answers), listed, and revoked (`POST /accounts/{id}/shares/{sid}/revoke`). The same
//! functions as the API's `/api/v1/accounts/{id}/share…`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use chrono::{DateTime, Duration, Utc};
use store::{AccountId, Role};

use super::form::FormData;
use super::layout::{Nav, Page, PageResult, csrf_field, post_button, render, see_other, when};
use crate::access::Access;
use crate::api::shares::{create_for, links_of, revoke_of, state_of};
use crate::auth::{RequireSession, verify_csrf};
use crate::charts::escape;
use crate::error::AppError;
use crate::state::AppState;

/// The lifetimes the form offers, in days.
const LIFETIMES: [(i64, &str); 4] = [
    (1, "1 day"),
    (7, "7 days"),
    (30, "30 days"),
    (90, "90 days"),
];

/// The section of the account page; empty for keys below admin.
pub(crate) async fn section(
    state: &AppState,
    access: &Access,
    account: AccountId,
    csrf: &str,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    if access.role < Role::Admin {
        return Ok(String::new());
    }
    let links = links_of(state, account).await?;
    let mut out = String::from(
        "<div class=\"panel\" id=\"share\"><h2>Share</h2><p class=\"sub\">A read-only link to \
         this account's report (the last 30 days) for a client: no sign-in, nothing else \
         visible, until it expires or is revoked.</p>",
    );
    let options: String = LIFETIMES
        .iter()
        .map(|(days, label)| {
            let selected = if *days == 7 { " selected" } else { "" };
            format!("<option value=\"{days}\"{selected}>{label}</option>")
        })
        .collect();
    out.push_str(&format!(
        "<form method=\"post\" action=\"/accounts/{account}/share\">{}<label>Expires in \
         <select name=\"days\">{options}</select></label> <button type=\"submit\" \
         class=\"primary\">Create link</button></form>",
        csrf_field(csrf)
    ));
    if links.is_empty() {
        out.push_str("<p class=\"empty\">No share links yet.</p>");
    } else {
        out.push_str(
            "<div class=\"table-wrap\"><table><thead><tr><th>link</th><th>state</th>\
             <th>created</th><th>expires</th><th>by</th><th></th></tr></thead><tbody>",
        );
        for l in &links {
            let state = state_of(l, now);
            let revoke = if state == "active" {
                post_button(
                    &format!("/accounts/{account}/shares/{}/revoke", l.id),
                    "Revoke",
                    csrf,
                    "",
                    Some("Revoke this link? Whoever has it loses access at once."),
                )
            } else {
                String::new()
            };
            out.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{revoke}</td></tr>",
                escape(&l.id),
                escape(state),
                when(Some(l.created_at), now),
                escape(&l.expires_at.format("%Y-%m-%d %H:%M UTC").to_string()),
                escape(&l.created_by),
            ));
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</div>");
    Ok(out)
}

/// `POST /accounts/{id}/share`: creates a link and shows its URL, this once.
pub(crate) async fn create(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    access: Access,
    Path(id): Path<AccountId>,
    body: Bytes,
) -> PageResult {
    let form = FormData::parse(&body)?;
    verify_csrf(&session, form.get("csrf"))?;
    let days = form.get_i64("days")?.unwrap_or(7);
    if !LIFETIMES.iter().any(|(d, _)| *d == days) {
        return Err(AppError::bad_request(format!(
            "days must be one of 1, 7, 30 or 90, got {days}"
        ))
        .into());
    }
    let account = state
        .store
        .account_get(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("account {id} not found")))?;
    let created = create_for(&state, &access, &account, Duration::days(days)).await?;
    let body = format!(
        "<div class=\"head\"><div><h1>Share link created</h1><p class=\"sub\">For \
         <a href=\"/accounts/{id}\">@{}</a>'s report, until {}. Copy it now: it is shown only \
         this once.</p></div></div><div class=\"panel\"><p><input type=\"text\" readonly \
         class=\"share-url\" size=\"90\" value=\"{}\"></p><p><a href=\"/accounts/{id}#share\">\
         Back to the account</a></p></div>",
        escape(&account.username),
        escape(
            &created
                .link
                .expires_at
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        ),
        escape(&created.url),
    );
    Ok(render(Page {
        title: "Share link".to_owned(),
        nav: Some(Nav::Overview),
        csrf: Some(&session.csrf_token),
        flash: None,
        live_src: None,
        body,
    }))
}

/// `POST /accounts/{id}/shares/{sid}/revoke`.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    Path((id, sid)): Path<(AccountId, String)>,
    body: Bytes,
) -> PageResult {
    let form = FormData::parse(&body)?;
    verify_csrf(&session, form.get("csrf"))?;
    revoke_of(&state, id, &sid).await?;
    Ok(see_other(&format!("/accounts/{id}?ok=share_revoked#share")))
}
