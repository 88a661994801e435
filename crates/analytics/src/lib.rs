//! Analytics over an account's stored history: engagement rates that name their
//! denominators, trending posts against the account's own baseline, performance scores,
//! best posting times, follower growth, anomalous days, forecasts with prediction intervals
//! and the period report that assembles them.
//!
//! This crate is the pure core of igsync. It does no IO, holds no clock (callers pass
//! `now`), is not async and knows no SQL, HTTP or Graph API names: everything is a function
//! of its arguments. It must not depend on any other igsync crate.
//!
//! Every number it produces names its definition: a [`Figure`] carries the key of a
//! [`Definition`] in the registry ([`definition()`], [`definitions()`]), and typed fields
//! document the key they hold.
//!
//! Map:
//! * [`input`]: the history the store produces ([`AccountHistory`] and its parts).
//! * [`period`]: inclusive local-date periods and DST-correct day boundaries.
//! * [`engagement`]: engagement, rates by reach / followers at post time / views, averages.
//! * [`growth`]: follower growth from the counter history.
//! * [`trending`]: age-matched baseline, ratio and robust z; the legacy weighted score.
//! * [`score`]: percentile rank within the account; the legacy performance score.
//! * [`best_time`]: weekday × hour grid from past posts and followers online.
//! * [`report`]: the period report with comparison to the previous period.
//! * [`alert`]: detectors for notifications, with dedup keys.
//! * [`series`]: daily series with missing days, from metrics or the follower counter.
//! * [`anomaly`]: weekday-aware robust baselines, bands and anomalous days or posts.
//! * [`forecast`]: damped-trend and robust-trend forecasts with intervals; milestones.
//! * [`definition`]: the registry of every figure's key and definition.

pub mod alert;
pub mod anomaly;
pub mod best_time;
pub mod competitors;
pub mod definition;
pub mod engagement;
pub mod figure;
pub mod forecast;
pub mod growth;
pub mod input;
pub mod period;
pub mod report;
pub mod score;
pub mod series;
pub mod trending;

mod stats;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod testkit;

pub use alert::{
    Alert, AlertConfig, AlertKind, detect_alerts, detect_follower_growth, detect_trending_posts,
};
pub use anomaly::{
    Anomaly, AnomalyConfig, Baseline, BaselineKind, CHECKED_METRICS, Direction, NoBaseline,
    PostAnomaly, SeriesAnomaly, SeriesKind, account_anomalies, assess_day, detect_anomalies,
    post_anomalies,
};
pub use best_time::{
    BestTimeCell, BestTimeConfig, BestTimes, Confidence, OnlineSlot, PostSlot, RecommendationBasis,
    SlotRecommendation, best_times,
};
pub use definition::{Definition, Unit, definition, definitions};
pub use engagement::{
    AverageRate, ComponentSet, Engagement, EngagementComponent, EngagementSummary,
    FollowerSampleChoice, FollowerTimeline, FollowersAtPostTime, PostEngagement, Rate, RateGap,
    engagement, metrics_engagement, post_engagement,
};
pub use figure::Figure;
pub use forecast::{
    Forecast, ForecastConfig, ForecastError, ForecastMethod, ForecastPoint, MethodChoice,
    Milestone, forecast, milestone, next_round_number,
};
pub use growth::{
    DailyFollowers, FollowerGrowth, GrowthSource, StartSampleChoice, follower_growth,
};
pub use input::{
    AccountHistory, AccountInfo, AccountMetric, Audience, DailyMetricValue, DemographicDimension,
    DemographicValue, FollowerSample, MediaProductType, MediaType, OnlineFollowersSample, Post,
    PostMetrics, PostSnapshot, UnknownKey,
};
pub use period::{Period, PeriodError, local_date, local_day_start, posts_in_period};
pub use report::{
    AccountMetricSummary, AccountSection, BestPost, Comparison, ContentSection, ContentTypeSummary,
    DemographicBreakdown, FollowerOutlook, PostRow, Report, ReportConfig, TrendingSummary,
    TrendsSection, performance_report,
};
pub use score::{
    LegacyPerformanceScore, PercentileRanking, PerformancePercentile, legacy_performance_score,
    performance_percentiles,
};
pub use series::DailySeries;
pub use trending::{
    BaselineStatistic, LegacyTrendingScore, TrendMetric, TrendingAssessment, TrendingConfig,
    TrendingIndex, TrendingVerdict, assess_trending, legacy_trending_ranking,
    legacy_weighted_trending_score,
};
