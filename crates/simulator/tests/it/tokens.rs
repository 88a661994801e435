//! Tokens: expiry (190/463), invalid tokens (190/467), refresh for both login kinds,
//! `/debug_token`, account discovery through `/me` and `/me/accounts`.

use simulator::LoginKind;

use crate::{account, assert_graph_error, config, get, start};

#[tokio::test]
async fn expired_and_invalid_tokens() {
    let server = start(config(81, 2, 20)).await;
    let a = account(&server, LoginKind::Facebook);
    let r = get(
        &server,
        &format!(
            "/v25.0/{}?fields=id&access_token={}",
            a.ig_user_id, a.access_token
        ),
    )
    .await;
    r.ok();
    server.expire_token(&a.ig_user_id);
    let r = get(
        &server,
        &format!(
            "/v25.0/{}?fields=id&access_token={}",
            a.ig_user_id, a.access_token
        ),
    )
    .await;
    let e = assert_graph_error(&r, 190);
    assert_eq!(e["error_subcode"], 463);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("Error validating access token: Session has expired on ")
    );
    assert!(r.header("www-authenticate").is_some());

    let r = get(
        &server,
        &format!("/v25.0/{}?access_token=EAAGnotatoken", a.ig_user_id),
    )
    .await;
    assert_eq!(assert_graph_error(&r, 190)["error_subcode"], 467);
    let r = get(&server, &format!("/v25.0/{}", a.ig_user_id)).await;
    assert_graph_error(&r, 104);
}

#[tokio::test]
async fn tokens_of_expiring_accounts_run_out_with_the_clock() {
    let mut c = config(82, 3, 10);
    c.expiring_token_accounts = 1;
    let server = start(c).await;
    let a = server.accounts().remove(0);
    let left = a.token_expires_at - server.now();
    assert!(
        left > chrono::Duration::zero() && left < chrono::Duration::days(3),
        "{left}"
    );
    let others = &server.accounts()[1..];
    assert!(
        others
            .iter()
            .all(|o| o.token_expires_at - server.now() > chrono::Duration::days(30))
    );
    server.advance_clock(chrono::Duration::days(3));
    let r = get(
        &server,
        &format!("/v25.0/me?access_token={}", a.access_token),
    )
    .await;
    assert_eq!(assert_graph_error(&r, 190)["error_subcode"], 463);
    // An expired Facebook token cannot be exchanged.
    let r = get(
        &server,
        &format!("/v25.0/oauth/access_token?grant_type=fb_exchange_token&client_id=1&client_secret=s&fb_exchange_token={}", a.access_token),
    )
    .await;
    assert_graph_error(&r, 190);
}

#[tokio::test]
async fn facebook_login_exchange_and_discovery() {
    let server = start(config(83, 2, 10)).await;
    let a = account(&server, LoginKind::Facebook);
    let r = get(
        &server,
        &format!(
            "/v25.0/me/accounts?fields=id,name,instagram_business_account&access_token={}",
            a.access_token
        ),
    )
    .await;
    let page = &r.ok()["data"][0];
    assert_eq!(page["id"], a.page_id.clone().unwrap().as_str());
    assert_eq!(
        page["instagram_business_account"]["id"],
        a.ig_user_id.as_str()
    );

    let r = get(
        &server,
        &format!("/v25.0/oauth/access_token?grant_type=fb_exchange_token&client_id=123&client_secret=shh&fb_exchange_token={}", a.access_token),
    )
    .await;
    let b = r.ok();
    assert_eq!(b["token_type"], "bearer");
    assert_eq!(b["expires_in"], 60 * 86_400);
    let new_token = b["access_token"].as_str().unwrap().to_owned();
    assert_ne!(new_token, a.access_token);
    assert_eq!(
        account(&server, LoginKind::Facebook).access_token,
        new_token
    );
    let r = get(
        &server,
        &format!(
            "/v25.0/{}?fields=username&access_token={new_token}",
            a.ig_user_id
        ),
    )
    .await;
    assert_eq!(r.ok()["username"], a.username.as_str());
    let r = get(
        &server,
        &format!(
            "/v25.0/oauth/access_token?grant_type=fb_exchange_token&fb_exchange_token={new_token}"
        ),
    )
    .await;
    assert_graph_error(&r, 100);

    // debug_token with an app token.
    let r = get(
        &server,
        &format!("/v25.0/debug_token?input_token={new_token}&access_token=123|secret"),
    )
    .await;
    let d = &r.ok()["data"];
    assert_eq!(d["is_valid"], true);
    assert_eq!(d["type"], "USER");
    assert_eq!(
        d["expires_at"].as_i64().unwrap(),
        server.now().timestamp() + 60 * 86_400
    );
    assert!(
        d["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "instagram_manage_insights")
    );
    server.expire_token(&a.ig_user_id);
    let r = get(
        &server,
        &format!("/v25.0/debug_token?input_token={new_token}&access_token=123|secret"),
    )
    .await;
    let d = &r.ok()["data"];
    assert_eq!(d["is_valid"], false);
    assert_eq!(d["error"]["subcode"], 463);
    let r = get(
        &server,
        "/v25.0/debug_token?input_token=garbage&access_token=123|secret",
    )
    .await;
    assert_eq!(r.ok()["data"]["is_valid"], false);
}

#[tokio::test]
async fn instagram_login_refresh_needs_a_day_old_token() {
    let server = start(config(84, 2, 10)).await;
    let a = account(&server, LoginKind::Instagram);
    let r = get(
        &server,
        &format!(
            "/me?fields=user_id,username,account_type&access_token={}",
            a.access_token
        ),
    )
    .await;
    let me = r.ok();
    assert_eq!(me["user_id"], a.ig_user_id.as_str());
    assert!(matches!(
        me["account_type"].as_str().unwrap(),
        "BUSINESS" | "MEDIA_CREATOR"
    ));
    let r = get(&server, &format!("/me?access_token={}", a.access_token)).await;
    assert_eq!(r.ok()["id"], a.me_id.as_str());
    assert_eq!(r.header("facebook-api-version").unwrap(), "v25.0");
    // /me/accounts is a Facebook Login edge.
    let r = get(
        &server,
        &format!("/v25.0/me/accounts?access_token={}", a.access_token),
    )
    .await;
    assert_graph_error(&r, 100);

    let r = get(
        &server,
        &format!(
            "/refresh_access_token?grant_type=ig_refresh_token&access_token={}",
            a.access_token
        ),
    )
    .await;
    let fresh = r.ok()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(r.body["expires_in"], 60 * 86_400);
    // The new token is not 24 h old yet.
    let r = get(
        &server,
        &format!("/refresh_access_token?grant_type=ig_refresh_token&access_token={fresh}"),
    )
    .await;
    assert!(
        assert_graph_error(&r, 100)["message"]
            .as_str()
            .unwrap()
            .contains("24 hours")
    );
    server.advance_clock(chrono::Duration::hours(25));
    let r = get(
        &server,
        &format!("/v25.0/refresh_access_token?grant_type=ig_refresh_token&access_token={fresh}"),
    )
    .await;
    r.ok();
    // appsecret_proof is accepted when well-formed.
    let proof = "a".repeat(64);
    let r = get(
        &server,
        &format!("/v25.0/me?appsecret_proof={proof}&access_token={fresh}"),
    )
    .await;
    r.ok();
    let r = get(
        &server,
        &format!("/v25.0/me?appsecret_proof=xyz&access_token={fresh}"),
    )
    .await;
    assert_graph_error(&r, 100);
}
