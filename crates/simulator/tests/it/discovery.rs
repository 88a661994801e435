//! Business Discovery of the world's public accounts: nested media paging, counters that
//! move with simulated time and equal the truth, Meta's refusals, and the calling account's
//! budget.

use chrono::Duration;
use serde_json::Value;
use simulator::{CompetitorKind, CompetitorTruth, LoginKind, SimAccount, SimServer};

use crate::{account, assert_graph_error, config, get, get_url, start, urlencode};

const FIELDS: &str = "username,name,followers_count,follows_count,media_count";
const MEDIA: &str =
    "id,timestamp,media_type,media_product_type,like_count,comments_count,permalink";

async fn discover(
    server: &SimServer,
    via: &SimAccount,
    username: &str,
    media: &str,
) -> crate::Resp {
    let field = format!("business_discovery.username({username}){{{FIELDS},{media}{{{MEDIA}}}}}");
    get(
        server,
        &format!(
            "/v25.0/{}?fields={}&access_token={}",
            via.ig_user_id,
            urlencode(&field),
            via.access_token
        ),
    )
    .await
}

fn by_kind(server: &SimServer, kind: CompetitorKind) -> CompetitorTruth {
    server
        .competitors()
        .into_iter()
        .find(|c| c.kind == kind)
        .unwrap()
}

/// Reads every page of a competitor's media through the `next` links.
async fn all_media(first: &Value) -> Vec<Value> {
    let mut out: Vec<Value> = first["data"].as_array().unwrap().clone();
    let mut next = first["paging"]["next"].as_str().map(str::to_owned);
    while let Some(url) = next {
        let r = get_url(&url).await;
        let page = &r.ok()["business_discovery"]["media"];
        out.extend(page["data"].as_array().unwrap().iter().cloned());
        next = page["paging"]["next"].as_str().map(str::to_owned);
    }
    out
}

fn assert_equals_truth(d: &Value, media: &[Value], t: &CompetitorTruth) {
    assert_eq!(d["username"], t.username.as_str());
    assert_eq!(d["followers_count"].as_u64(), t.followers_count);
    assert_eq!(d["follows_count"].as_u64(), t.follows_count);
    assert_eq!(d["media_count"].as_u64(), t.media_count);
    assert_eq!(media.len(), t.media.len());
    for (got, want) in media.iter().zip(&t.media) {
        assert_eq!(got["id"], want.id.as_str());
        assert_eq!(got["like_count"].as_u64(), Some(want.like_count));
        assert_eq!(got["comments_count"].as_u64(), Some(want.comments_count));
        assert_eq!(got["media_product_type"], want.media_product_type.as_str());
        assert_eq!(got["permalink"], want.permalink.as_str());
    }
}

#[tokio::test]
async fn competitors_page_their_media_and_move_with_time() {
    let server = start(config(401, 2, 10)).await;
    let via = account(&server, LoginKind::Facebook);
    let t0 = by_kind(&server, CompetitorKind::Business);
    assert!(t0.media.len() > 30, "{} posts", t0.media.len());
    let r = discover(&server, &via, &t0.username, "media.limit(25)").await;
    let d = r.ok()["business_discovery"].clone();
    assert_eq!(d["media"]["data"].as_array().unwrap().len(), 25);
    assert!(d["media"]["paging"]["cursors"]["after"].is_string());
    let media = all_media(&d["media"]).await;
    assert_equals_truth(&d, &media, &t0);

    // Ten days later the counters moved and new posts appeared; the read equals the truth.
    server.advance_clock(Duration::days(10));
    let t1 = server.competitor_truth(&t0.username).unwrap();
    assert_ne!(t1.followers_count, t0.followers_count);
    assert!(t1.media_count > t0.media_count);
    let old = t1.media.iter().find(|m| m.id == t0.media[0].id).unwrap();
    assert!(old.like_count >= t0.media[0].like_count);
    let r = discover(&server, &via, &t0.username, "media.limit(50)").await;
    let d = r.ok()["business_discovery"].clone();
    let media = all_media(&d["media"]).await;
    assert_equals_truth(&d, &media, &t1);

    // An explicit after cursor continues after the first page.
    let first = discover(&server, &via, &t0.username, "media.limit(3)").await;
    let after = first.ok()["business_discovery"]["media"]["paging"]["cursors"]["after"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = discover(
        &server,
        &via,
        &t0.username,
        &format!("media.after({after}).limit(3)"),
    )
    .await;
    let page = r.ok()["business_discovery"]["media"]["data"].clone();
    assert_eq!(page[0]["id"], t1.media[3].id.as_str());
    let r = discover(
        &server,
        &via,
        &t0.username,
        "media.after(QVFIbogus).limit(3)",
    )
    .await;
    assert_graph_error(&r, 100);
}

#[tokio::test]
async fn refusals_are_the_ones_meta_gives() {
    let server = start(config(402, 2, 10)).await;
    let via = account(&server, LoginKind::Facebook);
    for username in [
        "nobody_here_at_all".to_owned(),
        by_kind(&server, CompetitorKind::Personal).username,
    ] {
        let r = discover(&server, &via, &username, "media.limit(5)").await;
        let e = assert_graph_error(&r, 110);
        assert_eq!(e["error_subcode"], 2_207_013);
        assert_eq!(e["error_user_title"], "Cannot find User");
    }
    // Age-gated: found, but no data about it is returned.
    let gated = by_kind(&server, CompetitorKind::Restricted);
    assert_eq!(gated.followers_count, None);
    let r = discover(&server, &via, &gated.username, "media.limit(5)").await;
    let d = &r.ok()["business_discovery"];
    assert_eq!(d.as_object().unwrap().len(), 1, "{d}");
    assert_eq!(d["id"], gated.ig_user_id.as_str());

    // Instagram Login has no Business Discovery, with or without the API's edges.
    let ig = account(&server, LoginKind::Instagram);
    let biz = by_kind(&server, CompetitorKind::Business);
    let r = discover(&server, &ig, &biz.username, "media.limit(5)").await;
    assert_eq!(
        assert_graph_error(&r, 100)["message"],
        "(#100) Tried accessing nonexisting field (business_discovery) on node type (IGUser)"
    );
}

#[tokio::test]
async fn reads_count_against_the_calling_account() {
    let server = start(config(403, 2, 10)).await;
    let via = account(&server, LoginKind::Facebook);
    let biz = by_kind(&server, CompetitorKind::Creator);
    server.reset_stats();
    for _ in 0..3 {
        discover(&server, &via, &biz.username, "media.limit(5)")
            .await
            .ok();
    }
    let s = server.stats();
    assert_eq!(s.rate_limit_units_by_account.get(&via.ig_user_id), Some(&3));
    assert_eq!(
        s.by_endpoint
            .get("GET /{ig-user-id}?fields=business_discovery"),
        Some(&3)
    );
}
