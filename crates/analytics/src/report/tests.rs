//! Tests of report assembly: a week in Berlin that contains the DST switch, with a previous
//! week to compare against.

use chrono::Duration;
use chrono_tz::Europe::Berlin;

use super::*;
use crate::input::{AccountInfo, OnlineFollowersSample, PostMetrics};
use crate::testkit::{date, followers, likes_only, snap, typed_post, utc};

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|it| (it - b).abs() < 1e-9)
}

fn daily(metric: AccountMetric, day: NaiveDate, value: i64) -> DailyMetricValue {
    DailyMetricValue { day, metric, value }
}

fn history() -> AccountHistory {
    let mut posts = vec![
        // 2026-03-23 00:30 CET: in the period although its UTC date is the 22nd. 10 %.
        typed_post(
            "p1",
            MediaProductType::Feed,
            utc(2026, 3, 22, 23, 30),
            likes_only(50, 500),
        ),
        // 2026-03-29 23:30 CEST: last hour of the period. 30 %.
        typed_post(
            "p2",
            MediaProductType::Reels,
            utc(2026, 3, 29, 21, 30),
            likes_only(300, 1000),
        ),
        // 2026-03-30 00:30 CEST: the next period.
        typed_post(
            "p3",
            MediaProductType::Feed,
            utc(2026, 3, 29, 22, 30),
            likes_only(1, 10),
        ),
        // A story: summarised separately.
        typed_post(
            "p4",
            MediaProductType::Story,
            utc(2026, 3, 25, 10, 0),
            PostMetrics {
                shares: Some(5),
                reach: Some(100),
                ..PostMetrics::default()
            },
        ),
        // Deleted, 30 %: counts in the figures, never as the best post.
        typed_post(
            "p5",
            MediaProductType::Feed,
            utc(2026, 3, 24, 10, 0),
            likes_only(90, 300),
        ),
        // The previous week: 5 %.
        typed_post(
            "q1",
            MediaProductType::Feed,
            utc(2026, 3, 18, 10, 0),
            likes_only(20, 400),
        ),
    ];
    posts[4].deleted = true;
    posts[1].snapshots = vec![snap(posts[1].published_at, 24, likes_only(300, 1000))];
    // Five February reels: the baseline for p2 (10 at 24 h).
    for i in 0..5 {
        let published = utc(2026, 2, 1, 12, 0) + Duration::days(i);
        let mut p = typed_post(
            &format!("r{i}"),
            MediaProductType::Reels,
            published,
            likes_only(10, 100),
        );
        p.snapshots = vec![snap(published, 24, likes_only(10, 100))];
        posts.push(p);
    }

    let mut daily_metrics = Vec::new();
    for (i, day) in Period::new(date(2026, 3, 23), date(2026, 3, 29))
        .unwrap()
        .days()
        .enumerate()
    {
        let i = i as i64;
        daily_metrics.push(daily(AccountMetric::Reach, day, 100 * (i + 1)));
        daily_metrics.push(daily(AccountMetric::Views, day, 10));
        daily_metrics.push(daily(AccountMetric::ProfileViews, day, 3));
        daily_metrics.push(daily(AccountMetric::WebsiteClicks, day, 1));
        daily_metrics.push(daily(AccountMetric::NetNewFollowers, day, 10));
    }
    daily_metrics.push(daily(AccountMetric::Reach, date(2026, 3, 30), 99_999));
    for d in 20..=22 {
        daily_metrics.push(daily(AccountMetric::Views, date(2026, 3, d), 10));
        daily_metrics.push(daily(AccountMetric::Reach, date(2026, 3, d), 50));
    }
    daily_metrics.push(daily(AccountMetric::WebsiteClicks, date(2026, 3, 22), 0));

    AccountHistory {
        account: AccountInfo {
            time_zone: Berlin,
            followers_now: Some(1100),
        },
        posts,
        follower_samples: vec![
            followers(utc(2026, 3, 15, 20, 0), 900),
            followers(utc(2026, 3, 22, 20, 0), 1000),
            followers(utc(2026, 3, 25, 10, 0), 1030),
            followers(utc(2026, 3, 29, 20, 0), 1100),
        ],
        daily_metrics,
        online_followers: vec![OnlineFollowersSample {
            hour_start: utc(2026, 3, 24, 17, 0),
            followers_online: 400,
        }],
        demographics: vec![
            DemographicValue {
                audience: Audience::Followers,
                dimension: DemographicDimension::Country,
                key: "US".to_owned(),
                value: 40,
            },
            DemographicValue {
                audience: Audience::Followers,
                dimension: DemographicDimension::Country,
                key: "DE".to_owned(),
                value: 60,
            },
        ],
    }
}

fn report() -> Report {
    let period = Period::new(date(2026, 3, 23), date(2026, 3, 29)).unwrap();
    performance_report(
        &history(),
        period,
        utc(2026, 4, 1, 12, 0),
        &ReportConfig::default(),
    )
}

#[test]
fn posts_are_selected_by_local_publish_date() {
    let r = report();
    let ids: Vec<&str> = r
        .content
        .posts
        .iter()
        .map(|it| it.ig_media_id.as_str())
        .collect();
    assert_eq!(ids, ["p1", "p5", "p4", "p2"]); // by publish time; p3 and q1 are outside
    assert_eq!(r.content.posts_published.value, Some(4.0));
    assert_eq!(r.content.posts_deleted.value, Some(1.0));
    assert_eq!(
        r.content.posts[0].published_local.to_string(),
        "2026-03-23 00:30:00"
    );
    assert_eq!(
        r.previous_period.unwrap().to_string(),
        "2026-03-16..=2026-03-22"
    );
}

#[test]
fn content_figures_cover_feed_and_reels_with_stories_apart() {
    let r = report();
    let o = &r.content.overall;
    assert_eq!(o.n_posts, 3); // p1, p5, p2
    assert_eq!(o.engagement_total.value, Some(440.0));
    assert!(close(o.by_reach.mean_of_posts.value, 70.0 / 3.0)); // (10 + 30 + 30) / 3
    assert!(close(o.by_reach.pooled.value, 440.0 / 1800.0 * 100.0));

    let story = r
        .content
        .by_type
        .iter()
        .find(|it| it.product_type == MediaProductType::Story)
        .unwrap();
    assert_eq!(story.summary.n_posts, 1);
    assert_eq!(story.summary.engagement_total.value, Some(5.0));
    assert!(
        story
            .summary
            .engagement_total
            .note
            .as_deref()
            .unwrap()
            .contains("likes missing on 1")
    );

    // Best post: p2 (30 %); the deleted p5 ties but is never highlighted.
    let best = r.content.best_post.as_ref().unwrap();
    assert_eq!(best.ig_media_id, "p2");
    assert_eq!(best.figure.key, "best_post_by_engagement_rate_by_reach");
    assert_eq!(best.figure.value, Some(30.0));
    let feed = r
        .content
        .by_type
        .iter()
        .find(|it| it.product_type == MediaProductType::Feed)
        .unwrap();
    assert_eq!(feed.best_post.as_ref().unwrap().ig_media_id, "p1");

    // p2 beats the five February reels.
    let p2 = &r.content.posts[3];
    assert_eq!(p2.percentile.percentile.value, Some(100.0));
}

#[test]
fn reach_is_never_summed_but_event_counts_are() {
    let r = report();
    let reach = r.account.metric(AccountMetric::Reach).unwrap();
    assert_eq!(reach.daily.len(), 7); // Mar 30 excluded
    assert_eq!(reach.daily[0], (date(2026, 3, 23), 100));
    assert_eq!(reach.daily_average.value, Some(400.0));
    assert_eq!(reach.daily_average.key, "account_reach_daily_average");
    assert_eq!(reach.daily_key, "account_reach_daily");
    assert_eq!(reach.period_total, None);
    assert_eq!(
        r.account
            .metric(AccountMetric::AccountsEngaged)
            .unwrap()
            .period_total,
        None
    );

    let views = r.account.metric(AccountMetric::Views).unwrap();
    let total = views.period_total.as_ref().unwrap();
    assert_eq!(
        (total.key, total.value),
        ("account_views_period_total", Some(70.0))
    );
    assert_eq!(views.daily_average.value, Some(10.0));
    let likes = r.account.metric(AccountMetric::Likes).unwrap();
    assert_eq!(
        likes.daily_average.note.as_deref(),
        Some("no data in the period")
    );
    assert_eq!(r.account.net_new_followers_api.value, Some(70.0));
}

#[test]
fn follower_growth_comes_from_the_counter_history() {
    let r = report();
    let g = &r.account.follower_growth;
    assert_eq!(g.growth_abs.value, Some(100.0)); // 1000 (Mar 22 21:00 CET) → 1100
    assert_eq!(g.growth_pct.value, Some(10.0));
    assert_eq!(r.account.followers_now.value, Some(1100.0));
}

#[test]
fn after_the_first_sync_follower_growth_comes_from_meta_daily_changes() {
    let mut h = history();
    h.follower_samples = vec![followers(utc(2026, 3, 29, 20, 0), 1100)];
    let period = Period::new(date(2026, 3, 23), date(2026, 3, 29)).unwrap();
    let r = performance_report(&h, period, utc(2026, 4, 1, 12, 0), &ReportConfig::default());
    let g = &r.account.follower_growth;
    // Seven days of +10 from the account insight `follower_count`.
    assert_eq!(g.growth_abs.value, Some(70.0));
    assert!(
        g.growth_abs
            .note
            .as_deref()
            .unwrap()
            .starts_with("sum of Meta's daily follower changes"),
        "{:?}",
        g.growth_abs.note
    );
    assert_eq!(g.growth_pct.value, None);
}

#[test]
fn comparison_gives_percent_change_or_n_a_never_an_invented_number() {
    let r = report();
    let row = |key: &str| r.comparison.iter().find(|it| it.key == key).unwrap();

    let posts = row("posts_published");
    assert_eq!((posts.current, posts.previous), (Some(4.0), Some(1.0)));
    assert_eq!(posts.change_pct.value, Some(300.0));
    assert_eq!(posts.change_pct.key, "period_change_pct");

    let er = row("engagement_rate_by_reach_pooled");
    assert!(close(er.previous, 5.0));
    assert!(close(
        er.change_pct.value,
        (440.0 / 1800.0 * 100.0 - 5.0) / 5.0 * 100.0
    ));

    let views = row("account_views_period_total");
    assert!(close(views.change_pct.value, (70.0 - 30.0) / 30.0 * 100.0));
    assert_eq!(
        views.change_pct.note.as_deref(),
        Some("previous period: data for 3 of 7 day(s)")
    );
    // Reach is compared by its average daily value, never a sum: 400 vs 50.
    let reach = row("account_reach_daily_average");
    assert_eq!((reach.current, reach.previous), (Some(400.0), Some(50.0)));

    let profile = row("account_profile_views_period_total");
    assert_eq!(profile.change_pct.value, None);
    assert_eq!(
        profile.change_pct.note.as_deref(),
        Some("n/a: no previous value")
    );
    let clicks = row("account_website_clicks_period_total");
    assert_eq!(clicks.change_pct.value, None);
    assert_eq!(
        clicks.change_pct.note.as_deref(),
        Some("n/a: previous value is 0")
    );

    let growth = row("follower_growth_abs");
    assert_eq!(
        (growth.current, growth.previous),
        (Some(100.0), Some(100.0))
    );
    assert_eq!(growth.change_pct.value, Some(0.0));
}

#[test]
fn trends_best_times_and_audience_are_included() {
    let r = report();
    let trending: Vec<&str> = r
        .trends
        .trending_rows
        .iter()
        .map(|it| r.content.posts[*it].ig_media_id.as_str())
        .collect();
    assert_eq!(trending, ["p2"]);
    assert_eq!(r.trends.summary.assessed, 4);
    assert_eq!(r.trends.summary.no_observation, 2); // p1 and the story have no snapshots
    assert!(
        r.trends
            .notes
            .iter()
            .any(|it| it.contains("no snapshot history"))
    );
    assert_eq!(
        r.content.posts[1].trending.verdict,
        TrendingVerdict::Deleted
    );
    assert_eq!(
        r.content.posts[r.trends.legacy_ranking_rows[0]].ig_media_id,
        "p2"
    );

    // Best times cover every feed post and reel published up to the period end.
    assert_eq!(r.best_times.n_posts, 9); // p1, p2, p5, q1 and five reels; not p3, not the story
    assert_eq!(r.best_times.n_online_samples, 1);

    assert_eq!(r.audience.len(), 1);
    assert_eq!(r.audience[0].total, 100);
    assert_eq!(r.audience[0].entries[0], ("DE".to_owned(), 60, Some(60.0)));
}

#[test]
fn every_figure_in_the_report_is_registered() {
    let r = report();
    let mut figures: Vec<&Figure> = vec![
        &r.account.followers_now,
        &r.account.net_new_followers_api,
        &r.account.follower_growth.start,
        &r.account.follower_growth.end,
        &r.account.follower_growth.growth_abs,
        &r.account.follower_growth.growth_pct,
        &r.content.posts_published,
        &r.content.posts_deleted,
    ];
    for m in &r.account.metrics {
        figures.push(&m.daily_average);
        figures.extend(m.period_total.as_ref());
        assert!(def::definition(m.daily_key).is_some());
    }
    for s in
        std::iter::once(&r.content.overall).chain(r.content.by_type.iter().map(|it| &it.summary))
    {
        figures.extend([
            &s.engagement_total,
            &s.engagement_per_post_mean,
            &s.reach_per_post_mean,
        ]);
        for a in s.average_rates() {
            figures.extend([&a.mean_of_posts, &a.pooled]);
        }
    }
    let row_figures: Vec<Figure> = r
        .content
        .posts
        .iter()
        .flat_map(|row| {
            let mut v = row.engagement.figures();
            v.extend([
                row.percentile.percentile.clone(),
                row.legacy_performance.score.clone(),
                row.legacy_trending.score.clone(),
                row.trending.expected.clone(),
                row.trending.ratio.clone(),
                row.trending.robust_z.clone(),
            ]);
            v
        })
        .collect();
    figures.extend(row_figures.iter());
    for c in &r.best_times.cells {
        figures.extend([&c.posts.mean_rate, &c.online.mean_online]);
    }
    for c in &r.comparison {
        figures.push(&c.change_pct);
        assert!(comparison_definition(c).is_some(), "{}", c.key);
    }
    for f in figures {
        let d = f
            .definition()
            .unwrap_or_else(|| panic!("unregistered key {}", f.key));
        assert_eq!(d.unit, f.unit, "{}", f.key);
        assert!(f.value.is_none_or(f64::is_finite));
    }
}

#[test]
fn an_empty_history_gives_an_empty_but_explained_report() {
    let period = Period::new(date(2026, 3, 1), date(2026, 3, 31)).unwrap();
    let r = performance_report(
        &AccountHistory::default(),
        period,
        utc(2026, 4, 1, 0, 0),
        &ReportConfig::default(),
    );
    assert_eq!(r.content.posts_published.value, Some(0.0));
    assert_eq!(r.content.best_post, None);
    assert_eq!(r.account.follower_growth.growth_abs.value, None);
    assert_eq!(
        r.account.followers_now.note.as_deref(),
        Some("no profile sync yet")
    );
    assert!(
        r.comparison
            .iter()
            .all(|it| it.change_pct.value.is_none() || it.previous.is_some())
    );
    assert!(r.best_times.recommendations.is_empty());
    assert_eq!(r.time_zone, chrono_tz::UTC);
}

#[test]
fn the_follower_outlook_forecasts_from_the_latest_samples_or_says_why_not() {
    // The fixture's period ended days before `now`: no forecast, and why.
    let r = report();
    assert_eq!(
        r.account.follower_outlook,
        Err("the period ended before the latest days; forecasts start from today".into())
    );
    // Sixty daily samples growing by 10 a day, a report of the last week: a forecast and the
    // next round number (1,600 → 2,000, 40 days after the last sample).
    let mut h = AccountHistory::default();
    for i in 0..60 {
        h.follower_samples.push(followers(
            utc(2026, 1, 1, 20, 0) + Duration::days(i),
            1010 + 10 * i,
        ));
    }
    let period = Period::new(date(2026, 2, 24), date(2026, 3, 1)).unwrap();
    let r = performance_report(&h, period, utc(2026, 3, 1, 21, 0), &ReportConfig::default());
    let o = r.account.follower_outlook.unwrap();
    assert_eq!(o.last_followers, 1600.0);
    assert_eq!(o.forecast.points.len(), OUTLOOK_DAYS);
    assert_eq!(o.forecast.last_day, date(2026, 3, 1));
    let m = o.milestone.unwrap();
    assert_eq!((m.target, m.day), (2000.0, date(2026, 4, 10)));
    assert!(
        m.message
            .starts_with("at this pace this account reaches 2,000 followers around 10 Apr 2026"),
        "{}",
        m.message
    );
    // Too little history is a reason, not a number.
    h.follower_samples.truncate(5);
    let r = performance_report(
        &h,
        Period::new(date(2026, 1, 1), date(2026, 1, 5)).unwrap(),
        utc(2026, 1, 5, 21, 0),
        &ReportConfig::default(),
    );
    assert_eq!(
        r.account.follower_outlook,
        Err("too little history to forecast: 5 days with a value, 14 needed".into())
    );
}
