//! Conformance cases for webhook events, stories' final numbers, comments and mentions.

use super::*;
use crate::{
    CommentRecord, Mention, NewWebhookEvent, Provenance, StoryFinal, StoryFinalMetric,
    WebhookApply, WebhookSubscriptionUpdate,
};

fn event(key: &str, minute: i64) -> NewWebhookEvent {
    NewWebhookEvent {
        delivery_key: key.to_owned(),
        body: format!(r#"{{"object":"instagram","k":"{key}","t":"ünï"}}"#),
        received_at: at(minute),
    }
}

fn metric(name: &str, breakdown: &str, value: Option<f64>) -> StoryFinalMetric {
    StoryFinalMetric {
        metric: name.to_owned(),
        breakdown: crate::Breakdown::from_column(breakdown).expect("dimension:key"),
        value,
        missing_reason: value.is_none().then(|| "too_few_viewers".to_owned()),
    }
}

fn fin(a: AccountId, id: &str, p: Provenance, minute: i64, reach: Option<f64>) -> StoryFinal {
    StoryFinal {
        account_id: a,
        ig_media_id: id.to_owned(),
        provenance: p,
        captured_at: at(minute),
        expires_at: at(24 * 60),
        metrics: vec![
            metric("reach", "", reach),
            metric(
                "navigation",
                "story_navigation_action_type:tap_forward",
                Some(3.0),
            ),
        ],
        reason: reach.is_none().then(|| "fewer than 5 viewers".to_owned()),
        api_version: None,
    }
}

fn comment(a: AccountId, id: &str, minute: i64, text: &str) -> CommentRecord {
    CommentRecord {
        account_id: a,
        ig_comment_id: id.to_owned(),
        ig_media_id: Some("m1".into()),
        media_product_type: Some("FEED".into()),
        parent_id: None,
        from_id: Some("u1".into()),
        from_username: Some("ana".into()),
        text: Some(text.to_owned()),
        commented_at: at(minute),
    }
}

pub async fn webhook_events_are_stored_once_and_processed_atomically(store: DynStore) {
    let a = account(&store, "40001").await.id;
    let (id, new) = store.webhook_event_insert(event("k1", 0)).await.unwrap();
    assert!(new);
    let (again, new) = store.webhook_event_insert(event("k1", 5)).await.unwrap();
    assert_eq!((again, new), (id, false), "a redelivery is stored once");
    let (id2, _) = store.webhook_event_insert(event("k2", 1)).await.unwrap();
    assert!(id2 > id);
    assert!(store.webhook_event_insert(event("", 1)).await.is_err());
    let got = store.webhook_event_get(id).await.unwrap().unwrap();
    assert_eq!(got.body, event("k1", 0).body);
    assert_eq!(got.received_at, at(0));
    assert_eq!(got.processed_at, None);
    assert_eq!(store.webhook_event_list(true, 0).await.unwrap().len(), 2);
    assert_eq!(store.webhook_event_list(true, 1).await.unwrap()[0].id, id);

    // An unknown account fails the whole apply: nothing written, the event stays pending.
    let bad = WebhookApply {
        event_id: id,
        processed_at: at(2),
        comments: vec![comment(AccountId::new(a.get() + 1000), "c0", 1, "x")],
        finals: vec![fin(a, "s1", Provenance::Webhook, 1, Some(9.0))],
        ..Default::default()
    };
    assert!(matches!(
        store.webhook_apply(bad).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        store
            .story_final_list(a, at(0), at(3000))
            .await
            .unwrap()
            .is_empty()
    );

    let apply = WebhookApply {
        event_id: id,
        processed_at: at(2),
        error: None,
        finals: vec![fin(a, "s1", Provenance::Webhook, 1, None)],
        comments: vec![
            comment(a, "c1", 1, "first"),
            comment(a, "c1", 3, "edited"),
            comment(a, "c2", 2, "Grüße 😍"),
        ],
        mentions: vec![
            Mention {
                account_id: a,
                ig_media_id: "m9".into(),
                ig_comment_id: None,
                mentioned_at: at(1),
            },
            Mention {
                account_id: a,
                ig_media_id: "m9".into(),
                ig_comment_id: Some("c9".into()),
                mentioned_at: at(2),
            },
        ],
        heard: vec![(a, at(1)), (a, at(2))],
    };
    store.webhook_apply(apply.clone()).await.unwrap();
    store.webhook_apply(apply).await.unwrap();
    let got = store.webhook_event_get(id).await.unwrap().unwrap();
    assert_eq!(got.processed_at, Some(at(2)));
    assert_eq!(store.webhook_event_list(true, 0).await.unwrap().len(), 1);
    assert_eq!(store.webhook_event_list(false, 0).await.unwrap().len(), 2);

    let finals = store.story_final_list(a, at(0), at(3000)).await.unwrap();
    assert_eq!(finals, vec![fin(a, "s1", Provenance::Webhook, 1, None)]);
    let comments = store.comment_list(a, None, 0).await.unwrap();
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[0].record, comment(a, "c1", 3, "edited"));
    assert_eq!(comments[0].versions, 2, "the edit is kept as a version");
    assert_eq!(comments[1].record.text.as_deref(), Some("Grüße 😍"));
    assert_eq!(store.comment_list(a, Some("m1"), 1).await.unwrap().len(), 1);
    assert!(
        store
            .comment_list(a, Some("m2"), 0)
            .await
            .unwrap()
            .is_empty()
    );
    let mentions = store.mention_list(a, 0).await.unwrap();
    assert_eq!(mentions.len(), 2);
    assert_eq!(mentions[0].ig_comment_id.as_deref(), Some("c9"));

    let status = store.webhook_account_status().await.unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].last_event_at, Some(at(2)));
    assert!(status[0].fields.is_empty());
    store
        .webhook_subscription_set(WebhookSubscriptionUpdate {
            account_id: a,
            fields: ids(&["story_insights", "comments", "mentions"]),
            error: None,
            checked_at: at(5),
        })
        .await
        .unwrap();
    let status = store.webhook_account_status().await.unwrap();
    assert_eq!(
        status[0].fields,
        ids(&["story_insights", "comments", "mentions"])
    );
    assert_eq!(status[0].last_event_at, Some(at(2)), "kept");
    assert_eq!(status[0].checked_at, Some(at(5)));
    assert!(
        store
            .webhook_subscription_set(WebhookSubscriptionUpdate {
                account_id: AccountId::new(a.get() + 1000),
                fields: vec![],
                error: Some("refused".into()),
                checked_at: at(5),
            })
            .await
            .is_err()
    );

    store
        .webhook_rejection_record("bad_signature", at(1))
        .await
        .unwrap();
    store
        .webhook_rejection_record("bad_signature", at(3))
        .await
        .unwrap();
    store
        .webhook_rejection_record("too_large", at(2))
        .await
        .unwrap();
    let r = store.webhook_rejections().await.unwrap();
    assert_eq!(
        r.iter()
            .map(|r| (r.reason.as_str(), r.count, r.last_at))
            .collect::<Vec<_>>(),
        vec![("bad_signature", 2, at(3)), ("too_large", 1, at(2))]
    );

    // Deleting the account removes what it owned.
    assert!(store.account_delete(a).await.unwrap());
    assert!(store.webhook_account_status().await.unwrap().is_empty());
}

pub async fn story_finals_keep_the_strongest_provenance(store: DynStore) {
    let a = account(&store, "40011").await.id;
    let b = account(&store, "40012").await.id;
    let list = |store: DynStore| async move {
        store
            .story_final_list(a, at(0), at(3000))
            .await
            .unwrap()
            .into_iter()
            .map(|f| (f.ig_media_id, f.provenance, f.captured_at))
            .collect::<Vec<_>>()
    };
    store
        .story_finals_apply(vec![fin(a, "s1", Provenance::Poll, 60, Some(4.0))])
        .await
        .unwrap();
    // A later poll replaces an earlier one; an older one does not.
    store
        .story_finals_apply(vec![
            fin(a, "s1", Provenance::Poll, 120, Some(5.0)),
            fin(a, "s1", Provenance::Poll, 30, Some(1.0)),
        ])
        .await
        .unwrap();
    assert_eq!(
        list(store.clone()).await,
        vec![("s1".into(), Provenance::Poll, at(120))]
    );
    store
        .story_finals_apply(vec![fin(a, "s1", Provenance::FinalPoll, 1400, Some(7.0))])
        .await
        .unwrap();
    // Weaker sources never replace a stronger one, however late.
    store
        .story_finals_apply(vec![
            fin(a, "s1", Provenance::Poll, 1430, Some(8.0)),
            fin(a, "s1", Provenance::Unavailable, 1500, None),
        ])
        .await
        .unwrap();
    assert_eq!(
        list(store.clone()).await,
        vec![("s1".into(), Provenance::FinalPoll, at(1400))]
    );
    store
        .story_finals_apply(vec![fin(a, "s1", Provenance::Webhook, 1440, Some(9.0))])
        .await
        .unwrap();
    store
        .story_finals_apply(vec![fin(a, "s1", Provenance::FinalPoll, 1441, Some(1.0))])
        .await
        .unwrap();
    let got = store.story_final_list(a, at(0), at(3000)).await.unwrap();
    assert_eq!(
        got,
        vec![fin(a, "s1", Provenance::Webhook, 1440, Some(9.0))]
    );
    // Another account's story id is left alone; an unknown account writes nothing.
    store
        .story_finals_apply(vec![fin(b, "s1", Provenance::Webhook, 1500, Some(1.0))])
        .await
        .unwrap();
    assert_eq!(
        store.story_final_list(a, at(0), at(3000)).await.unwrap(),
        got
    );
    assert!(
        store
            .story_final_list(b, at(0), at(3000))
            .await
            .unwrap()
            .is_empty()
    );
    let mut bad = fin(a, "s2", Provenance::Poll, 1, Some(1.0));
    bad.metrics[0].value = Some(f64::NAN);
    assert!(store.story_finals_apply(vec![bad]).await.is_err());
    assert!(
        store
            .story_finals_apply(vec![fin(
                AccountId::new(b.get() + 100),
                "s3",
                Provenance::Poll,
                1,
                Some(1.0)
            )])
            .await
            .is_err()
    );
    assert_eq!(
        store
            .story_final_list(a, at(0), at(3000))
            .await
            .unwrap()
            .len(),
        1
    );
}
