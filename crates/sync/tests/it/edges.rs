//! End-to-end syncs against the simulator with the real Graph API's edges switched on
//! (`SimConfig::edges`): every value of the simulator's ground truth is stored, or stored as
//! missing with the same reason Meta gives; a refused post costs one batch request instead
//! of failing its 49 neighbours, so a full sync asks about as much as on a clean world.

use std::collections::{BTreeMap, BTreeSet};

use simulator::{GroundTruth, MissingKind as SimKind, SimConfig};
use store::{AccountId, MissingKind};
use sync::Plan;

use crate::both_dialects;
use crate::db::Dialect;
use crate::env::{Env, sim_config, test_settings};

both_dialects!(
    an_edge_world_syncs_every_value_or_its_reason,
    a_refused_breakdown_costs_the_other_breakdowns_nothing
);

/// (kind, object, day, metric, timeframe, breakdown) → reason, as the simulator names them.
type MissingMap = BTreeMap<(String, String, String, String, String, String), String>;

fn world(edges: bool) -> SimConfig {
    let mut c = sim_config(41, 3, 300);
    c.edges = edges;
    // The last account has fewer than 100 followers (its budget stays generous).
    c.tight_budget_accounts = 1;
    c.tight_budget = 1_000_000;
    c
}

/// The truth's missing values, stories' included.
fn expected_missing(truth: &GroundTruth) -> MissingMap {
    truth
        .missing
        .iter()
        .map(|m| {
            let kind = match m.kind {
                SimKind::MediaInsights => "media_insights",
                SimKind::StoryInsights => "story_insights",
                SimKind::AccountInsight => "account_insight",
                SimKind::OnlineFollowers => "online_followers",
                SimKind::Demographics => "demographics",
            };
            (
                (
                    kind.to_owned(),
                    m.id.clone().unwrap_or_default(),
                    m.date.map(|d| d.to_string()).unwrap_or_default(),
                    m.metric.clone().unwrap_or_default(),
                    m.timeframe.clone().unwrap_or_default(),
                    m.breakdown.clone().unwrap_or_default(),
                ),
                m.reason.as_str().to_owned(),
            )
        })
        .collect()
}

async fn stored_missing(env: &Env, id: AccountId) -> MissingMap {
    env.db
        .store
        .missing_list(id, &[])
        .await
        .unwrap()
        .into_iter()
        .map(|m| {
            (
                (
                    m.key.kind.as_str().to_owned(),
                    m.key.object_id,
                    m.key.day.map(|d| d.to_string()).unwrap_or_default(),
                    m.key.metric,
                    m.key.timeframe,
                    m.key.breakdown,
                ),
                m.reason.as_str().to_owned(),
            )
        })
        .collect()
}

/// Differences between two maps, for a readable failure.
fn diff(stored: &MissingMap, truth: &MissingMap) -> String {
    let keys: BTreeSet<_> = stored.keys().chain(truth.keys()).collect();
    keys.into_iter()
        .filter(|k| stored.get(*k) != truth.get(*k))
        .take(20)
        .map(|k| {
            format!(
                "{k:?}: stored {:?}, truth {:?}\n",
                stored.get(k),
                truth.get(k)
            )
        })
        .collect()
}

/// A full sync of every account; returns the simulator's request count.
async fn full_sync(env: &Env) -> u64 {
    env.sim.reset_stats();
    env.engine.enqueue_all(Plan::Full, "test").await.unwrap();
    env.run_until_settled(50).await;
    env.sim.stats().requests_total
}

async fn an_edge_world_syncs_every_value_or_its_reason(d: Dialect) {
    // The same world without its edges: the yardstick for the request count.
    let clean = Env::new(d, world(false), test_settings()).await;
    let clean_requests = full_sync(&clean).await;
    clean.teardown().await;

    let env = Env::new(d, world(true), test_settings()).await;
    let edge_requests = full_sync(&env).await;
    let mut kinds = BTreeMap::new();
    for (id, sim_account) in &env.accounts {
        env.idle_account(*id).await;
        let truth = env.truth(sim_account);
        crate::e2e::assert_matches_truth(&env, *id, &truth).await;
        let expected = expected_missing(&truth);
        let stored = stored_missing(&env, *id).await;
        assert_eq!(
            stored,
            expected,
            "{}: missing values\n{}",
            truth.profile.username,
            diff(&stored, &expected)
        );
        for ((kind, ..), reason) in &expected {
            *kinds.entry((kind.clone(), reason.clone())).or_insert(0) += 1;
        }
    }
    eprintln!("missing values checked: {kinds:?}");
    for reason in [
        "before_conversion",
        "below_threshold",
        "truncated_top_45",
        "not_ready_yet",
    ] {
        assert!(
            kinds.keys().any(|(_, r)| r == reason),
            "the world has no {reason} value: {kinds:?}"
        );
    }
    let ratio = edge_requests as f64 / clean_requests as f64;
    eprintln!("requests: clean {clean_requests}, edges {edge_requests}, ratio {ratio:.3}");
    assert!(
        ratio <= 1.10,
        "edges cost {edge_requests} requests vs {clean_requests} on the clean world"
    );

    // Meta withdraws a metric, revises yesterday and a post disappears; a later run stores
    // the revision beside the earlier value, records the deletion and loses nothing.
    let (first_id, first_account) = env.account(0);
    let truth = env.truth(first_account);
    let deleted = truth.media[0].id.clone();
    assert!(env.sim.delete_media(&deleted));
    let yesterday = env
        .sim
        .revise_day(&first_account.ig_user_id, None, 1.04)
        .unwrap();
    env.sim.remove_metric("saved");
    let before = env.db.store.totals().await.unwrap();
    let reach_before = env
        .db
        .store
        .account_insight_as_of(first_id, "reach", yesterday, yesterday, None)
        .await
        .unwrap();
    env.advance(chrono::Duration::hours(2));
    full_sync(&env).await;
    let refusals = env.sim.stats().withdrawn_metric_refusals;
    let refused = refusals.get("saved").copied().unwrap_or(0);
    assert!(
        refused > 0,
        "the withdrawn metric was asked for once: {refusals:?}"
    );
    for (id, sim_account) in &env.accounts {
        env.idle_account(*id).await;
        let truth = env.truth(sim_account);
        let expected = expected_missing(&truth);
        let stored = stored_missing(&env, *id).await;
        assert_eq!(
            stored,
            expected,
            "{}: missing values after the changes\n{}",
            truth.profile.username,
            diff(&stored, &expected)
        );
    }
    let gone = env
        .db
        .store
        .missing_list(first_id, &[MissingKind::MediaInsights])
        .await
        .unwrap();
    assert!(
        gone.iter()
            .any(|m| m.key.object_id == deleted && m.reason == store::MissingReason::Deleted),
        "{gone:?}"
    );
    // The revision: yesterday's values are the revised ones, the first read is kept.
    let truth = env.truth(first_account);
    let day = truth
        .account_insights
        .iter()
        .find(|d| d.date == yesterday)
        .unwrap();
    let reach_after = env
        .db
        .store
        .account_insight_as_of(first_id, "reach", yesterday, yesterday, None)
        .await
        .unwrap();
    let total = |rows: &[store::AccountInsightReading]| {
        rows.iter().find(|r| r.breakdown.is_none()).unwrap().clone()
    };
    let (was, now) = (total(&reach_before), total(&reach_after));
    assert_eq!(now.value, day.values["reach"] as f64);
    assert_ne!(now.value, was.value, "Meta revised yesterday's reach");
    assert_eq!(now.first_value, was.value);
    assert!(now.revisions >= 1);
    let as_then = env
        .db
        .store
        .account_insight_as_of(
            first_id,
            "reach",
            yesterday,
            yesterday,
            Some(was.fetched_at),
        )
        .await
        .unwrap();
    assert_eq!(total(&as_then).value, was.value);
    // Nothing lost: history only grows.
    let after = env.db.store.totals().await.unwrap();
    assert!(after.media_insight_snapshots >= before.media_insight_snapshots);
    assert!(after.account_insight_days >= before.account_insight_days);

    // Once rejected, the withdrawn metric is never asked for again, also by another
    // process: the decision is stored and adopted by fresh clients.
    let learnt = env.db.store.catalog_decisions_list().await.unwrap();
    assert!(learnt.iter().any(|d| d.metric == "saved"), "{learnt:?}");
    env.advance(chrono::Duration::hours(2));
    let fresh_clients =
        testsupport::sim_clients(&env.sim.url(), &env.graph_clock, Some("test-app-secret"));
    let other_process = sync::Engine::new(sync::EngineConfig {
        store: env.db.connect_again().await,
        graph: fresh_clients,
        cipher: Some(env.cipher.clone()),
        settings: test_settings(),
        clock: env.clock.clone(),
    })
    .unwrap();
    env.sim.reset_stats();
    other_process.enqueue_all(Plan::Full, "test").await.unwrap();
    let stats = other_process.run_until_idle().await.unwrap();
    assert_eq!(stats.failed, 0, "{stats:?}");
    let again = env.sim.stats().withdrawn_metric_refusals;
    assert_eq!(again.get("saved").copied().unwrap_or(0), 0, "{again:?}");
    env.teardown().await;
}

/// Meta answers code 1 "An unknown error has occurred." for a breakdown a metric does not
/// support. Every breakdown is asked for on its own, so the refused ones are stored as
/// missing with their reason and every other breakdown (`age,gender` included) is stored.
async fn a_refused_breakdown_costs_the_other_breakdowns_nothing(d: Dialect) {
    let env = Env::new(d, sim_config(43, 1, 20), test_settings()).await;
    env.sim
        .refuse_breakdown("follower_demographics", "age,gender");
    env.sim
        .refuse_breakdown("reached_audience_demographics", "city");
    full_sync(&env).await;
    let (id, sim_account) = env.account(0);
    env.idle_account(id).await;
    let truth = env.truth(sim_account);
    // The combined breakdown of the other metrics is served, and the refused ones are not.
    assert!(
        truth
            .demographics
            .iter()
            .any(|t| t.breakdown == "age,gender" && !t.rows.is_empty()),
        "the account has an audience"
    );
    crate::e2e::assert_matches_truth(&env, id, &truth).await;
    let refused: MissingMap = expected_missing(&truth)
        .into_iter()
        .filter(|(_, r)| r == "unsupported_breakdown")
        .collect();
    // follower_demographics has no time frame; the reached audience has two.
    assert_eq!(refused.len(), 3, "{refused:?}");
    let stored = stored_missing(&env, id).await;
    assert_eq!(
        stored,
        expected_missing(&truth),
        "{}",
        diff(&stored, &expected_missing(&truth))
    );
    let (_, demographics) = env.db.store.demographics_latest(id).await.unwrap().unwrap();
    assert!(
        demographics
            .iter()
            .any(|v| v.metric == "engaged_audience_demographics" && v.breakdown == "age,gender"),
        "the combined breakdown is stored"
    );
    assert!(
        !demographics
            .iter()
            .any(|v| v.metric == "reached_audience_demographics" && v.breakdown == "city")
    );
    let words = env
        .db
        .store
        .missing_list(id, &[MissingKind::Demographics])
        .await
        .unwrap();
    assert!(
        words
            .iter()
            .filter(|m| m.reason == store::MissingReason::UnsupportedBreakdown)
            .all(|m| m.detail.contains("unknown error")),
        "Meta's message is kept: {words:?}"
    );
    env.teardown().await;
}
