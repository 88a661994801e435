//! Media insights: multi-ID requests per ≤ 50 posts of one category, values equal to the
//! simulator's ground truth, per-id errors, and the metric catalog learning a deprecation.

use std::collections::BTreeMap;

use graph::{
    AccountRef, GraphClient, InsightValue, ItemErrorKind, MediaCategory, MediaInsights, MediaTarget,
};
use simulator::{GroundTruth, InsightsTruth, SimConfig, SimServer};

use crate::support::{account_ref, client, login_of, sim_version, start};

/// Checks every id against the truth: same error kind, or the same value for every metric
/// read, and every metric of the truth that the catalog requests present.
pub(crate) fn assert_matches_truth(
    client: &GraphClient,
    got: &MediaInsights,
    truth: &GroundTruth,
    targets: &[MediaTarget],
) {
    let by_id: BTreeMap<&str, &InsightsTruth> = truth
        .media
        .iter()
        .map(|m| (m.id.as_str(), &m.insights))
        .chain(truth.stories.iter().map(|s| (s.id.as_str(), &s.insights)))
        .collect();
    for t in targets {
        let expected = by_id[t.id.as_str()];
        let result = got
            .results
            .get(&t.id)
            .unwrap_or_else(|| panic!("no result for {}", t.id));
        match (expected, result) {
            (InsightsTruth::Values { values, .. }, Ok(read)) => {
                let totals: BTreeMap<&str, f64> = read
                    .iter()
                    .filter(|v| v.breakdown.is_none())
                    .map(|v: &InsightValue| (v.metric.as_str(), v.value))
                    .collect();
                for (metric, value) in &totals {
                    let want = values.get(*metric).and_then(|v| v.as_f64());
                    assert_eq!(want, Some(*value), "{} {metric}", t.id);
                }
                for metric in client.media_metrics(t.category) {
                    if values.contains_key(metric) {
                        assert!(totals.contains_key(metric), "{} lacks {metric}", t.id);
                    }
                }
            }
            (InsightsTruth::Error { code, subcode, .. }, Err(e)) => {
                assert_eq!(e.code, Some(i64::from(*code)), "{}", t.id);
                assert_eq!(e.subcode, subcode.map(i64::from), "{}", t.id);
            }
            (want, got) => panic!("{}: expected {want:?}, got {got:?}", t.id),
        }
    }
}

pub(crate) async fn listed_targets(client: &GraphClient, account: &AccountRef) -> Vec<MediaTarget> {
    let listing = client.list_media(account, |_| false).await.unwrap();
    listing.items.iter().filter_map(MediaTarget::of).collect()
}

fn per_category(targets: &[MediaTarget]) -> BTreeMap<MediaCategory, usize> {
    let mut n = BTreeMap::new();
    for t in targets {
        *n.entry(t.category).or_default() += 1;
    }
    n
}

async fn setup(seed: u64, media: usize) -> (SimServer, GraphClient, AccountRef, GroundTruth) {
    let sim = start(SimConfig::new(seed, 1, media)).await;
    let acc = sim.accounts()[0].clone();
    let client = client(&sim, login_of(&acc));
    let truth = sim
        .ground_truth(&acc.ig_user_id, sim_version(client.version()))
        .unwrap();
    (sim, client, account_ref(&acc), truth)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insights_of_1000_posts_cost_one_request_per_50_of_a_category() {
    let sim = crate::listing::thousand_post_sim().await;
    let acc = sim.accounts()[0].clone();
    let client = client(&sim, login_of(&acc));
    let account = account_ref(&acc);
    let truth = sim
        .ground_truth(&acc.ig_user_id, sim_version(client.version()))
        .unwrap();
    let targets = listed_targets(&client, &account).await;
    assert_eq!(targets.len(), 1000);
    let counts = per_category(&targets);
    assert!(counts.len() >= 3, "mixed categories: {counts:?}");
    let budget: usize = counts.values().map(|n| n.div_ceil(50)).sum();

    let before = client.stats();
    sim.reset_stats();
    let got = client.media_insights(&account, &targets).await.unwrap();
    let cost = client.stats().since(&before);

    assert_eq!(cost.http_requests as usize, budget, "{counts:?}");
    assert_eq!(cost.units, 1000, "each id is one rate-limit unit");
    assert_eq!(sim.stats().requests_total as usize, budget);
    assert_eq!(got.results.len(), 1000);
    assert_matches_truth(&client, &got, &truth, &targets);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_conversion_media_error_is_reported_next_to_successes() {
    let (sim, client, account, truth) = setup(21, 600).await;
    let targets = listed_targets(&client, &account).await;
    let pre: Vec<&str> = truth
        .media
        .iter()
        .filter(|m| {
            matches!(
                m.insights,
                InsightsTruth::Error {
                    subcode: Some(2_108_006),
                    ..
                }
            )
        })
        .map(|m| m.id.as_str())
        .collect();
    assert!(
        !pre.is_empty(),
        "the seeded account has posts from before its business conversion"
    );

    sim.reset_stats();
    let got = client.media_insights(&account, &targets).await.unwrap();

    let budget: usize = per_category(&targets)
        .values()
        .map(|n| n.div_ceil(50))
        .sum();
    assert_eq!(
        sim.stats().requests_total as usize,
        budget,
        "no extra request for the bad ids"
    );
    for id in &pre {
        let err = got.results[*id].as_ref().unwrap_err();
        assert_eq!(err.kind, ItemErrorKind::PostedBeforeBusinessConversion);
    }
    assert!(got.ok_count() > 0 && got.ok_count() + pre.len() <= targets.len());
    assert_matches_truth(&client, &got, &truth, &targets);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_metric_costs_one_failed_request_then_is_never_requested() {
    let (sim, client, account, truth) = setup(8, 300).await;
    let feed: Vec<MediaTarget> = listed_targets(&client, &account)
        .await
        .into_iter()
        .filter(|t| t.category == MediaCategory::Feed)
        .collect();
    assert!(feed.len() > 50);
    assert!(
        client
            .media_metrics(MediaCategory::Feed)
            .contains(&"reposts")
    );
    // Per-id errors of code 100 (media from before the business conversion) are counted too.
    let per_id = truth
        .media
        .iter()
        .filter(|m| feed.iter().any(|t| t.id == m.id))
        .filter(|m| matches!(m.insights, InsightsTruth::Error { code: 100, .. }))
        .count() as u64;
    sim.remove_metric("reposts");
    sim.reset_stats();

    let first = client.media_insights(&account, &feed).await.unwrap();
    let s1 = sim.stats();
    assert_eq!(
        s1.errors_by_code.get("100").copied(),
        Some(1 + per_id),
        "one failed request: {s1:?}"
    );
    assert_eq!(s1.requests_total as usize, feed.len().div_ceil(50) + 1);
    assert!(
        !client
            .media_metrics(MediaCategory::Feed)
            .contains(&"reposts")
    );
    let decisions = client.catalog_decisions();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].metric, "reposts");
    assert_eq!(first.ok_count() as u64, feed.len() as u64 - per_id);
    assert!(
        first
            .results
            .values()
            .flatten()
            .flatten()
            .all(|v| v.metric != "reposts")
    );
    assert!(
        first
            .results
            .values()
            .flatten()
            .all(|vals| vals.iter().any(|v| v.metric == "reach"))
    );

    // A clone (another task) shares the decision: no failure the second time.
    let other = client.clone();
    sim.reset_stats();
    let second = other.media_insights(&account, &feed).await.unwrap();
    let s2 = sim.stats();
    assert_eq!(
        s2.errors_by_code.get("100").copied().unwrap_or(0),
        per_id,
        "{s2:?}"
    );
    assert_eq!(s2.requests_total as usize, feed.len().div_ceil(50));
    assert_eq!(second, first);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn story_insights_and_too_few_viewers() {
    let (sim, client, account, truth) = setup(4, 20).await;
    let stories = client.stories(&account).await.unwrap();
    assert!(!stories.is_empty());
    let targets: Vec<MediaTarget> = stories
        .iter()
        .map(|s| MediaTarget::new(s.id.clone(), MediaCategory::Story))
        .collect();
    let got = client.media_insights(&account, &targets).await.unwrap();
    assert_matches_truth(&client, &got, &truth, &targets);
    for (id, r) in &got.results {
        if let Err(e) = r {
            assert_eq!(e.kind, ItemErrorKind::NotEnoughViewers, "{id}");
        }
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breakdown_rows_match_the_truth() {
    let (sim, client, account, truth) = setup(14, 200).await;
    let mut targets = listed_targets(&client, &account).await;
    let stories = client.stories(&account).await.unwrap();
    targets.extend(
        stories
            .iter()
            .map(|s| MediaTarget::new(s.id.clone(), MediaCategory::Story)),
    );
    let counts = per_category(&targets);
    let budget: usize = counts
        .iter()
        .map(|(c, n)| {
            let per = match c {
                MediaCategory::Feed | MediaCategory::CarouselAlbum => 1,
                MediaCategory::Story => 2,
                MediaCategory::Reels => 0,
            };
            per * n.div_ceil(50)
        })
        .sum();

    sim.reset_stats();
    let got = client
        .media_insight_breakdowns(&account, &targets)
        .await
        .unwrap();
    assert_eq!(sim.stats().requests_total as usize, budget);

    let truths = truth
        .media
        .iter()
        .map(|m| (m.id.as_str(), &m.insights))
        .chain(truth.stories.iter().map(|s| (s.id.as_str(), &s.insights)));
    let mut rows = 0;
    for (id, insights) in truths {
        let InsightsTruth::Values { breakdowns, .. } = insights else {
            continue;
        };
        let Some(Ok(values)) = got.results.get(id) else {
            assert!(
                breakdowns.is_empty(),
                "{id} has breakdowns in the truth but none read"
            );
            continue;
        };
        for (metric, keys) in breakdowns {
            for (key, value) in keys {
                rows += 1;
                let found = values.iter().find(|v| {
                    &v.metric == metric
                        && v.breakdown
                            .as_ref()
                            .is_some_and(|b| b.key.eq_ignore_ascii_case(key))
                });
                assert_eq!(
                    found.map(|v| v.value),
                    Some(*value as f64),
                    "{id} {metric} {key}"
                );
            }
        }
    }
    assert!(rows > 0);
    sim.shutdown().await;
}
