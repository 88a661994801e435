//! Connecting accounts through Meta's login flows, the use case behind the dashboard's
//! "Connect account" and `igsync accounts connect`:
//!
//! 1. [`Logins::begin`] makes a `state` (random, single use, valid 10 minutes, bound to its
//!    owner: a dashboard session or the command line's listener) and the dialog URL.
//! 2. Meta sends the person back with `code` and `state` (or `error=access_denied`);
//!    [`Logins::take`] checks and spends the state, [`authorize`] exchanges the code (with the
//!    dialog's `redirect_uri`), makes the token long-lived, reads the granted permissions
//!    and discovers the accounts the login reaches, each with the token to store: with
//!    Facebook Login the Page's token (derived from a long-lived user token it does not
//!    expire), with Instagram Login the long-lived Instagram user token.
//! 3. [`add`] registers a chosen account through [`crate::accounts::register`] (which checks
//!    the token's owner), brings an account that needed re-authorization back to idle and
//!    queues its sync.
//!
//! Tokens stay in memory between steps 2 and 3 ([`Logins::keep`]), never on a page.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use graph::{AccessToken, DialogRequest, GraphClient};
use store::{AccountId, Cipher, LoginKind, SecretString, StatusChange, Store, SyncStatus};

use crate::accounts::{RegisterError, Registered, Registration, graph_login};
use crate::engine::{Engine, GraphClients};

/// How long a login's `state` (and an authorized login waiting for its accounts to be
/// chosen) stays valid.
pub const STATE_LIFETIME_MINUTES: i64 = 10;

/// Most logins waiting at once (older ones are dropped first).
const MAX_WAITING: usize = 1_000;

/// Why a login did not connect anything; every variant is one line a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connecting accounts is not available: {0}")]
    Unavailable(String),
    #[error("the login's state is missing or unknown: start again from \"Connect account\"")]
    UnknownState,
    #[error("this login was already used: start again from \"Connect account\"")]
    StateUsed,
    #[error("the login expired (it must be finished within 10 minutes): start again")]
    StateExpired,
    #[error("this login was started by someone else (another session): start again")]
    StateMismatch,
    #[error("the login was cancelled on Meta's page ({0}): nothing was connected")]
    Denied(String),
    #[error("Meta sent the person back without a code: start again")]
    NoCode,
    #[error("Meta refused the login: {0}")]
    Meta(String),
    #[error("no account was chosen")]
    NothingChosen,
}

/// A login waiting for Meta to send the person back.
#[derive(Debug, Clone)]
pub struct Pending {
    pub login: LoginKind,
    /// The dialog's `redirect_uri`, sent again with the code exchange.
    pub redirect_uri: String,
    /// Who started it (a session's key id, or the command line).
    pub owner: String,
    /// The account being re-authorized, when it is a reconnect.
    pub reconnect: Option<AccountId>,
    pub started_at: DateTime<Utc>,
}

/// One account a login reaches.
#[derive(Clone)]
pub struct Candidate {
    pub ig_user_id: String,
    pub username: Option<String>,
    /// Facebook Login: the Page it is connected to.
    pub page_name: Option<String>,
    /// The token registered with it (never shown).
    pub token: SecretString,
    /// Whether `token` is a Page token (does not expire) rather than a user token.
    pub page_token: bool,
}

impl std::fmt::Debug for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Candidate")
            .field("ig_user_id", &self.ig_user_id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A finished login: what was granted and the accounts it reaches.
#[derive(Debug, Clone)]
pub struct Authorized {
    pub login: LoginKind,
    pub reconnect: Option<AccountId>,
    /// Permissions granted.
    pub granted: Vec<String>,
    /// Permissions asked for and declined.
    pub declined: Vec<String>,
    /// Declined permissions igsync cannot do without (a re-request is needed).
    pub missing: Vec<String>,
    pub accounts: Vec<Candidate>,
    /// When the long-lived user token expires (as Meta said).
    pub user_token_expires_at: Option<DateTime<Utc>>,
}

impl Authorized {
    /// Whether every required permission was granted.
    pub fn complete(&self) -> bool {
        self.missing.is_empty()
    }
}

struct Entry<T> {
    value: T,
    owner: String,
    at: DateTime<Utc>,
}

/// Logins in flight: states waiting for Meta, and authorized logins waiting for the person
/// to choose accounts. In memory: a login is finished by the process that started it.
#[derive(Default)]
pub struct Logins {
    states: Mutex<HashMap<String, Option<Entry<Pending>>>>,
    authorized: Mutex<HashMap<String, Entry<Arc<Authorized>>>>,
}

impl std::fmt::Debug for Logins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logins").finish_non_exhaustive()
    }
}

/// 32 random bytes, hex.
fn random_id() -> Result<String, ConnectError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|_| ConnectError::Unavailable("no randomness for the login state".to_owned()))?;
    Ok(hex::encode(bytes))
}

fn expired(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - at >= Duration::minutes(STATE_LIFETIME_MINUTES) || now < at - Duration::minutes(1)
}

impl Logins {
    /// Starts a login: a fresh state bound to `pending.owner`, and the dialog URL to send the
    /// person to (`client` is the login flavour's Graph API client).
    pub fn begin(
        &self,
        client: &GraphClient,
        pending: Pending,
        rerequest: bool,
    ) -> Result<(String, String), ConnectError> {
        let state = random_id()?;
        let url = client
            .login_dialog_url(&DialogRequest {
                redirect_uri: &pending.redirect_uri,
                state: &state,
                rerequest,
            })
            .map_err(|e| ConnectError::Unavailable(e.to_string()))?;
        let now = pending.started_at;
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        // Spent states are remembered (as `None`) until they would have expired, so a replay
        // is told apart from a forgery; everything past its lifetime is dropped.
        states.retain(|_, e| e.as_ref().is_none_or(|e| !expired(e.at, now)));
        if states.len() >= MAX_WAITING {
            states.clear();
        }
        states.insert(
            state.clone(),
            Some(Entry {
                owner: pending.owner.clone(),
                at: now,
                value: pending,
            }),
        );
        Ok((state, url.to_string()))
    }

    /// Spends a state Meta sent back: it must exist, be unused, unexpired and `owner`'s.
    pub fn take(
        &self,
        state: Option<&str>,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Pending, ConnectError> {
        let state = state
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(ConnectError::UnknownState)?;
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let slot = states.get_mut(state).ok_or(ConnectError::UnknownState)?;
        let entry = slot.take().ok_or(ConnectError::StateUsed)?;
        if entry.owner != owner {
            return Err(ConnectError::StateMismatch);
        }
        if expired(entry.at, now) {
            return Err(ConnectError::StateExpired);
        }
        Ok(entry.value)
    }

    /// Keeps an authorized login for its owner until accounts are chosen; returns its id.
    pub fn keep(
        &self,
        authorized: Authorized,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<String, ConnectError> {
        let id = random_id()?;
        let mut map = self.authorized.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, e| !expired(e.at, now));
        if map.len() >= MAX_WAITING {
            map.clear();
        }
        map.insert(
            id.clone(),
            Entry {
                value: Arc::new(authorized),
                owner: owner.to_owned(),
                at: now,
            },
        );
        Ok(id)
    }

    /// The authorized login `id` of `owner`, while it is valid.
    pub fn authorized(
        &self,
        id: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<Authorized>, ConnectError> {
        let map = self.authorized.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.get(id).ok_or(ConnectError::UnknownState)?;
        if entry.owner != owner {
            return Err(ConnectError::StateMismatch);
        }
        if expired(entry.at, now) {
            return Err(ConnectError::StateExpired);
        }
        Ok(entry.value.clone())
    }

    /// Forgets an authorized login (its accounts were added).
    pub fn forget(&self, id: &str) {
        self.authorized
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}

/// What Meta's redirect carried.
#[derive(Debug, Clone, Default)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_reason: Option<String>,
    pub error_description: Option<String>,
}

impl Callback {
    /// The dialog's error, if the person cancelled or Meta refused.
    pub fn denied(&self) -> Option<ConnectError> {
        let error = self.error.as_deref()?;
        let reason = self.error_reason.as_deref().unwrap_or(error);
        let description = self
            .error_description
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        Some(ConnectError::Denied(format!("{reason}{description}")))
    }
}

/// Exchanges the code of a finished dialog and discovers the accounts the login reaches.
pub async fn authorize(
    graph: &GraphClients,
    pending: &Pending,
    code: &str,
) -> Result<Authorized, ConnectError> {
    let login = pending.login;
    let client = graph.get(&graph_login(login)).ok_or_else(|| {
        ConnectError::Unavailable(format!("no Graph API client for {} login", login.as_str()))
    })?;
    let meta = |e: graph::GraphError| ConnectError::Meta(e.to_string());
    let code = code.trim();
    if code.is_empty() {
        return Err(ConnectError::NoCode);
    }
    let exchanged = client
        .exchange_code(code, &pending.redirect_uri)
        .await
        .map_err(meta)?;
    let long = client
        .exchange_token(&exchanged.token.token)
        .await
        .map_err(meta)?;
    let requested = graph::requested_scopes(client.login());
    let (granted, declined): (Vec<String>, Vec<String>) = match exchanged.permissions {
        Some(granted) => {
            let declined = requested
                .iter()
                .filter(|s| !granted.iter().any(|g| g == *s))
                .map(|s| (*s).to_owned())
                .collect();
            (granted, declined)
        }
        None => {
            let perms = client.permissions(&long.token).await.map_err(meta)?;
            let granted = perms
                .iter()
                .filter(|(_, g)| *g)
                .map(|(p, _)| p.clone())
                .collect();
            let declined = perms
                .iter()
                .filter(|(p, g)| !*g && requested.contains(&p.as_str()))
                .map(|(p, _)| p.clone())
                .collect();
            (granted, declined)
        }
    };
    let missing: Vec<String> = graph::required_scopes(client.login())
        .iter()
        .filter(|s| !granted.iter().any(|g| g == *s))
        .map(|s| (*s).to_owned())
        .collect();
    let accounts = if missing.iter().any(|s| s == "pages_show_list") {
        Vec::new()
    } else {
        client
            .connected_accounts(&long.token)
            .await
            .map_err(meta)?
            .into_iter()
            .map(|c| {
                let page_token = c.page_token.is_some();
                let token = c.page_token.unwrap_or_else(|| long.token.clone());
                Candidate {
                    ig_user_id: c.account.ig_user_id,
                    username: c.account.username,
                    page_name: c.account.page_name,
                    token: SecretString::new(AccessToken::expose(&token)),
                    page_token,
                }
            })
            .collect()
    };
    Ok(Authorized {
        login,
        reconnect: pending.reconnect,
        granted,
        declined,
        missing,
        accounts,
        user_token_expires_at: long.expires_at,
    })
}

/// How a chosen account is added: through which login, and whether it is subscribed to
/// Meta's webhook notifications (when the receiver is on).
#[derive(Debug, Clone, Copy)]
pub struct AddAs {
    /// The login its token came from.
    pub login: LoginKind,
    /// Subscribe it to `story_insights`, `comments` and `mentions`.
    pub subscribe_webhooks: bool,
}

/// Registers one discovered account, brings it back from `needs_reauth`, and queues its
/// sync when an engine is given (the sync's error, if any, is returned beside the
/// registration: the account is registered either way).
pub async fn add(
    store: &dyn Store,
    graph: &GraphClients,
    cipher: &Cipher,
    engine: Option<&Engine>,
    how: AddAs,
    candidate: &Candidate,
    now: DateTime<Utc>,
) -> Result<(Registered, Option<String>), RegisterError> {
    let AddAs {
        login,
        subscribe_webhooks,
    } = how;
    let registered = crate::accounts::register(
        store,
        graph,
        cipher,
        Registration {
            ig_user_id: candidate.ig_user_id.clone(),
            token: candidate.token.clone(),
            login,
            timezone: None,
            verify: true,
            username: candidate.username.clone(),
            subscribe_webhooks,
            now,
        },
    )
    .await?;
    let mut registered = registered;
    if registered.account.status == SyncStatus::NeedsReauth
        && store
            .account_status_set(
                registered.account.id,
                StatusChange {
                    status: SyncStatus::Idle,
                    error: None,
                    synced_at: None,
                    only_if: vec![SyncStatus::NeedsReauth],
                    now,
                },
            )
            .await?
        && let Some(account) = store.account_get(registered.account.id).await?
    {
        registered.account = account;
    }
    let sync_error = match engine {
        Some(engine) => engine
            .enqueue_sync(registered.account.id, crate::Plan::Full, "connect")
            .await
            .err()
            .map(|e| e.to_string()),
        None => None,
    };
    Ok((registered, sync_error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> GraphClient {
        let cfg = graph::GraphConfig::builder(graph::LoginKind::Facebook, "42")
            .base_url("http://127.0.0.1:9")
            .build()
            .unwrap();
        GraphClient::new(cfg).unwrap()
    }

    fn pending(owner: &str, at: DateTime<Utc>) -> Pending {
        Pending {
            login: LoginKind::Facebook,
            redirect_uri: "http://127.0.0.1:8080/connect/callback".to_owned(),
            owner: owner.to_owned(),
            reconnect: None,
            started_at: at,
        }
    }

    #[test]
    fn a_state_is_single_use_bound_to_its_owner_and_expires() {
        let logins = Logins::default();
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let (state, url) = logins.begin(&client(), pending("s1", t0), false).unwrap();
        assert_eq!(state.len(), 64);
        assert!(url.starts_with("http://127.0.0.1:9/v26.0/dialog/oauth?client_id=42&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fconnect%2Fcallback&response_type=code&scope=instagram_basic%2Cinstagram_manage_insights%2Cpages_show_list%2Cpages_read_engagement%2Cbusiness_management&state="), "{url}");
        assert!(url.ends_with(&state));
        assert!(matches!(
            logins.take(Some("forged"), "s1", t0),
            Err(ConnectError::UnknownState)
        ));
        assert!(matches!(
            logins.take(None, "s1", t0),
            Err(ConnectError::UnknownState)
        ));
        assert!(logins.take(Some(&state), "s1", t0).is_ok());
        assert!(matches!(
            logins.take(Some(&state), "s1", t0),
            Err(ConnectError::StateUsed)
        ));

        let (other, _) = logins.begin(&client(), pending("s1", t0), true).unwrap();
        assert!(matches!(
            logins.take(Some(&other), "s2", t0),
            Err(ConnectError::StateMismatch)
        ));
        assert!(
            matches!(
                logins.take(Some(&other), "s1", t0),
                Err(ConnectError::StateUsed)
            ),
            "a state presented by someone else is spent"
        );

        let (late, url) = logins.begin(&client(), pending("s1", t0), true).unwrap();
        assert!(url.ends_with("&auth_type=rerequest"), "{url}");
        let after = t0 + Duration::minutes(STATE_LIFETIME_MINUTES);
        assert!(matches!(
            logins.take(Some(&late), "s1", after),
            Err(ConnectError::StateExpired)
        ));
    }

    #[test]
    fn the_production_hosts_are_meta_s() {
        let cfg = graph::GraphConfig::builder(graph::LoginKind::Instagram, "42")
            .build()
            .unwrap();
        let client = GraphClient::new(cfg).unwrap();
        let url = client
            .login_dialog_url(&DialogRequest {
                redirect_uri: "https://igsync.example/connect/callback",
                state: "s",
                rerequest: false,
            })
            .unwrap();
        assert!(
            url.as_str()
                .starts_with("https://www.instagram.com/oauth/authorize?client_id=42&"),
            "{url}"
        );
        let denied = Callback {
            error: Some("access_denied".into()),
            error_reason: Some("user_denied".into()),
            error_description: Some("Permissions error.".into()),
            ..Callback::default()
        };
        assert_eq!(
            denied.denied().unwrap().to_string(),
            "the login was cancelled on Meta's page (user_denied: Permissions error.): nothing was connected"
        );
    }
}
