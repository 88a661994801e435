//! Fresh databases for tests: each test creates its own database on the server named by
//! `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), migrates it, and
//! drops it `WITH (FORCE)` afterwards.

use std::sync::Arc;

use store::testkit::Fixture;
use store::{DynStore, Store};
use store_postgres::{PostgresStore, scratch};

/// Creates an empty database and returns its name and URL (not migrated).
pub(crate) async fn create_database() -> (String, String) {
    let (url, name) = scratch::create_database(&scratch::server_url_from_env(), "test")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (name, url)
}

pub(crate) async fn drop_database(name: &str) {
    scratch::drop_database(&scratch::server_url_from_env(), name)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// A fresh, migrated database.
pub(crate) struct PgFixture {
    pub(crate) store: Arc<PostgresStore>,
    pub(crate) name: String,
    pub(crate) url: String,
}

impl PgFixture {
    pub(crate) async fn new() -> PgFixture {
        let (name, url) = create_database().await;
        let store = PostgresStore::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot open the test database: {e}"));
        store.migrate().await.expect("migrations apply");
        PgFixture {
            store: Arc::new(store),
            name,
            url,
        }
    }
}

#[async_trait::async_trait]
impl Fixture for PgFixture {
    fn store(&self) -> DynStore {
        self.store.clone()
    }

    async fn teardown(self: Box<Self>) {
        self.store.close().await;
        drop_database(&self.name).await;
    }
}

/// The factory the conformance suite calls.
pub(crate) async fn fixture() -> Box<dyn Fixture> {
    Box::new(PgFixture::new().await)
}
