//! Mapping of driver errors to [`StoreError`], so callers can tell a conflict from a
//! database that is down.

use store::StoreError;

/// Maps a driver error: connection and pool problems are `Unavailable` (worth retrying),
/// constraint violations `Conflict`, read-only transactions and full disks `ReadOnly`.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) => {
            let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
            let message = one_line(d.message());
            match code.as_str() {
                // unique, foreign key, check, not null, exclusion
                "23505" | "23503" | "23514" | "23502" | "23P01" => StoreError::Conflict {
                    message: match d.constraint() {
                        Some(c) => format!("{message} ({c})"),
                        None => message,
                    },
                },
                // read-only transaction, disk full, out of memory / too many connections
                "25006" | "53100" => StoreError::ReadOnly { message },
                // connection problems, shutdown, resources, serialization, lock timeouts, and
                // a database that no longer exists (dropped under a running process)
                c if c.starts_with("08")
                    || c.starts_with("57P")
                    || c == "3D000"
                    || c.starts_with("53")
                    || c == "40001"
                    || c == "40P01"
                    || c == "55P03" =>
                {
                    StoreError::Unavailable { message }
                }
                c if c.starts_with("22") => StoreError::InvalidInput { message },
                _ => StoreError::Other {
                    message: format!("{message} (SQLSTATE {code})"),
                },
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_)
        | sqlx::Error::BeginFailed => StoreError::Unavailable {
            message: one_line(&e.to_string()),
        },
        _ => StoreError::Other {
            message: one_line(&describe(&e)),
        },
    }
}

/// Whether a connection attempt failed because the other side does not speak PostgreSQL's
/// protocol (an HTTP or SSH server on the port): the driver then reports a protocol error,
/// or an absurd message length read from foreign bytes followed by the end of the stream.
pub(crate) fn is_foreign_protocol(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Protocol(_) => true,
        sqlx::Error::Io(io) => matches!(
            io.kind(),
            std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
        ),
        _ => false,
    }
}

/// The error and its sources, joined.
pub(crate) fn describe(e: &sqlx::Error) -> String {
    // The server's own message, without the position in PostgreSQL's sources that the
    // driver's `Display` appends.
    if let Some(db) = e.as_database_error() {
        return match db.code() {
            Some(code) => format!("{} (SQLSTATE {code})", db.message()),
            None => db.message().to_string(),
        };
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// Collapses a message onto one line.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A decoding problem with a stored value (a row the code cannot read back).
pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Other {
        message: format!("unexpected stored value: {what}"),
    }
}
