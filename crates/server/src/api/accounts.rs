//! Accounts: list (with sync status, last and next sync, token expiry), detail, add (token
//! encrypted at rest, verified against the Graph API unless `verify=false`), time zone
//! change, pause / resume, removal with its data after confirmation.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use store::{Account, AccountType, LoginKind, NewAccount, SecretString, StatusChange, SyncStatus};

use crate::api::{account_or_404, parse_timezone};
use crate::error::{ApiJson, ApiPath, ApiQuery, AppError, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts", get(list).post(add))
        .route("/accounts/{id}", get(detail).patch(update).delete(remove))
        .route("/accounts/{id}/pause", post(pause))
        .route("/accounts/{id}/resume", post(resume))
        .route("/accounts/{id}/sync", post(sync_now))
}

/// An account as the API shows it (never its token).
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    pub id: i64,
    pub ig_user_id: String,
    pub username: String,
    pub name: Option<String>,
    pub account_type: &'static str,
    pub login: &'static str,
    pub timezone: String,
    /// `idle | syncing | failed | paused | needs_reauth`.
    pub status: &'static str,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub last_sync_error: Option<String>,
    /// When the next sync of this account is due (a queued sync job, or the next tick of a
    /// sync schedule); null for paused accounts and accounts that need a new token.
    pub next_sync_at: Option<DateTime<Utc>>,
    pub has_token: bool,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub token_refreshed_at: Option<DateTime<Utc>>,
    pub followers_count: Option<i64>,
    pub follows_count: Option<i64>,
    pub media_count: Option<i64>,
    pub profile_picture_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl AccountView {
    pub fn of(account: &Account, next_sync_at: Option<DateTime<Utc>>) -> AccountView {
        AccountView {
            id: account.id,
            ig_user_id: account.ig_user_id.clone(),
            username: account.username.clone(),
            name: account.name.clone(),
            account_type: account.account_type.as_str(),
            login: account.login.as_str(),
            timezone: account.timezone.clone(),
            status: account.status.as_str(),
            last_synced_at: account.last_synced_at,
            last_sync_error: account.last_sync_error.clone(),
            next_sync_at,
            has_token: account.token.is_some(),
            token_expires_at: account.token_expires_at,
            token_refreshed_at: account.token_refreshed_at,
            followers_count: account.followers_count,
            follows_count: account.follows_count,
            media_count: account.media_count,
            profile_picture_url: account.profile_picture_url.clone(),
            created_at: account.created_at,
            updated_at: account.updated_at,
        }
    }
}

/// When each account syncs next: the earliest of its queued (pending) sync jobs and the next
/// tick of the unpaused sync schedules. Paused and needs-reauth accounts are skipped by the
/// schedules, so they get None unless a sync job is queued for them.
pub struct NextSyncs {
    schedule_next: Option<DateTime<Utc>>,
    queued: std::collections::HashMap<store::AccountId, DateTime<Utc>>,
}

impl NextSyncs {
    pub async fn load(state: &AppState) -> AppResult<NextSyncs> {
        let schedule_next = state
            .store
            .schedule_list()
            .await?
            .into_iter()
            .filter(|s| !s.paused && s.def.kind == sync::plan::KIND_SYNC_FAN_OUT)
            .map(|s| s.next_run_at)
            .min();
        let page = state
            .store
            .job_list(store::JobQuery {
                states: vec![store::JobState::Pending],
                kind: Some(sync::plan::KIND_SYNC_ACCOUNT.to_owned()),
                limit: crate::api::MAX_LIMIT,
                ..Default::default()
            })
            .await?;
        let mut queued = std::collections::HashMap::new();
        for job in page.jobs {
            if let Some(id) = job.account_id {
                queued
                    .entry(id)
                    .and_modify(|t: &mut DateTime<Utc>| *t = (*t).min(job.run_at))
                    .or_insert(job.run_at);
            }
        }
        Ok(NextSyncs {
            schedule_next,
            queued,
        })
    }

    pub fn of(&self, account: &Account) -> Option<DateTime<Utc>> {
        let scheduled = match account.status {
            SyncStatus::Paused | SyncStatus::NeedsReauth => None,
            _ => self.schedule_next,
        };
        match (self.queued.get(&account.id).copied(), scheduled) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// All accounts with their views, by id.
pub async fn account_views(state: &AppState) -> AppResult<Vec<AccountView>> {
    let accounts = state.store.account_list().await?;
    let next = NextSyncs::load(state).await?;
    Ok(accounts
        .iter()
        .map(|a| AccountView::of(a, next.of(a)))
        .collect())
}

async fn view_of(state: &AppState, account: &Account) -> AppResult<AccountView> {
    let next = NextSyncs::load(state).await?;
    Ok(AccountView::of(account, next.of(account)))
}

#[derive(Debug, Serialize)]
pub struct AccountList {
    pub accounts: Vec<AccountView>,
}

async fn list(State(state): State<AppState>) -> AppResult<ApiJson<AccountList>> {
    Ok(ApiJson(AccountList {
        accounts: account_views(&state).await?,
    }))
}

async fn detail(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<AccountView>> {
    let account = account_or_404(&state, id).await?;
    Ok(ApiJson(view_of(&state, &account).await?))
}

/// `POST /accounts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddAccount {
    /// The numeric Instagram user id.
    pub ig_user_id: String,
    /// A long-lived access token (stored encrypted; never returned).
    pub token: String,
    /// `instagram` (Instagram Login, default) or `facebook` (Facebook Login).
    #[serde(default)]
    pub login: Option<String>,
    /// IANA time zone; default UTC.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Read the profile with the token before storing it (default true).
    #[serde(default)]
    pub verify: Option<bool>,
    /// Used when `verify` is false (default: the id).
    #[serde(default)]
    pub username: Option<String>,
}

async fn add(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<AddAccount>,
) -> AppResult<Response> {
    let ig_user_id = body.ig_user_id.trim().to_owned();
    if ig_user_id.is_empty()
        || ig_user_id.len() > 32
        || !ig_user_id.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(AppError::invalid(
            "ig_user_id must be the numeric Instagram user id",
        ));
    }
    if body.token.chars().count() > 4096 || body.token.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "token must be an access token of at most 4096 characters, without control \
             characters",
        ));
    }
    let token = SecretString::new(body.token.trim());
    if token.is_empty() {
        return Err(AppError::invalid("token must be a non-empty access token"));
    }
    let login = match body.login.as_deref() {
        None | Some("instagram") => LoginKind::Instagram,
        Some("facebook") => LoginKind::Facebook,
        Some(other) => {
            return Err(AppError::invalid(format!(
                "login must be `instagram` or `facebook`, got {other:?}"
            )));
        }
    };
    let timezone = parse_timezone(body.timezone.as_deref().unwrap_or("UTC"))?;
    let username = crate::api::check_text("username", body.username.as_deref(), 100)?;
    let Some(cipher) = state.cipher.as_ref() else {
        return Err(AppError::NotConfigured(
            "no secret key is configured to encrypt tokens (set IGSYNC_SECRET_KEY)".to_owned(),
        ));
    };
    let verified = if body.verify.unwrap_or(true) {
        Some(verify_token(&state, login, &ig_user_id, &token).await?)
    } else {
        None
    };
    let existed = state.store.account_get_by_ig(&ig_user_id).await?.is_some();
    let encrypted = cipher
        .encrypt(&token)
        .map_err(|e| AppError::internal(e.to_string()))?;
    let account = state
        .store
        .account_upsert(NewAccount {
            ig_user_id: ig_user_id.clone(),
            username: verified
                .as_ref()
                .and_then(|p| p.username.clone())
                .or(username)
                .unwrap_or_else(|| ig_user_id.clone()),
            name: verified.as_ref().and_then(|p| p.name.clone()),
            account_type: AccountType::Unknown,
            login,
            page_id: None,
            timezone: Some(timezone.name().to_owned()),
            token: encrypted,
            token_expires_at: None,
            now: state.clock.now(),
        })
        .await?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, ApiJson(view_of(&state, &account).await?)).into_response())
}

/// Reads the profile with the token, so a wrong token fails now and not at the first sync.
async fn verify_token(
    state: &AppState,
    login: LoginKind,
    ig_user_id: &str,
    token: &SecretString,
) -> AppResult<graph::Profile> {
    let graph_login = match login {
        LoginKind::Facebook => graph::LoginKind::Facebook,
        LoginKind::Instagram => graph::LoginKind::Instagram,
    };
    let Some(client) = state.graph.get(&graph_login) else {
        return Err(AppError::NotConfigured(format!(
            "no Graph API client is configured for {} login; add the account with \
             \"verify\": false or configure the Graph API",
            login.as_str()
        )));
    };
    let account = graph::AccountRef::new(ig_user_id, graph::AccessToken::new(token.expose()));
    match client.profile(&account).await {
        Ok(profile) if profile.id == ig_user_id => Ok(profile),
        Ok(profile) => Err(AppError::invalid(format!(
            "the token belongs to Instagram user {}, not {ig_user_id}",
            profile.id
        ))),
        Err(e) if e.needs_reauth() => Err(AppError::invalid(format!(
            "Meta rejected the token ({}): get a fresh long-lived token",
            e.label()
        ))),
        Err(e) => Err(AppError::Upstream(format!(
            "cannot read the profile of {ig_user_id} to verify the token ({}); retry, or \
             add the account with \"verify\": false",
            e.label()
        ))),
    }
}

/// `PATCH /accounts/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccount {
    /// IANA time zone used for periods and best posting times.
    pub timezone: Option<String>,
}

async fn update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateAccount>,
) -> AppResult<ApiJson<AccountView>> {
    let Some(timezone) = body.timezone else {
        return Err(AppError::invalid("nothing to update: give `timezone`"));
    };
    let tz = parse_timezone(&timezone)?;
    account_or_404(&state, id).await?;
    if !state.store.account_timezone_set(id, tz.name()).await? {
        return Err(AppError::not_found(format!("account {id} not found")));
    }
    let account = account_or_404(&state, id).await?;
    Ok(ApiJson(view_of(&state, &account).await?))
}

async fn pause(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<AccountView>> {
    let account = account_or_404(&state, id).await?;
    if account.status != SyncStatus::Paused {
        let change = StatusChange {
            status: SyncStatus::Paused,
            error: account.last_sync_error.clone(),
            synced_at: None,
            only_if: vec![],
            now: state.clock.now(),
        };
        state.store.account_status_set(id, change).await?;
    }
    let account = account_or_404(&state, id).await?;
    Ok(ApiJson(view_of(&state, &account).await?))
}

async fn resume(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<AccountView>> {
    let account = account_or_404(&state, id).await?;
    let change = StatusChange {
        status: SyncStatus::Idle,
        error: None,
        synced_at: None,
        only_if: vec![SyncStatus::Paused],
        now: state.clock.now(),
    };
    if !state.store.account_status_set(id, change).await? {
        return Err(AppError::Conflict(format!(
            "account {id} is not paused (status: {})",
            account.status.as_str()
        )));
    }
    let account = account_or_404(&state, id).await?;
    Ok(ApiJson(view_of(&state, &account).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveParams {
    /// Must equal the account's `ig_user_id`: removal deletes all its history.
    pub confirm: Option<String>,
}

async fn remove(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(params): ApiQuery<RemoveParams>,
) -> AppResult<StatusCode> {
    let account = account_or_404(&state, id).await?;
    match params.confirm.as_deref().map(str::trim) {
        None | Some("") => {
            return Err(AppError::invalid(format!(
                "removing an account deletes all its stored history: repeat with \
                 ?confirm={} to confirm",
                account.ig_user_id
            )));
        }
        Some(c) if c == account.ig_user_id => {}
        Some(_) => {
            return Err(AppError::Conflict(
                "confirm does not match the account's ig_user_id; nothing was removed".to_owned(),
            ));
        }
    }
    if !state.store.account_delete(id).await? {
        return Err(AppError::not_found(format!("account {id} not found")));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncParams {
    /// `full` (default) or `light`.
    pub plan: Option<String>,
}

/// The answer to a sync request.
#[derive(Debug, Serialize)]
pub struct SyncRequested {
    pub account_id: i64,
    pub plan: &'static str,
    /// The orchestrator job to follow (`GET /jobs/{id}`).
    pub job_id: i64,
    /// True when a sync of this plan was already queued or running for the account: the
    /// request joined it instead of queuing a second one.
    pub merged: bool,
    /// The sync run, once known.
    pub run_id: Option<i64>,
}

/// Requests a sync of an account through the engine (merged into an active one of the same
/// plan). 409 for a paused account or one that needs a new token; 503 without an engine.
pub async fn request_sync(
    state: &AppState,
    account_id: store::AccountId,
    plan: sync::Plan,
    trigger: &str,
) -> AppResult<SyncRequested> {
    account_or_404(state, account_id).await?;
    let Some(engine) = state.engine.as_ref() else {
        return Err(AppError::NotConfigured(
            "this server runs without a sync engine (no Graph API configured), so it cannot \
             sync"
                .to_owned(),
        ));
    };
    let enqueued = engine.enqueue_sync(account_id, plan, trigger).await?;
    Ok(SyncRequested {
        account_id,
        plan: plan.as_str(),
        job_id: enqueued.job_id(),
        merged: matches!(enqueued.outcome, store::InsertOutcome::Merged(_)),
        run_id: enqueued.run_id,
    })
}

async fn sync_now(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(params): ApiQuery<SyncParams>,
) -> AppResult<(StatusCode, ApiJson<SyncRequested>)> {
    let plan = match params.plan.as_deref() {
        None => sync::Plan::Full,
        Some(p) => p.parse::<sync::Plan>().map_err(AppError::Invalid)?,
    };
    let requested = request_sync(&state, id, plan, "api").await?;
    Ok((StatusCode::ACCEPTED, ApiJson(requested)))
}
