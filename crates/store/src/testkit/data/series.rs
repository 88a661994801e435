//! Conformance cases for stories, account insight days and demographics.

use super::*;

pub async fn stories_and_their_snapshots(store: DynStore) {
    let a = account(&store, "9701").await.id;
    let story = |id: &str, published: DateTime<Utc>| StoryRecord {
        ig_media_id: id.to_owned(),
        media_type: MediaType::Video,
        published_at: published,
        permalink: Some(format!("https://instagram.example/s/{id}")),
        caption: Some("story".into()),
        media_url: Some(format!("https://cdn.example/{id}.mp4")),
    };
    let written = store
        .stories_apply(StoryBatch {
            account_id: a,
            captured_at: at(0),
            stories: vec![story("s1", at(-120)), story("s2", at(-60))],
            rows: vec![
                snap("s1", "reach", "", at(0), 40.0),
                snap(
                    "s1",
                    "navigation",
                    "story_navigation_action_type:TAP_FORWARD",
                    at(0),
                    8.0,
                ),
                snap("s2", "reach", "", at(0), 20.0),
            ],
            errors: vec![],
            origin: crate::Origin::poll("v23.0"),
        })
        .await
        .unwrap();
    assert!(
        written >= 3,
        "at least the snapshot rows are counted: {written}"
    );
    store
        .stories_apply(StoryBatch {
            account_id: a,
            captured_at: at(60),
            stories: vec![story("s1", at(-120))],
            rows: vec![snap("s1", "reach", "", at(60), 55.0)],
            errors: vec![("s2".into(), "story expired".into())],
            origin: crate::Origin::poll("v23.0"),
        })
        .await
        .unwrap();

    let listed = store.story_list(a, at(-180), at(0)).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|s| s.record.ig_media_id.as_str())
            .collect::<Vec<_>>(),
        vec!["s2", "s1"],
        "newest first"
    );
    let s1 = &listed[1];
    assert_eq!(s1.record, story("s1", at(-120)));
    assert_eq!(s1.account_id, a);
    assert_eq!(s1.first_seen_at, at(0));
    assert_eq!(s1.last_seen_at, at(60));
    assert_eq!(s1.latest, latest(&[("reach", 55.0)]));
    assert_eq!(s1.insights_captured_at, Some(at(60)));
    assert_eq!(listed[0].insights_error.as_deref(), Some("story expired"));
    assert_eq!(
        store.story_list(a, at(-90), at(0)).await.unwrap().len(),
        1,
        "inclusive range on published_at"
    );
    assert_eq!(
        store.story_list(a, at(-60), at(-60)).await.unwrap().len(),
        1
    );

    let history = store
        .story_insight_history(&ids(&["s1", "s2"]))
        .await
        .unwrap();
    let got: Vec<(&str, &str, DateTime<Utc>, f64)> = history
        .iter()
        .map(|s| {
            (
                s.ig_media_id.as_str(),
                s.metric.as_str(),
                s.captured_at,
                s.value,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("s1", "navigation", at(0), 8.0),
            ("s1", "reach", at(0), 40.0),
            ("s1", "reach", at(60), 55.0),
            ("s2", "reach", at(0), 20.0),
        ]
    );
    let totals = store.totals().await.unwrap();
    assert_eq!((totals.stories, totals.story_insight_snapshots), (2, 4));

    // A row for an unknown story fails the whole batch.
    let err = store
        .stories_apply(StoryBatch {
            account_id: a,
            captured_at: at(120),
            stories: vec![story("s3", at(100))],
            rows: vec![
                snap("s3", "reach", "", at(120), 1.0),
                snap("nope", "reach", "", at(120), 1.0),
            ],
            errors: vec![],
            origin: crate::Origin::poll("v23.0"),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err:?}");
    let totals = store.totals().await.unwrap();
    assert_eq!(
        (totals.stories, totals.story_insight_snapshots),
        (2, 4),
        "nothing half-written"
    );
}

pub async fn account_insight_days_settle_in_place(store: DynStore) {
    let a = account(&store, "9801").await.id;
    let row = |metric: &str, d: u32, breakdown: &str, key: &str, value: f64| AccountInsightDay {
        metric: metric.to_owned(),
        day: day(d),
        breakdown: crate::Breakdown::from_columns(breakdown.to_owned(), key.to_owned()),
        value,
    };
    let first = AccountInsightBatch {
        account_id: a,
        fetched_at: at(0),
        rows: vec![
            row("reach", 1, "", "", 100.0),
            row("reach", 2, "", "", 200.0),
            row("reach", 3, "", "", 300.0),
            row("reach", 3, "media_product_type", "REELS", 120.0),
            row("online_followers", 2, "hour", "13", 42.0),
            row("reels_skip_rate", 1, "", "", 0.1 + 0.2),
        ],
        origin: crate::Origin::poll("v23.0"),
    };
    assert_eq!(
        store.account_insights_apply(first.clone()).await.unwrap(),
        6
    );
    let exact = store
        .account_insight_days(a, &["reels_skip_rate".to_owned()], day(1), day(1))
        .await
        .unwrap();
    assert_eq!(exact.len(), 1);
    assert_eq!(exact[0].value, 0.1 + 0.2, "values round-trip exactly");
    // The settling window is fetched again: days 2 and 3 change, day 1 is untouched.
    store
        .account_insights_apply(AccountInsightBatch {
            account_id: a,
            fetched_at: at(60),
            rows: vec![
                row("reach", 2, "", "", 210.0),
                row("reach", 3, "", "", 333.0),
                row("reach", 4, "", "", 400.0),
            ],
            origin: crate::Origin::poll("v23.0"),
        })
        .await
        .unwrap();
    // A stale fetch of day 3 arriving late does not undo the fresher value.
    store
        .account_insights_apply(AccountInsightBatch {
            account_id: a,
            fetched_at: at(30),
            rows: vec![row("reach", 3, "", "", 301.0)],
            origin: crate::Origin::poll("v23.0"),
        })
        .await
        .unwrap();

    let reach = store
        .account_insight_days(a, &ids(&["reach"]), day(1), day(4))
        .await
        .unwrap();
    assert_eq!(
        reach,
        vec![
            row("reach", 1, "", "", 100.0),
            row("reach", 2, "", "", 210.0),
            row("reach", 3, "", "", 333.0),
            row("reach", 3, "media_product_type", "REELS", 120.0),
            row("reach", 4, "", "", 400.0),
        ],
        "ordered by metric, day, breakdown, key"
    );
    let all = store
        .account_insight_days(a, &[], day(2), day(3))
        .await
        .unwrap();
    assert_eq!(
        all.iter()
            .map(|r| (r.metric.as_str(), r.day))
            .collect::<Vec<_>>(),
        vec![
            ("online_followers", day(2)),
            ("reach", day(2)),
            ("reach", day(3)),
            ("reach", day(3))
        ]
    );
    assert_eq!(store.totals().await.unwrap().account_insight_days, 7);
    assert_eq!(
        store.account_insight_last_day(a, "reach").await.unwrap(),
        Some(day(4))
    );
    assert_eq!(
        store
            .account_insight_last_day(a, "online_followers")
            .await
            .unwrap(),
        Some(day(2))
    );
    assert_eq!(
        store.account_insight_last_day(a, "views").await.unwrap(),
        None
    );
    // The least recent read of a range's totals (day 1 read first; day 3's breakdown row,
    // read first too, is no total).
    let oldest =
        |from: u32, to: u32| store.account_insight_oldest_read(a, "reach", day(from), day(to));
    assert_eq!(oldest(1, 4).await.unwrap(), Some(at(0)));
    assert_eq!(oldest(2, 4).await.unwrap(), Some(at(60)));
    assert_eq!(oldest(5, 9).await.unwrap(), None);
    // Both at once, as a sync asks them.
    let fresh = |metric: &'static str, d: u32| store.account_insight_freshness(a, metric, day(d));
    assert_eq!(
        fresh("reach", 4).await.unwrap(),
        (Some(day(4)), Some(at(60)))
    );
    assert_eq!(
        fresh("reach", 1).await.unwrap(),
        (Some(day(4)), Some(at(0)))
    );
    assert_eq!(fresh("reach", 7).await.unwrap(), (Some(day(4)), None));
    assert_eq!(fresh("views", 4).await.unwrap(), (None, None));
    assert_eq!(
        store
            .account_insight_oldest_read(a, "views", day(1), day(4))
            .await
            .unwrap(),
        None
    );

    let err = store
        .account_insights_apply(AccountInsightBatch {
            account_id: a,
            fetched_at: at(90),
            rows: vec![
                row("reach", 5, "", "", 1.0),
                row("reach", 6, "", "", f64::NAN),
            ],
            origin: crate::Origin::poll("v23.0"),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err:?}");
    assert_eq!(
        store.account_insight_last_day(a, "reach").await.unwrap(),
        Some(day(4))
    );
}

pub async fn demographics_snapshots_by_day(store: DynStore) {
    let a = account(&store, "9901").await.id;
    let value = |breakdown: &str, key: &str, v: f64| DemographicValue {
        metric: "follower_demographics".into(),
        breakdown: breakdown.to_owned(),
        timeframe: String::new(),
        key: key.to_owned(),
        value: v,
    };
    assert_eq!(store.demographics_latest(a).await.unwrap(), None);
    store
        .demographics_apply(DemographicBatch {
            account_id: a,
            captured_on: day(1),
            rows: vec![value("country", "US", 10.0), value("country", "DE", 5.0)],
            origin: crate::Origin::poll("v23.0"),
        })
        .await
        .unwrap();
    let day2 = vec![
        value("age,gender", "F.25-34", 7.0),
        value("country", "DE", 6.0),
        value("country", "US", 11.0),
        DemographicValue {
            metric: "engaged_audience_demographics".into(),
            breakdown: "city".into(),
            timeframe: "this_month".into(),
            key: "Berlin, Germany".into(),
            value: 3.0,
        },
    ];
    store
        .demographics_apply(DemographicBatch {
            account_id: a,
            captured_on: day(2),
            rows: day2.clone(),
            origin: crate::Origin::poll("v23.0"),
        })
        .await
        .unwrap();
    // Re-applying an older day does not make it the latest; the same day upserts.
    store
        .demographics_apply(DemographicBatch {
            account_id: a,
            captured_on: day(1),
            rows: vec![value("country", "US", 10.0)],
            origin: crate::Origin::poll("v23.0"),
        })
        .await
        .unwrap();
    store
        .demographics_apply(DemographicBatch {
            account_id: a,
            captured_on: day(2),
            rows: vec![value("country", "US", 12.0)],
            origin: crate::Origin::poll("v23.0"),
        })
        .await
        .unwrap();

    let (on, values) = store.demographics_latest(a).await.unwrap().unwrap();
    assert_eq!(on, day(2));
    let mut expected = day2;
    expected[2].value = 12.0;
    expected.sort_by(|x, y| {
        (&x.metric, &x.breakdown, &x.timeframe, &x.key).cmp(&(
            &y.metric,
            &y.breakdown,
            &y.timeframe,
            &y.key,
        ))
    });
    assert_eq!(
        values, expected,
        "ordered by metric, breakdown, timeframe, key"
    );
    assert_eq!(store.totals().await.unwrap().demographic_values, 6);
}
