//! Malformed requests get Graph-style error JSON, never a panic or an HTML page.

use simulator::LoginKind;

use crate::{account, assert_graph_error, client, config, get, start};

#[tokio::test]
async fn bad_paths_versions_fields_and_params() {
    let server = start(config(131, 2, 20)).await;
    let a = account(&server, LoginKind::Facebook);
    let t = &a.access_token;
    let id = &a.ig_user_id;

    let r = get(
        &server,
        &format!("/v25.0/{id}/media/extra/parts?access_token={t}"),
    )
    .await;
    assert_eq!(
        assert_graph_error(&r, 2500)["message"],
        format!("Unknown path components: /v25.0/{id}/media/extra/parts")
    );
    for v in ["v20.0", "v99.0", "v2x"] {
        let r = get(&server, &format!("/{v}/me?access_token={t}")).await;
        assert_eq!(r.status, 400);
        assert!(r.error()["message"].as_str().unwrap().contains(v));
    }
    let r = get(
        &server,
        &format!("/v25.0/{id}?fields=id,children{{id&access_token={t}"),
    )
    .await;
    assert!(
        assert_graph_error(&r, 2500)["message"]
            .as_str()
            .unwrap()
            .starts_with("Syntax error")
    );
    let r = get(
        &server,
        &format!("/v25.0/{id}?fields=id,likes_count&access_token={t}"),
    )
    .await;
    assert_eq!(
        assert_graph_error(&r, 100)["message"],
        "(#100) Tried accessing nonexisting field (likes_count) on node type (IGUser)"
    );
    let r = get(&server, &format!("/v25.0/{id}/tags?access_token={t}")).await;
    assert_graph_error(&r, 100);
    let r = get(
        &server,
        &format!("/v25.0/{id}/media?limit=ten&access_token={t}"),
    )
    .await;
    assert_graph_error(&r, 100);
    let r = get(
        &server,
        &format!("/v25.0/{id}/insights?metric=reach&period=day&since=yesterday&access_token={t}"),
    )
    .await;
    assert_graph_error(&r, 100);
    let r = get(
        &server,
        &format!("/v25.0/{id}/insights?period=day&access_token={t}"),
    )
    .await;
    assert_graph_error(&r, 100);
    let r = get(
        &server,
        &format!("/v25.0/99999999999999999999999?access_token={t}"),
    )
    .await;
    assert_eq!(assert_graph_error(&r, 100)["error_subcode"], 33);
    let r = get(
        &server,
        &format!("/v25.0/%ZZ%00?fields=%zz&access_token={t}"),
    )
    .await;
    assert!(r.status.is_client_error());
    let r = get(&server, &format!("/v25.0/?ids=,,,&access_token={t}")).await;
    assert_graph_error(&r, 100);
    let r = get(
        &server,
        &format!("/v25.0/{id}/media?fields=view_count&access_token={t}"),
    )
    .await;
    assert_graph_error(&r, 36104);

    // Control endpoints refuse absurd clock moves instead of overflowing.
    let r = client()
        .post(format!("{}/__sim/clock", server.url()))
        .header("content-type", "application/json")
        .body(format!("{{\"advance_secs\": {}}}", i64::MAX))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Writes are not supported.
    let r = client()
        .post(format!("{}/v25.0/{id}?access_token={t}", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Unsupported post request.")
    );
    let r = client()
        .delete(format!("{}/v25.0/{id}?access_token={t}", server.url()))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["error_subcode"], 33);
}

#[tokio::test]
async fn expired_versions_are_served_by_the_oldest_available() {
    let mut c = config(132, 2, 10);
    c.now = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2027, 2, 1, 0, 0, 0).unwrap();
    let server = start(c).await;
    let a = account(&server, LoginKind::Instagram);
    let r = get(
        &server,
        &format!("/v21.0/me?access_token={}", a.access_token),
    )
    .await;
    r.ok();
    assert_eq!(r.header("facebook-api-version").unwrap(), "v22.0");
}
