//! API keys: list (never the keys themselves), create (the key is in the answer, once) and
//! revoke (effective at once in this process, and within the credential cache's TTL in
//! others).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use store::ApiKey;

use crate::error::{ApiJson, ApiPath, AppError, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/keys", get(list).post(create))
        .route("/keys/{id}", delete(revoke))
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyView {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl KeyView {
    pub fn of(k: &ApiKey) -> KeyView {
        KeyView {
            id: k.id.clone(),
            name: k.name.clone(),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
}

async fn list(State(state): State<AppState>) -> AppResult<ApiJson<KeyList>> {
    let keys = state.store.api_key_list().await?;
    Ok(ApiJson(KeyList {
        keys: keys.iter().map(KeyView::of).collect(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub key: KeyView,
    /// The whole key: shown this once, never stored in clear.
    pub secret: String,
}

async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateKey>,
) -> AppResult<(StatusCode, ApiJson<CreatedKey>)> {
    let (key, secret) =
        crate::auth::create_api_key(&*state.store, &body.name, state.clock.now()).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(CreatedKey {
            key: KeyView::of(&key),
            secret: secret.expose().to_owned(),
        }),
    ))
}

async fn revoke(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> AppResult<StatusCode> {
    if !crate::auth::revoke_api_key(&state, &id).await? {
        return Err(AppError::not_found(format!("API key {id} not found")));
    }
    Ok(StatusCode::NO_CONTENT)
}
