//! Deprecation early warning: the pinned version's account metrics asked for on the newest
//! version; a metric the newest version refuses is at risk, gone when the pinned version
//! expires, and the refusal is learnt for the newest version's catalog.

use graph::{ApiVersion, CatalogScope, Clock, metrics_at_risk};
use simulator::SimConfig;

use crate::support::{account_ref, client_with, login_of, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metric_the_newest_version_refuses_is_at_risk_until_the_pinned_version_expires() {
    let sim = start(SimConfig::new(33, 1, 20)).await;
    let acc = sim.accounts()[0].clone();
    let pinned = client_with(&sim, login_of(&acc), ApiVersion::V25, Clock::system());
    let account = account_ref(&acc);
    // Meta withdraws profile_views from v26 on; v25 keeps serving it.
    sim.withdraw_metric("profile_views", simulator::ApiVersion::V26);

    sim.reset_stats();
    let on_pinned = pinned
        .probe_metrics(&account, ApiVersion::V25)
        .await
        .unwrap();
    assert_eq!(
        sim.stats().requests_total,
        3,
        "one request per metric family"
    );
    assert!(on_pinned.refused.is_empty(), "{on_pinned:?}");
    assert!(
        on_pinned
            .served
            .contains(&(CatalogScope::AccountTotalValue, "profile_views".to_owned()))
    );
    assert!(
        on_pinned
            .served
            .iter()
            .any(|(s, _)| *s == CatalogScope::Demographics)
    );

    sim.reset_stats();
    let on_newest = pinned
        .probe_metrics(&account, ApiVersion::LATEST)
        .await
        .unwrap();
    assert_eq!(
        sim.stats().requests_total,
        4,
        "one more request for the refused metric"
    );
    assert_eq!(on_newest.version, ApiVersion::V26);
    let refused: Vec<&str> = on_newest
        .refused
        .iter()
        .map(|r| r.metric.as_str())
        .collect();
    assert_eq!(refused, ["profile_views"]);
    assert!(
        on_newest.refused[0].message.contains("no longer supported"),
        "{on_newest:?}"
    );
    assert_eq!(on_newest.served.len() + 1, on_pinned.served.len());

    let at_risk = metrics_at_risk(&on_pinned, &on_newest);
    assert_eq!(at_risk.len(), 1, "{at_risk:?}");
    assert_eq!(at_risk[0].metric, "profile_views");
    assert_eq!(at_risk[0].scope, CatalogScope::AccountTotalValue);
    assert_eq!(at_risk[0].refused_on, ApiVersion::V26);
    assert_eq!(
        at_risk[0].removal_date,
        chrono::NaiveDate::from_ymd_opt(2028, 7, 29),
        "v25 expires on 29 Jul 2028"
    );
    // Nothing is at risk when both versions serve the same metrics.
    assert!(metrics_at_risk(&on_pinned, &on_pinned).is_empty());

    // The refusal is learnt for v26 only: the pinned version still asks for it.
    let learnt = pinned.catalog_decisions();
    assert!(
        learnt
            .iter()
            .any(|d| d.version == ApiVersion::V26 && d.metric == "profile_views"),
        "{learnt:?}"
    );
    assert!(!learnt.iter().any(|d| d.version == ApiVersion::V25));
    sim.shutdown().await;
}
