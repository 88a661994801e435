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
            account_id: a + 987_654,
            missing: vec![post],
            present: vec![],
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert!(store.account_delete(a).await.unwrap());
    assert!(store.missing_list(a, &[]).await.unwrap().is_empty());
}
