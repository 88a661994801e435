//! Graph API errors: the exact JSON shape Meta sends (`message`, `type`, `code`,
//! `error_subcode`, `is_transient`, `error_user_title`, `error_user_msg`, `fbtrace_id`) and
//! constructors for every error the simulator produces.
//!
//! Messages quoted in the API reference are reproduced verbatim; the few the reference does
//! not quote are marked as such next to their constructor.

use serde_json::{Map, Value, json};

/// One Graph API error.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) message: String,
    pub(crate) kind: &'static str,
    pub(crate) code: u32,
    pub(crate) subcode: Option<u32>,
    pub(crate) is_transient: bool,
    /// The rarely present user-facing texts and `error_data`, boxed to keep errors small.
    pub(crate) extra: Option<Box<ErrorExtra>>,
    /// Object-level problems (one object of a multi-ID read) as opposed to request-level
    /// ones (bad parameter, token, rate limit) that fail the whole request.
    pub(crate) object_level: bool,
}

/// Optional parts of an error.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ErrorExtra {
    pub(crate) user_title: String,
    pub(crate) user_msg: String,
    pub(crate) error_data: Value,
}

/// Type of most Graph errors.
const OAUTH: &str = "OAuthException";

impl ApiError {
    fn new(status: u16, code: u32, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            kind: OAUTH,
            code,
            subcode: None,
            is_transient: false,
            extra: None,
            object_level: false,
        }
    }

    fn object(mut self) -> ApiError {
        self.object_level = true;
        self
    }

    fn subcode(mut self, subcode: u32) -> ApiError {
        self.subcode = Some(subcode);
        self
    }

    fn transient(mut self) -> ApiError {
        self.is_transient = true;
        self
    }

    /// The `{"error": {...}}` body.
    pub(crate) fn body(&self, trace_id: &str) -> Value {
        json!({ "error": self.inner(trace_id) })
    }

    /// The inner error object.
    pub(crate) fn inner(&self, trace_id: &str) -> Value {
        let mut m = Map::new();
        m.insert("message".into(), Value::from(self.message.clone()));
        m.insert("type".into(), Value::from(self.kind));
        m.insert("code".into(), Value::from(self.code));
        if let Some(sub) = self.subcode {
            m.insert("error_subcode".into(), Value::from(sub));
        }
        if let Some(x) = &self.extra
            && !x.error_data.is_null()
        {
            m.insert("error_data".into(), x.error_data.clone());
        }
        m.insert("is_transient".into(), Value::from(self.is_transient));
        if let Some(x) = &self.extra {
            m.insert("error_user_title".into(), Value::from(x.user_title.clone()));
            m.insert("error_user_msg".into(), Value::from(x.user_msg.clone()));
        }
        m.insert("fbtrace_id".into(), Value::from(trace_id));
        Value::Object(m)
    }

    // ---- request and parameter errors -------------------------------------------------

    /// `(#100)` invalid parameter with a free message.
    pub(crate) fn param(message: impl Into<String>) -> ApiError {
        ApiError::new(400, 100, format!("(#100) {}", message.into()))
    }

    /// Unknown edge or path (Meta: code 2500).
    pub(crate) fn unknown_path(path: &str) -> ApiError {
        ApiError::new(400, 2500, format!("Unknown path components: {path}"))
    }

    /// A version outside v21.0..=v26.0, or not yet released at the simulated time. The
    /// reference does not quote Meta's wording for this case.
    pub(crate) fn unknown_version(version: &str) -> ApiError {
        ApiError::new(
            400,
            2635,
            format!(
                "(#2635) Unsupported API version {version}. This simulator serves v21.0 to v26.0, each from its release date."
            ),
        )
    }

    /// Object missing, deleted, or not accessible with this token (subcode 33).
    pub(crate) fn no_object(method: &str, id: &str) -> ApiError {
        let mut e = ApiError::new(
            400,
            100,
            format!(
                "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
            ),
        )
        .subcode(33)
        .object();
        e.kind = "GraphMethodException";
        e
    }

    /// An id of a multi-ID read that names nothing (edges on): the whole request fails.
    pub(crate) fn alias_unknown(id: &str) -> ApiError {
        ApiError::new(
            400,
            803,
            format!("(#803) Some of the aliases you requested do not exist: {id}"),
        )
    }

    /// A permission the user declined or the token lacks (`(#10)`, as Meta answers insights
    /// calls without `instagram_manage_insights`).
    pub(crate) fn permission_missing() -> ApiError {
        ApiError::new(
            403,
            10,
            "(#10) Application does not have permission for this action",
        )
    }

    /// The app lacks Advanced Access for webhooks. Meta's wording for this refusal is not
    /// quoted anywhere we found; this is its generic capability error.
    pub(crate) fn capability() -> ApiError {
        ApiError::new(
            400,
            3,
            "(#3) Application does not have the capability to make this API call.",
        )
    }

    /// Business Discovery of a username that is not a professional account.
    pub(crate) fn discovery_user_not_found(username: &str) -> ApiError {
        let mut e = ApiError::new(400, 110, "Invalid user id").subcode(2207013);
        e.extra = Some(Box::new(ErrorExtra {
            user_title: "Cannot find User".to_owned(),
            user_msg: format!("The user with username: {username} cannot be found."),
            error_data: Value::Null,
        }));
        e
    }

    /// `online_followers` of the latest two days (edges on). Meta's wording is not quoted
    /// anywhere we found (Airbyte reports the failure only).
    pub(crate) fn online_followers_not_ready() -> ApiError {
        ApiError::param(
            "online_followers data is not available yet for the last 2 days; request days before them",
        )
    }

    /// A field that does not exist on the node type.
    pub(crate) fn nonexisting_field(field: &str, node_type: &str) -> ApiError {
        ApiError::param(format!(
            "Tried accessing nonexisting field ({field}) on node type ({node_type})"
        ))
    }

    /// A syntax error in `fields`.
    pub(crate) fn syntax(detail: &str, at: usize, input: &str) -> ApiError {
        ApiError::new(
            400,
            2500,
            format!("Syntax error \"{detail}\" at character {at}: {input}"),
        )
    }

    /// `view_count` outside Business Discovery.
    pub(crate) fn view_count() -> ApiError {
        ApiError::new(
            400,
            36104,
            "(#36104) The view_count field can only be accessed through the Business Discovery API, not on your own media",
        )
    }

    /// "An unknown error has occurred." — what Meta answers for a breakdown a metric does
    /// not support.
    pub(crate) fn unknown_error() -> ApiError {
        ApiError::new(500, 1, "An unknown error has occurred.")
    }

    // ---- tokens ----------------------------------------------------------------------

    /// No token at all.
    pub(crate) fn token_required() -> ApiError {
        ApiError::new(
            400,
            104,
            "An access token is required to request this resource.",
        )
    }

    /// Unknown or unparsable token (190 / 467).
    pub(crate) fn token_invalid() -> ApiError {
        ApiError::new(
            400,
            190,
            "Invalid OAuth access token - Cannot parse access token",
        )
        .subcode(467)
    }

    /// Expired token (190 / 463).
    pub(crate) fn token_expired(expired_at: &str, now: &str) -> ApiError {
        ApiError::new(
            400,
            190,
            format!("Error validating access token: Session has expired on {expired_at}. The current time is {now}."),
        )
        .subcode(463)
    }

    /// A `client_id` that is not the app's id.
    pub(crate) fn app_id_invalid() -> ApiError {
        ApiError::new(
            400,
            101,
            "Error validating application. Invalid application ID.",
        )
    }

    /// A `client_secret` that is not the app's secret.
    pub(crate) fn client_secret_invalid() -> ApiError {
        ApiError::new(400, 1, "Error validating client secret.")
    }

    /// A code the dialog never issued.
    pub(crate) fn code_invalid() -> ApiError {
        ApiError::param("Invalid verification code format.")
    }

    /// A code exchanged before (subcode 36009).
    pub(crate) fn code_used() -> ApiError {
        ApiError::new(400, 100, "This authorization code has been used.").subcode(36009)
    }

    /// A code past its lifetime (subcode 36007).
    pub(crate) fn code_expired() -> ApiError {
        ApiError::new(400, 100, "This authorization code has expired.").subcode(36007)
    }

    /// A `redirect_uri` other than the dialog's (subcode 36008).
    pub(crate) fn code_redirect_mismatch() -> ApiError {
        ApiError::new(
            400,
            100,
            "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
        )
        .subcode(36008)
    }

    // ---- insights ----------------------------------------------------------------------

    /// Unknown metric name: the list is the set of accepted names.
    pub(crate) fn metric_must_be_one_of(index: usize, accepted: &[&str]) -> ApiError {
        ApiError::param(format!(
            "metric[{index}] must be one of the following values: {}",
            accepted.join(", ")
        ))
    }

    /// A deprecated user metric (verbatim from Meta for impressions).
    pub(crate) fn user_metric_removed(metric: &str) -> ApiError {
        ApiError::param(format!(
            "Starting from version 22 and above, the {metric} metric is no longer supported for the queried user. Please refer to the documentation at https://developers.facebook.com/docs/instagram-api/reference/ig-user/insights for a list of supported metrics."
        ))
    }

    /// A media metric removed from v22 on (and from all versions after 21 Apr 2025).
    pub(crate) fn media_metric_removed_v22(metric: &str) -> ApiError {
        ApiError::param(format!(
            "Starting from version 22 and above, the {metric} metric is no longer supported. Please refer to the documentation at https://developers.facebook.com/docs/instagram-api/reference/ig-media/insights for a list of supported metrics."
        ))
    }

    /// `impressions` on v21 after 21 Apr 2025 for media created on or after 2 Jul 2024.
    pub(crate) fn impressions_on_recent_media() -> ApiError {
        ApiError::param(
            "The impressions metric is no longer supported for media created on or after July 2, 2024. Please refer to the documentation at https://developers.facebook.com/docs/instagram-api/reference/ig-media/insights for a list of supported metrics.",
        )
    }

    /// A media metric removed on every version after 21 Apr 2025 (v21 included).
    pub(crate) fn media_metric_retired(metric: &str) -> ApiError {
        ApiError::param(format!(
            "The {metric} metric is no longer supported on any version since April 21, 2025. Please refer to the documentation at https://developers.facebook.com/docs/instagram-api/reference/ig-media/insights for a list of supported metrics."
        ))
    }

    /// A metric withdrawn while the simulator runs (like a Meta deprecation).
    pub(crate) fn metric_withdrawn(metric: &str, media: bool) -> ApiError {
        let doc = if media { "ig-media" } else { "ig-user" };
        ApiError::param(format!(
            "The {metric} metric is no longer supported. Please refer to the documentation at https://developers.facebook.com/docs/instagram-api/reference/{doc}/insights for a list of supported metrics."
        ))
    }

    /// `video_views` (verbatim).
    pub(crate) fn video_views_removed() -> ApiError {
        ApiError::param(
            "Starting from version 21+, the following metric is no longer supported: video_views. Instead, please refer to the documentation at https://developers.facebook.com/docs/instagram-api/reference/ig-media/insights for a list of supported metrics.",
        )
    }

    /// A metric not valid for the media product type (verbatim).
    pub(crate) fn metric_not_for_product_type(metric: &str) -> ApiError {
        ApiError::param(format!(
            "The Media Insights API does not support the {metric} metric for this media product type."
        ))
    }

    /// Time-series request containing total_value-only metrics (verbatim).
    pub(crate) fn total_value_required(metrics: &[&str]) -> ApiError {
        ApiError::param(format!(
            "The following metrics ({}) should be specified with parameter metric_type=total_value",
            metrics.join(",")
        ))
    }

    /// since/until more than 30 days apart (verbatim).
    pub(crate) fn window_too_long() -> ApiError {
        ApiError::param("There cannot be more than 30 days (2592000 s) between since and until")
    }

    /// `follower_count` outside the last 30 days (verbatim).
    pub(crate) fn follower_count_window() -> ApiError {
        ApiError::param(
            "(follower_count) metric only supports querying data for the last 30 days excluding the current day",
        )
    }

    /// Media posted before the account became a business account (verbatim).
    pub(crate) fn pre_conversion() -> ApiError {
        let mut e = ApiError::new(400, 100, "Invalid parameter").subcode(2108006);
        e.extra = Some(Box::new(ErrorExtra {
            user_title: "Media Posted Before Business Account Conversion".to_owned(),
            user_msg: "The media was posted before the most recent time that the user's account was converted to a business account from a personal account."
                .to_owned(),
            error_data: json!({ "blame_field_specs": [[""]] }),
        }));
        e.object()
    }

    /// Story with fewer than 5 viewers (verbatim).
    pub(crate) fn not_enough_viewers() -> ApiError {
        ApiError::new(
            400,
            10,
            "(#10) Not enough viewers for the media to show insights",
        )
        .object()
    }

    /// Insights of an album child. The reference quotes the limitation ("Insights data is
    /// not available for any media within an Instagram Media album"), not the error text.
    pub(crate) fn album_child_insights() -> ApiError {
        ApiError::param(
            "Insights data is not available for any media within an Instagram Media album",
        )
        .object()
    }

    /// Insights of a story more than 24 h old. The reference quotes the limitation ("Story
    /// media metrics are only available for 24 hours"), not the error text.
    pub(crate) fn story_expired() -> ApiError {
        ApiError::param(
            "Story media metrics are only available for 24 hours after the story was published",
        )
        .object()
    }

    /// `facebook_views` / `crossposted_views` on media not shared to Facebook. Not quoted in
    /// the reference ("throws if not shared to Facebook").
    pub(crate) fn not_crossposted(metric: &str) -> ApiError {
        ApiError::param(format!(
            "The {metric} metric is only available for media shared to Facebook"
        ))
        .object()
    }

    // ---- rate limits and faults --------------------------------------------------------

    /// The Instagram BUC limit.
    pub(crate) fn buc_throttled() -> ApiError {
        ApiError::new(
            400,
            80002,
            "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
        )
        .transient()
    }

    /// App-level limit (code 4).
    pub(crate) fn app_throttled() -> ApiError {
        ApiError::new(400, 4, "(#4) Application request limit reached").transient()
    }

    /// User-level limit (code 17).
    pub(crate) fn user_throttled() -> ApiError {
        ApiError::new(400, 17, "(#17) User request limit reached").transient()
    }

    /// Pages limit (code 32).
    pub(crate) fn page_throttled() -> ApiError {
        ApiError::new(400, 32, "(#32) Page request limit reached").transient()
    }

    /// Custom limit (code 613).
    pub(crate) fn custom_throttled() -> ApiError {
        ApiError::new(
            400,
            613,
            "(#613) Calls to this api have exceeded the rate limit.",
        )
        .transient()
    }

    /// Injected HTTP 500, code 1.
    pub(crate) fn server_unknown() -> ApiError {
        ApiError::new(500, 1, "An unknown error has occurred.").transient()
    }

    /// Injected HTTP 503, code 2.
    pub(crate) fn service_unavailable() -> ApiError {
        ApiError::new(503, 2, "(#2) Service temporarily unavailable").transient()
    }

    /// Injected `is_transient` error (verbatim message of a real one).
    pub(crate) fn transient_error() -> ApiError {
        ApiError::new(
            400,
            2,
            "An unexpected error has occurred. Please retry your request later.",
        )
        .transient()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_conversion_has_the_documented_shape() {
        let body = ApiError::pre_conversion().body("Abc");
        let e = &body["error"];
        assert_eq!(e["message"], "Invalid parameter");
        assert_eq!(e["type"], "OAuthException");
        assert_eq!(e["code"], 100);
        assert_eq!(e["error_subcode"], 2108006);
        assert_eq!(e["is_transient"], false);
        assert_eq!(e["error_data"]["blame_field_specs"][0][0], "");
        assert_eq!(e["fbtrace_id"], "Abc");
    }
}
