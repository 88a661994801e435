//! Fresh databases for tests: each test creates its own database on the server named by
//! `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), migrates it, and
//! drops it `WITH (FORCE)` afterwards.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, PgConnection};
use store::testkit::Fixture;
use store::{DynStore, Store};
use store_postgres::PostgresStore;

pub(crate) const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The server tests run against.
pub(crate) fn base_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_string())
}

/// `url` with its database name replaced by `name`.
pub(crate) fn url_with_database(url: &str, name: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (url, None),
    };
    let after_scheme = main.find("://").map_or(0, |i| i + 3);
    let base = match main[after_scheme..].find('/') {
        Some(slash) => &main[..after_scheme + slash],
        None => main,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

async fn admin() -> PgConnection {
    let url = base_url();
    match PgConnection::connect(&url).await {
        Ok(c) => c,
        Err(e) => panic!(
            "PostgreSQL is unreachable at {} ({e}). The PostgreSQL tests need a server: start \
             one, or set DATABASE_URL=postgres://USER[:PASSWORD]@HOST:PORT/DB to a role that \
             may CREATE DATABASE.",
            store_postgres::redact_url(&url)
        ),
    }
}

/// Creates an empty database and returns its URL (not migrated).
pub(crate) async fn create_database() -> (String, String) {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!(
        "igsync_test_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = admin().await;
    // CREATE DATABASE copies template1 and fails while another session uses it.
    let mut tries = 0;
    loop {
        let sql = format!("CREATE DATABASE \"{name}\"");
        match sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
        {
            Ok(_) => break,
            Err(e) if tries < 20 && e.to_string().contains("being accessed by other users") => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50 * tries)).await;
            }
            Err(e) => panic!("cannot create test database {name}: {e}"),
        }
    }
    let _ = conn.close().await;
    (name.clone(), url_with_database(&base_url(), &name))
}

pub(crate) async fn drop_database(name: &str) {
    let mut conn = admin().await;
    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
    {
        panic!("cannot drop test database {name}: {e}");
    }
    let _ = conn.close().await;
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
