//! The simulator's control endpoints under `/__sim/`: accounts, call statistics, the clock,
//! faults, ground truth, token expiry, metric withdrawal, deleted media, the edges, revisions,
//! login users, automatic consent, the webhook sender, the injected anomalies and the stories
//! published in a period.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use crate::config::{FaultKind, FaultMix};
use crate::dialog::LoginAuto;
use crate::state::SimState;
use crate::stats::SimStats;
use crate::truth;
use crate::version::ApiVersion;
use crate::webhooks::{self, WebhookConfig};
use crate::world::MediaRef;

pub(crate) fn stats_of(st: &SimState) -> SimStats {
    let accounts = &st.world.accounts;
    st.stats().snapshot(|i| accounts[i].ig_user_id.clone())
}

pub(crate) fn withdraw(st: &SimState, metric: &str, version: Option<ApiVersion>) {
    let metric = metric.trim().to_owned();
    let mut m = st.write();
    match version {
        None => {
            m.removed_metrics.insert(metric);
        }
        Some(v) => {
            let e = m.withdrawn_from.entry(metric).or_insert(v);
            *e = (*e).min(v);
        }
    }
}

pub(crate) fn revise(
    st: &SimState,
    ig_user_id: &str,
    date: Option<NaiveDate>,
    factor: f64,
) -> Result<NaiveDate, String> {
    let acct = st
        .account_index(ig_user_id)
        .ok_or_else(|| "unknown ig_user_id".to_owned())?;
    if !(0.5..=2.0).contains(&factor) || factor.is_nan() {
        return Err(format!("factor must be between 0.5 and 2.0, got {factor}"));
    }
    let now = st.now();
    let today = crate::time::pacific_date(now);
    let day = date.unwrap_or(today - chrono::Duration::days(1));
    if day > today {
        return Err(format!(
            "{day} has not started yet (today is {today}, Pacific)"
        ));
    }
    st.write()
        .revisions
        .entry((acct, day))
        .or_default()
        .push((now, factor));
    Ok(day)
}

pub(crate) fn delete_media(st: &SimState, media_id: &str) -> bool {
    match st.world.decode_media(media_id) {
        Some(r @ (MediaRef::Post { .. } | MediaRef::Story { .. })) => {
            st.write().deleted.insert(r);
            true
        }
        _ => false,
    }
}

/// The `/__sim/*` routes.
pub(crate) fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/__sim/accounts", get(ctl_accounts))
        .route("/__sim/stats", get(ctl_stats))
        .route("/__sim/reset", post(ctl_reset))
        .route("/__sim/clock", get(ctl_clock_get).post(ctl_clock))
        .route("/__sim/faults", get(ctl_faults_get).post(ctl_faults))
        .route("/__sim/ground-truth/{ig_user_id}", get(ctl_truth))
        .route("/__sim/expire-token", post(ctl_expire_token))
        .route("/__sim/remove-metric", post(ctl_remove_metric))
        .route("/__sim/delete-media", post(ctl_delete_media))
        .route("/__sim/edges", get(ctl_edges_get).post(ctl_edges))
        .route("/__sim/revise", post(ctl_revise))
        .route("/__sim/login-users", get(ctl_login_users))
        .route("/__sim/anomalies", get(ctl_anomalies))
        .route("/__sim/stories", get(ctl_stories))
        .route(
            "/__sim/webhooks",
            get(ctl_webhooks_get)
                .post(ctl_webhooks)
                .delete(ctl_webhooks_stop),
        )
        .route("/__sim/webhooks/flush", post(ctl_webhooks_flush))
        .route(
            "/__sim/login-auto",
            get(ctl_login_auto_get).post(ctl_login_auto),
        )
}

pub(crate) fn json_response(status: StatusCode, v: &impl serde::Serialize) -> Response {
    let body = serde_json::to_string(v).unwrap_or_else(|_| "{}".to_owned());
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

pub(crate) fn bad_request(msg: impl Into<String>) -> Response {
    json_response(StatusCode::BAD_REQUEST, &json!({ "error": msg.into() }))
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))
}

async fn ctl_accounts(State(st): State<Arc<SimState>>) -> Response {
    json_response(StatusCode::OK, &st.accounts())
}

async fn ctl_stats(State(st): State<Arc<SimState>>) -> Response {
    json_response(StatusCode::OK, &stats_of(&st))
}

async fn ctl_reset(State(st): State<Arc<SimState>>) -> Response {
    st.reset_stats();
    st.budgets().reset();
    json_response(StatusCode::OK, &json!({ "ok": true }))
}

async fn ctl_clock_get(State(st): State<Arc<SimState>>) -> Response {
    json_response(StatusCode::OK, &json!({ "now": st.now_utc() }))
}

#[derive(Deserialize)]
struct ClockBody {
    advance_secs: i64,
}

async fn ctl_clock(State(st): State<Arc<SimState>>, body: Bytes) -> Response {
    let b: ClockBody = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    if b.advance_secs < 0 {
        return bad_request("advance_secs must not be negative: the clock only moves forward");
    }
    let Some(by) = chrono::Duration::try_seconds(b.advance_secs) else {
        return bad_request("advance_secs is too large");
    };
    st.advance(by);
    json_response(StatusCode::OK, &json!({ "now": st.now_utc() }))
}

#[derive(Deserialize)]
struct StoriesQuery {
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
}

/// Every story of every account published in `[from, to)` (RFC 3339), oldest first per
/// account: the ground truth of what a sync could capture while it was live.
async fn ctl_stories(
    State(st): State<Arc<SimState>>,
    q: Result<Query<StoriesQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return bad_request(
            "from and to must be RFC 3339 times, e.g. ?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z",
        );
    };
    if q.to < q.from {
        return bad_request("to must not be before from");
    }
    if q.to - q.from > chrono::Duration::days(31) {
        return bad_request("at most 31 days of stories at a time");
    }
    let w = &st.world;
    let mut out = Vec::new();
    for (acct, a) in w.accounts.iter().enumerate() {
        for s in w.stories_between(acct, q.from.timestamp(), q.to.timestamp()) {
            out.push(json!({
                "ig_user_id": a.ig_user_id,
                "id": w.story_id(acct, s.slot, s.n),
                "timestamp": chrono::DateTime::<chrono::Utc>::from_timestamp(s.ts, 0),
                "expires_at": chrono::DateTime::<chrono::Utc>::from_timestamp(s.ts + crate::world::STORY_LIFETIME, 0),
            }));
        }
    }
    json_response(StatusCode::OK, &out)
}

async fn ctl_faults_get(State(st): State<Arc<SimState>>) -> Response {
    let m = st.read();
    json_response(
        StatusCode::OK,
        &json!({ "rate": m.fault_rate, "mix": m.fault_mix }),
    )
}

#[derive(Deserialize)]
struct FaultsBody {
    rate: f64,
    #[serde(default)]
    mix: Option<FaultMix>,
    #[serde(default)]
    kinds: Option<Vec<FaultKind>>,
}

async fn ctl_faults(State(st): State<Arc<SimState>>, body: Bytes) -> Response {
    let b: FaultsBody = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    if !(0.0..=1.0).contains(&b.rate) {
        return bad_request(format!("rate must be between 0.0 and 1.0, got {}", b.rate));
    }
    let mut m = st.write();
    m.fault_rate = b.rate;
    if let Some(kinds) = b.kinds {
        m.fault_mix = FaultMix::only(&kinds);
    } else if let Some(mix) = b.mix {
        m.fault_mix = mix;
    }
    json_response(
        StatusCode::OK,
        &json!({ "rate": m.fault_rate, "mix": m.fault_mix }),
    )
}

#[derive(Deserialize)]
struct TruthQuery {
    version: Option<String>,
}

async fn ctl_truth(
    State(st): State<Arc<SimState>>,
    Path(id): Path<String>,
    Query(q): Query<TruthQuery>,
) -> Response {
    let version = match q.version.as_deref() {
        None => st.config.default_version,
        Some(v) => match v.parse::<ApiVersion>() {
            Ok(v) => v,
            Err(e) => return bad_request(e.to_string()),
        },
    };
    let st2 = st.clone();
    // Large accounts take a moment; keep the runtime's workers free.
    let res = tokio::task::spawn_blocking(move || truth::ground_truth(&st2, &id, version)).await;
    match res {
        Ok(Some(t)) => json_response(StatusCode::OK, &t),
        Ok(None) => json_response(
            StatusCode::NOT_FOUND,
            &json!({ "error": "unknown ig_user_id" }),
        ),
        Err(e) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({ "error": e.to_string() }),
        ),
    }
}

#[derive(Deserialize)]
struct AccountBody {
    ig_user_id: String,
}

async fn ctl_expire_token(State(st): State<Arc<SimState>>, body: Bytes) -> Response {
    let b: AccountBody = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    match st.account_index(&b.ig_user_id) {
        Some(acct) => {
            st.expire_tokens(acct);
            json_response(StatusCode::OK, &json!({ "ok": true }))
        }
        None => json_response(
            StatusCode::NOT_FOUND,
            &json!({ "error": "unknown ig_user_id" }),
        ),
    }
}

#[derive(Deserialize)]
struct MetricBody {
    metric: String,
    /// Withdraw only from this version on.
    #[serde(default)]
    version: Option<String>,
}

async fn ctl_remove_metric(State(st): State<Arc<SimState>>, body: Bytes) -> Response {
    let b: MetricBody = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    if b.metric.trim().is_empty() {
        return bad_request("metric must not be empty");
    }
    let version = match b.version.as_deref().map(str::parse::<ApiVersion>) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(e)) => return bad_request(e.to_string()),
    };
    withdraw(&st, &b.metric, version);
    json_response(StatusCode::OK, &json!({ "ok": true }))
}

async fn ctl_edges_get(State(st): State<Arc<SimState>>) -> Response {
    json_response(StatusCode::OK, &json!({ "edges": st.edges() }))
}

#[derive(Deserialize)]
struct EdgesBody {
    edges: bool,
}

async fn ctl_edges(State(st): State<Arc<SimState>>, body: Bytes) -> Response {
    let b: EdgesBody = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    st.write().edges = b.edges;
    json_response(StatusCode::OK, &json!({ "edges": b.edges }))
}

#[derive(Deserialize)]
struct ReviseBody {
    ig_user_id: String,
    /// `YYYY-MM-DD` (Pacific day); default yesterday.
    #[serde(default)]
    date: Option<NaiveDate>,
    /// Default 1.05.
    #[serde(default)]
    factor: Option<f64>,
}

async fn ctl_revise(State(st): State<Arc<SimState>>, body: Bytes) -> Response {
    let b: ReviseBody = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    match revise(&st, &b.ig_user_id, b.date, b.factor.unwrap_or(1.05)) {
        Ok(day) => json_response(StatusCode::OK, &json!({ "ok": true, "date": day })),
        Err(e) if e == "unknown ig_user_id" => {
            json_response(StatusCode::NOT_FOUND, &json!({ "error": e }))
        }
        Err(e) => bad_request(e),
    }
}

#[derive(Deserialize)]
struct MediaBody {
    media_id: String,
}

async fn ctl_delete_media(State(st): State<Arc<SimState>>, body: Bytes) -> Response {
    let b: MediaBody = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    if delete_media(&st, &b.media_id) {
        json_response(StatusCode::OK, &json!({ "ok": true }))
    } else {
        json_response(
            StatusCode::NOT_FOUND,
            &json!({ "error": "unknown post or story id" }),
        )
    }
}

async fn ctl_webhooks_get(State(st): State<Arc<SimState>>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "config": st.hub.config().await,
            "events": st.hub.events(&st).await,
            "deliveries": st.hub.deliveries(),
        }),
    )
}

async fn ctl_webhooks(State(st): State<Arc<SimState>>, body: Bytes) -> Response {
    let cfg: WebhookConfig = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    match webhooks::start(&st, cfg).await {
        Ok(()) => json_response(StatusCode::OK, &json!({ "ok": true, "verified": true })),
        Err(e) => bad_request(e.to_string()),
    }
}

async fn ctl_webhooks_stop(State(st): State<Arc<SimState>>) -> Response {
    st.hub.stop().await;
    json_response(StatusCode::OK, &json!({ "ok": true }))
}

async fn ctl_webhooks_flush(State(st): State<Arc<SimState>>) -> Response {
    webhooks::deliver_due(&st).await;
    let deliveries = st.hub.deliveries();
    json_response(
        StatusCode::OK,
        &json!({
            "attempts": deliveries.len(),
            "accepted": deliveries.iter().filter(|d| d.accepted()).count(),
        }),
    )
}

async fn ctl_anomalies(State(st): State<Arc<SimState>>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "enabled": st.world.shaped,
            "anomalies": crate::shape::injected_anomalies(&st.world),
        }),
    )
}

async fn ctl_login_users(State(st): State<Arc<SimState>>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "app_id": st.app_id,
            "users": st.logins.public(&st.world),
        }),
    )
}

async fn ctl_login_auto_get(State(st): State<Arc<SimState>>) -> Response {
    json_response(StatusCode::OK, &json!({ "auto": st.read().login_auto }))
}

#[derive(Deserialize)]
struct LoginAutoBody {
    /// `consent`, `cancel` or `off`.
    mode: String,
    #[serde(default)]
    decline: Vec<String>,
    #[serde(default)]
    user: Option<String>,
}

async fn ctl_login_auto(State(st): State<Arc<SimState>>, body: Bytes) -> Response {
    let b: LoginAutoBody = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(e),
    };
    let auto = match b.mode.as_str() {
        "off" => None,
        "consent" | "cancel" => Some(LoginAuto {
            cancel: b.mode == "cancel",
            decline: b.decline,
            user: b.user,
        }),
        other => {
            return bad_request(format!(
                "mode must be consent, cancel or off, got {other:?}"
            ));
        }
    };
    st.write().login_auto = auto.clone();
    json_response(StatusCode::OK, &json!({ "auto": auto }))
}
