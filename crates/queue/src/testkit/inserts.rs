//! Queue conformance cases. Inserts, unique keys and merges.

use super::*;

pub async fn queue_is_empty_on_a_fresh_database(fx: &dyn Fixture) {
    let store = fx.store();
    let page = store
        .job_list(JobQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 0);
    assert!(page.jobs.is_empty());
    assert!(
        store
            .job_snapshot(t0(), None)
            .await
            .unwrap()
            .counts
            .is_empty()
    );
}

pub async fn job_insert_and_get_round_trip(fx: &dyn Fixture) {
    let store = fx.store();
    let acc = fx.account(1).await;
    let run = fx.run(acc).await;
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
    assert_eq!(
        store.job_get(JobId::new(other.get() + 1000)).await.unwrap(),
        None
    );
}

pub async fn invalid_jobs_are_rejected(fx: &dyn Fixture) {
    let store = fx.store();
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
            account_id: Some(AccountId::new(987_654)),
            ..new_job("q", "k")
        })
        .await;
    assert!(ghost.is_err(), "{ghost:?}");
    assert_eq!(ids_of(&store, query()).await.1, 0);
}

pub async fn unique_key_merges_while_active_and_frees_after_finish(fx: &dyn Fixture) {
    let store = fx.store();
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

pub async fn job_insert_many_merges_in_order_and_is_one_transaction(fx: &dyn Fixture) {
    let store = fx.store();
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
                account_id: Some(AccountId::new(987_654)),
                ..new_job("q", "ghost")
            },
        ])
        .await;
    assert!(ghost.is_err());
    assert_eq!(ids_of(&store, query()).await.1, 4);
}
