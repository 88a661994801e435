//! Which metrics exist, per API version, media product type, date (the simulated clock) and
//! login kind, and the request-level checks that reject a whole request.
//!
//! Dates come from the Instagram Platform changelog: `views` from 21 Jan 2025;
//! `impressions`, `plays`, `clips_replays_count`, `ig_reels_aggregated_all_plays_count`
//! gone on v22+ and on every version from 21 Apr 2025 (except `impressions` on v21 for
//! media created on or before 1 Jul 2024); `video_views` gone on v21+; `reposts`,
//! `reels_skip_rate`, `crossposted_views`, reels `facebook_views` from 3 Dec 2025; the
//! Facebook-Login-only `total_*` metrics and feed/story `facebook_views` from 22 Apr 2026;
//! story `link_clicks` (Facebook Login only) from 22 Jun 2026.

use chrono::NaiveDate;

use crate::error::ApiError;
use crate::version::ApiVersion;
use crate::world::{LoginKind, Surface};

/// What metric availability depends on besides the media.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MetricCtx {
    pub(crate) version: ApiVersion,
    pub(crate) now: i64,
    pub(crate) login: LoginKind,
    /// The real Graph API's edges: an unknown metric's error lists what the media product
    /// type accepts, not every media metric.
    pub(crate) edges: bool,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn ts_of(y: i32, m: u32, d: u32) -> i64 {
    date(y, m, d)
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp()
}

/// 21 Jan 2025: `views` released.
fn views_release() -> i64 {
    ts_of(2025, 1, 21)
}
/// 21 Apr 2025: legacy metrics removed on all versions.
pub(crate) fn legacy_cutoff() -> i64 {
    ts_of(2025, 4, 21)
}
/// Media created before 2 Jul 2024 keep `impressions` on v21.
pub(crate) fn impressions_media_cutoff() -> i64 {
    ts_of(2024, 7, 2)
}
fn dec_2025() -> i64 {
    ts_of(2025, 12, 3)
}
fn apr_2026() -> i64 {
    ts_of(2026, 4, 22)
}
/// 22 Apr 2026: Facebook-Login-only media count fields and `total_*` metrics.
pub(crate) fn apr_2026_ts() -> i64 {
    apr_2026()
}
fn jun_2026() -> i64 {
    ts_of(2026, 6, 22)
}

/// One current media metric.
#[derive(Debug)]
pub(crate) struct MediaMetric {
    pub(crate) name: &'static str,
    surfaces: &'static [Surface],
    since: fn() -> i64,
    fb_only: bool,
    pub(crate) needs_crosspost: bool,
    pub(crate) breakdown: Option<&'static str>,
    pub(crate) title: &'static str,
    pub(crate) description: &'static str,
}

fn always() -> i64 {
    i64::MIN
}

use Surface::{Feed as F, Reels as R, Story as S};

const MEDIA_METRICS: &[MediaMetric] = &[
    MediaMetric {
        name: "comments",
        surfaces: &[F, R],
        since: always,
        fb_only: false,
        needs_crosspost: false,
        breakdown: None,
        title: "Comments",
        description: "The number of comments on your post.",
    },
    MediaMetric {
        name: "crossposted_views",
        surfaces: &[R],
        since: dec_2025,
        fb_only: false,
        needs_crosspost: true,
        breakdown: None,
        title: "Crossposted views",
        description: "Views of the reel on Instagram and Facebook.",
    },
    MediaMetric {
        name: "facebook_views",
        surfaces: &[F, R, S],
        since: dec_2025,
        fb_only: false,
        needs_crosspost: true,
        breakdown: None,
        title: "Facebook views",
        description: "Views of the media on Facebook.",
    },
    MediaMetric {
        name: "follows",
        surfaces: &[F, S],
        since: always,
        fb_only: false,
        needs_crosspost: false,
        breakdown: None,
        title: "Follows",
        description: "The number of accounts that started following you.",
    },
    MediaMetric {
        name: "ig_reels_avg_watch_time",
        surfaces: &[R],
        since: always,
        fb_only: false,
        needs_crosspost: false,
        breakdown: None,
        title: "Average watch time",
        description: "The average time the reel was played, in milliseconds.",
    },
    MediaMetric {
        name: "ig_reels_video_view_total_time",
        surfaces: &[R],
        since: always,
        fb_only: false,
        needs_crosspost: false,
        breakdown: None,
        title: "Total watch time",
        description: "The total time the reel was played, in milliseconds.",
    },
    MediaMetric {
        name: "likes",
        surfaces: &[F, R],
        since: always,
        fb_only: false,
        needs_crosspost: false,
        breakdown: None,
        title: "Likes",
        description: "The number of likes on your post.",
    },
    MediaMetric {
        name: "link_clicks",
        surfaces: &[S],
        since: jun_2026,
        fb_only: true,
        needs_crosspost: false,
        breakdown: None,
        title: "Link clicks",
        description: "The number of taps on the story's link sticker.",
    },
    MediaMetric {
        name: "navigation",
        surfaces: &[S],
        since: always,
        fb_only: false,
        needs_crosspost: false,
        breakdown: Some("story_navigation_action_type"),
        title: "Navigation",
        description: "The total number of actions taken from your story.",
    },
    MediaMetric {
        name: "profile_activity",
        surfaces: &[F, S],
        since: always,
        fb_only: false,
        needs_crosspost: false,
        breakdown: Some("action_type"),
        title: "Profile activity",
        description: "The number of actions people take on your profile after engaging with your post.",
    },
    MediaMetric {
        name: "profile_visits",
        surfaces: &[F, S],
        since: always,
        fb_only: false,
        needs_crosspost: false,
        breakdown: None,
        title: "Profile visits",
        description: "The number of times your profile was visited.",
    },
    MediaMetric {
        name: "reach",
        surfaces: &[F, R, S],
        since: always,
        fb_only: false,
        needs_crosspost: false,
        breakdown: None,
        title: "Accounts reached",
        description: "The number of unique accounts that have seen your media at least once. This metric is estimated.",
    },
    MediaMetric {
        name: "reels_skip_rate",
        surfaces: &[R],
        since: dec_2025,
        fb_only: false,
        needs_crosspost: false,
        breakdown: None,
        title: "Skip rate",
        description: "The percentage of views in which the reel was skipped within the first 3 seconds.",
    },
    MediaMetric {
        name: "replies",
        surfaces: &[S],
        since: always,
        fb_only: false,
        needs_crosspost: false,
        breakdown: None,
        title: "Replies",
        description: "The number of replies to your story.",
    },
    MediaMetric {
        name: "reposts",
        surfaces: &[F, R, S],
        since: dec_2025,
        fb_only: false,
        needs_crosspost: false,
        breakdown: None,
        title: "Reposts",
        description: "The number of times your media was reposted.",
    },
    MediaMetric {
        name: "saved",
        surfaces: &[F, R],
        since: always,
        fb_only: false,
        needs_crosspost: false,
        breakdown: None,
        title: "Saved",
        description: "The number of saves of your post.",
    },
    MediaMetric {
        name: "shares",
        surfaces: &[F, R, S],
        since: always,
        fb_only: false,
        needs_crosspost: false,
        breakdown: None,
        title: "Shares",
        description: "The number of shares of your media.",
    },
    MediaMetric {
        name: "total_comments",
        surfaces: &[F, R],
        since: apr_2026,
        fb_only: true,
        needs_crosspost: false,
        breakdown: None,
        title: "Total comments",
        description: "Comments including those on promoted and ad versions of the media.",
    },
    MediaMetric {
        name: "total_interactions",
        surfaces: &[F, R, S],
        since: always,
        fb_only: false,
        needs_crosspost: false,
        breakdown: None,
        title: "Interactions",
        description: "Likes, saves, comments and shares, minus un-likes, un-saves and deleted comments.",
    },
    MediaMetric {
        name: "total_likes",
        surfaces: &[F, R],
        since: apr_2026,
        fb_only: true,
        needs_crosspost: false,
        breakdown: None,
        title: "Total likes",
        description: "Likes including those on promoted and ad versions of the media.",
    },
    MediaMetric {
        name: "total_views",
        surfaces: &[F, R, S],
        since: apr_2026,
        fb_only: true,
        needs_crosspost: false,
        breakdown: None,
        title: "Total views",
        description: "Views including those of promoted and ad versions of the media.",
    },
    MediaMetric {
        name: "views",
        surfaces: &[F, R, S],
        since: views_release,
        fb_only: false,
        needs_crosspost: false,
        breakdown: None,
        title: "Views",
        description: "The number of times your media was played or displayed.",
    },
];

/// Metrics removed in 2025; served only on v21 before 21 Apr 2025 (and `impressions` on v21
/// afterwards for media created on or before 1 Jul 2024).
const LEGACY_MEDIA: &[(&str, &[Surface], &str)] = &[
    ("impressions", &[F, S], "Impressions"),
    ("plays", &[R], "Plays"),
    ("clips_replays_count", &[R], "Replays"),
    (
        "ig_reels_aggregated_all_plays_count",
        &[R],
        "Plays on Instagram and Facebook",
    ),
];

/// Where a metric is available: `facebook_views` reached feed and stories later than reels.
fn available_on(m: &MediaMetric, surface: Surface, now: i64) -> bool {
    if !m.surfaces.contains(&surface) {
        return false;
    }
    if m.name == "facebook_views" && surface != Surface::Reels {
        return now >= apr_2026();
    }
    true
}

fn media_metric(name: &str) -> Option<&'static MediaMetric> {
    MEDIA_METRICS.iter().find(|m| m.name == name)
}

/// Title and description of a media metric (current or legacy).
pub(crate) fn media_metric_text(name: &str) -> (&'static str, &'static str) {
    if let Some(m) = media_metric(name) {
        return (m.title, m.description);
    }
    match LEGACY_MEDIA.iter().find(|(n, _, _)| *n == name) {
        Some((_, _, t)) => (t, "Deprecated metric."),
        None => ("", ""),
    }
}

fn current_exists(m: &MediaMetric, ctx: &MetricCtx) -> bool {
    ctx.now >= (m.since)() && !(m.fb_only && ctx.login == LoginKind::Instagram)
}

fn legacy_open(ctx: &MetricCtx) -> bool {
    ctx.version == ApiVersion::V21 && ctx.now < legacy_cutoff()
}

/// Names the API accepts at this version, date and login (for the "must be one of" error).
fn accepted_media(ctx: &MetricCtx) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = MEDIA_METRICS
        .iter()
        .filter(|m| current_exists(m, ctx))
        .map(|m| m.name)
        .collect();
    if ctx.version == ApiVersion::V21 {
        names.push("impressions");
        if legacy_open(ctx) {
            names.extend([
                "plays",
                "clips_replays_count",
                "ig_reels_aggregated_all_plays_count",
            ]);
        }
    }
    names.sort_unstable();
    names
}

/// Names the API accepts for one media product type at this version, date and login.
fn accepted_media_for(ctx: &MetricCtx, surface: Surface) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = MEDIA_METRICS
        .iter()
        .filter(|m| current_exists(m, ctx) && available_on(m, surface, ctx.now))
        .map(|m| m.name)
        .collect();
    if ctx.version == ApiVersion::V21 {
        for (name, surfaces, _) in LEGACY_MEDIA {
            if surfaces.contains(&surface) && (*name == "impressions" || legacy_open(ctx)) {
                names.push(name);
            }
        }
    }
    names.sort_unstable();
    names
}

/// A media object a metric list is checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MediaTarget {
    pub(crate) surface: Surface,
    pub(crate) created: i64,
}

/// Request-level check of a media metric list against every media of the request; returns
/// the canonical names. Any unknown, removed or not-for-this-product-type metric fails the
/// whole request.
pub(crate) fn check_media_metrics(
    requested: &str,
    ctx: &MetricCtx,
    targets: &[MediaTarget],
) -> Result<Vec<&'static str>, ApiError> {
    let names = split_list(requested);
    if names.is_empty() {
        return Err(ApiError::param("The parameter metric is required"));
    }
    let mut out: Vec<&'static str> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let name = name.as_str();
        if name == "video_views" {
            return Err(ApiError::video_views_removed());
        }
        if let Some((legacy, surfaces, _)) = LEGACY_MEDIA.iter().find(|(n, _, _)| *n == name) {
            if ctx.version >= ApiVersion::V22 {
                return Err(ApiError::media_metric_removed_v22(name));
            }
            if !legacy_open(ctx) {
                if *legacy != "impressions" {
                    return Err(ApiError::media_metric_retired(name));
                }
                if targets
                    .iter()
                    .any(|t| t.created >= impressions_media_cutoff())
                {
                    return Err(ApiError::impressions_on_recent_media());
                }
            }
            if targets.iter().any(|t| !surfaces.contains(&t.surface)) {
                return Err(ApiError::metric_not_for_product_type(name));
            }
            push_unique(&mut out, legacy);
            continue;
        }
        let Some(m) = media_metric(name).filter(|m| current_exists(m, ctx)) else {
            let accepted = match targets.first() {
                Some(t) if ctx.edges && targets.iter().all(|x| x.surface == t.surface) => {
                    accepted_media_for(ctx, t.surface)
                }
                _ => accepted_media(ctx),
            };
            return Err(ApiError::metric_must_be_one_of(i, &accepted));
        };
        if targets.iter().any(|t| !available_on(m, t.surface, ctx.now)) {
            return Err(ApiError::metric_not_for_product_type(name));
        }
        push_unique(&mut out, m.name);
    }
    Ok(out)
}

/// Checks a media `breakdown` parameter against the metrics.
pub(crate) fn check_media_breakdown(
    breakdown: Option<&str>,
    metrics: &[&str],
) -> Result<Option<&'static str>, ApiError> {
    let Some(b) = breakdown.map(str::trim).filter(|b| !b.is_empty()) else {
        return Ok(None);
    };
    let dim = match b {
        "action_type" => "action_type",
        "story_navigation_action_type" => "story_navigation_action_type",
        _ => {
            return Err(ApiError::param(
                "breakdown[0] must be one of the following values: action_type, story_navigation_action_type",
            ));
        }
    };
    if metrics
        .iter()
        .any(|m| media_metric(m).and_then(|d| d.breakdown) != Some(dim))
    {
        return Err(ApiError::unknown_error());
    }
    Ok(Some(dim))
}

/// Every media metric with a value for a media of this kind: what a correct sync stores.
pub(crate) fn valid_media_metrics(
    ctx: &MetricCtx,
    target: MediaTarget,
    crossposted: bool,
) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = MEDIA_METRICS
        .iter()
        .filter(|m| current_exists(m, ctx) && available_on(m, target.surface, ctx.now))
        .filter(|m| !m.needs_crosspost || crossposted)
        .map(|m| m.name)
        .collect();
    if ctx.version == ApiVersion::V21 {
        for (name, surfaces, _) in LEGACY_MEDIA {
            let open = legacy_open(ctx)
                || (*name == "impressions" && target.created < impressions_media_cutoff());
            if open && surfaces.contains(&target.surface) {
                out.push(name);
            }
        }
    }
    out.sort_unstable();
    out
}

// ---- account (IG user) insights ----------------------------------------------------------

/// One account metric.
#[derive(Debug)]
pub(crate) struct UserMetric {
    pub(crate) name: &'static str,
    pub(crate) periods: &'static [&'static str],
    pub(crate) time_series: bool,
    pub(crate) total_value: bool,
    pub(crate) breakdowns: &'static [&'static str],
    since: fn() -> i64,
    pub(crate) demographic: bool,
    pub(crate) title: &'static str,
    pub(crate) description: &'static str,
}

const DAY_P: &[&str] = &["day"];
const LIFETIME_P: &[&str] = &["lifetime"];
const TYPE_B: &[&str] = &["media_product_type"];
const DEMO_B: &[&str] = &["age", "city", "country", "gender"];

const USER_METRICS: &[UserMetric] = &[
    UserMetric {
        name: "reach",
        periods: &["day", "week", "days_28"],
        time_series: true,
        total_value: true,
        breakdowns: &["media_product_type", "follow_type"],
        since: always,
        demographic: false,
        title: "Accounts reached",
        description: "The number of unique accounts that have seen your content, at least once, including in ads. This metric is estimated.",
    },
    UserMetric {
        name: "follower_count",
        periods: DAY_P,
        time_series: true,
        total_value: true,
        breakdowns: &[],
        since: always,
        demographic: false,
        title: "Follower count",
        description: "Total number of new followers each day within the specified range.",
    },
    UserMetric {
        name: "online_followers",
        periods: LIFETIME_P,
        time_series: true,
        total_value: false,
        breakdowns: &[],
        since: always,
        demographic: false,
        title: "Online followers",
        description: "Total number of your followers who were online during the specified range, per hour.",
    },
    UserMetric {
        name: "website_clicks",
        periods: DAY_P,
        time_series: false,
        total_value: true,
        breakdowns: &[],
        since: always,
        demographic: false,
        title: "Website taps",
        description: "The number of times that the link in your account's bio was tapped.",
    },
    UserMetric {
        name: "profile_views",
        periods: DAY_P,
        time_series: false,
        total_value: true,
        breakdowns: &[],
        since: always,
        demographic: false,
        title: "Profile visits",
        description: "The number of times your profile was visited.",
    },
    UserMetric {
        name: "accounts_engaged",
        periods: DAY_P,
        time_series: false,
        total_value: true,
        breakdowns: &[],
        since: always,
        demographic: false,
        title: "Accounts engaged",
        description: "The number of accounts that have interacted with your content. This metric is estimated.",
    },
    UserMetric {
        name: "total_interactions",
        periods: DAY_P,
        time_series: false,
        total_value: true,
        breakdowns: TYPE_B,
        since: always,
        demographic: false,
        title: "Content interactions",
        description: "The total number of post interactions, story interactions, reels interactions, video interactions and live video interactions.",
    },
    UserMetric {
        name: "likes",
        periods: DAY_P,
        time_series: false,
        total_value: true,
        breakdowns: TYPE_B,
        since: always,
        demographic: false,
        title: "Likes",
        description: "The number of likes on your posts, reels and videos.",
    },
    UserMetric {
        name: "comments",
        periods: DAY_P,
        time_series: false,
        total_value: true,
        breakdowns: TYPE_B,
        since: always,
        demographic: false,
        title: "Comments",
        description: "The number of comments on your posts, reels, videos and live videos.",
    },
    UserMetric {
        name: "shares",
        periods: DAY_P,
        time_series: false,
        total_value: true,
        breakdowns: TYPE_B,
        since: always,
        demographic: false,
        title: "Shares",
        description: "The number of shares of your posts, stories, reels, videos and live videos.",
    },
    UserMetric {
        name: "saves",
        periods: DAY_P,
        time_series: false,
        total_value: true,
        breakdowns: TYPE_B,
        since: always,
        demographic: false,
        title: "Saves",
        description: "The number of saves of your posts, reels and videos.",
    },
    UserMetric {
        name: "replies",
        periods: DAY_P,
        time_series: false,
        total_value: true,
        breakdowns: &[],
        since: always,
        demographic: false,
        title: "Replies",
        description: "The number of replies you received from your story.",
    },
    UserMetric {
        name: "follows_and_unfollows",
        periods: DAY_P,
        time_series: false,
        total_value: true,
        breakdowns: &["follow_type"],
        since: always,
        demographic: false,
        title: "Follows and unfollows",
        description: "The number of accounts that followed you and the number of accounts that unfollowed you or left Instagram.",
    },
    UserMetric {
        name: "profile_links_taps",
        periods: DAY_P,
        time_series: false,
        total_value: true,
        breakdowns: &["contact_button_type"],
        since: always,
        demographic: false,
        title: "Profile links taps",
        description: "The number of taps on your business address, call button, email button and text button.",
    },
    UserMetric {
        name: "views",
        periods: DAY_P,
        time_series: false,
        total_value: true,
        breakdowns: &["follower_type", "media_product_type"],
        since: views_release,
        demographic: false,
        title: "Views",
        description: "The number of times your content was played or displayed.",
    },
    UserMetric {
        name: "reposts",
        periods: DAY_P,
        time_series: false,
        total_value: true,
        breakdowns: &[],
        since: dec_2025,
        demographic: false,
        title: "Reposts",
        description: "The number of times your content was reposted.",
    },
    UserMetric {
        name: "engaged_audience_demographics",
        periods: LIFETIME_P,
        time_series: false,
        total_value: true,
        breakdowns: DEMO_B,
        since: always,
        demographic: true,
        title: "Engaged audience demographics",
        description: "The demographic characteristics of the engaged audience.",
    },
    UserMetric {
        name: "reached_audience_demographics",
        periods: LIFETIME_P,
        time_series: false,
        total_value: true,
        breakdowns: DEMO_B,
        since: always,
        demographic: true,
        title: "Reached audience demographics",
        description: "The demographic characteristics of the reached audience.",
    },
    UserMetric {
        name: "follower_demographics",
        periods: LIFETIME_P,
        time_series: false,
        total_value: true,
        breakdowns: DEMO_B,
        since: always,
        demographic: true,
        title: "Follower demographics",
        description: "The demographic characteristics of followers.",
    },
];

const IMPRESSIONS_USER: UserMetric = UserMetric {
    name: "impressions",
    periods: DAY_P,
    time_series: true,
    total_value: true,
    breakdowns: &[],
    since: always,
    demographic: false,
    title: "Impressions",
    description: "Total number of times your content was seen.",
};

/// Every valid `period` value.
pub(crate) const PERIODS: &[&str] = &[
    "day",
    "week",
    "days_28",
    "month",
    "lifetime",
    "total_over_range",
];

/// Looks up an account metric available at this version and date.
pub(crate) fn user_metric(
    name: &str,
    ctx: &MetricCtx,
) -> Result<&'static UserMetric, Option<ApiError>> {
    if name == "impressions" {
        if legacy_open(ctx) {
            return Ok(&IMPRESSIONS_USER);
        }
        return Err(Some(ApiError::user_metric_removed(name)));
    }
    USER_METRICS
        .iter()
        .find(|m| m.name == name && ctx.now >= (m.since)())
        .ok_or(None)
}

/// Names accepted at account level (for the "must be one of" error).
pub(crate) fn accepted_user(ctx: &MetricCtx) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = USER_METRICS
        .iter()
        .filter(|m| ctx.now >= (m.since)())
        .map(|m| m.name)
        .collect();
    if legacy_open(ctx) {
        v.insert(0, "impressions");
    }
    v
}

/// Account metrics a correct sync stores per day: (time-series metrics, total_value metrics).
pub(crate) fn daily_user_metrics(ctx: &MetricCtx) -> (Vec<&'static str>, Vec<&'static str>) {
    let ts = USER_METRICS
        .iter()
        .filter(|m| m.time_series && m.periods.contains(&"day") && ctx.now >= (m.since)())
        .map(|m| m.name)
        .collect();
    let tv = USER_METRICS
        .iter()
        .filter(|m| !m.time_series && !m.demographic && ctx.now >= (m.since)())
        .map(|m| m.name)
        .collect();
    (ts, tv)
}

/// Splits a comma list, trimming and dropping empty items.
pub(crate) fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_owned())
        .filter(|x| !x.is_empty())
        .collect()
}

fn push_unique(v: &mut Vec<&'static str>, name: &'static str) {
    if !v.contains(&name) {
        v.push(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(v: ApiVersion, y: i32, m: u32, d: u32, login: LoginKind) -> MetricCtx {
        MetricCtx {
            version: v,
            now: ts_of(y, m, d),
            login,
            edges: false,
        }
    }

    const FEED_OLD: MediaTarget = MediaTarget {
        surface: Surface::Feed,
        created: 1_700_000_000,
    };

    #[test]
    fn impressions_follow_version_and_date_rules() {
        let early = ctx(ApiVersion::V21, 2025, 3, 1, LoginKind::Facebook);
        assert!(check_media_metrics("impressions,reach", &early, &[FEED_OLD]).is_ok());
        let v22 = ctx(ApiVersion::V22, 2025, 3, 1, LoginKind::Facebook);
        let e = check_media_metrics("impressions", &v22, &[FEED_OLD]).unwrap_err();
        assert!(e.message.starts_with("(#100) Starting from version 22"));
        let late = ctx(ApiVersion::V21, 2025, 6, 1, LoginKind::Facebook);
        assert!(check_media_metrics("impressions", &late, &[FEED_OLD]).is_ok());
        let recent = MediaTarget {
            surface: Surface::Feed,
            created: ts_of(2024, 9, 1),
        };
        assert!(check_media_metrics("impressions", &late, &[recent]).is_err());
        assert!(
            check_media_metrics(
                "plays",
                &late,
                &[MediaTarget {
                    surface: Surface::Reels,
                    created: 0
                }]
            )
            .is_err()
        );
    }

    #[test]
    fn unknown_and_new_metrics() {
        let c = ctx(ApiVersion::V22, 2025, 3, 1, LoginKind::Facebook);
        let e = check_media_metrics("reach,bogus", &c, &[FEED_OLD]).unwrap_err();
        assert!(
            e.message
                .starts_with("(#100) metric[1] must be one of the following values: comments,")
        );
        assert!(check_media_metrics("reposts", &c, &[FEED_OLD]).is_err());
        let later = ctx(ApiVersion::V22, 2026, 1, 1, LoginKind::Facebook);
        assert!(check_media_metrics("reposts", &later, &[FEED_OLD]).is_ok());
        let before_views = ctx(ApiVersion::V21, 2025, 1, 1, LoginKind::Facebook);
        assert!(check_media_metrics("views", &before_views, &[FEED_OLD]).is_err());
        let ig = ctx(ApiVersion::V25, 2026, 6, 1, LoginKind::Instagram);
        let fb = ctx(ApiVersion::V25, 2026, 6, 1, LoginKind::Facebook);
        assert!(check_media_metrics("total_likes", &ig, &[FEED_OLD]).is_err());
        assert!(check_media_metrics("total_likes", &fb, &[FEED_OLD]).is_ok());
    }

    #[test]
    fn with_edges_an_unknown_metric_lists_what_the_product_type_accepts() {
        let mut c = ctx(ApiVersion::V25, 2026, 9, 1, LoginKind::Instagram);
        c.edges = true;
        let reel = MediaTarget {
            surface: Surface::Reels,
            created: 0,
        };
        let e = check_media_metrics("bogus", &c, &[reel]).unwrap_err();
        assert!(
            e.message.contains("ig_reels_avg_watch_time"),
            "{}",
            e.message
        );
        assert!(!e.message.contains("profile_visits"), "{}", e.message);
        assert!(!e.message.contains("total_likes"), "{}", e.message);
        let story = MediaTarget {
            surface: Surface::Story,
            created: 0,
        };
        let e = check_media_metrics("bogus", &c, &[story]).unwrap_err();
        assert!(e.message.contains("navigation"), "{}", e.message);
        assert!(!e.message.contains("saved"), "{}", e.message);
        c.edges = false;
        let e = check_media_metrics("bogus", &c, &[story]).unwrap_err();
        assert!(e.message.contains("saved"), "{}", e.message);
    }

    #[test]
    fn product_type_rules() {
        let c = ctx(ApiVersion::V24, 2026, 1, 1, LoginKind::Facebook);
        let reel = MediaTarget {
            surface: Surface::Reels,
            created: 0,
        };
        let e = check_media_metrics("reach,profile_visits", &c, &[reel]).unwrap_err();
        assert_eq!(
            e.message,
            "(#100) The Media Insights API does not support the profile_visits metric for this media product type."
        );
        assert!(check_media_metrics("ig_reels_avg_watch_time", &c, &[FEED_OLD]).is_err());
        assert!(check_media_metrics("ig_reels_avg_watch_time", &c, &[reel]).is_ok());
        let e = check_media_metrics("video_views", &c, &[reel]).unwrap_err();
        assert!(e.message.contains("video_views"));
    }
}
