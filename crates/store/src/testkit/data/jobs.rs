//! Conformance cases for jobs as a dialect stores them: what a listing makes of a job's
//! `errors` column when it holds what the store would never write. Each dialect writes such
//! values its own way ([`RawJobErrors`]) and runs the cases from its own test binary.

use super::*;

use crate::{ClaimParams, JobFailure, JobId, JobQuery};

/// How a dialect writes a job's `errors` column past the store, for
/// [`unreadable_job_errors_flag_their_job_and_fail_no_listing`].
#[async_trait::async_trait]
pub trait RawJobErrors: Send + Sync {
    /// Two values of the column that are no list of entries, as this dialect can hold them
    /// (SQLite: text that is not JSON, or JSON of another shape; PostgreSQL: `jsonb` of
    /// another shape), each spelt as a listing quotes it after "unreadable error entry: ".
    fn unreadable(&self) -> [&'static str; 2];

    /// An entry's `at` as this dialect encodes it.
    fn at(&self, at: DateTime<Utc>) -> serde_json::Value;

    /// Stores `stored` as the job's `errors`, unchanged.
    async fn write(&self, id: JobId, stored: &str);
}

/// A job whose stored errors cannot be read (not a list, an entry of the wrong shape) is
/// still listed, found and retried: each unreadable entry is flagged with what is stored,
/// and the other jobs and entries are untouched.
pub async fn unreadable_job_errors_flag_their_job_and_fail_no_listing(
    store: DynStore,
    raw: &dyn RawJobErrors,
) {
    let a = account(&store, "16001").await.id;
    let ids: Vec<JobId> = store
        .job_insert_many((0..4).map(|_| job(Some(a), None)).collect())
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id())
        .collect();
    let [whole, other] = raw.unreadable();
    let mixed = json!([
        {"attempt": 1, "at": raw.at(t0()), "worker_id": "w1", "error": "boom"},
        {"attempt": "two"},
        "text"
    ]);
    raw.write(ids[0], whole).await;
    raw.write(ids[1], &mixed.to_string()).await;
    raw.write(ids[2], other).await;

    let page = store
        .job_list(JobQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 4);
    let of = |id: JobId| page.jobs.iter().find(|j| j.id == id).unwrap().clone();
    let first = of(ids[0]);
    assert_eq!(first.errors.len(), 1);
    assert!(first.errors[0].unreadable);
    assert_eq!(
        first.errors[0].error,
        format!("unreadable error entry: {whole}")
    );
    assert_eq!(first.errors[0].at, t0(), "dated by the job");
    let second = of(ids[1]);
    assert_eq!(second.errors.len(), 3);
    assert!(!second.errors[0].unreadable);
    assert_eq!(second.errors[0].error, "boom");
    assert_eq!(second.errors[0].worker_id.as_deref(), Some("w1"));
    assert_eq!(second.errors[0].at, t0());
    assert!(second.errors[1].unreadable && second.errors[2].unreadable);
    assert!(second.errors[1].error.contains(r#""attempt":"two""#));
    assert!(of(ids[2]).errors[0].unreadable);
    assert!(of(ids[3]).errors.is_empty());
    assert_eq!(store.job_get(ids[0]).await.unwrap().unwrap(), first);

    // Searching still works, over the readable entries.
    let found = store
        .job_list(JobQuery {
            search: Some("boom".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        found.jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
        [ids[1]]
    );

    // A failure is recorded after what is stored, which is kept.
    let claimed = store
        .job_claim(ClaimParams {
            queues: vec!["instagram-sync".into()],
            worker_id: "w2".into(),
            limit: 4,
            now: t0(),
            lease_until: t0() + Duration::minutes(5),
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "one job of the account at a time");
    let claimed = claimed[0].id;
    assert_eq!(claimed, ids[0], "the oldest job: the unreadable one");
    let before = store.job_get(claimed).await.unwrap().unwrap().errors;
    store
        .job_fail(JobFailure {
            id: claimed,
            worker_id: "w2".into(),
            at: t0() + Duration::seconds(1),
            error: "second failure".into(),
            retry_at: Some(t0() + Duration::minutes(1)),
        })
        .await
        .unwrap();
    let after = store.job_get(claimed).await.unwrap().unwrap().errors;
    assert_eq!(after.len(), before.len() + 1, "{after:?}");
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(after[0].unreadable, "{after:?}");
    assert!(after[0].error.contains(whole), "{after:?}");
    assert_eq!(after[1].error, "second failure");
    assert!(!after[1].unreadable);
}
