//! Test helpers: spawn the application on port 0 with a fresh SQLite database, and an API
//! key to call it with.

use std::path::PathBuf;
use std::sync::Arc;

use server::{AppState, ServerSettings};
use store::{DynStore, SecretString, Store};
use store_sqlite::SqliteStore;

/// A running server and what a test needs to talk to it.
pub(crate) struct TestApp {
    pub(crate) base: String,
    pub(crate) store: DynStore,
    pub(crate) key: SecretString,
    pub(crate) client: reqwest::Client,
    pub(crate) db_path: PathBuf,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    pub(crate) async fn spawn() -> TestApp {
        let dir = std::env::temp_dir().join(format!(
            "igsync-server-test-{}-{}",
            std::process::id(),
            unique()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let db_path = dir.join("igsync.db");
        let store = SqliteStore::open(&format!("sqlite://{}", db_path.display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let store: DynStore = Arc::new(store);
        let (_, key) = server::auth::create_api_key(&*store, "tests")
            .await
            .unwrap();
        let state = AppState::new(store.clone(), ServerSettings::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server::serve(listener, state, async {
            let _ = rx.await;
        }));
        TestApp {
            base,
            store,
            key,
            client: reqwest::Client::new(),
            db_path,
            _shutdown: tx,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}
