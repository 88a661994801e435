//! Queue conformance cases. Claims: order, leases, one job per account at a time, concurrent claimers.

use super::*;

pub async fn claim_orders_by_priority_run_at_and_id_and_skips_future_and_other_queues(
    fx: &dyn Fixture,
) {
    let store = fx.store();
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

pub async fn claim_sets_lease_worker_and_attempt(fx: &dyn Fixture) {
    let store = fx.store();
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

/// A job of queue "q" for `account` (or none) at `priority`.
fn job_of(account: Option<AccountId>, priority: i16) -> NewJob {
    NewJob {
        account_id: account,
        priority,
        ..new_job("q", "k")
    }
}

pub async fn claim_never_runs_two_jobs_of_one_account(fx: &dyn Fixture) {
    let store = fx.store();
    let a1 = fx.account(1).await;
    let a2 = fx.account(2).await;
    let j1 = insert(&store, job_of(Some(a1), 0)).await;
    let j2 = insert(&store, job_of(Some(a1), 1)).await;
    let j3 = insert(&store, job_of(Some(a2), 2)).await;
    let j4 = insert(&store, job_of(None, 3)).await;
    let j5 = insert(&store, job_of(None, 3)).await;

    // One claim never takes two jobs of one account, whatever its limit.
    assert_eq!(
        claim(&store, &["q"], "w1", u32::MAX, at(1)).await,
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

pub async fn a_claim_looks_past_one_accounts_backlog(fx: &dyn Fixture) {
    let store = fx.store();
    let busy = fx.account(1).await;
    let other = fx.account(2).await;
    // More due jobs of one account than a claim first looks at (4 × its limit, at least
    // 32), all before the other account's and the account-less one in the order.
    let mut backlog = Vec::new();
    for _ in 0..200 {
        backlog.push(insert(&store, job_of(Some(busy), 0)).await);
    }
    let behind = insert(&store, job_of(Some(other), 1)).await;
    let loose = insert(&store, job_of(None, 2)).await;
    assert_eq!(
        claim(&store, &["q"], "w1", 3, at(1)).await,
        vec![backlog[0], behind, loose]
    );
    // With the account running, nothing of it is taken, however deep its backlog.
    assert!(claim(&store, &["q"], "w2", 3, at(2)).await.is_empty());
}

pub async fn concurrent_claimers_never_double_claim_or_overlap_an_account(fx: &dyn Fixture) {
    let store = fx.store();
    const ACCOUNTS: u32 = 20;
    const PER_ACCOUNT: usize = 10;
    const TOTAL: usize = ACCOUNTS as usize * PER_ACCOUNT;
    let mut accounts = Vec::new();
    for n in 0..ACCOUNTS {
        accounts.push(fx.account(n).await);
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
