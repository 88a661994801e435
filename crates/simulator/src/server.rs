//! HTTP plumbing: the axum router (API fallback plus `/__sim/*` control endpoints), fault
//! injection and latency around each API request, and the [`SimServer`] handle.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method as HttpMethod, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::{self, Method, Reply};
use crate::config::{FaultKind, FaultMix, SimConfig};
use crate::control::{self, delete_media, revise, stats_of, withdraw};
use crate::dialog::{self, LoginAuto};
use crate::fault;
use crate::listener::{ConnHandle, SimListener};
use crate::login::LoginUser;
use crate::state::{SimAccount, SimState};
use crate::stats::SimStats;
use crate::truth::{self, GroundTruth};
use crate::version::ApiVersion;
use crate::webhooks::{self, WebhookConfig, WebhookDelivery, WebhookError, WebhookEvent};

/// A running simulator.
#[derive(Debug)]
pub struct SimServer {
    state: Arc<SimState>,
    url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SimServer {
    /// Generates the world and starts serving on `addr` (port 0 picks a free port).
    pub async fn start(config: SimConfig, addr: SocketAddr) -> std::io::Result<SimServer> {
        config
            .validate()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let host = if local.ip().is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            local.ip()
        };
        let url = format!("http://{}", SocketAddr::new(host, local.port()));
        let state = Arc::new(SimState::new(config));
        let _ = state.base_url.set(url.clone());
        let app = router(state.clone()).into_make_service_with_connect_info::<ConnHandle>();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve =
                axum::serve(SimListener::new(listener), app).with_graceful_shutdown(async {
                    let _ = rx.await;
                });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "simulator server stopped");
            }
        });
        tracing::info!(%url, accounts = state.world.accounts.len(), "Graph API simulator listening");
        Ok(SimServer {
            state,
            url,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Every account with its current token and counters.
    pub fn accounts(&self) -> Vec<SimAccount> {
        self.state.accounts()
    }

    /// Counters since start or the last reset.
    pub fn stats(&self) -> SimStats {
        stats_of(&self.state)
    }

    /// Resets the counters (budgets are kept; `POST /__sim/reset` resets both).
    pub fn reset_stats(&self) {
        self.state.reset_stats();
    }

    /// Resets the rate-limit budgets.
    pub fn reset_budgets(&self) {
        self.state.budgets().reset();
    }

    /// The simulated now.
    pub fn now(&self) -> DateTime<Utc> {
        self.state.now_utc()
    }

    /// Moves the simulated clock forward (negative durations are ignored).
    pub fn advance_clock(&self, by: chrono::Duration) {
        self.state.advance(by);
    }

    /// Changes fault injection from now on.
    pub fn set_faults(&self, rate: f64, mix: FaultMix) {
        let mut m = self.state.write();
        m.fault_rate = rate.clamp(0.0, 1.0);
        m.fault_mix = mix;
    }

    /// Aims fault injection at the requests whose path ends with `suffix` (e.g. `/media`,
    /// an account's listing of posts); `None` aims it at every request again.
    pub fn set_fault_path(&self, suffix: Option<&str>) {
        self.state.write().fault_path = suffix.map(str::to_owned);
    }

    /// Expires every token of the account: the next calls get 190 / 463.
    pub fn expire_token(&self, ig_user_id: &str) {
        if let Some(acct) = self.state.account_index(ig_user_id) {
            self.state.expire_tokens(acct);
        }
    }

    /// Refuses one breakdown of a metric from now on (e.g. `follower_demographics` by
    /// `city`, or by `age,gender`): requests for it answer Meta's generic code 1 "An unknown
    /// error has occurred.", as for a breakdown the metric does not support.
    pub fn refuse_breakdown(&self, metric: &str, breakdown: &str) {
        self.state
            .write()
            .refused_breakdowns
            .insert((metric.trim().to_owned(), breakdown.trim().to_owned()));
    }

    /// Withdraws a metric from now on: requests naming it fail as after a Meta deprecation.
    pub fn remove_metric(&self, metric: &str) {
        self.state
            .write()
            .removed_metrics
            .insert(metric.trim().to_owned());
    }

    /// Withdraws a metric from now on for calls served by `version` and every later version
    /// (earlier versions keep serving it), as Meta deprecates "from version N on".
    pub fn withdraw_metric(&self, metric: &str, version: ApiVersion) {
        withdraw(&self.state, metric, Some(version));
    }

    /// Switches the real Graph API's edges on or off from now on (see [`SimConfig::edges`]).
    pub fn set_edges(&self, on: bool) {
        self.state.write().edges = on;
    }

    /// Whether the real Graph API's edges are on.
    pub fn edges(&self) -> bool {
        self.state.edges()
    }

    /// Revises one account day from now on: every value of the day (breakdowns included) is
    /// scaled by `factor`, as when Meta corrects numbers after the fact. `date` defaults to
    /// yesterday (Pacific). Returns the revised day, or `None` for an unknown account or a
    /// factor outside 0.5..=2.0.
    pub fn revise_day(
        &self,
        ig_user_id: &str,
        date: Option<NaiveDate>,
        factor: f64,
    ) -> Option<NaiveDate> {
        revise(&self.state, ig_user_id, date, factor).ok()
    }

    /// Deletes a post or story: it disappears from listings and its id answers subcode 33.
    /// Returns whether the id was a known post or story.
    pub fn delete_media(&self, media_id: &str) -> bool {
        delete_media(&self.state, media_id)
    }

    /// The people who can run the login flows, with the Pages and accounts they own.
    pub fn login_users(&self) -> Vec<LoginUser> {
        self.state.logins.public(&self.state.world)
    }

    /// The Meta app id the login flows expect as `client_id`.
    pub fn app_id(&self) -> String {
        self.state.app_id.clone()
    }

    /// The app secret the code exchanges expect and webhooks are signed with.
    pub fn app_secret(&self) -> String {
        self.state.app_secret.clone()
    }

    /// Makes every login dialog consent (or cancel) at once from now on; `None` shows the
    /// consent page again.
    pub fn set_login_auto(&self, auto: Option<LoginAuto>) {
        self.state.write().login_auto = auto;
    }

    /// Verifies the callback (Meta's handshake) and starts delivering webhook notifications
    /// of the subscribed accounts (`POST /{ig-user-id}/subscribed_apps`), driven by the
    /// simulated clock. Replaces a running sender.
    pub async fn start_webhooks(&self, config: WebhookConfig) -> Result<(), WebhookError> {
        webhooks::start(&self.state, config).await
    }

    /// Stops delivering webhooks (what was sent stays in the log).
    pub async fn stop_webhooks(&self) {
        self.state.hub.stop().await;
    }

    /// Delivers every notification due at the simulated now and waits for the attempts to
    /// finish (the sender also runs on its own; this makes a test's step deterministic).
    pub async fn flush_webhooks(&self) {
        webhooks::deliver_due(&self.state).await;
    }

    /// Every delivery attempt so far, in order.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.state.hub.deliveries()
    }

    /// Every notification the sender owes so far, with its delivery state.
    pub async fn webhook_events(&self) -> Vec<WebhookEvent> {
        self.state.hub.events(&self.state).await
    }

    /// What a correct sync of the account must have stored at the simulated now.
    pub fn ground_truth(&self, ig_user_id: &str, version: ApiVersion) -> Option<GroundTruth> {
        truth::ground_truth(&self.state, ig_user_id, version)
    }

    /// The public accounts that are not ours (competitors for Business Discovery), as
    /// Business Discovery serves them at the simulated now.
    pub fn competitors(&self) -> Vec<crate::CompetitorTruth> {
        let now = self.state.now();
        self.state
            .competitors
            .iter()
            .map(|c| c.truth(now))
            .collect()
    }

    /// One public account at the simulated now, by username.
    pub fn competitor_truth(&self, username: &str) -> Option<crate::CompetitorTruth> {
        let now = self.state.now();
        self.state
            .competitors
            .iter()
            .find(|c| c.username.eq_ignore_ascii_case(username))
            .map(|c| c.truth(now))
    }

    /// The labelled anomalies injected into the history's account insights (empty unless
    /// [`crate::SimConfig::anomalies`]).
    pub fn injected_anomalies(&self) -> Vec<crate::InjectedAnomaly> {
        crate::shape::injected_anomalies(&self.state.world)
    }

    /// Stops serving (in-flight requests get a moment to finish).
    pub async fn shutdown(mut self) {
        self.stop().await;
    }

    async fn stop(&mut self) {
        self.state.hub.stop().await;
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            // Held (timeout-fault) and keep-alive connections would delay a graceful stop.
            if tokio::time::timeout(std::time::Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.state.hub.abort();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Starts a simulator and serves until Ctrl-C.
pub async fn serve(config: SimConfig, addr: SocketAddr) -> std::io::Result<()> {
    let server = SimServer::start(config, addr).await?;
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}

/// The router: control endpoints, everything else is the Graph API.
fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .merge(control::routes())
        .route("/dialog/oauth", get(fb_dialog).post(fb_dialog))
        .route(
            "/{version}/dialog/oauth",
            get(fb_dialog_v).post(fb_dialog_v),
        )
        .route("/oauth/authorize", get(ig_dialog).post(ig_dialog))
        .fallback(api_handler)
        .with_state(state)
}

fn page_response(p: dialog::Page) -> Response {
    let mut resp = Response::new(Body::from(p.html));
    *resp.status_mut() = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(loc) = p.location
        && let Ok(v) = HeaderValue::from_str(&loc)
    {
        h.insert(header::LOCATION, v);
    }
    resp
}

fn form_of(method: &HttpMethod, body: &Bytes) -> Option<String> {
    (*method == HttpMethod::POST).then(|| String::from_utf8_lossy(body).into_owned())
}

async fn fb_dialog(
    State(st): State<Arc<SimState>>,
    method: HttpMethod,
    uri: Uri,
    body: Bytes,
) -> Response {
    let form = form_of(&method, &body);
    page_response(dialog::facebook(
        &st,
        uri.path(),
        uri.query().unwrap_or(""),
        form.as_deref(),
    ))
}

async fn fb_dialog_v(
    State(st): State<Arc<SimState>>,
    Path(version): Path<String>,
    method: HttpMethod,
    uri: Uri,
    body: Bytes,
) -> Response {
    let released = version
        .parse::<ApiVersion>()
        .is_ok_and(|v| v.is_released(st.now_utc()));
    if !released {
        return page_response(dialog::Page {
            status: 404,
            location: None,
            html: format!(
                "<!doctype html><html><body><h1>Page not found</h1><p>{} is not a Graph API version served here.</p></body></html>",
                dialog::escape(&version)
            ),
        });
    }
    fb_dialog(State(st), method, uri, body).await
}

async fn ig_dialog(
    State(st): State<Arc<SimState>>,
    method: HttpMethod,
    uri: Uri,
    body: Bytes,
) -> Response {
    let form = form_of(&method, &body);
    page_response(dialog::instagram(
        &st,
        uri.query().unwrap_or(""),
        form.as_deref(),
    ))
}

fn header_token(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    matches!(scheme.to_ascii_lowercase().as_str(), "bearer" | "oauth")
        .then(|| token.trim().to_owned())
}

/// Turns a JSON object body into form parameters (values that are not strings are sent as
/// their JSON text, as the Graph API expects for `batch`).
fn json_body_to_form(body: &[u8]) -> Option<String> {
    let Value::Object(map) = serde_json::from_slice::<Value>(body).ok()? else {
        return None;
    };
    let mut p = api::params::Params::default();
    for (k, v) in map {
        let s = match v {
            Value::String(s) => s,
            other => other.to_string(),
        };
        p.set(&k, s);
    }
    Some(p.to_query())
}

async fn api_handler(
    State(st): State<Arc<SimState>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    method: HttpMethod,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seq = st.next_seq();
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or("").to_owned();
    let token = header_token(&headers);
    let kind = fault::decide(&st, seq, &path);
    if let Some(k) = kind {
        st.stats().fault(k);
    }
    match kind {
        Some(FaultKind::DroppedConnection) => {
            st.stats().request();
            conn.kill();
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Some(FaultKind::Timeout) => {
            st.stats().request();
            tokio::time::sleep(st.config.timeout_hold).await;
            conn.kill();
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        _ => {}
    }
    // Counted from here (latency included) to the answer, per account of the token.
    let _in_flight = InFlight::start(&st, token.as_deref(), &query, &body);
    let delay = fault::latency(&st, seq);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let reply = match kind {
        Some(FaultKind::ServerError) => {
            let e = fault::server_error(&st, seq);
            api::fault_reply(&st, &e, &path, &query, token.as_deref(), seq, None)
        }
        Some(FaultKind::TransientError) => {
            let e = crate::error::ApiError::transient_error();
            api::fault_reply(&st, &e, &path, &query, token.as_deref(), seq, None)
        }
        Some(FaultKind::RateLimitStorm) => {
            let e = fault::storm_error(&st, seq);
            let minutes = fault::storm_regain_minutes(&st, seq);
            api::fault_reply(&st, &e, &path, &query, token.as_deref(), seq, Some(minutes))
        }
        _ => {
            let form = if method == HttpMethod::POST && !body.is_empty() {
                let is_json = headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("application/json"));
                if is_json {
                    json_body_to_form(&body)
                } else {
                    Some(String::from_utf8_lossy(&body).into_owned())
                }
            } else {
                None
            };
            let mut r = api::handle(
                &st,
                Method::parse(method.as_str()),
                &path,
                &query,
                form.as_deref(),
                token,
                seq,
            );
            if kind == Some(FaultKind::MalformedJson) {
                r.status = 200;
                let cut = r.body.len() / 2;
                let mut cut = cut.max(1).min(r.body.len());
                while !r.body.is_char_boundary(cut) {
                    cut -= 1;
                }
                r.body.truncate(cut);
            }
            r
        }
    };
    into_response(reply)
}

/// One request in flight for the account its token opens (header, query or form), for
/// `SimStats::max_in_flight_by_account`; ends when dropped.
struct InFlight<'a> {
    st: &'a SimState,
    acct: Option<usize>,
}

impl<'a> InFlight<'a> {
    fn start(st: &'a SimState, header: Option<&str>, query: &str, body: &[u8]) -> InFlight<'a> {
        let from_query = api::params::Params::parse(query)
            .get("access_token")
            .map(str::to_owned);
        let from_form = || {
            let form = String::from_utf8_lossy(body);
            api::params::Params::parse(&form)
                .get("access_token")
                .map(str::to_owned)
        };
        let token = header.map(str::to_owned).or(from_query).or_else(from_form);
        let acct = token.and_then(|t| st.token(&t)).map(|t| t.acct);
        if let Some(a) = acct {
            st.stats().started(a);
        }
        InFlight { st, acct }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(a) = self.acct {
            self.st.stats().finished(a);
        }
    }
}

fn into_response(r: Reply) -> Response {
    let mut resp = Response::new(Body::from(r.body));
    *resp.status_mut() =
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    for (name, value) in r.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    resp
}
