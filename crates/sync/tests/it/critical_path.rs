//! One account's critical path: the media step's job reads the listing, the insights of
//! what it lists and the account-level reads side by side in the account's lanes — more
//! than one request of the account in flight, never more than `sync.account_concurrency` —
//! and spends exactly the requests of a sync that reads one at a time (and its units, but
//! for posts from before the business conversion asked about while the refusal of a newer
//! one was in flight).

use std::time::Duration as StdDuration;

use sync::{Plan, SyncSettings};

use crate::both_dialects;
use crate::db::Dialect;
use crate::e2e::assert_matches_truth;
use crate::env::{Env, sim_config, test_settings};

both_dialects!(one_accounts_reads_overlap_under_its_cap_with_the_same_requests);

/// What a full sync of one account with `cap` lanes cost.
struct Cost {
    requests: u64,
    units: u64,
    /// Ids Meta refused with code 100 (posted before the business conversion, …).
    refused: u64,
    /// The most requests of the account in flight at once.
    most_in_flight: u64,
}

async fn full_sync(d: Dialect, cap: u32) -> Cost {
    let mut sim = sim_config(41, 1, 260);
    // Latency, so that requests sent side by side are in flight together.
    sim.latency = StdDuration::from_millis(20);
    let settings = SyncSettings {
        account_concurrency: cap,
        ..test_settings()
    };
    let env = Env::new(d, sim, settings).await;
    let (a, sim_account) = env.account(0);
    env.engine
        .enqueue_sync(a, Plan::Full, "manual")
        .await
        .unwrap();
    env.engine.run_until_idle().await.unwrap();
    env.idle_account(a).await;
    let truth = env.truth(sim_account);
    assert_matches_truth(&env, a, &truth).await;
    let stats = env.sim.stats();
    let cost = Cost {
        requests: stats.requests_total,
        units: stats.rate_limit_units_total,
        refused: stats.errors_by_code.get("100").copied().unwrap_or(0),
        most_in_flight: stats.max_in_flight_by_account[&sim_account.ig_user_id],
    };
    env.teardown().await;
    cost
}

async fn one_accounts_reads_overlap_under_its_cap_with_the_same_requests(d: Dialect) {
    let one = full_sync(d, 1).await;
    assert_eq!(one.most_in_flight, 1, "one lane: one request at a time");
    assert!(one.requests > 10, "{}", one.requests);
    assert!(
        one.refused > 0,
        "the world has posts from before the conversion"
    );
    let three = full_sync(d, 3).await;
    assert!(
        three.most_in_flight > 1 && three.most_in_flight <= 3,
        "requests in flight at once: {} (cap 3)",
        three.most_in_flight
    );
    assert_eq!(three.requests, one.requests, "the same requests");
    // The same units, but for the ids of posts from before the business conversion that
    // were asked about while the refusal of a newer one was in flight (one at a time,
    // they are recorded from that refusal without being asked).
    assert_eq!(
        three.units - one.units,
        three.refused - one.refused,
        "units: {} one at a time, {} side by side",
        one.units,
        three.units
    );
    assert!(
        three.refused - one.refused <= 2 * 50,
        "at most the groups in flight"
    );
}
