//! Authentication: API keys for the JSON API and dashboard sessions signed in with a key.
//!
//! An API key reads `igs_<id>_<secret>`: `id` (16 hex characters) is public and names the
//! row; `secret` (32 random bytes, 64 hex characters) is stored only as an argon2 hash. Keys
//! are accepted as `Authorization: Bearer igs_…` or `X-Api-Key: igs_…`.
//!
//! Argon2 is deliberately slow, so a successful verification is cached in memory for a short
//! time, keyed by a SHA-256 of the presented key (the key itself is never kept); revoking a
//! key through this process drops its entries at once, and the cache's TTL bounds how long a
//! key revoked elsewhere (by `igsync keys revoke`) keeps working here. `last_used_at` is
//! written at most once a minute per key.
//!
//! A dashboard session is a random cookie `igsync_session` (HttpOnly, SameSite=Strict,
//! Path=/, Secure when configured); only a SHA-256 of its value is stored, with a CSRF token
//! every form post must echo ([`verify_csrf`]). JSON API calls may also ride on the session
//! cookie; unsafe methods then need the CSRF token in the `X-CSRF-Token` header.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use chrono::Utc;
use sha2::{Digest, Sha256};
use store::{ApiKey, SecretString, Session, Store, StoreError};
use subtle::ConstantTimeEq;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

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

/// Why an API key could not be created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("a key name must be 1 to 100 printable characters")]
    InvalidName,
    #[error("the operating system's random number generator failed")]
    Random,
    #[error("hashing the key failed: {0}")]
    Hash(String),
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

/// Creates and stores a new API key named `name`. The returned secret is the whole key the
/// user must keep (`igs_<id>_<secret>`); it is shown once and cannot be recovered.
pub async fn create_api_key(
    store: &dyn Store,
    name: &str,
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
    let hash = tokio::task::spawn_blocking(move || hash_secret(&secret).map(|h| (h, secret)))
        .await
        .map_err(|e| KeyError::Hash(e.to_string()))??;
    let (hash, secret) = hash;
    let key = ApiKey {
        id: id.clone(),
        name: name.to_owned(),
        hash,
        created_at: Utc::now(),
        last_used_at: None,
        revoked_at: None,
    };
    store.api_key_insert(key.clone()).await?;
    Ok((
        key,
        SecretString::new(format!("{API_KEY_PREFIX}{id}_{secret}")),
    ))
}

/// Revokes a key and forgets every cached verification and session of it in this process.
/// Returns false when no such key exists.
pub async fn revoke_api_key(state: &AppState, id: &str) -> AppResult<bool> {
    let revoked = state.store.api_key_revoke(id, Utc::now()).await?;
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
/// value) and returns the cookie to set. 401 when the key is not valid.
pub async fn start_session(state: &AppState, presented_key: &str) -> AppResult<StartedSession> {
    let key_id = authenticate_key(state, presented_key.trim()).await?;
    let cookie_value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(random_bytes::<32>().map_err(AppError::from)?);
    let csrf_token = hex::encode(random_bytes::<32>().map_err(AppError::from)?);
    let now = Utc::now();
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
    let now = Utc::now();
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
/// revoked or wrong.
pub async fn authenticate_key(state: &AppState, presented: &str) -> AppResult<String> {
    if let Some(key_id) = state.auth.cached_key(presented) {
        touch_if_due(state, &key_id, None);
        return Ok(key_id);
    }
    let invalid = || AppError::Unauthorized("invalid API key".to_owned());
    let (id, secret) = parse_key(presented).ok_or_else(invalid)?;
    let Some(key) = state.store.api_key_get(id).await? else {
        return Err(invalid());
    };
    if key.revoked_at.is_some() {
        return Err(AppError::Unauthorized(
            "this API key has been revoked".to_owned(),
        ));
    }
    let secret = secret.to_owned();
    let hash = key.hash.clone();
    let ok = tokio::task::spawn_blocking(move || verify_secret(&secret, &hash))
        .await
        .map_err(|e| AppError::internal(e.to_string()))?;
    if !ok {
        return Err(invalid());
    }
    state.auth.remember_key(presented, &key.id);
    touch_if_due(state, &key.id, key.last_used_at);
    Ok(key.id)
}

/// Middleware for every authenticated route: accepts an API key (`Authorization: Bearer`
/// or `X-Api-Key`) or a dashboard session cookie (with `X-CSRF-Token` on unsafe methods),
/// puts the [`Principal`] in the request extensions, and answers 401/403 otherwise.
pub async fn require_auth(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    match principal_of(&state, req.method(), req.headers()).await {
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
) -> AppResult<Principal> {
    if let Some(presented) = presented_key(headers)? {
        let key_id = authenticate_key(state, presented).await?;
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

fn hash_secret(secret: &str) -> Result<String, KeyError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| KeyError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| KeyError::Hash(e.to_string()))
}

/// Argon2 verification (its comparison of the derived hash is constant time).
fn verify_secret(secret: &str, stored_hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored_hash) else {
        tracing::error!("an API key's stored hash is not a valid PHC string");
        return false;
    };
    Argon2::default()
        .verify_password(secret.as_bytes(), &parsed)
        .is_ok()
}

/// Writes `last_used_at` in the background, at most once a minute per key.
fn touch_if_due(state: &AppState, key_id: &str, last_used_at: Option<chrono::DateTime<Utc>>) {
    if !state.auth.touch_due(key_id, last_used_at) {
        return;
    }
    let store = state.store.clone();
    let key_id = key_id.to_owned();
    tokio::spawn(async move {
        if let Err(e) = store.api_key_touch(&key_id, Utc::now()).await {
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

/// Recently verified keys and sessions, by SHA-256 of the presented credential, plus when
/// each key's `last_used_at` was last written.
pub(crate) struct AuthCache {
    ttl: Duration,
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    keys: HashMap<[u8; 32], (String, Instant)>,
    sessions: HashMap<[u8; 32], (SessionInfo, Instant)>,
    touched: HashMap<String, Instant>,
}

impl AuthCache {
    pub(crate) fn new(ttl: Duration) -> AuthCache {
        AuthCache {
            ttl,
            inner: Mutex::new(CacheInner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn cached_key(&self, presented: &str) -> Option<String> {
        let d = digest(presented);
        let inner = self.lock();
        let (id, at) = inner.keys.get(&d)?;
        (at.elapsed() < self.ttl).then(|| id.clone())
    }

    fn remember_key(&self, presented: &str, key_id: &str) {
        let ttl = self.ttl;
        let mut inner = self.lock();
        if inner.keys.len() >= CACHE_CAPACITY {
            inner.keys.retain(|_, (_, at)| at.elapsed() < ttl);
            if inner.keys.len() >= CACHE_CAPACITY {
                inner.keys.clear();
            }
        }
        inner
            .keys
            .insert(digest(presented), (key_id.to_owned(), Instant::now()));
    }

    fn cached_session(&self, cookie: &str) -> Option<SessionInfo> {
        let d = digest(cookie);
        let inner = self.lock();
        let (session, at) = inner.sessions.get(&d)?;
        (at.elapsed() < self.ttl).then(|| session.clone())
    }

    fn remember_session(&self, cookie: &str, session: &SessionInfo) {
        let ttl = self.ttl;
        let mut inner = self.lock();
        if inner.sessions.len() >= CACHE_CAPACITY {
            inner.sessions.retain(|_, (_, at)| at.elapsed() < ttl);
            if inner.sessions.len() >= CACHE_CAPACITY {
                inner.sessions.clear();
            }
        }
        inner
            .sessions
            .insert(digest(cookie), (session.clone(), Instant::now()));
    }

    fn forget_session(&self, cookie: &str) {
        self.lock().sessions.remove(&digest(cookie));
    }

    fn forget_key(&self, key_id: &str) {
        let mut inner = self.lock();
        inner.keys.retain(|_, (id, _)| id != key_id);
        inner.sessions.retain(|_, (s, _)| s.key_id != key_id);
    }

    /// True (and records now) when the key's `last_used_at` should be written.
    fn touch_due(&self, key_id: &str, last_used_at: Option<chrono::DateTime<Utc>>) -> bool {
        let mut inner = self.lock();
        let now = Instant::now();
        match inner.touched.get(key_id) {
            Some(at) if now.duration_since(*at) < TOUCH_EVERY => false,
            Some(_) => {
                inner.touched.insert(key_id.to_owned(), now);
                true
            }
            None => {
                // First sight in this process: the stored value decides.
                let recent = last_used_at
                    .is_some_and(|t| (Utc::now() - t).to_std().is_ok_and(|age| age < TOUCH_EVERY));
                inner.touched.insert(key_id.to_owned(), now);
                !recent
            }
        }
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn hashes_verify_only_their_secret() {
        let hash = hash_secret("s3cret").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains("s3cret"));
        assert!(verify_secret("s3cret", &hash));
        assert!(!verify_secret("s3cret2", &hash));
        assert!(!verify_secret("s3cret", "not a hash"));
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
        let cache = AuthCache::new(Duration::from_secs(60));
        cache.remember_key("igs_a_b", "a");
        assert_eq!(cache.cached_key("igs_a_b").as_deref(), Some("a"));
        assert_eq!(cache.cached_key("igs_a_c"), None);
        cache.forget_key("a");
        assert_eq!(cache.cached_key("igs_a_b"), None);
        let expired = AuthCache::new(Duration::ZERO);
        expired.remember_key("igs_a_b", "a");
        assert_eq!(expired.cached_key("igs_a_b"), None);
    }

    #[test]
    fn last_use_is_written_at_most_once_a_minute() {
        let cache = AuthCache::new(Duration::from_secs(60));
        assert!(cache.touch_due("a", None));
        assert!(!cache.touch_due("a", None));
        assert!(!cache.touch_due("b", Some(Utc::now())));
        assert!(cache.touch_due("c", Some(Utc::now() - chrono::Duration::minutes(5))));
    }
}
