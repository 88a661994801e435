//! Alerts: failures, stale syncs, expiring tokens, rate-limit pressure, follower growth and
//! trending posts; list and acknowledge.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use store::{AccountId, Alert, AlertQuery};

use crate::access::Access;

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
    pub account_id: Option<AccountId>,
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
    pub account: Option<AccountId>,
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
    access: Access,
    ApiQuery(params): ApiQuery<ListParams>,
) -> AppResult<ApiJson<AlertList>> {
    let query = AlertQuery {
        account_id: params.account,
        kind: check_text("kind", params.kind.as_deref(), 100)?,
        unacknowledged_only: params.open.unwrap_or(false),
        limit: check_limit(params.limit)?,
    };
    let alerts = alerts_of(&state, query, access.account_set().as_deref()).await?;
    Ok(ApiJson(AlertList {
        alerts: alerts.iter().map(AlertView::of).collect(),
    }))
}

/// The alerts a query matches, newest first; `only` some accounts: those accounts' alerts
/// (never one of the installation without an account).
pub async fn alerts_of(
    state: &AppState,
    query: AlertQuery,
    only: Option<&[AccountId]>,
) -> AppResult<Vec<Alert>> {
    let Some(only) = only else {
        return Ok(state.store.alert_list(query).await?);
    };
    if let Some(id) = query.account_id {
        if !only.contains(&id) {
            return Ok(Vec::new());
        }
        return Ok(state.store.alert_list(query).await?);
    }
    let limit = query.limit as usize;
    let mut all = Vec::new();
    for id in only {
        all.extend(
            state
                .store
                .alert_list(AlertQuery {
                    account_id: Some(*id),
                    ..query.clone()
                })
                .await?,
        );
    }
    all.sort_by_key(|a| std::cmp::Reverse((a.alert.created_at, a.id)));
    if limit > 0 {
        all.truncate(limit);
    }
    Ok(all)
}

/// Acknowledges an alert; a key of one workspace only its accounts' alerts (any other is
/// answered like one that does not exist).
async fn ack(
    State(state): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<Acknowledged>> {
    if !ack_as(&state, &access, id).await? {
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

/// Acknowledges the alert if the key may see it: false when it does not exist or is of an
/// account outside the key's workspace (or of none, for such a key).
pub async fn ack_as(state: &AppState, access: &Access, id: i64) -> AppResult<bool> {
    if let Some(only) = access.account_set() {
        let all = AlertQuery {
            limit: 0,
            ..Default::default()
        };
        let mine = alerts_of(state, all, Some(&only)).await?;
        if !mine.iter().any(|a| a.id == id) {
            return Ok(false);
        }
    }
    Ok(state.store.alert_ack(id, state.clock.now()).await?)
}
