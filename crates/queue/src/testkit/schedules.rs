//! Queue conformance cases. Schedules: upserts, pause and resume, exactly-once fires.

use super::*;

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
    fx: &dyn Fixture,
) {
    let store = fx.store();
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

pub async fn schedule_pause_and_resume(fx: &dyn Fixture) {
    let store = fx.store();
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

pub async fn schedule_fire_fires_once_when_callers_race(fx: &dyn Fixture) {
    let store = fx.store();
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
