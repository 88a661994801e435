//! Queue conformance cases. Leases and outcomes: heartbeats, completion with chained inserts, failures and retries, snoozes, progress and the rescuer.

use super::*;

pub async fn heartbeat_extends_leases_and_drops_cancelled_jobs(fx: &dyn Fixture) {
    let store = fx.store();
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
            .job_heartbeat("w1", &[JobId::new(j1.get() + 1000)], at(700))
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

pub async fn complete_stores_result_and_inserts_next_atomically(fx: &dyn Fixture) {
    let store = fx.store();
    let acc = fx.account(1).await;
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

pub async fn complete_is_refused_for_jobs_not_held(fx: &dyn Fixture) {
    let store = fx.store();
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
            .job_complete(completion(JobId::new(pending.get() + 1000), "w", at(4)))
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

pub async fn fail_with_retry_returns_to_pending_with_an_error_entry(fx: &dyn Fixture) {
    let store = fx.store();
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

pub async fn fail_without_attempts_left_is_final(fx: &dyn Fixture) {
    let store = fx.store();
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

pub async fn snooze_gives_the_attempt_back(fx: &dyn Fixture) {
    let store = fx.store();
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

pub async fn progress_is_kept_on_the_job(fx: &dyn Fixture) {
    let store = fx.store();
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

    // A completion carrying the attempt's last progress (not written while it ran)
    // stores it; a completion of another worker changes nothing.
    let second = insert(&store, new_job("q", "k")).await;
    assert_eq!(claim(&store, &["q"], "w", 1, at(3)).await, vec![second]);
    assert!(
        store
            .job_progress_set(second, "w", json!({"done": 1, "of": 4}))
            .await
            .unwrap()
    );
    assert!(
        !store
            .job_complete(JobCompletion {
                progress: Some(json!({"done": 9, "of": 9})),
                ..completion(second, "other", at(4))
            })
            .await
            .unwrap()
    );
    assert_eq!(
        get(&store, second).await.progress,
        Some(json!({"done": 1, "of": 4}))
    );
    assert!(
        store
            .job_complete(JobCompletion {
                progress: Some(json!({"done": 4, "of": 4})),
                ..completion(second, "w", at(4))
            })
            .await
            .unwrap()
    );
    let done = get(&store, second).await;
    assert_eq!(done.state, JobState::Completed);
    assert_eq!(done.progress, Some(json!({"done": 4, "of": 4})));
}

pub async fn rescue_returns_expired_leases_to_pending_or_fails_them(fx: &dyn Fixture) {
    let store = fx.store();
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
