//! [`GraphClient`]: the shared plumbing of every call — URL building, `appsecret_proof`, the
//! throttle gate, retries with exponential backoff and jitter for transient failures, error
//! classification, usage-header bookkeeping and call accounting.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};

use crate::catalog::{Catalog, CatalogDecision, CatalogScope};
use crate::config::{ApiVersion, GraphConfig, LoginKind};
use crate::error::{ApiError, ErrorClass, GraphError, scrub};
use crate::model::MediaCategory;
use crate::parse;
use crate::stats::{AccountCallStats, CallStats, Stats};
use crate::throttle::{Throttle, UsageSnapshot};
use crate::token::{AccessToken, appsecret_proof};

/// The Instagram Graph API client. Cheap to clone; clones share the HTTP connection pool,
/// the metric-catalog decisions, the throttle state and the call counters.
#[derive(Clone)]
pub struct GraphClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) cfg: GraphConfig,
    http: reqwest::Client,
    pub(crate) catalog: Catalog,
    pub(crate) throttle: Throttle,
    pub(crate) stats: Stats,
    rng: Mutex<u64>,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("base_url", &self.inner.cfg.base_url.as_str())
            .field("version", &self.inner.cfg.version)
            .field("login", &self.inner.cfg.login)
            .finish_non_exhaustive()
    }
}

/// Installs rustls' `ring` provider as the process default, once; a provider installed
/// earlier by someone else is kept. Needed before any other `reqwest` client of the process
/// is built (igsync's HTTPS uses rustls without a compiled-in default provider).
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Losing a race with another installer is fine: a provider is then installed.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    });
}

/// Where a request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PathKind {
    /// `{base}/{version}/{path}`.
    Versioned,
    /// `{base}/{version}/{path}` on another version than the client's (probes).
    VersionedAt(ApiVersion),
    /// `{base}/{path}` (Instagram Login token endpoints).
    Unversioned,
    /// `{host}/{path}` on another of Meta's hosts (the Instagram Login code exchange).
    Host(crate::config::MetaHost),
}

/// One logical call; [`GraphClient::call`] may send it several times.
pub(crate) struct Request<'a> {
    pub(crate) method: Method,
    pub(crate) kind: PathKind,
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    /// URL-encoded form body (POST).
    pub(crate) form: Option<Vec<(&'static str, String)>>,
    /// Sent as `access_token` (with `appsecret_proof` when an app secret is configured).
    pub(crate) token: Option<&'a AccessToken>,
    /// Account the call is for (throttle, stats).
    pub(crate) account: Option<&'a str>,
    /// Rate-limit units the call costs.
    pub(crate) units: u64,
    /// Endpoint family for the stats.
    pub(crate) endpoint: &'static str,
    /// Extra secrets to scrub from error texts (tokens sent in other parameters).
    pub(crate) secrets: Vec<&'a str>,
}

impl<'a> Request<'a> {
    pub(crate) fn get(endpoint: &'static str, path: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            kind: PathKind::Versioned,
            path: path.into(),
            query: Vec::new(),
            form: None,
            token: None,
            account: None,
            units: 1,
            endpoint,
            secrets: Vec::new(),
        }
    }

    pub(crate) fn for_account(mut self, account: &'a crate::AccountRef) -> Self {
        self.token = Some(&account.token);
        self.account = Some(&account.ig_user_id);
        self
    }

    pub(crate) fn param(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }
}

impl GraphClient {
    /// Builds a client (and installs rustls' `ring` crypto provider as the process default if
    /// none is installed yet).
    pub fn new(cfg: GraphConfig) -> Result<Self, GraphError> {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(cfg.request_timeout)
            .connect_timeout(cfg.request_timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("igsync-graph/", env!("CARGO_PKG_VERSION")))
            .tls_backend_rustls()
            .build()
            .map_err(|e| GraphError::InvalidRequest(format!("cannot build HTTP client: {e}")))?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9E37_79B9, |d| d.as_nanos() as u64);
        Ok(Self {
            inner: Arc::new(Inner {
                throttle: Throttle::new(cfg.throttle, cfg.clock.clone()),
                cfg,
                http,
                catalog: Catalog::default(),
                stats: Stats::default(),
                rng: Mutex::new(seed | 1),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &GraphConfig {
        &self.inner.cfg
    }

    /// The pinned API version.
    pub fn version(&self) -> ApiVersion {
        self.inner.cfg.version
    }

    /// The login flavour.
    pub fn login(&self) -> LoginKind {
        self.inner.cfg.login
    }

    /// Call counters since the client was built (subtract two snapshots with
    /// [`CallStats::since`]).
    pub fn stats(&self) -> CallStats {
        self.inner.stats.snapshot()
    }

    /// One account's call counters since the client was built (subtract two readings with
    /// [`AccountCallStats::since`]); cheaper than [`stats`](Self::stats) in a client that
    /// serves many accounts.
    pub fn account_stats(&self, ig_user_id: &str) -> AccountCallStats {
        self.inner.stats.account(ig_user_id)
    }

    /// Current usage of every budget seen in the usage headers, and active pauses.
    pub fn usage(&self) -> UsageSnapshot {
        self.inner.throttle.snapshot()
    }

    /// The app's budget and one account's, as [`usage`](Self::usage) gives them (its
    /// `accounts` holds that account alone, when the client has seen its budget).
    pub fn usage_of(&self, ig_user_id: &str) -> UsageSnapshot {
        self.inner.throttle.snapshot_of(ig_user_id)
    }

    /// Metrics the client stopped requesting after the API rejected them.
    pub fn catalog_decisions(&self) -> Vec<CatalogDecision> {
        self.inner.catalog.decisions()
    }

    /// Adopts decisions learnt earlier (by this client before a restart, or by another
    /// process): metrics rejected for this client's API version are not requested again.
    /// Decisions for other versions are ignored. Returns how many were new.
    pub fn catalog_restore(&self, decisions: &[CatalogDecision]) -> usize {
        decisions
            .iter()
            .filter(|d| d.version == self.version())
            .filter(|d| {
                self.inner.catalog.drop_metric(
                    d.version,
                    d.scope,
                    &d.metric,
                    &d.reason,
                    d.decided_at,
                )
            })
            .count()
    }

    /// The metrics the client currently requests for a media category.
    pub fn media_metrics(&self, category: MediaCategory) -> Vec<&'static str> {
        self.inner
            .catalog
            .metrics(self.version(), CatalogScope::Media(category))
    }

    /// The metrics the client requests now for a scope (its catalog less what the API
    /// rejected), so a caller can tell a value that was asked for and not given.
    pub fn requested_metrics(&self, scope: CatalogScope) -> Vec<&'static str> {
        self.metrics(scope)
    }

    pub(crate) fn metrics(&self, scope: CatalogScope) -> Vec<&'static str> {
        self.inner.catalog.metrics(self.version(), scope)
    }

    /// Records a metric rejection; returns the names that were dropped (empty when the
    /// message names none of `requested`).
    pub(crate) fn drop_rejected(
        &self,
        scope: CatalogScope,
        api: &ApiError,
        requested: &[&str],
    ) -> Vec<String> {
        let names = crate::catalog::rejected_metrics(&api.message, requested);
        let now = self.inner.cfg.clock.now();
        for name in &names {
            self.inner
                .catalog
                .drop_metric(self.version(), scope, name, &api.message, now);
        }
        names
    }

    fn url(&self, kind: PathKind, path: &str) -> Result<Url, GraphError> {
        let host;
        let base = match kind {
            PathKind::Host(h) => {
                host = self.inner.cfg.host(h);
                host.as_str()
            }
            _ => self.inner.cfg.base_url.as_str(),
        };
        let path = path.trim_start_matches('/');
        let full = match kind {
            PathKind::Versioned if path.is_empty() => format!("{base}{}", self.version()),
            PathKind::Versioned => format!("{base}{}/{path}", self.version()),
            PathKind::VersionedAt(v) => format!("{base}{v}/{path}"),
            PathKind::Unversioned | PathKind::Host(_) => format!("{base}{path}"),
        };
        Url::parse(&full).map_err(|e| GraphError::InvalidRequest(format!("bad path {path:?}: {e}")))
    }

    fn auth_params(&self, token: &AccessToken) -> Vec<(&'static str, String)> {
        let mut out = vec![("access_token", token.expose().to_owned())];
        if let Some(secret) = &self.inner.cfg.app_secret {
            out.push(("appsecret_proof", appsecret_proof(secret.expose(), token)));
        }
        out
    }

    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let policy = self.inner.cfg.retry;
        let exp = policy
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(20)))
            .min(policy.max_backoff);
        // Equal jitter: half fixed, half random, so retries of many tasks spread out.
        let r = {
            let mut s = self.inner.rng.lock().unwrap_or_else(|e| e.into_inner());
            *s ^= *s << 13;
            *s ^= *s >> 7;
            *s ^= *s << 17;
            *s
        };
        let fraction = (r >> 11) as f64 / (1u64 << 53) as f64;
        exp.mul_f64(0.5 + 0.5 * fraction)
    }

    /// Sends `req` once.
    async fn send_once(
        &self,
        req: &Request<'_>,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), GraphError> {
        let url = self.url(req.kind, &req.path)?;
        let mut query = req.query.clone();
        let mut form = req.form.clone();
        if let Some(token) = req.token {
            if token.is_empty() {
                return Err(GraphError::InvalidRequest("empty access token".to_owned()));
            }
            match &mut form {
                Some(f) => f.extend(self.auth_params(token)),
                None => query.extend(self.auth_params(token)),
            }
        }
        let mut builder = self
            .inner
            .http
            .request(req.method.clone(), url)
            .query(&query);
        if let Some(form) = &form {
            let mut enc = Url::parse("http://form.invalid/")
                .map_err(|e| GraphError::InvalidRequest(e.to_string()))?;
            enc.query_pairs_mut()
                .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())));
            builder = builder
                .header("content-type", "application/x-www-form-urlencoded")
                .body(enc.query().unwrap_or("").to_owned());
        }
        let transport = |e: reqwest::Error| {
            let e = e.without_url();
            if e.is_timeout() {
                GraphError::Timeout
            } else {
                GraphError::Connection(self.scrub(req, &e.to_string()))
            }
        };
        let resp = builder.send().await.map_err(transport)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(transport)?;
        Ok((status, headers, body.to_vec()))
    }

    fn scrub(&self, req: &Request<'_>, text: &str) -> String {
        let mut out = text.to_owned();
        if let Some(token) = req.token {
            out = scrub(&out, token.expose());
        }
        if let Some(secret) = &self.inner.cfg.app_secret {
            out = scrub(&out, secret.expose());
        }
        for s in &req.secrets {
            out = scrub(&out, s);
        }
        out
    }

    /// Turns a failed response into an error (pausing the scope on rate limits).
    fn error_from(
        &self,
        req: &Request<'_>,
        status: StatusCode,
        body: &[u8],
        regain: Option<Duration>,
    ) -> GraphError {
        match parse::api_error(status.as_u16(), body) {
            Some(mut api) => {
                api.message = self.scrub(req, &api.message);
                self.api_error(req.account, api, regain)
            }
            None => {
                let snippet: String =
                    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                let err = GraphError::Http {
                    status: status.as_u16(),
                    snippet: self.scrub(req, &snippet),
                };
                if status == StatusCode::TOO_MANY_REQUESTS {
                    self.inner.throttle.rate_limited(
                        crate::RateLimitScope::Account,
                        req.account,
                        regain,
                        None,
                    )
                } else {
                    err
                }
            }
        }
    }

    /// An error object → error, pausing the scope on a rate limit.
    pub(crate) fn api_error(
        &self,
        account: Option<&str>,
        api: ApiError,
        regain: Option<Duration>,
    ) -> GraphError {
        if api.class() == ErrorClass::RateLimited {
            let scope = if account.is_none() {
                crate::RateLimitScope::App
            } else {
                api.rate_limit_scope()
            };
            self.inner
                .throttle
                .rate_limited(scope, account, regain, Some(api.code))
        } else {
            GraphError::Api(Box::new(api))
        }
    }

    /// Sends a call, retrying transient failures, and parses the answer with `parse`
    /// (a malformed body counts as transient).
    #[tracing::instrument(skip_all, fields(endpoint = req.endpoint, account = req.account))]
    pub(crate) async fn call<T>(
        &self,
        req: &Request<'_>,
        parse: impl Fn(&[u8]) -> Result<T, GraphError>,
    ) -> Result<T, GraphError> {
        let max_attempts = self.inner.cfg.retry.max_attempts;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let delay = match self.inner.throttle.gate(req.account) {
                Ok(d) => d,
                Err(e) => {
                    self.inner.stats.failed_fast();
                    return Err(e);
                }
            };
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            self.inner
                .stats
                .request(req.endpoint, req.account, req.units, attempt > 1);
            let sent = self.inner.throttle.sending();
            let err = match self.send_once(req).await {
                Ok((status, headers, body)) => {
                    let regain = self.inner.throttle.observe(req.account, sent, &headers);
                    if status.is_success() {
                        match parse(&body) {
                            Ok(v) => return Ok(v),
                            Err(e) => e,
                        }
                    } else {
                        self.error_from(req, status, &body, regain)
                    }
                }
                Err(e) => e,
            };
            self.inner.stats.error(&err.label(), req.account);
            tracing::debug!(endpoint = req.endpoint, path = %req.path, attempt, error = %err, "Graph API call failed");
            if err.class() == ErrorClass::Transient && attempt < max_attempts {
                tokio::time::sleep(self.backoff(attempt)).await;
                continue;
            }
            return Err(err);
        }
    }
}
