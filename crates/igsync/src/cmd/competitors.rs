//! `igsync competitors`: track other professional accounts through Business Discovery with
//! one of our accounts on Facebook Login, list them with their latest counters and the
//! reason of their last failure, remove them, and take their snapshots now.

use std::process::ExitCode;

use anyhow::bail;
use chrono::Duration;
use store::{Competitor, CompetitorSnapshot, DynStore};

use crate::cli::CompetitorsCommand;
use crate::cmd::{engine, resolve_account};
use crate::config::Config;
use crate::db;

pub(crate) async fn run(cmd: CompetitorsCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let store = db::open(&config.database_url).await?;
    match cmd {
        CompetitorsCommand::Add { username, via } => {
            let engine = engine::build(config, store.clone()).await?;
            let account = resolve_account(&store, &via).await?;
            let c = engine
                .competitor_add(&username, account.id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "tracking @{} through @{}; snapshots daily (or now with `igsync competitors sync --wait`)",
                c.username, account.username
            );
        }
        CompetitorsCommand::List { json } => {
            let list = store.competitor_list().await?;
            return print_list(&store, &list, json).await;
        }
        CompetitorsCommand::Remove { username } => {
            let wanted = sync::normalize_username(&username).map_err(|e| anyhow::anyhow!(e))?;
            let Some(c) = store
                .competitor_list()
                .await?
                .into_iter()
                .find(|c| c.username == wanted)
            else {
                bail!("@{wanted} is not tracked (see `igsync competitors list`)");
            };
            store.competitor_remove(c.id).await?;
            println!("@{wanted} is no longer tracked; its history was removed");
        }
        CompetitorsCommand::Sync { wait } => {
            let engine = if wait {
                engine::build_for_workers(config, store.clone()).await?
            } else {
                engine::build(config, store.clone()).await?
            };
            let n = engine
                .competitor_sync()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if !wait {
                println!("{n} competitor snapshot(s) queued; a worker takes them");
                return Ok(ExitCode::SUCCESS);
            }
            engine
                .run_until_idle()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let list = store.competitor_list().await?;
            print_list(&store, &list, false).await?;
            if list
                .iter()
                .any(|c| c.status == store::CompetitorStatus::Error)
            {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn latest(store: &DynStore, c: &Competitor) -> anyhow::Result<Option<CompetitorSnapshot>> {
    let Some(at) = c.last_success_at else {
        return Ok(None);
    };
    Ok(store
        .competitor_snapshots(c.id, at - Duration::days(400), at)
        .await?
        .pop())
}

fn shown(v: Option<i64>) -> String {
    v.map_or_else(|| "—".to_string(), |n| n.to_string())
}

async fn print_list(store: &DynStore, list: &[Competitor], json: bool) -> anyhow::Result<ExitCode> {
    if json {
        let mut out = Vec::new();
        for c in list {
            let s = latest(store, c).await?;
            out.push(serde_json::json!({
                "id": c.id,
                "username": c.username,
                "via_account_id": c.via_account_id,
                "ig_user_id": c.ig_user_id,
                "name": c.name,
                "status": c.status.as_str(),
                "followers_count": s.as_ref().and_then(|s| s.followers_count),
                "follows_count": s.as_ref().and_then(|s| s.follows_count),
                "media_count": s.as_ref().and_then(|s| s.media_count),
                "captured_at": s.as_ref().map(|s| s.captured_at.to_rfc3339()),
                "last_reason": c.last_reason,
                "last_error": c.last_error,
                "last_error_at": c.last_error_at.map(|t| t.to_rfc3339()),
            }));
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    if list.is_empty() {
        println!("no competitors: track one with `igsync competitors add USERNAME --via ACCOUNT`");
    }
    for c in list {
        let s = latest(store, c).await?;
        let counters = match &s {
            Some(s) => format!(
                "{} followers, {} posts, captured {}",
                shown(s.followers_count),
                shown(s.media_count),
                s.captured_at.format("%Y-%m-%d %H:%M UTC")
            ),
            None => "no snapshot yet".to_string(),
        };
        let error = match (&c.status, &c.last_reason, &c.last_error) {
            (store::CompetitorStatus::Error, Some(r), Some(e)) => format!("; error ({r}): {e}"),
            _ => String::new(),
        };
        println!(
            "@{:<30} {:<7} {counters}{error}",
            c.username,
            c.status.as_str()
        );
    }
    Ok(ExitCode::SUCCESS)
}
