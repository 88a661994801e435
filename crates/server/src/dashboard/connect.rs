//! Connecting accounts with Meta's login flows (`sync::connect`):
//!
//! - `GET /connect` chooses the login (Facebook Login for Business or Business Login for
//!   Instagram), or says why connecting is unavailable (no `server.public_url`, no app id or
//!   secret, no secret key to seal tokens);
//! - `GET /connect/start?login=…[&account=ID][&rerequest=1]` makes a state bound to the
//!   session and sends the browser to Meta's dialog. It is a link, not a form: the
//!   dashboard's `form-action 'self'` policy forbids a form that ends on another site;
//! - `GET /connect/callback` is the redirect URI (`{server.public_url}/connect/callback`):
//!   it spends the state, exchanges the code and shows the accounts found
//!   (`/connect/review/{id}`), or repairs the account being reconnected at once;
//! - `POST /connect/review/{id}` registers the ticked accounts and queues their first sync.
//!
//! The session cookie is `SameSite=Strict`, so a browser coming back from Meta's site does
//! not send it on that first request: the callback then answers with a page that reloads
//! itself from this site, which does send it.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use store::{Account, AccountId, LoginKind};
use sync::connect::{Authorized, Callback, ConnectError, Pending};

use super::form::FormData;
use super::layout::{Flash, Nav, Page, PageResult, csrf_field, render_with_status, see_other};
use crate::auth::{RequireSession, SessionInfo, session_from_headers, verify_csrf};
use crate::charts::escape;
use crate::error::AppError;
use crate::state::AppState;

/// The owner of a login started from a dashboard session.
fn owner_of(session: &SessionInfo) -> String {
    format!("session:{}", session.csrf_token)
}

fn login_name(login: LoginKind) -> &'static str {
    match login {
        LoginKind::Facebook => "Facebook Login for Business",
        LoginKind::Instagram => "Business Login for Instagram",
    }
}

fn parse_login(raw: Option<&str>) -> Result<LoginKind, AppError> {
    match raw {
        Some("facebook") => Ok(LoginKind::Facebook),
        Some("instagram") => Ok(LoginKind::Instagram),
        other => Err(AppError::invalid(format!(
            "login must be `facebook` or `instagram`, got {:?}",
            other.unwrap_or("")
        ))),
    }
}

/// Why connecting with `login` is unavailable on this server, if it is.
pub(crate) fn unavailable(state: &AppState, login: LoginKind) -> Option<String> {
    if state.settings.public_url.is_none() {
        return Some(
            "set server.public_url (IGSYNC_SERVER_PUBLIC_URL) to the address browsers reach \
             igsync at; Meta sends people back to {public_url}/connect/callback"
                .to_owned(),
        );
    }
    if state.cipher.is_none() {
        return Some(
            "no secret key is configured to encrypt tokens (set IGSYNC_SECRET_KEY)".to_owned(),
        );
    }
    let Some(client) = state.graph.get(&sync::accounts::graph_login(login)) else {
        return Some(format!(
            "no Graph API client is configured for {} login",
            login.as_str()
        ));
    };
    if client.config().app_id().is_empty() || !client.config().has_app_secret() {
        return Some(
            "set graph.app_id and graph.app_secret (IGSYNC_GRAPH_APP_ID, \
             IGSYNC_GRAPH_APP_SECRET) to your Meta app's"
                .to_owned(),
        );
    }
    None
}

fn redirect_uri(state: &AppState) -> String {
    let base = state.settings.public_url.as_deref().unwrap_or_default();
    format!("{}/connect/callback", base.trim_end_matches('/'))
}

fn page<'a>(title: &str, csrf: Option<&'a str>, flash: Option<Flash>, body: String) -> Page<'a> {
    Page {
        title: title.to_owned(),
        nav: Some(Nav::Overview),
        csrf,
        flash,
        live_src: None,
        body,
    }
}

/// A page that ends a login that connected nothing: what happened and a way to start again.
fn failed(
    status: StatusCode,
    csrf: Option<&str>,
    error: &ConnectError,
) -> axum::response::Response {
    let body = format!(
        "<div class=\"panel\"><h1>Nothing was connected</h1>\
         <p class=\"flash error\" role=\"alert\">{}</p>\
         <p><a class=\"button primary\" href=\"/connect\">Connect account</a> \
         <a class=\"button\" href=\"/\">Back to the overview</a></p></div>",
        escape(&error.to_string())
    );
    render_with_status(status, page("Nothing was connected", csrf, None, body))
}

fn connect_error(e: ConnectError) -> (StatusCode, ConnectError) {
    let status = match &e {
        ConnectError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ConnectError::Meta(_) => StatusCode::BAD_GATEWAY,
        ConnectError::StateMismatch => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    (status, e)
}

/// A link that starts a login.
fn start_link(
    login: LoginKind,
    account: Option<AccountId>,
    rerequest: bool,
    label: &str,
) -> String {
    let mut href = format!("/connect/start?login={}", login.as_str());
    if let Some(id) = account {
        href.push_str(&format!("&amp;account={id}"));
    }
    if rerequest {
        href.push_str("&amp;rerequest=1");
    }
    format!(
        "<a class=\"button primary\" href=\"{href}\">{}</a>",
        escape(label)
    )
}

/// What each login can read, for the choice and the account page.
pub(crate) fn capabilities(login: LoginKind) -> &'static str {
    match login {
        LoginKind::Facebook => {
            "Reads profile, media, stories and insights, including the total_* metrics and \
             Business Discovery. Needs a Facebook Page connected to the Instagram account. \
             Page tokens do not expire."
        }
        LoginKind::Instagram => {
            "Reads profile, media, stories and insights with the Instagram account's own \
             login. Cannot read Business Discovery or the total_* metrics (those need Facebook \
             Login). Tokens last 60 days and igsync refreshes them."
        }
    }
}

/// `GET /connect[?account=ID]`.
pub(crate) async fn choose(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    RawQuery(query): RawQuery,
) -> PageResult {
    let form = FormData::parse_str(query.as_deref().unwrap_or_default())?;
    let account = match form.get_id("account")? {
        Some(id) => Some(account_or_404(&state, id).await?),
        None => None,
    };
    let logins: Vec<LoginKind> = match &account {
        Some(a) => vec![a.login],
        None => vec![LoginKind::Facebook, LoginKind::Instagram],
    };
    let mut body = String::from("<div class=\"head\"><div><h1>Connect account</h1>");
    match &account {
        Some(a) => body.push_str(&format!(
            "<p class=\"sub\">Authorize @{} again with {}: its token is replaced and its syncs \
             resume.</p>",
            escape(&a.username),
            login_name(a.login)
        )),
        None => body.push_str(
            "<p class=\"sub\">Log in with Meta, choose the Instagram professional accounts to \
             sync, and igsync stores their tokens encrypted.</p>",
        ),
    }
    body.push_str("</div></div>");
    for login in logins {
        let action = match unavailable(&state, login) {
            Some(why) => format!(
                "<p class=\"note\" role=\"alert\">Unavailable: {}</p>",
                escape(&why)
            ),
            None => start_link(
                login,
                account.as_ref().map(|a| a.id),
                false,
                &format!("Continue with {}", login_name(login)),
            ),
        };
        body.push_str(&format!(
            "<section class=\"panel\" data-login=\"{}\"><h2>{}</h2><p>{}</p>{action}</section>",
            login.as_str(),
            login_name(login),
            escape(capabilities(login)),
        ));
    }
    Ok(render_with_status(
        StatusCode::OK,
        page("Connect account", Some(&session.csrf_token), None, body),
    ))
}

async fn account_or_404(state: &AppState, id: AccountId) -> Result<Account, AppError> {
    state
        .store
        .account_get(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("account {id} not found")))
}

/// `GET /connect/start?login=…`: a new state, then Meta's dialog.
pub(crate) async fn start(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    RawQuery(query): RawQuery,
) -> PageResult {
    let form = FormData::parse_str(query.as_deref().unwrap_or_default())?;
    let login = parse_login(form.get("login"))?;
    let reconnect = match form.get_id("account")? {
        Some(id) => {
            let account = account_or_404(&state, id).await?;
            if account.login != login {
                return Err(AppError::invalid(format!(
                    "@{} uses {} login",
                    account.username,
                    account.login.as_str()
                ))
                .into());
            }
            Some(id)
        }
        None => None,
    };
    if let Some(why) = unavailable(&state, login) {
        let (status, e) = connect_error(ConnectError::Unavailable(why));
        return Ok(failed(status, Some(&session.csrf_token), &e));
    }
    let Some(client) = state.graph.get(&sync::accounts::graph_login(login)) else {
        return Err(AppError::internal("no Graph API client").into());
    };
    let pending = Pending {
        login,
        redirect_uri: redirect_uri(&state),
        owner: owner_of(&session),
        reconnect,
        started_at: state.clock.now(),
    };
    match state
        .logins
        .begin(client, pending, form.get("rerequest") == Some("1"))
    {
        Ok((_, url)) => Ok(see_other(&url)),
        Err(e) => {
            let (status, e) = connect_error(e);
            Ok(failed(status, Some(&session.csrf_token), &e))
        }
    }
}

/// The page that reloads the callback from this site, so the browser sends the session
/// cookie (a `SameSite=Strict` cookie is withheld on the redirect from Meta's site).
fn reload_here(query: &str) -> axum::response::Response {
    let target = format!("/connect/callback?{query}&resumed=1");
    let body = format!(
        "<div class=\"panel\"><h1>Finishing the login…</h1><p><a href=\"{t}\">Continue</a></p></div>",
        t = escape(&target)
    );
    let mut res = render_with_status(
        StatusCode::OK,
        page("Finishing the login", None, None, body),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("0;url={target}")) {
        res.headers_mut().insert("refresh", v);
    }
    res
}

/// `GET /connect/callback?code&state` (or `?error=access_denied&…&state`).
pub(crate) async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> PageResult {
    let raw = query.unwrap_or_default();
    let form = FormData::parse_str(&raw)?;
    let Some(session) = session_from_headers(&state, &headers).await? else {
        if form.get("resumed").is_none() {
            return Ok(reload_here(&raw));
        }
        return Ok(failed(
            StatusCode::UNAUTHORIZED,
            None,
            &ConnectError::Unavailable(
                "sign in to the dashboard first, then start again from \"Connect account\""
                    .to_owned(),
            ),
        ));
    };
    let csrf = Some(session.csrf_token.as_str());
    let cb = Callback {
        code: form.get("code").map(str::to_owned),
        state: form.get("state").map(str::to_owned),
        error: form.get("error").map(str::to_owned),
        error_reason: form.get("error_reason").map(str::to_owned),
        error_description: form.get("error_description").map(str::to_owned),
    };
    let now = state.clock.now();
    let pending = match state
        .logins
        .take(cb.state.as_deref(), &owner_of(&session), now)
    {
        Ok(p) => p,
        Err(e) => {
            let (status, e) = connect_error(e);
            return Ok(failed(status, csrf, &e));
        }
    };
    if let Some(denied) = cb.denied() {
        return Ok(failed(StatusCode::BAD_REQUEST, csrf, &denied));
    }
    let code = cb.code.unwrap_or_default();
    let authorized = match sync::connect::authorize(&state.graph, &pending, &code).await {
        Ok(a) => a,
        Err(e) => {
            let (status, e) = connect_error(e);
            return Ok(failed(status, csrf, &e));
        }
    };
    if let Some(id) = authorized.reconnect
        && authorized.complete()
    {
        return reconnect(&state, &session, id, &authorized).await;
    }
    match state.logins.keep(authorized, &owner_of(&session), now) {
        Ok(id) => Ok(see_other(&format!("/connect/review/{id}"))),
        Err(e) => Ok(failed(StatusCode::SERVICE_UNAVAILABLE, csrf, &e)),
    }
}

/// Repairs the account being reconnected with what the login found for it.
async fn reconnect(
    state: &AppState,
    session: &SessionInfo,
    id: AccountId,
    authorized: &Authorized,
) -> PageResult {
    let csrf = Some(session.csrf_token.as_str());
    let account = account_or_404(state, id).await?;
    let Some(candidate) = authorized
        .accounts
        .iter()
        .find(|c| c.ig_user_id == account.ig_user_id)
    else {
        return Ok(failed(
            StatusCode::BAD_REQUEST,
            csrf,
            &ConnectError::Meta(format!(
                "the account you logged in with does not reach @{} ({}): log in as someone \
                 who manages it",
                account.username, account.ig_user_id
            )),
        ));
    };
    let Some(cipher) = state.cipher.as_ref() else {
        return Err(AppError::NotConfigured("no secret key".to_owned()).into());
    };
    match sync::connect::add(
        &*state.store,
        &state.graph,
        cipher,
        state.engine.as_ref(),
        sync::connect::AddAs {
            login: authorized.login,
            subscribe_webhooks: state.settings.webhooks.is_some(),
        },
        candidate,
        state.clock.now(),
    )
    .await
    {
        Ok(_) => {
            state
                .overview_cache
                .writes
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            Ok(see_other(&format!("/accounts/{id}?ok=reconnected")))
        }
        Err(e) => Ok(failed(
            StatusCode::BAD_REQUEST,
            csrf,
            &ConnectError::Meta(e.to_string()),
        )),
    }
}

/// `GET /connect/review/{id}`: the accounts a login reaches, to choose from.
pub(crate) async fn review(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    Path(id): Path<String>,
) -> PageResult {
    let csrf = session.csrf_token.as_str();
    let authorized = match state
        .logins
        .authorized(&id, &owner_of(&session), state.clock.now())
    {
        Ok(a) => a,
        Err(e) => {
            let (status, e) = connect_error(e);
            return Ok(failed(status, Some(csrf), &e));
        }
    };
    let mut body = format!(
        "<div class=\"head\"><div><h1>Accounts found</h1><p class=\"sub\">With {}.</p></div></div>",
        login_name(authorized.login)
    );
    if !authorized.declined.is_empty() {
        let needed = if authorized.complete() {
            "igsync can work without them"
        } else {
            "igsync needs them to read the accounts' analytics"
        };
        body.push_str(&format!(
            "<div class=\"flash error\" role=\"alert\" data-declined=\"{d}\">You declined: {d} \
             ({needed}). {link}</div>",
            d = escape(&authorized.declined.join(", ")),
            link = start_link(
                authorized.login,
                authorized.reconnect,
                true,
                "Ask for them again"
            ),
        ));
    }
    let existing = state.store.account_list().await?;
    if !authorized.complete() {
        body.push_str(&format!(
            "<p class=\"note\">Missing permissions: {}. Grant them to add accounts.</p>",
            escape(&authorized.missing.join(", "))
        ));
    } else if authorized.accounts.is_empty() {
        body.push_str(
            "<p class=\"note\">This login reaches no Instagram professional account. With \
             Facebook Login, connect the Instagram account to one of your Facebook Pages \
             first.</p>",
        );
    } else {
        let mut rows = String::new();
        for c in &authorized.accounts {
            let known = existing.iter().any(|a| a.ig_user_id == c.ig_user_id);
            rows.push_str(&format!(
                "<tr><td><input type=\"checkbox\" name=\"ig\" value=\"{ig}\" id=\"ig-{ig}\"{checked}></td>\
                 <td><label for=\"ig-{ig}\">@{user}</label></td><td>{ig}</td><td>{page}</td><td>{known}</td></tr>",
                ig = escape(&c.ig_user_id),
                user = escape(c.username.as_deref().unwrap_or(&c.ig_user_id)),
                page = escape(c.page_name.as_deref().unwrap_or("")),
                checked = if known { "" } else { " checked" },
                known = if known { "already added: its token is replaced" } else { "" },
            ));
        }
        body.push_str(&format!(
            "<form method=\"post\" action=\"/connect/review/{id}\">{}\
             <table><thead><tr><th></th><th>Account</th><th>Instagram user id</th><th>Page</th><th></th></tr></thead>\
             <tbody>{rows}</tbody></table>\
             <button type=\"submit\" class=\"primary\">Add selected</button></form>",
            csrf_field(csrf),
            id = escape(&id),
        ));
    }
    Ok(render_with_status(
        StatusCode::OK,
        page("Accounts found", Some(csrf), None, body),
    ))
}

/// `POST /connect/review/{id}`: registers the ticked accounts and queues their first sync.
pub(crate) async fn add_selected(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let form = FormData::parse(&body)?;
    verify_csrf(&session, form.get("csrf"))?;
    let csrf = Some(session.csrf_token.as_str());
    let now = state.clock.now();
    let authorized = match state.logins.authorized(&id, &owner_of(&session), now) {
        Ok(a) => a,
        Err(e) => {
            let (status, e) = connect_error(e);
            return Ok(failed(status, csrf, &e));
        }
    };
    let chosen: Vec<&str> = form.all("ig").map(str::trim).collect();
    let picked: Vec<_> = authorized
        .accounts
        .iter()
        .filter(|c| chosen.contains(&c.ig_user_id.as_str()))
        .collect();
    if picked.is_empty() || !authorized.complete() {
        return Ok(failed(
            StatusCode::BAD_REQUEST,
            csrf,
            &ConnectError::NothingChosen,
        ));
    }
    let Some(cipher) = state.cipher.as_ref() else {
        return Err(AppError::NotConfigured("no secret key".to_owned()).into());
    };
    let mut rows = String::new();
    for c in picked {
        let line = match sync::connect::add(
            &*state.store,
            &state.graph,
            cipher,
            state.engine.as_ref(),
            sync::connect::AddAs {
                login: authorized.login,
                subscribe_webhooks: state.settings.webhooks.is_some(),
            },
            c,
            now,
        )
        .await
        {
            Ok((r, sync_error)) => format!(
                "<li data-added=\"{ig}\">{verb} <a href=\"/accounts/{id}\">@{user}</a>{sync}</li>",
                ig = escape(&r.account.ig_user_id),
                verb = if r.created { "Added" } else { "Reconnected" },
                id = r.account.id,
                user = escape(&r.account.username),
                sync = match sync_error {
                    None if state.engine.is_some() => ": its first sync is queued.".to_owned(),
                    None => ": it syncs with the next scheduled run.".to_owned(),
                    Some(e) => format!(": its sync was not queued ({}).", escape(&e)),
                },
            ),
            Err(e) => format!(
                "<li class=\"error\" data-failed=\"{}\">@{}: {}</li>",
                escape(&c.ig_user_id),
                escape(c.username.as_deref().unwrap_or(&c.ig_user_id)),
                escape(&e.to_string())
            ),
        };
        rows.push_str(&line);
    }
    state.logins.forget(&id);
    state
        .overview_cache
        .writes
        .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    let body = format!(
        "<div class=\"panel\"><h1>Accounts connected</h1><ul>{rows}</ul>\
         <p><a class=\"button\" href=\"/\">Back to the overview</a></p></div>"
    );
    Ok(render_with_status(
        StatusCode::OK,
        page("Accounts connected", csrf, None, body),
    ))
}

/// The "Reconnect" button of an account that needs re-authorization.
pub(crate) fn reconnect_link(account: &Account) -> String {
    format!(
        "<a class=\"button primary\" href=\"/connect/start?login={}&amp;account={}\">Reconnect</a>",
        account.login.as_str(),
        account.id
    )
}
