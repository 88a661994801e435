//! Queue conformance cases. Retention and metrics: pruning finished jobs, per-minute metrics and their roll-ups.

use super::*;

pub async fn prune_keeps_the_newest_and_deletes_only_old_jobs(fx: &dyn Fixture) {
    let store = fx.store();
    let now = at(100 * 86_400);
    let days = |d: i64| now - Duration::days(d);
    let c = [
        completed_job(&store, "q", days(10), days(10)).await,
        completed_job(&store, "q", days(9), days(9)).await,
        completed_job(&store, "q", days(8), days(8)).await,
        completed_job(&store, "q", days(1), now - Duration::hours(1)).await,
        completed_job(&store, "q", days(1), now - Duration::minutes(1)).await,
    ];
    let f = [
        failed_job(&store, "q", days(40), days(40)).await,
        failed_job(&store, "q", days(35), days(35)).await,
        failed_job(&store, "q", days(1), days(1)).await,
    ];
    let x1 = insert(&store, new_job("q", "k")).await;
    let x2 = insert(&store, new_job("q", "k")).await;
    store
        .jobs_cancel(JobSelector::Ids(vec![x1]), days(40))
        .await
        .unwrap();
    store
        .jobs_cancel(JobSelector::Ids(vec![x2]), days(31))
        .await
        .unwrap();
    // Old but unfinished jobs are never pruned.
    let old_pending = insert(
        &store,
        NewJob {
            run_at: days(60),
            now: days(60),
            ..new_job("idle", "k")
        },
    )
    .await;

    let policy = |completed_keep: u32, failed_keep: u32| RetentionPolicy {
        completed_keep,
        completed_max_age: Duration::days(7),
        failed_keep,
        failed_max_age: Duration::days(30),
        now,
    };
    let report = store.job_prune(policy(4, 10)).await.unwrap();
    assert_eq!(
        (report.completed, report.failed, report.cancelled),
        (1, 0, 0)
    );
    assert_eq!(store.job_get(c[0]).await.unwrap(), None);
    assert!(store.job_get(c[1]).await.unwrap().is_some());

    let report = store.job_prune(policy(2, 1)).await.unwrap();
    assert_eq!(
        (report.completed, report.failed, report.cancelled),
        (2, 2, 1)
    );
    for gone in [c[1], c[2], f[0], f[1], x1] {
        assert_eq!(
            store.job_get(gone).await.unwrap(),
            None,
            "job {gone} pruned"
        );
    }
    for kept in [c[3], c[4], f[2], x2, old_pending] {
        assert!(
            store.job_get(kept).await.unwrap().is_some(),
            "job {kept} kept"
        );
    }
    // Young jobs stay even beyond the count.
    let report = store.job_prune(policy(0, 0)).await.unwrap();
    assert_eq!(
        (report.completed, report.failed, report.cancelled),
        (0, 0, 1)
    );
    assert!(store.job_get(c[3]).await.unwrap().is_some());
    assert!(store.job_get(f[2]).await.unwrap().is_some());
}

/// Completions whose waits and runs sit on the histogram's bucket edges (under a
/// millisecond, one either side of a power of two, past the last bucket) count in the
/// bucket [`histogram_bucket`] gives them, whatever way the store adds them up.
pub async fn metrics_put_each_wait_and_run_in_its_histogram_bucket(fx: &dyn Fixture) {
    let store = fx.store();
    let ms = |m: i64| t0() + Duration::milliseconds(m);
    let edges: [(i64, i64); 6] = [
        (0, 1),
        (1, 2),
        (3, 1_023),
        (1_024, 4_095),
        (4_096, 1 << 23),
        ((1 << 24) + 7, (1 << 30) + 1),
    ];
    let mut wait = vec![0u64; HISTOGRAM_BUCKETS];
    let mut run = vec![0u64; HISTOGRAM_BUCKETS];
    let mut from = 0;
    for (i, (w, r)) in edges.into_iter().enumerate() {
        let id = insert(
            &store,
            NewJob {
                run_at: ms(from),
                now: ms(from),
                ..new_job(&format!("edges-{i}"), "k")
            },
        )
        .await;
        let queue = format!("edges-{i}");
        assert_eq!(
            claim(&store, &[queue.as_str()], "w", 1, ms(from + w)).await,
            vec![id]
        );
        assert!(
            store
                .job_complete(completion(id, "w", ms(from + w + r)))
                .await
                .unwrap()
        );
        wait[histogram_bucket(w)] += 1;
        run[histogram_bucket(r)] += 1;
        from += w + r + 1;
    }
    let points = store
        .job_metrics(JobMetricsQuery {
            from: t0(),
            to: ms(from + 86_400_000),
            resolution: Resolution::Day,
            queue: None,
        })
        .await
        .unwrap();
    let sum = |pick: fn(&crate::JobMetricPoint) -> &Vec<u64>| {
        points
            .iter()
            .fold(vec![0u64; HISTOGRAM_BUCKETS], |mut acc, p| {
                for (a, b) in acc.iter_mut().zip(pick(p)) {
                    *a += b;
                }
                acc
            })
    };
    assert_eq!(points.iter().map(|p| p.completed).sum::<u64>(), 6);
    assert_eq!(sum(|p| &p.wait_histogram), wait, "waits");
    assert_eq!(sum(|p| &p.run_histogram), run, "runs");
}

pub async fn metrics_count_finished_jobs_per_minute_and_roll_up(fx: &dyn Fixture) {
    let store = fx.store();
    let ms = |m: i64| t0() + Duration::milliseconds(m);
    let job = |kind: &str| NewJob {
        run_at: t0(),
        now: t0(),
        ..new_job("mq", kind)
    };
    // Minute 0: two completions of kind a.
    let a1 = insert(&store, job("a")).await;
    let a2 = insert(&store, job("a")).await;
    assert_eq!(claim(&store, &["mq"], "w", 1, ms(1_000)).await, vec![a1]);
    assert!(
        store
            .job_complete(completion(a1, "w", ms(1_500)))
            .await
            .unwrap()
    );
    assert_eq!(claim(&store, &["mq"], "w", 1, ms(2_000)).await, vec![a2]);
    assert!(
        store
            .job_complete(completion(a2, "w", ms(4_000)))
            .await
            .unwrap()
    );
    // Minute 1: a retried failure (not counted) then a final failure.
    let a3 = insert(&store, job("a")).await;
    assert_eq!(claim(&store, &["mq"], "w", 1, ms(61_000)).await, vec![a3]);
    store
        .job_fail(failure(a3, "w", ms(61_500), Some(ms(62_000))))
        .await
        .unwrap();
    assert_eq!(claim(&store, &["mq"], "w", 1, ms(62_000)).await, vec![a3]);
    store
        .job_fail(failure(a3, "w", ms(63_000), None))
        .await
        .unwrap();
    // Next hour: kind b. Another queue: excluded by the queue filter.
    let b1 = insert(&store, job("b")).await;
    assert_eq!(
        claim(&store, &["mq"], "w", 1, ms(3_600_000)).await,
        vec![b1]
    );
    assert!(
        store
            .job_complete(completion(b1, "w", ms(3_605_000)))
            .await
            .unwrap()
    );
    completed_job(&store, "elsewhere", t0(), at(5)).await;

    let points = |resolution: Resolution, from: DateTime<Utc>, queue: Option<&str>| {
        let store = store.clone();
        let queue = queue.map(str::to_string);
        async move {
            store
                .job_metrics(JobMetricsQuery {
                    from,
                    to: at(2 * 3_600),
                    resolution,
                    queue,
                })
                .await
                .unwrap()
        }
    };
    let mut wait_a = vec![0u64; HISTOGRAM_BUCKETS];
    wait_a[histogram_bucket(1_000)] += 1;
    wait_a[histogram_bucket(2_000)] += 1;
    let mut run_a = vec![0u64; HISTOGRAM_BUCKETS];
    run_a[histogram_bucket(500)] += 1;
    run_a[histogram_bucket(2_000)] += 1;

    let minute = points(Resolution::Minute, t0(), Some("mq")).await;
    let summary: Vec<_> = minute
        .iter()
        .map(|p| (p.bucket_start, p.kind.as_str(), p.completed, p.failed))
        .collect();
    assert_eq!(
        summary,
        vec![
            (t0(), "a", 2, 0),
            (at(60), "a", 0, 1),
            (at(3_600), "b", 1, 0)
        ]
    );
    assert!(minute.iter().all(|p| p.queue == "mq"));
    assert_eq!(minute[0].wait_histogram, wait_a);
    assert_eq!(minute[0].run_histogram, run_a);
    // The final failure: claimed as soon as due (wait 0), ran one second.
    assert_eq!(minute[1].wait_histogram[histogram_bucket(0)], 1);
    assert_eq!(minute[1].run_histogram[histogram_bucket(1_000)], 1);
    assert_eq!(minute[1].run_histogram.iter().sum::<u64>(), 1);

    let hour = points(Resolution::Hour, t0(), Some("mq")).await;
    let summary: Vec<_> = hour
        .iter()
        .map(|p| (p.bucket_start, p.kind.as_str(), p.completed, p.failed))
        .collect();
    assert_eq!(summary, vec![(t0(), "a", 2, 1), (at(3_600), "b", 1, 0)]);
    assert_eq!(hour[0].wait_histogram.iter().sum::<u64>(), 3);
    assert_eq!(hour[0].run_histogram.iter().sum::<u64>(), 3);
    assert_eq!(hour[0].run_histogram[histogram_bucket(500)], 1);

    let day_start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let day = points(Resolution::Day, day_start, None).await;
    let summary: Vec<_> = day
        .iter()
        .map(|p| {
            (
                p.bucket_start,
                p.queue.as_str(),
                p.kind.as_str(),
                p.completed,
                p.failed,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (day_start, "elsewhere", "work", 1, 0),
            (day_start, "mq", "a", 2, 1),
            (day_start, "mq", "b", 1, 0),
        ]
    );
    // The range selects minutes.
    let late = points(Resolution::Minute, at(60), Some("mq")).await;
    assert_eq!(late.len(), 2);
    assert_eq!(late[0].bucket_start, at(60));
}
