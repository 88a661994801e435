//! Opening a database: URL parsing, connection settings and the two pools (one writer, a
//! few readers) that keep concurrent writers from failing with SQLITE_BUSY.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use store::{Result, StoreError};

use crate::error::db_err;

/// Tuning knobs of [`SqliteStore::open_with`]; [`Default`] suits a single igsync process.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Connections of the read pool (writes always use one connection of their own).
    pub read_connections: u32,
    /// How long a statement waits for another process's write lock before giving up.
    pub busy_timeout: Duration,
    /// How long a caller waits for a free connection of a pool.
    pub acquire_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            read_connections: 4,
            busy_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// The [`store::Store`] on one SQLite database file (or an in-memory database).
///
/// Writes go through a pool of exactly one connection and run in `BEGIN IMMEDIATE`
/// transactions: writers of this process queue for that connection, and writers of other
/// processes wait for the file's write lock (up to the busy timeout) instead of failing
/// half-way with SQLITE_BUSY. Reads use a separate pool and, in WAL mode, never block
/// writes. An in-memory database has a single connection for both.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) writer: SqlitePool,
    pub(crate) reader: SqlitePool,
    url: String,
    /// The database file (None in memory), which the export reader opens on its own.
    pub(crate) file: Option<std::path::PathBuf>,
    /// The export reader's read-only connection, opened on first use.
    pub(crate) export_reader: Arc<Mutex<Option<rusqlite::Connection>>>,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at `url`: `sqlite://path`,
    /// `sqlite:path`, `sqlite::memory:`, optionally with `?mode=rwc|rw|ro`. Does not
    /// migrate: call [`store::Store::migrate`].
    pub async fn open(url: &str) -> Result<SqliteStore> {
        SqliteStore::open_with(url, SqliteOptions::default()).await
    }

    /// [`SqliteStore::open`] with explicit pool and timeout settings.
    pub async fn open_with(url: &str, options: SqliteOptions) -> Result<SqliteStore> {
        let parsed = parse_url(url)?;
        let connect = parsed.options.busy_timeout(options.busy_timeout);
        let (in_memory, read_only) = (parsed.in_memory, parsed.read_only);
        let file = (!in_memory).then(|| connect.get_filename().to_path_buf());
        let unavailable = |e: sqlx::Error| {
            let reason = match db_err(e) {
                StoreError::Unavailable { message }
                | StoreError::ReadOnly { message }
                | StoreError::Other { message } => message,
                other => other.to_string(),
            };
            let message = format!("cannot open SQLite database {url}: {reason}");
            match file.as_deref().and_then(|f| read_only_reason(f, read_only)) {
                Some(why) => StoreError::ReadOnly {
                    message: format!("{message} ({why})"),
                },
                None => StoreError::Unavailable { message },
            }
        };

        // Bulk statements come in a few shapes × power-of-two sizes: keep them all prepared.
        // Their statement journals stay in memory instead of temporary files.
        let mut write_connect = connect
            .clone()
            .statement_cache_capacity(256)
            .pragma("cache_size", "-16384")
            .pragma("temp_store", "MEMORY");
        if !read_only {
            write_connect = write_connect
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal);
        }
        let mut writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(options.acquire_timeout);
        if in_memory {
            // The database lives as long as its one connection does.
            writer = writer.idle_timeout(None).max_lifetime(None);
        } else {
            // When a write fails because the disk is full, SQLite rolls the transaction back
            // by itself and the driver's own ROLLBACK then fails, so the driver believes a
            // transaction is still open and refuses every later BEGIN. Such a connection is
            // replaced by a fresh one instead of poisoning all writes until a restart.
            writer = writer.before_acquire(|conn, _| {
                Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
            });
        }
        let writer = writer
            .connect_with(write_connect)
            .await
            .map_err(unavailable)?;

        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(options.read_connections.max(1))
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(unavailable)?
        };
        Ok(SqliteStore {
            writer,
            reader,
            url: url.to_owned(),
            file,
            export_reader: Arc::default(),
        })
    }

    /// The URL the store was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs SQLite's `PRAGMA integrity_check` and returns its findings: `["ok"]` for a sound
    /// database, otherwise one line per problem.
    pub async fn integrity_check(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(|(line,)| line).collect())
    }

    /// Closes both pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    /// Starts a write transaction: takes the write lock now, so the transaction cannot fail
    /// later on lock upgrade.
    pub(crate) async fn write(&self) -> Result<Transaction<'static, Sqlite>> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)
    }
}

/// Why a database file cannot be opened for writing, when that is the reason: the file or
/// its directory is read-only (SQLite needs both, for the WAL and shared-memory files).
fn read_only_reason(file: &std::path::Path, read_only_url: bool) -> Option<String> {
    use std::io::ErrorKind;
    if read_only_url {
        return None;
    }
    let refused = |e: &std::io::Error| {
        matches!(
            e.kind(),
            ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem
        )
    };
    if file.exists()
        && let Err(e) = std::fs::OpenOptions::new().write(true).open(file)
        && refused(&e)
    {
        return Some(format!("the file is read-only: {e}"));
    }
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let probe = dir.join(format!(".igsync-write-check-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(e) if refused(&e) => Some(format!("its directory {} is read-only: {e}", dir.display())),
        Err(_) => None,
    }
}

struct ParsedUrl {
    options: SqliteConnectOptions,
    in_memory: bool,
    read_only: bool,
}

/// Connection settings for `url` (`synchronous=NORMAL`, foreign keys on) and what kind of
/// database it names.
fn parse_url(url: &str) -> Result<ParsedUrl> {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Err(StoreError::invalid(format!(
            "not a SQLite URL: {url} (expected sqlite://path, sqlite:path or sqlite::memory:)"
        )));
    };
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    let mode = params
        .split('&')
        .find_map(|pair| pair.strip_prefix("mode="))
        .unwrap_or("");
    let in_memory = database == ":memory:" || mode == "memory";
    if database.is_empty() && !in_memory {
        return Err(StoreError::invalid(format!(
            "bad SQLite URL {url}: no file name (use sqlite::memory: for a database in memory)"
        )));
    }
    let options = SqliteConnectOptions::from_str(url).map_err(|e| {
        StoreError::invalid(format!(
            "bad SQLite URL {url}: {}",
            one_line(&e.to_string())
        ))
    })?;
    Ok(ParsedUrl {
        options: options
            .foreign_keys(true)
            .synchronous(SqliteSynchronous::Normal),
        in_memory,
        read_only: mode == "ro",
    })
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file() -> std::path::PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        std::env::temp_dir().join(format!(
            "igsync-store-sqlite-rollback-{}-{nanos}.db",
            std::process::id()
        ))
    }

    #[tokio::test]
    async fn writes_go_on_after_sqlite_rolled_a_transaction_back_by_itself() {
        let path = temp_file();
        let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let mut tx = store.write().await.unwrap();
        sqlx::raw_sql("CREATE TABLE t (v TEXT)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        // What a full disk does at COMMIT: SQLite ends the transaction on its own, and the
        // driver's COMMIT (or ROLLBACK) then fails.
        let mut tx = store.write().await.unwrap();
        sqlx::raw_sql("INSERT INTO t (v) VALUES ('lost'); ROLLBACK;")
            .execute(&mut *tx)
            .await
            .unwrap();
        assert!(tx.commit().await.is_err());
        // The next write gets a working connection.
        let mut tx = store.write().await.unwrap();
        sqlx::query("INSERT INTO t (v) VALUES ('kept')")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let rows: Vec<(String,)> = sqlx::query_as("SELECT v FROM t")
            .fetch_all(&store.reader)
            .await
            .unwrap();
        assert_eq!(rows, vec![("kept".to_string(),)]);
        assert_eq!(
            store.integrity_check().await.unwrap(),
            vec!["ok".to_string()]
        );
        store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
