//! Competitors over the API, with the simulator behind a real engine: tracked through an
//! account on Facebook Login, refused through one on Instagram Login before any request,
//! snapshotted, listed with their counters or their failure's reason, removed.

use reqwest::{Method, StatusCode};
use serde_json::json;
use simulator::{CompetitorKind, LoginKind};

use crate::support::{SimApp, assert_error, json_of};

#[tokio::test]
async fn competitors_are_tracked_snapshotted_and_listed_with_their_reasons() {
    let env = SimApp::start(2, 4).await;
    let via = |login| {
        env.accounts
            .iter()
            .find(|(_, a)| a.login == login)
            .map(|(id, _)| id.to_string())
            .unwrap()
    };
    let all = env.sim.competitors();
    let biz = all
        .iter()
        .find(|c| c.kind == CompetitorKind::Business)
        .unwrap();
    let personal = all
        .iter()
        .find(|c| c.kind == CompetitorKind::Personal)
        .unwrap();

    env.sim.reset_stats();
    let res = env
        .app
        .send_json(
            Method::POST,
            "/api/v1/competitors",
            &json!({"username": biz.username, "via": via(LoginKind::Instagram)}),
        )
        .await;
    let msg = assert_error(res, StatusCode::CONFLICT, "conflict").await;
    assert!(msg.contains("Instagram Login"), "{msg}");
    assert_eq!(env.sim.stats().requests_total, 0);
    let res = env
        .app
        .send_json(
            Method::POST,
            "/api/v1/competitors",
            &json!({"username": "bad name", "via": via(LoginKind::Facebook)}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;

    for u in [&biz.username, &personal.username] {
        let res = env
            .app
            .send_json(
                Method::POST,
                "/api/v1/competitors",
                &json!({"username": format!("@{u}"), "via": via(LoginKind::Facebook)}),
            )
            .await;
        let c = json_of(res, StatusCode::CREATED).await;
        assert_eq!(c["status"], "pending");
        assert!(c["followers_count"].is_null());
    }
    let res = env
        .app
        .send_json(
            Method::POST,
            "/api/v1/competitors",
            &json!({"username": biz.username, "via": via(LoginKind::Facebook)}),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT, "conflict").await;

    let queued = json_of(
        env.app.post("/api/v1/competitors/sync").await,
        StatusCode::ACCEPTED,
    )
    .await;
    assert_eq!(queued["enqueued"], 2);
    env.engine.run_until_idle().await.unwrap();

    let list = env.app.get_json("/api/v1/competitors").await;
    let list = list["competitors"].as_array().unwrap();
    let get = |u: &str| list.iter().find(|c| c["username"] == u).unwrap().clone();
    let truth = env.sim.competitor_truth(&biz.username).unwrap();
    let ok = get(&biz.username);
    assert_eq!(ok["status"], "ok");
    assert_eq!(ok["followers_count"].as_u64(), truth.followers_count);
    assert_eq!(ok["media_count"].as_u64(), truth.media_count);
    assert_eq!(ok["ig_user_id"], truth.ig_user_id.as_str());
    let failed = get(&personal.username);
    assert_eq!(failed["status"], "error");
    assert_eq!(failed["last_reason"], "not_found");
    assert!(failed["followers_count"].is_null());

    // The dashboard page shows the counters and the reason, from the stored snapshots.
    let browser = crate::dashboard::Browser::sign_in(&env.app).await;
    let html = browser.page("/competitors").await;
    assert!(html.contains(&format!("@{}", biz.username)));
    assert!(html.contains(&truth.followers_count.unwrap().to_string()));
    assert!(html.contains("not_found"));
    assert!(html.contains("competitors-cadence"));
    // One capture: growth is missing with its reason, never 0.
    assert!(
        html.contains("data-key=\"competitor_follower_growth\" title=\"fewer than two captures")
    );
    assert!(html.contains("data-key=\"competitor_engagement_per_follower\">"));

    // The peer benchmark of the via account among the competitors tracked through it.
    let b = env
        .app
        .get_json(&format!(
            "/api/v1/competitors/benchmark?account={}&days=7",
            via(LoginKind::Facebook)
        ))
        .await;
    let figures = b["figures"].as_array().unwrap();
    assert_eq!(figures.len(), 5);
    let growth = figures
        .iter()
        .find(|f| f["figure"] == "competitor_follower_growth")
        .unwrap();
    assert!(growth["value"].is_null() && growth["rank"].is_null());
    assert!(growth["note"].as_str().unwrap().contains("captures"));
    let res = env
        .app
        .get(&format!(
            "/api/v1/competitors/benchmark?account={}&days=0",
            via(LoginKind::Facebook)
        ))
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;

    // The same benchmark in the via account's report (JSON, CSV, HTML) and account page; the
    // account with no competitor tracked through it shows no benchmark at all, not zeros.
    let fb = via(LoginKind::Facebook);
    let ig = via(LoginKind::Instagram);
    let report = env
        .app
        .get_json(&format!("/api/v1/accounts/{fb}/report?days=7"))
        .await;
    let peers = &report["peer_benchmark"];
    assert_eq!(peers["competitors"], 2, "{peers}");
    let figures = peers["figures"].as_array().unwrap();
    assert_eq!(figures.len(), 5);
    let by_key = |k: &str| {
        figures
            .iter()
            .find(|f| f["ours"]["key"] == k)
            .unwrap()
            .clone()
    };
    let growth = by_key("competitor_follower_growth");
    assert!(growth["ours"]["value"].is_null());
    assert!(growth["rank"]["value"].is_null());
    assert_eq!(growth["rank"]["key"], "peer_rank");
    assert!(
        growth["rank"]["note"]
            .as_str()
            .unwrap()
            .contains("captures")
    );
    assert!(growth["peer_median"]["value"].is_null());
    let per_post = by_key("competitor_engagement_per_post");
    assert!(per_post["peer_median"]["value"].as_f64().unwrap() > 0.0);
    assert_eq!(
        per_post["peer_median"]["key"],
        "competitor_engagement_per_post"
    );
    let defined: Vec<&str> = report["definitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["key"].as_str())
        .collect();
    assert!(defined.contains(&"peer_rank"), "{defined:?}");
    let none = env
        .app
        .get_json(&format!("/api/v1/accounts/{ig}/report?days=7"))
        .await;
    assert!(
        none["peer_benchmark"].is_null(),
        "{}",
        none["peer_benchmark"]
    );

    let app = &env.app;
    let csv = |id: String| async move {
        let res = app
            .get(&format!("/api/v1/accounts/{id}/report?days=7&format=csv"))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.text().await.unwrap()
    };
    let with = csv(fb.clone()).await;
    assert_eq!(
        with.lines()
            .filter(|l| l.starts_with("peer_benchmark,rank,,peer_rank,"))
            .count(),
        5,
        "{with}"
    );
    assert!(with.contains("peer_benchmark,peer_median,,competitor_engagement_per_post,"));
    assert!(!csv(ig.clone()).await.contains("peer_benchmark"));

    let page = browser.page(&format!("/accounts/{fb}")).await;
    assert!(page.contains("<h2>Peer benchmark</h2>"));
    assert!(page.contains("among the 2 competitor(s)"));
    assert!(
        !browser
            .page(&format!("/accounts/{ig}"))
            .await
            .contains("Peer benchmark")
    );
    let res = env
        .app
        .get(&format!("/api/v1/accounts/{fb}/report?days=7&format=html"))
        .await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("<h2>Peer benchmark</h2>")
    );

    let id = failed["id"].as_i64().unwrap();
    let res = env.app.delete(&format!("/api/v1/competitors/{id}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = env.app.delete(&format!("/api/v1/competitors/{id}")).await;
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
}
