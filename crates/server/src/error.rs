//! The one error type of the HTTP layer and the extractors that make every rejection use it.
//!
//! Every error leaves the server as `{"error":{"code":"…","message":"…"}}` with a stable
//! `code` and the matching status. 4xx messages say what was wrong with the request; 5xx
//! bodies are generic and the detail is logged once, here, never sent to the client.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use store::StoreError;

/// Why a request failed, mapped to one status and one stable `code` each.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400 `bad_request`: malformed JSON, an unparsable query string.
    #[error("{0}")]
    BadRequest(String),
    /// 401 `unauthorized`: no credentials, or a wrong, unknown or revoked key.
    #[error("{0}")]
    Unauthorized(String),
    /// 403 `forbidden`: authenticated, but the request is refused (CSRF token missing or
    /// wrong).
    #[error("{0}")]
    Forbidden(String),
    /// 404 `not_found`: unknown route, account, job, run, schedule, alert or key.
    #[error("{0}")]
    NotFound(String),
    /// 405 `method_not_allowed`.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 410 `gone`: a share link that expired or was revoked.
    #[error("{0}")]
    Gone(String),
    /// 409 `conflict`: the request contradicts the current state (e.g. a running job cannot
    /// be deleted, a confirmation that does not match).
    #[error("{0}")]
    Conflict(String),
    /// 413 `payload_too_large`.
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 429 `too_many_requests`: too many failed API-key checks or sign-ins from this client
    /// or for this key id; `Retry-After` says when to try again.
    #[error("too many failed attempts; try again in {} s", crate::throttle::retry_after_secs(*retry_after))]
    TooManyRequests { retry_after: std::time::Duration },
    /// 415 `unsupported_media_type`: a JSON body without `Content-Type: application/json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422 `invalid`: well-formed, but a value is not acceptable (an unknown time zone, a
    /// negative limit, a date range that ends before it starts).
    #[error("{0}")]
    Invalid(String),
    /// 502 `upstream_error`: the Instagram Graph API refused or failed a call made on the
    /// request's behalf. The message is safe to show (no token).
    #[error("{0}")]
    Upstream(String),
    /// 503 `not_configured`: the server lacks a setting the request needs (a secret key to
    /// encrypt tokens, a Graph API app to verify them). The message says which.
    #[error("{0}")]
    NotConfigured(String),
    /// 503 `timeout`: the request took longer than the server's request timeout.
    #[error("the request took too long")]
    Timeout,
    /// 503 `database_unavailable`: the database cannot be reached. The detail is logged only.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// 500 `internal`: anything else. The detail is logged only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn not_found(message: impl Into<String>) -> Self {
        AppError::NotFound(message.into())
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        AppError::Invalid(message.into())
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        AppError::BadRequest(message.into())
    }

    pub fn internal(message: impl Into<String>) -> Self {
        AppError::Internal(message.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Upstream(_) => StatusCode::BAD_GATEWAY,
            AppError::NotConfigured(_) | AppError::Timeout | AppError::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Gone(_) => "gone",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::Conflict(_) => "conflict",
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Invalid(_) => "invalid",
            AppError::Upstream(_) => "upstream_error",
            AppError::NotConfigured(_) => "not_configured",
            AppError::Timeout => "timeout",
            AppError::Unavailable(_) => "database_unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    /// What the client is told: the message for 4xx and 502, a generic sentence for the
    /// other 5xx (the detail is in the log).
    pub fn public_message(&self) -> String {
        match self {
            AppError::Unavailable(_) => "the database is unavailable; try again shortly".to_owned(),
            AppError::Internal(_) => "internal server error".to_owned(),
            other => other.to_string(),
        }
    }
}

impl AppError {
    /// Adds what the response of this error needs besides its body: `Retry-After` on a 429,
    /// and the mark that closes the database gate on `database_unavailable`.
    pub(crate) fn mark(&self, res: &mut Response) {
        match self {
            AppError::TooManyRequests { retry_after } => {
                res.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    crate::throttle::retry_after_secs(*retry_after).into(),
                );
            }
            AppError::Unavailable(_) => {
                res.extensions_mut().insert(crate::gate::DatabaseDown);
            }
            _ => {}
        }
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Error")]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorDetail {
    #[schemars(extend("enum" = ["bad_request", "unauthorized", "forbidden", "not_found", "gone", "method_not_allowed", "conflict", "payload_too_large", "unsupported_media_type", "too_many_requests", "invalid", "upstream_error", "not_configured", "timeout", "database_unavailable", "internal"]))]
    pub code: &'static str,
    pub message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error()
            && !matches!(self, AppError::Upstream(_) | AppError::NotConfigured(_))
        {
            // Logged once, here, inside the request's span; the client gets no detail.
            tracing::error!(error.code = self.code(), error.message = %self, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.public_message(),
            },
        };
        let mut res = (status, Json(body)).into_response();
        self.mark(&mut res);
        res
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { what } => AppError::NotFound(format!("{what} not found")),
            StoreError::Conflict { message } => AppError::Conflict(message),
            StoreError::InvalidInput { message } => AppError::Invalid(message),
            StoreError::Unavailable { .. } => AppError::Unavailable(err.to_string()),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<sync::SyncError> for AppError {
    fn from(err: sync::SyncError) -> Self {
        match err {
            sync::SyncError::Store(e) => e.into(),
            sync::SyncError::UnknownAccount(id) => {
                AppError::NotFound(format!("account {id} not found"))
            }
            sync::SyncError::UnknownSchedule { name, .. } => {
                AppError::NotFound(format!("schedule `{name}` not found"))
            }
            sync::SyncError::Invalid(message) => AppError::Conflict(message),
            sync::SyncError::BadScope(message) => AppError::Invalid(message),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => AppError::Invalid(e.body_text()),
            JsonRejection::JsonSyntaxError(e) => AppError::BadRequest(e.body_text()),
            JsonRejection::MissingJsonContentType(e) => {
                AppError::UnsupportedMediaType(e.body_text())
            }
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge {
                limit: crate::state::BODY_LIMIT_BYTES,
            },
            other => AppError::BadRequest(other.body_text()),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::BadRequest(rejection.body_text())
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        // An id that does not even parse names nothing that exists.
        match rejection {
            PathRejection::FailedToDeserializePathParams(e) => {
                AppError::NotFound(format!("no such resource ({})", e.body_text()))
            }
            other => AppError::Internal(other.body_text()),
        }
    }
}

/// `axum::Json` whose rejections are [`AppError`]s (400 malformed, 413 too large, 415 wrong
/// content type, 422 wrong shape or values). A number without a fraction is an integer,
/// however it is written (`3` and `3.0` alike), as in JSON Schema.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(mut value) = Json::<serde_json::Value>::from_request(req, state).await?;
        integral_numbers_as_integers(&mut value);
        let bytes = serde_json::to_vec(&value).map_err(|e| AppError::internal(e.to_string()))?;
        let Json(value) = Json::<T>::from_bytes(&bytes)?;
        Ok(ApiJson(value))
    }
}

/// Rewrites every number written with a zero fraction (`3.0`, `1e3`) that lies strictly
/// between `i64::MIN` and `i64::MAX` as that integer, so integer fields take it. (An integer
/// literal beyond the range of `i64` is read as the nearest float, which for one just below
/// `i64::MIN` is exactly `i64::MIN`: the bounds are exclusive so such a literal stays out of
/// range.)
fn integral_numbers_as_integers(value: &mut serde_json::Value) {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    match value {
        serde_json::Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f > -TWO_POW_63
                && f < TWO_POW_63
            {
                *n = serde_json::Number::from(f as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        serde_json::Value::Object(map) => map.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// `axum::extract::Query` whose rejection is a 400 [`AppError`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(value))
    }
}

/// `axum::extract::Path` whose rejection is an [`AppError`] (a segment that does not parse
/// as the expected id is a 404: nothing by that name exists).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(value))
    }
}

/// Handler results: `Result<T, AppError>`.
pub type AppResult<T, E = AppError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code an error can carry is one the OpenAPI document's `ErrorDetail` lists.
    #[test]
    fn every_error_code_is_documented() {
        let doc = crate::openapi::spec();
        let documented = doc["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"]
            .as_array()
            .expect("the codes are an enum")
            .clone();
        let s = || String::from("x");
        for error in [
            AppError::BadRequest(s()),
            AppError::Unauthorized(s()),
            AppError::Forbidden(s()),
            AppError::NotFound(s()),
            AppError::MethodNotAllowed,
            AppError::Gone(s()),
            AppError::Conflict(s()),
            AppError::PayloadTooLarge { limit: 1 },
            AppError::TooManyRequests {
                retry_after: std::time::Duration::from_secs(1),
            },
            AppError::UnsupportedMediaType(s()),
            AppError::Invalid(s()),
            AppError::Upstream(s()),
            AppError::NotConfigured(s()),
            AppError::Timeout,
            AppError::Unavailable(s()),
            AppError::Internal(s()),
        ] {
            // A new variant fails to compile here until it is listed above.
            match &error {
                AppError::BadRequest(_)
                | AppError::Unauthorized(_)
                | AppError::Forbidden(_)
                | AppError::NotFound(_)
                | AppError::MethodNotAllowed
                | AppError::Gone(_)
                | AppError::Conflict(_)
                | AppError::PayloadTooLarge { .. }
                | AppError::TooManyRequests { .. }
                | AppError::UnsupportedMediaType(_)
                | AppError::Invalid(_)
                | AppError::Upstream(_)
                | AppError::NotConfigured(_)
                | AppError::Timeout
                | AppError::Unavailable(_)
                | AppError::Internal(_) => {}
            }
            assert!(
                documented.contains(&serde_json::json!(error.code())),
                "{} is not in the document's error codes",
                error.code()
            );
        }
    }
}
