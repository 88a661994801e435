//! The sync chain: the `sync_account` orchestrator (marks the account `syncing`, takes a
//! slot of the global start limiter, opens the run, inserts the first step) and one job per
//! step, each completing by inserting the next in the same transaction. The media step's
//! job of a full or light sync runs the later steps beside it (`Plan::stage`), all their
//! requests sharing the account's lanes, and the chain goes on after them once they are all
//! done (a failure beside the lead retries or fails the job as a whole; a retry runs the steps
//! left). The last step sets the account `idle` and closes the run; a step failing for good
//! stops the chain and marks the account `failed` with the step and the reason; a rejected
//! token marks it `needs_reauth` at once; a rate limit snoozes the chain until access is
//! regained.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use graph::{AccountRef, GraphClient};
use store::{
    Account, AccountId, ApiCallsDelta, ApiUsage, JobId, NewAlert, NewJob, NewSyncRun, RateDecision,
    RunFinish, RunId, RunQuery, RunStatus, Severity, StatusChange, StepStatus, SyncStatus,
    SyncStep,
};

use crate::args::{StepArgs, SyncAccountArgs};
use crate::engine::Deps;
use crate::jobs::{PRIORITY_STEP, alerts, chain_key, client_for, raise_alert, token_for};
use crate::plan::SYNC_QUEUE;
use crate::plan::{Plan, Scope, Step};
use crate::steps::{self, Lanes, StepCtx, StepError, StepReport};
use ::queue::{JobContext, JobHandler, JobOutcome, QueueError};
use futures_util::future::join_all;

/// Name of the global start limiter in the store.
const START_LIMITER: &str = "account_sync_starts";

/// `SyncAllInstagramData(account)`.
pub(crate) struct SyncAccount {
    pub(crate) deps: Arc<Deps>,
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

    async fn on_failed(&self, ctx: &JobContext, error: &str) {
        let Some(account_id) = ctx.job.account_id else {
            return;
        };
        let _ = self
            .deps
            .store
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
        if let Some(reason) = skip_reason(&account) {
            return Ok(JobOutcome::Complete {
                result: Some(serde_json::json!({ "skipped": reason })),
                next: Vec::new(),
            });
        }
        let per_minute = deps.settings.syncs_per_minute;
        if per_minute > 0 {
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
        let marked = store
            .account_status_set(
                account_id,
                StatusChange {
                    status: SyncStatus::Syncing,
                    error: account.last_sync_error.clone(),
                    synced_at: None,
                    only_if: vec![SyncStatus::Idle, SyncStatus::Failed, SyncStatus::Syncing],
                    now,
                },
            )
            .await?;
        if !marked {
            return Ok(JobOutcome::Complete {
                result: Some(serde_json::json!({ "skipped": "the account was paused" })),
                next: Vec::new(),
            });
        }
        // A retried orchestrator reuses the run its earlier attempt opened.
        let existing = store
            .sync_runs_list(RunQuery {
                account_id: Some(account_id),
                accounts: None,
                status: Some(RunStatus::Running),
                limit: 5,
                before_id: None,
            })
            .await?
            .into_iter()
            .find(|r| r.plan == plan.as_str() && r.started_at >= ctx.job.created_at);
        let run_id = match existing {
            Some(run) => run.id,
            None => {
                store
                    .sync_run_create(NewSyncRun {
                        account_id,
                        plan: plan.as_str().to_string(),
                        trigger: trigger.clone(),
                        steps: plan.steps().iter().map(|s| s.name().to_string()).collect(),
                        started_at: now,
                    })
                    .await?
            }
        };
        tracing::info!(account = account_id.get(), run = run_id.get(), plan = %plan, trigger = %trigger, "sync started");
        let first = match step_job(deps, account_id, plan, &scope, &trigger, run_id, 0, now) {
            Ok(job) => job,
            Err(e) => return Ok(JobOutcome::discard(e.to_string())),
        };
        Ok(JobOutcome::Complete {
            result: Some(serde_json::json!({ "run_id": run_id })),
            next: vec![first],
        })
    }
}

fn skip_reason(account: &Account) -> Option<&'static str> {
    match account.status {
        SyncStatus::Paused => Some("the account is paused"),
        SyncStatus::NeedsReauth => Some("the account needs re-authorization"),
        _ => None,
    }
}

/// The job of step `position` of a chain.
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

/// One step of the chain.
pub(crate) struct StepJob {
    pub(crate) deps: Arc<Deps>,
    pub(crate) step: Step,
    /// The attempts running in this process, by job: what a timed-out attempt had spent
    /// before it started, so the calls it made still reach the step's counters.
    pub(crate) running: std::sync::Mutex<HashMap<JobId, AttemptStart>>,
}

impl StepJob {
    pub(crate) fn new(deps: Arc<Deps>, step: Step) -> StepJob {
        StepJob {
            deps,
            step,
            running: Default::default(),
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, AttemptStart>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where a running attempt of a step started from.
pub(crate) struct AttemptStart {
    account: Account,
    run_id: RunId,
    position: usize,
    before: graph::CallStats,
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
        let Some(start) = self.running().remove(&ctx.job.id) else {
            return;
        };
        let Ok(client) = client_for(&self.deps, &start.account) else {
            return;
        };
        let cost = self
            .account_usage(client, &start.account, &start.before)
            .await;
        let spent = start.spent;
        let started_at = spent.started_at.unwrap_or_else(|| ctx.now());
        let record = SyncStep {
            run_id: start.run_id,
            step: self.step.name().to_string(),
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
                self.deps.settings.job_timeout.as_secs_f64()
            )),
            detail: serde_json::json!({}),
        };
        if let Err(e) = self.deps.store.sync_step_record(record).await {
            tracing::warn!(job = ctx.job.id.get(), error = %e, "could not record the calls of a timed-out attempt");
        }
    }

    async fn on_failed(&self, ctx: &JobContext, error: &str) {
        let (Some(account_id), Some(run_id)) = (ctx.job.account_id, ctx.job.run_id) else {
            return;
        };
        let store = &self.deps.store;
        let now = ctx.now();
        let account = store.account_get(account_id).await.ok().flatten();
        // A job whose arguments did not decode failed at its step's place in the full plan.
        let position = match ctx.args::<StepArgs>() {
            Ok(args) => args.position,
            Err(_) => Step::ALL.iter().position(|s| *s == self.step).unwrap_or(0),
        } as i32;
        let spent = self.spent(run_id).await;
        let _ = store
            .sync_step_record(SyncStep {
                run_id,
                step: self.step.name().to_string(),
                position,
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
            })
            .await;
        let message = format!("step {} failed: {error}", self.step.name());
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
                &self.deps,
                NewAlert {
                    account_id: Some(account_id),
                    kind: "sync_failed".to_string(),
                    severity: Severity::Warning,
                    dedup_key: format!("sync_failed:{run_id}"),
                    title: format!("Sync of @{username} failed"),
                    message: message.clone(),
                    payload: serde_json::json!({
                        "run_id": run_id,
                        "step": self.step.name(),
                        "error": error,
                    }),
                    created_at: now,
                },
            )
            .await;
        }
    }
}

impl StepJob {
    /// The run's step rows so far, by step name.
    async fn rows(&self, run_id: RunId) -> HashMap<String, SyncStep> {
        match self.deps.store.sync_run_get(run_id).await {
            Ok(Some((_, steps))) => steps.into_iter().map(|s| (s.step.clone(), s)).collect(),
            _ => HashMap::new(),
        }
    }

    async fn spent(&self, run_id: RunId) -> Spent {
        spent_of(self.rows(run_id).await.get(self.step.name()))
    }

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
        if let Some(reason) = skip_reason(&account) {
            let status = if account.status == SyncStatus::Paused {
                RunStatus::Cancelled
            } else {
                RunStatus::Failed
            };
            store
                .sync_run_finish(RunFinish {
                    run_id,
                    status,
                    error: Some(format!("stopped before {}: {reason}", self.step)),
                    finished_at: now,
                })
                .await?;
            return Ok(JobOutcome::Complete {
                result: Some(serde_json::json!({ "stopped": reason })),
                next: Vec::new(),
            });
        }
        let client = match client_for(deps, &account) {
            Ok(c) => c,
            Err(e) => return Ok(JobOutcome::discard(e)),
        };
        let token = match token_for(deps, &account) {
            Ok(t) => t,
            Err(e) => return Ok(JobOutcome::discard(e)),
        };
        let rows = self.rows(run_id).await;
        let done = |step: Step| {
            rows.get(step.name())
                .is_some_and(|r| matches!(r.status, StepStatus::Succeeded | StepStatus::Skipped))
        };
        let steps = plan.steps();
        // The steps this job runs side by side (the media stage), less those an earlier
        // attempt finished; the job's own step is the lead, whose row carries the job's cost.
        let members: Vec<(usize, Step)> = plan
            .stage(position)
            .map(|p| (p, steps[p]))
            .filter(|(_, step)| !done(*step))
            .collect();
        // The position after this job's stage: when the stage ends done, the chain goes on
        // there, with no job for the steps that ran beside this one.
        let after = plan.stage(position).end;
        let next_job = |at: DateTime<Utc>| {
            step_job(deps, account_id, plan, &scope, &trigger, run_id, after, at)
        };
        if members.is_empty() {
            // Done already (beside the media step, or by an attempt whose outcome was lost).
            let result = Some(serde_json::json!({
                "run_id": run_id,
                "step": self.step.name(),
                "done_before": true,
            }));
            if after < steps.len() {
                return Ok(match next_job(ctx.now()) {
                    Ok(job) => JobOutcome::Complete {
                        result,
                        next: vec![job],
                    },
                    Err(e) => JobOutcome::discard(e.to_string()),
                });
            }
            self.finish(&account, run_id, ctx.now()).await?;
            return Ok(JobOutcome::Complete {
                result,
                next: Vec::new(),
            });
        }
        let lead_row = rows.get(self.step.name()).cloned();
        let spent = spent_of(lead_row.as_ref());
        let started_at = spent.started_at.unwrap_or(now);
        let lead_runs = !done(self.step);
        let record = |status: StepStatus,
                      report: Option<&StepReport>,
                      error: Option<String>,
                      spent: Spent| SyncStep {
            run_id,
            step: self.step.name().to_string(),
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
        if lead_runs {
            store
                .sync_step_record(record(StepStatus::Running, None, None, spent))
                .await?;
        }

        let acct = AccountRef::new(account.ig_user_id.clone(), token);
        let before = client.stats();
        let lanes = Lanes::new(deps.settings.account_concurrency);
        // The steps beside the media step that need its listing: media insights reads it as
        // it comes; demographics' version probe waits for it to be stored.
        let link = members.iter().any(|(_, s)| *s == Step::Media).then(|| {
            crate::steps::media::Link::new(members.iter().any(|(_, s)| *s == Step::MediaInsights))
        });
        let catalog = store.catalog_decisions_list().await?;
        let contexts: Vec<StepCtx<'_>> = members
            .iter()
            .enumerate()
            .map(|(i, (at, step))| StepCtx {
                deps,
                job: ctx,
                account: &account,
                acct: acct.clone(),
                client,
                plan,
                scope: &scope,
                step: *step,
                position: *at,
                steps_in_plan: steps.len(),
                // Every attempt of a step stamps its snapshots with the time the job's step
                // first started: an attempt whose writes were committed but whose outcome
                // was lost (killed worker, full disk, database gone at completion) is
                // re-run and rewrites the same rows instead of adding a second capture.
                now: started_at,
                lanes: &lanes,
                // The job's progress is its first step's (the lead's while it runs).
                reports_progress: i == 0,
                link: link.as_ref(),
                catalog: &catalog,
            })
            .collect();
        self.running().insert(
            ctx.job.id,
            AttemptStart {
                account: account.clone(),
                run_id,
                position,
                before: before.clone(),
                spent,
            },
        );
        let results = join_all(contexts.iter().map(steps::run)).await;
        self.running().remove(&ctx.job.id);
        let cost = self.account_usage(client, &account, &before).await;
        // The lead's row counts the rows the lead wrote (each other step's row, its own).
        let rows_written: i64 = members
            .iter()
            .zip(&results)
            .filter(|((_, step), _)| *step == self.step)
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
        // and the lead's row say why, and the next attempt runs it again.
        let mut lead_result = None;
        let mut failures: Vec<(Step, StepError)> = Vec::new();
        for ((_, step), result) in members.iter().zip(results) {
            if *step == self.step {
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
                            serde_json::Value::from(self.step.name()),
                        );
                    }
                    store.sync_step_record(row).await?;
                }
                Err(e) => failures.push((*step, e)),
            }
        }
        let lead_report = match lead_result {
            Some(Ok(report)) => Some(report),
            Some(Err(e)) => {
                failures.insert(0, (self.step, e));
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
            store.sync_step_record(lead_record(None, spent)).await?;
            let result = Some(serde_json::json!({
                "run_id": run_id,
                "step": self.step.name(),
                "rows_written": spent.rows,
                "complete": lead_report.as_ref().and_then(|r| r.complete),
            }));
            if after < steps.len() {
                let next = match next_job(ctx.now()) {
                    Ok(job) => job,
                    Err(e) => return Ok(JobOutcome::discard(e.to_string())),
                };
                return Ok(JobOutcome::Complete {
                    result,
                    next: vec![next],
                });
            }
            self.finish(&account, run_id, ctx.now()).await?;
            return Ok(JobOutcome::Complete {
                result,
                next: Vec::new(),
            });
        };
        // A failure of a step beside the lead names that step.
        let named = |text: String| {
            if failed_step == self.step {
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
                store.sync_step_record(row).await?;
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
                Ok(JobOutcome::discard(reason))
            }
            StepError::Graph(e) if e.is_rate_limited() => {
                let wait = e
                    .retry_after()
                    .and_then(|d| Duration::from_std(d).ok())
                    .unwrap_or(Duration::minutes(5))
                    .max(Duration::seconds(1));
                let until = ctx.now() + wait;
                let reason = named(format!("rate limited by Meta ({e}); resuming at {until}"));
                store
                    .sync_step_record(lead_record(Some(reason.clone()), spent))
                    .await?;
                tracing::warn!(account = account_id.get(), step = %failed_step, until = %until, "rate limited: chain snoozed");
                Ok(JobOutcome::Snooze { until, reason })
            }
            StepError::Graph(e) if e.is_retryable() => {
                let message = named(format!("Graph API: {e}"));
                store
                    .sync_step_record(lead_record(Some(message.clone()), spent))
                    .await?;
                Ok(JobOutcome::retry(message))
            }
            StepError::Graph(e) => Ok(JobOutcome::discard(named(format!("Graph API: {e}")))),
            StepError::Store(e) => Ok(JobOutcome::retry(named(e.to_string()))),
            StepError::Incomplete { report, reason } => {
                let message = named(format!("incomplete: {reason}"));
                let row = if failed_step == self.step {
                    record(
                        StepStatus::Running,
                        Some(&report),
                        Some(message.clone()),
                        spent,
                    )
                } else {
                    lead_record(Some(message.clone()), spent)
                };
                store.sync_step_record(row).await?;
                Ok(JobOutcome::retry(message))
            }
        }
    }

    /// The chain succeeded: the account is idle and synced, the run closed, alerts raised.
    async fn finish(
        &self,
        account: &Account,
        run_id: RunId,
        now: DateTime<Utc>,
    ) -> store::Result<()> {
        let store = &self.deps.store;
        store
            .account_status_set(
                account.id,
                StatusChange {
                    status: SyncStatus::Idle,
                    error: None,
                    synced_at: Some(now),
                    only_if: vec![SyncStatus::Syncing],
                    now,
                },
            )
            .await?;
        store
            .sync_run_finish(RunFinish {
                run_id,
                status: RunStatus::Succeeded,
                error: None,
                finished_at: now,
            })
            .await?;
        tracing::info!(
            account = account.id.get(),
            run = run_id.get(),
            "sync finished"
        );
        alerts::after_sync(&self.deps, account, run_id, now).await;
        Ok(())
    }

    /// Records the Graph API usage of this step (calls, units, errors; the usage headers)
    /// and returns (requests, units) spent.
    async fn account_usage(
        &self,
        client: &GraphClient,
        account: &Account,
        before: &graph::CallStats,
    ) -> (i64, i64) {
        let deps = &self.deps;
        let now = deps.clock.now();
        let delta = client.stats().since(before);
        let spent = delta
            .accounts
            .get(&account.ig_user_id)
            .cloned()
            .unwrap_or_default();
        let (requests, units, errors) = (
            spent.http_requests as i64,
            spent.units as i64,
            spent.errors as i64,
        );
        if requests + units + errors > 0
            && let Err(e) = deps
                .store
                .api_calls_add(vec![ApiCallsDelta {
                    account_id: account.id,
                    day: now.date_naive(),
                    requests,
                    units,
                    errors,
                }])
                .await
        {
            tracing::debug!(error = %e, "could not record API calls");
        }
        let usage = client.usage();
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
        if !records.is_empty()
            && let Err(e) = deps.store.api_usage_record(records).await
        {
            tracing::debug!(error = %e, "could not record API usage");
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
