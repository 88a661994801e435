//! Metric catalog decisions learnt from the Graph API's refusals ("metric[0] must be one of
//! …", "not supported for this media product type"), persisted so every process and every
//! restart skips a metric Meta withdrew instead of being refused again.

use chrono::{DateTime, Utc};

/// One metric the API refused for an API version, login flavour and catalog scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogDecisionRecord {
    /// e.g. `v25.0`.
    pub api_version: String,
    /// `facebook` or `instagram`.
    pub login: String,
    /// The catalog scope (`media/REELS`, `account/total_value`, …).
    pub scope: String,
    pub metric: String,
    /// Meta's message.
    pub reason: String,
    pub decided_at: DateTime<Utc>,
}
