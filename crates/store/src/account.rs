//! Accounts: the Instagram professional accounts igsync keeps history for, their encrypted
//! tokens and their sync status.

use chrono::{DateTime, Utc};

use crate::crypto::EncryptedToken;

pub use queue::types::AccountId;

/// Business or creator account, as Meta reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountType {
    Business,
    Creator,
    Unknown,
}

impl AccountType {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountType::Business => "business",
            AccountType::Creator => "creator",
            AccountType::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<AccountType> {
        Some(match s {
            "business" => AccountType::Business,
            "creator" => AccountType::Creator,
            "unknown" => AccountType::Unknown,
            _ => return None,
        })
    }
}

/// Which Instagram API flavour the account's token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoginKind {
    /// Instagram API with Facebook Login (`graph.facebook.com`, Facebook user/page token).
    Facebook,
    /// Instagram API with Instagram Login (`graph.instagram.com`, Instagram user token).
    Instagram,
}

impl LoginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginKind::Facebook => "facebook",
            LoginKind::Instagram => "instagram",
        }
    }

    pub fn parse(s: &str) -> Option<LoginKind> {
        Some(match s {
            "facebook" => LoginKind::Facebook,
            "instagram" => LoginKind::Instagram,
            _ => return None,
        })
    }
}

/// Where an account stands in its sync life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncStatus {
    /// Nothing running; the last sync (if any) succeeded.
    Idle,
    /// A sync chain is in progress.
    Syncing,
    /// The last sync failed for good; `last_sync_error` says which step and why.
    Failed,
    /// The user paused the account: schedules skip it.
    Paused,
    /// Meta rejected the token (code 190): the user must authorize again.
    NeedsReauth,
}

impl SyncStatus {
    pub const ALL: [SyncStatus; 5] = [
        SyncStatus::Idle,
        SyncStatus::Syncing,
        SyncStatus::Failed,
        SyncStatus::Paused,
        SyncStatus::NeedsReauth,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Idle => "idle",
            SyncStatus::Syncing => "syncing",
            SyncStatus::Failed => "failed",
            SyncStatus::Paused => "paused",
            SyncStatus::NeedsReauth => "needs_reauth",
        }
    }

    pub fn parse(s: &str) -> Option<SyncStatus> {
        SyncStatus::ALL.into_iter().find(|it| it.as_str() == s)
    }
}

/// An account as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub ig_user_id: String,
    pub username: String,
    pub name: Option<String>,
    pub account_type: AccountType,
    pub login: LoginKind,
    /// The Facebook Page the account is connected to (Facebook Login only).
    pub page_id: Option<String>,
    /// IANA time zone used for periods and best posting times (default `UTC`).
    pub timezone: String,
    pub token: Option<EncryptedToken>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub token_refreshed_at: Option<DateTime<Utc>>,
    pub status: SyncStatus,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub last_sync_error: Option<String>,
    /// Latest profile counters (also kept as history in profile snapshots).
    pub followers_count: Option<i64>,
    pub follows_count: Option<i64>,
    pub media_count: Option<i64>,
    pub profile_picture_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Account {
    /// Whether the sync schedules start syncs for the account: it holds a token, is not
    /// paused and its token was not rejected.
    pub fn takes_scheduled_syncs(&self) -> bool {
        self.token.is_some() && !matches!(self.status, SyncStatus::Paused | SyncStatus::NeedsReauth)
    }

    /// The account's IANA time zone. A stored name that is not one (written around igsync's
    /// checks) is an error naming the account, never a silent UTC.
    pub fn time_zone(&self) -> crate::Result<chrono_tz::Tz> {
        self.timezone.parse().map_err(|_| {
            crate::StoreError::invalid(format!(
                "account @{} has the stored time zone {:?}, which is not an IANA name; set a \
                 valid one (e.g. `igsync accounts set-timezone`)",
                self.username, self.timezone
            ))
        })
    }
}

/// Registers an account, or updates the registration of an existing one (matched by
/// `ig_user_id`). Updating replaces the token and descriptive fields but keeps the
/// status, history and time zone unless `timezone` is given.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAccount {
    pub ig_user_id: String,
    pub username: String,
    pub name: Option<String>,
    pub account_type: AccountType,
    pub login: LoginKind,
    pub page_id: Option<String>,
    pub timezone: Option<String>,
    pub token: EncryptedToken,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

/// A change of sync status, applied atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    pub status: SyncStatus,
    /// Sets `last_sync_error` (None clears it).
    pub error: Option<String>,
    /// When set, also sets `last_synced_at`.
    pub synced_at: Option<DateTime<Utc>>,
    /// Apply only if the current status is one of these (empty: always). Returns false
    /// from [`crate::Store::account_status_set`] when the guard did not match.
    pub only_if: Vec<SyncStatus>,
    pub now: DateTime<Utc>,
}

/// A new token for an account (after a refresh).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenUpdate {
    pub account_id: AccountId,
    pub token: EncryptedToken,
    pub expires_at: Option<DateTime<Utc>>,
    pub refreshed_at: DateTime<Utc>,
}
