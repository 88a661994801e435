//! The one error type of the storage seam ([`crate::QueueStore`] and `store::Store`, which
//! extends it). Dialect crates map their driver errors into it, so callers branch on what
//! happened (missing row, conflict, database down) without knowing which database is behind
//! the trait. It lives here, at the bottom of the crate graph, so the queue's persistence
//! and the rest of the store fail in one vocabulary.

/// What went wrong talking to the database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The row the operation needs does not exist (e.g. an unknown account id).
    #[error("{what} not found")]
    NotFound { what: String },
    /// A constraint rejected the write (unique key, foreign key, check).
    #[error("conflict: {message}")]
    Conflict { message: String },
    /// The database cannot be reached or refused the connection; worth retrying later.
    #[error("database unavailable: {message}")]
    Unavailable { message: String },
    /// The database is read-only, full or otherwise refuses writes.
    #[error("database refuses writes: {message}")]
    ReadOnly { message: String },
    /// The caller passed a value the store cannot hold (e.g. a NaN metric value).
    #[error("invalid input: {message}")]
    InvalidInput { message: String },
    /// Applying or checking migrations failed.
    #[error("migration failed: {message}")]
    Migration { message: String },
    /// A token could not be encrypted or decrypted (`store` converts its `CryptoError`).
    #[error("{0}")]
    Crypto(String),
    /// Anything else the driver reported.
    #[error("database error: {message}")]
    Other { message: String },
}

impl StoreError {
    /// True when retrying the same operation later may succeed (connection lost, database
    /// restarting, lock timeout).
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        StoreError::NotFound { what: what.into() }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        StoreError::InvalidInput {
            message: message.into(),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
