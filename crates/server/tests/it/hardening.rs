//! What an attack run against the server broke, each case on a real listener: keys stored as
//! argon2 hashes (verified one at a time, upgraded on use), failed keys and sign-ins
//! throttled per client and per key id, cross-site sign-ins, half-sent requests and
//! connection floods, and a database that goes away (answered at once, not after the pool's
//! timeout). Clients bind loopback addresses other than 127.0.0.1 to stand for other hosts.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::StatusCode;
use server::ServerSettings;
use store::{ApiKey, SecretString, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::support::{TestApp, assert_error, json_of, pg, sqlite_store};

/// An HTTP client whose connections come from `ip` (any address of 127.0.0.0/8).
fn client_from(ip: &str) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// An argon2 hash of a key's secret part, as keys created before the digest format carry.
fn legacy_hash(secret: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::encode_b64(&[3u8; 16]).unwrap();
    argon2::Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

/// Stores a key with a legacy argon2 hash; returns the whole key.
async fn legacy_key(store: &dyn Store, id: &str) -> String {
    let secret = format!("{id}{id}{id}{id}");
    store
        .api_key_insert(ApiKey {
            id: id.to_owned(),
            name: format!("legacy {id}"),
            hash: legacy_hash(&secret),
            created_at: Utc::now(),
            last_used_at: None,
            revoked_at: None,
            workspace_id: None,
            role: store::Role::Admin,
        })
        .await
        .unwrap();
    format!("igs_{id}_{secret}")
}

/// `key` with its last secret character changed.
fn wrong(key: &str) -> String {
    let mut wrong = key.to_owned();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    wrong
}

async fn status_of(client: &reqwest::Client, app: &TestApp, key: &str) -> StatusCode {
    client
        .get(app.url("/api/v1/accounts"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keys_are_digests_and_legacy_argon2_keys_work_once_then_are_upgraded() {
    let app = TestApp::spawn_on(
        sqlite_store("igsync-server-hardening").await,
        ServerSettings::default(),
    )
    .await;
    // New keys: a SHA-256 digest of the whole key, nothing of the secret.
    let stored = app.store.api_key_get(&app.key_id).await.unwrap().unwrap();
    assert_eq!(stored.hash, server::auth::key_hash(app.key.expose()));
    assert!(stored.hash.starts_with("sha256:") && stored.hash.len() == 7 + 64);
    assert!(!stored.hash.contains(&app.key.expose()[21..]));

    let legacy = legacy_key(&*app.store, "00112233aabbccdd").await;
    let client = client_from("127.0.0.1");
    assert_eq!(status_of(&client, &app, &wrong(&legacy)).await, 401);
    let before = app
        .store
        .api_key_get("00112233aabbccdd")
        .await
        .unwrap()
        .unwrap();
    assert!(
        before.hash.starts_with("$argon2id$"),
        "a failure changes nothing"
    );
    assert_eq!(status_of(&client, &app, &legacy).await, 200);
    let after = app
        .store
        .api_key_get("00112233aabbccdd")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        after.hash,
        server::auth::key_hash(&legacy),
        "upgraded on use"
    );
    // A fresh server process (no cache) accepts it by its digest now.
    let fresh = server::AppState::new(app.store.clone(), ServerSettings::default());
    let second = TestApp::serve(fresh, SecretString::new(legacy.clone()), after.id.clone()).await;
    assert_eq!(status_of(&client, &second, &legacy).await, 200);
    assert_eq!(status_of(&client, &second, &wrong(&legacy)).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_on_a_legacy_key_runs_at_most_the_allowed_argon2_verifications() {
    let app = TestApp::spawn_on(
        sqlite_store("igsync-server-hardening").await,
        ServerSettings::default(),
    )
    .await;
    let legacy = legacy_key(&*app.store, "aabbccddeeff0011").await;
    let bad = wrong(&legacy);
    // 60 wrong secrets at once from 3 hosts: at most `LEGACY_QUEUE` wait for the one argon2
    // verification at a time, the others are told to come back (429) at once.
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..60 {
        let client = client_from(&format!("127.0.0.{}", 2 + n % 3));
        let url = app.url("/api/v1/accounts");
        let bad = bad.clone();
        tasks.spawn(async move {
            let res = client.get(url).bearer_auth(bad).send().await.unwrap();
            let retry_after = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            (res.status(), retry_after)
        });
    }
    let mut counts = std::collections::BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        let (status, retry_after) = done.unwrap();
        *counts.entry(status.as_u16()).or_insert(0) += 1;
        if status == 429 {
            assert!(retry_after.is_some_and(|s| (1..=60).contains(&s)));
        }
    }
    let verified = counts.get(&401).copied().unwrap_or(0);
    assert!((1..=20).contains(&verified), "{counts:?}");
    assert_eq!(counts.get(&429).copied().unwrap_or(0), 60 - verified);
    // One at a time, the key id takes 20 failures a minute in all, then 429 without a
    // verification.
    let client = client_from("127.0.0.5");
    let mut total = verified;
    loop {
        match status_of(&client, &app, &bad).await.as_u16() {
            401 => total += 1,
            429 => break,
            other => panic!("{other}"),
        }
        assert!(total <= 20, "more than 20 verifications");
    }
    assert_eq!(total, 20);
    // The holder of the right key is locked out of its key id until the window ends (it
    // never verified on this server); the key is untouched.
    assert_eq!(
        status_of(&client_from("127.0.0.9"), &app, &legacy).await,
        429
    );
    let stored = app
        .store
        .api_key_get("aabbccddeeff0011")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.hash.starts_with("$argon2id$"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_keys_are_throttled_per_client_and_per_key_id_but_never_lock_out_a_proven_key() {
    let settings = ServerSettings {
        auth_failures_per_client: 5,
        auth_failures_per_key: 3,
        ..ServerSettings::default()
    };
    let app = TestApp::spawn_on(sqlite_store("igsync-server-hardening").await, settings).await;
    let good = app.key.expose().to_owned();
    let (_, unproven) = server::auth::create_api_key(&*app.store, "unproven", chrono::Utc::now())
        .await
        .unwrap();
    let home = client_from("127.0.0.1");
    assert_eq!(status_of(&home, &app, &good).await, 200, "proven here");

    // Per client: 5 failures (malformed, unknown ids), then 429 for anything unproven.
    for n in 0..5 {
        let key = format!("igs_{n:016x}_{}", "0".repeat(64));
        assert_eq!(status_of(&home, &app, &key).await, 401);
    }
    let asked = Instant::now();
    let res = home
        .get(app.url("/api/v1/accounts"))
        .bearer_auth("igs_fffffffffffffff0_nope")
        .send()
        .await
        .unwrap();
    assert!(
        asked.elapsed() >= Duration::from_secs(1),
        "a refusal is held for a second"
    );
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((55..=60).contains(&retry), "{retry}");
    let message = assert_error(res, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    assert!(message.contains("try again in"), "{message}");
    assert_eq!(status_of(&home, &app, unproven.expose()).await, 429);
    assert_eq!(
        status_of(&home, &app, &good).await,
        200,
        "a proven key passes"
    );
    let elsewhere = client_from("127.0.0.2");
    assert_eq!(status_of(&elsewhere, &app, unproven.expose()).await, 200);

    // Per key id, from anywhere: 3 failures, then 429 — the same for an id that exists and
    // one that does not, so the throttle tells nothing about which ids exist.
    let unknown = format!("igs_0badc0ffee000000_{}", "1".repeat(64));
    for key in [wrong(&good), unknown] {
        for n in 0..3 {
            let client = client_from(&format!("127.0.1.{n}"));
            assert_eq!(status_of(&client, &app, &key).await, 401, "{n}");
        }
        assert_eq!(status_of(&client_from("127.0.1.9"), &app, &key).await, 429);
    }
    // The key's holder is not locked out: this exact key verified before.
    assert_eq!(status_of(&client_from("127.0.1.9"), &app, &good).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_ins_are_throttled_and_refused_from_other_sites() {
    let settings = ServerSettings {
        auth_failures_per_client: 3,
        auth_failures_per_key: 3,
        ..ServerSettings::default()
    };
    let app = TestApp::spawn_on(sqlite_store("igsync-server-hardening").await, settings).await;
    let host = app.base.trim_start_matches("http://").to_owned();
    let sign_in = |client: reqwest::Client, key: String, headers: Vec<(&'static str, String)>| {
        let url = app.url("/login");
        async move {
            let mut req = client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded");
            for (name, value) in headers {
                req = req.header(name, value);
            }
            let res = req.body(format!("key={key}")).send().await.unwrap();
            let status = res.status().as_u16();
            let retry = res.headers().get("retry-after").cloned();
            (status, retry, res.text().await.unwrap())
        }
    };
    let good = app.key.expose().to_owned();
    let home = client_from("127.0.0.1");

    // Cross-site posts are refused before the key is even looked at.
    for headers in [
        vec![("origin", "https://evil.example".to_owned())],
        vec![("sec-fetch-site", "cross-site".to_owned())],
        vec![
            ("sec-fetch-site", "cross-site".to_owned()),
            ("origin", "null".to_owned()),
        ],
        vec![
            ("sec-fetch-site", "same-site".to_owned()),
            ("origin", format!("http://{host}")),
        ],
    ] {
        let (status, _, page) = sign_in(home.clone(), good.clone(), headers.clone()).await;
        assert_eq!(status, 403, "{headers:?}");
        assert!(page.contains("own sign-in page"), "{page}");
    }
    // What a browser sends for the dashboard's own form (its no-referrer policy makes the
    // origin `null`).
    let browser = vec![
        ("origin", "null".to_owned()),
        ("sec-fetch-site", "same-origin".to_owned()),
    ];

    // Three failed sign-ins from one client, then 429 with Retry-After, even for a right
    // key that never signed in from anywhere.
    for n in 0..3 {
        let (status, _, page) = sign_in(
            home.clone(),
            format!("igs_{n:016x}_{}", "0".repeat(64)),
            browser.clone(),
        )
        .await;
        assert_eq!(status, 401);
        assert!(page.contains("not valid"));
    }
    let (status, retry, page) = sign_in(home.clone(), good.clone(), browser.clone()).await;
    assert_eq!(status, 429);
    assert!(retry.is_some(), "Retry-After");
    assert!(page.contains("Too many failed sign-ins"), "{page}");
    // Another client signs in with it.
    let (status, _, _) = sign_in(client_from("127.0.0.2"), good.clone(), browser.clone()).await;
    assert_eq!(status, 303);

    // Per key id: three wrong secrets from three clients lock the id for wrong secrets.
    for n in 0..3 {
        let (status, _, _) = sign_in(
            client_from(&format!("127.0.2.{n}")),
            wrong(&good),
            browser.clone(),
        )
        .await;
        assert_eq!(status, 401);
    }
    let (status, _, _) = sign_in(client_from("127.0.2.9"), wrong(&good), browser.clone()).await;
    assert_eq!(status, 429);
    let (status, _, _) = sign_in(client_from("127.0.2.9"), good, browser).await;
    assert_eq!(status, 303, "the proven key still signs in");
}

/// Opens a connection from `ip` and sends a request head without its final blank line.
async fn half_sent(ip: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(ip.parse().unwrap(), 0))
        .unwrap();
    let mut stream = socket.connect(to).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: igsync\r\nX-Slow: 1\r\n")
        .await
        .unwrap();
    stream
}

/// Waits until the server closes `stream` (end of file or reset); returns how long it took.
async fn closed_within(mut stream: TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(
            tokio::time::Instant::from_std(started + limit),
            stream.read(&mut buf),
        )
        .await
        {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            // A 408 or similar before closing is fine.
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn half_sent_requests_are_closed_and_connections_are_capped() {
    let settings = ServerSettings {
        header_read_timeout: Duration::from_secs(1),
        max_connections: 6,
        max_connections_per_client: 4,
        ..ServerSettings::default()
    };
    let app = TestApp::spawn_on(sqlite_store("igsync-server-hardening").await, settings).await;
    let addr: SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();

    // Ten half-sent requests from one host: four are held (its cap), six closed at once.
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(half_sent("127.0.0.1", addr).await);
    }
    let closed: Vec<Option<Duration>> = futures_join(
        held.into_iter()
            .map(|s| closed_within(s, Duration::from_secs(5))),
    )
    .await;
    let at_once = closed
        .iter()
        .filter(|c| c.is_some_and(|d| d < Duration::from_millis(700)))
        .count();
    assert_eq!(at_once, 6, "{closed:?}");
    for c in &closed {
        let d = c.expect("every half-sent request is closed");
        assert!(
            d < Duration::from_secs(4),
            "closed after the 1 s header timeout: {d:?}"
        );
    }

    // While one host holds its cap, another is served.
    let mut slow = Vec::new();
    for _ in 0..4 {
        slow.push(half_sent("127.0.0.1", addr).await);
    }
    let res = client_from("127.0.0.2")
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // At the global cap (4 + 2 held), a new client waits for a slot instead of being
    // refused: it is answered once the half-sent requests time out.
    slow.push(half_sent("127.0.0.3", addr).await);
    slow.push(half_sent("127.0.0.3", addr).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let res = client_from("127.0.0.4")
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        started.elapsed() > Duration::from_millis(300),
        "it waited for a slot: {:?}",
        started.elapsed()
    );
    drop(slow);
}

async fn futures_join<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// A TCP proxy in front of PostgreSQL that can go dark: when down it drops every connection
/// and stops accepting (new connections hang in the backlog, as with a dead host).
struct Proxy {
    addr: SocketAddr,
    up: tokio::sync::watch::Sender<bool>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, mut rx) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            let mut links = tokio::task::JoinSet::new();
            loop {
                if !*rx.borrow_and_update() {
                    links.abort_all();
                    if rx.changed().await.is_err() {
                        return;
                    }
                    continue;
                }
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { continue };
                        links.spawn(async move {
                            if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            }
                        });
                    }
                    changed = rx.changed() => if changed.is_err() { return },
                }
            }
        });
        Proxy { addr, up }
    }

    fn set(&self, up: bool) {
        self.up.send_replace(up);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_is_answered_at_once_and_ends_by_itself() {
    let (name, url) = pg::create().await;
    let parsed = reqwest::Url::parse(&url).unwrap();
    let upstream: SocketAddr =
        tokio::net::lookup_host((parsed.host_str().unwrap(), parsed.port().unwrap_or(5432)))
            .await
            .unwrap()
            .next()
            .unwrap();
    let proxy = Proxy::start(upstream).await;
    let mut via_proxy = parsed.clone();
    via_proxy.set_host(Some("127.0.0.1")).unwrap();
    via_proxy.set_port(Some(proxy.addr.port())).unwrap();
    let store = store_postgres::PostgresStore::connect(via_proxy.as_str())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let app = TestApp::spawn_on(Arc::new(store), ServerSettings::default()).await;
    let (_, unused) =
        server::auth::create_api_key(&*app.store, "never used yet", chrono::Utc::now())
            .await
            .unwrap();
    json_of(app.get("/api/v1/accounts").await, StatusCode::OK).await;
    json_of(app.get("/readyz").await, StatusCode::OK).await;

    proxy.set(false);
    let timed = |key: String, path: &'static str| {
        let (client, url) = (app.client.clone(), app.url(path));
        async move {
            let started = Instant::now();
            let res = client.get(url).bearer_auth(key).send().await.unwrap();
            (started.elapsed(), res)
        }
    };
    // Readiness answers within 2 s from the first probe on, with a key this server has
    // verified and with one it has never seen (whose check needs the database).
    let mut slowest = Duration::ZERO;
    // The unseen key first, while nothing is known about the outage yet.
    for key in [unused.expose().to_owned(), app.key.expose().to_owned()] {
        for _ in 0..3 {
            let (took, res) = timed(key.clone(), "/readyz").await;
            slowest = slowest.max(took);
            let body = json_of(res, StatusCode::SERVICE_UNAVAILABLE).await;
            assert_eq!(body["status"], "unavailable");
        }
    }
    assert!(slowest < Duration::from_secs(2), "/readyz took {slowest:?}");
    // The API fails fast (the pool would wait 10 s for a connection).
    for _ in 0..10 {
        let (took, res) = timed(app.key.expose().to_owned(), "/api/v1/accounts").await;
        assert!(took < Duration::from_secs(2), "{took:?}");
        assert_error(res, StatusCode::SERVICE_UNAVAILABLE, "database_unavailable").await;
    }
    let page = app.client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(page.status(), 503);
    assert!(page.text().await.unwrap().contains("<html"));
    let alive = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(alive.status(), 200, "liveness needs no database");

    // Back: the gate opens by itself.
    proxy.set(true);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = app.get("/api/v1/accounts").await;
        if res.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the API did not come back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    json_of(app.get("/readyz").await, StatusCode::OK).await;
    drop(app);
    pg::drop(&name).await;
}
