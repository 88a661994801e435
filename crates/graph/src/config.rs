//! Client configuration: API version, login flavour (host), app credentials, timeouts, retry
//! policy and throttle thresholds, validated once when the configuration is built.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use reqwest::Url;

use crate::error::ConfigError;
use crate::token::AppSecret;
use ::clock::Clock;

/// A Graph API version such as `v26.0`.
///
/// Versions order naturally (`v22.0 < v26.0`), so the metric catalog can say "removed in v22".
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    major: u16,
    minor: u16,
}

impl ApiVersion {
    /// v21.0 (2 Oct 2024), the oldest version still served.
    pub const V21: Self = Self::new(21, 0);
    /// v22.0 (21 Jan 2025): `impressions`, `plays` and friends removed.
    pub const V22: Self = Self::new(22, 0);
    /// v23.0 (29 May 2025).
    pub const V23: Self = Self::new(23, 0);
    /// v24.0 (8 Oct 2025).
    pub const V24: Self = Self::new(24, 0);
    /// v25.0 (18 Feb 2026).
    pub const V25: Self = Self::new(25, 0);
    /// v26.0 (29 Jul 2026).
    pub const V26: Self = Self::new(26, 0);
    /// The newest released version; the default of [`GraphConfigBuilder`].
    pub const LATEST: Self = Self::V26;
    /// Older versions have expired and are refused by the configuration.
    pub const OLDEST_SUPPORTED: Self = Self::V21;

    /// A version from its numbers (`ApiVersion::new(26, 0)` is `v26.0`).
    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }

    /// The major number (`26` for `v26.0`).
    pub const fn major(self) -> u16 {
        self.major
    }

    /// The minor number (`0` for `v26.0`).
    pub const fn minor(self) -> u16 {
        self.minor
    }

    /// The day Meta stops serving the version (its changelog's schedule; `None` while not
    /// announced). Calls to an expired version run on the oldest version still served, so a
    /// metric a newer version refuses is gone then at the latest.
    pub fn expires_on(self) -> Option<chrono::NaiveDate> {
        let (y, m, d) = match self.major {
            21 => (2027, 1, 21),
            22 => (2027, 5, 20),
            23 => (2027, 10, 8),
            24 => (2028, 2, 18),
            25 => (2028, 7, 29),
            _ => return None,
        };
        chrono::NaiveDate::from_ymd_opt(y, m, d)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}", self.major, self.minor)
    }
}

impl fmt::Debug for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for ApiVersion {
    type Err = ConfigError;

    /// Accepts `v26.0`, `26.0`, `v26` and `26`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ConfigError::Version(s.to_owned());
        let t = s.trim();
        let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
        let (major, minor) = match t.split_once('.') {
            Some((a, b)) => (a, b),
            None => (t, "0"),
        };
        let all_digits =
            |x: &str| !x.is_empty() && x.len() <= 4 && x.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(major) || !all_digits(minor) {
            return Err(bad());
        }
        Ok(Self::new(
            major.parse().map_err(|_| bad())?,
            minor.parse().map_err(|_| bad())?,
        ))
    }
}

/// Which flavour of the Instagram API the tokens belong to; it decides the host and a few
/// endpoints (account discovery, token exchange and refresh).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoginKind {
    /// Instagram API with Facebook Login: `graph.facebook.com`, Facebook user/page tokens.
    Facebook,
    /// Instagram API with Instagram Login: `graph.instagram.com`, Instagram user tokens.
    Instagram,
}

impl LoginKind {
    /// The production host of this flavour.
    pub const fn default_base_url(self) -> &'static str {
        match self {
            Self::Facebook => "https://graph.facebook.com",
            Self::Instagram => "https://graph.instagram.com",
        }
    }

    /// `facebook` or `instagram`, as written in configuration files.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Facebook => "facebook",
            Self::Instagram => "instagram",
        }
    }
}

impl FromStr for LoginKind {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "facebook" | "facebook_login" | "fb" => Ok(Self::Facebook),
            "instagram" | "instagram_login" | "ig" => Ok(Self::Instagram),
            _ => Err(ConfigError::LoginKind(s.to_owned())),
        }
    }
}

/// Meta's hosts the login flows and the Graph API live on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetaHost {
    /// `www.facebook.com`: the Facebook Login dialog.
    WwwFacebook,
    /// `graph.facebook.com`: the Graph API with Facebook Login, its code exchange.
    GraphFacebook,
    /// `www.instagram.com`: the Instagram Login dialog.
    WwwInstagram,
    /// `api.instagram.com`: the Instagram Login code exchange.
    ApiInstagram,
    /// `graph.instagram.com`: the Graph API with Instagram Login, its token exchanges.
    GraphInstagram,
}

impl MetaHost {
    /// The production root URL (with its trailing slash).
    pub const fn production(self) -> &'static str {
        match self {
            Self::WwwFacebook => "https://www.facebook.com/",
            Self::GraphFacebook => "https://graph.facebook.com/",
            Self::WwwInstagram => "https://www.instagram.com/",
            Self::ApiInstagram => "https://api.instagram.com/",
            Self::GraphInstagram => "https://graph.instagram.com/",
        }
    }
}

/// How transient failures (codes 1 and 2, `is_transient`, HTTP 5xx, timeouts, connection
/// errors, malformed bodies) are retried inside the client: exponential backoff with full
/// jitter, `initial_backoff × 2^n` capped at `max_backoff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request including the first one (1 = never retry). At most 10.
    pub max_attempts: u32,
    /// Upper bound of the first backoff.
    pub initial_backoff: Duration,
    /// Upper bound of any backoff.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// 5 attempts, backoff from 200 ms up to 10 s.
    pub const STANDARD: Self = Self {
        max_attempts: 5,
        initial_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(10),
    };

    fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=10).contains(&self.max_attempts) {
            return Err(ConfigError::Invalid(
                "retry.max_attempts must be between 1 and 10",
            ));
        }
        if self.initial_backoff > self.max_backoff {
            return Err(ConfigError::Invalid(
                "retry.initial_backoff must not exceed retry.max_backoff",
            ));
        }
        if self.max_backoff > Duration::from_secs(600) {
            return Err(ConfigError::Invalid(
                "retry.max_backoff must be at most 10 minutes",
            ));
        }
        Ok(())
    }
}

/// When the adaptive throttle slows down and how long it pauses when Meta gives no time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Usage percentage (highest of `call_count`, `total_time`, `total_cputime` in the usage
    /// headers) from which calls of that account (or of the whole app) are spaced out.
    pub slow_down_at_percent: u8,
    /// Delay inserted before a call when usage reaches 100 %; it grows linearly from zero at
    /// `slow_down_at_percent`.
    pub max_delay: Duration,
    /// Pause after a rate-limit error that carries no time to regain access.
    pub default_pause: Duration,
}

impl ThrottleConfig {
    /// Slow down from 75 %, at most 2 s between calls, pause 5 minutes by default.
    pub const STANDARD: Self = Self {
        slow_down_at_percent: 75,
        max_delay: Duration::from_secs(2),
        default_pause: Duration::from_secs(300),
    };

    fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=100).contains(&self.slow_down_at_percent) {
            return Err(ConfigError::Invalid(
                "throttle.slow_down_at_percent must be 1..=100",
            ));
        }
        if self.max_delay > Duration::from_secs(60) {
            return Err(ConfigError::Invalid(
                "throttle.max_delay must be at most 60 s",
            ));
        }
        if self.default_pause.is_zero() || self.default_pause > Duration::from_secs(86_400) {
            return Err(ConfigError::Invalid(
                "throttle.default_pause must be in (0, 24 h]",
            ));
        }
        Ok(())
    }
}

/// A validated client configuration. Build it with [`GraphConfig::builder`].
#[derive(Clone, Debug)]
pub struct GraphConfig {
    pub(crate) base_url: Url,
    /// Whether `base_url` was given (a proxy or the simulator): then every Meta host of the
    /// login flows is that one URL too.
    pub(crate) custom_base: bool,
    pub(crate) version: ApiVersion,
    pub(crate) login: LoginKind,
    pub(crate) app_id: String,
    pub(crate) app_secret: Option<AppSecret>,
    pub(crate) request_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) throttle: ThrottleConfig,
    pub(crate) clock: Clock,
}

impl GraphConfig {
    /// Starts a configuration. The login flavour and the Meta app id (empty when only user
    /// tokens are read; token exchange then fails clearly) are required choices;
    /// everything else has a documented default (version [`ApiVersion::LATEST`], the login
    /// flavour's production host, 30 s timeout, [`RetryPolicy::STANDARD`],
    /// [`ThrottleConfig::STANDARD`], no app secret, the system clock).
    pub fn builder(login: LoginKind, app_id: impl Into<String>) -> GraphConfigBuilder {
        GraphConfigBuilder {
            base_url: None,
            version: ApiVersion::LATEST,
            login,
            app_id: app_id.into(),
            app_secret: None,
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::STANDARD,
            throttle: ThrottleConfig::STANDARD,
            clock: Clock::system(),
        }
    }

    /// Root URL the versioned paths are appended to.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }
    /// The pinned API version.
    pub fn version(&self) -> ApiVersion {
        self.version
    }
    /// The root URL of one of Meta's hosts: the configured base URL for every host when
    /// one was given (a proxy or the simulator, which serve Meta's paths on one URL), else
    /// the production host.
    pub fn host(&self, host: MetaHost) -> Url {
        if self.custom_base {
            return self.base_url.clone();
        }
        Url::parse(host.production()).unwrap_or_else(|_| self.base_url.clone())
    }
    /// The login flavour.
    pub fn login(&self) -> LoginKind {
        self.login
    }
    /// The Meta app id.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }
    /// Whether an app secret is configured (then every call carries `appsecret_proof`).
    pub fn has_app_secret(&self) -> bool {
        self.app_secret.is_some()
    }
    /// Timeout of one HTTP request.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }
    /// Retry policy for transient failures.
    pub fn retry(&self) -> RetryPolicy {
        self.retry
    }
    /// Throttle thresholds.
    pub fn throttle(&self) -> ThrottleConfig {
        self.throttle
    }
    /// The clock used for pauses and token expiry.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }
}

/// Builder of [`GraphConfig`]; [`build`](Self::build) validates every value.
#[derive(Debug)]
pub struct GraphConfigBuilder {
    base_url: Option<String>,
    version: ApiVersion,
    login: LoginKind,
    app_id: String,
    app_secret: Option<AppSecret>,
    request_timeout: Duration,
    retry: RetryPolicy,
    throttle: ThrottleConfig,
    clock: Clock,
}

impl GraphConfigBuilder {
    /// A custom root URL (a proxy or the simulator); both login flavours then use it.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }
    /// Pins the API version.
    pub fn version(mut self, version: ApiVersion) -> Self {
        self.version = version;
        self
    }
    /// The app secret: enables `appsecret_proof`, token exchange and `debug_token`.
    pub fn app_secret(mut self, secret: impl Into<String>) -> Self {
        self.app_secret = Some(AppSecret::new(secret.into()));
        self
    }
    /// Timeout of one HTTP request (1 s to 10 min).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }
    /// Retry policy for transient failures.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
    /// Throttle thresholds.
    pub fn throttle(mut self, throttle: ThrottleConfig) -> Self {
        self.throttle = throttle;
        self
    }
    /// The clock (a [`Clock::offset`] one lets simulations move time).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Validates and returns the configuration.
    pub fn build(self) -> Result<GraphConfig, ConfigError> {
        let custom_base = self.base_url.is_some();
        let raw = self
            .base_url
            .unwrap_or_else(|| self.login.default_base_url().to_owned());
        let mut base_url =
            Url::parse(raw.trim()).map_err(|e| ConfigError::BaseUrl(format!("{raw}: {e}")))?;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.host_str().is_none() {
            return Err(ConfigError::BaseUrl(format!(
                "{raw}: needs an http(s) URL with a host"
            )));
        }
        if base_url.query().is_some() || base_url.fragment().is_some() {
            return Err(ConfigError::BaseUrl(format!(
                "{raw}: must not carry a query or fragment"
            )));
        }
        if !base_url.path().ends_with('/') {
            let path = format!("{}/", base_url.path());
            base_url.set_path(&path);
        }
        if self.version < ApiVersion::OLDEST_SUPPORTED {
            return Err(ConfigError::VersionExpired(self.version));
        }
        // The app id is only needed by token exchange and `debug_token` with an app token;
        // reads with a user token work without it, so it may be empty.
        let app_id = self.app_id.trim().to_owned();
        if app_id.len() > 32 || !app_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError::Invalid("app id must be up to 32 digits"));
        }
        if let Some(secret) = &self.app_secret
            && secret.expose().trim().is_empty()
        {
            return Err(ConfigError::Invalid("app secret must not be empty"));
        }
        if self.request_timeout < Duration::from_secs(1)
            || self.request_timeout > Duration::from_secs(600)
        {
            return Err(ConfigError::Invalid(
                "request timeout must be between 1 s and 10 min",
            ));
        }
        self.retry.validate()?;
        self.throttle.validate()?;
        Ok(GraphConfig {
            base_url,
            custom_base,
            version: self.version,
            login: self.login,
            app_id,
            app_secret: self.app_secret,
            request_timeout: self.request_timeout,
            retry: self.retry,
            throttle: self.throttle,
            clock: self.clock,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        assert_eq!("v26.0".parse::<ApiVersion>().unwrap(), ApiVersion::V26);
        assert_eq!("22".parse::<ApiVersion>().unwrap(), ApiVersion::V22);
        assert_eq!(ApiVersion::V25.to_string(), "v25.0");
        assert!(ApiVersion::V21 < ApiVersion::V26);
        for bad in ["", "v", "vx.0", "26.", "-1", "v26.0.1", "99999"] {
            assert!(bad.parse::<ApiVersion>().is_err(), "{bad}");
        }
    }

    #[test]
    fn builder_validates() {
        let ok = GraphConfig::builder(LoginKind::Instagram, "123")
            .build()
            .unwrap();
        assert_eq!(ok.base_url().as_str(), "https://graph.instagram.com/");
        assert_eq!(ok.version(), ApiVersion::LATEST);
        let custom = GraphConfig::builder(LoginKind::Facebook, "1")
            .base_url("http://127.0.0.1:9/api")
            .build()
            .unwrap();
        assert_eq!(custom.base_url().as_str(), "http://127.0.0.1:9/api/");
        assert!(
            GraphConfig::builder(LoginKind::Facebook, "abc")
                .build()
                .is_err()
        );
        assert!(
            GraphConfig::builder(LoginKind::Facebook, "1")
                .base_url("ftp://x")
                .build()
                .is_err()
        );
        assert!(
            GraphConfig::builder(LoginKind::Facebook, "1")
                .base_url("nope")
                .build()
                .is_err()
        );
        assert!(
            GraphConfig::builder(LoginKind::Facebook, "1")
                .version(ApiVersion::new(19, 0))
                .build()
                .is_err()
        );
        assert!(
            GraphConfig::builder(LoginKind::Facebook, "1")
                .request_timeout(Duration::ZERO)
                .build()
                .is_err()
        );
        let retry = RetryPolicy {
            max_attempts: 0,
            ..RetryPolicy::STANDARD
        };
        assert!(
            GraphConfig::builder(LoginKind::Facebook, "1")
                .retry(retry)
                .build()
                .is_err()
        );
        assert!(
            GraphConfig::builder(LoginKind::Facebook, "1")
                .app_secret(" ")
                .build()
                .is_err()
        );
        assert_eq!(
            "Instagram".parse::<LoginKind>().unwrap(),
            LoginKind::Instagram
        );
        assert!("myspace".parse::<LoginKind>().is_err());
    }
}
