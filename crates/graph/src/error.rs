//! Errors: one `#[non_exhaustive]` [`GraphError`] with classification methods, so callers
//! decide (retry later, re-authorize, skip) without matching on Meta's numeric codes; and
//! [`ItemError`] for one object inside an otherwise successful multi-object answer.

use std::fmt;
use std::time::Duration;

use crate::config::ApiVersion;

/// What a caller should do about an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Temporary (codes 1 and 2, `is_transient`, HTTP 5xx, timeouts, connection errors,
    /// malformed bodies). The client already retried; try again later.
    Transient,
    /// A rate limit; wait [`GraphError::retry_after`] before calling again for that scope.
    RateLimited,
    /// The token is invalid or expired (codes 190 and 102): the account needs
    /// re-authorization. Never retried.
    Auth,
    /// A metric is not supported for this version or media type. The client handles these
    /// itself (drops the metric and remembers it); callers rarely see one.
    UnsupportedMetric,
    /// Any other rejection (other 4xx): retrying the same request cannot succeed.
    Permanent,
}

/// Which budget a rate limit applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RateLimitScope {
    /// One app + Instagram account pair (Business Use Case limit, codes 80002, 17, 32, 613).
    Account,
    /// The whole app (codes 4 and 341).
    App,
}

impl fmt::Display for RateLimitScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Account => "account",
            Self::App => "app",
        })
    }
}

/// An error object as Meta returns it (`{"error":{...}}`), with the HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status of the response (or of the batch item).
    pub http_status: u16,
    /// `code`.
    pub code: i64,
    /// `error_subcode`.
    pub subcode: Option<i64>,
    /// `type` (e.g. `OAuthException`).
    pub error_type: Option<String>,
    /// `message`, with any access token scrubbed.
    pub message: String,
    /// `is_transient`.
    pub is_transient: bool,
    /// `error_user_title`.
    pub user_title: Option<String>,
    /// `fbtrace_id`.
    pub fbtrace_id: Option<String>,
}

impl ApiError {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        match self.code {
            190 | 102 => ErrorClass::Auth,
            4 | 17 | 32 | 341 | 368 | 613 | 80_000..=80_099 => ErrorClass::RateLimited,
            1 | 2 => ErrorClass::Transient,
            _ if self.is_transient => ErrorClass::Transient,
            100 if is_metric_rejection(&self.message) => ErrorClass::UnsupportedMetric,
            _ if self.http_status == 429 => ErrorClass::RateLimited,
            _ if self.http_status >= 500 => ErrorClass::Transient,
            _ => ErrorClass::Permanent,
        }
    }

    /// For a rate limit: which budget ran out.
    pub fn rate_limit_scope(&self) -> RateLimitScope {
        match self.code {
            4 | 341 => RateLimitScope::App,
            _ => RateLimitScope::Account,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "code {}", self.code)?;
        if let Some(sub) = self.subcode {
            write!(f, "/{sub}")?;
        }
        write!(f, " (HTTP {}): {}", self.http_status, self.message)
    }
}

/// Whether a code-100 message is about a metric the API does not accept.
pub(crate) fn is_metric_rejection(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    if !m.contains("metric") {
        return false;
    }
    if m.contains("last 30 days") || m.contains("more than 30 days") {
        return false;
    }
    [
        "not supported",
        "no longer supported",
        "must be one of",
        "does not support",
        "should be specified with parameter metric_type",
        "invalid metric",
        "unsupported metric",
        "is not available",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

/// Every error the client returns.
#[non_exhaustive]
#[derive(Clone, Debug, thiserror::Error)]
pub enum GraphError {
    /// Meta answered with an error object.
    #[error("Graph API error {0}")]
    Api(Box<ApiError>),
    /// A rate limit was hit, or the account/app is still paused from an earlier one (then no
    /// request was sent).
    #[error("rate limited ({scope}{}); retry in {}s", account.as_deref().map(|a| format!(" {a}")).unwrap_or_default(), retry_after.as_secs())]
    RateLimited {
        /// Which budget.
        scope: RateLimitScope,
        /// The account concerned, for account scope.
        account: Option<String>,
        /// Time until access should be regained.
        retry_after: Duration,
        /// Meta's code when this came from a response (`None` when the client refused to
        /// send the call because of an earlier pause).
        code: Option<i64>,
    },
    /// An HTTP error whose body is not a Graph error object.
    #[error("HTTP {status} without a Graph error body: {snippet}")]
    Http {
        /// HTTP status.
        status: u16,
        /// The start of the body.
        snippet: String,
    },
    /// The request timed out.
    #[error("request timed out")]
    Timeout,
    /// Connecting or transferring failed.
    #[error("connection error: {0}")]
    Connection(String),
    /// A success response whose body does not have the expected shape.
    #[error("malformed response ({context}): {detail}")]
    Malformed {
        /// Which response.
        context: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The request cannot be made as asked (bad argument, missing app secret, …).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// Every requested metric was rejected for this version and media type.
    #[error("no supported metric left for {scope} on {version}")]
    NoMetricsLeft {
        /// The catalog scope (e.g. `REELS`, `account/total_value`).
        scope: String,
        /// API version.
        version: ApiVersion,
    },
}

impl GraphError {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Api(api) => api.class(),
            Self::RateLimited { .. } => ErrorClass::RateLimited,
            Self::Http { status, .. } if *status >= 500 => ErrorClass::Transient,
            Self::Http { status: 429, .. } => ErrorClass::RateLimited,
            Self::Timeout | Self::Connection(_) | Self::Malformed { .. } => ErrorClass::Transient,
            Self::Http { .. } | Self::InvalidRequest(_) | Self::NoMetricsLeft { .. } => {
                ErrorClass::Permanent
            }
        }
    }

    /// Worth trying again later (transient or rate-limited).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.class(),
            ErrorClass::Transient | ErrorClass::RateLimited
        )
    }

    /// The account's token is invalid: stop syncing it until it is re-authorized.
    pub fn needs_reauth(&self) -> bool {
        self.class() == ErrorClass::Auth
    }

    /// Whether this is a rate limit.
    pub fn is_rate_limited(&self) -> bool {
        self.class() == ErrorClass::RateLimited
    }

    /// For a rate limit: how long to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// Meta's error code, when there is one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Api(api) => Some(api.code),
            Self::RateLimited { code, .. } => *code,
            _ => None,
        }
    }

    /// Meta's error subcode, when there is one.
    pub fn subcode(&self) -> Option<i64> {
        match self {
            Self::Api(api) => api.subcode,
            _ => None,
        }
    }

    /// A short label for counting errors: the Meta code, `http_<status>`, `timeout`,
    /// `connection`, `malformed`, `rate_limited_local`, `invalid_request`.
    pub fn label(&self) -> String {
        match self {
            Self::Api(api) => api.code.to_string(),
            Self::RateLimited {
                code: Some(code), ..
            } => code.to_string(),
            Self::RateLimited { code: None, .. } => "rate_limited_local".to_owned(),
            Self::Http { status, .. } => format!("http_{status}"),
            Self::Timeout => "timeout".to_owned(),
            Self::Connection(_) => "connection".to_owned(),
            Self::Malformed { .. } => "malformed".to_owned(),
            Self::InvalidRequest(_) => "invalid_request".to_owned(),
            Self::NoMetricsLeft { .. } => "no_metrics_left".to_owned(),
        }
    }
}

/// Why one object of a multi-object answer has no data.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemErrorKind {
    /// Subcode 2108006: posted before the account became a business account. Permanent.
    PostedBeforeBusinessConversion,
    /// Subcode 33 / "does not exist": deleted or not visible. Permanent.
    NotFound,
    /// Code 10 "Not enough viewers": a story seen by fewer than 5 accounts.
    NotEnoughViewers,
    /// Code 10 or 200–299: missing permission.
    PermissionDenied,
    /// A carousel child: "Insights data is not available for any media within an
    /// Instagram Media album". Permanent (the album has the insights).
    AlbumChild,
    /// A story more than 24 hours old ("Story media metrics are only available for 24
    /// hours"). Permanent.
    StoryExpired,
    /// The answer did not mention this object at all.
    Missing,
    /// Any other per-object error.
    Other,
}

/// One object's error inside a multi-ID or batch answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?} (code {code:?}/{subcode:?}): {message}")]
pub struct ItemError {
    /// The kind of problem.
    pub kind: ItemErrorKind,
    /// Meta's code.
    pub code: Option<i64>,
    /// Meta's subcode.
    pub subcode: Option<i64>,
    /// Meta's message.
    pub message: String,
}

impl ItemError {
    pub(crate) fn from_api(api: &ApiError) -> Self {
        let lower = api.message.to_ascii_lowercase();
        let kind = match (api.code, api.subcode) {
            (_, Some(2_108_006)) => ItemErrorKind::PostedBeforeBusinessConversion,
            (100, Some(33)) => ItemErrorKind::NotFound,
            _ if lower.contains("does not exist") => ItemErrorKind::NotFound,
            (10, _) if lower.contains("not enough viewers") => ItemErrorKind::NotEnoughViewers,
            _ if lower.contains("within an instagram media album") => ItemErrorKind::AlbumChild,
            _ if lower.contains("only available for 24 hours") => ItemErrorKind::StoryExpired,
            (10 | 200..=299, _) => ItemErrorKind::PermissionDenied,
            _ => ItemErrorKind::Other,
        };
        Self {
            kind,
            code: Some(api.code),
            subcode: api.subcode,
            message: api.message.clone(),
        }
    }

    pub(crate) fn missing() -> Self {
        Self {
            kind: ItemErrorKind::Missing,
            code: None,
            subcode: None,
            message: "object absent from the answer".to_owned(),
        }
    }
}

/// Configuration errors.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Not a version string.
    #[error("invalid Graph API version {0:?} (expected e.g. v26.0)")]
    Version(String),
    /// The version is no longer served by Meta.
    #[error("Graph API version {0} has expired; use {oldest} or newer", oldest = ApiVersion::OLDEST_SUPPORTED)]
    VersionExpired(ApiVersion),
    /// Not a login flavour.
    #[error("invalid login kind {0:?} (expected facebook or instagram)")]
    LoginKind(String),
    /// Not a usable base URL.
    #[error("invalid Graph API base URL {0}")]
    BaseUrl(String),
    /// Another invalid value.
    #[error("invalid Graph API client configuration: {0}")]
    Invalid(&'static str),
}

/// Replaces every occurrence of `secret` in `text` (no-op for empty secrets).
pub(crate) fn scrub(text: &str, secret: &str) -> String {
    if secret.len() < 4 {
        return text.to_owned();
    }
    text.replace(secret, "***")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: i64, sub: Option<i64>, msg: &str, transient: bool) -> ApiError {
        ApiError {
            http_status: status,
            code,
            subcode: sub,
            error_type: None,
            message: msg.to_owned(),
            is_transient: transient,
            user_title: None,
            fbtrace_id: None,
        }
    }

    #[test]
    fn classification_follows_meta_codes() {
        assert_eq!(
            api(400, 190, Some(463), "expired", false).class(),
            ErrorClass::Auth
        );
        assert_eq!(
            api(400, 102, None, "session", false).class(),
            ErrorClass::Auth
        );
        assert_eq!(
            api(400, 80002, None, "too many", false).class(),
            ErrorClass::RateLimited
        );
        assert_eq!(
            api(400, 4, None, "app", false).rate_limit_scope(),
            RateLimitScope::App
        );
        assert_eq!(
            api(400, 17, None, "user", false).rate_limit_scope(),
            RateLimitScope::Account
        );
        assert_eq!(
            api(500, 1, None, "unknown", false).class(),
            ErrorClass::Transient
        );
        assert_eq!(
            api(400, 2, None, "service", true).class(),
            ErrorClass::Transient
        );
        assert_eq!(api(400, 9, None, "x", true).class(), ErrorClass::Transient);
        assert_eq!(api(503, 9, None, "x", false).class(), ErrorClass::Transient);
        let msg = "(#100) Starting from version 22 and above, the impressions metric is no longer supported for the queried user.";
        assert_eq!(
            api(400, 100, None, msg, false).class(),
            ErrorClass::UnsupportedMetric
        );
        let msg = "(#100) The Media Insights API does not support the views metric for this media product type.";
        assert_eq!(
            api(400, 100, None, msg, false).class(),
            ErrorClass::UnsupportedMetric
        );
        let msg = "(#100) (follower_count) metric only supports querying data for the last 30 days excluding the current day";
        assert_eq!(
            api(400, 100, None, msg, false).class(),
            ErrorClass::Permanent
        );
        assert_eq!(
            api(400, 100, Some(2_108_006), "Invalid parameter", false).class(),
            ErrorClass::Permanent
        );
    }

    #[test]
    fn item_errors_are_recognised() {
        let e = ItemError::from_api(&api(400, 100, Some(2_108_006), "Invalid parameter", false));
        assert_eq!(e.kind, ItemErrorKind::PostedBeforeBusinessConversion);
        let e = ItemError::from_api(&api(
            400,
            10,
            None,
            "(#10) Not enough viewers for the media to show insights",
            false,
        ));
        assert_eq!(e.kind, ItemErrorKind::NotEnoughViewers);
        let e = ItemError::from_api(&api(400, 100, Some(33), "Unsupported get request.", false));
        assert_eq!(e.kind, ItemErrorKind::NotFound);
        let e = ItemError::from_api(&api(
            400,
            100,
            None,
            "Insights data is not available for any media within an Instagram Media album",
            false,
        ));
        assert_eq!(e.kind, ItemErrorKind::AlbumChild);
        let e = ItemError::from_api(&api(
            400,
            100,
            None,
            "Story media metrics are only available for 24 hours after the story was published",
            false,
        ));
        assert_eq!(e.kind, ItemErrorKind::StoryExpired);
    }

    #[test]
    fn scrub_hides_tokens() {
        assert_eq!(
            scrub("bad token EAAXYZ used", "EAAXYZ"),
            "bad token *** used"
        );
    }
}
