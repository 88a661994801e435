//! The adaptive throttle against the simulator's budgets: a rate-limited account is paused
//! (calls fail fast, no request) until its regain time while other accounts go on.

use std::time::Duration;

use graph::{
    ApiVersion, Clock, ErrorClass, GraphClient, GraphConfig, RateLimitScope, ThrottleConfig,
};
use simulator::SimConfig;

use crate::support::{FAST_RETRY, account_ref, login_of, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_account_is_paused_while_others_go_on() {
    let mut cfg = SimConfig::new(51, 2, 10);
    cfg.tight_budget_accounts = 1;
    cfg.tight_budget = 6;
    let sim = start(cfg).await;
    let accounts = sim.accounts();
    let (normal, tight) = (accounts[0].clone(), accounts[1].clone());
    let clock = Clock::offset();
    let client = GraphClient::new(
        GraphConfig::builder(login_of(&tight), "1234567890")
            .base_url(sim.url())
            .version(ApiVersion::LATEST)
            .retry(FAST_RETRY)
            .throttle(ThrottleConfig {
                max_delay: Duration::from_millis(20),
                ..ThrottleConfig::STANDARD
            })
            .clock(clock.clone())
            .build()
            .unwrap(),
    )
    .unwrap();
    let (normal, tight) = (account_ref(&normal), account_ref(&tight));

    let mut limited = None;
    for _ in 0..20 {
        match client.profile(&tight).await {
            Ok(_) => {}
            Err(e) => {
                limited = Some(e);
                break;
            }
        }
    }
    let err = limited.expect("the tight budget runs out");
    assert_eq!(err.class(), ErrorClass::RateLimited, "{err:?}");
    let retry_after = err.retry_after().unwrap();
    assert!(
        retry_after >= Duration::from_secs(60),
        "regain time from the usage header: {retry_after:?}"
    );
    assert!(matches!(
        err,
        graph::GraphError::RateLimited {
            scope: RateLimitScope::Account,
            ..
        }
    ));

    // Paused: no request reaches the API for that account.
    sim.reset_stats();
    let again = client.profile(&tight).await.unwrap_err();
    assert_eq!(again.code(), None, "refused locally");
    assert!(again.retry_after().unwrap() <= retry_after);
    assert_eq!(sim.stats().requests_total, 0);
    assert!(client.stats().failed_fast >= 1);
    let usage = client.usage();
    assert!(usage.accounts[&tight.ig_user_id].paused_for.is_some());
    assert!(
        usage.accounts[&tight.ig_user_id]
            .usage
            .as_ref()
            .unwrap()
            .percent()
            >= 100
    );

    // The one-account readings are the whole snapshot's entry for that account alone.
    let one = client.usage_of(&tight.ig_user_id);
    assert_eq!(one.accounts.len(), 1);
    let (read_once, read_all) = (
        &one.accounts[&tight.ig_user_id],
        &usage.accounts[&tight.ig_user_id],
    );
    assert_eq!(read_once.usage, read_all.usage);
    // Read a moment later: the pause has a moment less to run.
    assert!(read_once.paused_for.unwrap() <= read_all.paused_for.unwrap());
    assert_eq!(one.app, usage.app);
    let before = client.stats();
    assert_eq!(
        client.account_stats(&tight.ig_user_id),
        before.accounts[&tight.ig_user_id]
    );

    // The other account goes on.
    let normal_before = client.account_stats(&normal.ig_user_id);
    for _ in 0..5 {
        client.profile(&normal).await.unwrap();
    }
    assert_eq!(sim.stats().requests_total, 5);
    let spent = client
        .account_stats(&normal.ig_user_id)
        .since(&normal_before);
    assert_eq!(spent.http_requests, 5);
    assert_eq!(
        spent,
        client.stats().since(&before).accounts[&normal.ig_user_id]
    );
    assert_eq!(
        client.account_stats(&tight.ig_user_id),
        before.accounts[&tight.ig_user_id],
        "the paused account spent nothing"
    );
    assert!(
        client.usage().accounts[&normal.ig_user_id]
            .paused_for
            .is_none()
    );

    // At the regain time the account works again.
    clock.advance(chrono::Duration::from_std(retry_after + Duration::from_secs(1)).unwrap());
    sim.reset_budgets();
    client.profile(&tight).await.unwrap();
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_app_budget_pauses_every_account() {
    let mut cfg = SimConfig::new(52, 2, 10);
    cfg.app_budget = 4;
    let sim = start(cfg).await;
    let accounts = sim.accounts();
    let client = crate::support::client(&sim, login_of(&accounts[0]));
    let (a, b) = (account_ref(&accounts[0]), account_ref(&accounts[1]));
    let mut limited = None;
    for _ in 0..10 {
        if let Err(e) = client.profile(&a).await {
            limited = Some(e);
            break;
        }
    }
    let err = limited.expect("the app budget runs out");
    assert!(
        matches!(
            err,
            graph::GraphError::RateLimited {
                scope: RateLimitScope::App,
                code: Some(4),
                ..
            }
        ),
        "{err:?}"
    );
    sim.reset_stats();
    let other = client.profile(&b).await.unwrap_err();
    assert!(matches!(
        other,
        graph::GraphError::RateLimited {
            scope: RateLimitScope::App,
            code: None,
            ..
        }
    ));
    assert_eq!(
        sim.stats().requests_total,
        0,
        "no request while the app is paused"
    );
    assert!(client.usage().app_paused_for.is_some());
    sim.shutdown().await;
}
