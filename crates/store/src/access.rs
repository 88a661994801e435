//! Scoped access: workspaces that group accounts, the roles API keys (and the dashboard
//! sessions signed in with them) carry, and the audit log of every change.

use chrono::{DateTime, Utc};

use crate::AccountId;

/// A workspace's id.
pub type WorkspaceId = i64;

/// What a key may do, each role including the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads analytics and reports.
    Viewer,
    /// Also syncs now, retries and cancels jobs, pauses and resumes.
    Operator,
    /// Also manages accounts, keys, schedules and settings.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A workspace and the accounts in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Its accounts, by id, ascending.
    pub accounts: Vec<AccountId>,
}

/// Through which door a change came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditVia {
    Api,
    Dashboard,
    Cli,
}

impl AuditVia {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditVia::Api => "api",
            AuditVia::Dashboard => "dashboard",
            AuditVia::Cli => "cli",
        }
    }

    pub fn parse(s: &str) -> Option<AuditVia> {
        [AuditVia::Api, AuditVia::Dashboard, AuditVia::Cli]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// One change, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    pub at: DateTime<Utc>,
    /// Who: `key:<id>` for an API key or a dashboard session signed in with it, `cli:<user>`
    /// for the command line.
    pub actor: String,
    pub via: AuditVia,
    /// From where: the client address for the API and the dashboard, the host for the
    /// command line; None when unknown.
    pub source: Option<String>,
    /// What: `POST /api/v1/accounts/{id}/pause`, `keys create`, …
    pub action: String,
    /// The object changed, as named in the request (`17`, `@brand`, a key id…).
    pub target: Option<String>,
    /// The HTTP status answered; None for the command line.
    pub outcome: Option<i32>,
}

/// The audit entries of one workspace: those its keys made (`actors`, e.g. `key:<id>`) and
/// the changes anyone made to one of its `accounts` through an account route (an action
/// naming `/accounts/{id}` with the account's id as its target).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditOf {
    pub actors: Vec<String>,
    pub accounts: Vec<AccountId>,
}

/// A recorded change.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub entry: NewAuditEntry,
}

/// A read-only link to one account's report. Only a digest of the link's token is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareLink {
    /// The public part of the token.
    pub id: String,
    pub account_id: AccountId,
    /// `sha256:<hex>` of the whole token.
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who made it (`key:<id>`, `cli:<user>`).
    pub created_by: String,
}
