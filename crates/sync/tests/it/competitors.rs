//! Competitors end to end on both dialects: ten competitors snapshotted daily over thirty
//! simulated days equal the simulator's truth at every snapshot; an unknown username and a
//! personal account end with their recorded reason; a via account on Instagram Login is
//! refused before any request.

use chrono::Duration;
use simulator::{CompetitorKind, LoginKind};
use store::CompetitorStatus;

use crate::both_dialects;
use crate::db::Dialect;
use crate::env::{Env, sim_config, test_settings};

both_dialects!(competitors_snapshotted_daily_equal_the_truth,);

async fn competitors_snapshotted_daily_equal_the_truth(d: Dialect) {
    let env = Env::new(d, sim_config(1801, 2, 10), test_settings()).await;
    let via = env
        .accounts
        .iter()
        .find(|(_, a)| a.login == LoginKind::Facebook)
        .map(|(id, _)| *id)
        .unwrap();
    let ig_login = env
        .accounts
        .iter()
        .find(|(_, a)| a.login == LoginKind::Instagram)
        .map(|(id, _)| *id)
        .unwrap();
    let all = env.sim.competitors();
    let served: Vec<String> = all
        .iter()
        .filter(|c| matches!(c.kind, CompetitorKind::Business | CompetitorKind::Creator))
        .take(10)
        .map(|c| c.username.clone())
        .collect();
    assert_eq!(served.len(), 10);
    let personal = all
        .iter()
        .find(|c| c.kind == CompetitorKind::Personal)
        .unwrap()
        .username
        .clone();

    // Instagram Login: refused with the reason before any request.
    env.sim.reset_stats();
    let refused = env
        .engine
        .competitor_add(&served[0], ig_login)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("Instagram Login"), "{refused}");
    assert_eq!(env.sim.stats().requests_total, 0);
    let bad = env.engine.competitor_add("no){pe", via).await.unwrap_err();
    assert!(
        bad.to_string().contains("not an Instagram username"),
        "{bad}"
    );

    for u in served
        .iter()
        .chain([&personal, &"nobody_has_this_name".to_string()])
    {
        env.engine.competitor_add(u, via).await.unwrap();
    }
    let list = env.engine.competitor_list().await.unwrap();
    assert_eq!(list.len(), 12);
    let media_per_read = sync::CompetitorSettings::default().media_per_read;

    for day in 0..30 {
        assert_eq!(env.engine.competitor_sync().await.unwrap(), 12);
        env.run_until_settled(20).await;
        let now = env.now();
        for c in env.engine.competitor_list().await.unwrap() {
            if !served.contains(&c.username) {
                continue;
            }
            assert_eq!(c.status, CompetitorStatus::Ok, "{c:?}");
            let truth = env.sim.competitor_truth(&c.username).unwrap();
            let snaps = env
                .db
                .store
                .competitor_snapshots(c.id, now - Duration::days(60), now)
                .await
                .unwrap();
            assert_eq!(snaps.len(), day + 1, "one snapshot per day, appended");
            let last = snaps.last().unwrap();
            assert_eq!(last.captured_at, now);
            let as_i64 = |v: Option<u64>| v.map(|n| n as i64);
            assert_eq!(last.followers_count, as_i64(truth.followers_count));
            assert_eq!(last.follows_count, as_i64(truth.follows_count));
            assert_eq!(last.media_count, as_i64(truth.media_count));
            let media = env
                .db
                .store
                .competitor_media_snapshots(c.id, now, now)
                .await
                .unwrap();
            let want: Vec<_> = truth.media.iter().take(media_per_read).collect();
            assert_eq!(media.len(), want.len());
            for (got, want) in media.iter().zip(want) {
                assert_eq!(got.media_id, want.id);
                assert_eq!(got.posted_at, want.timestamp);
                assert_eq!(got.like_count, Some(want.like_count as i64));
                assert_eq!(got.comments_count, Some(want.comments_count as i64));
                assert_eq!(
                    got.media_product_type.as_deref(),
                    Some(want.media_product_type.as_str())
                );
            }
        }
        env.advance(Duration::days(1));
    }

    // The unknown username and the personal account end with their recorded reason.
    for c in env.engine.competitor_list().await.unwrap() {
        if served.contains(&c.username) {
            continue;
        }
        assert_eq!(c.status, CompetitorStatus::Error, "{c:?}");
        assert_eq!(c.last_reason.as_deref(), Some("not_found"));
        assert!(c.last_error.unwrap().contains("personal account"));
        let snaps = env
            .db
            .store
            .competitor_snapshots(c.id, env.now() - Duration::days(60), env.now())
            .await
            .unwrap();
        assert!(snaps.is_empty());
    }
    env.teardown().await;
}
