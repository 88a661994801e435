//! `igsync accounts`: register (with a token, or through Meta's login with `connect`), list,
//! pause, resume, re-zone and remove accounts.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::Utc;
use store::{DynStore, LoginKind, SecretString, StatusChange, SyncStatus};
use sync::accounts::{RegisterError, Registration, TokenExpiry};

use crate::cli::{AccountsAddArgs, AccountsCommand, LoginArg};
use crate::cmd::resolve_account;
use crate::config::Config;
use crate::db;

pub(crate) async fn run(cmd: AccountsCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let store = db::open(&config.database_url).await?;
    match cmd {
        AccountsCommand::Add(args) => add(args, config, &store).await,
        AccountsCommand::Connect(args) => super::connect::run(args, config, &store).await,
        AccountsCommand::List { json } => list(&store, json).await,
        AccountsCommand::Remove { account, yes } => {
            let account = resolve_account(&store, &account).await?;
            if !yes {
                bail!(
                    "removing @{} deletes all its stored history; run again with --yes to confirm",
                    account.username
                );
            }
            store.account_delete(account.id).await?;
            println!(
                "removed @{} ({}) and its history",
                account.username, account.ig_user_id
            );
            Ok(ExitCode::SUCCESS)
        }
        AccountsCommand::Pause { account } => {
            let account = resolve_account(&store, &account).await?;
            let change = StatusChange {
                status: SyncStatus::Paused,
                error: account.last_sync_error.clone(),
                synced_at: None,
                only_if: vec![],
                now: Utc::now(),
            };
            store.account_status_set(account.id, change).await?;
            println!(
                "paused @{}: schedules skip it until `igsync accounts resume`",
                account.username
            );
            Ok(ExitCode::SUCCESS)
        }
        AccountsCommand::Resume { account } => {
            let account = resolve_account(&store, &account).await?;
            let change = StatusChange {
                status: SyncStatus::Idle,
                error: None,
                synced_at: None,
                only_if: vec![SyncStatus::Paused],
                now: Utc::now(),
            };
            if store.account_status_set(account.id, change).await? {
                println!("resumed @{}", account.username);
            } else {
                println!(
                    "@{} was not paused (status: {})",
                    account.username,
                    account.status.as_str()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        AccountsCommand::SetTimezone { account, timezone } => {
            let account = resolve_account(&store, &account).await?;
            let tz = parse_timezone(&timezone)?;
            store.account_timezone_set(account.id, tz.name()).await?;
            println!("@{} now reports in {}", account.username, tz.name());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Validates an IANA time zone name with a clear error.
pub(crate) fn parse_timezone(name: &str) -> anyhow::Result<chrono_tz::Tz> {
    name.trim().parse::<chrono_tz::Tz>().map_err(|_| {
        anyhow::anyhow!(
            "unknown time zone {name:?}: use an IANA name such as UTC, Europe/Berlin or \
             America/New_York"
        )
    })
}

async fn add(args: AccountsAddArgs, config: &Config, store: &DynStore) -> anyhow::Result<ExitCode> {
    let token = match (args.token, args.token_stdin) {
        (Some(token), _) => token,
        (None, true) => {
            let mut buf = String::new();
            std::io::stdin()
                .read_to_string(&mut buf)
                .context("cannot read the token from stdin")?;
            buf
        }
        (None, false) => {
            bail!("give the token with --token-stdin, IGSYNC_ACCOUNT_TOKEN or --token")
        }
    };
    let registration = Registration {
        ig_user_id: args.ig_user_id,
        token: SecretString::new(token),
        login: match args.login {
            LoginArg::Facebook => LoginKind::Facebook,
            LoginArg::Instagram => LoginKind::Instagram,
        },
        timezone: Some(args.timezone),
        verify: !args.no_verify,
        username: None,
        subscribe_webhooks: config.server.webhooks.is_some(),
        now: Utc::now(),
    };
    // The input is checked before the key is asked for, so a typo is named first.
    let cipher = match db::cipher(config, store).await {
        Ok(cipher) => cipher,
        Err(e) => {
            sync::accounts::check(&registration).map_err(cli_error)?;
            return Err(e);
        }
    };
    let graph = super::graph::clients(config)?;
    let registered = sync::accounts::register(&**store, &graph, &cipher, registration)
        .await
        .map_err(cli_error)?;
    let account = &registered.account;
    let expiry = match registered.expiry {
        TokenExpiry::Reported(at) | TokenExpiry::Refreshed(at) => {
            format!("token expires {}", at.format("%Y-%m-%d"))
        }
        TokenExpiry::Never => "token does not expire".to_string(),
        TokenExpiry::Assumed(at) => format!(
            "token expiry assumed {} (Meta's documented 60 days)",
            at.format("%Y-%m-%d")
        ),
    };
    println!(
        "registered @{} (ig user id {}, igsync id {}, {}, time zone {}; {expiry})",
        account.username,
        account.ig_user_id,
        account.id,
        account.account_type.as_str(),
        account.timezone
    );
    if !registered.refreshable {
        eprintln!("warning: {}", not_refreshable(account));
    }
    match &registered.webhooks {
        Some(Ok(())) => {
            println!("subscribed to Meta's story_insights, comments and mentions notifications")
        }
        Some(Err(e)) => eprintln!("warning: {e}"),
        None => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Why an account's token will lapse without igsync renewing it, in one line.
pub(crate) fn not_refreshable(account: &store::Account) -> String {
    let when = account
        .token_expires_at
        .map(|t| format!(" around {}", t.format("%Y-%m-%d")))
        .unwrap_or_default();
    format!(
        "igsync cannot refresh Facebook Login tokens without graph.app_id and graph.app_secret \
         (IGSYNC_GRAPH_APP_ID, IGSYNC_GRAPH_APP_SECRET): the token of @{} lapses{when} unless \
         they are set or a fresh token is added before then",
        account.username
    )
}

/// A registration error as the command line says it (flags instead of field names).
fn cli_error(e: RegisterError) -> anyhow::Error {
    match e {
        RegisterError::InvalidId(got) => {
            anyhow::anyhow!("--ig-user-id must be the numeric Instagram user id, got {got:?}")
        }
        RegisterError::NoClient(_) | RegisterError::Unverified { .. } => {
            anyhow::anyhow!("{e} (use --no-verify to register without checking)")
        }
        e => e.into(),
    }
}

async fn list(store: &DynStore, json: bool) -> anyhow::Result<ExitCode> {
    let accounts = store.account_list().await?;
    let retries = sync::retries_by_account(store.as_ref()).await?;
    if json {
        let rows: Vec<_> = accounts
            .iter()
            .map(|a| {
                serde_json::json!({
                    "id": a.id,
                    "ig_user_id": a.ig_user_id,
                    "username": a.username,
                    "account_type": a.account_type.as_str(),
                    "login": a.login.as_str(),
                    "timezone": a.timezone,
                    "status": a.status.as_str(),
                    "followers": a.followers_count,
                    "media": a.media_count,
                    "last_synced_at": a.last_synced_at,
                    "last_sync_error": a.last_sync_error,
                    "token_expires_at": a.token_expires_at,
                    "retrying": retries.get(&a.id).map(|r| serde_json::json!({
                        "step": r.step.map(|s| s.name()).unwrap_or("start"),
                        "failed_attempts": r.failed_attempts,
                        "max_attempts": r.max_attempts,
                        "last_error": r.last_error,
                        "last_error_at": r.last_error_at,
                        "next_attempt_at": r.next_attempt_at,
                    })),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if accounts.is_empty() {
        println!(
            "no accounts yet: add one with `igsync accounts add --ig-user-id ID --token-stdin`"
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>4}  {:<20} {:<20} {:<13} {:>10} {:<17} TOKEN EXPIRES",
        "ID", "IG USER ID", "USERNAME", "STATUS", "FOLLOWERS", "LAST SYNC (UTC)"
    );
    for a in &accounts {
        println!(
            "{:>4}  {:<20} {:<20} {:<13} {:>10} {:<17} {}",
            a.id,
            a.ig_user_id,
            truncate(&a.username, 20),
            a.status.as_str(),
            a.followers_count
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into()),
            a.last_synced_at
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|| "never".into()),
            a.token_expires_at
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| "-".into()),
        );
        if let Some(error) = &a.last_sync_error {
            println!("      last error: {error}");
        }
        if let Some(retry) = retries.get(&a.id) {
            println!("      retrying: {}", retry.describe());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n - 1).collect();
    out.push('…');
    out
}
