//! One public entry point that feeds a body to every Graph API response parser, so fuzzers
//! and property tests outside this crate can exercise the parsers (which stay private)
//! exactly as the client uses them. Only panics matter: every parser must turn any input
//! into a value or a [`crate::GraphError`].

use chrono::Utc;

use crate::{catalog, error, parse, throttle};

/// Feeds `body` to every response parser (and the usage-header and error-message parsers),
/// as a success body and as an error body. Returns how many parsers accepted it.
pub fn parse_any_response(body: &[u8]) -> usize {
    let mut accepted = 0;
    let mut count = |ok: bool| accepted += usize::from(ok);
    count(parse::api_error(400, body).is_some());
    count(parse::api_error(200, body).is_some());
    count(parse::profile(body).is_ok());
    count(parse::media_page(body).is_ok());
    count(parse::story_page(body).is_ok());
    count(parse::media_insights_single(body).is_ok());
    count(parse::multi_id_insights(body).is_ok());
    count(parse::time_series(body).is_ok());
    count(parse::total_values(body).is_ok());
    count(parse::online_followers(body).is_ok());
    count(parse::batch(body, 3).is_ok());
    count(parse::batch(body, 0).is_ok());
    count(parse::token_info(body).is_ok());
    count(parse::debug_token(body).is_ok());
    count(parse::accounts_page(body).is_ok());
    count(parse::me(body).is_ok());
    let text = String::from_utf8_lossy(body);
    let now = Utc::now();
    count(throttle::parse_app_usage(&text, now).is_some());
    count(!throttle::parse_buc_usage(&text, now).is_empty());
    count(error::is_metric_rejection(&text));
    count(!catalog::rejected_metrics(&text, &["reach", "views", "likes", "saved"]).is_empty());
    accepted
}
