//! Queue conformance cases. The global limiter: grants up to the limit, never more under concurrency.

use super::*;

pub async fn rate_limit_grants_up_to_the_limit_then_names_the_next_slot(fx: &dyn Fixture) {
    let store = fx.store();
    let window = Duration::seconds(60);
    for s in 0..5 {
        assert_eq!(
            store
                .rate_limit_acquire("starts", 5, window, at(s))
                .await
                .unwrap(),
            RateDecision::Granted,
            "start {s}"
        );
    }
    assert_eq!(
        store
            .rate_limit_acquire("starts", 5, window, at(5))
            .await
            .unwrap(),
        RateDecision::RetryAt(at(60))
    );
    assert_eq!(
        store
            .rate_limit_acquire("starts", 5, window, at(30))
            .await
            .unwrap(),
        RateDecision::RetryAt(at(60))
    );
    // Another limiter has its own budget.
    assert_eq!(
        store
            .rate_limit_acquire("other", 5, window, at(5))
            .await
            .unwrap(),
        RateDecision::Granted
    );
    // The window slides: the first grant leaves it at t0 + 60 s.
    assert_eq!(
        store
            .rate_limit_acquire("starts", 5, window, at(60))
            .await
            .unwrap(),
        RateDecision::Granted
    );
    assert_eq!(
        store
            .rate_limit_acquire("starts", 5, window, at(60))
            .await
            .unwrap(),
        RateDecision::RetryAt(at(61))
    );
    let bad = store
        .rate_limit_acquire("starts", 5, Duration::zero(), at(60))
        .await;
    assert!(
        matches!(bad, Err(StoreError::InvalidInput { .. })),
        "{bad:?}"
    );
}

pub async fn rate_limit_never_exceeds_the_limit_under_concurrency(fx: &dyn Fixture) {
    let store = fx.store();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .rate_limit_acquire("sync-starts", 5, Duration::seconds(60), at(i % 3))
                .await
                .unwrap()
        }));
    }
    let mut granted = 0;
    for t in tasks {
        if t.await.unwrap() == RateDecision::Granted {
            granted += 1;
        }
    }
    assert_eq!(granted, 5);
}
