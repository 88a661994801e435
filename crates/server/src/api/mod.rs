//! The JSON API under `/api/v1`: one module per resource, each exposing
//! `fn router() -> Router<AppState>`, merged here. Every handler validates its input and
//! answers with [`crate::AppError`] on failure; user input reaches the store only as typed
//! values (the store binds them as parameters).

pub mod accounts;
pub mod alerts;
pub mod analytics;
pub mod audit;
pub mod competitors;
pub mod deprecations;
pub mod jobs;
pub mod keys;
pub mod metrics;
pub mod missing;
pub mod overview;
pub mod queue;
pub mod runs;
pub mod schedules;
pub mod shares;
pub mod usage;

use axum::Router;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::Deserialize;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// All `/api/v1` routes (nested under `/api/v1` by [`crate::router`], behind auth).
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(overview::router())
        .merge(accounts::router())
        .merge(analytics::router())
        .merge(missing::router())
        .merge(deprecations::router())
        .merge(metrics::router())
        .merge(jobs::router())
        .merge(queue::router())
        .merge(schedules::router())
        .merge(runs::router())
        .merge(alerts::router())
        .merge(usage::router())
        .merge(keys::router())
        .merge(audit::router())
        .merge(shares::router())
        .merge(competitors::router())
}

/// Default page size of list endpoints.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size of list endpoints.
pub const MAX_LIMIT: u32 = 500;
/// Longest free-text search accepted.
pub const MAX_SEARCH_CHARS: usize = 200;

/// `limit` and `offset` of a list endpoint.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Paging {
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

impl Paging {
    /// The validated limit: default 50, 1..=500.
    pub fn limit(&self) -> AppResult<u32> {
        check_limit(self.limit)
    }

    pub fn offset(&self) -> u32 {
        self.offset.unwrap_or(0)
    }
}

/// Validates an optional `limit` (default 50, 1..=500).
pub fn check_limit(limit: Option<u32>) -> AppResult<u32> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(AppError::invalid(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {n}"
        ))),
    }
}

/// An optional free-text filter: bounded in length and free of control characters as given,
/// then trimmed; empty means none.
pub fn check_text(name: &str, value: Option<&str>, max_chars: usize) -> AppResult<Option<String>> {
    let Some(value) = value else {
        return Ok(None);
    };
    if value.chars().count() > max_chars {
        return Err(AppError::invalid(format!(
            "{name} must be at most {max_chars} characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(AppError::invalid(format!(
            "{name} must not contain control characters"
        )));
    }
    let value = value.trim();
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

/// Parses an instant given as RFC 3339 (`2025-03-01T12:00:00Z`) or as a date
/// (`2025-03-01`, midnight UTC).
pub fn parse_instant(name: &str, value: &str) -> AppResult<DateTime<Utc>> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)));
    }
    Err(AppError::invalid(format!(
        "{name} must be a date (YYYY-MM-DD) or an RFC 3339 time, got {value:?}"
    )))
}

/// Parses a calendar date `YYYY-MM-DD`.
pub fn parse_date(name: &str, value: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| {
        AppError::invalid(format!("{name} must be a date (YYYY-MM-DD), got {value:?}"))
    })
}

/// Validates an IANA time zone name (`UTC`, `Europe/Berlin`, `America/New_York`).
pub fn parse_timezone(name: &str) -> AppResult<chrono_tz::Tz> {
    name.trim().parse::<chrono_tz::Tz>().map_err(|_| {
        AppError::invalid(format!(
            "unknown time zone {name:?}: use an IANA name such as UTC, Europe/Berlin or \
             America/New_York"
        ))
    })
}

/// The account, or 404.
pub async fn account_or_404(state: &AppState, id: store::AccountId) -> AppResult<store::Account> {
    state
        .store
        .account_get(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("account {id} not found")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_texts_are_validated() {
        assert_eq!(check_limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(check_limit(Some(500)).unwrap(), 500);
        assert!(matches!(check_limit(Some(0)), Err(AppError::Invalid(_))));
        assert!(matches!(check_limit(Some(501)), Err(AppError::Invalid(_))));
        assert_eq!(check_text("q", Some("  "), 5).unwrap(), None);
        assert_eq!(
            check_text("q", Some(" ab "), 5).unwrap().as_deref(),
            Some("ab")
        );
        assert!(check_text("q", Some("abcdef"), 5).is_err());
        assert!(check_text("q", Some("a\u{0}b"), 5).is_err());
        // Length and control characters are judged on the text as given, before trimming.
        assert!(check_text("q", Some("  abcd  "), 5).is_err());
        assert!(check_text("q", Some("ab\n"), 5).is_err());
        assert!(check_text("q", Some("\t"), 5).is_err());
    }

    #[test]
    fn instants_dates_and_zones_parse_or_say_why() {
        assert_eq!(
            parse_instant("from", "2025-03-01").unwrap().to_rfc3339(),
            "2025-03-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_instant("from", "2025-03-01T12:00:00+02:00")
                .unwrap()
                .to_rfc3339(),
            "2025-03-01T10:00:00+00:00"
        );
        assert!(parse_instant("from", "yesterday").is_err());
        assert!(parse_date("to", "2025-02-30").is_err());
        assert_eq!(
            parse_timezone("Europe/Berlin").unwrap().name(),
            "Europe/Berlin"
        );
        assert!(parse_timezone("Mars/Olympus").is_err());
        assert!(parse_timezone("../../etc/passwd").is_err());
    }
}
