//! `igsync reports`: schedules that deliver an account's report of the last complete week
//! or month by email or to a webhook, and their delivery history.

use std::process::ExitCode;

use anyhow::bail;
use sync::{Every, ReportTarget};

use crate::cli::ReportsCommand;
use crate::cmd::{engine, resolve_account};
use crate::config::Config;
use crate::db;

pub(crate) async fn run(cmd: ReportsCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let store = db::open(&config.database_url).await?;
    let engine = engine::build(config, store.clone()).await?;
    match cmd {
        ReportsCommand::Schedule {
            account,
            all,
            every,
            to,
            format,
        } => {
            let account_id = match (&account, all) {
                (Some(a), _) => Some(resolve_account(&store, a).await?.id),
                (None, true) => None,
                (None, false) => bail!("name an account with --account, or pass --all"),
            };
            let Some(every) = Every::parse(&every) else {
                bail!("--every is weekly or monthly");
            };
            let s = engine
                .report_schedule_create(account_id, every, &to, format == "csv")
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "report schedule {} created: {} {} report to {}; delivered within the hour after each period ends",
                s.id,
                every.as_str(),
                s.schedule.format,
                shown(&s.schedule.target)
            );
        }
        ReportsCommand::List { json } => {
            let schedules = store.report_schedule_list().await?;
            let deliveries = store.report_delivery_list(None, 0).await?;
            if json {
                let value: Vec<_> = schedules
                    .iter()
                    .map(|s| {
                        let history: Vec<_> = deliveries
                            .iter()
                            .filter(|d| d.schedule_id == s.id)
                            .map(|d| {
                                serde_json::json!({
                                    "account_id": d.account_id,
                                    "period_start": d.period_start.to_string(),
                                    "period_end": d.period_end.to_string(),
                                    "status": if d.delivered_at.is_some() { "delivered" } else { "failing" },
                                    "attempts": d.attempts,
                                    "last_error": d.last_error,
                                    "last_attempt_at": d.last_attempt_at.to_rfc3339(),
                                    "delivered_at": d.delivered_at.map(|t| t.to_rfc3339()),
                                })
                            })
                            .collect();
                        serde_json::json!({
                            "id": s.id,
                            "account_id": s.schedule.account_id,
                            "every": s.schedule.every,
                            "to": shown(&s.schedule.target),
                            "format": s.schedule.format,
                            "created_at": s.schedule.created_at.to_rfc3339(),
                            "deliveries": history,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&value)?);
                return Ok(ExitCode::SUCCESS);
            }
            if schedules.is_empty() {
                println!(
                    "no report schedules: create one with `igsync reports schedule --account A --every weekly --to EMAIL`"
                );
            }
            for s in &schedules {
                let account = s
                    .schedule
                    .account_id
                    .map_or_else(|| "all accounts".to_string(), |a| format!("account {a}"));
                println!(
                    "{:>4}  {} {} report of {account} to {}",
                    s.id,
                    s.schedule.every,
                    s.schedule.format,
                    shown(&s.schedule.target)
                );
                for d in deliveries.iter().filter(|d| d.schedule_id == s.id) {
                    let status = match d.delivered_at {
                        Some(at) => format!("delivered {}", at.format("%Y-%m-%d %H:%M UTC")),
                        None => "not delivered yet".to_string(),
                    };
                    let error = d
                        .last_error
                        .as_deref()
                        .map(|e| format!("; last error: {e}"))
                        .unwrap_or_default();
                    println!(
                        "        account {} {}..{}: {status}, {} attempt(s){error}",
                        d.account_id, d.period_start, d.period_end, d.attempts
                    );
                }
            }
        }
        ReportsCommand::Remove { id } => {
            if !store.report_schedule_remove(id).await? {
                bail!("report schedule {id} does not exist (see `igsync reports list`)");
            }
            println!("report schedule {id} removed with its delivery history");
        }
        ReportsCommand::SendNow { id } => {
            let results = engine
                .report_send_now(id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut failed = false;
            for (account, result) in results {
                match result {
                    Ok(d) => println!(
                        "account {account}: report of {}..{} delivered",
                        d.period_start, d.period_end
                    ),
                    Err(e) => {
                        failed = true;
                        eprintln!("account {account}: not delivered: {e}");
                    }
                }
            }
            if failed {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A target for printing: webhook URLs without their path (often a credential).
fn shown(target: &str) -> String {
    ReportTarget::parse(target).map_or_else(|_| target.to_string(), |t| t.shown())
}
