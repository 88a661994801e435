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
