//! Tests of engagement and rates, with hand-computed expectations.

use super::*;
use crate::input::PostMetrics;
use crate::testkit::{followers, metrics, post, utc};

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|it| (it - b).abs() < 1e-9)
}

#[test]
fn engagement_sums_the_four_components_and_every_rate_names_its_denominator() {
    let published = utc(2026, 3, 10, 12, 0);
    let p = post("a", published, metrics(80, 10, 6, 4, 1000, 2000));
    let timeline = FollowerTimeline::new(&[followers(utc(2026, 3, 8, 0, 0), 5000)]);
    let e = post_engagement(&p, &timeline);

    assert_eq!(e.engagement.total, Some(100));
    assert!(e.engagement.is_complete());
    assert!(close(e.rate_by_reach.value, 10.0)); // 100 / 1000
    assert!(close(e.rate_by_views.value, 5.0)); // 100 / 2000
    assert!(close(e.rate_by_followers.value, 2.0)); // 100 / 5000
    assert!(close(e.like_rate.value, 8.0));
    assert!(close(e.comment_rate.value, 1.0));
    assert!(close(e.save_rate.value, 0.6));
    assert!(close(e.share_rate.value, 0.4));
    assert!(close(e.reach_rate.value, 20.0)); // 1000 / 5000
    assert_eq!(e.rate_by_reach.key(), "engagement_rate_by_reach");
    assert_eq!(
        e.rate_by_followers.key(),
        "engagement_rate_by_followers_at_post_time"
    );
    assert_eq!(e.rate_by_views.key(), "engagement_rate_by_views");
    assert_eq!(e.rate_by_reach.numerator, Some(100));
    assert_eq!(e.rate_by_reach.denominator, Some(1000));

    let figures = e.figures();
    let keys: Vec<&str> = figures.iter().map(|it| it.key).collect();
    assert_eq!(
        keys,
        [
            "engagement",
            "engagement_rate_by_reach",
            "engagement_rate_by_followers_at_post_time",
            "engagement_rate_by_views",
            "like_rate_by_reach",
            "comment_rate_by_reach",
            "save_rate_by_reach",
            "share_rate_by_reach",
            "reach_rate_by_followers_at_post_time",
        ]
    );
    let by_followers = &figures[2];
    assert!(
        by_followers
            .note
            .as_deref()
            .unwrap()
            .contains("5000 followers from the sample of 2026-03-08"),
        "{by_followers:?}"
    );
}

#[test]
fn a_missing_component_is_left_out_and_named_never_derived() {
    // Shares not provided; total_interactions would allow "deriving" it — we must not.
    let m = PostMetrics {
        likes: Some(10),
        comments: Some(2),
        saves: Some(3),
        shares: None,
        reach: Some(100),
        total_interactions: Some(40),
        ..PostMetrics::default()
    };
    let e = metrics_engagement(&m, None);
    assert_eq!(e.engagement.total, Some(15));
    assert!(e.engagement.missing.contains(EngagementComponent::Shares));
    assert_eq!(e.engagement.missing.len(), 1);
    assert_eq!(e.engagement.missing.to_string(), "shares");
    assert!(close(e.rate_by_reach.value, 15.0));
    assert_eq!(e.share_rate.value, None);
    assert_eq!(e.share_rate.gap, Some(RateGap::NumeratorMissing));
    let figures = e.figures();
    assert_eq!(
        figures[0].note.as_deref(),
        Some("excludes shares (not available)")
    );
    assert_eq!(
        figures[1].note.as_deref(),
        Some("engagement excludes shares (not available)")
    );
    // No follower sample: the rate says so.
    assert_eq!(figures[2].value, None);
    assert!(
        figures[2]
            .note
            .as_deref()
            .unwrap()
            .contains("no follower sample")
    );
}

#[test]
fn no_component_means_no_engagement() {
    let e = engagement(&PostMetrics {
        reach: Some(10),
        ..PostMetrics::default()
    });
    assert_eq!(e.total, None);
    assert_eq!(e.missing.len(), 4);
    assert_eq!(e.missing.to_string(), "likes, comments, saves, shares");
    assert_eq!(
        e.figure().note.as_deref(),
        Some("no engagement component is available")
    );
}

#[test]
fn rates_without_reach_or_with_zero_reach_have_no_value() {
    let no_reach = metrics_engagement(
        &PostMetrics {
            likes: Some(5),
            comments: Some(1),
            saves: Some(0),
            shares: Some(0),
            ..Default::default()
        },
        None,
    );
    assert_eq!(no_reach.rate_by_reach.value, None);
    assert_eq!(
        no_reach.rate_by_reach.gap,
        Some(RateGap::DenominatorMissing)
    );
    assert_eq!(
        no_reach.rate_by_views.gap,
        Some(RateGap::DenominatorMissing)
    );

    let zero_reach = metrics_engagement(&metrics(5, 1, 0, 0, 0, 0), None);
    assert_eq!(zero_reach.rate_by_reach.value, None);
    assert_eq!(
        zero_reach.rate_by_reach.gap,
        Some(RateGap::DenominatorNotPositive)
    );
    assert_eq!(
        zero_reach.rate_by_reach.figure().note.as_deref(),
        Some("denominator is 0")
    );

    let negative = Rate::new(&crate::definition::LIKE_RATE_BY_REACH, Some(-1), Some(10));
    assert_eq!(negative.value, None);
    assert_eq!(negative.gap, Some(RateGap::NumeratorNegative));
}

#[test]
fn followers_at_post_time_prefers_the_last_sample_at_or_before_publication() {
    let published = utc(2026, 3, 10, 12, 0);
    // Deliberately unsorted.
    let samples = [
        followers(utc(2026, 3, 10, 13, 0), 1100),
        followers(utc(2026, 3, 8, 12, 0), 1000),
        followers(utc(2026, 3, 9, 12, 0), 1050),
    ];
    let timeline = FollowerTimeline::new(&samples);
    let at = timeline.at_post_time(published).unwrap();
    assert_eq!(at.followers, 1050);
    assert_eq!(at.choice, FollowerSampleChoice::AtOrBefore);
    assert_eq!(at.sample_at, utc(2026, 3, 9, 12, 0));

    // A sample taken exactly at publication counts as "at or before".
    let exact = timeline.at_post_time(utc(2026, 3, 10, 13, 0)).unwrap();
    assert_eq!(
        (exact.followers, exact.choice),
        (1100, FollowerSampleChoice::AtOrBefore)
    );

    // Before any sample: the first one after, labelled.
    let early = timeline.at_post_time(utc(2026, 1, 1, 0, 0)).unwrap();
    assert_eq!(
        (early.followers, early.choice),
        (1000, FollowerSampleChoice::FirstAfter)
    );
    assert!(early.describe().contains("first sample after publication"));

    assert_eq!(FollowerTimeline::new(&[]).at_post_time(published), None);
}

#[test]
fn summary_gives_both_averages_over_the_same_posts() {
    let t = utc(2026, 3, 10, 12, 0);
    let a = post("a", t, likes_and_reach(100, 1000)); // 10 %
    let b = post("b", t, likes_and_reach(30, 100)); // 30 %
    let mut c = post("c", t, likes_and_reach(7, 0)); // reach 0: no rate
    c.deleted = true;
    let posts = [a, b, c];
    let s = EngagementSummary::from_posts(&posts, &FollowerTimeline::default());

    assert_eq!(s.n_posts, 3);
    assert_eq!(s.n_deleted, 1);
    assert_eq!(s.n_with_engagement, 3);
    assert_eq!(s.engagement_total.value, Some(137.0));
    assert!(close(s.engagement_per_post_mean.value, 137.0 / 3.0));
    assert!(close(s.reach_per_post_mean.value, 1100.0 / 3.0));
    assert_eq!(s.by_reach.n_posts, 2);
    assert!(close(s.by_reach.mean_of_posts.value, 20.0)); // (10 + 30) / 2
    assert!(close(s.by_reach.pooled.value, 130.0 / 1100.0 * 100.0)); // Σ/Σ over a and b
    assert_eq!(
        s.by_reach.mean_of_posts.key,
        "engagement_rate_by_reach_mean_of_posts"
    );
    assert_eq!(s.by_reach.pooled.key, "engagement_rate_by_reach_pooled");
    assert!(
        s.by_reach
            .pooled
            .note
            .as_deref()
            .unwrap()
            .contains("1 post(s) without a defined rate")
    );
    // No follower samples at all: no rate by followers.
    assert_eq!(s.by_followers.n_posts, 0);
    assert_eq!(s.by_followers.pooled.value, None);
    assert!(close(s.like_rate.pooled.value, 130.0 / 1100.0 * 100.0));
    assert!(close(s.share_rate.mean_of_posts.value, 0.0));
}

#[test]
fn summary_reports_missing_components_and_empty_sets() {
    let t = utc(2026, 3, 10, 12, 0);
    let mut m = likes_and_reach(10, 100);
    m.shares = None;
    let posts = [post("a", t, m), post("b", t, likes_and_reach(20, 100))];
    let s = EngagementSummary::from_posts(&posts, &FollowerTimeline::default());
    assert_eq!(s.missing_components[3], (EngagementComponent::Shares, 1));
    assert!(
        s.engagement_total
            .note
            .as_deref()
            .unwrap()
            .contains("shares missing on 1 post(s)")
    );

    let empty = EngagementSummary::from_posts(&[], &FollowerTimeline::default());
    assert_eq!(empty.n_posts, 0);
    assert_eq!(empty.engagement_total.value, None);
    assert_eq!(empty.by_reach.mean_of_posts.value, None);
    assert_eq!(
        empty.by_reach.pooled.note.as_deref(),
        Some("no post with a defined rate")
    );
}

#[test]
fn one_post_summary_has_equal_averages() {
    let p = [post(
        "a",
        utc(2026, 1, 1, 0, 0),
        metrics(3, 1, 1, 0, 50, 100),
    )];
    let s = EngagementSummary::from_posts(&p, &FollowerTimeline::default());
    assert!(close(s.by_reach.mean_of_posts.value, 10.0));
    assert!(close(s.by_reach.pooled.value, 10.0));
    assert!(close(s.by_views.pooled.value, 5.0));
}

#[test]
fn every_average_rate_is_hand_computed() {
    let t1 = utc(2026, 3, 10, 12, 0);
    let t2 = utc(2026, 3, 12, 12, 0);
    let timeline = FollowerTimeline::new(&[
        followers(utc(2026, 3, 10, 6, 0), 1000),
        followers(utc(2026, 3, 11, 6, 0), 2000),
    ]);
    // A: engagement 50, reach 500, views 1000, 1000 followers.
    // B: engagement 20, reach 100, views 400, 2000 followers.
    let posts = [
        post("a", t1, metrics(40, 6, 3, 1, 500, 1000)),
        post("b", t2, metrics(10, 4, 4, 2, 100, 400)),
    ];
    let s = EngagementSummary::from_posts(&posts, &timeline);
    let check = |a: &AverageRate, mean: f64, pooled: f64| {
        assert_eq!(a.n_posts, 2);
        assert!(close(a.mean_of_posts.value, mean), "{a:?}");
        assert!(close(a.pooled.value, pooled), "{a:?}");
        assert_eq!(a.pooled.note, None);
    };
    check(&s.by_reach, (10.0 + 20.0) / 2.0, 70.0 / 600.0 * 100.0);
    check(&s.by_followers, (5.0 + 1.0) / 2.0, 70.0 / 3000.0 * 100.0);
    check(&s.by_views, 5.0, 5.0);
    check(&s.like_rate, (8.0 + 10.0) / 2.0, 50.0 / 600.0 * 100.0);
    check(&s.comment_rate, (1.2 + 4.0) / 2.0, 10.0 / 600.0 * 100.0);
    check(&s.save_rate, (0.6 + 4.0) / 2.0, 7.0 / 600.0 * 100.0);
    check(&s.share_rate, (0.2 + 2.0) / 2.0, 3.0 / 600.0 * 100.0);
    check(&s.reach_rate, (50.0 + 5.0) / 2.0, 600.0 / 3000.0 * 100.0);
    assert_eq!(s.views_per_post_mean.value, Some(700.0));
    assert_eq!(s.reach_per_post_mean.value, Some(300.0));
    assert_eq!(s.engagement_per_post_mean.value, Some(35.0));
    let keys: Vec<&str> = s
        .average_rates()
        .iter()
        .flat_map(|it| [it.mean_of_posts.key, it.pooled.key])
        .collect();
    assert!(keys.contains(&"engagement_rate_by_followers_at_post_time_pooled"));
    assert!(keys.contains(&"reach_rate_by_followers_at_post_time_mean_of_posts"));
}

fn likes_and_reach(likes: i64, reach: i64) -> PostMetrics {
    crate::testkit::likes_only(likes, reach)
}
