//! The databases a scenario runs against: a scratch SQLite file or PostgreSQL database.

use std::path::PathBuf;

use anyhow::Context;
use store::DynStore;

// ----- databases -----

/// A fresh database for one measurement: a SQLite file or a scratch PostgreSQL database.
pub(super) struct BenchDb {
    pub(super) url: String,
    pub(super) scratch: Option<(String, String)>,
    pub(super) _dir: Option<PathBuf>,
}

impl BenchDb {
    pub(super) async fn sqlite(label: &str) -> anyhow::Result<BenchDb> {
        let dir = std::env::temp_dir().join(format!("igsync-bench-{}-{label}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(BenchDb {
            url: format!("sqlite://{}", dir.join("bench.db").display()),
            scratch: None,
            _dir: Some(dir),
        })
    }

    pub(super) async fn postgres(server_url: &str) -> anyhow::Result<BenchDb> {
        let (url, name) = store_postgres::scratch::create_database(server_url, "bench")
            .await
            .context(
                "cannot create a scratch PostgreSQL database (set DATABASE_URL or --sqlite-only)",
            )?;
        Ok(BenchDb {
            url,
            scratch: Some((server_url.to_string(), name)),
            _dir: None,
        })
    }

    /// The SQLite database file, or None for PostgreSQL.
    pub(super) fn sqlite_file(&self) -> Option<PathBuf> {
        self._dir.as_ref().map(|d| d.join("bench.db"))
    }

    pub(super) async fn open(&self) -> anyhow::Result<DynStore> {
        crate::db::open(&self.url).await
    }

    pub(super) async fn drop_db(self) {
        if let Some((server, name)) = &self.scratch {
            let _ = store_postgres::scratch::drop_database(server, name).await;
        }
        if let Some(dir) = &self._dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub(super) fn dialect(url: &str) -> &'static str {
    if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    }
}
