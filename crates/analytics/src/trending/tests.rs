//! Tests of trending detection (age-matched baseline, ratio, robust z) and of the legacy
//! weighted score.

use chrono::Duration;

use super::*;
use crate::input::PostSnapshot;
use crate::testkit::{likes_only, post, snap, typed_post, utc};

/// A reel published `days` days after 2026-01-01 whose engagement is `likes` at each
/// `(hours, likes)` snapshot.
fn reel(id: &str, days: i64, curve: &[(i64, i64)]) -> Post {
    let published = utc(2026, 1, 1, 12, 0) + Duration::days(days);
    let last = curve.last().map_or(0, |it| it.1);
    let mut p = typed_post(
        id,
        MediaProductType::Reels,
        published,
        likes_only(last, last * 10),
    );
    p.snapshots = curve
        .iter()
        .map(|(h, v)| snap(published, *h, likes_only(*v, v * 10)))
        .collect();
    p
}

fn config() -> TrendingConfig {
    TrendingConfig::default()
}

/// Eight earlier reels with engagement 10, 20, …, 70 and 1000 at exactly 24 h, then the
/// target (published last) at 24 h with `target`.
fn history_with_target(target: i64) -> Vec<Post> {
    let mut posts: Vec<Post> = [10, 20, 30, 40, 50, 60, 70, 1000]
        .iter()
        .enumerate()
        .map(|(i, v)| {
            reel(
                &format!("p{i}"),
                i as i64,
                &[(6, v / 2), (24, *v), (72, v * 2)],
            )
        })
        .collect();
    posts.push(reel("target", 20, &[(6, target / 3), (24, target)]));
    posts
}

#[test]
fn a_post_far_above_its_age_matched_baseline_is_trending() {
    let posts = history_with_target(180);
    let as_of = posts[8].published_at + Duration::hours(30);
    let a = assess_trending(&posts, [8], as_of, &config()).remove(0);

    assert_eq!(a.verdict, TrendingVerdict::Trending, "{}", a.why);
    assert_eq!(a.age, Some(Duration::hours(24)));
    assert_eq!(a.observed, Some(180.0));
    assert_eq!(a.baseline_posts, 8);
    // Middle 50 % of [10 … 70, 1000]: drop two at each end → mean(30, 40, 50, 60) = 45.
    assert_eq!(a.expected.value, Some(45.0));
    assert_eq!(a.ratio.value, Some(4.0));
    assert_eq!(a.ratio.key, "trending_ratio_at_age");
    // ln(1+x): median 3.8226988…, MAD 0.4143463…, z = (ln 181 − median) / (1.4826 · MAD).
    let z = a.robust_z.value.unwrap();
    assert!((z - 2.239583360858783).abs() < 1e-9, "{z}");
    assert_eq!(a.robust_z.key, "trending_robust_z");
    assert!(
        a.why
            .starts_with("Engagement of 180 at 24 h is 4.00× the expected 45"),
        "{}",
        a.why
    );
    assert!(
        a.why.contains("middle-50% mean of 8 earlier reels"),
        "{}",
        a.why
    );
    assert!(a.why.contains("Trending"), "{}", a.why);
}

#[test]
fn a_post_near_the_baseline_is_not_trending_and_says_why() {
    let posts = history_with_target(50);
    let as_of = posts[8].published_at + Duration::hours(30);
    let a = assess_trending(&posts, [8], as_of, &config()).remove(0);
    assert_eq!(a.verdict, TrendingVerdict::NotTrending);
    assert!(
        a.why.contains("Not trending: ratio below 1.5×, z below 2"),
        "{}",
        a.why
    );

    // High ratio alone is not enough when z is small: 70 is 1.56× of 45 but z ≈ 0.5.
    let posts = history_with_target(70);
    let a = assess_trending(&posts, [8], as_of, &config()).remove(0);
    assert_eq!(a.verdict, TrendingVerdict::NotTrending);
    assert!(
        a.why.contains("z below 2") && !a.why.contains("ratio below"),
        "{}",
        a.why
    );
}

#[test]
fn the_median_can_replace_the_middle_fifty_mean() {
    let posts = history_with_target(180);
    let as_of = posts[8].published_at + Duration::hours(30);
    let cfg = TrendingConfig {
        baseline: BaselineStatistic::Median,
        ..config()
    };
    let a = assess_trending(&posts, [8], as_of, &cfg).remove(0);
    assert_eq!(a.expected.value, Some(45.0)); // (40 + 50) / 2
    assert!(
        a.expected
            .note
            .as_deref()
            .unwrap()
            .starts_with("median of 8")
    );
}

#[test]
fn baseline_values_are_interpolated_only_between_close_snapshots() {
    let mut posts = vec![
        // 20 h → 100, 28 h → 140: at 24 h, 120 (gap 8 h ≤ 12 h).
        reel("interp", 0, &[(20, 100), (28, 140)]),
        // 1 h → 10, 48 h → 480: gap 47 h > 12 h, left out.
        reel("wide", 1, &[(1, 10), (48, 480)]),
        // Never observed past 10 h: left out.
        reel("young", 2, &[(10, 50)]),
    ];
    posts.push(reel("target", 5, &[(24, 120)]));
    let as_of = posts[3].published_at + Duration::hours(24);
    let cfg = TrendingConfig {
        min_baseline_posts: 1,
        ..config()
    };
    let a = assess_trending(&posts, [3], as_of, &cfg).remove(0);
    assert_eq!(a.baseline_posts, 1);
    assert_eq!(a.expected.value, Some(120.0));
    assert_eq!(a.ratio.value, Some(1.0));

    // Publication counts as a value-0 snapshot: first snapshot at 40 min, age 30 min.
    let points = [(2400, 80.0)];
    assert_eq!(value_at_age(&points, 1800, &config()), Some(60.0));
    assert_eq!(value_at_age(&points, 2400, &config()), Some(80.0));
    assert_eq!(value_at_age(&points, 3000, &config()), None);
}

#[test]
fn too_little_history_gives_no_claim() {
    let mut posts: Vec<Post> = (0..3)
        .map(|i| reel(&format!("p{i}"), i, &[(24, 10)]))
        .collect();
    posts.push(reel("target", 10, &[(24, 10_000)]));
    let as_of = posts[3].published_at + Duration::hours(24);
    let a = assess_trending(&posts, [3], as_of, &config()).remove(0);
    assert_eq!(a.verdict, TrendingVerdict::InsufficientBaseline);
    assert_eq!(a.baseline_posts, 3);
    assert_eq!(a.ratio.value, None);
    assert_eq!(a.robust_z.value, None);
    assert!(
        a.why
            .starts_with("Not enough history: 3 earlier reels observed at this age (24 h)"),
        "{}",
        a.why
    );
    assert!(a.why.contains("no trending claim"));

    // The very first post of a type has no baseline at all.
    let first = assess_trending(&posts, [0], as_of, &config()).remove(0);
    assert_eq!(first.verdict, TrendingVerdict::InsufficientBaseline);
    assert_eq!(first.baseline_posts, 0);
}

#[test]
fn the_baseline_only_holds_earlier_posts_of_the_same_type() {
    let mut posts = history_with_target(180);
    // Feed posts with huge values do not lift the reels baseline.
    for i in 0..10 {
        let published = utc(2026, 1, 10, 0, 0) + Duration::hours(i);
        let mut p = post(&format!("feed{i}"), published, likes_only(99_999, 1));
        p.snapshots = vec![snap(published, 24, likes_only(99_999, 1))];
        posts.push(p);
    }
    // A later reel does not count for an earlier one.
    posts.push(reel("later", 40, &[(24, 100_000)]));
    let as_of = utc(2026, 3, 1, 0, 0);
    let a = assess_trending(&posts, [8], as_of, &config()).remove(0);
    assert_eq!(a.baseline_posts, 8);
    assert_eq!(a.expected.value, Some(45.0));
}

#[test]
fn at_most_max_baseline_posts_most_recent_posts_are_used() {
    // 150 earlier reels: the first 50 with 1000, the last 100 with 10.
    let mut posts: Vec<Post> = (0..150)
        .map(|i| reel(&format!("p{i}"), i, &[(24, if i < 50 { 1000 } else { 10 })]))
        .collect();
    posts.push(reel("target", 200, &[(24, 10)]));
    let as_of = utc(2027, 1, 1, 0, 0);
    let a = assess_trending(&posts, [150], as_of, &config()).remove(0);
    assert_eq!(a.baseline_posts, 100);
    assert_eq!(a.expected.value, Some(10.0));
}

#[test]
fn snapshots_after_as_of_are_ignored() {
    let mut posts = history_with_target(180);
    let published = posts[8].published_at;
    posts[8].snapshots.push(PostSnapshot {
        captured_at: published + Duration::hours(48),
        metrics: likes_only(5000, 1),
    });
    // As of 10 h after publication the latest known value is the 6 h snapshot (60).
    let a = assess_trending(&posts, [8], published + Duration::hours(10), &config()).remove(0);
    assert_eq!(a.age, Some(Duration::hours(6)));
    assert_eq!(a.observed, Some(60.0));
    // Baseline at 6 h: [5, 10, 15, 20, 25, 30, 35, 500] → mean(15, 20, 25, 30) = 22.5.
    assert_eq!(a.expected.value, Some(22.5));
}

#[test]
fn deleted_or_unobserved_posts_never_trend() {
    let mut posts = history_with_target(180);
    posts[8].deleted = true;
    let as_of = posts[8].published_at + Duration::hours(30);
    let a = assess_trending(&posts, [8], as_of, &config()).remove(0);
    assert_eq!(a.verdict, TrendingVerdict::Deleted);
    assert_eq!(a.ratio.value, Some(4.0)); // still explained
    assert!(a.why.contains("deleted"));

    posts[8].deleted = false;
    posts[8].snapshots.clear();
    let a = assess_trending(&posts, [8], as_of, &config()).remove(0);
    assert_eq!(a.verdict, TrendingVerdict::NoObservation);
    assert!(a.why.starts_with("No snapshot with engagement yet"));
}

#[test]
fn a_flat_zero_baseline_gives_neither_ratio_nor_z_and_no_claim() {
    let mut posts: Vec<Post> = (0..6)
        .map(|i| reel(&format!("p{i}"), i, &[(24, 0)]))
        .collect();
    posts.push(reel("target", 10, &[(24, 50)]));
    let as_of = utc(2027, 1, 1, 0, 0);
    let a = assess_trending(&posts, [6], as_of, &config()).remove(0);
    assert_eq!(a.expected.value, Some(0.0));
    assert_eq!(a.ratio.value, None);
    assert_eq!(a.robust_z.value, None);
    assert_eq!(a.verdict, TrendingVerdict::NotTrending);
    assert!(
        a.why.contains("neither ratio nor z-score is defined"),
        "{}",
        a.why
    );
}

#[test]
fn a_zero_mad_falls_back_to_the_mean_absolute_deviation() {
    // Baseline [10, 10, 10, 10, 100]: MAD of logs is 0, the mean deviation is not.
    let mut posts: Vec<Post> = [10, 10, 10, 10, 100]
        .iter()
        .enumerate()
        .map(|(i, v)| reel(&format!("p{i}"), i as i64, &[(24, *v)]))
        .collect();
    posts.push(reel("target", 10, &[(24, 100)]));
    let a = assess_trending(&posts, [5], utc(2027, 1, 1, 0, 0), &config()).remove(0);
    let dev = (101f64).ln() - (11f64).ln();
    let expected_z = dev / (1.2533 * dev / 5.0);
    assert!((a.robust_z.value.unwrap() - expected_z).abs() < 1e-9);
    assert!(a.robust_z.note.as_deref().unwrap().contains("MAD is 0"));
    // Middle 50 % of five values drops one at each end: mean(10, 10, 10) = 10; ratio 10.
    assert_eq!(a.ratio.value, Some(10.0));
    assert_eq!(a.verdict, TrendingVerdict::Trending);
}

#[test]
fn other_metrics_can_be_compared() {
    let posts = history_with_target(180);
    let as_of = posts[8].published_at + Duration::hours(30);
    let cfg = TrendingConfig {
        metric: TrendMetric::Reach,
        ..config()
    };
    let a = assess_trending(&posts, [8], as_of, &cfg).remove(0);
    assert_eq!(a.observed, Some(1800.0)); // reach = 10 × likes in these fixtures
    assert_eq!(a.expected.value, Some(450.0));
    assert!(a.why.starts_with("Reach of 1800"));
    assert!(assess_trending(&posts, [99], as_of, &cfg).is_empty());
}

#[test]
fn legacy_score_follows_the_original_weights_on_reach() {
    let now = utc(2026, 3, 10, 12, 0);
    let p = post(
        "a",
        now - Duration::days(2),
        crate::testkit::metrics(5000, 0, 0, 0, 20_000, 0),
    );
    let s = legacy_weighted_trending_score(&p, now);
    // 0.4 × 25 % + 0.3 × min(5, 100) + 0.2 × min(2, 100) + 0.1 × (100 − 20) = 19.9
    assert_eq!(s.engagement_rate_component, Some(25.0));
    assert_eq!(s.engagement_component, Some(5.0));
    assert_eq!(s.reach_component, Some(2.0));
    assert_eq!(s.recency_component, 80.0);
    assert!((s.score.value.unwrap() - 19.9).abs() < 1e-9);
    assert_eq!(s.score.key, "legacy_weighted_trending_score");

    // Saturation and recency decay: 12 days old, 500 000 engagements, 2 000 000 reach.
    let old = post(
        "b",
        now - Duration::days(12),
        crate::testkit::metrics(500_000, 0, 0, 0, 2_000_000, 0),
    );
    let s = legacy_weighted_trending_score(&old, now);
    assert_eq!(
        (
            s.engagement_component,
            s.reach_component,
            s.recency_component
        ),
        (Some(100.0), Some(100.0), 0.0)
    );
    assert!((s.score.value.unwrap() - (0.4 * 25.0 + 30.0 + 20.0)).abs() < 1e-9);

    // No reach: no score (the original silently used 0).
    let mut m = crate::testkit::metrics(5, 0, 0, 0, 0, 0);
    m.reach = None;
    assert_eq!(
        legacy_weighted_trending_score(&post("c", now, m), now)
            .score
            .value,
        None
    );
}

#[test]
fn legacy_ranking_takes_recent_live_posts_best_first() {
    let now = utc(2026, 3, 10, 12, 0);
    let m = |likes| crate::testkit::metrics(likes, 0, 0, 0, 1000, 0);
    let mut deleted = post("deleted", now - Duration::days(1), m(900));
    deleted.deleted = true;
    let posts = vec![
        post("low", now - Duration::days(1), m(10)),
        post("high", now - Duration::days(1), m(500)),
        post("old", now - Duration::days(8), m(900)),
        deleted,
        post("mid", now - Duration::days(3), m(200)),
    ];
    let ranking = legacy_trending_ranking(&posts, now, 7, 2);
    let ids: Vec<&str> = ranking
        .iter()
        .map(|(i, _)| posts[*i].ig_media_id.as_str())
        .collect();
    assert_eq!(ids, ["high", "mid"]);
}

#[test]
fn ages_are_formatted_for_humans() {
    assert_eq!(format_age(Duration::minutes(45)), "45 min");
    assert_eq!(format_age(Duration::hours(26)), "26 h");
    assert_eq!(format_age(Duration::hours(72)), "3 d");
    assert_eq!(format_age(Duration::hours(76)), "3 d 4 h");
}

#[test]
fn settled_posts_seen_once_still_form_a_baseline_for_settled_ages() {
    // Earlier reels were captured once, months after publication (their first sync); the
    // target was captured at 5 days. Both are past the 48 h settling age, so each earlier
    // reel's single snapshot is its value at 5 days.
    let mut posts: Vec<Post> = [10, 20, 30, 40, 50, 60, 70, 80]
        .iter()
        .enumerate()
        .map(|(i, v)| reel(&format!("p{i}"), i as i64, &[(24 * 150, *v)]))
        .collect();
    posts.push(reel("target", 200, &[(24 * 5, 400)]));
    let as_of = posts[8].published_at + Duration::days(5);
    let a = assess_trending(&posts, [8], as_of, &config()).remove(0);
    assert_eq!(a.baseline_posts, 8, "{}", a.why);
    assert_eq!(a.expected.value, Some(45.0));
    assert_eq!(a.verdict, TrendingVerdict::Trending, "{}", a.why);

    // Before the settling age a single late snapshot says nothing about the curve.
    let mut young = posts.clone();
    young[8] = reel("target", 200, &[(24, 400)]);
    let as_of = young[8].published_at + Duration::hours(24);
    let a = assess_trending(&young, [8], as_of, &config()).remove(0);
    assert_eq!(a.baseline_posts, 0, "{}", a.why);
    assert_eq!(a.verdict, TrendingVerdict::InsufficientBaseline);
}
