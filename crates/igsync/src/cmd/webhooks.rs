//! `igsync webhooks`: where Meta's webhook notifications stand (per account: subscribed or
//! refused, the last event received; refused notifications by reason; events waiting to be
//! processed) and the subscription of accounts.

use std::process::ExitCode;

use anyhow::bail;
use chrono::Utc;
use store::DynStore;

use crate::cli::WebhooksCommand;
use crate::config::Config;
use crate::db;

pub(crate) async fn run(cmd: WebhooksCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let store = db::open(&config.database_url).await?;
    match cmd {
        WebhooksCommand::Status { json } => status(&store, config, json).await,
        WebhooksCommand::Subscribe { account, all } => {
            subscribe(&store, config, account.as_deref(), all).await
        }
    }
}

async fn status(store: &DynStore, config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let accounts = store.account_list().await?;
    let states = store.webhook_account_status().await?;
    let refused = store.webhook_rejections().await?;
    let waiting = store.webhook_event_list(true, 0).await?.len();
    if json {
        let rows: Vec<_> = accounts
            .iter()
            .map(|a| {
                let s = states.iter().find(|s| s.account_id == a.id);
                serde_json::json!({
                    "id": a.id,
                    "username": a.username,
                    "ig_user_id": a.ig_user_id,
                    "subscribed_fields": s.map(|s| s.fields.clone()).unwrap_or_default(),
                    "subscription_error": s.and_then(|s| s.error.clone()),
                    "checked_at": s.and_then(|s| s.checked_at),
                    "last_event_at": s.and_then(|s| s.last_event_at),
                })
            })
            .collect();
        let refusals: Vec<_> = refused
            .iter()
            .map(
                |r| serde_json::json!({"reason": r.reason, "count": r.count, "last_at": r.last_at}),
            )
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "receiver_enabled": config.server.webhooks.is_some(),
                "accounts": rows,
                "refused": refusals,
                "events_waiting": waiting,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "receiver /webhooks/meta: {}",
        if config.server.webhooks.is_some() {
            "enabled"
        } else {
            "disabled (set webhooks.enabled, webhooks.verify_token and graph.app_secret)"
        }
    );
    println!(
        "{:<6} {:<24} {:<38} {:<26}",
        "ID", "ACCOUNT", "SUBSCRIBED", "LAST EVENT"
    );
    for a in &accounts {
        let s = states.iter().find(|s| s.account_id == a.id);
        let subscribed = match s {
            Some(s) if s.error.is_some() => "refused by Meta".to_string(),
            Some(s) if !s.fields.is_empty() => s.fields.join(","),
            _ => "no".to_string(),
        };
        let last = s.and_then(|s| s.last_event_at).map_or_else(
            || "never".to_string(),
            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        );
        println!(
            "{:<6} {:<24} {:<38} {:<26}",
            a.id,
            format!("@{}", a.username),
            subscribed,
            last
        );
        if let Some(e) = s.and_then(|s| s.error.as_deref()) {
            println!("       {e}");
        }
    }
    let failures: i64 = refused
        .iter()
        .filter(|r| r.reason.contains("signature"))
        .map(|r| r.count)
        .sum();
    println!("signature failures: {failures}");
    for r in &refused {
        println!(
            "  {}: {} (last {})",
            r.reason,
            r.count,
            r.last_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    println!("events waiting to be processed: {waiting}");
    Ok(ExitCode::SUCCESS)
}

async fn subscribe(
    store: &DynStore,
    config: &Config,
    account: Option<&str>,
    all: bool,
) -> anyhow::Result<ExitCode> {
    let targets = match (account, all) {
        (Some(a), false) => vec![super::resolve_account(store, a).await?],
        (None, true) => store.account_list().await?,
        _ => bail!("name an account (Instagram user id, @username or igsync id) or give --all"),
    };
    let cipher = db::cipher(config, store).await?;
    let graph = super::graph::clients(config)?;
    let mut failed = false;
    for account in targets {
        let Some(client) = graph.get(&sync::accounts::graph_login(account.login)) else {
            bail!("no Graph API client for {} login", account.login.as_str());
        };
        let Some(sealed) = &account.token else {
            eprintln!("@{}: no access token stored", account.username);
            failed = true;
            continue;
        };
        let token = cipher.decrypt(sealed)?;
        let acct = graph::AccountRef::new(
            account.ig_user_id.clone(),
            graph::AccessToken::new(token.expose()),
        );
        match sync::webhooks::subscribe(&**store, client, account.id, &acct, Utc::now()).await {
            Ok(()) => println!(
                "@{}: subscribed to {}",
                account.username,
                graph::WEBHOOK_FIELDS.join(", ")
            ),
            Err(e) => {
                eprintln!("@{}: {e}", account.username);
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
