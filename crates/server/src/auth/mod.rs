//! Authentication: API keys for the JSON API and dashboard sessions signed in with a key.
//!
//! An API key reads `igs_<id>_<secret>`: `id` (16 hex characters) is public and names the
//! row; `secret` is 32 random bytes (64 hex characters). Keys are accepted as
//! `Authorization: Bearer igs_…` or `X-Api-Key: igs_…`.
//!
//! A key is a 256-bit random secret, not a password, so it is stored as `sha256:<hex>`, the
//! SHA-256 of the whole key, and checked with one digest and a constant-time comparison. A
//! key id that does not exist is compared against a fixed digest the same way, so a wrong
//! secret costs the same whether or not the id exists. Keys created before this format carry
//! an argon2 hash: it still verifies, one verification at a time in one reused block of
//! memory, with at most [`LEGACY_QUEUE`] requests waiting ([`LegacyVerifier`]), and is
//! replaced by the digest on the key's next successful use.
//!
//! Wrong secrets (a well-formed key whose id does not exist or whose secret does not match)
//! are throttled per client address and per key id ([`crate::throttle`]): past the limit,
//! 429 with `Retry-After`, nothing is looked up, and the answer is held for a second so
//! that a flood gets one answer per connection and second. Malformed keys cost nothing and are not
//! counted; a revoked key with its right secret is told so. A key that verified in the
//! last [`PROVEN_FOR`] is exempt, so a flood of wrong secrets does not lock out its holder.
//!
//! A successful verification is cached in memory for a short time, keyed by a SHA-256 of the
//! presented key (the key itself is never kept); revoking a key through this process drops
//! its entries at once; a key revoked elsewhere (by `igsync keys revoke`) is refused at once
//! too, because [`crate::access`] reads the key's row on every authenticated request. `last_used_at` is written at most once a minute
//! per key.
//!
//! A dashboard session is a random cookie `igsync_session` (HttpOnly, SameSite=Strict,
//! Path=/, Secure when configured); only a SHA-256 of its value is stored, with a CSRF token
//! every form post must echo ([`verify_csrf`]). JSON API calls may also ride on the session
//! cookie; unsafe methods then need the CSRF token in the `X-CSRF-Token` header.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use chrono::Utc;
use sha2::{Digest, Sha256};
use store::{ApiKey, Role, SecretString, Session, Store, StoreError, WorkspaceId};
use subtle::ConstantTimeEq;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::throttle::ClientKey;

mod cache;
mod legacy;

pub(crate) use cache::AuthCache;
pub use legacy::LEGACY_QUEUE;
pub(crate) use legacy::LegacyVerifier;

/// Every API key starts with this.
pub const API_KEY_PREFIX: &str = "igs_";
/// The dashboard session cookie.
pub const SESSION_COOKIE: &str = "igsync_session";
/// The header carrying the CSRF token on cookie-authenticated JSON requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The header carrying an API key (alternative to `Authorization: Bearer`).
pub const API_KEY_HEADER: &str = "x-api-key";

const KEY_ID_BYTES: usize = 8;
const KEY_SECRET_BYTES: usize = 32;
const TOUCH_EVERY: Duration = Duration::from_secs(60);
const CACHE_CAPACITY: usize = 4096;
/// How a stored key hash in the current format starts.
pub const KEY_HASH_PREFIX: &str = "sha256:";
/// How long a key that verified stays exempt from the failed-attempt throttle.
pub const PROVEN_FOR: Duration = Duration::from_secs(12 * 3600);
/// A wrong key whose id does not exist is compared against this, like any other.
const UNKNOWN_ID_DIGEST: [u8; 32] = [0x5a; 32];
/// Key lookups for credentials not in the cache that may run at once: a flood of wrong
/// secrets queues here instead of in the database pool, whose connections the rest of the
/// API needs (and whose acquire timeout would report the database unavailable).
pub const KEY_CHECKS: usize = 8;

/// Why an API key could not be created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("a key name must be 1 to 100 printable characters")]
    InvalidName,
    #[error("the operating system's random number generator failed")]
    Random,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<KeyError> for AppError {
    fn from(err: KeyError) -> Self {
        match err {
            KeyError::InvalidName => AppError::Invalid(err.to_string()),
            KeyError::Store(e) => e.into(),
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// Creates and stores a new API key named `name` that reaches every workspace as an admin.
/// The returned secret is the whole key the user must keep (`igs_<id>_<secret>`); it is
/// shown once and cannot be recovered. `now` is its creation time (the server's clock for
/// the API).
pub async fn create_api_key(
    store: &dyn Store,
    name: &str,
    now: chrono::DateTime<Utc>,
) -> Result<(ApiKey, SecretString), KeyError> {
    create_scoped_api_key(store, name, None, Role::Admin, now).await
}

/// As [`create_api_key`], for one workspace (None: every workspace) with `role`.
pub async fn create_scoped_api_key(
    store: &dyn Store,
    name: &str,
    workspace_id: Option<WorkspaceId>,
    role: Role,
    now: chrono::DateTime<Utc>,
) -> Result<(ApiKey, SecretString), KeyError> {
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(KeyError::InvalidName);
    }
    let name = name.trim();
    if name.is_empty() {
        return Err(KeyError::InvalidName);
    }
    let id = hex::encode(random_bytes::<KEY_ID_BYTES>()?);
    let secret = hex::encode(random_bytes::<KEY_SECRET_BYTES>()?);
    let presented = SecretString::new(format!("{API_KEY_PREFIX}{id}_{secret}"));
    let hash = key_hash(presented.expose());
    let key = ApiKey {
        id: id.clone(),
        name: name.to_owned(),
        hash,
        created_at: now,
        last_used_at: None,
        revoked_at: None,
        workspace_id,
        role,
    };
    store.api_key_insert(key.clone()).await?;
    Ok((key, presented))
}

/// Revokes a key and forgets every cached verification and session of it in this process.
/// Returns false when no such key exists.
pub async fn revoke_api_key(state: &AppState, id: &str) -> AppResult<bool> {
    let revoked = state.store.api_key_revoke(id, state.clock.now()).await?;
    state.auth.forget_key(id);
    Ok(revoked)
}

/// Who made a request: set in the request extensions by the API's auth middleware.
#[derive(Debug, Clone)]
pub enum Principal {
    /// An API key, by id.
    Key { key_id: String },
    /// A dashboard session (cookie).
    Session(SessionInfo),
}

impl Principal {
    pub fn key_id(&self) -> &str {
        match self {
            Principal::Key { key_id } => key_id,
            Principal::Session(s) => &s.key_id,
        }
    }
}

/// A signed-in dashboard session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The API key the session was signed in with.
    pub key_id: String,
    /// Must be echoed by every form post ([`verify_csrf`]) and by cookie-authenticated JSON
    /// requests with an unsafe method (`X-CSRF-Token`).
    pub csrf_token: String,
    pub expires_at: chrono::DateTime<Utc>,
}

/// Extractor for dashboard pages: the current session, or a redirect to `/login`.
#[derive(Debug, Clone)]
pub struct RequireSession(pub SessionInfo);

impl FromRequestParts<AppState> for RequireSession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match session_from_headers(state, &parts.headers).await {
            Ok(Some(session)) => Ok(RequireSession(session)),
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// Checks a form's CSRF token against the session's (constant time). 403 when missing or
/// different.
pub fn verify_csrf(session: &SessionInfo, presented: Option<&str>) -> AppResult<()> {
    let Some(presented) = presented else {
        return Err(AppError::Forbidden("missing CSRF token".to_owned()));
    };
    if bool::from(presented.as_bytes().ct_eq(session.csrf_token.as_bytes())) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "CSRF token does not match the session".to_owned(),
        ))
    }
}

/// A new session: the `Set-Cookie` value to send and the session itself.
#[derive(Debug)]
pub struct StartedSession {
    pub set_cookie: HeaderValue,
    pub session: SessionInfo,
}

/// Signs in with an API key: verifies it, stores a session row (only a hash of the cookie
/// value) and returns the cookie to set. 401 when the key is not valid, 429 when `client` or
/// the key id has failed too often.
pub async fn start_session(
    state: &AppState,
    presented_key: &str,
    client: Option<ClientKey>,
) -> AppResult<StartedSession> {
    let key_id = authenticate_key(state, presented_key.trim(), client).await?;
    let cookie_value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(random_bytes::<32>().map_err(AppError::from)?);
    let csrf_token = hex::encode(random_bytes::<32>().map_err(AppError::from)?);
    let now = state.clock.now();
    let ttl = state.settings.session_ttl;
    let expires_at =
        now + chrono::Duration::from_std(ttl).map_err(|e| AppError::internal(e.to_string()))?;
    state
        .store
        .session_insert(Session {
            id_hash: sha256_hex(&cookie_value),
            api_key_id: key_id.clone(),
            csrf_token: csrf_token.clone(),
            created_at: now,
            expires_at,
        })
        .await?;
    let secure = if state.settings.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    let set_cookie = format!(
        "{SESSION_COOKIE}={cookie_value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        ttl.as_secs()
    );
    Ok(StartedSession {
        set_cookie: HeaderValue::from_str(&set_cookie)
            .map_err(|e| AppError::internal(e.to_string()))?,
        session: SessionInfo {
            key_id,
            csrf_token,
            expires_at,
        },
    })
}

/// Signs out: deletes the session named by the request's cookie (if any) and returns the
/// `Set-Cookie` value that clears it in the browser.
pub async fn end_session(state: &AppState, headers: &HeaderMap) -> AppResult<HeaderValue> {
    if let Some(value) = session_cookie(headers) {
        let id_hash = sha256_hex(value);
        state.store.session_delete(&id_hash).await?;
        state.auth.forget_session(value);
    }
    let secure = if state.settings.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}"
    ))
    .map_err(|e| AppError::internal(e.to_string()))
}

/// The session named by the request's cookie, if it exists, has not expired and its key is
/// not revoked.
pub async fn session_from_headers(
    state: &AppState,
    headers: &HeaderMap,
) -> AppResult<Option<SessionInfo>> {
    let Some(value) = session_cookie(headers) else {
        return Ok(None);
    };
    let now = state.clock.now();
    if let Some(session) = state.auth.cached_session(value)
        && session.expires_at > now
    {
        return Ok(Some(session));
    }
    let Some(row) = state.store.session_get(&sha256_hex(value)).await? else {
        return Ok(None);
    };
    if row.expires_at <= now {
        return Ok(None);
    }
    match state.store.api_key_get(&row.api_key_id).await? {
        Some(key) if key.revoked_at.is_none() => {}
        _ => return Ok(None),
    }
    let session = SessionInfo {
        key_id: row.api_key_id,
        csrf_token: row.csrf_token,
        expires_at: row.expires_at,
    };
    state.auth.remember_session(value, &session);
    Ok(Some(session))
}

/// Verifies a presented API key and returns its id. 401 when it is malformed, unknown,
/// revoked or wrong; 429 (nothing looked up) when `client` or the key id has failed too
/// often, unless this exact key verified recently.
pub async fn authenticate_key(
    state: &AppState,
    presented: &str,
    client: Option<ClientKey>,
) -> AppResult<String> {
    let presented_digest = digest(presented);
    if let Some(key_id) = state.auth.cached_key(&presented_digest) {
        touch_if_due(state, &key_id, None);
        return Ok(key_id);
    }
    let proven = state.auth.recently_verified(&presented_digest);
    let parsed = parse_key(presented);
    let refused = |state: &AppState, key_id: Option<&str>| {
        (!proven)
            .then(|| state.throttle.blocked(client, key_id))
            .flatten()
            .map(|wait| AppError::TooManyRequests { retry_after: wait })
    };
    if let Some(err) = refused(state, parsed.map(|(id, _)| id)) {
        return Err(held(state, err).await);
    }
    let invalid = || AppError::Unauthorized("invalid API key".to_owned());
    // A malformed key costs nothing and cannot be right: only wrong secrets count.
    let Some((id, secret)) = parsed else {
        return Err(invalid());
    };
    let check = state.key_checks.acquire().await;
    let row = state.store.api_key_get(id).await?;
    drop(check);
    // A legacy verification's turn is held until its outcome is counted, so requests queued
    // behind it see every failure before they start.
    let mut legacy_turn = None;
    let verified = match &row {
        // The same digest comparison as for a real key, so both answers take as long.
        None => {
            let _ = digests_match(&presented_digest, &UNKNOWN_ID_DIGEST);
            false
        }
        Some(key) => match StoredHash::of(&key.hash) {
            StoredHash::Digest(stored) => digests_match(&presented_digest, &stored),
            StoredHash::Legacy(hash) => {
                let Some(turn) = state.legacy.turn().await else {
                    let busy = AppError::TooManyRequests {
                        retry_after: Duration::from_secs(1),
                    };
                    return Err(held(state, busy).await);
                };
                // Requests queued behind a flood find the key refused by now.
                if let Some(err) = refused(state, Some(id)) {
                    drop(turn);
                    return Err(held(state, err).await);
                }
                let (ok, turn) = turn.verify(secret, hash).await?;
                legacy_turn = Some(turn);
                ok
            }
            StoredHash::Unreadable => {
                tracing::error!(
                    key_id = id,
                    "an API key's stored hash is in no known format"
                );
                false
            }
        },
    };
    let Some(key) = row.filter(|_| verified) else {
        state.throttle.fail(client, Some(id));
        return Err(invalid());
    };
    drop(legacy_turn);
    if key.revoked_at.is_some() {
        return Err(AppError::Unauthorized(
            "this API key has been revoked".to_owned(),
        ));
    }
    if !key.hash.starts_with(KEY_HASH_PREFIX) {
        upgrade_hash(state, &key, presented).await;
    }
    state.auth.remember_key(presented_digest, &key.id);
    touch_if_due(state, &key.id, key.last_used_at);
    Ok(key.id)
}

/// A refusal, answered after `ServerSettings::throttled_answer_delay`: a client past its
/// limit gets one answer per connection in that time, however fast it asks.
async fn held(state: &AppState, refusal: AppError) -> AppError {
    tokio::time::sleep(state.settings.throttled_answer_delay).await;
    refusal
}

/// Replaces a verified key's legacy hash with its digest. A failure is logged and retried at
/// the next use: the legacy hash keeps working meanwhile.
async fn upgrade_hash(state: &AppState, key: &ApiKey, presented: &str) {
    match state
        .store
        .api_key_rehash(&key.id, &key.hash, &key_hash(presented))
        .await
    {
        Ok(true) => {
            tracing::info!(key_id = %key.id, "an API key's argon2 hash was replaced by its digest")
        }
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(key_id = %key.id, error = %e, "could not replace an API key's argon2 hash")
        }
    }
}

/// The client address of a request (set by [`crate::serve`]); None for requests that did
/// not come over a socket (in-process tests).
pub fn client_of(extensions: &axum::http::Extensions) -> Option<ClientKey> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| ClientKey::of(addr.ip()))
}

/// Extractor: the request's client, for the sign-in throttle.
#[derive(Debug, Clone, Copy)]
pub struct Client(pub Option<ClientKey>);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Client(client_of(&parts.extensions)))
    }
}

/// Middleware for every authenticated route: accepts an API key (`Authorization: Bearer`
/// or `X-Api-Key`) or a dashboard session cookie (with `X-CSRF-Token` on unsafe methods),
/// puts the [`Principal`] in the request extensions, and answers 401/403 otherwise.
pub async fn require_auth(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let client = client_of(req.extensions());
    match principal_of(&state, req.method(), req.headers(), client).await {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(e) => {
            let mut res = e.into_response();
            if res.status() == axum::http::StatusCode::UNAUTHORIZED {
                res.headers_mut().insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"igsync\""),
                );
            }
            res
        }
    }
}

async fn principal_of(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    client: Option<ClientKey>,
) -> AppResult<Principal> {
    if let Some(presented) = presented_key(headers)? {
        let key_id = authenticate_key(state, presented, client).await?;
        return Ok(Principal::Key { key_id });
    }
    if let Some(session) = session_from_headers(state, headers).await? {
        if !method.is_safe() {
            let token = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            verify_csrf(&session, token)?;
        }
        return Ok(Principal::Session(session));
    }
    Err(AppError::Unauthorized(
        "an API key is required (Authorization: Bearer igs_… or X-Api-Key)".to_owned(),
    ))
}

/// The API key of a request, from `Authorization: Bearer` or `X-Api-Key`.
fn presented_key(headers: &HeaderMap) -> AppResult<Option<&str>> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| AppError::Unauthorized("malformed Authorization header".to_owned()))?;
        let Some((scheme, token)) = value.split_once(' ') else {
            return Err(AppError::Unauthorized(
                "expected `Authorization: Bearer <key>`".to_owned(),
            ));
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AppError::Unauthorized(
                "expected `Authorization: Bearer <key>`".to_owned(),
            ));
        }
        return Ok(Some(token.trim()));
    }
    if let Some(value) = headers.get(API_KEY_HEADER) {
        let value = value
            .to_str()
            .map_err(|_| AppError::Unauthorized("malformed X-Api-Key header".to_owned()))?;
        return Ok(Some(value.trim()));
    }
    Ok(None)
}

/// The value of the `igsync_session` cookie, if the request carries one.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == SESSION_COOKIE && !value.is_empty())
        .map(|(_, value)| value)
}

/// Splits `igs_<id>_<secret>` into its id and secret; None when malformed.
fn parse_key(presented: &str) -> Option<(&str, &str)> {
    let rest = presented.strip_prefix(API_KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex_of = |s: &str, n: usize| s.len() == n * 2 && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex_of(id, KEY_ID_BYTES) && hex_of(secret, KEY_SECRET_BYTES)).then_some((id, secret))
}

/// The stored form of a key: `sha256:` and the hex SHA-256 of the whole presented key.
pub fn key_hash(presented: &str) -> String {
    format!("{KEY_HASH_PREFIX}{}", hex::encode(digest(presented)))
}

/// A stored key hash, by format.
enum StoredHash<'a> {
    Digest([u8; 32]),
    /// An argon2 PHC string of the secret part, from before the digest format.
    Legacy(&'a str),
    Unreadable,
}

impl StoredHash<'_> {
    fn of(stored: &str) -> StoredHash<'_> {
        if let Some(hex_digest) = stored.strip_prefix(KEY_HASH_PREFIX) {
            let mut bytes = [0u8; 32];
            return match hex::decode_to_slice(hex_digest, &mut bytes) {
                Ok(()) => StoredHash::Digest(bytes),
                Err(_) => StoredHash::Unreadable,
            };
        }
        if stored.starts_with("$argon2") {
            StoredHash::Legacy(stored)
        } else {
            StoredHash::Unreadable
        }
    }
}

fn digests_match(presented: &[u8; 32], stored: &[u8; 32]) -> bool {
    bool::from(presented.ct_eq(stored))
}

/// Writes `last_used_at` in the background, at most once a minute per key.
fn touch_if_due(state: &AppState, key_id: &str, last_used_at: Option<chrono::DateTime<Utc>>) {
    let now = state.clock.now();
    if !state.auth.touch_due(key_id, last_used_at, now) {
        return;
    }
    let store = state.store.clone();
    let key_id = key_id.to_owned();
    tokio::spawn(async move {
        if let Err(e) = store.api_key_touch(&key_id, now).await {
            tracing::warn!(error = %e, "could not record an API key's last use");
        }
    });
}

fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|_| KeyError::Random)?;
    Ok(bytes)
}

fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

fn digest(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use argon2::{Argon2, Params};

    use super::legacy::verify_legacy;
    use super::*;

    #[test]
    fn keys_parse_only_in_their_exact_shape() {
        let id = "0123456789abcdef";
        let secret = "ab".repeat(32);
        let key = format!("igs_{id}_{secret}");
        assert_eq!(parse_key(&key), Some((id, secret.as_str())));
        assert_eq!(parse_key(&format!("igs_{id}_{}", &secret[1..])), None);
        assert_eq!(parse_key(&format!("igx_{id}_{secret}")), None);
        assert_eq!(parse_key(&format!("igs_{id}x_{secret}")), None);
        assert_eq!(parse_key("igs_' OR 1=1 --_x"), None);
        assert_eq!(parse_key(""), None);
    }

    /// An argon2 hash as keys created before the digest format carry.
    fn legacy_hash(secret: &str) -> String {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        Argon2::default()
            .hash_password(secret.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    #[test]
    fn key_hashes_are_digests_of_the_whole_key() {
        let key = format!("igs_0123456789abcdef_{}", "ab".repeat(32));
        let hash = key_hash(&key);
        assert_eq!(hash.len(), KEY_HASH_PREFIX.len() + 64);
        assert!(!hash.contains(&"ab".repeat(32)));
        let StoredHash::Digest(stored) = StoredHash::of(&hash) else {
            panic!("a digest");
        };
        assert!(digests_match(&digest(&key), &stored));
        assert!(!digests_match(&digest(&format!("{key}0")), &stored));
        assert!(matches!(
            StoredHash::of("sha256:zz"),
            StoredHash::Unreadable
        ));
        assert!(matches!(StoredHash::of("md5:00"), StoredHash::Unreadable));
        assert!(matches!(
            StoredHash::of(&legacy_hash("x")),
            StoredHash::Legacy(_)
        ));
    }

    #[test]
    fn legacy_hashes_verify_only_their_secret_in_reused_memory() {
        let hash = legacy_hash("s3cret");
        assert!(hash.starts_with("$argon2id$"));
        let mut memory = Vec::new();
        assert!(verify_legacy(&mut memory, "s3cret", &hash));
        let allocated = memory.capacity();
        assert_eq!(allocated, Params::default().block_count(), "19 MiB, once");
        assert!(!verify_legacy(&mut memory, "s3cret2", &hash));
        assert!(!verify_legacy(&mut memory, "s3cret", "not a hash"));
        assert!(!verify_legacy(
            &mut memory,
            "s3cret",
            "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
        ));
        assert_eq!(
            memory.capacity(),
            allocated,
            "never grown for a hostile hash"
        );
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; igsync_session=abc; b=2"),
        );
        assert_eq!(session_cookie(&headers), Some("abc"));
        headers.insert(
            COOKIE,
            HeaderValue::from_static("igsync_session_x=1; igsync_session="),
        );
        assert_eq!(session_cookie(&headers), None);
    }

    #[test]
    fn csrf_tokens_must_match_exactly() {
        let s = SessionInfo {
            key_id: "k".into(),
            csrf_token: "abcd".into(),
            expires_at: Utc::now(),
        };
        assert!(verify_csrf(&s, Some("abcd")).is_ok());
        assert!(matches!(
            verify_csrf(&s, Some("abce")),
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(
            verify_csrf(&s, Some("abc")),
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(verify_csrf(&s, None), Err(AppError::Forbidden(_))));
    }

    #[test]
    fn the_cache_expires_and_forgets_revoked_keys() {
        let (b, c) = (digest("igs_a_b"), digest("igs_a_c"));
        let cache = AuthCache::new(Duration::from_secs(60));
        cache.remember_key(b, "a");
        assert_eq!(cache.cached_key(&b).as_deref(), Some("a"));
        assert_eq!(cache.cached_key(&c), None);
        cache.forget_key("a");
        assert_eq!(cache.cached_key(&b), None);
        assert!(!cache.recently_verified(&b));
        let expired = AuthCache::new(Duration::ZERO);
        expired.remember_key(b, "a");
        assert_eq!(expired.cached_key(&b), None);
        assert!(
            expired.recently_verified(&b),
            "still exempt from the throttle"
        );
        assert!(!expired.recently_verified(&c));
    }

    #[test]
    fn last_use_is_written_at_most_once_a_minute() {
        let cache = AuthCache::new(Duration::from_secs(60));
        assert!(cache.touch_due("a", None, Utc::now()));
        assert!(!cache.touch_due("a", None, Utc::now()));
        assert!(!cache.touch_due("b", Some(Utc::now()), Utc::now()));
        assert!(cache.touch_due(
            "c",
            Some(Utc::now() - chrono::Duration::minutes(5)),
            Utc::now()
        ));
    }
}
