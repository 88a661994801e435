//! Fault injection at a given rate: 5xx, transient errors, truncated JSON, dropped
//! connections, timeouts and rate-limit storms, as a deterministic sequence.

use simulator::{FaultKind, FaultMix, LoginKind};

use crate::{account, client, config, start};

/// What the client saw.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok,
    ServerError(u16, u64),
    Transient(u64),
    Malformed,
    RateLimited(u64),
    Connection,
}

async fn call(url: &str) -> Outcome {
    let r = match client().get(url).send().await {
        Ok(r) => r,
        Err(_) => return Outcome::Connection,
    };
    let status = r.status().as_u16();
    let text = match r.text().await {
        Ok(t) => t,
        Err(_) => return Outcome::Connection,
    };
    let Ok(body) = serde_json::from_str::<serde_json::Value>(&text) else {
        assert_eq!(status, 200, "malformed bodies come with status 200");
        return Outcome::Malformed;
    };
    if status == 200 {
        return Outcome::Ok;
    }
    let e = &body["error"];
    let code = e["code"].as_u64().unwrap();
    assert_eq!(e["is_transient"], true, "{body}");
    match (status, code) {
        (500 | 503, _) => Outcome::ServerError(status, code),
        (_, 2) => Outcome::Transient(code),
        _ => Outcome::RateLimited(code),
    }
}

async fn run(server: &simulator::SimServer, n: usize) -> Vec<Outcome> {
    let a = account(server, LoginKind::Facebook);
    let url = format!(
        "{}/v25.0/{}?fields=id,username&access_token={}",
        server.url(),
        a.ig_user_id,
        a.access_token
    );
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(call(&url).await);
    }
    out
}

#[tokio::test]
async fn faults_are_injected_at_the_configured_rate() {
    let mut c = config(101, 2, 10);
    c.fault_rate = 0.4;
    c.timeout_hold = std::time::Duration::from_millis(100);
    c.faults = FaultMix::default();
    let server = start(c).await;
    let outcomes = run(&server, 300).await;
    let faults = outcomes.iter().filter(|o| **o != Outcome::Ok).count();
    // Binomial(300, 0.4): mean 120, sd 8.5.
    assert!((80..=160).contains(&faults), "{faults}");
    let stats = server.stats();
    let injected: u64 = stats.faults_by_kind.values().sum();
    assert_eq!(injected as usize, faults);
    for kind in [
        FaultKind::ServerError,
        FaultKind::Timeout,
        FaultKind::DroppedConnection,
        FaultKind::TransientError,
        FaultKind::MalformedJson,
    ] {
        assert!(
            stats
                .faults_by_kind
                .get(kind.as_str())
                .copied()
                .unwrap_or(0)
                > 0,
            "{kind:?} injected"
        );
    }
    assert!(!stats.faults_by_kind.contains_key("rate_limit_storm"));
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Outcome::ServerError(500, 1)))
    );
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Outcome::ServerError(503, 2)))
    );
    assert!(outcomes.contains(&Outcome::Malformed));
    assert!(outcomes.contains(&Outcome::Connection));

    // Switched off at run time.
    server.set_faults(0.0, FaultMix::all());
    assert!(run(&server, 20).await.iter().all(|o| *o == Outcome::Ok));
}

#[tokio::test]
async fn the_fault_sequence_is_deterministic() {
    let mut c = config(102, 2, 10);
    c.fault_rate = 0.3;
    c.faults = FaultMix::only(&[
        FaultKind::ServerError,
        FaultKind::TransientError,
        FaultKind::MalformedJson,
        FaultKind::DroppedConnection,
    ]);
    let s1 = start(c.clone()).await;
    let s2 = start(c).await;
    let o1 = run(&s1, 60).await;
    let o2 = run(&s2, 60).await;
    assert_eq!(o1, o2);
    assert!(o1.iter().any(|o| *o != Outcome::Ok));
}

#[tokio::test]
async fn rate_limit_storms_use_every_throttling_code() {
    let server = start(config(103, 2, 10)).await;
    server.set_faults(1.0, FaultMix::only(&[FaultKind::RateLimitStorm]));
    let outcomes = run(&server, 60).await;
    let mut codes: Vec<u64> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::RateLimited(c) => *c,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes, [4, 17, 32, 613, 80002]);
}
