//! Conformance cases for the job queue: inserts and merges, claims, leases, retries,
//! snoozes, the rescuer, schedules, the limiter, retention and metrics.
//!
//! Readings of the contract these cases fix (both dialects follow them):
//! - `limit: 0` in a [`JobQuery`] means "no limit"; bulk actions by filter
//!   ([`JobSelector::Filter`]) apply to every match and ignore `limit`/`offset`.
//! - Persisted metrics count finished jobs only: a completion, or a failure with no retry
//!   left (including a rescue that fails the job). A failed attempt that is retried is not
//!   counted.
//! - A retried job (manual retry) keeps its error history; its attempt count restarts at 0.
//! - Manual retry never breaks a unique key: a job whose key is held by an active job stays
//!   as it is, and of several selected jobs sharing a key only one becomes pending.
//! - Progress stays on a job after it completes (the last known progress).
//!
//! A test binary calls [`queue_cases!`](crate::queue_cases) with an async factory returning
//! a `Box<dyn Fixture>`: a fresh, migrated, empty [`QueueStore`](crate::QueueStore) and the
//! owners its jobs may name (accounts and runs), which only the implementation can create.
//! The macro expands to one `#[tokio::test]` per case, so failures are reported by name.

/// The queue cases, by name (each is a `pub async fn(&dyn Fixture)` of this module).
#[doc(hidden)]
#[macro_export]
macro_rules! queue_cases {
    ($factory:path) => {
        $crate::queue_conformance_cases!($factory;
            queue_is_empty_on_a_fresh_database,
            job_insert_and_get_round_trip,
            invalid_jobs_are_rejected,
            unique_key_merges_while_active_and_frees_after_finish,
            job_insert_many_merges_in_order_and_is_one_transaction,
            claim_orders_by_priority_run_at_and_id_and_skips_future_and_other_queues,
            claim_sets_lease_worker_and_attempt,
            claim_never_runs_two_jobs_of_one_account,
            a_claim_looks_past_one_accounts_backlog,
            concurrent_claimers_never_double_claim_or_overlap_an_account,
            heartbeat_extends_leases_and_drops_cancelled_jobs,
            complete_stores_result_and_inserts_next_atomically,
            complete_is_refused_for_jobs_not_held,
            fail_with_retry_returns_to_pending_with_an_error_entry,
            fail_without_attempts_left_is_final,
            snooze_gives_the_attempt_back,
            progress_is_kept_on_the_job,
            rescue_returns_expired_leases_to_pending_or_fails_them,
            list_filters_by_state_queue_kind_account_and_run_and_pages,
            search_is_plain_text_never_sql,
            snapshot_counts_scheduled_and_oldest_due,
            due_count_is_pending_due_plus_running,
            an_account_set_narrows_lists_bulk_actions_and_counts,
            retry_cancel_and_delete_by_ids_follow_the_state_rules,
            bulk_actions_by_filter_apply_to_every_match,
            retry_never_breaks_a_unique_key,
            deleting_an_account_deletes_its_jobs,
            prune_keeps_the_newest_and_deletes_only_old_jobs,
            metrics_count_finished_jobs_per_minute_and_roll_up,
            metrics_put_each_wait_and_run_in_its_histogram_bucket,
            rate_limit_grants_up_to_the_limit_then_names_the_next_slot,
            rate_limit_never_exceeds_the_limit_under_concurrency,
            schedule_upsert_keeps_state_and_replaces_next_run_only_on_cron_change,
            schedule_pause_and_resume,
            schedule_fire_fires_once_when_callers_race,
            workers_register_list_and_remove,
        );
    };
}

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use crate::{
    AccountId, ClaimParams, DynQueueStore, HISTOGRAM_BUCKETS, InsertOutcome, Job, JobCompletion,
    JobFailure, JobId, JobMetricsQuery, JobQuery, JobSelector, JobState, NewJob, RateDecision,
    Resolution, RetentionPolicy, RunId, ScheduleDef, ScheduleFire, StoreError, WorkerInfo,
    histogram_bucket,
};

/// Shared expansion: one test function per case name.
#[doc(hidden)]
#[macro_export]
macro_rules! queue_conformance_cases {
    ($factory:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $factory().await;
                $crate::testkit::$case(&*fixture).await;
                fixture.teardown().await;
            }
        )*
    };
}

mod bulk;
mod claims;
mod inserts;
mod inspection;
mod limiter;
mod outcomes;
mod retention;
mod schedules;
mod workers;

pub use bulk::*;
pub use claims::*;
pub use inserts::*;
pub use inspection::*;
pub use limiter::*;
pub use outcomes::*;
pub use retention::*;
pub use schedules::*;
pub use workers::*;

/// A fresh queue store for one case, and the owners its jobs may name.
#[async_trait::async_trait]
pub trait Fixture: Send + Sync {
    fn store(&self) -> DynQueueStore;
    /// A new account (the `account_id` jobs carry), distinct for each `n`.
    async fn account(&self, n: u32) -> AccountId;
    /// A new run of `account` (the `run_id` jobs carry).
    async fn run(&self, account: AccountId) -> RunId;
    /// Deletes the account; its jobs must go with it. True if it existed.
    async fn account_delete(&self, account: AccountId) -> bool;
    async fn teardown(self: Box<Self>);
}

// ----- helpers -----

/// A fixed, hour-aligned moment all cases count from (the store never reads a clock).
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(seconds)
}

fn new_job(queue: &str, kind: &str) -> NewJob {
    NewJob::new(queue, kind, json!({}), t0())
}

async fn insert(store: &DynQueueStore, job: NewJob) -> JobId {
    match store.job_insert(job).await.unwrap() {
        InsertOutcome::Inserted(id) => id,
        other => panic!("expected a new job, got {other:?}"),
    }
}

fn claim_params(queues: &[&str], worker: &str, limit: u32, now: DateTime<Utc>) -> ClaimParams {
    ClaimParams {
        queues: queues.iter().map(|q| q.to_string()).collect(),
        worker_id: worker.to_string(),
        limit,
        now,
        lease_until: now + Duration::seconds(60),
    }
}

async fn claim(
    store: &DynQueueStore,
    queues: &[&str],
    worker: &str,
    limit: u32,
    now: DateTime<Utc>,
) -> Vec<JobId> {
    store
        .job_claim(claim_params(queues, worker, limit, now))
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect()
}

async fn get(store: &DynQueueStore, id: JobId) -> Job {
    store.job_get(id).await.unwrap().expect("job exists")
}

fn completion(id: JobId, worker: &str, at: DateTime<Utc>) -> JobCompletion {
    JobCompletion {
        id,
        worker_id: worker.to_string(),
        finished_at: at,
        result: None,
        next: Vec::new(),
        progress: None,
    }
}

fn failure(
    id: JobId,
    worker: &str,
    at: DateTime<Utc>,
    retry_at: Option<DateTime<Utc>>,
) -> JobFailure {
    JobFailure {
        id,
        worker_id: worker.to_string(),
        at,
        error: "boom".to_string(),
        retry_at,
    }
}

/// Inserts a job in queue `q` due at `due`, claims it at `due` and completes it at `done`.
async fn completed_job(
    store: &DynQueueStore,
    q: &str,
    due: DateTime<Utc>,
    done: DateTime<Utc>,
) -> JobId {
    let id = insert(
        store,
        NewJob {
            run_at: due,
            now: due,
            ..new_job(q, "work")
        },
    )
    .await;
    assert_eq!(claim(store, &[q], "w-done", 1, due).await, vec![id]);
    assert!(
        store
            .job_complete(completion(id, "w-done", done))
            .await
            .unwrap()
    );
    id
}

/// Inserts a job in queue `q`, claims it at `due` and fails it for good at `done`.
async fn failed_job(
    store: &DynQueueStore,
    q: &str,
    due: DateTime<Utc>,
    done: DateTime<Utc>,
) -> JobId {
    let id = insert(
        store,
        NewJob {
            run_at: due,
            now: due,
            ..new_job(q, "work")
        },
    )
    .await;
    assert_eq!(claim(store, &[q], "w-fail", 1, due).await, vec![id]);
    assert_eq!(
        store
            .job_fail(failure(id, "w-fail", done, None))
            .await
            .unwrap(),
        Some(JobState::Failed)
    );
    id
}

fn query() -> JobQuery {
    JobQuery::default()
}

async fn ids_of(store: &DynQueueStore, q: JobQuery) -> (Vec<JobId>, i64) {
    let page = store.job_list(q).await.unwrap();
    (page.jobs.iter().map(|j| j.id).collect(), page.total)
}
