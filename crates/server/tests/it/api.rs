//! The JSON API, `/metrics`, the probes and the OpenAPI document over real HTTP.

use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::ServerSettings;
use store::{
    AccountId, ApiCallsDelta, ApiUsage, NewAlert, NewSyncRun, ScheduleDef, Severity, StepStatus,
    Store, SyncStep,
};

use crate::support::{SimApp, TestApp, assert_error, json_of, pg};

// ----- probes, headers, auth -----

#[tokio::test]
async fn healthz_needs_no_key_and_every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    for res in [
        res,
        app.client
            .get(app.url("/api/v1/accounts"))
            .send()
            .await
            .unwrap(),
        app.get("/api/v1/accounts").await,
        app.get("/no/such/route").await,
    ] {
        let h = res.headers();
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .starts_with("default-src 'self'")
        );
    }
}

#[tokio::test]
async fn api_keys_are_required_and_checked() {
    let app = TestApp::spawn().await;
    let url = app.url("/api/v1/accounts");

    // No key.
    let res = app.client.get(&url).send().await.unwrap();
    assert!(res.headers().contains_key("www-authenticate"));
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // Malformed, well-formed but wrong, wrong scheme.
    for auth in [
        "Bearer nonsense".to_owned(),
        format!("Bearer {}x", app.key.expose()),
        format!("Bearer igs_{}_{}", app.key_id, "0".repeat(64)),
        format!("Basic {}", app.key.expose()),
    ] {
        let res = app
            .client
            .get(&url)
            .header("authorization", &auth)
            .send()
            .await
            .unwrap();
        assert_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    // The good key, both ways.
    let res = app
        .client
        .get(&url)
        .bearer_auth(app.key.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .client
        .get(&url)
        .header("x-api-key", app.key.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Probes and documents are authenticated too; only /healthz is open.
    for path in [
        "/readyz",
        "/metrics",
        "/api/openapi.json",
        "/api/v1/overview",
    ] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 401, "{path} needs a key");
    }
}

#[tokio::test]
async fn revoked_keys_stop_working_and_last_use_is_recorded() {
    let app = TestApp::spawn().await;
    // A second key, created through the API; the secret is in the answer once.
    let created = json_of(
        app.send_json(Method::POST, "/api/v1/keys", &json!({"name": "ci"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with(&format!("igs_{id}_")));
    let with_second = |path: &str| app.client.get(app.url(path)).bearer_auth(&secret).send();
    assert_eq!(with_second("/api/v1/accounts").await.unwrap().status(), 200);

    // Listing never shows secrets or hashes.
    let keys = app.get_json("/api/v1/keys").await;
    let text = keys.to_string();
    assert!(!text.contains(&secret[20..]));
    assert!(!text.contains("argon2"));
    let listed = keys["keys"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    // Used once: last use recorded (in the background, at most once a minute).
    let mut used = false;
    for _ in 0..50 {
        let k = app.store.api_key_get(&id).await.unwrap().unwrap();
        if k.last_used_at.is_some() {
            used = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(used, "last_used_at is written");

    // Revoked through the API: refused at once although it was cached.
    assert_eq!(
        app.delete(&format!("/api/v1/keys/{id}")).await.status(),
        204
    );
    let res = with_second("/api/v1/accounts").await.unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_error(
        app.delete("/api/v1/keys/0000000000000000").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Revoked in the database by another process (`igsync keys revoke`) before this one
    // ever verified it: refused.
    let (third, third_secret) =
        server::auth::create_api_key(&*app.store, "other", chrono::Utc::now())
            .await
            .unwrap();
    app.store
        .api_key_revoke(&third.id, Utc::now())
        .await
        .unwrap();
    let res = app
        .client
        .get(app.url("/api/v1/accounts"))
        .bearer_auth(third_secret.expose())
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn a_revoked_key_cached_by_this_process_expires_with_the_cache() {
    let dir = crate::support::temp_dir("igsync-server-cache");
    let store = store_sqlite::SqliteStore::open(&format!("sqlite://{}", dir.join("db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let settings = ServerSettings {
        auth_cache_ttl: std::time::Duration::ZERO,
        ..ServerSettings::default()
    };
    let app = TestApp::spawn_on(std::sync::Arc::new(store), settings).await;
    assert_eq!(app.get("/api/v1/accounts").await.status(), 200);
    app.store
        .api_key_revoke(&app.key_id, Utc::now())
        .await
        .unwrap();
    assert_error(
        app.get("/api/v1/accounts").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn sessions_use_strict_http_only_cookies_and_csrf_tokens() {
    let dir = crate::support::temp_dir("igsync-server-session");
    let store = store_sqlite::SqliteStore::open(&format!("sqlite://{}", dir.join("db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let settings = ServerSettings {
        cookie_secure: true,
        ..ServerSettings::default()
    };
    let app = TestApp::spawn_on(std::sync::Arc::new(store), settings).await;
    let account = app.seed_account("17841400000000001", "cookie_jar").await;

    // Pages redirect to the sign-in form without a session.
    let res = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login");

    // A wrong key starts no session.
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[("key", "igs_0123456789abcdef_nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get("set-cookie").is_none());

    // Signing in sets a strict, HttpOnly, Secure cookie.
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[("key", app.key.expose())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("igsync_session="));
    for flag in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Secure",
        "Max-Age=",
    ] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_owned();
    let value = pair.trim_start_matches("igsync_session=");
    // Only a hash of the cookie value is stored; the CSRF token lives with it.
    assert!(app.store.session_get(value).await.unwrap().is_none());
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(value.as_bytes()));
    let session = app
        .store
        .session_get(&hash)
        .await
        .unwrap()
        .expect("session row");
    assert_eq!(session.api_key_id, app.key_id);
    let csrf = session.csrf_token;

    // The cookie authenticates pages and API reads...
    let res = app
        .client
        .get(app.url("/"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .client
        .get(app.url("/api/v1/accounts"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // ...but every write needs the CSRF token.
    let pause = app.url(&format!("/api/v1/accounts/{}/pause", account.id));
    let res = app
        .client
        .post(&pause)
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app
        .client
        .post(&pause)
        .header("cookie", &pair)
        .header("x-csrf-token", "0".repeat(64))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app
        .client
        .post(&pause)
        .header("cookie", &pair)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(res, StatusCode::OK).await["status"], "paused");
    // Dashboard forms too.
    let res = app
        .client
        .post(app.url("/logout"))
        .header("cookie", &pair)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Signing out deletes the session and clears the cookie.
    let res = app
        .client
        .post(app.url("/logout"))
        .header("cookie", &pair)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert!(app.store.session_get(&hash).await.unwrap().is_none());
    let res = app
        .client
        .get(app.url("/api/v1/accounts"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

// ----- bad requests -----

#[tokio::test]
async fn bad_requests_get_json_errors_with_the_right_status() {
    let app = TestApp::spawn().await;
    let account = app.seed_account("17841400000000002", "strict").await;
    let path = format!("/api/v1/accounts/{}", account.id);

    // 400 malformed JSON.
    let res = app
        .request(Method::PATCH, &path)
        .header("content-type", "application/json")
        .body("{\"timezone\": ")
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    // 415 not JSON.
    let res = app
        .request(Method::PATCH, &path)
        .body("timezone=UTC")
        .send()
        .await
        .unwrap();
    assert_error(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    // 422 unknown time zone, unknown field, wrong type.
    for body in [
        json!({"timezone": "Mars/Olympus_Mons"}),
        json!({"timezone": "../../etc/passwd"}),
        json!({"time_zone": "UTC"}),
        json!({"timezone": 5}),
        json!({}),
    ] {
        let res = app.send_json(Method::PATCH, &path, &body).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    }
    // 413 oversized body.
    let big = json!({"timezone": "x".repeat(100 * 1024)});
    let res = app.send_json(Method::PATCH, &path, &big).await;
    assert_error(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    // 413 also without a declared length (chunked).
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        app.key.expose()
    );
    let (status, body) = raw_chunked(&app, &head, 20, 8 * 1024).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("\"payload_too_large\""), "{body}");
    // 400 bad query, 422 bad query values.
    let res = app.get("/api/v1/jobs?account=abc").await;
    assert_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    let res = app.get("/api/v1/jobs?limit=-1").await;
    assert_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    let res = app.get("/api/v1/jobs?state=dead").await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    let res = app.get("/api/v1/jobs?limit=100000").await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    let res = app.get("/api/v1/jobs?colour=blue").await;
    assert_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    // 404 and 405.
    assert_error(
        app.get("/api/v1/nothing").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let res = app
        .request(Method::PUT, "/api/v1/accounts")
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}

#[tokio::test]
async fn unknown_ids_traversal_and_injection_are_plain_data() {
    let app = TestApp::spawn().await;
    let account = app.seed_account("17841400000000003", "bobby_tables").await;
    let job = app
        .seed_failed_job(
            "sync_profile",
            json!({"account": account.id, "name": "a1b"}),
            "boom",
        )
        .await;

    for path in [
        "/api/v1/accounts/999999".to_owned(),
        "/api/v1/accounts/..%2F..".to_owned(),
        "/api/v1/accounts/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/api/v1/accounts/1%20OR%201=1".to_owned(),
        "/api/v1/accounts/1;DROP%20TABLE%20accounts".to_owned(),
        "/api/v1/jobs/999999".to_owned(),
        "/api/v1/jobs/1'%20OR%20'1'='1".to_owned(),
        "/api/v1/runs/42".to_owned(),
        "/api/v1/schedules/x'%3B%20DROP%20TABLE%20schedules%3B--".to_owned(),
    ] {
        let res = app.get(&path).await;
        assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
    }
    let res = app
        .send_json(
            Method::PATCH,
            "/api/v1/accounts/424242",
            &json!({"timezone": "UTC"}),
        )
        .await;
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;

    // Injection strings in search match nothing and break nothing.
    // (`a_b` and `a%b` would match `a1b` if they reached SQL as patterns.)
    for search in [
        "' OR '1'='1",
        "a%b",
        "a_b",
        "%",
        "\"; DROP TABLE jobs; --",
        "\\",
        "boom' --",
    ] {
        let res = app
            .request(Method::GET, "/api/v1/jobs")
            .query(&[("search", search)])
            .send()
            .await
            .unwrap();
        let body = json_of(res, StatusCode::OK).await;
        assert_eq!(body["total"], 0, "search {search:?} matched: {body}");
    }
    // Everything is still there, and search still works.
    let body = app.get_json("/api/v1/jobs?search=BOOM").await;
    assert_eq!(body["total"], 1);
    assert_eq!(body["jobs"][0]["id"], job.get());
    assert_eq!(
        app.get_json("/api/v1/accounts").await["accounts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

// ----- accounts -----

#[tokio::test]
async fn accounts_can_be_added_listed_rezoned_paused_resumed_and_removed() {
    let app = TestApp::spawn().await;
    // Added without verification (no Graph API configured in this test).
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/accounts",
            &json!({"ig_user_id": "17841400000000010", "token": "IGQ-secret-token",
                    "verify": false, "username": "new_acct", "timezone": "Europe/Berlin"}),
        )
        .await;
    let added = json_of(res, StatusCode::CREATED).await;
    let id = AccountId::new(added["id"].as_i64().unwrap());
    assert_eq!(added["username"], "new_acct");
    assert_eq!(added["timezone"], "Europe/Berlin");
    assert_eq!(added["status"], "idle");
    assert_eq!(added["has_token"], true);
    assert!(!added.to_string().contains("IGQ-secret-token"));
    // The token is stored encrypted.
    let stored = app.store.account_get(id).await.unwrap().unwrap();
    let sealed = stored.token.unwrap().0;
    assert!(!sealed.windows(9).any(|w| w == b"IGQ-secre"));

    // Verification without a configured Graph API is a clear 503, not a crash.
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/accounts",
            &json!({"ig_user_id": "17841400000000011", "token": "t"}),
        )
        .await;
    assert_error(res, StatusCode::SERVICE_UNAVAILABLE, "not_configured").await;
    // Invalid inputs.
    for body in [
        json!({"ig_user_id": "abc", "token": "t", "verify": false}),
        json!({"ig_user_id": "1", "token": "  ", "verify": false}),
        json!({"ig_user_id": "1", "token": "t", "verify": false, "login": "myspace"}),
        json!({"ig_user_id": "1", "token": "t", "verify": false, "timezone": "Nowhere"}),
    ] {
        let res = app.send_json(Method::POST, "/api/v1/accounts", &body).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    }

    let list = app.get_json("/api/v1/accounts").await;
    assert_eq!(list["accounts"].as_array().unwrap().len(), 1);
    assert!(list["accounts"][0].get("token").is_none());

    let path = format!("/api/v1/accounts/{id}");
    let res = app
        .send_json(
            Method::PATCH,
            &path,
            &json!({"timezone": "America/New_York"}),
        )
        .await;
    assert_eq!(
        json_of(res, StatusCode::OK).await["timezone"],
        "America/New_York"
    );
    assert_eq!(
        app.store.account_get(id).await.unwrap().unwrap().timezone,
        "America/New_York"
    );

    let res = app.post(&format!("{path}/pause")).await;
    let paused = json_of(res, StatusCode::OK).await;
    assert_eq!(paused["status"], "paused");
    assert_eq!(paused["next_sync_at"], Value::Null);
    let res = app.post(&format!("{path}/resume")).await;
    assert_eq!(json_of(res, StatusCode::OK).await["status"], "idle");
    let res = app.post(&format!("{path}/resume")).await;
    assert_error(res, StatusCode::CONFLICT, "conflict").await;

    // Removal needs the confirmation.
    assert_error(
        app.delete(&path).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    let res = app
        .delete(&format!("{path}?confirm=17841400000000099"))
        .await;
    assert_error(res, StatusCode::CONFLICT, "conflict").await;
    assert!(app.store.account_get(id).await.unwrap().is_some());
    let res = app
        .delete(&format!("{path}?confirm=17841400000000010"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(app.store.account_get(id).await.unwrap().is_none());
    assert_error(app.get(&path).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn next_sync_comes_from_the_sync_schedule() {
    let app = TestApp::spawn().await;
    let account = app.seed_account("17841400000000012", "scheduled").await;
    let next = Utc::now() + Duration::hours(3);
    app.store
        .schedule_upsert(
            ScheduleDef {
                name: "full_sync".into(),
                cron: "0 0 */6 * * *".into(),
                queue: "maintenance".into(),
                kind: "sync_fan_out".into(),
                args: json!({"plan": "full"}),
            },
            next,
        )
        .await
        .unwrap();
    let view = app
        .get_json(&format!("/api/v1/accounts/{}", account.id))
        .await;
    let got: chrono::DateTime<Utc> = serde_json::from_value(view["next_sync_at"].clone()).unwrap();
    assert!((got - next).num_milliseconds().abs() < 1000);
}

// ----- queue -----

#[tokio::test]
async fn jobs_are_searchable_and_show_their_details() {
    let app = TestApp::spawn().await;
    let failed = app
        .seed_failed_job(
            "sync_media",
            json!({"account": 7, "cursor": "QVFIUk"}),
            "HTTP 500 from Graph",
        )
        .await;
    let completed = app.seed_completed_job("deliver_webhook").await;
    let pending = app.seed_job("maintenance", "retention", json!({})).await;

    let all = app.get_json("/api/v1/jobs").await;
    assert_eq!(all["total"], 3);
    assert_eq!(all["jobs"][0]["id"], pending.get(), "newest first");
    assert_eq!(all["jobs"][1]["id"], completed.get());

    let only_failed = app.get_json("/api/v1/jobs?state=failed").await;
    assert_eq!(only_failed["total"], 1);
    assert_eq!(only_failed["jobs"][0]["id"], failed.get());
    let two = app.get_json("/api/v1/jobs?state=failed,pending").await;
    assert_eq!(two["total"], 2);
    assert_eq!(
        app.get_json("/api/v1/jobs?kind=retention").await["jobs"][0]["id"],
        pending.get()
    );
    assert_eq!(
        app.get_json("/api/v1/jobs?search=QVFIUk").await["total"],
        1,
        "by argument"
    );
    assert_eq!(
        app.get_json("/api/v1/jobs?search=http%20500").await["total"],
        1,
        "by error"
    );
    assert_eq!(
        app.get_json("/api/v1/jobs?queue=instagram-sync").await["total"],
        0
    );
    let page = app.get_json("/api/v1/jobs?limit=1&offset=1").await;
    assert_eq!(page["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(page["total"], 3);

    let detail = app.get_json(&format!("/api/v1/jobs/{failed}")).await;
    assert_eq!(detail["state"], "failed");
    assert_eq!(detail["args"]["cursor"], "QVFIUk");
    assert_eq!(detail["attempt"], 1);
    assert_eq!(detail["errors"][0]["error"], "HTTP 500 from Graph");
    assert_eq!(detail["last_error"], "HTTP 500 from Graph");
    assert!(detail["timings"]["wait_ms"].is_i64());
    let done = app.get_json(&format!("/api/v1/jobs/{completed}")).await;
    assert_eq!(done["timings"]["run_ms"], 300);
    assert_eq!(done["result"]["ok"], true);
}

#[tokio::test]
async fn single_job_actions_follow_the_state_machine() {
    let app = TestApp::spawn().await;
    let failed = app.seed_failed_job("sync_media", json!({}), "boom").await;
    let completed = app.seed_completed_job("retention").await;
    let pending = app.seed_job("maintenance", "retention", json!({})).await;

    let res = app.post(&format!("/api/v1/jobs/{failed}/retry")).await;
    let retried = json_of(res, StatusCode::OK).await;
    assert_eq!(retried["state"], "pending");
    assert_eq!(retried["attempt"], 0);
    // A completed job cannot be retried or cancelled.
    let res = app.post(&format!("/api/v1/jobs/{completed}/retry")).await;
    assert_error(res, StatusCode::CONFLICT, "conflict").await;
    let res = app.post(&format!("/api/v1/jobs/{completed}/cancel")).await;
    assert_error(res, StatusCode::CONFLICT, "conflict").await;

    let res = app.post(&format!("/api/v1/jobs/{pending}/cancel")).await;
    assert_eq!(json_of(res, StatusCode::OK).await["state"], "cancelled");
    assert_eq!(
        app.delete(&format!("/api/v1/jobs/{pending}"))
            .await
            .status(),
        204
    );
    assert_error(
        app.get(&format!("/api/v1/jobs/{pending}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.post("/api/v1/jobs/999999/retry").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn bulk_actions_by_filter_and_by_ids() {
    let app = TestApp::spawn().await;
    let mut timeouts = Vec::new();
    for i in 0..3 {
        timeouts.push(
            app.seed_failed_job(
                "sync_media_insights",
                json!({"n": i}),
                "timeout after 10 min",
            )
            .await,
        );
    }
    let other = app
        .seed_failed_job("sync_profile", json!({}), "code 190: token invalid")
        .await;
    let pending = app.seed_job("maintenance", "retention", json!({})).await;

    // Retry all failed jobs matching a search: the others stay failed.
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/jobs/bulk",
            &json!({"action": "retry", "filter": {"state": "failed", "search": "timeout"}}),
        )
        .await;
    let body = json_of(res, StatusCode::OK).await;
    assert_eq!(body, json!({"action": "retry", "affected": 3}));
    for id in &timeouts {
        let job = app.store.job_get(*id).await.unwrap().unwrap();
        assert_eq!(job.state, store::JobState::Pending);
    }
    assert_eq!(
        app.store.job_get(other).await.unwrap().unwrap().state,
        store::JobState::Failed
    );

    // By ids.
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/jobs/bulk",
            &json!({"action": "cancel", "ids": [timeouts[0], pending]}),
        )
        .await;
    assert_eq!(json_of(res, StatusCode::OK).await["affected"], 2);
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/jobs/bulk",
            &json!({"action": "delete", "filter": {"state": "cancelled"}}),
        )
        .await;
    assert_eq!(json_of(res, StatusCode::OK).await["affected"], 2);
    assert_eq!(app.get_json("/api/v1/jobs").await["total"], 3);

    // A filter must restrict something; exactly one selector; known actions only.
    for body in [
        json!({"action": "delete", "filter": {}}),
        json!({"action": "delete"}),
        json!({"action": "delete", "ids": []}),
        json!({"action": "delete", "ids": [1], "filter": {"state": "failed"}}),
        json!({"action": "explode", "ids": [1]}),
        json!({"action": "retry", "filter": {"state": "zombie"}}),
    ] {
        let res = app
            .send_json(Method::POST, "/api/v1/jobs/bulk", &body)
            .await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    }
    assert_eq!(
        app.get_json("/api/v1/jobs").await["total"],
        3,
        "nothing was deleted"
    );
}

#[tokio::test]
async fn queue_snapshot_metrics_and_workers() {
    let app = TestApp::spawn().await;
    app.seed_failed_job("sync_media", json!({}), "boom").await;
    app.seed_completed_job("retention").await;
    app.seed_completed_job("retention").await;
    app.seed_job("maintenance", "retention", json!({})).await;
    let now = Utc::now();
    app.store
        .job_insert(crate::support::new_job(
            "instagram-sync",
            "sync_account",
            json!({}),
            now + Duration::hours(1),
        ))
        .await
        .unwrap();
    app.store
        .worker_heartbeat(store::WorkerInfo {
            id: "igsync-host-1-abc".into(),
            hostname: "host".into(),
            pid: 1,
            queues: vec!["instagram-sync".into(), "maintenance".into()],
            concurrency: 2,
            started_at: now,
            last_seen_at: now,
        })
        .await
        .unwrap();

    let snap = app.get_json("/api/v1/queue").await;
    assert_eq!(snap["totals"]["failed"], 1);
    assert_eq!(snap["totals"]["completed"], 2);
    assert_eq!(snap["totals"]["pending"], 2);
    assert_eq!(snap["totals"]["scheduled"], 1);
    let queues = snap["queues"].as_array().unwrap();
    let maintenance = queues.iter().find(|q| q["queue"] == "maintenance").unwrap();
    assert!(
        maintenance["oldest_due_at"].is_string(),
        "a due job waits: {snap}"
    );
    assert!(snap["age_seconds"].as_f64().unwrap() >= 0.0);

    let metrics = app.get_json("/api/v1/queue/metrics?resolution=hour").await;
    let completed: u64 = metrics["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["completed"].as_u64().unwrap())
        .sum();
    assert_eq!(completed, 2);
    let retention = metrics["by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "retention")
        .unwrap();
    // 300 ms run time lands in the [256, 512) ms bucket.
    assert_eq!(retention["run_ms"]["p50"], 512.0);
    let failed: u64 = metrics["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["failed"].as_u64().unwrap())
        .sum();
    assert_eq!(failed, 1);
    let res = app
        .get("/api/v1/queue/metrics?resolution=minute&from=2020-01-01")
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    let res = app.get("/api/v1/queue/metrics?from=tomorrow").await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;

    let workers = app.get_json("/api/v1/queue/workers").await;
    assert_eq!(workers["workers"][0]["id"], "igsync-host-1-abc");
    assert_eq!(workers["workers"][0]["concurrency"], 2);
}

#[tokio::test]
async fn schedules_pause_resume_and_run_now() {
    let app = TestApp::spawn().await;
    app.store
        .schedule_upsert(
            ScheduleDef {
                name: "retention".into(),
                cron: "0 30 3 * * *".into(),
                queue: "maintenance".into(),
                kind: "retention".into(),
                args: json!({}),
            },
            Utc::now() + Duration::hours(5),
        )
        .await
        .unwrap();
    let list = app.get_json("/api/v1/schedules").await;
    assert_eq!(list["schedules"][0]["name"], "retention");
    assert_eq!(list["schedules"][0]["paused"], false);
    assert!(list["schedules"][0]["next_run_at"].is_string());

    let paused = json_of(
        app.post("/api/v1/schedules/retention/pause").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(paused["paused"], true);
    assert_eq!(paused["next_run_at"], Value::Null);
    let resumed = json_of(
        app.post("/api/v1/schedules/retention/resume").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(resumed["paused"], false);

    let run = json_of(
        app.post("/api/v1/schedules/retention/run").await,
        StatusCode::ACCEPTED,
    )
    .await;
    assert_eq!(run["merged"], false);
    let job = run["job_id"].as_i64().unwrap();
    let again = json_of(
        app.post("/api/v1/schedules/retention/run").await,
        StatusCode::ACCEPTED,
    )
    .await;
    assert_eq!(again["merged"], true);
    assert_eq!(again["job_id"], job);
    let detail = app.get_json(&format!("/api/v1/jobs/{job}")).await;
    assert_eq!(detail["kind"], "retention");
    assert_eq!(detail["state"], "pending");

    assert_error(
        app.post("/api/v1/schedules/nope/run").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.post("/api/v1/schedules/nope/pause").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

// ----- history, alerts, usage -----

#[tokio::test]
async fn sync_history_alerts_and_usage() {
    let app = TestApp::spawn().await;
    let account = app.seed_account("17841400000000020", "historian").await;
    let now = Utc::now();
    let run = app
        .store
        .sync_run_create(NewSyncRun {
            account_id: account.id,
            plan: "full".into(),
            trigger: "api".into(),
            steps: vec!["profile".into(), "media".into()],
            started_at: now,
            job_id: None,
        })
        .await
        .unwrap();
    app.store
        .sync_steps_record(vec![SyncStep {
            run_id: run,
            step: "profile".into(),
            position: 0,
            status: StepStatus::Succeeded,
            attempts: 1,
            started_at: now,
            finished_at: Some(now + Duration::milliseconds(120)),
            api_calls: 1,
            rate_limit_units: 1,
            rows_written: 1,
            expected: Some(1),
            stored: Some(1),
            complete: Some(true),
            error: None,
            detail: json!({}),
        }])
        .await
        .unwrap();
    let runs = app
        .get_json(&format!("/api/v1/runs?account={}", account.id))
        .await;
    assert_eq!(runs["runs"][0]["id"], run.get());
    assert_eq!(runs["runs"][0]["status"], "running");
    let detail = app.get_json(&format!("/api/v1/runs/{run}")).await;
    assert_eq!(detail["steps"][0]["step"], "profile");
    assert_eq!(detail["steps"][0]["complete"], true);
    assert_eq!(detail["steps"][0]["duration_ms"], 120);
    assert_error(
        app.get("/api/v1/runs?status=exploded").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        app.get("/api/v1/runs?account=999").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let alert = app
        .store
        .alert_insert(NewAlert {
            account_id: Some(account.id),
            kind: "token_expiring".into(),
            severity: Severity::Warning,
            dedup_key: "token_expiring:x".into(),
            title: "Token expires in 3 days".into(),
            message: "Refresh it".into(),
            payload: json!({"days": 3}),
            created_at: now,
        })
        .await
        .unwrap()
        .unwrap();
    let open = app.get_json("/api/v1/alerts?open=true").await;
    assert_eq!(open["alerts"][0]["id"], alert.id);
    assert_eq!(open["alerts"][0]["severity"], "warning");
    let overview = app.get_json("/api/v1/overview").await;
    assert_eq!(overview["open_alerts"][0]["id"], alert.id);
    let res = app.post(&format!("/api/v1/alerts/{}/ack", alert.id)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.get_json("/api/v1/alerts?open=true").await["alerts"],
        json!([])
    );
    assert_eq!(
        app.get_json("/api/v1/alerts").await["alerts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_error(
        app.post("/api/v1/alerts/999/ack").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    app.store
        .api_usage_record(vec![ApiUsage {
            account_id: Some(account.id),
            observed_at: now,
            usage_pct: 92.0,
            call_count_pct: 92.0,
            total_cputime_pct: 10.0,
            total_time_pct: 12.0,
            regain_access_minutes: None,
        }])
        .await
        .unwrap();
    app.store
        .api_calls_add(vec![ApiCallsDelta {
            account_id: account.id,
            day: now.date_naive(),
            requests: 40,
            units: 130,
            errors: 2,
        }])
        .await
        .unwrap();
    let usage = app.get_json("/api/v1/usage?days=3").await;
    let acct = &usage["accounts"][0];
    assert_eq!(acct["account_id"], account.id.get());
    assert_eq!(acct["latest"]["usage_pct"], 92.0);
    assert_eq!(acct["latest"]["pressure"], "critical");
    assert_eq!(acct["days"][0]["units"], 130);
    assert_eq!(acct["requests_total"], 40);
    assert_error(
        app.get("/api/v1/usage?days=0").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
}

// ----- operations -----

#[tokio::test]
async fn metrics_expose_queue_accounts_and_graph_usage_without_secrets() {
    let app = TestApp::spawn().await;
    let account = app.seed_account("17841400000000030", "measured").await;
    app.seed_failed_job("sync_media", json!({}), "boom").await;
    app.seed_completed_job("retention").await;
    app.store
        .api_calls_add(vec![ApiCallsDelta {
            account_id: account.id,
            day: Utc::now().date_naive(),
            requests: 17,
            units: 60,
            errors: 1,
        }])
        .await
        .unwrap();
    app.store
        .api_usage_record(vec![ApiUsage {
            account_id: Some(account.id),
            observed_at: Utc::now(),
            usage_pct: 42.5,
            call_count_pct: 42.5,
            total_cputime_pct: 1.0,
            total_time_pct: 1.0,
            regain_access_minutes: None,
        }])
        .await
        .unwrap();

    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = res.text().await.unwrap();
    let id = account.id;
    for line in [
        "igsync_jobs{queue=\"maintenance\",state=\"failed\"} 1".to_owned(),
        "igsync_jobs{queue=\"maintenance\",state=\"completed\"} 1".to_owned(),
        "igsync_jobs{queue=\"instagram-sync\",state=\"pending\"} 0".to_owned(),
        "igsync_accounts{status=\"idle\"} 1".to_owned(),
        format!("igsync_graph_requests_total{{account=\"{id}\"}} 17"),
        format!("igsync_graph_usage_percent{{account=\"{id}\"}} 42.5"),
        format!("igsync_account_info{{account=\"{id}\",username=\"measured\",ig_user_id=\"17841400000000030\"}} 1"),
        "igsync_jobs_finished_total{queue=\"maintenance\",kind=\"retention\",outcome=\"completed\"} 1".to_owned(),
        "igsync_job_run_seconds_bucket{queue=\"maintenance\",kind=\"retention\",le=\"+Inf\"} 1".to_owned(),
        "igsync_job_run_seconds_count{queue=\"maintenance\",kind=\"retention\"} 1".to_owned(),
        "# TYPE igsync_job_wait_seconds histogram".to_owned(),
        "# TYPE igsync_graph_errors_total counter".to_owned(),
    ] {
        assert!(text.lines().any(|l| l == line), "missing `{line}` in\n{text}");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with(&format!("igsync_sync_lag_seconds{{account=\"{id}\"}} ")))
    );
    // Every sample line is `name{labels} value` with a numeric value.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(
            value.parse::<f64>().is_ok() || value == "+Inf",
            "bad sample: {line}"
        );
    }
    assert!(!text.contains(app.key.expose()));
    assert!(!text.contains("seed-token"));
}

#[tokio::test]
async fn readyz_reports_the_database() {
    // SQLite: ready.
    let app = TestApp::spawn().await;
    let body = app.get_json("/readyz").await;
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], "sqlite");

    // PostgreSQL: ready, then 503 with a reason once the database is dropped.
    let (name, url) = pg::create().await;
    let store = store_postgres::PostgresStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let app = TestApp::spawn_on(std::sync::Arc::new(store), ServerSettings::default()).await;
    let body = app.get_json("/readyz").await;
    assert_eq!(body["database"], "postgres");
    pg::drop(&name).await;
    let res = app.get("/readyz").await;
    let body = json_of(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body["status"], "unavailable");
    assert!(body["reason"].as_str().unwrap().contains("database"));
    // The API answers with a generic 5xx in the error shape, with no database detail.
    let res = app.get("/api/v1/accounts").await;
    assert!(res.status().is_server_error());
    let body = res.text().await.unwrap();
    assert!(body.starts_with("{\"error\":{\"code\":"), "{body}");
    assert!(!body.contains(&name), "{body}");
}

/// Sends `head`, then `chunks` chunks of `size` spaces with chunked transfer encoding, over a
/// plain TCP connection; returns the status and body of the answer.
async fn raw_chunked(app: &TestApp, head: &str, chunks: usize, size: usize) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("{size:x}\r\n{}\r\n", " ".repeat(size));
    for _ in 0..chunks {
        // The server may answer and close before the whole body is sent.
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buf)).await
        {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                    break;
                }
            }
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

// ----- with the simulator behind the engine -----

#[tokio::test]
async fn syncs_are_queued_through_the_engine_and_merged_while_active() {
    let env = SimApp::start(2, 8).await;
    let app = &env.app;
    let (id, _) = env.accounts[0];
    let path = format!("/api/v1/accounts/{id}/sync");

    let first = json_of(app.post(&path).await, StatusCode::ACCEPTED).await;
    assert_eq!(first["plan"], "full");
    assert_eq!(first["merged"], false);
    let job = first["job_id"].as_i64().unwrap();
    // Asked again while queued: the same chain, nothing doubled.
    let again = json_of(app.post(&path).await, StatusCode::ACCEPTED).await;
    assert_eq!(again["merged"], true);
    assert_eq!(again["job_id"], job);
    assert_error(
        app.post(&format!("{path}?plan=weekly")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        app.post("/api/v1/accounts/999/sync").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // The sync's first attempt opens the run and fails at the media step (Meta answers
    // 500 for the listing of posts), so the job waits for its next attempt under the same
    // key: a request now joins it (and learns its run).
    env.sim.set_fault_path(Some("/media"));
    env.sim.set_faults(
        1.0,
        simulator::FaultMix::only(&[simulator::FaultKind::ServerError]),
    );
    let worker = env.engine.worker().unwrap();
    assert!(worker.run_once().await.unwrap() >= 1);
    env.sim.set_faults(0.0, simulator::FaultMix::none());
    let joined = json_of(app.post(&path).await, StatusCode::ACCEPTED).await;
    assert_eq!(joined["merged"], true);
    let run = joined["run_id"]
        .as_i64()
        .expect("the run is known once the chain started");
    assert_eq!(joined["job_id"], job, "joined the sync's job");

    env.advance(Duration::minutes(5));
    env.engine.run_until_idle().await.unwrap();
    let account = app.get_json(&format!("/api/v1/accounts/{id}")).await;
    assert_eq!(account["status"], "idle", "{account}");
    assert!(account["last_synced_at"].is_string());
    assert!(account["followers_count"].as_i64().unwrap() > 0);

    // Exactly one run, succeeded, with every step complete.
    let runs = app.get_json(&format!("/api/v1/runs?account={id}")).await;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1, "{runs}");
    assert_eq!(runs["runs"][0]["id"], run);
    assert_eq!(runs["runs"][0]["status"], "succeeded");
    assert_eq!(runs["runs"][0]["trigger"], "api");
    let detail = app.get_json(&format!("/api/v1/runs/{run}")).await;
    let steps = detail["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 6);
    assert!(steps.iter().all(|s| s["status"] == "succeeded"), "{detail}");
    assert!(detail["api_calls"].as_i64().unwrap() > 0);
    let jobs = app.get_json(&format!("/api/v1/jobs?run={run}")).await;
    assert_eq!(jobs["total"], 1, "the sync's one job: {jobs}");
    assert_eq!(jobs["jobs"][0]["id"], job, "{jobs}");

    // Paused accounts are not synced.
    json_of(
        app.post(&format!("/api/v1/accounts/{id}/pause")).await,
        StatusCode::OK,
    )
    .await;
    assert_error(app.post(&path).await, StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn a_retrying_sync_shows_its_last_error_and_next_attempt() {
    let env = SimApp::start(1, 4).await;
    let app = &env.app;
    let (id, _) = env.accounts[0];
    json_of(
        app.post(&format!("/api/v1/accounts/{id}/sync")).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let worker = env.engine.worker().unwrap();
    // The sync starts and its first step fails an attempt: Meta answers 500/503 only.
    env.sim.set_faults(
        1.0,
        simulator::FaultMix::only(&[simulator::FaultKind::ServerError]),
    );
    assert_eq!(worker.run_once().await.unwrap(), 1);
    let step = env
        .app
        .store
        .job_list(store::JobQuery {
            account_id: Some(id),
            states: vec![store::JobState::Pending],
            ..Default::default()
        })
        .await
        .unwrap()
        .jobs
        .remove(0);
    assert_eq!(step.kind, "sync_account");
    assert!(step.run_at > env.clock.now());

    let account = app.get_json(&format!("/api/v1/accounts/{id}")).await;
    assert_eq!(account["status"], "syncing");
    let retrying = &account["retrying"];
    assert_eq!(retrying["step"], "profile", "{account}");
    assert_eq!(retrying["failed_attempts"], 1);
    assert_eq!(retrying["max_attempts"], 3);
    assert_eq!(retrying["job_id"], step.id.get());
    let error = retrying["last_error"].as_str().unwrap();
    assert!(error.contains("Graph API"), "{error}");
    assert_eq!(
        retrying["next_attempt_at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<Utc>>()
            .unwrap(),
        step.run_at
    );
    let list = app.get_json("/api/v1/accounts").await;
    assert_eq!(list["accounts"][0]["retrying"], *retrying);
    let overview = app.get_json("/api/v1/overview").await;
    assert_eq!(overview["accounts"][0]["retrying"], *retrying);

    let browser = crate::dashboard::Browser::sign_in(app).await;
    for page in ["/".to_owned(), format!("/accounts/{id}")] {
        let html = browser.page(&page).await;
        assert!(html.contains("retrying"), "{page} shows the retry");
        assert!(html.contains("1 of 3 attempts failed"), "{page}");
        assert!(html.contains("next attempt"), "{page}");
    }

    // Meta recovers: the retry succeeds and the account shows no retry any more.
    env.sim.set_faults(0.0, simulator::FaultMix::none());
    env.advance(Duration::minutes(5));
    env.engine.run_until_idle().await.unwrap();
    let account = app.get_json(&format!("/api/v1/accounts/{id}")).await;
    assert_eq!(account["status"], "idle", "{account}");
    assert!(account["retrying"].is_null(), "{account}");
}

#[tokio::test]
async fn one_kind_of_data_is_synced_on_its_own_through_the_api() {
    let env = SimApp::start(1, 8).await;
    let app = &env.app;
    let (id, sim_account) = env.accounts[0].clone();
    json_of(
        app.post(&format!("/api/v1/accounts/{id}/sync")).await,
        StatusCode::ACCEPTED,
    )
    .await;
    env.engine.run_until_idle().await.unwrap();
    let ids: Vec<String> = app
        .store
        .media_index(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| !e.deleted && e.product_type != store::ProductType::Ad)
        .map(|e| e.ig_media_id)
        .take(2)
        .collect();
    env.advance(Duration::hours(1));

    let by_name = format!("/api/v1/accounts/@{}/sync", sim_account.username);
    let asked = json_of(
        app.post(&format!(
            "{by_name}?only=media_insights&media={}",
            ids.join(",")
        ))
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    assert_eq!(asked["account_id"], id.get());
    assert_eq!(asked["plan"], "media_insights");
    assert_eq!(asked["scope"]["media"], json!(ids));
    env.engine.run_until_idle().await.unwrap();
    let runs = app.get_json(&format!("/api/v1/runs?account={id}")).await;
    let newest = &runs["runs"][0];
    assert_eq!(newest["plan"], "media_insights", "{runs}");
    assert_eq!(newest["status"], "succeeded");
    assert_eq!(newest["steps_planned"], json!(["media_insights"]));
    let detail = app
        .get_json(&format!("/api/v1/runs/{}", newest["id"]))
        .await;
    assert_eq!(detail["steps"].as_array().unwrap().len(), 1);
    assert_eq!(detail["steps"][0]["expected"], 2);
    assert_eq!(detail["steps"][0]["detail"]["scope"]["media"], json!(ids));

    let today = env.clock.now().date_naive();
    let since = today - Duration::days(8);
    let until = today - Duration::days(4);
    let asked = json_of(
        app.post(&format!(
            "/api/v1/accounts/{}/sync?only=account-insights&since={since}&until={until}",
            sim_account.ig_user_id
        ))
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    assert_eq!(asked["plan"], "account_insights");
    assert_eq!(asked["scope"]["since"], since.to_string());
    env.engine.run_until_idle().await.unwrap();
    let runs = app.get_json(&format!("/api/v1/runs?account={id}")).await;
    assert_eq!(runs["runs"][0]["plan"], "account_insights");
    assert_eq!(runs["runs"][0]["status"], "succeeded");
    assert_eq!(runs["runs"].as_array().unwrap().len(), 3);

    let sync = format!("/api/v1/accounts/{id}/sync");
    for query in [
        "?plan=full&only=media",
        "?only=weekly",
        "?plan=media",
        "?only=profile&media=1",
        "?only=media_insights&media=abc",
        "?only=media_insights&media=999",
        "?only=account_insights&since=2026-02-30",
        "?only=account_insights&until=2020-01-01",
        "?only=media_insights&since=2099-01-01",
    ] {
        let res = app.post(&format!("{sync}{query}")).await;
        let message = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
        assert!(!message.is_empty(), "{query}");
    }
}

#[tokio::test]
async fn account_routes_take_the_instagram_user_id_or_username_too() {
    let app = TestApp::spawn().await;
    let account = app.seed_account("17841400000000077", "Ref_Me").await;
    app.seed_account("17841400000000078", "other").await;
    for reference in [
        account.id.to_string(),
        "17841400000000077".to_owned(),
        "@ref_me".to_owned(),
        "%40Ref_Me".to_owned(),
        "Ref_Me".to_owned(),
    ] {
        let body = app.get_json(&format!("/api/v1/accounts/{reference}")).await;
        assert_eq!(body["id"], account.id.get(), "{reference}");
        let res = app
            .get(&format!("/api/v1/accounts/{reference}/report?days=7"))
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{reference}");
    }
    let body = json_of(
        app.send_json(
            Method::PATCH,
            "/api/v1/accounts/@Ref_Me",
            &json!({"timezone": "Europe/Berlin"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["timezone"], "Europe/Berlin");
    let body = json_of(
        app.post("/api/v1/accounts/17841400000000077/pause").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (body["id"].clone(), body["status"].clone()),
        (json!(account.id), json!("paused"))
    );
    json_of(
        app.post("/api/v1/accounts/@ref_me/resume").await,
        StatusCode::OK,
    )
    .await;
    for missing in ["@nobody", "17841400000000099", "0"] {
        assert_error(
            app.get(&format!("/api/v1/accounts/{missing}")).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    let res = app
        .delete("/api/v1/accounts/@ref_me?confirm=17841400000000077")
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(app.store.account_get(account.id).await.unwrap().is_none());
}

#[tokio::test]
async fn added_accounts_are_verified_against_the_graph_api() {
    let env = SimApp::start(2, 4).await;
    let app = &env.app;
    let (id, sim_account) = env.accounts[0].clone();
    let other = env.accounts[1].1.clone();
    let before = app.store.account_get(id).await.unwrap().unwrap();
    // Another account's valid token is refused for this id (422, not a hint to skip the
    // check), and the registration is left as it was.
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/accounts",
            &json!({"ig_user_id": sim_account.ig_user_id, "token": other.access_token,
                    "login": sim_account_login(&sim_account)}),
        )
        .await;
    let message = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    assert!(message.contains("another account"), "{message}");
    assert!(!message.contains("verify"), "{message}");
    assert_eq!(app.store.account_get(id).await.unwrap().unwrap(), before);
    let confirm = format!("/api/v1/accounts/{id}?confirm={}", sim_account.ig_user_id);
    assert_eq!(app.delete(&confirm).await.status(), StatusCode::NO_CONTENT);

    // A token Meta rejects is refused, and nothing is stored.
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/accounts",
            &json!({"ig_user_id": sim_account.ig_user_id, "token": "not-a-real-token",
                    "login": sim_account_login(&sim_account)}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    assert!(
        app.store
            .account_get_by_ig(&sim_account.ig_user_id)
            .await
            .unwrap()
            .is_none()
    );

    // The real token: the profile is read, the username comes from Meta.
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/accounts",
            &json!({"ig_user_id": sim_account.ig_user_id, "token": sim_account.access_token,
                    "login": sim_account_login(&sim_account), "timezone": "Asia/Tokyo"}),
        )
        .await;
    let added = json_of(res, StatusCode::CREATED).await;
    assert_eq!(added["username"], sim_account.username.as_str());
    assert_eq!(added["timezone"], "Asia/Tokyo");
    // The expiry is known, so the daily token refresh reaches the account.
    assert!(added["token_expires_at"].is_string(), "{added}");
    assert!(!added.to_string().contains(&sim_account.access_token));
    // Registering it again updates it (200), and it syncs with the stored token.
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/accounts",
            &json!({"ig_user_id": sim_account.ig_user_id, "token": sim_account.access_token,
                    "login": sim_account_login(&sim_account)}),
        )
        .await;
    let again = json_of(res, StatusCode::OK).await;
    let new_id = again["id"].as_i64().unwrap();
    json_of(
        app.post(&format!("/api/v1/accounts/{new_id}/sync?plan=light"))
            .await,
        StatusCode::ACCEPTED,
    )
    .await;
    env.engine.run_until_idle().await.unwrap();
    let account = app.get_json(&format!("/api/v1/accounts/{new_id}")).await;
    assert_eq!(account["status"], "idle", "{account}");
}

fn sim_account_login(a: &simulator::SimAccount) -> &'static str {
    match a.login {
        simulator::LoginKind::Facebook => "facebook",
        simulator::LoginKind::Instagram => "instagram",
    }
}

#[tokio::test]
async fn reports_of_a_synced_account_in_json_and_csv() {
    let env = SimApp::start(1, 24).await;
    let app = &env.app;
    let (id, _) = env.accounts[0];
    json_of(
        app.post(&format!("/api/v1/accounts/{id}/sync")).await,
        StatusCode::ACCEPTED,
    )
    .await;
    env.engine.run_until_idle().await.unwrap();

    let report = app
        .get_json(&format!("/api/v1/accounts/{id}/report?days=30"))
        .await;
    // Every figure and series names a known definition.
    let mut keys = Vec::new();
    collect_keys(&report, &mut keys);
    assert!(keys.len() > 10, "figures with keys: {keys:?}");
    for key in &keys {
        assert!(
            analytics::definition(key).is_some(),
            "unknown definition key {key}"
        );
    }
    assert!(
        keys.iter().any(|k| k.starts_with("engagement_rate")),
        "{keys:?}"
    );
    let glossary = app.get_json("/api/v1/definitions").await;
    let known: Vec<&str> = glossary["definitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    assert!(keys.iter().all(|k| known.contains(&k.as_str())));
    assert!(report.to_string().contains("2") && !report.to_string().contains("access_token"));
    // After the first sync the counter has one sample: the growth is Meta's daily changes.
    let followers = &report["followers"];
    let from_meta = followers["net_new_followers_api"]["value"].as_f64();
    assert!(from_meta.is_some(), "{followers}");
    assert_eq!(
        followers["growth_abs"]["value"].as_f64(),
        from_meta,
        "{followers}"
    );
    assert!(
        followers["growth_abs"]["note"]
            .as_str()
            .unwrap()
            .starts_with("sum of Meta's daily follower changes"),
        "{followers}"
    );

    let res = app
        .get(&format!(
            "/api/v1/accounts/{id}/report?from=2020-01-01&to=2020-01-31&format=csv"
        ))
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("2020-01-01-2020-01-31.csv")
    );
    let csv = res.text().await.unwrap();
    let csv_now = app
        .get(&format!("/api/v1/accounts/{id}/report?days=30&format=csv"))
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.lines().count() > 1 && csv_now.lines().count() > csv.lines().count() / 2);
    assert!(
        keys.iter().any(|k| csv_now.contains(k.as_str())),
        "CSV rows carry the keys"
    );

    for query in [
        "days=0",
        "from=2025-02-01&to=2025-01-01",
        "from=2025-01-01&days=3",
        "format=pdf",
        "to=someday",
    ] {
        let res = app
            .get(&format!("/api/v1/accounts/{id}/report?{query}"))
            .await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    }
    assert_error(
        app.get("/api/v1/accounts/999/report").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

/// Every `key` of an object that also has a `definition` (figures and series).
fn collect_keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let (Some(Value::String(k)), true) = (map.get("key"), map.contains_key("definition"))
            {
                out.push(k.clone());
            }
            map.values().for_each(|v| collect_keys(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_keys(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn metrics_count_the_graph_calls_and_errors_of_real_syncs() {
    let env = SimApp::start(2, 6).await;
    let app = &env.app;
    let (ok, _) = env.accounts[0];
    let (broken, ref broken_sim) = env.accounts[1];
    env.sim.expire_token(&broken_sim.ig_user_id);
    for id in [ok, broken] {
        json_of(
            app.post(&format!("/api/v1/accounts/{id}/sync")).await,
            StatusCode::ACCEPTED,
        )
        .await;
    }
    env.engine.run_until_idle().await.unwrap();

    let text = app.get("/metrics").await.text().await.unwrap();
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(value(&format!("igsync_graph_requests_total{{account=\"{ok}\"}} ")) > 5.0);
    assert!(
        value("igsync_graph_errors_total{code=\"190\"} ") >= 1.0,
        "the expired token"
    );
    assert_eq!(value("igsync_accounts{status=\"needs_reauth\"} "), 1.0);
    assert_eq!(value("igsync_accounts{status=\"idle\"} "), 1.0);
    assert!(value(&format!("igsync_sync_lag_seconds{{account=\"{ok}\"}} ")) < 60.0);
    // Two hours later, without a sync, the lag says so.
    env.advance(Duration::hours(2));
    let later = app.get("/metrics").await.text().await.unwrap();
    let lag: f64 = later
        .lines()
        .find(|l| l.starts_with(&format!("igsync_sync_lag_seconds{{account=\"{ok}\"}} ")))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!((7200.0..7300.0).contains(&lag), "lag {lag}");
    assert!(
        value(
            "igsync_jobs_finished_total{queue=\"instagram-sync\",kind=\"sync_account\",outcome=\"completed\"} "
        ) >= 1.0
    );
    assert!(!text.contains(&broken_sim.access_token));
    assert!(!text.contains(&env.accounts[0].1.access_token));
}

// ----- the OpenAPI document -----

#[tokio::test]
async fn the_openapi_document_covers_every_route_and_only_real_ones() {
    let app = TestApp::spawn().await;
    let doc = app.get_json("/api/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(op["summary"].is_string(), "{method} {path} has a summary");
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()));
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }

    // Every API route the router declares (read from the route tables) is documented, and
    // nothing else is: the dashboard's pages are for browsers, not part of the API.
    let routed = declared_routes();
    for page in ["/", "/login", "/accounts/{id}", "/queue", "/assets/{file}"] {
        assert!(
            doc["paths"].get(page).is_none(),
            "the dashboard page {page} is documented as an API operation"
        );
    }
    assert!(routed.len() > 30, "found {} routes", routed.len());
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the OpenAPI document: {undocumented:?}"
    );
    assert!(
        phantom.is_empty(),
        "documented routes the router does not have: {phantom:?}"
    );

    // And each documented route really answers: never the router's own 404 or 405.
    for (method, path) in &documented {
        let concrete = path
            .replace("{id}", "987654")
            .replace("{name}", "no_such_schedule");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = app.request(method.clone(), &concrete);
        if method == Method::POST || method == Method::PATCH {
            req = req.json(&json!({}));
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let body = res.text().await.unwrap();
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {concrete}: {body}"
        );
        assert!(
            !body.contains("no such route"),
            "{method} {concrete} is not routed: {body}"
        );
    }
}

/// The server takes exactly what its document admits: values at the edges of the schemas
/// are accepted, and values the schemas refuse are refused, not quietly trimmed or ignored.
#[tokio::test]
async fn the_api_takes_what_its_document_admits_and_refuses_what_it_refuses() {
    let app = TestApp::spawn().await;
    let doc = app.get_json("/api/openapi.json").await;
    let schemas = &doc["components"]["schemas"];

    // An integer written with a zero fraction is an integer, as in JSON Schema.
    let job = app.seed_failed_job("sync_media", json!({}), "boom").await;
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/jobs/bulk",
            &json!({"action": "retry", "ids": [job.get() as f64]}),
        )
        .await;
    assert_eq!(json_of(res, StatusCode::OK).await["affected"], 1);
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/jobs/bulk",
            &json!({"action": "cancel", "ids": null, "filter": {"run": 7.0, "kind": null}}),
        )
        .await;
    assert_eq!(json_of(res, StatusCode::OK).await["affected"], 0);
    for body in [
        r#"{"action": "retry", "ids": [1.5]}"#,
        r#"{"action": "retry", "ids": [-9223372036854775809]}"#,
        r#"{"action": "retry", "ids": [9223372036854775808]}"#,
    ] {
        let res = app
            .request(Method::POST, "/api/v1/jobs/bulk")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    }

    // Every time zone the document lists is one the server takes.
    let zones = schemas["TimeZone"]["enum"].as_array().unwrap();
    assert!(zones.len() > 300 && zones.contains(&json!("Europe/Berlin")));
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/accounts",
            &json!({"ig_user_id": "17841400000000020", "token": "t", "verify": false}),
        )
        .await;
    let id = json_of(res, StatusCode::CREATED).await["id"]
        .as_i64()
        .unwrap();
    for zone in zones {
        let res = app
            .send_json(
                Method::PATCH,
                &format!("/api/v1/accounts/{id}"),
                &json!({"timezone": zone}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{zone}");
    }

    // A token of 4096 characters is admitted whatever their size in bytes; null stands for
    // an absent property.
    let long_token = "é".repeat(4096);
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/accounts",
            &json!({"ig_user_id": "17841400000000021", "token": long_token, "verify": false,
                    "login": null, "timezone": null, "username": null}),
        )
        .await;
    assert_eq!(
        json_of(res, StatusCode::CREATED).await["login"],
        "instagram"
    );

    // Refused: control characters anywhere (not trimmed away), an empty login, a key name
    // with a trailing newline, filters with stray characters.
    for body in [
        json!({"ig_user_id": "1", "token": "tok\n", "verify": false}),
        json!({"ig_user_id": "1", "token": "t", "verify": false, "login": ""}),
        json!({"ig_user_id": "1", "token": "t", "verify": false, "username": "name\t"}),
    ] {
        let res = app.send_json(Method::POST, "/api/v1/accounts", &body).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    }
    let res = app
        .send_json(Method::POST, "/api/v1/keys", &json!({"name": "ci\n"}))
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    for path in [
        "/api/v1/jobs?state=failed%09",
        "/api/v1/jobs?kind=sync_media%0A",
        "/api/v1/runs?status=%20failed",
        "/api/v1/queue/metrics?resolution=hour%20",
        "/api/v1/alerts?kind=%0A",
    ] {
        assert_error(
            app.get(path).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        )
        .await;
    }
    // …while what the document admits passes, empty values included where it says so.
    for path in [
        "/api/v1/jobs?state=failed,%20cancelled,&kind=%20sync_media%20&queue=&search=",
        "/api/v1/runs?status=",
        "/api/v1/queue/metrics?resolution=&queue=",
        "/api/v1/alerts?kind=",
    ] {
        assert_eq!(app.get(path).await.status(), StatusCode::OK, "{path}");
    }
}

/// `(METHOD, path)` of every `.route(…)` in the server's API route tables: `lib.rs` and the
/// API modules (nested under `/api/v1`).
fn declared_routes() -> std::collections::BTreeSet<(String, String)> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![(src.join("lib.rs"), "")];
    for entry in std::fs::read_dir(src.join("api")).unwrap() {
        files.push((entry.unwrap().path(), "/api/v1"));
    }
    let mut out = std::collections::BTreeSet::new();
    for (file, prefix) in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            // The call's arguments, up to its closing parenthesis.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .unwrap();
            let args = &rest[..end];
            let path = args
                .split('"')
                .nth(1)
                .unwrap_or_else(|| panic!("route path in {args}"));
            let full = if prefix.is_empty() {
                path.to_owned()
            } else {
                format!("{prefix}{path}")
            };
            let mut methods = 0;
            for method in ["get", "post", "put", "patch", "delete"] {
                let needle = format!("{method}(");
                let found = args.match_indices(&needle).any(|(i, _)| {
                    i == 0
                        || !args.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && args.as_bytes()[i - 1] != b'_'
                });
                if found {
                    out.insert((method.to_uppercase(), full.clone()));
                    methods += 1;
                }
            }
            assert!(
                methods > 0,
                "no method in .route({args}) of {}",
                file.display()
            );
        }
    }
    out
}

#[tokio::test]
async fn serve_stops_gracefully_when_told() {
    let dir = crate::support::temp_dir("igsync-server-shutdown");
    let store = store_sqlite::SqliteStore::open(&format!("sqlite://{}", dir.join("db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let state = server::AppState::new(std::sync::Arc::new(store), ServerSettings::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server::serve(listener, state, async {
        let _ = rx.await;
    }));
    let client = crate::support::http_client();
    let url = format!("http://{addr}/healthz");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);

    tx.send(()).unwrap();
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(20), serving).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "serve returned: {stopped:?}"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}
