//! `igsync workspaces` (workspaces and their accounts), `igsync share` (read-only report
//! links) and `igsync audit` (the log of every change), and the audit entries of the
//! command line's own changes.

use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::Utc;
use store::{AccountId, AuditVia, DynStore, NewAuditEntry, Store, Workspace};

use crate::cli::{AuditCommand, ShareCommand, WorkspacesCommand};
use crate::cmd::resolve_account;
use crate::config::Config;
use crate::db;

/// Writes a change made through the command line to the audit log: who is the local
/// user, from where the host.
pub(crate) async fn record(store: &dyn Store, action: &str, target: Option<String>) {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    let source = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty());
    let entry = NewAuditEntry {
        at: Utc::now(),
        actor: format!("cli:{user}"),
        via: AuditVia::Cli,
        source,
        action: action.to_owned(),
        target,
        outcome: None,
    };
    if let Err(e) = store.audit_insert(entry).await {
        tracing::warn!(error = %e, "could not write an audit entry");
    }
}

/// A workspace by name, or by id when no workspace has that name.
pub(crate) async fn find(store: &DynStore, arg: &str) -> anyhow::Result<Workspace> {
    let arg = arg.trim();
    let all = store.workspace_list().await?;
    if let Some(w) = all.iter().find(|w| w.name == arg) {
        return Ok(w.clone());
    }
    if let Ok(id) = arg.parse::<i64>()
        && let Some(w) = all.iter().find(|w| w.id == id)
    {
        return Ok(w.clone());
    }
    bail!("no workspace named {arg:?} (see `igsync workspaces list`)")
}

pub(crate) async fn run(cmd: WorkspacesCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let store = db::open(&config.database_url).await?;
    match cmd {
        WorkspacesCommand::Create { name } => {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
                bail!("a workspace name must be 1 to 100 printable characters");
            }
            let w = match store.workspace_insert(name, Utc::now()).await {
                Err(store::StoreError::Conflict { .. }) => {
                    bail!("a workspace named {name:?} exists already")
                }
                other => other.context("cannot create the workspace")?,
            };
            record(&*store, "workspaces create", Some(w.name.clone())).await;
            println!("created workspace {} ({})", w.name, w.id);
        }
        WorkspacesCommand::List { json } => {
            let all = store.workspace_list().await?;
            if json {
                let doc: Vec<_> = all
                    .iter()
                    .map(|w| {
                        serde_json::json!({
                            "id": w.id, "name": w.name, "created_at": w.created_at,
                            "accounts": w.accounts,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else if all.is_empty() {
                println!("no workspaces: create one with `igsync workspaces create --name NAME`");
            } else {
                println!(
                    "{:<6} {:<24} {:<17} ACCOUNTS",
                    "ID", "NAME", "CREATED (UTC)"
                );
                for w in all {
                    let accounts: Vec<String> =
                        w.accounts.iter().map(AccountId::to_string).collect();
                    println!(
                        "{:<6} {:<24} {:<17} {}",
                        w.id,
                        w.name,
                        w.created_at.format("%Y-%m-%d %H:%M"),
                        if accounts.is_empty() {
                            "none".to_owned()
                        } else {
                            accounts.join(", ")
                        }
                    );
                }
            }
        }
        WorkspacesCommand::AddAccount { workspace, account } => {
            let w = find(&store, &workspace).await?;
            let a = resolve_account(&store, &account).await?;
            let added = store.workspace_add_account(w.id, a.id, Utc::now()).await?;
            record(
                &*store,
                "workspaces add-account",
                Some(format!("{}:{}", w.name, a.id)),
            )
            .await;
            if added {
                println!("@{} ({}) is now in workspace {}", a.username, a.id, w.name);
            } else {
                println!(
                    "@{} ({}) was in workspace {} already",
                    a.username, a.id, w.name
                );
            }
        }
        WorkspacesCommand::RemoveAccount { workspace, account } => {
            let w = find(&store, &workspace).await?;
            let a = resolve_account(&store, &account).await?;
            if !store.workspace_remove_account(w.id, a.id).await? {
                bail!("@{} ({}) is not in workspace {}", a.username, a.id, w.name);
            }
            record(
                &*store,
                "workspaces remove-account",
                Some(format!("{}:{}", w.name, a.id)),
            )
            .await;
            println!("@{} ({}) left workspace {}", a.username, a.id, w.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn audit(cmd: AuditCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let store = db::open(&config.database_url).await?;
    let AuditCommand::List { limit, json } = cmd;
    let entries = store.audit_list(limit, None).await?;
    if json {
        for e in &entries {
            let e = &e.entry;
            println!(
                "{}",
                serde_json::json!({
                    "at": e.at, "actor": e.actor, "via": e.via.as_str(), "source": e.source,
                    "action": e.action, "target": e.target, "outcome": e.outcome,
                })
            );
        }
    } else if entries.is_empty() {
        println!("no changes recorded yet");
    } else {
        println!(
            "{:<20} {:<24} {:<9} {:<16} {:<40} {:<16} ANSWER",
            "AT (UTC)", "WHO", "VIA", "FROM", "WHAT", "ON"
        );
        for e in entries {
            let e = e.entry;
            println!(
                "{:<20} {:<24} {:<9} {:<16} {:<40} {:<16} {}",
                e.at.format("%Y-%m-%d %H:%M:%S"),
                e.actor,
                e.via.as_str(),
                e.source.as_deref().unwrap_or("-"),
                e.action,
                e.target.as_deref().unwrap_or("-"),
                e.outcome.map_or_else(|| "-".to_owned(), |s| s.to_string()),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `12h`, `7d`, `2w`: how long a link works.
fn parse_lifetime(text: &str) -> anyhow::Result<chrono::Duration> {
    let text = text.trim();
    let (n, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = n
        .parse()
        .ok()
        .filter(|n| *n > 0 && *n <= 3650)
        .with_context(|| format!("--expires must be like 12h, 7d or 2w, got {text:?}"))?;
    match unit {
        "h" => Ok(chrono::Duration::hours(n)),
        "d" => Ok(chrono::Duration::days(n)),
        "w" => Ok(chrono::Duration::weeks(n)),
        _ => bail!("--expires must be like 12h, 7d or 2w, got {text:?}"),
    }
}

pub(crate) async fn share(cmd: ShareCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let store = db::open(&config.database_url).await?;
    match cmd {
        ShareCommand::Create { account, expires } => {
            let lifetime = parse_lifetime(&expires)?;
            let a = resolve_account(&store, &account).await?;
            let now = Utc::now();
            let user = std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned());
            let (link, token) = server::share::create_share_link(
                &*store,
                &a,
                now + lifetime,
                &format!("cli:{user}"),
                now,
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot create the link: {e}"))?;
            record(&*store, "share create", Some(link.id.clone())).await;
            let base = config
                .server
                .public_url
                .as_deref()
                .unwrap_or("")
                .trim_end_matches('/');
            println!("{base}{}{}", server::share::SHARE_PATH, token.expose());
            eprintln!(
                "link {} shows @{}'s report until {} UTC; it is shown only this once{}",
                link.id,
                a.username,
                link.expires_at.format("%Y-%m-%d %H:%M"),
                if base.is_empty() {
                    " (set server.public_url for a whole address)"
                } else {
                    ""
                }
            );
        }
        ShareCommand::List => {
            let links = store.share_link_list().await?;
            if links.is_empty() {
                println!("no share links: create one with `igsync share create --account A`");
            }
            let now = Utc::now();
            for l in links {
                let state = if l.revoked_at.is_some() {
                    "revoked"
                } else if l.expires_at <= now {
                    "expired"
                } else {
                    "active"
                };
                println!(
                    "{:<18} account {:<6} until {} UTC  {:<8} by {}",
                    l.id,
                    l.account_id,
                    l.expires_at.format("%Y-%m-%d %H:%M"),
                    state,
                    l.created_by
                );
            }
        }
        ShareCommand::Revoke { id } => {
            if !store.share_link_revoke(id.trim(), Utc::now()).await? {
                bail!("no share link with id {id:?} (see `igsync share list`)");
            }
            record(&*store, "share revoke", Some(id.trim().to_owned())).await;
            println!("revoked share link {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
