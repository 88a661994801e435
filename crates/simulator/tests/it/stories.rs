//! Stories: live for 24 h, insights only while live, too few viewers → (#10).

use simulator::{InsightsTruth, LoginKind};

use crate::{account, assert_graph_error, config, get, start, truth};

#[tokio::test]
async fn stories_expire_and_few_viewers_fail_with_code_10() {
    let server = start(config(51, 2, 50)).await;
    let a = account(&server, LoginKind::Facebook);
    let t = truth(&server, &a);
    assert!(t.stories.len() >= 2);
    let listed = get(
        &server,
        &format!(
            "/v25.0/{}/stories?fields=id,media_type,media_product_type,timestamp&access_token={}",
            a.ig_user_id, a.access_token
        ),
    )
    .await;
    let data = listed.ok()["data"].as_array().unwrap().clone();
    let ids: Vec<&str> = data.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        t.stories.iter().map(|s| s.id.as_str()).collect::<Vec<_>>()
    );
    assert!(data.iter().all(|s| s["media_product_type"] == "STORY"));

    let tiny = t
        .stories
        .iter()
        .find(|s| matches!(s.insights, InsightsTruth::Error { code: 10, .. }))
        .expect("a story with too few viewers");
    let r = get(
        &server,
        &format!(
            "/v25.0/{}/insights?metric=reach,views&access_token={}",
            tiny.id, a.access_token
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        assert_graph_error(&r, 10)["message"],
        "(#10) Not enough viewers for the media to show insights"
    );

    let fine = t
        .stories
        .iter()
        .find(|s| matches!(s.insights, InsightsTruth::Values { .. }))
        .expect("a story with insights");
    let r = get(
        &server,
        &format!(
            "/v25.0/{}/insights?metric=reach,replies,navigation&access_token={}",
            fine.id, a.access_token
        ),
    )
    .await;
    let d = r.ok()["data"].as_array().unwrap();
    assert!(d[0]["values"][0]["value"].as_u64().unwrap() >= 5);
    assert!(d[2].get("total_value").is_none());
    // A breakdown applies to every metric of the request: navigation alone.
    let r = get(
        &server,
        &format!("/v25.0/{}/insights?metric=reach,navigation&breakdown=story_navigation_action_type&access_token={}", fine.id, a.access_token),
    )
    .await;
    assert_graph_error(&r, 1);
    let r = get(
        &server,
        &format!("/v25.0/{}/insights?metric=navigation&breakdown=story_navigation_action_type&access_token={}", fine.id, a.access_token),
    )
    .await;
    let d = r.ok()["data"].as_array().unwrap();
    let dims: Vec<&str> = d[0]["total_value"]["breakdowns"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["dimension_values"][0].as_str().unwrap())
        .collect();
    assert!(dims.contains(&"tap_forward") && dims.contains(&"tap_exit"));
    // Feed metrics are not story metrics.
    let r = get(
        &server,
        &format!(
            "/v25.0/{}/insights?metric=likes&access_token={}",
            fine.id, a.access_token
        ),
    )
    .await;
    assert_graph_error(&r, 100);

    // A day later those stories are gone from /stories and their insights are unavailable.
    server.advance_clock(chrono::Duration::hours(25));
    let listed = get(
        &server,
        &format!(
            "/v25.0/{}/stories?access_token={}",
            a.ig_user_id, a.access_token
        ),
    )
    .await;
    let now_ids: Vec<String> = listed.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(t.stories.iter().all(|s| !now_ids.contains(&s.id)));
    let r = get(
        &server,
        &format!(
            "/v25.0/{}/insights?metric=reach&access_token={}",
            fine.id, a.access_token
        ),
    )
    .await;
    let e = assert_graph_error(&r, 100);
    assert!(e["message"].as_str().unwrap().contains("24 hours"));
    // The media object itself is still readable.
    let r = get(
        &server,
        &format!(
            "/v25.0/{}?fields=id,media_type&access_token={}",
            fine.id, a.access_token
        ),
    )
    .await;
    assert_eq!(r.ok()["id"], fine.id.as_str());
}
