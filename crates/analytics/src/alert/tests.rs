//! Tests of the notification detectors and their dedup keys.

use chrono::Duration;

use super::*;
use crate::input::{MediaProductType, Post};
use crate::testkit::{followers, likes_only, snap, typed_post, utc};

#[test]
fn follower_growth_above_the_threshold_alerts_once_per_sample_pair() {
    let samples = [
        followers(utc(2026, 3, 2, 6, 0), 1150),
        followers(utc(2026, 3, 1, 6, 0), 1000),
    ];
    let alert = detect_follower_growth(&samples, 100).unwrap();
    assert_eq!(
        alert.dedup_key,
        format!(
            "follower_growth:{}:{}",
            utc(2026, 3, 1, 6, 0).timestamp(),
            utc(2026, 3, 2, 6, 0).timestamp()
        )
    );
    match &alert.kind {
        AlertKind::FollowerGrowth { from, to, growth } => {
            assert_eq!((from.followers, to.followers), (1000, 1150));
            assert_eq!(growth.value, Some(150.0));
            assert_eq!(growth.key, "follower_growth_since_previous_sample");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(alert.message.contains("grew by 150"));
    // Same input, same key: the caller emits it once.
    assert_eq!(
        detect_follower_growth(&samples, 100).unwrap().dedup_key,
        alert.dedup_key
    );
}

#[test]
fn growth_messages_tell_the_two_samples_apart() {
    let message = |from, to| {
        let samples = [followers(from, 1000), followers(to, 1200)];
        detect_follower_growth(&samples, 100).unwrap().message
    };
    let t = utc(2026, 3, 1, 6, 10);
    assert_eq!(
        message(t, t + Duration::seconds(41)),
        "Followers grew by 200 (from 1000 to 1200) between 2026-03-01 06:10:00 and 06:10:41 UTC."
    );
    assert_eq!(
        message(t, t + Duration::hours(3)),
        "Followers grew by 200 (from 1000 to 1200) between 2026-03-01 06:10 and 09:10 UTC."
    );
    assert_eq!(
        message(t, t + Duration::days(1)),
        "Followers grew by 200 (from 1000 to 1200) between 2026-03-01 06:10 UTC and 2026-03-02 \
         06:10 UTC."
    );
}

#[test]
fn growth_at_or_below_the_threshold_or_without_two_samples_is_silent() {
    let at = [
        followers(utc(2026, 3, 1, 6, 0), 1000),
        followers(utc(2026, 3, 2, 6, 0), 1100),
    ];
    assert_eq!(detect_follower_growth(&at, 100), None);
    assert!(detect_follower_growth(&at, 99).is_some());
    let loss = [
        followers(utc(2026, 3, 1, 6, 0), 1000),
        followers(utc(2026, 3, 2, 6, 0), 500),
    ];
    assert_eq!(detect_follower_growth(&loss, 100), None);
    assert_eq!(detect_follower_growth(&at[..1], 0), None);
    assert_eq!(detect_follower_growth(&[], 0), None);
}

fn reel(id: &str, published: chrono::DateTime<chrono::Utc>, at_24h: i64) -> Post {
    let mut p = typed_post(
        id,
        MediaProductType::Reels,
        published,
        likes_only(at_24h, 1000),
    );
    p.snapshots = vec![snap(published, 24, likes_only(at_24h, 1000))];
    p
}

fn history(now: chrono::DateTime<chrono::Utc>) -> AccountHistory {
    let mut posts: Vec<Post> = (0..8)
        .map(|i| reel(&format!("old{i}"), now - Duration::days(60 - i), 10 + i))
        .collect();
    posts.push(reel("hit", now - Duration::days(2), 500));
    posts.push(reel("normal", now - Duration::days(3), 12));
    let mut gone = reel("gone", now - Duration::days(2), 900);
    gone.deleted = true;
    posts.push(gone);
    posts.push(reel("ancient_hit", now - Duration::days(30), 900));
    AccountHistory {
        posts,
        ..AccountHistory::default()
    }
}

#[test]
fn recent_trending_posts_alert_with_a_per_post_key() {
    let now = utc(2026, 3, 10, 12, 0);
    let h = history(now);
    let alerts = detect_trending_posts(&h, now, Duration::days(7), &TrendingConfig::default());
    let keys: Vec<&str> = alerts.iter().map(|it| it.dedup_key.as_str()).collect();
    // Not the normal post, not the deleted one, not the one outside the window.
    assert_eq!(keys, ["post_trending:hit"]);
    match &alerts[0].kind {
        AlertKind::PostTrending { assessment } => {
            assert!(assessment.is_trending());
            assert_eq!(h.posts[assessment.post_idx].ig_media_id, "hit");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(alerts[0].message.starts_with("Post hit is trending."));
}

#[test]
fn detect_alerts_runs_both_detectors() {
    let now = utc(2026, 3, 10, 12, 0);
    let mut h = history(now);
    h.follower_samples = vec![
        followers(now - Duration::hours(6), 10),
        followers(now - Duration::hours(1), 500),
    ];
    let alerts = detect_alerts(&h, now, &AlertConfig::default());
    assert_eq!(alerts.len(), 2);
    assert!(alerts[0].dedup_key.starts_with("follower_growth:"));
    assert_eq!(alerts[1].dedup_key, "post_trending:hit");
    let quiet = AlertConfig {
        follower_growth_threshold: 1000,
        ..AlertConfig::default()
    };
    assert_eq!(detect_alerts(&h, now, &quiet).len(), 1);
}
