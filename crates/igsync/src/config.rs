//! Configuration: one typed [`Config`] read once at start-up from, in increasing priority,
//! built-in defaults, the TOML file (`igsync.toml` or `--config`), `IGSYNC_*` environment
//! variables and command-line flags.
//!
//! Every key is declared once in [`KEYS`] with its environment variable, default and
//! meaning; the file may not hold keys outside that list. An invalid value is reported as one
//! line naming the key, where it came from, the value and what is allowed.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use store::SecretString;

/// A configuration key: its dotted name in the file, its environment variable, its default
/// (as written in the file) and what it means.
#[derive(Debug)]
pub(crate) struct KeySpec {
    pub(crate) key: &'static str,
    pub(crate) env: &'static str,
    pub(crate) default: &'static str,
    pub(crate) help: &'static str,
}

macro_rules! keys {
    ($($key:literal, $env:literal, $default:literal, $help:literal;)*) => {
        pub(crate) const KEYS: &[KeySpec] = &[
            $(KeySpec { key: $key, env: $env, default: $default, help: $help },)*
        ];
    };
}

keys! {
    "database_url", "IGSYNC_DATABASE_URL", "sqlite://igsync.db", "Database: sqlite://PATH or postgres://USER@HOST:PORT/DB";
    "secret_key", "IGSYNC_SECRET_KEY", "", "64 hex characters (32 bytes) that encrypt account tokens; keep it out of the database";
    "log.format", "IGSYNC_LOG_FORMAT", "pretty", "Log format: pretty or json";
    "log.level", "IGSYNC_LOG_LEVEL", "info", "Log filter: a level (trace, debug, info, warn, error, off) or target=level directives, e.g. igsync=debug,sync=debug";
    "graph.base_url", "IGSYNC_GRAPH_URL", "", "Graph API base URL; empty: graph.facebook.com for Facebook Login tokens, graph.instagram.com for Instagram Login tokens (set the simulator's URL for try-outs)";
    "graph.api_version", "IGSYNC_GRAPH_API_VERSION", "v26.0", "Graph API version to pin, v21.0 to v26.0";
    "graph.app_id", "IGSYNC_GRAPH_APP_ID", "", "Meta app id (token exchange and debug_token)";
    "graph.app_secret", "IGSYNC_GRAPH_APP_SECRET", "", "Meta app secret: enables appsecret_proof on every call";
    "graph.timeout_secs", "IGSYNC_GRAPH_TIMEOUT_SECS", "30", "Timeout of one Graph API request, in seconds";
    "sync.concurrency", "IGSYNC_SYNC_CONCURRENCY", "2", "Jobs (accounts) a worker runs at a time";
    "sync.account_concurrency", "IGSYNC_SYNC_ACCOUNT_CONCURRENCY", "4", "Graph API requests one account's sync has in flight at most (1 to 16)";
    "sync.max_attempts", "IGSYNC_SYNC_MAX_ATTEMPTS", "3", "Attempts per job before it fails for good";
    "sync.backoff_secs", "IGSYNC_SYNC_BACKOFF_SECS", "60", "First retry delay; doubles per attempt, with jitter";
    "sync.job_timeout_secs", "IGSYNC_SYNC_JOB_TIMEOUT_SECS", "600", "A job running longer than this fails its attempt";
    "sync.syncs_per_minute", "IGSYNC_SYNC_SYNCS_PER_MINUTE", "500", "Account syncs started per minute across all workers (0: no limit); the default keeps 30,000 accounts on the default schedules (24 starts per account-day), N accounts need at least N × 24 ÷ 1,440";
    "sync.lease_secs", "IGSYNC_SYNC_LEASE_SECS", "30", "A running job whose worker stops heartbeating is rescued after this";
    "sync.full_cron", "IGSYNC_SYNC_FULL_CRON", "0 0 */6 * * *", "Full sync of every active account (sec min hour day month weekday, UTC); daily at 02:00 is \"0 0 2 * * *\"";
    "sync.light_cron", "IGSYNC_SYNC_LIGHT_CRON", "0 0 * * * *", "Light sync: profile, recent posts' insights, stories, and account insights when due; a full sync whose tick falls on one of its ticks stands in for it";
    "sync.token_refresh_cron", "IGSYNC_SYNC_TOKEN_REFRESH_CRON", "0 15 3 * * *", "Refresh of tokens expiring soon";
    "sync.retention_cron", "IGSYNC_SYNC_RETENTION_CRON", "0 45 4 * * *", "Pruning of finished jobs";
    "sync.reports_cron", "IGSYNC_SYNC_REPORTS_CRON", "0 5 * * * *", "Delivery of the scheduled reports whose period has ended";
    "sync.token_refresh_within_days", "IGSYNC_SYNC_TOKEN_REFRESH_WITHIN_DAYS", "7", "Refresh tokens that expire within this many days";
    "sync.account_insights_backfill_days", "IGSYNC_SYNC_ACCOUNT_INSIGHTS_BACKFILL_DAYS", "90", "Complete days of account insights read on an account's first sync, plus today's partial day";
    "sync.account_insights_settling_days", "IGSYNC_SYNC_ACCOUNT_INSIGHTS_SETTLING_DAYS", "3", "Recent days of account insights read again on every sync";
    "sync.account_insights_reread_days", "IGSYNC_SYNC_ACCOUNT_INSIGHTS_REREAD_DAYS", "28", "Days of account insights read again once a week for Meta's later revisions (0: off)";
    "sync.account_insights_light_every_hours", "IGSYNC_SYNC_ACCOUNT_INSIGHTS_LIGHT_EVERY_HOURS", "6", "Hours a light sync leaves the account insights alone after they were read, 0 to 24 (0: every light sync reads them); full syncs and a new Pacific day read them always";
    "retention.completed_keep", "IGSYNC_RETENTION_COMPLETED_KEEP", "100", "Completed jobs always kept";
    "retention.completed_max_age_days", "IGSYNC_RETENTION_COMPLETED_MAX_AGE_DAYS", "7", "Older completed jobs beyond the kept ones are deleted";
    "retention.failed_keep", "IGSYNC_RETENTION_FAILED_KEEP", "500", "Failed jobs always kept";
    "retention.failed_max_age_days", "IGSYNC_RETENTION_FAILED_MAX_AGE_DAYS", "30", "Older failed jobs beyond the kept ones are deleted";
    "alerts.follower_growth_threshold", "IGSYNC_ALERTS_FOLLOWER_GROWTH_THRESHOLD", "100", "Alert when followers grow by more than this between two syncs";
    "alerts.competitor_post_multiple", "IGSYNC_ALERTS_COMPETITOR_POST_MULTIPLE", "3", "Alert when a competitor's post reaches this many times the competitor's median likes + comments per post";
    "alerts.webhook_url", "IGSYNC_ALERTS_WEBHOOK_URL", "", "POST every alert as JSON to this URL (empty: no webhook)";
    "alerts.webhook_secret", "IGSYNC_ALERTS_WEBHOOK_SECRET", "", "HMAC-SHA256 key that signs webhook bodies (X-Igsync-Signature)";
    "sync.story_final_read_margin_minutes", "IGSYNC_SYNC_STORY_FINAL_READ_MARGIN_MINUTES", "30", "Each story's final read runs this many minutes before it expires (24 h after publishing)";
    "sync.competitors_cron", "IGSYNC_SYNC_COMPETITORS_CRON", "0 20 6 * * *", "Snapshots of the competitors' public counters and posts through Business Discovery";
    "sync.competitors_usage_ceiling_percent", "IGSYNC_SYNC_COMPETITORS_USAGE_CEILING_PERCENT", "50", "A competitor's snapshot waits while its via account's Graph API usage of the last hour is at or above this percentage";
    "sync.competitors_media_per_read", "IGSYNC_SYNC_COMPETITORS_MEDIA_PER_READ", "50", "Newest posts read per competitor and snapshot";
    "webhooks.enabled", "IGSYNC_WEBHOOKS_ENABLED", "false", "Receive Meta's webhook notifications at /webhooks/meta and subscribe accounts when they are added (needs graph.app_secret and webhooks.verify_token)";
    "webhooks.verify_token", "IGSYNC_WEBHOOKS_VERIFY_TOKEN", "", "The verify token entered in Meta's webhook settings (answered in the subscription handshake)";
    "smtp.host", "IGSYNC_SMTP_HOST", "", "Mail server that scheduled reports are sent through (empty: reports by email are refused)";
    "smtp.port", "IGSYNC_SMTP_PORT", "587", "Port of the mail server (587 for starttls, 465 for tls, 25 for none)";
    "smtp.username", "IGSYNC_SMTP_USERNAME", "", "Login at the mail server (empty: no login)";
    "smtp.password", "IGSYNC_SMTP_PASSWORD", "", "Password of the login (never printed or logged)";
    "smtp.from", "IGSYNC_SMTP_FROM", "", "Sender address of report emails, e.g. igsync@example.com";
    "smtp.tls", "IGSYNC_SMTP_TLS", "starttls", "starttls, tls or none (none only for a relay on a trusted network)";
    "server.listen", "IGSYNC_SERVER_LISTEN", "127.0.0.1:8080", "Address of the API and dashboard";
    "server.cookie_secure", "IGSYNC_SERVER_COOKIE_SECURE", "false", "Mark the dashboard's session cookie Secure (set it when igsync is served over HTTPS, directly or behind a proxy)";
    "server.public_url", "IGSYNC_SERVER_PUBLIC_URL", "", "The address browsers reach igsync at, e.g. https://igsync.example.com; Meta's login dialogs send people back to {public_url}/connect/callback (empty: connecting accounts from the dashboard is unavailable)";
    "warehouse.schema", "IGSYNC_WAREHOUSE_SCHEMA", "instagram_business", "PostgreSQL schema of the Fivetran-compatible views `igsync migrate` keeps current (user_history, media_history, media_insights, user_insights, user_lifetime_insights, media_comment); lower-case letters, digits and _";
}

/// Where a value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Env(&'static str),
    Flag(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("the default"),
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// A configuration problem, always one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("config file {path} is not valid TOML: {reason}")]
    Malformed { path: String, reason: String },
    #[error("unknown key `{key}` in {path}: {allowed}")]
    UnknownKey {
        key: String,
        path: String,
        allowed: String,
    },
    #[error("invalid value {value} for `{key}` (from {origin}): expected {expected}")]
    Invalid {
        key: String,
        origin: String,
        value: String,
        expected: String,
    },
}

/// Values given on the command line, which win over everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub database_url: Option<String>,
    pub log_format: Option<String>,
    pub listen: Option<String>,
    pub graph_url: Option<String>,
    pub concurrency: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone)]
pub struct Config {
    /// The file that was read, if any.
    pub(crate) file: Option<PathBuf>,
    pub(crate) database_url: String,
    /// The database URL was given (flag, environment or file) rather than the default.
    pub(crate) database_url_explicit: bool,
    /// Every key's effective value (secrets hidden, passwords redacted) and where it came
    /// from, for `igsync config`.
    pub(crate) effective: Vec<(&'static KeySpec, String, Origin)>,
    pub(crate) secret_key: Option<store::SecretKey>,
    pub(crate) log_format: LogFormat,
    /// The log filter the user configured (`None`: each command's quiet default).
    pub(crate) log_level: Option<String>,
    pub(crate) graph: GraphSettings,
    /// The engine's settings (retention and alerts included), built once here.
    pub(crate) sync: sync::SyncSettings,
    pub(crate) listen: SocketAddr,
    /// The HTTP server's settings, built once here.
    pub(crate) server: server::ServerSettings,
    /// The PostgreSQL schema of the warehouse views.
    pub(crate) warehouse_schema: String,
}

/// Like a derived `Debug`, with the password of the database URL replaced (the secret key
/// and secrets print themselves redacted).
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("file", &self.file)
            .field("database_url", &redact_url(&self.database_url))
            .field("database_url_explicit", &self.database_url_explicit)
            .field("secret_key", &self.secret_key)
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field("graph", &self.graph)
            .field("sync", &self.sync)
            .field("listen", &self.listen)
            .field("server", &self.server)
            .field("warehouse_schema", &self.warehouse_schema)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct GraphSettings {
    /// None: each login flavour's production host.
    pub(crate) base_url: Option<String>,
    pub(crate) api_version: String,
    pub(crate) app_id: Option<String>,
    pub(crate) app_secret: Option<SecretString>,
    pub(crate) timeout: Duration,
}

/// The raw layers before typing.
struct Layers<'a> {
    file_path: Option<PathBuf>,
    file: BTreeMap<String, String>,
    env: &'a dyn Fn(&str) -> Option<String>,
    flags: BTreeMap<&'static str, (&'static str, String)>,
}

impl Layers<'_> {
    /// The winning raw value of a key and where it came from.
    fn raw(&self, key: &'static str) -> (String, Origin) {
        let spec = spec(key);
        if let Some((flag, value)) = self.flags.get(key) {
            return (value.clone(), Origin::Flag(flag));
        }
        if let Some(value) = (self.env)(spec.env) {
            return (value, Origin::Env(spec.env));
        }
        if let Some(value) = self.file.get(key) {
            let path = self.file_path.clone().unwrap_or_default();
            return (value.clone(), Origin::File(path));
        }
        (spec.default.to_string(), Origin::Default)
    }

    fn optional(&self, key: &'static str) -> Option<String> {
        let value = self.raw(key).0;
        if value.trim().is_empty() {
            None
        } else {
            Some(value)
        }
    }

    fn number(&self, key: &'static str, min: u64, max: u64) -> Result<u64, ConfigError> {
        let (value, origin) = self.raw(key);
        match value.trim().parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(invalid(
                key,
                &origin,
                &value,
                &format!("a whole number from {min} to {max}"),
            )),
        }
    }

    fn choice(&self, key: &'static str, allowed: &[&str]) -> Result<String, ConfigError> {
        let (value, origin) = self.raw(key);
        let lower = value.trim().to_ascii_lowercase();
        if allowed.contains(&lower.as_str()) {
            return Ok(lower);
        }
        Err(invalid(
            key,
            &origin,
            &value,
            &format!("one of {}", allowed.join(", ")),
        ))
    }

    fn cron(&self, key: &'static str) -> Result<String, ConfigError> {
        let (value, origin) = self.raw(key);
        match sync::validate_cron(&value) {
            Ok(()) => Ok(value.trim().to_string()),
            Err(reason) => Err(invalid(
                key,
                &origin,
                &value,
                &format!(
                    "a cron expression with 6 fields (sec min hour day-of-month month \
                     day-of-week, UTC), e.g. \"0 0 */6 * * *\" ({reason})"
                ),
            )),
        }
    }
}

/// Levels of a log filter.
const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

impl Layers<'_> {
    /// A log filter: a level, or comma-separated `target=level` directives (`None` when
    /// the default is in effect). A bare word that is not a level is refused, as a typo
    /// (`verbose`, `warning`) would otherwise silently switch logging off.
    fn log_filter(&self, key: &'static str) -> Result<Option<String>, ConfigError> {
        let (value, origin) = self.raw(key);
        if origin == Origin::Default {
            return Ok(None);
        }
        let refused = || {
            invalid(
                key,
                &origin,
                &value,
                "a level (trace, debug, info, warn, error or off) or comma-separated \
                 target=level directives, e.g. info or igsync=debug,sync=debug",
            )
        };
        let is_level = |l: &str| LOG_LEVELS.contains(&l.trim().to_ascii_lowercase().as_str());
        let mut directives = 0;
        for directive in value.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            directives += 1;
            let ok = match directive.rsplit_once('=') {
                Some((target, level)) => !target.trim().is_empty() && is_level(level),
                None => is_level(directive),
            };
            if !ok {
                return Err(refused());
            }
        }
        if directives == 0 || tracing_subscriber::EnvFilter::try_new(value.trim()).is_err() {
            return Err(refused());
        }
        Ok(Some(value.trim().to_string()))
    }
}

fn spec(key: &str) -> &'static KeySpec {
    KEYS.iter()
        .find(|it| it.key == key)
        .expect("every key read is declared in KEYS")
}

fn invalid(key: &str, origin: &Origin, value: &str, expected: &str) -> ConfigError {
    let shown = if key.contains("secret") {
        "(hidden)".to_string()
    } else {
        format!("{value:?}")
    };
    ConfigError::Invalid {
        key: key.to_string(),
        origin: origin.to_string(),
        value: shown,
        // A validator's reason may quote the value, whose line breaks would break the
        // error's one line: they are written as escapes.
        expected: expected.replace('\r', "\\r").replace('\n', "\\n"),
    }
}

/// Flattens a TOML table to `section.key → value as text`, rejecting keys that are not in
/// [`KEYS`].
fn flatten(table: &toml::Table, path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    fn walk(
        prefix: &str,
        table: &toml::Table,
        out: &mut BTreeMap<String, String>,
        unknown: &mut Vec<String>,
    ) {
        for (name, value) in table {
            let key = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            match value {
                toml::Value::Table(inner) => walk(&key, inner, out, unknown),
                toml::Value::String(s) => {
                    out.insert(key, s.clone());
                }
                toml::Value::Integer(n) => {
                    out.insert(key, n.to_string());
                }
                toml::Value::Float(x) => {
                    out.insert(key, x.to_string());
                }
                toml::Value::Boolean(b) => {
                    out.insert(key, b.to_string());
                }
                toml::Value::Datetime(d) => {
                    out.insert(key, d.to_string());
                }
                toml::Value::Array(_) => unknown.push(key),
            }
        }
    }
    let mut out = BTreeMap::new();
    let mut unknown = Vec::new();
    walk("", table, &mut out, &mut unknown);
    unknown.extend(
        out.keys()
            .filter(|k| !KEYS.iter().any(|s| s.key == k.as_str()))
            .cloned(),
    );
    if let Some(key) = unknown.into_iter().next() {
        return Err(ConfigError::UnknownKey {
            allowed: allowed_near(&key),
            // A quoted TOML key may hold line breaks; the error stays one line.
            key: key.escape_debug().to_string(),
            path: path.display().to_string(),
        });
    }
    Ok(out)
}

/// What to suggest for an unknown key: the closest known key when it is a likely typo, and
/// the keys of the same section.
fn allowed_near(key: &str) -> String {
    let closest = KEYS
        .iter()
        .map(|s| (edit_distance(key, s.key), s.key))
        .min()
        .filter(|(d, _)| *d <= 3);
    let section = key.split_once('.').map(|(s, _)| s);
    let same: Vec<&str> = KEYS
        .iter()
        .map(|s| s.key)
        .filter(|k| k.split_once('.').map(|(s, _)| s) == section)
        .collect();
    let list = if same.is_empty() {
        KEYS.iter().map(|s| s.key).collect::<Vec<_>>().join(", ")
    } else {
        same.join(", ")
    };
    match closest {
        Some((_, k)) => format!("did you mean `{k}`? (allowed here: {list})"),
        None => list,
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

impl Config {
    /// Reads the configuration. `explicit` is `--config` (must exist); otherwise
    /// `igsync.toml` in the working directory is read when present.
    pub fn load(
        explicit: Option<&Path>,
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let file_path = match explicit {
            Some(path) => Some(path.to_path_buf()),
            None => {
                let default = PathBuf::from("igsync.toml");
                default.exists().then_some(default)
            }
        };
        let text = match &file_path {
            None => None,
            Some(path) => {
                Some(
                    std::fs::read_to_string(path).map_err(|e| ConfigError::Unreadable {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    })?,
                )
            }
        };
        Config::from_text(file_path.as_deref().zip(text.as_deref()), overrides, env)
    }

    /// What [`Config::load`] does once the file is read: `file` is its path (for messages)
    /// and text. Also the entry point of the configuration's property tests.
    pub fn from_text(
        file: Option<(&Path, &str)>,
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let file_path = file.map(|(path, _)| path.to_path_buf());
        let file = match file {
            None => BTreeMap::new(),
            Some((path, text)) => {
                let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
                    let at = e
                        .span()
                        .map(|s| format!(" (line {})", line_of(text, s.start)));
                    ConfigError::Malformed {
                        path: path.display().to_string(),
                        reason: format!(
                            "{}{}",
                            e.message().trim().replace('\n', " "),
                            at.unwrap_or_default()
                        ),
                    }
                })?;
                flatten(&table, path)?
            }
        };
        let mut flags = BTreeMap::new();
        let mut flag = |key: &'static str, name: &'static str, value: &Option<String>| {
            if let Some(v) = value {
                flags.insert(key, (name, v.clone()));
            }
        };
        flag("database_url", "--database-url", &overrides.database_url);
        flag("log.format", "--log-format", &overrides.log_format);
        flag("server.listen", "--listen", &overrides.listen);
        flag("graph.base_url", "--graph-url", &overrides.graph_url);
        flag("sync.concurrency", "--concurrency", &overrides.concurrency);
        let layers = Layers {
            file_path: file_path.clone(),
            file,
            env,
            flags,
        };
        Config::from_layers(file_path, &layers)
    }

    fn from_layers(file: Option<PathBuf>, l: &Layers<'_>) -> Result<Config, ConfigError> {
        let database_url_explicit = l.raw("database_url").1 != Origin::Default;
        let effective = KEYS
            .iter()
            .map(|spec| {
                let (value, origin) = l.raw(spec.key);
                let shown = if (spec.key.contains("secret")
                    || spec.key.contains("password")
                    || spec.key == "webhooks.verify_token")
                    && !value.is_empty()
                {
                    "(set, hidden)".to_string()
                } else if spec.key == "database_url" {
                    redact_url(&value)
                } else if spec.key == "alerts.webhook_url" && !value.is_empty() {
                    // The path or query of a webhook URL often is its credential.
                    sync::WebhookUrl::parse(&value).map_or_else(|_| value.clone(), |u| u.origin())
                } else {
                    value
                };
                (spec, shown, origin)
            })
            .collect();
        let database_url = {
            let (value, origin) = l.raw("database_url");
            let v = value.trim();
            if !(v.starts_with("sqlite:")
                || v.starts_with("postgres://")
                || v.starts_with("postgresql://"))
            {
                return Err(invalid(
                    "database_url",
                    &origin,
                    &redact_url(v),
                    "a URL starting with sqlite:// (e.g. sqlite://igsync.db) or postgres:// \
                     (e.g. postgres://postgres@127.0.0.1:5432/igsync)",
                ));
            }
            v.to_string()
        };
        let secret_key = match l.optional("secret_key") {
            None => None,
            Some(hex) => {
                let origin = l.raw("secret_key").1;
                Some(
                    store::SecretKey::from_hex(&hex).map_err(|e| ConfigError::Invalid {
                        key: "secret_key".into(),
                        origin: origin.to_string(),
                        value: "(hidden)".into(),
                        expected: match e {
                            store::CryptoError::BadKeyLength { got, hint } => format!(
                                "64 hexadecimal characters (32 bytes), got {got} characters{hint}"
                            ),
                            store::CryptoError::BadKeyHex => {
                                "64 hexadecimal characters (0-9, a-f) only".to_string()
                            }
                            other => other.to_string(),
                        },
                    })?,
                )
            }
        };
        let log_format = match l.choice("log.format", &["pretty", "json"])?.as_str() {
            "json" => LogFormat::Json,
            _ => LogFormat::Pretty,
        };
        let graph = GraphSettings {
            base_url: {
                let (value, origin) = l.raw("graph.base_url");
                let v = value.trim().trim_end_matches('/');
                if v.is_empty() {
                    None
                } else if !(v.starts_with("http://") || v.starts_with("https://")) || v.len() < 10 {
                    return Err(invalid(
                        "graph.base_url",
                        &origin,
                        &value,
                        "an http:// or https:// URL, e.g. https://graph.facebook.com",
                    ));
                } else {
                    Some(v.to_string())
                }
            },
            api_version: {
                let allowed = ["v21.0", "v22.0", "v23.0", "v24.0", "v25.0", "v26.0"];
                let (value, origin) = l.raw("graph.api_version");
                let v = value.trim();
                if !allowed.contains(&v) {
                    return Err(invalid(
                        "graph.api_version",
                        &origin,
                        &value,
                        &format!("one of {}", allowed.join(", ")),
                    ));
                }
                v.to_string()
            },
            app_id: l.optional("graph.app_id"),
            app_secret: l.optional("graph.app_secret").map(SecretString::new),
            timeout: Duration::from_secs(l.number("graph.timeout_secs", 1, 600)?),
        };
        let day = Duration::from_secs(86_400);
        let retention = sync::RetentionSettings {
            completed_keep: l.number("retention.completed_keep", 0, 10_000_000)? as u32,
            completed_max_age: day
                * l.number("retention.completed_max_age_days", 0, 36_500)? as u32,
            failed_keep: l.number("retention.failed_keep", 0, 10_000_000)? as u32,
            failed_max_age: day * l.number("retention.failed_max_age_days", 0, 36_500)? as u32,
        };
        let alerts = sync::AlertSettings {
            follower_growth_threshold: l.number(
                "alerts.follower_growth_threshold",
                1,
                1_000_000_000,
            )? as u32,
            competitor_post_multiple: l.number("alerts.competitor_post_multiple", 2, 1000)? as u32,
            webhook_url: match l.optional("alerts.webhook_url") {
                None => None,
                Some(url) => Some(sync::WebhookUrl::parse(&url).map_err(|_| {
                    let origin = l.raw("alerts.webhook_url").1;
                    invalid(
                        "alerts.webhook_url",
                        &origin,
                        &url,
                        "an http:// or https:// URL with a host, or empty",
                    )
                })?),
            },
            webhook_secret: l.optional("alerts.webhook_secret").map(SecretString::new),
            ..sync::AlertSettings::default()
        };
        let sync = sync::SyncSettings {
            concurrency: l.number("sync.concurrency", 1, 256)? as u32,
            account_concurrency: l.number(
                "sync.account_concurrency",
                1,
                u64::from(sync::MAX_ACCOUNT_CONCURRENCY),
            )? as u32,
            max_attempts: l.number("sync.max_attempts", 1, 100)? as u32,
            backoff: Duration::from_secs(l.number("sync.backoff_secs", 0, 86_400)?),
            job_timeout: Duration::from_secs(l.number("sync.job_timeout_secs", 1, 86_400)?),
            syncs_per_minute: l.number("sync.syncs_per_minute", 0, 100_000)? as u32,
            lease: Duration::from_secs(l.number("sync.lease_secs", 5, 3_600)?),
            full_cron: l.cron("sync.full_cron")?,
            light_cron: l.cron("sync.light_cron")?,
            token_refresh_cron: l.cron("sync.token_refresh_cron")?,
            retention_cron: l.cron("sync.retention_cron")?,
            reports_cron: l.cron("sync.reports_cron")?,
            token_refresh_within_days: l.number("sync.token_refresh_within_days", 1, 59)? as u32,
            account_insights_backfill_days: l.number(
                "sync.account_insights_backfill_days",
                1,
                730,
            )? as u32,
            account_insights_settling_days: l.number(
                "sync.account_insights_settling_days",
                1,
                30,
            )? as u32,
            account_insights_reread_days: l.number("sync.account_insights_reread_days", 0, 90)?
                as u32,
            account_insights_light_interval: Duration::from_secs(
                3600 * l.number("sync.account_insights_light_every_hours", 0, 24)?,
            ),
            retention,
            alerts,
            story_final_read_margin: Duration::from_secs(
                60 * l.number("sync.story_final_read_margin_minutes", 1, 600)?,
            ),
            competitors: sync::CompetitorSettings {
                cron: l.cron("sync.competitors_cron")?,
                usage_ceiling_percent: l.number("sync.competitors_usage_ceiling_percent", 1, 100)?
                    as u32,
                media_per_read: l.number("sync.competitors_media_per_read", 1, 1000)? as usize,
                ..sync::CompetitorSettings::default()
            },
            smtp: match l.optional("smtp.host") {
                None => None,
                Some(host) => Some(sync::SmtpSettings {
                    host,
                    port: l.number("smtp.port", 1, 65_535)? as u16,
                    username: l.optional("smtp.username"),
                    password: l.optional("smtp.password").map(SecretString::new),
                    from: l.optional("smtp.from").ok_or_else(|| {
                        invalid(
                            "smtp.from",
                            &l.raw("smtp.from").1,
                            "",
                            "the sender address of report emails (needed with smtp.host)",
                        )
                    })?,
                    tls: sync::SmtpTls::parse(&l.choice("smtp.tls", &["starttls", "tls", "none"])?)
                        .unwrap_or(sync::SmtpTls::StartTls),
                }),
            },
            ..sync::SyncSettings::default()
        };
        let listen = {
            let (value, origin) = l.raw("server.listen");
            value.trim().parse::<SocketAddr>().map_err(|_| {
                invalid(
                    "server.listen",
                    &origin,
                    &value,
                    "an address like 127.0.0.1:8080",
                )
            })?
        };
        let public_url = {
            let (value, origin) = l.raw("server.public_url");
            public_url(&value)
                .map_err(|expected| invalid("server.public_url", &origin, &value, expected))?
        };
        let webhooks = if l.choice("webhooks.enabled", &["true", "false"])? == "true" {
            let (_, origin) = l.raw("webhooks.enabled");
            let Some(verify_token) = l.optional("webhooks.verify_token") else {
                return Err(invalid(
                    "webhooks.enabled",
                    &origin,
                    "true",
                    "webhooks.verify_token to be set too (the token entered in Meta's webhook settings)",
                ));
            };
            let Some(app_secret) = graph.app_secret.clone() else {
                return Err(invalid(
                    "webhooks.enabled",
                    &origin,
                    "true",
                    "graph.app_secret to be set too (it is the key of the notifications' signatures)",
                ));
            };
            Some(server::WebhookSettings {
                verify_token: SecretString::new(verify_token),
                app_secret,
            })
        } else {
            None
        };
        let sync = sync::SyncSettings {
            public_url: public_url.clone(),
            ..sync
        };
        let server = server::ServerSettings {
            cookie_secure: l.choice("server.cookie_secure", &["true", "false"])? == "true",
            public_url,
            webhooks,
            ..server::ServerSettings::default()
        };
        let warehouse_schema = {
            let (value, origin) = l.raw("warehouse.schema");
            let value = value.trim().to_string();
            store_postgres::warehouse::check_identifier("schema", &value).map_err(|_| {
                invalid(
                    "warehouse.schema",
                    &origin,
                    &value,
                    "a lower-case SQL identifier: letters, digits and _, at most 63, not \
                     starting with a digit or pg_",
                )
            })?;
            value
        };
        Ok(Config {
            file,
            database_url,
            database_url_explicit,
            effective,
            secret_key,
            log_format,
            log_level: l.log_filter("log.level")?,
            graph,
            sync,
            listen,
            server,
            warehouse_schema,
        })
    }
}

/// `server.public_url`: empty, or an http(s) URL with a host and neither query nor fragment;
/// kept without its trailing slash.
fn public_url(value: &str) -> Result<Option<String>, &'static str> {
    const EXPECTED: &str =
        "an http(s) URL with a host and no query or fragment, like https://igsync.example.com";
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let Some((scheme, rest)) = value.split_once("://") else {
        return Err(EXPECTED);
    };
    let host = rest.split('/').next().unwrap_or_default();
    if !matches!(scheme, "http" | "https")
        || host.is_empty()
        || host.starts_with(':')
        || rest.contains(['?', '#'])
        || !value.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(EXPECTED);
    }
    Ok(Some(value.trim_end_matches('/').to_owned()))
}

/// The one redaction of database URLs (shared with the stores' error messages).
pub(crate) use store::redact_url;

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: Option<&str>, env: &[(&str, &str)], o: Overrides) -> Result<Config, ConfigError> {
        let dir = std::env::temp_dir().join(format!(
            "igsync-config-test-{}-{}",
            std::process::id(),
            toml.map(|t| t.len()).unwrap_or(0) + env.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("igsync.toml");
        if let Some(text) = toml {
            std::fs::write(&path, text).unwrap();
        }
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        Config::load(toml.map(|_| path.as_path()), &o, &lookup)
    }

    #[test]
    fn zero_config_uses_sqlite_in_the_working_directory() {
        let c = load(None, &[], Overrides::default()).unwrap();
        assert_eq!(c.database_url, "sqlite://igsync.db");
        assert_eq!(c.sync.concurrency, 2);
        assert_eq!(
            c.sync.account_concurrency,
            sync::DEFAULT_ACCOUNT_CONCURRENCY
        );
        assert_eq!(c.sync.max_attempts, 3);
        assert_eq!(c.sync.full_cron, "0 0 */6 * * *");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(c.secret_key.is_none());
    }

    #[test]
    fn flags_beat_environment_beats_file() {
        let toml = "database_url = \"sqlite://file.db\"\n[sync]\nconcurrency = 4\n";
        let c = load(Some(toml), &[], Overrides::default()).unwrap();
        assert_eq!(
            (c.database_url.as_str(), c.sync.concurrency),
            ("sqlite://file.db", 4)
        );
        let env = [
            ("IGSYNC_DATABASE_URL", "sqlite://env.db"),
            ("IGSYNC_SYNC_CONCURRENCY", "8"),
        ];
        let c = load(Some(toml), &env, Overrides::default()).unwrap();
        assert_eq!(
            (c.database_url.as_str(), c.sync.concurrency),
            ("sqlite://env.db", 8)
        );
        let o = Overrides {
            database_url: Some("sqlite://flag.db".into()),
            ..Default::default()
        };
        let c = load(Some(toml), &env, o).unwrap();
        assert_eq!(c.database_url, "sqlite://flag.db");
        let c = load(
            None,
            &[("IGSYNC_GRAPH_URL", "http://127.0.0.1:9/")],
            Overrides::default(),
        );
        assert_eq!(
            c.unwrap().graph.base_url.as_deref(),
            Some("http://127.0.0.1:9")
        );
    }

    #[test]
    fn the_public_url_is_an_http_url_kept_without_its_trailing_slash() {
        assert_eq!(public_url(""), Ok(None));
        assert_eq!(
            public_url(" https://igsync.example.com/ "),
            Ok(Some("https://igsync.example.com".to_owned()))
        );
        assert_eq!(
            public_url("http://127.0.0.1:8080/igsync"),
            Ok(Some("http://127.0.0.1:8080/igsync".to_owned()))
        );
        for bad in [
            "igsync.example.com",
            "ftp://x",
            "https://",
            "https://x/?a=1",
            "https://x/#f",
            "https://x y",
        ] {
            assert!(public_url(bad).is_err(), "{bad}");
        }
        let err = load(
            None,
            &[("IGSYNC_SERVER_PUBLIC_URL", "igsync.example.com")],
            Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("server.public_url"), "{err}");
    }

    #[test]
    fn a_value_with_line_breaks_gives_a_one_line_error() {
        // The cron validator quotes the expression in its reason.
        let err = load(
            Some("[sync]\nfull_cron = \"0 0\\n* *\\r\"\n"),
            &[],
            Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains('\n') && !err.contains('\r'), "{err}");
        assert!(err.contains("`sync.full_cron`"), "{err}");
        assert!(err.contains("`0 0\\n* *`"), "{err}");
    }

    #[test]
    fn invalid_values_name_key_origin_value_and_what_is_allowed() {
        let err = load(
            Some("[sync]\nconcurrency = \"many\"\n"),
            &[],
            Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`sync.concurrency`"), "{err}");
        assert!(err.contains("\"many\""), "{err}");
        assert!(err.contains("a whole number from 1 to 256"), "{err}");
        assert!(err.contains("igsync.toml"), "{err}");

        // One account's requests in flight: at least one, at most 16.
        for bad in ["0", "17"] {
            let err = load(
                None,
                &[("IGSYNC_SYNC_ACCOUNT_CONCURRENCY", bad)],
                Overrides::default(),
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains("`sync.account_concurrency`"), "{err}");
            assert!(err.contains("a whole number from 1 to 16"), "{err}");
        }
        let c = load(
            Some("[sync]\naccount_concurrency = 1\n"),
            &[],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.sync.account_concurrency, 1);

        let err = load(
            None,
            &[("IGSYNC_DATABASE_URL", "mysql://x")],
            Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("IGSYNC_DATABASE_URL") && err.contains("sqlite://"),
            "{err}"
        );

        let err = load(
            None,
            &[("IGSYNC_SYNC_FULL_CRON", "every day")],
            Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`sync.full_cron`") && err.contains("cron"),
            "{err}"
        );

        let err = load(
            None,
            &[("IGSYNC_SECRET_KEY", "abc123")],
            Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("secret_key")
                && err.contains("expected 64 hexadecimal characters (32 bytes), got 6"),
            "{err}"
        );
        assert!(
            !err.contains("expected the"),
            "reads as one sentence: {err}"
        );
        assert!(!err.contains("abc123"), "secrets are never echoed: {err}");
    }

    #[test]
    fn log_filters_are_checked_like_every_other_key() {
        for good in [
            "info",
            "DEBUG",
            "warn,igsync=debug",
            "igsync=debug,sync=trace",
            "off",
        ] {
            let c = load(None, &[("IGSYNC_LOG_LEVEL", good)], Overrides::default());
            assert_eq!(c.unwrap().log_level.as_deref(), Some(good));
        }
        assert_eq!(
            load(None, &[], Overrides::default()).unwrap().log_level,
            None
        );
        for bad in [
            "verbose",
            "warning",
            "igsync=loud",
            "info,,=debug",
            " ",
            "sync=",
            "a=b=c",
        ] {
            let err = load(None, &[("IGSYNC_LOG_LEVEL", bad)], Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("`log.level`") && err.contains("IGSYNC_LOG_LEVEL"),
                "{bad:?}: {err}"
            );
            assert!(err.contains("e.g. info"), "{err}");
        }
        let err = load(
            Some("[log]\nlevel = \"chatty\"\n"),
            &[],
            Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("\"chatty\"") && err.contains("igsync.toml"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_and_malformed_toml_are_one_line_errors() {
        let err = load(Some("[sync]\nconcurency = 3\n"), &[], Overrides::default()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unknown key `sync.concurency`"), "{text}");
        let quoted = load(Some("[sync]\n\"a\\nb\" = 1\n"), &[], Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            quoted.contains(r"unknown key `sync.a\nb`") && !quoted.contains('\n'),
            "{quoted}"
        );
        assert!(text.contains("did you mean `sync.concurrency`?"), "{text}");
        assert!(
            !text.contains("retention."),
            "only the same section is listed: {text}"
        );
        let err = load(
            Some("# igsync\ndatabase_url = \n"),
            &[],
            Overrides::default(),
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::Malformed { .. }), "{err}");
        assert!(err.to_string().contains("(line 2)"), "{err}");
        assert!(!err.to_string().contains('\n'));
    }

    #[test]
    fn the_shipped_start_limiter_keeps_a_ten_thousand_account_fleet_on_schedule() {
        let c = load(None, &[], Overrides::default()).unwrap();
        assert_eq!(c.sync.syncs_per_minute, sync::DEFAULT_SYNCS_PER_MINUTE);
        let served = c.sync.accounts_served_by_limiter().unwrap().unwrap();
        assert!(
            served >= 10_000,
            "the shipped limiter keeps {served} accounts"
        );
    }

    #[test]
    fn the_readme_documents_every_key_and_its_variable() {
        let readme = include_str!("../../../README.md");
        for spec in KEYS {
            let row = format!("| `{}` | `{}` |", spec.key, spec.env);
            assert!(readme.contains(&row), "README.md does not document {row}");
        }
    }

    #[test]
    fn smtp_settings_build_the_mail_server_and_hide_the_password() {
        let none = load(None, &[], Overrides::default()).unwrap();
        assert_eq!(none.sync.smtp, None);
        let env = [
            ("IGSYNC_SMTP_HOST", "mail.example.com"),
            ("IGSYNC_SMTP_PORT", "465"),
            ("IGSYNC_SMTP_USERNAME", "reports"),
            ("IGSYNC_SMTP_PASSWORD", "hunter2"),
            ("IGSYNC_SMTP_FROM", "igsync@example.com"),
            ("IGSYNC_SMTP_TLS", "tls"),
        ];
        let c = load(None, &env, Overrides::default()).unwrap();
        let smtp = c.sync.smtp.clone().unwrap();
        assert_eq!(
            (smtp.host.as_str(), smtp.port, smtp.tls, smtp.from.as_str()),
            (
                "mail.example.com",
                465,
                sync::SmtpTls::Tls,
                "igsync@example.com"
            )
        );
        assert_eq!(smtp.password.unwrap().expose(), "hunter2");
        let (_, shown, _) = c
            .effective
            .iter()
            .find(|(spec, _, _)| spec.key == "smtp.password")
            .unwrap();
        assert_eq!(shown, "(set, hidden)");
        assert!(!format!("{c:?}").contains("hunter2"));
        let err = load(None, &env[..1], Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("smtp.from"), "{err}");
        let err = load(
            None,
            &[
                ("IGSYNC_SMTP_HOST", "m"),
                ("IGSYNC_SMTP_FROM", "a@b.c"),
                ("IGSYNC_SMTP_TLS", "ssl"),
            ],
            Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("smtp.tls"), "{err}");
    }

    #[test]
    fn passwords_are_redacted_from_urls_in_config_and_debug() {
        for (url, secret) in [
            ("postgres://app:s3cret@db:5432/igsync", "s3cret"),
            ("postgres://u:p@zq9@h/db", "zq9"),
            (
                "postgres://u@h/db?sslmode=require&password=hunter2",
                "hunter2",
            ),
        ] {
            let c = load(None, &[("IGSYNC_DATABASE_URL", url)], Overrides::default()).unwrap();
            let (_, shown, _) = c
                .effective
                .iter()
                .find(|(spec, _, _)| spec.key == "database_url")
                .unwrap();
            assert!(!shown.contains(secret), "{url} shown as {shown}");
            let debug = format!("{c:?}");
            assert!(!debug.contains(secret), "{url} in Debug: {debug}");
        }
        let err = load(
            None,
            &[("IGSYNC_DATABASE_URL", "host=db password=hunter2")],
            Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert_eq!(redact_url("sqlite://igsync.db"), "sqlite://igsync.db");
    }

    #[test]
    fn a_webhook_url_is_shown_and_debugged_without_its_path() {
        let url = "https://hooks.slack.com/services/T01/B02/SeCrEtPaRt";
        let c = load(
            None,
            &[("IGSYNC_ALERTS_WEBHOOK_URL", url)],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            c.sync.alerts.webhook_url.as_ref().map(|u| u.expose()),
            Some(url)
        );
        let (_, shown, _) = c
            .effective
            .iter()
            .find(|(spec, _, _)| spec.key == "alerts.webhook_url")
            .unwrap();
        assert_eq!(shown, "https://hooks.slack.com/…");
        assert!(!format!("{c:?}").contains("SeCrEtPaRt"));
        let err = load(
            None,
            &[("IGSYNC_ALERTS_WEBHOOK_URL", "ftp://example.com/x")],
            Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("alerts.webhook_url"), "{err}");
    }
}
