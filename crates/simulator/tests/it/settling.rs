//! Numbers grow with post age and are final after 48 h; young numbers move with the clock.

use serde_json::Value;
use simulator::LoginKind;

use crate::{account, config, get, start, truth};

async fn snapshot(server: &simulator::SimServer, token: &str, id: &str) -> Value {
    let r = get(
        server,
        &format!("/v25.0/{id}?fields=like_count,comments_count,insights.metric(reach,views,likes,saved,shares)&access_token={token}"),
    )
    .await;
    r.ok().clone()
}

#[tokio::test]
async fn young_numbers_change_and_settled_ones_do_not() {
    let server = start(config(61, 2, 300)).await;
    let a = account(&server, LoginKind::Instagram);
    let t = truth(&server, &a);
    let newest = t.media[0].id.clone();
    let settled = t.media[20].id.clone();
    let young0 = snapshot(&server, &a.access_token, &newest).await;
    let old0 = snapshot(&server, &a.access_token, &settled).await;

    server.advance_clock(chrono::Duration::hours(6));
    let young1 = snapshot(&server, &a.access_token, &newest).await;
    let old1 = snapshot(&server, &a.access_token, &settled).await;
    assert_ne!(young0, young1, "a post younger than 48 h keeps moving");
    assert_eq!(old0, old1, "an old post is settled");
    let reach = |v: &Value| {
        v["insights"]["data"][0]["values"][0]["value"]
            .as_u64()
            .unwrap()
    };
    assert!(reach(&young1) >= reach(&young0));

    // Past 48 h the young post settles too.
    server.advance_clock(chrono::Duration::hours(48));
    let young2 = snapshot(&server, &a.access_token, &newest).await;
    server.advance_clock(chrono::Duration::hours(30));
    let young3 = snapshot(&server, &a.access_token, &newest).await;
    assert_eq!(young2, young3);
    assert!(reach(&young2) >= reach(&young1));
}

#[tokio::test]
async fn scheduled_posts_appear_as_the_clock_advances() {
    let server = start(config(62, 1, 730)).await;
    let a = server.accounts().remove(0);
    let before = a.media_count;
    server.advance_clock(chrono::Duration::days(5));
    let after = server.accounts().remove(0).media_count;
    assert!(after > before, "{before} -> {after}");
    let r = get(
        &server,
        &format!(
            "/v25.0/{}?fields=media_count&access_token={}",
            a.ig_user_id, a.access_token
        ),
    )
    .await;
    assert_eq!(r.ok()["media_count"], after);
}
