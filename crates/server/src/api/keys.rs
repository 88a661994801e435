//! API keys: list (never the keys themselves), create (the key is in the answer, once) and
//! revoke (effective at once in this process, and within the credential cache's TTL in
//! others).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use store::{ApiKey, Role};

use crate::access::Access;
use crate::error::{ApiJson, ApiPath, AppError, AppResult};
use crate::openapi::schema::{NO_CONTROL_CHARACTERS, NOT_BLANK};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/keys", get(list).post(create))
        .route("/keys/{id}", delete(revoke))
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "ApiKey")]
pub struct KeyView {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The workspace the key reaches; null: every workspace.
    pub workspace_id: Option<i64>,
    /// `viewer | operator | admin`.
    #[schemars(extend("enum" = ["viewer", "operator", "admin"]))]
    pub role: &'static str,
}

impl KeyView {
    pub fn of(k: &ApiKey) -> KeyView {
        KeyView {
            id: k.id.clone(),
            name: k.name.clone(),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
            workspace_id: k.workspace_id,
            role: k.role.as_str(),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
}

/// Every key, or a workspace admin's: the keys of its workspace.
async fn list(State(state): State<AppState>, access: Access) -> AppResult<ApiJson<KeyList>> {
    let mut keys = state.store.api_key_list().await?;
    if let Some(ws) = &access.workspace {
        keys.retain(|k| k.workspace_id == Some(ws.id));
    }
    Ok(ApiJson(KeyList {
        keys: keys.iter().map(KeyView::of).collect(),
    }))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// A name to recognise the key by.
    #[schemars(
        length(max = 100),
        regex(pattern = NO_CONTROL_CHARACTERS),
        extend("allOf" = [{"pattern": NOT_BLANK}])
    )]
    pub name: String,
    /// The workspace the key reaches; absent or null: the reach of the key making the
    /// request (every workspace, or its one workspace). A key of one workspace creates keys
    /// of that workspace only.
    #[serde(default)]
    pub workspace_id: Option<i64>,
    /// `viewer`, `operator` or `admin` (the default).
    #[serde(default)]
    #[schemars(extend("enum" = ["viewer", "operator", "admin", null]))]
    pub role: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub key: KeyView,
    /// The whole key: shown this once, never stored in clear.
    pub secret: String,
}

async fn create(
    State(state): State<AppState>,
    access: Access,
    ApiJson(body): ApiJson<CreateKey>,
) -> AppResult<(StatusCode, ApiJson<CreatedKey>)> {
    let role = match body.role.as_deref() {
        None => Role::Admin,
        Some(r) => Role::parse(r).ok_or_else(|| {
            AppError::invalid(format!("role must be viewer, operator or admin, got {r:?}"))
        })?,
    };
    let workspace_id = match (&access.workspace, body.workspace_id) {
        (None, ws) => ws,
        (Some(mine), None) => Some(mine.id),
        (Some(mine), Some(ws)) if ws == mine.id => Some(ws),
        (Some(mine), Some(_)) => {
            return Err(AppError::Forbidden(format!(
                "this key reaches the workspace {:?} only, and creates keys of that workspace \
                 only; leave workspace_id out or give {}",
                mine.name, mine.id
            )));
        }
    };
    if let Some(ws) = workspace_id
        && state.store.workspace_get(ws).await?.is_none()
    {
        return Err(AppError::invalid(format!("no workspace with id {ws}")));
    }
    let (key, secret) = crate::auth::create_scoped_api_key(
        &*state.store,
        &body.name,
        workspace_id,
        role,
        state.clock.now(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(CreatedKey {
            key: KeyView::of(&key),
            secret: secret.expose().to_owned(),
        }),
    ))
}

/// Revokes a key; a workspace admin only its workspace's (any other is answered like a key
/// that does not exist).
async fn revoke(
    State(state): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<String>,
) -> AppResult<StatusCode> {
    if let Some(ws) = &access.workspace {
        let theirs = state.store.api_key_get(&id).await?;
        if theirs.is_none_or(|k| k.workspace_id != Some(ws.id)) {
            return Err(AppError::not_found(format!("API key {id} not found")));
        }
    }
    if !crate::auth::revoke_api_key(&state, &id).await? {
        return Err(AppError::not_found(format!("API key {id} not found")));
    }
    Ok(StatusCode::NO_CONTENT)
}
