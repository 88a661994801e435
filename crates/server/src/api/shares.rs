//! Share links of an account's report (see [`crate::share`]): create one (the URL and token
//! are in the answer, once), list them (never a token), revoke one. The same store
//! functions as `igsync share`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use chrono::{DateTime, Duration, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use store::{AccountId, ShareLink};

use crate::access::Access;
use crate::api::accounts::account_by_ref;
use crate::error::{ApiJson, ApiPath, AppError, AppResult};
use crate::share::{SHARE_PATH, ShareError, create_share_link};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts/{id}/share", post(create))
        .route("/accounts/{id}/shares", get(list))
        .route("/accounts/{id}/shares/{sid}", delete(revoke))
}

/// Shortest lifetime of a link, in seconds (one hour).
pub const MIN_EXPIRES_IN: i64 = 3_600;
/// Longest lifetime of a link, in seconds (365 days).
pub const MAX_EXPIRES_IN: i64 = 365 * 86_400;
/// Lifetime of a link when none is given, in seconds (7 days).
pub const DEFAULT_EXPIRES_IN: i64 = 7 * 86_400;

/// A link as the API lists it (never its token).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ShareView {
    pub id: String,
    pub account_id: AccountId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who made it: `key:<id>` or `cli:<user>`.
    pub created_by: String,
    /// `active | expired | revoked`.
    #[schemars(extend("enum" = ["active", "expired", "revoked"]))]
    pub state: &'static str,
}

impl ShareView {
    pub fn of(link: &ShareLink, now: DateTime<Utc>) -> ShareView {
        ShareView {
            id: link.id.clone(),
            account_id: link.account_id,
            created_at: link.created_at,
            expires_at: link.expires_at,
            revoked_at: link.revoked_at,
            created_by: link.created_by.clone(),
            state: state_of(link, now),
        }
    }
}

/// `active`, `expired` or `revoked`.
pub fn state_of(link: &ShareLink, now: DateTime<Utc>) -> &'static str {
    if link.revoked_at.is_some() {
        "revoked"
    } else if link.expires_at <= now {
        "expired"
    } else {
        "active"
    }
}

/// `POST /accounts/{id}/share`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateShare {
    /// Seconds until the link stops working, 3600 (one hour) to 31536000 (365 days);
    /// default 604800 (7 days).
    #[serde(default)]
    #[schemars(range(min = MIN_EXPIRES_IN, max = MAX_EXPIRES_IN))]
    pub expires_in: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatedShare {
    #[serde(flatten)]
    pub link: ShareView,
    /// The link's address: `server.public_url` followed by `/share/<token>` (only the path
    /// when no public URL is configured). Shown this once.
    pub url: String,
    /// The token of the link, shown this once; only its digest is stored.
    pub token: String,
}

/// The lifetime asked for, checked against its bounds.
pub fn lifetime(expires_in: Option<i64>) -> AppResult<Duration> {
    let seconds = expires_in.unwrap_or(DEFAULT_EXPIRES_IN);
    if !(MIN_EXPIRES_IN..=MAX_EXPIRES_IN).contains(&seconds) {
        return Err(AppError::invalid(format!(
            "expires_in must be {MIN_EXPIRES_IN} to {MAX_EXPIRES_IN} seconds (one hour to 365 \
             days), got {seconds}"
        )));
    }
    Ok(Duration::seconds(seconds))
}

/// Creates a link to the account's report valid for `lifetime`; returns it with its URL and
/// token (shared with the dashboard).
pub async fn create_for(
    state: &AppState,
    access: &Access,
    account: &store::Account,
    lifetime: Duration,
) -> AppResult<CreatedShare> {
    let now = state.clock.now();
    let (link, token) = create_share_link(
        &*state.store,
        account,
        now + lifetime,
        &format!("key:{}", access.key_id),
        now,
    )
    .await
    .map_err(|e| match e {
        ShareError::Store(e) => e.into(),
        ShareError::Expired => AppError::invalid(e.to_string()),
        ShareError::Random => AppError::internal(e.to_string()),
    })?;
    let base = state
        .settings
        .public_url
        .as_deref()
        .unwrap_or("")
        .trim_end_matches('/');
    Ok(CreatedShare {
        link: ShareView::of(&link, now),
        url: format!("{base}{SHARE_PATH}{}", token.expose()),
        token: token.expose().to_owned(),
    })
}

async fn create(
    State(state): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateShare>,
) -> AppResult<(StatusCode, ApiJson<CreatedShare>)> {
    let lifetime = lifetime(body.expires_in)?;
    let account = account_by_ref(&state, &id).await?;
    let created = create_for(&state, &access, &account, lifetime).await?;
    Ok((StatusCode::CREATED, ApiJson(created)))
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ShareList {
    pub shares: Vec<ShareView>,
}

/// The account's links, newest first.
pub async fn links_of(state: &AppState, account: store::AccountId) -> AppResult<Vec<ShareLink>> {
    let mut links = state.store.share_link_list().await?;
    links.retain(|l| l.account_id == account);
    links.reverse();
    Ok(links)
}

async fn list(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> AppResult<ApiJson<ShareList>> {
    let account = account_by_ref(&state, &id).await?;
    let now = state.clock.now();
    let links = links_of(&state, account.id).await?;
    Ok(ApiJson(ShareList {
        shares: links.iter().map(|l| ShareView::of(l, now)).collect(),
    }))
}

/// Revokes one of the account's links (at once: its page answers 410 from then on). A link
/// of another account is answered like one that does not exist.
pub async fn revoke_of(state: &AppState, account: store::AccountId, sid: &str) -> AppResult<()> {
    let missing = || AppError::not_found(format!("no share link {sid:?} of this account"));
    let link = state
        .store
        .share_link_get(sid)
        .await?
        .filter(|l| l.account_id == account)
        .ok_or_else(missing)?;
    if !state
        .store
        .share_link_revoke(&link.id, state.clock.now())
        .await?
    {
        return Err(missing());
    }
    Ok(())
}

async fn revoke(
    State(state): State<AppState>,
    ApiPath((id, sid)): ApiPath<(String, String)>,
) -> AppResult<StatusCode> {
    let account = account_by_ref(&state, &id).await?;
    revoke_of(&state, account.id, &sid).await?;
    Ok(StatusCode::NO_CONTENT)
}
