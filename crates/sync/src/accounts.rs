//! Registering an account: the one use case behind `igsync accounts add` and
//! `POST /api/v1/accounts`. The input is checked, the token is verified against the Graph
//! API (the profile it opens must be the account named), the account type and the token's
//! expiry are learned where Meta tells them, and the token is stored encrypted.
//!
//! Expiry, in order: `debug_token` when an app id is configured; for Instagram Login a
//! refresh (Meta answers `expires_in` without app credentials; the new token is stored);
//! otherwise the documented 60 days from now, marked as assumed, so the daily token refresh
//! still reaches the account and `doctor` and the dashboard can say what is known.

use chrono::{DateTime, Duration, Utc};
use graph::{AccessToken, AccountRef, GraphClient, GraphError};
use store::{
    Account, AccountId, AccountType, Cipher, LoginKind, NewAccount, SecretString, Store, StoreError,
};

use crate::engine::GraphClients;

/// How long a long-lived token lasts when nobody says otherwise ("about 60 days").
pub const DOCUMENTED_TOKEN_LIFETIME_DAYS: i64 = 60;

/// Longest access token accepted.
const MAX_TOKEN_CHARS: usize = 4096;

/// Longest username accepted when it is given rather than read from the profile.
const MAX_USERNAME_CHARS: usize = 100;

/// What a caller asks to register.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The numeric Instagram user id, as typed (trimmed here).
    pub ig_user_id: String,
    /// The long-lived access token, as typed (trimmed here).
    pub token: SecretString,
    pub login: LoginKind,
    /// An IANA time zone name; `None` keeps an existing account's zone (UTC for a new one).
    pub timezone: Option<String>,
    /// Read the profile with the token before storing it.
    pub verify: bool,
    /// The username to store when the profile is not read (default: the id).
    pub username: Option<String>,
    /// Ask Meta to send the account's webhook notifications (`story_insights`, `comments`,
    /// `mentions`); needs `verify`. A refusal does not fail the registration: it is
    /// recorded and reported in [`Registered::webhooks`].
    pub subscribe_webhooks: bool,
    pub now: DateTime<Utc>,
}

/// Where the stored token expiry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenExpiry {
    /// Meta's `debug_token` gave the expiry.
    Reported(DateTime<Utc>),
    /// Meta's `debug_token` says the token does not expire (e.g. a Page token).
    Never,
    /// The token was refreshed at registration (Instagram Login); Meta gave the new
    /// token's lifetime and the new token is the one stored.
    Refreshed(DateTime<Utc>),
    /// Nobody said: the documented 60 days from the registration.
    Assumed(DateTime<Utc>),
}

impl TokenExpiry {
    /// The expiry to store (`None`: does not expire).
    pub fn at(self) -> Option<DateTime<Utc>> {
        match self {
            TokenExpiry::Reported(at) | TokenExpiry::Refreshed(at) | TokenExpiry::Assumed(at) => {
                Some(at)
            }
            TokenExpiry::Never => None,
        }
    }
}

/// A registered account.
#[derive(Debug, Clone)]
pub struct Registered {
    pub account: Account,
    /// False when an existing registration was updated (its token replaced).
    pub created: bool,
    pub expiry: TokenExpiry,
    /// Whether igsync's daily token refresh can renew this account's token with the
    /// configured Graph API clients (see [`can_refresh`]).
    pub refreshable: bool,
    /// The webhook subscription's outcome, when one was asked for.
    pub webhooks: Option<Result<(), String>>,
}

/// Why an account was not registered; every variant is one line.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("ig_user_id must be the numeric Instagram user id (up to 32 digits), got {0:?}")]
    InvalidId(String),
    #[error("the access token is empty")]
    EmptyToken,
    #[error("the access token is longer than 4096 characters")]
    TokenTooLong,
    #[error(
        "unknown time zone {0:?}: use an IANA name such as UTC, Europe/Berlin or America/New_York"
    )]
    InvalidTimezone(String),
    #[error("username must be at most 100 characters, without control characters")]
    InvalidUsername,
    /// The token opens another account's profile: storing it under this id would sync the
    /// other account's data as this one's.
    #[error("the token belongs to Instagram user {owner}, not {ig_user_id}")]
    WrongAccount { ig_user_id: String, owner: String },
    /// Meta answers that the object does not exist for this token (code 100, subcode 33):
    /// the token is another account's, or lacks the permissions for this one.
    #[error(
        "the token cannot read Instagram user {ig_user_id}: it belongs to another account or \
         lacks permission for this one (Meta: {reason})"
    )]
    NotPermitted { ig_user_id: String, reason: String },
    #[error("Meta rejected the token for {ig_user_id} ({reason}): get a fresh long-lived token")]
    Rejected { ig_user_id: String, reason: String },
    #[error("no Graph API client is configured for {0} login")]
    NoClient(&'static str),
    /// The Graph API could not be asked (network, outage, rate limit).
    #[error("cannot read the profile of {ig_user_id} to verify the token ({reason})")]
    Unverified { ig_user_id: String, reason: String },
    #[error("cannot encrypt the token: {0}")]
    Crypto(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RegisterError {
    /// Whether the request itself is wrong (as opposed to Meta, the network or the store).
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            RegisterError::InvalidId(_)
                | RegisterError::EmptyToken
                | RegisterError::TokenTooLong
                | RegisterError::InvalidTimezone(_)
                | RegisterError::InvalidUsername
                | RegisterError::WrongAccount { .. }
                | RegisterError::NotPermitted { .. }
                | RegisterError::Rejected { .. }
        )
    }
}

/// The checked input.
struct Checked {
    ig_user_id: String,
    token: SecretString,
    timezone: Option<chrono_tz::Tz>,
    username: Option<String>,
}

/// Checks the input without asking Meta or the store (the first thing [`register`] does).
pub fn check(r: &Registration) -> Result<(), RegisterError> {
    checked(r).map(|_| ())
}

fn checked(r: &Registration) -> Result<Checked, RegisterError> {
    let ig_user_id = r.ig_user_id.trim().to_owned();
    if ig_user_id.is_empty()
        || ig_user_id.len() > 32
        || !ig_user_id.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(RegisterError::InvalidId(r.ig_user_id.clone()));
    }
    let token = SecretString::new(r.token.expose().trim());
    if token.is_empty() {
        return Err(RegisterError::EmptyToken);
    }
    if token.expose().chars().count() > MAX_TOKEN_CHARS {
        return Err(RegisterError::TokenTooLong);
    }
    let timezone = match r.timezone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(name) => Some(
            name.parse::<chrono_tz::Tz>()
                .map_err(|_| RegisterError::InvalidTimezone(name.to_owned()))?,
        ),
    };
    // A control character is refused wherever it stands: a username is never padded.
    if r.username
        .as_deref()
        .is_some_and(|u| u.chars().any(char::is_control))
    {
        return Err(RegisterError::InvalidUsername);
    }
    let username = match r.username.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(u) if u.chars().count() > MAX_USERNAME_CHARS => {
            return Err(RegisterError::InvalidUsername);
        }
        Some(u) => Some(u.trim_start_matches('@').to_owned()),
    };
    Ok(Checked {
        ig_user_id,
        token,
        timezone,
        username,
    })
}

/// The Graph API login flavour of a stored account's login: the one conversion (`store`
/// and `graph` know nothing of each other, so it cannot be a `From`).
pub fn graph_login(login: LoginKind) -> graph::LoginKind {
    match login {
        LoginKind::Facebook => graph::LoginKind::Facebook,
        LoginKind::Instagram => graph::LoginKind::Instagram,
    }
}

/// Whether the token refresh can renew tokens of this client's login flavour: Instagram
/// Login needs nothing but the token; Facebook Login's exchange needs the app id and secret.
pub fn can_refresh(client: &GraphClient) -> bool {
    match client.login() {
        graph::LoginKind::Instagram => true,
        graph::LoginKind::Facebook => {
            !client.config().app_id().is_empty() && client.config().has_app_secret()
        }
    }
}

/// Whether the daily token refresh can renew the tokens of accounts with this login.
pub fn can_refresh_login(graph: &GraphClients, login: LoginKind) -> bool {
    graph.get(&graph_login(login)).is_some_and(can_refresh)
}

/// The account a person names: its Instagram user id, its `@username` (with or without the
/// `@`, any letter case) or igsync's numeric id, tried in that order. None when nothing
/// matches. The one lookup behind the CLI's account arguments and the API's `{id}` paths.
pub async fn find(store: &dyn Store, reference: &str) -> Result<Option<Account>, StoreError> {
    let reference = reference.trim();
    if let Some(account) = store.account_get_by_ig(reference).await? {
        return Ok(Some(account));
    }
    let name = reference.strip_prefix('@').unwrap_or(reference);
    let accounts = store.account_list().await?;
    if let Some(account) = accounts
        .iter()
        .find(|a| a.username.eq_ignore_ascii_case(name))
    {
        return Ok(Some(account.clone()));
    }
    Ok(reference
        .parse::<AccountId>()
        .ok()
        .and_then(|id| accounts.into_iter().find(|a| a.id == id)))
}

/// Registers an account, or replaces the token of an existing registration (matched by
/// Instagram user id). See the module documentation.
pub async fn register(
    store: &dyn Store,
    graph: &GraphClients,
    cipher: &Cipher,
    registration: Registration,
) -> Result<Registered, RegisterError> {
    let checked = checked(&registration)?;
    let login = registration.login;
    let now = registration.now;
    let client = graph.get(&graph_login(login));
    let (profile, client) = if registration.verify {
        let Some(client) = client else {
            return Err(RegisterError::NoClient(login.as_str()));
        };
        (
            Some(verify(client, &checked.ig_user_id, &checked.token).await?),
            Some(client),
        )
    } else {
        (None, None)
    };
    let mut token = checked.token;
    let expiry = match client {
        Some(client) => {
            let (expiry, refreshed) = learn_expiry(client, &token, now).await;
            if let Some(new_token) = refreshed {
                token = new_token;
            }
            expiry
        }
        None => TokenExpiry::Assumed(now + Duration::days(DOCUMENTED_TOKEN_LIFETIME_DAYS)),
    };
    let sealed = cipher
        .encrypt(&token)
        .map_err(|e| RegisterError::Crypto(e.to_string()))?;
    let existed = store.account_get_by_ig(&checked.ig_user_id).await?;
    let username = profile
        .as_ref()
        .and_then(|p| p.username.clone())
        .or(checked.username)
        .or_else(|| existed.as_ref().map(|a| a.username.clone()))
        .unwrap_or_else(|| checked.ig_user_id.clone());
    let account_type = profile
        .as_ref()
        .and_then(|p| p.account_type.as_deref())
        .and_then(account_type_of)
        .or_else(|| existed.as_ref().map(|a| a.account_type))
        .unwrap_or(AccountType::Unknown);
    let account = store
        .account_upsert(NewAccount {
            ig_user_id: checked.ig_user_id.clone(),
            username,
            name: profile
                .as_ref()
                .and_then(|p| p.name.clone())
                .or_else(|| existed.as_ref().and_then(|a| a.name.clone())),
            account_type,
            login,
            page_id: existed.as_ref().and_then(|a| a.page_id.clone()),
            timezone: checked.timezone.map(|tz| tz.name().to_owned()),
            token: sealed,
            token_expires_at: expiry.at(),
            now,
        })
        .await?;
    let webhooks = match client {
        Some(client) if registration.subscribe_webhooks => {
            let acct =
                AccountRef::new(account.ig_user_id.clone(), AccessToken::new(token.expose()));
            let dynstore: &dyn Store = store;
            Some(crate::webhooks::subscribe(dynstore, client, account.id, &acct, now).await)
        }
        _ => None,
    };
    Ok(Registered {
        account,
        created: existed.is_none(),
        expiry,
        refreshable: can_refresh_login(graph, login),
        webhooks,
    })
}

/// Meta's spelling of the account type.
fn account_type_of(meta: &str) -> Option<AccountType> {
    match meta.trim().to_ascii_uppercase().as_str() {
        "BUSINESS" => Some(AccountType::Business),
        "MEDIA_CREATOR" | "CREATOR" => Some(AccountType::Creator),
        _ => None,
    }
}

/// Reads the profile with the token: a wrong or foreign token fails now, not at the first
/// sync.
async fn verify(
    client: &GraphClient,
    ig_user_id: &str,
    token: &SecretString,
) -> Result<graph::Profile, RegisterError> {
    let account = AccountRef::new(ig_user_id, AccessToken::new(token.expose()));
    match client.registration_profile(&account).await {
        Ok(profile) if profile.id == ig_user_id => Ok(profile),
        Ok(profile) => Err(RegisterError::WrongAccount {
            ig_user_id: ig_user_id.to_owned(),
            owner: profile.id,
        }),
        Err(e) if e.needs_reauth() => Err(RegisterError::Rejected {
            ig_user_id: ig_user_id.to_owned(),
            reason: e.label(),
        }),
        Err(e) if e.code() == Some(100) && e.subcode() == Some(33) => {
            Err(RegisterError::NotPermitted {
                ig_user_id: ig_user_id.to_owned(),
                reason: e.label(),
            })
        }
        Err(e) => Err(RegisterError::Unverified {
            ig_user_id: ig_user_id.to_owned(),
            reason: reason_of(&e),
        }),
    }
}

fn reason_of(e: &GraphError) -> String {
    let text = e.to_string();
    let label = e.label();
    if text.contains(&label) {
        text
    } else {
        format!("{label}: {text}")
    }
}

/// The token's expiry as Meta tells it, and the new token when it was refreshed.
async fn learn_expiry(
    client: &GraphClient,
    token: &SecretString,
    now: DateTime<Utc>,
) -> (TokenExpiry, Option<SecretString>) {
    let access = AccessToken::new(token.expose());
    if !client.config().app_id().is_empty()
        && let Ok(debug) = client.debug_token(&access).await
        && debug.is_valid
    {
        return match debug.expires_at {
            Some(at) => (TokenExpiry::Reported(at), None),
            None => (TokenExpiry::Never, None),
        };
    }
    if client.login() == graph::LoginKind::Instagram {
        match client.refresh_token(&access).await {
            Ok(info) => {
                // `expires_in` counts from the answer, on the caller's clock.
                let at = info
                    .expires_in
                    .and_then(|s| i64::try_from(s).ok())
                    .and_then(Duration::try_seconds)
                    .and_then(|d| now.checked_add_signed(d))
                    .or(info.expires_at);
                if let Some(at) = at {
                    return (
                        TokenExpiry::Refreshed(at),
                        Some(SecretString::new(info.token.expose())),
                    );
                }
            }
            Err(e) => {
                // Meta refreshes only tokens at least 24 hours old: a younger token has
                // nearly its whole documented lifetime ahead, which is what is assumed.
                tracing::debug!(error = %e, "token not refreshed at registration");
            }
        }
    }
    (
        TokenExpiry::Assumed(now + Duration::days(DOCUMENTED_TOKEN_LIFETIME_DAYS)),
        None,
    )
}
