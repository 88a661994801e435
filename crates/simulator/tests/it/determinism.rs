//! Same seed and clock ⇒ same world and same bodies; another seed ⇒ another world.

use serde_json::Value;

use crate::{config, get, start};

async fn bodies(server: &simulator::SimServer) -> Vec<Value> {
    let mut out = Vec::new();
    for a in server.accounts() {
        let t = &a.access_token;
        let id = &a.ig_user_id;
        let now = server.now().timestamp();
        for q in [
            format!(
                "/v25.0/{id}?fields=id,username,name,followers_count,media_count,biography&access_token={t}"
            ),
            format!(
                "/v25.0/{id}/media?fields=id,caption,media_type,timestamp,like_count,permalink&limit=40&access_token={t}"
            ),
            format!("/v25.0/{id}/stories?fields=id,timestamp&access_token={t}"),
            format!(
                "/v25.0/{id}/insights?metric=reach&period=day&since={}&until={now}&access_token={t}",
                now - 20 * 86_400
            ),
            format!(
                "/v25.0/{id}/insights?metric=follower_demographics&period=lifetime&metric_type=total_value&breakdown=country&access_token={t}"
            ),
        ] {
            let mut r = get(server, &q).await;
            // Paging links carry the server's port.
            if let Some(p) = r.body.get_mut("paging") {
                *p = Value::Null;
            }
            out.push(r.body);
        }
        let r = get(
            server,
            &format!("/v25.0/{id}/media?limit=3&fields=id&access_token={t}"),
        )
        .await;
        out.push(r.body["paging"]["cursors"].clone());
    }
    out
}

#[tokio::test]
async fn same_seed_same_bodies() {
    let s1 = start(config(111, 4, 150)).await;
    let s2 = start(config(111, 4, 150)).await;
    assert_eq!(s1.accounts(), s2.accounts());
    assert_eq!(bodies(&s1).await, bodies(&s2).await);
    // Trace ids follow the request sequence too.
    let a = &s1.accounts()[0];
    let r1 = get(
        &s1,
        &format!("/v25.0/bogus?access_token={}", a.access_token),
    )
    .await;
    let r2 = get(
        &s2,
        &format!("/v25.0/bogus?access_token={}", a.access_token),
    )
    .await;
    assert_eq!(r1.body, r2.body);

    let s3 = start(config(112, 4, 150)).await;
    assert_ne!(s1.accounts(), s3.accounts());
}
