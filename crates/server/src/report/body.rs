//! The wire form of a report: the types [`super::report_json`] serializes and from which the
//! OpenAPI document's `Report` schema (and its `Report…` parts) is generated, so the two
//! cannot drift. They are a twin of `analytics::Report` in the server, the one crate that
//! defines igsync's JSON, because `analytics` has no serde.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

/// Every definition key, the values a figure's or series' `key` takes.
fn definition_keys() -> Vec<&'static str> {
    analytics::definitions().iter().map(|d| d.key).collect()
}

/// The units' names (`analytics::Unit::key`).
const UNITS: [&str; 6] = [
    "count",
    "percent",
    "ratio",
    "z_score",
    "score",
    "percentile",
];

/// The weekdays' names.
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// An account's performance report for a period, in its time zone.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "Report")]
pub struct ReportBody<'a> {
    /// The account reported on.
    pub(super) account: ReportAccount<'a>,
    /// The period.
    pub(super) period: ReportPeriod,
    /// The period before it, of the same length, when the report compares.
    pub(super) previous_period: Option<ReportPeriod>,
    /// When the report was computed.
    pub(super) generated_at: DateTime<Utc>,
    pub(super) followers: ReportFollowers,
    /// The account's daily metrics.
    pub(super) account_metrics: Vec<ReportAccountMetric>,
    pub(super) content: ReportContent<'a>,
    /// The period's posts.
    pub(super) posts: Vec<ReportPost<'a>>,
    pub(super) trending: ReportTrending<'a>,
    pub(super) best_times: ReportBestTimes<'a>,
    /// The audience's latest demographics.
    pub(super) audience: Vec<ReportAudience<'a>>,
    /// Figures of this period against the previous one.
    pub(super) comparison: Vec<ReportComparison>,
    /// The account's rank among the competitors tracked through it; null when none is.
    pub(super) peer_benchmark: Option<ReportPeerBenchmark>,
    pub(super) notes: &'a [String],
    /// The definition of every key the report uses.
    pub(super) definitions: Vec<ReportDefinition>,
}

/// The account a report is about.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportAccount")]
pub(super) struct ReportAccount<'a> {
    /// igsync's account id.
    pub(super) id: store::AccountId,
    pub(super) username: &'a str,
    pub(super) name: Option<&'a str>,
}

/// A period of local days, both ends included.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportPeriod")]
pub(super) struct ReportPeriod {
    /// First day (YYYY-MM-DD).
    pub(super) from: String,
    /// Last day (YYYY-MM-DD).
    pub(super) to: String,
    pub(super) days: i64,
    /// The account's IANA time zone.
    pub(super) time_zone: &'static str,
}

/// A computed figure: its definition key, value (null when missing) and why.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportFigure")]
pub(super) struct ReportFigure {
    #[schemars(extend("enum" = definition_keys()))]
    pub(super) key: &'static str,
    pub(super) label: Option<&'static str>,
    pub(super) value: Option<f64>,
    #[schemars(extend("enum" = UNITS))]
    pub(super) unit: &'static str,
    /// Why the value is missing, or a caveat about how it was obtained.
    pub(super) note: Option<String>,
    pub(super) definition: Option<&'static str>,
}

/// A definition of the analytics registry.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportDefinition")]
pub(super) struct ReportDefinition {
    #[schemars(extend("enum" = definition_keys()))]
    pub(super) key: &'static str,
    pub(super) label: &'static str,
    #[schemars(extend("enum" = UNITS))]
    pub(super) unit: &'static str,
    pub(super) definition: &'static str,
}

/// The followers section.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportFollowers")]
pub(super) struct ReportFollowers {
    pub(super) now: ReportFigure,
    pub(super) at_period_start: ReportFigure,
    pub(super) at_period_end: ReportFigure,
    pub(super) growth_abs: ReportFigure,
    pub(super) growth_pct: ReportFigure,
    pub(super) net_new_followers_api: ReportFigure,
    pub(super) daily: ReportFollowersSeries,
    pub(super) days_in_period: i64,
    pub(super) days_with_samples: usize,
    pub(super) longest_gap_days: i64,
}

/// `followers_daily`: the followers at each local day's last sample.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportFollowersSeries")]
pub(super) struct ReportFollowersSeries {
    #[schemars(extend("enum" = definition_keys()))]
    pub(super) key: &'static str,
    pub(super) label: &'static str,
    #[schemars(extend("enum" = UNITS))]
    pub(super) unit: &'static str,
    pub(super) definition: &'static str,
    pub(super) points: Vec<ReportFollowersPoint>,
}

/// One day of `followers_daily`.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportFollowersPoint")]
pub(super) struct ReportFollowersPoint {
    /// Local day (YYYY-MM-DD).
    pub(super) date: String,
    pub(super) value: i64,
    pub(super) captured_at: DateTime<Utc>,
    /// Change since the previous point; null when there is no earlier sample.
    pub(super) change: Option<i64>,
    /// Local days the change spans.
    pub(super) days_spanned: Option<i64>,
}

/// One daily account metric over the period.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportAccountMetric")]
pub(super) struct ReportAccountMetric {
    pub(super) metric: &'static str,
    pub(super) additive: bool,
    pub(super) days_in_period: i64,
    pub(super) daily: ReportMetricSeries,
    pub(super) daily_average: ReportFigure,
    /// Null for a metric whose days do not add up.
    pub(super) period_total: Option<ReportFigure>,
}

/// A daily series of an account metric.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportMetricSeries")]
pub(super) struct ReportMetricSeries {
    #[schemars(extend("enum" = definition_keys()))]
    pub(super) key: &'static str,
    pub(super) label: &'static str,
    #[schemars(extend("enum" = UNITS))]
    pub(super) unit: &'static str,
    pub(super) definition: &'static str,
    pub(super) points: Vec<ReportMetricPoint>,
}

/// One day of an account metric.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportMetricPoint")]
pub(super) struct ReportMetricPoint {
    /// Pacific day (YYYY-MM-DD).
    pub(super) date: String,
    pub(super) value: i64,
}

/// The content section.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportContent")]
pub(super) struct ReportContent<'a> {
    pub(super) posts_published: ReportFigure,
    pub(super) posts_deleted: ReportFigure,
    pub(super) overall: ReportSummary,
    pub(super) by_type: Vec<ReportTypeSummary<'a>>,
    pub(super) best_post: Option<ReportBestPost<'a>>,
}

/// The engagement of one product type's posts.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportTypeSummary")]
pub(super) struct ReportTypeSummary<'a> {
    pub(super) product_type: &'static str,
    pub(super) summary: ReportSummary,
    pub(super) best_post: Option<ReportBestPost<'a>>,
}

/// The engagement of a set of posts.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportSummary")]
pub(super) struct ReportSummary {
    pub(super) n_posts: usize,
    pub(super) n_deleted: usize,
    pub(super) n_with_engagement: usize,
    pub(super) engagement_total: ReportFigure,
    pub(super) engagement_per_post_mean: ReportFigure,
    pub(super) reach_per_post_mean: ReportFigure,
    pub(super) views_per_post_mean: ReportFigure,
    pub(super) engagement_rate_by_reach: ReportAverage,
    pub(super) engagement_rate_by_followers_at_post_time: ReportAverage,
    pub(super) engagement_rate_by_views: ReportAverage,
    pub(super) like_rate_by_reach: ReportAverage,
    pub(super) comment_rate_by_reach: ReportAverage,
    pub(super) save_rate_by_reach: ReportAverage,
    pub(super) share_rate_by_reach: ReportAverage,
    pub(super) reach_rate_by_followers_at_post_time: ReportAverage,
    /// For each engagement component, how many posts lacked it.
    pub(super) missing_components: BTreeMap<&'static str, usize>,
}

/// A rate averaged over posts two ways.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportAverage")]
pub(super) struct ReportAverage {
    pub(super) mean_of_posts: ReportFigure,
    pub(super) pooled: ReportFigure,
    pub(super) n_posts: usize,
}

/// The best post of a set.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportBestPost")]
pub(super) struct ReportBestPost<'a> {
    pub(super) ig_media_id: &'a str,
    pub(super) permalink: Option<&'a str>,
    pub(super) figure: ReportFigure,
}

/// One post of the period.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportPost")]
pub(super) struct ReportPost<'a> {
    pub(super) ig_media_id: &'a str,
    pub(super) product_type: &'static str,
    pub(super) media_type: &'static str,
    pub(super) published_at: DateTime<Utc>,
    /// Local time of publication (YYYY-MM-DDTHH:MM:SS).
    pub(super) published_local: String,
    pub(super) deleted: bool,
    pub(super) caption: Option<&'a str>,
    pub(super) permalink: Option<&'a str>,
    pub(super) metrics: ReportPostMetrics,
    pub(super) figures: Vec<ReportFigure>,
    pub(super) performance_percentile: ReportFigure,
    pub(super) legacy_performance_score: ReportFigure,
    pub(super) legacy_trending_score: ReportFigure,
    pub(super) trending: ReportAssessment<'a>,
}

/// A post's latest Instagram counters; null where Meta gave none.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportPostMetrics")]
pub(super) struct ReportPostMetrics {
    pub(super) likes: Option<i64>,
    pub(super) comments: Option<i64>,
    pub(super) saves: Option<i64>,
    pub(super) shares: Option<i64>,
    pub(super) reach: Option<i64>,
    pub(super) views: Option<i64>,
    pub(super) total_interactions: Option<i64>,
    pub(super) follows: Option<i64>,
    pub(super) profile_visits: Option<i64>,
    pub(super) reels_avg_watch_time_ms: Option<i64>,
}

/// A post against the baseline of its account's same-type posts at the same age.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportAssessment")]
pub(super) struct ReportAssessment<'a> {
    pub(super) ig_media_id: &'a str,
    pub(super) product_type: &'static str,
    pub(super) metric: &'static str,
    pub(super) verdict: &'static str,
    pub(super) why: &'a str,
    pub(super) observed_at: Option<DateTime<Utc>>,
    pub(super) age_hours: Option<f64>,
    pub(super) observed: Option<f64>,
    pub(super) expected: ReportFigure,
    pub(super) ratio: ReportFigure,
    pub(super) robust_z: ReportFigure,
    pub(super) baseline_posts: usize,
}

/// A trending post: its assessment and when it was published.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportTrendingPost")]
pub(super) struct ReportTrendingPost<'a> {
    #[serde(flatten)]
    pub(super) assessment: ReportAssessment<'a>,
    pub(super) published_at: DateTime<Utc>,
}

/// The trending section.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportTrending")]
pub(super) struct ReportTrending<'a> {
    pub(super) posts: Vec<ReportTrendingPost<'a>>,
    pub(super) assessed: usize,
    pub(super) insufficient_baseline: usize,
    pub(super) no_observation: usize,
    pub(super) settings: ReportTrendingSettings,
    pub(super) notes: &'a [String],
    pub(super) legacy_ranking: Vec<ReportLegacyRank<'a>>,
}

/// The trending detector's settings.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportTrendingSettings")]
pub(super) struct ReportTrendingSettings {
    pub(super) metric: &'static str,
    pub(super) min_baseline_posts: usize,
    pub(super) max_baseline_posts: usize,
    pub(super) min_ratio: f64,
    pub(super) min_robust_z: f64,
}

/// A post of the original specification's trending ranking.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportLegacyRank")]
pub(super) struct ReportLegacyRank<'a> {
    pub(super) ig_media_id: &'a str,
    pub(super) score: ReportFigure,
}

/// The best posting times.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportBestTimes")]
pub(super) struct ReportBestTimes<'a> {
    pub(super) time_zone: &'static str,
    pub(super) n_posts: usize,
    pub(super) n_online_samples: usize,
    pub(super) overall_mean_rate: Option<f64>,
    pub(super) recommendations: Vec<ReportRecommendation<'a>>,
    /// 168 weekday × hour cells.
    pub(super) cells: Vec<ReportCell>,
}

/// A recommended slot.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportRecommendation")]
pub(super) struct ReportRecommendation<'a> {
    #[schemars(extend("enum" = WEEKDAYS))]
    pub(super) weekday: String,
    pub(super) hour: u32,
    pub(super) basis: &'static str,
    pub(super) why: &'a str,
}

/// One local weekday × hour.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportCell")]
pub(super) struct ReportCell {
    #[schemars(extend("enum" = WEEKDAYS))]
    pub(super) weekday: String,
    pub(super) hour: u32,
    pub(super) posts: ReportCellPosts,
    pub(super) online: ReportCellOnline,
}

/// Past posts published in a slot.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportCellPosts")]
pub(super) struct ReportCellPosts {
    pub(super) n_posts: usize,
    pub(super) n_rated: usize,
    pub(super) mean_rate: ReportFigure,
    /// 95 % interval of the mean rate, [low, high].
    pub(super) interval_95: Option<[f64; 2]>,
    pub(super) confidence: &'static str,
}

/// Followers online in a slot.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportCellOnline")]
pub(super) struct ReportCellOnline {
    pub(super) n_samples: usize,
    pub(super) mean_online: ReportFigure,
}

/// One demographic breakdown.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportAudience")]
pub(super) struct ReportAudience<'a> {
    pub(super) audience: &'static str,
    pub(super) dimension: &'static str,
    pub(super) total: i64,
    pub(super) entries: Vec<ReportAudienceEntry<'a>>,
}

/// One bucket of a demographic breakdown.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportAudienceEntry")]
pub(super) struct ReportAudienceEntry<'a> {
    pub(super) bucket: &'a str,
    pub(super) accounts: i64,
    pub(super) share_pct: Option<f64>,
}

/// A figure of this period against the previous one.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportComparison")]
pub(super) struct ReportComparison {
    #[schemars(extend("enum" = definition_keys()))]
    pub(super) key: &'static str,
    pub(super) label: Option<&'static str>,
    pub(super) definition: Option<&'static str>,
    pub(super) current: Option<f64>,
    pub(super) previous: Option<f64>,
    pub(super) change_pct: ReportFigure,
}

/// The peer benchmark.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportPeerBenchmark")]
pub(super) struct ReportPeerBenchmark {
    /// Competitors in the peer set.
    pub(super) competitors: usize,
    pub(super) figures: Vec<ReportPeerFigure>,
}

/// The account's rank among its peers on one figure.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "ReportPeerFigure")]
pub(super) struct ReportPeerFigure {
    pub(super) ours: ReportFigure,
    pub(super) rank: ReportFigure,
    pub(super) of: usize,
    pub(super) peer_median: ReportFigure,
}
