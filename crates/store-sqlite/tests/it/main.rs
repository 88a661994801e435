//! The SQLite store's tests: the whole conformance suite, each case on a fresh database
//! file, plus SQLite-specific behaviour (raw token bytes, read-only files, several stores
//! writing to one file, migrations, the ingest benchmark).

mod sqlite;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use store::testkit::Fixture;
use store::{DynStore, Store};
use store_sqlite::SqliteStore;

/// A fresh database file in the temp directory, removed (with its WAL files) on drop.
pub(crate) struct TempDb {
    pub(crate) path: PathBuf,
}

impl TempDb {
    pub(crate) fn new() -> TempDb {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!(
            "igsync-store-sqlite-{}-{n}-{nanos}.db",
            std::process::id()
        ));
        TempDb { path }
    }

    pub(crate) fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = self.path.clone().into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
    }
}

/// Opens and migrates a store on a fresh file.
pub(crate) async fn fresh() -> (TempDb, SqliteStore) {
    let db = TempDb::new();
    let store = SqliteStore::open(&db.url()).await.unwrap();
    assert_eq!(store.migrate().await.unwrap(), 10);
    (db, store)
}

struct SqliteFixture {
    db: TempDb,
    store: SqliteStore,
}

#[async_trait::async_trait]
impl Fixture for SqliteFixture {
    fn store(&self) -> DynStore {
        Arc::new(self.store.clone())
    }

    async fn teardown(self: Box<Self>) {
        self.store.close().await;
        drop(self.db);
    }
}

async fn fixture() -> Box<dyn Fixture> {
    let (db, store) = fresh().await;
    Box::new(SqliteFixture { db, store })
}

store::conformance_suite!(fixture);
