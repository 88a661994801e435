//! Meta's webhook notifications end to end, on SQLite and PostgreSQL: the simulator sends
//! signed notifications to `/webhooks/meta` of a real server while its clock runs through a
//! simulated day with stories expiring every hour; the engine processes the stored events
//! and runs each story's final read. Every story's final numbers must equal the simulator's
//! truth, whether they came from the webhook or from the final read; redeliveries after the
//! server was stopped are stored once; forged, unsigned, truncated and oversized bodies are
//! refused and stored nowhere.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::Value;
use server::{AppState, ServerSettings, WebhookSettings};
use simulator::{InsightsTruth, LoginKind as SimLogin, SimAccount, SimServer, WebhookConfig};
use store::{AccountId, Cipher, DynStore, Provenance, SecretKey, SecretString, Store, StoryFinal};
use sync::{Plan, Step};

use crate::support::{http_client, pg, sqlite_store, test_engine};

const VERIFY: &str = "verify-token-of-the-test";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dialect {
    Sqlite,
    Postgres,
}

/// A story as the simulator showed it: its account, when it was published, and its truth at
/// each step while it was live.
type Seen = (String, DateTime<Utc>, Vec<(DateTime<Utc>, InsightsTruth)>);

struct Served {
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

struct Env {
    store: DynStore,
    sim: SimServer,
    engine: sync::Engine,
    clock: sync::Clock,
    graph_clock: graph::Clock,
    clients: sync::GraphClients,
    accounts: Vec<(AccountId, SimAccount)>,
    state: AppState,
    addr: SocketAddr,
    served: Option<Served>,
    pg_name: Option<String>,
    /// Story id → (published, truth at each step while it was live).
    seen: BTreeMap<String, Seen>,
}

async fn store_for(d: Dialect) -> (DynStore, Option<String>) {
    match d {
        Dialect::Sqlite => (sqlite_store("igsync-webhooks").await, None),
        Dialect::Postgres => {
            let (name, url) = pg::create().await;
            let s = store_postgres::PostgresStore::connect(&url).await.unwrap();
            s.migrate().await.unwrap();
            (Arc::new(s), Some(name))
        }
    }
}

async fn serve_on(addr: SocketAddr, state: AppState) -> Served {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server::serve(listener, state, async {
        let _ = rx.await;
    }));
    Served { shutdown: tx, task }
}

impl Env {
    async fn start(d: Dialect, seed: u64, webhooks: bool) -> Env {
        let mut config = simulator::SimConfig::new(seed, 6, 8);
        config.webhooks_advanced_access = true;
        let sim = SimServer::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let (store, pg_name) = store_for(d).await;
        let clock = sync::Clock::manual(sim.now());
        let graph_clock = graph::Clock::offset();
        let clients = testsupport::sim_clients(&sim.url(), &graph_clock, None);
        let cipher = Cipher::new(&SecretKey::generate().unwrap());
        let accounts =
            testsupport::register_sim_accounts(&store, &sim, &cipher, clock.now(), |n| n).await;
        let engine = test_engine(&store, &clients, &cipher, &clock);
        let settings = ServerSettings {
            webhooks: Some(WebhookSettings {
                verify_token: SecretString::new(VERIFY),
                app_secret: SecretString::new(sim.app_secret()),
            }),
            ..ServerSettings::default()
        };
        let state = AppState::new(store.clone(), settings)
            .with_cipher(cipher)
            .with_engine(engine.clone())
            .with_graph(clients.clone());
        let probe = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = probe.local_addr().unwrap();
        drop(probe);
        let served = serve_on(addr, state.clone()).await;
        let mut env = Env {
            store,
            sim,
            engine,
            clock,
            graph_clock,
            clients,
            accounts,
            state,
            addr,
            served: Some(served),
            pg_name,
            seen: BTreeMap::new(),
        };
        if webhooks {
            env.sim
                .start_webhooks(WebhookConfig::new(env.hook_url(), VERIFY))
                .await
                .expect("the handshake with igsync succeeds");
            for (id, a) in &env.accounts {
                let client = env.clients.get(&login_of(a)).unwrap();
                let acct = graph::AccountRef::new(
                    a.ig_user_id.clone(),
                    graph::AccessToken::new(&a.access_token),
                );
                sync::webhooks::subscribe(&*env.store, client, *id, &acct, env.clock.now())
                    .await
                    .unwrap();
            }
        }
        env.record_truth();
        env
    }

    fn hook_url(&self) -> String {
        format!("http://{}/webhooks/meta", self.addr)
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by);
        self.graph_clock.advance(by);
        self.sim.advance_clock(by);
    }

    fn record_truth(&mut self) {
        let now = self.sim.now();
        for (_, a) in &self.accounts {
            let truth = self
                .sim
                .ground_truth(&a.ig_user_id, simulator::ApiVersion::V25)
                .unwrap();
            for s in truth.stories {
                let ts = DateTime::parse_from_str(&s.timestamp, "%Y-%m-%dT%H:%M:%S%z")
                    .unwrap()
                    .to_utc();
                self.seen
                    .entry(s.id.clone())
                    .or_insert_with(|| (a.ig_user_id.clone(), ts, Vec::new()))
                    .2
                    .push((now, s.insights));
            }
        }
    }

    /// Runs the clock for `hours` in 20-minute steps: webhooks delivered at each step,
    /// stories polled every hour, every due job run.
    async fn run(&mut self, hours: i64) {
        for step in 0..hours * 3 {
            if step % 3 == 0 {
                for (id, _) in &self.accounts {
                    self.engine
                        .enqueue_sync(*id, Plan::Only(Step::Stories), "test")
                        .await
                        .unwrap();
                }
            }
            self.engine.run_until_idle().await.unwrap();
            self.advance(Duration::minutes(20));
            self.record_truth();
            self.sim.flush_webhooks().await;
            self.engine.run_until_idle().await.unwrap();
        }
    }

    async fn stop_server(&mut self) {
        if let Some(s) = self.served.take() {
            let _ = s.shutdown.send(());
            let _ = s.task.await;
        }
    }

    async fn restart_server(&mut self) {
        self.served = Some(serve_on(self.addr, self.state.clone()).await);
    }

    async fn finals(&self) -> BTreeMap<String, StoryFinal> {
        let mut out = BTreeMap::new();
        let from = self.clock.now() - Duration::days(30);
        let to = self.clock.now() + Duration::days(30);
        for (id, _) in &self.accounts {
            for f in self.store.story_final_list(*id, from, to).await.unwrap() {
                out.insert(f.ig_media_id.clone(), f);
            }
        }
        out
    }

    async fn finish(mut self) {
        self.stop_server().await;
        self.sim.stop_webhooks().await;
        if let Some(name) = self.pg_name.take() {
            drop(self.store);
            drop(self.state);
            drop(self.engine);
            pg::drop(&name).await;
        }
    }
}

fn login_of(a: &SimAccount) -> graph::LoginKind {
    match a.login {
        SimLogin::Facebook => graph::LoginKind::Facebook,
        SimLogin::Instagram => graph::LoginKind::Instagram,
    }
}

/// A story's final numbers as `(metric, breakdown) → value`; missing values as None.
fn numbers(f: &StoryFinal) -> BTreeMap<(String, String), Option<f64>> {
    f.metrics
        .iter()
        .map(|m| {
            let breakdown = store::Breakdown::to_column(m.breakdown.as_ref());
            ((m.metric.clone(), breakdown), m.value)
        })
        .collect()
}

/// The truth of a live story as `(metric, breakdown) → value`.
fn truth_numbers(t: &InsightsTruth) -> Option<BTreeMap<(String, String), Option<f64>>> {
    let InsightsTruth::Values { values, breakdowns } = t else {
        return None;
    };
    let mut out = BTreeMap::new();
    for (m, v) in values {
        out.insert((m.clone(), String::new()), v.as_f64());
    }
    for (m, keys) in breakdowns {
        let dim = match m.as_str() {
            "navigation" => "story_navigation_action_type",
            _ => "action_type",
        };
        for (k, v) in keys {
            out.insert((m.clone(), format!("{dim}:{k}")), Some(*v as f64));
        }
    }
    Some(out)
}

/// Meta's legacy `story_insights` names, mapped independently of the code under test.
fn webhook_numbers(v: &Value) -> BTreeMap<(String, String), Option<f64>> {
    let map = [
        ("impressions", "views", ""),
        ("reach", "reach", ""),
        ("replies", "replies", ""),
        (
            "taps_forward",
            "navigation",
            "story_navigation_action_type:tap_forward",
        ),
        (
            "taps_back",
            "navigation",
            "story_navigation_action_type:tap_back",
        ),
        (
            "exits",
            "navigation",
            "story_navigation_action_type:tap_exit",
        ),
    ];
    map.iter()
        .map(|(legacy, m, b)| {
            let n = v[legacy].as_f64().unwrap();
            (
                (m.to_string(), b.to_string()),
                if n < 0.0 { None } else { Some(n) },
            )
        })
        .collect()
}

async fn a_day_with_webhooks(d: Dialect) {
    let mut env = Env::start(d, 20_261_205, true).await;
    let t0 = env.clock.now();
    env.run(26).await;
    // Late notifications of the last hours may still be held back by the sender.
    let recent = env.clock.now() - Duration::hours(4);
    let all = env.sim.webhook_events().await;
    assert!(
        all.iter()
            .all(|e| e.state == simulator::WebhookState::Delivered || e.time > recent),
        "every notification was accepted"
    );
    let events: Vec<_> = all
        .into_iter()
        .filter(|e| e.state == simulator::WebhookState::Delivered)
        .collect();
    let finals = env.finals().await;
    let story_events: Vec<_> = events
        .iter()
        .filter(|e| e.field == "story_insights")
        .collect();
    assert!(
        story_events.len() >= 8,
        "{} story notifications",
        story_events.len()
    );
    for e in &story_events {
        let id = e.value["media_id"].as_str().unwrap();
        let f = finals
            .get(id)
            .unwrap_or_else(|| panic!("story {id} has final numbers"));
        assert_eq!(f.provenance, Provenance::Webhook, "{id}");
        assert_eq!(numbers(f), webhook_numbers(&e.value), "{id}");
        if e.value["reach"] == -1 {
            assert!(
                f.metrics.iter().all(
                    |m| m.missing_reason.as_deref() == Some(sync::webhooks::NOT_ENOUGH_VIEWERS)
                )
            );
        }
    }
    // Every story that expired in the day has final numbers: from the webhook (Facebook
    // Login) or from the final read (Instagram Login sends no story insights).
    let end = env.clock.now();
    let mut by_source: BTreeMap<Provenance, usize> = BTreeMap::new();
    for (id, (_, published, _)) in &env.seen {
        let expiry = *published + Duration::days(1);
        if expiry <= t0 + Duration::hours(1) || expiry > end {
            continue;
        }
        let f = finals
            .get(id)
            .unwrap_or_else(|| panic!("story {id} has final numbers"));
        assert!(
            matches!(f.provenance, Provenance::Webhook | Provenance::FinalPoll),
            "{id}: {:?}",
            f.provenance
        );
        *by_source.entry(f.provenance).or_default() += 1;
    }
    assert!(
        by_source.get(&Provenance::Webhook).copied().unwrap_or(0) >= 8,
        "{by_source:?}"
    );
    // The report's completeness line counts the same stories.
    let (mut complete, mut expired, mut webhook) = (0, 0, 0);
    for (id, _) in &env.accounts {
        let c = sync::webhooks::story_completeness(&*env.store, *id, t0 + Duration::hours(1), end)
            .await
            .unwrap();
        assert_eq!(c.complete(), c.expired, "{c}");
        assert!(
            c.to_string().contains(" stories have final numbers ("),
            "{c}"
        );
        complete += c.complete();
        expired += c.expired;
        webhook += c.webhook;
    }
    let listed: usize = by_source.values().sum();
    assert_eq!((complete, expired), (listed, listed));
    assert_eq!(webhook, by_source[&Provenance::Webhook]);

    // One stored event per notification (duplicates and retries are stored once), all
    // processed without error; comments and mentions stored.
    let stored = env.store.webhook_event_list(false, 0).await.unwrap();
    assert_eq!(stored.len(), events.len());
    assert!(
        env.sim.webhook_deliveries().len() > events.len(),
        "duplicates were sent"
    );
    assert!(
        stored
            .iter()
            .all(|e| e.processed_at.is_some() && e.error.is_none())
    );
    let mut comments = 0;
    let mut mentions = 0;
    for (id, _) in &env.accounts {
        comments += env.store.comment_list(*id, None, 0).await.unwrap().len();
        mentions += env.store.mention_list(*id, 0).await.unwrap().len();
    }
    let count = |field: &str| events.iter().filter(|e| e.field == field).count();
    assert_eq!(comments, count("comments"));
    assert_eq!(mentions, count("mentions"));
    assert!(
        comments > 0 && mentions > 0,
        "{comments} comments, {mentions} mentions"
    );
    // Reports count the same comments and mentions.
    let (mut c_total, mut m_total) = (0, 0);
    for (id, _) in &env.accounts {
        let (c, m) = sync::webhooks::conversation_counts(
            &*env.store,
            *id,
            t0 - Duration::days(2),
            end + Duration::hours(1),
        )
        .await
        .unwrap();
        c_total += c;
        m_total += m;
    }
    assert_eq!((c_total, m_total), (comments, mentions));
    let status = env.store.webhook_account_status().await.unwrap();
    assert_eq!(status.len(), env.accounts.len());
    assert!(
        status
            .iter()
            .all(|s| s.fields.len() == 3 && s.error.is_none())
    );

    // The account page shows the stories' completeness, the subscription, comments and
    // mentions (escaped).
    let (key, secret) = server::auth::create_api_key(&*env.store, "tests", chrono::Utc::now())
        .await
        .unwrap();
    let app = crate::support::TestApp::serve(env.state.clone(), secret, key.id).await;
    let browser = crate::dashboard::Browser::sign_in(&app).await;
    let mut with_comments = None;
    for (id, _) in &env.accounts {
        if !env
            .store
            .comment_list(*id, None, 1)
            .await
            .unwrap()
            .is_empty()
        {
            with_comments = Some(*id);
            break;
        }
    }
    let with_comments = with_comments.unwrap();
    let page = browser.page(&format!("/accounts/{with_comments}")).await;
    assert!(
        page.contains("stories have final numbers ("),
        "stories panel"
    );
    assert!(page.contains("subscribed to story_insights, comments, mentions"));
    assert!(page.contains("<h2>Latest comments</h2>") && page.contains("<h2>Latest mentions</h2>"));
    let latest = &env
        .store
        .comment_list(with_comments, None, 1)
        .await
        .unwrap()[0];
    let username = latest.record.from_username.clone().unwrap();
    assert!(
        page.contains(&format!("@{username}")),
        "the latest comment is listed"
    );
    drop(browser);
    drop(app);
    env.finish().await;
}

async fn a_day_without_webhooks(d: Dialect) {
    let mut env = Env::start(d, 20_261_206, false).await;
    let t0 = env.clock.now();
    env.run(26).await;
    let end = env.clock.now();
    let finals = env.finals().await;
    let mut checked = 0;
    for (id, (_, published, truths)) in &env.seen {
        let expiry = *published + Duration::days(1);
        // Stories whose final read time came after the first hourly read.
        if expiry - Duration::minutes(30) <= t0 || expiry > end {
            continue;
        }
        let f = finals
            .get(id)
            .unwrap_or_else(|| panic!("story {id} has final numbers"));
        assert_eq!(f.provenance, Provenance::FinalPoll, "{id}");
        assert!(f.captured_at < expiry && f.captured_at >= expiry - Duration::minutes(30));
        let truth = &truths
            .iter()
            .find(|(at, _)| *at == f.captured_at)
            .unwrap_or_else(|| panic!("{id}: no truth at {}", f.captured_at))
            .1;
        match truth_numbers(truth) {
            Some(expected) => {
                // Every number read equals the truth (the catalog reads a subset of the
                // metrics the simulator knows), and the story's core numbers are there.
                let got = numbers(f);
                for (k, v) in &got {
                    assert_eq!(expected.get(k), Some(v), "{id}: {k:?}");
                }
                for k in ["views", "reach", "replies", "navigation"] {
                    assert!(
                        got.contains_key(&(k.to_owned(), String::new())),
                        "{id}: {k}"
                    );
                }
                assert!(got.len() >= 10, "{id}: {got:?}");
            }
            None => {
                assert!(f.metrics.is_empty(), "{id}");
                assert!(
                    f.reason
                        .as_deref()
                        .unwrap_or("")
                        .contains("not enough viewers"),
                    "{id}: {:?}",
                    f.reason
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 10, "{checked} stories checked");
    assert!(
        env.store
            .webhook_event_list(false, 0)
            .await
            .unwrap()
            .is_empty()
    );
    env.finish().await;
}

async fn redeliveries_after_a_stop(d: Dialect) {
    let mut env = Env::start(d, 20_261_207, true).await;
    env.run(6).await;
    let before = env.store.webhook_event_list(false, 0).await.unwrap().len();
    env.stop_server().await;
    // Meta keeps trying while igsync is down.
    env.run(4).await;
    let failed = env
        .sim
        .webhook_deliveries()
        .iter()
        .filter(|d| !d.accepted())
        .count();
    assert!(failed > 0, "deliveries failed while the server was down");
    env.restart_server().await;
    env.run(6).await;
    let recent = env.clock.now() - Duration::hours(4);
    let all = env.sim.webhook_events().await;
    assert!(
        all.iter()
            .all(|e| e.state == simulator::WebhookState::Delivered || e.time > recent)
    );
    let events: Vec<_> = all
        .into_iter()
        .filter(|e| e.state == simulator::WebhookState::Delivered)
        .collect();
    let stored = env.store.webhook_event_list(false, 0).await.unwrap();
    assert!(stored.len() > before);
    assert_eq!(
        stored.len(),
        events.len(),
        "one stored event per notification"
    );
    let keys: BTreeSet<&str> = stored.iter().map(|e| e.delivery_key.as_str()).collect();
    assert_eq!(keys.len(), stored.len());
    assert!(stored.iter().all(|e| e.processed_at.is_some()));
    env.finish().await;
}

fn sign(secret: &str, body: &[u8]) -> String {
    use hmac_sha256::sign as s;
    s(secret, body)
}

/// HMAC-SHA256 from its definition (RFC 2104) over `sha2`, so the test does not share the
/// receiver's code.
mod hmac_sha256 {
    use sha2::{Digest, Sha256};

    pub(crate) fn sign(secret: &str, body: &[u8]) -> String {
        let mut key = [0u8; 64];
        key[..secret.len()].copy_from_slice(secret.as_bytes());
        let ipad: Vec<u8> = key.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = key.iter().map(|b| b ^ 0x5c).collect();
        let inner = Sha256::new()
            .chain_update(&ipad)
            .chain_update(body)
            .finalize();
        let outer = Sha256::new()
            .chain_update(&opad)
            .chain_update(inner)
            .finalize();
        format!("sha256={}", hex::encode(outer))
    }
}

async fn bad_bodies_are_refused(d: Dialect) {
    let env = Env::start(d, 20_261_208, false).await;
    let c = http_client();
    let url = env.hook_url();
    let secret = env.sim.app_secret();
    let body = format!(
        r#"{{"object":"instagram","entry":[{{"id":"{}","time":1700000000,"changes":[{{"field":"mentions","value":{{"media_id":"1"}}}}]}}]}}"#,
        env.accounts[0].1.ig_user_id
    );
    let post = |body: Vec<u8>, sig: Option<String>| {
        let mut r = c
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(s) = sig {
            r = r.header("x-hub-signature-256", s);
        }
        r.send()
    };
    // The handshake.
    let r = c
        .get(format!(
            "{url}?hub.mode=subscribe&hub.challenge=12345&hub.verify_token={VERIFY}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(r.text().await.unwrap(), "12345");
    for q in [
        "hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong",
        "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=verify-token-of-the-test",
        "",
    ] {
        let r = c.get(format!("{url}?{q}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{q}");
    }
    // Forged (another secret), unsigned, malformed signature, truncated body.
    let forged = post(
        body.clone().into_bytes(),
        Some(sign("not-the-secret", body.as_bytes())),
    );
    assert_eq!(forged.await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        post(body.clone().into_bytes(), None)
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(body.clone().into_bytes(), Some("sha256=xyz".into()))
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let good = sign(&secret, body.as_bytes());
    let truncated = body.as_bytes()[..body.len() - 10].to_vec();
    assert_eq!(
        post(truncated, Some(good.clone())).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // Oversized, even when signed.
    let big = vec![b' '; server::webhooks::WEBHOOK_BODY_LIMIT + 1];
    let sig = sign(&secret, &big);
    assert_eq!(
        post(big, Some(sig)).await.unwrap().status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert!(
        env.store
            .webhook_event_list(false, 0)
            .await
            .unwrap()
            .is_empty(),
        "stored nowhere"
    );
    assert!(
        env.store
            .job_list(store::JobQuery {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .jobs
            .is_empty()
    );
    let refused: BTreeMap<String, i64> = env
        .store
        .webhook_rejections()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.reason, r.count))
        .collect();
    assert_eq!(refused.get("bad_signature"), Some(&3));
    assert_eq!(refused.get("missing_signature"), Some(&1));
    assert_eq!(refused.get("too_large"), Some(&1));
    // The genuine body is accepted once, its redelivery answered as a duplicate.
    let r = post(body.clone().into_bytes(), Some(good.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["duplicate"], false);
    let v: Value = post(body.clone().into_bytes(), Some(good))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["duplicate"], true);
    assert_eq!(
        env.store.webhook_event_list(false, 0).await.unwrap().len(),
        1
    );
    env.engine.run_until_idle().await.unwrap();
    assert_eq!(
        env.store
            .mention_list(env.accounts[0].0, 0)
            .await
            .unwrap()
            .len(),
        1
    );
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_a_day_of_stories_sqlite() {
    a_day_with_webhooks(Dialect::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_a_day_of_stories_postgres() {
    a_day_with_webhooks(Dialect::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_off_final_reads_sqlite() {
    a_day_without_webhooks(Dialect::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_off_final_reads_postgres() {
    a_day_without_webhooks(Dialect::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_redelivered_after_a_stop_sqlite() {
    redeliveries_after_a_stop(Dialect::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_redelivered_after_a_stop_postgres() {
    redeliveries_after_a_stop(Dialect::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_bad_bodies_refused_sqlite() {
    bad_bodies_are_refused(Dialect::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_bad_bodies_refused_postgres() {
    bad_bodies_are_refused(Dialect::Postgres).await;
}

/// Meta refuses the subscription of an app without Advanced Access: the refusal is
/// recorded with what it usually means, and the account is not marked subscribed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_a_refused_subscription_is_recorded() {
    let mut config = simulator::SimConfig::new(20_261_209, 1, 4);
    config.webhooks_advanced_access = false;
    let sim = SimServer::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let (store, _) = store_for(Dialect::Sqlite).await;
    let graph_clock = graph::Clock::offset();
    let clients = testsupport::sim_clients(&sim.url(), &graph_clock, None);
    let cipher = Cipher::new(&SecretKey::generate().unwrap());
    let now = sim.now();
    let accounts = testsupport::register_sim_accounts(&store, &sim, &cipher, now, |n| n).await;
    let (id, a) = &accounts[0];
    let acct = graph::AccountRef::new(
        a.ig_user_id.clone(),
        graph::AccessToken::new(&a.access_token),
    );
    let err =
        sync::webhooks::subscribe(&*store, clients.get(&login_of(a)).unwrap(), *id, &acct, now)
            .await
            .unwrap_err();
    assert!(
        err.contains("Advanced Access") && err.contains("(#3)"),
        "{err}"
    );
    let status = store.webhook_account_status().await.unwrap();
    assert_eq!(status.len(), 1);
    assert!(status[0].fields.is_empty());
    assert_eq!(status[0].error.as_deref(), Some(err.as_str()));
}
