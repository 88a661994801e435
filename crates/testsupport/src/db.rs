//! Fresh databases for tests on both dialects: a SQLite file in a private temporary
//! directory, or a new PostgreSQL database on the server of `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped at the end — also when the test
//! fails. [`both_dialects!`](crate::both_dialects) runs one test body on each.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use store::DynStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }
}

/// Every byte of a SQLite database as the disk holds it: the main file, its WAL and its
/// shared-memory file, in that order (a missing file adds nothing).
///
/// The files are read by a child process, never by this one. SQLite's locks are POSIX record
/// locks, which a process loses on *every* descriptor of a file as soon as it closes *any*
/// descriptor of that file: reading the files here while a store of this process has the
/// database open would silently drop that store's locks, and the next igsync process to
/// close the database would then believe itself the last one, checkpoint and delete the WAL
/// from under the open store.
pub fn sqlite_file_bytes(file: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut path = file.as_os_str().to_owned();
        path.push(suffix);
        if !Path::new(&path).exists() {
            continue;
        }
        let out = std::process::Command::new("cat")
            .arg(&path)
            .output()
            .expect("`cat` runs");
        assert!(
            out.status.success(),
            "cat {}: {:?}",
            Path::new(&path).display(),
            out
        );
        bytes.extend(out.stdout);
    }
    bytes
}

/// A unique name for this process and call, prefixed with `label`.
pub fn unique(label: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "igsync-it-{label}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A directory of its own under the system's temporary directory, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let path = std::env::temp_dir().join(unique(label));
        std::fs::create_dir_all(&path).expect("a temporary directory");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The PostgreSQL server the tests create their databases on.
pub fn postgres_server_url() -> String {
    store_postgres::scratch::server_url_from_env()
}

/// One fresh database for one test: a SQLite file in a private directory, or a new
/// PostgreSQL database on the server of `DATABASE_URL`, dropped at the end.
pub struct TestDb {
    pub dialect: Dialect,
    pub url: String,
    /// The SQLite file (SQLite only).
    pub file: Option<PathBuf>,
    pg: Option<(String, String)>,
    _dir: Option<TempDir>,
}

impl TestDb {
    pub async fn new(dialect: Dialect, label: &str) -> TestDb {
        match dialect {
            Dialect::Sqlite => {
                let dir = TempDir::new(&format!("db-{label}"));
                let file = dir.path().join("igsync.db");
                TestDb {
                    dialect,
                    url: format!("sqlite://{}", file.display()),
                    file: Some(file),
                    pg: None,
                    _dir: Some(dir),
                }
            }
            Dialect::Postgres => TestDb::postgres_on(&postgres_server_url(), label).await,
        }
    }

    /// A fresh database on the PostgreSQL server at `server`.
    pub async fn postgres_on(server: &str, label: &str) -> TestDb {
        let (url, name) = store_postgres::scratch::create_database(server, label)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        TestDb {
            dialect: Dialect::Postgres,
            url,
            file: None,
            pg: Some((server.to_string(), name)),
            _dir: None,
        }
    }

    /// A SQLite database at a given file (e.g. on a small file system).
    pub fn sqlite_at(file: PathBuf) -> TestDb {
        TestDb {
            dialect: Dialect::Sqlite,
            url: format!("sqlite://{}", file.display()),
            file: Some(file),
            pg: None,
            _dir: None,
        }
    }

    /// A new connection of the test's own, migrated (so it works before any process ran).
    pub async fn open(&self) -> DynStore {
        open_store(&self.url).await
    }

    /// Drops the PostgreSQL database (SQLite files go with their directory).
    pub async fn teardown(mut self) {
        if let Some((server, name)) = self.pg.take() {
            store_postgres::scratch::drop_database(&server, &name)
                .await
                .unwrap_or_else(|e| panic!("cannot drop the test database: {e}"));
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // A failed test still drops its database.
        if let Some((server, name)) = self.pg.take() {
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    let _ = rt.block_on(store_postgres::scratch::drop_database(&server, &name));
                }
            })
            .join();
        }
    }
}

/// Opens (and migrates) the store at `url`: SQLite for `sqlite:` URLs, else PostgreSQL.
pub async fn open_store(url: &str) -> DynStore {
    let store: DynStore = if url.starts_with("sqlite:") {
        Arc::new(
            store_sqlite::SqliteStore::open(url)
                .await
                .unwrap_or_else(|e| panic!("cannot open {url}: {e}")),
        )
    } else {
        Arc::new(
            store_postgres::PostgresStore::connect(url)
                .await
                .unwrap_or_else(|e| panic!("cannot connect to the test database: {e}")),
        )
    };
    store.migrate().await.expect("migrations apply");
    store
}

/// Expands each listed `async fn name(d: Dialect)` of the calling module into two tests,
/// `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! both_dialects {
    ($($name:ident),* $(,)?) => {
        pub(crate) mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::Dialect::Sqlite).await
                }
            )*
        }
        pub(crate) mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::Dialect::Postgres).await
                }
            )*
        }
    };
}
