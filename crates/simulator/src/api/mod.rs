//! The Graph API itself, independent of HTTP plumbing: parses a request (method, path,
//! parameters, token), applies versions, tokens and rate limits, routes it to a node, an
//! edge, a multi-ID read or a batch, and produces the status, JSON body and usage headers.
//!
//! Multi-ID reads (`GET /?ids=a,b` and `GET /{edge}?ids=a,b`): request-level problems (bad
//! or unsupported metric or field, token, rate limit) fail the whole request; object-level
//! problems (media posted before the business conversion, subcode 2108006; deleted or
//! unknown media, subcode 33; a story with too few viewers; album children; expired
//! stories) appear inside that id's entry as `{"error": {...}}` while the other ids succeed.
//! With the edges on (`SimConfig::edges`) the simulator answers as Meta does instead: the
//! first failing id fails the whole request with its error (`(#803)` for an id that names
//! nothing), so a client must split the batch to isolate it (docs/graph-api-edges.md).
//!
//! Tokens minted by the login flows carry a [`Grant`]: a Facebook login user's token reads
//! every account the user owns, and a declined scope refuses the calls that need it.

mod auth;
mod batch;
mod discovery;
mod edges;
mod insights;
mod nodes;
pub(crate) mod params;
mod subscriptions;
mod token;

use std::cell::Cell;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::budget::Verdict;
use crate::catalog::MetricCtx;
use crate::error::ApiError;
use crate::state::{Grant, Obj, SimState};
use crate::time::fmt_ts;
use crate::version::ApiVersion;
use crate::world::LoginKind;

use token::authenticate;
pub(crate) use token::{Auth, Scope, meta_time};

pub(crate) use insights::{media_insight_values, media_target, timeframe_days};
pub(crate) use params::Params;

/// The most ids in one multi-ID read and operations in one batch.
pub(crate) const MAX_IDS: usize = 50;

/// HTTP methods the API distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Delete,
    Other,
}

impl Method {
    pub(crate) fn parse(s: &str) -> Method {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "DELETE" => Method::Delete,
            _ => Method::Other,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
            Method::Delete => "delete",
            Method::Other => "unknown",
        }
    }
}

/// A complete HTTP answer of the API.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) headers: Vec<(&'static str, String)>,
}

/// The result of one operation (a request, or one operation of a batch).
#[derive(Debug, Clone)]
struct OpResult {
    status: u16,
    body: Value,
    acct: Option<usize>,
    version: ApiVersion,
    trace: String,
    error_code: Option<u32>,
}

/// Handles one HTTP request to the API (control endpoints excluded).
pub(crate) fn handle(
    st: &SimState,
    method: Method,
    path: &str,
    query: &str,
    form_body: Option<&str>,
    header_token: Option<String>,
    seq: u64,
) -> Reply {
    st.stats().request();
    let mut params = Params::parse(query);
    if let Some(body) = form_body {
        params.extend(Params::parse(body));
    }
    let trimmed = path.trim_matches('/');
    if method == Method::Post && trimmed == "oauth/access_token" {
        return instagram_code_exchange(st, &params, seq);
    }
    let is_root = trimmed.is_empty()
        || (trimmed.starts_with('v') && !trimmed.contains('/') && looks_like_version(trimmed));
    if method == Method::Post && is_root {
        return batch::batch(st, trimmed, &params, header_token, seq);
    }
    let res = run_op(
        st,
        method,
        path,
        &params,
        header_token.as_deref(),
        None,
        seq,
        0,
    );
    let headers = usage_headers(st, res.acct, res.version, &res.trace, res.error_code);
    Reply {
        status: res.status,
        body: res.body.to_string(),
        headers,
    }
}

/// `POST /oauth/access_token` (api.instagram.com): answers in that host's JSON shape.
fn instagram_code_exchange(st: &SimState, params: &Params, seq: u64) -> Reply {
    let now = st.now();
    let trace = st.trace_id(seq, 0);
    let version = st.config.default_version;
    let res = auth::ig_code_exchange(st, params, now);
    let acct = res.as_ref().ok().map(|(a, _)| *a);
    let mut stats = st.stats();
    stats.call("POST /oauth/access_token", acct);
    stats.units(acct, 1);
    drop(stats);
    match res {
        Ok((_, body)) => Reply {
            status: 200,
            body: body.to_string(),
            headers: usage_headers(st, acct, version, &trace, None),
        },
        Err(message) => {
            st.stats().error(400);
            Reply {
                status: 400,
                body:
                    json!({ "error_type": "OAuthException", "code": 400, "error_message": message })
                        .to_string(),
                headers: usage_headers(st, None, version, &trace, None),
            }
        }
    }
}

fn looks_like_version(seg: &str) -> bool {
    seg.len() > 1 && seg.starts_with('v') && seg.as_bytes()[1].is_ascii_digit()
}

/// Parses an optional version prefix; returns (effective version, version to write in
/// links, remaining segments).
fn split_version<'p>(
    st: &SimState,
    path: &'p str,
    fallback: Option<ApiVersion>,
    now: i64,
) -> Result<(ApiVersion, ApiVersion, Vec<&'p str>), ApiError> {
    let mut segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let now_utc = crate::time::to_utc(now);
    let requested = match segs.first() {
        Some(first) if looks_like_version(first) => {
            let v: ApiVersion = first
                .parse()
                .map_err(|_| ApiError::unknown_version(first))?;
            if !v.is_released(now_utc) {
                return Err(ApiError::unknown_version(first));
            }
            segs.remove(0);
            v
        }
        _ => {
            let v = fallback.unwrap_or(st.config.default_version);
            if v.is_released(now_utc) {
                v
            } else {
                ApiVersion::latest_at(now_utc)
            }
        }
    };
    Ok((requested.effective(now_utc), requested, segs))
}

/// What a path asks for.
#[derive(Debug, Clone)]
enum Route {
    MultiNode(Vec<String>),
    MultiEdge(String, Vec<String>),
    Node(String),
    Edge(String, String),
    FbExchange,
    IgRefresh,
    IgExchange,
    DebugToken,
}

fn parse_ids(raw: &str) -> Result<Vec<String>, ApiError> {
    let mut ids: Vec<String> = Vec::new();
    for id in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !ids.iter().any(|x| x == id) {
            ids.push(id.to_owned());
        }
    }
    if ids.is_empty() {
        return Err(ApiError::param(
            "The parameter ids is required and must list at least one id",
        ));
    }
    if ids.len() > MAX_IDS {
        return Err(ApiError::param(format!(
            "Too many IDs. Maximum: {MAX_IDS}. Actual: {}",
            ids.len()
        )));
    }
    Ok(ids)
}

fn route(
    method: Method,
    segs: &[&str],
    params: &Params,
    raw_path: &str,
) -> Result<Route, ApiError> {
    let ids = params.get("ids");
    let r = match segs {
        [] => match ids {
            Some(raw) => Route::MultiNode(parse_ids(raw)?),
            None => return Err(ApiError::param("The parameter ids is required")),
        },
        ["oauth", "access_token"] => Route::FbExchange,
        ["refresh_access_token"] => Route::IgRefresh,
        ["access_token"] => Route::IgExchange,
        ["debug_token"] => Route::DebugToken,
        [edge] if ids.is_some() && !edge.bytes().all(|b| b.is_ascii_digit()) && *edge != "me" => {
            Route::MultiEdge((*edge).to_owned(), parse_ids(ids.unwrap_or_default())?)
        }
        [id] => Route::Node((*id).to_owned()),
        [id, edge] => Route::Edge((*id).to_owned(), (*edge).to_owned()),
        _ => {
            return Err(ApiError::unknown_path(&format!(
                "/{}",
                raw_path.trim_matches('/')
            )));
        }
    };
    let writable = matches!(&r, Route::Edge(_, edge) if edge == "subscribed_apps")
        && matches!(method, Method::Post | Method::Delete);
    if method != Method::Get && !writable {
        let id = match &r {
            Route::Node(id) | Route::Edge(id, _) => id.clone(),
            _ => String::new(),
        };
        return Err(ApiError::no_object(method.word(), &id));
    }
    Ok(r)
}

/// The request context of one operation with a valid token.
pub(crate) struct Ctx<'a> {
    pub(crate) st: &'a SimState,
    pub(crate) version: ApiVersion,
    pub(crate) url_version: ApiVersion,
    pub(crate) now: i64,
    pub(crate) acct: usize,
    pub(crate) login: LoginKind,
    pub(crate) token: String,
    pub(crate) extra_units: Cell<u64>,
    pub(crate) endpoint: Cell<&'static str>,
    /// The permissions of a token minted by a login flow (`None`: a seeded token).
    pub(crate) grant: Option<Arc<Grant>>,
    /// Whether the real Graph API's edges are on for this request.
    pub(crate) edges: bool,
}

impl Ctx<'_> {
    pub(crate) fn metric_ctx(&self) -> MetricCtx {
        MetricCtx {
            version: self.version,
            now: self.now,
            login: self.login,
            edges: self.edges,
        }
    }

    /// Refuses the call unless the token holds `scope` (seeded tokens hold every scope).
    pub(crate) fn require(&self, scope: Scope) -> Result<(), ApiError> {
        match &self.grant {
            Some(g) if !g.has(scope.name(self.login)) => Err(ApiError::permission_missing()),
            _ => Ok(()),
        }
    }

    /// Absolute URL of an API path with a query, for paging links.
    pub(crate) fn url(&self, path: &str, params: &Params) -> String {
        let base = self
            .st
            .base_url
            .get()
            .map_or("http://127.0.0.1", String::as_str);
        format!(
            "{base}/{}/{}?{}",
            self.url_version,
            path.trim_matches('/'),
            params.to_query()
        )
    }

    /// Whether a metric the request names is withdrawn (counted: the request is refused).
    pub(crate) fn is_withdrawn(&self, metric: &str) -> bool {
        let gone = self.st.is_withdrawn(metric, self.version);
        if gone {
            self.st.stats().withdrawn_refusal(metric);
        }
        gone
    }
}

#[allow(clippy::too_many_arguments)] // The plain inputs of one operation; a struct would only rename them.
fn run_op(
    st: &SimState,
    method: Method,
    path: &str,
    params: &Params,
    header_token: Option<&str>,
    batch_version: Option<ApiVersion>,
    seq: u64,
    op: u64,
) -> OpResult {
    let trace = st.trace_id(seq, op);
    let now = st.now();
    let mut version = batch_version.unwrap_or(st.config.default_version);
    let mut acct = None;
    let mut endpoint: &'static str = "unknown";
    let mut units = 1u64;
    let mut extra = 0u64;
    let result = (|| -> Result<Value, ApiError> {
        let (v, url_v, segs) = split_version(st, path, batch_version, now)?;
        version = v;
        let route = route(method, &segs, params, path)?;
        let token = params.get("access_token").or(header_token);
        match &route {
            Route::FbExchange => {
                endpoint = "GET /oauth/access_token";
                let (a, body) = auth::fb_exchange(st, params, now)?;
                acct = Some(a);
                charge(st, acct, 1)?;
                return Ok(body);
            }
            Route::IgRefresh | Route::IgExchange => {
                endpoint = if matches!(route, Route::IgRefresh) {
                    "GET /refresh_access_token"
                } else {
                    "GET /access_token"
                };
                let a = authenticate(st, token, params, now)?;
                acct = Some(a.acct);
                charge(st, acct, 1)?;
                return auth::ig_refresh(st, &a, params, now, matches!(route, Route::IgExchange));
            }
            Route::DebugToken => {
                endpoint = "GET /debug_token";
                let (a, body) = auth::debug_token(st, token, params, now)?;
                acct = a;
                charge(st, acct, 1)?;
                return Ok(body);
            }
            _ => {}
        }
        let a = authenticate(st, token, params, now)?;
        // A login user's token reads every account the user owns: the call is the target
        // account's.
        let target = owned_target(st, &a, &route, now);
        acct = Some(target);
        if let Route::MultiNode(ids) | Route::MultiEdge(_, ids) = &route {
            units = ids.len() as u64;
        }
        charge(st, acct, units)?;
        let ctx = Ctx {
            st,
            version: v,
            url_version: url_v,
            now,
            acct: target,
            login: a.login,
            token: a.token,
            extra_units: Cell::new(0),
            endpoint: Cell::new("unknown"),
            grant: a.grant,
            edges: st.edges(),
        };
        let res = execute(&ctx, &route, params, method);
        endpoint = ctx.endpoint.get();
        extra = ctx.extra_units.get();
        res
    })();
    let mut stats = st.stats();
    stats.call(endpoint, acct);
    stats.units(acct, units + extra);
    drop(stats);
    if extra > 0 {
        let pct = {
            let mut b = st.budgets();
            b.add(acct, extra);
            acct.map(|a| (a, b.account_pct(a)))
        };
        if let Some((a, pct)) = pct {
            st.stats().usage_seen(a, pct);
        }
    }
    match result {
        Ok(body) => {
            count_entry_errors(st, &body);
            OpResult {
                status: 200,
                body,
                acct,
                version,
                trace,
                error_code: None,
            }
        }
        Err(e) => {
            let mut stats = st.stats();
            stats.error(e.code);
            if matches!(e.code, 80002 | 4) {
                stats.throttled();
            }
            OpResult {
                status: e.status,
                body: e.body(&trace),
                acct,
                version,
                trace,
                error_code: Some(e.code),
            }
        }
    }
}

/// Counts the per-id errors of a multi-ID answer.
fn count_entry_errors(st: &SimState, body: &Value) {
    let Value::Object(map) = body else { return };
    if map.contains_key("data") {
        return;
    }
    let mut stats = st.stats();
    for v in map.values() {
        if let Some(code) = v
            .get("error")
            .and_then(|e| e.get("code"))
            .and_then(Value::as_u64)
        {
            stats.error(code as u32);
        }
    }
}

fn charge(st: &SimState, acct: Option<usize>, units: u64) -> Result<(), ApiError> {
    let (verdict, pct) = {
        let mut b = st.budgets();
        let verdict = b.charge(acct, units);
        (verdict, acct.map(|a| (a, b.account_pct(a))))
    };
    if let Some((a, pct)) = pct {
        st.stats().usage_seen(a, pct);
    }
    match verdict {
        Verdict::Allowed => Ok(()),
        Verdict::AccountExhausted => Err(ApiError::buc_throttled()),
        Verdict::AppExhausted => Err(ApiError::app_throttled()),
    }
}

/// The account a call made with a login user's token is about: the account of the object it
/// names when the user owns it, else the token's own account.
fn owned_target(st: &SimState, a: &Auth, route: &Route, now: i64) -> usize {
    let Some(u) = a.grant.as_ref().and_then(|g| g.user) else {
        return a.acct;
    };
    let first = match route {
        Route::Node(id) | Route::Edge(id, _) => Some(id.as_str()),
        Route::MultiNode(ids) | Route::MultiEdge(_, ids) => ids.first().map(String::as_str),
        _ => None,
    };
    first
        .filter(|id| *id != "me")
        .and_then(|id| st.resolve(id, now))
        .and_then(|o| o.account())
        .filter(|acct| st.logins.owns(u, *acct))
        .unwrap_or(a.acct)
}

/// Whether the token may read objects of account `acct`.
fn may_read(ctx: &Ctx<'_>, obj: Obj) -> bool {
    match (&ctx.grant, obj) {
        (Some(g), Obj::BarePage(u)) => g.user == Some(u),
        (Some(g), _) if g.bare_page => false,
        (Some(g), Obj::LoginUser(u)) => g.user == Some(u),
        (_, obj) => match obj.account() {
            Some(acct) => {
                acct == ctx.acct
                    || ctx
                        .grant
                        .as_ref()
                        .and_then(|g| g.user)
                        .is_some_and(|u| ctx.st.logins.owns(u, acct))
            }
            None => false,
        },
    }
}

/// Resolves `me` or an id to an object the token may read.
fn resolve_for(ctx: &Ctx<'_>, id: &str, method: Method) -> Result<Obj, ApiError> {
    if id == "me" {
        if let Some(g) = &ctx.grant
            && let Some(u) = g.user
        {
            return Ok(if g.bare_page {
                Obj::BarePage(u)
            } else {
                Obj::LoginUser(u)
            });
        }
        return Ok(match ctx.login {
            LoginKind::Facebook => Obj::FbUser(ctx.acct),
            LoginKind::Instagram => {
                ctx.require(Scope::Basic)?;
                Obj::User {
                    acct: ctx.acct,
                    app_scoped: true,
                }
            }
        });
    }
    match ctx.st.resolve(id, ctx.now) {
        Some(obj) if may_read(ctx, obj) => {
            if matches!(obj, Obj::User { .. } | Obj::Media(_)) {
                ctx.require(Scope::Basic)?;
            }
            Ok(obj)
        }
        None if ctx.edges && !ctx.st.id_exists(id) => Err(ApiError::alias_unknown(id)),
        _ => Err(ApiError::no_object(method.word(), id)),
    }
}

fn execute(
    ctx: &Ctx<'_>,
    route: &Route,
    params: &Params,
    method: Method,
) -> Result<Value, ApiError> {
    match route {
        Route::Edge(id, edge) if edge == "subscribed_apps" => {
            let obj = resolve_for(ctx, id, method)?;
            ctx.endpoint.set(match method {
                Method::Post => "POST /{ig-user-id}/subscribed_apps",
                Method::Delete => "DELETE /{ig-user-id}/subscribed_apps",
                _ => "GET /{ig-user-id}/subscribed_apps",
            });
            subscriptions::subscribed_apps(ctx, obj, method, params)
        }
        Route::Node(id) => {
            let obj = resolve_for(ctx, id, Method::Get)?;
            ctx.endpoint.set(node_label(id, obj));
            let fields = nodes::parse_fields(params.get("fields"))?;
            nodes::render(ctx, obj, fields.as_deref())
        }
        Route::Edge(id, edge) => {
            let obj = resolve_for(ctx, id, Method::Get)?;
            ctx.endpoint.set(edge_label(id, obj, edge));
            edges::edge(ctx, obj, id, edge, params)
        }
        Route::MultiNode(ids) => {
            ctx.endpoint.set("GET /?ids");
            let fields = nodes::parse_fields(params.get("fields"))?;
            multi(ctx, ids, |id| {
                let obj = resolve_for(ctx, id, Method::Get)?;
                nodes::render(ctx, obj, fields.as_deref())
            })
        }
        Route::MultiEdge(edge, ids) => {
            ctx.endpoint.set(match edge.as_str() {
                "insights" => "GET /insights?ids",
                "media" => "GET /media?ids",
                "stories" => "GET /stories?ids",
                "children" => "GET /children?ids",
                _ => "GET /{edge}?ids",
            });
            multi(ctx, ids, |id| {
                let obj = resolve_for(ctx, id, Method::Get)?;
                edges::edge(ctx, obj, id, edge, params)
            })
        }
        Route::FbExchange | Route::IgRefresh | Route::IgExchange | Route::DebugToken => {
            Err(ApiError::unknown_path("/"))
        }
    }
}

/// Runs `one` per id: object-level errors go in the id's entry, anything else fails all.
/// With the edges on, the first failing id fails the whole request, as Meta answers.
fn multi(
    ctx: &Ctx<'_>,
    ids: &[String],
    mut one: impl FnMut(&str) -> Result<Value, ApiError>,
) -> Result<Value, ApiError> {
    let mut out = Map::new();
    for id in ids {
        match one(id) {
            Ok(v) => {
                out.insert(id.clone(), v);
            }
            Err(e) if e.object_level && !ctx.edges => {
                let trace = ctx.st.trace_id(ctx.now as u64, crate::hash::hs(id));
                out.insert(id.clone(), json!({ "error": e.inner(&trace) }));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Value::Object(out))
}

fn node_label(id: &str, obj: Obj) -> &'static str {
    if id == "me" {
        return "GET /me";
    }
    match obj {
        Obj::User { .. } => "GET /{ig-user-id}",
        Obj::Page(_) => "GET /{page-id}",
        Obj::FbUser(_) | Obj::LoginUser(_) => "GET /{fb-user-id}",
        Obj::Media(_) => "GET /{ig-media-id}",
        Obj::BarePage(_) => "GET /{page-id}",
    }
}

fn edge_label(id: &str, obj: Obj, edge: &str) -> &'static str {
    match (obj, edge) {
        (Obj::FbUser(_) | Obj::LoginUser(_), "accounts") if id == "me" => "GET /me/accounts",
        (Obj::FbUser(_) | Obj::LoginUser(_), "accounts") => "GET /{fb-user-id}/accounts",
        (Obj::FbUser(_) | Obj::LoginUser(_), "permissions") => "GET /me/permissions",
        (Obj::User { .. }, "media") => "GET /{ig-user-id}/media",
        (Obj::User { .. }, "stories") => "GET /{ig-user-id}/stories",
        (Obj::User { .. }, "insights") => "GET /{ig-user-id}/insights",
        (Obj::Media(_), "insights") => "GET /{ig-media-id}/insights",
        (Obj::Media(_), "children") => "GET /{ig-media-id}/children",
        _ => "GET /{id}/{unknown-edge}",
    }
}

/// `facebook-api-version`, `x-fb-trace-id`, `X-App-Usage`, and `X-Business-Use-Case-Usage`
/// when the call is tied to an account.
fn usage_headers(
    st: &SimState,
    acct: Option<usize>,
    version: ApiVersion,
    trace: &str,
    error_code: Option<u32>,
) -> Vec<(&'static str, String)> {
    let budgets = st.budgets();
    let app = budgets.app_pct();
    let mut h = vec![
        ("facebook-api-version", version.as_str().to_owned()),
        ("x-fb-trace-id", trace.to_owned()),
        (
            "x-app-usage",
            json!({ "call_count": app, "total_cputime": app / 2, "total_time": app * 2 / 3 })
                .to_string(),
        ),
    ];
    if let Some(a) = acct {
        let u = budgets.account_usage(a);
        let id = st.world.accounts[a].ig_user_id.clone();
        let mut m = Map::new();
        m.insert(
            id,
            json!([{
                "type": "instagram",
                "call_count": u.call_pct,
                "total_cputime": u.call_pct / 2,
                "total_time": u.call_pct * 2 / 3,
                "estimated_time_to_regain_access": u.regain_minutes,
            }]),
        );
        h.push(("x-business-use-case-usage", Value::Object(m).to_string()));
    }
    if error_code == Some(190) {
        h.push((
            "www-authenticate",
            "OAuth \"Facebook Platform\" \"invalid_token\"".to_owned(),
        ));
    }
    h
}

/// Formats a Unix time for JSON bodies.
pub(crate) fn ts(t: i64) -> Value {
    Value::from(fmt_ts(t))
}

/// The reply of an injected error fault. Rate-limit storms report a full budget and a time
/// to regain access for the token's account.
pub(crate) fn fault_reply(
    st: &SimState,
    e: &ApiError,
    path: &str,
    query: &str,
    header_token: Option<&str>,
    seq: u64,
    storm_regain_minutes: Option<u64>,
) -> Reply {
    st.stats().request();
    let trace = st.trace_id(seq, 0);
    let now = st.now();
    let version = split_version(st, path, None, now).map_or(st.config.default_version, |v| v.0);
    let params = Params::parse(query);
    let acct = params
        .get("access_token")
        .or(header_token)
        .and_then(|t| st.token(t))
        .map(|r| r.acct);
    let mut headers = usage_headers(st, acct, version, &trace, Some(e.code));
    if let (Some(minutes), Some(a)) = (storm_regain_minutes, acct) {
        let id = st.world.accounts[a].ig_user_id.clone();
        let mut m = Map::new();
        m.insert(
            id,
            json!([{
                "type": "instagram",
                "call_count": 100,
                "total_cputime": 50,
                "total_time": 66,
                "estimated_time_to_regain_access": minutes,
            }]),
        );
        headers.retain(|(n, _)| *n != "x-business-use-case-usage");
        headers.push(("x-business-use-case-usage", Value::Object(m).to_string()));
    }
    st.stats().error(e.code);
    Reply {
        status: e.status,
        body: e.body(&trace).to_string(),
        headers,
    }
}

/// Renders a node with explicit fields (used by the ground truth).
pub(crate) fn render_node(
    ctx: &Ctx<'_>,
    obj: Obj,
    fields: &[crate::fields::Field],
) -> Result<Value, ApiError> {
    nodes::render(ctx, obj, Some(fields))
}
