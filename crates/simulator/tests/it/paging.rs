//! Cursor pagination of `/{ig-user-id}/media` over more than a thousand posts.

use std::collections::HashSet;

use simulator::LoginKind;

use crate::{account, assert_graph_error, config, get, get_url, start};

#[tokio::test]
async fn pages_through_every_post_newest_first() {
    let server = start(config(7, 2, 2400)).await;
    let a = server
        .accounts()
        .into_iter()
        .max_by_key(|a| a.media_count)
        .unwrap();
    assert!(a.media_count >= 1000, "{}", a.media_count);

    // Default page size is 25.
    let first = get(
        &server,
        &format!(
            "/v25.0/{}/media?access_token={}",
            a.ig_user_id, a.access_token
        ),
    )
    .await;
    assert_eq!(first.ok()["data"].as_array().unwrap().len(), 25);
    assert!(first.body["paging"]["cursors"]["after"].is_string());
    assert!(first.body["paging"].get("previous").is_none());

    // A limit above 100 is capped.
    let big = get(
        &server,
        &format!(
            "/v25.0/{}/media?limit=500&access_token={}",
            a.ig_user_id, a.access_token
        ),
    )
    .await;
    assert_eq!(big.ok()["data"].as_array().unwrap().len(), 100);

    let mut url = format!(
        "{}/v25.0/{}/media?fields=id,timestamp&limit=100&access_token={}",
        server.url(),
        a.ig_user_id,
        a.access_token
    );
    let mut ids = Vec::new();
    let mut stamps = Vec::new();
    let mut pages = 0;
    loop {
        let r = get_url(&url).await;
        let body = r.ok();
        pages += 1;
        for item in body["data"].as_array().unwrap() {
            ids.push(item["id"].as_str().unwrap().to_owned());
            stamps.push(item["timestamp"].as_str().unwrap().to_owned());
        }
        match body["paging"].get("next").and_then(|n| n.as_str()) {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(ids.len() as u64, a.media_count);
    assert_eq!(pages as u64, a.media_count.div_ceil(100));
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "no duplicates"
    );
    assert!(
        stamps.iter().all(|s| s.ends_with("+0000") && s.len() == 24),
        "{}",
        stamps[0]
    );
    let parsed: Vec<_> = stamps
        .iter()
        .map(|s| chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z").unwrap())
        .collect();
    assert!(parsed.windows(2).all(|w| w[0] >= w[1]), "newest first");
}

#[tokio::test]
async fn previous_links_lead_back_and_bad_cursors_are_rejected() {
    let server = start(config(8, 2, 300)).await;
    let a = account(&server, LoginKind::Instagram);
    let p1 = get(
        &server,
        &format!(
            "/v25.0/{}/media?limit=10&access_token={}",
            a.ig_user_id, a.access_token
        ),
    )
    .await;
    let next = p1.ok()["paging"]["next"].as_str().unwrap().to_owned();
    let p2 = get_url(&next).await;
    let prev = p2.ok()["paging"]["previous"].as_str().unwrap().to_owned();
    assert!(p2.body["paging"]["cursors"]["before"].is_string());
    let back = get_url(&prev).await;
    assert_eq!(back.ok()["data"], p1.body["data"]);
    assert_ne!(p2.body["data"], p1.body["data"]);

    let bad = get(
        &server,
        &format!(
            "/v25.0/{}/media?after=QVFIbogus&access_token={}",
            a.ig_user_id, a.access_token
        ),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_graph_error(&bad, 100);

    let zero = get(
        &server,
        &format!(
            "/v25.0/{}/media?limit=0&access_token={}",
            a.ig_user_id, a.access_token
        ),
    )
    .await;
    assert_graph_error(&zero, 100);
}

#[tokio::test]
async fn since_and_until_filter_the_media_edge() {
    let server = start(config(9, 1, 400)).await;
    let a = server.accounts().remove(0);
    let now = server.now().timestamp();
    let since = now - 30 * 86_400;
    let r = get(
        &server,
        &format!(
            "/v25.0/{}/media?fields=timestamp&limit=100&since={since}&access_token={}",
            a.ig_user_id, a.access_token
        ),
    )
    .await;
    let data = r.ok()["data"].as_array().unwrap().clone();
    assert!(!data.is_empty());
    for item in &data {
        let t = chrono::DateTime::parse_from_str(
            item["timestamp"].as_str().unwrap(),
            "%Y-%m-%dT%H:%M:%S%z",
        )
        .unwrap();
        assert!(t.timestamp() >= since);
    }
}
