//! Test helpers: spawn the application on port 0 with a fresh SQLite database (or a fresh
//! PostgreSQL database), an API key to call it with, request helpers, and seeding of rows
//! that tests need in a given state.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use server::{AppState, ServerSettings};
use store::{
    Account, AccountType, Cipher, ClaimParams, DynStore, JobCompletion, JobFailure, JobId,
    LoginKind, NewAccount, NewJob, SecretKey, SecretString, Store,
};
use store_sqlite::SqliteStore;

/// A running server and what a test needs to talk to it.
pub(crate) struct TestApp {
    pub(crate) base: String,
    pub(crate) store: DynStore,
    pub(crate) key: SecretString,
    pub(crate) key_id: String,
    pub(crate) client: reqwest::Client,
    pub(crate) db_path: Option<PathBuf>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    /// The application on a fresh SQLite database file.
    pub(crate) async fn spawn() -> TestApp {
        let dir = temp_dir("igsync-server-test");
        let db_path = dir.join("igsync.db");
        let store = SqliteStore::open(&format!("sqlite://{}", db_path.display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let mut app = TestApp::spawn_on(Arc::new(store), ServerSettings::default()).await;
        app.db_path = Some(db_path);
        app
    }

    /// The application on the given (migrated) store.
    pub(crate) async fn spawn_on(store: DynStore, settings: ServerSettings) -> TestApp {
        let (key, secret) = server::auth::create_api_key(&*store, "tests", chrono::Utc::now())
            .await
            .unwrap();
        let cipher = Cipher::new(&SecretKey::generate().unwrap());
        let state = AppState::new(store.clone(), settings).with_cipher(cipher);
        TestApp::serve(state, secret, key.id).await
    }

    pub(crate) async fn serve(state: AppState, key: SecretString, key_id: String) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        TestApp::serve_on(listener, state, key, key_id).await
    }

    /// Serves on a listener bound beforehand (when the state must know its own address).
    pub(crate) async fn serve_on(
        listener: tokio::net::TcpListener,
        state: AppState,
        key: SecretString,
        key_id: String,
    ) -> TestApp {
        let store = state.store.clone();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server::serve(listener, state, async {
            let _ = rx.await;
        }));
        TestApp {
            base,
            store,
            key,
            key_id,
            client: http_client(),
            db_path: None,
            _shutdown: tx,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request with the test's API key.
    pub(crate) fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(self.key.expose())
    }

    pub(crate) async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.unwrap()
    }

    /// GET, expecting 200 and a JSON body.
    pub(crate) async fn get_json(&self, path: &str) -> Value {
        let res = self.get(path).await;
        json_of(res, StatusCode::OK).await
    }

    pub(crate) async fn send_json(&self, method: Method, path: &str, body: &Value) -> Response {
        self.request(method, path).json(body).send().await.unwrap()
    }

    pub(crate) async fn post(&self, path: &str) -> Response {
        self.request(Method::POST, path).send().await.unwrap()
    }

    pub(crate) async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path).send().await.unwrap()
    }

    /// Registers an account directly in the store (a token sealed with a throwaway key).
    pub(crate) async fn seed_account(&self, ig_user_id: &str, username: &str) -> Account {
        let cipher = Cipher::new(&SecretKey::generate().unwrap());
        self.store
            .account_upsert(NewAccount {
                ig_user_id: ig_user_id.into(),
                username: username.into(),
                name: None,
                account_type: AccountType::Business,
                login: LoginKind::Instagram,
                page_id: None,
                timezone: None,
                token: cipher.encrypt(&SecretString::new("seed-token")).unwrap(),
                token_expires_at: Some(Utc::now() + Duration::days(30)),
                now: Utc::now(),
            })
            .await
            .unwrap()
    }

    /// Inserts a job and leaves it pending.
    pub(crate) async fn seed_job(&self, queue: &str, kind: &str, args: Value) -> JobId {
        let now = Utc::now();
        self.store
            .job_insert(new_job(queue, kind, args, now))
            .await
            .unwrap()
            .id()
    }

    /// Inserts a job, runs it as worker `w-test` and fails it for good with `error`.
    pub(crate) async fn seed_failed_job(&self, kind: &str, args: Value, error: &str) -> JobId {
        let id = self.seed_job("maintenance", kind, args).await;
        let now = Utc::now();
        self.claim(id, now).await;
        let state = self
            .store
            .job_fail(JobFailure {
                id,
                worker_id: "w-test".into(),
                at: now,
                error: error.into(),
                retry_at: None,
            })
            .await
            .unwrap();
        assert_eq!(state, Some(store::JobState::Failed));
        id
    }

    /// Inserts a job and completes it (which records its wait and run times). The job was
    /// due three seconds ago, so its finish (1.3 s after it was due) is already in the past and
    /// counted by any read of the metrics up to now.
    pub(crate) async fn seed_completed_job(&self, kind: &str) -> JobId {
        let now = Utc::now() - Duration::seconds(3);
        let id = self
            .store
            .job_insert(new_job("maintenance", kind, serde_json::json!({}), now))
            .await
            .unwrap()
            .id();
        self.claim(id, now).await;
        assert!(
            self.store
                .job_complete(JobCompletion {
                    id,
                    worker_id: "w-test".into(),
                    finished_at: now + Duration::milliseconds(1300),
                    result: Some(serde_json::json!({"ok": true})),
                    next: vec![],
                    progress: None,
                })
                .await
                .unwrap()
        );
        id
    }

    async fn claim(&self, id: JobId, now: DateTime<Utc>) {
        let claimed = self
            .store
            .job_claim(ClaimParams {
                queues: vec!["maintenance".into()],
                worker_id: "w-test".into(),
                limit: 100,
                now: now + Duration::seconds(1),
                lease_until: now + Duration::minutes(5),
            })
            .await
            .unwrap();
        assert!(claimed.iter().any(|j| j.id == id), "job {id} was claimed");
    }
}

/// An HTTP client that does not follow redirects (rustls needs a process-wide provider).
pub(crate) fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) fn new_job(queue: &str, kind: &str, args: Value, now: DateTime<Utc>) -> NewJob {
    NewJob::new(queue, kind, args, now)
}

/// Asserts the status and returns the JSON body.
pub(crate) async fn json_of(res: Response, status: StatusCode) -> Value {
    let got = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts an error response: status, the stable shape and its code.
pub(crate) async fn assert_error(res: Response, status: StatusCode, code: &str) -> String {
    assert_eq!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "errors are JSON"
    );
    let body = json_of(res, status).await;
    assert_eq!(body["error"]["code"], code, "error code in {body}");
    let message = body["error"]["message"].as_str().unwrap().to_owned();
    assert!(!message.is_empty());
    assert_eq!(body.as_object().unwrap().len(), 1, "only `error`: {body}");
    message
}

/// A migrated SQLite store in a fresh temporary directory named after `prefix`.
pub(crate) async fn sqlite_store(prefix: &str) -> DynStore {
    let dir = temp_dir(prefix);
    let store = SqliteStore::open(&format!("sqlite://{}", dir.join("igsync.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    Arc::new(store)
}

/// An engine on `store` with the tests' settings: three workers, no start limiter, quick
/// polling.
pub(crate) fn test_engine(
    store: &DynStore,
    graph: &sync::GraphClients,
    cipher: &Cipher,
    clock: &sync::Clock,
) -> sync::Engine {
    sync::Engine::new(sync::EngineConfig {
        store: store.clone(),
        graph: graph.clone(),
        cipher: Some(cipher.clone()),
        settings: sync::SyncSettings {
            concurrency: 3,
            syncs_per_minute: 0,
            poll_interval: std::time::Duration::from_millis(20),
            ..sync::SyncSettings::default()
        },
        clock: clock.clone(),
    })
    .unwrap()
}

pub(crate) fn temp_dir(prefix: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// PostgreSQL test databases: created fresh on the server of `DATABASE_URL` and dropped
/// `WITH (FORCE)`.
pub(crate) mod pg {
    use store_postgres::scratch;

    /// Creates an empty database; returns its name and URL.
    pub(crate) async fn create() -> (String, String) {
        let (url, name) = scratch::create_database(&scratch::server_url_from_env(), "servertest")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (name, url)
    }

    pub(crate) async fn drop(name: &str) {
        scratch::drop_database(&scratch::server_url_from_env(), name)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The application with the Graph API simulator behind a real sync engine: the simulator's
/// accounts registered (tokens encrypted), Graph clients for both login flavours pointed at
/// it, and one manual clock shared by the engine, the clients and the simulator.
pub(crate) struct SimApp {
    pub(crate) app: TestApp,
    pub(crate) sim: simulator::SimServer,
    pub(crate) engine: sync::Engine,
    pub(crate) clock: sync::Clock,
    pub(crate) graph_clock: graph::Clock,
    /// Registered accounts, in the simulator's order.
    pub(crate) accounts: Vec<(store::AccountId, simulator::SimAccount)>,
}

impl SimApp {
    /// `n_accounts` simulated accounts with `media` posts each, all registered.
    pub(crate) async fn start(n_accounts: usize, media: usize) -> SimApp {
        let config = simulator::SimConfig::new(20_261_124, n_accounts, media);
        let sim =
            simulator::SimServer::start(config, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .unwrap();
        let store = sqlite_store("igsync-server-sim").await;
        let clock = sync::Clock::manual(sim.now());
        let graph_clock = graph::Clock::offset();
        let clients = testsupport::sim_clients(&sim.url(), &graph_clock, None);
        let cipher = Cipher::new(&SecretKey::generate().unwrap());
        let accounts =
            testsupport::register_sim_accounts(&store, &sim, &cipher, clock.now(), |n| {
                NewAccount {
                    account_type: AccountType::Business,
                    ..n
                }
            })
            .await;
        let engine = test_engine(&store, &clients, &cipher, &clock);
        let (key, secret) = server::auth::create_api_key(&*store, "tests", chrono::Utc::now())
            .await
            .unwrap();
        let state = AppState::new(store, ServerSettings::default())
            .with_cipher(cipher)
            .with_engine(engine.clone())
            .with_graph(clients);
        let app = TestApp::serve(state, secret, key.id).await;
        SimApp {
            app,
            sim,
            engine,
            clock,
            graph_clock,
            accounts,
        }
    }

    /// Moves the engine's, the clients' and the simulator's clocks together.
    pub(crate) fn advance(&self, by: Duration) {
        self.clock.advance(by);
        self.graph_clock.advance(by);
        self.sim.advance_clock(by);
    }
}
