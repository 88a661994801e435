//! Queue conformance cases. Inspection: listing with filters and pages, plain-text search, the snapshot.

use super::*;

pub async fn list_filters_by_state_queue_kind_account_and_run_and_pages(fx: &dyn Fixture) {
    let store = fx.store();
    let a = fx.account(1).await;
    let b = fx.account(2).await;
    let run = fx.run(a).await;
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

pub async fn search_is_plain_text_never_sql(fx: &dyn Fixture) {
    let store = fx.store();
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

pub async fn snapshot_counts_scheduled_and_oldest_due(fx: &dyn Fixture) {
    let store = fx.store();
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

    let snap = store.job_snapshot(at(100), None).await.unwrap();
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
    let later = store.job_snapshot(at(1000), None).await.unwrap();
    assert!(later.scheduled.is_empty());
    assert_eq!(later.oldest_due, vec![("q1".to_string(), at(10))]);
}

/// The due count: pending jobs due at `now` plus running ones, in every queue; scheduled,
/// finished and cancelled jobs are not counted.
pub async fn due_count_is_pending_due_plus_running(fx: &dyn Fixture) {
    let store = fx.store();
    assert_eq!(store.job_due_count(at(100)).await.unwrap(), 0);
    completed_job(&store, "q1", t0(), at(1)).await;
    failed_job(&store, "q2", at(3), at(4)).await;
    let running = insert(&store, new_job("q1", "k")).await;
    assert_eq!(claim(&store, &["q1"], "w", 1, at(2)).await, vec![running]);
    for (queue, run_at) in [("q1", at(10)), ("q2", at(50)), ("q1", at(500))] {
        insert(
            &store,
            NewJob {
                run_at,
                ..new_job(queue, "k")
            },
        )
        .await;
    }
    assert_eq!(store.job_due_count(at(5)).await.unwrap(), 1);
    assert_eq!(store.job_due_count(at(100)).await.unwrap(), 3);
    assert_eq!(store.job_due_count(at(1000)).await.unwrap(), 4);
    // The due count is the snapshot's pending minus scheduled, plus running.
    let snap = store.job_snapshot(at(100), None).await.unwrap();
    let of = |state| -> i64 {
        snap.counts
            .iter()
            .filter(|c| c.state == state)
            .map(|c| c.count)
            .sum()
    };
    let scheduled: i64 = snap.scheduled.iter().map(|(_, n)| n).sum();
    assert_eq!(
        of(JobState::Pending) - scheduled + of(JobState::Running),
        store.job_due_count(at(100)).await.unwrap()
    );
}

/// A set of accounts (a workspace's) narrows the list, its total, bulk actions and the
/// snapshot's counts; jobs without an account are outside every set.
pub async fn an_account_set_narrows_lists_bulk_actions_and_counts(fx: &dyn Fixture) {
    let store = fx.store();
    let a = fx.account(1).await;
    let b = fx.account(2).await;
    let c = fx.account(3).await;
    let of = |account: AccountId| NewJob {
        account_id: Some(account),
        ..new_job("q1", "sync_media")
    };
    let ja = insert(&store, of(a)).await;
    let jb = insert(&store, of(b)).await;
    let jc = insert(&store, of(c)).await;
    let global = insert(&store, new_job("q1", "prune")).await;
    let later = insert(
        &store,
        NewJob {
            run_at: at(500),
            ..of(b)
        },
    )
    .await;

    let mine = Some(vec![a, b]);
    let list = |q: JobQuery| ids_of(&store, q);
    assert_eq!(
        list(JobQuery {
            accounts: mine.clone(),
            ..query()
        })
        .await,
        (vec![later, jb, ja], 3)
    );
    // Paging counts only the set's jobs.
    assert_eq!(
        list(JobQuery {
            accounts: mine.clone(),
            limit: 1,
            offset: 1,
            ..query()
        })
        .await,
        (vec![jb], 3)
    );
    // An empty set matches nothing, not everything.
    assert_eq!(
        list(JobQuery {
            accounts: Some(vec![]),
            ..query()
        })
        .await,
        (vec![], 0)
    );
    // Ids and the set together: only the named jobs inside the set.
    assert_eq!(
        list(JobQuery {
            ids: vec![ja, jc, global],
            accounts: mine.clone(),
            ..query()
        })
        .await,
        (vec![ja], 1)
    );

    let snap = store.job_snapshot(at(100), Some(&[a, b])).await.unwrap();
    let counts: Vec<(String, JobState, i64)> = snap
        .counts
        .iter()
        .map(|c| (c.queue.clone(), c.state, c.count))
        .collect();
    assert_eq!(counts, vec![("q1".to_string(), JobState::Pending, 3)]);
    assert_eq!(snap.scheduled, vec![("q1".to_string(), 1)]);
    assert!(
        store
            .job_snapshot(at(100), Some(&[]))
            .await
            .unwrap()
            .counts
            .is_empty()
    );
    let all = store.job_snapshot(at(100), None).await.unwrap();
    assert_eq!(all.counts[0].count, 5);

    // A bulk cancel by ids within the set leaves the others' jobs alone.
    let cancelled = store
        .jobs_cancel(
            JobSelector::Filter(JobQuery {
                ids: vec![ja, jc, global],
                accounts: mine.clone(),
                ..query()
            }),
            at(1),
        )
        .await
        .unwrap();
    assert_eq!(cancelled, 1);
    assert_eq!(get(&store, ja).await.state, JobState::Cancelled);
    assert_eq!(get(&store, jc).await.state, JobState::Pending);
    assert_eq!(get(&store, global).await.state, JobState::Pending);
    // A bulk delete by filter within the set.
    let deleted = store
        .jobs_delete(JobSelector::Filter(JobQuery {
            kind: Some("sync_media".into()),
            accounts: mine,
            ..query()
        }))
        .await
        .unwrap();
    assert_eq!(deleted, 3);
    assert_eq!(list(query()).await, (vec![global, jc], 2));
}
