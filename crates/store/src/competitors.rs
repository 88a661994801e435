//! Competitors: other professional accounts read through Business Discovery with one of our
//! accounts (the via account), each with where its reads stand (status, last error and
//! reason), and their history appended as snapshots: the public counters and every post's
//! counters at each capture.

use chrono::{DateTime, Utc};

use crate::account::AccountId;

pub type CompetitorId = i64;

/// Where a competitor's reads stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompetitorStatus {
    /// Added, never read yet.
    Pending,
    /// The last read succeeded.
    Ok,
    /// The last read failed; `last_reason` and `last_error` say why.
    Error,
}

impl CompetitorStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ok => "ok",
            Self::Error => "error",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "ok" => Some(Self::Ok),
            "error" => Some(Self::Error),
            _ => None,
        }
    }
}

/// A competitor to track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCompetitor {
    /// Instagram username, stored lower-case without `@`.
    pub username: String,
    /// One of our accounts (Facebook Login) whose token and budget the reads use.
    pub via_account_id: AccountId,
    pub created_at: DateTime<Utc>,
}

/// A tracked competitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Competitor {
    pub id: CompetitorId,
    pub username: String,
    pub via_account_id: AccountId,
    /// Its Instagram user id, once a read found it.
    pub ig_user_id: Option<String>,
    /// Its profile name, once a read found it.
    pub name: Option<String>,
    pub status: CompetitorStatus,
    /// Stable key of the last failure (`not_found`, `restricted`, `instagram_login`,
    /// `rate_limited`, …); kept after a later success only in `last_error_at`.
    pub last_reason: Option<String>,
    /// The last failure in words.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// One capture of a competitor's public counters; `None` where Meta gave no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompetitorSnapshot {
    pub competitor_id: CompetitorId,
    pub captured_at: DateTime<Utc>,
    pub followers_count: Option<i64>,
    pub follows_count: Option<i64>,
    pub media_count: Option<i64>,
}

/// One post of a competitor at one capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompetitorMediaSnapshot {
    pub competitor_id: CompetitorId,
    pub media_id: String,
    pub captured_at: DateTime<Utc>,
    pub posted_at: DateTime<Utc>,
    pub media_type: String,
    pub media_product_type: Option<String>,
    pub like_count: Option<i64>,
    pub comments_count: Option<i64>,
    pub permalink: Option<String>,
}

/// Everything one successful read stores, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompetitorCapture {
    pub snapshot: CompetitorSnapshot,
    pub ig_user_id: String,
    pub name: Option<String>,
    pub media: Vec<CompetitorMediaSnapshot>,
}

/// A failed read, recorded on the competitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompetitorFailure {
    pub competitor_id: CompetitorId,
    pub at: DateTime<Utc>,
    /// Stable key (see [`Competitor::last_reason`]).
    pub reason: String,
    pub message: String,
}
