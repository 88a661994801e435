//! The engine the binary and the server drive: its settings, enqueuing syncs, installing
//! schedules, running workers (as a service or until idle) and watching the progress of a
//! sync.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use graph::GraphClient;
use store::{
    Account, AccountId, Cipher, DynStore, InsertOutcome, JobId, JobQuery, JobState, NewJob,
    RescueReport, RunId, RunStatus, StepStatus, SyncStatus, WorkerInfo,
};
use tokio::sync::Notify;

use crate::args::{Origin, TokenRefreshFanOutArgs};
use crate::clock::Clock;
use crate::error::{Result, SyncError};
use crate::jobs;
use crate::plan::{MAINTENANCE_QUEUE, Plan, Scope, Step};
pub use crate::settings::{
    AlertSettings, DEFAULT_ACCOUNT_CONCURRENCY, DEFAULT_ACCOUNT_INSIGHTS_LIGHT_INTERVAL,
    DEFAULT_SYNCS_PER_MINUTE, MAX_ACCOUNT_CONCURRENCY, RetentionSettings, SyncSettings,
};
use ::queue::{Scheduler, Worker, WorkerStats, worker_process_gone};

/// Most media ids one scoped sync may name.
pub const MAX_SCOPE_MEDIA: usize = 1000;
/// How far back a scoped account insights sync may start (Meta keeps about two years).
pub const MAX_ACCOUNT_INSIGHT_DAYS_BACK: i64 = 729;

/// Names of the schedules the engine installs.
pub const SCHEDULE_FULL_SYNC: &str = "full_sync";
pub const SCHEDULE_LIGHT_SYNC: &str = "light_sync";
pub const SCHEDULE_TOKEN_REFRESH: &str = "token_refresh";
pub const SCHEDULE_RETENTION: &str = "retention";

/// The Graph API clients, one per login flavour (an account uses the one of its login).
pub type GraphClients = Arc<HashMap<graph::LoginKind, GraphClient>>;

/// Builds [`GraphClients`] from clients (keyed by each client's login flavour).
pub fn graph_clients(clients: impl IntoIterator<Item = GraphClient>) -> GraphClients {
    Arc::new(clients.into_iter().map(|c| (c.login(), c)).collect())
}

/// The plan a `sync_account` job or one of its steps carries.
#[derive(serde::Deserialize)]
struct PlanOf {
    plan: Plan,
}

/// What the engine is built from.
pub struct EngineConfig {
    pub store: DynStore,
    pub graph: GraphClients,
    /// Opens the stored tokens; without it syncs fail with a clear error.
    pub cipher: Option<Cipher>,
    pub settings: SyncSettings,
    pub clock: Clock,
}

/// What the jobs share.
pub(crate) struct Deps {
    pub(crate) store: DynStore,
    pub(crate) graph: GraphClients,
    pub(crate) cipher: Option<Cipher>,
    pub(crate) settings: SyncSettings,
    pub(crate) clock: Clock,
    pub(crate) wake: Arc<Notify>,
    pub(crate) http: reqwest::Client,
    /// The metric catalog's stored decisions, as this worker last read them.
    pub(crate) catalog: crate::steps::CatalogCache,
}

/// The sync engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) deps: Arc<Deps>,
}

/// The answer to a sync request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    pub account_id: AccountId,
    /// `Inserted` for a new sync job, `Merged` when a sync of the same plan was
    /// already active for the account (its job id is given).
    pub outcome: InsertOutcome,
    /// The run, when already known (a merged request joins a running chain).
    pub run_id: Option<RunId>,
}

impl Enqueued {
    /// The job to follow with [`Engine::progress`].
    pub fn job_id(&self) -> JobId {
        self.outcome.id()
    }
}

/// Where one step of a watched sync stands.
#[derive(Debug, Clone, PartialEq)]
pub struct StepProgress {
    pub step: Step,
    pub status: StepState,
    /// Items of the step done so far and in all (posts, days… — see [`Step::items`]), when
    /// the step reports them.
    pub items_done: Option<u64>,
    pub items_total: Option<u64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    Waiting,
    Running,
    Succeeded,
    Failed,
    Skipped,
}

/// Where a sync request stands.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncProgress {
    pub job_id: JobId,
    pub account_id: Option<AccountId>,
    pub plan: Option<Plan>,
    pub run_id: Option<RunId>,
    pub state: SyncState,
    pub steps: Vec<StepProgress>,
}

impl SyncProgress {
    pub fn is_finished(&self) -> bool {
        !matches!(self.state, SyncState::Queued { .. } | SyncState::Running)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SyncState {
    /// Waiting for a worker (or for the start limiter) until `run_at`.
    Queued {
        run_at: DateTime<Utc>,
    },
    Running,
    Succeeded,
    Failed {
        error: String,
    },
    Cancelled,
    /// The account was paused or needs re-authorization: nothing ran.
    Skipped {
        reason: String,
    },
}

impl Engine {
    pub fn new(config: EngineConfig) -> Result<Engine> {
        config.settings.validate()?;
        if config.graph.is_empty() {
            return Err(SyncError::config(
                "the engine needs at least one Graph API client",
            ));
        }
        graph::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("igsync/", env!("CARGO_PKG_VERSION")))
            .tls_backend_rustls()
            .build()
            .map_err(|e| SyncError::config(format!("cannot build the webhook HTTP client: {e}")))?;
        Ok(Engine {
            deps: Arc::new(Deps {
                store: config.store,
                graph: config.graph,
                cipher: config.cipher,
                settings: config.settings,
                clock: config.clock,
                wake: Arc::new(Notify::new()),
                http,
                catalog: Default::default(),
            }),
        })
    }

    pub fn store(&self) -> &DynStore {
        &self.deps.store
    }

    pub fn clock(&self) -> &Clock {
        &self.deps.clock
    }

    pub fn settings(&self) -> &SyncSettings {
        &self.deps.settings
    }

    pub fn scheduler(&self) -> Scheduler {
        Scheduler::new(
            self.deps.store.clone(),
            self.deps.clock.clone(),
            self.deps.settings.max_attempts,
        )
    }

    /// Requests a sync of one account. Paused accounts and accounts that need
    /// re-authorization are refused with a clear error.
    pub async fn enqueue_sync(
        &self,
        account_id: AccountId,
        plan: Plan,
        trigger: &str,
    ) -> Result<Enqueued> {
        self.enqueue_scoped(account_id, plan, Scope::default(), trigger)
            .await
    }

    /// Requests a sync of one account narrowed by `scope`: given posts or a range of days
    /// for media insights, a range of days for account insights (see [`Scope`]). The scope
    /// is checked against the step and the account first ([`SyncError::BadScope`]); the
    /// same request twice while it is active merges.
    pub async fn enqueue_scoped(
        &self,
        account_id: AccountId,
        plan: Plan,
        scope: Scope,
        trigger: &str,
    ) -> Result<Enqueued> {
        let account = self
            .deps
            .store
            .account_get(account_id)
            .await?
            .ok_or(SyncError::UnknownAccount(account_id))?;
        match account.status {
            SyncStatus::Paused => {
                return Err(SyncError::Invalid(format!(
                    "account {account_id} (@{}) is paused; resume it before syncing",
                    account.username
                )));
            }
            SyncStatus::NeedsReauth => {
                return Err(SyncError::Invalid(format!(
                    "account {account_id} (@{}) needs re-authorization: Meta rejected its token",
                    account.username
                )));
            }
            _ => {}
        }
        let now = self.deps.clock.now();
        let scope = self.checked_scope(&account, plan, scope, now).await?;
        let outcome = self
            .deps
            .store
            .job_insert(jobs::sync_account_job(
                &self.deps, account_id, plan, &scope, trigger, now,
            )?)
            .await?;
        let run_id = match outcome {
            InsertOutcome::Inserted(_) => None,
            InsertOutcome::Merged(id) => {
                let job = self.deps.store.job_get(id).await?;
                // Merged into a scheduled sync waiting for its offset in the period: a
                // request made now runs now.
                if let Some(j) = &job
                    && jobs::waits_for_its_offset(j, now)
                {
                    self.deps
                        .store
                        .jobs_retry(store::JobSelector::Ids(vec![id]), now)
                        .await?;
                }
                job.as_ref().and_then(crate::steps::run_of)
            }
        };
        self.deps.wake.notify_one();
        Ok(Enqueued {
            account_id,
            outcome,
            run_id,
        })
    }

    /// The scope, checked and completed (a missing end day is today; repeated ids once).
    async fn checked_scope(
        &self,
        account: &Account,
        plan: Plan,
        mut scope: Scope,
        now: DateTime<Utc>,
    ) -> Result<Scope> {
        if scope.is_empty() {
            return Ok(scope);
        }
        let bad = |m: String| Err(SyncError::BadScope(m));
        let step = match plan {
            Plan::Only(step @ (Step::MediaInsights | Step::AccountInsights)) => step,
            _ => {
                return bad(format!(
                    "media ids and days narrow a sync of media insights or account insights \
                     only, not a {plan} sync"
                ));
            }
        };
        if step == Step::AccountInsights && !scope.media.is_empty() {
            return bad(
                "media ids narrow a sync of media insights, not of account insights".into(),
            );
        }
        if !scope.media.is_empty() && (scope.since.is_some() || scope.until.is_some()) {
            return bad("give either media ids or a range of days, not both".into());
        }
        if scope.until.is_some() && scope.since.is_none() {
            return bad("a range of days needs its first day (since) too".into());
        }
        if let Some(since) = scope.since {
            // Account insights are Meta's Pacific days; posts are dated in the account's
            // time zone, like reports.
            let today = if step == Step::AccountInsights {
                now.with_timezone(&chrono_tz::America::Los_Angeles)
                    .date_naive()
            } else {
                now.with_timezone(&account.time_zone()?).date_naive()
            };
            let until = *scope.until.get_or_insert(today);
            if since > until {
                return bad(format!(
                    "the range of days starts ({since}) after it ends ({until})"
                ));
            }
            if until > today {
                return bad(format!(
                    "the range of days ends in the future ({until}; today is {today})"
                ));
            }
            let oldest = today - chrono::Duration::days(MAX_ACCOUNT_INSIGHT_DAYS_BACK);
            if step == Step::AccountInsights && since < oldest {
                return bad(format!(
                    "Meta keeps account insights for about two years: the first day must be \
                     {oldest} or later, not {since}"
                ));
            }
        }
        if !scope.media.is_empty() {
            let mut seen = std::collections::HashSet::new();
            scope.media.retain(|id| seen.insert(id.clone()));
            if scope.media.len() > MAX_SCOPE_MEDIA {
                return bad(format!(
                    "at most {MAX_SCOPE_MEDIA} media ids per sync, got {}",
                    scope.media.len()
                ));
            }
            let index = self.deps.store.media_index(account.id).await?;
            let known: HashMap<&str, &store::MediaIndexEntry> =
                index.iter().map(|e| (e.ig_media_id.as_str(), e)).collect();
            let mut problems = Vec::new();
            for id in &scope.media {
                match known.get(id.as_str()) {
                    None => problems.push(format!(
                        "{id} is not a stored post of @{}",
                        account.username
                    )),
                    Some(e) if e.deleted => problems.push(format!("{id} was deleted on Instagram")),
                    Some(e) if e.product_type == store::ProductType::Ad => {
                        problems.push(format!("{id} is an ad, which has no organic insights"))
                    }
                    Some(e) if e.product_type == store::ProductType::Story => problems.push(
                        format!("{id} is a story: stories are read by the stories step"),
                    ),
                    Some(_) => {}
                }
            }
            if !problems.is_empty() {
                return bad(format!(
                    "cannot read insights of the given media: {} (a media sync stores new posts)",
                    problems.join("; ")
                ));
            }
        }
        Ok(scope)
    }

    /// Requests a sync of every active account (paused ones and those that need
    /// re-authorization are skipped).
    pub async fn enqueue_all(&self, plan: Plan, trigger: &str) -> Result<Vec<Enqueued>> {
        let mut out = Vec::new();
        for account in self.deps.store.account_list().await? {
            if matches!(account.status, SyncStatus::Paused | SyncStatus::NeedsReauth) {
                continue;
            }
            out.push(self.enqueue_sync(account.id, plan, trigger).await?);
        }
        Ok(out)
    }

    /// Creates or updates every schedule of [`crate::settings::SyncSettings::schedules`].
    pub async fn install_schedules(&self) -> Result<()> {
        self.scheduler()
            .install(&self.deps.settings.schedules())
            .await?;
        Ok(())
    }

    /// Inserts a token refresh fan-out now (refreshes every token expiring within the
    /// configured window).
    pub async fn refresh_tokens_now(&self) -> Result<InsertOutcome> {
        let now = self.deps.clock.now();
        let args = TokenRefreshFanOutArgs(Origin {
            trigger: Some("manual".to_string()),
            ..Origin::default()
        });
        let job = NewJob {
            queue: MAINTENANCE_QUEUE.to_string(),
            unique_key: Some("token_refresh_fan_out:manual".to_string()),
            max_attempts: self.deps.settings.max_attempts as i32,
            priority: 5,
            ..NewJob::typed(&args, now)?
        };
        let outcome = self.deps.store.job_insert(job).await?;
        self.deps.wake.notify_one();
        Ok(outcome)
    }

    /// A worker with every job handler and maintenance task of the engine registered.
    pub fn worker(&self) -> Result<Worker> {
        let mut worker = Worker::new(
            self.deps.store.clone(),
            self.deps.settings.worker_config(),
            self.deps.clock.clone(),
        )?;
        jobs::register_all(&self.deps, &mut worker);
        worker.add_maintenance(Arc::new(self.scheduler()));
        worker.add_maintenance(Arc::new(jobs::Reconciler::new(self.deps.clone())));
        worker.add_maintenance(Arc::new(jobs::Statistics::new(self.deps.clone())));
        worker.set_wake(self.deps.wake.clone());
        Ok(worker)
    }

    /// Runs a worker until `shutdown` resolves (see [`Worker::run`]).
    pub async fn run_worker<F>(&self, shutdown: F) -> Result<WorkerStats>
    where
        F: std::future::Future<Output = ()> + Send,
    {
        Ok(self.worker()?.run(shutdown).await?)
    }

    /// Runs jobs in this process until none is due (embedded mode, tests).
    pub async fn run_until_idle(&self) -> Result<WorkerStats> {
        Ok(self.worker()?.run_until_idle().await?)
    }

    /// Rescues lost jobs, fires due schedules and settles accounts whose chain was lost.
    pub async fn maintain(&self) -> Result<()> {
        Ok(self.worker()?.maintain().await?)
    }

    /// The workers that are alive: seen within one lease (a worker heartbeats every third
    /// of it), minus those of this machine whose process is gone. The registrations of
    /// workers proven gone are removed, so they stop showing in the queue monitor too.
    pub async fn live_workers(&self) -> Result<Vec<WorkerInfo>> {
        let store = &self.deps.store;
        let lease = chrono::Duration::from_std(self.deps.settings.lease)
            .unwrap_or(chrono::Duration::seconds(30));
        let mut live = Vec::new();
        for worker in store.worker_list(self.deps.clock.now() - lease).await? {
            if worker_process_gone(&worker) {
                tracing::warn!(worker = %worker.id, pid = worker.pid, "worker process is gone: forgetting its registration");
                if let Err(e) = store.worker_remove(&worker.id).await {
                    tracing::debug!(worker = %worker.id, error = %e, "could not remove the registration");
                }
                continue;
            }
            live.push(worker);
        }
        Ok(live)
    }

    /// Hands the jobs whose lease expired (their worker died) back to the queue now,
    /// without waiting for a worker's periodic maintenance.
    pub async fn rescue_lost_jobs(&self) -> Result<RescueReport> {
        let report = self.deps.store.job_rescue(self.deps.clock.now()).await?;
        if report.rescued + report.failed > 0 {
            tracing::warn!(
                rescued = report.rescued,
                failed = report.failed,
                "rescued jobs of lost workers"
            );
        }
        Ok(report)
    }

    /// Where a sync request (the job id of [`Enqueued::job_id`]) stands: waiting, its run
    /// and each step's state and item counts.
    pub async fn progress(&self, job_id: JobId) -> Result<SyncProgress> {
        let store = &self.deps.store;
        let job = store
            .job_get(job_id)
            .await?
            .ok_or_else(|| SyncError::Invalid(format!("job {job_id} does not exist")))?;
        // The plan of a sync_account job or of one of its steps (both carry `plan`).
        let plan = job.args_as::<PlanOf>().ok().map(|args| args.plan);
        let run_id = crate::steps::run_of(&job);
        let mut progress = SyncProgress {
            job_id,
            account_id: job.account_id,
            plan,
            run_id,
            state: SyncState::Running,
            steps: plan
                .map(|p| {
                    p.steps()
                        .iter()
                        .map(|s| StepProgress {
                            step: *s,
                            status: StepState::Waiting,
                            items_done: None,
                            items_total: None,
                            error: None,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        let Some(run_id) = run_id else {
            progress.state = match job.state {
                JobState::Pending => SyncState::Queued { run_at: job.run_at },
                JobState::Running => SyncState::Running,
                JobState::Failed => SyncState::Failed {
                    error: job
                        .errors
                        .last()
                        .map(|e| e.error.clone())
                        .unwrap_or_else(|| "failed".to_string()),
                },
                JobState::Cancelled => SyncState::Cancelled,
                JobState::Completed => SyncState::Skipped {
                    reason: job
                        .result
                        .as_ref()
                        .and_then(|r| r["skipped"].as_str())
                        .unwrap_or("nothing to do")
                        .to_string(),
                },
            };
            return Ok(progress);
        };
        let Some((run, steps)) = store.sync_run_get(run_id).await? else {
            return Err(SyncError::Invalid(format!(
                "sync run {run_id} does not exist"
            )));
        };
        if progress.plan.is_none() {
            progress.plan = run.plan.parse().ok();
        }
        for recorded in &steps {
            if let Some(slot) = progress
                .steps
                .iter_mut()
                .find(|s| s.step.name() == recorded.step)
            {
                slot.status = match recorded.status {
                    StepStatus::Running => StepState::Running,
                    StepStatus::Succeeded => StepState::Succeeded,
                    StepStatus::Failed => StepState::Failed,
                    StepStatus::Skipped => StepState::Skipped,
                };
                slot.error = recorded.error.clone();
                if let (Some(e), Some(s)) = (recorded.expected, recorded.stored) {
                    slot.items_total = Some(e.max(0) as u64);
                    slot.items_done = Some(s.max(0) as u64);
                }
            }
        }
        let active = store
            .job_list(JobQuery {
                run_id: Some(run_id),
                states: vec![JobState::Pending, JobState::Running],
                limit: 10,
                ..Default::default()
            })
            .await?;
        // The jobs of the run still at work: a `sync_account` job running its stages (its
        // progress names the step), or a step job of a chain queued by an earlier version.
        for job in &active.jobs {
            let Some(step) = crate::steps::step_of(job) else {
                continue;
            };
            if let Some(slot) = progress.steps.iter_mut().find(|s| s.step == step) {
                slot.status = StepState::Running;
                if let Some(p) = &job.progress {
                    // Jobs recorded by earlier versions say `done` and `total`.
                    slot.items_done = p["items_done"].as_u64().or_else(|| p["done"].as_u64());
                    slot.items_total = p["items_total"].as_u64().or_else(|| p["total"].as_u64());
                }
            }
        }
        progress.state = match run.status {
            RunStatus::Running => SyncState::Running,
            RunStatus::Succeeded => SyncState::Succeeded,
            RunStatus::Failed => SyncState::Failed {
                error: run.error.unwrap_or_else(|| "failed".to_string()),
            },
            RunStatus::Cancelled => SyncState::Cancelled,
        };
        Ok(progress)
    }
}
