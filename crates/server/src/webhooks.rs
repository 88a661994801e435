//! `/webhooks/meta`: Meta's webhook notifications (no API key: Meta signs them).
//!
//! `GET` is the subscription handshake: `hub.mode=subscribe` with the configured verify
//! token is answered with `hub.challenge` as plain text, anything else 403. `POST` is a
//! notification: the body is read up to [`WEBHOOK_BODY_LIMIT`] (413 beyond), its
//! `X-Hub-Signature-256` is checked over the raw bytes with the app secret before anything
//! parses it (401 when missing or wrong), then the raw event is stored and its processing
//! queued (`sync::webhooks::receive`) before the 200. Redeliveries are stored once. Refusals
//! are counted by reason for `igsync webhooks status` and the dashboard. Without
//! `webhooks.enabled` the path is 404.

use std::collections::BTreeMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use sync::webhooks::Refusal;

use crate::error::AppError;
use crate::state::AppState;

/// Largest notification accepted, in bytes (Meta batches at most 1,000 changes; its
/// Instagram notifications are a few KiB).
pub const WEBHOOK_BODY_LIMIT: usize = 1024 * 1024;

/// Longest `hub.challenge` echoed.
const MAX_CHALLENGE: usize = 512;

/// The route's path.
pub const PATH: &str = "/webhooks/meta";

fn settings(state: &AppState) -> Result<&crate::state::WebhookSettings, AppError> {
    state
        .settings
        .webhooks
        .as_ref()
        .ok_or_else(|| AppError::not_found("webhooks are not enabled on this server"))
}

/// `GET /webhooks/meta`: the verification handshake.
pub async fn verify(
    State(state): State<AppState>,
    query: Result<Query<BTreeMap<String, String>>, QueryRejection>,
) -> Response {
    let cfg = match settings(&state) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let mode_ok = q.get("hub.mode").map(String::as_str) == Some("subscribe");
    let token_ok = q
        .get("hub.verify_token")
        .is_some_and(|t| bool::from(t.as_bytes().ct_eq(cfg.verify_token.expose().as_bytes())));
    let challenge = q.get("hub.challenge").filter(|c| c.len() <= MAX_CHALLENGE);
    match challenge {
        Some(challenge) if mode_ok && token_ok => {
            let mut res = challenge.clone().into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            res
        }
        _ => AppError::Forbidden(
            "the verification needs hub.mode=subscribe, the configured hub.verify_token and a \
             hub.challenge"
                .to_owned(),
        )
        .into_response(),
    }
}

async fn refuse(state: &AppState, why: Refusal) -> Response {
    let now = state.clock.now();
    if let Err(e) = state
        .store
        .webhook_rejection_record(why.as_str(), now)
        .await
    {
        tracing::warn!(error = %e, "could not count a refused webhook notification");
    }
    tracing::warn!(
        reason = why.as_str(),
        "refused a webhook notification: {why}"
    );
    match why {
        Refusal::TooLarge => AppError::PayloadTooLarge {
            limit: WEBHOOK_BODY_LIMIT,
        }
        .into_response(),
        Refusal::MissingSignature | Refusal::BadSignature => {
            AppError::Unauthorized(why.to_string()).into_response()
        }
    }
}

/// `POST /webhooks/meta`: one notification.
pub async fn receive(State(state): State<AppState>, req: Request) -> Response {
    let secret = match settings(&state) {
        Ok(c) => c.app_secret.clone(),
        Err(e) => return e.into_response(),
    };
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > WEBHOOK_BODY_LIMIT as u64) {
        return refuse(&state, Refusal::TooLarge).await;
    }
    let bytes = match read_bounded(body, WEBHOOK_BODY_LIMIT).await {
        Ok(b) => b,
        Err(Some(why)) => return refuse(&state, why).await,
        Err(None) => {
            return AppError::BadRequest("the notification's body could not be read".into())
                .into_response();
        }
    };
    let signature = parts
        .headers
        .get("x-hub-signature-256")
        .map(|v| v.to_str().unwrap_or(""));
    if let Err(why) =
        sync::webhooks::verify_signature(secret.expose().as_bytes(), signature, &bytes)
    {
        return refuse(&state, why).await;
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return AppError::BadRequest("the notification is not UTF-8 JSON".into()).into_response();
    };
    match sync::webhooks::receive(&state.store, text, state.clock.now()).await {
        Ok(r) => (
            StatusCode::OK,
            axum::Json(Received {
                status: "received",
                event_id: r.event_id,
                duplicate: !r.new,
            }),
        )
            .into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}

/// The answer to a stored notification.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
#[schemars(rename = "WebhookReceived")]
pub struct Received {
    #[schemars(extend("enum" = ["received"]))]
    pub status: &'static str,
    pub event_id: i64,
    /// A redelivery of a stored event.
    pub duplicate: bool,
}

/// Reads a body of at most `limit` bytes: `Err(Some(TooLarge))` as soon as it grows past
/// the limit (nothing more is read), `Err(None)` when the client stopped sending.
async fn read_bounded(
    mut body: axum::body::Body,
    limit: usize,
) -> Result<Vec<u8>, Option<Refusal>> {
    use axum::body::HttpBody;
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            None => return Ok(buf),
            Some(Err(_)) => return Err(None),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if buf.len() + data.len() > limit {
                        return Err(Some(Refusal::TooLarge));
                    }
                    buf.extend_from_slice(&data);
                }
            }
        }
    }
}
