//! The metric catalog: which metrics to request for each API version and media category (and
//! for account insights and demographics), plus the decisions learned at run time when the API
//! rejects a metric. Decisions are shared by every clone of a client, so one deprecation costs
//! exactly one failed request per version and scope in a process.
//!
//! Meta's metric names live here and nowhere else in igsync.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::config::ApiVersion;
use crate::model::MediaCategory;

/// A set of metrics that is requested together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CatalogScope {
    /// Lifetime insights of one media category.
    Media(MediaCategory),
    /// Account insights read as a daily `time_series`.
    AccountTimeSeries,
    /// Account insights read as per-day `total_value`s (with or without breakdowns).
    AccountTotalValue,
    /// Audience demographics.
    Demographics,
}

impl CatalogScope {
    /// Every scope.
    pub const ALL: [CatalogScope; 7] = [
        Self::Media(MediaCategory::Feed),
        Self::Media(MediaCategory::CarouselAlbum),
        Self::Media(MediaCategory::Reels),
        Self::Media(MediaCategory::Story),
        Self::AccountTimeSeries,
        Self::AccountTotalValue,
        Self::Demographics,
    ];

    /// The scope its [`Display`](fmt::Display) names (`media/REELS`, `account/time_series`, …).
    pub fn parse(s: &str) -> Option<CatalogScope> {
        Self::ALL.into_iter().find(|scope| scope.to_string() == s)
    }
}

impl fmt::Display for CatalogScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Media(c) => write!(f, "media/{c}"),
            Self::AccountTimeSeries => f.write_str("account/time_series"),
            Self::AccountTotalValue => f.write_str("account/total_value"),
            Self::Demographics => f.write_str("account/demographics"),
        }
    }
}

/// A metric the client stopped requesting after the API rejected it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogDecision {
    /// API version the decision applies to.
    pub version: ApiVersion,
    /// The scope (media category or account family).
    pub scope: CatalogScope,
    /// The dropped metric.
    pub metric: String,
    /// Meta's message that caused it.
    pub reason: String,
    /// When it was decided.
    pub decided_at: DateTime<Utc>,
}

struct MetricDef {
    name: &'static str,
    /// First version that serves the metric.
    since: ApiVersion,
    /// First version that no longer serves it.
    removed_in: Option<ApiVersion>,
}

const fn m(name: &'static str) -> MetricDef {
    MetricDef {
        name,
        since: ApiVersion::V21,
        removed_in: None,
    }
}

/// Metrics Meta removed; never requested on any supported version. Most were removed from
/// v22 (v21 for `video_views`) and from every version on 8 Jan / 21 Apr 2025.
pub const RETIRED_METRICS: &[&str] = &[
    "impressions",
    "plays",
    "clips_replays_count",
    "ig_reels_aggregated_all_plays_count",
    "video_views",
    "carousel_album_impressions",
    "carousel_album_reach",
    "carousel_album_engagement",
    "carousel_album_saved",
    "carousel_album_video_views",
    "taps_forward",
    "taps_back",
    "exits",
    "engagement",
    "audience_gender_age",
    "audience_locale",
    "audience_country",
    "audience_city",
    "email_contacts",
    "get_directions_clicks",
    "phone_call_clicks",
    "text_message_clicks",
];

const FEED: &[MetricDef] = &[
    m("reach"),
    m("views"),
    m("likes"),
    m("comments"),
    m("saved"),
    m("shares"),
    m("total_interactions"),
    m("follows"),
    m("profile_visits"),
    m("profile_activity"),
    m("reposts"),
];

const REELS: &[MetricDef] = &[
    m("reach"),
    m("views"),
    m("likes"),
    m("comments"),
    m("saved"),
    m("shares"),
    m("total_interactions"),
    m("ig_reels_avg_watch_time"),
    m("ig_reels_video_view_total_time"),
    m("reels_skip_rate"),
    m("reposts"),
];

const STORY: &[MetricDef] = &[
    m("reach"),
    m("views"),
    m("replies"),
    m("navigation"),
    m("follows"),
    m("profile_visits"),
    m("profile_activity"),
    m("shares"),
    m("total_interactions"),
    m("reposts"),
];

/// Daily time-series account metrics. `follower_count` is only served for the last 30 days.
const ACCOUNT_TIME_SERIES: &[MetricDef] = &[m("reach"), m("follower_count")];

/// Account metrics only served as `total_value`, read one day at a time.
const ACCOUNT_TOTAL_VALUE: &[MetricDef] = &[
    m("accounts_engaged"),
    m("comments"),
    m("follows_and_unfollows"),
    m("likes"),
    m("profile_links_taps"),
    m("replies"),
    m("reposts"),
    m("saves"),
    m("shares"),
    m("total_interactions"),
    m("views"),
    m("profile_views"),
    m("website_clicks"),
];

/// Media breakdowns: the categories, the metric and its breakdown dimension.
pub(crate) const MEDIA_BREAKDOWNS: &[(&[MediaCategory], &str, &str)] = &[
    (
        &[
            MediaCategory::Feed,
            MediaCategory::CarouselAlbum,
            MediaCategory::Story,
        ],
        "profile_activity",
        "action_type",
    ),
    (
        &[MediaCategory::Story],
        "navigation",
        "story_navigation_action_type",
    ),
];

/// Breakdown dimension → account metrics that accept it (with `metric_type=total_value`).
pub(crate) const ACCOUNT_BREAKDOWNS: &[(&str, &[&str])] = &[
    (
        "media_product_type",
        &[
            "reach",
            "comments",
            "likes",
            "saves",
            "shares",
            "total_interactions",
            "views",
        ],
    ),
    ("follow_type", &["reach", "follows_and_unfollows"]),
    ("contact_button_type", &["profile_links_taps"]),
    ("follower_type", &["views"]),
];

const DEMOGRAPHICS: &[MetricDef] = &[
    m("follower_demographics"),
    m("engaged_audience_demographics"),
    m("reached_audience_demographics"),
];

/// Breakdowns read for each demographic metric, each on its own.
pub const DEMOGRAPHIC_BREAKDOWNS: &[&str] = &["age", "gender", "country", "city", "age,gender"];

/// The account metric read as hourly online followers.
pub(crate) const ONLINE_FOLLOWERS: &str = "online_followers";

/// The time-series metric limited to the last 30 days.
pub(crate) const FOLLOWER_COUNT: &str = "follower_count";

fn table(scope: CatalogScope) -> &'static [MetricDef] {
    match scope {
        CatalogScope::Media(MediaCategory::Feed | MediaCategory::CarouselAlbum) => FEED,
        CatalogScope::Media(MediaCategory::Reels) => REELS,
        CatalogScope::Media(MediaCategory::Story) => STORY,
        CatalogScope::AccountTimeSeries => ACCOUNT_TIME_SERIES,
        CatalogScope::AccountTotalValue => ACCOUNT_TOTAL_VALUE,
        CatalogScope::Demographics => DEMOGRAPHICS,
    }
}

/// Dropped metrics: (version, scope) → metric → (reason, when).
type Dropped = BTreeMap<(ApiVersion, CatalogScope), BTreeMap<String, (String, DateTime<Utc>)>>;

/// Static catalog + learned decisions.
#[derive(Default)]
pub(crate) struct Catalog {
    dropped: Mutex<Dropped>,
}

impl Catalog {
    /// The metrics to request now for a scope on a version.
    pub(crate) fn metrics(&self, version: ApiVersion, scope: CatalogScope) -> Vec<&'static str> {
        let dropped = self.dropped.lock().unwrap_or_else(|e| e.into_inner());
        let gone = dropped.get(&(version, scope));
        table(scope)
            .iter()
            .filter(|d| d.since <= version && d.removed_in.is_none_or(|r| version < r))
            .filter(|d| !RETIRED_METRICS.contains(&d.name))
            .filter(|d| gone.is_none_or(|g| !g.contains_key(d.name)))
            .map(|d| d.name)
            .collect()
    }

    /// Whether `metric` was rejected for `scope` on `version`.
    pub(crate) fn is_dropped(
        &self,
        version: ApiVersion,
        scope: CatalogScope,
        metric: &str,
    ) -> bool {
        let dropped = self.dropped.lock().unwrap_or_else(|e| e.into_inner());
        dropped
            .get(&(version, scope))
            .is_some_and(|g| g.contains_key(metric))
    }

    /// Records that `metric` is not served for `scope` on `version`. Returns `false` when it
    /// was already known.
    pub(crate) fn drop_metric(
        &self,
        version: ApiVersion,
        scope: CatalogScope,
        metric: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> bool {
        let mut dropped = self.dropped.lock().unwrap_or_else(|e| e.into_inner());
        let entry = dropped.entry((version, scope)).or_default();
        if entry.contains_key(metric) {
            return false;
        }
        tracing::warn!(%version, %scope, metric, reason, "metric rejected by the Graph API; no longer requested");
        entry.insert(metric.to_owned(), (reason.to_owned(), now));
        true
    }

    pub(crate) fn decisions(&self) -> Vec<CatalogDecision> {
        let dropped = self.dropped.lock().unwrap_or_else(|e| e.into_inner());
        dropped
            .iter()
            .flat_map(|((version, scope), metrics)| {
                metrics
                    .iter()
                    .map(|(metric, (reason, at))| CatalogDecision {
                        version: *version,
                        scope: *scope,
                        metric: metric.clone(),
                        reason: reason.clone(),
                        decided_at: *at,
                    })
            })
            .collect()
    }
}

/// Which of `requested` a rejection message names. Understands
/// `metric[N] must be one of the following values: a, b, …` (the list is what is accepted) and
/// messages that name the metrics (`… the impressions metric is no longer supported`,
/// `The following metrics (views,profile_views) should be …`).
pub(crate) fn rejected_metrics(message: &str, requested: &[&str]) -> Vec<String> {
    let lower = message.to_ascii_lowercase();
    let mut out = BTreeSet::new();
    if let Some(pos) = lower.find("must be one of the following values") {
        let accepted: BTreeSet<&str> = lower[pos..]
            .split_once(':')
            .map(|(_, list)| list)
            .unwrap_or("")
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|s| !s.is_empty())
            .collect();
        if !accepted.is_empty() {
            out.extend(
                requested
                    .iter()
                    .filter(|r| !accepted.contains(**r))
                    .map(|r| (*r).to_owned()),
            );
        }
        if out.is_empty()
            && let Some(idx) = lower
                .find("metric[")
                .and_then(|i| lower[i + 7..].split(']').next())
                .and_then(|n| n.parse::<usize>().ok())
            && let Some(name) = requested.get(idx)
        {
            out.insert((*name).to_owned());
        }
        return out.into_iter().collect();
    }
    let words: BTreeSet<&str> = lower
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|s| !s.is_empty())
        .collect();
    out.extend(
        requested
            .iter()
            .filter(|r| words.contains(**r))
            .map(|r| (*r).to_owned()),
    );
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retired_metrics_are_never_requested() {
        let c = Catalog::default();
        for version in [ApiVersion::V21, ApiVersion::V22, ApiVersion::V26] {
            for cat in MediaCategory::ALL {
                let metrics = c.metrics(version, CatalogScope::Media(cat));
                assert!(!metrics.is_empty());
                for r in RETIRED_METRICS {
                    assert!(!metrics.contains(r), "{r} on {version} {cat}");
                }
            }
        }
        assert!(
            c.metrics(ApiVersion::V26, CatalogScope::Media(MediaCategory::Reels))
                .contains(&"ig_reels_avg_watch_time")
        );
        assert!(
            !c.metrics(ApiVersion::V26, CatalogScope::Media(MediaCategory::Feed))
                .contains(&"navigation")
        );
    }

    #[test]
    fn decisions_are_per_version_and_scope() {
        let c = Catalog::default();
        let reels = CatalogScope::Media(MediaCategory::Reels);
        assert!(c.drop_metric(ApiVersion::V26, reels, "views", "gone", Utc::now()));
        assert!(!c.drop_metric(ApiVersion::V26, reels, "views", "gone", Utc::now()));
        assert!(!c.metrics(ApiVersion::V26, reels).contains(&"views"));
        assert!(c.metrics(ApiVersion::V25, reels).contains(&"views"));
        assert!(
            c.metrics(ApiVersion::V26, CatalogScope::Media(MediaCategory::Feed))
                .contains(&"views")
        );
        assert_eq!(c.decisions().len(), 1);
    }

    #[test]
    fn rejected_metrics_are_found_in_messages() {
        let req = [
            "reach",
            "views",
            "profile_views",
            "ig_reels_video_view_total_time",
        ];
        assert_eq!(
            rejected_metrics(
                "(#100) The Media Insights API does not support the views metric for this media product type.",
                &req
            ),
            vec!["views"]
        );
        assert_eq!(
            rejected_metrics(
                "(#100) The following metrics (views,profile_views) should be specified with parameter metric_type=total_value",
                &req
            ),
            vec!["profile_views", "views"]
        );
        assert_eq!(
            rejected_metrics(
                "(#100) metric[1] must be one of the following values: reach, profile_views, ig_reels_video_view_total_time",
                &req
            ),
            vec!["views"]
        );
        assert!(rejected_metrics("(#100) Something else", &req).is_empty());
    }
}
