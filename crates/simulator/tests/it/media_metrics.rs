//! Metric availability per version, date, media product type and login kind.

use chrono::TimeZone;
use serde_json::Value;
use simulator::{ApiVersion, InsightsTruth, LoginKind};

use crate::{account, assert_graph_error, config, get, media_ok, start, truth};

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[tokio::test]
async fn impressions_on_v22_fails_with_metas_exact_error() {
    let server = start(config(41, 2, 200)).await;
    let a = account(&server, LoginKind::Instagram);
    let t = truth(&server, &a);
    let recent = &media_ok(&t, "FEED", "IMAGE")[0];
    let r = get(
        &server,
        &format!(
            "/v22.0/{recent}/insights?metric=impressions,reach&access_token={}",
            a.access_token
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    let e = r.error();
    assert_eq!(
        keys(e),
        ["code", "fbtrace_id", "is_transient", "message", "type"]
    );
    assert_eq!(
        e["message"],
        "(#100) Starting from version 22 and above, the impressions metric is no longer supported. Please refer to the documentation at https://developers.facebook.com/docs/instagram-api/reference/ig-media/insights for a list of supported metrics."
    );
    assert_eq!(e["type"], "OAuthException");
    assert_eq!(e["code"], 100);
    assert_eq!(e["is_transient"], false);
    assert_eq!(
        r.header("x-fb-trace-id").unwrap(),
        e["fbtrace_id"].as_str().unwrap()
    );

    let r = get(
        &server,
        &format!(
            "/v25.0/{recent}/insights?metric=video_views&access_token={}",
            a.access_token
        ),
    )
    .await;
    assert_eq!(
        r.error()["message"],
        "(#100) Starting from version 21+, the following metric is no longer supported: video_views. Instead, please refer to the documentation at https://developers.facebook.com/docs/instagram-api/reference/ig-media/insights for a list of supported metrics."
    );
}

#[tokio::test]
async fn v21_serves_impressions_for_old_media_before_and_after_april_2025() {
    let mut c = config(42, 2, 400);
    c.now = chrono::Utc.with_ymd_and_hms(2025, 4, 10, 12, 0, 0).unwrap();
    let server = start(c).await;
    let a = account(&server, LoginKind::Instagram);
    let t = server.ground_truth(&a.ig_user_id, ApiVersion::V21).unwrap();
    let cutoff = chrono::Utc
        .with_ymd_and_hms(2024, 7, 2, 0, 0, 0)
        .unwrap()
        .timestamp();
    let created = |id: &str| {
        let m = t.media.iter().find(|m| m.id == id).unwrap();
        chrono::DateTime::parse_from_str(&m.timestamp, "%Y-%m-%dT%H:%M:%S%z")
            .unwrap()
            .timestamp()
    };
    let images = media_ok(&t, "FEED", "IMAGE");
    let old = images
        .iter()
        .find(|id| created(id) < cutoff)
        .unwrap()
        .clone();
    let recent = images
        .iter()
        .find(|id| created(id) >= cutoff)
        .unwrap()
        .clone();
    // The ground truth of v21 includes impressions for FEED media.
    let InsightsTruth::Values { values, .. } =
        &t.media.iter().find(|m| m.id == old).unwrap().insights
    else {
        panic!("old post has values")
    };
    assert!(values.contains_key("impressions"));

    let r = get(
        &server,
        &format!(
            "/v21.0/{old}/insights?metric=impressions,reach&access_token={}",
            a.access_token
        ),
    )
    .await;
    let data = r.ok()["data"].as_array().unwrap();
    let impressions = data[0]["values"][0]["value"].as_u64().unwrap();
    let reach = data[1]["values"][0]["value"].as_u64().unwrap();
    assert_eq!(data[0]["name"], "impressions");
    assert!(impressions >= reach);
    assert_eq!(Some(impressions), values["impressions"].as_u64());
    // Before 21 Apr 2025 v21 serves it for recent media too; v22 never does.
    let r = get(
        &server,
        &format!(
            "/v21.0/{recent}/insights?metric=impressions&access_token={}",
            a.access_token
        ),
    )
    .await;
    r.ok();
    let r = get(
        &server,
        &format!(
            "/v22.0/{old}/insights?metric=impressions&access_token={}",
            a.access_token
        ),
    )
    .await;
    assert_graph_error(&r, 100);
    // v23 did not exist yet.
    let r = get(
        &server,
        &format!(
            "/v23.0/{old}/insights?metric=reach&access_token={}",
            a.access_token
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.error()["message"].as_str().unwrap().contains("v23.0"));

    // After 21 Apr 2025: only media created on or before 1 Jul 2024 keep impressions on v21.
    server.advance_clock(chrono::Duration::days(15));
    let r = get(
        &server,
        &format!(
            "/v21.0/{old}/insights?metric=impressions&access_token={}",
            a.access_token
        ),
    )
    .await;
    r.ok();
    let r = get(
        &server,
        &format!(
            "/v21.0/{recent}/insights?metric=impressions&access_token={}",
            a.access_token
        ),
    )
    .await;
    let e = assert_graph_error(&r, 100);
    assert!(e["message"].as_str().unwrap().contains("July 2, 2024"));
    let reels = media_ok(&t, "REELS", "VIDEO");
    let r = get(
        &server,
        &format!(
            "/v21.0/{}/insights?metric=plays&access_token={}",
            reels[0], a.access_token
        ),
    )
    .await;
    assert_graph_error(&r, 100);
}

#[tokio::test]
async fn metrics_must_suit_the_media_product_type() {
    let server = start(config(43, 2, 300)).await;
    let a = account(&server, LoginKind::Instagram);
    let t = truth(&server, &a);
    let image = &media_ok(&t, "FEED", "IMAGE")[0];
    let reel = &media_ok(&t, "REELS", "VIDEO")[0];
    let r = get(
        &server,
        &format!(
            "/v25.0/{reel}/insights?metric=reach,profile_visits&access_token={}",
            a.access_token
        ),
    )
    .await;
    assert_eq!(
        r.error()["message"],
        "(#100) The Media Insights API does not support the profile_visits metric for this media product type."
    );
    let r = get(
        &server,
        &format!(
            "/v25.0/{image}/insights?metric=ig_reels_avg_watch_time&access_token={}",
            a.access_token
        ),
    )
    .await;
    assert_graph_error(&r, 100);
    let r = get(
        &server,
        &format!("/v25.0/{reel}/insights?metric=reach,views,ig_reels_avg_watch_time,reels_skip_rate,total_interactions,likes,comments,saved,shares&access_token={}", a.access_token),
    )
    .await;
    let data = r.ok()["data"].as_array().unwrap();
    let v = |i: usize| data[i]["values"][0]["value"].as_u64().unwrap_or(0);
    assert!(v(0) <= v(1), "reach <= views");
    assert!(data[3]["values"][0]["value"].is_number());
    assert_eq!(
        v(4),
        v(5) + v(6) + v(7) + v(8),
        "total_interactions = likes+comments+saved+shares"
    );

    // Unknown names list the accepted ones.
    let r = get(
        &server,
        &format!(
            "/v25.0/{image}/insights?metric=reach,bogus&access_token={}",
            a.access_token
        ),
    )
    .await;
    let msg = r.error()["message"].as_str().unwrap().to_owned();
    assert!(
        msg.starts_with("(#100) metric[1] must be one of the following values: "),
        "{msg}"
    );
    assert!(
        msg.contains("views") && !msg.contains("impressions"),
        "{msg}"
    );

    // profile_activity breaks down by action type.
    let r = get(
        &server,
        &format!(
            "/v25.0/{image}/insights?metric=profile_activity&breakdown=action_type&access_token={}",
            a.access_token
        ),
    )
    .await;
    let tv = &r.ok()["data"][0]["total_value"];
    let total = tv["value"].as_u64().unwrap();
    let sum: u64 = tv["breakdowns"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["value"].as_u64().unwrap())
        .sum();
    assert_eq!(total, sum);
    assert_eq!(tv["breakdowns"][0]["dimension_keys"][0], "action_type");
    // A breakdown a metric does not support: "An unknown error has occurred."
    let r = get(
        &server,
        &format!(
            "/v25.0/{image}/insights?metric=reach&breakdown=action_type&access_token={}",
            a.access_token
        ),
    )
    .await;
    assert_eq!(
        assert_graph_error(&r, 1)["message"],
        "An unknown error has occurred."
    );
}

#[tokio::test]
async fn album_children_have_no_insights() {
    let server = start(config(44, 2, 200)).await;
    let a = account(&server, LoginKind::Instagram);
    let t = truth(&server, &a);
    let album = t
        .media
        .iter()
        .find(|m| m.media_type == "CAROUSEL_ALBUM")
        .unwrap();
    let child = &album.children[0];
    let r = get(
        &server,
        &format!(
            "/v25.0/{child}/insights?metric=reach&access_token={}",
            a.access_token
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    let e = assert_graph_error(&r, 100);
    assert!(e["message"].as_str().unwrap().contains("album"));
    // The album itself has insights, and its children edge lists the items.
    let r = get(
        &server,
        &format!(
            "/v25.0/{}/insights?metric=reach&access_token={}",
            album.id, a.access_token
        ),
    )
    .await;
    r.ok();
    let r = get(
        &server,
        &format!(
            "/v25.0/{}/children?fields=id,media_type&access_token={}",
            album.id, a.access_token
        ),
    )
    .await;
    let kids: Vec<&str> = r.data_texts("id");
    assert_eq!(
        kids,
        album
            .children
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn facebook_login_only_metrics_and_withdrawn_metrics() {
    let server = start(config(45, 2, 100)).await;
    let ig = account(&server, LoginKind::Instagram);
    let fb = account(&server, LoginKind::Facebook);
    let ig_post = &media_ok(&truth(&server, &ig), "FEED", "IMAGE")[0];
    let fb_t = truth(&server, &fb);
    let fb_post = media_ok(&fb_t, "FEED", "IMAGE")[0].clone();
    let r = get(
        &server,
        &format!(
            "/v25.0/{ig_post}/insights?metric=total_likes&access_token={}",
            ig.access_token
        ),
    )
    .await;
    assert_graph_error(&r, 100);
    let r = get(
        &server,
        &format!(
            "/v25.0/{fb_post}/insights?metric=total_likes,likes&access_token={}",
            fb.access_token
        ),
    )
    .await;
    let d = r.ok()["data"].as_array().unwrap();
    assert!(d[0]["values"][0]["value"].as_u64() >= d[1]["values"][0]["value"].as_u64());

    // A metric removed between two syncs.
    let r = get(
        &server,
        &format!(
            "/v25.0/{fb_post}/insights?metric=reach,saved&access_token={}",
            fb.access_token
        ),
    )
    .await;
    r.ok();
    server.remove_metric("saved");
    let r = get(
        &server,
        &format!(
            "/v25.0/{fb_post}/insights?metric=reach,saved&access_token={}",
            fb.access_token
        ),
    )
    .await;
    let e = assert_graph_error(&r, 100);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("saved metric is no longer supported")
    );
    let after = truth(&server, &fb);
    let m = after.media.iter().find(|m| m.id == fb_post).unwrap();
    let InsightsTruth::Values { values, .. } = &m.insights else {
        panic!("values")
    };
    assert!(!values.contains_key("saved") && values.contains_key("reach"));
}
