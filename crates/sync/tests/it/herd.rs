//! No thundering herd, on both dialects: 1,000 accounts on one hourly schedule fall due
//! spread over each hour (the jobs falling due per minute stay within twice their mean),
//! each account's consecutive runs are exactly one hour apart, an account never synced runs
//! at the tick, and a run-now — an account's or the schedule's — is due at once. A full sync
//! waiting hours for its offset does not hold the hourly light sync back, and a full sync
//! falls due on the minute of one of the account's light syncs and stands in for it.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use store::{
    AccountId, JobId, JobQuery, JobSelector, JobState, SecretString, StatusChange, SyncStatus,
};
use sync::{Plan, SCHEDULE_LIGHT_SYNC};

use crate::both_dialects;
use crate::db::Dialect;
use crate::env::{Env, sim_config, test_settings};

both_dialects!(
    an_hourly_schedule_spreads_a_thousand_accounts_over_its_hour,
    a_full_sync_waiting_for_its_offset_does_not_hold_the_light_sync_back,
    a_full_sync_stands_in_for_the_light_sync_of_its_hour
);

const FLEET: usize = 1000;
const PERIODS: usize = 3;

/// Every pending `sync_account` job.
async fn pending_sync_jobs(env: &Env) -> Vec<store::Job> {
    env.db
        .store
        .job_list(JobQuery {
            states: vec![JobState::Pending],
            kind: Some(sync::plan::KIND_SYNC_ACCOUNT.to_string()),
            limit: 5000,
            ..Default::default()
        })
        .await
        .unwrap()
        .jobs
}

/// The pending `sync_account` jobs, by account.
async fn pending_syncs(env: &Env) -> BTreeMap<AccountId, DateTime<Utc>> {
    pending_sync_jobs(env)
        .await
        .into_iter()
        .map(|j| (j.account_id.unwrap(), j.run_at))
        .collect()
}

/// Whether a job is the sync chain of `plan` for its account.
fn of_plan(job: &store::Job, plan: Plan) -> bool {
    job.account_id
        .is_some_and(|id| job.unique_key.as_deref() == Some(plan.unique_key(id).as_str()))
}

/// `n` accounts synced half an hour ago, with tokens, ids starting with `ig_prefix`.
async fn synced_fleet(env: &Env, n: usize, ig_prefix: &str, name: &str) -> Vec<AccountId> {
    let now = env.now();
    let mut fleet = Vec::new();
    for i in 0..n {
        let a = env
            .db
            .store
            .account_upsert(store::NewAccount {
                ig_user_id: format!("{ig_prefix}{i:011}"),
                username: format!("{name}_{i}"),
                name: None,
                account_type: store::AccountType::Business,
                login: store::LoginKind::Instagram,
                page_id: None,
                timezone: None,
                token: env
                    .cipher
                    .encrypt(&SecretString::new(format!("token-{i}")))
                    .unwrap(),
                token_expires_at: Some(now + Duration::days(50)),
                now,
            })
            .await
            .unwrap();
        env.db
            .store
            .account_status_set(
                a.id,
                StatusChange {
                    status: SyncStatus::Idle,
                    error: None,
                    synced_at: Some(now - Duration::minutes(30)),
                    only_if: Vec::new(),
                    now,
                },
            )
            .await
            .unwrap();
        fleet.push(a.id);
    }
    fleet
}

async fn drop_pending_syncs(env: &Env) {
    env.db
        .store
        .jobs_delete(JobSelector::Filter(JobQuery {
            states: vec![JobState::Pending],
            kind: Some(sync::plan::KIND_SYNC_ACCOUNT.to_string()),
            ..Default::default()
        }))
        .await
        .unwrap();
}

async fn an_hourly_schedule_spreads_a_thousand_accounts_over_its_hour(d: Dialect) {
    // Only the maintenance queue is worked: the fan-outs run, the account syncs they queue
    // stay pending to be looked at.
    let mut settings = test_settings();
    settings.queues = vec![sync::plan::MAINTENANCE_QUEUE.to_string()];
    settings.full_cron = "0 0 0 1 1 *".into();
    let env = Env::new(d, sim_config(2101, 1, 1), settings).await;
    // The simulator's one account was just registered and never synced.
    let (new_account, _) = env.account(0);
    let fleet = synced_fleet(&env, FLEET, "1785", "herd").await;
    env.engine.install_schedules().await.unwrap();
    let light = env
        .db
        .store
        .schedule_get(SCHEDULE_LIGHT_SYNC)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(light.def.cron, "0 0 * * * *");
    let first_tick = light.next_run_at;

    let hour = Duration::hours(1);
    let mean = FLEET as f64 / 60.0;
    let mut runs: BTreeMap<AccountId, Vec<DateTime<Utc>>> = BTreeMap::new();
    for k in 0..PERIODS {
        let tick = first_tick + hour * k as i32;
        env.advance_engine(tick - env.now());
        env.engine.maintain().await.unwrap();
        env.engine.run_until_idle().await.unwrap();
        let due = pending_syncs(&env).await;
        assert_eq!(due.len(), FLEET + 1, "period {k}");
        // The account never synced runs at the tick.
        assert_eq!(due[&new_account], tick, "period {k}");
        let mut per_minute = [0u32; 60];
        for id in &fleet {
            let at = due[id];
            assert!(
                at >= tick && at < tick + hour,
                "{at} in the period of {tick}"
            );
            per_minute[((at - tick).num_seconds() / 60) as usize] += 1;
            runs.entry(*id).or_default().push(at);
        }
        let max = *per_minute.iter().max().unwrap();
        assert!(
            f64::from(max) <= 2.0 * mean,
            "period {k}: {max} jobs due in one minute, mean {mean:.1}: {per_minute:?}"
        );
        assert!(
            per_minute.iter().all(|n| *n > 0),
            "period {k}: a minute without a job: {per_minute:?}"
        );
        if k + 1 < PERIODS {
            drop_pending_syncs(&env).await;
        }
    }
    for (id, at) in &runs {
        assert_eq!(at.len(), PERIODS);
        for w in at.windows(2) {
            assert_eq!(w[1] - w[0], hour, "account {id}: {at:?}");
        }
    }

    // A sync asked for now, of the account whose scheduled run is the latest, is due now.
    let (latest, at) = pending_syncs(&env)
        .await
        .into_iter()
        .filter(|(id, _)| fleet.contains(id))
        .max_by_key(|(_, at)| *at)
        .unwrap();
    assert!(at > env.now() + Duration::minutes(50), "{at}");
    env.engine
        .enqueue_sync(latest, Plan::Light, "manual")
        .await
        .unwrap();
    assert_eq!(pending_syncs(&env).await[&latest], env.now());

    // The schedule's run-now: every account at once.
    drop_pending_syncs(&env).await;
    env.advance_engine(Duration::minutes(7));
    env.engine
        .scheduler()
        .run_now(SCHEDULE_LIGHT_SYNC)
        .await
        .unwrap();
    env.engine.run_until_idle().await.unwrap();
    let due = pending_syncs(&env).await;
    assert_eq!(due.len(), FLEET + 1);
    assert!(due.values().all(|at| *at == env.now()));
    env.teardown().await;
}

/// `n` synced accounts on a full sync every six hours and the hourly light sync, whose
/// schedules are installed; only the maintenance queue is worked (the syncs stay pending to
/// be looked at). Returns the full sync's schedule too.
async fn six_hourly_fleet(
    d: Dialect,
    seed: u64,
    n: usize,
    ig_prefix: &str,
    name: &str,
) -> (Env, Vec<AccountId>, store::Schedule) {
    let mut settings = test_settings();
    settings.queues = vec![sync::plan::MAINTENANCE_QUEUE.to_string()];
    settings.full_cron = "0 0 */6 * * *".into();
    let env = Env::new(d, sim_config(seed, 1, 1), settings).await;
    let fleet = synced_fleet(&env, n, ig_prefix, name).await;
    env.engine.install_schedules().await.unwrap();
    let full = env
        .db
        .store
        .schedule_get(sync::SCHEDULE_FULL_SYNC)
        .await
        .unwrap()
        .unwrap();
    (env, fleet, full)
}

/// With a full sync every six hours spread over its period, an account whose full sync waits
/// hours for its offset still gets its hourly light sync: the waiting chain does not hold the
/// light schedule back.
async fn a_full_sync_waiting_for_its_offset_does_not_hold_the_light_sync_back(d: Dialect) {
    let (env, fleet, full) = six_hourly_fleet(d, 2102, 40, "1786", "waiting").await;
    // The full sync's tick: each account's full sync falls due within the six hours after it.
    env.advance_engine(full.next_run_at - env.now());
    env.engine.maintain().await.unwrap();
    env.engine.run_until_idle().await.unwrap();
    drop_pending_plan(&env, Plan::Light).await;
    let full_due = pending_of_plan(&env, Plan::Full).await;
    // The next light tick, an hour later: accounts whose full sync is still hours away get
    // their light sync at its own offset in that hour.
    env.advance_engine(Duration::hours(1));
    env.engine.maintain().await.unwrap();
    env.engine.run_until_idle().await.unwrap();
    let light_due = pending_of_plan(&env, Plan::Light).await;
    let tick = env.now();
    let waiting: Vec<AccountId> = fleet
        .iter()
        .copied()
        .filter(|id| {
            full_due
                .get(id)
                .is_some_and(|at| *at > tick + Duration::hours(1))
        })
        .collect();
    assert!(
        waiting.len() >= 10,
        "{} accounts wait: {full_due:?}",
        waiting.len()
    );
    for id in &waiting {
        let at = light_due
            .get(id)
            .unwrap_or_else(|| panic!("account {id} has no light sync: {light_due:?}"));
        assert!(*at >= tick && *at < tick + Duration::hours(1), "{at}");
    }
    env.teardown().await;
}

/// With the default full sync every six hours and the light sync every hour, each account
/// runs exactly one sync an hour, always on the same minute: in the hour its full sync falls
/// due, at that light sync's very time, the full sync runs and no light sync is queued.
async fn a_full_sync_stands_in_for_the_light_sync_of_its_hour(d: Dialect) {
    let (env, fleet, full) = six_hourly_fleet(d, 2103, 120, "1787", "covered").await;
    let hour = Duration::hours(1);
    // The light schedule's ticks before the full one's go by first.
    env.advance_engine(full.next_run_at - hour - env.now());
    env.engine.maintain().await.unwrap();
    env.engine.run_until_idle().await.unwrap();
    drop_pending_syncs(&env).await;
    env.advance_engine(hour);
    let first = env.now();
    assert_eq!(first, full.next_run_at);
    // Every sync queued in each of six hours from the full sync's tick: (hour, plan, due).
    let mut due: BTreeMap<AccountId, Vec<(i32, Plan, DateTime<Utc>)>> = BTreeMap::new();
    for h in 0..6 {
        if h > 0 {
            env.advance_engine(hour);
        }
        env.engine.maintain().await.unwrap();
        env.engine.run_until_idle().await.unwrap();
        for plan in [Plan::Full, Plan::Light] {
            for (id, at) in pending_of_plan(&env, plan).await {
                due.entry(id).or_default().push((h, plan, at));
            }
        }
        drop_pending_syncs(&env).await;
    }
    let mut fulls_by_hour = [0; 6];
    for id in &fleet {
        let syncs = &due[id];
        let fulls: Vec<_> = syncs.iter().filter(|s| s.1 == Plan::Full).collect();
        assert_eq!(fulls.len(), 1, "account {id}: {syncs:?}");
        let full_at = fulls[0].2;
        let full_hour = ((full_at - first).num_seconds() / 3600) as i32;
        fulls_by_hour[full_hour as usize] += 1;
        // The minute of the hour every sync of the account falls due at.
        let offset = full_at - (first + hour * full_hour);
        for h in 0..6 {
            let start = first + hour * h;
            let in_hour: Vec<_> = syncs
                .iter()
                .filter(|s| s.2 >= start && s.2 < start + hour)
                .collect();
            assert_eq!(in_hour.len(), 1, "account {id}, hour {h}: {syncs:?}");
            assert_eq!(in_hour[0].2, start + offset, "account {id}, hour {h}");
            let expected = if h == full_hour {
                Plan::Full
            } else {
                Plan::Light
            };
            assert_eq!(in_hour[0].1, expected, "account {id}, hour {h}");
        }
    }
    // The full syncs spread over their six hours.
    assert!(
        fulls_by_hour.iter().all(|n| *n > 0),
        "full syncs by hour: {fulls_by_hour:?}"
    );
    env.teardown().await;
}

/// The pending `sync_account` jobs of one plan, by account.
async fn pending_of_plan(env: &Env, plan: Plan) -> BTreeMap<AccountId, DateTime<Utc>> {
    pending_sync_jobs(env)
        .await
        .into_iter()
        .filter(|j| of_plan(j, plan))
        .map(|j| (j.account_id.unwrap(), j.run_at))
        .collect()
}

async fn drop_pending_plan(env: &Env, plan: Plan) {
    let ids: Vec<JobId> = pending_sync_jobs(env)
        .await
        .into_iter()
        .filter(|j| of_plan(j, plan))
        .map(|j| j.id)
        .collect();
    env.db
        .store
        .jobs_delete(JobSelector::Ids(ids))
        .await
        .unwrap();
}
