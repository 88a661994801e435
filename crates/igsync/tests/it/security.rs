//! Secrets: account tokens are sealed with an AEAD under a key that never reaches the
//! database, `igsync keys rotate-secret` re-encrypts every token in one transaction (all or
//! nothing), API keys are stored as argon2 hashes, and no token, key or secret shows up in
//! any output of a full demo run (logs at debug level, the terminal, every dashboard page,
//! every API answer, `/metrics`). The dashboard's session cookie is HttpOnly and
//! SameSite=Strict, its forms need the CSRF token, and every answer carries the security
//! headers.

use std::time::Duration;

use store::{Cipher, DynStore, NewAccount, SecretKey, SecretString};

use crate::both_dialects;
use crate::support::{
    Dialect, Harness, api_key, assert_absent, http, record_figures, serve, sim_config, start_sim,
};

both_dialects!(tokens_are_sealed_at_rest_and_rotation_is_all_or_nothing);

/// Every byte of the database as the disk (SQLite files) or a dump (PostgreSQL) holds it.
async fn raw_database(h: &Harness) -> Vec<u8> {
    match &h.db.file {
        Some(file) => {
            let mut bytes = Vec::new();
            for suffix in ["", "-wal", "-shm"] {
                bytes.extend(
                    std::fs::read(format!("{}{suffix}", file.display())).unwrap_or_default(),
                );
            }
            bytes
        }
        None => {
            let out = tokio::process::Command::new("pg_dump")
                .arg("--data-only")
                .arg(&h.db.url)
                .output()
                .await
                .expect("pg_dump runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

async fn sealed_tokens(store: &DynStore) -> Vec<(String, store::EncryptedToken)> {
    store
        .account_list()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.ig_user_id, a.token.expect("a stored token")))
        .collect()
}

async fn tokens_are_sealed_at_rest_and_rotation_is_all_or_nothing(d: Dialect) {
    let sim = start_sim(sim_config(81, 3, 10)).await;
    let mut h = Harness::new(d, "secrets").await;
    h.graph(&sim);
    h.register(&sim).await;
    let key = api_key(&h, "audit").await;
    h.ok(&["sync", "--all", "--wait"], None).await;
    let store = h.db.open().await;

    // At rest: no token, no key, no API key in any byte of the database.
    let raw = raw_database(&h).await;
    assert!(raw.len() > 10_000, "read the database");
    let secret = SecretKey::from_hex(&h.secret_hex).unwrap();
    for a in sim.accounts() {
        assert!(
            !contains(&raw, a.access_token.as_bytes()),
            "a token is stored in clear"
        );
        assert!(
            !contains(&raw, &a.access_token.as_bytes()[..24]),
            "part of a token is stored"
        );
    }
    assert!(
        !contains(&raw, h.secret_hex.as_bytes()),
        "the secret key is in the database"
    );
    let key_secret = key.rsplit('_').next().unwrap();
    assert!(
        !contains(&raw, key_secret.as_bytes()),
        "an API key is stored in clear"
    );
    let keys = store.api_key_list().await.unwrap();
    assert!(
        keys.iter().all(|k| k.hash.starts_with("$argon2")),
        "{keys:?}"
    );

    // Sealed with the configured key (AES-256-GCM: a fresh nonce each time, tamper-evident).
    let cipher = Cipher::new(&secret);
    let other = Cipher::new(&SecretKey::generate().unwrap());
    let before = sealed_tokens(&store).await;
    for (ig, sealed) in &before {
        let plain = cipher.decrypt(sealed).unwrap();
        let a = sim
            .accounts()
            .into_iter()
            .find(|a| &a.ig_user_id == ig)
            .unwrap();
        assert_eq!(plain.expose(), a.access_token);
        assert!(
            other.decrypt(sealed).is_err(),
            "another key cannot open a token"
        );
        let mut tampered = sealed.clone();
        let last = tampered.0.len() - 1;
        tampered.0[last] ^= 1;
        assert!(
            cipher.decrypt(&tampered).is_err(),
            "a flipped bit is detected"
        );
    }

    // Rotation is all or nothing: one token sealed under a foreign key makes it fail and
    // leaves every token exactly as it was.
    let foreign = Cipher::new(&SecretKey::generate().unwrap());
    store
        .account_upsert(NewAccount {
            ig_user_id: "17841499999999999".into(),
            username: "foreign".into(),
            name: None,
            account_type: store::AccountType::Unknown,
            login: store::LoginKind::Facebook,
            page_id: None,
            timezone: None,
            token: foreign
                .encrypt(&SecretString::new("EAAG-foreign-token"))
                .unwrap(),
            token_expires_at: None,
            now: chrono::Utc::now(),
        })
        .await
        .unwrap();
    let with_foreign = sealed_tokens(&store).await;
    let new_hex = SecretKey::generate().unwrap().to_hex().expose().to_string();
    let refused = h
        .run(&["keys", "rotate-secret", "--new-key", &new_hex], None)
        .await;
    assert!(!refused.status.success(), "{refused}");
    assert_eq!(refused.stderr.trim().lines().count(), 1, "{refused}");
    assert!(
        refused.stderr.contains("still encrypted with the old key"),
        "{refused}"
    );
    assert!(!refused.stderr.contains(&new_hex), "{refused}");
    assert_eq!(sealed_tokens(&store).await, with_foreign, "nothing changed");
    let foreign_id = store
        .account_get_by_ig("17841499999999999")
        .await
        .unwrap()
        .unwrap()
        .id;
    assert!(store.account_delete(foreign_id).await.unwrap());

    // Rotation succeeds: every token opens with the new key only, and syncs go on with it.
    let rotated = h.run(&["keys", "rotate-secret"], None).await;
    assert!(rotated.status.success(), "{rotated}");
    let printed = rotated.stdout.trim().to_string();
    assert!(
        rotated
            .stderr
            .contains("re-encrypted 3 account token(s) in one transaction"),
        "{rotated}"
    );
    let new_cipher = Cipher::new(&SecretKey::from_hex(&printed).unwrap());
    for (ig, sealed) in sealed_tokens(&store).await {
        assert!(
            cipher.decrypt(&sealed).is_err(),
            "the old key no longer opens {ig}"
        );
        let a = sim
            .accounts()
            .into_iter()
            .find(|a| a.ig_user_id == ig)
            .unwrap();
        assert_eq!(
            new_cipher.decrypt(&sealed).unwrap().expose(),
            a.access_token
        );
    }
    h.set("IGSYNC_SECRET_KEY", &printed);
    h.ok(&["sync", "--all", "--wait"], None).await;
    record_figures(
        &format!("secrets_at_rest_{}", d.name()),
        serde_json::json!({
            "database_bytes_scanned": raw.len(),
            "tokens_checked": before.len(),
            "cipher": "AES-256-GCM, 96-bit random nonce, key from IGSYNC_SECRET_KEY",
            "api_key_hash": "argon2",
            "rotation_refused_with_one_foreign_token": true,
            "tokens_re_encrypted": 3,
        }),
    );
    drop(store);
    h.db.teardown().await;
}

/// Signs in to the dashboard with `key`; returns the session cookie.
async fn sign_in(client: &reqwest::Client, base: &str, key: &str) -> (String, String) {
    let res = client
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("key={key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303, "sign-in redirects");
    let set_cookie = res
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_string();
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    (cookie, set_cookie)
}

/// The CSRF token of a signed-in page.
fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\"").expect("a CSRF field");
    let window = &page[at.saturating_sub(200)..(at + 200).min(page.len())];
    let v = window.find("value=\"").expect("a CSRF value") + 7;
    window[v..].split('"').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_secret_in_any_output_of_a_full_demo_run() {
    let mut h = Harness::new(Dialect::Sqlite, "demo").await;
    let demo_dir = h.dir.path().join("demo");
    let app_secret = "demo-app-secret-0123456789abcdef";
    h.set("IGSYNC_GRAPH_APP_SECRET", app_secret);
    h.set("IGSYNC_GRAPH_APP_ID", "1000000001");
    h.set(
        "RUST_LOG",
        "debug,hyper=info,hyper_util=info,h2=info,rustls=info,sqlx=debug",
    );
    h.env.remove("IGSYNC_DATABASE_URL");
    let mut demo = h.spawn(&[
        "demo",
        "--accounts",
        "3",
        "--media",
        "40",
        "--listen",
        "127.0.0.1:0",
        "--dir",
        demo_dir.to_str().unwrap(),
    ]);
    let text = demo
        .wait_for_output("Ctrl-C stops the demo", Duration::from_secs(300))
        .await;
    let base = text
        .lines()
        .find_map(|l| l.strip_prefix("dashboard:"))
        .map(|l| l.trim().trim_end_matches('/').to_string())
        .expect("the dashboard's address");
    let key = text
        .lines()
        .find_map(|l| l.split("(shown once): ").nth(1))
        .map(|k| k.trim().to_string())
        .expect("the sign-in key");

    // Everything a user can look at.
    let client = http();
    let mut seen = String::new();
    let mut responses = 0;
    let (cookie, set_cookie) = sign_in(&client, &base, &key).await;
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(flag), "{set_cookie}");
    }
    let store = crate::support::open_store(&format!(
        "sqlite://{}",
        demo_dir.join("igsync.db").display()
    ))
    .await;
    let accounts = store.account_list().await.unwrap();
    let jobs = crate::support::all_jobs(&*store).await;
    let mut paths: Vec<String> = ["/", "/queue", "/schedules", "/alerts", "/login", "/healthz"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for a in &accounts {
        paths.push(format!("/accounts/{}", a.id));
    }
    for j in jobs.iter().step_by(5) {
        paths.push(format!("/queue/jobs/{}", j.id));
    }
    let mut api: Vec<String> = [
        "/api/v1/overview",
        "/api/v1/accounts",
        "/api/v1/jobs?limit=500",
        "/api/v1/runs",
        "/api/v1/alerts",
        "/api/v1/usage",
        "/api/v1/keys",
        "/api/v1/queue",
        "/api/v1/queue/workers",
        "/api/v1/schedules",
        "/metrics",
        "/readyz",
        "/api/openapi.json",
        "/api/v1/accounts/999999",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for a in &accounts {
        api.push(format!("/api/v1/accounts/{}", a.id));
        api.push(format!("/api/v1/accounts/{}/report", a.id));
    }
    for p in &paths {
        let res = client
            .get(format!("{base}{p}"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert!(res.status().as_u16() < 500, "{p}: {}", res.status());
        seen.push_str(&format!("{:?}", res.headers()));
        seen.push_str(&res.text().await.unwrap());
        responses += 1;
    }
    for p in &api {
        let res = client
            .get(format!("{base}{p}"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        seen.push_str(&format!("{:?}", res.headers()));
        seen.push_str(&res.text().await.unwrap());
        responses += 1;
    }
    // Error paths: a wrong key, a bad body, an account added with a bad token.
    for (method, path, body, auth) in [
        ("GET", "/api/v1/accounts", "", "igs_0123456789abcdef_wrong"),
        ("POST", "/api/v1/accounts", "{not json", key.as_str()),
        (
            "POST",
            "/api/v1/accounts",
            r#"{"ig_user_id":"17841400000000001","token":"EAAG-bad-token-value"}"#,
            key.as_str(),
        ),
    ] {
        let req = client
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .bearer_auth(auth)
            .header("content-type", "application/json")
            .body(body.to_string());
        let res = req.send().await.unwrap();
        seen.push_str(&res.text().await.unwrap());
        responses += 1;
    }
    assert!(demo.terminate().await.success(), "{}", demo.stderr());
    let stdout = demo.stdout();
    let stderr = demo.stderr();

    // The secrets: the seeded tokens (the demo's world is deterministic), every token now
    // stored (refreshed ones included), the secret key, the app secret and the API key.
    let mut config = simulator::SimConfig::new(42, 3, 40);
    config.expiring_token_accounts = 1;
    let twin = start_sim(config).await;
    let mut secrets: Vec<(&str, String)> = Vec::new();
    let cipher = Cipher::new(&SecretKey::from_hex(&h.secret_hex).unwrap());
    let mut matched = 0;
    for a in twin.accounts() {
        let stored = store
            .account_get_by_ig(&a.ig_user_id)
            .await
            .unwrap()
            .expect("same world");
        let current = cipher.decrypt(stored.token.as_ref().unwrap()).unwrap();
        matched += usize::from(current.expose() == a.access_token);
        secrets.push(("a seeded account token", a.access_token.clone()));
        secrets.push(("a stored account token", current.expose().to_string()));
    }
    assert!(matched >= 2, "the twin simulator has the demo's tokens");
    secrets.push(("the secret key", h.secret_hex.clone()));
    secrets.push(("the app secret", app_secret.to_string()));
    let key_secret = key.rsplit('_').next().unwrap().to_string();
    secrets.push(("the API key's secret", key_secret.clone()));
    secrets.push(("the bad token", "EAAG-bad-token-value".to_string()));
    assert_absent(&stderr, &secrets, "the logs (debug level)");
    assert_absent(&seen, &secrets, "the dashboard, the API or /metrics");
    // The sign-in key is printed once, on the line that hands it over, and nowhere else.
    let key_lines: Vec<&str> = stdout.lines().filter(|l| l.contains(&key_secret)).collect();
    assert_eq!(key_lines.len(), 1, "{key_lines:?}");
    assert!(key_lines[0].contains("shown once"));
    let rest: String = stdout
        .lines()
        .filter(|l| !l.contains("shown once"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_absent(&rest, &secrets, "the demo's terminal output");
    let mut db_bytes = Vec::new();
    for name in ["igsync.db", "igsync.db-wal", "igsync.db-shm"] {
        db_bytes.extend(std::fs::read(demo_dir.join(name)).unwrap_or_default());
    }
    assert!(db_bytes.len() > 100_000, "read the demo's database");
    for (what, s) in &secrets {
        assert!(
            !contains(&db_bytes, s.as_bytes()),
            "{what} is in the database file"
        );
    }
    record_figures(
        "no_secret_in_outputs",
        serde_json::json!({
            "secrets_searched": secrets.len(),
            "log_bytes_at_debug_level": stderr.len(),
            "terminal_bytes": stdout.len(),
            "http_responses_searched": responses,
            "http_bytes_searched": seen.len(),
            "database_bytes_searched": db_bytes.len(),
            "found": 0,
        }),
    );
    twin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dashboard_forms_need_the_csrf_token_and_every_answer_has_security_headers() {
    let h = Harness::new(Dialect::Sqlite, "csrf").await;
    h.ok(&["migrate"], None).await;
    h.ok(
        &[
            "accounts",
            "add",
            "--ig-user-id",
            "17841400000000077",
            "--token-stdin",
            "--no-verify",
        ],
        Some("EAAG-some-token"),
    )
    .await;
    let key = api_key(&h, "browser").await;
    let (mut server, base) = serve(&h, &["--no-worker"]).await;
    let client = http();
    let (cookie, _) = sign_in(&client, &base, &key).await;
    let page = client
        .get(format!("{base}/accounts/1"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let post = |body: String| {
        client
            .post(format!("{base}/accounts/1/sync"))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    assert_eq!(post(String::new()).await.unwrap().status().as_u16(), 403);
    assert_eq!(
        post("csrf=forged".into()).await.unwrap().status().as_u16(),
        403
    );
    let ok = post(format!("csrf={csrf}"))
        .await
        .unwrap()
        .status()
        .as_u16();
    assert!(ok == 303 || ok == 200, "{ok}");
    // The JSON API with the session cookie needs the token in a header for unsafe methods.
    let res = client
        .post(format!("{base}/api/v1/accounts/1/pause"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let res = client
        .post(format!("{base}/api/v1/accounts/1/pause"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);

    let mut checked = 0;
    for (path, auth) in [
        ("/healthz", false),
        ("/login", false),
        ("/", false),
        ("/nope", false),
        ("/api/v1/accounts", false),
        ("/api/v1/accounts", true),
        ("/metrics", true),
        ("/assets/igsync.css", false),
    ] {
        let mut req = client.get(format!("{base}{path}"));
        if auth {
            req = req.bearer_auth(&key);
        }
        let res = req.send().await.unwrap();
        let headers = res.headers();
        for (name, value) in [
            ("x-frame-options", "DENY"),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
        ] {
            assert_eq!(
                headers.get(name).and_then(|v| v.to_str().ok()),
                Some(value),
                "{path}: {name}"
            );
        }
        let csp = headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        checked += 1;
    }
    assert!(server.terminate().await.success());

    // Served over HTTPS (directly or behind a proxy), the cookie is also `Secure`.
    let mut h = h;
    h.set("IGSYNC_SERVER_COOKIE_SECURE", "true");
    let (mut server, base) = serve(&h, &["--no-worker"]).await;
    let (_, set_cookie) = sign_in(&client, &base, &key).await;
    for flag in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(set_cookie.contains(flag), "{set_cookie}");
    }
    assert!(server.terminate().await.success());
    record_figures(
        "dashboard_csrf_headers",
        serde_json::json!({
            "cookie_flags": ["HttpOnly", "SameSite=Strict", "Path=/", "Secure with server.cookie_secure"],
            "forged_or_missing_csrf_rejected": 3,
            "responses_with_security_headers": checked,
        }),
    );
}

#[test]
fn debug_output_of_secret_holding_values_shows_no_secret() {
    let key = SecretKey::generate().unwrap();
    let key_hex = key.to_hex().expose().to_string();
    let token = "EAAG-debug-token-0123456789";
    let env = |name: &str| match name {
        "IGSYNC_SECRET_KEY" => Some(key_hex.clone()),
        "IGSYNC_DATABASE_URL" => Some("postgres://igsync:db-password-42@db:5432/igsync".into()),
        "IGSYNC_GRAPH_APP_SECRET" => Some("app-secret-0123456789".into()),
        "IGSYNC_ALERTS_WEBHOOK_URL" => Some("https://hooks.example/x".into()),
        "IGSYNC_ALERTS_WEBHOOK_SECRET" => Some("webhook-secret-0123456789".into()),
        _ => None,
    };
    let config = igsync::config::Config::from_text(None, &Default::default(), &env).unwrap();
    let cipher = Cipher::new(&key);
    let sealed = cipher.encrypt(&SecretString::new(token)).unwrap();
    let shown = format!(
        "{config:?} {cipher:?} {key:?} {sealed:?} {:?} {}",
        SecretString::new(token),
        SecretString::new(token)
    );
    let secrets = [
        ("the secret key", key_hex.clone()),
        ("the database password", "db-password-42".to_string()),
        ("the app secret", "app-secret-0123456789".to_string()),
        (
            "the webhook secret",
            "webhook-secret-0123456789".to_string(),
        ),
        ("a token", token.to_string()),
    ];
    for (what, secret) in &secrets {
        assert!(
            !shown.contains(secret.as_str()),
            "{what} in Debug output: {shown}"
        );
    }
}
