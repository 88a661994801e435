//! Queue conformance cases. Bulk actions: retry, cancel and delete by ids or by filter, unique keys kept, jobs deleted with their account.

use super::*;

/// One job in each state, in queue `q`: (pending, running, completed, failed, cancelled).
async fn one_of_each(store: &DynQueueStore, q: &str) -> (JobId, JobId, JobId, JobId, JobId) {
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

pub async fn retry_cancel_and_delete_by_ids_follow_the_state_rules(fx: &dyn Fixture) {
    let store = fx.store();
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

pub async fn bulk_actions_by_filter_apply_to_every_match(fx: &dyn Fixture) {
    let store = fx.store();
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

pub async fn retry_never_breaks_a_unique_key(fx: &dyn Fixture) {
    let store = fx.store();
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

pub async fn deleting_an_account_deletes_its_jobs(fx: &dyn Fixture) {
    let store = fx.store();
    let a = fx.account(1).await;
    let b = fx.account(2).await;
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
    assert!(fx.account_delete(a).await);
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
