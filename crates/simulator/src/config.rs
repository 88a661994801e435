//! The simulator's configuration: the seeded world's size and clock, latency, faults,
//! rate-limit budgets, the real API's edges, the app's credentials, webhook access and
//! automatic consent of the login dialogs.

use std::time::Duration;

use chrono::{DateTime, DurationRound, Utc};
use serde::{Deserialize, Serialize};

use crate::dialog::LoginAuto;
use crate::version::ApiVersion;

/// Everything that shapes a simulated Graph API. Build it with [`SimConfig::new`] and adjust
/// the public fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimConfig {
    /// Seed of the world: same seed (and same `now`) ⇒ same accounts, posts and numbers.
    pub seed: u64,
    /// Number of Instagram professional accounts.
    pub accounts: usize,
    /// Posts per account: the average with [`SizeDistribution::Uniform`] (accounts vary
    /// from 0.5× to 1.5× of it), the median with [`SizeDistribution::LongTail`].
    pub media_per_account: usize,
    /// How the number of posts varies between accounts (default: uniform).
    #[serde(default)]
    pub sizes: SizeDistribution,
    /// Share of accounts (0.0..=1.0) that publish stories; the others never have one
    /// (default 1.0: every account).
    #[serde(default = "one")]
    pub story_share: f64,
    /// Start of the simulated clock. The clock is frozen unless advanced.
    pub now: DateTime<Utc>,
    /// Posts are spread over this many days before `now`.
    pub history_days: u32,
    /// Added to every API response.
    pub latency: Duration,
    /// A deterministic extra delay in `[0, jitter)` added to every API response.
    pub jitter: Duration,
    /// Share of API requests (0.0..=1.0) that get an injected fault.
    pub fault_rate: f64,
    /// Which kinds of fault are injected.
    pub faults: FaultMix,
    /// Rolling window of the per-account (BUC) and app budgets, in real time unless
    /// `rate_limit_window_on_sim_clock`.
    pub rate_limit_window: Duration,
    /// The budgets' window runs on the simulated clock, so usage rolls off as the clock is
    /// advanced (off by default: real time).
    #[serde(default)]
    pub rate_limit_window_on_sim_clock: bool,
    /// The last `tight_budget_accounts` accounts get `tight_budget` calls per window. They are
    /// also small accounts (fewer than 100 followers).
    pub tight_budget_accounts: usize,
    /// Budget of the tight accounts, in calls per window.
    pub tight_budget: u64,
    /// The first `expiring_token_accounts` accounts have tokens expiring within 3 days.
    pub expiring_token_accounts: usize,
    /// Version used for paths without a version prefix.
    pub default_version: ApiVersion,
    /// How long a timeout fault holds the response before closing the connection.
    pub timeout_hold: Duration,
    /// App-level budget (all accounts together) per window; once exhausted, calls fail with
    /// code 4.
    pub app_budget: u64,
    /// Meet the real Graph API's edges (off by default): multi-ID reads fail as a whole when
    /// one id fails, young posts answer `{"data": []}`, the latest two days of
    /// `online_followers` error, some account days are revised after 48 h, unknown metrics
    /// list what the product type accepts, Business Discovery is served to Facebook Login.
    /// Deterministic by seed; switchable at run time with [`crate::SimServer::set_edges`].
    #[serde(default)]
    pub edges: bool,
    /// Give the daily series a life-like shape and inject labelled anomalies (off by
    /// default): a weekday rhythm of the account insights, a follower counter that drifts
    /// around the account's pace, and spikes, drops and level shifts of the account insights
    /// drawn by seed, listed by [`crate::SimServer::injected_anomalies`], `GET
    /// /__sim/anomalies` and [`crate::daily_series`]. The follower counter carries no
    /// injected anomaly.
    #[serde(default)]
    pub anomalies: bool,
    /// The Meta app id the login flows expect as `client_id` (default: derived from the seed).
    #[serde(default)]
    pub app_id: Option<String>,
    /// The app secret the code exchanges expect and webhooks are signed with (default:
    /// derived from the seed).
    #[serde(default)]
    pub app_secret: Option<String>,
    /// Whether the app has Advanced Access: without it, `POST /{ig-user-id}/subscribed_apps`
    /// is refused.
    #[serde(default = "yes")]
    pub webhooks_advanced_access: bool,
    /// Consent given at once by every login dialog (scripts and tests that follow a dialog
    /// URL built by the program under test); `None` shows the consent page.
    #[serde(default)]
    pub login_auto: Option<LoginAuto>,
}

fn yes() -> bool {
    true
}

fn one() -> f64 {
    1.0
}

/// How the number of posts varies between accounts. Seeded: the same seed gives every
/// account the same size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeDistribution {
    /// From 0.5× to 1.5× of `media_per_account`, uniformly.
    #[default]
    Uniform,
    /// The long tail of a real fleet: log-normal with its median at `media_per_account` and
    /// σ = 1.1 (a tenth of the accounts above 4×, one in a hundred above 13×), capped at
    /// [`LONG_TAIL_CAP`]× the median. With a median of 150 posts: p90 ≈ 600, p99 ≈ 1,950 and
    /// a few accounts at the cap of 4,950.
    LongTail,
}

/// The largest account of [`SizeDistribution::LongTail`], as a multiple of the median.
pub const LONG_TAIL_CAP: usize = 33;

impl SizeDistribution {
    /// The posts of the account whose size hash is `u` (a uniform number in `[0, 1)`) and
    /// `n` its standard-normal quantile, for a fleet of `media_per_account`.
    pub(crate) fn posts(self, media_per_account: usize, u: f64, n: f64) -> usize {
        let m = media_per_account as f64;
        match self {
            SizeDistribution::Uniform => (m * (0.5 + u)).round() as usize,
            SizeDistribution::LongTail => {
                let cap = (media_per_account * LONG_TAIL_CAP).min(MAX_MEDIA_PER_ACCOUNT);
                ((m * (1.1 * n).exp()).round() as usize).clamp(1.min(cap), cap)
            }
        }
    }
}

impl SimConfig {
    /// A configuration with defaults: the clock starts at the current time (whole seconds),
    /// 365 days of history, no latency, no faults, a 24 h rate-limit window, no tight or
    /// expiring accounts, v25.0 for unversioned paths.
    pub fn new(seed: u64, accounts: usize, media_per_account: usize) -> SimConfig {
        let now = Utc::now();
        let now = now
            .duration_trunc(chrono::Duration::seconds(1))
            .unwrap_or(now);
        SimConfig {
            seed,
            accounts,
            media_per_account,
            sizes: SizeDistribution::Uniform,
            story_share: 1.0,
            now,
            history_days: 365,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            fault_rate: 0.0,
            faults: FaultMix::default(),
            rate_limit_window: Duration::from_secs(24 * 3600),
            rate_limit_window_on_sim_clock: false,
            tight_budget_accounts: 0,
            tight_budget: 200,
            expiring_token_accounts: 0,
            default_version: ApiVersion::V25,
            timeout_hold: Duration::from_secs(30),
            app_budget: 50_000_000,
            edges: false,
            anomalies: false,
            app_id: None,
            app_secret: None,
            webhooks_advanced_access: true,
            login_auto: None,
        }
    }

    /// Sets the latency in milliseconds (for the `--latency-ms` flag).
    pub fn with_latency_ms(mut self, ms: u64) -> SimConfig {
        self.latency = Duration::from_millis(ms);
        self
    }

    /// Sets the jitter in milliseconds (for the `--jitter-ms` flag).
    pub fn with_jitter_ms(mut self, ms: u64) -> SimConfig {
        self.jitter = Duration::from_millis(ms);
        self
    }

    /// Sets the fault rate (for the `--fault-rate` flag).
    pub fn with_fault_rate(mut self, rate: f64) -> SimConfig {
        self.fault_rate = rate;
        self
    }

    /// Checks the configuration, saying what is wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.accounts > MAX_ACCOUNTS {
            return Err(ConfigError::TooManyAccounts(self.accounts));
        }
        if self.media_per_account > MAX_MEDIA_PER_ACCOUNT {
            return Err(ConfigError::TooManyMedia(self.media_per_account));
        }
        let year = chrono::Datelike::year(&self.now);
        if !(2010..=2150).contains(&year) {
            return Err(ConfigError::Clock(self.now));
        }
        if self.history_days == 0 || self.history_days > 3650 {
            return Err(ConfigError::HistoryDays(self.history_days));
        }
        if !(0.0..=1.0).contains(&self.fault_rate) {
            return Err(ConfigError::FaultRate(self.fault_rate));
        }
        if !(0.0..=1.0).contains(&self.story_share) {
            return Err(ConfigError::StoryShare(self.story_share));
        }
        if self.rate_limit_window.is_zero() {
            return Err(ConfigError::ZeroWindow);
        }
        if self.tight_budget_accounts > self.accounts {
            return Err(ConfigError::TooManySpecial(
                "tight_budget_accounts",
                self.tight_budget_accounts,
            ));
        }
        if let Some(id) = &self.app_id
            && (id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(ConfigError::AppId(id.clone()));
        }
        if let Some(secret) = &self.app_secret
            && (secret.is_empty() || secret.len() > 256)
        {
            return Err(ConfigError::AppSecret);
        }
        if self.expiring_token_accounts > self.accounts {
            return Err(ConfigError::TooManySpecial(
                "expiring_token_accounts",
                self.expiring_token_accounts,
            ));
        }
        Ok(())
    }
}

/// Upper bound on `accounts`.
pub const MAX_ACCOUNTS: usize = 50_000;
/// Upper bound on `media_per_account`.
pub const MAX_MEDIA_PER_ACCOUNT: usize = 50_000;

/// A configuration the simulator cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// More accounts than the id scheme supports.
    #[error("accounts must be at most {MAX_ACCOUNTS}, got {0}")]
    TooManyAccounts(usize),
    /// More posts per account than the id scheme supports.
    #[error("media_per_account must be at most {MAX_MEDIA_PER_ACCOUNT}, got {0}")]
    TooManyMedia(usize),
    /// `history_days` out of range.
    #[error("history_days must be between 1 and 3650, got {0}")]
    HistoryDays(u32),
    /// `fault_rate` outside 0.0..=1.0.
    #[error("fault_rate must be between 0.0 and 1.0, got {0}")]
    FaultRate(f64),
    /// A clock start outside 2010–2150.
    #[error("the clock must start (now, --start) between 2010 and 2150, got {0}")]
    Clock(DateTime<Utc>),
    /// A story share outside 0.0..=1.0.
    #[error("story_share must be between 0.0 and 1.0, got {0}")]
    StoryShare(f64),
    /// A zero rate-limit window.
    #[error("rate_limit_window must be longer than zero")]
    ZeroWindow,
    /// More special accounts than accounts.
    #[error("{0} must not exceed accounts, got {1}")]
    TooManySpecial(&'static str, usize),
    /// An app id that is not a numeric string.
    #[error("app_id must be 1 to 32 digits, got {0:?}")]
    AppId(String),
    /// An empty or oversized app secret.
    #[error("app_secret must be 1 to 256 characters")]
    AppSecret,
}

/// The kinds of fault the simulator can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// HTTP 500 (code 1) or 503 (code 2), `is_transient: true`.
    ServerError,
    /// The response is held (`timeout_hold`), then the connection is closed without one.
    Timeout,
    /// The connection is closed without a response.
    DroppedConnection,
    /// HTTP 400 with a Graph error `code 2`, `is_transient: true`.
    TransientError,
    /// HTTP 200 with a truncated JSON body.
    MalformedJson,
    /// A rate-limit error: one of codes 80002, 4, 17, 32, 613.
    RateLimitStorm,
}

impl FaultKind {
    /// Every kind, in a fixed order.
    pub const ALL: [FaultKind; 6] = [
        FaultKind::ServerError,
        FaultKind::Timeout,
        FaultKind::DroppedConnection,
        FaultKind::TransientError,
        FaultKind::MalformedJson,
        FaultKind::RateLimitStorm,
    ];

    /// The snake_case name used in statistics.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::ServerError => "server_error",
            FaultKind::Timeout => "timeout",
            FaultKind::DroppedConnection => "dropped_connection",
            FaultKind::TransientError => "transient_error",
            FaultKind::MalformedJson => "malformed_json",
            FaultKind::RateLimitStorm => "rate_limit_storm",
        }
    }
}

/// Which fault kinds are injected; a fault picks one of the enabled kinds uniformly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultMix {
    /// 500/503 responses.
    pub server_error: bool,
    /// Held responses that end in a closed connection.
    pub timeout: bool,
    /// Connections closed without a response.
    pub dropped_connection: bool,
    /// `is_transient` Graph errors.
    pub transient_error: bool,
    /// Truncated JSON with status 200.
    pub malformed_json: bool,
    /// Rate-limit errors (80002, 4, 17, 32, 613).
    pub rate_limit_storm: bool,
}

impl Default for FaultMix {
    /// Every kind except rate-limit storms.
    fn default() -> Self {
        FaultMix {
            rate_limit_storm: false,
            ..FaultMix::all()
        }
    }
}

impl FaultMix {
    /// Every kind.
    pub fn all() -> FaultMix {
        FaultMix {
            server_error: true,
            timeout: true,
            dropped_connection: true,
            transient_error: true,
            malformed_json: true,
            rate_limit_storm: true,
        }
    }

    /// No kind (faults are never injected, whatever the rate).
    pub fn none() -> FaultMix {
        FaultMix {
            server_error: false,
            timeout: false,
            dropped_connection: false,
            transient_error: false,
            malformed_json: false,
            rate_limit_storm: false,
        }
    }

    /// Only the given kinds.
    pub fn only(kinds: &[FaultKind]) -> FaultMix {
        let mut mix = FaultMix::none();
        for k in kinds {
            match k {
                FaultKind::ServerError => mix.server_error = true,
                FaultKind::Timeout => mix.timeout = true,
                FaultKind::DroppedConnection => mix.dropped_connection = true,
                FaultKind::TransientError => mix.transient_error = true,
                FaultKind::MalformedJson => mix.malformed_json = true,
                FaultKind::RateLimitStorm => mix.rate_limit_storm = true,
            }
        }
        mix
    }

    /// The enabled kinds, in [`FaultKind::ALL`] order.
    pub fn kinds(&self) -> Vec<FaultKind> {
        FaultKind::ALL
            .into_iter()
            .filter(|k| match k {
                FaultKind::ServerError => self.server_error,
                FaultKind::Timeout => self.timeout,
                FaultKind::DroppedConnection => self.dropped_connection,
                FaultKind::TransientError => self.transient_error,
                FaultKind::MalformedJson => self.malformed_json,
                FaultKind::RateLimitStorm => self.rate_limit_storm,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_mix_excludes_storms() {
        let kinds = FaultMix::default().kinds();
        assert_eq!(kinds.len(), 5);
        assert!(!kinds.contains(&FaultKind::RateLimitStorm));
        assert_eq!(
            FaultMix::only(&[FaultKind::Timeout]).kinds(),
            vec![FaultKind::Timeout]
        );
    }

    #[test]
    fn validation_names_the_problem() {
        let mut c = SimConfig::new(1, 2, 3);
        assert!(c.validate().is_ok());
        c.fault_rate = 1.5;
        assert_eq!(c.validate(), Err(ConfigError::FaultRate(1.5)));
        c.fault_rate = 0.0;
        c.story_share = f64::NAN;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("story_share")
        );
        c.story_share = 0.3;
        c.tight_budget_accounts = 3;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("tight_budget_accounts")
        );
    }

    #[test]
    fn long_tail_has_its_median_and_a_capped_tail() {
        let mut sizes: Vec<usize> = (0..10_000u64)
            .map(|i| {
                let x = crate::hash::h(&[7, i]);
                SizeDistribution::LongTail.posts(150, crate::hash::unit(x), crate::hash::normal(x))
            })
            .collect();
        sizes.sort_unstable();
        let median = sizes[5_000];
        assert!((130..=170).contains(&median), "median {median}");
        assert!(sizes[9_900] > 1_200, "p99 {}", sizes[9_900]);
        assert_eq!(*sizes.last().unwrap(), 150 * LONG_TAIL_CAP);
        assert!(sizes[0] >= 1);
    }
}
