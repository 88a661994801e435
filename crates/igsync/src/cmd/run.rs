//! `igsync sync`, `igsync worker`, `igsync history` and `igsync schedules`: the commands that
//! drive the sync engine.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use store::{Account, AccountId, DynStore, JobId, RunQuery, SyncRun};
use sync::{Engine, Enqueued, Plan, Scope, Step, StepState, SyncProgress, SyncState};

use crate::cli::{HistoryArgs, OnlyArg, PlanArg, SchedulesCommand, SyncArgs};
use crate::cmd::{engine, resolve_account};
use crate::config::Config;
use crate::db;

pub(crate) async fn sync(args: SyncArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let store = db::open(&config.database_url).await?;
    let engine = engine::build_for_workers(config, store.clone()).await?;
    let plan = match (args.only, args.plan) {
        (Some(only), _) => Plan::Only(match only {
            OnlyArg::Profile => Step::Profile,
            OnlyArg::Media => Step::Media,
            OnlyArg::MediaInsights => Step::MediaInsights,
            OnlyArg::AccountInsights => Step::AccountInsights,
            OnlyArg::Stories => Step::Stories,
            OnlyArg::Demographics => Step::Demographics,
        }),
        (None, PlanArg::Full) => Plan::Full,
        (None, PlanArg::Light) => Plan::Light,
    };
    let scope = Scope {
        media: args
            .media
            .iter()
            .map(|id| id.trim().to_string())
            .filter(|id| !id.is_empty())
            .collect(),
        since: args.since,
        until: args.until,
    };
    let accounts: Vec<Account> = match &args.account {
        Some(arg) => vec![resolve_account(&store, arg).await?],
        None => store.account_list().await?,
    };
    if accounts.is_empty() {
        bail!("no accounts registered: add one with `igsync accounts add`");
    }
    let mut requests = Vec::new();
    for account in &accounts {
        if args.all
            && matches!(
                account.status,
                store::SyncStatus::Paused | store::SyncStatus::NeedsReauth
            )
        {
            println!(
                "skipping @{} ({})",
                account.username,
                account.status.as_str()
            );
            continue;
        }
        let enqueued = engine
            .enqueue_scoped(account.id, plan, scope.clone(), "manual")
            .await
            .with_context(|| format!("cannot enqueue a sync of @{}", account.username))?;
        let verb = match enqueued.outcome {
            store::InsertOutcome::Inserted(_) => "enqueued",
            store::InsertOutcome::Merged(_) => "joined the sync already under way for",
        };
        if !args.wait {
            let narrowed = if scope.is_empty() {
                String::new()
            } else {
                format!(" ({})", scope.describe())
            };
            println!(
                "{verb} a {plan} sync{narrowed} of @{} (job {})",
                account.username,
                enqueued.job_id()
            );
        }
        requests.push((account.clone(), enqueued));
    }
    if !args.wait {
        return Ok(ExitCode::SUCCESS);
    }
    let failed = wait_with_progress(&engine, &requests, false).await?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Waits for the requested syncs, drawing one progress bar per account. The work is done by
/// the workers that are alive (seen within a lease, their process present); when there is
/// none — or the ones there were stop heartbeating — a worker runs in this process, and the
/// leases of dead workers' jobs are rescued as soon as they expire. With `stop_at_deferred`,
/// a sync deferred for more than a few seconds (Meta's rate limit) no longer holds the wait.
/// Returns true when one of them failed.
pub(crate) async fn wait_with_progress(
    engine: &Engine,
    requests: &[(Account, Enqueued)],
    stop_at_deferred: bool,
) -> anyhow::Result<bool> {
    let store = engine.store().clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut embedded: Option<tokio::task::JoinHandle<sync::Result<sync::WorkerStats>>> = None;
    let mut others_announced = false;
    let mut next_worker_check = tokio::time::Instant::now();
    let start_embedded = |reason: &str| {
        if !reason.is_empty() {
            eprintln!("{reason}");
        }
        let engine = engine.clone();
        let mut rx = stop_rx.clone();
        tokio::spawn(async move {
            engine
                .run_worker(async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                })
                .await
        })
    };

    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(8));
    let style =
        ProgressStyle::with_template("{prefix:<22} [{bar:24}] {pos}/{len} steps {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    let mut bars = HashMap::new();
    for (account, enqueued) in requests {
        let bar = multi.add(ProgressBar::new(6));
        bar.set_style(style.clone());
        bar.set_prefix(format!("@{}", truncate(&account.username, 20)));
        bar.set_message("queued");
        bars.insert(enqueued.job_id(), bar);
    }
    let mut last: HashMap<JobId, SyncProgress> = HashMap::new();
    let mut interrupted = false;
    loop {
        let now = tokio::time::Instant::now();
        if now >= next_worker_check {
            next_worker_check = now + WORKER_CHECK_EVERY;
            if embedded.is_none() {
                let live = engine.live_workers().await?;
                if live.is_empty() {
                    embedded = Some(start_embedded(if others_announced {
                        "the worker(s) stopped heartbeating: running the syncs in this process"
                    } else {
                        ""
                    }));
                } else if !others_announced {
                    others_announced = true;
                    multi.suspend(|| {
                        eprintln!(
                            "{} worker(s) running: waiting for them to do the work",
                            live.len()
                        )
                    });
                }
            } else {
                // A dead worker's jobs come back as soon as their lease expires.
                engine.rescue_lost_jobs().await?;
            }
        }
        let mut all_done = true;
        for (_, enqueued) in requests {
            let progress = engine.progress(enqueued.job_id()).await?;
            let bar = &bars[&enqueued.job_id()];
            draw(bar, &progress);
            all_done &= progress.is_finished()
                || (stop_at_deferred && deferred_until(&store, &progress).await?.is_some());
            last.insert(enqueued.job_id(), progress);
        }
        if all_done {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = shutdown_signal() => { interrupted = true; break; }
        }
    }
    let _ = stop_tx.send(true);
    if let Some(handle) = embedded {
        handle
            .await
            .context("the embedded worker stopped unexpectedly")??;
    }
    if interrupted {
        eprintln!("interrupted: unfinished syncs stay queued and resume with the next worker");
        return Ok(true);
    }
    let mut failed = false;
    for (account, enqueued) in requests {
        match &last[&enqueued.job_id()].state {
            SyncState::Succeeded => println!("@{}: sync succeeded", account.username),
            SyncState::Failed { error } => {
                failed = true;
                println!("@{}: sync FAILED: {error}", account.username);
            }
            SyncState::Skipped { reason } => println!("@{}: skipped: {reason}", account.username),
            SyncState::Cancelled => {
                failed = true;
                println!("@{}: sync cancelled", account.username);
            }
            SyncState::Queued { .. } | SyncState::Running => {
                if let Some(at) = deferred_until(&store, &last[&enqueued.job_id()]).await? {
                    println!(
                        "@{}: deferred by Meta's rate limit until {}",
                        account.username,
                        at.format("%H:%M UTC")
                    );
                }
            }
        }
    }
    Ok(failed)
}

/// How often the wait looks for live workers and rescues the jobs of dead ones.
const WORKER_CHECK_EVERY: Duration = Duration::from_secs(1);

/// When a sync waits for later than a few seconds from now (snoozed by a rate limit, before
/// it started or between two steps), the time it resumes.
pub(crate) async fn deferred_until(
    store: &DynStore,
    progress: &SyncProgress,
) -> anyhow::Result<Option<chrono::DateTime<Utc>>> {
    let soon = Utc::now() + chrono::Duration::seconds(5);
    match &progress.state {
        SyncState::Queued { run_at } => Ok((*run_at > soon).then_some(*run_at)),
        SyncState::Running => {
            let Some(run_id) = progress.run_id else {
                return Ok(None);
            };
            let active = store
                .job_list(store::JobQuery {
                    run_id: Some(run_id),
                    states: vec![store::JobState::Pending, store::JobState::Running],
                    limit: 10,
                    ..Default::default()
                })
                .await?;
            if active
                .jobs
                .iter()
                .any(|j| j.state == store::JobState::Running)
            {
                return Ok(None);
            }
            Ok(active
                .jobs
                .iter()
                .map(|j| j.run_at)
                .filter(|at| *at > soon)
                .min())
        }
        _ => Ok(None),
    }
}

fn draw(bar: &ProgressBar, progress: &SyncProgress) {
    let n = progress.steps.len().max(1) as u64;
    bar.set_length(n);
    let done = progress
        .steps
        .iter()
        .filter(|s| matches!(s.status, StepState::Succeeded | StepState::Skipped))
        .count() as u64;
    bar.set_position(done);
    let message = match &progress.state {
        SyncState::Queued { run_at } if *run_at > Utc::now() + chrono::Duration::seconds(2) => {
            format!(
                "waiting until {} (rate limit)",
                run_at.format("%H:%M:%S UTC")
            )
        }
        SyncState::Queued { .. } => "queued".to_string(),
        SyncState::Running => match progress
            .steps
            .iter()
            .find(|s| s.status == StepState::Running)
        {
            Some(step) => match (step.items_done, step.items_total) {
                (Some(d), Some(t)) if t > 0 => {
                    format!("{}: {d} of {t} {}", step.step.name(), step.step.items())
                }
                _ => step.step.name().to_string(),
            },
            None => "starting".to_string(),
        },
        SyncState::Succeeded => "done".to_string(),
        SyncState::Failed { error } => format!("failed: {}", truncate(error, 60)),
        SyncState::Cancelled => "cancelled".to_string(),
        SyncState::Skipped { reason } => format!("skipped: {reason}"),
    };
    bar.set_message(message);
    if progress.is_finished() && !bar.is_finished() {
        bar.finish();
    }
}

pub(crate) async fn worker(config: &Config) -> anyhow::Result<ExitCode> {
    let store = db::open(&config.database_url).await?;
    let engine = engine::build_for_workers(config, store).await?;
    engine
        .install_schedules()
        .await
        .context("cannot install the schedules")?;
    tracing::info!(
        concurrency = config.sync.concurrency,
        database = %crate::config::redact_url(&config.database_url),
        "worker started; SIGTERM or Ctrl-C drains it"
    );
    let stats = engine.run_worker(shutdown_signal()).await?;
    tracing::info!(
        completed = stats.completed,
        failed = stats.failed,
        retried = stats.retried,
        "worker stopped"
    );
    Ok(ExitCode::SUCCESS)
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

pub(crate) async fn history(args: HistoryArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let store = db::open(&config.database_url).await?;
    let account = match &args.account {
        Some(arg) => Some(resolve_account(&store, arg).await?),
        None => None,
    };
    let runs = store
        .sync_runs_list(RunQuery {
            account_id: account.as_ref().map(|a| a.id),
            limit: args.limit.clamp(1, 10_000),
            ..Default::default()
        })
        .await?;
    let names = account_names(&store).await?;
    if args.json {
        let mut out = Vec::new();
        for run in &runs {
            let steps = if args.steps {
                steps_json(&store, run).await?
            } else {
                serde_json::Value::Null
            };
            out.push(serde_json::json!({
                "id": run.id,
                "account_id": run.account_id,
                "username": names.get(&run.account_id),
                "plan": run.plan,
                "trigger": run.trigger,
                "status": run.status.as_str(),
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "duration_ms": run.finished_at.map(|f| (f - run.started_at).num_milliseconds()),
                "api_calls": run.api_calls,
                "rate_limit_units": run.rate_limit_units,
                "rows_written": run.rows_written,
                "error": run.error,
                "steps": steps,
            }));
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        println!("no syncs yet: run `igsync sync --all --wait`");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>6}  {:<18} {:<16} {:<10} {:<17} {:>8} {:>7} {:>7} {:>8}  ERROR",
        "RUN", "ACCOUNT", "PLAN", "STATUS", "STARTED (UTC)", "SECONDS", "CALLS", "UNITS", "ROWS"
    );
    for run in &runs {
        let secs = seconds(run.started_at, run.finished_at);
        println!(
            "{:>6}  {:<18} {:<16} {:<10} {:<17} {:>8} {:>7} {:>7} {:>8}  {}",
            run.id,
            truncate(
                names
                    .get(&run.account_id)
                    .map(String::as_str)
                    .unwrap_or("?"),
                18
            ),
            run.plan,
            run.status.as_str(),
            run.started_at.format("%Y-%m-%d %H:%M"),
            secs,
            run.api_calls,
            run.rate_limit_units,
            run.rows_written,
            run.error.as_deref().unwrap_or("")
        );
        if args.steps
            && let Some((_, steps)) = store.sync_run_get(run.id).await?
        {
            for s in steps {
                let complete = match (s.expected, s.stored, s.complete) {
                    (Some(e), Some(st), Some(c)) => {
                        format!("{st}/{e} {}", if c { "complete" } else { "INCOMPLETE" })
                    }
                    _ => String::new(),
                };
                // Display only: a step without a readable scope shows none.
                let scope: sync::Scope =
                    serde_json::from_value(s.detail["scope"].clone()).unwrap_or_default();
                let scope = if scope.is_empty() {
                    String::new()
                } else {
                    format!("[{}] ", scope.describe())
                };
                println!(
                    "          {:<17} {:<10} {:>8}s attempts {:<2} calls {:<5} units {:<6} rows {:<7} {scope}{} {}",
                    s.step,
                    s.status.as_str(),
                    seconds(s.started_at, s.finished_at),
                    s.attempts,
                    s.api_calls,
                    s.rate_limit_units,
                    s.rows_written,
                    complete,
                    s.error.as_deref().unwrap_or("")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn steps_json(store: &DynStore, run: &SyncRun) -> anyhow::Result<serde_json::Value> {
    let Some((_, steps)) = store.sync_run_get(run.id).await? else {
        return Ok(serde_json::Value::Null);
    };
    Ok(serde_json::Value::Array(
        steps
            .into_iter()
            .map(|s| {
                serde_json::json!({
                    "step": s.step,
                    "status": s.status.as_str(),
                    "attempts": s.attempts,
                    "started_at": s.started_at,
                    "finished_at": s.finished_at,
                    "duration_ms": s.finished_at.map(|f| (f - s.started_at).num_milliseconds()),
                    "api_calls": s.api_calls,
                    "rate_limit_units": s.rate_limit_units,
                    "rows_written": s.rows_written,
                    "expected": s.expected,
                    "stored": s.stored,
                    "complete": s.complete,
                    "error": s.error,
                    "detail": s.detail,
                })
            })
            .collect(),
    ))
}

async fn account_names(store: &DynStore) -> anyhow::Result<HashMap<AccountId, String>> {
    Ok(store
        .account_list()
        .await?
        .into_iter()
        .map(|a| (a.id, format!("@{}", a.username)))
        .collect())
}

pub(crate) async fn schedules(cmd: SchedulesCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let store = db::open(&config.database_url).await?;
    let engine = engine::build(config, store.clone()).await?;
    engine.install_schedules().await?;
    let scheduler = engine.scheduler();
    match cmd {
        SchedulesCommand::List => {
            println!(
                "{:<16} {:<16} {:<7} {:<20} {:<20}",
                "NAME", "CRON (UTC)", "STATE", "LAST RUN", "NEXT RUN"
            );
            for s in store.schedule_list().await? {
                println!(
                    "{:<16} {:<16} {:<7} {:<20} {:<20}",
                    s.def.name,
                    s.def.cron,
                    if s.paused { "paused" } else { "active" },
                    s.last_run_at
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_else(|| "never".into()),
                    if s.paused {
                        "-".to_string()
                    } else {
                        s.next_run_at.format("%Y-%m-%d %H:%M:%S").to_string()
                    },
                );
            }
        }
        SchedulesCommand::Pause { name } => {
            scheduler.pause(&name).await?;
            println!("paused schedule {name}");
        }
        SchedulesCommand::Resume { name } => {
            scheduler.resume(&name).await?;
            println!("resumed schedule {name}");
        }
        SchedulesCommand::Run { name } => {
            let outcome = scheduler.run_now(&name).await?;
            println!(
                "fired schedule {name} (job {}); a worker runs it",
                outcome.id()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Seconds from `start` to `end` with one decimal, or `-` while unfinished.
fn seconds(start: chrono::DateTime<Utc>, end: Option<chrono::DateTime<Utc>>) -> String {
    end.map(|f| format!("{:.1}", (f - start).num_milliseconds() as f64 / 1000.0))
        .unwrap_or_else(|| "-".into())
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}
