//! Property tests over arbitrary histories: rates are never negative, NaN or infinite; zero
//! denominators give no value; best-time counts add up; percentiles stay in 0–100; periods
//! map instants to local days exactly; nothing panics.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

use crate::best_time::{BestTimeConfig, best_times};
use crate::engagement::{EngagementSummary, FollowerTimeline, metrics_engagement, post_engagement};
use crate::figure::Figure;
use crate::growth::follower_growth;
use crate::input::{
    AccountHistory, AccountInfo, AccountMetric, DailyMetricValue, FollowerSample, MediaProductType,
    OnlineFollowersSample, Post, PostMetrics, PostSnapshot,
};
use crate::period::{Period, local_date};
use crate::report::{ReportConfig, performance_report};
use crate::score::performance_percentiles;
use crate::trending::{TrendingConfig, TrendingVerdict, assess_trending};

const ZONES: [Tz; 8] = [
    Tz::UTC,
    Tz::America__New_York,
    Tz::Europe__Berlin,
    Tz::America__Sao_Paulo,
    Tz::America__Havana,
    Tz::Asia__Kolkata,
    Tz::Australia__Lord_Howe,
    Tz::Pacific__Chatham,
];

fn zone() -> impl Strategy<Value = Tz> {
    (0..ZONES.len()).prop_map(|it| ZONES[it])
}

/// Instants between 2015 and 2035.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (1_420_070_400i64..2_051_222_400).prop_map(|it| Utc.timestamp_opt(it, 0).unwrap())
}

/// A metric value: usually realistic, sometimes missing, zero, negative or extreme.
fn value() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![
        4 => (0i64..100_000).prop_map(Some),
        1 => Just(None),
        1 => Just(Some(0)),
        1 => any::<i64>().prop_map(Some),
    ]
}

fn metrics() -> impl Strategy<Value = PostMetrics> {
    (
        value(),
        value(),
        value(),
        value(),
        value(),
        value(),
        value(),
    )
        .prop_map(
            |(likes, comments, saves, shares, reach, views, total_interactions)| PostMetrics {
                likes,
                comments,
                saves,
                shares,
                reach,
                views,
                total_interactions,
                ..PostMetrics::default()
            },
        )
}

fn product_type() -> impl Strategy<Value = MediaProductType> {
    prop_oneof![
        Just(MediaProductType::Feed),
        Just(MediaProductType::Reels),
        Just(MediaProductType::Story)
    ]
}

fn post() -> impl Strategy<Value = Post> {
    (
        "[a-z0-9]{1,6}",
        product_type(),
        instant(),
        any::<bool>(),
        metrics(),
        prop::collection::vec((-48i64..24 * 90, metrics()), 0..6),
    )
        .prop_map(
            |(id, product_type, published_at, deleted, metrics, snaps)| Post {
                ig_media_id: id,
                product_type,
                published_at,
                deleted,
                metrics,
                snapshots: snaps
                    .into_iter()
                    .map(|(h, m)| PostSnapshot {
                        captured_at: published_at + Duration::hours(h),
                        metrics: m,
                    })
                    .collect(),
                ..Post::default()
            },
        )
}

fn follower_sample() -> impl Strategy<Value = FollowerSample> {
    (instant(), any::<i64>(), 0i64..10_000).prop_map(|(captured_at, followers, media_count)| {
        FollowerSample {
            captured_at,
            followers,
            follows: 0,
            media_count,
        }
    })
}

fn history() -> impl Strategy<Value = AccountHistory> {
    (
        zone(),
        value(),
        prop::collection::vec(post(), 0..25),
        prop::collection::vec(follower_sample(), 0..8),
        prop::collection::vec(
            (0..AccountMetric::ALL.len(), 0i64..7300, any::<i64>()),
            0..40,
        ),
        prop::collection::vec((instant(), any::<i64>()), 0..20),
    )
        .prop_map(
            |(time_zone, followers_now, posts, follower_samples, daily, online)| AccountHistory {
                account: AccountInfo {
                    time_zone,
                    followers_now,
                },
                posts,
                follower_samples,
                daily_metrics: daily
                    .into_iter()
                    .map(|(m, d, value)| DailyMetricValue {
                        day: NaiveDate::from_ymd_opt(2015, 1, 1).unwrap() + Duration::days(d),
                        metric: AccountMetric::ALL[m],
                        value,
                    })
                    .collect(),
                online_followers: online
                    .into_iter()
                    .map(|(hour_start, followers_online)| OnlineFollowersSample {
                        hour_start,
                        followers_online,
                    })
                    .collect(),
                demographics: Vec::new(),
            },
        )
}

fn period() -> impl Strategy<Value = Period> {
    (0i64..7300, 1u32..400).prop_map(|(start, days)| {
        let end = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap() + Duration::days(start);
        Period::ending_on(end, days).unwrap()
    })
}

fn assert_figure_ok(f: &Figure) {
    assert!(f.value.is_none_or(f64::is_finite), "{f:?}");
    assert!(f.definition().is_some_and(|d| d.unit == f.unit), "{f:?}");
    assert!(
        f.value.is_some() || f.note.is_some(),
        "a missing value must say why: {f:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn rates_are_non_negative_finite_or_absent(m in metrics(), followers in value()) {
        let at = followers.map(|it| crate::engagement::FollowersAtPostTime {
            followers: it,
            sample_at: Utc.timestamp_opt(0, 0).unwrap(),
            choice: crate::engagement::FollowerSampleChoice::AtOrBefore,
        });
        let e = metrics_engagement(&m, at);
        for rate in e.rates() {
            match rate.value {
                Some(v) => {
                    prop_assert!(v.is_finite() && v >= 0.0, "{rate:?}");
                    prop_assert!(rate.denominator.is_some_and(|d| d > 0));
                    prop_assert_eq!(rate.gap, None);
                }
                None => prop_assert!(rate.gap.is_some()),
            }
            if rate.denominator == Some(0) {
                prop_assert_eq!(rate.value, None);
            }
        }
        for f in e.figures() {
            assert_figure_ok(&f);
        }
    }

    #[test]
    fn averages_are_non_negative_finite_or_absent(posts in prop::collection::vec(post(), 0..30)) {
        let s = EngagementSummary::from_posts(&posts, &FollowerTimeline::default());
        prop_assert_eq!(s.n_posts, posts.len());
        for a in s.average_rates() {
            for f in [&a.mean_of_posts, &a.pooled] {
                assert_figure_ok(f);
                prop_assert!(f.value.is_none_or(|it| it >= 0.0), "{f:?}");
            }
            prop_assert!(a.n_posts <= posts.len());
        }
    }

    #[test]
    fn best_time_counts_sum_to_the_number_of_posts(
        posts in prop::collection::vec(post(), 0..40),
        tz in zone(),
    ) {
        let config = BestTimeConfig {
            product_types: MediaProductType::ALL.to_vec(),
            ..BestTimeConfig::default()
        };
        let bt = best_times(&posts, &[], tz, &config);
        prop_assert_eq!(bt.n_posts, posts.len());
        prop_assert_eq!(bt.cells.iter().map(|it| it.posts.n_posts).sum::<usize>(), posts.len());
        for cell in &bt.cells {
            prop_assert!(cell.posts.n_rated <= cell.posts.n_posts);
            assert_figure_ok(&cell.posts.mean_rate);
        }
        let default = best_times(&posts, &[], tz, &BestTimeConfig::default());
        let expected = posts.iter().filter(|it| it.product_type != MediaProductType::Story).count();
        prop_assert_eq!(default.cells.iter().map(|it| it.posts.n_posts).sum::<usize>(), expected);
        prop_assert!(default.recommendations.len() <= 3);
    }

    #[test]
    fn percentiles_stay_between_0_and_100(posts in prop::collection::vec(post(), 0..40)) {
        for it in performance_percentiles(&posts, 0..posts.len()) {
            let it = it.unwrap();
            prop_assert!(it.percentile.value.is_none_or(|v| (0.0..=100.0).contains(&v)));
            prop_assert!(it.lower + it.equal <= it.compared_with);
        }
    }

    #[test]
    fn a_period_holds_exactly_the_instants_of_its_local_days(
        p in period(),
        tz in zone(),
        t in instant(),
    ) {
        let (from, to) = p.utc_bounds(tz);
        prop_assert!(from < to);
        let hours = (to - from).num_minutes() as f64 / 60.0;
        let days = p.n_days() as f64;
        prop_assert!(hours >= days * 24.0 - 2.0 && hours <= days * 24.0 + 2.0, "{hours} h for {days} d");
        prop_assert_eq!(p.contains_day(local_date(tz, t)), from <= t && t < to);
    }

    #[test]
    fn trending_never_panics_and_never_claims_without_a_baseline(
        posts in prop::collection::vec(post(), 0..30),
        as_of in instant(),
    ) {
        let config = TrendingConfig::default();
        for a in assess_trending(&posts, 0..posts.len(), as_of, &config) {
            for f in [&a.expected, &a.ratio, &a.robust_z] {
                assert_figure_ok(f);
            }
            prop_assert!(a.ratio.value.is_none_or(|it| it >= 0.0));
            if a.verdict == TrendingVerdict::Trending {
                prop_assert!(a.baseline_posts >= config.min_baseline_posts);
                prop_assert!(!posts[a.post_idx].deleted);
            }
            prop_assert!(!a.why.is_empty());
        }
    }

    #[test]
    fn follower_growth_never_panics(
        samples in prop::collection::vec(follower_sample(), 0..12),
        p in period(),
        tz in zone(),
    ) {
        let g = follower_growth(&FollowerTimeline::new(&samples), &p, tz);
        for f in [&g.start, &g.end, &g.growth_abs, &g.growth_pct] {
            assert_figure_ok(f);
        }
        prop_assert!(g.daily.windows(2).all(|w| w[0].day < w[1].day));
        prop_assert!(g.daily.iter().all(|it| p.contains_day(it.day)));
        prop_assert_eq!(g.days_with_samples, g.daily.len());
    }

    #[test]
    fn report_assembly_never_panics_and_every_figure_is_sound(
        h in history(),
        p in period(),
        now in instant(),
    ) {
        let r = performance_report(&h, p, now, &ReportConfig::default());
        prop_assert_eq!(r.content.posts.len() as f64, r.content.posts_published.value.unwrap());
        for row in &r.content.posts {
            for f in row.engagement.figures() {
                assert_figure_ok(&f);
            }
            assert_figure_ok(&row.percentile.percentile);
            assert_figure_ok(&row.legacy_performance.score);
            assert_figure_ok(&row.legacy_trending.score);
        }
        for m in &r.account.metrics {
            assert_figure_ok(&m.daily_average);
            if let Some(t) = &m.period_total {
                assert_figure_ok(t);
            }
        }
        for c in &r.comparison {
            assert_figure_ok(&c.change_pct);
            if c.previous.is_none() || c.previous == Some(0.0) {
                prop_assert_eq!(c.change_pct.value, None);
            }
        }
        let post = r.content.posts.first().map(|it| post_engagement(&h.posts[it.post_idx], &FollowerTimeline::new(&h.follower_samples)));
        if let (Some(e), Some(row)) = (post, r.content.posts.first()) {
            prop_assert_eq!(&e, &row.engagement);
        }
    }
}
