//! The sync chain. A sync is one `sync_account` job: it marks the account `syncing`, takes a
//! slot of the global start limiter, opens the run and runs the plan's stages one after
//! another in the same attempt — the profile step, then the media step with every later
//! step beside it (`Plan::stage`), all their requests sharing the account's lanes. Each
//! step's row records what it did as it ends; a retried attempt reopens its run and runs
//! only the steps left. The last stage sets the account `idle` and closes the run; a step
//! failing for good stops the chain and marks the account `failed` with the step and the
//! reason; a rejected token marks it `needs_reauth` at once; a rate limit snoozes the job
//! until access is regained.
//!
//! One job per sync keeps the queue's own work (a claim, a completion, their bookkeeping)
//! to one per sync. Chains queued by earlier versions went on as one job per stage
//! (`sync_profile`, `sync_media`, …): those kinds still run, each stage completing by
//! inserting the next one's job.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Duration, Utc};
use graph::{AccountRef, GraphClient};
use store::{
    Account, AccountId, ApiCallsDelta, ApiUsage, CatalogDecisionRecord, JobId, NewAlert, NewJob,
    NewSyncRun, RateDecision, RunFinish, RunId, RunQuery, RunStatus, Severity, StatusChange,
    StepStatus, SyncStatus, SyncStep,
};

use crate::args::{StepArgs, SyncAccountArgs};
use crate::engine::Deps;
use crate::history::DailySeries;
use crate::jobs::{PRIORITY_STEP, alerts, chain_key, client_for, raise_alert, token_for};
use crate::plan::SYNC_QUEUE;
use crate::plan::{Plan, Scope, Step};
use crate::steps::{self, Lanes, StepCtx, StepError, StepReport};
use ::queue::{JobContext, JobHandler, JobOutcome, QueueError};
use futures_util::future::join_all;

/// Name of the global start limiter in the store.
const START_LIMITER: &str = "account_sync_starts";

/// The attempts of chain jobs running in this process, by job: what a timed-out attempt had
/// spent before it started, so the calls it made still reach its step's counters.
type Running = std::sync::Mutex<HashMap<JobId, AttemptStart>>;

fn running(map: &Running) -> std::sync::MutexGuard<'_, HashMap<JobId, AttemptStart>> {
    map.lock().unwrap_or_else(|e| e.into_inner())
}

/// `SyncAllInstagramData(account)`: the whole sync of one account.
pub(crate) struct SyncAccount {
    deps: Arc<Deps>,
    running: Running,
}

impl SyncAccount {
    pub(crate) fn new(deps: Arc<Deps>) -> SyncAccount {
        SyncAccount {
            deps,
            running: Default::default(),
        }
    }
}

#[async_trait::async_trait]
impl JobHandler for SyncAccount {
    fn kind(&self) -> &str {
        crate::plan::KIND_SYNC_ACCOUNT
    }

    async fn run(&self, ctx: JobContext) -> JobOutcome {
        match self.start(&ctx).await {
            Ok(outcome) => outcome,
            Err(e) => JobOutcome::retry(e.to_string()),
        }
    }

    async fn on_timeout(&self, ctx: &JobContext) {
        timed_out(&self.deps, &self.running, ctx).await;
    }

    async fn on_failed(&self, ctx: &JobContext, error: &str) {
        let Some(account_id) = ctx.job.account_id else {
            return;
        };
        let store = &self.deps.store;
        let plan = ctx.args::<SyncAccountArgs>().ok().map(|args| args.plan);
        // The attempt that opened the run started before it was linked to the job.
        let run = match (ctx.job.run_id, plan) {
            (Some(run_id), _) => Some(run_id),
            (None, Some(plan)) => open_run(&self.deps, account_id, plan, ctx.job.created_at)
                .await
                .ok()
                .flatten(),
            (None, None) => None,
        };
        if let (Some(plan), Some(run_id)) = (plan, run) {
            // The stage that failed: the first with a step not done; its lead's row says it.
            let rows = rows_of(&self.deps, run_id).await;
            let steps = plan.steps();
            let mut position = 0;
            while position < steps.len() {
                let stage = plan.stage(position);
                if steps[stage.clone()].iter().any(|s| !is_done(&rows, *s)) {
                    break;
                }
                position = stage.end;
            }
            let position = position.min(steps.len().saturating_sub(1));
            if let Some(step) = steps.get(position) {
                let spent = spent_of(rows.get(step.name()));
                chain_failed(
                    &self.deps, ctx, account_id, run_id, *step, position, spent, error,
                )
                .await;
                return;
            }
        }
        let _ = store
            .account_status_set(
                account_id,
                StatusChange {
                    status: SyncStatus::Failed,
                    error: Some(format!("the sync could not start: {error}")),
                    synced_at: None,
                    only_if: vec![SyncStatus::Syncing],
                    now: ctx.now(),
                },
            )
            .await;
    }
}

/// The running run a sync job opened in an earlier attempt (a retry or a snoozed job goes on
/// with it).
async fn open_run(
    deps: &Deps,
    account_id: AccountId,
    plan: Plan,
    job_created_at: DateTime<Utc>,
) -> store::Result<Option<RunId>> {
    Ok(deps
        .store
        .sync_runs_list(RunQuery {
            account_id: Some(account_id),
            accounts: None,
            status: Some(RunStatus::Running),
            limit: 5,
            before_id: None,
        })
        .await?
        .into_iter()
        .find(|r| r.plan == plan.as_str() && r.started_at >= job_created_at)
        .map(|r| r.id))
}

impl SyncAccount {
    async fn start(&self, ctx: &JobContext) -> store::Result<JobOutcome> {
        let deps = &self.deps;
        let store = &deps.store;
        let now = ctx.now();
        let args: SyncAccountArgs = match ctx.args() {
            Ok(args) => args,
            Err(e) => return Ok(JobOutcome::discard(e.to_string())),
        };
        let (plan, trigger, scope) = (args.plan, args.trigger, args.scope.unwrap_or_default());
        let Some(account_id) = ctx.job.account_id else {
            return Ok(JobOutcome::discard("a sync job must name its account"));
        };
        let Some(account) = store.account_get(account_id).await? else {
            return Ok(JobOutcome::discard(format!(
                "account {account_id} no longer exists"
            )));
        };
        // A retried or snoozed job goes on with the run its earlier attempt opened and
        // linked to it (it took its start slot then); one queued by an earlier version,
        // which did not link it, finds it by its account and plan.
        let reopened = match ctx.job.run_id {
            Some(run_id) => Some(run_id),
            None if ctx.job.attempt > 1 => {
                open_run(deps, account_id, plan, ctx.job.created_at).await?
            }
            None => None,
        };
        if let Some(reason) = skip_reason(&account) {
            if let Some(run_id) = reopened {
                // The run stops before the first step its earlier attempts left.
                let rows = rows_of(deps, run_id).await;
                let steps = plan.steps();
                let next = steps.iter().copied().find(|s| !is_done(&rows, *s));
                return stopped(deps, &account, run_id, next.unwrap_or(steps[0]), now).await;
            }
            return Ok(JobOutcome::Complete {
                result: Some(serde_json::json!({ "skipped": reason })),
                next: Vec::new(),
            });
        }
        let per_minute = deps.settings.syncs_per_minute;
        if per_minute > 0 && reopened.is_none() {
            match store
                .rate_limit_acquire(START_LIMITER, per_minute, Duration::minutes(1), now)
                .await?
            {
                RateDecision::Granted => {}
                RateDecision::RetryAt(at) => {
                    return Ok(JobOutcome::Snooze {
                        until: at.max(now + Duration::milliseconds(100)),
                        reason: format!(
                            "at most {per_minute} account syncs start per minute (all workers)"
                        ),
                    });
                }
            }
        }
        // The account is marked syncing (unless it was paused meanwhile) and, on a first
        // attempt, its run opened, in one write.
        let mark = StatusChange {
            status: SyncStatus::Syncing,
            error: account.last_sync_error.clone(),
            synced_at: None,
            only_if: vec![SyncStatus::Idle, SyncStatus::Failed, SyncStatus::Syncing],
            now,
        };
        let run_id = match reopened {
            Some(run_id) => store
                .account_status_set(account_id, mark)
                .await?
                .then_some(run_id),
            None => {
                let run = NewSyncRun {
                    account_id,
                    plan: plan.as_str().to_string(),
                    trigger: trigger.clone(),
                    steps: plan.steps().iter().map(|s| s.name().to_string()).collect(),
                    started_at: now,
                    job_id: Some(ctx.job.id),
                };
                store.sync_run_open(mark, run).await?
            }
        };
        let Some(run_id) = run_id else {
            return Ok(JobOutcome::Complete {
                result: Some(serde_json::json!({ "skipped": "the account was paused" })),
                next: Vec::new(),
            });
        };
        tracing::info!(account = account_id.get(), run = run_id.get(), plan = %plan, trigger = %trigger, "sync started");
        let client = match client_for(deps, &account) {
            Ok(c) => c,
            Err(e) => return Ok(JobOutcome::discard(e)),
        };
        let (run_started_at, rows) = match reopened {
            Some(run_id) => run_so_far(deps, run_id).await,
            None => (Some(now), HashMap::new()),
        };
        let chain = Chain::new(
            deps,
            &self.running,
            ctx,
            (run_id, plan, &scope),
            (run_started_at, rows),
            (client, &account),
        )
        .await?;
        let steps = plan.steps();
        let mut account = account;
        let mut position = 0;
        let outcome = loop {
            let end = match chain.stage(&account, position).await {
                Ok(end) => end,
                Err(e) => break JobOutcome::retry(e.to_string()),
            };
            match end {
                StageEnd::Stop(outcome) => break outcome,
                StageEnd::Done { after, result } if after >= steps.len() => {
                    break match finish(deps, &account, run_id, ctx.now(), &chain).await {
                        Ok(()) => JobOutcome::Complete {
                            result: Some(result),
                            next: Vec::new(),
                        },
                        Err(e) => JobOutcome::retry(e.to_string()),
                    };
                }
                StageEnd::Done { after, .. } => {
                    position = after;
                    // The next stage sees the account as the last left it (the profile
                    // step stores its counters), and stops if it was paused meanwhile.
                    account = match store.account_get(account_id).await {
                        Ok(Some(account)) => account,
                        Ok(None) => {
                            break JobOutcome::discard(format!(
                                "account {account_id} no longer exists"
                            ));
                        }
                        Err(e) => break JobOutcome::retry(e.to_string()),
                    };
                    if skip_reason(&account).is_some() {
                        if let Err(e) = chain.flush().await {
                            break JobOutcome::retry(e.to_string());
                        }
                        break match stopped(deps, &account, run_id, steps[after], ctx.now()).await {
                            Ok(outcome) => outcome,
                            Err(e) => JobOutcome::retry(e.to_string()),
                        };
                    }
                }
            }
        };
        // The rows of a stage the chain did not go on from (an error between two stages).
        if let Err(e) = chain.flush().await {
            tracing::warn!(account = account_id.get(), run = run_id.get(), error = %e, "could not record a finished stage's steps");
        }
        record_usage(deps, client, &account, &chain.before).await;
        Ok(outcome)
    }
}

fn skip_reason(account: &Account) -> Option<&'static str> {
    match account.status {
        SyncStatus::Paused => Some("the account is paused"),
        SyncStatus::NeedsReauth => Some("the account needs re-authorization"),
        _ => None,
    }
}

/// The chain stops before `step` because the account was paused or needs authorizing again:
/// the run is closed (cancelled or failed) and the job ends.
async fn stopped(
    deps: &Deps,
    account: &Account,
    run_id: RunId,
    step: Step,
    now: DateTime<Utc>,
) -> store::Result<JobOutcome> {
    let reason = skip_reason(account).unwrap_or("the account is not active");
    let status = if account.status == SyncStatus::Paused {
        RunStatus::Cancelled
    } else {
        RunStatus::Failed
    };
    deps.store
        .sync_run_finish(RunFinish {
            run_id,
            status,
            error: Some(format!("stopped before {step}: {reason}")),
            finished_at: now,
        })
        .await?;
    Ok(JobOutcome::Complete {
        result: Some(serde_json::json!({ "stopped": reason })),
        next: Vec::new(),
    })
}

/// The job of step `position` of a chain (the shape of chains queued by earlier versions).
#[allow(clippy::too_many_arguments)]
fn step_job(
    deps: &Deps,
    account_id: AccountId,
    plan: Plan,
    scope: &Scope,
    trigger: &str,
    run_id: RunId,
    position: usize,
    now: DateTime<Utc>,
) -> Result<NewJob, QueueError> {
    let args = StepArgs {
        plan,
        trigger: trigger.to_string(),
        position,
        scope: (!scope.is_empty()).then(|| scope.clone()),
    };
    Ok(NewJob {
        queue: SYNC_QUEUE.to_string(),
        account_id: Some(account_id),
        unique_key: Some(chain_key(account_id, plan, scope)),
        run_id: Some(run_id),
        run_at: now,
        max_attempts: deps.settings.max_attempts as i32,
        priority: PRIORITY_STEP,
        ..args.new_job(now)?
    })
}

/// One stage of a chain queued by an earlier version as its own job: it runs the stage,
/// then inserts the next stage's job (or ends the chain).
pub(crate) struct StepJob {
    deps: Arc<Deps>,
    step: Step,
    running: Running,
}

impl StepJob {
    pub(crate) fn new(deps: Arc<Deps>, step: Step) -> StepJob {
        StepJob {
            deps,
            step,
            running: Default::default(),
        }
    }
}

/// Where a running attempt of a stage started from.
struct AttemptStart {
    account: Account,
    run_id: RunId,
    step: Step,
    position: usize,
    /// The account's call counters when the stage started (its step row's cost) and when
    /// the job did (the account's usage the job records).
    before: graph::AccountCallStats,
    job_before: graph::AccountCallStats,
    spent: Spent,
}

/// The step row's counters so far (a retried or resumed step adds to them).
#[derive(Default, Clone, Copy)]
struct Spent {
    calls: i64,
    units: i64,
    rows: i64,
    started_at: Option<DateTime<Utc>>,
}

#[async_trait::async_trait]
impl JobHandler for StepJob {
    fn kind(&self) -> &str {
        self.step.kind()
    }

    async fn run(&self, ctx: JobContext) -> JobOutcome {
        match self.execute(&ctx).await {
            Ok(outcome) => outcome,
            Err(e) => JobOutcome::retry(e.to_string()),
        }
    }

    async fn on_timeout(&self, ctx: &JobContext) {
        timed_out(&self.deps, &self.running, ctx).await;
    }

    async fn on_failed(&self, ctx: &JobContext, error: &str) {
        let (Some(account_id), Some(run_id)) = (ctx.job.account_id, ctx.job.run_id) else {
            return;
        };
        // A job whose arguments did not decode failed at its step's place in the full plan.
        let position = match ctx.args::<StepArgs>() {
            Ok(args) => args.position,
            Err(_) => Step::ALL.iter().position(|s| *s == self.step).unwrap_or(0),
        };
        let spent = spent_of(rows_of(&self.deps, run_id).await.get(self.step.name()));
        chain_failed(
            &self.deps, ctx, account_id, run_id, self.step, position, spent, error,
        )
        .await;
    }
}

/// An attempt of a chain's job ran out of time: its step's row keeps the calls it made.
async fn timed_out(deps: &Deps, map: &Running, ctx: &JobContext) {
    let Some(start) = running(map).remove(&ctx.job.id) else {
        return;
    };
    let Ok(client) = client_for(deps, &start.account) else {
        return;
    };
    record_usage(deps, client, &start.account, &start.job_before).await;
    let cost = cost_since(client, &start.account, &start.before);
    let spent = start.spent;
    let started_at = spent.started_at.unwrap_or_else(|| ctx.now());
    let record = SyncStep {
        run_id: start.run_id,
        step: start.step.name().to_string(),
        position: start.position as i32,
        status: StepStatus::Running,
        attempts: ctx.job.attempt,
        started_at,
        finished_at: None,
        api_calls: spent.calls + cost.0,
        rate_limit_units: spent.units + cost.1,
        rows_written: spent.rows,
        expected: None,
        stored: None,
        complete: None,
        error: Some(format!(
            "attempt {} timed out after {}s",
            ctx.job.attempt,
            deps.settings.job_timeout.as_secs_f64()
        )),
        detail: serde_json::json!({}),
    };
    if let Err(e) = deps.store.sync_steps_record(vec![record]).await {
        tracing::warn!(job = ctx.job.id.get(), error = %e, "could not record the calls of a timed-out attempt");
    }
}

/// A chain's job failed for good at `step`: its row, the run and the account say so, and a
/// `sync_failed` alert is raised (not for an account that needs authorizing again, which
/// has its own).
#[allow(clippy::too_many_arguments)]
async fn chain_failed(
    deps: &Deps,
    ctx: &JobContext,
    account_id: AccountId,
    run_id: RunId,
    step: Step,
    position: usize,
    spent: Spent,
    error: &str,
) {
    let store = &deps.store;
    let now = ctx.now();
    let account = store.account_get(account_id).await.ok().flatten();
    let _ = store
        .sync_steps_record(vec![SyncStep {
            run_id,
            step: step.name().to_string(),
            position: position as i32,
            status: StepStatus::Failed,
            attempts: ctx.job.attempt,
            started_at: spent.started_at.unwrap_or(now),
            finished_at: Some(now),
            api_calls: spent.calls,
            rate_limit_units: spent.units,
            rows_written: spent.rows,
            expected: None,
            stored: None,
            complete: Some(false),
            error: Some(error.to_string()),
            detail: serde_json::json!({}),
        }])
        .await;
    let message = format!("step {} failed: {error}", step.name());
    let _ = store
        .sync_run_finish(RunFinish {
            run_id,
            status: RunStatus::Failed,
            error: Some(message.clone()),
            finished_at: now,
        })
        .await;
    if account
        .as_ref()
        .is_some_and(|a| a.status == SyncStatus::NeedsReauth)
    {
        return;
    }
    let changed = store
        .account_status_set(
            account_id,
            StatusChange {
                status: SyncStatus::Failed,
                error: Some(message.clone()),
                synced_at: None,
                only_if: vec![SyncStatus::Syncing],
                now,
            },
        )
        .await
        .unwrap_or(false);
    if changed {
        let username = account.map(|a| a.username).unwrap_or_default();
        raise_alert(
            deps,
            NewAlert {
                account_id: Some(account_id),
                kind: "sync_failed".to_string(),
                severity: Severity::Warning,
                dedup_key: format!("sync_failed:{run_id}"),
                title: format!("Sync of @{username} failed"),
                message: message.clone(),
                payload: serde_json::json!({
                    "run_id": run_id,
                    "step": step.name(),
                    "error": error,
                }),
                created_at: now,
            },
        )
        .await;
    }
}

/// The run's step rows so far, by step name.
async fn rows_of(deps: &Deps, run_id: RunId) -> HashMap<String, SyncStep> {
    run_so_far(deps, run_id).await.1
}

/// When the run started (None when it cannot be read) and its step rows so far.
async fn run_so_far(
    deps: &Deps,
    run_id: RunId,
) -> (Option<DateTime<Utc>>, HashMap<String, SyncStep>) {
    match deps.store.sync_run_get(run_id).await {
        Ok(Some((run, steps))) => (
            Some(run.started_at),
            steps.into_iter().map(|s| (s.step.clone(), s)).collect(),
        ),
        _ => (None, HashMap::new()),
    }
}

/// Whether the run's rows say `step` is done (succeeded or skipped).
fn is_done(rows: &HashMap<String, SyncStep>, step: Step) -> bool {
    rows.get(step.name())
        .is_some_and(|r| matches!(r.status, StepStatus::Succeeded | StepStatus::Skipped))
}

impl StepJob {
    async fn execute(&self, ctx: &JobContext) -> store::Result<JobOutcome> {
        let deps = &self.deps;
        let store = &deps.store;
        let now = ctx.now();
        let args: StepArgs = match ctx.args() {
            Ok(args) => args,
            Err(e) => return Ok(JobOutcome::discard(e.to_string())),
        };
        let (plan, trigger, position) = (args.plan, args.trigger, args.position);
        let scope = args.scope.unwrap_or_default();
        let (Some(account_id), Some(run_id)) = (ctx.job.account_id, ctx.job.run_id) else {
            return Ok(JobOutcome::discard(
                "a step job must name its account and run",
            ));
        };
        if plan.steps().get(position) != Some(&self.step) {
            return Ok(JobOutcome::discard(format!(
                "step {} is not at position {position} of the {plan} plan",
                self.step
            )));
        }
        let Some(account) = store.account_get(account_id).await? else {
            return Ok(JobOutcome::discard(format!(
                "account {account_id} no longer exists"
            )));
        };
        if skip_reason(&account).is_some() {
            return stopped(deps, &account, run_id, self.step, now).await;
        }
        let client = match client_for(deps, &account) {
            Ok(c) => c,
            Err(e) => return Ok(JobOutcome::discard(e)),
        };
        // A chain of an earlier version writes each stage's "running" row as before.
        let rows = rows_of(deps, run_id).await;
        let chain = Chain::new(
            deps,
            &self.running,
            ctx,
            (run_id, plan, &scope),
            (None, rows),
            (client, &account),
        )
        .await?;
        let end = chain.stage(&account, position).await;
        record_usage(deps, client, &account, &chain.before).await;
        match end? {
            StageEnd::Stop(outcome) => Ok(outcome),
            StageEnd::Done { after, result } if after < plan.steps().len() => Ok({
                chain.flush().await?;
                match step_job(deps, account_id, plan, &scope, &trigger, run_id, after, now) {
                    Ok(job) => JobOutcome::Complete {
                        result: Some(result),
                        next: vec![job],
                    },
                    Err(e) => JobOutcome::discard(e.to_string()),
                }
            }),
            StageEnd::Done { result, .. } => {
                finish(deps, &account, run_id, ctx.now(), &chain).await?;
                Ok(JobOutcome::Complete {
                    result: Some(result),
                    next: Vec::new(),
                })
            }
        }
    }
}

/// What one job of a chain runs against: its run, plan and what the run did so far.
struct Chain<'a> {
    deps: &'a Deps,
    running: &'a Running,
    job: &'a JobContext,
    run_id: RunId,
    plan: Plan,
    scope: &'a Scope,
    /// The run's step rows when the job started (a retry skips the steps done).
    rows: HashMap<String, SyncStep>,
    /// When the run started, as stored with it: the first stage's start (see
    /// [`Chain::stage`]). None for a chain queued by an earlier version.
    run_started_at: Option<DateTime<Utc>>,
    /// The metric catalog's stored decisions, as the worker last read them.
    catalog: Arc<Vec<CatalogDecisionRecord>>,
    /// The account's call counters when the job started: the job records the account's
    /// usage since then once, as it ends (or times out).
    before: graph::AccountCallStats,
    /// Whether the run read the account insights (in this job or an earlier attempt): the
    /// alerts after it check the daily series only then.
    days_read: AtomicBool,
    /// A finished stage's step rows, written with the run's next write: the next stage's
    /// "running" row, its end, or the run's close ([`Chain::defer`]).
    pending: std::sync::Mutex<Vec<SyncStep>>,
}

/// How a stage of the chain ended.
enum StageEnd {
    /// Every step of the stage is done: the chain goes on at `after` (the plan's length
    /// when it is over).
    Done {
        after: usize,
        result: serde_json::Value,
    },
    /// The job ends here with this outcome (a retry, a snooze, a failure).
    Stop(JobOutcome),
}

impl<'a> Chain<'a> {
    /// The chain a job runs: it takes the metric catalog's decisions (as the worker last
    /// read them), and the account's call counters as the job starts.
    async fn new(
        deps: &'a Deps,
        running: &'a Running,
        job: &'a JobContext,
        (run_id, plan, scope): (RunId, Plan, &'a Scope),
        (run_started_at, rows): (Option<DateTime<Utc>>, HashMap<String, SyncStep>),
        (client, account): (&GraphClient, &Account),
    ) -> store::Result<Chain<'a>> {
        let days_read = rows
            .get(Step::AccountInsights.name())
            .is_some_and(|row| row.status == StepStatus::Succeeded);
        Ok(Chain {
            deps,
            running,
            job,
            run_id,
            plan,
            scope,
            days_read: AtomicBool::new(days_read),
            pending: std::sync::Mutex::new(Vec::new()),
            rows,
            run_started_at,
            catalog: deps.catalog.get(deps.store.as_ref(), job.now()).await?,
            before: client.account_stats(&account.ig_user_id),
        })
    }

    /// Keeps a stage's finished rows to write with the run's next write: the stage after it
    /// starts at once (its "running" row), and the last stage's rows close the run. A
    /// worker that dies in between leaves the stage without rows, so the retry runs it
    /// again, stamping its captures alike.
    fn defer(&self, rows: Vec<SyncStep>) {
        self.pending_rows().extend(rows);
    }

    /// The rows kept by [`Chain::defer`], now to be written by the caller.
    fn take_pending(&self) -> Vec<SyncStep> {
        std::mem::take(&mut *self.pending_rows())
    }

    fn pending_rows(&self) -> std::sync::MutexGuard<'_, Vec<SyncStep>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `rows` after the rows kept by [`Chain::defer`], in one batch.
    async fn record(&self, rows: Vec<SyncStep>) -> store::Result<()> {
        let mut all = self.take_pending();
        all.extend(rows);
        self.deps.store.sync_steps_record(all).await
    }

    /// Writes the rows kept by [`Chain::defer`] when the chain goes no further in this job.
    async fn flush(&self) -> store::Result<()> {
        if self.pending_rows().is_empty() {
            return Ok(());
        }
        self.record(Vec::new()).await
    }

    /// Whether the run read the account's daily series, for the alerts after it.
    fn daily_series(&self) -> DailySeries {
        if self.days_read.load(Ordering::Relaxed) {
            DailySeries::Read
        } else {
            DailySeries::Unchanged
        }
    }

    /// Runs the stage that starts at `position`: its steps not done yet, side by side.
    async fn stage(&self, account: &Account, position: usize) -> store::Result<StageEnd> {
        let deps = self.deps;
        let store = &deps.store;
        let ctx = self.job;
        let now = ctx.now();
        let (plan, run_id, scope) = (self.plan, self.run_id, self.scope);
        let lead = plan.steps()[position];
        let client = match client_for(deps, account) {
            Ok(c) => c,
            Err(e) => return Ok(StageEnd::Stop(JobOutcome::discard(e))),
        };
        let token = match token_for(deps, account) {
            Ok(t) => t,
            Err(e) => return Ok(StageEnd::Stop(JobOutcome::discard(e))),
        };
        let account_id = account.id;
        let rows = &self.rows;
        let done = |step: Step| is_done(rows, step);
        let steps = plan.steps();
        // The steps the stage runs side by side (the media stage), less those an earlier
        // attempt finished; its first step is the lead, whose row carries the stage's cost.
        let members: Vec<(usize, Step)> = plan
            .stage(position)
            .map(|p| (p, steps[p]))
            .filter(|(_, step)| !done(*step))
            .collect();
        // The position after this stage: when it ends done, the chain goes on there.
        let after = plan.stage(position).end;
        if members.is_empty() {
            // Done already (beside the media step, or by an attempt whose outcome was lost).
            return Ok(StageEnd::Done {
                after,
                result: serde_json::json!({
                    "run_id": run_id,
                    "step": lead.name(),
                    "done_before": true,
                }),
            });
        }
        let lead_row = rows.get(lead.name()).cloned();
        let spent = spent_of(lead_row.as_ref());
        // The run's first stage starts with the run: every attempt finds that time in the
        // run itself, so the stage needs no "running" row to stamp its captures alike (it
        // ends within a request or two; its row is written as it ends). A later stage's
        // "running" row is its start, which a retry finds.
        let run_start = self.run_started_at.filter(|_| position == 0);
        let started_at = spent.started_at.or(run_start).unwrap_or(now);
        let lead_runs = !done(lead);
        let record = |status: StepStatus,
                      report: Option<&StepReport>,
                      error: Option<String>,
                      spent: Spent| SyncStep {
            run_id,
            step: lead.name().to_string(),
            position: position as i32,
            status,
            attempts: ctx.job.attempt,
            started_at,
            finished_at: matches!(
                status,
                StepStatus::Succeeded | StepStatus::Failed | StepStatus::Skipped
            )
            .then_some(ctx.now()),
            api_calls: spent.calls,
            rate_limit_units: spent.units,
            rows_written: spent.rows,
            expected: report.and_then(|r| r.expected),
            stored: report.and_then(|r| r.stored),
            complete: report.and_then(|r| r.complete),
            error,
            detail: {
                let mut detail = report
                    .map(|r| r.detail.clone())
                    .unwrap_or_else(|| serde_json::json!({}));
                if !scope.is_empty() && detail.is_object() {
                    detail["scope"] = scope.to_json();
                }
                detail
            },
        };
        // The lead's row as finished by an earlier attempt, with this attempt's counters.
        let lead_again = |error: Option<String>, spent: Spent| SyncStep {
            attempts: ctx.job.attempt,
            api_calls: spent.calls,
            rate_limit_units: spent.units,
            rows_written: spent.rows,
            error,
            ..lead_row
                .clone()
                .unwrap_or_else(|| record(StepStatus::Running, None, None, spent))
        };
        if lead_runs && (lead_row.is_some() || run_start.is_none()) {
            // With the rows the stage before left to write (see [`Chain::defer`]).
            self.record(vec![record(StepStatus::Running, None, None, spent)])
                .await?;
        }

        let acct = AccountRef::new(account.ig_user_id.clone(), token);
        let before = client.account_stats(&account.ig_user_id);
        let lanes = Lanes::new(deps.settings.account_concurrency);
        // The steps beside the media step that need its listing: media insights reads it as
        // it comes; demographics' version probe waits for it to be stored.
        let link = members.iter().any(|(_, s)| *s == Step::Media).then(|| {
            crate::steps::media::Link::new(members.iter().any(|(_, s)| *s == Step::MediaInsights))
        });
        let contexts: Vec<StepCtx<'_>> = members
            .iter()
            .enumerate()
            .map(|(i, (at, step))| StepCtx {
                deps,
                job: ctx,
                account,
                acct: acct.clone(),
                client,
                plan,
                scope,
                step: *step,
                position: *at,
                steps_in_plan: steps.len(),
                // Every attempt of a step stamps its snapshots with the time the job's step
                // first started: an attempt whose writes were committed but whose outcome
                // was lost (killed worker, full disk, database gone at completion) is
                // re-run and rewrites the same rows instead of adding a second capture.
                now: started_at,
                lanes: &lanes,
                // The job's progress is its stage's first step's (the lead's while it runs).
                reports_progress: i == 0,
                link: link.as_ref(),
                catalog: &self.catalog,
            })
            .collect();
        running(self.running).insert(
            ctx.job.id,
            AttemptStart {
                account: account.clone(),
                run_id,
                step: lead,
                position,
                before,
                job_before: self.before,
                // A timed-out attempt's row keeps the stage's start, which the retry reuses.
                spent: Spent {
                    started_at: Some(started_at),
                    ..spent
                },
            },
        );
        let results = join_all(contexts.iter().map(steps::run)).await;
        running(self.running).remove(&ctx.job.id);
        let read_days = members.iter().zip(&results).any(|((_, step), result)| {
            *step == Step::AccountInsights && result.as_ref().is_ok_and(|r| !r.skipped)
        });
        if read_days {
            self.days_read.store(true, Ordering::Relaxed);
        }
        let cost = cost_since(client, account, &before);
        // The lead's row counts the rows the lead wrote (each other step's row, its own).
        let rows_written: i64 = members
            .iter()
            .zip(&results)
            .filter(|((_, step), _)| *step == lead)
            .map(|(_, r)| match r {
                Ok(r) => r.rows_written as i64,
                Err(StepError::Incomplete { report, .. }) => report.rows_written as i64,
                Err(_) => 0,
            })
            .sum();
        let spent = Spent {
            calls: spent.calls + cost.0,
            units: spent.units + cost.1,
            rows: spent.rows + rows_written,
            started_at: Some(started_at),
        };

        // The other steps' rows: each finished one with what it did; its requests are
        // counted on the lead's row (they shared the account's lanes, and the client
        // counts per account). One that did not finish leaves no row: the stage's error
        // and the lead's row say why, and the next attempt runs it again. They are written
        // with the lead's row, in one transaction, whatever the stage's outcome.
        let mut rows: Vec<SyncStep> = Vec::with_capacity(members.len());
        let mut lead_result = None;
        let mut failures: Vec<(Step, StepError)> = Vec::new();
        for ((_, step), result) in members.iter().zip(results) {
            if *step == lead {
                lead_result = Some(result);
                continue;
            }
            match result {
                Ok(report) => {
                    let status = if report.skipped {
                        StepStatus::Skipped
                    } else {
                        StepStatus::Succeeded
                    };
                    let mut row = record(status, Some(&report), None, Spent::default());
                    row.step = step.name().to_string();
                    row.position = steps.iter().position(|s| s == step).unwrap_or(position) as i32;
                    row.rows_written = report.rows_written as i64;
                    if let Some(detail) = row.detail.as_object_mut() {
                        detail.insert(
                            "requests_counted_with".into(),
                            serde_json::Value::from(lead.name()),
                        );
                    }
                    rows.push(row);
                }
                Err(e) => failures.push((*step, e)),
            }
        }
        let lead_report = match lead_result {
            Some(Ok(report)) => Some(report),
            Some(Err(e)) => {
                failures.insert(0, (lead, e));
                None
            }
            None => None,
        };
        // The stage's outcome is its gravest failure: a rejected token, then a rate limit,
        // then what a retry may mend, then what it cannot.
        failures.sort_by_key(|(_, e)| match e {
            StepError::Graph(e) if e.needs_reauth() => 0,
            StepError::Graph(e) if e.is_rate_limited() => 1,
            StepError::Graph(e) if e.is_retryable() => 2,
            StepError::Store(_) | StepError::Incomplete { .. } => 2,
            StepError::Graph(_) => 3,
        });
        // The lead's row: its own outcome when it ran, the stage's error while one is left.
        let lead_record = |error: Option<String>, spent: Spent| match &lead_report {
            Some(report) => record(
                if report.skipped {
                    StepStatus::Skipped
                } else {
                    StepStatus::Succeeded
                },
                Some(report),
                error,
                spent,
            ),
            None if lead_runs => record(StepStatus::Running, None, error, spent),
            None => lead_again(error, spent),
        };
        let Some((failed_step, failure)) = failures.into_iter().next() else {
            rows.push(lead_record(None, spent));
            self.defer(rows);
            return Ok(StageEnd::Done {
                after,
                result: serde_json::json!({
                    "run_id": run_id,
                    "step": lead.name(),
                    "rows_written": spent.rows,
                    "complete": lead_report.as_ref().and_then(|r| r.complete),
                }),
            });
        };
        // A failure of a step beside the lead names that step.
        let named = |text: String| {
            if failed_step == lead {
                text
            } else {
                format!("{failed_step}: {text}")
            }
        };
        match failure {
            StepError::Graph(e) if e.needs_reauth() => {
                // The job's error is the reason; the run and the account say which step
                // failed, in the words `on_failed` uses for every failed step.
                let reason =
                    format!("Meta rejected the access token ({e}); authorize the account again");
                let message = format!("step {failed_step} failed: {reason}");
                let mut row = lead_record(Some(named(e.to_string())), spent);
                row.status = StepStatus::Failed;
                row.finished_at = Some(ctx.now());
                rows.push(row);
                self.record(rows).await?;
                store
                    .account_status_set(
                        account_id,
                        StatusChange {
                            status: SyncStatus::NeedsReauth,
                            error: Some(message.clone()),
                            synced_at: None,
                            only_if: Vec::new(),
                            now: ctx.now(),
                        },
                    )
                    .await?;
                store
                    .sync_run_finish(RunFinish {
                        run_id,
                        status: RunStatus::Failed,
                        error: Some(message.clone()),
                        finished_at: ctx.now(),
                    })
                    .await?;
                raise_alert(
                    deps,
                    NewAlert {
                        account_id: Some(account_id),
                        kind: "needs_reauth".to_string(),
                        severity: Severity::Critical,
                        dedup_key: format!("needs_reauth:{account_id}:{run_id}"),
                        title: format!("@{} needs to be authorized again", account.username),
                        message: message.clone(),
                        payload: serde_json::json!({ "run_id": run_id, "code": e.code() }),
                        created_at: ctx.now(),
                    },
                )
                .await;
                tracing::error!(account = account_id.get(), error = %e, "token rejected: account needs re-authorization");
                Ok(StageEnd::Stop(JobOutcome::discard(reason)))
            }
            StepError::Graph(e) if e.is_rate_limited() => {
                let wait = e
                    .retry_after()
                    .and_then(|d| Duration::from_std(d).ok())
                    .unwrap_or(Duration::minutes(5))
                    .max(Duration::seconds(1));
                let until = ctx.now() + wait;
                let reason = named(format!("rate limited by Meta ({e}); resuming at {until}"));
                rows.push(lead_record(Some(reason.clone()), spent));
                self.record(rows).await?;
                tracing::warn!(account = account_id.get(), step = %failed_step, until = %until, "rate limited: chain snoozed");
                Ok(StageEnd::Stop(JobOutcome::Snooze { until, reason }))
            }
            StepError::Graph(e) if e.is_retryable() => {
                let message = named(format!("Graph API: {e}"));
                rows.push(lead_record(Some(message.clone()), spent));
                self.record(rows).await?;
                Ok(StageEnd::Stop(JobOutcome::retry(message)))
            }
            StepError::Graph(e) => {
                self.record(rows).await?;
                Ok(StageEnd::Stop(JobOutcome::discard(named(format!(
                    "Graph API: {e}"
                )))))
            }
            StepError::Store(e) => {
                self.record(rows).await?;
                Ok(StageEnd::Stop(JobOutcome::retry(named(e.to_string()))))
            }
            StepError::Incomplete { report, reason } => {
                let message = named(format!("incomplete: {reason}"));
                let row = if failed_step == lead {
                    record(
                        StepStatus::Running,
                        Some(&report),
                        Some(message.clone()),
                        spent,
                    )
                } else {
                    lead_record(Some(message.clone()), spent)
                };
                rows.push(row);
                self.record(rows).await?;
                Ok(StageEnd::Stop(JobOutcome::retry(message)))
            }
        }
    }
}

/// The chain succeeded: the account is idle and synced, the run closed with its last step
/// rows, alerts raised.
async fn finish(
    deps: &Deps,
    account: &Account,
    run_id: RunId,
    now: DateTime<Utc>,
    chain: &Chain<'_>,
) -> store::Result<()> {
    let days = chain.daily_series();
    deps.store
        .sync_run_close(
            account.id,
            StatusChange {
                status: SyncStatus::Idle,
                error: None,
                synced_at: Some(now),
                only_if: vec![SyncStatus::Syncing],
                now,
            },
            RunFinish {
                run_id,
                status: RunStatus::Succeeded,
                error: None,
                finished_at: now,
            },
            chain.take_pending(),
        )
        .await?;
    tracing::info!(
        account = account.id.get(),
        run = run_id.get(),
        "sync finished"
    );
    alerts::after_sync(deps, account, run_id, now, days).await;
    Ok(())
}

/// The Graph API requests and rate-limit units the account spent since `before`.
fn cost_since(
    client: &GraphClient,
    account: &Account,
    before: &graph::AccountCallStats,
) -> (i64, i64) {
    let spent = client.account_stats(&account.ig_user_id).since(before);
    (spent.http_requests as i64, spent.units as i64)
}

/// Records the account's Graph API usage since `before` (calls, units, errors; the usage
/// headers), once per job, and returns the (requests, units) spent.
async fn record_usage(
    deps: &Deps,
    client: &GraphClient,
    account: &Account,
    before: &graph::AccountCallStats,
) -> (i64, i64) {
    let now = deps.clock.now();
    let spent = client.account_stats(&account.ig_user_id).since(before);
    let (requests, units, errors) = (
        spent.http_requests as i64,
        spent.units as i64,
        spent.errors as i64,
    );
    let mut calls = Vec::new();
    if requests + units + errors > 0 {
        calls.push(ApiCallsDelta {
            account_id: account.id,
            day: now.date_naive(),
            requests,
            units,
            errors,
        });
    }
    let usage = client.usage_of(&account.ig_user_id);
    let mut records = Vec::new();
    let mut highest: Option<u32> = None;
    if let Some(level) = usage
        .accounts
        .get(&account.ig_user_id)
        .and_then(|u| u.usage.as_ref())
    {
        highest = Some(level.percent());
        records.push(usage_record(Some(account.id), level));
    }
    if let Some(level) = &usage.app {
        records.push(usage_record(None, level));
    }
    if let Err(e) = deps.store.api_spend_record(calls, records).await {
        tracing::debug!(error = %e, "could not record API calls and usage");
    }
    if let Some(pct) = highest
        && pct >= deps.settings.alerts.usage_pressure_percent
    {
        raise_alert(
            deps,
            NewAlert {
                account_id: Some(account.id),
                kind: "rate_limit_pressure".to_string(),
                severity: Severity::Warning,
                dedup_key: format!("rate_limit_pressure:{}:{}", account.id, now.date_naive()),
                title: format!(
                    "@{} is using {pct}% of its Graph API budget",
                    account.username
                ),
                message: format!(
                    "Meta reports {pct}% of the rate-limit budget used for @{}; syncs slow \
                         down and pause when it reaches 100%.",
                    account.username
                ),
                payload: serde_json::json!({ "usage_percent": pct }),
                created_at: now,
            },
        )
        .await;
    }
    (requests, units)
}

/// A step row's counters so far (a retried or resumed step adds to them).
fn spent_of(row: Option<&SyncStep>) -> Spent {
    row.map(|s| Spent {
        calls: s.api_calls,
        units: s.rate_limit_units,
        rows: s.rows_written,
        started_at: Some(s.started_at),
    })
    .unwrap_or_default()
}

fn usage_record(account_id: Option<AccountId>, level: &graph::UsageLevel) -> ApiUsage {
    let regain = level.regain_access_in.as_secs();
    ApiUsage {
        account_id,
        observed_at: level.observed_at,
        usage_pct: level.percent() as f64,
        call_count_pct: level.call_count as f64,
        total_cputime_pct: level.total_cputime as f64,
        total_time_pct: level.total_time as f64,
        regain_access_minutes: (regain > 0).then(|| regain.div_ceil(60) as i64),
    }
}
