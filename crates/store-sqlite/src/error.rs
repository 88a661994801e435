//! Mapping of SQLite and sqlx errors onto [`StoreError`], so callers can tell a conflict
//! from a read-only disk from a database that is not there.

use sqlx::error::ErrorKind;
use store::StoreError;

// Primary SQLite result codes (the low byte of an extended code).
const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
const SQLITE_READONLY: i32 = 8;
const SQLITE_IOERR: i32 = 10;
const SQLITE_FULL: i32 = 13;
const SQLITE_CANTOPEN: i32 = 14;
const SQLITE_CONSTRAINT: i32 = 19;

/// Maps a driver error onto the store's error classes.
pub(crate) fn db_err(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::Database(db) => {
            let code = db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .unwrap_or_default();
            let message = db.message().to_owned();
            match code & 0xff {
                SQLITE_READONLY | SQLITE_FULL => StoreError::ReadOnly { message },
                SQLITE_BUSY | SQLITE_LOCKED | SQLITE_IOERR | SQLITE_CANTOPEN => {
                    StoreError::Unavailable { message }
                }
                SQLITE_CONSTRAINT => StoreError::Conflict { message },
                _ => match db.kind() {
                    ErrorKind::UniqueViolation
                    | ErrorKind::ForeignKeyViolation
                    | ErrorKind::NotNullViolation
                    | ErrorKind::CheckViolation => StoreError::Conflict { message },
                    _ => StoreError::Other { message },
                },
            }
        }
        sqlx::Error::PoolTimedOut => StoreError::Unavailable {
            message: "timed out waiting for a database connection".into(),
        },
        sqlx::Error::PoolClosed => StoreError::Unavailable {
            message: "the database pool is closed".into(),
        },
        sqlx::Error::WorkerCrashed => StoreError::Unavailable {
            message: "the SQLite worker thread stopped".into(),
        },
        sqlx::Error::Io(e) => StoreError::Unavailable {
            message: e.to_string(),
        },
        other => StoreError::Other {
            message: other.to_string(),
        },
    }
}

/// A stored value that does not decode: the file was edited by hand or is corrupt.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Other {
        message: format!("unreadable stored value: {what}"),
    }
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection, SqliteConnection};

    use super::*;

    async fn failing(conn: &mut SqliteConnection, sql: &'static str) -> StoreError {
        db_err(sqlx::query(sql).execute(conn).await.unwrap_err())
    }

    #[tokio::test]
    async fn sqlite_failures_map_to_store_error_classes() {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (id INTEGER PRIMARY KEY,
                 parent_id INTEGER NOT NULL REFERENCES parent (id),
                 n INTEGER CHECK (n > 0));
             INSERT INTO parent (id) VALUES (1);
             PRAGMA foreign_keys = ON;",
        )
        .execute(&mut conn)
        .await
        .unwrap();

        let err = failing(&mut conn, "INSERT INTO parent (id) VALUES (1)").await;
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        let err = failing(&mut conn, "INSERT INTO child (parent_id) VALUES (7)").await;
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        let err = failing(&mut conn, "INSERT INTO child (parent_id, n) VALUES (1, 0)").await;
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        let err = failing(&mut conn, "SELECT * FROM missing_table").await;
        assert!(matches!(err, StoreError::Other { .. }), "{err:?}");

        // A database that cannot grow is full: it refuses writes.
        sqlx::query("PRAGMA max_page_count = 3")
            .execute(&mut conn)
            .await
            .unwrap();
        let err = failing(
            &mut conn,
            "INSERT INTO parent (id) WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL
                 SELECT i + 1 FROM n WHERE i < 100000) SELECT i FROM n",
        )
        .await;
        assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
        assert!(!err.is_transient());
    }

    #[test]
    fn pool_errors_are_transient() {
        assert!(db_err(sqlx::Error::PoolTimedOut).is_transient());
        assert!(db_err(sqlx::Error::PoolClosed).is_transient());
    }
}
