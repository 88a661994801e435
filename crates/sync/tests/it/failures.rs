//! Syncs when things go wrong: 20 % API faults, a rate-limited account, a rejected token, a
//! worker killed mid-chain, two workers sharing the queue, a chain cancelled by hand, steps
//! that run past the job timeout.

use std::time::Duration as StdDuration;

use chrono::Duration;
use store::{AccountId, ClaimParams, JobSelector, JobState, RunStatus, StepStatus, SyncStatus};
use sync::{Clock, Engine, EngineConfig, Plan};

use crate::both_dialects;
use crate::db::Dialect;
use crate::e2e::assert_matches_truth;
use crate::env::{Env, sim_config, test_settings};

both_dialects!(
    api_faults_end_in_complete_data_or_a_clear_failure,
    a_rate_limited_account_is_snoozed_and_the_others_go_on,
    a_rejected_token_marks_the_account_needs_reauth_at_once,
    a_killed_workers_chain_resumes_after_restart_without_duplicates,
    two_workers_never_run_the_same_account_at_once,
    a_cancelled_chain_leaves_the_account_idle,
    the_calls_of_timed_out_attempts_are_counted,
    a_retrying_chain_shows_its_last_error_and_next_attempt,
);

async fn api_faults_end_in_complete_data_or_a_clear_failure(d: Dialect) {
    let mut sim = sim_config(31, 4, 120);
    sim.fault_rate = 0.2;
    let env = Env::new(d, sim, test_settings()).await;
    env.engine.enqueue_all(Plan::Full, "manual").await.unwrap();
    env.run_until_settled(40).await;
    let faults: u64 = env.sim.stats().faults_by_kind.values().sum();
    let retries: u64 = env.clients.values().map(|c| c.stats().retries).sum();
    let requests = env.sim.stats().requests_total;
    // Faults were injected and the client retried them. Not every fault is followed by a
    // client retry (one on a request's last attempt, or one the job's own retry answers), so
    // what matters is below: each account ends complete and equal to the truth, or failed
    // with its reason.
    assert!(
        faults >= 3 && retries >= 3,
        "faults were injected: {faults} of {requests}, {retries} retries"
    );
    let mut succeeded = 0;
    for (id, sim_account) in &env.accounts {
        let account = env.db.store.account_get(*id).await.unwrap().unwrap();
        let runs = env.runs(Some(*id)).await;
        assert_eq!(runs.len(), 1);
        match account.status {
            SyncStatus::Idle => {
                succeeded += 1;
                assert_eq!(runs[0].status, RunStatus::Succeeded);
                let truth = env.truth(sim_account);
                assert_matches_truth(&env, *id, &truth).await;
                let (_, steps) = env
                    .db
                    .store
                    .sync_run_get(runs[0].id)
                    .await
                    .unwrap()
                    .unwrap();
                assert!(
                    steps
                        .iter()
                        .all(|s| s.status == StepStatus::Succeeded && s.complete == Some(true)),
                    "{steps:?}"
                );
            }
            SyncStatus::Failed => {
                assert_eq!(runs[0].status, RunStatus::Failed);
                let error = account.last_sync_error.unwrap_or_default();
                assert!(error.starts_with("step "), "a clear error: {error}");
            }
            other => panic!("account left {other:?}"),
        }
    }
    assert!(succeeded >= 1);
    env.teardown().await;
}

async fn a_rate_limited_account_is_snoozed_and_the_others_go_on(d: Dialect) {
    let mut sim = sim_config(32, 3, 10);
    sim.tight_budget_accounts = 1;
    sim.tight_budget = 60;
    let mut settings = test_settings();
    settings.account_insights_backfill_days = 3;
    let env = Env::new(d, sim, settings).await;
    let (tight, _) = env.account(2);
    env.engine.enqueue_all(Plan::Full, "manual").await.unwrap();
    env.engine.run_until_idle().await.unwrap();

    for n in 0..2 {
        let (id, _) = env.account(n);
        env.idle_account(id).await;
    }
    let account = env.db.store.account_get(tight).await.unwrap().unwrap();
    assert_eq!(account.status, SyncStatus::Syncing);
    let jobs = env.jobs_of(tight).await;
    let waiting = jobs.last().unwrap();
    assert_eq!(waiting.state, JobState::Pending);
    assert!(
        waiting.run_at > env.now() + Duration::seconds(30),
        "{waiting:?}"
    );
    assert_eq!(waiting.attempt, 0, "a snooze does not use an attempt");
    assert!(waiting.errors.is_empty());
    // The job names its run, and its progress the stage's step that carries the error.
    let progress = waiting.progress.as_ref().unwrap();
    let run_id = waiting.run_id.unwrap();
    let (_, steps) = env.db.store.sync_run_get(run_id).await.unwrap().unwrap();
    let step = steps
        .iter()
        .find(|s| s.step == progress["step"].as_str().unwrap())
        .unwrap();
    assert!(
        step.error.as_deref().unwrap_or("").contains("rate limited"),
        "{step:?}"
    );
    assert!(env.sim.stats().throttled_total >= 1);
    let pressure = env
        .db
        .store
        .alert_list(store::AlertQuery {
            account_id: Some(tight),
            kind: Some("rate_limit_pressure".into()),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        pressure.len(),
        1,
        "usage at 100 % raises one pressure alert"
    );

    // Access is regained: the chain resumes where it stopped and completes.
    env.sim.reset_budgets();
    env.run_until_settled(5).await;
    env.idle_account(tight).await;
    let kinds: Vec<String> = env
        .jobs_of(tight)
        .await
        .iter()
        .map(|j| j.kind.clone())
        .collect();
    // The same job went on with the same run, each step done once.
    assert_eq!(kinds, ["sync_account"]);
    let runs = env.runs(Some(tight)).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, run_id);
    let (_, steps) = env.db.store.sync_run_get(run_id).await.unwrap().unwrap();
    assert_eq!(steps.len(), Plan::Full.steps().len());
    assert!(
        steps.iter().all(|s| s.status == StepStatus::Succeeded),
        "{steps:?}"
    );
    env.teardown().await;
}

async fn a_rejected_token_marks_the_account_needs_reauth_at_once(d: Dialect) {
    let env = Env::new(d, sim_config(33, 2, 10), test_settings()).await;
    let (bad, bad_sim) = env.account(0);
    env.sim.expire_token(&bad_sim.ig_user_id);
    env.engine.enqueue_all(Plan::Full, "manual").await.unwrap();
    env.run_until_settled(3).await;

    let account = env.db.store.account_get(bad).await.unwrap().unwrap();
    assert_eq!(account.status, SyncStatus::NeedsReauth);
    assert!(
        account
            .last_sync_error
            .as_deref()
            .unwrap()
            .contains("authorize the account again")
    );
    let jobs = env.jobs_of(bad).await;
    assert_eq!(jobs.len(), 1);
    let sync = &jobs[0];
    assert_eq!(sync.kind, "sync_account");
    assert_eq!(
        (sync.state, sync.attempt),
        (JobState::Failed, 1),
        "no blind retries"
    );
    assert!(sync.errors[0].error.contains("190"), "{:?}", sync.errors);
    let runs = env.runs(Some(bad)).await;
    assert_eq!(runs[0].status, RunStatus::Failed);
    // One wording everywhere, naming the step once.
    let said = runs[0].error.as_deref().unwrap();
    assert!(
        said.starts_with("step profile failed: Meta rejected the access token"),
        "{said}"
    );
    assert_eq!(said.matches("step profile").count(), 1, "{said}");
    assert_eq!(account_error(&env, bad).await, said);
    let alerts = env
        .db
        .store
        .alert_list(store::AlertQuery {
            account_id: Some(bad),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let kinds: Vec<&str> = alerts.iter().map(|a| a.alert.kind.as_str()).collect();
    assert_eq!(kinds, ["needs_reauth"]);
    assert_eq!(alerts[0].alert.severity, store::Severity::Critical);
    let (good, _) = env.account(1);
    let account = env.db.store.account_get(good).await.unwrap().unwrap();
    assert_eq!(account.status, SyncStatus::Idle);
    // Manual syncs are refused until the account is authorized again.
    let err = env
        .engine
        .enqueue_sync(bad, Plan::Full, "manual")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("re-authorization"), "{err}");
    env.teardown().await;
}

async fn a_killed_workers_chain_resumes_after_restart_without_duplicates(d: Dialect) {
    let env = Env::new(d, sim_config(34, 1, 30), test_settings()).await;
    let (a, sim_account) = env.account(0);
    env.engine
        .enqueue_sync(a, Plan::Full, "manual")
        .await
        .unwrap();
    // The first attempt stores the profile and fails at the media step.
    env.sim.set_fault_path(Some("/media"));
    env.sim.set_faults(
        1.0,
        simulator::FaultMix::only(&[simulator::FaultKind::ServerError]),
    );
    let worker = env.engine.worker().unwrap();
    worker.run_once().await.unwrap();
    env.sim.set_faults(0.0, simulator::FaultMix::default());
    let retry_at = env.jobs_of(a).await[0].run_at;
    env.advance_engine(retry_at - env.now() + Duration::milliseconds(1));
    // A worker claims the second attempt and is killed (no heartbeat, no outcome).
    let claimed = env
        .db
        .store
        .job_claim(ClaimParams {
            queues: vec!["instagram-sync".into()],
            worker_id: "igsync-crashed-1-0".into(),
            limit: 4,
            now: env.now(),
            lease_until: env.now() + Duration::seconds(30),
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].kind, "sync_account");
    drop(worker);

    // After a restart (a new process: another connection and worker id), nothing can run
    // until the lease expires; then the rescuer hands the job back and the chain completes
    // from the media step.
    let restarted = env.second_engine(test_settings()).await;
    assert_eq!(restarted.run_until_idle().await.unwrap().claimed, 0);
    env.advance_engine(Duration::seconds(31));
    restarted.maintain().await.unwrap();
    let stats = restarted.run_until_idle().await.unwrap();
    assert_eq!((stats.completed, stats.failed), (1, 0));

    let jobs = env.jobs_of(a).await;
    assert_eq!(jobs.len(), 1);
    let sync = &jobs[0];
    assert_eq!((sync.state, sync.attempt), (JobState::Completed, 3));
    assert!(
        sync.errors[1].error.to_lowercase().contains("lost"),
        "{:?}",
        sync.errors
    );
    let truth = env.truth(sim_account);
    assert_matches_truth(&env, a, &truth).await;
    let totals = env.db.store.totals().await.unwrap();
    assert_eq!(totals.media, truth.media.len() as i64);
    assert_eq!(totals.profile_snapshots, 1);
    assert_eq!(totals.sync_runs, 1);
    let account = env.db.store.account_get(a).await.unwrap().unwrap();
    assert_eq!(account.status, SyncStatus::Idle);
    env.teardown().await;
}

async fn two_workers_never_run_the_same_account_at_once(d: Dialect) {
    let mut sim = sim_config(35, 6, 15);
    sim.latency = StdDuration::from_millis(5);
    let env = Env::new(d, sim, test_settings()).await;
    // Real time, so the jobs' start and finish times can be compared.
    let engine = |store| {
        Engine::new(EngineConfig {
            store,
            graph: env.clients.clone(),
            cipher: Some(env.cipher.clone()),
            settings: sync::SyncSettings {
                concurrency: 2,
                ..test_settings()
            },
            clock: Clock::system(),
        })
        .unwrap()
    };
    let one = engine(env.db.store.clone());
    let two = engine(env.db.connect_again().await);
    one.enqueue_all(Plan::Full, "manual").await.unwrap();
    two.enqueue_all(Plan::Light, "manual").await.unwrap();
    // A monitor takes snapshots of the running jobs while both workers run.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let monitor = {
        let store = env.db.connect_again().await;
        let done = done.clone();
        tokio::spawn(async move {
            let (mut snapshots, mut busy) = (0u64, 0u64);
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let running = store
                    .job_list(store::JobQuery {
                        states: vec![JobState::Running],
                        limit: 100,
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                let mut accounts: Vec<AccountId> =
                    running.jobs.iter().filter_map(|j| j.account_id).collect();
                let n = accounts.len();
                accounts.sort();
                accounts.dedup();
                assert_eq!(
                    accounts.len(),
                    n,
                    "two running jobs of one account: {:?}",
                    running.jobs
                );
                snapshots += 1;
                if n >= 2 {
                    busy += 1;
                }
                tokio::time::sleep(StdDuration::from_millis(2)).await;
            }
            (snapshots, busy)
        })
    };
    let (a, b) = tokio::join!(one.run_until_idle(), two.run_until_idle());
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (snapshots, busy) = monitor.await.unwrap();
    assert!(
        snapshots > 5 && busy > 0,
        "{snapshots} snapshots, {busy} with parallel jobs"
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(
        a.completed > 0 && b.completed > 0,
        "both workers worked: {a:?} {b:?}"
    );
    assert_eq!(a.failed + b.failed, 0);
    let mut total = 0;
    for (id, _) in &env.accounts {
        let jobs = env.jobs_of(*id).await;
        total += jobs.len() as u64;
        assert_eq!(jobs.len(), 2, "a full and a light sync, one job each");
        assert!(
            jobs.iter()
                .all(|j| j.state == JobState::Completed && j.attempt == 1)
        );
        let account = env.db.store.account_get(*id).await.unwrap().unwrap();
        assert_eq!(account.status, SyncStatus::Idle);
    }
    assert_eq!(a.completed + b.completed, total);
    env.teardown().await;
}

async fn a_cancelled_chain_leaves_the_account_idle(d: Dialect) {
    let env = Env::new(d, sim_config(36, 1, 10), test_settings()).await;
    let (a, _) = env.account(0);
    env.engine
        .enqueue_sync(a, Plan::Full, "manual")
        .await
        .unwrap();
    // The first attempt fails at the media step; the chain is cancelled while it waits.
    env.sim.set_fault_path(Some("/media"));
    env.sim.set_faults(
        1.0,
        simulator::FaultMix::only(&[simulator::FaultKind::ServerError]),
    );
    let worker = env.engine.worker().unwrap();
    worker.run_once().await.unwrap();
    let cancelled = env
        .db
        .store
        .jobs_cancel(
            JobSelector::Filter(store::JobQuery {
                account_id: Some(a),
                ..Default::default()
            }),
            env.now(),
        )
        .await
        .unwrap();
    assert_eq!(cancelled, 1);
    assert_eq!(
        env.db.store.account_get(a).await.unwrap().unwrap().status,
        SyncStatus::Syncing
    );
    env.engine.maintain().await.unwrap();
    let account = env.db.store.account_get(a).await.unwrap().unwrap();
    assert_eq!(account.status, SyncStatus::Idle);
    let runs = env.runs(Some(a)).await;
    assert_eq!(runs[0].status, RunStatus::Cancelled);
    env.teardown().await;
}

/// A step whose attempts run past the job timeout is stopped; the requests and units those
/// attempts spent still reach the step's (and so the run's) counters and the daily call
/// counts, exactly as the Graph client counted them.
async fn the_calls_of_timed_out_attempts_are_counted(d: Dialect) {
    let mut sim = sim_config(37, 1, 80);
    sim.latency = StdDuration::from_millis(600);
    let settings = sync::SyncSettings {
        job_timeout: StdDuration::from_secs(1),
        max_attempts: 2,
        backoff: StdDuration::from_millis(10),
        ..test_settings()
    };
    let env = Env::new(d, sim, settings).await;
    let (a, sim_account) = env.account(0);
    env.full_sync(a, 10).await;

    let runs = env.runs(Some(a)).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Failed, "{runs:?}");
    let (run, steps) = env
        .db
        .store
        .sync_run_get(runs[0].id)
        .await
        .unwrap()
        .unwrap();
    let failed = steps
        .iter()
        .find(|s| s.status == StepStatus::Failed)
        .unwrap_or_else(|| panic!("a step failed: {steps:?}"));
    assert_eq!(failed.attempts, 2, "{failed:?}");
    assert!(
        failed.error.as_deref().unwrap_or("").contains("timed out"),
        "{failed:?}"
    );
    assert!(
        failed.api_calls >= 2,
        "each timed-out attempt made at least one request: {failed:?}"
    );

    let client: (i64, i64) = env
        .clients
        .values()
        .filter_map(|c| c.stats().accounts.get(&sim_account.ig_user_id).cloned())
        .fold((0, 0), |(r, u), s| {
            (r + s.http_requests as i64, u + s.units as i64)
        });
    let steps_sum = steps.iter().fold((0, 0), |(r, u), s| {
        (r + s.api_calls, u + s.rate_limit_units)
    });
    assert_eq!(
        steps_sum, client,
        "every request the client sent is counted"
    );
    assert_eq!((run.api_calls, run.rate_limit_units), client);
    let days = env
        .db
        .store
        .api_calls_days(
            Some(a),
            env.now().date_naive() - Duration::days(2),
            env.now().date_naive() + Duration::days(2),
        )
        .await
        .unwrap();
    let per_day = days
        .iter()
        .fold((0, 0), |(r, u), d| (r + d.requests, u + d.units));
    assert_eq!(per_day, client, "the daily call counts have them too");
    let account = env.db.store.account_get(a).await.unwrap().unwrap();
    assert_eq!(account.status, SyncStatus::Failed);
    env.teardown().await;
}

/// Between a failed attempt and the next one the account stays `syncing`; the retry state
/// says which step failed, with what, and when it is tried again.
async fn a_retrying_chain_shows_its_last_error_and_next_attempt(d: Dialect) {
    let env = Env::new(d, sim_config(38, 2, 10), test_settings()).await;
    let (a, _) = env.account(0);
    let (b, _) = env.account(1);
    env.engine
        .enqueue_sync(a, Plan::Full, "manual")
        .await
        .unwrap();
    // The profile step succeeds, the media step fails an attempt.
    env.sim.set_fault_path(Some("/media"));
    env.sim.set_faults(
        1.0,
        simulator::FaultMix::only(&[simulator::FaultKind::ServerError]),
    );
    let worker = env.engine.worker().unwrap();
    worker.run_once().await.unwrap();
    let retries = sync::retries_by_account(env.db.store.as_ref())
        .await
        .unwrap();
    assert!(!retries.contains_key(&b), "{retries:?}");
    let retry = &retries[&a];
    let job = env
        .jobs_of(a)
        .await
        .into_iter()
        .find(|j| j.state == JobState::Pending)
        .unwrap();
    assert_eq!(retry.job_id, job.id);
    assert_eq!(retry.step, Some(sync::Step::Media));
    assert_eq!((retry.failed_attempts, retry.max_attempts), (1, 3));
    assert!(retry.last_error.contains("Graph API"), "{retry:?}");
    assert_eq!(retry.next_attempt_at, Some(job.run_at));
    assert!(job.run_at > env.now());
    assert_eq!(
        env.db.store.account_get(a).await.unwrap().unwrap().status,
        SyncStatus::Syncing
    );

    env.sim.set_faults(0.0, simulator::FaultMix::none());
    env.run_until_settled(5).await;
    assert!(
        sync::retries_by_account(env.db.store.as_ref())
            .await
            .unwrap()
            .is_empty()
    );
    env.teardown().await;
}

async fn account_error(env: &Env, id: store::AccountId) -> String {
    let account = env.db.store.account_get(id).await.unwrap().unwrap();
    account.last_sync_error.unwrap_or_default()
}
