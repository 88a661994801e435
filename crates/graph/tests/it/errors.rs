//! Error handling over real HTTP: 190 is never retried, injected transient faults are retried
//! until the data is complete, and tokens never appear in errors.

use graph::{AccessToken, AccountInsightsQuery, AccountRef, ErrorClass, MediaTarget};
use simulator::{FaultMix, SimConfig};

use crate::support::{account_ref, client, login_of, sim_version, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_fails_once_without_retry_and_needs_reauth() {
    let sim = start(SimConfig::new(41, 2, 20)).await;
    let acc = sim.accounts()[0].clone();
    let client = client(&sim, login_of(&acc));
    let account = account_ref(&acc);
    sim.expire_token(&acc.ig_user_id);
    sim.reset_stats();
    let before = client.stats();

    let err = client.profile(&account).await.unwrap_err();

    assert!(err.needs_reauth(), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Auth);
    assert_eq!(err.code(), Some(190));
    assert!(!err.is_retryable());
    let cost = client.stats().since(&before);
    assert_eq!(cost.http_requests, 1);
    assert_eq!(cost.retries, 0);
    assert_eq!(cost.errors_by_code.get("190"), Some(&1));
    assert_eq!(sim.stats().requests_total, 1);
    let text = format!("{err} {err:?}");
    assert!(!text.contains(&acc.access_token), "token leaked: {text}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_never_appear_in_errors() {
    let sim = start(SimConfig::new(42, 1, 5)).await;
    let acc = sim.accounts()[0].clone();
    let client = client(&sim, login_of(&acc));
    let secret = "EAAB-not-a-valid-token-0123456789";
    let bogus = AccountRef::new(acc.ig_user_id.clone(), AccessToken::new(secret));
    let err = client.profile(&bogus).await.unwrap_err();
    assert!(err.needs_reauth(), "{err:?}");
    let text = format!("{err} {err:?} {bogus:?}");
    assert!(!text.contains(secret), "{text}");
    // A transport error (nothing listens there) must not carry the URL with the token.
    let dead = graph::GraphClient::new(
        graph::GraphConfig::builder(graph::LoginKind::Facebook, "1")
            .base_url("http://127.0.0.1:9")
            .retry(graph::RetryPolicy {
                max_attempts: 1,
                ..graph::RetryPolicy::STANDARD
            })
            .build()
            .unwrap(),
    )
    .unwrap();
    let err = dead.profile(&bogus).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient);
    let text = format!("{err} {err:?}");
    assert!(!text.contains(secret), "{text}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_percent_transient_faults_still_yield_complete_data() {
    let mut cfg = SimConfig::new(43, 1, 400);
    cfg.timeout_hold = std::time::Duration::from_secs(3);
    let sim = start(cfg).await;
    let acc = sim.accounts()[0].clone();
    let client = client(&sim, login_of(&acc));
    let account = account_ref(&acc);
    let truth = sim
        .ground_truth(&acc.ig_user_id, sim_version(client.version()))
        .unwrap();
    sim.set_faults(0.2, FaultMix::default());

    let listing = client.list_media(&account, |_| false).await.unwrap();
    let ids: Vec<_> = listing.items.iter().map(|m| m.id.clone()).collect();
    let truth_ids: Vec<_> = truth.media.iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids, truth_ids);
    let targets: Vec<MediaTarget> = listing.items.iter().filter_map(MediaTarget::of).collect();
    let got = client.media_insights(&account, &targets).await.unwrap();
    crate::media_insights::assert_matches_truth(&client, &got, &truth, &targets);
    let days = &truth.account_insights;
    let points = client
        .account_insights(
            &account,
            &AccountInsightsQuery {
                since: days[0].date,
                until: days[days.len() - 1].date,
                breakdowns: false,
            },
        )
        .await
        .unwrap();
    let expected: usize = days.iter().map(|d| d.values.len()).sum();
    assert_eq!(points.len(), expected);

    let stats = sim.stats();
    assert!(
        stats.faults_by_kind.values().sum::<u64>() > 0,
        "faults were injected: {stats:?}"
    );
    assert!(client.stats().retries > 0);
    sim.shutdown().await;
}
