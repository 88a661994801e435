//! Multi-ID reads: object-level errors inside the entry, request-level errors for all.

use simulator::LoginKind;

use crate::{
    account, assert_graph_error, config, converted_account, get, media_ok, media_with_error, start,
    truth,
};

#[tokio::test]
async fn per_id_errors_sit_next_to_successes() {
    let server = start(config(21, 3, 400)).await;
    let a = converted_account(&server);
    let t = truth(&server, &a);
    let ok = media_ok(&t, "FEED", "IMAGE");
    let old = media_with_error(&t, 2108006);
    assert!(ok.len() >= 2 && !old.is_empty());
    // A deleted post answers subcode 33 inside its entry.
    let deleted = ok[2].clone();
    assert!(server.delete_media(&deleted));
    let ids = format!("{},{},{},{}", ok[0], ok[1], old[0], deleted);
    server.reset_stats();
    let r = get(
        &server,
        &format!(
            "/v25.0/?ids={ids}&fields=id,like_count,insights.metric(reach,likes)&access_token={}",
            a.access_token
        ),
    )
    .await;
    let b = r.ok();
    for id in &ok[..2] {
        assert_eq!(b[id]["id"], id.as_str());
        assert_eq!(b[id]["insights"]["data"][0]["name"], "reach");
    }
    let e = &b[&old[0]]["error"];
    assert_eq!(e["code"], 100);
    assert_eq!(e["error_subcode"], 2108006);
    assert_eq!(e["message"], "Invalid parameter");
    let d = &b[&deleted]["error"];
    assert_eq!(d["code"], 100);
    assert_eq!(d["error_subcode"], 33);
    assert_eq!(d["type"], "GraphMethodException");
    // Each id counts one call.
    let stats = server.stats();
    assert_eq!(stats.rate_limit_units_total, 4);
    assert_eq!(stats.errors_by_code.get("100"), Some(&2));

    // The edge form answers the same way.
    let r = get(
        &server,
        &format!(
            "/v25.0/insights?ids={},{}&metric=reach,saved&access_token={}",
            ok[0], old[0], a.access_token
        ),
    )
    .await;
    let b = r.ok();
    assert_eq!(b[&ok[0]]["data"][1]["name"], "saved");
    assert_eq!(b[&old[0]]["error"]["error_subcode"], 2108006);
}

#[tokio::test]
async fn request_level_problems_fail_every_id() {
    let server = start(config(22, 2, 200)).await;
    let a = account(&server, LoginKind::Instagram);
    let t = truth(&server, &a);
    let feed = media_ok(&t, "FEED", "IMAGE");
    let reels = media_ok(&t, "REELS", "VIDEO");
    // A feed-only metric on a reel fails the whole request.
    let r = get(
        &server,
        &format!(
            "/v25.0/insights?ids={},{}&metric=reach,profile_visits&access_token={}",
            feed[0], reels[0], a.access_token
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    let e = assert_graph_error(&r, 100);
    assert!(e["message"].as_str().unwrap().contains("profile_visits"));
    // An unknown field fails too.
    let r = get(
        &server,
        &format!(
            "/v25.0/?ids={}&fields=id,bogus&access_token={}",
            feed[0], a.access_token
        ),
    )
    .await;
    let e = assert_graph_error(&r, 100);
    assert_eq!(
        e["message"],
        "(#100) Tried accessing nonexisting field (bogus) on node type (IGMedia)"
    );
    // At most 50 ids.
    let many: Vec<String> = (0..51).map(|i| format!("1790000000000{i:04}")).collect();
    let r = get(
        &server,
        &format!(
            "/v25.0/?ids={}&access_token={}",
            many.join(","),
            a.access_token
        ),
    )
    .await;
    let e = assert_graph_error(&r, 100);
    assert!(e["message"].as_str().unwrap().contains("Maximum: 50"));
    // Another account's media is invisible (subcode 33 in its entry).
    let other = account(&server, LoginKind::Facebook);
    let r = get(
        &server,
        &format!(
            "/v25.0/?ids={}&access_token={}",
            feed[0], other.access_token
        ),
    )
    .await;
    assert_eq!(r.ok()[&feed[0]]["error"]["error_subcode"], 33);
}
