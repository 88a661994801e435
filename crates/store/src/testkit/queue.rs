//! Conformance cases for the job queue: inserts and merges, claims, leases, retries,
//! snoozes, the rescuer, schedules, the limiter, retention and metrics.

/// The queue cases, by name (each is a `pub async fn(DynStore)` in this module).
#[doc(hidden)]
#[macro_export]
macro_rules! queue_cases {
    ($factory:path) => {
        $crate::conformance_cases!($factory; queue_is_empty_on_a_fresh_database);
    };
}

use crate::{DynStore, JobQuery};

pub async fn queue_is_empty_on_a_fresh_database(store: DynStore) {
    let page = store
        .job_list(JobQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 0);
}
