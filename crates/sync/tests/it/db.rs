//! Fresh databases for tests, on both dialects: a SQLite file in a temporary directory, or a
//! new PostgreSQL database on the server of `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), migrated, and dropped afterwards.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use store::{DynStore, Store};
use store_postgres::{PostgresStore, scratch};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// One fresh database for one test.
pub(crate) struct TestDb {
    pub(crate) store: DynStore,
    pub(crate) dialect: Dialect,
    /// The URL other "processes" (workers) of the test connect to.
    pub(crate) url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Postgres {
        name: String,
        store: Arc<PostgresStore>,
    },
    Sqlite {
        dir: std::path::PathBuf,
    },
}

fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "igsync_sync_test_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl TestDb {
    pub(crate) async fn new(dialect: Dialect) -> TestDb {
        match dialect {
            Dialect::Postgres => {
                let (url, name) =
                    scratch::create_database(&scratch::server_url_from_env(), "synctest")
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                let store = Arc::new(
                    PostgresStore::connect(&url)
                        .await
                        .unwrap_or_else(|e| panic!("cannot open the test database: {e}")),
                );
                store.migrate().await.expect("migrations apply");
                TestDb {
                    store: store.clone(),
                    dialect,
                    url,
                    cleanup: Cleanup::Postgres { name, store },
                }
            }
            Dialect::Sqlite => {
                let dir = std::env::temp_dir().join(unique_name());
                std::fs::create_dir_all(&dir).unwrap();
                let path = dir.join("igsync.db");
                let url = format!("sqlite://{}", path.display());
                let store = open(dialect, &url).await;
                TestDb {
                    store,
                    dialect,
                    url,
                    cleanup: Cleanup::Sqlite { dir },
                }
            }
        }
    }

    /// A second, independent connection to the same database (another "process").
    pub(crate) async fn connect_again(&self) -> DynStore {
        open(self.dialect, &self.url).await
    }

    pub(crate) async fn teardown(self) {
        match self.cleanup {
            Cleanup::Postgres { name, store } => {
                store.close().await;
                scratch::drop_database(&scratch::server_url_from_env(), &name)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            Cleanup::Sqlite { dir } => {
                drop(self.store);
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

async fn open(dialect: Dialect, url: &str) -> DynStore {
    match dialect {
        Dialect::Postgres => Arc::new(PostgresStore::connect(url).await.expect("connect")),
        Dialect::Sqlite => open_sqlite(url).await,
    }
}

async fn open_sqlite(url: &str) -> DynStore {
    let store = store_sqlite::SqliteStore::open(url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    store.migrate().await.expect("migrations apply");
    Arc::new(store)
}

/// Expands each listed `async fn name(db: Dialect)` into one test per dialect:
/// `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! both_dialects {
    ($($name:ident),* $(,)?) => {
        pub(crate) mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::db::Dialect::Sqlite).await
                }
            )*
        }
        pub(crate) mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::db::Dialect::Postgres).await
                }
            )*
        }
    };
}
