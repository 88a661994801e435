//! Secrets: account tokens are sealed with an AEAD under a key that never reaches the
//! database, `igsync keys rotate-secret` re-encrypts every token in one transaction (all or
//! nothing), API keys are stored as SHA-256 digests, and no token, key or secret shows up in
//! any output of a full demo run (logs at debug level, the terminal, every dashboard page,
//! every API answer, `/metrics`). The dashboard's session cookie is HttpOnly and
//! SameSite=Strict, its forms need the CSRF token, and every answer carries the security
//! headers.
//!
//! Attacks on `igsync serve` without a key: a flood of wrong secrets (memory stays bounded,
//! the right key keeps working), wrong secrets for real and for missing key ids (answered
//! alike), half-sent requests (closed, capped per host) and sign-in guessing (throttled;
//! cross-site sign-ins refused).

use std::time::Duration;

use store::{Cipher, DynStore, NewAccount, SecretKey, SecretString};

use crate::both_dialects;
use crate::support::{
    Dialect, Harness, api_key, assert_absent, http, record_figures, serve, sim_config, start_sim,
};

both_dialects!(tokens_are_sealed_at_rest_and_rotation_is_all_or_nothing);

/// Every byte of the database as the disk (SQLite files, read without touching this process's
/// locks) or a dump (PostgreSQL) holds it.
async fn raw_database(h: &Harness) -> Vec<u8> {
    match &h.db.file {
        Some(file) => testsupport::sqlite_file_bytes(file),
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
        keys.iter()
            .all(|k| k.hash == server::auth::key_hash(&key) && k.hash.starts_with("sha256:")),
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
    assert!(
        refused.stderr.contains("(@foreign)"),
        "the refusal names the account: {refused}"
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
            "api_key_hash": "SHA-256 of the 256-bit key",
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
    let db_bytes = testsupport::sqlite_file_bytes(&demo_dir.join("igsync.db"));
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
    h.add_unverified("17841400000000077", "EAAG-some-token")
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

/// An HTTP client whose connections come from `ip` (any address of 127.0.0.0/8 stands for
/// another host), one connection per request in flight.
fn client_from(ip: &str) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .timeout(Duration::from_secs(120))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A process's resident memory now and at its peak, in bytes (`VmRSS`, `VmHWM`).
fn rss_bytes(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// How many sockets a process holds open.
fn open_sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
        .unwrap_or(0)
}

/// `key` with its last secret character changed.
fn wrong_secret(key: &str) -> String {
    let mut wrong = key.to_owned();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    wrong
}

/// Stores a key with an argon2 hash of its secret, as keys created before the digest format
/// carry; returns the whole key.
async fn legacy_key(store: &DynStore, id: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let secret = id.repeat(4);
    let salt = SaltString::encode_b64(&[9u8; 16]).unwrap();
    let hash = argon2::Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .unwrap()
        .to_string();
    store
        .api_key_insert(store::ApiKey {
            id: id.to_owned(),
            name: "legacy".into(),
            hash,
            created_at: chrono::Utc::now(),
            last_used_at: None,
            revoked_at: None,
            workspace_id: None,
            role: store::Role::Admin,
        })
        .await
        .unwrap();
    format!("igs_{id}_{secret}")
}

/// 1,000 requests at once with the wrong secret of real key ids — one stored as a digest,
/// one still carrying a legacy argon2 hash — from 8 hosts, while the holder of the right key
/// keeps working: `igsync serve` stays under 100 MB at its peak (it took 10.7 GB when every
/// wrong secret ran an argon2 verification of its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wrong_secret_flood_keeps_memory_bounded_and_the_right_key_working() {
    const FLOOD: usize = 1000;
    const LIMIT: u64 = 100_000_000;
    let h = Harness::new(Dialect::Sqlite, "flood").await;
    h.ok(&["migrate"], None).await;
    let key = api_key(&h, "owner").await;
    let store = h.db.open().await;
    let legacy = legacy_key(&store, "0123456789abcdef").await;
    let (mut server, base) = serve(&h, &["--no-worker"]).await;
    let url = format!("{base}/api/v1/accounts");
    let owner = client_from("127.0.0.2");
    let res = owner.get(&url).bearer_auth(&key).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let (before, _) = rss_bytes(server.pid);

    let hosts: Vec<reqwest::Client> = (0..8)
        .map(|n| client_from(&format!("127.0.4.{n}")))
        .collect();
    let started = std::time::Instant::now();
    let mut flood = tokio::task::JoinSet::new();
    for n in 0..FLOOD {
        let client = hosts[n % hosts.len()].clone();
        let (url, bad) = (
            url.clone(),
            wrong_secret(if n % 2 == 0 { &key } else { &legacy }),
        );
        flood.spawn(async move {
            match client.get(url).bearer_auth(bad).send().await {
                Ok(res) => (n % 2, res.status().as_u16()),
                Err(_) => (n % 2, 0),
            }
        });
    }
    // Meanwhile the owner's requests go on.
    let mut owner_ok = 0;
    let mut owner_failed = 0;
    let mut counts: std::collections::BTreeMap<(usize, u16), u64> = Default::default();
    while !flood.is_empty() {
        match owner.get(&url).bearer_auth(&key).send().await {
            Ok(res) if res.status() == 200 => owner_ok += 1,
            _ => owner_failed += 1,
        }
        while let Some(done) = flood.try_join_next() {
            *counts.entry(done.unwrap()).or_default() += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let flood_secs = started.elapsed().as_secs_f64();
    let (after, peak) = rss_bytes(server.pid);
    assert!(server.alive(), "{}", server.stderr());
    assert_eq!(owner_failed, 0, "the right key always worked");
    assert!(owner_ok >= 1);
    let answered: u64 = counts.values().sum();
    assert_eq!(answered, FLOOD as u64, "{counts:?}");
    for ((_, status), n) in &counts {
        assert!(
            *status == 401 || *status == 429,
            "{n} answers {status}: {counts:?}"
        );
    }
    let legacy_verified = counts.get(&(1, 401)).copied().unwrap_or(0);
    assert!(
        legacy_verified <= 20,
        "at most 20 argon2 verifications a minute for a key id: {counts:?}"
    );
    assert!(
        peak < LIMIT,
        "igsync serve peaked at {:.1} MB under the flood (limit {:.0} MB)",
        peak as f64 / 1e6,
        LIMIT as f64 / 1e6
    );
    // The legacy key's holder gets in unless the flood used up its key id's failures
    // (then it waits for the window like anyone who never verified here); a success
    // replaces the argon2 hash by the digest.
    let res = owner.get(&url).bearer_auth(&legacy).send().await.unwrap();
    let legacy_after_flood = res.status().as_u16();
    assert_eq!(
        legacy_after_flood,
        if legacy_verified < 20 { 200 } else { 429 },
        "{counts:?}"
    );
    assert!(server.terminate().await.success());
    let stored = store
        .api_key_get("0123456789abcdef")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.hash.starts_with("sha256:"),
        legacy_after_flood == 200,
        "{stored:?}"
    );
    record_figures(
        "wrong_secret_flood",
        serde_json::json!({
            "concurrent_wrong_secret_requests": FLOOD,
            "client_hosts": hosts.len(),
            "rss_before_mb": (before as f64 / 1e5).round() / 10.0,
            "rss_peak_mb": (peak as f64 / 1e5).round() / 10.0,
            "rss_after_mb": (after as f64 / 1e5).round() / 10.0,
            "limit_mb": LIMIT / 1_000_000,
            "flood_seconds": (flood_secs * 10.0).round() / 10.0,
            "digest_key": {
                "401": counts.get(&(0, 401)).copied().unwrap_or(0),
                "429": counts.get(&(0, 429)).copied().unwrap_or(0),
            },
            "legacy_argon2_key": {
                "401_verified": legacy_verified,
                "429": counts.get(&(1, 429)).copied().unwrap_or(0),
            },
            "legacy_key_holder_after_flood": legacy_after_flood,
            "owner_requests_ok_during_flood": owner_ok,
            "owner_requests_failed": owner_failed,
        }),
    );
    h.db.teardown().await;
}

fn median_ms(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// A wrong secret costs one digest and one constant-time comparison whether its key id
/// exists or not (it was one argon2 verification, ~20 ms, against ~1.4 ms for a missing
/// id). Each request comes from a host of its own and each real id gets fewer wrong secrets
/// than its throttle allows, so every answer is a verified 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wrong_secret_takes_as_long_for_a_missing_key_id_as_for_a_real_one() {
    const PER_KIND: usize = 120;
    let h = Harness::new(Dialect::Sqlite, "timing").await;
    h.ok(&["migrate"], None).await;
    let store = h.db.open().await;
    let mut real = Vec::new();
    for n in 0..(PER_KIND / 10) {
        let (_, key) =
            server::auth::create_api_key(&*store, &format!("timing {n}"), chrono::Utc::now())
                .await
                .unwrap();
        real.push(key.expose().to_owned());
    }
    let (mut server, base) = serve(&h, &["--no-worker"]).await;
    let url = format!("{base}/api/v1/accounts");
    let (mut known, mut missing) = (Vec::new(), Vec::new());
    for n in 0..(2 * PER_KIND + 20) {
        let client = client_from(&format!("127.0.5.{}", n % 250 + 1));
        let key = if n % 2 == 0 {
            wrong_secret(&real[(n / 2) % real.len()])
        } else {
            format!("igs_{:016x}_{}", 0xfeed_0000_u64 + n as u64, "0".repeat(64))
        };
        // Warm the connection so that only the key check is timed.
        let _ = client.get(format!("{base}/healthz")).send().await.unwrap();
        let t = std::time::Instant::now();
        let res = client.get(&url).bearer_auth(&key).send().await.unwrap();
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(res.status(), 401, "request {n}");
        let body = res.text().await.unwrap();
        assert!(body.contains("invalid API key"), "{body}");
        if n < 20 {
            continue; // warm-up
        }
        if n % 2 == 0 {
            known.push(ms);
        } else {
            missing.push(ms);
        }
    }
    assert!(server.terminate().await.success());
    let (known_p50, missing_p50) = (median_ms(&mut known), median_ms(&mut missing));
    // Same work on both paths; the bound leaves room for a busy machine, and an argon2
    // verification on the real-id path (~20 ms) is far outside it.
    assert!(
        known_p50 <= 3.0 * missing_p50 + 1.0,
        "wrong secret: real id p50 {known_p50:.2} ms, missing id p50 {missing_p50:.2} ms"
    );
    record_figures(
        "wrong_secret_timing",
        serde_json::json!({
            "samples_each": known.len(),
            "real_key_id_p50_ms": (known_p50 * 100.0).round() / 100.0,
            "missing_key_id_p50_ms": (missing_p50 * 100.0).round() / 100.0,
        }),
    );
    h.db.teardown().await;
}

/// 3,000 half-sent requests from one host: `igsync serve` holds at most 128 of them (the
/// per-host cap; the rest are closed as soon as accepted), closes each held one after the
/// 10 s header read timeout, and serves other hosts meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn half_sent_requests_are_closed_and_one_host_cannot_take_every_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const SLOW: usize = 3000;
    let h = Harness::new(Dialect::Sqlite, "slowloris").await;
    h.ok(&["migrate"], None).await;
    let (mut server, base) = serve(&h, &["--no-worker"]).await;
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let sockets_before = open_sockets(server.pid);

    let started = std::time::Instant::now();
    let mut waits = tokio::task::JoinSet::new();
    for _ in 0..SLOW {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        // A request head without its final blank line.
        let _ = stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: igsync\r\nX-Slow: 1\r\n")
            .await;
        waits.spawn(async move {
            let mut buf = [0u8; 512];
            let limit = tokio::time::Instant::now() + Duration::from_secs(40);
            loop {
                match tokio::time::timeout_at(limit, stream.read(&mut buf)).await {
                    Err(_) => return None,
                    Ok(Ok(0) | Err(_)) => return Some(std::time::Instant::now()),
                    Ok(Ok(_)) => {}
                }
            }
        });
    }
    let opened_in = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = open_sockets(server.pid).saturating_sub(sockets_before);
    assert!(held <= 128 + 4, "{held} connections held for one host");
    // Another host is served at once.
    let t = std::time::Instant::now();
    let res = client_from("127.0.0.2")
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let other_host_ms = t.elapsed().as_secs_f64() * 1000.0;

    let mut closed_after = Vec::new();
    while let Some(done) = waits.join_next().await {
        let at = done
            .unwrap()
            .expect("the server closed every half-sent request");
        closed_after.push((at - started).as_secs_f64());
    }
    closed_after.sort_by(f64::total_cmp);
    let last = *closed_after.last().unwrap();
    let at_once = closed_after.iter().filter(|s| **s < 5.0).count();
    assert!(
        last < 10.0 + opened_in.as_secs_f64() + 5.0,
        "the last half-sent request was closed after {last:.1} s"
    );
    assert!(server.alive(), "{}", server.stderr());
    assert!(server.terminate().await.success());
    record_figures(
        "half_sent_requests",
        serde_json::json!({
            "half_sent_requests": SLOW,
            "opened_in_seconds": (opened_in.as_secs_f64() * 10.0).round() / 10.0,
            "held_by_the_server": held,
            "closed_within_5_seconds": at_once,
            "last_closed_after_seconds": (last * 10.0).round() / 10.0,
            "other_host_served_in_ms": (other_host_ms * 10.0).round() / 10.0,
        }),
    );
    h.db.teardown().await;
}

/// Guessing keys at the sign-in form: 20 failures from one host (or for one key id) within
/// a minute, then 429 with `Retry-After`; a sign-in posted from another site is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_in_guessing_is_throttled_and_cross_site_sign_ins_are_refused() {
    let h = Harness::new(Dialect::Sqlite, "signin").await;
    h.ok(&["migrate"], None).await;
    let key = api_key(&h, "browser").await;
    let (mut server, base) = serve(&h, &["--no-worker"]).await;
    let host = base.trim_start_matches("http://").to_string();
    let post = |client: reqwest::Client, key: String, origin: String| {
        let url = format!("{base}/login");
        async move {
            let res = client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("origin", origin)
                .body(format!("key={key}"))
                .send()
                .await
                .unwrap();
            let retry = res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            (res.status().as_u16(), retry)
        }
    };
    let own = format!("http://{host}");
    let (status, _) = post(
        client_from("127.0.0.1"),
        key.clone(),
        "https://evil.example".into(),
    )
    .await;
    assert_eq!(status, 403, "a cross-site sign-in");

    let guesser = client_from("127.0.6.1");
    let mut statuses = Vec::new();
    for n in 0..25 {
        let guess = format!("igs_{:016x}_{}", 0xbad0_u64 + n, "f".repeat(64));
        statuses.push(post(guesser.clone(), guess, own.clone()).await);
    }
    assert!(
        statuses[..20].iter().all(|(s, _)| *s == 401),
        "{statuses:?}"
    );
    assert!(
        statuses[20..]
            .iter()
            .all(|(s, r)| *s == 429 && r.is_some_and(|r| (1..=60).contains(&r))),
        "{statuses:?}"
    );
    let retry_after = statuses[20].1.unwrap();
    let (status, _) = post(client_from("127.0.6.2"), key.clone(), own.clone()).await;
    assert_eq!(status, 303, "another host signs in");

    // One key id guessed from 25 hosts.
    let mut by_id = Vec::new();
    for n in 0..25 {
        by_id.push(
            post(
                client_from(&format!("127.0.7.{n}")),
                wrong_secret(&key),
                own.clone(),
            )
            .await
            .0,
        );
    }
    assert!(by_id[..20].iter().all(|s| *s == 401), "{by_id:?}");
    assert!(by_id[20..].iter().all(|s| *s == 429), "{by_id:?}");
    let (status, _) = post(client_from("127.0.7.99"), key.clone(), own.clone()).await;
    assert_eq!(
        status, 303,
        "the key's holder still signs in: it signed in before"
    );
    assert!(server.terminate().await.success());
    record_figures(
        "sign_in_throttling",
        serde_json::json!({
            "failures_allowed_per_host_per_minute": 20,
            "failures_allowed_per_key_id_per_minute": 20,
            "retry_after_seconds_at_the_first_429": retry_after,
            "guesses_from_one_host": statuses.len(),
            "answered_401": statuses.iter().filter(|(s, _)| *s == 401).count(),
            "answered_429": statuses.iter().filter(|(s, _)| *s == 429).count(),
            "guesses_for_one_key_id_from_25_hosts_answered_429": by_id.iter().filter(|s| **s == 429).count(),
            "cross_site_sign_in": 403,
        }),
    );
    h.db.teardown().await;
}
