//! `igsync reports`: schedules that deliver an account's report of the last complete week
//! or month by email or to a webhook, and their delivery history.

use std::process::ExitCode;

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};
use store::{AccountId, DynStore, JobId, JobState};
use sync::{Engine, Every, ReportTarget};

use crate::cli::ReportsCommand;
use crate::cmd::{engine, resolve_account};
use crate::config::Config;
use crate::db;

pub(crate) async fn run(cmd: ReportsCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let store = db::open(&config.database_url).await?;
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
            let Some(format) = sync::ReportFormat::parse(&format) else {
                bail!("--format is html, csv or pdf");
            };
            let engine = engine::build(config, store.clone()).await?;
            let s = engine
                .report_schedule_create(account_id, every, &to, format)
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
        ReportsCommand::SendNow { id } => return send_now(config, &store, id).await,
    }
    Ok(ExitCode::SUCCESS)
}

/// A target for printing: webhook URLs without their path (often a credential).
fn shown(target: &str) -> String {
    ReportTarget::parse(target).map_or_else(|_| target.to_string(), |t| t.shown())
}

/// `igsync reports send-now ID`: queues the delivery of the last complete period for every
/// account of the schedule (the job a scheduled delivery runs, with its retries and
/// history), waits for it and prints the outcome, failed attempts as they happen.
async fn send_now(config: &Config, store: &DynStore, id: i64) -> anyhow::Result<ExitCode> {
    let engine = engine::build_for_workers(config, store.clone()).await?;
    let jobs = engine
        .report_send_now(id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if jobs.is_empty() {
        bail!("report schedule {id} covers no account: add one with `igsync accounts add`");
    }
    for (account, job) in &jobs {
        println!("account {account}: delivery queued as job {job}");
    }
    if !wait_for(&engine, &jobs).await? {
        eprintln!("interrupted: the deliveries stay queued and run with the next worker");
        return Ok(ExitCode::FAILURE);
    }
    let history = store.report_delivery_list(Some(id), 0).await?;
    let mut failed = false;
    for (account, job_id) in &jobs {
        let job = store
            .job_get(*job_id)
            .await?
            .with_context(|| format!("job {job_id} is gone"))?;
        let attempts = job.errors.len() + usize::from(job.state == JobState::Completed);
        let delivered = job
            .result
            .as_ref()
            .and_then(|r| r["delivered"].as_bool())
            .unwrap_or(false);
        let period = job
            .args_as::<sync::DeliverReportArgs>()
            .map(|a| format!("{}..{}", a.period_start, a.period_end))
            .unwrap_or_default();
        if job.state == JobState::Completed && delivered {
            println!("account {account}: report of {period} delivered ({attempts} attempt(s))");
            continue;
        }
        failed = true;
        let reason = job.errors.last().map_or_else(
            || format!("the job ended {}", job.state.as_str()),
            |e| e.error.clone(),
        );
        eprintln!(
            "account {account}: report of {period} not delivered after {attempts} attempt(s): {reason}"
        );
    }
    for d in history
        .iter()
        .filter(|d| jobs.iter().any(|(a, _)| *a == d.account_id))
    {
        let status = if d.delivered_at.is_some() {
            "delivered"
        } else {
            "failing"
        };
        println!(
            "history: account {} {}..{}: {status}, {} attempt(s) in all{}",
            d.account_id,
            d.period_start,
            d.period_end,
            d.attempts,
            d.last_error
                .as_deref()
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default()
        );
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Waits until every job has finished, printing each failed attempt. The work is done by
/// the live workers; when there is none, a worker runs in this process. False when
/// interrupted.
async fn wait_for(engine: &Engine, jobs: &[(AccountId, JobId)]) -> anyhow::Result<bool> {
    let store = engine.store().clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut embedded = None;
    let mut next_check = tokio::time::Instant::now();
    let mut reported: HashMap<JobId, usize> = HashMap::new();
    let finished = loop {
        if embedded.is_none() && tokio::time::Instant::now() >= next_check {
            next_check = tokio::time::Instant::now() + Duration::from_secs(1);
            if engine.live_workers().await?.is_empty() {
                let engine = engine.clone();
                let mut rx = stop_rx.clone();
                embedded = Some(tokio::spawn(async move {
                    engine
                        .run_worker(async move {
                            let _ = rx.wait_for(|stop| *stop).await;
                        })
                        .await
                }));
            }
        }
        let mut done = true;
        for (account, job_id) in jobs {
            let job = store
                .job_get(*job_id)
                .await?
                .with_context(|| format!("job {job_id} is gone"))?;
            let seen = reported.entry(*job_id).or_default();
            for e in job.errors.iter().skip(*seen) {
                let then = if job.state == JobState::Pending {
                    format!("; retrying at {}", job.run_at.format("%H:%M:%S UTC"))
                } else {
                    String::new()
                };
                eprintln!(
                    "account {account}: attempt {} failed: {}{then}",
                    e.attempt, e.error
                );
            }
            *seen = job.errors.len();
            done &= matches!(
                job.state,
                JobState::Completed | JobState::Failed | JobState::Cancelled
            );
        }
        if done {
            break true;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = super::run::shutdown_signal() => break false,
        }
    };
    let _ = stop_tx.send(true);
    if let Some(handle) = embedded {
        handle
            .await
            .context("the embedded worker stopped unexpectedly")??;
    }
    Ok(finished)
}
