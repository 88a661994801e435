//! Accounts: list, detail.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use crate::error::{ApiJson, ApiPath, AppError, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts", get(list))
        .route("/accounts/{id}", get(detail))
}

/// An account as the API shows it (never its token).
#[derive(Debug, Serialize)]
pub struct AccountView {
    pub id: i64,
    pub ig_user_id: String,
    pub username: String,
    pub status: &'static str,
    pub timezone: String,
    pub last_synced_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_sync_error: Option<String>,
    pub token_expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl AccountView {
    pub fn of(account: &store::Account) -> AccountView {
        AccountView {
            id: account.id,
            ig_user_id: account.ig_user_id.clone(),
            username: account.username.clone(),
            status: account.status.as_str(),
            timezone: account.timezone.clone(),
            last_synced_at: account.last_synced_at,
            last_sync_error: account.last_sync_error.clone(),
            token_expires_at: account.token_expires_at,
        }
    }
}

async fn list(State(state): State<AppState>) -> AppResult<ApiJson<Vec<AccountView>>> {
    let accounts = state.store.account_list().await?;
    Ok(ApiJson(accounts.iter().map(AccountView::of).collect()))
}

async fn detail(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<AccountView>> {
    let account = state
        .store
        .account_get(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("account {id} not found")))?;
    Ok(ApiJson(AccountView::of(&account)))
}
