//! Measures report assembly on a large synthetic account: 10,000 posts with decaying snapshot
//! histories, hourly follower samples and a year of daily account metrics.
//!
//! Run with `cargo run --release -p analytics --example report_bench`. Optional arguments:
//! number of posts (default 10000) and number of repetitions (default 20).

use std::time::Instant;

use analytics::{
    AccountHistory, AccountInfo, AccountMetric, DailyMetricValue, FollowerSample, MediaProductType,
    MediaType, OnlineFollowersSample, Period, Post, PostMetrics, PostSnapshot, ReportConfig,
    detect_alerts, performance_report,
};
use chrono::{DateTime, Duration, TimeZone, Utc};

/// A small deterministic generator (no dependency needed for benchmark data).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n.max(1)) as i64
    }
}

fn metrics_at(scale: f64, reach: i64) -> PostMetrics {
    let r = (reach as f64 * scale) as i64;
    PostMetrics {
        likes: Some(r / 12),
        comments: Some(r / 150),
        saves: Some(r / 80),
        shares: Some(r / 90),
        reach: Some(r),
        views: Some(r * 2),
        total_interactions: Some(r / 12 + r / 150 + r / 80 + r / 90),
        follows: Some(r / 500),
        profile_visits: Some(r / 40),
        reels_avg_watch_time_ms: None,
    }
}

fn build(n_posts: usize, now: DateTime<Utc>) -> AccountHistory {
    let mut rng = Lcg(42);
    let span_secs = 3 * 365 * 86_400;
    let mut posts = Vec::with_capacity(n_posts);
    for i in 0..n_posts {
        let published_at = now - Duration::seconds(rng.below(span_secs as u64));
        let product_type = match rng.below(20) {
            0 => MediaProductType::Story,
            1..=7 => MediaProductType::Reels,
            _ => MediaProductType::Feed,
        };
        // Most posts reach a similar audience; one in fifty goes viral.
        let viral = if rng.below(50) == 0 { 8 } else { 1 };
        let reach = (4_000 + rng.below(2_000)) * viral;
        // Decaying cadence: hourly for 6 h, daily to 10 days, weekly to 90 days.
        let mut ages: Vec<i64> = (1..=6).collect();
        ages.extend((1..=10).map(|d| d * 24));
        ages.extend((2..=13).map(|w| w * 7 * 24));
        let age_now = (now - published_at).num_hours();
        let snapshots: Vec<PostSnapshot> = ages
            .into_iter()
            .filter(|h| *h <= age_now)
            .map(|h| {
                let scale = 1.0 - (-(h as f64) / 30.0).exp();
                PostSnapshot {
                    captured_at: published_at + Duration::hours(h),
                    metrics: metrics_at(scale, reach),
                }
            })
            .collect();
        posts.push(Post {
            ig_media_id: format!("1789{i:010}"),
            product_type,
            media_type: if product_type == MediaProductType::Reels {
                MediaType::Video
            } else {
                MediaType::Image
            },
            published_at,
            caption: Some(format!("Post number {i} #igsync")),
            permalink: Some(format!("https://www.instagram.com/p/{i}/")),
            deleted: rng.below(100) == 0,
            metrics: snapshots
                .last()
                .map_or_else(PostMetrics::default, |it| it.metrics),
            snapshots,
        });
    }
    let follower_samples = (0..365 * 24)
        .map(|h| FollowerSample {
            captured_at: now - Duration::hours(365 * 24 - h),
            followers: 10_000 + h * 3,
            follows: 500,
            media_count: n_posts as i64,
        })
        .collect();
    let today = now.date_naive();
    let mut daily_metrics = Vec::new();
    for d in 0..365 {
        for metric in AccountMetric::ALL {
            daily_metrics.push(DailyMetricValue {
                day: today - Duration::days(365 - d),
                metric: *metric,
                value: 100 + rng.below(5000),
            });
        }
    }
    let online_followers = (0..30 * 24)
        .map(|h| OnlineFollowersSample {
            hour_start: now - Duration::hours(30 * 24 - h),
            followers_online: 200 + rng.below(3000),
        })
        .collect();
    AccountHistory {
        account: AccountInfo {
            time_zone: chrono_tz::Europe::Berlin,
            followers_now: Some(36_000),
        },
        posts,
        follower_samples,
        daily_metrics,
        online_followers,
        demographics: Vec::new(),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n_posts: usize = args.next().and_then(|it| it.parse().ok()).unwrap_or(10_000);
    let reps: usize = args
        .next()
        .and_then(|it| it.parse().ok())
        .unwrap_or(20)
        .max(1);
    let now = Utc.with_ymd_and_hms(2026, 6, 30, 12, 0, 0).unwrap();

    let started = Instant::now();
    let history = build(n_posts, now);
    let n_snapshots: usize = history.posts.iter().map(|it| it.snapshots.len()).sum();
    println!(
        "built {} posts, {n_snapshots} snapshots, {} follower samples, {} daily values in {:?}",
        history.posts.len(),
        history.follower_samples.len(),
        history.daily_metrics.len(),
        started.elapsed()
    );

    let config = ReportConfig::default();
    let tz = history.account.time_zone;
    for (label, days) in [("last 30 days", 30), ("last 365 days", 365)] {
        let period = Period::last_days(now, tz, days).unwrap_or_else(|e| panic!("{e}"));
        let mut times = Vec::with_capacity(reps);
        let mut posts_in_period = 0;
        let mut trending = 0;
        for _ in 0..reps {
            let t = Instant::now();
            let report = performance_report(&history, period, now, &config);
            times.push(t.elapsed());
            posts_in_period = report.content.posts.len();
            trending = report.trends.trending_rows.len();
        }
        times.sort();
        println!(
            "report {label}: {posts_in_period} posts in period, {trending} trending; median {:?}, min {:?}, max {:?} over {reps} runs",
            times[times.len() / 2],
            times[0],
            times[times.len() - 1]
        );
    }
    let t = Instant::now();
    let alerts = detect_alerts(&history, now, &analytics::AlertConfig::default());
    println!(
        "alert detectors: {} alert(s) in {:?}",
        alerts.len(),
        t.elapsed()
    );
}
