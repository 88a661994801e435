//! End-to-end syncs against the simulator: what a full sync stores equals the simulator's
//! ground truth, and a second sync adds snapshots without duplicating.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use simulator::{GroundTruth, InsightsTruth};
use store::{AccountId, MediaQuery, RunStatus};
use sync::{Plan, SyncState, testkit};

use crate::both_dialects;
use crate::db::Dialect;
use crate::env::{Env, sim_config, test_settings};

both_dialects!(a_full_sync_stores_exactly_the_ground_truth);

/// The truth's values of the metrics the account's Graph client requests for a category.
fn requested(
    env: &Env,
    account: &store::Account,
    cat: graph::MediaCategory,
    values: &BTreeMap<String, serde_json::Value>,
) -> BTreeMap<String, f64> {
    testkit::requested(
        &testkit::client_for(&env.clients, account).media_metrics(cat),
        values,
    )
}

/// Compares everything stored for one account with the simulator's ground truth.
pub(crate) async fn assert_matches_truth(env: &Env, account_id: AccountId, truth: &GroundTruth) {
    let store = &env.db.store;
    let who = &truth.profile.username;
    let account = store.account_get(account_id).await.unwrap().unwrap();
    testkit::assert_profile_counters(&account, truth);

    // Posts with their children and latest insights.
    let media = store
        .media_list(MediaQuery {
            account_id: Some(account_id),
            ..Default::default()
        })
        .await
        .unwrap();
    let by_id = testkit::posts_by_id(&media, truth);
    assert_eq!(media.len() as u64, truth.profile.media_count, "{who}");
    let mut checked_insights = 0;
    for t in &truth.media {
        let m = by_id[t.id.as_str()];
        let r = &m.record;
        testkit::assert_post_record(m, t);
        match &t.insights {
            InsightsTruth::Values { values, breakdowns } => {
                let expected = requested(env, &account, testkit::category(r), values);
                // Values differ only for a post the tiered policy did not refresh in the
                // latest run (its numbers are those of its last capture).
                let captured = m.insights_captured_at.expect("insights captured");
                let stale_by_policy = captured < env.now()
                    && !sync::tiered::insights_due(r.published_at, Some(captured), env.now());
                if !stale_by_policy {
                    assert_eq!(m.latest, expected, "{}: latest insights", t.id);
                } else {
                    assert_eq!(
                        m.latest.keys().collect::<Vec<_>>(),
                        expected.keys().collect::<Vec<_>>()
                    );
                }
                assert!(m.insights_error.is_none(), "{}", t.id);
                // Breakdown rows are stored when the client reads them (it currently asks
                // for totals only); whatever is stored must match the truth.
                let rows = store
                    .media_insight_history(std::slice::from_ref(&t.id), &[])
                    .await
                    .unwrap();
                let rows: Vec<_> = rows.iter().collect();
                testkit::assert_breakdown_rows(&t.id, &rows, breakdowns);
                checked_insights += 1;
            }
            InsightsTruth::Error { message, .. } => {
                assert!(m.latest.is_empty(), "{}", t.id);
                let e = m
                    .insights_error
                    .as_deref()
                    .unwrap_or_else(|| panic!("{}: no error recorded", t.id));
                assert!(e.contains(message.as_str()), "{}: {e} vs {message}", t.id);
            }
        }
    }
    assert!(checked_insights > 0, "{who}: no insights checked");

    // Live stories and their insights.
    let stories = store
        .story_list(account_id, env.now() - Duration::days(2), env.now())
        .await
        .unwrap();
    let stored: BTreeSet<&str> = stories
        .iter()
        .map(|s| s.record.ig_media_id.as_str())
        .collect();
    let expected: BTreeSet<&str> = truth.stories.iter().map(|s| s.id.as_str()).collect();
    assert!(
        stored.is_superset(&expected),
        "{who}: stories {stored:?} vs {expected:?}"
    );
    // Stories no longer live were stored earlier and are kept (they expire after 24 h).
    for s in &stories {
        if !expected.contains(s.record.ig_media_id.as_str()) {
            assert!(
                env.now() - s.record.published_at >= Duration::hours(24),
                "{who}: {s:?}"
            );
        }
    }
    for t in &truth.stories {
        let s = stories
            .iter()
            .find(|s| s.record.ig_media_id == t.id)
            .unwrap();
        assert_eq!(s.record.published_at, testkit::parse_ts(&t.timestamp));
        match &t.insights {
            InsightsTruth::Values { values, .. } => {
                let expected = requested(env, &account, graph::MediaCategory::Story, values);
                assert_eq!(s.latest, expected, "story {}", t.id);
            }
            InsightsTruth::Error { message, .. } => {
                let e = s.insights_error.as_deref().unwrap_or_default();
                assert!(
                    e.contains(message.as_str()),
                    "story {}: {e:?} vs {message}",
                    t.id
                );
            }
        }
    }

    // Account insights per day (totals and breakdowns) and followers online.
    let first = truth.account_insights.first().unwrap().date;
    let last = truth.account_insights.last().unwrap().date;
    let days = store
        .account_insight_days(account_id, &[], first, last)
        .await
        .unwrap();
    let stored = testkit::day_map(&days);
    let mut expected_values = 0;
    for day in &truth.account_insights {
        for (metric, value) in &day.values {
            let got = stored.get(&(metric.clone(), day.date, String::new(), String::new()));
            assert_eq!(
                got,
                Some(&(*value as f64)),
                "{who}: {metric} on {}",
                day.date
            );
            expected_values += 1;
        }
        for (metric, dims) in &day.breakdowns {
            for (dim, keys) in dims {
                for (key, value) in keys {
                    let got = stored.get(&(metric.clone(), day.date, dim.clone(), key.clone()));
                    assert_eq!(
                        got,
                        Some(&(*value as f64)),
                        "{who}: {metric}/{dim}/{key} on {}",
                        day.date
                    );
                    expected_values += 1;
                }
            }
        }
    }
    assert!(expected_values > 0);
    for day in &truth.online_followers {
        for (hour, value) in &day.by_hour {
            let got = stored.get(&(
                "online_followers".to_string(),
                day.date,
                "hour".to_string(),
                hour.clone(),
            ));
            assert_eq!(
                got,
                Some(&(*value as f64)),
                "{who}: online followers {} {hour}h",
                day.date
            );
        }
    }

    // Demographics.
    testkit::assert_demographics(store.as_ref(), account_id, truth).await;
}

async fn a_full_sync_stores_exactly_the_ground_truth(d: Dialect) {
    let env = Env::new(d, sim_config(11, 3, 60), test_settings()).await;
    let enqueued = env.engine.enqueue_all(Plan::Full, "test").await.unwrap();
    assert_eq!(enqueued.len(), 3);
    let stats = env.engine.run_until_idle().await.unwrap();
    assert_eq!(stats.failed, 0, "{stats:?}");
    for (id, sim_account) in &env.accounts {
        let account = env.idle_account(*id).await;
        assert_eq!(account.last_synced_at, Some(env.now()));
        let truth = env.truth(sim_account);
        assert_matches_truth(&env, *id, &truth).await;
    }
    for e in &enqueued {
        let p = env.engine.progress(e.job_id()).await.unwrap();
        assert_eq!(p.state, SyncState::Succeeded, "{p:?}");
        assert!(
            p.steps
                .iter()
                .all(|s| s.status == sync::StepState::Succeeded),
            "{p:?}"
        );
    }
    let runs = env.runs(None).await;
    assert_eq!(runs.len(), 3);
    assert!(runs.iter().all(|r| r.status == RunStatus::Succeeded));
    env.teardown().await;
}
