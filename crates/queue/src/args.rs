//! Typed job arguments: a [`JobArgs`] type names its persisted `kind` and is the one
//! encoding of that kind's JSON arguments, written by [`NewJob::typed`] and read back by
//! [`Job::args_as`] / [`JobContext::args`](crate::JobContext::args). A payload that does
//! not decode is an error naming the kind and the reason, never a silent default.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::QueueError;
use crate::policy::DEFAULT_QUEUE;
use crate::types::{Job, NewJob};

/// The arguments of one job kind. `KIND` is persisted in every job of the kind: never
/// rename it, and keep the JSON field names so jobs queued by an older version still
/// decode.
pub trait JobArgs: Serialize + DeserializeOwned {
    /// The stable snake_case kind of the jobs these arguments belong to.
    const KIND: &'static str;
}

impl NewJob {
    /// A job of kind `A::KIND` with `args` encoded, on the default queue, as
    /// [`NewJob::new`] makes it: for no account, without unique key or run, due at `now`,
    /// three attempts, priority 0. Set the other
    /// fields with struct update syntax (`NewJob { queue, ..NewJob::typed(&args, now)? }`).
    pub fn typed<A: JobArgs>(args: &A, now: DateTime<Utc>) -> Result<NewJob, QueueError> {
        let args = serde_json::to_value(args).map_err(|e| QueueError::Args {
            kind: A::KIND.to_string(),
            message: format!("cannot encode: {e}"),
        })?;
        Ok(NewJob::new(DEFAULT_QUEUE, A::KIND, args, now))
    }
}

impl Job {
    /// The job's arguments decoded as `T`; an error names the job's kind and what did not
    /// decode (a missing field, a wrong type, an unknown plan…).
    pub fn args_as<T: DeserializeOwned>(&self) -> Result<T, QueueError> {
        T::deserialize(&self.args).map_err(|e| QueueError::Args {
            kind: self.kind.clone(),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::JobId;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Ping {
        position: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    }

    impl JobArgs for Ping {
        const KIND: &'static str = "ping";
    }

    fn now() -> DateTime<Utc> {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    fn job(new: &NewJob) -> Job {
        Job {
            id: JobId::new(1),
            queue: new.queue.clone(),
            kind: new.kind.clone(),
            args: new.args.clone(),
            account_id: None,
            unique_key: None,
            run_id: None,
            state: crate::JobState::Running,
            attempt: 1,
            max_attempts: 3,
            priority: 0,
            run_at: new.run_at,
            created_at: new.now,
            attempted_at: None,
            finished_at: None,
            locked_by: None,
            lease_expires_at: None,
            errors: Vec::new(),
            progress: None,
            result: None,
        }
    }

    #[test]
    fn typed_jobs_carry_the_kind_and_round_trip() {
        let new = NewJob::typed(
            &Ping {
                position: 2,
                note: None,
            },
            now(),
        )
        .unwrap();
        assert_eq!(new.kind, "ping");
        assert_eq!(new.queue, DEFAULT_QUEUE);
        assert_eq!(new.args, serde_json::json!({ "position": 2 }));
        let back: Ping = job(&new).args_as().unwrap();
        assert_eq!(
            back,
            Ping {
                position: 2,
                note: None
            }
        );
    }

    #[test]
    fn a_payload_that_does_not_decode_names_the_kind_and_the_reason() {
        let mut new = NewJob::typed(
            &Ping {
                position: 2,
                note: None,
            },
            now(),
        )
        .unwrap();
        new.args = serde_json::json!({ "position": "two" });
        let err = job(&new).args_as::<Ping>().unwrap_err().to_string();
        assert!(err.contains("`ping`"), "{err}");
        assert!(err.contains("invalid type"), "{err}");
        new.args = serde_json::json!({});
        let err = job(&new).args_as::<Ping>().unwrap_err().to_string();
        assert!(err.contains("missing field `position`"), "{err}");
    }
}
