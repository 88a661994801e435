//! The state every handler shares: the store, the sync engine (when this process runs one),
//! the token cipher, the server's settings, the in-memory credential cache, the failed-attempt
//! throttle and the database gate.

use std::sync::Arc;
use std::time::Duration;

use store::{Cipher, DynStore, SecretString};
use sync::{Clock, Engine, GraphClients};

use crate::api::overview::OverviewCache;
use crate::auth::{AuthCache, LegacyVerifier};
use crate::gate::DatabaseGate;
use crate::throttle::Throttle;

/// Largest request body accepted, in bytes (413 above).
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// How the HTTP server behaves; the binary fills it from its configuration.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Mark the session cookie `Secure` (set when igsync is served over HTTPS, directly or
    /// behind a proxy).
    pub cookie_secure: bool,
    /// How long a dashboard session lasts after sign-in.
    pub session_ttl: Duration,
    /// How long a verified API key or session stays in the in-memory cache before it is
    /// checked against the database again (this bounds how long a key revoked from another
    /// process keeps working here).
    pub auth_cache_ttl: Duration,
    /// Requests taking longer than this are answered with 503 (so shutdown never hangs).
    pub request_timeout: Duration,
    /// How long the overview's JSON is reused (it is recomputed at once after a write
    /// through this server). Zero computes it for every request.
    pub overview_cache_ttl: Duration,
    /// Failed API-key checks and sign-ins allowed per client address (IPv6: per /64) within
    /// `auth_failure_window`; more are answered 429 with `Retry-After` until it ends.
    pub auth_failures_per_client: u32,
    /// Failed API-key checks and sign-ins allowed per key id (whether it exists or not)
    /// within `auth_failure_window`.
    pub auth_failures_per_key: u32,
    /// The window of both failure limits, from a subject's first failure.
    pub auth_failure_window: Duration,
    /// How long a refused (429) attempt is held before it is answered, so that a client
    /// past its limit makes at most one attempt per connection in this time.
    pub throttled_answer_delay: Duration,
    /// A connection that has not sent a whole request head within this is closed (also the
    /// longest a kept-alive connection may wait idle).
    pub header_read_timeout: Duration,
    /// Most connections served at once; further ones wait in the listen backlog. This is
    /// also the bound on requests in flight, and so on the memory they hold (about 50 KiB
    /// each).
    pub max_connections: usize,
    /// Most connections at once from one client address (IPv6: one /64); further ones are
    /// closed when accepted.
    pub max_connections_per_client: usize,
    /// The address browsers reach igsync at (`https://igsync.example.com`, no trailing
    /// slash); Meta's login dialogs send people back to `{public_url}/connect/callback`.
    /// None: connecting accounts through the dashboard is unavailable.
    pub public_url: Option<String>,
    /// Meta's webhook notifications at `/webhooks/meta`; None answers 404 there.
    pub webhooks: Option<WebhookSettings>,
}

/// The receiver of Meta's webhook notifications.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Echoed in the subscription handshake (`hub.verify_token`).
    pub verify_token: SecretString,
    /// The app secret: the key of `X-Hub-Signature-256`.
    pub app_secret: SecretString,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            cookie_secure: false,
            session_ttl: Duration::from_secs(12 * 3600),
            auth_cache_ttl: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            overview_cache_ttl: Duration::from_secs(1),
            auth_failures_per_client: 20,
            auth_failures_per_key: 20,
            auth_failure_window: Duration::from_secs(60),
            throttled_answer_delay: Duration::from_secs(1),
            header_read_timeout: Duration::from_secs(10),
            max_connections: 256,
            max_connections_per_client: 128,
            public_url: None,
            webhooks: None,
        }
    }
}

/// Shared by every handler; cheap to clone.
///
/// Build it with [`AppState::new`] and the `with_*` methods.
#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    /// Seals account tokens added through the API; None when no secret key is configured
    /// (adding accounts then fails with a clear error).
    pub cipher: Option<Cipher>,
    pub settings: Arc<ServerSettings>,
    /// The sync engine: syncs requested through the API are queued through it. None when
    /// this server cannot sync (no Graph API configured).
    pub engine: Option<Engine>,
    /// Graph API clients by login flavour: verify a token when an account is added, and
    /// report this process's Graph API errors in `/metrics`.
    pub graph: GraphClients,
    /// The time every handler uses ("now" of sync decisions, default ranges); a manual clock
    /// in tests.
    pub clock: Clock,
    pub(crate) auth: Arc<AuthCache>,
    pub(crate) throttle: Arc<Throttle>,
    pub(crate) legacy: Arc<LegacyVerifier>,
    pub(crate) key_checks: Arc<tokio::sync::Semaphore>,
    pub(crate) gate: Arc<DatabaseGate>,
    pub(crate) overview_cache: Arc<OverviewCache>,
    /// Logins through Meta's dialogs in flight (`sync::connect`).
    pub(crate) logins: Arc<sync::connect::Logins>,
}

impl AppState {
    pub fn new(store: DynStore, settings: ServerSettings) -> AppState {
        AppState {
            store,
            cipher: None,
            engine: None,
            graph: GraphClients::default(),
            clock: Clock::system(),
            auth: Arc::new(AuthCache::new(settings.auth_cache_ttl)),
            throttle: Arc::new(Throttle::new(
                settings.auth_failures_per_client,
                settings.auth_failures_per_key,
                settings.auth_failure_window,
            )),
            legacy: Arc::new(LegacyVerifier::default()),
            key_checks: Arc::new(tokio::sync::Semaphore::new(crate::auth::KEY_CHECKS)),
            gate: Arc::new(DatabaseGate::default()),
            overview_cache: Arc::new(OverviewCache::new(settings.overview_cache_ttl)),
            logins: Arc::new(sync::connect::Logins::default()),
            settings: Arc::new(settings),
        }
    }

    pub fn with_cipher(mut self, cipher: Cipher) -> AppState {
        self.cipher = Some(cipher);
        self
    }

    /// Uses the engine for syncs, and its clock for every decision.
    pub fn with_engine(mut self, engine: Engine) -> AppState {
        self.clock = engine.clock().clone();
        self.engine = Some(engine);
        self
    }

    pub fn with_graph(mut self, graph: GraphClients) -> AppState {
        self.graph = graph;
        self
    }

    pub fn with_clock(mut self, clock: Clock) -> AppState {
        self.clock = clock;
        self
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("dialect", &self.store.dialect())
            .field("engine", &self.engine.is_some())
            .field("cipher", &self.cipher.is_some())
            .field("graph", &self.graph.keys().collect::<Vec<_>>())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
