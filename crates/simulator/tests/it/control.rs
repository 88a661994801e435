//! Control endpoints under `/__sim/`: they steer the simulator and are not API calls.

use serde_json::{Value, json};

use crate::{client, config, get, start};

#[tokio::test]
async fn control_endpoints_steer_the_simulator() {
    let server = start(config(141, 3, 40)).await;
    let base = server.url();
    let http = client();
    let accounts: Vec<Value> = http
        .get(format!("{base}/__sim/accounts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(accounts.len(), 3);
    for a in &accounts {
        for k in ["ig_user_id", "username", "access_token", "media_count"] {
            assert!(a.get(k).is_some(), "{k}");
        }
    }

    let before = server.now();
    let r: Value = http
        .post(format!("{base}/__sim/clock"))
        .json(&json!({ "advance_secs": 3600 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r["now"].is_string());
    assert_eq!(server.now() - before, chrono::Duration::hours(1));
    let bad = http
        .post(format!("{base}/__sim/clock"))
        .body("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("invalid JSON"));

    let r = http
        .post(format!("{base}/__sim/faults"))
        .json(&json!({ "rate": 1.0, "kinds": ["transient_error"] }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let token = accounts[0]["access_token"].as_str().unwrap();
    let g = get(&server, &format!("/v25.0/me?access_token={token}")).await;
    assert_eq!(g.error()["code"], 2);
    http.post(format!("{base}/__sim/faults"))
        .json(&json!({ "rate": 0.0 }))
        .send()
        .await
        .unwrap();
    get(&server, &format!("/v25.0/me?access_token={token}"))
        .await
        .ok();
    let bad = http
        .post(format!("{base}/__sim/faults"))
        .json(&json!({ "rate": 2.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let stats: Value = http
        .get(format!("{base}/__sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats["requests_total"], 2,
        "control calls are not API calls: {stats}"
    );
    assert_eq!(stats["faults_by_kind"]["transient_error"], 1);
    http.post(format!("{base}/__sim/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(server.stats().requests_total, 0);

    let r = http
        .post(format!("{base}/__sim/expire-token"))
        .json(&json!({ "ig_user_id": accounts[0]["ig_user_id"] }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(
        get(&server, &format!("/v25.0/me?access_token={token}"))
            .await
            .error()["code"],
        190
    );
    let r = http
        .get(format!("{base}/__sim/ground-truth/123?version=v25.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = http
        .get(format!("{base}/__sim/ground-truth/123?version=v7"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn injected_anomalies_are_listed_when_switched_on() {
    let mut c = config(142, 3, 40);
    c.anomalies = true;
    let server = start(c).await;
    let http = client();
    let r: Value = http
        .get(format!("{}/__sim/anomalies", server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["enabled"], true);
    let listed = r["anomalies"].as_array().unwrap();
    let truth = server.injected_anomalies();
    assert!(!truth.is_empty());
    assert_eq!(listed.len(), truth.len());
    assert_eq!(listed[0], serde_json::to_value(&truth[0]).unwrap());
    for key in ["ig_user_id", "day", "kind", "factor", "days"] {
        assert!(listed[0].get(key).is_some(), "{key}");
    }

    // Off by default: nothing injected, nothing listed.
    let server = start(config(142, 3, 40)).await;
    let r: Value = http
        .get(format!("{}/__sim/anomalies", server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r, json!({ "enabled": false, "anomalies": [] }));
}
