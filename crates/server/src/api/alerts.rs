//! Alerts: failures, stale syncs, expiring tokens, rate-limit pressure, follower growth and
//! trending posts; list and acknowledge.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use store::{Alert, AlertQuery};

use crate::api::{check_limit, check_text};
use crate::error::{ApiJson, ApiPath, ApiQuery, AppError, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(list))
        .route("/alerts/{id}/ack", post(ack))
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "Alert")]
pub struct AlertView {
    pub id: i64,
    pub account_id: Option<i64>,
    pub kind: String,
    /// `info | warning | critical`.
    #[schemars(extend("enum" = ["info", "warning", "critical"]))]
    pub severity: &'static str,
    pub title: String,
    pub message: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub delivery_error: Option<String>,
}

impl AlertView {
    pub fn of(a: &Alert) -> AlertView {
        AlertView {
            id: a.id,
            account_id: a.alert.account_id,
            kind: a.alert.kind.clone(),
            severity: a.alert.severity.as_str(),
            title: a.alert.title.clone(),
            message: a.alert.message.clone(),
            payload: a.alert.payload.clone(),
            created_at: a.alert.created_at,
            acknowledged_at: a.acknowledged_at,
            delivered_at: a.delivered_at,
            delivery_error: a.delivery_error.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub account: Option<i64>,
    pub kind: Option<String>,
    /// Only alerts not acknowledged yet.
    pub open: Option<bool>,
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AlertList {
    pub alerts: Vec<AlertView>,
}

/// Alerts, newest first; a key of one workspace gets its accounts' alerts only (an account
/// outside it has none, like one that does not exist).
async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
    access: Option<axum::Extension<crate::access::Access>>,
) -> AppResult<ApiJson<AlertList>> {
    let query = AlertQuery {
        account_id: params.account,
        kind: check_text("kind", params.kind.as_deref(), 100)?,
        unacknowledged_only: params.open.unwrap_or(false),
        limit: check_limit(params.limit)?,
    };
    let workspace = access.and_then(|axum::Extension(a)| a.workspace);
    let alerts = match (workspace, params.account) {
        (None, _) => state.store.alert_list(query).await?,
        (Some(ws), Some(id)) if !ws.accounts.contains(&id) => Vec::new(),
        (Some(_), Some(_)) => state.store.alert_list(query).await?,
        (Some(ws), None) => {
            let limit = query.limit as usize;
            let mut all = Vec::new();
            for id in ws.accounts {
                all.extend(
                    state
                        .store
                        .alert_list(AlertQuery {
                            account_id: Some(id),
                            ..query.clone()
                        })
                        .await?,
                );
            }
            all.sort_by_key(|a| std::cmp::Reverse((a.alert.created_at, a.id)));
            all.truncate(limit);
            all
        }
    };
    Ok(ApiJson(AlertList {
        alerts: alerts.iter().map(AlertView::of).collect(),
    }))
}

async fn ack(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<Acknowledged>> {
    if !state.store.alert_ack(id, state.clock.now()).await? {
        return Err(AppError::not_found(format!("alert {id} not found")));
    }
    Ok(ApiJson(Acknowledged {
        id,
        acknowledged: true,
    }))
}

/// The answer of `POST /alerts/{id}/ack`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Acknowledged {
    pub id: i64,
    pub acknowledged: bool,
}
