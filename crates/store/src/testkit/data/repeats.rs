//! Conformance cases for lossless history without repeated rows: a snapshot equal to the
//! newest row of its series (provenance included) confirms that row instead of appending
//! one, and every read answers as of every capture time what it answered when every
//! snapshot was a row.

use super::*;

/// The value of each series as of `t` among `points` (series, time, value): the newest
/// point at or before `t`, as a reader holding every snapshot would answer.
fn as_of<S: Ord + Clone>(points: &[(S, DateTime<Utc>, f64)], t: DateTime<Utc>) -> BTreeMap<S, f64> {
    let mut sorted: Vec<&(S, DateTime<Utc>, f64)> = points.iter().filter(|p| p.1 <= t).collect();
    sorted.sort_by_key(|p| p.1);
    sorted
        .into_iter()
        .map(|(s, _, v)| (s.clone(), *v))
        .collect()
}

type Series = (String, String, Option<crate::Breakdown>);

fn points(history: &[InsightSnapshot]) -> Vec<(Series, DateTime<Utc>, f64)> {
    history
        .iter()
        .map(|s| {
            (
                (s.ig_media_id.clone(), s.metric.clone(), s.breakdown.clone()),
                s.captured_at,
                s.value,
            )
        })
        .collect()
}

pub async fn snapshot_repeats_confirm_the_previous_row_and_history_stays_exact(store: DynStore) {
    let a = account(&store, "9801").await.id;
    add_media(
        &store,
        a,
        vec![
            record("r1", at(-120), ProductType::Feed),
            record("r2", at(-100), ProductType::Reels),
        ],
    )
    .await;

    // Eleven hourly reads: r1's reach changes twice, its likes once, its breakdown never,
    // r2's views never; at read 8 the API version changes with the same values.
    let reach = [
        100., 100., 100., 120., 120., 120., 120., 150., 150., 150., 150.,
    ];
    let likes = [5., 5., 6., 6., 6., 6., 6., 6., 6., 6., 6.];
    let mut written: Vec<(Series, DateTime<Utc>, f64)> = Vec::new();
    let mut times = Vec::new();
    for (i, (reach, likes)) in reach.iter().zip(likes).enumerate() {
        let t = at(60 * i as i64);
        times.push(t);
        let rows = vec![
            snap("r1", "reach", "", t, *reach),
            snap("r1", "likes", "", t, likes),
            snap("r1", "profile_activity", "action_type:CALL", t, 2.0),
            snap("r2", "views", "", t, 7.0),
        ];
        written.extend(points(&rows));
        let mut batch = insights(a, t, rows);
        if i >= 8 {
            batch.origin = crate::Origin::poll("v24.0");
        }
        store.media_insights_apply(batch.clone()).await.unwrap();
        if i == 10 {
            // A retried read is the same read.
            store.media_insights_apply(batch).await.unwrap();
        }
    }
    let stored = store.totals().await.unwrap().media_insight_snapshots;
    // Rows: reach at 0, 180, 420, 480 (version); likes at 0, 120, 480; the breakdown at 0,
    // 480; views at 0, 480.
    assert_eq!(
        stored,
        11,
        "repeats are not rows ({} snapshots read)",
        written.len()
    );

    let history = store
        .media_insight_history(&ids(&["r1", "r2"]), &[])
        .await
        .unwrap();
    let got = points(&history);
    for t in &times {
        for probe in [*t, *t + Duration::minutes(30)] {
            assert_eq!(as_of(&got, probe), as_of(&written, probe), "as of {probe}");
        }
    }
    // Each item's values line up read by read wherever any of them changed, and the last
    // point of every series is the last read: freshness still says when it was confirmed.
    let r1_times: Vec<DateTime<Utc>> = history
        .iter()
        .filter(|s| s.ig_media_id == "r1" && s.metric == "profile_activity")
        .map(|s| s.captured_at)
        .collect();
    assert_eq!(
        r1_times,
        [0, 60, 120, 180, 360, 420, 480, 600].map(at).to_vec(),
        "r1's reads where one of its values changed or was last confirmed"
    );
    for series in got.iter().map(|p| p.0.clone()) {
        let last = got.iter().filter(|p| p.0 == series).map(|p| p.1).max();
        assert_eq!(last, Some(at(600)), "{series:?} confirmed by the last read");
    }
    // The post's window read gives the same points.
    let window = store
        .media_insight_history_window(
            PostWindow {
                account_id: a,
                from: at(-200),
                to: at(0),
                baseline: 0,
            },
            &[],
        )
        .await
        .unwrap();
    assert_eq!(window, history);

    // A late read (older than the newest row of its series) is a row of its own, as before,
    // and changes no answer.
    store
        .media_insights_apply(insights(
            a,
            at(200),
            vec![snap("r1", "reach", "", at(200), 120.0)],
        ))
        .await
        .unwrap();
    assert_eq!(store.totals().await.unwrap().media_insight_snapshots, 12);
    let again = points(
        &store
            .media_insight_history(&ids(&["r1", "r2"]), &[])
            .await
            .unwrap(),
    );
    for t in &times {
        assert_eq!(as_of(&again, *t), as_of(&written, *t), "as of {t}");
    }
    let r1 = store.media_get("r1").await.unwrap().unwrap();
    assert_eq!(r1.latest, latest(&[("likes", 6.0), ("reach", 150.0)]));
    assert_eq!(r1.insights_captured_at, Some(at(600)));

    // The profile: the same counters read again confirm the newest snapshot.
    let followers = [100, 100, 101, 101, 101, 101, 102];
    let mut profile_written = Vec::new();
    for (i, f) in followers.iter().enumerate() {
        let t = at(60 * i as i64);
        profile_written.push(((), t, *f as f64));
        store
            .profile_apply(profile(a, t, *f, "same"))
            .await
            .unwrap();
    }
    assert_eq!(store.totals().await.unwrap().profile_snapshots, 3);
    let profile_points: Vec<((), DateTime<Utc>, f64)> = store
        .profile_snapshots(a, at(0), at(360))
        .await
        .unwrap()
        .iter()
        .map(|s| ((), s.captured_at, s.followers_count as f64))
        .collect();
    for (_, t, _) in &profile_written {
        assert_eq!(
            as_of(&profile_points, *t),
            as_of(&profile_written, *t),
            "as of {t}"
        );
    }
    assert_eq!(
        profile_points.iter().map(|p| p.1).collect::<Vec<_>>(),
        vec![at(0), at(60), at(120), at(300), at(360)],
        "every capture or last confirmation of a value"
    );
    // A window inside a confirmed span still holds its reads' values.
    let inside = store.profile_snapshots(a, at(150), at(330)).await.unwrap();
    assert_eq!(
        inside
            .iter()
            .map(|s| (s.captured_at, s.followers_count))
            .collect::<Vec<_>>(),
        vec![(at(300), 101)]
    );
    let acc = store.account_get(a).await.unwrap().unwrap();
    assert_eq!(acc.followers_count, Some(102));

    // Demographics: a day equal to the newest day confirms it; the latest is always the
    // last day read, with exactly its values.
    let value = |key: &str, v: f64| DemographicValue {
        metric: "follower_demographics".into(),
        breakdown: "country".into(),
        timeframe: String::new(),
        key: key.to_owned(),
        value: v,
    };
    let days = [
        vec![value("DE", 5.0), value("US", 10.0)],
        vec![value("DE", 5.0), value("US", 10.0)],
        vec![value("DE", 5.0), value("US", 10.0)],
        vec![value("DE", 5.0), value("US", 11.0)],
        vec![value("US", 11.0)],
    ];
    for (i, rows) in days.iter().enumerate() {
        let on = day(1 + i as u32);
        store
            .demographics_apply(DemographicBatch {
                account_id: a,
                captured_on: on,
                rows: rows.clone(),
                origin: crate::Origin::poll("v23.0"),
            })
            .await
            .unwrap();
        assert_eq!(
            store.demographics_latest(a).await.unwrap(),
            Some((on, rows.clone())),
            "day {on}"
        );
    }
    // DE once, US at day 1 and day 4.
    assert_eq!(store.totals().await.unwrap().demographic_values, 3);
}
