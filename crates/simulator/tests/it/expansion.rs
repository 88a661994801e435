//! Field expansion: `children{...}`, `insights.metric(...)` on the media edge, edges as
//! fields of the user, and the whole-page failures Meta documents.

use simulator::LoginKind;

use crate::{
    account, assert_graph_error, config, converted_account, get, media_with_error, start, truth,
};

#[tokio::test]
async fn media_edge_expands_children_and_insights() {
    let server = start(config(11, 3, 200)).await;
    // Account 1 converted before its history: no pre-conversion posts.
    let a = account(&server, LoginKind::Instagram);
    let r = get(
        &server,
        &format!(
            "/v25.0/{}/media?fields=id,media_type,media_product_type,children{{id,media_type}},insights.metric(reach,saved)&limit=50&access_token={}",
            a.ig_user_id, a.access_token
        ),
    )
    .await;
    let data = r.ok()["data"].as_array().unwrap();
    let mut carousels = 0;
    for item in data {
        let kind = item["media_type"].as_str().unwrap();
        if kind == "CAROUSEL_ALBUM" {
            carousels += 1;
            let kids = item["children"]["data"].as_array().unwrap();
            assert!((2..=10).contains(&kids.len()));
            for k in kids {
                assert!(matches!(
                    k["media_type"].as_str().unwrap(),
                    "IMAGE" | "VIDEO"
                ));
                assert!(k["id"].is_string());
            }
        } else {
            assert!(item.get("children").is_none());
        }
        let names: Vec<&str> = item["insights"]["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["reach", "saved"]);
        let reach = &item["insights"]["data"][0];
        assert_eq!(reach["period"], "lifetime");
        assert!(reach["values"][0]["value"].is_u64());
        assert_eq!(
            reach["id"],
            format!("{}/insights/reach/lifetime", item["id"].as_str().unwrap())
        );
    }
    assert!(carousels > 0, "a page of 50 has carousels");
}

#[tokio::test]
async fn user_node_expands_its_edges() {
    let server = start(config(12, 2, 100)).await;
    let a = account(&server, LoginKind::Facebook);
    let r = get(
        &server,
        &format!(
            "/v25.0/{}?fields=username,followers_count,media_count,media.limit(3){{id,timestamp,like_count}},stories{{id}}&access_token={}",
            a.ig_user_id, a.access_token
        ),
    )
    .await;
    let b = r.ok();
    assert_eq!(b["username"], a.username.as_str());
    assert_eq!(b["media_count"], a.media_count);
    let media = b["media"]["data"].as_array().unwrap();
    assert_eq!(media.len(), 3);
    assert!(media[0]["like_count"].is_u64());
    let next = b["media"]["paging"]["next"].as_str().unwrap();
    assert!(next.contains("/media?"), "{next}");
    assert!(b["stories"]["data"].as_array().unwrap().len() >= 2);
}

#[tokio::test]
async fn an_unsupported_metric_for_one_item_fails_the_whole_page() {
    let server = start(config(13, 3, 120)).await;
    let a = account(&server, LoginKind::Instagram);
    // `replies` is a story metric: any post on the page makes the request fail.
    let r = get(
        &server,
        &format!(
            "/v25.0/{}/media?fields=id,insights.metric(reach,replies)&access_token={}",
            a.ig_user_id, a.access_token
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    let e = assert_graph_error(&r, 100);
    assert_eq!(
        e["message"],
        "(#100) The Media Insights API does not support the replies metric for this media product type."
    );
}

#[tokio::test]
async fn a_pre_conversion_post_in_the_page_fails_the_whole_page() {
    let server = start(config(14, 3, 300)).await;
    let a = converted_account(&server);
    let t = truth(&server, &a);
    let old = media_with_error(&t, 2108006);
    assert!(!old.is_empty());
    let ts = t
        .media
        .iter()
        .find(|m| m.id == old[0])
        .unwrap()
        .timestamp
        .clone();
    let until = chrono::DateTime::parse_from_str(&ts, "%Y-%m-%dT%H:%M:%S%z")
        .unwrap()
        .timestamp()
        + 1;
    let r = get(
        &server,
        &format!(
            "/v25.0/{}/media?fields=id,insights.metric(reach)&until={until}&limit=5&access_token={}",
            a.ig_user_id, a.access_token
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    let e = assert_graph_error(&r, 100);
    assert_eq!(e["error_subcode"], 2108006);
    assert_eq!(
        e["error_user_title"],
        "Media Posted Before Business Account Conversion"
    );
    // Without insights the same page lists fine.
    let r = get(
        &server,
        &format!(
            "/v25.0/{}/media?fields=id&until={until}&limit=5&access_token={}",
            a.ig_user_id, a.access_token
        ),
    )
    .await;
    assert_eq!(r.ok()["data"][0]["id"], old[0].as_str());
}
