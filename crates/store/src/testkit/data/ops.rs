//! Conformance cases for sync runs, alerts, API keys, sessions and API usage records.

use super::*;

pub async fn sync_runs_and_steps(store: DynStore) {
    let a = account(&store, "10001").await.id;
    let b = account(&store, "10002").await.id;
    let new_run = |account: AccountId, minute: i64| NewSyncRun {
        account_id: account,
        plan: "full".into(),
        trigger: "schedule:full-sync".into(),
        steps: ids(&["profile", "media", "media_insights"]),
        started_at: at(minute),
        job_id: None,
    };
    let r1 = store.sync_run_create(new_run(a, 0)).await.unwrap();
    let r2 = store.sync_run_create(new_run(b, 1)).await.unwrap();
    // The job that opens a run names it from then on.
    let opener = store.job_insert(job(Some(a), None)).await.unwrap().id();
    let r3 = store
        .sync_run_create(NewSyncRun {
            job_id: Some(opener),
            ..new_run(a, 2)
        })
        .await
        .unwrap();
    assert!(r1 < r2 && r2 < r3);
    let opener = store.job_get(opener).await.unwrap().unwrap();
    assert_eq!(opener.run_id, Some(r3));
    // A run of an account that does not exist is refused, and links no job.
    let other = store.job_insert(job(None, None)).await.unwrap().id();
    let gone = store
        .sync_run_create(NewSyncRun {
            job_id: Some(other),
            ..new_run(AccountId::new(a.get() + b.get() + 1_000), 3)
        })
        .await;
    assert!(gone.is_err());
    assert_eq!(store.job_get(other).await.unwrap().unwrap().run_id, None);

    // A stage's steps are recorded together.
    store
        .sync_steps_record(vec![step(r1, "media", 1, 3), step(r1, "profile", 0, 1)])
        .await
        .unwrap();
    store.sync_steps_record(Vec::new()).await.unwrap();
    // A retried step overwrites its row.
    let retried = SyncStep {
        status: StepStatus::Failed,
        attempts: 2,
        error: Some("HTTP 500".into()),
        complete: Some(false),
        stored: Some(40),
        ..step(r1, "media", 1, 5)
    };
    store
        .sync_steps_record(vec![retried.clone()])
        .await
        .unwrap();
    // A step needs its run, and a batch with a step of a missing run writes nothing.
    let missing = RunId::new(r1.get() + r2.get() + r3.get() + 100);
    let err = store
        .sync_steps_record(vec![
            step(r2, "profile", 0, 1),
            step(missing, "profile", 0, 1),
        ])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { .. })
            && err.to_string().contains(&missing.to_string()),
        "{err}"
    );
    // Of two rows of one step in a batch, the later is kept.
    let running = SyncStep {
        status: StepStatus::Running,
        finished_at: None,
        ..step(r3, "profile", 0, 1)
    };
    store
        .sync_steps_record(vec![
            running,
            step(r3, "media", 1, 1),
            step(r3, "profile", 0, 4),
        ])
        .await
        .unwrap();
    let (_, r3_steps) = store.sync_run_get(r3).await.unwrap().unwrap();
    assert_eq!(
        r3_steps,
        vec![step(r3, "profile", 0, 4), step(r3, "media", 1, 1)]
    );

    let (run, steps) = store.sync_run_get(r1).await.unwrap().unwrap();
    assert_eq!(run.account_id, a);
    assert_eq!(run.plan, "full");
    assert_eq!(run.trigger, "schedule:full-sync");
    assert_eq!(
        run.steps_planned,
        ids(&["profile", "media", "media_insights"])
    );
    assert_eq!(run.status, RunStatus::Running);
    assert_eq!(run.started_at, at(0));
    assert_eq!(run.finished_at, None);
    assert_eq!(
        (run.api_calls, run.rate_limit_units, run.rows_written),
        (6, 12, 60),
        "sums over steps"
    );
    assert_eq!(
        steps,
        vec![step(r1, "profile", 0, 1), retried],
        "ordered by position"
    );

    assert!(
        store
            .sync_run_finish(RunFinish {
                run_id: r1,
                status: RunStatus::Failed,
                error: Some("media: HTTP 500".into()),
                finished_at: at(9),
            })
            .await
            .unwrap()
    );
    assert!(
        !store
            .sync_run_finish(RunFinish {
                run_id: RunId::new(r3.get() + 100),
                status: RunStatus::Succeeded,
                error: None,
                finished_at: at(9)
            })
            .await
            .unwrap()
    );
    let (run, _) = store.sync_run_get(r1).await.unwrap().unwrap();
    assert_eq!(
        (run.status, run.error.as_deref(), run.finished_at),
        (RunStatus::Failed, Some("media: HTTP 500"), Some(at(9)))
    );
    let (empty, no_steps) = store.sync_run_get(r2).await.unwrap().unwrap();
    assert_eq!((empty.api_calls, empty.rows_written), (0, 0));
    assert!(no_steps.is_empty());
    assert_eq!(
        store
            .sync_run_get(RunId::new(r3.get() + 100))
            .await
            .unwrap(),
        None
    );

    let list = |query: RunQuery| {
        let store = store.clone();
        async move {
            store
                .sync_runs_list(query)
                .await
                .unwrap()
                .iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(RunQuery::default()).await,
        vec![r3, r2, r1],
        "newest first; limit 0 = all"
    );
    assert_eq!(
        list(RunQuery {
            account_id: Some(a),
            ..Default::default()
        })
        .await,
        vec![r3, r1]
    );
    assert_eq!(
        list(RunQuery {
            status: Some(RunStatus::Running),
            ..Default::default()
        })
        .await,
        vec![r3, r2]
    );
    assert_eq!(
        list(RunQuery {
            limit: 2,
            ..Default::default()
        })
        .await,
        vec![r3, r2]
    );
    assert_eq!(
        list(RunQuery {
            limit: 2,
            before_id: Some(r2),
            ..Default::default()
        })
        .await,
        vec![r1]
    );
    // A set of accounts (a workspace's): only their runs; an empty set, none.
    assert_eq!(
        list(RunQuery {
            accounts: Some(vec![a]),
            ..Default::default()
        })
        .await,
        vec![r3, r1]
    );
    assert_eq!(
        list(RunQuery {
            accounts: Some(vec![]),
            ..Default::default()
        })
        .await,
        Vec::<RunId>::new()
    );
    let listed = store
        .sync_runs_list(RunQuery {
            account_id: Some(a),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed[1], run, "listed runs carry the same sums");
    assert_eq!(store.totals().await.unwrap().sync_runs, 3);
}

/// A sync's start marks its account and opens its run together (nothing written for a
/// paused or missing account); its end closes the run and sets the account's status; what
/// it spent and saw is recorded together, or not at all when the usage is invalid.
pub async fn a_sync_opens_and_closes_its_run_with_its_account(store: DynStore) {
    let a = account(&store, "10101").await.id;
    let syncing = |minute: i64| StatusChange {
        status: SyncStatus::Syncing,
        error: Some("the last sync failed".into()),
        synced_at: None,
        only_if: vec![SyncStatus::Idle, SyncStatus::Failed, SyncStatus::Syncing],
        now: at(minute),
    };
    let new_run = |account: AccountId, job_id: Option<crate::JobId>| NewSyncRun {
        account_id: account,
        plan: "light".into(),
        trigger: "schedule:light-sync".into(),
        steps: ids(&["profile", "media"]),
        started_at: at(1),
        job_id,
    };
    let runs_of = |store: DynStore| async move {
        store
            .sync_runs_list(RunQuery {
                account_id: Some(a),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
    };
    let opener = store.job_insert(job(Some(a), None)).await.unwrap().id();
    let run = store
        .sync_run_open(syncing(1), new_run(a, Some(opener)))
        .await
        .unwrap()
        .expect("an idle account's run opens");
    let acct = store.account_get(a).await.unwrap().unwrap();
    assert_eq!(acct.status, SyncStatus::Syncing);
    assert_eq!(
        acct.last_sync_error.as_deref(),
        Some("the last sync failed")
    );
    assert_eq!(
        store.job_get(opener).await.unwrap().unwrap().run_id,
        Some(run)
    );
    let (opened, _) = store.sync_run_get(run).await.unwrap().unwrap();
    assert_eq!(
        (opened.status, opened.plan.as_str(), opened.started_at),
        (RunStatus::Running, "light", at(1))
    );

    // Paused meanwhile: nothing written, no run, no link.
    assert!(
        store
            .account_status_set(
                a,
                StatusChange {
                    status: SyncStatus::Paused,
                    error: None,
                    synced_at: None,
                    only_if: Vec::new(),
                    now: at(2),
                },
            )
            .await
            .unwrap()
    );
    let other = store.job_insert(job(Some(a), None)).await.unwrap().id();
    assert_eq!(
        store
            .sync_run_open(syncing(3), new_run(a, Some(other)))
            .await
            .unwrap(),
        None
    );
    assert_eq!(runs_of(store.clone()).await.len(), 1);
    assert_eq!(
        store.account_get(a).await.unwrap().unwrap().status,
        SyncStatus::Paused
    );
    assert_eq!(store.job_get(other).await.unwrap().unwrap().run_id, None);
    let missing = AccountId::new(a.get() + 1_000);
    assert_eq!(
        store
            .sync_run_open(syncing(3), new_run(missing, None))
            .await
            .unwrap(),
        None
    );

    // The end: the run closes; the account becomes idle only if it is still syncing.
    let idle = |minute: i64| StatusChange {
        status: SyncStatus::Idle,
        error: None,
        synced_at: Some(at(minute)),
        only_if: vec![SyncStatus::Syncing],
        now: at(minute),
    };
    let finish = |run_id: RunId, minute: i64| RunFinish {
        run_id,
        status: RunStatus::Succeeded,
        error: None,
        finished_at: at(minute),
    };
    assert!(
        store
            .sync_run_close(a, idle(4), finish(run, 4), Vec::new())
            .await
            .unwrap()
    );
    let acct = store.account_get(a).await.unwrap().unwrap();
    assert_eq!(
        (acct.status, acct.last_synced_at),
        (SyncStatus::Paused, None)
    );
    let (closed, _) = store.sync_run_get(run).await.unwrap().unwrap();
    assert_eq!(
        (closed.status, closed.finished_at),
        (RunStatus::Succeeded, Some(at(4)))
    );
    assert!(!store.account_status_set(a, syncing(5)).await.unwrap());
    assert!(
        store
            .account_status_set(
                a,
                StatusChange {
                    only_if: Vec::new(),
                    ..syncing(5)
                }
            )
            .await
            .unwrap()
    );
    let second = store
        .sync_run_open(syncing(6), new_run(a, None))
        .await
        .unwrap()
        .expect("a syncing account's run opens");
    // A close writes the run's last step rows with it (of two rows of a step, the later).
    let mut first_media = step(second, "media", 1, 3);
    first_media.status = StepStatus::Running;
    let (media, stories) = (step(second, "media", 1, 4), step(second, "stories", 2, 1));
    let err = store
        .sync_run_close(
            a,
            idle(7),
            finish(second, 7),
            vec![media.clone(), step(run, "media", 1, 9)],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err}");
    let (open, steps) = store.sync_run_get(second).await.unwrap().unwrap();
    assert_eq!((open.status, steps.len()), (RunStatus::Running, 0));
    assert!(
        store
            .sync_run_close(
                a,
                idle(7),
                finish(second, 7),
                vec![first_media, stories.clone(), media.clone()],
            )
            .await
            .unwrap()
    );
    let acct = store.account_get(a).await.unwrap().unwrap();
    assert_eq!(
        (acct.status, acct.last_synced_at, acct.last_sync_error),
        (SyncStatus::Idle, Some(at(7)), None)
    );
    let (closed, steps) = store.sync_run_get(second).await.unwrap().unwrap();
    assert_eq!(closed.status, RunStatus::Succeeded);
    assert_eq!(steps, vec![media, stories]);
    assert_eq!((closed.api_calls, closed.rows_written), (5, 50));
    let missing_run = RunId::new(second.get() + 1_000);
    assert!(
        !store
            .sync_run_close(
                a,
                idle(8),
                finish(missing_run, 8),
                vec![step(missing_run, "profile", 0, 1)]
            )
            .await
            .unwrap(),
        "a missing run is not closed"
    );
    assert!(
        !store
            .sync_run_close(a, idle(8), finish(missing_run, 8), Vec::new())
            .await
            .unwrap(),
        "a missing run is not closed"
    );

    // What a job spent and saw.
    let spend = |requests: i64| ApiCallsDelta {
        account_id: a,
        day: at(0).date_naive(),
        requests,
        units: requests * 2,
        errors: 0,
    };
    let seen = |pct: f64, minute: i64| ApiUsage {
        account_id: Some(a),
        observed_at: at(minute),
        usage_pct: pct,
        call_count_pct: pct,
        total_cputime_pct: 1.0,
        total_time_pct: 1.0,
        regain_access_minutes: None,
    };
    store
        .api_spend_record(vec![spend(3)], vec![seen(12.0, 9)])
        .await
        .unwrap();
    store
        .api_spend_record(vec![spend(2)], Vec::new())
        .await
        .unwrap();
    store
        .api_spend_record(Vec::new(), Vec::new())
        .await
        .unwrap();
    let err = store
        .api_spend_record(vec![spend(100)], vec![seen(f64::INFINITY, 10)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err:?}");
    let day = at(0).date_naive();
    let counted: Vec<_> = store
        .api_calls_days(Some(a), day, day)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.requests, d.units))
        .collect();
    assert_eq!(counted, vec![(5, 10)], "the refused record added nothing");
    assert_eq!(store.api_usage_latest().await.unwrap(), vec![seen(12.0, 9)]);
}

pub async fn alerts_dedup_filters_ack_and_delivery(store: DynStore) {
    let a = account(&store, "11001").await.id;
    let first = store
        .alert_insert(alert(
            Some(a),
            "follower_growth",
            "growth:a:2026-03-01",
            at(0),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        first.alert,
        alert(Some(a), "follower_growth", "growth:a:2026-03-01", at(0))
    );
    assert_eq!(
        (
            first.acknowledged_at,
            first.delivered_at,
            first.delivery_error.as_deref()
        ),
        (None, None, None)
    );
    assert_eq!(
        store
            .alert_insert(alert(
                Some(a),
                "follower_growth",
                "growth:a:2026-03-01",
                at(5)
            ))
            .await
            .unwrap(),
        None,
        "deduplicated by key"
    );
    let app = store
        .alert_insert(alert(None, "rate_limit_pressure", "rate:app", at(1)))
        .await
        .unwrap()
        .unwrap();
    let trend = store
        .alert_insert(alert(Some(a), "trending_post", "trend:a:p1", at(2)))
        .await
        .unwrap()
        .unwrap();

    let list = |query: AlertQuery| {
        let store = store.clone();
        async move {
            store
                .alert_list(query)
                .await
                .unwrap()
                .iter()
                .map(|x| x.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(AlertQuery::default()).await,
        vec![trend.id, app.id, first.id],
        "newest first; limit 0 = all"
    );
    assert_eq!(
        list(AlertQuery {
            account_id: Some(a),
            ..Default::default()
        })
        .await,
        vec![trend.id, first.id]
    );
    assert_eq!(
        list(AlertQuery {
            kind: Some("rate_limit_pressure".into()),
            ..Default::default()
        })
        .await,
        vec![app.id]
    );
    assert_eq!(
        list(AlertQuery {
            limit: 1,
            ..Default::default()
        })
        .await,
        vec![trend.id]
    );

    assert!(store.alert_ack(first.id, at(10)).await.unwrap());
    assert!(store.alert_ack(first.id, at(20)).await.unwrap());
    assert!(!store.alert_ack(trend.id + 100, at(10)).await.unwrap());
    assert_eq!(
        list(AlertQuery {
            unacknowledged_only: true,
            ..Default::default()
        })
        .await,
        vec![trend.id, app.id]
    );

    assert!(
        store
            .alert_delivery_set(app.id, Some(at(3)), None)
            .await
            .unwrap()
    );
    assert!(
        store
            .alert_delivery_set(trend.id, None, Some("webhook answered 500".into()))
            .await
            .unwrap()
    );
    assert!(
        !store
            .alert_delivery_set(trend.id + 100, None, None)
            .await
            .unwrap()
    );
    let all = store.alert_list(AlertQuery::default()).await.unwrap();
    assert_eq!(
        all[2].acknowledged_at,
        Some(at(10)),
        "the first acknowledgement counts"
    );
    assert_eq!(
        (all[1].delivered_at, all[1].delivery_error.as_deref()),
        (Some(at(3)), None)
    );
    assert_eq!(
        (all[0].delivered_at, all[0].delivery_error.as_deref()),
        (None, Some("webhook answered 500"))
    );
    assert_eq!(
        all[0].alert.payload,
        json!({"key": "trend:a:p1", "n": 3, "nested": {"ok": true}})
    );
    assert_eq!(store.totals().await.unwrap().alerts, 3);
}

pub async fn api_keys_lifecycle(store: DynStore) {
    store.api_key_insert(key("k_one", at(0))).await.unwrap();
    store.api_key_insert(key("k_two", at(1))).await.unwrap();
    let dup = store.api_key_insert(key("k_one", at(2))).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict { .. }), "{dup:?}");

    assert_eq!(
        store.api_key_get("k_one").await.unwrap(),
        Some(key("k_one", at(0)))
    );
    assert_eq!(store.api_key_get("k_none").await.unwrap(), None);
    assert_eq!(
        store.api_key_list().await.unwrap(),
        vec![key("k_one", at(0)), key("k_two", at(1))]
    );

    store.api_key_touch("k_one", at(5)).await.unwrap();
    store.api_key_touch("k_none", at(5)).await.unwrap();
    assert_eq!(
        store
            .api_key_get("k_one")
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(at(5))
    );

    // A hash is replaced only while it is still the one the caller read.
    let old = key("k_one", at(0)).hash;
    assert!(
        store
            .api_key_rehash("k_one", &old, "sha256:0a0b")
            .await
            .unwrap()
    );
    assert!(
        !store
            .api_key_rehash("k_one", &old, "sha256:0c0d")
            .await
            .unwrap(),
        "a stale compare-and-set changes nothing"
    );
    assert!(
        !store
            .api_key_rehash("k_none", &old, "sha256:0c0d")
            .await
            .unwrap()
    );
    let one = store.api_key_get("k_one").await.unwrap().unwrap();
    assert_eq!(one.hash, "sha256:0a0b");
    assert_eq!(
        (one.name.as_str(), one.last_used_at),
        ("key k_one", Some(at(5))),
        "nothing else changed"
    );

    assert!(store.api_key_revoke("k_two", at(6)).await.unwrap());
    assert!(store.api_key_revoke("k_two", at(7)).await.unwrap());
    assert!(!store.api_key_revoke("k_none", at(6)).await.unwrap());
    let two = store.api_key_get("k_two").await.unwrap().unwrap();
    assert_eq!(two.revoked_at, Some(at(6)), "the first revocation counts");
    assert_eq!(
        store
            .api_key_get("k_one")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
}

pub async fn sessions_and_prune(store: DynStore) {
    store.api_key_insert(key("k_live", at(0))).await.unwrap();
    store.api_key_insert(key("k_revoked", at(0))).await.unwrap();
    let now = at(60);
    store
        .session_insert(session("s_ok", "k_live", now + Duration::hours(8)))
        .await
        .unwrap();
    store
        .session_insert(session("s_expired", "k_live", now - Duration::seconds(1)))
        .await
        .unwrap();
    store
        .session_insert(session("s_at_expiry", "k_live", now))
        .await
        .unwrap();
    store
        .session_insert(session(
            "s_of_revoked",
            "k_revoked",
            now + Duration::hours(8),
        ))
        .await
        .unwrap();
    assert!(
        store
            .session_insert(session("s_orphan", "k_missing", now))
            .await
            .is_err(),
        "a session needs its key"
    );
    assert_eq!(
        store.session_get("s_ok").await.unwrap(),
        Some(session("s_ok", "k_live", now + Duration::hours(8)))
    );

    store.api_key_revoke("k_revoked", at(30)).await.unwrap();
    assert_eq!(store.session_prune(now).await.unwrap(), 3);
    assert!(store.session_get("s_ok").await.unwrap().is_some());
    for gone in ["s_expired", "s_at_expiry", "s_of_revoked"] {
        assert_eq!(store.session_get(gone).await.unwrap(), None, "{gone}");
    }
    assert_eq!(store.session_prune(now).await.unwrap(), 0);
    store.session_delete("s_ok").await.unwrap();
    store.session_delete("s_ok").await.unwrap();
    assert_eq!(store.session_get("s_ok").await.unwrap(), None);
}

pub async fn api_usage_keeps_the_latest_per_scope(store: DynStore) {
    let a = account(&store, "12001").await.id;
    let b = account(&store, "12002").await.id;
    store
        .api_usage_record(vec![
            usage(None, at(0), 20.0),
            usage(Some(a), at(0), 30.0),
            usage(Some(b), at(0), 5.0),
        ])
        .await
        .unwrap();
    store
        .api_usage_record(vec![usage(Some(a), at(10), 100.0)])
        .await
        .unwrap();
    // An older observation arriving late is ignored.
    store
        .api_usage_record(vec![usage(Some(a), at(5), 50.0), usage(None, at(1), 25.0)])
        .await
        .unwrap();
    let mut latest = store.api_usage_latest().await.unwrap();
    latest.sort_by_key(|u| u.account_id);
    assert_eq!(
        latest,
        vec![
            usage(None, at(1), 25.0),
            usage(Some(a), at(10), 100.0),
            usage(Some(b), at(0), 5.0)
        ]
    );
    let err = store
        .api_usage_record(vec![usage(Some(a), at(20), f64::NAN)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err:?}");
}

pub async fn api_call_days_add_up(store: DynStore) {
    let a = account(&store, "13001").await.id;
    let b = account(&store, "13002").await.id;
    store
        .api_calls_add(vec![
            calls(a, day(1), 2, 3, 0),
            calls(a, day(1), 1, 1, 1),
            calls(a, day(2), 4, 4, 0),
            calls(b, day(1), 7, 7, 2),
        ])
        .await
        .unwrap();
    store
        .api_calls_add(vec![calls(a, day(1), 1, 0, 0)])
        .await
        .unwrap();
    store.api_calls_add(vec![]).await.unwrap();
    let got: Vec<_> = store
        .api_calls_days(Some(a), day(1), day(2))
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.account_id, d.day, d.requests, d.units, d.errors))
        .collect();
    assert_eq!(got, vec![(a, day(1), 4, 4, 1), (a, day(2), 4, 4, 0)]);
    let day1: Vec<_> = store
        .api_calls_days(None, day(1), day(1))
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.account_id, d.requests))
        .collect();
    assert_eq!(
        day1,
        vec![(a, 4), (b, 7)],
        "all accounts, by account then day"
    );
    assert!(
        store
            .api_calls_days(Some(a), day(3), day(9))
            .await
            .unwrap()
            .is_empty()
    );
}
