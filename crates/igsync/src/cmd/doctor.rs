//! `igsync doctor`: checks configuration, database, token key, the sync schedules against the
//! start limiter, Graph API reachability and accounts, and prints what is wrong and how to fix
//! it.

use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use store::SyncStatus;

use crate::config::{Config, redact_url};
use crate::db;

/// Prints every setting with its effective value, origin and meaning.
pub(crate) fn print_config(config: &Config) {
    for (spec, value, origin) in &config.effective {
        let shown = if value.is_empty() {
            "(empty)"
        } else {
            value.as_str()
        };
        println!("{} = {shown}", spec.key);
        println!("    from {origin}; env {}", spec.env);
        println!("    {}", spec.help);
    }
}

/// One finding.
pub(crate) enum Check {
    Ok(String),
    Warn(String, String),
    Fail(String, String),
}

pub(crate) async fn run(config: &Config) -> anyhow::Result<ExitCode> {
    let mut checks = Vec::new();
    checks.push(Check::Ok(match &config.file {
        Some(path) => format!("configuration read from {}", path.display()),
        None => "configuration: defaults and IGSYNC_* environment (no igsync.toml here)".into(),
    }));

    let url = redact_url(&config.database_url);
    let store = match db::connect(&config.database_url).await {
        Ok(store) => match store.ping().await {
            Ok(()) => {
                checks.push(Check::Ok(format!(
                    "database {url} reachable ({})",
                    store.dialect()
                )));
                Some(store)
            }
            Err(e) => {
                checks.push(Check::Fail(
                    format!("database {url} does not answer: {e}"),
                    "check that the server runs and the URL (IGSYNC_DATABASE_URL) is right".into(),
                ));
                None
            }
        },
        Err(e) => {
            checks.push(Check::Fail(
                format!("{e:#}"),
                "set IGSYNC_DATABASE_URL or --database-url to sqlite://PATH or postgres://USER@HOST/DB"
                    .into(),
            ));
            None
        }
    };

    if let Some(store) = &store {
        match store.migrate().await {
            Ok(0) => checks.push(Check::Ok("schema is up to date".into())),
            Ok(n) => checks.push(Check::Ok(format!("schema upgraded ({n} migration(s) applied)"))),
            Err(e) => checks.push(Check::Fail(
                format!("schema cannot be migrated: {e}"),
                "check the database user may create tables; see the log with IGSYNC_LOG_LEVEL=debug"
                    .into(),
            )),
        }
        let holding = store.account_count_with_token().await.unwrap_or(0);
        match (&config.secret_key, holding) {
            (None, 0) => checks.push(Check::Warn(
                "no secret key configured (needed before adding accounts)".into(),
                "set IGSYNC_SECRET_KEY to the output of `openssl rand -hex 32` and keep a copy"
                    .into(),
            )),
            (None, n) => checks.push(Check::Fail(
                format!("no secret key configured, but {n} account token(s) are stored encrypted"),
                "set IGSYNC_SECRET_KEY to the key they were encrypted with".into(),
            )),
            (Some(key), _) => {
                let cipher = store::Cipher::new(key);
                let accounts = store.account_list().await.unwrap_or_default();
                let unreadable = accounts
                    .iter()
                    .filter(|a| a.token.as_ref().is_some_and(|t| cipher.decrypt(t).is_err()))
                    .count();
                if unreadable == 0 {
                    checks.push(Check::Ok("secret key opens every stored token".into()));
                } else {
                    checks.push(Check::Fail(
                        format!("the secret key cannot open {unreadable} stored token(s)"),
                        "use the key the tokens were encrypted with, or re-add those accounts"
                            .into(),
                    ));
                }
            }
        }
        let now = Utc::now();
        let graph = super::graph::clients(config).ok();
        let accounts = store.account_list().await.unwrap_or_default();
        checks.extend(schedules(config, active(&accounts)));
        for a in accounts {
            let renewable = graph
                .as_ref()
                .is_none_or(|g| sync::accounts::can_refresh_login(g, a.login));
            if a.token.is_some() && a.status != SyncStatus::NeedsReauth && !renewable {
                checks.push(Check::Warn(
                    super::accounts::not_refreshable(&a),
                    "set graph.app_id and graph.app_secret to the Meta app's id and secret, or \
                     add a fresh token with `igsync accounts add` before it lapses"
                        .into(),
                ));
            } else if a.token.is_some()
                && a.token_expires_at.is_none()
                && a.login == store::LoginKind::Instagram
            {
                checks.push(Check::Warn(
                    format!("@{}: when its token expires is not known yet", a.username),
                    "the daily token refresh learns it; make sure a worker runs".into(),
                ));
            }
            match a.status {
                SyncStatus::NeedsReauth => checks.push(Check::Fail(
                    format!("@{}: Meta rejected its token", a.username),
                    format!(
                        "authorize again and run `igsync accounts add --ig-user-id {} --token-stdin`",
                        a.ig_user_id
                    ),
                )),
                SyncStatus::Failed => checks.push(Check::Warn(
                    format!(
                        "@{}: last sync failed: {}",
                        a.username,
                        a.last_sync_error.as_deref().unwrap_or("unknown error")
                    ),
                    format!("see `igsync history --account {} --steps`", a.ig_user_id),
                )),
                _ => {}
            }
            if let Some(expiry) = a.token_expires_at {
                if expiry < now {
                    checks.push(Check::Fail(
                        format!(
                            "@{}: token expired on {}",
                            a.username,
                            expiry.format("%Y-%m-%d")
                        ),
                        "authorize again and re-add the account with a fresh token".into(),
                    ));
                } else if expiry - now < chrono::Duration::days(7) {
                    checks.push(Check::Warn(
                        format!(
                            "@{}: token expires on {}",
                            a.username,
                            expiry.format("%Y-%m-%d")
                        ),
                        "the daily token refresh renews it; make sure a worker runs".into(),
                    ));
                }
            }
        }
    }

    checks.push(graph_reachable(config).await);

    let mut failed = false;
    for check in &checks {
        match check {
            Check::Ok(what) => println!("  ok    {what}"),
            Check::Warn(what, fix) => println!("  warn  {what}\n        fix: {fix}"),
            Check::Fail(what, fix) => {
                failed = true;
                println!("  FAIL  {what}\n        fix: {fix}");
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Accounts the sync schedules start syncs for (`Account::takes_scheduled_syncs`).
pub(crate) fn active(accounts: &[store::Account]) -> usize {
    accounts
        .iter()
        .filter(|a| a.takes_scheduled_syncs())
        .count()
}

/// What the sync schedules cost: the syncs an account starts a day, whether a full sync
/// stands in for the light sync it falls due with, and whether the start limiter keeps
/// `active` accounts on their schedules.
pub(crate) fn schedules(config: &Config, active: usize) -> Vec<Check> {
    let sync = &config.sync;
    let starts = match sync.sync_starts() {
        Ok(s) => s,
        Err(e) => {
            return vec![Check::Warn(
                format!("the sync schedules' syncs are not counted: {e}"),
                "a sync schedule ticking more often starts an account's next sync before the \
                 last can end; let sync.full_cron and sync.light_cron tick at most once a minute"
                    .into(),
            )];
        }
    };
    let mut checks = Vec::new();
    let per_day = starts.started();
    if starts.full > 0.0 && starts.light > 0.0 && starts.covered == 0.0 {
        checks.push(Check::Warn(
            format!(
                "no full sync stands in for a light sync: sync.light_cron `{}` never falls due \
                 with sync.full_cron `{}`, so an account starts {per_day:.1} syncs a day \
                 ({:.1} full, {:.1} light)",
                sync.light_cron, sync.full_cron, starts.full, starts.light
            ),
            "tick the light sync on the full sync's minute and second (the defaults: full \
             `0 0 */6 * * *`, light `0 0 * * * *`); each full sync then stands in for the light \
             sync of its hour"
                .into(),
        ));
    } else {
        checks.push(Check::Ok(format!(
            "sync schedules: an account starts {per_day:.1} syncs a day ({:.1} full, {:.1} \
             light; a full sync stands in for {:.1} light syncs)",
            starts.full,
            starts.light - starts.covered,
            starts.covered
        )));
    }
    let need = active as f64 * per_day / 1440.0;
    match sync.accounts_served_at(per_day) {
        None if sync.syncs_per_minute == 0 => checks.push(Check::Ok(format!(
            "no start limiter (sync.syncs_per_minute = 0): {active} active account(s) start \
             {need:.1} syncs a minute on average"
        ))),
        None => checks.push(Check::Ok(format!(
            "the sync schedules start no sync in a week: the start limiter ({} syncs a minute) \
             has nothing to keep",
            sync.syncs_per_minute
        ))),
        Some(served) if active as u64 > served => checks.push(Check::Warn(
            format!(
                "{active} active accounts need {need:.1} sync starts a minute on these \
                 schedules, but sync.syncs_per_minute is {}: their syncs fall further behind \
                 their schedules every day",
                sync.syncs_per_minute
            ),
            format!(
                "raise sync.syncs_per_minute to at least {} (the Graph API budget permitting), \
                 or sync less often (sync.light_cron, sync.full_cron)",
                need.ceil() as u64
            ),
        )),
        Some(served) => checks.push(Check::Ok(format!(
            "the start limiter ({} syncs a minute) keeps {served} accounts on these schedules; \
             {active} active",
            sync.syncs_per_minute
        ))),
    }
    checks
}

/// The Graph API answers an unauthenticated request with its own error JSON: that proves
/// the host, TLS and version path work without spending any account's budget.
async fn graph_reachable(config: &Config) -> Check {
    let base = config
        .graph
        .base_url
        .as_deref()
        .unwrap_or("https://graph.facebook.com");
    let url = format!("{base}/{}/me", config.graph.api_version);
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => return Check::Fail(format!("cannot build an HTTP client: {e}"), String::new()),
    };
    match client.get(&url).send().await {
        Ok(resp) => {
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            if body.contains("\"error\"") || status.is_success() {
                Check::Ok(format!("Graph API reachable at {} ({})", base, config.graph.api_version))
            } else {
                Check::Fail(
                    format!("{base} answered HTTP {status} without a Graph API error body"),
                    "check graph.base_url (IGSYNC_GRAPH_URL): it should be https://graph.facebook.com or the simulator's URL".into(),
                )
            }
        }
        Err(e) => Check::Fail(
            format!("Graph API at {base} unreachable: {e}"),
            "check network access and graph.base_url (IGSYNC_GRAPH_URL); for a try-out run `igsync simulate` and point IGSYNC_GRAPH_URL at it".into(),
        ),
    }
}
