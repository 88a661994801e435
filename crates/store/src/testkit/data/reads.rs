//! Conformance cases for the reads analytics and planning use: listings, summaries,
//! history windows, the media index, totals, and writes refused for unknown accounts.

use super::*;

pub async fn media_list_filters_and_paging(store: DynStore) {
    let a = account(&store, "14001").await.id;
    let b = account(&store, "14002").await.id;
    let products = [
        ProductType::Feed,
        ProductType::Reels,
        ProductType::Feed,
        ProductType::Reels,
        ProductType::Feed,
    ];
    let records: Vec<MediaRecord> = products
        .iter()
        .enumerate()
        .map(|(i, p)| record(&format!("l{i}"), at(i as i64 * 10), *p))
        .collect();
    add_media(&store, a, records).await;
    add_media(&store, b, vec![record("other", at(25), ProductType::Feed)]).await;
    delete_media(&store, a, at(100), &["l4"]).await;

    let list = |query: MediaQuery| {
        let store = store.clone();
        async move {
            store
                .media_list(query)
                .await
                .unwrap()
                .into_iter()
                .map(|m| m.record.ig_media_id)
                .collect::<Vec<_>>()
        }
    };
    let mine = MediaQuery {
        account_id: Some(a),
        ..Default::default()
    };
    assert_eq!(
        list(mine.clone()).await,
        ids(&["l3", "l2", "l1", "l0"]),
        "newest first, deleted hidden"
    );
    assert_eq!(
        list(MediaQuery {
            include_deleted: true,
            ..mine.clone()
        })
        .await,
        ids(&["l4", "l3", "l2", "l1", "l0"])
    );
    assert_eq!(
        list(MediaQuery {
            published_from: Some(at(10)),
            published_to: Some(at(30)),
            ..mine.clone()
        })
        .await,
        ids(&["l3", "l2", "l1"]),
        "inclusive range on published_at"
    );
    assert_eq!(
        list(MediaQuery {
            product_type: Some(ProductType::Reels),
            ..mine.clone()
        })
        .await,
        ids(&["l3", "l1"])
    );
    assert_eq!(
        list(MediaQuery {
            limit: Some(2),
            offset: 1,
            ..mine.clone()
        })
        .await,
        ids(&["l2", "l1"])
    );
    assert_eq!(
        list(MediaQuery {
            limit: Some(0),
            ..mine.clone()
        })
        .await,
        Vec::<String>::new()
    );
    assert_eq!(
        list(MediaQuery {
            offset: 3,
            ..mine.clone()
        })
        .await,
        ids(&["l0"])
    );
    assert_eq!(
        list(MediaQuery::default()).await,
        ids(&["l3", "other", "l2", "l1", "l0"]),
        "all accounts"
    );
}

pub async fn media_summaries_match_the_full_listing(store: DynStore) {
    let a = account(&store, "15101").await.id;
    let other = account(&store, "15102").await.id;
    let mut captioned = record("s1", at(-30), ProductType::Feed);
    captioned.caption = Some("Quotes \" and ' and \\ and emoji ✨ and\nnew lines".to_owned());
    captioned.permalink = Some("https://www.instagram.com/p/abc/".to_owned());
    captioned.like_count = None;
    add_media(
        &store,
        a,
        vec![
            captioned,
            record("s2", at(-20), ProductType::Reels),
            record("s3", at(-10), ProductType::Feed),
        ],
    )
    .await;
    add_media(&store, other, vec![record("s9", at(-5), ProductType::Feed)]).await;
    store
        .media_insights_apply(insights(
            a,
            at(1),
            vec![
                snap("s2", "reach", "", at(1), 1234.0),
                snap("s2", "reels_skip_rate", "", at(1), 0.1 + 0.2),
                snap("s1", "likes", "", at(1), 7.0),
            ],
        ))
        .await
        .unwrap();
    delete_media(&store, a, at(2), &["s3"]).await;

    let summaries = store.media_summaries(a).await.unwrap();
    let full = store
        .media_list(MediaQuery {
            account_id: Some(a),
            include_deleted: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let expected: Vec<MediaSummary> = full
        .into_iter()
        .map(|m| MediaSummary {
            ig_media_id: m.record.ig_media_id,
            media_type: m.record.media_type,
            product_type: m.record.product_type,
            published_at: m.record.published_at,
            caption: m.record.caption,
            permalink: m.record.permalink,
            deleted: m.deleted_at.is_some(),
            like_count: m.record.like_count,
            comments_count: m.record.comments_count,
            latest: m.latest,
        })
        .collect();
    assert_eq!(summaries, expected);
    assert_eq!(
        summaries
            .iter()
            .map(|s| s.ig_media_id.as_str())
            .collect::<Vec<_>>(),
        vec!["s3", "s2", "s1"],
        "newest first, deleted included, other accounts excluded"
    );
    assert_eq!(
        summaries[1].latest["reels_skip_rate"],
        0.1 + 0.2,
        "exact values"
    );
    assert!(
        store
            .media_summaries(AccountId::new(999_999))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn history_window_selects_the_period_and_each_types_baseline(store: DynStore) {
    let a = account(&store, "15201").await.id;
    let other = account(&store, "15202").await.id;
    let feed = |id: &str, m: i64| record(id, at(m), ProductType::Feed);
    let reel = |id: &str, m: i64| record(id, at(m), ProductType::Reels);
    let posts = vec![
        feed("f1", -100),
        feed("f4", -85),
        feed("f4b", -85),
        feed("f3", -80),
        reel("r1", -70),
        reel("r2", -60),
        reel("r3", -50),
        feed("w0", -20),
        feed("w1", -10),
        reel("w2", 0),
        reel("late", 10),
    ];
    let all: Vec<String> = posts.iter().map(|p| p.ig_media_id.clone()).collect();
    add_media(&store, a, posts).await;
    add_media(&store, other, vec![feed("o1", -10), feed("o2", -30)]).await;
    for (account, list) in [(a, all.clone()), (other, ids(&["o1", "o2"]))] {
        for (n, captured) in [at(20), at(80)].into_iter().enumerate() {
            let mut rows = Vec::new();
            for id in &list {
                rows.push(snap(id, "reach", "", captured, 100.0 + n as f64));
                rows.push(snap(id, "likes", "", captured, 0.1 + 0.2));
                rows.push(snap(
                    id,
                    "profile_activity",
                    "action_type:bio",
                    captured,
                    2.0,
                ));
            }
            store
                .media_insights_apply(insights(account, captured, rows))
                .await
                .unwrap();
        }
    }

    let window = PostWindow {
        account_id: a,
        from: at(-20),
        to: at(0),
        baseline: 2,
    };
    // The period's posts (both ends included) and, per type, the two newest before it
    // (f4b over f4 at the same instant); not f1, r1, the post after the period, nor the
    // other account's.
    let wanted = ids(&["f3", "f4b", "r2", "r3", "w0", "w1", "w2"]);
    for metrics in [ids(&[]), ids(&["reach", "likes"])] {
        let got = store
            .media_insight_history_window(window, &metrics)
            .await
            .unwrap();
        let expected = store
            .media_insight_history(&wanted, &metrics)
            .await
            .unwrap();
        assert_eq!(got, expected, "metrics {metrics:?}");
        let per_post = if metrics.is_empty() { 6 } else { 4 };
        assert_eq!(got.len(), wanted.len() * per_post, "metrics {metrics:?}");
        assert!(got.iter().any(|r| r.value == 0.1 + 0.2), "exact values");
    }
    // The same posts' summaries, in the full summaries' order and with their values.
    let summaries: Vec<MediaSummary> = store
        .media_summaries(a)
        .await
        .unwrap()
        .into_iter()
        .filter(|s| wanted.contains(&s.ig_media_id))
        .collect();
    assert_eq!(summaries.len(), wanted.len());
    assert_eq!(
        store.media_summaries_window(window).await.unwrap(),
        summaries
    );
    let period_only = store
        .media_insight_history_window(
            PostWindow {
                baseline: 0,
                ..window
            },
            &ids(&["reach"]),
        )
        .await
        .unwrap();
    let media: std::collections::BTreeSet<&str> =
        period_only.iter().map(|r| r.ig_media_id.as_str()).collect();
    assert_eq!(media.into_iter().collect::<Vec<_>>(), ["w0", "w1", "w2"]);
    let period_posts: Vec<String> = store
        .media_summaries_window(PostWindow {
            baseline: 0,
            ..window
        })
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.ig_media_id)
        .collect();
    assert_eq!(period_posts, ["w2", "w1", "w0"], "newest first");
    let nobody = store
        .media_insight_history_window(
            PostWindow {
                account_id: AccountId::new(999_999),
                ..window
            },
            &[],
        )
        .await
        .unwrap();
    assert!(nobody.is_empty());
    let nobody = store
        .media_summaries_window(PostWindow {
            account_id: AccountId::new(999_999),
            ..window
        })
        .await
        .unwrap();
    assert!(nobody.is_empty());
}

pub async fn media_index_lists_what_planning_needs(store: DynStore) {
    let a = account(&store, "15001").await.id;
    add_media(
        &store,
        a,
        vec![
            record("x1", at(-30), ProductType::Feed),
            record("x2", at(-20), ProductType::Reels),
            record("x3", at(-10), ProductType::Feed),
        ],
    )
    .await;
    store
        .media_insights_apply(insights(
            a,
            at(1),
            vec![snap("x2", "reach", "", at(1), 1.0)],
        ))
        .await
        .unwrap();
    delete_media(&store, a, at(2), &["x3"]).await;

    let mut index = store.media_index(a).await.unwrap();
    index.sort_by(|x, y| x.ig_media_id.cmp(&y.ig_media_id));
    let got: Vec<_> = index
        .iter()
        .map(|e| {
            (
                e.ig_media_id.as_str(),
                e.media_type,
                e.product_type,
                e.published_at,
                e.deleted,
                e.insights_captured_at,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "x1",
                MediaType::Image,
                ProductType::Feed,
                at(-30),
                false,
                None
            ),
            (
                "x2",
                MediaType::Video,
                ProductType::Reels,
                at(-20),
                false,
                Some(at(1))
            ),
            (
                "x3",
                MediaType::Image,
                ProductType::Feed,
                at(-10),
                true,
                None
            ),
        ]
    );
    assert!(
        store
            .media_index(AccountId::new(a.get() + 100))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn totals_count_rows(store: DynStore) {
    assert_eq!(store.totals().await.unwrap(), crate::StoreTotals::default());
    populate(&store, "16001").await;
    let totals = store.totals().await.unwrap();
    assert_eq!(
        totals,
        crate::StoreTotals {
            accounts: 1,
            profile_snapshots: 1,
            media: 1,
            media_deleted: 0,
            media_insight_snapshots: 1,
            stories: 1,
            story_insight_snapshots: 1,
            account_insight_days: 1,
            demographic_values: 1,
            sync_runs: 1,
            alerts: 1,
        }
    );
}

pub async fn writes_for_an_unknown_account_are_not_found(store: DynStore) {
    let ghost = AccountId::new(account(&store, "17001").await.id.get() + 1000);
    let not_found = |r: Result<u64, StoreError>| matches!(r, Err(StoreError::NotFound { .. }));
    let ghost_media = |upserts: Vec<MediaRecord>| MediaBatch {
        account_id: ghost,
        seen_at: at(0),
        upserts,
        deleted: vec![],
    };
    assert!(not_found(
        store
            .media_apply(ghost_media(vec![record("g1", at(0), ProductType::Feed)]))
            .await
    ));
    assert!(not_found(
        store
            .media_insights_apply(insights(
                ghost,
                at(0),
                vec![snap("g1", "reach", "", at(0), 1.0)]
            ))
            .await
    ));
    assert!(not_found(
        store
            .account_insights_apply(AccountInsightBatch {
                account_id: ghost,
                fetched_at: at(0),
                rows: vec![AccountInsightDay {
                    metric: "reach".into(),
                    day: day(1),
                    breakdown: None,
                    value: 1.0
                }],
                origin: crate::Origin::poll("v23.0"),
            })
            .await
    ));
    assert!(not_found(
        store
            .demographics_apply(DemographicBatch {
                account_id: ghost,
                captured_on: day(1),
                rows: vec![],
                origin: crate::Origin::poll("v23.0"),
            })
            .await
    ));
    assert!(not_found(
        store
            .stories_apply(StoryBatch {
                account_id: ghost,
                captured_at: at(0),
                stories: vec![],
                rows: vec![],
                errors: vec![],
                origin: crate::Origin::poll("v23.0"),
            })
            .await
    ));
    // An empty batch too, and an unknown account before a post stored for another one.
    assert!(not_found(
        store
            .media_insights_apply(insights(ghost, at(0), vec![]))
            .await
    ));
    let real = account(&store, "17001").await.id;
    add_media(&store, real, vec![record("r1", at(0), ProductType::Feed)]).await;
    assert!(not_found(
        store
            .media_apply(ghost_media(vec![record("r1", at(0), ProductType::Feed)]))
            .await
    ));
    assert!(not_found(store.media_apply(ghost_media(vec![])).await));
    assert!(matches!(
        store.profile_apply(profile(ghost, at(0), 1, "ghost")).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .sync_run_create(NewSyncRun {
                account_id: ghost,
                plan: "full".into(),
                trigger: "manual".into(),
                steps: vec![],
                started_at: at(0),
                job_id: None,
            })
            .await,
        Err(StoreError::NotFound { .. })
    ));
    // The stored posts are the real account's one alone: nothing was written for the ghost.
    assert_eq!(store.totals().await.unwrap().media, 1);
}

pub async fn a_large_insight_batch_is_written_whole(store: DynStore) {
    let a = account(&store, "18001").await.id;
    let media: Vec<MediaRecord> = (0..200)
        .map(|i| record(&format!("big{i:03}"), at(-i), ProductType::Feed))
        .collect();
    add_media(&store, a, media).await;
    // 200 media × 100 metrics = 20,000 rows: far more than one statement can bind.
    let rows: Vec<InsightSnapshot> = (0..200)
        .flat_map(|i| {
            (0..100).map(move |m| {
                snap(
                    &format!("big{i:03}"),
                    &format!("metric_{m:03}"),
                    "",
                    at(0),
                    (i * 100 + m) as f64,
                )
            })
        })
        .collect();
    let batch = insights(a, at(0), rows);
    assert_eq!(
        store.media_insights_apply(batch.clone()).await.unwrap(),
        20_000
    );
    assert_eq!(
        store.totals().await.unwrap().media_insight_snapshots,
        20_000
    );
    store.media_insights_apply(batch).await.unwrap();
    assert_eq!(
        store.totals().await.unwrap().media_insight_snapshots,
        20_000
    );
    let last = store.media_get("big199").await.unwrap().unwrap();
    assert_eq!(last.latest.len(), 100);
    assert_eq!(last.latest["metric_099"], 19_999.0);
    let history = store
        .media_insight_history(&ids(&["big000", "big199"]), &ids(&["metric_050"]))
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|s| s.value).collect::<Vec<_>>(),
        vec![50.0, 19_950.0]
    );

    // A bad row at the very end fails the whole batch: nothing of it is written.
    let mut rows: Vec<InsightSnapshot> = (0..200)
        .flat_map(|i| {
            (0..100).map(move |m| {
                snap(
                    &format!("big{i:03}"),
                    &format!("metric_{m:03}"),
                    "",
                    at(60),
                    1.0,
                )
            })
        })
        .collect();
    rows.push(snap("big-unknown", "metric_000", "", at(60), 1.0));
    assert!(
        store
            .media_insights_apply(insights(a, at(60), rows))
            .await
            .is_err()
    );
    assert_eq!(
        store.totals().await.unwrap().media_insight_snapshots,
        20_000
    );
}
