//! `igsync serve`: the JSON API (with its OpenAPI document), the web dashboard, the queue
//! monitor, `/metrics`, `/healthz` and `/readyz`, on axum.
//!
//! This is the only crate that defines igsync's JSON and HTML shapes. It talks to the
//! database through the `store` trait only and must not depend on `sqlx` or a dialect crate.
//!
//! Entry points: [`router`] (the test seam: the whole application as one `Router`) and
//! [`serve`] (the same on a listener, with connection limits and graceful shutdown).

pub mod access;
pub mod api;
pub mod auth;
pub mod charts;
mod connections;
pub mod dashboard;
pub mod error;
mod gate;
pub mod metrics;
pub mod openapi;
pub mod report;
pub mod share;
pub mod state;
pub mod throttle;
pub mod webhooks;

use std::future::Future;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use crate::error::{AppError, AppResult};
pub use crate::state::{AppState, BODY_LIMIT_BYTES, ServerSettings, WebhookSettings};

/// Why connecting accounts through the dashboard is unavailable with Facebook Login and
/// with Instagram Login (`None`: available), for `igsync serve` to say at start.
pub fn connect_unavailable(state: &AppState) -> [(store::LoginKind, Option<String>); 2] {
    [store::LoginKind::Facebook, store::LoginKind::Instagram]
        .map(|login| (login, dashboard::connect_unavailable(state, login)))
}

/// The whole application: public probes, the authenticated JSON API, `/metrics`, the
/// OpenAPI document and the dashboard, with security headers, body limits, timeouts,
/// tracing and a last-resort panic handler on every route.
pub fn router(state: AppState) -> Router {
    let authenticated = Router::new()
        .nest("/api/v1", api::router())
        .route("/api/openapi.json", get(openapi::document))
        .route("/metrics", get(metrics::exposition))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            access::authorize_api,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_auth,
        ));
    // Readiness answers within READY_TIMEOUT whatever the database does, the key check
    // included.
    let readiness = Router::new()
        .route("/readyz", get(readyz))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_auth,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            readiness_deadline,
        ));

    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/webhooks/meta",
            get(webhooks::verify).post(webhooks::receive),
        )
        .merge(authenticated)
        .merge(readiness)
        .merge(
            dashboard::router().route_layer(middleware::from_fn_with_state(
                state.clone(),
                access::authorize_page,
            )),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn(reject_oversized_bodies))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            gate::database_gate,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), count_writes))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_timeout,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let route = req
                        .extensions()
                        .get::<MatchedPath>()
                        .map_or("unmatched", MatchedPath::as_str);
                    tracing::info_span!("http", method = %req.method(), route)
                })
                .on_failure(()),
        )
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(security_header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ))
        .layer(security_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(security_header(header::REFERRER_POLICY, "no-referrer"))
        .layer(security_header(header::CACHE_CONTROL, "no-store"))
        .with_state(state)
}

/// Serves [`router`] on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish (each is bounded by the request timeout). Connections are bounded as the settings
/// say: a header read timeout, a cap in all and a cap per client address.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = connections::Limits {
        header_read_timeout: state.settings.header_read_timeout,
        max_connections: state.settings.max_connections,
        max_connections_per_client: state.settings.max_connections_per_client,
    };
    connections::serve(listener, router(state), limits, shutdown).await
}

/// `GET /healthz`: 200 while the process runs (no auth, no database).
async fn healthz() -> impl IntoResponse {
    axum::Json(Health { status: "ok" })
}

/// The answer of `/healthz`.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Health {
    #[schemars(extend("enum" = ["ok"]))]
    pub status: &'static str,
}

/// The answer of `/readyz`.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Readiness {
    #[schemars(extend("enum" = ["ready", "unavailable"]))]
    pub status: &'static str,
    #[schemars(extend("enum" = ["sqlite", "postgres"]))]
    pub database: &'static str,
    /// Why the server is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How long `/readyz` may take in all, the key check included: a probe must answer quickly,
/// and a database that cannot answer a ping within this is not ready (its pool would
/// otherwise hold the probe for its whole acquire timeout).
pub const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(1500);

/// `GET /readyz`: 200 when the database answers a ping, 503 with a reason otherwise.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => axum::Json(Readiness {
            status: "ready",
            database: state.store.dialect(),
            reason: None,
        })
        .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            readiness_unavailable(state.store.dialect(), "the database did not answer a ping")
        }
    }
}

/// Bounds `/readyz` (its key check and its ping) by [`READY_TIMEOUT`].
async fn readiness_deadline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(READY_TIMEOUT, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!("readiness check timed out");
            readiness_unavailable(
                state.store.dialect(),
                &format!(
                    "the database did not answer within {} ms",
                    READY_TIMEOUT.as_millis()
                ),
            )
        }
    }
}

/// The 503 of `/readyz`, marked so that the database gate closes.
pub(crate) fn readiness_unavailable(dialect: &'static str, reason: &str) -> Response {
    let mut res = (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(Readiness {
            status: "unavailable",
            database: dialect,
            reason: Some(reason.to_owned()),
        }),
    )
        .into_response();
    res.extensions_mut().insert(gate::DatabaseDown);
    res
}

async fn not_found() -> AppError {
    AppError::not_found("no such route")
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

/// 413 in the usual JSON shape as soon as a declared `Content-Length` exceeds the limit
/// (bodies without a length are cut by `DefaultBodyLimit` in the extractors).
async fn reject_oversized_bodies(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Meta's notifications have their own, larger limit, enforced (and counted) by their
    // handler.
    if req.uri().path() == webhooks::PATH {
        return next.run(req).await;
    }
    let limit = BODY_LIMIT_BYTES;
    if declared.is_some_and(|n| n > limit as u64) {
        return AppError::PayloadTooLarge { limit }.into_response();
    }
    next.run(req).await
}

/// Bounds every request so a stuck database call cannot hold a connection (or shutdown)
/// forever.
async fn request_timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(state.settings.request_timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => AppError::Timeout.into_response(),
    }
}

/// Counts successful writes (any unsafe method answered below 400), so cached reads made
/// before a write are not served after it.
async fn count_writes(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let write = !req.method().is_safe();
    let res = next.run(req).await;
    if write && res.status().as_u16() < 400 {
        state
            .overview_cache
            .writes
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }
    res
}

fn panic_response(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    AppError::internal(format!("a handler panicked: {what}")).into_response()
}

fn security_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_a_generic_500_in_the_error_shape() {
        let res = panic_response(Box::new("secret detail"));
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "internal", "message": "internal server error"}})
        );
    }
}
