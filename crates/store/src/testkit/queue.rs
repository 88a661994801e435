//! Conformance cases for the job queue: inserts and merges, claims, leases, retries,
//! snoozes, the rescuer, schedules, the limiter, retention and metrics.
//!
//! Readings of the contract these cases fix (both dialects follow them):
//! - `limit: 0` in a [`JobQuery`] means "no limit"; bulk actions by filter
//!   ([`JobSelector::Filter`]) apply to every match and ignore `limit`/`offset`.
//! - Persisted metrics count finished jobs only: a completion, or a failure with no retry
//!   left (including a rescue that fails the job). A failed attempt that is retried is not
//!   counted.
//! - A retried job (manual retry) keeps its error history; its attempt count restarts at 0.
//! - Manual retry never breaks a unique key: a job whose key is held by an active job stays
//!   as it is, and of several selected jobs sharing a key only one becomes pending.
//! - Progress stays on a job after it completes (the last known progress).

/// The queue cases, by name (each is a `pub async fn(DynStore)` in this module).
#[doc(hidden)]
#[macro_export]
macro_rules! queue_cases {
    ($factory:path) => {
        $crate::conformance_cases!($factory;
            queue_is_empty_on_a_fresh_database,
            job_insert_and_get_round_trip,
            invalid_jobs_are_rejected,
            unique_key_merges_while_active_and_frees_after_finish,
            job_insert_many_merges_in_order_and_is_one_transaction,
            claim_orders_by_priority_run_at_and_id_and_skips_future_and_other_queues,
            claim_sets_lease_worker_and_attempt,
            claim_never_runs_two_jobs_of_one_account,
            concurrent_claimers_never_double_claim_or_overlap_an_account,
            heartbeat_extends_leases_and_drops_cancelled_jobs,
            complete_stores_result_and_inserts_next_atomically,
            complete_is_refused_for_jobs_not_held,
            fail_with_retry_returns_to_pending_with_an_error_entry,
            fail_without_attempts_left_is_final,
            snooze_gives_the_attempt_back,
            progress_is_kept_on_the_job,
            rescue_returns_expired_leases_to_pending_or_fails_them,
            list_filters_by_state_queue_kind_account_and_run_and_pages,
            search_is_plain_text_never_sql,
            snapshot_counts_scheduled_and_oldest_due,
            retry_cancel_and_delete_by_ids_follow_the_state_rules,
            bulk_actions_by_filter_apply_to_every_match,
            retry_never_breaks_a_unique_key,
            deleting_an_account_deletes_its_jobs,
            prune_keeps_the_newest_and_deletes_only_old_jobs,
            metrics_count_finished_jobs_per_minute_and_roll_up,
            rate_limit_grants_up_to_the_limit_then_names_the_next_slot,
            rate_limit_never_exceeds_the_limit_under_concurrency,
            schedule_upsert_keeps_state_and_replaces_next_run_only_on_cron_change,
            schedule_pause_and_resume,
            schedule_fire_fires_once_when_callers_race,
            workers_register_list_and_remove,
        );
    };
}

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use crate::{
    AccountId, AccountType, ClaimParams, DynStore, EncryptedToken, HISTOGRAM_BUCKETS,
    InsertOutcome, Job, JobCompletion, JobFailure, JobId, JobMetricsQuery, JobQuery, JobSelector,
    JobState, LoginKind, NewAccount, NewJob, NewSyncRun, RateDecision, Resolution, RetentionPolicy,
    ScheduleDef, ScheduleFire, StoreError, WorkerInfo, histogram_bucket,
};

// ----- helpers -----

/// A fixed, hour-aligned moment all cases count from (the store never reads a clock).
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(seconds)
}

fn new_job(queue: &str, kind: &str) -> NewJob {
    NewJob {
        queue: queue.to_string(),
        kind: kind.to_string(),
        args: json!({}),
        account_id: None,
        unique_key: None,
        run_id: None,
        run_at: t0(),
        max_attempts: 3,
        priority: 0,
        now: t0(),
    }
}

async fn account(store: &DynStore, n: u32) -> AccountId {
    store
        .account_upsert(NewAccount {
            ig_user_id: format!("1784{n:010}"),
            username: format!("account_{n}"),
            name: None,
            account_type: AccountType::Business,
            login: LoginKind::Facebook,
            page_id: None,
            timezone: None,
            token: EncryptedToken(vec![1; 40]),
            token_expires_at: None,
            now: t0(),
        })
        .await
        .unwrap()
        .id
}

async fn insert(store: &DynStore, job: NewJob) -> JobId {
    match store.job_insert(job).await.unwrap() {
        InsertOutcome::Inserted(id) => id,
        other => panic!("expected a new job, got {other:?}"),
    }
}

fn claim_params(queues: &[&str], worker: &str, limit: u32, now: DateTime<Utc>) -> ClaimParams {
    ClaimParams {
        queues: queues.iter().map(|q| q.to_string()).collect(),
        worker_id: worker.to_string(),
        limit,
        now,
        lease_until: now + Duration::seconds(60),
    }
}

async fn claim(
    store: &DynStore,
    queues: &[&str],
    worker: &str,
    limit: u32,
    now: DateTime<Utc>,
) -> Vec<JobId> {
    store
        .job_claim(claim_params(queues, worker, limit, now))
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect()
}

async fn get(store: &DynStore, id: JobId) -> Job {
    store.job_get(id).await.unwrap().expect("job exists")
}

fn completion(id: JobId, worker: &str, at: DateTime<Utc>) -> JobCompletion {
    JobCompletion {
        id,
        worker_id: worker.to_string(),
        finished_at: at,
        result: None,
        next: Vec::new(),
    }
}

fn failure(
    id: JobId,
    worker: &str,
    at: DateTime<Utc>,
    retry_at: Option<DateTime<Utc>>,
) -> JobFailure {
    JobFailure {
        id,
        worker_id: worker.to_string(),
        at,
        error: "boom".to_string(),
        retry_at,
    }
}

/// Inserts a job in queue `q` due at `due`, claims it at `due` and completes it at `done`.
async fn completed_job(
    store: &DynStore,
    q: &str,
    due: DateTime<Utc>,
    done: DateTime<Utc>,
) -> JobId {
    let id = insert(
        store,
        NewJob {
            run_at: due,
            now: due,
            ..new_job(q, "work")
        },
    )
    .await;
    assert_eq!(claim(store, &[q], "w-done", 1, due).await, vec![id]);
    assert!(
        store
            .job_complete(completion(id, "w-done", done))
            .await
            .unwrap()
    );
    id
}

/// Inserts a job in queue `q`, claims it at `due` and fails it for good at `done`.
async fn failed_job(store: &DynStore, q: &str, due: DateTime<Utc>, done: DateTime<Utc>) -> JobId {
    let id = insert(
        store,
        NewJob {
            run_at: due,
            now: due,
            ..new_job(q, "work")
        },
    )
    .await;
    assert_eq!(claim(store, &[q], "w-fail", 1, due).await, vec![id]);
    assert_eq!(
        store
            .job_fail(failure(id, "w-fail", done, None))
            .await
            .unwrap(),
        Some(JobState::Failed)
    );
    id
}

fn query() -> JobQuery {
    JobQuery::default()
}

async fn ids_of(store: &DynStore, q: JobQuery) -> (Vec<JobId>, i64) {
    let page = store.job_list(q).await.unwrap();
    (page.jobs.iter().map(|j| j.id).collect(), page.total)
}

// ----- inserts -----

pub async fn queue_is_empty_on_a_fresh_database(store: DynStore) {
    let page = store
        .job_list(JobQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 0);
    assert!(page.jobs.is_empty());
    assert!(store.job_snapshot(t0()).await.unwrap().counts.is_empty());
}

pub async fn job_insert_and_get_round_trip(store: DynStore) {
    let acc = account(&store, 1).await;
    let run = store
        .sync_run_create(NewSyncRun {
            account_id: acc,
            plan: "full".into(),
            trigger: "manual".into(),
            steps: vec!["profile".into()],
            started_at: t0(),
        })
        .await
        .unwrap();
    let id = insert(
        &store,
        NewJob {
            args: json!({"account": acc, "steps": ["profile", "media"], "n": 1.5}),
            account_id: Some(acc),
            unique_key: Some(format!("sync:{acc}")),
            run_id: Some(run),
            run_at: at(30),
            max_attempts: 5,
            priority: -3,
            now: at(1),
            ..new_job("instagram-sync", "sync_account")
        },
    )
    .await;
    let job = get(&store, id).await;
    assert_eq!(job.id, id);
    assert_eq!(job.queue, "instagram-sync");
    assert_eq!(job.kind, "sync_account");
    assert_eq!(
        job.args,
        json!({"account": acc, "steps": ["profile", "media"], "n": 1.5})
    );
    assert_eq!(job.account_id, Some(acc));
    assert_eq!(
        job.unique_key.as_deref(),
        Some(format!("sync:{acc}").as_str())
    );
    assert_eq!(job.run_id, Some(run));
    assert_eq!(job.state, JobState::Pending);
    assert_eq!(job.attempt, 0);
    assert_eq!(job.max_attempts, 5);
    assert_eq!(job.priority, -3);
    assert_eq!(job.run_at, at(30));
    assert_eq!(job.created_at, at(1));
    assert_eq!(job.attempted_at, None);
    assert_eq!(job.finished_at, None);
    assert_eq!(job.locked_by, None);
    assert_eq!(job.lease_expires_at, None);
    assert!(job.errors.is_empty());
    assert_eq!(job.progress, None);
    assert_eq!(job.result, None);

    let other = insert(&store, new_job("instagram-sync", "sync_account")).await;
    assert!(other > id, "ids grow");
    assert_eq!(store.job_get(other + 1000).await.unwrap(), None);
}

pub async fn invalid_jobs_are_rejected(store: DynStore) {
    let zero = store
        .job_insert(NewJob {
            max_attempts: 0,
            ..new_job("q", "k")
        })
        .await;
    assert!(
        matches!(zero, Err(StoreError::InvalidInput { .. })),
        "{zero:?}"
    );
    let no_queue = store.job_insert(new_job("", "k")).await;
    assert!(
        matches!(no_queue, Err(StoreError::InvalidInput { .. })),
        "{no_queue:?}"
    );
    let no_kind = store.job_insert(new_job("q", " ")).await;
    assert!(
        matches!(no_kind, Err(StoreError::InvalidInput { .. })),
        "{no_kind:?}"
    );
    // A job naming an account that does not exist is refused.
    let ghost = store
        .job_insert(NewJob {
            account_id: Some(987_654),
            ..new_job("q", "k")
        })
        .await;
    assert!(ghost.is_err(), "{ghost:?}");
    assert_eq!(ids_of(&store, query()).await.1, 0);
}

pub async fn unique_key_merges_while_active_and_frees_after_finish(store: DynStore) {
    let keyed = |key: &str| NewJob {
        unique_key: Some(key.to_string()),
        ..new_job("q", "sync")
    };
    // Pending: merges.
    let a = insert(&store, keyed("k")).await;
    assert_eq!(
        store.job_insert(keyed("k")).await.unwrap(),
        InsertOutcome::Merged(a)
    );
    // Another key, or no key, never merges.
    let b = insert(&store, keyed("other")).await;
    assert_ne!(a, b);
    let c1 = insert(&store, new_job("q", "sync")).await;
    let c2 = insert(&store, new_job("q", "sync")).await;
    assert_ne!(c1, c2);
    // Running: merges.
    assert_eq!(claim(&store, &["q"], "w", 1, t0()).await, vec![a]);
    assert_eq!(
        store.job_insert(keyed("k")).await.unwrap(),
        InsertOutcome::Merged(a)
    );
    // Completed: frees the key.
    assert!(store.job_complete(completion(a, "w", at(1))).await.unwrap());
    let d = insert(&store, keyed("k")).await;
    assert_ne!(d, a);
    assert_eq!(
        store.job_insert(keyed("k")).await.unwrap(),
        InsertOutcome::Merged(d)
    );
    // Failed: frees the key.
    store
        .jobs_delete(JobSelector::Ids(vec![b, c1, c2]))
        .await
        .unwrap();
    assert_eq!(claim(&store, &["q"], "w", 1, at(2)).await, vec![d]);
    assert_eq!(
        store.job_fail(failure(d, "w", at(3), None)).await.unwrap(),
        Some(JobState::Failed)
    );
    let e = insert(&store, keyed("k")).await;
    // Cancelled: frees the key.
    assert_eq!(
        store
            .jobs_cancel(JobSelector::Ids(vec![e]), at(4))
            .await
            .unwrap(),
        1
    );
    let f = insert(&store, keyed("k")).await;
    assert!(f > e && e > d);
    assert_eq!(get(&store, f).await.state, JobState::Pending);
}

pub async fn job_insert_many_merges_in_order_and_is_one_transaction(store: DynStore) {
    let held = insert(
        &store,
        NewJob {
            unique_key: Some("held".into()),
            ..new_job("q", "k")
        },
    )
    .await;
    let batch = vec![
        NewJob {
            unique_key: Some("k1".into()),
            ..new_job("q", "a")
        },
        NewJob {
            unique_key: Some("k1".into()),
            ..new_job("q", "b")
        },
        new_job("q", "c"),
        NewJob {
            unique_key: Some("held".into()),
            ..new_job("q", "d")
        },
        new_job("q", "e"),
    ];
    let out = store.job_insert_many(batch).await.unwrap();
    assert_eq!(out.len(), 5);
    let InsertOutcome::Inserted(first) = out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(out[1], InsertOutcome::Merged(first));
    assert!(matches!(out[2], InsertOutcome::Inserted(_)));
    assert_eq!(out[3], InsertOutcome::Merged(held));
    assert!(matches!(out[4], InsertOutcome::Inserted(_)));
    assert_eq!(get(&store, first).await.kind, "a");
    assert_eq!(get(&store, out[2].id()).await.kind, "c");
    assert_eq!(get(&store, out[4].id()).await.kind, "e");
    assert_eq!(ids_of(&store, query()).await.1, 4);
    assert!(store.job_insert_many(Vec::new()).await.unwrap().is_empty());

    // One bad job fails the whole batch: nothing of it is inserted.
    let bad = store
        .job_insert_many(vec![
            new_job("q", "ok1"),
            NewJob {
                max_attempts: 0,
                ..new_job("q", "bad")
            },
        ])
        .await;
    assert!(bad.is_err());
    let ghost = store
        .job_insert_many(vec![
            new_job("q", "ok2"),
            NewJob {
                account_id: Some(987_654),
                ..new_job("q", "ghost")
            },
        ])
        .await;
    assert!(ghost.is_err());
    assert_eq!(ids_of(&store, query()).await.1, 4);
}

// ----- claims -----

pub async fn claim_orders_by_priority_run_at_and_id_and_skips_future_and_other_queues(
    store: DynStore,
) {
    let job = |priority: i16, run_at: DateTime<Utc>| NewJob {
        priority,
        run_at,
        ..new_job("q", "k")
    };
    let low = insert(&store, job(5, t0())).await;
    let b = insert(&store, job(0, at(2))).await;
    let c = insert(&store, job(0, at(1))).await;
    let d = insert(&store, job(0, at(1))).await;
    let future = insert(&store, job(0, at(100))).await;
    let elsewhere = insert(
        &store,
        NewJob {
            ..new_job("other", "k")
        },
    )
    .await;
    let urgent = insert(&store, job(-1, at(5))).await;

    assert_eq!(claim(&store, &["q"], "w", 2, at(10)).await, vec![urgent, c]);
    assert_eq!(
        claim(&store, &["q"], "w", 10, at(10)).await,
        vec![d, b, low]
    );
    // Not before run_at, and only the given queues.
    assert!(claim(&store, &["q"], "w", 10, at(99)).await.is_empty());
    assert_eq!(claim(&store, &["q"], "w", 10, at(100)).await, vec![future]);
    assert!(
        claim(&store, &["nothing-here"], "w", 10, at(1000))
            .await
            .is_empty()
    );
    assert!(
        claim(&store, &["q", "other"], "w", 0, at(1000))
            .await
            .is_empty()
    );
    assert_eq!(
        claim(&store, &["q", "other"], "w", 10, at(1000)).await,
        vec![elsewhere]
    );
}

pub async fn claim_sets_lease_worker_and_attempt(store: DynStore) {
    let id = insert(&store, new_job("q", "k")).await;
    let claimed = store
        .job_claim(ClaimParams {
            queues: vec!["q".into()],
            worker_id: "host-1-abc".into(),
            limit: 5,
            now: at(7),
            lease_until: at(307),
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    for job in [claimed[0].clone(), get(&store, id).await] {
        assert_eq!(job.id, id);
        assert_eq!(job.state, JobState::Running);
        assert_eq!(job.locked_by.as_deref(), Some("host-1-abc"));
        assert_eq!(job.lease_expires_at, Some(at(307)));
        assert_eq!(job.attempted_at, Some(at(7)));
        assert_eq!(job.attempt, 1);
    }
    // A running job is not claimed again.
    assert!(claim(&store, &["q"], "other", 5, at(8)).await.is_empty());
}

pub async fn claim_never_runs_two_jobs_of_one_account(store: DynStore) {
    let a1 = account(&store, 1).await;
    let a2 = account(&store, 2).await;
    let of = |acc: Option<AccountId>, priority: i16| NewJob {
        account_id: acc,
        priority,
        ..new_job("q", "k")
    };
    let j1 = insert(&store, of(Some(a1), 0)).await;
    let j2 = insert(&store, of(Some(a1), 1)).await;
    let j3 = insert(&store, of(Some(a2), 2)).await;
    let j4 = insert(&store, of(None, 3)).await;
    let j5 = insert(&store, of(None, 3)).await;

    // One claim never takes two jobs of one account.
    assert_eq!(
        claim(&store, &["q"], "w1", 10, at(1)).await,
        vec![j1, j3, j4, j5]
    );
    // Nor does a later claim while the account's job runs.
    assert!(claim(&store, &["q"], "w2", 10, at(2)).await.is_empty());
    assert!(
        store
            .job_complete(completion(j1, "w1", at(3)))
            .await
            .unwrap()
    );
    assert_eq!(claim(&store, &["q"], "w2", 10, at(4)).await, vec![j2]);
}

pub async fn concurrent_claimers_never_double_claim_or_overlap_an_account(store: DynStore) {
    const ACCOUNTS: u32 = 20;
    const PER_ACCOUNT: usize = 10;
    const TOTAL: usize = ACCOUNTS as usize * PER_ACCOUNT;
    let mut accounts = Vec::new();
    for n in 0..ACCOUNTS {
        accounts.push(account(&store, n).await);
    }
    let jobs: Vec<NewJob> = (0..TOTAL)
        .map(|i| NewJob {
            account_id: Some(accounts[i % accounts.len()]),
            args: json!({ "i": i }),
            ..new_job("q", "k")
        })
        .collect();
    store.job_insert_many(jobs).await.unwrap();

    let done = Arc::new(AtomicUsize::new(0));
    let running: Arc<std::sync::Mutex<HashMap<AccountId, JobId>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        let done = done.clone();
        let running = running.clone();
        tasks.push(tokio::spawn(async move {
            let worker = format!("worker-{w}");
            let mut claimed = Vec::new();
            let mut idle_rounds = 0u32;
            while done.load(Ordering::SeqCst) < TOTAL {
                let jobs = store
                    .job_claim(claim_params(&["q"], &worker, 3, at(10)))
                    .await
                    .unwrap();
                if jobs.is_empty() {
                    // Every remaining job's account is busy: wait for a completion.
                    idle_rounds += 1;
                    assert!(idle_rounds < 20_000, "claimers made no progress");
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    continue;
                }
                idle_rounds = 0;
                for job in &jobs {
                    let acc = job.account_id.unwrap();
                    {
                        let mut map = running.lock().unwrap();
                        if let Some(other) = map.insert(acc, job.id) {
                            panic!("account {acc} runs jobs {other} and {} at once", job.id);
                        }
                    }
                    // The database agrees: exactly one running job of this account.
                    let page = store
                        .job_list(JobQuery {
                            states: vec![JobState::Running],
                            account_id: Some(acc),
                            ..query()
                        })
                        .await
                        .unwrap();
                    assert_eq!(
                        page.total, 1,
                        "account {acc} has {} running jobs",
                        page.total
                    );
                    claimed.push(job.id);
                }
                for job in &jobs {
                    running.lock().unwrap().remove(&job.account_id.unwrap());
                    assert!(
                        store
                            .job_complete(completion(job.id, &worker, at(11)))
                            .await
                            .unwrap()
                    );
                    done.fetch_add(1, Ordering::SeqCst);
                }
            }
            claimed
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    assert_eq!(all.len(), TOTAL, "every job claimed exactly once in total");
    let unique: HashSet<JobId> = all.iter().copied().collect();
    assert_eq!(unique.len(), TOTAL, "no job claimed twice");
    let page = store
        .job_list(JobQuery {
            states: vec![JobState::Completed],
            ..query()
        })
        .await
        .unwrap();
    assert_eq!(page.total, TOTAL as i64);
    assert!(page.jobs.iter().all(|j| j.attempt == 1));
}

// ----- leases and outcomes -----

pub async fn heartbeat_extends_leases_and_drops_cancelled_jobs(store: DynStore) {
    let j1 = insert(&store, new_job("q", "k")).await;
    let j2 = insert(&store, new_job("q", "k")).await;
    let mine = claim(&store, &["q"], "w1", 2, at(1)).await;
    assert_eq!(mine, vec![j1, j2]);
    let held = store.job_heartbeat("w1", &[j1, j2], at(500)).await.unwrap();
    assert_eq!(
        held.iter().copied().collect::<HashSet<_>>(),
        HashSet::from([j1, j2])
    );
    assert_eq!(get(&store, j1).await.lease_expires_at, Some(at(500)));
    assert_eq!(get(&store, j2).await.lease_expires_at, Some(at(500)));

    assert_eq!(
        store
            .jobs_cancel(JobSelector::Ids(vec![j2]), at(2))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.job_heartbeat("w1", &[j1, j2], at(600)).await.unwrap(),
        vec![j1]
    );
    assert_eq!(get(&store, j1).await.lease_expires_at, Some(at(600)));
    // Another worker holds nothing; unknown ids are simply absent.
    assert!(
        store
            .job_heartbeat("w2", &[j1], at(700))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(get(&store, j1).await.lease_expires_at, Some(at(600)));
    assert!(
        store
            .job_heartbeat("w1", &[j1 + 1000], at(700))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .job_heartbeat("w1", &[], at(700))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn complete_stores_result_and_inserts_next_atomically(store: DynStore) {
    let acc = account(&store, 1).await;
    let chain = |kind: &str| NewJob {
        account_id: Some(acc),
        unique_key: Some(format!("chain:{acc}")),
        ..new_job("q", kind)
    };
    let first = insert(&store, chain("profile")).await;
    assert_eq!(claim(&store, &["q"], "w", 1, at(1)).await, vec![first]);

    // A completion whose next job is invalid changes nothing.
    let broken = store
        .job_complete(JobCompletion {
            next: vec![NewJob {
                max_attempts: 0,
                ..chain("media")
            }],
            ..completion(first, "w", at(2))
        })
        .await;
    assert!(broken.is_err());
    let still = get(&store, first).await;
    assert_eq!(still.state, JobState::Running);
    assert_eq!(still.finished_at, None);
    assert_eq!(ids_of(&store, query()).await.1, 1);

    assert!(
        store
            .job_complete(JobCompletion {
                result: Some(json!({"rows": 42})),
                next: vec![chain("media")],
                ..completion(first, "w", at(3))
            })
            .await
            .unwrap()
    );
    let done = get(&store, first).await;
    assert_eq!(done.state, JobState::Completed);
    assert_eq!(done.result, Some(json!({"rows": 42})));
    assert_eq!(done.finished_at, Some(at(3)));
    assert_eq!(done.attempt, 1);

    // The next step took over the same unique key.
    let (next, total) = ids_of(
        &store,
        JobQuery {
            kind: Some("media".into()),
            ..query()
        },
    )
    .await;
    assert_eq!(total, 1);
    let next = get(&store, next[0]).await;
    assert_eq!(next.state, JobState::Pending);
    assert_eq!(
        next.unique_key.as_deref(),
        Some(format!("chain:{acc}").as_str())
    );
    assert_eq!(
        store.job_insert(chain("other")).await.unwrap(),
        InsertOutcome::Merged(next.id)
    );
    // The account is free again: the next step can be claimed.
    assert_eq!(claim(&store, &["q"], "w", 1, at(4)).await, vec![next.id]);
}

pub async fn complete_is_refused_for_jobs_not_held(store: DynStore) {
    let pending = insert(&store, new_job("q", "k")).await;
    assert!(
        !store
            .job_complete(completion(pending, "w", at(1)))
            .await
            .unwrap()
    );
    assert_eq!(get(&store, pending).await.state, JobState::Pending);

    assert_eq!(claim(&store, &["q"], "w", 1, at(1)).await, vec![pending]);
    assert!(
        !store
            .job_complete(completion(pending, "intruder", at(2)))
            .await
            .unwrap()
    );
    assert_eq!(get(&store, pending).await.state, JobState::Running);
    assert_eq!(
        store
            .job_fail(failure(pending, "intruder", at(2), None))
            .await
            .unwrap(),
        None
    );
    assert!(
        !store
            .job_snooze(pending, "intruder", at(9), "x")
            .await
            .unwrap()
    );

    assert!(
        store
            .job_complete(completion(pending, "w", at(3)))
            .await
            .unwrap()
    );
    assert!(
        !store
            .job_complete(completion(pending, "w", at(4)))
            .await
            .unwrap()
    );
    assert_eq!(get(&store, pending).await.finished_at, Some(at(3)));
    assert!(
        !store
            .job_complete(completion(pending + 1000, "w", at(4)))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .job_fail(failure(pending, "w", at(5), None))
            .await
            .unwrap(),
        None
    );
}

pub async fn fail_with_retry_returns_to_pending_with_an_error_entry(store: DynStore) {
    let id = insert(&store, new_job("q", "k")).await;
    assert_eq!(claim(&store, &["q"], "w1", 1, at(1)).await, vec![id]);
    assert_eq!(
        store
            .job_fail(JobFailure {
                error: "graph api: 500".into(),
                ..failure(id, "w1", at(2), Some(at(60)))
            })
            .await
            .unwrap(),
        Some(JobState::Pending)
    );
    let job = get(&store, id).await;
    assert_eq!(job.state, JobState::Pending);
    assert_eq!(job.run_at, at(60));
    assert_eq!(job.attempt, 1);
    assert_eq!(job.locked_by, None);
    assert_eq!(job.lease_expires_at, None);
    assert_eq!(job.finished_at, None);
    assert_eq!(job.errors.len(), 1);
    assert_eq!(job.errors[0].attempt, 1);
    assert_eq!(job.errors[0].at, at(2));
    assert_eq!(job.errors[0].worker_id.as_deref(), Some("w1"));
    assert_eq!(job.errors[0].error, "graph api: 500");

    assert!(claim(&store, &["q"], "w2", 1, at(59)).await.is_empty());
    assert_eq!(claim(&store, &["q"], "w2", 1, at(60)).await, vec![id]);
    let job = get(&store, id).await;
    assert_eq!(job.attempt, 2);
    assert_eq!(job.errors.len(), 1);
}

pub async fn fail_without_attempts_left_is_final(store: DynStore) {
    let id = insert(
        &store,
        NewJob {
            max_attempts: 2,
            ..new_job("q", "k")
        },
    )
    .await;
    assert_eq!(claim(&store, &["q"], "w", 1, at(1)).await, vec![id]);
    assert_eq!(
        store
            .job_fail(failure(id, "w", at(2), Some(at(10))))
            .await
            .unwrap(),
        Some(JobState::Pending)
    );
    assert_eq!(claim(&store, &["q"], "w", 1, at(10)).await, vec![id]);
    assert_eq!(
        store
            .job_fail(JobFailure {
                error: "second".into(),
                ..failure(id, "w", at(11), Some(at(20)))
            })
            .await
            .unwrap(),
        Some(JobState::Failed)
    );
    let job = get(&store, id).await;
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.attempt, 2);
    assert_eq!(job.finished_at, Some(at(11)));
    assert_eq!(
        job.errors
            .iter()
            .map(|e| (e.attempt, e.error.as_str()))
            .collect::<Vec<_>>(),
        vec![(1, "boom"), (2, "second")]
    );
    assert!(claim(&store, &["q"], "w", 1, at(100)).await.is_empty());

    // Without retry_at a failure is final even with attempts left.
    let other = insert(&store, new_job("q", "k")).await;
    assert_eq!(claim(&store, &["q"], "w", 1, at(200)).await, vec![other]);
    assert_eq!(
        store
            .job_fail(failure(other, "w", at(201), None))
            .await
            .unwrap(),
        Some(JobState::Failed)
    );
    assert_eq!(get(&store, other).await.attempt, 1);
}

pub async fn snooze_gives_the_attempt_back(store: DynStore) {
    let id = insert(
        &store,
        NewJob {
            max_attempts: 1,
            ..new_job("q", "k")
        },
    )
    .await;
    assert_eq!(claim(&store, &["q"], "w", 1, at(1)).await, vec![id]);
    assert!(
        store
            .job_snooze(id, "w", at(30), "rate limited")
            .await
            .unwrap()
    );
    let job = get(&store, id).await;
    assert_eq!(job.state, JobState::Pending);
    assert_eq!(job.attempt, 0);
    assert_eq!(job.run_at, at(30));
    assert_eq!(job.locked_by, None);
    assert!(job.errors.is_empty());
    assert!(!store.job_snooze(id, "w", at(40), "again").await.unwrap());

    assert!(claim(&store, &["q"], "w", 1, at(29)).await.is_empty());
    assert_eq!(claim(&store, &["q"], "w", 1, at(30)).await, vec![id]);
    assert_eq!(get(&store, id).await.attempt, 1);
    // Snoozing many times never exhausts a single attempt.
    assert!(store.job_snooze(id, "w", at(31), "again").await.unwrap());
    assert_eq!(claim(&store, &["q"], "w", 1, at(31)).await, vec![id]);
    assert!(
        store
            .job_complete(completion(id, "w", at(32)))
            .await
            .unwrap()
    );
}

pub async fn progress_is_kept_on_the_job(store: DynStore) {
    let id = insert(&store, new_job("q", "k")).await;
    assert!(
        !store
            .job_progress_set(id, "w", json!({"done": 1}))
            .await
            .unwrap()
    );
    assert_eq!(claim(&store, &["q"], "w", 1, at(1)).await, vec![id]);
    assert!(
        store
            .job_progress_set(id, "w", json!({"done": 3, "of": 10}))
            .await
            .unwrap()
    );
    assert_eq!(
        get(&store, id).await.progress,
        Some(json!({"done": 3, "of": 10}))
    );
    assert!(
        !store
            .job_progress_set(id, "other", json!({"done": 9}))
            .await
            .unwrap()
    );
    assert!(
        store
            .job_progress_set(id, "w", json!({"done": 10, "of": 10}))
            .await
            .unwrap()
    );
    assert!(
        store
            .job_complete(completion(id, "w", at(2)))
            .await
            .unwrap()
    );
    assert_eq!(
        get(&store, id).await.progress,
        Some(json!({"done": 10, "of": 10}))
    );
    assert!(
        !store
            .job_progress_set(id, "w", json!({"done": 11}))
            .await
            .unwrap()
    );
}

pub async fn rescue_returns_expired_leases_to_pending_or_fails_them(store: DynStore) {
    let lease = |worker: &str, until: DateTime<Utc>| ClaimParams {
        lease_until: until,
        ..claim_params(&["q"], worker, 1, at(1))
    };
    let retryable = insert(&store, new_job("q", "k")).await;
    let last_try = insert(
        &store,
        NewJob {
            max_attempts: 1,
            ..new_job("q", "k")
        },
    )
    .await;
    let alive = insert(&store, new_job("q", "k")).await;
    assert_eq!(
        store.job_claim(lease("w-dead", at(10))).await.unwrap()[0].id,
        retryable
    );
    assert_eq!(
        store.job_claim(lease("w-dead", at(10))).await.unwrap()[0].id,
        last_try
    );
    assert_eq!(
        store.job_claim(lease("w-alive", at(100))).await.unwrap()[0].id,
        alive
    );

    // Nothing has expired yet.
    assert_eq!(store.job_rescue(at(9)).await.unwrap(), Default::default());

    let report = store.job_rescue(at(50)).await.unwrap();
    assert_eq!((report.rescued, report.failed), (1, 1));

    let job = get(&store, retryable).await;
    assert_eq!(job.state, JobState::Pending);
    assert_eq!(job.locked_by, None);
    assert_eq!(job.lease_expires_at, None);
    assert!(job.run_at <= at(50));
    assert_eq!(job.errors.len(), 1);
    assert_eq!(job.errors[0].attempt, 1);
    assert_eq!(job.errors[0].at, at(50));
    assert_eq!(job.errors[0].worker_id.as_deref(), Some("w-dead"));
    assert!(
        job.errors[0].error.contains("worker lost"),
        "{}",
        job.errors[0].error
    );

    let job = get(&store, last_try).await;
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.finished_at, Some(at(50)));
    assert!(job.errors[0].error.contains("worker lost"));

    assert_eq!(get(&store, alive).await.state, JobState::Running);
    assert_eq!(store.job_rescue(at(50)).await.unwrap(), Default::default());

    // The lost worker no longer holds its job; another worker runs it again.
    assert!(
        store
            .job_heartbeat("w-dead", &[retryable], at(200))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .job_complete(completion(retryable, "w-dead", at(51)))
            .await
            .unwrap()
    );
    assert_eq!(
        claim(&store, &["q"], "w-new", 5, at(60)).await,
        vec![retryable]
    );
    assert_eq!(get(&store, retryable).await.attempt, 2);
}

// ----- inspection -----

pub async fn list_filters_by_state_queue_kind_account_and_run_and_pages(store: DynStore) {
    let a = account(&store, 1).await;
    let b = account(&store, 2).await;
    let run = store
        .sync_run_create(NewSyncRun {
            account_id: a,
            plan: "full".into(),
            trigger: "manual".into(),
            steps: vec![],
            started_at: t0(),
        })
        .await
        .unwrap();
    let j1 = insert(
        &store,
        NewJob {
            account_id: Some(a),
            run_id: Some(run),
            ..new_job("q1", "sync_profile")
        },
    )
    .await;
    let j2 = insert(
        &store,
        NewJob {
            account_id: Some(b),
            ..new_job("q1", "sync_media")
        },
    )
    .await;
    let j3 = insert(&store, new_job("q2", "refresh_token")).await;
    let j4 = insert(
        &store,
        NewJob {
            account_id: Some(a),
            ..new_job("q1", "sync_media")
        },
    )
    .await;
    store
        .jobs_cancel(JobSelector::Ids(vec![j2]), at(1))
        .await
        .unwrap();

    let list = |q: JobQuery| ids_of(&store, q);
    assert_eq!(list(query()).await, (vec![j4, j3, j2, j1], 4));
    assert_eq!(
        list(JobQuery {
            states: vec![JobState::Cancelled],
            ..query()
        })
        .await,
        (vec![j2], 1)
    );
    assert_eq!(
        list(JobQuery {
            states: vec![JobState::Pending, JobState::Cancelled],
            ..query()
        })
        .await,
        (vec![j4, j3, j2, j1], 4)
    );
    assert_eq!(
        list(JobQuery {
            states: vec![JobState::Failed],
            ..query()
        })
        .await,
        (vec![], 0)
    );
    assert_eq!(
        list(JobQuery {
            queue: Some("q1".into()),
            ..query()
        })
        .await,
        (vec![j4, j2, j1], 3)
    );
    assert_eq!(
        list(JobQuery {
            kind: Some("sync_media".into()),
            ..query()
        })
        .await,
        (vec![j4, j2], 2)
    );
    assert_eq!(
        list(JobQuery {
            account_id: Some(a),
            ..query()
        })
        .await,
        (vec![j4, j1], 2)
    );
    assert_eq!(
        list(JobQuery {
            run_id: Some(run),
            ..query()
        })
        .await,
        (vec![j1], 1)
    );
    assert_eq!(
        list(JobQuery {
            queue: Some("q1".into()),
            kind: Some("sync_media".into()),
            account_id: Some(a),
            states: vec![JobState::Pending],
            ..query()
        })
        .await,
        (vec![j4], 1)
    );
    // Paging: total ignores limit and offset.
    assert_eq!(
        list(JobQuery {
            limit: 2,
            ..query()
        })
        .await,
        (vec![j4, j3], 4)
    );
    assert_eq!(
        list(JobQuery {
            limit: 2,
            offset: 2,
            ..query()
        })
        .await,
        (vec![j2, j1], 4)
    );
    assert_eq!(
        list(JobQuery {
            limit: 2,
            offset: 4,
            ..query()
        })
        .await,
        (vec![], 4)
    );
    assert_eq!(
        list(JobQuery {
            offset: 3,
            ..query()
        })
        .await,
        (vec![j1], 4)
    );
}

pub async fn search_is_plain_text_never_sql(store: DynStore) {
    let with = |kind: &str, args: serde_json::Value| NewJob {
        args,
        ..new_job("q", kind)
    };
    let percent = insert(&store, with("report_export", json!({"note": "100% done"}))).await;
    let _digits = insert(&store, with("note", json!({"note": "1000 done"}))).await;
    let underscore = insert(&store, with("note", json!({"note": "a_b"}))).await;
    let _axb = insert(&store, with("note", json!({"note": "axb"}))).await;
    let injection = insert(&store, with("note", json!({"q": "'; DROP TABLE jobs; --"}))).await;
    let quoted = insert(&store, with("note", json!({"user": "O'Brien"}))).await;
    let erred = insert(&store, with("zzz", json!({}))).await;
    // The error text is searched too.
    let claimed = store
        .job_claim(ClaimParams {
            queues: vec!["q".into()],
            worker_id: "w".into(),
            limit: 100,
            now: at(1),
            lease_until: at(100),
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 7);
    for job in claimed {
        if job.id == erred {
            store
                .job_fail(JobFailure {
                    error: "it's broken: 50% of \"pages\" failed".into(),
                    ..failure(erred, "w", at(2), Some(at(3)))
                })
                .await
                .unwrap();
        } else {
            store
                .jobs_cancel(JobSelector::Ids(vec![job.id]), at(2))
                .await
                .unwrap();
        }
    }

    let search = |text: &str| {
        let store = store.clone();
        let text = text.to_string();
        async move {
            ids_of(
                &store,
                JobQuery {
                    search: Some(text),
                    ..query()
                },
            )
            .await
        }
    };
    assert_eq!(search("100%").await, (vec![percent], 1));
    assert_eq!(search("a_b").await, (vec![underscore], 1));
    assert_eq!(search("'; DROP TABLE jobs; --").await, (vec![injection], 1));
    assert_eq!(search("o'brien").await, (vec![quoted], 1));
    assert_eq!(search("IT'S BROKEN").await, (vec![erred], 1));
    assert_eq!(search("50% of").await, (vec![erred], 1));
    assert_eq!(search("REPORT_EX").await, (vec![percent], 1));
    assert_eq!(search("nowhere to be found").await, (vec![], 0));
    assert_eq!(search("%").await.1, 2, "only texts with a literal %");
    assert_eq!(search("_").await.1, 2, "only texts with a literal _");
    // Search combines with the other filters.
    assert_eq!(
        ids_of(
            &store,
            JobQuery {
                search: Some("done".into()),
                kind: Some("note".into()),
                ..query()
            }
        )
        .await
        .1,
        1
    );
    // The table is still there and whole.
    assert_eq!(ids_of(&store, query()).await.1, 7);
}

pub async fn snapshot_counts_scheduled_and_oldest_due(store: DynStore) {
    completed_job(&store, "q1", t0(), at(1)).await;
    let running = insert(&store, new_job("q1", "k")).await;
    assert_eq!(claim(&store, &["q1"], "w", 1, at(2)).await, vec![running]);
    insert(
        &store,
        NewJob {
            run_at: at(10),
            ..new_job("q1", "k")
        },
    )
    .await;
    insert(
        &store,
        NewJob {
            run_at: at(50),
            ..new_job("q1", "k")
        },
    )
    .await;
    insert(
        &store,
        NewJob {
            run_at: at(500),
            ..new_job("q1", "k")
        },
    )
    .await;
    failed_job(&store, "q2", at(3), at(4)).await;

    let snap = store.job_snapshot(at(100)).await.unwrap();
    let mut counts: Vec<(String, JobState, i64)> = snap
        .counts
        .iter()
        .map(|c| (c.queue.clone(), c.state, c.count))
        .collect();
    counts.sort();
    assert_eq!(
        counts,
        vec![
            ("q1".to_string(), JobState::Pending, 3),
            ("q1".to_string(), JobState::Running, 1),
            ("q1".to_string(), JobState::Completed, 1),
            ("q2".to_string(), JobState::Failed, 1),
        ]
    );
    assert_eq!(snap.scheduled, vec![("q1".to_string(), 1)]);
    assert_eq!(snap.oldest_due, vec![("q1".to_string(), at(10))]);

    // Later, the scheduled job is due too.
    let later = store.job_snapshot(at(1000)).await.unwrap();
    assert!(later.scheduled.is_empty());
    assert_eq!(later.oldest_due, vec![("q1".to_string(), at(10))]);
}

// ----- bulk actions -----

/// One job in each state, in queue `q`: (pending, running, completed, failed, cancelled).
async fn one_of_each(store: &DynStore, q: &str) -> (JobId, JobId, JobId, JobId, JobId) {
    let completed = completed_job(store, q, t0(), at(1)).await;
    let failed = failed_job(store, q, at(2), at(3)).await;
    let running = insert(store, new_job(q, "work")).await;
    assert_eq!(claim(store, &[q], "w-run", 1, at(4)).await, vec![running]);
    let cancelled = insert(store, new_job(q, "work")).await;
    store
        .jobs_cancel(JobSelector::Ids(vec![cancelled]), at(5))
        .await
        .unwrap();
    let pending = insert(
        store,
        NewJob {
            run_at: at(1000),
            ..new_job(q, "work")
        },
    )
    .await;
    (pending, running, completed, failed, cancelled)
}

pub async fn retry_cancel_and_delete_by_ids_follow_the_state_rules(store: DynStore) {
    let (pending, running, completed, failed, cancelled) = one_of_each(&store, "q").await;
    let all = vec![pending, running, completed, failed, cancelled];
    let state = |id| {
        let store = store.clone();
        async move { get(&store, id).await.state }
    };

    // Delete never touches a running job.
    assert_eq!(
        store
            .jobs_delete(JobSelector::Ids(vec![running, completed]))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.job_get(completed).await.unwrap(), None);
    assert_eq!(state(running).await, JobState::Running);

    // Retry: failed, cancelled and pending become pending now, attempts reset.
    assert_eq!(
        store
            .jobs_retry(JobSelector::Ids(all.clone()), at(20))
            .await
            .unwrap(),
        3
    );
    for id in [pending, failed, cancelled] {
        let job = get(&store, id).await;
        assert_eq!(job.state, JobState::Pending);
        assert_eq!(job.run_at, at(20));
        assert_eq!(job.attempt, 0);
        assert_eq!(job.finished_at, None);
    }
    assert_eq!(get(&store, failed).await.errors.len(), 1, "history is kept");
    assert_eq!(state(running).await, JobState::Running);

    // Cancel: pending and running jobs; the running job's worker learns it.
    assert_eq!(
        store
            .jobs_cancel(JobSelector::Ids(all.clone()), at(21))
            .await
            .unwrap(),
        4
    );
    for id in [pending, running, failed, cancelled] {
        let job = get(&store, id).await;
        assert_eq!(job.state, JobState::Cancelled);
        assert_eq!(job.finished_at, Some(at(21)));
    }
    assert!(
        store
            .job_heartbeat("w-run", &[running], at(99))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .job_complete(completion(running, "w-run", at(22)))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .jobs_cancel(JobSelector::Ids(all.clone()), at(23))
            .await
            .unwrap(),
        0
    );

    assert_eq!(store.jobs_delete(JobSelector::Ids(all)).await.unwrap(), 4);
    assert_eq!(ids_of(&store, query()).await.1, 0);
    assert_eq!(
        store.jobs_delete(JobSelector::Ids(vec![])).await.unwrap(),
        0
    );
}

pub async fn bulk_actions_by_filter_apply_to_every_match(store: DynStore) {
    let q1 = one_of_each(&store, "q1").await;
    let q2 = one_of_each(&store, "q2").await;
    let f1b = failed_job(&store, "q1", at(6), at(7)).await;

    // Retry every failed job of q1, whatever the page size.
    let filter = JobSelector::Filter(JobQuery {
        states: vec![JobState::Failed],
        queue: Some("q1".into()),
        limit: 1,
        ..query()
    });
    assert_eq!(store.jobs_retry(filter, at(30)).await.unwrap(), 2);
    assert_eq!(get(&store, q1.3).await.state, JobState::Pending);
    assert_eq!(get(&store, f1b).await.state, JobState::Pending);
    assert_eq!(get(&store, q2.3).await.state, JobState::Failed);

    // Cancel everything of q2: only pending and running jobs change.
    let q2_all = JobSelector::Filter(JobQuery {
        queue: Some("q2".into()),
        ..query()
    });
    assert_eq!(store.jobs_cancel(q2_all.clone(), at(31)).await.unwrap(), 2);
    assert_eq!(get(&store, q2.1).await.state, JobState::Cancelled);
    assert_eq!(get(&store, q2.2).await.state, JobState::Completed);

    // Delete the completed jobs of every queue.
    let completed = JobSelector::Filter(JobQuery {
        states: vec![JobState::Completed],
        ..query()
    });
    assert_eq!(store.jobs_delete(completed).await.unwrap(), 2);
    assert_eq!(store.job_get(q1.2).await.unwrap(), None);
    assert_eq!(store.job_get(q2.2).await.unwrap(), None);
    // q1's running job survives a delete of all of q1.
    let q1_all = JobSelector::Filter(JobQuery {
        queue: Some("q1".into()),
        ..query()
    });
    assert_eq!(store.jobs_delete(q1_all).await.unwrap(), 4);
    assert_eq!(
        ids_of(
            &store,
            JobQuery {
                queue: Some("q1".into()),
                ..query()
            }
        )
        .await,
        (vec![q1.1], 1)
    );
}

pub async fn retry_never_breaks_a_unique_key(store: DynStore) {
    let keyed = NewJob {
        unique_key: Some("k".into()),
        ..new_job("q", "k")
    };
    let old = insert(&store, keyed.clone()).await;
    assert_eq!(claim(&store, &["q"], "w", 1, at(1)).await, vec![old]);
    store
        .job_fail(failure(old, "w", at(2), None))
        .await
        .unwrap();
    let holder = insert(&store, keyed.clone()).await;
    // The key is held by a pending job: the failed one stays failed.
    assert_eq!(
        store
            .jobs_retry(JobSelector::Ids(vec![old]), at(3))
            .await
            .unwrap(),
        0
    );
    assert_eq!(get(&store, old).await.state, JobState::Failed);
    // Two inactive jobs share the key: exactly one becomes pending.
    store
        .jobs_cancel(JobSelector::Ids(vec![holder]), at(4))
        .await
        .unwrap();
    assert_eq!(
        store
            .jobs_retry(JobSelector::Ids(vec![old, holder]), at(5))
            .await
            .unwrap(),
        1
    );
    let states = [
        get(&store, old).await.state,
        get(&store, holder).await.state,
    ];
    assert_eq!(
        states.iter().filter(|s| **s == JobState::Pending).count(),
        1
    );
    let active = if states[0] == JobState::Pending {
        old
    } else {
        holder
    };
    assert_eq!(
        store.job_insert(keyed).await.unwrap(),
        InsertOutcome::Merged(active)
    );
}

pub async fn deleting_an_account_deletes_its_jobs(store: DynStore) {
    let a = account(&store, 1).await;
    let b = account(&store, 2).await;
    let ja = insert(
        &store,
        NewJob {
            account_id: Some(a),
            ..new_job("q", "k")
        },
    )
    .await;
    let jb = insert(
        &store,
        NewJob {
            account_id: Some(b),
            ..new_job("q", "k")
        },
    )
    .await;
    let running = insert(
        &store,
        NewJob {
            account_id: Some(a),
            priority: -1,
            ..new_job("q", "k")
        },
    )
    .await;
    assert_eq!(claim(&store, &["q"], "w", 1, at(1)).await, vec![running]);
    assert!(store.account_delete(a).await.unwrap());
    assert_eq!(store.job_get(ja).await.unwrap(), None);
    assert_eq!(store.job_get(running).await.unwrap(), None);
    assert!(
        store
            .job_heartbeat("w", &[running], at(50))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(get(&store, jb).await.state, JobState::Pending);
}

// ----- retention and metrics -----

pub async fn prune_keeps_the_newest_and_deletes_only_old_jobs(store: DynStore) {
    let now = at(100 * 86_400);
    let days = |d: i64| now - Duration::days(d);
    let c = [
        completed_job(&store, "q", days(10), days(10)).await,
        completed_job(&store, "q", days(9), days(9)).await,
        completed_job(&store, "q", days(8), days(8)).await,
        completed_job(&store, "q", days(1), now - Duration::hours(1)).await,
        completed_job(&store, "q", days(1), now - Duration::minutes(1)).await,
    ];
    let f = [
        failed_job(&store, "q", days(40), days(40)).await,
        failed_job(&store, "q", days(35), days(35)).await,
        failed_job(&store, "q", days(1), days(1)).await,
    ];
    let x1 = insert(&store, new_job("q", "k")).await;
    let x2 = insert(&store, new_job("q", "k")).await;
    store
        .jobs_cancel(JobSelector::Ids(vec![x1]), days(40))
        .await
        .unwrap();
    store
        .jobs_cancel(JobSelector::Ids(vec![x2]), days(31))
        .await
        .unwrap();
    // Old but unfinished jobs are never pruned.
    let old_pending = insert(
        &store,
        NewJob {
            run_at: days(60),
            now: days(60),
            ..new_job("idle", "k")
        },
    )
    .await;

    let policy = |completed_keep: u32, failed_keep: u32| RetentionPolicy {
        completed_keep,
        completed_max_age: Duration::days(7),
        failed_keep,
        failed_max_age: Duration::days(30),
        now,
    };
    let report = store.job_prune(policy(4, 10)).await.unwrap();
    assert_eq!(
        (report.completed, report.failed, report.cancelled),
        (1, 0, 0)
    );
    assert_eq!(store.job_get(c[0]).await.unwrap(), None);
    assert!(store.job_get(c[1]).await.unwrap().is_some());

    let report = store.job_prune(policy(2, 1)).await.unwrap();
    assert_eq!(
        (report.completed, report.failed, report.cancelled),
        (2, 2, 1)
    );
    for gone in [c[1], c[2], f[0], f[1], x1] {
        assert_eq!(
            store.job_get(gone).await.unwrap(),
            None,
            "job {gone} pruned"
        );
    }
    for kept in [c[3], c[4], f[2], x2, old_pending] {
        assert!(
            store.job_get(kept).await.unwrap().is_some(),
            "job {kept} kept"
        );
    }
    // Young jobs stay even beyond the count.
    let report = store.job_prune(policy(0, 0)).await.unwrap();
    assert_eq!(
        (report.completed, report.failed, report.cancelled),
        (0, 0, 1)
    );
    assert!(store.job_get(c[3]).await.unwrap().is_some());
    assert!(store.job_get(f[2]).await.unwrap().is_some());
}

pub async fn metrics_count_finished_jobs_per_minute_and_roll_up(store: DynStore) {
    let ms = |m: i64| t0() + Duration::milliseconds(m);
    let job = |kind: &str| NewJob {
        run_at: t0(),
        now: t0(),
        ..new_job("mq", kind)
    };
    // Minute 0: two completions of kind a.
    let a1 = insert(&store, job("a")).await;
    let a2 = insert(&store, job("a")).await;
    assert_eq!(claim(&store, &["mq"], "w", 1, ms(1_000)).await, vec![a1]);
    assert!(
        store
            .job_complete(completion(a1, "w", ms(1_500)))
            .await
            .unwrap()
    );
    assert_eq!(claim(&store, &["mq"], "w", 1, ms(2_000)).await, vec![a2]);
    assert!(
        store
            .job_complete(completion(a2, "w", ms(4_000)))
            .await
            .unwrap()
    );
    // Minute 1: a retried failure (not counted) then a final failure.
    let a3 = insert(&store, job("a")).await;
    assert_eq!(claim(&store, &["mq"], "w", 1, ms(61_000)).await, vec![a3]);
    store
        .job_fail(failure(a3, "w", ms(61_500), Some(ms(62_000))))
        .await
        .unwrap();
    assert_eq!(claim(&store, &["mq"], "w", 1, ms(62_000)).await, vec![a3]);
    store
        .job_fail(failure(a3, "w", ms(63_000), None))
        .await
        .unwrap();
    // Next hour: kind b. Another queue: excluded by the queue filter.
    let b1 = insert(&store, job("b")).await;
    assert_eq!(
        claim(&store, &["mq"], "w", 1, ms(3_600_000)).await,
        vec![b1]
    );
    assert!(
        store
            .job_complete(completion(b1, "w", ms(3_605_000)))
            .await
            .unwrap()
    );
    completed_job(&store, "elsewhere", t0(), at(5)).await;

    let points = |resolution: Resolution, from: DateTime<Utc>, queue: Option<&str>| {
        let store = store.clone();
        let queue = queue.map(str::to_string);
        async move {
            store
                .job_metrics(JobMetricsQuery {
                    from,
                    to: at(2 * 3_600),
                    resolution,
                    queue,
                })
                .await
                .unwrap()
        }
    };
    let mut wait_a = vec![0u64; HISTOGRAM_BUCKETS];
    wait_a[histogram_bucket(1_000)] += 1;
    wait_a[histogram_bucket(2_000)] += 1;
    let mut run_a = vec![0u64; HISTOGRAM_BUCKETS];
    run_a[histogram_bucket(500)] += 1;
    run_a[histogram_bucket(2_000)] += 1;

    let minute = points(Resolution::Minute, t0(), Some("mq")).await;
    let summary: Vec<_> = minute
        .iter()
        .map(|p| (p.bucket_start, p.kind.as_str(), p.completed, p.failed))
        .collect();
    assert_eq!(
        summary,
        vec![
            (t0(), "a", 2, 0),
            (at(60), "a", 0, 1),
            (at(3_600), "b", 1, 0)
        ]
    );
    assert!(minute.iter().all(|p| p.queue == "mq"));
    assert_eq!(minute[0].wait_histogram, wait_a);
    assert_eq!(minute[0].run_histogram, run_a);
    // The final failure: claimed as soon as due (wait 0), ran one second.
    assert_eq!(minute[1].wait_histogram[histogram_bucket(0)], 1);
    assert_eq!(minute[1].run_histogram[histogram_bucket(1_000)], 1);
    assert_eq!(minute[1].run_histogram.iter().sum::<u64>(), 1);

    let hour = points(Resolution::Hour, t0(), Some("mq")).await;
    let summary: Vec<_> = hour
        .iter()
        .map(|p| (p.bucket_start, p.kind.as_str(), p.completed, p.failed))
        .collect();
    assert_eq!(summary, vec![(t0(), "a", 2, 1), (at(3_600), "b", 1, 0)]);
    assert_eq!(hour[0].wait_histogram.iter().sum::<u64>(), 3);
    assert_eq!(hour[0].run_histogram.iter().sum::<u64>(), 3);
    assert_eq!(hour[0].run_histogram[histogram_bucket(500)], 1);

    let day_start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let day = points(Resolution::Day, day_start, None).await;
    let summary: Vec<_> = day
        .iter()
        .map(|p| {
            (
                p.bucket_start,
                p.queue.as_str(),
                p.kind.as_str(),
                p.completed,
                p.failed,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (day_start, "elsewhere", "work", 1, 0),
            (day_start, "mq", "a", 2, 1),
            (day_start, "mq", "b", 1, 0),
        ]
    );
    // The range selects minutes.
    let late = points(Resolution::Minute, at(60), Some("mq")).await;
    assert_eq!(late.len(), 2);
    assert_eq!(late[0].bucket_start, at(60));
}

// ----- the global limiter -----

pub async fn rate_limit_grants_up_to_the_limit_then_names_the_next_slot(store: DynStore) {
    let window = Duration::seconds(60);
    for s in 0..5 {
        assert_eq!(
            store
                .rate_limit_acquire("starts", 5, window, at(s))
                .await
                .unwrap(),
            RateDecision::Granted,
            "start {s}"
        );
    }
    assert_eq!(
        store
            .rate_limit_acquire("starts", 5, window, at(5))
            .await
            .unwrap(),
        RateDecision::RetryAt(at(60))
    );
    assert_eq!(
        store
            .rate_limit_acquire("starts", 5, window, at(30))
            .await
            .unwrap(),
        RateDecision::RetryAt(at(60))
    );
    // Another limiter has its own budget.
    assert_eq!(
        store
            .rate_limit_acquire("other", 5, window, at(5))
            .await
            .unwrap(),
        RateDecision::Granted
    );
    // The window slides: the first grant leaves it at t0 + 60 s.
    assert_eq!(
        store
            .rate_limit_acquire("starts", 5, window, at(60))
            .await
            .unwrap(),
        RateDecision::Granted
    );
    assert_eq!(
        store
            .rate_limit_acquire("starts", 5, window, at(60))
            .await
            .unwrap(),
        RateDecision::RetryAt(at(61))
    );
    let bad = store
        .rate_limit_acquire("starts", 5, Duration::zero(), at(60))
        .await;
    assert!(
        matches!(bad, Err(StoreError::InvalidInput { .. })),
        "{bad:?}"
    );
}

pub async fn rate_limit_never_exceeds_the_limit_under_concurrency(store: DynStore) {
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .rate_limit_acquire("sync-starts", 5, Duration::seconds(60), at(i % 3))
                .await
                .unwrap()
        }));
    }
    let mut granted = 0;
    for t in tasks {
        if t.await.unwrap() == RateDecision::Granted {
            granted += 1;
        }
    }
    assert_eq!(granted, 5);
}

// ----- schedules -----

fn schedule(name: &str, cron: &str, args: serde_json::Value) -> ScheduleDef {
    ScheduleDef {
        name: name.to_string(),
        cron: cron.to_string(),
        queue: "instagram-sync".to_string(),
        kind: "sync_all".to_string(),
        args,
    }
}

fn fire(
    name: &str,
    expected: DateTime<Utc>,
    next: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ScheduleFire {
    ScheduleFire {
        name: name.to_string(),
        expected_next_run_at: expected,
        new_next_run_at: next,
        job: NewJob {
            unique_key: Some(format!("schedule:{name}:{}", expected.timestamp())),
            run_at: now,
            now,
            ..new_job("instagram-sync", "sync_all")
        },
        now,
    }
}

pub async fn schedule_upsert_keeps_state_and_replaces_next_run_only_on_cron_change(
    store: DynStore,
) {
    store
        .schedule_upsert(
            schedule("s1", "0 * * * *", json!({"plan": "light"})),
            at(3_600),
        )
        .await
        .unwrap();
    let s = store.schedule_get("s1").await.unwrap().unwrap();
    assert!(!s.paused);
    assert_eq!(s.next_run_at, at(3_600));
    assert_eq!((s.last_run_at, s.last_job_id), (None, None));
    assert_eq!(s.def, schedule("s1", "0 * * * *", json!({"plan": "light"})));

    let fired = store
        .schedule_fire(fire("s1", at(3_600), at(7_200), at(3_601)))
        .await
        .unwrap()
        .unwrap();
    assert!(store.schedule_set_paused("s1", true, at(0)).await.unwrap());

    // Same cron, new arguments: state and next run are kept.
    store
        .schedule_upsert(
            schedule("s1", "0 * * * *", json!({"plan": "full"})),
            at(999),
        )
        .await
        .unwrap();
    let s = store.schedule_get("s1").await.unwrap().unwrap();
    assert!(s.paused);
    assert_eq!(s.next_run_at, at(7_200));
    assert_eq!(s.last_run_at, Some(at(3_601)));
    assert_eq!(s.last_job_id, Some(fired.id()));
    assert_eq!(s.def.args, json!({"plan": "full"}));

    // A new cron expression replaces the next run (and keeps the pause).
    store
        .schedule_upsert(schedule("s1", "*/30 * * * *", json!({})), at(1_800))
        .await
        .unwrap();
    let s = store.schedule_get("s1").await.unwrap().unwrap();
    assert_eq!(s.next_run_at, at(1_800));
    assert_eq!(s.def.cron, "*/30 * * * *");
    assert!(s.paused);
    assert_eq!(s.last_run_at, Some(at(3_601)));

    store
        .schedule_upsert(schedule("s0", "0 2 * * *", json!({})), at(50_000))
        .await
        .unwrap();
    let names: Vec<String> = store
        .schedule_list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.def.name)
        .collect();
    assert_eq!(names, vec!["s0", "s1"]);
    assert_eq!(store.schedule_get("missing").await.unwrap(), None);
}

pub async fn schedule_pause_and_resume(store: DynStore) {
    store
        .schedule_upsert(schedule("s", "0 * * * *", json!({})), at(3_600))
        .await
        .unwrap();
    assert!(store.schedule_set_paused("s", true, at(0)).await.unwrap());
    let s = store.schedule_get("s").await.unwrap().unwrap();
    assert!(s.paused);
    assert_eq!(s.next_run_at, at(3_600), "pausing keeps the next run");
    // A paused schedule never fires.
    assert_eq!(
        store
            .schedule_fire(fire("s", at(3_600), at(7_200), at(3_600)))
            .await
            .unwrap(),
        None
    );
    assert_eq!(ids_of(&store, query()).await.1, 0);

    assert!(
        store
            .schedule_set_paused("s", false, at(10_800))
            .await
            .unwrap()
    );
    let s = store.schedule_get("s").await.unwrap().unwrap();
    assert!(!s.paused);
    assert_eq!(s.next_run_at, at(10_800));
    assert!(
        store
            .schedule_fire(fire("s", at(10_800), at(14_400), at(10_800)))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        !store
            .schedule_set_paused("missing", true, at(0))
            .await
            .unwrap()
    );
}

pub async fn schedule_fire_fires_once_when_callers_race(store: DynStore) {
    store
        .schedule_upsert(schedule("s", "0 * * * *", json!({})), at(3_600))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .schedule_fire(fire("s", at(3_600), at(7_200), at(3_601)))
                .await
                .unwrap()
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        if let Some(outcome) = t.await.unwrap() {
            winners.push(outcome);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let InsertOutcome::Inserted(id) = winners[0] else {
        panic!("{winners:?}")
    };
    let job = get(&store, id).await;
    assert_eq!(
        (job.kind.as_str(), job.state),
        ("sync_all", JobState::Pending)
    );
    assert_eq!(ids_of(&store, query()).await.1, 1);
    let s = store.schedule_get("s").await.unwrap().unwrap();
    assert_eq!(s.next_run_at, at(7_200));
    assert_eq!(s.last_run_at, Some(at(3_601)));
    assert_eq!(s.last_job_id, Some(id));

    // A stale expectation fires nothing; an unknown schedule neither.
    assert_eq!(
        store
            .schedule_fire(fire("s", at(3_600), at(7_200), at(3_602)))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .schedule_fire(fire("nope", at(0), at(1), at(2)))
            .await
            .unwrap(),
        None
    );
    // The next tick fires; its job merges into an active one holding the same key.
    let mut tick = fire("s", at(7_200), at(10_800), at(7_200));
    tick.job.unique_key = Some("sync-all".into());
    let holder = insert(
        &store,
        NewJob {
            unique_key: Some("sync-all".into()),
            ..new_job("q", "k")
        },
    )
    .await;
    assert_eq!(
        store.schedule_fire(tick).await.unwrap(),
        Some(InsertOutcome::Merged(holder))
    );
    assert_eq!(
        store.schedule_get("s").await.unwrap().unwrap().last_job_id,
        Some(holder)
    );
}

// ----- workers -----

pub async fn workers_register_list_and_remove(store: DynStore) {
    let worker = |id: &str, seen: DateTime<Utc>| WorkerInfo {
        id: id.to_string(),
        hostname: "host-a".to_string(),
        pid: 4242,
        queues: vec!["instagram-sync".to_string(), "maintenance".to_string()],
        concurrency: 2,
        started_at: t0(),
        last_seen_at: seen,
    };
    store.worker_heartbeat(worker("w1", at(600))).await.unwrap();
    store.worker_heartbeat(worker("w2", at(0))).await.unwrap();
    assert_eq!(
        store.worker_list(at(540)).await.unwrap(),
        vec![worker("w1", at(600))]
    );
    assert_eq!(
        store.worker_list(at(-3_600)).await.unwrap(),
        vec![worker("w1", at(600)), worker("w2", at(0))]
    );
    // A heartbeat updates the registration.
    store
        .worker_heartbeat(WorkerInfo {
            concurrency: 4,
            ..worker("w2", at(700))
        })
        .await
        .unwrap();
    let listed = store.worker_list(at(540)).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].concurrency, 4);
    assert_eq!(listed[1].last_seen_at, at(700));
    store.worker_remove("w1").await.unwrap();
    store.worker_remove("never-existed").await.unwrap();
    let ids: Vec<String> = store
        .worker_list(at(-3_600))
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.id)
        .collect();
    assert_eq!(ids, vec!["w2"]);
}
