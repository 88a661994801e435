//! Tests of the best-time grid and its recommendations, in New York time across DST.

use chrono::{DateTime, Utc, Weekday};
use chrono_tz::America::New_York;
use chrono_tz::UTC;

use super::*;
use crate::input::MediaProductType;
use crate::testkit::{likes_only, post, typed_post, utc};

fn online(at: DateTime<Utc>, n: i64) -> OnlineFollowersSample {
    OnlineFollowersSample {
        hour_start: at,
        followers_online: n,
    }
}

/// Posts in New York time (EDT = UTC−4 after 2026-03-08).
fn posts() -> Vec<Post> {
    let mut no_reach = likes_only(1, 0);
    no_reach.reach = None;
    vec![
        // Tuesday 18:xx EDT: 10 %, 12 %, 14 %, and one without reach.
        post("t1", utc(2026, 3, 10, 22, 5), likes_only(10, 100)),
        post("t2", utc(2026, 3, 17, 22, 30), likes_only(12, 100)),
        post("t3", utc(2026, 3, 24, 22, 59), likes_only(14, 100)),
        post("t4", utc(2026, 3, 31, 22, 0), no_reach),
        // Monday 09:00 EDT: one post at 20 %.
        post("m1", utc(2026, 3, 9, 13, 0), likes_only(20, 100)),
        // Wednesday 10:00 EDT: three posts at 1 %.
        post("w1", utc(2026, 3, 11, 14, 0), likes_only(1, 100)),
        post("w2", utc(2026, 3, 18, 14, 0), likes_only(1, 100)),
        post("w3", utc(2026, 3, 25, 14, 0), likes_only(1, 100)),
        // A story in the Tuesday slot: not counted by default.
        typed_post(
            "s1",
            MediaProductType::Story,
            utc(2026, 3, 10, 22, 0),
            likes_only(90, 100),
        ),
    ]
}

fn online_samples() -> Vec<OnlineFollowersSample> {
    vec![
        online(utc(2026, 3, 12, 0, 0), 2000), // Wed 20:00 EDT
        online(utc(2026, 3, 10, 22, 0), 500), // Tue 18:00 EDT
        online(utc(2026, 3, 17, 22, 0), 700), // Tue 18:00 EDT
        online(utc(2026, 3, 13, 16, 0), 300), // Fri 12:00
        online(utc(2026, 3, 13, 17, 0), 200), // Fri 13:00
        online(utc(2026, 3, 14, 13, 0), 100), // Sat 09:00
        online(utc(2026, 3, 14, 14, 0), 50),  // Sat 10:00
        online(utc(2026, 3, 15, 15, 0), 40),  // Sun 11:00
        online(utc(2026, 3, 15, 16, 0), 30),  // Sun 12:00
    ]
}

#[test]
fn grid_cells_hold_counts_means_and_intervals_in_the_account_zone() {
    let posts = posts();
    let bt = best_times(
        &posts,
        &online_samples(),
        New_York,
        &BestTimeConfig::default(),
    );

    assert_eq!(bt.cells.len(), 168);
    assert_eq!(bt.n_posts, 8); // the story is not counted
    assert_eq!(bt.cells.iter().map(|it| it.posts.n_posts).sum::<usize>(), 8);

    let tue = bt.cell(Weekday::Tue, 18);
    assert_eq!((tue.posts.n_posts, tue.posts.n_rated), (4, 3));
    assert_eq!(tue.posts.mean_rate.value, Some(12.0));
    assert_eq!(tue.posts.mean_rate.key, "best_time_post_engagement_rate");
    // sd 2, t(2) = 4.303: 12 ± 4.303 × 2 / √3.
    let (lo, hi) = tue.posts.interval_95.unwrap();
    let half = 4.303 * 2.0 / 3f64.sqrt();
    assert!((lo - (12.0 - half)).abs() < 1e-9 && (hi - (12.0 + half)).abs() < 1e-9);
    assert_eq!(tue.posts.confidence, Confidence::Low);
    assert_eq!(tue.online.mean_online.value, Some(600.0));
    assert_eq!(tue.online.n_samples, 2);

    let mon = bt.cell(Weekday::Mon, 9);
    assert_eq!(mon.posts.confidence, Confidence::Insufficient);
    assert_eq!(mon.posts.interval_95, None);
    assert_eq!(
        bt.cell(Weekday::Wed, 20).online.mean_online.value,
        Some(2000.0)
    );
    // Overall mean of the 7 rated posts: (10 + 12 + 14 + 20 + 1 + 1 + 1) / 7.
    assert!((bt.overall_mean_rate.unwrap() - 59.0 / 7.0).abs() < 1e-9);
    // In UTC the same posts land elsewhere.
    let utc_grid = best_times(&posts, &[], UTC, &BestTimeConfig::default());
    assert_eq!(utc_grid.cell(Weekday::Tue, 22).posts.n_posts, 4);
    assert_eq!(utc_grid.cell(Weekday::Tue, 18).posts.n_posts, 0);
}

#[test]
fn recommendations_prefer_post_evidence_then_online_followers() {
    let bt = best_times(
        &posts(),
        &online_samples(),
        New_York,
        &BestTimeConfig::default(),
    );
    let recs: Vec<(Weekday, u32, RecommendationBasis)> = bt
        .recommendations
        .iter()
        .map(|it| (it.weekday, it.hour, it.basis))
        .collect();
    assert_eq!(
        recs,
        [
            // Good posts and rank 2 of 8 online slots (top quarter).
            (
                Weekday::Tue,
                18,
                RecommendationBasis::PastPostsAndOnlineFollowers
            ),
            // Most followers online, no posts there.
            (Weekday::Wed, 20, RecommendationBasis::OnlineFollowers),
            (Weekday::Fri, 12, RecommendationBasis::OnlineFollowers),
        ]
    );
    // Wednesday 10:00 has three posts but below the overall mean: not recommended.
    assert!(!recs.iter().any(|it| it.0 == Weekday::Wed && it.1 == 10));
    let why = &bt.recommendations[0].why;
    assert!(
        why.starts_with("Tue 18:00–19:00: 3 post(s), mean engagement rate by reach 12.00%"),
        "{why}"
    );
    assert!(why.contains("rank 2 of 8 slots"), "{why}");
    assert!(
        bt.recommendations[1]
            .why
            .contains("no past post at this time")
    );
}

#[test]
fn without_any_evidence_there_is_no_recommendation() {
    let bt = best_times(&[], &[], New_York, &BestTimeConfig::default());
    assert_eq!(bt.n_posts, 0);
    assert!(bt.recommendations.is_empty());
    assert_eq!(bt.overall_mean_rate, None);
    assert_eq!(
        bt.cell(Weekday::Mon, 0).posts.mean_rate.note.as_deref(),
        Some("no post published in this slot")
    );
}

#[test]
fn dst_switches_map_to_local_hours() {
    let posts = [
        post("before", utc(2026, 3, 8, 6, 30), likes_only(1, 10)), // Sun 01:30 EST
        post("after", utc(2026, 3, 8, 7, 30), likes_only(1, 10)),  // Sun 03:30 EDT
    ];
    // 2026-11-01: 05:00 UTC is 01:00 EDT, 06:00 UTC is 01:00 EST — the hour repeats.
    let samples = [
        online(utc(2026, 11, 1, 5, 0), 10),
        online(utc(2026, 11, 1, 6, 0), 30),
    ];
    let bt = best_times(&posts, &samples, New_York, &BestTimeConfig::default());
    assert_eq!(bt.cell(Weekday::Sun, 1).posts.n_posts, 1);
    assert_eq!(bt.cell(Weekday::Sun, 2).posts.n_posts, 0);
    assert_eq!(bt.cell(Weekday::Sun, 3).posts.n_posts, 1);
    let one_am = &bt.cell(Weekday::Sun, 1).online;
    assert_eq!(
        (one_am.n_samples, one_am.mean_online.value),
        (2, Some(20.0))
    );
}

#[test]
fn confidence_grows_with_the_number_of_rated_posts() {
    assert_eq!(Confidence::from_count(2, 3), Confidence::Insufficient);
    assert_eq!(Confidence::from_count(3, 3), Confidence::Low);
    assert_eq!(Confidence::from_count(6, 3), Confidence::Medium);
    assert_eq!(Confidence::from_count(12, 3), Confidence::High);
    assert_eq!(Confidence::from_count(0, 0), Confidence::Insufficient);
}
