//! Tests of the performance percentile and the legacy performance score.

use super::*;
use crate::input::MediaProductType;
use crate::testkit::{likes_only, metrics, post, typed_post, utc};

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|it| (it - b).abs() < 1e-9)
}

fn feed_posts() -> Vec<Post> {
    let t = utc(2026, 3, 1, 12, 0);
    let mut c = post("c", t, likes_only(40, 200)); // 20 %
    c.deleted = true; // deleted posts stay in the population
    let mut no_reach = likes_only(5, 0);
    no_reach.reach = None;
    vec![
        post("a", t, likes_only(10, 100)), // 10 %
        post("b", t, likes_only(20, 100)), // 20 %
        c,
        post("d", t, likes_only(30, 100)), // 30 %
        post("e", t, no_reach),
        typed_post("reel", MediaProductType::Reels, t, likes_only(50, 100)),
    ]
}

#[test]
fn percentile_counts_lower_posts_and_half_the_ties_among_the_others() {
    let posts = feed_posts();
    let res = performance_percentiles(&posts, 0..posts.len());
    let value = |i: usize| res[i].as_ref().unwrap().percentile.value;

    assert_eq!(value(0), Some(0.0)); // lowest of 4
    assert!(close(value(1), 50.0)); // (1 lower + ½ × 1 tie) / 3 others
    assert!(close(value(2), 50.0)); // the deleted tie, symmetric
    assert_eq!(value(3), Some(100.0)); // highest
    let b = res[1].as_ref().unwrap();
    assert_eq!((b.compared_with, b.lower, b.equal), (3, 1, 1));
    assert_eq!(b.percentile.key, "performance_percentile");
    assert_eq!(
        b.percentile.note.as_deref(),
        Some("beats 1 and ties 1 of 3 other feed post(s)")
    );

    // No reach: no rate, no percentile.
    assert_eq!(value(4), None);
    assert!(
        res[4]
            .as_ref()
            .unwrap()
            .percentile
            .note
            .as_deref()
            .unwrap()
            .contains("not defined")
    );
    // The only reel: nothing to compare with.
    assert_eq!(value(5), None);
    assert!(
        res[5]
            .as_ref()
            .unwrap()
            .percentile
            .note
            .as_deref()
            .unwrap()
            .contains("only post")
    );
    // Out-of-range index.
    assert_eq!(performance_percentiles(&posts, [42]), vec![None]);
}

#[test]
fn all_equal_rates_sit_at_fifty() {
    let t = utc(2026, 3, 1, 12, 0);
    let posts: Vec<Post> = (0..4)
        .map(|i| post(&i.to_string(), t, likes_only(5, 50)))
        .collect();
    for it in performance_percentiles(&posts, 0..4) {
        assert_eq!(it.unwrap().percentile.value, Some(50.0));
    }
}

#[test]
fn legacy_performance_score_uses_views_for_impressions() {
    // ER by views 5 %, save rate 0.3 %, reach rate 50 %:
    // 0.5 × 5 + 0.3 × 0.3 + 0.2 × 50 = 12.59.
    let s = legacy_performance_score(&metrics(80, 10, 6, 4, 1000, 2000));
    assert!(close(s.score.value, 12.59));
    assert_eq!(s.engagement_rate_by_views, Some(5.0));
    assert!(close(s.save_rate_by_views, 0.3));
    assert_eq!(s.reach_rate_by_views, Some(50.0));
    assert_eq!(s.score.key, "legacy_performance_score");

    // Capped at 100: reach ten times the views.
    assert_eq!(
        legacy_performance_score(&metrics(0, 0, 0, 0, 1000, 1))
            .score
            .value,
        Some(100.0)
    );
    // No views: no score.
    let s = legacy_performance_score(&metrics(1, 1, 1, 1, 10, 0));
    assert_eq!(s.score.value, None);
    assert!(s.score.note.as_deref().unwrap().contains("views above 0"));
}
