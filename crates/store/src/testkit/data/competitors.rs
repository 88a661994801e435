//! Conformance cases for competitors and their appended snapshots.

use super::*;
use crate::{
    CompetitorCapture, CompetitorFailure, CompetitorMediaSnapshot, CompetitorSnapshot,
    CompetitorStatus, NewCompetitor,
};

fn post(competitor: i64, id: &str, captured: i64, likes: Option<i64>) -> CompetitorMediaSnapshot {
    CompetitorMediaSnapshot {
        competitor_id: competitor,
        media_id: id.into(),
        captured_at: at(captured),
        posted_at: at(-60),
        media_type: "IMAGE".into(),
        media_product_type: Some("FEED".into()),
        like_count: likes,
        comments_count: Some(2),
        permalink: Some(format!("https://www.instagram.com/p/{id}/")),
    }
}

fn capture(competitor: i64, minute: i64, followers: Option<i64>, likes: i64) -> CompetitorCapture {
    CompetitorCapture {
        snapshot: CompetitorSnapshot {
            competitor_id: competitor,
            captured_at: at(minute),
            followers_count: followers,
            follows_count: Some(120),
            media_count: Some(2),
        },
        ig_user_id: "17840000000000001".into(),
        name: Some("Peer One".into()),
        media: vec![
            post(competitor, "m1", minute, Some(likes)),
            // Likes hidden by the owner: missing, never 0.
            post(competitor, "m2", minute, None),
        ],
    }
}

pub async fn competitors_keep_status_and_append_snapshots(store: DynStore) {
    let via = account(&store, "13001").await.id;
    let new = |u: &str| NewCompetitor {
        username: u.into(),
        via_account_id: via,
        created_at: at(0),
    };
    let c = store.competitor_add(new("peer_one")).await.unwrap();
    let d = store.competitor_add(new("another_peer")).await.unwrap();
    assert_eq!(
        (c.status, c.ig_user_id.clone()),
        (CompetitorStatus::Pending, None)
    );
    assert!(matches!(
        store.competitor_add(new("peer_one")).await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        store
            .competitor_add(NewCompetitor {
                via_account_id: AccountId::new(999_999),
                ..new("nobody")
            })
            .await,
        Err(StoreError::NotFound { .. })
    ));
    let names: Vec<String> = store
        .competitor_list()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.username)
        .collect();
    assert_eq!(names, ["another_peer", "peer_one"]);

    // Two captures append; a repeated capture changes nothing.
    store
        .competitor_capture(capture(c.id, 10, Some(1000), 5))
        .await
        .unwrap();
    store
        .competitor_capture(capture(c.id, 20, Some(1010), 9))
        .await
        .unwrap();
    store
        .competitor_capture(capture(c.id, 20, Some(1010), 9))
        .await
        .unwrap();
    let snaps = store
        .competitor_snapshots(c.id, at(0), at(30))
        .await
        .unwrap();
    assert_eq!(
        snaps.iter().map(|s| s.followers_count).collect::<Vec<_>>(),
        [Some(1000), Some(1010)]
    );
    assert_eq!(snaps[0].captured_at, at(10));
    let media = store
        .competitor_media_snapshots(c.id, at(0), at(30))
        .await
        .unwrap();
    assert_eq!(media.len(), 4);
    assert_eq!(media[0], post(c.id, "m1", 10, Some(5)));
    assert_eq!(media[1].like_count, None);
    assert_eq!(media[2].like_count, Some(9));
    let only_late = store
        .competitor_snapshots(c.id, at(15), at(30))
        .await
        .unwrap();
    assert_eq!(only_late.len(), 1);

    let c_now = |list: Vec<crate::Competitor>, id| list.into_iter().find(|c| c.id == id).unwrap();
    let ok = c_now(store.competitor_list().await.unwrap(), c.id);
    assert_eq!(ok.status, CompetitorStatus::Ok);
    assert_eq!(ok.ig_user_id.as_deref(), Some("17840000000000001"));
    assert_eq!(ok.last_success_at, Some(at(20)));

    // A failure is recorded with its reason; the history stays.
    store
        .competitor_fail(CompetitorFailure {
            competitor_id: c.id,
            at: at(40),
            reason: "not_found".into(),
            message: "no Instagram business or creator account has the username".into(),
        })
        .await
        .unwrap();
    let failed = c_now(store.competitor_list().await.unwrap(), c.id);
    assert_eq!(failed.status, CompetitorStatus::Error);
    assert_eq!(failed.last_reason.as_deref(), Some("not_found"));
    assert_eq!(failed.last_error_at, Some(at(40)));
    assert_eq!(failed.last_success_at, Some(at(20)));
    assert!(matches!(
        store
            .competitor_fail(CompetitorFailure {
                competitor_id: 999_999,
                at: at(40),
                reason: "x".into(),
                message: "x".into(),
            })
            .await,
        Err(StoreError::NotFound { .. })
    ));
    // Posts of another competitor in a capture are refused and nothing is written.
    let mut bad = capture(c.id, 50, Some(1), 1);
    bad.media.push(post(d.id, "m3", 50, Some(1)));
    assert!(matches!(
        store.competitor_capture(bad).await,
        Err(StoreError::InvalidInput { .. })
    ));
    assert_eq!(
        store
            .competitor_snapshots(c.id, at(0), at(60))
            .await
            .unwrap()
            .len(),
        2
    );

    // Removing drops the history.
    assert!(store.competitor_remove(c.id).await.unwrap());
    assert!(!store.competitor_remove(c.id).await.unwrap());
    assert!(
        store
            .competitor_snapshots(c.id, at(0), at(60))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .competitor_media_snapshots(c.id, at(0), at(60))
            .await
            .unwrap()
            .is_empty()
    );
}
