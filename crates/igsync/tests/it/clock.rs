//! Clocks and schedules, on SQLite and PostgreSQL.
//!
//! * Three engines (three "processes", each with its own connection) on one database and one
//!   manual clock that moves in small steps, pauses for days, jumps forward and backward:
//!   every due tick fires exactly one job, however many ticks were missed, never twice and
//!   never while paused; the next tick is always computed from now.
//! * Three real `igsync worker` processes started at the same moment on one database with a
//!   tick due: one scheduled fan-out and one sync per account, per round.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use store::{JobQuery, Store};
use sync::{Clock, Engine, EngineConfig, SyncSettings};

use crate::both_dialects;
use crate::kill::Rng;
use crate::support::{
    Dialect, Harness, TestDb, eventually, fleet_settled, pick, record_figures, sim_config,
    start_sim,
};

both_dialects!(
    schedules_fire_once_per_due_tick_across_pauses_and_clock_jumps,
    concurrent_worker_processes_never_duplicate_a_scheduled_run,
);

const HOURLY: &str = "0 0 * * * *";
const DAILY: &str = "0 0 2 * * *";

fn settings() -> SyncSettings {
    SyncSettings {
        full_cron: DAILY.into(),
        light_cron: HOURLY.into(),
        token_refresh_cron: "0 15 3 * * *".into(),
        retention_cron: "0 45 4 * * *".into(),
        syncs_per_minute: 0,
        ..SyncSettings::default()
    }
}

/// The jobs schedules fired, oldest first: every schedule's, or the one named.
async fn scheduled_jobs(store: &dyn Store, schedule: Option<&str>) -> Vec<store::Job> {
    let mut jobs = store
        .job_list(JobQuery {
            queue: Some("maintenance".into()),
            limit: 100_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .jobs;
    jobs.retain(|j| {
        j.args
            .get("schedule")
            .and_then(|s| s.as_str())
            .is_some_and(|s| schedule.is_none_or(|wanted| s == wanted))
    });
    jobs.sort_by_key(|j| j.id);
    jobs
}

async fn schedules_fire_once_per_due_tick_across_pauses_and_clock_jumps(d: Dialect) {
    let db = TestDb::new(d, "clock").await;
    let t0: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 3, 1, 0, 10, 0).unwrap();
    let clock = Clock::manual(t0);
    // Never called: no account is registered.
    let graph = sync::graph_clients([graph::GraphClient::new(
        graph::GraphConfig::builder(graph::LoginKind::Facebook, "")
            .base_url("http://127.0.0.1:9".to_string())
            .build()
            .unwrap(),
    )
    .unwrap()]);
    let mut engines = Vec::new();
    for _ in 0..3 {
        engines.push(
            Engine::new(EngineConfig {
                store: db.open().await,
                graph: graph.clone(),
                cipher: None,
                settings: settings(),
                clock: clock.clone(),
            })
            .unwrap(),
        );
    }
    for e in &engines {
        e.install_schedules().await.unwrap();
    }
    let store = db.open().await;
    let crons: BTreeMap<String, sync::CronExpr> = store
        .schedule_list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| {
            (
                s.def.name.clone(),
                sync::CronExpr::parse(&s.def.cron).unwrap(),
            )
        })
        .collect();
    // The model: when each schedule is next due, and how many jobs it must have fired.
    let mut next: BTreeMap<String, DateTime<Utc>> = crons
        .iter()
        .map(|(n, c)| (n.clone(), c.next_after(t0).unwrap()))
        .collect();
    let mut expected: BTreeMap<String, usize> = crons.keys().map(|n| (n.clone(), 0)).collect();
    let mut last_fired: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    let mut paused: BTreeSet<String> = BTreeSet::new();

    let mut rng = Rng::from_env();
    let moves = pick(60, 400);
    let (mut forward_jumps, mut backward_jumps, mut pauses, mut missed_ticks) = (0, 0, 0, 0u64);
    for step in 0..moves {
        let r = rng.next() % 100;
        let by = match r {
            0..=59 => chrono::Duration::minutes((rng.next() % 50) as i64 + 1),
            60..=74 => chrono::Duration::hours((rng.next() % 30) as i64 + 1),
            75..=84 => {
                forward_jumps += 1;
                chrono::Duration::days((rng.next() % 9) as i64 + 1)
            }
            _ => {
                backward_jumps += 1;
                -chrono::Duration::minutes((rng.next() % 600) as i64 + 1)
            }
        };
        // Now and then the light sync is paused for a while, then resumed.
        if step % 23 == 5 && paused.insert("light_sync".into()) {
            pauses += 1;
            engines[0].scheduler().pause("light_sync").await.unwrap();
        } else if step % 23 == 15 && paused.remove("light_sync") {
            engines[1].scheduler().resume("light_sync").await.unwrap();
            // The first tick after now and after the last firing: a tick never fires twice,
            // even when the clock went back while the schedule was paused.
            let now = clock.now();
            let from = last_fired.get("light_sync").map_or(now, |l| now.max(*l));
            next.insert(
                "light_sync".into(),
                crons["light_sync"].next_after(from).unwrap(),
            );
        }
        clock.advance(by);
        let now = clock.now();
        for (name, at) in next.iter_mut() {
            if paused.contains(name) || *at > now {
                continue;
            }
            let mut t = *at;
            while t <= now {
                missed_ticks += 1;
                t = crons[name].next_after(t).unwrap();
            }
            missed_ticks -= 1;
            *expected.get_mut(name).unwrap() += 1;
            last_fired.insert(name.clone(), now);
            *at = crons[name].next_after(now).unwrap();
        }
        let (a, b, c) = tokio::join!(
            engines[0].maintain(),
            engines[1].maintain(),
            engines[2].maintain()
        );
        a.unwrap();
        b.unwrap();
        c.unwrap();

        let jobs = scheduled_jobs(&*store, None).await;
        let mut fired: BTreeMap<String, usize> = crons.keys().map(|n| (n.clone(), 0)).collect();
        let mut keys = BTreeSet::new();
        for j in &jobs {
            *fired.get_mut(j.args["schedule"].as_str().unwrap()).unwrap() += 1;
            assert!(
                keys.insert(j.unique_key.clone()),
                "a tick fired twice: {j:?}"
            );
        }
        assert_eq!(fired, expected, "move {step} by {by} to {now}");
        for s in store.schedule_list().await.unwrap() {
            if !s.paused {
                assert_eq!(s.next_run_at, next[&s.def.name], "{} at {now}", s.def.name);
                assert!(s.next_run_at > now);
            }
        }
    }
    let fired: usize = expected.values().sum();
    assert!(fired > 10 && missed_ticks > 0 && backward_jumps > 0);
    record_figures(
        &format!("clock_schedules_{}", d.name()),
        serde_json::json!({
            "engines": 3,
            "clock_moves": moves,
            "forward_jumps_of_days": forward_jumps,
            "backward_jumps": backward_jumps,
            "pauses": pauses,
            "jobs_fired": expected,
            "missed_ticks_not_fired_again": missed_ticks,
            "duplicates": 0,
        }),
    );
    drop(store);
    drop(engines);
    db.teardown().await;
}

async fn concurrent_worker_processes_never_duplicate_a_scheduled_run(d: Dialect) {
    let sim = start_sim(sim_config(71, 2, 10)).await;
    let mut h = Harness::new(d, "cron").await;
    h.graph(&sim);
    h.set("IGSYNC_SYNC_FULL_CRON", "*/5 * * * * *");
    h.register(&sim).await;
    let store = h.db.open().await;
    let rounds = pick(3, 8);
    let workers = 3;
    for round in 1..=rounds {
        // Install (or keep) the schedules, then let the next tick fall due: the workers all
        // start within the five seconds before the one after.
        h.ok(&["schedules", "list"], None).await;
        let due = store
            .schedule_get("full_sync")
            .await
            .unwrap()
            .unwrap()
            .next_run_at;
        let wait = (due - chrono::Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait + Duration::from_millis(300)).await;
        let mut procs: Vec<_> = (0..workers).map(|_| h.spawn(&["worker"])).collect();
        eventually(
            "the round's syncs finish",
            Duration::from_secs(120),
            || async {
                let fired = scheduled_jobs(&*store, Some("full_sync")).await.len();
                (fired >= round && fleet_settled(&*store).await).then_some(())
            },
        )
        .await;
        // Give a late duplicate the chance to show up before stopping.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        for p in &mut procs {
            assert!(p.terminate().await.success(), "{}", p.stderr());
        }
        // The full sync's runs only: a round counts that schedule's ticks, whatever else
        // the workers' configuration schedules.
        let fan_outs = scheduled_jobs(&*store, Some("full_sync")).await;
        assert_eq!(
            fan_outs.len(),
            round,
            "one scheduled run per round across {workers} workers: {fan_outs:?}"
        );
        for a in store.account_list().await.unwrap() {
            let runs = store
                .sync_runs_list(store::RunQuery {
                    account_id: Some(a.id),
                    limit: 100,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(
                runs.len(),
                round,
                "@{}: one sync per scheduled run",
                a.username
            );
        }
    }
    record_figures(
        &format!("cron_workers_{}", d.name()),
        serde_json::json!({
            "worker_processes_per_round": workers,
            "rounds": rounds,
            "scheduled_runs": rounds,
            "sync_runs_per_account": rounds,
            "duplicates": 0,
        }),
    );
    drop(store);
    h.db.teardown().await;
}
