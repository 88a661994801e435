//! Accounts: list (with sync status, last and next sync, token expiry), detail, add (token
//! encrypted at rest, verified against the Graph API unless `verify=false`), time zone
//! change, pause / resume, removal with its data after confirmation.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use store::{Account, AccountId, JobId, LoginKind, RunId, SecretString, StatusChange, SyncStatus};
use sync::accounts::{RegisterError, Registration};

use crate::api::{account_or_404, parse_timezone};
use crate::error::{ApiJson, ApiPath, ApiQuery, AppError, AppResult};
use crate::openapi::schema::{IG_USER_ID, NO_CONTROL_CHARACTERS, NOT_BLANK};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts", get(list).post(add))
        .route("/accounts/{id}", get(detail).patch(update).delete(remove))
        .route("/accounts/{id}/pause", post(pause))
        .route("/accounts/{id}/resume", post(resume))
        .route("/accounts/{id}/sync", post(sync_now))
}

/// Most characters of an account reference in a path.
const MAX_ACCOUNT_REF_CHARS: usize = 100;

/// The account a path's `{id}` names: its Instagram user id, its `@username` (or the bare
/// username) or igsync's numeric id, in that order (as the command line reads them); 404
/// when none matches.
pub async fn account_by_ref(state: &AppState, raw: &str) -> AppResult<Account> {
    let arg = raw.trim();
    if arg.is_empty()
        || arg.chars().count() > MAX_ACCOUNT_REF_CHARS
        || arg.chars().any(char::is_control)
    {
        return Err(AppError::not_found(
            "no account matches that reference: give its Instagram user id, @username or \
             igsync id",
        ));
    }
    if let Some(account) = sync::accounts::find(state.store.as_ref(), arg).await? {
        return Ok(account);
    }
    Err(no_such_account(arg))
}

/// The 404 of a reference that names no account (or, for a key of one workspace, none the
/// key may see: the same answer, so the two cannot be told apart).
pub fn no_such_account(raw: &str) -> AppError {
    AppError::not_found(format!(
        "no account matches {:?}: give its Instagram user id, @username or igsync id",
        raw.trim()
    ))
}

/// An account as the API shows it (never its token).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "Account")]
pub struct AccountView {
    pub id: AccountId,
    pub ig_user_id: String,
    pub username: String,
    pub name: Option<String>,
    #[schemars(extend("enum" = ["business", "creator", "unknown"]))]
    pub account_type: &'static str,
    #[schemars(extend("enum" = ["facebook", "instagram"]))]
    pub login: &'static str,
    pub timezone: String,
    /// `idle | syncing | failed | paused | needs_reauth`.
    #[schemars(extend("enum" = SyncStatus::ALL.map(SyncStatus::as_str)))]
    pub status: &'static str,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub last_sync_error: Option<String>,
    /// When the next sync of this account is due (a queued sync job, or the next tick of a
    /// sync schedule); null for paused accounts and accounts that need a new token.
    pub next_sync_at: Option<DateTime<Utc>>,
    /// Set while the account's sync is retrying after a failed attempt (the status stays
    /// `syncing` until the sync succeeds or fails for good); null otherwise.
    pub retrying: Option<RetryView>,
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
            retrying: None,
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

/// A sync between attempts: the last attempt's error and when the next one starts.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "Retrying")]
pub struct RetryView {
    /// The step that failed (`profile`, `media`…), or `start` for the job that starts a sync.
    #[schemars(extend("enum" = ["start", "profile", "media", "media_insights", "stories", "demographics", "account_insights"]))]
    pub step: &'static str,
    pub failed_attempts: usize,
    pub max_attempts: i32,
    pub last_error: String,
    pub last_error_at: DateTime<Utc>,
    /// When the next attempt starts; null while it runs.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The job to follow (`GET /jobs/{id}`).
    pub job_id: JobId,
}

impl RetryView {
    pub fn of(r: &sync::RetryState) -> RetryView {
        RetryView {
            step: r.step.map(|s| s.name()).unwrap_or("start"),
            failed_attempts: r.failed_attempts,
            max_attempts: r.max_attempts,
            last_error: r.last_error.clone(),
            last_error_at: r.last_error_at,
            next_attempt_at: r.next_attempt_at,
            job_id: r.job_id,
        }
    }
}

impl AccountView {
    /// The view with the account's retry state (see [`NextSyncs::retry_of`]).
    pub fn with_retry(mut self, retry: Option<&sync::RetryState>) -> AccountView {
        self.retrying = retry.map(RetryView::of);
        self
    }
}

/// When each account syncs next: the earliest of its queued (pending) sync jobs and the next
/// tick of the unpaused sync schedules. Paused and needs-reauth accounts are skipped by the
/// schedules, so they get None unless a sync job is queued for them.
pub struct NextSyncs {
    schedule_next: Option<DateTime<Utc>>,
    queued: std::collections::HashMap<store::AccountId, DateTime<Utc>>,
    retries: std::collections::HashMap<store::AccountId, sync::RetryState>,
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
        let retries = sync::retries_by_account(state.store.as_ref()).await?;
        Ok(NextSyncs {
            schedule_next,
            queued,
            retries,
        })
    }

    /// The account's sync retrying after a failed attempt, if it is.
    pub fn retry_of(&self, account: &Account) -> Option<&sync::RetryState> {
        self.retries.get(&account.id)
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
        .map(|a| AccountView::of(a, next.of(a)).with_retry(next.retry_of(a)))
        .collect())
}

async fn view_of(state: &AppState, account: &Account) -> AppResult<AccountView> {
    let next = NextSyncs::load(state).await?;
    Ok(AccountView::of(account, next.of(account)).with_retry(next.retry_of(account)))
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AccountList {
    pub accounts: Vec<AccountView>,
}

/// Every account the request's key may see.
async fn list(
    State(state): State<AppState>,
    access: Option<axum::Extension<crate::access::Access>>,
) -> AppResult<ApiJson<AccountList>> {
    let mut accounts = account_views(&state).await?;
    if let Some(axum::Extension(access)) = access {
        accounts.retain(|a| access.sees(a.id));
    }
    Ok(ApiJson(AccountList { accounts }))
}

async fn detail(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> AppResult<ApiJson<AccountView>> {
    let account = account_by_ref(&state, &id).await?;
    Ok(ApiJson(view_of(&state, &account).await?))
}

/// `POST /accounts`. Null stands for an absent property. Whether Meta accepts the token
/// for this ig_user_id is checked when verify is true (422 when Meta rejects it).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddAccount {
    /// The numeric Instagram user id.
    #[schemars(regex(pattern = IG_USER_ID))]
    pub ig_user_id: String,
    /// Long-lived access token, stored encrypted, never returned.
    #[schemars(
        length(max = 4096),
        regex(pattern = NO_CONTROL_CHARACTERS),
        extend("allOf" = [{"pattern": NOT_BLANK}])
    )]
    pub token: String,
    /// `instagram` (Instagram Login, default) or `facebook` (Facebook Login).
    #[serde(default)]
    #[schemars(extend("enum" = ["instagram", "facebook", null]))]
    pub login: Option<String>,
    /// IANA time zone; default UTC.
    #[serde(default)]
    #[schemars(schema_with = "crate::openapi::schema::optional_time_zone")]
    pub timezone: Option<String>,
    /// Read the profile with the token first (default true).
    #[serde(default)]
    pub verify: Option<bool>,
    /// Used when `verify` is false (default: the ig_user_id).
    #[serde(default)]
    #[schemars(length(max = 100), regex(pattern = NO_CONTROL_CHARACTERS))]
    pub username: Option<String>,
}

/// Registers an account; one added with a key of one workspace joins that workspace. Such
/// a key cannot replace the token of an account registered outside its workspace.
async fn add(
    State(state): State<AppState>,
    access: crate::access::Access,
    ApiJson(body): ApiJson<AddAccount>,
) -> AppResult<Response> {
    // The document's rule for the raw body: no control characters anywhere in the token
    // (the registration itself trims what a terminal or a file adds).
    if body.token.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "token must be an access token of at most 4096 characters, without control \
             characters",
        ));
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
    let registration = Registration {
        ig_user_id: body.ig_user_id,
        token: SecretString::new(body.token),
        login,
        timezone: Some(body.timezone.unwrap_or_else(|| "UTC".to_owned())),
        verify: body.verify.unwrap_or(true),
        username: body.username,
        subscribe_webhooks: state.settings.webhooks.is_some(),
        now: state.clock.now(),
    };
    sync::accounts::check(&registration).map_err(api_error)?;
    if access.workspace.is_some() {
        let id = registration.ig_user_id.trim();
        let existing = state.store.account_list().await?;
        if existing
            .iter()
            .any(|a| a.ig_user_id == id && !access.sees(a.id))
        {
            return Err(AppError::Conflict(
                "this Instagram account cannot be added with a key of this workspace; ask an \
                 admin of every workspace to add it to the workspace"
                    .to_owned(),
            ));
        }
    }
    let Some(cipher) = state.cipher.as_ref() else {
        return Err(AppError::NotConfigured(
            "no secret key is configured to encrypt tokens (set IGSYNC_SECRET_KEY)".to_owned(),
        ));
    };
    let registered = sync::accounts::register(&*state.store, &state.graph, cipher, registration)
        .await
        .map_err(api_error)?;
    if let Some(ws) = &access.workspace {
        state
            .store
            .workspace_add_account(ws.id, registered.account.id, state.clock.now())
            .await?;
    }
    let status = if registered.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let view = view_of(&state, &registered.account).await?;
    Ok((status, ApiJson(view)).into_response())
}

/// A registration error as the API answers it.
fn api_error(e: RegisterError) -> AppError {
    match e {
        RegisterError::NoClient(_) => AppError::NotConfigured(format!(
            "{e}; add the account with \"verify\": false or configure the Graph API"
        )),
        RegisterError::Unverified { .. } => AppError::Upstream(format!(
            "{e}; retry, or add the account with \"verify\": false"
        )),
        RegisterError::Store(e) => e.into(),
        RegisterError::Crypto(_) => AppError::internal(e.to_string()),
        e => AppError::invalid(e.to_string()),
    }
}

/// `PATCH /accounts/{id}`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccount {
    /// IANA time zone used for periods and best posting times.
    #[schemars(schema_with = "crate::openapi::schema::time_zone", required)]
    pub timezone: Option<String>,
}

async fn update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateAccount>,
) -> AppResult<ApiJson<AccountView>> {
    let Some(timezone) = body.timezone else {
        return Err(AppError::invalid("nothing to update: give `timezone`"));
    };
    let tz = parse_timezone(&timezone)?;
    let id = account_by_ref(&state, &id).await?.id;
    if !state.store.account_timezone_set(id, tz.name()).await? {
        return Err(AppError::not_found(format!("account {id} not found")));
    }
    let account = account_or_404(&state, id).await?;
    Ok(ApiJson(view_of(&state, &account).await?))
}

async fn pause(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> AppResult<ApiJson<AccountView>> {
    let account = account_by_ref(&state, &id).await?;
    let id = account.id;
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
    ApiPath(id): ApiPath<String>,
) -> AppResult<ApiJson<AccountView>> {
    let account = account_by_ref(&state, &id).await?;
    let id = account.id;
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
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<RemoveParams>,
) -> AppResult<StatusCode> {
    let account = account_by_ref(&state, &id).await?;
    let id = account.id;
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
    /// One kind of data on its own: `profile`, `media`, `media_insights`,
    /// `account_insights`, `stories` or `demographics` (hyphens accepted); not with `plan`.
    pub only: Option<String>,
    /// With `only=media_insights`: Instagram media ids, separated by commas.
    pub media: Option<String>,
    /// With `only=media_insights` or `account_insights`: the first day (YYYY-MM-DD).
    pub since: Option<String>,
    /// The last day, inclusive (default today).
    pub until: Option<String>,
}

impl SyncParams {
    /// The plan and scope asked for (422 when they do not parse or contradict).
    pub fn plan_and_scope(&self) -> AppResult<(sync::Plan, sync::Scope)> {
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let plan = match (text(&self.plan), text(&self.only)) {
            (Some(_), Some(_)) => {
                return Err(AppError::invalid("give either plan or only, not both"));
            }
            (None, None) => sync::Plan::Full,
            (Some(p), None) => match p.parse::<sync::Plan>().map_err(AppError::Invalid)? {
                plan @ (sync::Plan::Full | sync::Plan::Light) => plan,
                _ => {
                    return Err(AppError::invalid(format!(
                        "plan must be full or light, got {p:?} (one step on its own is only={p})"
                    )));
                }
            },
            (None, Some(o)) => match o.parse::<sync::Plan>().map_err(AppError::Invalid)? {
                plan @ sync::Plan::Only(_) => plan,
                _ => {
                    return Err(AppError::invalid(format!(
                        "only must name one kind of data (profile, media, media_insights, \
                         account_insights, stories, demographics), got {o:?}"
                    )));
                }
            },
        };
        let media: Vec<String> = text(&self.media)
            .map(|m| {
                m.split(',')
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(bad) = media
            .iter()
            .find(|id| id.len() > 32 || !id.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(AppError::invalid(format!(
                "media must be numeric Instagram media ids separated by commas, got {bad:?}"
            )));
        }
        let since = text(&self.since)
            .map(|d| crate::api::parse_date("since", &d))
            .transpose()?;
        let until = text(&self.until)
            .map(|d| crate::api::parse_date("until", &d))
            .transpose()?;
        Ok((
            plan,
            sync::Scope {
                media,
                since,
                until,
            },
        ))
    }
}

/// The answer to a sync request.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SyncRequested {
    pub account_id: AccountId,
    /// `full`, `light`, or the one kind of data synced on its own (`media_insights`…).
    #[schemars(extend("enum" = ["full", "light", "profile", "media", "media_insights", "account_insights", "stories", "demographics"]))]
    pub plan: &'static str,
    /// What a sync of one kind of data is narrowed to: `{media, since, until}`; null when
    /// it is not.
    pub scope: Option<ScopeView>,
    /// The sync's job to follow (`GET /jobs/{id}`).
    pub job_id: JobId,
    /// True when a sync of this plan was already queued or running for the account: the
    /// request joined it instead of queuing a second one.
    pub merged: bool,
    /// The sync run, once known.
    pub run_id: Option<RunId>,
}

/// Requests a sync of an account through the engine (merged into an active one of the same
/// plan). 409 for a paused account or one that needs a new token; 503 without an engine.
pub async fn request_sync(
    state: &AppState,
    account_id: store::AccountId,
    plan: sync::Plan,
    trigger: &str,
) -> AppResult<SyncRequested> {
    request_scoped(state, account_id, plan, sync::Scope::default(), trigger).await
}

/// [`request_sync`] narrowed by a scope (422 when it does not fit the plan or the account).
pub async fn request_scoped(
    state: &AppState,
    account_id: store::AccountId,
    plan: sync::Plan,
    scope: sync::Scope,
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
    let enqueued = engine
        .enqueue_scoped(account_id, plan, scope.clone(), trigger)
        .await?;
    Ok(SyncRequested {
        account_id,
        plan: plan.as_str(),
        scope: ScopeView::of(&scope),
        job_id: enqueued.job_id(),
        merged: matches!(enqueued.outcome, store::InsertOutcome::Merged(_)),
        run_id: enqueued.run_id,
    })
}

/// What a sync of one kind of data is narrowed to.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "SyncScope")]
pub struct ScopeView {
    /// Instagram media ids of stored posts.
    pub media: Vec<String>,
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

impl ScopeView {
    fn of(scope: &sync::Scope) -> Option<Self> {
        (!scope.is_empty()).then(|| ScopeView {
            media: scope.media.clone(),
            since: scope.since,
            until: scope.until,
        })
    }
}

async fn sync_now(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<SyncParams>,
) -> AppResult<(StatusCode, ApiJson<SyncRequested>)> {
    let (plan, scope) = params.plan_and_scope()?;
    let account = account_by_ref(&state, &id).await?;
    let requested = request_scoped(&state, account.id, plan, scope, "api").await?;
    Ok((StatusCode::ACCEPTED, ApiJson(requested)))
}
