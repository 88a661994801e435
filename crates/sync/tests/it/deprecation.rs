//! Deprecation early warning: with the clients pinned to an older version than the newest,
//! the daily step asks the account metrics on both versions; a metric the newest version
//! refuses is named with the day it is gone for good, learnt for the newest version's
//! catalog, and still read on the pinned version.

use simulator::ApiVersion;
use sync::Plan;

use crate::both_dialects;
use crate::db::Dialect;
use crate::env::{Env, sim_config, test_settings};

both_dialects!(
    a_metric_the_newest_version_refuses_is_named_at_risk,
    media_metrics_and_online_followers_are_probed
);

async fn a_metric_the_newest_version_refuses_is_named_at_risk(d: Dialect) {
    let env = Env::new(d, sim_config(46, 1, 20), test_settings()).await;
    env.sim.withdraw_metric("profile_views", ApiVersion::V26);
    env.engine.enqueue_all(Plan::Full, "test").await.unwrap();
    env.run_until_settled(50).await;
    let (id, sim_account) = env.account(0);
    env.idle_account(id).await;
    // The pinned version (v25) still serves it: every value is stored.
    let truth = env.truth(sim_account);
    assert!(
        truth
            .account_insights
            .iter()
            .any(|d| d.values.contains_key("profile_views"))
    );
    crate::e2e::assert_matches_truth(&env, id, &truth).await;

    let step = env.last_run_step(id, "demographics").await;
    let probe = &step.detail["version_probe"];
    assert_eq!(probe["pinned"], "v25.0", "{probe}");
    assert_eq!(probe["newest"], "v26.0", "{probe}");
    assert_eq!(
        probe["at_risk"],
        serde_json::json!([{
            "scope": "account/total_value",
            "metric": "profile_views",
            "removal_date": "2028-07-29",
        }]),
        "{probe}"
    );
    // Learnt for v26 only, and kept for every process.
    let learnt = env.db.store.catalog_decisions_list().await.unwrap();
    assert!(
        learnt
            .iter()
            .any(|d| d.api_version == "v26.0" && d.metric == "profile_views"),
        "{learnt:?}"
    );
    assert!(
        !learnt.iter().any(|d| d.api_version == "v25.0"),
        "{learnt:?}"
    );
    let at_risk = graph::metrics_at_risk_of(
        graph::ApiVersion::V25,
        &learnt
            .iter()
            .filter_map(|d| {
                Some(graph::CatalogDecision {
                    version: d.api_version.parse().ok()?,
                    scope: graph::CatalogScope::parse(&d.scope)?,
                    metric: d.metric.clone(),
                    reason: d.reason.clone(),
                    decided_at: d.decided_at,
                })
            })
            .collect::<Vec<_>>(),
    );
    assert_eq!(at_risk.len(), 1, "{at_risk:?}");
    env.teardown().await;
}

/// The probe also asks each product type's media metrics, on a stored post of that type,
/// and `online_followers`: withdrawn from the newest version, both are named at risk while
/// the pinned version still reads them.
async fn media_metrics_and_online_followers_are_probed(d: Dialect) {
    let env = Env::new(d, sim_config(48, 1, 20), test_settings()).await;
    env.sim.withdraw_metric("saved", ApiVersion::V26);
    env.sim.withdraw_metric("online_followers", ApiVersion::V26);
    env.engine.enqueue_all(Plan::Full, "test").await.unwrap();
    env.run_until_settled(50).await;
    let (id, _) = env.account(0);
    let step = env.last_run_step(id, "demographics").await;
    let probe = &step.detail["version_probe"];
    let at_risk: Vec<(String, String)> = probe["at_risk"]
        .as_array()
        .unwrap_or_else(|| panic!("{probe}"))
        .iter()
        .map(|r| {
            (
                r["scope"].as_str().unwrap().to_owned(),
                r["metric"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        at_risk.contains(&("account/time_series".into(), "online_followers".into())),
        "{probe}"
    );
    // Every product type the account has a post of is probed on one of them.
    let media = env.db.store.media_index(id).await.unwrap();
    let mut types: Vec<&str> = media
        .iter()
        .filter(|m| !m.deleted && m.insights_error.is_none())
        .map(|m| match (m.product_type, m.media_type) {
            (store::ProductType::Reels, _) => "media/REELS",
            (_, store::MediaType::CarouselAlbum) => "media/CAROUSEL_ALBUM",
            _ => "media/FEED",
        })
        .collect();
    types.sort_unstable();
    types.dedup();
    assert!(types.len() >= 2, "{types:?}");
    for scope in types {
        assert!(
            at_risk.contains(&(scope.into(), "saved".into())),
            "{scope}: {probe}"
        );
    }
    assert!(
        probe["at_risk"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["removal_date"] == "2028-07-29"),
        "{probe}"
    );
    // Learnt for the newest version only: the pinned version still reads both.
    let learnt = env.db.store.catalog_decisions_list().await.unwrap();
    assert!(
        learnt
            .iter()
            .any(|d| d.api_version == "v26.0" && d.metric == "online_followers"),
        "{learnt:?}"
    );
    assert!(
        !learnt.iter().any(|d| d.api_version == "v25.0"),
        "{learnt:?}"
    );
    let days = env
        .db
        .store
        .account_insight_days(
            id,
            &["online_followers".to_string()],
            env.now().date_naive() - chrono::Duration::days(30),
            env.now().date_naive(),
        )
        .await
        .unwrap();
    assert!(!days.is_empty(), "online followers still read on v25");
    env.teardown().await;
}
