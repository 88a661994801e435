//! Conformance cases for values Meta does not give: stored with their reason, upserted on
//! their key (keeping `since` while the reason stays), removed once present, filtered by
//! kind, deleted with their account.

use super::*;
use crate::{MissingBatch, MissingKey, MissingKind, MissingReason, MissingValue};

fn sort_key(m: &MissingValue) -> (String, String, String, String, String, String) {
    (
        m.key.kind.as_str().to_owned(),
        m.key.object_id.clone(),
        m.key.day.map(|d| d.to_string()).unwrap_or_default(),
        m.key.metric.clone(),
        m.key.timeframe.clone(),
        m.key.breakdown.clone(),
    )
}

pub async fn missing_values_keep_their_reason_until_present(store: DynStore) {
    let a = account(&store, "9911").await.id;
    let b = account(&store, "9912").await.id;
    let post = MissingValue::seen(
        MissingKey::object(MissingKind::MediaInsights, "m-old"),
        MissingReason::BeforeConversion,
        at(0),
    )
    .with_detail("Media Posted Before Business Account Conversion");
    let young = MissingValue::seen(
        MissingKey::object(MissingKind::MediaInsights, "m-young"),
        MissingReason::NoDataYet,
        at(0),
    );
    let small = MissingValue::seen(
        MissingKey::day(MissingKind::AccountInsight, "follower_count", day(2)),
        MissingReason::BelowThreshold,
        at(0),
    );
    let mut cut = MissingValue::seen(
        MissingKey::demographic("follower_demographics", "", "city"),
        MissingReason::TruncatedTop45,
        at(0),
    );
    cut.dropped = Some(12);
    assert!(store.missing_list(a, &[]).await.unwrap().is_empty());
    store
        .missing_apply(MissingBatch {
            account_id: a,
            missing: vec![post.clone(), young.clone(), small.clone(), cut.clone()],
            present: vec![],
        })
        .await
        .unwrap();
    let mut expected = vec![post.clone(), young.clone(), small.clone(), cut.clone()];
    expected.sort_by_key(sort_key);
    assert_eq!(store.missing_list(a, &[]).await.unwrap(), expected);
    assert_eq!(
        post.next_retry_at, None,
        "a permanent refusal is never retried"
    );
    assert_eq!(young.next_retry_at, Some(at(60)));

    // Seen again later for the same reason: `since` stays, the check moves; a new reason
    // starts a new `since`.
    let again = MissingValue::seen(post.key.clone(), MissingReason::BeforeConversion, at(90));
    let changed = MissingValue::seen(small.key.clone(), MissingReason::NotReadyYet, at(90));
    // The young post has numbers now: its row goes; a key never stored is ignored.
    store
        .missing_apply(MissingBatch {
            account_id: a,
            missing: vec![again.clone(), changed.clone()],
            present: vec![
                young.key.clone(),
                MissingKey::object(MissingKind::MediaInsights, "never-missing"),
            ],
        })
        .await
        .unwrap();
    let got = store.missing_list(a, &[]).await.unwrap();
    assert_eq!(got.len(), 3, "{got:?}");
    let by_key: BTreeMap<MissingKey, &MissingValue> =
        got.iter().map(|m| (m.key.clone(), m)).collect();
    let p = by_key[&post.key];
    assert_eq!((p.since, p.checked_at), (at(0), at(90)));
    assert_eq!(p.detail, "", "the latest detail replaces the earlier one");
    let s = by_key[&small.key];
    assert_eq!((s.reason, s.since), (MissingReason::NotReadyYet, at(90)));
    assert_eq!(s.next_retry_at, Some(at(150)));
    assert_eq!(by_key[&cut.key].dropped, Some(12));
    assert!(!by_key.contains_key(&young.key));

    // By kind; other accounts see nothing.
    let demo = store
        .missing_list(a, &[MissingKind::Demographics])
        .await
        .unwrap();
    assert_eq!(demo.len(), 1);
    assert_eq!(demo[0].key, cut.key);
    assert!(store.missing_list(b, &[]).await.unwrap().is_empty());

    // Applying the same batch twice leaves the same rows.
    let batch = MissingBatch {
        account_id: b,
        missing: vec![young.clone()],
        present: vec![],
    };
    store.missing_apply(batch.clone()).await.unwrap();
    store.missing_apply(batch).await.unwrap();
    assert_eq!(store.missing_list(b, &[]).await.unwrap(), vec![young]);

    // Unknown accounts are NotFound; deleting an account removes its rows.
    let err = store
        .missing_apply(MissingBatch {
            account_id: AccountId::new(a.get() + 987_654),
            missing: vec![post],
            present: vec![],
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert!(store.account_delete(a).await.unwrap());
    assert!(store.missing_list(a, &[]).await.unwrap().is_empty());
}

pub async fn account_insight_revisions_answer_as_of(store: DynStore) {
    let a = account(&store, "9921").await.id;
    let apply = |at_min: i64, rows: Vec<(u32, f64)>| {
        let store = store.clone();
        async move {
            store
                .account_insights_apply(AccountInsightBatch {
                    account_id: a,
                    fetched_at: at(at_min),
                    rows: rows
                        .into_iter()
                        .map(|(d, v)| AccountInsightDay {
                            metric: "reach".into(),
                            day: day(d),
                            breakdown: None,
                            value: v,
                        })
                        .collect(),
                    origin: crate::Origin::poll("v23.0"),
                })
                .await
                .unwrap();
        }
    };
    apply(0, vec![(1, 10.0)]).await;
    apply(60, vec![(1, 12.0)]).await; // Meta revised day 1.
    apply(120, vec![(1, 12.0), (2, 7.0)]).await; // Read again, unchanged; day 2 is new.
    apply(90, vec![(1, 99.0)]).await; // An older read applied late changes nothing.
    apply(180, vec![(1, 15.0)]).await; // Revised again.
    let read = |as_of: Option<DateTime<Utc>>| {
        let store = store.clone();
        async move {
            store
                .account_insight_as_of(a, "reach", day(1), day(3), as_of)
                .await
                .unwrap()
        }
    };
    let now = read(None).await;
    assert_eq!(now.len(), 2, "{now:?}");
    assert_eq!(
        (
            now[0].day,
            now[0].value,
            now[0].first_value,
            now[0].revisions
        ),
        (day(1), 15.0, 10.0, 2)
    );
    assert_eq!(
        (now[0].first_fetched_at, now[0].fetched_at),
        (at(0), at(180))
    );
    assert_eq!(
        (now[1].day, now[1].value, now[1].revisions),
        (day(2), 7.0, 0)
    );
    // As known before the first revision: day 2 was not read yet.
    let then = read(Some(at(30))).await;
    assert_eq!(then.len(), 1, "{then:?}");
    assert_eq!((then[0].value, then[0].revisions), (10.0, 0));
    assert_eq!(then[0].fetched_at, at(0));
    // Between the revisions.
    let mid = read(Some(at(150))).await;
    assert_eq!(mid.len(), 2);
    assert_eq!((mid[0].value, mid[0].revisions), (12.0, 1));
    assert_eq!(mid[0].fetched_at, at(120));
    // Before anything was read; other metrics are not mixed in.
    assert!(read(Some(at(-1))).await.is_empty());
    assert!(
        store
            .account_insight_as_of(a, "views", day(1), day(3), None)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn catalog_decisions_are_kept_once(store: DynStore) {
    use crate::CatalogDecisionRecord;
    let decision = |scope: &str, metric: &str, minutes: i64| CatalogDecisionRecord {
        api_version: "v25.0".into(),
        login: "facebook".into(),
        scope: scope.into(),
        metric: metric.into(),
        reason: format!("(#100) {metric} is no longer supported"),
        decided_at: at(minutes),
    };
    assert!(store.catalog_decisions_list().await.unwrap().is_empty());
    let first = vec![
        decision("media/REELS", "saved", 0),
        decision("account/total_value", "views", 1),
    ];
    assert_eq!(
        store.catalog_decisions_record(first.clone()).await.unwrap(),
        2
    );
    // A second process learning the same keeps the first record.
    let mut again = decision("media/REELS", "saved", 30);
    again.reason = "other words".into();
    assert_eq!(
        store
            .catalog_decisions_record(vec![again, decision("media/FEED", "saved", 31)])
            .await
            .unwrap(),
        1
    );
    let got = store.catalog_decisions_list().await.unwrap();
    assert_eq!(
        got,
        vec![
            first[1].clone(),
            decision("media/FEED", "saved", 31),
            first[0].clone()
        ]
    );
    assert_eq!(store.catalog_decisions_record(vec![]).await.unwrap(), 0);
}
