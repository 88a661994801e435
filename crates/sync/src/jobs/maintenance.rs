//! Maintenance jobs: the schedule fan-outs (one sync per active account, one token refresh
//! per account whose token expires soon), the per-account token refresh and retention.

use std::sync::Arc;

use chrono::Duration;
use store::{
    AccountId, JobQuery, JobState, NewAlert, NewJob, RetentionPolicy, Severity, StatusChange,
    SyncStatus, TokenUpdate,
};

use crate::args::{RetentionArgs, SyncFanOutArgs, TokenRefreshArgs, TokenRefreshFanOutArgs};
use crate::engine::Deps;
use crate::jobs::{
    PRIORITY_MAINTENANCE, client_for, raise_alert, sync_account_job, token_for,
    waits_for_its_offset,
};
use crate::phase::{self, Covering, FullSchedule};
use crate::plan::MAINTENANCE_QUEUE;
use crate::plan::{
    KIND_RETENTION, KIND_SYNC_FAN_OUT, KIND_TOKEN_REFRESH, KIND_TOKEN_REFRESH_FAN_OUT, Plan,
};
use ::queue::{JobContext, JobHandler, JobOutcome, QueueError};

fn store_err(e: store::StoreError) -> JobOutcome {
    JobOutcome::retry(e.to_string())
}

/// A sync schedule's tick: one `sync_account` job per active account. Paused accounts and
/// accounts that need re-authorization are skipped; a light sync is skipped for an account
/// whose chain is still active (running, or due), but not for one whose scheduled full sync
/// only waits for its offset later in its period.
///
/// No thundering herd: each account's job is due at the tick plus the account's stable
/// offset within the period the tick opens (`phase::due_at`: `queue::spread_offset` of the
/// account under the one key of every sync schedule), so a fleet's syncs spread over the
/// period and each account's runs stay one period apart. An account never synced yet runs at
/// once, and so does every account of a schedule's run-now or of a fan-out without a
/// schedule's tick.
///
/// A light sync due at the same instant as a full sync of the account (a schedule of the
/// full plan, not paused, whose tick and period put the account's full sync there:
/// `phase::Covering`) is not queued: the full sync stands in for it.
pub(crate) struct SyncFanOut {
    pub(crate) deps: Arc<Deps>,
}

#[async_trait::async_trait]
impl JobHandler for SyncFanOut {
    fn kind(&self) -> &str {
        KIND_SYNC_FAN_OUT
    }

    async fn run(&self, ctx: JobContext) -> JobOutcome {
        let store = &self.deps.store;
        let args: SyncFanOutArgs = match ctx.args() {
            Ok(args) => args,
            Err(e) => return JobOutcome::discard(e.to_string()),
        };
        let plan = args.plan;
        let trigger = args.sync_trigger();
        let accounts = match store.account_list().await {
            Ok(a) => a,
            Err(e) => return store_err(e),
        };
        let now = ctx.now();
        let spread = match spread_of(store.as_ref(), &args).await {
            Ok(s) => s,
            Err(e) => return store_err(e),
        };
        // The accounts whose sync chain is active (running, or due): one read of the active
        // jobs for the whole fleet, not one per account.
        let busy = if plan == Plan::Light {
            match active_chains(store.as_ref(), now).await {
                Ok(b) => b,
                Err(e) => return store_err(e),
            }
        } else {
            std::collections::HashSet::new()
        };
        let covering = match (&spread, plan) {
            (Some((tick, period)), Plan::Light) => match full_schedules(store.as_ref()).await {
                Ok(fulls) => Covering::of(&fulls, *tick, *period),
                Err(e) => return store_err(e),
            },
            _ => Covering::default(),
        };
        let mut jobs = Vec::new();
        let mut skipped = 0;
        let mut covered = 0;
        for account in accounts {
            if !account.takes_scheduled_syncs() {
                skipped += 1;
                continue;
            }
            // A chain that has not started because it waits for its offset in a longer
            // period (a full sync due hours from now) does not hold the light sync back: the
            // account's numbers stay as fresh as the light schedule promises.
            if busy.contains(&account.id) {
                skipped += 1;
                continue;
            }
            match sync_account_job(
                &self.deps,
                account.id,
                plan,
                &crate::plan::Scope::default(),
                &trigger,
                now,
            ) {
                Ok(mut job) => {
                    if let Some((tick, period)) = &spread
                        && account.last_synced_at.is_some()
                    {
                        let at = phase::due_at(*tick, account.id, *period);
                        if covering.covers(account.id, at) {
                            covered += 1;
                            continue;
                        }
                        job.run_at = at.max(now);
                    }
                    jobs.push(job)
                }
                Err(e) => return JobOutcome::discard(e.to_string()),
            }
        }
        let outcomes = match store.job_insert_many(jobs).await {
            Ok(o) => o,
            Err(e) => return store_err(e),
        };
        let inserted = outcomes
            .iter()
            .filter(|o| matches!(o, store::InsertOutcome::Inserted(_)))
            .count();
        self.deps.wake.notify_one();
        JobOutcome::Complete {
            result: Some(serde_json::json!({
                "plan": plan.as_str(),
                "inserted": inserted,
                "merged": outcomes.len() - inserted,
                "skipped": skipped,
                "covered": covered,
            })),
            next: Vec::new(),
        }
    }
}

/// The accounts with an active sync chain: a job of the chain (`sync:{account}:…`) running,
/// or pending and not a scheduled sync still waiting for its offset. One read of the
/// pending and running jobs, for every account at once.
async fn active_chains(
    store: &dyn store::Store,
    now: chrono::DateTime<chrono::Utc>,
) -> store::Result<std::collections::HashSet<AccountId>> {
    let active = store
        .job_list(JobQuery {
            states: vec![JobState::Pending, JobState::Running],
            limit: 0,
            ..Default::default()
        })
        .await?;
    Ok(active
        .jobs
        .iter()
        .filter_map(|j| {
            let account = j.account_id?;
            let key = j.unique_key.as_deref()?;
            let is_chain = key.starts_with(&format!("sync:{account}:"));
            (is_chain && !waits_for_its_offset(j, now)).then_some(account)
        })
        .collect())
}

/// The tick and period a fan-out spreads its accounts over; `None` (all at once) for a
/// run-now, a fan-out without a schedule's tick, or a schedule no longer stored or whose
/// period cannot be computed.
async fn spread_of(
    store: &dyn store::Store,
    args: &SyncFanOutArgs,
) -> store::Result<Option<(chrono::DateTime<chrono::Utc>, Duration)>> {
    let (Some(name), Some(tick), false) = (&args.schedule, &args.tick, args.run_now) else {
        return Ok(None);
    };
    let Ok(tick) = chrono::DateTime::parse_from_rfc3339(tick) else {
        return Ok(None);
    };
    let tick = tick.with_timezone(&chrono::Utc);
    let Some(schedule) = store.schedule_get(name).await? else {
        return Ok(None);
    };
    let period = ::queue::CronExpr::parse(&schedule.def.cron).and_then(|c| c.period_at(tick));
    Ok(period.ok().map(|p| (tick, p)))
}

/// The stored sync schedules of the full plan that are not paused: the full syncs that may
/// stand in for a light tick's syncs.
async fn full_schedules(store: &dyn store::Store) -> store::Result<Vec<FullSchedule>> {
    Ok(store
        .schedule_list()
        .await?
        .into_iter()
        .filter(|s| !s.paused && s.def.kind == KIND_SYNC_FAN_OUT)
        .filter(|s| {
            serde_json::from_value::<SyncFanOutArgs>(s.def.args.clone())
                .is_ok_and(|args| args.plan == Plan::Full)
        })
        .filter_map(|s| {
            let cron = ::queue::CronExpr::parse(&s.def.cron).ok()?;
            Some(FullSchedule::stored(cron, s.last_run_at, s.next_run_at))
        })
        .collect())
}

/// The token refresh schedule's tick: one `token_refresh` job per account whose token
/// expires within the configured window, and per Instagram Login account whose expiry is not
/// known (registered before igsync learned expiries): its refresh needs no app credentials
/// and tells the expiry.
pub(crate) struct TokenRefreshFanOut {
    pub(crate) deps: Arc<Deps>,
}

#[async_trait::async_trait]
impl JobHandler for TokenRefreshFanOut {
    fn kind(&self) -> &str {
        KIND_TOKEN_REFRESH_FAN_OUT
    }

    async fn run(&self, ctx: JobContext) -> JobOutcome {
        if let Err(e) = ctx.args::<TokenRefreshFanOutArgs>() {
            return JobOutcome::discard(e.to_string());
        }
        let store = &self.deps.store;
        let now = ctx.now();
        let horizon = now + Duration::days(self.deps.settings.token_refresh_within_days as i64);
        let accounts = match store.account_list().await {
            Ok(a) => a,
            Err(e) => return store_err(e),
        };
        let jobs: Result<Vec<NewJob>, _> = accounts
            .iter()
            .filter(|a| a.token.is_some() && a.status != SyncStatus::NeedsReauth)
            .filter(|a| match a.token_expires_at {
                Some(at) => at <= horizon,
                None => a.login == store::LoginKind::Instagram,
            })
            .map(|a| {
                Ok::<_, QueueError>(NewJob {
                    queue: MAINTENANCE_QUEUE.to_string(),
                    account_id: Some(a.id),
                    unique_key: Some(format!("token_refresh:{}", a.id)),
                    max_attempts: self.deps.settings.max_attempts as i32,
                    priority: PRIORITY_MAINTENANCE,
                    ..NewJob::typed(&TokenRefreshArgs {}, now)?
                })
            })
            .collect();
        let jobs = match jobs {
            Ok(jobs) => jobs,
            Err(e) => return JobOutcome::discard(e.to_string()),
        };
        let n = jobs.len();
        if let Err(e) = store.job_insert_many(jobs).await {
            return store_err(e);
        }
        JobOutcome::Complete {
            result: Some(serde_json::json!({ "accounts": n })),
            next: Vec::new(),
        }
    }
}

/// Refreshes one account's long-lived token and stores the new one, encrypted.
pub(crate) struct TokenRefresh {
    pub(crate) deps: Arc<Deps>,
}

#[async_trait::async_trait]
impl JobHandler for TokenRefresh {
    fn kind(&self) -> &str {
        KIND_TOKEN_REFRESH
    }

    async fn run(&self, ctx: JobContext) -> JobOutcome {
        let deps = &self.deps;
        let store = &deps.store;
        if let Err(e) = ctx.args::<TokenRefreshArgs>() {
            return JobOutcome::discard(e.to_string());
        }
        let Some(account_id) = ctx.job.account_id else {
            return JobOutcome::discard("a token refresh must name its account");
        };
        let account = match store.account_get(account_id).await {
            Ok(Some(a)) => a,
            Ok(None) => {
                return JobOutcome::discard(format!("account {account_id} no longer exists"));
            }
            Err(e) => return store_err(e),
        };
        let client = match client_for(deps, &account) {
            Ok(c) => c,
            Err(e) => return JobOutcome::discard(e),
        };
        let token = match token_for(deps, &account) {
            Ok(t) => t,
            Err(e) => return JobOutcome::discard(e),
        };
        let Some(cipher) = &deps.cipher else {
            return JobOutcome::discard("no secret key is configured to store the new token");
        };
        let now = ctx.now();
        match client.refresh_token(&token).await {
            Ok(info) => {
                let sealed = match cipher.encrypt(&store::SecretString::new(info.token.expose())) {
                    Ok(s) => s,
                    Err(e) => return JobOutcome::discard(e.to_string()),
                };
                let expires_at = info
                    .expires_at
                    .or_else(|| info.expires_in.map(|s| now + Duration::seconds(s as i64)));
                match store
                    .account_token_set(TokenUpdate {
                        account_id,
                        token: sealed,
                        expires_at,
                        refreshed_at: now,
                    })
                    .await
                {
                    Ok(_) => {
                        tracing::info!(account = account_id.get(), expires_at = ?expires_at, "token refreshed");
                        JobOutcome::Complete {
                            result: Some(serde_json::json!({
                                "expires_at": expires_at.map(|t| t.to_rfc3339()),
                            })),
                            next: Vec::new(),
                        }
                    }
                    Err(e) => store_err(e),
                }
            }
            Err(e) if e.needs_reauth() => {
                let message = format!(
                    "token refresh: Meta rejected the token ({e}); authorize the account again"
                );
                let _ = store
                    .account_status_set(
                        account_id,
                        StatusChange {
                            status: SyncStatus::NeedsReauth,
                            error: Some(message.clone()),
                            synced_at: None,
                            only_if: Vec::new(),
                            now,
                        },
                    )
                    .await;
                raise_alert(
                    deps,
                    NewAlert {
                        account_id: Some(account_id),
                        kind: "needs_reauth".to_string(),
                        severity: Severity::Critical,
                        dedup_key: format!("needs_reauth:{account_id}:token:{}", now.date_naive()),
                        title: format!("@{} needs to be authorized again", account.username),
                        message: message.clone(),
                        payload: serde_json::json!({ "code": e.code() }),
                        created_at: now,
                    },
                )
                .await;
                JobOutcome::discard(message)
            }
            Err(e) if e.is_rate_limited() => JobOutcome::Snooze {
                until: now
                    + e.retry_after()
                        .and_then(|d| Duration::from_std(d).ok())
                        .unwrap_or(Duration::minutes(5)),
                reason: format!("rate limited by Meta: {e}"),
            },
            Err(e) if e.is_retryable() => JobOutcome::retry(format!("token refresh: {e}")),
            Err(e) => JobOutcome::discard(format!("token refresh: {e}")),
        }
    }

    async fn on_failed(&self, ctx: &JobContext, error: &str) {
        let Some(account_id) = ctx.job.account_id else {
            return;
        };
        let Ok(Some(account)) = self.deps.store.account_get(account_id).await else {
            return;
        };
        if account.status == SyncStatus::NeedsReauth {
            return;
        }
        let now = ctx.now();
        let expires = account
            .token_expires_at
            .map(|t| format!("; the token expires at {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default();
        let soon = account
            .token_expires_at
            .is_some_and(|t| t <= now + Duration::days(2));
        raise_alert(
            &self.deps,
            NewAlert {
                account_id: Some(account_id),
                kind: "token_expiring".to_string(),
                severity: if soon {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                dedup_key: format!("token_refresh_failed:{account_id}:{}", now.date_naive()),
                title: format!("The token of @{} could not be refreshed", account.username),
                message: format!("Refreshing the access token failed: {error}{expires}"),
                payload: serde_json::json!({
                    "error": error,
                    "token_expires_at": account.token_expires_at.map(|t| t.to_rfc3339()),
                }),
                created_at: now,
            },
        )
        .await;
    }
}

/// Retention: prunes finished jobs (completed: keep 100 / 7 days; failed and cancelled:
/// keep 500 / 30 days by default) and expired sessions. Analytics data is never pruned.
pub(crate) struct Retention {
    pub(crate) deps: Arc<Deps>,
}

#[async_trait::async_trait]
impl JobHandler for Retention {
    fn kind(&self) -> &str {
        KIND_RETENTION
    }

    async fn run(&self, ctx: JobContext) -> JobOutcome {
        if let Err(e) = ctx.args::<RetentionArgs>() {
            return JobOutcome::discard(e.to_string());
        }
        let r = &self.deps.settings.retention;
        let now = ctx.now();
        let age = |d: std::time::Duration| Duration::from_std(d).unwrap_or(Duration::days(36_500));
        let report = match self
            .deps
            .store
            .job_prune(RetentionPolicy {
                completed_keep: r.completed_keep,
                completed_max_age: age(r.completed_max_age),
                failed_keep: r.failed_keep,
                failed_max_age: age(r.failed_max_age),
                now,
            })
            .await
        {
            Ok(report) => report,
            Err(e) => return store_err(e),
        };
        let sessions = match self.deps.store.session_prune(now).await {
            Ok(n) => n,
            Err(e) => return store_err(e),
        };
        tracing::info!(
            completed = report.completed,
            failed = report.failed,
            cancelled = report.cancelled,
            sessions,
            "retention pruned old jobs"
        );
        JobOutcome::Complete {
            result: Some(serde_json::json!({
                "completed": report.completed,
                "failed": report.failed,
                "cancelled": report.cancelled,
                "sessions": sessions,
            })),
            next: Vec::new(),
        }
    }
}
