//! Schedules on real stores: a tick fires exactly once across two workers, once after a
//! clock jump (no backlog), never while paused, and "run now" leaves the next tick alone.

use chrono::Duration;
use serde_json::json;
use store::{JobQuery, ScheduleDef};
use sync::{Clock, Scheduler};

use crate::both_dialects;
use crate::db::{Dialect, TestDb};
use crate::queue::t0;

both_dialects!(
    a_tick_fires_once_across_two_workers,
    a_clock_jump_fires_once_and_the_next_tick_is_computed_from_now,
    paused_schedules_do_not_fire_and_resume_skips_missed_ticks,
);

fn hourly() -> ScheduleDef {
    ScheduleDef {
        name: "hourly".into(),
        cron: "0 0 * * * *".into(),
        queue: "test".into(),
        kind: "a".into(),
        args: json!({ "plan": "light" }),
    }
}

async fn jobs(db: &TestDb) -> Vec<store::Job> {
    db.store
        .job_list(JobQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .jobs
}

async fn a_tick_fires_once_across_two_workers(d: Dialect) {
    let db = TestDb::new(d).await;
    let clock = Clock::manual(t0());
    let other = db.connect_again().await;
    let s1 = Scheduler::new(db.store.clone(), clock.clone(), 3);
    let s2 = Scheduler::new(other, clock.clone(), 3);
    s1.install(&[hourly()]).await.unwrap();
    // Installing again (the second worker starting) changes nothing.
    s2.install(&[hourly()]).await.unwrap();
    let schedule = db.store.schedule_get("hourly").await.unwrap().unwrap();
    assert_eq!(schedule.next_run_at, t0() + Duration::seconds(3570));

    // Not due yet.
    assert!(s1.fire_due().await.unwrap().fired.is_empty());
    clock.advance(Duration::seconds(3570));
    for round in 0..3 {
        let (a, b) = tokio::join!(s1.fire_due(), s2.fire_due());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            a.fired.len() + b.fired.len(),
            if round == 0 { 1 } else { 0 },
            "round {round}: {a:?} {b:?}"
        );
    }
    let all = jobs(&db).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].kind, "a");
    assert_eq!(all[0].args["plan"], "light");
    assert_eq!(all[0].args["schedule"], "hourly");
    let schedule = db.store.schedule_get("hourly").await.unwrap().unwrap();
    assert_eq!(schedule.next_run_at, clock.now() + Duration::hours(1));
    assert_eq!(schedule.last_job_id, Some(all[0].id));
    db.teardown().await;
}

async fn a_clock_jump_fires_once_and_the_next_tick_is_computed_from_now(d: Dialect) {
    let db = TestDb::new(d).await;
    let clock = Clock::manual(t0());
    let s = Scheduler::new(db.store.clone(), clock.clone(), 3);
    s.install(&[hourly()]).await.unwrap();
    // Five days pass without a worker (120 missed ticks).
    clock.advance(Duration::days(5) + Duration::minutes(17));
    let report = s.fire_due().await.unwrap();
    assert_eq!(report.fired.len(), 1);
    assert!(s.fire_due().await.unwrap().fired.is_empty());
    assert_eq!(jobs(&db).await.len(), 1);
    let schedule = db.store.schedule_get("hourly").await.unwrap().unwrap();
    assert_eq!(
        schedule.next_run_at,
        ::queue::next_tick("0 0 * * * *", clock.now()).unwrap()
    );
    assert!(schedule.next_run_at > clock.now());
    db.teardown().await;
}

async fn paused_schedules_do_not_fire_and_resume_skips_missed_ticks(d: Dialect) {
    let db = TestDb::new(d).await;
    let clock = Clock::manual(t0());
    let s = Scheduler::new(db.store.clone(), clock.clone(), 3);
    s.install(&[hourly()]).await.unwrap();
    s.pause("hourly").await.unwrap();
    clock.advance(Duration::hours(3));
    assert!(s.fire_due().await.unwrap().fired.is_empty());
    assert!(jobs(&db).await.is_empty());

    // Run now while paused: one job, next tick untouched; a second run-now merges.
    let before = db.store.schedule_get("hourly").await.unwrap().unwrap();
    let a = s.run_now("hourly").await.unwrap();
    let b = s.run_now("hourly").await.unwrap();
    assert_eq!(a.id(), b.id());
    assert!(matches!(b, store::InsertOutcome::Merged(_)));
    let after = db.store.schedule_get("hourly").await.unwrap().unwrap();
    assert_eq!(before.next_run_at, after.next_run_at);
    assert!(after.paused);

    s.resume("hourly").await.unwrap();
    let schedule = db.store.schedule_get("hourly").await.unwrap().unwrap();
    assert!(!schedule.paused);
    assert!(schedule.next_run_at > clock.now());
    assert!(s.fire_due().await.unwrap().fired.is_empty());
    assert_eq!(jobs(&db).await.len(), 1);

    let err = s.pause("nope").await.unwrap_err();
    assert!(err.to_string().contains("`nope`"), "{err}");
    let err = s
        .install(&[ScheduleDef {
            cron: "every hour".into(),
            ..hourly()
        }])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("schedule `hourly`"), "{err}");
    db.teardown().await;
}
