//! The worker: claims due jobs into free slots, runs each under a timeout in its own task,
//! heartbeats the leases of its running jobs (aborting those cancelled or taken elsewhere),
//! applies each outcome through the store, runs maintenance (rescuer, schedules) and drains
//! gracefully on shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use tokio::sync::Notify;
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;
use tracing::Instrument;

use crate::error::{QueueError, Result};
use crate::handler::{DynHandler, JobContext, JobHandler, JobOutcome};
use crate::policy::{RetryPolicy, WorkerConfig, random_u64};
use crate::types::{
    AccountId, ClaimParams, JobCompletion, JobFailure, JobId, JobState, WorkerInfo,
};
use crate::{Clock, DynQueueStore};

/// Periodic work every worker does besides running jobs (e.g. firing due schedules).
#[async_trait::async_trait]
pub trait Maintenance: Send + Sync + 'static {
    /// A short name for logs.
    fn name(&self) -> &str;
    async fn run(&self, now: DateTime<Utc>) -> Result<()>;
}

/// What a worker did (since it was created).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerStats {
    pub claimed: u64,
    pub completed: u64,
    /// Failed attempts that will be retried.
    pub retried: u64,
    /// Jobs that failed for good.
    pub failed: u64,
    pub snoozed: u64,
    /// Jobs aborted because they were cancelled or taken over elsewhere.
    pub aborted: u64,
    /// Jobs handed back at shutdown.
    pub released: u64,
}

#[derive(Default)]
struct Counters {
    claimed: AtomicU64,
    completed: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    snoozed: AtomicU64,
    aborted: AtomicU64,
    released: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> WorkerStats {
        WorkerStats {
            claimed: self.claimed.load(Ordering::Relaxed),
            completed: self.completed.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            snoozed: self.snoozed.load(Ordering::Relaxed),
            aborted: self.aborted.load(Ordering::Relaxed),
            released: self.released.load(Ordering::Relaxed),
        }
    }
}

/// What running tasks share with the worker.
struct Shared {
    store: DynQueueStore,
    clock: Clock,
    worker_id: String,
    job_timeout: Duration,
    retry: RetryPolicy,
    counters: Counters,
    /// Jobs whose outcome is being written: a heartbeat that no longer sees them running
    /// raced with their own completion and must not abort the write.
    finishing: std::sync::Mutex<std::collections::HashSet<JobId>>,
}

/// A queue worker. Cheap to clone? No: create one per process (its id is unique).
pub struct Worker {
    shared: Arc<Shared>,
    config: WorkerConfig,
    handlers: HashMap<String, DynHandler>,
    maintenance: Vec<Arc<dyn Maintenance>>,
    wake: Arc<Notify>,
    hostname: String,
    pid: i64,
    started_at: DateTime<Utc>,
}

/// How long [`Worker::run_until_idle`] / [`Worker::run`] go on.
enum Mode<'a> {
    UntilIdle,
    Service(std::pin::Pin<&'a mut (dyn Future<Output = ()> + Send + 'a)>),
}

impl Worker {
    /// A worker with a fresh unique id `igsync-{host}-{pid}-{random}`.
    pub fn new(store: DynQueueStore, config: WorkerConfig, clock: Clock) -> Result<Worker> {
        config.validate()?;
        let hostname = hostname();
        let pid = std::process::id() as i64;
        let worker_id = format!("igsync-{hostname}-{pid}-{:012x}", random_u64() >> 16);
        let started_at = clock.now();
        Ok(Worker {
            shared: Arc::new(Shared {
                store,
                clock,
                worker_id,
                job_timeout: config.job_timeout,
                retry: config.retry.clone(),
                counters: Counters::default(),
                finishing: Default::default(),
            }),
            config,
            handlers: HashMap::new(),
            maintenance: Vec::new(),
            wake: Arc::new(Notify::new()),
            hostname,
            pid,
            started_at,
        })
    }

    /// Registers the handler of one job kind (replacing any earlier one).
    pub fn register(&mut self, handler: Arc<dyn JobHandler>) -> &mut Worker {
        self.handlers.insert(handler.kind().to_string(), handler);
        self
    }

    /// Adds periodic maintenance run by [`Worker::run`] (every `maintenance_interval`) and
    /// [`Worker::maintain`].
    pub fn add_maintenance(&mut self, task: Arc<dyn Maintenance>) -> &mut Worker {
        self.maintenance.push(task);
        self
    }

    /// Lets other code in this process wake the worker (e.g. right after enqueuing a job).
    pub fn set_wake(&mut self, wake: Arc<Notify>) -> &mut Worker {
        self.wake = wake;
        self
    }

    pub fn id(&self) -> &str {
        &self.shared.worker_id
    }

    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    pub fn stats(&self) -> WorkerStats {
        self.shared.counters.snapshot()
    }

    /// Runs jobs until none is due and none is running, then returns what it did. Does not
    /// run maintenance (call [`Worker::maintain`] for that).
    pub async fn run_until_idle(&self) -> Result<WorkerStats> {
        let before = self.stats();
        self.drive(Mode::UntilIdle).await?;
        Ok(diff(self.stats(), before))
    }

    /// Claims up to `concurrency` due jobs once and runs them to the end; returns how many
    /// it claimed.
    pub async fn run_once(&self) -> Result<usize> {
        let free = self.config.concurrency as usize;
        let jobs = self.claim(free).await?;
        let n = jobs.len();
        let mut tasks = JoinSet::new();
        for ctx in jobs {
            let handler = self.handler_for(&ctx.job.kind);
            tasks.spawn(execute(self.shared.clone(), handler, ctx));
        }
        while tasks.join_next().await.is_some() {}
        Ok(n)
    }

    /// Runs as a service until `shutdown` resolves: registers itself, claims and runs jobs,
    /// heartbeats, runs maintenance every `maintenance_interval`; on shutdown stops claiming,
    /// lets running jobs finish for up to `shutdown_grace`, hands the rest back to the queue
    /// and unregisters.
    pub async fn run<F>(&self, shutdown: F) -> Result<WorkerStats>
    where
        F: Future<Output = ()> + Send,
    {
        let before = self.stats();
        let mut shutdown = std::pin::pin!(shutdown);
        tracing::info!(
            worker = %self.id(),
            queues = ?self.config.queues,
            concurrency = self.config.concurrency,
            "worker started"
        );
        self.drive(Mode::Service(shutdown.as_mut())).await?;
        if let Err(e) = self.shared.store.worker_remove(self.id()).await {
            tracing::warn!(worker = %self.id(), error = %e, "could not unregister the worker");
        }
        tracing::info!(worker = %self.id(), "worker stopped");
        Ok(diff(self.stats(), before))
    }

    /// Rescues jobs whose lease expired and runs every maintenance task once.
    pub async fn maintain(&self) -> Result<()> {
        let now = self.shared.clock.now();
        let report = self.shared.store.job_rescue(now).await?;
        if report.rescued + report.failed > 0 {
            tracing::warn!(
                rescued = report.rescued,
                failed = report.failed,
                "rescued jobs of lost workers"
            );
        }
        let mut first_error = None;
        for task in &self.maintenance {
            if let Err(e) = task.run(now).await {
                tracing::warn!(task = task.name(), error = %e, "maintenance failed");
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn register_self(&self) -> Result<()> {
        let now = self.shared.clock.now();
        self.shared
            .store
            .worker_heartbeat(WorkerInfo {
                id: self.id().to_string(),
                hostname: self.hostname.clone(),
                pid: self.pid,
                queues: self.config.queues.clone(),
                concurrency: self.config.concurrency as i32,
                started_at: self.started_at,
                last_seen_at: now,
            })
            .await?;
        Ok(())
    }

    fn handler_for(&self, kind: &str) -> Option<DynHandler> {
        self.handlers.get(kind).cloned()
    }

    async fn claim(&self, limit: usize) -> Result<Vec<JobContext>> {
        let now = self.shared.clock.now();
        let lease = chrono::Duration::from_std(self.config.lease)
            .map_err(|_| QueueError::config("lease too long"))?;
        let jobs = self
            .shared
            .store
            .job_claim(ClaimParams {
                queues: self.config.queues.clone(),
                worker_id: self.id().to_string(),
                limit: limit as u32,
                now,
                lease_until: now + lease,
            })
            .await?;
        self.shared
            .counters
            .claimed
            .fetch_add(jobs.len() as u64, Ordering::Relaxed);
        Ok(jobs
            .into_iter()
            .map(|job| JobContext {
                job,
                worker_id: self.id().to_string(),
                store: self.shared.store.clone(),
                clock: self.shared.clock.clone(),
                progress: crate::handler::HeldProgress::new(),
            })
            .collect())
    }

    async fn drive(&self, mut mode: Mode<'_>) -> Result<()> {
        let service = matches!(mode, Mode::Service(_));
        let concurrency = self.config.concurrency as usize;
        let hb_every = self.config.heartbeat_interval();
        let far = Instant::now() + Duration::from_secs(86_400 * 365);
        let mut tasks: JoinSet<JobId> = JoinSet::new();
        let mut running: HashMap<JobId, AbortHandle> = HashMap::new();
        let mut task_job: HashMap<tokio::task::Id, JobId> = HashMap::new();
        let mut next_poll = Instant::now();
        let mut next_hb = Instant::now() + hb_every;
        let mut next_maintenance = if service { Instant::now() } else { far };
        let mut draining: Option<Instant> = None;
        let mut backoff = self.config.poll_interval;

        if service && let Err(e) = self.register_self().await {
            tracing::warn!(worker = %self.id(), error = %e, "could not register the worker");
        }

        loop {
            // Fill free slots.
            let mut claimed_none = false;
            if draining.is_none() && running.len() < concurrency && Instant::now() >= next_poll {
                let free = concurrency - running.len();
                match self.claim(free).await {
                    Ok(jobs) => {
                        backoff = self.config.poll_interval;
                        claimed_none = jobs.is_empty();
                        if jobs.len() < free {
                            next_poll = Instant::now() + self.config.poll_interval;
                        }
                        for ctx in jobs {
                            let id = ctx.job.id;
                            tracing::debug!(job = id.get(), kind = %ctx.job.kind, attempt = ctx.job.attempt, "job claimed");
                            let handler = self.handler_for(&ctx.job.kind);
                            let abort = tasks.spawn(execute(self.shared.clone(), handler, ctx));
                            task_job.insert(abort.id(), id);
                            running.insert(id, abort);
                        }
                    }
                    Err(e) if !service => return Err(e),
                    Err(e) => {
                        tracing::warn!(worker = %self.id(), error = %e, "claiming jobs failed; backing off");
                        next_poll = Instant::now() + backoff;
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                    }
                }
            }
            if !service && claimed_none && running.is_empty() {
                return Ok(());
            }

            // Heartbeat the leases of running jobs.
            if Instant::now() >= next_hb {
                next_hb = Instant::now() + hb_every;
                self.heartbeat(&mut running, service).await;
            }

            // Maintenance.
            if service && draining.is_none() && Instant::now() >= next_maintenance {
                next_maintenance = Instant::now() + self.config.maintenance_interval;
                let _ = self.maintain().await;
            }

            if let Some(deadline) = draining {
                if running.is_empty() {
                    return Ok(());
                }
                if Instant::now() >= deadline {
                    self.release(&mut tasks, &mut running).await;
                    return Ok(());
                }
            }

            // Wait for something to do.
            let mut wake_at = next_hb.min(next_maintenance);
            if draining.is_none() && running.len() < concurrency {
                wake_at = wake_at.min(next_poll);
            }
            if let Some(deadline) = draining {
                wake_at = wake_at.min(deadline);
            }
            let wake = self.wake.clone();
            tokio::select! {
                biased;
                _ = async {
                    match &mut mode {
                        Mode::Service(f) => f.as_mut().await,
                        Mode::UntilIdle => std::future::pending().await,
                    }
                }, if draining.is_none() => {
                    tracing::info!(worker = %self.id(), running = running.len(), "shutting down: draining running jobs");
                    draining = Some(Instant::now() + self.config.shutdown_grace);
                }
                Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    let task_id = match &joined {
                        Ok((id, _)) => *id,
                        Err(e) => e.id(),
                    };
                    if let Some(job_id) = task_job.remove(&task_id) {
                        running.remove(&job_id);
                    }
                    if let Err(e) = joined && e.is_panic() {
                        tracing::error!(worker = %self.id(), "a job task panicked outside its handler");
                    }
                    next_poll = Instant::now();
                }
                _ = wake.notified() => {
                    next_poll = Instant::now();
                }
                _ = tokio::time::sleep_until(wake_at) => {}
            }
        }
    }

    async fn heartbeat(&self, running: &mut HashMap<JobId, AbortHandle>, service: bool) {
        if service && let Err(e) = self.register_self().await {
            tracing::warn!(worker = %self.id(), error = %e, "worker heartbeat failed");
        }
        if running.is_empty() {
            return;
        }
        let ids: Vec<JobId> = running.keys().copied().collect();
        let now = self.shared.clock.now();
        let lease_until = now
            + chrono::Duration::from_std(self.config.lease)
                .unwrap_or(chrono::Duration::seconds(30));
        match self
            .shared
            .store
            .job_heartbeat(self.id(), &ids, lease_until)
            .await
        {
            Ok(held) => {
                for id in ids {
                    if !held.contains(&id)
                        && !self.shared.is_finishing(id)
                        && let Some(abort) = running.get(&id)
                        && !abort.is_finished()
                    {
                        tracing::warn!(
                            job = id.get(),
                            "job cancelled or taken over elsewhere: aborting it"
                        );
                        abort.abort();
                        Counters::bump(&self.shared.counters.aborted);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(worker = %self.id(), error = %e, "lease heartbeat failed");
            }
        }
    }

    /// Aborts the jobs still running at the end of the grace period and hands them back to
    /// the queue at once (without consuming their attempt).
    async fn release(&self, tasks: &mut JoinSet<JobId>, running: &mut HashMap<JobId, AbortHandle>) {
        for abort in running.values() {
            abort.abort();
        }
        while tasks.join_next().await.is_some() {}
        let now = self.shared.clock.now();
        for id in running.keys() {
            match self
                .shared
                .store
                .job_snooze(
                    *id,
                    self.id(),
                    now,
                    "worker shut down before the job finished",
                )
                .await
            {
                Ok(true) => Counters::bump(&self.shared.counters.released),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(job = id.get(), error = %e, "could not release the job; the rescuer will")
                }
            }
        }
        running.clear();
    }
}

fn diff(after: WorkerStats, before: WorkerStats) -> WorkerStats {
    WorkerStats {
        claimed: after.claimed - before.claimed,
        completed: after.completed - before.completed,
        retried: after.retried - before.retried,
        failed: after.failed - before.failed,
        snoozed: after.snoozed - before.snoozed,
        aborted: after.aborted - before.aborted,
        released: after.released - before.released,
    }
}

/// Aborts the wrapped task when dropped (a timed-out or cancelled job never runs on).
struct AbortOnDrop(tokio::task::JoinHandle<JobOutcome>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs one attempt and applies its outcome, inside a `job` span (id, kind, account,
/// attempt) so everything the attempt logs, its handler's task and the outcome's write
/// included, names its job and account. The span has the error level so that it is on
/// whenever any event inside it is: under a `warn` filter a warning still names its job.
/// Returns the job id.
async fn execute(shared: Arc<Shared>, handler: Option<DynHandler>, ctx: JobContext) -> JobId {
    let span = tracing::error_span!(
        "job",
        id = ctx.job.id.get(),
        kind = %ctx.job.kind,
        account = ctx.job.account_id.map(AccountId::get),
        attempt = ctx.job.attempt,
    );
    execute_attempt(shared, handler, ctx, span.clone())
        .instrument(span)
        .await
}

async fn execute_attempt(
    shared: Arc<Shared>,
    handler: Option<DynHandler>,
    ctx: JobContext,
    span: tracing::Span,
) -> JobId {
    let id = ctx.job.id;
    let outcome = match &handler {
        None => JobOutcome::discard(format!(
            "no handler for job kind `{}` in this worker",
            ctx.job.kind
        )),
        Some(handler) => {
            let h = handler.clone();
            let c = ctx.clone();
            let mut task =
                AbortOnDrop(tokio::spawn(async move { h.run(c).await }.instrument(span)));
            match tokio::time::timeout(shared.job_timeout, &mut task.0).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(e)) if e.is_panic() => {
                    JobOutcome::retry(format!("job handler panicked: {}", panic_message(e)))
                }
                Ok(Err(_)) => JobOutcome::retry("job handler was cancelled"),
                Err(_) => {
                    task.0.abort();
                    // The attempt is over only once its task is: what it did is then final.
                    let _ = (&mut task.0).await;
                    handler.on_timeout(&ctx).await;
                    JobOutcome::retry(format!(
                        "timed out after {}s",
                        shared.job_timeout.as_secs_f64()
                    ))
                }
            }
        }
    };
    shared.finishing_mark(id, true);
    shared.apply(handler.as_deref(), &ctx, outcome).await;
    shared.finishing_mark(id, false);
    id
}

fn panic_message(e: tokio::task::JoinError) -> String {
    let payload = e.into_panic();
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

impl Shared {
    fn finishing_mark(&self, id: JobId, on: bool) {
        let mut set = self.finishing.lock().unwrap_or_else(|e| e.into_inner());
        if on {
            set.insert(id);
        } else {
            set.remove(&id);
        }
    }

    fn is_finishing(&self, id: JobId) -> bool {
        self.finishing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&id)
    }

    /// Applies an outcome through the store, retrying briefly when the database is
    /// unavailable (if it stays down the lease expires and the rescuer takes over).
    async fn apply(&self, handler: Option<&dyn JobHandler>, ctx: &JobContext, outcome: JobOutcome) {
        let job = &ctx.job;
        // The attempt's last progress, if not written yet: a completion carries it; a
        // failure or a snooze (rarer) writes it first.
        let last_progress = match (&outcome, ctx.take_held_progress()) {
            (JobOutcome::Complete { .. }, held) => held,
            (_, Some(progress)) => {
                ctx.write_progress(progress).await;
                None
            }
            (_, None) => None,
        };
        let mut delay = Duration::from_millis(100);
        for round in 0..6 {
            let now = self.clock.now();
            let result: crate::Result<()> = match &outcome {
                JobOutcome::Complete { result, next } => self
                    .store
                    .job_complete(JobCompletion {
                        id: job.id,
                        worker_id: self.worker_id.clone(),
                        finished_at: now,
                        result: result.clone(),
                        next: next.clone(),
                        progress: last_progress.clone(),
                    })
                    .await
                    .map(|held| {
                        if held {
                            Counters::bump(&self.counters.completed);
                            tracing::debug!(job = job.id.get(), kind = %job.kind, "job completed");
                        } else {
                            tracing::warn!(job = job.id.get(), kind = %job.kind, "job finished but was no longer ours (cancelled or rescued)");
                        }
                    }),
                JobOutcome::Snooze { until, reason } => self
                    .store
                    .job_snooze(job.id, &self.worker_id, *until, reason)
                    .await
                    .map(|held| {
                        if held {
                            Counters::bump(&self.counters.snoozed);
                            tracing::debug!(job = job.id.get(), kind = %job.kind, until = %until, reason = %reason, "job snoozed");
                        }
                    }),
                JobOutcome::Retry { error } | JobOutcome::Discard { error } => {
                    let retry_at = match outcome {
                        JobOutcome::Retry { .. } => Some(self.retry.retry_at(job.attempt, now)),
                        _ => None,
                    };
                    match self
                        .store
                        .job_fail(JobFailure {
                            id: job.id,
                            worker_id: self.worker_id.clone(),
                            at: now,
                            error: error.clone(),
                            retry_at,
                        })
                        .await
                    {
                        Ok(Some(JobState::Failed)) => {
                            Counters::bump(&self.counters.failed);
                            tracing::error!(job = job.id.get(), kind = %job.kind, attempt = job.attempt, error = %error, "job failed for good");
                            if let Some(h) = handler {
                                h.on_failed(ctx, error).await;
                            }
                            Ok(())
                        }
                        Ok(Some(_)) => {
                            Counters::bump(&self.counters.retried);
                            tracing::warn!(job = job.id.get(), kind = %job.kind, attempt = job.attempt, error = %error, "job attempt failed; will retry");
                            Ok(())
                        }
                        Ok(None) => {
                            tracing::warn!(job = job.id.get(), kind = %job.kind, "job failed but was no longer ours (cancelled or rescued)");
                            Ok(())
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            match result {
                Ok(()) => return,
                Err(e) if e.is_transient() && round < 5 => {
                    tracing::warn!(job = job.id.get(), error = %e, "recording the job outcome failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(e) => {
                    tracing::error!(job = job.id.get(), error = %e, "could not record the job outcome; the rescuer will retry the job");
                    return;
                }
            }
        }
    }
}

/// Whether a registered worker is certainly gone: it ran on this machine and its process no
/// longer exists (or is a zombie). Workers of other machines are judged by their heartbeats
/// only, so this says false for them.
pub fn worker_process_gone(worker: &WorkerInfo) -> bool {
    if worker.hostname != hostname() || worker.pid <= 0 {
        return false;
    }
    if !std::path::Path::new("/proc/self/stat").exists() {
        // No procfs: nothing can be proven.
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{}/stat", worker.pid)) {
        Err(_) => true,
        // `pid (comm) state …`: the state follows the last parenthesis.
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| matches!(state, "Z" | "X" | "x")),
    }
}

/// This machine's name, for worker ids.
fn hostname() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_default();
    let clean: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    if clean.is_empty() {
        "localhost".to_string()
    } else {
        clean
    }
}
