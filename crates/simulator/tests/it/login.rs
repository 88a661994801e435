//! Login flows on the simulator's one base URL: Facebook Login for Business (dialog, code
//! exchange, long-lived exchange, `/me/accounts`, `/me/permissions`, `debug_token`,
//! `auth_type=rerequest`) and Business Login for Instagram (authorize, api.instagram.com
//! code exchange, `ig_exchange_token`, refresh, `/me`), with the world's login users.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::Value;
use simulator::{LoginAuto, LoginKind, SimServer};

use crate::{assert_graph_error, config, get, post_form, start, urlencode};

const REDIRECT: &str = "http://127.0.0.1:9/connect/callback";

/// A client that does not follow redirects, like a test driving a browser step by step.
fn browser() -> reqwest::Client {
    let _ = crate::client();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
}

/// `GET` a dialog; returns the status, the `Location` and the body.
async fn open(server: &SimServer, path_and_query: &str) -> (StatusCode, Option<String>, String) {
    let r = browser()
        .get(format!("{}{path_and_query}", server.url()))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let loc = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, loc, r.text().await.unwrap())
}

/// Submits a consent form.
async fn submit(server: &SimServer, path: &str, form: &[(&str, &str)]) -> Option<String> {
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let r = browser()
        .post(format!("{}{path}", server.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
}

/// The query parameters of a redirect, and its fragment.
fn redirect_params(location: &str) -> (BTreeMap<String, String>, String) {
    let (url, fragment) = location.split_once('#').unwrap_or((location, ""));
    assert!(url.starts_with(REDIRECT), "{location}");
    let query = url.split_once('?').map_or("", |x| x.1);
    let params = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), decode(v)))
        .collect();
    (params, fragment.to_owned())
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else if b[i] == b'+' {
            out.push(b' ');
            i += 1;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn fb_dialog(server: &SimServer, scope: &str, extra: &str) -> String {
    format!(
        "/v25.0/dialog/oauth?client_id={}&redirect_uri={}&state=st-42&scope={}{extra}",
        server.app_id(),
        urlencode(REDIRECT),
        urlencode(scope)
    )
}

async fn fb_code_exchange(server: &SimServer, code: &str, redirect: &str) -> crate::Resp {
    get(
        server,
        &format!(
            "/v25.0/oauth/access_token?client_id={}&client_secret={}&redirect_uri={}&code={}",
            server.app_id(),
            server.app_secret(),
            urlencode(redirect),
            urlencode(code)
        ),
    )
    .await
}

const FB_SCOPES: &str =
    "instagram_basic,instagram_manage_insights,pages_show_list,pages_read_engagement";

#[tokio::test]
async fn facebook_login_from_consent_page_to_pages_and_tokens() {
    let server = start(config(401, 8, 30)).await;
    let users = server.login_users();
    let user = users
        .iter()
        .find(|u| u.login == LoginKind::Facebook)
        .unwrap()
        .clone();
    assert_eq!(user.ig_user_ids.len(), 3, "{user:?}");
    assert_eq!(user.pages.len(), 4);
    assert_eq!(user.pages[3].ig_user_id, None);

    // The consent page: who logs in, a checkbox per scope, Continue and Cancel.
    let (status, loc, html) = open(&server, &fb_dialog(&server, FB_SCOPES, "")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(loc, None);
    for scope in FB_SCOPES.split(',') {
        assert!(
            html.contains(&format!("name=\"grant\" value=\"{scope}\" checked")),
            "{scope}: {html}"
        );
    }
    assert!(html.contains("value=\"continue\">Continue</button>"));
    assert!(html.contains("value=\"cancel\">Cancel</button>"));
    assert!(html.contains(&user.name));

    // The user unticks instagram_manage_insights and continues.
    let path = "/v25.0/dialog/oauth";
    let app_id = server.app_id();
    let form = [
        ("client_id", app_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("state", "st-42"),
        ("scope", FB_SCOPES),
        ("grant", "instagram_basic"),
        ("grant", "pages_show_list"),
        ("grant", "pages_read_engagement"),
        ("action", "continue"),
    ];
    let location = submit(&server, path, &form).await.unwrap();
    let (params, fragment) = redirect_params(&location);
    assert_eq!(params["state"], "st-42");
    assert_eq!(fragment, "_=_");
    let code = params["code"].clone();

    // The code buys a short-lived user token, once.
    let r = fb_code_exchange(&server, &code, REDIRECT).await;
    let b = r.ok();
    assert_eq!(b["token_type"], "bearer");
    let ttl = b["expires_in"].as_i64().unwrap();
    assert!((3600..=7200).contains(&ttl), "{ttl}");
    let short = b["access_token"].as_str().unwrap().to_owned();
    let again = fb_code_exchange(&server, &code, REDIRECT).await;
    let e = assert_graph_error(&again, 100);
    assert_eq!(e["error_subcode"], 36009);
    assert_eq!(e["message"], "This authorization code has been used.");

    // Long-lived exchange keeps the user and the permissions.
    let r = get(
        &server,
        &format!(
            "/v25.0/oauth/access_token?grant_type=fb_exchange_token&client_id={}&client_secret={}&fb_exchange_token={short}",
            server.app_id(),
            server.app_secret()
        ),
    )
    .await;
    let b = r.ok();
    assert_eq!(b["expires_in"], 60 * 86_400);
    let token = b["access_token"].as_str().unwrap().to_owned();

    // Pages with their tokens and Instagram accounts, one Page without.
    let r = get(
        &server,
        &format!(
            "/v25.0/me/accounts?fields=name,access_token,instagram_business_account{{id,username}}&access_token={token}"
        ),
    )
    .await;
    let pages = r.ok()["data"].as_array().unwrap().clone();
    assert_eq!(pages.len(), 4);
    for (p, want) in pages.iter().zip(&user.pages) {
        assert_eq!(p["name"], want.name.as_str());
        assert!(p["access_token"].as_str().unwrap().starts_with("EAAP"));
        match &want.ig_user_id {
            Some(ig) => assert_eq!(p["instagram_business_account"]["id"], ig.as_str()),
            None => assert!(p.get("instagram_business_account").is_none(), "{p}"),
        }
    }
    let bare_token = pages[3]["access_token"].as_str().unwrap().to_owned();
    let r = get(
        &server,
        &format!("/v25.0/me?fields=id,name,instagram_business_account&access_token={bare_token}"),
    )
    .await;
    assert_eq!(r.ok()["id"], user.pages[3].id.as_str());
    assert!(r.body.get("instagram_business_account").is_none());

    // Granted and declined scopes.
    let r = get(
        &server,
        &format!("/v25.0/me/permissions?access_token={token}"),
    )
    .await;
    let perms: BTreeMap<String, String> = r.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["permission"].as_str().unwrap().to_owned(),
                p["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(perms["instagram_basic"], "granted");
    assert_eq!(perms["public_profile"], "granted");
    assert_eq!(perms["instagram_manage_insights"], "declined");
    let r = get(
        &server,
        &format!(
            "/v25.0/debug_token?input_token={token}&access_token={}|{}",
            server.app_id(),
            server.app_secret()
        ),
    )
    .await;
    let d = &r.ok()["data"];
    assert_eq!(d["user_id"], user.id.as_str());
    assert_eq!(d["is_valid"], true);
    let scopes: Vec<&str> = d["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(scopes.contains(&"instagram_basic"));
    assert!(!scopes.contains(&"instagram_manage_insights"));

    // The token reads exactly the user's accounts; insights need the declined scope.
    for ig in &user.ig_user_ids {
        let r = get(
            &server,
            &format!("/v25.0/{ig}?fields=id,username&access_token={token}"),
        )
        .await;
        assert_eq!(r.ok()["id"], ig.as_str());
        let r = get(
            &server,
            &format!("/v25.0/{ig}/insights?metric=reach&period=day&access_token={token}"),
        )
        .await;
        assert_eq!(
            assert_graph_error(&r, 10)["message"],
            "(#10) Application does not have permission for this action"
        );
    }
    let stranger = server
        .accounts()
        .into_iter()
        .find(|a| !user.ig_user_ids.contains(&a.ig_user_id))
        .unwrap();
    let r = get(
        &server,
        &format!(
            "/v25.0/{}?fields=id&access_token={token}",
            stranger.ig_user_id
        ),
    )
    .await;
    assert_eq!(assert_graph_error(&r, 100)["error_subcode"], 33);
}

#[tokio::test]
async fn facebook_codes_check_the_redirect_the_app_and_expire() {
    let server = start(config(402, 4, 10)).await;
    let code = |loc: String| redirect_params(&loc).0["code"].clone();
    let (_, loc, _) = open(&server, &fb_dialog(&server, FB_SCOPES, "&sim_auto=consent")).await;
    let c1 = code(loc.unwrap());
    let r = fb_code_exchange(&server, &c1, "http://127.0.0.1:9/elsewhere").await;
    let e = assert_graph_error(&r, 100);
    assert_eq!(e["error_subcode"], 36008);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("redirect_uri is identical to the one you used in the OAuth dialog")
    );
    let r = get(
        &server,
        &format!(
            "/v25.0/oauth/access_token?client_id={}&client_secret=wrong&redirect_uri={}&code={c1}",
            server.app_id(),
            urlencode(REDIRECT)
        ),
    )
    .await;
    assert_eq!(
        assert_graph_error(&r, 1)["message"],
        "Error validating client secret."
    );
    let r = get(
        &server,
        &format!(
            "/v25.0/oauth/access_token?client_id=999&client_secret={}&redirect_uri={}&code={c1}",
            server.app_secret(),
            urlencode(REDIRECT)
        ),
    )
    .await;
    assert_graph_error(&r, 101);
    let r = fb_code_exchange(&server, "AQnotacode", REDIRECT).await;
    assert_graph_error(&r, 100);

    // Ten minutes later a code is worthless.
    let (_, loc, _) = open(&server, &fb_dialog(&server, FB_SCOPES, "&sim_auto=consent")).await;
    let c2 = code(loc.unwrap());
    server.advance_clock(chrono::Duration::minutes(11));
    let r = fb_code_exchange(&server, &c2, REDIRECT).await;
    let e = assert_graph_error(&r, 100);
    assert_eq!(e["error_subcode"], 36007);

    // A dialog of another app is refused.
    let (status, loc, html) = open(
        &server,
        &format!(
            "/v25.0/dialog/oauth?client_id=42&redirect_uri={}&scope=instagram_basic",
            urlencode(REDIRECT)
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(loc, None);
    assert!(html.contains("Invalid App ID"));
}

#[tokio::test]
async fn cancel_declined_scopes_and_rerequest() {
    let server = start(config(403, 4, 10)).await;
    // Cancel: Meta's access_denied redirect.
    let (status, loc, _) = open(&server, &fb_dialog(&server, FB_SCOPES, "&sim_auto=cancel")).await;
    assert_eq!(status, StatusCode::FOUND);
    let (params, _) = redirect_params(&loc.unwrap());
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["error_reason"], "user_denied");
    assert_eq!(params["error_description"], "Permissions error.");
    assert_eq!(params["state"], "st-42");
    assert!(!params.contains_key("code"));

    let remote = server.clone_url();
    let code_of = |loc: Option<String>| redirect_params(&loc.unwrap()).0["code"].clone();
    // Decline insights, then log in again: the declined scope is not asked again...
    let (_, loc, _) = open(
        &server,
        &fb_dialog(
            &server,
            FB_SCOPES,
            "&sim_auto=consent&sim_decline=instagram_manage_insights",
        ),
    )
    .await;
    let perms = get_url_token(&remote, &code_of(loc)).await;
    assert_eq!(perms["instagram_manage_insights"], "declined");
    let (_, _, html) = open(&server, &fb_dialog(&server, FB_SCOPES, "")).await;
    assert!(
        !html.contains("value=\"instagram_manage_insights\""),
        "{html}"
    );
    assert!(html.contains("Declined before and not asked again: instagram_manage_insights"));
    let (_, loc, _) = open(&server, &fb_dialog(&server, FB_SCOPES, "&sim_auto=consent")).await;
    let perms = get_url_token(&remote, &code_of(loc)).await;
    assert_eq!(perms["instagram_manage_insights"], "declined");
    // ...unless the app asks to rerequest it.
    let (_, loc, _) = open(
        &server,
        &fb_dialog(&server, FB_SCOPES, "&auth_type=rerequest&sim_auto=consent"),
    )
    .await;
    let perms = get_url_token(&remote, &code_of(loc)).await;
    assert_eq!(perms["instagram_manage_insights"], "granted");
}

/// The base URL and credentials of a simulator, for use inside futures.
#[derive(Clone)]
struct Remote {
    url: String,
    app_id: String,
    app_secret: String,
}

trait CloneUrl {
    fn clone_url(&self) -> Remote;
}

impl CloneUrl for SimServer {
    fn clone_url(&self) -> Remote {
        Remote {
            url: self.url(),
            app_id: self.app_id(),
            app_secret: self.app_secret(),
        }
    }
}

/// Exchanges a code and returns the token's permissions by status.
async fn get_url_token(s: &Remote, code: &str) -> BTreeMap<String, String> {
    let r = crate::get_url(&format!(
        "{}/v25.0/oauth/access_token?client_id={}&client_secret={}&redirect_uri={}&code={}",
        s.url,
        s.app_id,
        s.app_secret,
        urlencode(REDIRECT),
        urlencode(code)
    ))
    .await;
    let token = r.ok()["access_token"].as_str().unwrap().to_owned();
    let r = crate::get_url(&format!(
        "{}/v25.0/me/permissions?access_token={token}",
        s.url
    ))
    .await;
    r.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["permission"].as_str().unwrap().to_owned(),
                p["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn ig_dialog(server: &SimServer, extra: &str) -> String {
    format!(
        "/oauth/authorize?client_id={}&redirect_uri={}&response_type=code&scope=instagram_business_basic,instagram_business_manage_insights&state=ig-7{extra}",
        server.app_id(),
        urlencode(REDIRECT)
    )
}

#[tokio::test]
async fn instagram_login_from_authorize_to_refresh() {
    let server = start(config(404, 4, 20)).await;
    let user = server
        .login_users()
        .into_iter()
        .find(|u| u.login == LoginKind::Instagram)
        .unwrap();
    // The consent page names the account.
    let (status, _, html) = open(&server, &ig_dialog(&server, "")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("@{}", user.name)));
    assert!(html.contains("value=\"instagram_business_manage_insights\" checked"));

    let (_, loc, _) = open(&server, &ig_dialog(&server, "&sim_auto=consent")).await;
    let loc = loc.unwrap();
    let (params, fragment) = redirect_params(&loc);
    assert_eq!(fragment, "_");
    assert_eq!(params["state"], "ig-7");
    let code = params["code"].clone();

    // api.instagram.com: form body, `data` list, that host's error shape.
    let app_id = server.app_id();
    let secret = server.app_secret();
    let form = [
        ("client_id", app_id.as_str()),
        ("client_secret", secret.as_str()),
        ("grant_type", "authorization_code"),
        ("redirect_uri", REDIRECT),
        ("code", code.as_str()),
    ];
    let r = post_form(&server, "/oauth/access_token", &form).await;
    let d = &r.ok()["data"][0];
    assert_eq!(d["user_id"], user.id.as_str());
    assert_eq!(
        d["permissions"],
        "instagram_business_basic,instagram_business_manage_insights"
    );
    let short = d["access_token"].as_str().unwrap().to_owned();
    let r = post_form(&server, "/oauth/access_token", &form).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        serde_json::json!({
            "error_type": "OAuthException",
            "code": 400,
            "error_message": "This authorization code has been used",
        })
    );

    // Short-lived → long-lived (graph.instagram.com).
    let r = get(
        &server,
        &format!(
            "/access_token?grant_type=ig_exchange_token&client_secret={secret}&access_token={short}"
        ),
    )
    .await;
    let b = r.ok();
    assert_eq!(b["token_type"], "bearer");
    assert_eq!(b["expires_in"], 60 * 86_400);
    let long = b["access_token"].as_str().unwrap().to_owned();
    let r = get(
        &server,
        &format!("/v25.0/me?fields=user_id,username&access_token={long}"),
    )
    .await;
    let me = r.ok();
    assert_eq!(me["user_id"], user.ig_user_ids[0].as_str());
    assert_eq!(me["username"], user.name.as_str());
    // A long-lived token is not exchanged again.
    let r = get(
        &server,
        &format!(
            "/access_token?grant_type=ig_exchange_token&client_secret={secret}&access_token={long}"
        ),
    )
    .await;
    assert_graph_error(&r, 100);

    // Refresh once the token is a day old; the new one keeps working.
    let refresh =
        |t: &str| format!("/refresh_access_token?grant_type=ig_refresh_token&access_token={t}");
    assert_graph_error(&get(&server, &refresh(&long)).await, 100);
    server.advance_clock(chrono::Duration::hours(25));
    let r = get(&server, &refresh(&long)).await;
    let fresh = r.ok()["access_token"].as_str().unwrap().to_owned();
    assert_ne!(fresh, long);
    let r = get(
        &server,
        &format!(
            "/v25.0/{}/insights?metric=reach&period=day&access_token={fresh}",
            user.ig_user_ids[0]
        ),
    )
    .await;
    r.ok();
}

#[tokio::test]
async fn scripts_consent_without_a_browser() {
    let mut c = config(406, 12, 10);
    c.login_auto = Some(LoginAuto {
        cancel: false,
        decline: vec!["pages_read_engagement".into()],
        user: None,
    });
    let server = start(c).await;
    let second = server
        .login_users()
        .into_iter()
        .filter(|u| u.login == LoginKind::Facebook)
        .nth(1)
        .expect("a second Facebook login user");
    // The program under test builds a plain dialog URL: the simulator consents at once.
    let (status, loc, _) = open(&server, &fb_dialog(&server, FB_SCOPES, "")).await;
    assert_eq!(status, StatusCode::FOUND);
    let perms = get_url_token(
        &server.clone_url(),
        &redirect_params(&loc.unwrap()).0["code"],
    )
    .await;
    assert_eq!(perms["pages_read_engagement"], "declined");
    assert_eq!(perms["instagram_basic"], "granted");

    // Another user, picked by id, owns one account.
    server.set_login_auto(Some(LoginAuto {
        user: Some(second.id.clone()),
        ..LoginAuto::default()
    }));
    let (_, loc, _) = open(&server, &fb_dialog(&server, FB_SCOPES, "")).await;
    let code = redirect_params(&loc.unwrap()).0["code"].clone();
    let r = fb_code_exchange(&server, &code, REDIRECT).await;
    let token = r.ok()["access_token"].as_str().unwrap().to_owned();
    let r = get(&server, &format!("/v25.0/me/accounts?access_token={token}")).await;
    let data = r.ok()["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["id"], second.pages[0].id.as_str());
    let r = get(&server, &format!("/v25.0/me?access_token={token}")).await;
    assert_eq!(r.ok()["id"], second.id.as_str());

    // The control endpoints say the same.
    let http = crate::client();
    let users: Value = http
        .get(format!("{}/__sim/login-users", server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users["app_id"], server.app_id().as_str());
    assert_eq!(
        users["users"].as_array().unwrap().len(),
        server.login_users().len()
    );
    let r = http
        .post(format!("{}/__sim/login-auto", server.url()))
        .json(&serde_json::json!({ "mode": "off" }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let (status, _, _) = open(&server, &fb_dialog(&server, FB_SCOPES, "")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_new_login_hands_out_a_working_page_token_after_the_old_one_was_invalidated() {
    let mut c = config(407, 8, 4);
    c.login_auto = Some(LoginAuto::default());
    let server = start(c).await;
    let pages_of = |token: String| {
        let server = &server;
        async move {
            let r = get(
                server,
                &format!("/v25.0/me/accounts?fields=name,access_token,instagram_business_account{{id,username}}&access_token={token}"),
            )
            .await;
            r.ok()["data"].as_array().unwrap().clone()
        }
    };
    let login = || async {
        let (_, loc, _) = open(&server, &fb_dialog(&server, FB_SCOPES, "")).await;
        let code = redirect_params(&loc.unwrap()).0["code"].clone();
        let r = fb_code_exchange(&server, &code, REDIRECT).await;
        r.ok()["access_token"].as_str().unwrap().to_owned()
    };
    let first = pages_of(login().await).await;
    let ig = first[0]["instagram_business_account"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let old = first[0]["access_token"].as_str().unwrap().to_owned();
    let profile = |token: String| {
        let (server, ig) = (&server, ig.clone());
        async move {
            get(
                server,
                &format!("/v25.0/{ig}?fields=id&access_token={token}"),
            )
            .await
        }
    };
    assert_eq!(profile(old.clone()).await.ok()["id"], ig.as_str());

    server.expire_token(&ig);
    assert_graph_error(&profile(old.clone()).await, 190);
    // The same Page token again while it works; a fresh one once it was invalidated.
    let again = pages_of(login().await).await;
    let new = again[0]["access_token"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(new.starts_with("EAAP"));
    assert_eq!(profile(new.clone()).await.ok()["id"], ig.as_str());
    let still = pages_of(login().await).await;
    assert_eq!(
        still[0]["access_token"],
        new.as_str(),
        "kept while it works"
    );
}
