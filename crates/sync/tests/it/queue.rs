//! The queue worker against real stores: retries with backoff, chaining, snoozes, timeouts,
//! rescue of a lost worker's job, cancellation, graceful shutdown, one running job per
//! account across workers, bad kinds and panics.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::queue::{JobContext, JobHandler, JobOutcome, Worker, WorkerConfig};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use store::{
    AccountId, ClaimParams, DynStore, EncryptedToken, JobId, JobQuery, JobState, LoginKind,
    NewAccount, NewJob,
};
use sync::Clock;

use crate::both_dialects;
use crate::db::{Dialect, TestDb};

both_dialects!(
    retries_with_backoff_then_fails_for_good_and_reports_it,
    completion_inserts_the_next_job_in_the_same_transaction,
    snooze_does_not_consume_an_attempt,
    timeout_fails_the_attempt_and_stops_the_handler,
    a_lost_workers_job_is_rescued_and_runs_once,
    a_cancelled_running_job_is_aborted,
    shutdown_lets_running_jobs_finish_within_the_grace_period,
    shutdown_hands_back_jobs_that_outlive_the_grace_period,
    one_running_job_per_account_across_two_workers,
    unknown_kinds_and_panics_are_failed_attempts_not_crashes,
    a_warning_inside_a_job_names_its_job_and_account,
    progress_is_written_once_a_second_and_the_last_with_the_outcome,
);

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 30).unwrap()
}

/// What the test handlers saw.
#[derive(Default)]
pub(crate) struct Log {
    pub(crate) runs: Mutex<Vec<(JobId, String, i32)>>,
    pub(crate) failed: Mutex<Vec<(JobId, String)>>,
    pub(crate) finished: AtomicBool,
    pub(crate) intervals: Mutex<HashMap<AccountId, Vec<(std::time::Instant, std::time::Instant)>>>,
    pub(crate) snoozes: AtomicU32,
    /// The progress the store held right after each `set_progress` of a job.
    pub(crate) stored_progress: Mutex<Vec<(JobId, Option<serde_json::Value>)>>,
}

/// A handler whose behaviour is given by the job's args:
/// `{"fail_until": n}` fails attempts below n (retry), `{"discard": true}` discards,
/// `{"sleep_ms": n}` sleeps first, `{"next": ["kind", ...]}` chains the next kind,
/// `{"snooze_once": true}` snoozes the first run for 10 minutes, `{"panic": true}` panics,
/// `{"warn": "text"}` logs a warning, `{"progress_steps": n, "progress_gap_ms": m}` sets
/// progress `{"done": 1..=n}` (m ms apart, if m is given) and logs what the store holds
/// after each and after each wait.
pub(crate) struct TestHandler {
    pub(crate) kind: &'static str,
    pub(crate) log: Arc<Log>,
}

#[async_trait::async_trait]
impl JobHandler for TestHandler {
    fn kind(&self) -> &str {
        self.kind
    }

    async fn run(&self, ctx: JobContext) -> JobOutcome {
        let job = &ctx.job;
        let started = std::time::Instant::now();
        self.log
            .runs
            .lock()
            .unwrap()
            .push((job.id, job.kind.clone(), job.attempt));
        let args = &job.args;
        if args["panic"].as_bool() == Some(true) && job.attempt == 1 {
            panic!("boom in test handler");
        }
        if args["snooze_once"].as_bool() == Some(true)
            && self.log.snoozes.fetch_add(1, Ordering::SeqCst) == 0
        {
            return JobOutcome::Snooze {
                until: ctx.now() + chrono::Duration::minutes(10),
                reason: "test snooze".into(),
            };
        }
        if let Some(text) = args["warn"].as_str() {
            tracing::warn!("{text}");
        }
        for done in 1..=args["progress_steps"].as_u64().unwrap_or(0) {
            ctx.set_progress(json!({ "done": done })).await;
            self.log_stored_progress(&ctx).await;
            if let Some(gap) = args["progress_gap_ms"].as_u64() {
                tokio::time::sleep(Duration::from_millis(gap)).await;
                self.log_stored_progress(&ctx).await;
            }
        }
        if let Some(ms) = args["sleep_ms"].as_u64() {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if let Some(account) = job.account_id {
            self.log
                .intervals
                .lock()
                .unwrap()
                .entry(account)
                .or_default()
                .push((started, std::time::Instant::now()));
        }
        if args["discard"].as_bool() == Some(true) {
            return JobOutcome::discard("permanently broken");
        }
        if let Some(n) = args["fail_until"].as_i64()
            && (job.attempt as i64) < n
        {
            return JobOutcome::retry(format!("attempt {} failed", job.attempt));
        }
        self.log.finished.store(true, Ordering::SeqCst);
        let mut next = Vec::new();
        if let Some(kinds) = args["next"].as_array()
            && let Some((first, rest)) = kinds.split_first()
        {
            let mut job_next = new_job(first.as_str().unwrap(), json!({ "next": rest }), ctx.now());
            job_next.unique_key = job.unique_key.clone();
            job_next.account_id = job.account_id;
            next.push(job_next);
        }
        JobOutcome::Complete {
            result: Some(json!({ "ok": job.kind })),
            next,
        }
    }

    async fn on_failed(&self, ctx: &JobContext, error: &str) {
        self.log
            .failed
            .lock()
            .unwrap()
            .push((ctx.job.id, error.to_string()));
    }
}

impl TestHandler {
    async fn log_stored_progress(&self, ctx: &JobContext) {
        let stored = ctx
            .store
            .job_get(ctx.job.id)
            .await
            .unwrap()
            .unwrap()
            .progress;
        self.log
            .stored_progress
            .lock()
            .unwrap()
            .push((ctx.job.id, stored));
    }
}

pub(crate) fn new_job(kind: &str, args: serde_json::Value, now: DateTime<Utc>) -> NewJob {
    NewJob::new("test", kind, args, now)
}

pub(crate) fn config() -> WorkerConfig {
    WorkerConfig {
        queues: vec!["test".into()],
        concurrency: 2,
        ..WorkerConfig::default()
    }
}

pub(crate) fn worker(
    store: &DynStore,
    config: WorkerConfig,
    clock: &Clock,
    log: &Arc<Log>,
) -> Worker {
    let mut w = Worker::new(store.clone(), config, clock.clone()).unwrap();
    for kind in ["a", "b", "c", "d"] {
        w.register(Arc::new(TestHandler {
            kind,
            log: log.clone(),
        }));
    }
    w
}

/// Inserts a job of `kind` on the test queue, due at the clock's now.
async fn insert(store: &DynStore, kind: &str, args: serde_json::Value, clock: &Clock) -> JobId {
    store
        .job_insert(new_job(kind, args, clock.now()))
        .await
        .unwrap()
        .id()
}

/// Waits until the job is running.
async fn until_running(store: &DynStore, id: JobId) {
    while store.job_get(id).await.unwrap().unwrap().state != JobState::Running {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) async fn account(store: &DynStore, n: i64) -> AccountId {
    store
        .account_upsert(NewAccount {
            ig_user_id: format!("1784{n:010}"),
            username: format!("acct{n}"),
            name: None,
            account_type: store::AccountType::Business,
            login: LoginKind::Facebook,
            page_id: None,
            timezone: None,
            token: EncryptedToken(vec![1, 2, 3]),
            token_expires_at: None,
            now: Utc::now(),
        })
        .await
        .unwrap()
        .id
}

async fn retries_with_backoff_then_fails_for_good_and_reports_it(d: Dialect) {
    let db = TestDb::new(d).await;
    let clock = Clock::manual(t0());
    let log = Arc::new(Log::default());
    let w = worker(&db.store, config(), &clock, &log);
    let id = insert(&db.store, "a", json!({ "fail_until": 99 }), &clock).await;

    // Attempt 1 fails: retried after 60 s ± 20 %.
    let stats = w.run_until_idle().await.unwrap();
    assert_eq!((stats.claimed, stats.retried, stats.failed), (1, 1, 0));
    let job = db.store.job_get(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Pending);
    let wait = (job.run_at - clock.now()).num_milliseconds();
    assert!((48_000..=72_000).contains(&wait), "first backoff {wait} ms");
    assert_eq!(job.errors.len(), 1);
    assert_eq!(job.errors[0].error, "attempt 1 failed");
    assert_eq!(job.errors[0].worker_id.as_deref(), Some(w.id()));

    // Not due yet: nothing runs.
    assert_eq!(w.run_until_idle().await.unwrap().claimed, 0);

    // Attempt 2 fails: retried after 120 s ± 20 %.
    clock.advance(chrono::Duration::seconds(73));
    w.run_until_idle().await.unwrap();
    let job = db.store.job_get(id).await.unwrap().unwrap();
    let wait = (job.run_at - clock.now()).num_milliseconds();
    assert!(
        (96_000..=144_000).contains(&wait),
        "second backoff {wait} ms"
    );
    assert!(log.failed.lock().unwrap().is_empty());

    // Attempt 3 is the last: failed for good, with every error kept, and reported once.
    clock.advance(chrono::Duration::seconds(145));
    let stats = w.run_until_idle().await.unwrap();
    assert_eq!((stats.claimed, stats.failed), (1, 1));
    let job = db.store.job_get(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.attempt, 3);
    assert_eq!(
        job.errors.iter().map(|e| e.attempt).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        *log.failed.lock().unwrap(),
        vec![(id, "attempt 3 failed".to_string())]
    );
    clock.advance(chrono::Duration::hours(1));
    assert_eq!(w.run_until_idle().await.unwrap().claimed, 0);

    // A discarded job fails at once, without using its other attempts.
    let id = insert(&db.store, "b", json!({ "discard": true }), &clock).await;
    w.run_until_idle().await.unwrap();
    let job = db.store.job_get(id).await.unwrap().unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Failed, 1));
    assert_eq!(log.failed.lock().unwrap().len(), 2);
    db.teardown().await;
}

async fn completion_inserts_the_next_job_in_the_same_transaction(d: Dialect) {
    let db = TestDb::new(d).await;
    let clock = Clock::manual(t0());
    let log = Arc::new(Log::default());
    let w = worker(&db.store, config(), &clock, &log);
    let acct = account(&db.store, 1).await;
    let mut first = new_job("a", json!({ "next": ["b", "c", "d"] }), clock.now());
    first.unique_key = Some(format!("chain:{acct}"));
    first.account_id = Some(acct);
    let first_id = db.store.job_insert(first.clone()).await.unwrap();
    assert!(matches!(first_id, store::InsertOutcome::Inserted(_)));
    // A second request while the chain is active merges into it.
    let again = db.store.job_insert(first).await.unwrap();
    assert_eq!(again, store::InsertOutcome::Merged(first_id.id()));

    let stats = w.run_until_idle().await.unwrap();
    assert_eq!(stats.completed, 4);
    let kinds: Vec<String> = log
        .runs
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.1.clone())
        .collect();
    assert_eq!(kinds, ["a", "b", "c", "d"]);
    let page = db
        .store
        .job_list(JobQuery {
            account_id: Some(acct),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 4);
    assert!(page.jobs.iter().all(|j| j.state == JobState::Completed));
    db.teardown().await;
}

async fn snooze_does_not_consume_an_attempt(d: Dialect) {
    let db = TestDb::new(d).await;
    let clock = Clock::manual(t0());
    let log = Arc::new(Log::default());
    let w = worker(&db.store, config(), &clock, &log);
    let mut job = new_job("a", json!({ "snooze_once": true }), clock.now());
    job.max_attempts = 1;
    let id = db.store.job_insert(job).await.unwrap().id();
    let stats = w.run_until_idle().await.unwrap();
    assert_eq!((stats.snoozed, stats.completed), (1, 0));
    let job = db.store.job_get(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Pending);
    assert_eq!(job.run_at, clock.now() + chrono::Duration::minutes(10));
    clock.advance(chrono::Duration::minutes(10));
    let stats = w.run_until_idle().await.unwrap();
    assert_eq!(stats.completed, 1);
    let job = db.store.job_get(id).await.unwrap().unwrap();
    // Its only attempt was still available after the snooze.
    assert_eq!((job.state, job.attempt), (JobState::Completed, 1));
    db.teardown().await;
}

async fn timeout_fails_the_attempt_and_stops_the_handler(d: Dialect) {
    let db = TestDb::new(d).await;
    let clock = Clock::manual(t0());
    let log = Arc::new(Log::default());
    let mut cfg = config();
    cfg.job_timeout = Duration::from_millis(200);
    let w = worker(&db.store, cfg, &clock, &log);
    let id = insert(&db.store, "a", json!({ "sleep_ms": 1500 }), &clock).await;
    let stats = w.run_until_idle().await.unwrap();
    assert_eq!(stats.retried, 1);
    let job = db.store.job_get(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Pending);
    assert!(
        job.errors[0].error.contains("timed out"),
        "{:?}",
        job.errors
    );
    // The timed-out handler does not go on running in the background.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert!(!log.finished.load(Ordering::SeqCst));
    db.teardown().await;
}

async fn a_lost_workers_job_is_rescued_and_runs_once(d: Dialect) {
    let db = TestDb::new(d).await;
    let clock = Clock::manual(t0());
    let log = Arc::new(Log::default());
    let acct = account(&db.store, 7).await;
    let mut job = new_job("a", json!({}), clock.now());
    job.account_id = Some(acct);
    let id = db.store.job_insert(job).await.unwrap().id();
    // A worker claims the job, then vanishes (kill -9): no heartbeat, no outcome.
    let ghost = db
        .store
        .job_claim(ClaimParams {
            queues: vec!["test".into()],
            worker_id: "igsync-ghost-1-dead".into(),
            limit: 1,
            now: clock.now(),
            lease_until: clock.now() + chrono::Duration::seconds(30),
        })
        .await
        .unwrap();
    assert_eq!(ghost.len(), 1);

    // Another worker (another connection, as after a restart) cannot take it while leased.
    let other = db.connect_again().await;
    let w = worker(&other, config(), &clock, &log);
    assert_ne!(w.id(), "igsync-ghost-1-dead");
    w.maintain().await.unwrap();
    assert_eq!(w.run_until_idle().await.unwrap().claimed, 0);

    // Once the lease expires the rescuer puts it back and it completes, once.
    clock.advance(chrono::Duration::seconds(31));
    w.maintain().await.unwrap();
    let stats = w.run_until_idle().await.unwrap();
    assert_eq!((stats.claimed, stats.completed), (1, 1));
    let job = db.store.job_get(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Completed);
    assert_eq!(job.attempt, 2);
    assert_eq!(job.errors.len(), 1);
    assert!(
        job.errors[0].error.to_lowercase().contains("lost"),
        "{:?}",
        job.errors
    );
    assert_eq!(log.runs.lock().unwrap().len(), 1);
    db.teardown().await;
}

async fn a_cancelled_running_job_is_aborted(d: Dialect) {
    let db = TestDb::new(d).await;
    let clock = Clock::system();
    let log = Arc::new(Log::default());
    let mut cfg = config();
    cfg.lease = Duration::from_millis(600);
    let w = worker(&db.store, cfg, &clock, &log);
    let id = insert(&db.store, "a", json!({ "sleep_ms": 4000 }), &clock).await;
    let store = db.store.clone();
    let canceller = tokio::spawn(async move {
        until_running(&store, id).await;
        store
            .jobs_cancel(store::JobSelector::Ids(vec![id]), Utc::now())
            .await
            .unwrap()
    });
    let stats = w.run_until_idle().await.unwrap();
    assert_eq!(canceller.await.unwrap(), 1);
    assert_eq!(stats.aborted, 1);
    assert_eq!(stats.completed, 0);
    let job = db.store.job_get(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Cancelled);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!log.finished.load(Ordering::SeqCst));
    db.teardown().await;
}

async fn shutdown_lets_running_jobs_finish_within_the_grace_period(d: Dialect) {
    let db = TestDb::new(d).await;
    let clock = Clock::system();
    let log = Arc::new(Log::default());
    let mut cfg = config();
    cfg.shutdown_grace = Duration::from_secs(20);
    let w = worker(&db.store, cfg, &clock, &log);
    let id = insert(&db.store, "a", json!({ "sleep_ms": 700 }), &clock).await;
    let shutdown = until_running(&db.store, id);
    let stats = w.run(shutdown).await.unwrap();
    assert_eq!((stats.completed, stats.released), (1, 0));
    assert_eq!(
        db.store.job_get(id).await.unwrap().unwrap().state,
        JobState::Completed
    );
    // The worker registered itself while running and unregistered on the way out.
    let seen = db
        .store
        .worker_list(Utc::now() - chrono::Duration::hours(1))
        .await
        .unwrap();
    assert!(seen.iter().all(|it| it.id != w.id()), "{seen:?}");
    db.teardown().await;
}

async fn shutdown_hands_back_jobs_that_outlive_the_grace_period(d: Dialect) {
    let db = TestDb::new(d).await;
    let clock = Clock::system();
    let log = Arc::new(Log::default());
    let mut cfg = config();
    cfg.shutdown_grace = Duration::from_millis(200);
    let w = worker(&db.store, cfg, &clock, &log);
    let id = insert(&db.store, "a", json!({ "sleep_ms": 5000 }), &clock).await;
    let shutdown = until_running(&db.store, id);
    let stats = w.run(shutdown).await.unwrap();
    assert_eq!((stats.completed, stats.released), (0, 1));
    let job = db.store.job_get(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Pending);
    assert!(job.run_at <= Utc::now());
    // Handing back did not consume the attempt.
    assert_eq!(job.attempt, 0);
    assert!(!log.finished.load(Ordering::SeqCst));
    db.teardown().await;
}

async fn one_running_job_per_account_across_two_workers(d: Dialect) {
    let db = TestDb::new(d).await;
    let clock = Clock::system();
    let log = Arc::new(Log::default());
    let mut accounts = Vec::new();
    for n in 0..4 {
        accounts.push(account(&db.store, n).await);
    }
    let mut jobs = Vec::new();
    for i in 0..40 {
        let mut job = new_job("a", json!({ "sleep_ms": 15 + (i % 4) * 10 }), clock.now());
        job.account_id = Some(accounts[i as usize % 4]);
        jobs.push(job);
    }
    db.store.job_insert_many(jobs).await.unwrap();
    let mut cfg = config();
    cfg.concurrency = 4;
    cfg.poll_interval = Duration::from_millis(20);
    let other = db.connect_again().await;
    let w1 = worker(&db.store, cfg.clone(), &clock, &log);
    let w2 = worker(&other, cfg, &clock, &log);
    let (a, b) = tokio::join!(w1.run_until_idle(), w2.run_until_idle());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.completed + b.completed, 40);
    assert_eq!(log.runs.lock().unwrap().len(), 40);
    let intervals = log.intervals.lock().unwrap().clone();
    for (acct, list) in intervals.iter() {
        let mut list = list.clone();
        list.sort();
        for pair in list.windows(2) {
            assert!(
                pair[1].0 >= pair[0].1,
                "account {acct}: two jobs ran at the same time"
            );
        }
    }
    db.teardown().await;
}

async fn unknown_kinds_and_panics_are_failed_attempts_not_crashes(d: Dialect) {
    let db = TestDb::new(d).await;
    let clock = Clock::manual(t0());
    let log = Arc::new(Log::default());
    let w = worker(&db.store, config(), &clock, &log);
    let unknown = insert(&db.store, "no_such_kind", json!({}), &clock).await;
    let panics = insert(&db.store, "a", json!({ "panic": true }), &clock).await;
    w.run_until_idle().await.unwrap();
    let job = db.store.job_get(unknown).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Failed);
    assert!(
        job.errors[0]
            .error
            .contains("no handler for job kind `no_such_kind`")
    );
    let job = db.store.job_get(panics).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Pending);
    assert!(
        job.errors[0].error.contains("boom in test handler"),
        "{:?}",
        job.errors
    );
    clock.advance(chrono::Duration::minutes(2));
    w.run_until_idle().await.unwrap();
    assert_eq!(
        db.store.job_get(panics).await.unwrap().unwrap().state,
        JobState::Completed
    );
    db.teardown().await;
}

async fn a_warning_inside_a_job_names_its_job_and_account(d: Dialect) {
    let recorder = spans::install();
    let db = TestDb::new(d).await;
    let clock = Clock::manual(t0());
    let log = Arc::new(Log::default());
    let w = worker(&db.store, config(), &clock, &log);
    let acct = account(&db.store, 7).await;
    let marker = format!("warning from job of {d:?}");
    let mut job = new_job("a", json!({ "warn": marker }), clock.now());
    job.account_id = Some(acct);
    let id = db.store.job_insert(job).await.unwrap().id();
    w.run_until_idle().await.unwrap();

    let seen = recorder.events_containing(&marker);
    assert_eq!(seen.len(), 1, "{seen:?}");
    let fields = &seen[0];
    assert_eq!(fields.get("id"), Some(&id.to_string()), "{fields:?}");
    assert_eq!(
        fields.get("kind").map(String::as_str),
        Some("a"),
        "{fields:?}"
    );
    assert_eq!(fields.get("account"), Some(&acct.to_string()), "{fields:?}");
    assert_eq!(
        fields.get("attempt").map(String::as_str),
        Some("1"),
        "{fields:?}"
    );
}

/// A process-wide recorder of the fields of the `job` span around each event.
mod spans {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex, OnceLock};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    type Fields = HashMap<String, String>;

    #[derive(Default)]
    pub(crate) struct Recorder {
        next: AtomicU64,
        jobs: Mutex<HashMap<u64, Fields>>,
        events: Mutex<Vec<(String, Fields)>>,
    }

    thread_local! {
        static ENTERED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
    }

    struct Collect<'a>(&'a mut Fields);

    impl Visit for Collect<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0
                .insert(field.name().to_string(), format!("{value:?}"));
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.insert(field.name().to_string(), value.to_string());
        }
    }

    /// The recorder, installed as the global subscriber on first use.
    pub(crate) fn install() -> Arc<Recorder> {
        static RECORDER: OnceLock<Arc<Recorder>> = OnceLock::new();
        RECORDER
            .get_or_init(|| {
                let recorder = Arc::new(Recorder::default());
                tracing::subscriber::set_global_default(Handle(recorder.clone()))
                    .expect("no other global subscriber in this test binary");
                recorder
            })
            .clone()
    }

    impl Recorder {
        /// The fields of the job span around each event whose message contains `text`.
        pub(crate) fn events_containing(&self, text: &str) -> Vec<Fields> {
            let events = self.events.lock().unwrap();
            events
                .iter()
                .filter(|(message, _)| message.contains(text))
                .map(|(_, fields)| fields.clone())
                .collect()
        }
    }

    struct Handle(Arc<Recorder>);

    impl Subscriber for Handle {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            let id = self.0.next.fetch_add(1, Ordering::Relaxed) + 1;
            if span.metadata().name() == "job" {
                let mut fields = Fields::new();
                span.record(&mut Collect(&mut fields));
                self.0.jobs.lock().unwrap().insert(id, fields);
            }
            Id::from_u64(id)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut own = Fields::new();
            event.record(&mut Collect(&mut own));
            let Some(message) = own.get("message").cloned() else {
                return;
            };
            let jobs = self.0.jobs.lock().unwrap();
            let around = ENTERED.with(|entered| {
                entered
                    .borrow()
                    .iter()
                    .rev()
                    .find_map(|id| jobs.get(id).cloned())
            });
            drop(jobs);
            self.0
                .events
                .lock()
                .unwrap()
                .push((message, around.unwrap_or_default()));
        }
        fn enter(&self, span: &Id) {
            ENTERED.with(|entered| entered.borrow_mut().push(span.into_u64()));
        }
        fn exit(&self, span: &Id) {
            ENTERED.with(|entered| {
                let mut entered = entered.borrow_mut();
                if let Some(at) = entered.iter().rposition(|id| *id == span.into_u64()) {
                    entered.remove(at);
                }
            });
        }
    }
}

/// A job's progress is written while it runs at most once a second, from a second after its
/// claim on: progress set sooner is written when that second is up even if none follows,
/// and what was not written yet is stored with the outcome, so a finished job shows the last
/// progress of its attempt whether it completed or failed.
async fn progress_is_written_once_a_second_and_the_last_with_the_outcome(d: Dialect) {
    let db = TestDb::new(d).await;
    let clock = Clock::manual(t0());
    let log = Arc::new(Log::default());
    let w = worker(&db.store, config(), &clock, &log);
    let quick = insert(&db.store, "a", json!({ "progress_steps": 3 }), &clock).await;
    let slow = insert(
        &db.store,
        "b",
        json!({ "progress_steps": 2, "progress_gap_ms": 1500 }),
        &clock,
    )
    .await;
    let mut broken = new_job(
        "c",
        json!({ "progress_steps": 2, "discard": true }),
        clock.now(),
    );
    broken.max_attempts = 1;
    let broken = db.store.job_insert(broken).await.unwrap().id();
    let stats = w.run_until_idle().await.unwrap();
    assert_eq!((stats.completed, stats.failed), (2, 1));

    let seen = |id: JobId| -> Vec<Option<serde_json::Value>> {
        log.stored_progress
            .lock()
            .unwrap()
            .iter()
            .filter(|(j, _)| *j == id)
            .map(|(_, p)| p.clone())
            .collect()
    };
    // Within its first second nothing was written: no statement per step.
    assert_eq!(seen(quick), vec![None, None, None]);
    assert_eq!(seen(broken), vec![None, None]);
    // The slow job's first progress, set at once, was written when its first second was up
    // though nothing followed it for 1.5 s; the second, after its wait, is stored too.
    let slow_seen = seen(slow);
    assert_eq!(slow_seen.len(), 4, "{slow_seen:?}");
    assert_eq!(slow_seen[0], None);
    assert_eq!(slow_seen[1], Some(json!({ "done": 1 })));
    assert_eq!(slow_seen[3], Some(json!({ "done": 2 })));

    for (id, state, last) in [
        (quick, JobState::Completed, 3),
        (slow, JobState::Completed, 2),
        (broken, JobState::Failed, 2),
    ] {
        let job = db.store.job_get(id).await.unwrap().unwrap();
        assert_eq!(job.state, state, "{job:?}");
        assert_eq!(job.progress, Some(json!({ "done": last })), "{job:?}");
    }
    db.teardown().await;
}
