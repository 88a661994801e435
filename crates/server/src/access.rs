//! Who may do what: every authenticated route and dashboard page has one [`Rule`] in
//! [`API_RULES`] or [`PAGE_RULES`] (its least role and its workspace scope), checked by
//! [`authorize_api`] and [`authorize_page`] before the handler runs. A route without a
//! rule is refused to everyone, so a new route cannot go unchecked; the access-control test
//! walks these tables and the OpenAPI document and asserts the matrix.
//!
//! A key (and a dashboard session signed in with it) reaches every workspace or one. A key of
//! one workspace is told that an account outside it does not exist, with the very answer a
//! non-existent account gets. Routes over many accounts are [`Scope::Filtered`]: the handler
//! reads the request's [`Access`] and narrows its store query to the workspace's accounts
//! ([`Access::account_set`], [`Access::narrow`]), so lists, totals and paging count its
//! accounts only; a job or run of another workspace's account, or a job of no account, is
//! answered exactly like one that does not exist. That covers the overview, the queue's
//! counts, jobs (list, detail, retry, cancel, delete, bulk), runs, alerts, `/metrics` (its
//! accounts' series; the installation-wide ones are left out) and, for a workspace admin,
//! adding an account (it joins the workspace), keys (its workspace's; it creates keys of
//! its workspace only) and the audit log (its keys' entries and changes to its accounts).
//! What belongs to no workspace stays [`Scope::Global`], refused to a key of one: schedules,
//! Graph API usage, workers and job metrics, competitors, connecting accounts.
//!
//! Every change (an unsafe method) that reaches a handler is written to the audit log with
//! who, what, when and from where.

use std::collections::BTreeSet;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use store::{AccountId, AuditVia, JobQuery, JobSelector, NewAuditEntry, Role, WorkspaceId};

use crate::auth::{Principal, session_from_headers};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Which accounts a route touches, and so what a key of one workspace may do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// No account data at all (the glossary, the OpenAPI document, readiness).
    Any,
    /// One account, named by the path's `{id}`: a key of one workspace reaches only that
    /// workspace's accounts, and any other is answered as if it did not exist.
    Account,
    /// Many accounts (jobs, runs, counts, alerts, keys, the audit log): the handler narrows
    /// it to the key's workspace, in the store query.
    Filtered,
    /// What belongs to no workspace (schedules, usage, workers, job metrics, competitors,
    /// connecting accounts): only keys of every workspace.
    Global,
    /// No sign-in needed (the sign-in page itself, assets).
    Public,
}

/// One route's rule: its method, its path as routed, the least role, the scope.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub method: &'static str,
    pub path: &'static str,
    pub role: Role,
    pub scope: Scope,
}

const fn rule(method: &'static str, path: &'static str, role: Role, scope: Scope) -> Rule {
    Rule {
        method,
        path,
        role,
        scope,
    }
}

use Role::{Admin, Operator, Viewer};
use Scope::{Account, Any, Filtered, Global, Public};

/// The JSON API, the OpenAPI document, `/metrics` and `/readyz`.
pub const API_RULES: &[Rule] = &[
    rule("GET", "/api/v1/overview", Viewer, Filtered),
    rule("GET", "/api/v1/accounts", Viewer, Filtered),
    rule("POST", "/api/v1/accounts", Admin, Filtered),
    rule("GET", "/api/v1/accounts/{id}", Viewer, Account),
    rule("PATCH", "/api/v1/accounts/{id}", Admin, Account),
    rule("DELETE", "/api/v1/accounts/{id}", Admin, Account),
    rule("POST", "/api/v1/accounts/{id}/pause", Operator, Account),
    rule("POST", "/api/v1/accounts/{id}/resume", Operator, Account),
    rule("POST", "/api/v1/accounts/{id}/sync", Operator, Account),
    rule("GET", "/api/v1/accounts/{id}/report", Viewer, Account),
    rule(
        "GET",
        "/api/v1/accounts/{id}/metrics/{metric}",
        Viewer,
        Account,
    ),
    rule("GET", "/api/v1/accounts/{id}/missing", Viewer, Account),
    rule("POST", "/api/v1/accounts/{id}/share", Admin, Account),
    rule("GET", "/api/v1/accounts/{id}/shares", Admin, Account),
    rule(
        "DELETE",
        "/api/v1/accounts/{id}/shares/{sid}",
        Admin,
        Account,
    ),
    rule("GET", "/api/v1/definitions", Viewer, Any),
    rule("GET", "/api/v1/deprecations", Viewer, Any),
    // Competitors are read through one of our accounts but are not of a workspace: their
    // list, benchmark and changes are for keys of every workspace.
    rule("GET", "/api/v1/competitors", Viewer, Global),
    rule("POST", "/api/v1/competitors", Admin, Global),
    rule("POST", "/api/v1/competitors/sync", Operator, Global),
    rule("GET", "/api/v1/competitors/benchmark", Viewer, Global),
    rule("DELETE", "/api/v1/competitors/{id}", Admin, Global),
    rule("GET", "/api/v1/alerts", Viewer, Filtered),
    rule("POST", "/api/v1/alerts/{id}/ack", Operator, Filtered),
    rule("GET", "/api/v1/jobs", Viewer, Filtered),
    rule("POST", "/api/v1/jobs/bulk", Operator, Filtered),
    rule("GET", "/api/v1/jobs/{id}", Viewer, Filtered),
    rule("DELETE", "/api/v1/jobs/{id}", Operator, Filtered),
    rule("POST", "/api/v1/jobs/{id}/retry", Operator, Filtered),
    rule("POST", "/api/v1/jobs/{id}/cancel", Operator, Filtered),
    rule("GET", "/api/v1/queue", Viewer, Filtered),
    rule("GET", "/api/v1/queue/metrics", Viewer, Global),
    rule("GET", "/api/v1/queue/workers", Viewer, Global),
    rule("GET", "/api/v1/runs", Viewer, Filtered),
    rule("GET", "/api/v1/runs/{id}", Viewer, Filtered),
    rule("GET", "/api/v1/schedules", Viewer, Global),
    rule("GET", "/api/v1/schedules/{name}", Viewer, Global),
    rule("POST", "/api/v1/schedules/{name}/pause", Admin, Global),
    rule("POST", "/api/v1/schedules/{name}/resume", Admin, Global),
    rule("POST", "/api/v1/schedules/{name}/run", Admin, Global),
    rule("GET", "/api/v1/usage", Viewer, Global),
    rule("GET", "/api/v1/keys", Admin, Filtered),
    rule("POST", "/api/v1/keys", Admin, Filtered),
    rule("DELETE", "/api/v1/keys/{id}", Admin, Filtered),
    rule("GET", "/api/v1/audit", Admin, Filtered),
    rule("GET", "/api/openapi.json", Viewer, Any),
    rule("GET", "/metrics", Viewer, Filtered),
    rule("GET", "/readyz", Viewer, Any),
];

/// The dashboard's pages and forms.
pub const PAGE_RULES: &[Rule] = &[
    rule("GET", "/login", Viewer, Public),
    rule("POST", "/login", Viewer, Public),
    rule("POST", "/logout", Viewer, Public),
    rule("GET", "/assets/{file}", Viewer, Public),
    rule("GET", "/share/{token}", Viewer, Public),
    rule("GET", "/", Viewer, Filtered),
    rule("GET", "/accounts/{id}", Viewer, Account),
    rule("POST", "/accounts/{id}/sync", Operator, Account),
    rule("POST", "/accounts/{id}/share", Admin, Account),
    rule("POST", "/accounts/{id}/shares/{sid}/revoke", Admin, Account),
    rule("GET", "/connect", Admin, Global),
    rule("GET", "/connect/start", Admin, Global),
    rule("GET", "/connect/callback", Admin, Global),
    rule("GET", "/connect/review/{id}", Admin, Global),
    rule("POST", "/connect/review/{id}", Admin, Global),
    rule("GET", "/queue", Viewer, Filtered),
    rule("GET", "/queue/live", Viewer, Filtered),
    rule("POST", "/queue/bulk", Operator, Filtered),
    rule("GET", "/queue/jobs/{id}", Viewer, Filtered),
    rule("POST", "/queue/jobs/{id}/{action}", Operator, Filtered),
    rule("GET", "/schedules", Viewer, Global),
    rule("POST", "/schedules/{name}/{action}", Admin, Global),
    rule("GET", "/alerts", Viewer, Filtered),
    rule("GET", "/competitors", Viewer, Global),
    rule("POST", "/alerts/{id}/ack", Operator, Filtered),
];

/// The rule of a request, by method and routed path (`HEAD` is judged as `GET`).
pub fn rule_for(rules: &'static [Rule], method: &Method, path: &str) -> Option<&'static Rule> {
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    rules.iter().find(|r| r.method == method && r.path == path)
}

/// What the request's key may reach.
#[derive(Debug, Clone)]
pub struct Access {
    pub key_id: String,
    pub role: Role,
    /// None: every workspace.
    pub workspace: Option<WorkspaceScope>,
}

/// The one workspace a key reaches.
#[derive(Debug, Clone)]
pub struct WorkspaceScope {
    pub id: WorkspaceId,
    pub name: String,
    pub accounts: BTreeSet<AccountId>,
}

impl<S: Send + Sync> FromRequestParts<S> for Access {
    type Rejection = AppError;

    /// The access the authorizing middleware found; a handler reached without it refuses.
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Access, AppError> {
        parts
            .extensions
            .get::<Access>()
            .cloned()
            .ok_or_else(|| AppError::Unauthorized("an API key is required".to_owned()))
    }
}

impl Access {
    /// The accounts a store query is narrowed to: this workspace's; None for a key of
    /// every workspace.
    pub fn account_set(&self) -> Option<Vec<AccountId>> {
        self.workspace
            .as_ref()
            .map(|w| w.accounts.iter().copied().collect())
    }

    /// Whether a job or run of `account` is this key's to see; one without an account
    /// (installation maintenance) only keys of every workspace see.
    pub fn sees_owned(&self, account: Option<AccountId>) -> bool {
        match (&self.workspace, account) {
            (None, _) => true,
            (Some(w), Some(a)) => w.accounts.contains(&a),
            (Some(_), None) => false,
        }
    }

    /// A bulk selection of jobs narrowed to this key's accounts.
    pub fn narrow(&self, selector: JobSelector) -> JobSelector {
        let Some(accounts) = self.account_set() else {
            return selector;
        };
        match selector {
            JobSelector::Ids(ids) => JobSelector::Filter(JobQuery {
                ids,
                accounts: Some(accounts),
                ..JobQuery::default()
            }),
            JobSelector::Filter(query) => JobSelector::Filter(JobQuery {
                accounts: Some(accounts),
                ..query
            }),
        }
    }

    /// Whether this key may see the account at all.
    pub fn sees(&self, account: AccountId) -> bool {
        self.workspace
            .as_ref()
            .is_none_or(|w| w.accounts.contains(&account))
    }

    /// The key's access, read from the store (its role and its workspace's accounts now).
    pub async fn of_key(state: &AppState, key_id: &str) -> AppResult<Access> {
        let key = state
            .store
            .api_key_get(key_id)
            .await?
            .ok_or_else(|| AppError::Unauthorized("invalid API key".to_owned()))?;
        // Read afresh on every request, so a key revoked by another process stops here at
        // once, whatever the verification cache holds.
        if key.revoked_at.is_some() {
            return Err(AppError::Unauthorized(
                "this API key has been revoked".to_owned(),
            ));
        }
        let workspace = match key.workspace_id {
            None => None,
            Some(id) => {
                // A key whose workspace is gone reaches nothing.
                let ws = state.store.workspace_get(id).await?;
                Some(WorkspaceScope {
                    id,
                    name: ws.as_ref().map(|w| w.name.clone()).unwrap_or_default(),
                    accounts: ws
                        .map(|w| w.accounts.into_iter().collect())
                        .unwrap_or_default(),
                })
            }
        };
        Ok(Access {
            key_id: key.id,
            role: key.role,
            workspace,
        })
    }
}

/// Why a request is refused, before any account is looked at (so a refusal never tells
/// whether an account exists).
fn refusal(rule: Option<&Rule>, access: &Access) -> Option<AppError> {
    let Some(rule) = rule else {
        return Some(AppError::Forbidden(
            "this route has no access rule and is refused".to_owned(),
        ));
    };
    if access.role < rule.role {
        return Some(AppError::Forbidden(format!(
            "this needs the {} role; this key has the {} role",
            rule.role, access.role
        )));
    }
    if rule.scope == Global
        && let Some(ws) = &access.workspace
    {
        return Some(AppError::Forbidden(format!(
            "this covers every workspace; this key reaches the workspace {:?} only",
            ws.name
        )));
    }
    None
}

/// The path the request was routed by (`/api/v1/accounts/{id}`), empty when none matched.
fn matched_path(req: &Request) -> String {
    req.extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default()
}

/// The raw `{id}` of the path, percent-decoded.
async fn path_id(parts: &mut axum::http::request::Parts, state: &AppState) -> Option<String> {
    let params = RawPathParams::from_request_parts(parts, state).await.ok()?;
    params
        .iter()
        .find(|(name, _)| *name == "id")
        .map(|(_, v)| v.to_owned())
}

/// Middleware of the JSON API (inside [`crate::auth::require_auth`]): the route's rule,
/// the account of an [`Scope::Account`] route, then the handler; changes are audited.
pub async fn authorize_api(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(principal) = req.extensions().get::<Principal>().cloned() else {
        return AppError::Unauthorized("an API key is required".to_owned()).into_response();
    };
    let via = match principal {
        Principal::Key { .. } => AuditVia::Api,
        Principal::Session(_) => AuditVia::Dashboard,
    };
    let access = match Access::of_key(&state, principal.key_id()).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let matched = matched_path(&req);
    let rule = rule_for(API_RULES, req.method(), &matched);
    if let Some(err) = refusal(rule, &access) {
        return err.into_response();
    }
    let (mut parts, body) = req.into_parts();
    let id = path_id(&mut parts, &state).await;
    if rule.is_some_and(|r| r.scope == Account)
        && access.workspace.is_some()
        && let Some(raw) = &id
    {
        match crate::api::accounts::account_by_ref(&state, raw).await {
            Ok(account) if access.sees(account.id) => {}
            Ok(_) => return crate::api::accounts::no_such_account(raw).into_response(),
            Err(e) => return e.into_response(),
        }
    }
    let mut req = Request::from_parts(parts, body);
    req.extensions_mut().insert(access.clone());
    audited(&state, req, next, &access, via, &matched, id).await
}

/// Middleware of the dashboard: public pages pass; a page without a session goes on to
/// its handler, which sends the browser to sign in; otherwise as [`authorize_api`], with
/// refusals as pages.
pub async fn authorize_page(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let matched = matched_path(&req);
    let rule = rule_for(PAGE_RULES, req.method(), &matched);
    if rule.is_some_and(|r| r.scope == Public) {
        return next.run(req).await;
    }
    let session = match session_from_headers(&state, req.headers()).await {
        Ok(Some(s)) => s,
        Ok(None) => return next.run(req).await,
        Err(e) => return crate::dashboard::error_page(e),
    };
    let access = match Access::of_key(&state, &session.key_id).await {
        Ok(a) => a,
        Err(e) => return crate::dashboard::error_page(e),
    };
    if let Some(err) = refusal(rule, &access) {
        return crate::dashboard::error_page(err);
    }
    let (mut parts, body) = req.into_parts();
    let id = path_id(&mut parts, &state).await;
    if rule.is_some_and(|r| r.scope == Account)
        && let Some(raw) = &id
        && let Ok(n) = raw.parse::<AccountId>()
        && !access.sees(n)
    {
        return crate::dashboard::error_page(AppError::not_found(format!("account {n} not found")));
    }
    let mut req = Request::from_parts(parts, body);
    req.extensions_mut().insert(access.clone());
    audited(
        &state,
        req,
        next,
        &access,
        AuditVia::Dashboard,
        &matched,
        id,
    )
    .await
}

/// Runs the handler; a change (an unsafe method) is written to the audit log with its
/// answer's status. A failure to write it is logged, and the answer stands.
async fn audited(
    state: &AppState,
    req: Request,
    next: Next,
    access: &Access,
    via: AuditVia,
    matched: &str,
    target: Option<String>,
) -> Response {
    let change = !req.method().is_safe();
    if !change {
        return next.run(req).await;
    }
    let action = format!("{} {matched}", req.method());
    let source = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let res = next.run(req).await;
    let entry = NewAuditEntry {
        at: state.clock.now(),
        actor: format!("key:{}", access.key_id),
        via,
        source,
        action,
        target,
        outcome: Some(i32::from(res.status().as_u16())),
    };
    if let Err(e) = state.store.audit_insert(entry).await {
        tracing::warn!(error = %e, "could not write an audit entry");
    }
    res
}
