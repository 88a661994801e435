//! The engine's job handlers: a sync's job (and the step jobs of chains queued by earlier
//! versions), schedule
//! fan-outs, token refresh, retention and webhook delivery; and the reconciler that settles
//! accounts whose chain was lost.

mod alerts;
pub use alerts::{WebhookUrl, webhook_signature};
mod maintenance;
mod orchestrator;
pub(crate) mod stories;
pub use crate::args::StoryFinalReadArgs;
pub(crate) mod competitors;
pub(crate) mod reports;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use graph::{AccessToken, GraphClient};
use store::{
    Account, AccountId, JobQuery, JobState, NewJob, RunFinish, RunQuery, RunStatus, StatusChange,
    SyncStatus,
};

use crate::args::SyncAccountArgs;
use crate::engine::Deps;
use crate::error::Result;
use crate::plan::SYNC_QUEUE;
use crate::plan::{Plan, Scope, Step};
use ::queue::{Maintenance, Worker};

pub(crate) use alerts::raise_alert;

/// Orchestrator jobs wait behind the steps of chains already running.
pub(crate) const PRIORITY_ORCHESTRATOR: i16 = 10;
pub(crate) const PRIORITY_STEP: i16 = 0;
pub(crate) const PRIORITY_MAINTENANCE: i16 = 5;

pub(crate) fn register_all(deps: &Arc<Deps>, worker: &mut Worker) {
    worker.register(Arc::new(orchestrator::SyncAccount::new(deps.clone())));
    for step in Step::ALL {
        worker.register(Arc::new(orchestrator::StepJob::new(deps.clone(), step)));
    }
    worker.register(Arc::new(maintenance::SyncFanOut { deps: deps.clone() }));
    worker.register(Arc::new(maintenance::TokenRefreshFanOut {
        deps: deps.clone(),
    }));
    worker.register(Arc::new(maintenance::TokenRefresh { deps: deps.clone() }));
    worker.register(Arc::new(maintenance::Retention { deps: deps.clone() }));
    worker.register(Arc::new(alerts::DeliverWebhook { deps: deps.clone() }));
    worker.register(Arc::new(stories::ProcessWebhookEvent {
        deps: deps.clone(),
    }));
    worker.register(Arc::new(stories::StoryFinalRead { deps: deps.clone() }));
    worker.register(Arc::new(reports::ReportsDue { deps: deps.clone() }));
    worker.register(Arc::new(reports::DeliverReport { deps: deps.clone() }));
    worker.register(Arc::new(competitors::CompetitorsDue { deps: deps.clone() }));
    worker.register(Arc::new(competitors::CompetitorSnapshotJob {
        deps: deps.clone(),
    }));
}

/// The job of one account sync (it runs every step of the plan).
pub(crate) fn sync_account_job(
    deps: &Deps,
    account_id: AccountId,
    plan: Plan,
    scope: &Scope,
    trigger: &str,
    now: DateTime<Utc>,
) -> Result<NewJob, ::queue::QueueError> {
    let args = SyncAccountArgs {
        plan,
        trigger: trigger.to_string(),
        scope: (!scope.is_empty()).then(|| scope.clone()),
    };
    Ok(NewJob {
        queue: SYNC_QUEUE.to_string(),
        account_id: Some(account_id),
        unique_key: Some(chain_key(account_id, plan, scope)),
        run_id: None,
        run_at: now,
        max_attempts: deps.settings.max_attempts as i32,
        priority: PRIORITY_ORCHESTRATOR,
        ..NewJob::typed(&args, now)?
    })
}

/// A sync chain's first job, not yet attempted, due later than now: a scheduled sync waiting
/// for its account's offset within the period.
pub(crate) fn waits_for_its_offset(job: &store::Job, now: chrono::DateTime<chrono::Utc>) -> bool {
    job.kind == crate::plan::KIND_SYNC_ACCOUNT
        && job.state == store::JobState::Pending
        && job.attempt == 0
        && job.run_at > now
}

/// The unique key a chain holds while active: one per account, plan and scope.
pub(crate) fn chain_key(account_id: AccountId, plan: Plan, scope: &Scope) -> String {
    if scope.is_empty() {
        plan.unique_key(account_id)
    } else {
        format!("{}:{}", plan.unique_key(account_id), scope.key())
    }
}

/// The Graph client of the account's login flavour.
pub(crate) fn client_for<'a>(deps: &'a Deps, account: &Account) -> Result<&'a GraphClient, String> {
    let login = crate::accounts::graph_login(account.login);
    deps.graph.get(&login).ok_or_else(|| {
        format!(
            "no Graph API client is configured for {} login",
            account.login.as_str()
        )
    })
}

/// The account's access token, decrypted.
pub(crate) fn token_for(deps: &Deps, account: &Account) -> Result<AccessToken, String> {
    let Some(sealed) = &account.token else {
        return Err(format!(
            "account @{} has no access token; add one with `igsync accounts add`",
            account.username
        ));
    };
    let Some(cipher) = &deps.cipher else {
        return Err(
            "no secret key is configured (IGSYNC_SECRET_KEY), so the stored token cannot be \
             opened"
                .to_string(),
        );
    };
    let plain = cipher.decrypt(sealed).map_err(|e| e.to_string())?;
    Ok(AccessToken::new(plain.expose()))
}

/// Settles accounts left `syncing` with no active job (the chain was cancelled, or its job
/// was lost for good): the run is closed and the account becomes `failed` (or `idle` when
/// the user cancelled), so a status never stays `syncing` forever.
pub(crate) struct Reconciler {
    deps: Arc<Deps>,
}

impl Reconciler {
    pub(crate) fn new(deps: Arc<Deps>) -> Reconciler {
        Reconciler { deps }
    }
}

#[async_trait::async_trait]
impl Maintenance for Reconciler {
    fn name(&self) -> &str {
        "reconcile_accounts"
    }

    async fn run(&self, now: DateTime<Utc>) -> std::result::Result<(), ::queue::QueueError> {
        let store = &self.deps.store;
        for account in store.account_list().await? {
            if account.status != SyncStatus::Syncing {
                continue;
            }
            let active = store
                .job_list(JobQuery {
                    account_id: Some(account.id),
                    states: vec![JobState::Pending, JobState::Running],
                    limit: 1,
                    ..Default::default()
                })
                .await?;
            if active.total > 0 {
                continue;
            }
            let last = store
                .job_list(JobQuery {
                    account_id: Some(account.id),
                    limit: 1,
                    ..Default::default()
                })
                .await?;
            let cancelled = last
                .jobs
                .first()
                .is_some_and(|j| j.state == JobState::Cancelled);
            let (status, run_status, error) = if cancelled {
                (
                    SyncStatus::Idle,
                    RunStatus::Cancelled,
                    account.last_sync_error.clone(),
                )
            } else {
                (
                    SyncStatus::Failed,
                    RunStatus::Failed,
                    Some("the sync was interrupted: its job was lost".to_string()),
                )
            };
            let changed = store
                .account_status_set(
                    account.id,
                    StatusChange {
                        status,
                        error: error.clone(),
                        synced_at: None,
                        only_if: vec![SyncStatus::Syncing],
                        now,
                    },
                )
                .await?;
            if !changed {
                continue;
            }
            let runs = store
                .sync_runs_list(RunQuery {
                    account_id: Some(account.id),
                    accounts: None,
                    status: Some(RunStatus::Running),
                    limit: 20,
                    before_id: None,
                })
                .await?;
            for run in runs {
                store
                    .sync_run_finish(RunFinish {
                        run_id: run.id,
                        status: run_status,
                        error: if cancelled {
                            Some("cancelled".to_string())
                        } else {
                            error.clone()
                        },
                        finished_at: now,
                    })
                    .await?;
            }
            tracing::warn!(
                account = account.id.get(),
                status = status.as_str(),
                "settled an account whose sync chain had no active job"
            );
        }
        Ok(())
    }
}

/// Keeps the database's query planner informed as the history grows (see
/// [`store::Store::statistics_refresh`]): a backfill multiplies a table's rows within
/// minutes, and plans made for the empty table would read every account's rows for one.
pub(crate) struct Statistics {
    deps: Arc<Deps>,
}

impl Statistics {
    pub(crate) fn new(deps: Arc<Deps>) -> Statistics {
        Statistics { deps }
    }
}

#[async_trait::async_trait]
impl Maintenance for Statistics {
    fn name(&self) -> &str {
        "refresh_statistics"
    }

    async fn run(&self, _now: DateTime<Utc>) -> std::result::Result<(), ::queue::QueueError> {
        let started = std::time::Instant::now();
        let tables = self.deps.store.statistics_refresh().await?;
        if !tables.is_empty() {
            tracing::debug!(
                tables = %tables.join(", "),
                ms = started.elapsed().as_millis() as u64,
                "gathered the planner's statistics"
            );
        }
        Ok(())
    }
}
