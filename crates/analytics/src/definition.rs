//! The definitions registry: every figure igsync computes has a stable key and a one-line
//! human definition naming its numerator, denominator and period rule.
//!
//! Figures carry a `&'static Definition` (see [`crate::Figure`]), so a renderer can always
//! show what a number means. [`definition`] looks a key up; [`definitions`] lists them all.

use std::fmt;

use crate::input::AccountMetric;

/// What a figure's value measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// A count (of interactions, accounts, followers, posts…).
    Count,
    /// A percentage (already multiplied by 100).
    Percent,
    /// A plain ratio ("2.5×").
    Ratio,
    /// A robust z-score (in scaled median absolute deviations).
    ZScore,
    /// A score on a 0–100 scale.
    Score,
    /// A percentile rank on a 0–100 scale.
    Percentile,
}

impl Unit {
    /// A stable lower-case name of the unit.
    pub const fn key(self) -> &'static str {
        match self {
            Unit::Count => "count",
            Unit::Percent => "percent",
            Unit::Ratio => "ratio",
            Unit::ZScore => "z_score",
            Unit::Score => "score",
            Unit::Percentile => "percentile",
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The definition of one figure.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Definition {
    /// Stable snake_case key (part of the public API; never renamed).
    pub key: &'static str,
    /// Short human label, e.g. "Engagement rate by reach".
    pub label: &'static str,
    /// Unit of the value.
    pub unit: Unit,
    /// One line: numerator, denominator and period rule.
    pub definition: &'static str,
}

/// Looks a definition up by its key.
pub fn definition(key: &str) -> Option<&'static Definition> {
    DEFINITIONS.iter().copied().find(|it| it.key == key)
}

/// Every definition, in a stable order suitable for a glossary.
pub fn definitions() -> &'static [&'static Definition] {
    DEFINITIONS
}

macro_rules! define {
    ($( $(#[$meta:meta])* $name:ident = $key:literal, $unit:ident, $label:literal, $text:literal; )+) => {
        $(
            $(#[$meta])*
            #[doc = concat!("`", $key, "`: ", $text)]
            pub static $name: Definition = Definition {
                key: $key,
                label: $label,
                unit: Unit::$unit,
                definition: $text,
            };
        )+
    };
}

// Posts.
define! {
    ENGAGEMENT = "engagement", Count, "Engagement",
        "Likes + comments + saves + shares of a post (lifetime), each from its own metric; components Meta does not provide are left out and listed as missing.";
    ENGAGEMENT_RATE_BY_REACH = "engagement_rate_by_reach", Percent, "Engagement rate by reach",
        "Engagement / reach × 100 for one post (lifetime values); none when reach is missing or 0.";
    ENGAGEMENT_RATE_BY_FOLLOWERS_AT_POST_TIME = "engagement_rate_by_followers_at_post_time", Percent,
        "Engagement rate by followers at post time",
        "Engagement / followers at publish time × 100; followers from the last sample at or before publish time, else the first sample after it (labelled).";
    ENGAGEMENT_RATE_BY_VIEWS = "engagement_rate_by_views", Percent, "Engagement rate by views",
        "Engagement / views × 100 for one post (lifetime values); none when views is missing or 0.";
    LIKE_RATE_BY_REACH = "like_rate_by_reach", Percent, "Like rate by reach",
        "Likes / reach × 100 for one post; none when likes or reach is missing or reach is 0.";
    COMMENT_RATE_BY_REACH = "comment_rate_by_reach", Percent, "Comment rate by reach",
        "Comments / reach × 100 for one post; none when comments or reach is missing or reach is 0.";
    SAVE_RATE_BY_REACH = "save_rate_by_reach", Percent, "Save rate by reach",
        "Saves / reach × 100 for one post; none when saves or reach is missing or reach is 0.";
    SHARE_RATE_BY_REACH = "share_rate_by_reach", Percent, "Share rate by reach",
        "Shares (Instagram's own metric) / reach × 100 for one post; none when shares or reach is missing or reach is 0.";
    REACH_RATE_BY_FOLLOWERS_AT_POST_TIME = "reach_rate_by_followers_at_post_time", Percent,
        "Reach rate by followers at post time",
        "Reach / followers at publish time × 100 for one post (follower sample chosen as for the engagement rate by followers).";
}

// Period aggregates over posts.
define! {
    POSTS_PUBLISHED = "posts_published", Count, "Posts published",
        "Number of posts whose publish time falls in the period (inclusive local dates in the account's time zone); deleted posts included and counted separately.";
    POSTS_DELETED = "posts_deleted", Count, "Deleted posts",
        "Number of the period's posts that were later deleted on Instagram (their last known metrics are kept).";
    ENGAGEMENT_TOTAL = "engagement_total", Count, "Total engagement",
        "Σ engagement over the period's posts that have engagement (posts selected by publish time in the account's time zone).";
    ENGAGEMENT_PER_POST_MEAN = "engagement_per_post_mean", Count, "Average engagement per post",
        "Σ engagement / number of the period's posts that have engagement.";
    REACH_PER_POST_MEAN = "reach_per_post_mean", Count, "Average reach per post",
        "Mean of post reach over the period's posts that have reach (post reach is per post, never summed across posts as audience size).";
    VIEWS_PER_POST_MEAN = "views_per_post_mean", Count, "Average views per post",
        "Mean of post views over the period's posts that have views.";
    ENGAGEMENT_RATE_BY_REACH_MEAN_OF_POSTS = "engagement_rate_by_reach_mean_of_posts", Percent,
        "Engagement rate by reach, mean of posts",
        "Mean of per-post engagement / reach × 100 over the period's posts where that rate is defined.";
    ENGAGEMENT_RATE_BY_REACH_POOLED = "engagement_rate_by_reach_pooled", Percent,
        "Engagement rate by reach, pooled",
        "Σ engagement / Σ reach × 100 over the period's posts where the per-post rate is defined.";
    ENGAGEMENT_RATE_BY_FOLLOWERS_AT_POST_TIME_MEAN_OF_POSTS = "engagement_rate_by_followers_at_post_time_mean_of_posts", Percent,
        "Engagement rate by followers at post time, mean of posts",
        "Mean of per-post engagement / followers at publish time × 100 over the period's posts where that rate is defined.";
    ENGAGEMENT_RATE_BY_FOLLOWERS_AT_POST_TIME_POOLED = "engagement_rate_by_followers_at_post_time_pooled", Percent,
        "Engagement rate by followers at post time, pooled",
        "Σ engagement / Σ followers at publish time × 100 over the period's posts where the per-post rate is defined.";
    ENGAGEMENT_RATE_BY_VIEWS_MEAN_OF_POSTS = "engagement_rate_by_views_mean_of_posts", Percent,
        "Engagement rate by views, mean of posts",
        "Mean of per-post engagement / views × 100 over the period's posts where that rate is defined.";
    ENGAGEMENT_RATE_BY_VIEWS_POOLED = "engagement_rate_by_views_pooled", Percent,
        "Engagement rate by views, pooled",
        "Σ engagement / Σ views × 100 over the period's posts where the per-post rate is defined.";
    LIKE_RATE_BY_REACH_MEAN_OF_POSTS = "like_rate_by_reach_mean_of_posts", Percent,
        "Like rate by reach, mean of posts",
        "Mean of per-post likes / reach × 100 over the period's posts where that rate is defined.";
    LIKE_RATE_BY_REACH_POOLED = "like_rate_by_reach_pooled", Percent, "Like rate by reach, pooled",
        "Σ likes / Σ reach × 100 over the period's posts where the per-post rate is defined.";
    COMMENT_RATE_BY_REACH_MEAN_OF_POSTS = "comment_rate_by_reach_mean_of_posts", Percent,
        "Comment rate by reach, mean of posts",
        "Mean of per-post comments / reach × 100 over the period's posts where that rate is defined.";
    COMMENT_RATE_BY_REACH_POOLED = "comment_rate_by_reach_pooled", Percent, "Comment rate by reach, pooled",
        "Σ comments / Σ reach × 100 over the period's posts where the per-post rate is defined.";
    SAVE_RATE_BY_REACH_MEAN_OF_POSTS = "save_rate_by_reach_mean_of_posts", Percent,
        "Save rate by reach, mean of posts",
        "Mean of per-post saves / reach × 100 over the period's posts where that rate is defined.";
    SAVE_RATE_BY_REACH_POOLED = "save_rate_by_reach_pooled", Percent, "Save rate by reach, pooled",
        "Σ saves / Σ reach × 100 over the period's posts where the per-post rate is defined.";
    SHARE_RATE_BY_REACH_MEAN_OF_POSTS = "share_rate_by_reach_mean_of_posts", Percent,
        "Share rate by reach, mean of posts",
        "Mean of per-post shares / reach × 100 over the period's posts where that rate is defined.";
    SHARE_RATE_BY_REACH_POOLED = "share_rate_by_reach_pooled", Percent, "Share rate by reach, pooled",
        "Σ shares / Σ reach × 100 over the period's posts where the per-post rate is defined.";
    REACH_RATE_BY_FOLLOWERS_AT_POST_TIME_MEAN_OF_POSTS = "reach_rate_by_followers_at_post_time_mean_of_posts", Percent,
        "Reach rate by followers at post time, mean of posts",
        "Mean of per-post reach / followers at publish time × 100 over the period's posts where that rate is defined.";
    REACH_RATE_BY_FOLLOWERS_AT_POST_TIME_POOLED = "reach_rate_by_followers_at_post_time_pooled", Percent,
        "Reach rate by followers at post time, pooled",
        "Σ reach / Σ followers at publish time × 100 over the period's posts where the per-post rate is defined.";
    BEST_POST_BY_ENGAGEMENT_RATE_BY_REACH = "best_post_by_engagement_rate_by_reach", Percent,
        "Best post",
        "The period's non-deleted post with the highest engagement rate by reach; ties go to higher engagement, then the earlier post.";
}

// Followers.
define! {
    FOLLOWERS_NOW = "followers_now", Count, "Followers",
        "Followers at the latest profile sync.";
    FOLLOWERS_AT_PERIOD_START = "followers_at_period_start", Count, "Followers at period start",
        "Followers at the last sample at or before the period start (local midnight), else at the first sample inside the period.";
    FOLLOWERS_AT_PERIOD_END = "followers_at_period_end", Count, "Followers at period end",
        "Followers at the last sample inside the period (before the local midnight that ends it).";
    FOLLOWER_GROWTH_ABS = "follower_growth_abs", Count, "Follower growth",
        "Followers at the period-end sample − followers at the period-start sample; exact across sync gaps (the counter is a stock), no interpolation. Before the counter has two samples: the sum of Meta's daily follower changes over the period's days that have one (noted).";
    FOLLOWER_GROWTH_PCT = "follower_growth_pct", Percent, "Follower growth rate",
        "Follower growth / followers at the period-start sample × 100; none when that count is 0.";
    FOLLOWERS_DAILY = "followers_daily", Count, "Followers per day",
        "Followers at the last sample of each local day in the period; days without a sync have no point (never interpolated).";
    NET_NEW_FOLLOWERS_API_TOTAL = "net_new_followers_api_total", Count, "Net new followers (API)",
        "Σ of the API's daily net-new-follower values over the period's days that have one (the API keeps only 30 days).";
    FOLLOWER_GROWTH_SINCE_PREVIOUS_SAMPLE = "follower_growth_since_previous_sample", Count,
        "Follower growth since the previous sync",
        "Followers at the latest sample − followers at the sample before it.";
}

// Competitors (Business Discovery: public counters only, no reach) and the peer benchmark.
define! {
    COMPETITOR_FOLLOWER_GROWTH = "competitor_follower_growth", Count, "Follower growth",
        "Followers at the last capture in the period − followers at the first capture in the period; none with fewer than two captures.";
    COMPETITOR_FOLLOWER_GROWTH_PCT = "competitor_follower_growth_pct", Percent, "Follower growth rate",
        "Follower growth / followers at the first capture in the period × 100; none when that count is 0.";
    COMPETITOR_POSTS_PER_WEEK = "competitor_posts_per_week", Ratio, "Posts per week",
        "Posts published in the period / the period's length in weeks.";
    COMPETITOR_POSTS_BY_WEEKDAY = "competitor_posts_by_weekday", Count, "Posts by weekday",
        "Posts published in the period per weekday of their publication time in the chosen time zone.";
    COMPETITOR_POSTS_BY_PRODUCT_TYPE = "competitor_posts_by_product_type", Count, "Posts by product type",
        "Posts published in the period per media product type (FEED, REELS; unknown when Meta did not say).";
    COMPETITOR_ENGAGEMENT_PER_POST = "competitor_engagement_per_post", Count, "Engagement per post",
        "Mean of likes + comments at the latest capture over the period's posts whose likes and comments are both public.";
    COMPETITOR_ENGAGEMENT_PER_FOLLOWER = "competitor_engagement_per_follower", Percent,
        "Engagement per follower, (likes+comments)/followers",
        "Mean over the period's posts with public likes and comments of (likes + comments) / followers at the latest capture × 100 (no reach exists for other accounts).";
    COMPETITOR_ENGAGEMENT_AT_AGE = "competitor_engagement_at_age", Count, "Engagement at the same age",
        "Likes + comments at the post's first capture at or after the given age since publication; none when no capture is that old.";
    PEER_RANK = "peer_rank", Count, "Rank in the peer set",
        "1 + the number of peers with a higher value of the same figure over the same period; peers without a value are left out of the set (rank 1 is best).";
}

// Trending and scores.
define! {
    TRENDING_EXPECTED_AT_AGE = "trending_expected_at_age", Count, "Expected value at this age",
        "Middle-50% mean (or median) of up to 100 earlier same-type posts' values interpolated at this post's age, from their snapshot history.";
    TRENDING_RATIO_AT_AGE = "trending_ratio_at_age", Ratio, "Ratio to expected at this age",
        "Post's value at its age / expected value of earlier same-type posts at the same age; none when the expectation is 0.";
    TRENDING_ROBUST_Z = "trending_robust_z", ZScore, "Robust z-score",
        "(ln(1+value) − median of ln(1+baseline values)) / (1.4826 × MAD) against the same age-matched baseline.";
    LEGACY_WEIGHTED_TRENDING_SCORE = "legacy_weighted_trending_score", Score, "Legacy weighted trending score",
        "0.4 × engagement rate by reach (%) + 0.3 × min(engagement/1000, 100) + 0.2 × min(reach/10000, 100) + 0.1 × max(0, 100 − 10 × days since publish).";
    PERFORMANCE_PERCENTILE = "performance_percentile", Percentile, "Performance percentile",
        "Share of the account's other posts of the same type whose engagement rate by reach is lower, ties counting half, × 100.";
    LEGACY_PERFORMANCE_SCORE = "legacy_performance_score", Score, "Legacy performance score",
        "min(100, 0.5 × engagement/views×100 + 0.3 × saves/views×100 + 0.2 × reach/views×100); views replaces the removed impressions.";
}

// Best posting times.
define! {
    BEST_TIME_POST_ENGAGEMENT_RATE = "best_time_post_engagement_rate", Percent,
        "Engagement rate by reach of posts in this slot",
        "Mean engagement rate by reach of posts published in this weekday × hour (account time zone), with a 95% t-interval.";
    BEST_TIME_ONLINE_FOLLOWERS = "best_time_online_followers", Count, "Followers online in this slot",
        "Mean followers online over the hourly samples falling in this weekday × hour (converted to the account time zone).";
}

// Anomalies and forecasts.
define! {
    ANOMALY_USUAL_VALUE = "anomaly_usual_value", Count, "Usual value",
        "Median of the same weekday's values over the 8 weeks before the day (at least 4 present), else of the 14 days before it (at least 7 present, low confidence); missing days are skipped, never 0.";
    ANOMALY_ROBUST_Z = "anomaly_robust_z", ZScore, "Anomaly robust z-score",
        "(t(value) − usual on the t scale) / max(1.4826 × MAD of the trailing days' deviations from their weekday's median, counting noise); t = ln(1+x) for counts (noise floor 1/√(1+usual)), t = x for signed changes (floor 1); an anomaly beyond ±k.";
    ANOMALY_RATIO_TO_USUAL = "anomaly_ratio_to_usual", Ratio, "Ratio to the usual value",
        "The day's value / the usual value (counts only); none when the usual value is 0.";
    ANOMALY_ONE_IN_DAYS = "anomaly_one_in_days", Count, "Rarity (1 in N days)",
        "1 / P(Z > |robust z|) for a standard normal Z: how many days the baseline would need to produce one deviation this large in this direction.";
    FORECAST_VALUE = "forecast_value", Count, "Forecast",
        "Point forecast h days after the last day with a value, by damped-trend exponential smoothing or a robust linear trend, whichever had the smaller mean absolute error in a backtest on the series' own last weeks.";
    FORECAST_INTERVAL = "forecast_interval", Count, "Prediction interval",
        "80 % prediction interval of the forecast: analytic for damped-trend smoothing, empirical quantiles of the method's own past errors at the same horizon for the robust trend.";
}

// Comparison.
define! {
    PERIOD_CHANGE_PCT = "period_change_pct", Percent, "Change vs previous period",
        "(current − previous) / |previous| × 100, previous = the period of equal length just before; n/a when the previous value is missing or 0.";
}

macro_rules! account_metric_definitions {
    ($( $variant:ident: $key:literal, $label:literal,
        $daily:ident, $average:ident $(, $total:ident)?; )+) => {
        $(
            #[doc = concat!("`account_", $key, "_daily`: the daily series of ", $label, ".")]
            pub static $daily: Definition = Definition {
                key: concat!("account_", $key, "_daily"),
                label: concat!($label, " per day"),
                unit: Unit::Count,
                definition: concat!(
                    "Account ", $label,
                    " for each API day bucket in the period; days without data have no value (not 0)."
                ),
            };
            #[doc = concat!("`account_", $key, "_daily_average`: mean daily ", $label, ".")]
            pub static $average: Definition = Definition {
                key: concat!("account_", $key, "_daily_average"),
                label: concat!("Average daily ", $label),
                unit: Unit::Count,
                definition: concat!(
                    "Mean of the daily ", $label,
                    " values over the period's days that have data."
                ),
            };
            $(
                #[doc = concat!("`account_", $key, "_period_total`: ", $label, " summed over the period.")]
                pub static $total: Definition = Definition {
                    key: concat!("account_", $key, "_period_total"),
                    label: concat!($label, " (period total)"),
                    unit: Unit::Count,
                    definition: concat!(
                        "Σ of the daily ", $label,
                        " values over the period's days that have data (a count of events, so it adds up)."
                    ),
                };
            )?
        )+

        impl AccountMetric {
            /// Definition of this metric's daily series.
            pub fn daily_definition(self) -> &'static Definition {
                match self { $(AccountMetric::$variant => &$daily,)+ }
            }

            /// Definition of this metric's average daily value.
            pub fn daily_average_definition(self) -> &'static Definition {
                match self { $(AccountMetric::$variant => &$average,)+ }
            }

            /// Definition of this metric's period total; `None` for metrics that count unique
            /// accounts (reach, accounts engaged), whose daily values must never be summed.
            pub fn period_total_definition(self) -> Option<&'static Definition> {
                match self {
                    $(AccountMetric::$variant => account_metric_definitions!(@total $($total)?),)+
                }
            }
        }

        const ACCOUNT_METRIC_DEFINITIONS: &[&Definition] = &[
            $(&$daily, &$average, $(&$total,)?)+
        ];
    };
    (@total $total:ident) => { Some(&$total) };
    (@total) => { None };
}

account_metric_definitions! {
    Reach: "reach", "reach (unique accounts)", ACCOUNT_REACH_DAILY, ACCOUNT_REACH_DAILY_AVERAGE;
    Views: "views", "views", ACCOUNT_VIEWS_DAILY, ACCOUNT_VIEWS_DAILY_AVERAGE,
        ACCOUNT_VIEWS_PERIOD_TOTAL;
    AccountsEngaged: "accounts_engaged", "accounts engaged (unique accounts)",
        ACCOUNT_ACCOUNTS_ENGAGED_DAILY, ACCOUNT_ACCOUNTS_ENGAGED_DAILY_AVERAGE;
    TotalInteractions: "total_interactions", "total interactions",
        ACCOUNT_TOTAL_INTERACTIONS_DAILY, ACCOUNT_TOTAL_INTERACTIONS_DAILY_AVERAGE,
        ACCOUNT_TOTAL_INTERACTIONS_PERIOD_TOTAL;
    Likes: "likes", "likes", ACCOUNT_LIKES_DAILY, ACCOUNT_LIKES_DAILY_AVERAGE,
        ACCOUNT_LIKES_PERIOD_TOTAL;
    Comments: "comments", "comments", ACCOUNT_COMMENTS_DAILY, ACCOUNT_COMMENTS_DAILY_AVERAGE,
        ACCOUNT_COMMENTS_PERIOD_TOTAL;
    Saves: "saves", "saves", ACCOUNT_SAVES_DAILY, ACCOUNT_SAVES_DAILY_AVERAGE,
        ACCOUNT_SAVES_PERIOD_TOTAL;
    Shares: "shares", "shares", ACCOUNT_SHARES_DAILY, ACCOUNT_SHARES_DAILY_AVERAGE,
        ACCOUNT_SHARES_PERIOD_TOTAL;
    Replies: "replies", "replies", ACCOUNT_REPLIES_DAILY, ACCOUNT_REPLIES_DAILY_AVERAGE,
        ACCOUNT_REPLIES_PERIOD_TOTAL;
    ProfileViews: "profile_views", "profile views", ACCOUNT_PROFILE_VIEWS_DAILY,
        ACCOUNT_PROFILE_VIEWS_DAILY_AVERAGE, ACCOUNT_PROFILE_VIEWS_PERIOD_TOTAL;
    WebsiteClicks: "website_clicks", "website clicks", ACCOUNT_WEBSITE_CLICKS_DAILY,
        ACCOUNT_WEBSITE_CLICKS_DAILY_AVERAGE, ACCOUNT_WEBSITE_CLICKS_PERIOD_TOTAL;
    ProfileLinksTaps: "profile_links_taps", "profile link taps", ACCOUNT_PROFILE_LINKS_TAPS_DAILY,
        ACCOUNT_PROFILE_LINKS_TAPS_DAILY_AVERAGE, ACCOUNT_PROFILE_LINKS_TAPS_PERIOD_TOTAL;
    Follows: "follows", "new follows", ACCOUNT_FOLLOWS_DAILY, ACCOUNT_FOLLOWS_DAILY_AVERAGE,
        ACCOUNT_FOLLOWS_PERIOD_TOTAL;
    Unfollows: "unfollows", "unfollows", ACCOUNT_UNFOLLOWS_DAILY, ACCOUNT_UNFOLLOWS_DAILY_AVERAGE,
        ACCOUNT_UNFOLLOWS_PERIOD_TOTAL;
    NetNewFollowers: "net_new_followers", "net new followers (API)", ACCOUNT_NET_NEW_FOLLOWERS_DAILY,
        ACCOUNT_NET_NEW_FOLLOWERS_DAILY_AVERAGE, ACCOUNT_NET_NEW_FOLLOWERS_PERIOD_TOTAL;
}

const DEFINITIONS: &[&Definition] = &{
    const POSTS: &[&Definition] = &[
        &ENGAGEMENT,
        &ENGAGEMENT_RATE_BY_REACH,
        &ENGAGEMENT_RATE_BY_FOLLOWERS_AT_POST_TIME,
        &ENGAGEMENT_RATE_BY_VIEWS,
        &LIKE_RATE_BY_REACH,
        &COMMENT_RATE_BY_REACH,
        &SAVE_RATE_BY_REACH,
        &SHARE_RATE_BY_REACH,
        &REACH_RATE_BY_FOLLOWERS_AT_POST_TIME,
        &POSTS_PUBLISHED,
        &POSTS_DELETED,
        &ENGAGEMENT_TOTAL,
        &ENGAGEMENT_PER_POST_MEAN,
        &REACH_PER_POST_MEAN,
        &VIEWS_PER_POST_MEAN,
        &ENGAGEMENT_RATE_BY_REACH_MEAN_OF_POSTS,
        &ENGAGEMENT_RATE_BY_REACH_POOLED,
        &ENGAGEMENT_RATE_BY_FOLLOWERS_AT_POST_TIME_MEAN_OF_POSTS,
        &ENGAGEMENT_RATE_BY_FOLLOWERS_AT_POST_TIME_POOLED,
        &ENGAGEMENT_RATE_BY_VIEWS_MEAN_OF_POSTS,
        &ENGAGEMENT_RATE_BY_VIEWS_POOLED,
        &LIKE_RATE_BY_REACH_MEAN_OF_POSTS,
        &LIKE_RATE_BY_REACH_POOLED,
        &COMMENT_RATE_BY_REACH_MEAN_OF_POSTS,
        &COMMENT_RATE_BY_REACH_POOLED,
        &SAVE_RATE_BY_REACH_MEAN_OF_POSTS,
        &SAVE_RATE_BY_REACH_POOLED,
        &SHARE_RATE_BY_REACH_MEAN_OF_POSTS,
        &SHARE_RATE_BY_REACH_POOLED,
        &REACH_RATE_BY_FOLLOWERS_AT_POST_TIME_MEAN_OF_POSTS,
        &REACH_RATE_BY_FOLLOWERS_AT_POST_TIME_POOLED,
        &BEST_POST_BY_ENGAGEMENT_RATE_BY_REACH,
        &FOLLOWERS_NOW,
        &FOLLOWERS_AT_PERIOD_START,
        &FOLLOWERS_AT_PERIOD_END,
        &FOLLOWER_GROWTH_ABS,
        &FOLLOWER_GROWTH_PCT,
        &FOLLOWERS_DAILY,
        &NET_NEW_FOLLOWERS_API_TOTAL,
        &FOLLOWER_GROWTH_SINCE_PREVIOUS_SAMPLE,
        &TRENDING_EXPECTED_AT_AGE,
        &TRENDING_RATIO_AT_AGE,
        &TRENDING_ROBUST_Z,
        &LEGACY_WEIGHTED_TRENDING_SCORE,
        &PERFORMANCE_PERCENTILE,
        &LEGACY_PERFORMANCE_SCORE,
        &BEST_TIME_POST_ENGAGEMENT_RATE,
        &BEST_TIME_ONLINE_FOLLOWERS,
        &PERIOD_CHANGE_PCT,
        &ANOMALY_USUAL_VALUE,
        &ANOMALY_ROBUST_Z,
        &ANOMALY_RATIO_TO_USUAL,
        &ANOMALY_ONE_IN_DAYS,
        &FORECAST_VALUE,
        &FORECAST_INTERVAL,
        &COMPETITOR_FOLLOWER_GROWTH,
        &COMPETITOR_FOLLOWER_GROWTH_PCT,
        &COMPETITOR_POSTS_PER_WEEK,
        &COMPETITOR_POSTS_BY_WEEKDAY,
        &COMPETITOR_POSTS_BY_PRODUCT_TYPE,
        &COMPETITOR_ENGAGEMENT_PER_POST,
        &COMPETITOR_ENGAGEMENT_PER_FOLLOWER,
        &COMPETITOR_ENGAGEMENT_AT_AGE,
        &PEER_RANK,
    ];
    let mut all = [&ENGAGEMENT; POSTS.len() + ACCOUNT_METRIC_DEFINITIONS.len()];
    let mut i = 0;
    while i < POSTS.len() {
        all[i] = POSTS[i];
        i += 1;
    }
    let mut j = 0;
    while j < ACCOUNT_METRIC_DEFINITIONS.len() {
        all[i + j] = ACCOUNT_METRIC_DEFINITIONS[j];
        j += 1;
    }
    all
};

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn keys_are_unique_snake_case_and_found_by_lookup() {
        let mut seen = HashSet::new();
        for it in definitions() {
            assert!(seen.insert(it.key), "duplicate key {}", it.key);
            assert!(
                it.key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{}",
                it.key
            );
            assert!(!it.label.is_empty() && !it.definition.is_empty());
            assert!(!it.definition.contains('\n'), "{} is not one line", it.key);
            assert!(std::ptr::eq(definition(it.key).unwrap(), *it));
        }
        assert_eq!(definition("impressions"), None);
    }

    #[test]
    fn the_documented_keys_exist() {
        for key in [
            "engagement_rate_by_reach",
            "engagement_rate_by_followers_at_post_time",
            "engagement_rate_by_views",
            "follower_growth_abs",
            "trending_ratio_at_age",
            "trending_robust_z",
            "performance_percentile",
            "legacy_weighted_trending_score",
            "legacy_performance_score",
            "account_reach_daily_average",
            "account_views_period_total",
        ] {
            assert!(definition(key).is_some(), "{key}");
        }
        assert_eq!(
            definition("engagement_rate_by_reach").unwrap().unit,
            Unit::Percent
        );
    }

    #[test]
    fn unique_account_metrics_have_no_period_total() {
        for metric in AccountMetric::ALL {
            assert_eq!(
                metric.period_total_definition().is_some(),
                metric.is_additive(),
                "{metric}"
            );
            assert_eq!(
                metric.daily_definition().key,
                format!("account_{}_daily", metric.key())
            );
        }
        assert_eq!(definition("account_reach_period_total"), None);
        assert_eq!(definition("account_accounts_engaged_period_total"), None);
    }
}
