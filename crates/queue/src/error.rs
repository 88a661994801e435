//! The queue engine's error type: what can go wrong configuring or driving a worker or the
//! scheduler (job failures themselves are recorded on the jobs, not returned).

use crate::store_error::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// A setting is out of range or inconsistent.
    #[error("invalid sync configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No schedule has this name; `known` lists the ones that exist.
    #[error("schedule `{name}` does not exist; the schedules are {}", known.join(", "))]
    UnknownSchedule { name: String, known: Vec<String> },
    /// A job's arguments do not encode or decode as its kind's [`crate::JobArgs`].
    #[error("the arguments of a `{kind}` job are not valid: {message}")]
    Args { kind: String, message: String },
}

impl QueueError {
    pub(crate) fn config(message: impl Into<String>) -> QueueError {
        QueueError::Config(message.into())
    }
}

pub(crate) type Result<T, E = QueueError> = std::result::Result<T, E>;
