//! The engine's error type: what can go wrong configuring or driving the engine (job
//! failures themselves are recorded on the jobs, not returned).

use store::{AccountId, StoreError};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// A setting is out of range or inconsistent.
    #[error("invalid sync configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("account {0} does not exist")]
    UnknownAccount(AccountId),
    /// No schedule has this name; `known` lists the ones that exist.
    #[error("schedule `{name}` does not exist; the schedules are {}", known.join(", "))]
    UnknownSchedule { name: String, known: Vec<String> },
    /// The request cannot be carried out as asked.
    #[error("{0}")]
    Invalid(String),
    /// A sync's scope (media ids, days) does not fit its step or the account.
    #[error("{0}")]
    BadScope(String),
}

impl SyncError {
    pub(crate) fn config(message: impl Into<String>) -> SyncError {
        SyncError::Config(message.into())
    }
}

impl From<::queue::QueueError> for SyncError {
    fn from(e: ::queue::QueueError) -> Self {
        match e {
            ::queue::QueueError::Config(m) => SyncError::Config(m),
            ::queue::QueueError::Store(e) => SyncError::Store(e),
            ::queue::QueueError::UnknownSchedule { name, known } => {
                SyncError::UnknownSchedule { name, known }
            }
            other => SyncError::Invalid(other.to_string()),
        }
    }
}

pub type Result<T, E = SyncError> = std::result::Result<T, E>;
