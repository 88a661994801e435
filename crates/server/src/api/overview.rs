//! The overview: every account with its sync status, last and next sync and token expiry,
//! the open alerts and the queue's live counts, in one call (what the dashboard's first page
//! shows).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;
use store::AlertQuery;

use crate::api::accounts::{AccountView, account_views};
use crate::api::alerts::AlertView;
use crate::api::queue::SnapshotView;
use crate::error::{ApiJson, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/overview", get(overview))
}

/// Open alerts listed in the overview (newest first).
pub const OVERVIEW_ALERTS: u32 = 20;

#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub generated_at: DateTime<Utc>,
    pub accounts: Vec<AccountView>,
    /// Accounts per status.
    pub account_status: std::collections::BTreeMap<&'static str, usize>,
    pub open_alerts: Vec<AlertView>,
    pub queue: SnapshotView,
}

/// Builds the overview (shared with the dashboard).
pub async fn load(state: &AppState) -> AppResult<Overview> {
    let now = state.clock.now();
    let accounts = account_views(state).await?;
    let alerts = state
        .store
        .alert_list(AlertQuery {
            unacknowledged_only: true,
            limit: OVERVIEW_ALERTS,
            ..Default::default()
        })
        .await?;
    let snapshot = state.store.job_snapshot(now).await?;
    let mut account_status = std::collections::BTreeMap::new();
    for status in store::SyncStatus::ALL {
        account_status.insert(status.as_str(), 0);
    }
    for a in &accounts {
        *account_status.entry(a.status).or_default() += 1;
    }
    Ok(Overview {
        generated_at: now,
        accounts,
        account_status,
        open_alerts: alerts.iter().map(AlertView::of).collect(),
        queue: SnapshotView::of(&snapshot, now),
    })
}

async fn overview(State(state): State<AppState>) -> AppResult<ApiJson<Overview>> {
    Ok(ApiJson(load(&state).await?))
}
