//! What a job handler is: a [`JobHandler`] keyed by its stable `kind`, given a
//! [`JobContext`] and returning a [`JobOutcome`] the worker applies through the store.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::types::{Job, NewJob};
use crate::{Clock, DynQueueStore};
use chrono::{DateTime, Utc};

/// What became of one attempt of a job.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    /// Done: store `result` and insert `next` in the same transaction (chains).
    Complete {
        result: Option<serde_json::Value>,
        next: Vec<NewJob>,
    },
    /// The attempt failed; retry with backoff while attempts remain.
    Retry { error: String },
    /// Not now: back to pending until `until`, without consuming the attempt.
    Snooze {
        until: DateTime<Utc>,
        reason: String,
    },
    /// Failed for good: no further attempts.
    Discard { error: String },
}

impl JobOutcome {
    pub fn done() -> JobOutcome {
        JobOutcome::Complete {
            result: None,
            next: Vec::new(),
        }
    }

    pub fn retry(error: impl Into<String>) -> JobOutcome {
        JobOutcome::Retry {
            error: error.into(),
        }
    }

    pub fn discard(error: impl Into<String>) -> JobOutcome {
        JobOutcome::Discard {
            error: error.into(),
        }
    }
}

/// Everything a handler may use while running one attempt.
#[derive(Clone)]
pub struct JobContext {
    /// The job as claimed (`attempt` is this attempt's number, from 1).
    pub job: Job,
    pub worker_id: String,
    /// The queue's persistence only: a handler keeps its own handle to anything else.
    pub store: DynQueueStore,
    pub clock: Clock,
    /// Progress set but not yet written (see [`JobContext::set_progress`]).
    pub(crate) progress: Arc<Mutex<HeldProgress>>,
}

/// How often at most an attempt's progress is written while it runs; the first write waits
/// as long after the claim. Most jobs end sooner, and their last progress is written with
/// their outcome instead: a statement and a commit each less.
pub(crate) const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// An attempt's progress between its writes.
#[derive(Debug)]
pub(crate) struct HeldProgress {
    /// When the attempt was claimed, then when its progress was last written.
    since: Instant,
    held: Option<serde_json::Value>,
    /// Whether a timer will write the held progress at `since` + [`PROGRESS_EVERY`].
    timer: bool,
}

impl HeldProgress {
    pub(crate) fn new() -> Arc<Mutex<HeldProgress>> {
        Arc::new(Mutex::new(HeldProgress {
            since: Instant::now(),
            held: None,
            timer: false,
        }))
    }
}

impl JobContext {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The job's arguments decoded as `T` (see [`Job::args_as`]). A handler discards a
    /// job whose arguments do not decode, with this error as the reason.
    pub fn args<T: serde::de::DeserializeOwned>(&self) -> Result<T, crate::QueueError> {
        self.job.args_as()
    }

    /// True when a failure of this attempt fails the job for good.
    pub fn is_last_attempt(&self) -> bool {
        self.job.attempt >= self.job.max_attempts
    }

    /// Records progress on the job (shown by the CLI and the queue monitor). Written at most
    /// once a second, from a second after the claim on: progress set sooner is held, and
    /// written when that second is up (by a timer, if the attempt sets none later) or with
    /// the attempt's outcome if it ends first, so a job that ends within its first second
    /// writes none but still shows the last progress its attempt set. Best effort: a failure
    /// to record progress never fails the job.
    pub async fn set_progress(&self, progress: serde_json::Value) {
        enum Then {
            Write(serde_json::Value),
            ArmTimer(Duration),
            Hold,
        }
        let then = {
            let mut slot = self.progress.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let due = slot.since + PROGRESS_EVERY;
            if now >= due {
                slot.since = now;
                slot.held = None;
                Then::Write(progress)
            } else {
                slot.held = Some(progress);
                if std::mem::replace(&mut slot.timer, true) {
                    Then::Hold
                } else {
                    Then::ArmTimer(due - now)
                }
            }
        };
        match then {
            Then::Write(progress) => self.write_progress(progress).await,
            Then::Hold => {}
            Then::ArmTimer(wait) => {
                let ctx = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    // Kept as held too: should the attempt end while this write is on its
                    // way, its outcome carries the same progress.
                    let held = {
                        let mut slot = ctx.progress.lock().unwrap_or_else(|e| e.into_inner());
                        slot.timer = false;
                        let held = slot.held.clone();
                        if held.is_some() {
                            slot.since = Instant::now();
                        }
                        held
                    };
                    if let Some(progress) = held {
                        ctx.write_progress(progress).await;
                    }
                });
            }
        }
    }

    /// The attempt's last progress unless it was written at once, taken: the worker stores
    /// it with the outcome (held progress the timer wrote is kept, as its write may still be
    /// on its way).
    pub(crate) fn take_held_progress(&self) -> Option<serde_json::Value> {
        self.progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .held
            .take()
    }

    /// Writes progress now (the held progress before a failure or a snooze).
    pub(crate) async fn write_progress(&self, progress: serde_json::Value) {
        if let Err(e) = self
            .store
            .job_progress_set(self.job.id, &self.worker_id, progress)
            .await
        {
            tracing::debug!(job = self.job.id.get(), error = %e, "could not record job progress");
        }
    }
}

/// The code behind one job kind.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// The stable snake_case kind this handler runs (persisted in jobs: never rename).
    fn kind(&self) -> &str;

    /// Runs one attempt. Errors are outcomes, never panics.
    async fn run(&self, ctx: JobContext) -> JobOutcome;

    /// Called when an attempt ran past the job timeout: after its task was stopped and
    /// before the failed attempt is recorded (so a retry, and [`JobHandler::on_failed`],
    /// see what it accounts for here, e.g. the calls the stopped attempt made).
    async fn on_timeout(&self, ctx: &JobContext) {
        let _ = ctx;
    }

    /// Called once the job has failed for good (no attempts left, discarded, or timed out on
    /// its last attempt), after the store recorded it. `error` is the last error.
    async fn on_failed(&self, ctx: &JobContext, error: &str) {
        let _ = (ctx, error);
    }
}

pub type DynHandler = Arc<dyn JobHandler>;
