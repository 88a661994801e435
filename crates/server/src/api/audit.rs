//! The audit log: every change made through the API, the dashboard or the command line,
//! newest first. An admin of one workspace sees its entries: those of its keys and the
//! changes made to its accounts.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use store::{AuditEntry, AuditOf};

use crate::access::Access;

use crate::api::check_limit;
use crate::error::{ApiJson, ApiQuery, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list))
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "AuditEntry")]
pub struct AuditView {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `key:<id>` or `cli:<user>`.
    pub actor: String,
    /// `api | dashboard | cli`.
    #[schemars(extend("enum" = ["api", "dashboard", "cli"]))]
    pub via: &'static str,
    /// The client address, or the host of the command line.
    pub source: Option<String>,
    pub action: String,
    pub target: Option<String>,
    /// The HTTP status answered; null for the command line.
    pub outcome: Option<i32>,
}

impl AuditView {
    pub fn of(e: &AuditEntry) -> AuditView {
        AuditView {
            id: e.id,
            at: e.entry.at,
            actor: e.entry.actor.clone(),
            via: e.entry.via.as_str(),
            source: e.entry.source.clone(),
            action: e.entry.action.clone(),
            target: e.entry.target.clone(),
            outcome: e.entry.outcome,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AuditList {
    pub entries: Vec<AuditView>,
}

#[derive(Debug, Deserialize)]
pub struct AuditParams {
    pub limit: Option<u32>,
}

async fn list(
    State(state): State<AppState>,
    access: Access,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> AppResult<ApiJson<AuditList>> {
    let limit = check_limit(params.limit)?;
    let of = match &access.workspace {
        None => None,
        Some(ws) => {
            let keys = state.store.api_key_list().await?;
            Some(AuditOf {
                actors: keys
                    .iter()
                    .filter(|k| k.workspace_id == Some(ws.id))
                    .map(|k| format!("key:{}", k.id))
                    .collect(),
                accounts: ws.accounts.iter().copied().collect(),
            })
        }
    };
    let entries = state.store.audit_list(limit, of.as_ref()).await?;
    Ok(ApiJson(AuditList {
        entries: entries.iter().map(AuditView::of).collect(),
    }))
}
