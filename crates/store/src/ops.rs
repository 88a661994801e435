//! Operational records: alerts, API keys and dashboard sessions, and the Graph API usage
//! each account has spent.

use chrono::{DateTime, NaiveDate, Utc};

use crate::account::AccountId;

pub type AlertId = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "info" => Severity::Info,
            "warning" => Severity::Warning,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

/// An alert to raise once: a second insert with the same `dedup_key` does nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    pub account_id: Option<AccountId>,
    /// e.g. `follower_growth`, `trending_post`, `sync_failed`, `token_expiring`,
    /// `token_refresh_failed`, `needs_reauth`, `rate_limit_pressure`, `sync_stale`.
    pub kind: String,
    pub severity: Severity,
    pub dedup_key: String,
    pub title: String,
    pub message: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: AlertId,
    pub alert: NewAlert,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Webhook delivery: when it succeeded, or the last error.
    pub delivered_at: Option<DateTime<Utc>>,
    pub delivery_error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertQuery {
    pub account_id: Option<AccountId>,
    pub kind: Option<String>,
    pub unacknowledged_only: bool,
    /// Newest first.
    pub limit: u32,
}

/// An API key. Only a hash of the secret part is stored; `id` is the public part that
/// prefixes the key the user holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// The stored hash of the whole key: `sha256:<64 hex digits>` (a SHA-256 digest of the
    /// 256-bit random key), or, for keys created before that format, a PHC-format argon2
    /// hash of the secret part, replaced by the digest on the key's next successful use.
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The workspace whose accounts the key reaches; None: every workspace.
    pub workspace_id: Option<crate::WorkspaceId>,
    pub role: crate::Role,
}

/// A dashboard session. `id_hash` is a hash of the cookie value; the cookie itself is never
/// stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id_hash: String,
    pub api_key_id: String,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What the Graph API says about an account's (or the app's) budget, from the latest
/// usage headers. `account_id` None is the app as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiUsage {
    pub account_id: Option<AccountId>,
    pub observed_at: DateTime<Utc>,
    /// Percent of the budget used, the highest of call count, CPU time and total time.
    pub usage_pct: f64,
    pub call_count_pct: f64,
    pub total_cputime_pct: f64,
    pub total_time_pct: f64,
    /// Minutes until access is regained, when throttled.
    pub regain_access_minutes: Option<i64>,
}

impl ApiUsage {
    /// Refuses (`Invalid`) a record with a percentage that is NaN or infinite.
    pub fn check_all(usage: &[ApiUsage]) -> crate::Result<()> {
        for u in usage {
            for (what, value) in [
                ("usage_pct", u.usage_pct),
                ("call_count_pct", u.call_count_pct),
                ("total_cputime_pct", u.total_cputime_pct),
                ("total_time_pct", u.total_time_pct),
            ] {
                if !value.is_finite() {
                    return Err(crate::StoreError::invalid(format!(
                        "API usage {what} has a non-finite value ({value})"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// API calls spent, added to the per-account daily counters.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCallsDelta {
    pub account_id: AccountId,
    pub day: NaiveDate,
    pub requests: i64,
    pub units: i64,
    pub errors: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiCallsDay {
    pub account_id: AccountId,
    pub day: NaiveDate,
    pub requests: i64,
    pub units: i64,
    pub errors: i64,
}
