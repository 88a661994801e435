//! The JSON form of a report. Every figure is an object
//! `{"key", "label", "value", "unit", "note", "definition"}` whose `key` is a key of the
//! analytics definitions registry; daily series are `{"key", …, "points": [...]}` with the
//! same fields. Raw Instagram counters of a post (likes, reach…) are plain numbers under
//! `metrics`, and audience entries are `{"bucket", "accounts", "share_pct"}`, because they
//! are measurements, not computed figures. Only figures and series have a `key` field.
//!
//! The shape is the types of `body.rs` ([`ReportBody`] and its parts), which serialize the
//! report and give the OpenAPI document its `Report` schema, so the two cannot drift.

use std::collections::BTreeSet;

use analytics::{
    AverageRate, Definition, EngagementSummary, Figure, PostRow, Report, TrendingAssessment,
};
use serde_json::Value;

use super::ReportSubject;
use super::body::*;

/// The report as a JSON value (the API embeds it; `render` prints it).
pub fn report_json(report: &Report, subject: &ReportSubject) -> Value {
    // The body holds strings, numbers and string-keyed maps only: serializing it cannot
    // fail.
    serde_json::to_value(ReportBody::new(report, subject)).unwrap_or_default()
}

impl<'a> ReportBody<'a> {
    /// The body of `report` about `subject`.
    pub fn new(report: &'a Report, subject: &'a ReportSubject) -> ReportBody<'a> {
        let account = &report.account;
        let growth = &account.follower_growth;
        let content = &report.content;
        let posts = &content.posts;
        let followers_daily = &analytics::definition::FOLLOWERS_DAILY;
        let bt = &report.best_times;
        ReportBody {
            account: ReportAccount {
                id: subject.account_id,
                username: &subject.username,
                name: subject.name.as_deref(),
            },
            period: period(&report.period, report),
            previous_period: report.previous_period.as_ref().map(|p| period(p, report)),
            generated_at: report.generated_at,
            followers: ReportFollowers {
                now: figure(&account.followers_now),
                at_period_start: figure(&growth.start),
                at_period_end: figure(&growth.end),
                growth_abs: figure(&growth.growth_abs),
                growth_pct: figure(&growth.growth_pct),
                net_new_followers_api: figure(&account.net_new_followers_api),
                daily: ReportFollowersSeries {
                    key: followers_daily.key,
                    label: followers_daily.label,
                    unit: followers_daily.unit.key(),
                    definition: followers_daily.definition,
                    points: growth
                        .daily
                        .iter()
                        .map(|d| ReportFollowersPoint {
                            date: d.day.to_string(),
                            value: d.followers,
                            captured_at: d.captured_at,
                            change: d.change,
                            days_spanned: d.days_spanned,
                        })
                        .collect(),
                },
                days_in_period: growth.days_in_period,
                days_with_samples: growth.days_with_samples,
                longest_gap_days: growth.longest_gap_days,
            },
            account_metrics: account
                .metrics
                .iter()
                .map(|m| {
                    let def = m.metric.daily_definition();
                    ReportAccountMetric {
                        metric: m.metric.key(),
                        additive: m.metric.is_additive(),
                        days_in_period: m.days_in_period,
                        daily: ReportMetricSeries {
                            key: m.daily_key,
                            label: def.label,
                            unit: def.unit.key(),
                            definition: def.definition,
                            points: m
                                .daily
                                .iter()
                                .map(|(day, v)| ReportMetricPoint {
                                    date: day.to_string(),
                                    value: *v,
                                })
                                .collect(),
                        },
                        daily_average: figure(&m.daily_average),
                        period_total: m.period_total.as_ref().map(figure),
                    }
                })
                .collect(),
            content: ReportContent {
                posts_published: figure(&content.posts_published),
                posts_deleted: figure(&content.posts_deleted),
                overall: summary(&content.overall),
                by_type: content
                    .by_type
                    .iter()
                    .map(|t| ReportTypeSummary {
                        product_type: t.product_type.key(),
                        summary: summary(&t.summary),
                        best_post: t.best_post.as_ref().map(|b| best_post(b, posts)),
                    })
                    .collect(),
                best_post: content.best_post.as_ref().map(|b| best_post(b, posts)),
            },
            posts: posts.iter().map(post).collect(),
            trending: ReportTrending {
                posts: report
                    .trends
                    .trending_rows
                    .iter()
                    .filter_map(|idx| posts.get(*idx))
                    .map(|row| ReportTrendingPost {
                        assessment: assessment(&row.trending),
                        published_at: row.published_at,
                    })
                    .collect(),
                assessed: report.trends.summary.assessed,
                insufficient_baseline: report.trends.summary.insufficient_baseline,
                no_observation: report.trends.summary.no_observation,
                settings: ReportTrendingSettings {
                    metric: report.trends.config.metric.key(),
                    min_baseline_posts: report.trends.config.min_baseline_posts,
                    max_baseline_posts: report.trends.config.max_baseline_posts,
                    min_ratio: report.trends.config.min_ratio,
                    min_robust_z: report.trends.config.min_robust_z,
                },
                notes: &report.trends.notes,
                legacy_ranking: report
                    .trends
                    .legacy_ranking_rows
                    .iter()
                    .filter_map(|idx| posts.get(*idx))
                    .map(|row| ReportLegacyRank {
                        ig_media_id: &row.ig_media_id,
                        score: figure(&row.legacy_trending.score),
                    })
                    .collect(),
            },
            best_times: ReportBestTimes {
                time_zone: bt.time_zone.name(),
                n_posts: bt.n_posts,
                n_online_samples: bt.n_online_samples,
                overall_mean_rate: bt.overall_mean_rate,
                recommendations: bt
                    .recommendations
                    .iter()
                    .map(|r| ReportRecommendation {
                        weekday: super::weekday_label(r.weekday).to_lowercase(),
                        hour: r.hour,
                        basis: r.basis.key(),
                        why: &r.why,
                    })
                    .collect(),
                cells: bt
                    .cells
                    .iter()
                    .map(|c| ReportCell {
                        weekday: super::weekday_label(c.weekday).to_lowercase(),
                        hour: c.hour,
                        posts: ReportCellPosts {
                            n_posts: c.posts.n_posts,
                            n_rated: c.posts.n_rated,
                            mean_rate: figure(&c.posts.mean_rate),
                            interval_95: c.posts.interval_95.map(|(lo, hi)| [lo, hi]),
                            confidence: c.posts.confidence.key(),
                        },
                        online: ReportCellOnline {
                            n_samples: c.online.n_samples,
                            mean_online: figure(&c.online.mean_online),
                        },
                    })
                    .collect(),
            },
            audience: report
                .audience
                .iter()
                .map(|d| ReportAudience {
                    audience: d.audience.key(),
                    dimension: d.dimension.key(),
                    total: d.total,
                    entries: d
                        .entries
                        .iter()
                        .map(|(bucket, accounts, share)| ReportAudienceEntry {
                            bucket,
                            accounts: *accounts,
                            share_pct: *share,
                        })
                        .collect(),
                })
                .collect(),
            comparison: report
                .comparison
                .iter()
                .map(|c| ReportComparison {
                    key: c.key,
                    label: analytics::definition(c.key).map(|d| d.label),
                    definition: analytics::definition(c.key).map(|d| d.definition),
                    current: c.current,
                    previous: c.previous,
                    change_pct: figure(&c.change_pct),
                })
                .collect(),
            peer_benchmark: report.peers.as_ref().map(|p| ReportPeerBenchmark {
                competitors: p.competitors,
                figures: p
                    .ranks
                    .iter()
                    .map(|r| ReportPeerFigure {
                        ours: figure(&r.ours),
                        rank: figure(&super::peer_rank_figure(r)),
                        of: r.of,
                        peer_median: figure(&super::peer_median_figure(r)),
                    })
                    .collect(),
            }),
            notes: &report.notes,
            definitions: super::used_definitions(report)
                .into_iter()
                .map(definition)
                .collect(),
        }
    }
}

fn period(p: &analytics::Period, report: &Report) -> ReportPeriod {
    ReportPeriod {
        from: p.start().to_string(),
        to: p.end().to_string(),
        days: p.n_days(),
        time_zone: report.time_zone.name(),
    }
}

/// `{"key", "label", "value", "unit", "note", "definition"}`.
fn figure(figure: &Figure) -> ReportFigure {
    let def = figure.definition();
    ReportFigure {
        key: figure.key,
        label: def.map(|d| d.label),
        value: figure.value,
        unit: figure.unit.key(),
        note: figure.note.clone(),
        definition: def.map(|d| d.definition),
    }
}

fn definition(def: &Definition) -> ReportDefinition {
    ReportDefinition {
        key: def.key,
        label: def.label,
        unit: def.unit.key(),
        definition: def.definition,
    }
}

fn average(rate: &AverageRate) -> ReportAverage {
    ReportAverage {
        mean_of_posts: figure(&rate.mean_of_posts),
        pooled: figure(&rate.pooled),
        n_posts: rate.n_posts,
    }
}

fn summary(s: &EngagementSummary) -> ReportSummary {
    ReportSummary {
        n_posts: s.n_posts,
        n_deleted: s.n_deleted,
        n_with_engagement: s.n_with_engagement,
        engagement_total: figure(&s.engagement_total),
        engagement_per_post_mean: figure(&s.engagement_per_post_mean),
        reach_per_post_mean: figure(&s.reach_per_post_mean),
        views_per_post_mean: figure(&s.views_per_post_mean),
        engagement_rate_by_reach: average(&s.by_reach),
        engagement_rate_by_followers_at_post_time: average(&s.by_followers),
        engagement_rate_by_views: average(&s.by_views),
        like_rate_by_reach: average(&s.like_rate),
        comment_rate_by_reach: average(&s.comment_rate),
        save_rate_by_reach: average(&s.save_rate),
        share_rate_by_reach: average(&s.share_rate),
        reach_rate_by_followers_at_post_time: average(&s.reach_rate),
        missing_components: s
            .missing_components
            .iter()
            .map(|(c, n)| (c.key(), *n))
            .collect(),
    }
}

fn best_post<'a>(b: &'a analytics::BestPost, posts: &'a [PostRow]) -> ReportBestPost<'a> {
    ReportBestPost {
        ig_media_id: &b.ig_media_id,
        permalink: posts.get(b.row).and_then(|r| r.permalink.as_deref()),
        figure: figure(&b.figure),
    }
}

fn assessment(t: &TrendingAssessment) -> ReportAssessment<'_> {
    ReportAssessment {
        ig_media_id: &t.ig_media_id,
        product_type: t.product_type.key(),
        metric: t.metric.key(),
        verdict: t.verdict.key(),
        why: &t.why,
        observed_at: t.observed_at,
        age_hours: t.age.map(|a| a.num_minutes() as f64 / 60.0),
        observed: t.observed,
        expected: figure(&t.expected),
        ratio: figure(&t.ratio),
        robust_z: figure(&t.robust_z),
        baseline_posts: t.baseline_posts,
    }
}

fn post(row: &PostRow) -> ReportPost<'_> {
    let m = &row.metrics;
    ReportPost {
        ig_media_id: &row.ig_media_id,
        product_type: row.product_type.key(),
        media_type: row.media_type.key(),
        published_at: row.published_at,
        published_local: row.published_local.format("%Y-%m-%dT%H:%M:%S").to_string(),
        deleted: row.deleted,
        caption: row.caption.as_deref(),
        permalink: row.permalink.as_deref(),
        metrics: ReportPostMetrics {
            likes: m.likes,
            comments: m.comments,
            saves: m.saves,
            shares: m.shares,
            reach: m.reach,
            views: m.views,
            total_interactions: m.total_interactions,
            follows: m.follows,
            profile_visits: m.profile_visits,
            reels_avg_watch_time_ms: m.reels_avg_watch_time_ms,
        },
        figures: row.engagement.figures().iter().map(figure).collect(),
        performance_percentile: figure(&row.percentile.percentile),
        legacy_performance_score: figure(&row.legacy_performance.score),
        legacy_trending_score: figure(&row.legacy_trending.score),
        trending: assessment(&row.trending),
    }
}

/// Every definition key used by the report's figures and series.
pub(crate) fn figure_keys(report: &Report) -> BTreeSet<&'static str> {
    let mut keys = BTreeSet::new();
    let account = &report.account;
    let growth = &account.follower_growth;
    for f in [
        &account.followers_now,
        &account.net_new_followers_api,
        &growth.start,
        &growth.end,
        &growth.growth_abs,
        &growth.growth_pct,
        &report.content.posts_published,
        &report.content.posts_deleted,
    ] {
        keys.insert(f.key);
    }
    keys.insert(analytics::definition::FOLLOWERS_DAILY.key);
    for m in &account.metrics {
        keys.insert(m.daily_key);
        keys.insert(m.daily_average.key);
        if let Some(t) = &m.period_total {
            keys.insert(t.key);
        }
    }
    fn add_summary(keys: &mut BTreeSet<&'static str>, s: &EngagementSummary) {
        for f in [
            &s.engagement_total,
            &s.engagement_per_post_mean,
            &s.reach_per_post_mean,
            &s.views_per_post_mean,
        ] {
            keys.insert(f.key);
        }
        for r in s.average_rates() {
            keys.insert(r.mean_of_posts.key);
            keys.insert(r.pooled.key);
        }
    }
    add_summary(&mut keys, &report.content.overall);
    for t in &report.content.by_type {
        add_summary(&mut keys, &t.summary);
        if let Some(b) = &t.best_post {
            keys.insert(b.figure.key);
        }
    }
    if let Some(b) = &report.content.best_post {
        keys.insert(b.figure.key);
    }
    for row in &report.content.posts {
        for f in row.engagement.figures() {
            keys.insert(f.key);
        }
        keys.insert(row.percentile.percentile.key);
        keys.insert(row.legacy_performance.score.key);
        keys.insert(row.legacy_trending.score.key);
        keys.insert(row.trending.expected.key);
        keys.insert(row.trending.ratio.key);
        keys.insert(row.trending.robust_z.key);
    }
    for c in &report.best_times.cells {
        keys.insert(c.posts.mean_rate.key);
        keys.insert(c.online.mean_online.key);
    }
    for c in &report.comparison {
        keys.insert(c.key);
        keys.insert(c.change_pct.key);
    }
    for r in report.peers.iter().flat_map(|p| &p.ranks) {
        keys.insert(r.ours.key);
        keys.insert(analytics::definition::PEER_RANK.key);
    }
    keys
}
