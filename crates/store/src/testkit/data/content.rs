//! Conformance cases for profile snapshots, media and their insight snapshots.

use super::*;

pub async fn profile_snapshots_append_history_and_update_latest(store: DynStore) {
    let a = account(&store, "8001").await.id;
    store
        .profile_apply(profile(a, at(0), 100, "first"))
        .await
        .unwrap();
    store
        .profile_apply(profile(a, at(120), 130, "third"))
        .await
        .unwrap();
    // An older read applied late adds history but does not roll the account back.
    store
        .profile_apply(profile(a, at(60), 120, "second"))
        .await
        .unwrap();
    // The same read twice is one snapshot.
    store
        .profile_apply(profile(a, at(60), 120, "second"))
        .await
        .unwrap();

    let history = store.profile_snapshots(a, at(0), at(120)).await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|s| (s.captured_at, s.followers_count))
            .collect::<Vec<_>>(),
        vec![(at(0), 100), (at(60), 120), (at(120), 130)],
        "oldest first, inclusive range"
    );
    assert_eq!(history[1].follows_count, 12);
    assert_eq!(history[1].media_count, 40);
    assert_eq!(history[1].account_id, a);
    assert_eq!(
        store
            .profile_snapshots(a, at(1), at(119))
            .await
            .unwrap()
            .len(),
        1
    );

    let acc = store.account_get(a).await.unwrap().unwrap();
    assert_eq!(acc.followers_count, Some(130));
    assert_eq!(acc.follows_count, Some(13));
    assert_eq!(acc.media_count, Some(40));
    assert_eq!(acc.username, "third");
    assert_eq!(
        acc.profile_picture_url.as_deref(),
        Some("https://cdn.example/third.jpg")
    );
    assert_eq!(store.totals().await.unwrap().profile_snapshots, 3);
}

pub async fn media_upsert_is_idempotent(store: DynStore) {
    let a = account(&store, "9001").await.id;
    let mut carousel = record("c1", at(-30), ProductType::Feed);
    carousel.media_type = MediaType::CarouselAlbum;
    carousel.children = vec![
        MediaChild {
            ig_media_id: "c1-a".into(),
            media_type: MediaType::Image,
            media_url: Some("https://cdn.example/c1-a.jpg".into()),
        },
        MediaChild {
            ig_media_id: "c1-b".into(),
            media_type: MediaType::Video,
            media_url: None,
        },
    ];
    let mut hidden_likes = record("r1", at(-20), ProductType::Reels);
    hidden_likes.like_count = None;
    hidden_likes.thumbnail_url = Some("https://cdn.example/r1-thumb.jpg".into());
    let batch = MediaBatch {
        account_id: a,
        seen_at: at(0),
        upserts: vec![
            record("p1", at(-40), ProductType::Feed),
            carousel.clone(),
            hidden_likes.clone(),
        ],
        deleted: vec![],
    };
    assert_eq!(store.media_apply(batch.clone()).await.unwrap(), 3);
    let first = store
        .media_list(MediaQuery {
            account_id: Some(a),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(store.media_apply(batch.clone()).await.unwrap(), 3);
    let second = store
        .media_list(MediaQuery {
            account_id: Some(a),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first, second, "the same batch twice leaves the same rows");
    assert_eq!(store.totals().await.unwrap().media, 3);

    let c1 = store.media_get("c1").await.unwrap().unwrap();
    assert_eq!(c1.record, carousel, "children and fields round trip");
    assert_eq!(c1.account_id, a);
    assert_eq!(c1.first_seen_at, at(0));
    assert_eq!(c1.deleted_at, None);
    assert!(c1.latest.is_empty());
    assert_eq!(
        store.media_get("r1").await.unwrap().unwrap().record,
        hidden_likes
    );
    assert_eq!(store.media_get("missing").await.unwrap(), None);

    // A later listing updates counters and last_seen_at, keeps first_seen_at.
    let mut changed = record("p1", at(-40), ProductType::Feed);
    changed.like_count = Some(99);
    changed.caption = None;
    store
        .media_apply(MediaBatch {
            account_id: a,
            seen_at: at(30),
            upserts: vec![changed.clone()],
            deleted: vec![],
        })
        .await
        .unwrap();
    let p1 = store.media_get("p1").await.unwrap().unwrap();
    assert_eq!(p1.record, changed);
    assert_eq!(p1.first_seen_at, at(0));
    assert_eq!(p1.last_seen_at, at(30));
}

pub async fn media_from_another_account_is_a_conflict(store: DynStore) {
    let a = account(&store, "9101").await.id;
    let b = account(&store, "9102").await.id;
    add_media(&store, a, vec![record("shared", at(-5), ProductType::Feed)]).await;
    let err = store
        .media_apply(MediaBatch {
            account_id: b,
            seen_at: at(1),
            upserts: vec![
                record("own", at(-4), ProductType::Feed),
                record("shared", at(-5), ProductType::Feed),
            ],
            deleted: vec![],
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(
        store.media_get("own").await.unwrap(),
        None,
        "nothing was written"
    );
    assert_eq!(
        store.media_get("shared").await.unwrap().unwrap().account_id,
        a
    );
}

pub async fn media_deletions_are_marked_and_history_kept(store: DynStore) {
    let a = account(&store, "9201").await.id;
    add_media(
        &store,
        a,
        vec![
            record("d1", at(-50), ProductType::Feed),
            record("d2", at(-40), ProductType::Feed),
        ],
    )
    .await;
    store
        .media_insights_apply(insights(
            a,
            at(1),
            vec![snap("d1", "reach", "", at(1), 7.0)],
        ))
        .await
        .unwrap();
    let written = store
        .media_apply(MediaBatch {
            account_id: a,
            seen_at: at(10),
            upserts: vec![record("d2", at(-40), ProductType::Feed)],
            deleted: ids(&["d1", "never-stored"]),
        })
        .await
        .unwrap();
    assert_eq!(written, 2, "one upsert and one deletion marked");
    let visible = store
        .media_list(MediaQuery {
            account_id: Some(a),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        visible
            .iter()
            .map(|m| m.record.ig_media_id.as_str())
            .collect::<Vec<_>>(),
        vec!["d2"]
    );
    let all = store
        .media_list(MediaQuery {
            account_id: Some(a),
            include_deleted: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let d1 = store.media_get("d1").await.unwrap().unwrap();
    assert_eq!(d1.deleted_at, Some(at(10)));
    assert_eq!(
        d1.latest,
        latest(&[("reach", 7.0)]),
        "history and latest values are kept"
    );
    assert_eq!(
        store
            .media_insight_history(&ids(&["d1"]), &[])
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.totals().await.unwrap().media_deleted, 1);

    // Marking again keeps the first deletion time.
    delete_media(&store, a, at(20), &["d1"]).await;
    assert_eq!(
        store.media_get("d1").await.unwrap().unwrap().deleted_at,
        Some(at(10))
    );

    // Listed again: no longer deleted.
    store
        .media_apply(MediaBatch {
            account_id: a,
            seen_at: at(30),
            upserts: vec![record("d1", at(-50), ProductType::Feed)],
            deleted: vec![],
        })
        .await
        .unwrap();
    assert_eq!(
        store.media_get("d1").await.unwrap().unwrap().deleted_at,
        None
    );
    assert_eq!(store.totals().await.unwrap().media_deleted, 0);
}

pub async fn insight_snapshots_append_history_and_latest_is_newest(store: DynStore) {
    let a = account(&store, "9301").await.id;
    add_media(
        &store,
        a,
        vec![
            record("h1", at(-120), ProductType::Feed),
            record("h2", at(-100), ProductType::Reels),
        ],
    )
    .await;
    let exotic = 0.1 + 0.2;
    let first = store
        .media_insights_apply(insights(
            a,
            at(0),
            vec![
                snap("h1", "reach", "", at(0), 100.0),
                snap("h1", "likes", "", at(0), 10.0),
                snap(
                    "h1",
                    "profile_activity",
                    "action_type:BIO_LINK_CLICKED",
                    at(0),
                    4.0,
                ),
                snap("h2", "views", "", at(0), exotic),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(first, 4);
    store
        .media_insights_apply(insights(
            a,
            at(60),
            vec![
                snap("h1", "reach", "", at(60), 150.0),
                snap("h1", "likes", "", at(60), 12.0),
                snap(
                    "h1",
                    "profile_activity",
                    "action_type:BIO_LINK_CLICKED",
                    at(60),
                    6.0,
                ),
            ],
        ))
        .await
        .unwrap();
    // An older capture applied late is history, not the latest value.
    store
        .media_insights_apply(insights(
            a,
            at(-30),
            vec![snap("h1", "reach", "", at(-30), 50.0)],
        ))
        .await
        .unwrap();

    let h1 = store.media_get("h1").await.unwrap().unwrap();
    assert_eq!(
        h1.latest,
        latest(&[("likes", 12.0), ("reach", 150.0)]),
        "breakdown rows are not in latest"
    );
    assert_eq!(h1.insights_captured_at, Some(at(60)));
    let h2 = store.media_get("h2").await.unwrap().unwrap();
    assert_eq!(
        h2.latest,
        latest(&[("views", exotic)]),
        "values round trip exactly"
    );
    assert_eq!(h2.insights_captured_at, Some(at(0)));

    let history = store
        .media_insight_history(&ids(&["h1", "h2"]), &[])
        .await
        .unwrap();
    let columns: Vec<String> = history
        .iter()
        .map(|s| crate::Breakdown::to_column(s.breakdown.as_ref()))
        .collect();
    let got: Vec<(&str, &str, &str, DateTime<Utc>, f64)> = history
        .iter()
        .zip(&columns)
        .map(|(s, column)| {
            (
                s.ig_media_id.as_str(),
                s.metric.as_str(),
                column.as_str(),
                s.captured_at,
                s.value,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("h1", "likes", "", at(0), 10.0),
            ("h1", "likes", "", at(60), 12.0),
            (
                "h1",
                "profile_activity",
                "action_type:BIO_LINK_CLICKED",
                at(0),
                4.0
            ),
            (
                "h1",
                "profile_activity",
                "action_type:BIO_LINK_CLICKED",
                at(60),
                6.0
            ),
            ("h1", "reach", "", at(-30), 50.0),
            ("h1", "reach", "", at(0), 100.0),
            ("h1", "reach", "", at(60), 150.0),
            ("h2", "views", "", at(0), exotic),
        ],
        "ordered by media, metric, breakdown, captured_at"
    );
    let reach = store
        .media_insight_history(&ids(&["h1"]), &ids(&["reach"]))
        .await
        .unwrap();
    assert_eq!(reach.len(), 3);
    assert!(reach.iter().all(|s| s.metric == "reach"));
    assert!(
        store
            .media_insight_history(&ids(&["unknown"]), &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.totals().await.unwrap().media_insight_snapshots, 8);
}

pub async fn insight_batch_twice_leaves_the_same_rows(store: DynStore) {
    let a = account(&store, "9401").await.id;
    add_media(&store, a, vec![record("i1", at(-60), ProductType::Feed)]).await;
    let batch = insights(
        a,
        at(0),
        vec![
            snap("i1", "reach", "", at(0), 10.0),
            snap("i1", "saved", "", at(0), 1.0),
        ],
    );
    store.media_insights_apply(batch.clone()).await.unwrap();
    let history = store
        .media_insight_history(&ids(&["i1"]), &[])
        .await
        .unwrap();
    let media = store.media_get("i1").await.unwrap();
    store.media_insights_apply(batch).await.unwrap();
    assert_eq!(
        store
            .media_insight_history(&ids(&["i1"]), &[])
            .await
            .unwrap(),
        history
    );
    assert_eq!(store.media_get("i1").await.unwrap(), media);
    assert_eq!(store.totals().await.unwrap().media_insight_snapshots, 2);
}

pub async fn insight_batch_with_a_bad_row_writes_nothing(store: DynStore) {
    let a = account(&store, "9501").await.id;
    let b = account(&store, "9502").await.id;
    add_media(&store, a, vec![record("ok1", at(-60), ProductType::Feed)]).await;
    add_media(
        &store,
        b,
        vec![record("theirs", at(-60), ProductType::Feed)],
    )
    .await;
    let before = store.media_get("ok1").await.unwrap();

    let good = |value: f64| snap("ok1", "reach", "", at(0), value);
    let cases = [
        vec![good(1.0), snap("unknown-media", "reach", "", at(0), 1.0)],
        vec![good(1.0), snap("theirs", "reach", "", at(0), 1.0)],
        vec![good(1.0), snap("ok1", "likes", "", at(0), f64::NAN)],
        vec![snap("ok1", "likes", "", at(0), f64::INFINITY), good(1.0)],
        vec![good(1.0), snap("ok1", "", "", at(0), 1.0)],
    ];
    for rows in cases {
        let err = store
            .media_insights_apply(insights(a, at(0), rows.clone()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidInput { .. }),
            "{rows:?}: {err:?}"
        );
    }
    let err = store
        .media_insights_apply(InsightBatch {
            errors: vec![("unknown-media".into(), "boom".into())],
            ..insights(a, at(0), vec![good(1.0)])
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err:?}");

    assert!(
        store
            .media_insight_history(&ids(&["ok1", "theirs"]), &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.media_get("ok1").await.unwrap(),
        before,
        "latest values untouched"
    );
    assert_eq!(store.totals().await.unwrap().media_insight_snapshots, 0);
}

pub async fn insight_errors_are_recorded_and_cleared(store: DynStore) {
    let a = account(&store, "9601").await.id;
    add_media(
        &store,
        a,
        vec![
            record("e1", at(-60), ProductType::Feed),
            record("e2", at(-50), ProductType::Feed),
        ],
    )
    .await;
    store
        .media_insights_apply(InsightBatch {
            account_id: a,
            captured_at: at(0),
            rows: vec![snap("e2", "reach", "", at(0), 3.0)],
            errors: vec![(
                "e1".into(),
                "media posted before the business conversion".into(),
            )],
            origin: crate::Origin::poll("v23.0"),
        })
        .await
        .unwrap();
    let e1 = store.media_get("e1").await.unwrap().unwrap();
    assert_eq!(
        e1.insights_error.as_deref(),
        Some("media posted before the business conversion")
    );
    assert_eq!(e1.insights_captured_at, None);
    assert_eq!(
        store.media_get("e2").await.unwrap().unwrap().insights_error,
        None
    );
    let index = store.media_index(a).await.unwrap();
    let entry = index.iter().find(|e| e.ig_media_id == "e1").unwrap();
    assert_eq!(
        entry.insights_error.as_deref(),
        Some("media posted before the business conversion")
    );

    store
        .media_insights_apply(insights(
            a,
            at(60),
            vec![snap("e1", "reach", "", at(60), 1.0)],
        ))
        .await
        .unwrap();
    let e1 = store.media_get("e1").await.unwrap().unwrap();
    assert_eq!(e1.insights_error, None, "a success clears the error");
    assert_eq!(e1.insights_captured_at, Some(at(60)));
}
