//! The performance report of one account over one period: account metrics, follower growth,
//! content metrics, trending posts, best posting times, audience, and a comparison with the
//! previous period of equal length.
//!
//! Rules the report keeps:
//! * Posts are selected by publish time in the account's time zone (inclusive local dates).
//! * Daily reach and accounts engaged count unique accounts and are never summed: the report
//!   shows their daily series and average daily value. Event counts (views, profile views,
//!   clicks…) also get a period total.
//! * Stories are analysed separately: they have their own per-type summary and are not mixed
//!   into the overall content figures (which cover feed posts and reels).
//! * A comparison with a missing or zero previous value is "n/a", never a made-up change.
//! * Every number is a [`Figure`] (or a typed field documented with its key).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

use crate::best_time::{BestTimeConfig, BestTimes, best_times};
use crate::definition::{self as def, Definition};
use crate::engagement::{EngagementSummary, FollowerTimeline, PostEngagement, post_engagement};
use crate::figure::Figure;
use crate::forecast::{
    Forecast, ForecastConfig, Milestone, forecast, milestone, next_round_number,
};
use crate::growth::{FollowerGrowth, follower_growth};
use crate::input::{
    AccountHistory, AccountMetric, Audience, DailyMetricValue, DemographicDimension,
    DemographicValue, MediaProductType, MediaType, Post, PostMetrics,
};
use crate::period::{Period, posts_in_period};
use crate::score::{
    LegacyPerformanceScore, PercentileRanking, PerformancePercentile, legacy_performance_score,
};
use crate::series::DailySeries;
use crate::trending::{
    LegacyTrendingScore, TrendingAssessment, TrendingConfig, TrendingIndex, TrendingVerdict,
    legacy_weighted_trending_score,
};

/// Settings of report assembly.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportConfig {
    /// Trending detection.
    pub trending: TrendingConfig,
    /// Best posting times.
    pub best_times: BestTimeConfig,
    /// Length of the legacy trending list.
    pub legacy_trending_limit: usize,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            trending: TrendingConfig::default(),
            best_times: BestTimeConfig::default(),
            legacy_trending_limit: 10,
        }
    }
}

/// The performance report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The account's time zone; all local dates and hours are in it.
    pub time_zone: Tz,
    /// The reported period.
    pub period: Period,
    /// The previous period of equal length (absent only at the edge of the calendar).
    pub previous_period: Option<Period>,
    /// The `now` the report was computed for (trending ages and recency use it).
    pub generated_at: DateTime<Utc>,
    /// Account-level metrics and follower growth.
    pub account: AccountSection,
    /// Posts published in the period.
    pub content: ContentSection,
    /// Trending posts among the period's posts.
    pub trends: TrendsSection,
    /// Best posting times from all posts published up to the period end and the online
    /// followers samples.
    pub best_times: BestTimes,
    /// Latest demographics snapshot.
    pub audience: Vec<DemographicBreakdown>,
    /// Headline figures compared with the previous period.
    pub comparison: Vec<Comparison>,
    /// Where the account ranks among the competitors tracked through it over the period;
    /// `None` when none is tracked (the report's builder fills it from stored snapshots).
    pub peers: Option<crate::competitors::PeerBenchmark>,
    /// General caveats of this report.
    pub notes: Vec<String>,
}

/// Account-level figures of a period.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountSection {
    /// `followers_now`.
    pub followers_now: Figure,
    /// Follower growth from the counter history.
    pub follower_growth: FollowerGrowth,
    /// `net_new_followers_api_total`: the API's own daily net-new-follower values summed.
    pub net_new_followers_api: Figure,
    /// One summary per [`AccountMetric`], in [`AccountMetric::ALL`] order.
    pub metrics: Vec<AccountMetricSummary>,
    /// Where followers are heading from the latest samples (90 days), or why there is no
    /// forecast (too little history, or a period that ended before the latest days).
    pub follower_outlook: Result<FollowerOutlook, String>,
}

/// A follower forecast from the latest samples and the next round number it reaches.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowerOutlook {
    /// The forecast, 90 days past the last day with a sample.
    pub forecast: Forecast,
    /// Followers on that last day.
    pub last_followers: f64,
    /// When the next round number is reached, if within the forecast.
    pub milestone: Option<Milestone>,
}

/// Days ahead of the follower outlook.
pub const OUTLOOK_DAYS: usize = 90;

fn follower_outlook(
    history: &AccountHistory,
    period: &Period,
    now: DateTime<Utc>,
) -> Result<FollowerOutlook, String> {
    let tz = history.account.time_zone;
    let today = crate::period::local_date(tz, now);
    if period.end() < today.pred_opt().unwrap_or(today) {
        return Err("the period ended before the latest days; forecasts start from today".into());
    }
    let samples: Vec<_> = history
        .follower_samples
        .iter()
        .filter(|it| it.captured_at <= now)
        .copied()
        .collect();
    let series = DailySeries::followers(&samples, tz);
    let last_followers = series
        .values
        .iter()
        .rev()
        .find_map(|it| *it)
        .ok_or_else(|| "no follower sample yet".to_string())?;
    let forecast =
        forecast(&series, OUTLOOK_DAYS, &ForecastConfig::default()).map_err(|e| e.to_string())?;
    let milestone = milestone(
        &forecast,
        last_followers,
        next_round_number(last_followers),
        "this account",
        "followers",
    );
    Ok(FollowerOutlook {
        forecast,
        last_followers,
        milestone,
    })
}

impl AccountSection {
    /// The summary of one metric.
    pub fn metric(&self, metric: AccountMetric) -> Option<&AccountMetricSummary> {
        self.metrics.iter().find(|it| it.metric == metric)
    }
}

/// One account metric over the period.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountMetricSummary {
    /// The metric.
    pub metric: AccountMetric,
    /// Key of the daily series (`account_<metric>_daily`).
    pub daily_key: &'static str,
    /// The daily series: days of the period with data, ascending.
    pub daily: Vec<(NaiveDate, i64)>,
    /// Days of the period.
    pub days_in_period: i64,
    /// `account_<metric>_daily_average`.
    pub daily_average: Figure,
    /// `account_<metric>_period_total`; `None` for metrics of unique accounts (reach,
    /// accounts engaged), which must not be summed.
    pub period_total: Option<Figure>,
}

/// Content figures of a period.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentSection {
    /// `posts_published` (all product types).
    pub posts_published: Figure,
    /// `posts_deleted`.
    pub posts_deleted: Figure,
    /// Feed posts and reels together.
    pub overall: EngagementSummary,
    /// One summary per media product type (feed, reels, story).
    pub by_type: Vec<ContentTypeSummary>,
    /// The best feed post or reel of the period.
    pub best_post: Option<BestPost>,
    /// Every post of the period, by publish time.
    pub posts: Vec<PostRow>,
}

/// Figures of one media product type.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentTypeSummary {
    /// The type.
    pub product_type: MediaProductType,
    /// Its engagement summary.
    pub summary: EngagementSummary,
    /// Its best post.
    pub best_post: Option<BestPost>,
}

/// The best post of a set (definition `best_post_by_engagement_rate_by_reach`).
#[derive(Debug, Clone, PartialEq)]
pub struct BestPost {
    /// Index into [`ContentSection::posts`].
    pub row: usize,
    /// Instagram media id.
    pub ig_media_id: String,
    /// Its engagement rate by reach, keyed `best_post_by_engagement_rate_by_reach`.
    pub figure: Figure,
}

/// One post of the period with all its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct PostRow {
    /// Index into [`AccountHistory::posts`].
    pub post_idx: usize,
    /// Instagram media id.
    pub ig_media_id: String,
    /// Media product type.
    pub product_type: MediaProductType,
    /// Media type.
    pub media_type: MediaType,
    /// Publish time (UTC).
    pub published_at: DateTime<Utc>,
    /// Publish time in the account's time zone.
    pub published_local: NaiveDateTime,
    /// Deleted on Instagram.
    pub deleted: bool,
    /// Caption.
    pub caption: Option<String>,
    /// Permalink.
    pub permalink: Option<String>,
    /// Latest metrics.
    pub metrics: PostMetrics,
    /// Engagement and rates.
    pub engagement: PostEngagement,
    /// `performance_percentile` among all the account's posts of the same type.
    pub percentile: PerformancePercentile,
    /// `legacy_performance_score`.
    pub legacy_performance: LegacyPerformanceScore,
    /// `legacy_weighted_trending_score` at the report's `now`.
    pub legacy_trending: LegacyTrendingScore,
    /// Trending assessment at the report's `now`.
    pub trending: TrendingAssessment,
}

/// Trending posts of the period.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendingSummary {
    /// Posts assessed.
    pub assessed: usize,
    /// Posts without enough history for a verdict.
    pub insufficient_baseline: usize,
    /// Posts without any snapshot.
    pub no_observation: usize,
}

/// Trends of the period.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendsSection {
    /// The settings used.
    pub config: TrendingConfig,
    /// Indices into [`ContentSection::posts`] of the trending posts, strongest first
    /// (by robust z, then ratio).
    pub trending_rows: Vec<usize>,
    /// Counts of verdicts.
    pub summary: TrendingSummary,
    /// The original specification's list: rows ranked by `legacy_weighted_trending_score`,
    /// best first (a named alternative, not the default).
    pub legacy_ranking_rows: Vec<usize>,
    /// Caveats (e.g. no verdict possible for lack of history).
    pub notes: Vec<String>,
}

/// The latest demographics of one audience and dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct DemographicBreakdown {
    /// Whose demographics.
    pub audience: Audience,
    /// Which dimension.
    pub dimension: DemographicDimension,
    /// Σ of the listed values (Meta lists at most the top 45).
    pub total: i64,
    /// `(key, value, share of total in %)`, largest first.
    pub entries: Vec<(String, i64, Option<f64>)>,
}

/// One headline figure compared with the previous period.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Key of the compared figure.
    pub key: &'static str,
    /// Value in the period.
    pub current: Option<f64>,
    /// Value in the previous period.
    pub previous: Option<f64>,
    /// `period_change_pct`; no value ("n/a") when previous is missing or 0.
    pub change_pct: Figure,
}

/// Assembles the report of `history` over `period`, as of `now`.
pub fn performance_report(
    history: &AccountHistory,
    period: Period,
    now: DateTime<Utc>,
    config: &ReportConfig,
) -> Report {
    let tz = history.account.time_zone;
    let timeline = FollowerTimeline::new(&history.follower_samples);
    let daily = DailyIndex::new(&history.daily_metrics);
    let previous_period = period.previous().ok();

    let mut account = account_section(history, &timeline, &daily, &period, tz);
    account.follower_outlook = follower_outlook(history, &period, now);
    let ranking = PercentileRanking::new(&history.posts);
    let trending_index = TrendingIndex::new(&history.posts, config.trending.metric, now);
    let content = content_section(
        history,
        &timeline,
        &period,
        tz,
        now,
        &ranking,
        &trending_index,
        config,
    );
    let trends = trends_section(&content, config);

    let (_, period_to) = period.utc_bounds(tz);
    let best_times = best_times(
        history
            .posts
            .iter()
            .filter(|it| it.published_at < period_to && it.published_at <= now),
        &history.online_followers,
        tz,
        &config.best_times,
    );

    let comparison = match previous_period {
        Some(prev) => {
            let prev_account = account_section(history, &timeline, &daily, &prev, tz);
            let prev_summary = overall_summary(history, &timeline, &prev, tz);
            compare(
                &headline(&account, &content.overall, &content.posts_published),
                &headline(
                    &prev_account,
                    &prev_summary.0,
                    &Figure::new(&def::POSTS_PUBLISHED, Some(prev_summary.1 as f64)),
                ),
            )
        }
        None => Vec::new(),
    };

    let notes = vec![
        "Reach and accounts engaged count unique accounts per day: they are shown as daily \
         series and average daily values, never summed into a period total."
            .to_owned(),
        "Account metrics use the API's day buckets; posts are selected by publish time in the \
         account's time zone."
            .to_owned(),
        "Overall content figures cover feed posts and reels; stories are summarised separately."
            .to_owned(),
    ];

    Report {
        time_zone: tz,
        period,
        previous_period,
        generated_at: now,
        account,
        content,
        trends,
        best_times,
        audience: audience(&history.demographics),
        comparison,
        peers: None,
        notes,
    }
}

/// Daily account metric values by metric, sorted by day (the last value wins for a
/// duplicated day).
struct DailyIndex {
    by_metric: Vec<Vec<(NaiveDate, i64)>>,
}

impl DailyIndex {
    fn new(values: &[DailyMetricValue]) -> DailyIndex {
        let mut maps: Vec<BTreeMap<NaiveDate, i64>> =
            vec![BTreeMap::new(); AccountMetric::ALL.len()];
        for it in values {
            maps[metric_index(it.metric)].insert(it.day, it.value);
        }
        DailyIndex {
            by_metric: maps
                .into_iter()
                .map(|it| it.into_iter().collect())
                .collect(),
        }
    }

    fn in_period(&self, metric: AccountMetric, period: &Period) -> &[(NaiveDate, i64)] {
        let series = &self.by_metric[metric_index(metric)];
        let begin = series.partition_point(|it| it.0 < period.start());
        let end = series.partition_point(|it| it.0 <= period.end());
        &series[begin..end.max(begin)]
    }
}

fn metric_index(metric: AccountMetric) -> usize {
    AccountMetric::ALL
        .iter()
        .position(|it| *it == metric)
        .unwrap_or(0)
}

fn account_section(
    history: &AccountHistory,
    timeline: &FollowerTimeline,
    daily: &DailyIndex,
    period: &Period,
    tz: Tz,
) -> AccountSection {
    let followers_now = match history.account.followers_now {
        Some(it) => Figure::new(&def::FOLLOWERS_NOW, Some(it as f64)),
        None => Figure::missing(&def::FOLLOWERS_NOW, "no profile sync yet"),
    };
    let days_in_period = period.n_days();
    let metrics: Vec<AccountMetricSummary> = AccountMetric::ALL
        .iter()
        .map(|&metric| {
            let series = daily.in_period(metric, period);
            let n = series.len();
            let sum: i128 = series.iter().map(|it| i128::from(it.1)).sum();
            let coverage = (n as i64) < days_in_period && n > 0;
            let coverage_note =
                coverage.then(|| format!("data for {n} of {days_in_period} day(s)"));
            let daily_average = if n == 0 {
                Figure::missing(metric.daily_average_definition(), "no data in the period")
            } else {
                Figure::new(
                    metric.daily_average_definition(),
                    Some(sum as f64 / n as f64),
                )
                .with_optional_note(coverage_note.clone())
            };
            let period_total = metric.period_total_definition().map(|d| {
                if n == 0 {
                    Figure::missing(d, "no data in the period")
                } else {
                    Figure::new(d, Some(sum as f64)).with_optional_note(coverage_note.clone())
                }
            });
            AccountMetricSummary {
                metric,
                daily_key: metric.daily_definition().key,
                daily: series.to_vec(),
                days_in_period,
                daily_average,
                period_total,
            }
        })
        .collect();
    let net = daily.in_period(AccountMetric::NetNewFollowers, period);
    let net_new_followers_api = if net.is_empty() {
        Figure::missing(
            &def::NET_NEW_FOLLOWERS_API_TOTAL,
            "no API net-new-follower values in the period (the API keeps 30 days)",
        )
    } else {
        let sum: i128 = net.iter().map(|it| i128::from(it.1)).sum();
        Figure::new(&def::NET_NEW_FOLLOWERS_API_TOTAL, Some(sum as f64)).with_optional_note(
            ((net.len() as i64) < days_in_period)
                .then(|| format!("data for {} of {days_in_period} day(s)", net.len())),
        )
    };
    AccountSection {
        followers_now,
        follower_growth: follower_growth(timeline, period, tz).or_api_daily_changes(net),
        net_new_followers_api,
        metrics,
        follower_outlook: Err("not computed for a comparison period".into()),
    }
}

fn period_post_indices(history: &AccountHistory, period: &Period, tz: Tz) -> Vec<usize> {
    posts_in_period(&history.posts, period, tz)
}

fn is_overall(product_type: MediaProductType) -> bool {
    product_type != MediaProductType::Story
}

/// The overall (feed + reels) summary of a period and the number of posts of all types.
fn overall_summary(
    history: &AccountHistory,
    timeline: &FollowerTimeline,
    period: &Period,
    tz: Tz,
) -> (EngagementSummary, usize) {
    let indices = period_post_indices(history, period, tz);
    let posts: Vec<&Post> = indices.iter().map(|it| &history.posts[*it]).collect();
    let summary = EngagementSummary::from_posts(
        posts
            .iter()
            .copied()
            .filter(|it| is_overall(it.product_type)),
        timeline,
    );
    (summary, posts.len())
}

#[allow(clippy::too_many_arguments)]
fn content_section(
    history: &AccountHistory,
    timeline: &FollowerTimeline,
    period: &Period,
    tz: Tz,
    now: DateTime<Utc>,
    ranking: &PercentileRanking,
    trending_index: &TrendingIndex<'_>,
    config: &ReportConfig,
) -> ContentSection {
    let indices = period_post_indices(history, period, tz);
    let posts: Vec<PostRow> = indices
        .iter()
        .map(|&post_idx| {
            let post = &history.posts[post_idx];
            let trending = trending_index.assess_post(post_idx, post, &config.trending);
            PostRow {
                post_idx,
                ig_media_id: post.ig_media_id.clone(),
                product_type: post.product_type,
                media_type: post.media_type,
                published_at: post.published_at,
                published_local: post.published_at.with_timezone(&tz).naive_local(),
                deleted: post.deleted,
                caption: post.caption.clone(),
                permalink: post.permalink.clone(),
                metrics: post.metrics,
                engagement: post_engagement(post, timeline),
                percentile: ranking.rank(post),
                legacy_performance: legacy_performance_score(&post.metrics),
                legacy_trending: legacy_weighted_trending_score(post, now),
                trending,
            }
        })
        .collect();

    let summary_of = |filter: &dyn Fn(&PostRow) -> bool| {
        EngagementSummary::from_engagements(
            posts
                .iter()
                .filter(|it| filter(it))
                .map(|it| (&history.posts[it.post_idx], &it.engagement)),
        )
    };
    let overall = summary_of(&|it| is_overall(it.product_type));
    let by_type = MediaProductType::ALL
        .iter()
        .map(|&product_type| ContentTypeSummary {
            product_type,
            summary: summary_of(&|it| it.product_type == product_type),
            best_post: best_post(&posts, |it| it.product_type == product_type),
        })
        .collect();
    let n_deleted = posts.iter().filter(|it| it.deleted).count();
    ContentSection {
        posts_published: Figure::new(&def::POSTS_PUBLISHED, Some(posts.len() as f64)),
        posts_deleted: Figure::new(&def::POSTS_DELETED, Some(n_deleted as f64)),
        overall,
        by_type,
        best_post: best_post(&posts, |it| is_overall(it.product_type)),
        posts,
    }
}

/// Highest engagement rate by reach among non-deleted rows; ties: higher engagement, then the
/// earlier post.
fn best_post(rows: &[PostRow], filter: impl Fn(&PostRow) -> bool) -> Option<BestPost> {
    let mut best: Option<(usize, f64, i64)> = None;
    for (idx, row) in rows.iter().enumerate() {
        if row.deleted || !filter(row) {
            continue;
        }
        let Some(rate) = row.engagement.rate_by_reach.value else {
            continue;
        };
        let eng = row.engagement.engagement.total.unwrap_or(0);
        let better = match best {
            None => true,
            // Rows are in publish order, so on a full tie the earlier one stays.
            Some((_, r, e)) => rate > r || (rate == r && eng > e),
        };
        if better {
            best = Some((idx, rate, eng));
        }
    }
    best.map(|(row, rate, _)| BestPost {
        row,
        ig_media_id: rows[row].ig_media_id.clone(),
        figure: Figure::new(&def::BEST_POST_BY_ENGAGEMENT_RATE_BY_REACH, Some(rate))
            .with_optional_note(rows[row].engagement.engagement.missing_note()),
    })
}

fn trends_section(content: &ContentSection, config: &ReportConfig) -> TrendsSection {
    let rows = &content.posts;
    let mut trending_rows: Vec<usize> = (0..rows.len())
        .filter(|it| rows[*it].trending.is_trending())
        .collect();
    trending_rows.sort_by(|a, b| {
        let key = |i: usize| {
            let t = &rows[i].trending;
            (
                t.robust_z.value.unwrap_or(f64::INFINITY),
                t.ratio.value.unwrap_or(f64::INFINITY),
            )
        };
        let (ka, kb) = (key(*a), key(*b));
        kb.0.total_cmp(&ka.0)
            .then(kb.1.total_cmp(&ka.1))
            .then(a.cmp(b))
    });
    let count = |v: TrendingVerdict| rows.iter().filter(|it| it.trending.verdict == v).count();
    let summary = TrendingSummary {
        assessed: rows.len(),
        insufficient_baseline: count(TrendingVerdict::InsufficientBaseline),
        no_observation: count(TrendingVerdict::NoObservation),
    };
    let mut notes = Vec::new();
    if summary.insufficient_baseline > 0 {
        notes.push(format!(
            "{} post(s) could not be judged: fewer than {} earlier posts of the same type were \
             observed at the same age. No trending claim is made for them.",
            summary.insufficient_baseline, config.trending.min_baseline_posts
        ));
    }
    if summary.no_observation > 0 {
        notes.push(format!(
            "{} post(s) have no snapshot history yet.",
            summary.no_observation
        ));
    }
    let mut legacy: Vec<usize> = (0..rows.len())
        .filter(|it| !rows[*it].deleted && rows[*it].legacy_trending.score.value.is_some())
        .collect();
    legacy.sort_by(|a, b| {
        let (sa, sb) = (
            rows[*a].legacy_trending.score.value.unwrap_or(0.0),
            rows[*b].legacy_trending.score.value.unwrap_or(0.0),
        );
        sb.total_cmp(&sa).then(b.cmp(a))
    });
    legacy.truncate(config.legacy_trending_limit);
    TrendsSection {
        config: config.trending,
        trending_rows,
        summary,
        legacy_ranking_rows: legacy,
        notes,
    }
}

fn audience(values: &[DemographicValue]) -> Vec<DemographicBreakdown> {
    let mut groups: BTreeMap<(Audience, DemographicDimension), Vec<(String, i64)>> =
        BTreeMap::new();
    for it in values {
        groups
            .entry((it.audience, it.dimension))
            .or_default()
            .push((it.key.clone(), it.value));
    }
    groups
        .into_iter()
        .map(|((audience, dimension), mut entries)| {
            entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let total: i64 = entries
                .iter()
                .fold(0i64, |acc, it| acc.saturating_add(it.1));
            let entries = entries
                .into_iter()
                .map(|(k, v)| {
                    let share = (total > 0).then(|| v as f64 / total as f64 * 100.0);
                    (k, v, share)
                })
                .collect();
            DemographicBreakdown {
                audience,
                dimension,
                total,
                entries,
            }
        })
        .collect()
}

/// The figures compared period over period.
fn headline(
    account: &AccountSection,
    overall: &EngagementSummary,
    posts_published: &Figure,
) -> Vec<Figure> {
    let mut res = vec![
        posts_published.clone(),
        overall.engagement_total.clone(),
        overall.engagement_per_post_mean.clone(),
        overall.by_reach.pooled.clone(),
        overall.by_reach.mean_of_posts.clone(),
        overall.by_followers.pooled.clone(),
        overall.by_views.pooled.clone(),
        overall.reach_per_post_mean.clone(),
        overall.views_per_post_mean.clone(),
        account.follower_growth.growth_abs.clone(),
    ];
    for metric in [
        AccountMetric::Reach,
        AccountMetric::AccountsEngaged,
        AccountMetric::Views,
        AccountMetric::ProfileViews,
        AccountMetric::TotalInteractions,
        AccountMetric::WebsiteClicks,
    ] {
        if let Some(summary) = account.metric(metric) {
            res.push(
                summary
                    .period_total
                    .clone()
                    .unwrap_or_else(|| summary.daily_average.clone()),
            );
        }
    }
    res
}

fn compare(current: &[Figure], previous: &[Figure]) -> Vec<Comparison> {
    current
        .iter()
        .zip(previous)
        .map(|(cur, prev)| {
            let change_pct = match (cur.value, prev.value) {
                (_, None) => Figure::missing(&def::PERIOD_CHANGE_PCT, "n/a: no previous value"),
                (None, _) => Figure::missing(&def::PERIOD_CHANGE_PCT, "n/a: no current value"),
                (_, Some(0.0)) => {
                    Figure::missing(&def::PERIOD_CHANGE_PCT, "n/a: previous value is 0")
                }
                (Some(c), Some(p)) => {
                    Figure::new(&def::PERIOD_CHANGE_PCT, Some((c - p) / p.abs() * 100.0))
                        .with_optional_note(
                            prev.note
                                .as_ref()
                                .map(|it| format!("previous period: {it}")),
                        )
                }
            };
            Comparison {
                key: cur.key,
                current: cur.value,
                previous: prev.value,
                change_pct,
            }
        })
        .collect()
}

/// Looks a definition up for a comparison row (convenience for renderers).
pub fn comparison_definition(comparison: &Comparison) -> Option<&'static Definition> {
    def::definition(comparison.key)
}

#[cfg(test)]
mod tests;
