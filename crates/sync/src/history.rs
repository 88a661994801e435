//! The glue from stored rows to the analytics inputs: [`load_account_history`] reads an
//! account's posts (latest values for all, snapshot history only for the posts a report or
//! the trending baseline needs), follower samples, daily account metrics, followers online
//! and the latest demographics, and maps Meta's metric names to analytics' domain names.
//! [`load_alert_history`] reads only what the alert detectors look at, after every sync.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use analytics::{
    AccountHistory, AccountInfo, AccountMetric, Audience, DailyMetricValue, DemographicDimension,
    FollowerSample, OnlineFollowersSample, Post, PostMetrics, PostSnapshot, TrendMetric,
};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;
use store::{Account, AccountId, Breakdown, InsightSnapshot, PostWindow, ProductType, Store};

use crate::error::{Result, SyncError};

/// The period a history is loaded for (a report's period with the previous one it is
/// compared with, or the recent past for alerts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryWindow {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Posts published from here to `to` get their snapshot history, for the trending
    /// assessment (with the baseline of earlier posts); older posts come with their latest
    /// values only. Usually the start of the reported period.
    pub trending_from: DateTime<Utc>,
}

impl HistoryWindow {
    /// The `days` before `now`.
    pub fn trailing(now: DateTime<Utc>, days: i64) -> HistoryWindow {
        let from = now - Duration::days(days);
        HistoryWindow {
            from,
            to: now,
            trending_from: from,
        }
    }
}

/// Earlier posts of each type whose snapshots are loaded for the trending baseline.
pub const BASELINE_POSTS: usize = 100;

/// Picks one field of a post's metrics.
type PostField = fn(&mut PostMetrics) -> &mut Option<i64>;

/// The one table of the media metrics analytics use: Meta's name and the post metric it
/// fills. Snapshots are loaded for these names only; `saved` is the older name of `saves`.
const POST_METRICS: &[(&str, PostField)] = &[
    ("likes", |m| &mut m.likes),
    ("comments", |m| &mut m.comments),
    ("saved", |m| &mut m.saves),
    ("saves", |m| &mut m.saves),
    ("shares", |m| &mut m.shares),
    ("reach", |m| &mut m.reach),
    ("views", |m| &mut m.views),
    ("total_interactions", |m| &mut m.total_interactions),
    ("follows", |m| &mut m.follows),
    ("profile_visits", |m| &mut m.profile_visits),
    ("ig_reels_avg_watch_time", |m| {
        &mut m.reels_avg_watch_time_ms
    }),
];

/// Loads what the analytics need about one account for `window`.
///
/// Every post is included with its latest metrics; snapshot history is loaded only for the
/// posts published in the window and, per media product type, the [`BASELINE_POSTS`] posts
/// published before it. Daily metrics cover the window (plus one day each side for
/// time-zone edges), follower samples the window and the 30 days before it.
pub async fn load_account_history(
    store: &dyn Store,
    account_id: AccountId,
    window: HistoryWindow,
) -> Result<AccountHistory> {
    load(
        store,
        Subject::Stored(account_id),
        window,
        Parts::Everything,
    )
    .await
}

/// The account a load is about: read with the rest, or given by the caller.
#[derive(Clone, Copy)]
enum Subject<'a> {
    Stored(AccountId),
    Known(&'a Account),
}

/// Loads what the alert detectors (`analytics::detect_alerts`, `analytics::account_anomalies`)
/// read about one account for `window`: of the posts, only those whose snapshots
/// [`load_account_history`] loads (the window's and their baselines; the detectors look at
/// no other), its stories and follower samples, and of the daily metrics only the series the
/// anomaly detector checks (`analytics::CHECKED_METRICS`); no followers online, no
/// demographics. It runs after every sync, so it reads a fraction of the rows (a day of
/// followers online alone is 24), and at most the window's posts and 100 of each type
/// before them, for an account of 5,000 posts as for one of 300.
///
/// With [`DailySeries::Unchanged`] the daily series are not read at all (the history has
/// none): the sync read no account insights, so the anomaly detector would check what it
/// checked after the sync that last read them.
///
/// The posts' snapshots carry only the metrics `trend` is computed from (for engagement:
/// likes, comments, saves and shares): the trending detector's curves are built from that
/// metric alone, and a snapshot without it is no point of a curve.
///
/// The account is the caller's (a sync has just read it): its time zone and follower count
/// are taken as they are, not read again.
pub async fn load_alert_history(
    store: &dyn Store,
    account: &Account,
    window: HistoryWindow,
    days: DailySeries,
    trend: TrendMetric,
) -> Result<AccountHistory> {
    load(
        store,
        Subject::Known(account),
        window,
        Parts::Alerts(days, trend),
    )
    .await
}

/// The stored post metrics `trend` is computed from: those whose value alone gives it a
/// value other than it has without them.
fn snapshot_metrics_of(trend: TrendMetric) -> Vec<String> {
    let without = trend.value(&PostMetrics::default());
    POST_METRICS
        .iter()
        .filter(|(_, field)| {
            let mut metrics = PostMetrics::default();
            *field(&mut metrics) = Some(1);
            trend.value(&metrics) != without
        })
        .map(|(name, _)| name.to_string())
        .collect()
}

/// Whether a sync read the account's daily series (account insights), and so whether the
/// alerts after it load and check them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DailySeries {
    /// Read by this sync: loaded and checked.
    Read,
    /// Left alone by this sync (a light sync within the account insights' rest).
    Unchanged,
}

/// Which parts of an account's history a load reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parts {
    Everything,
    Alerts(DailySeries, TrendMetric),
}

async fn load(
    store: &dyn Store,
    subject: Subject<'_>,
    window: HistoryWindow,
    parts: Parts,
) -> Result<AccountHistory> {
    let account_id = match subject {
        Subject::Stored(id) => id,
        Subject::Known(account) => account.id,
    };
    if window.to < window.from {
        return Err(SyncError::Invalid(
            "the history window ends before it starts".to_string(),
        ));
    }
    // Independent reads run concurrently; the database picks the posts whose snapshots are
    // needed, so their history is read alongside the posts themselves.
    let first_day = window.from.date_naive() - Duration::days(1);
    let last_day = window.to.date_naive() + Duration::days(1);
    let metrics: Vec<String> = match parts {
        Parts::Everything => POST_METRICS.iter().map(|(m, _)| m.to_string()).collect(),
        Parts::Alerts(_, trend) => snapshot_metrics_of(trend),
    };
    let snapshot_window = PostWindow {
        account_id,
        from: window.trending_from,
        to: window.to,
        baseline: BASELINE_POSTS,
    };
    // Every stored metric (an empty list), or the names behind the checked series.
    let day_metrics: Vec<String> = match parts {
        Parts::Everything => Vec::new(),
        Parts::Alerts(..) => ACCOUNT_METRICS
            .iter()
            .filter(|(_, m)| analytics::CHECKED_METRICS.contains(m))
            .map(|(name, _)| name.to_string())
            .chain(
                analytics::CHECKED_METRICS
                    .iter()
                    .any(|m| matches!(m, AccountMetric::Follows | AccountMetric::Unfollows))
                    .then(|| FOLLOWS_AND_UNFOLLOWS.to_string()),
            )
            .collect(),
    };
    let (account, media, post_rows, stories, samples, days, demographics) = tokio::join!(
        async {
            match subject {
                Subject::Stored(id) => store.account_get(id).await.map(|a| a.map(Cow::Owned)),
                Subject::Known(account) => Ok(Some(Cow::Borrowed(account))),
            }
        },
        async {
            match parts {
                Parts::Everything => store.media_summaries(account_id).await,
                // The detectors compare the window's posts with their baselines only.
                Parts::Alerts(..) => store.media_summaries_window(snapshot_window).await,
            }
        },
        store.media_insight_history_window(snapshot_window, &metrics),
        async {
            let stories = store.story_list(account_id, window.from, window.to).await?;
            let ids: Vec<String> = stories
                .iter()
                .map(|s| s.record.ig_media_id.clone())
                .collect();
            let rows = if ids.is_empty() {
                Vec::new()
            } else {
                store.story_insight_history(&ids).await?
            };
            Ok::<_, store::StoreError>((stories, rows))
        },
        store.profile_snapshots(account_id, window.from - Duration::days(30), window.to),
        async {
            match parts {
                Parts::Alerts(DailySeries::Unchanged, _) => Ok(Vec::new()),
                _ => {
                    store
                        .account_insight_days(account_id, &day_metrics, first_day, last_day)
                        .await
                }
            }
        },
        async {
            match parts {
                Parts::Everything => store.demographics_latest(account_id).await,
                Parts::Alerts(..) => Ok(None),
            }
        },
    );
    let account = account?.ok_or(SyncError::UnknownAccount(account_id))?;
    let (media, post_rows, (stories, story_rows), samples, days, demographics) =
        (media?, post_rows?, stories?, samples?, days?, demographics?);
    let time_zone = account.time_zone()?;

    let mut posts: Vec<Post> = Vec::with_capacity(media.len());
    for m in media {
        let Some(product_type) = analytics_product(m.product_type) else {
            continue;
        };
        let mut metrics = post_metrics(&m.latest);
        if metrics.likes.is_none() {
            metrics.likes = m.like_count;
        }
        if metrics.comments.is_none() {
            metrics.comments = m.comments_count;
        }
        posts.push(Post {
            ig_media_id: m.ig_media_id,
            product_type,
            media_type: analytics_media(m.media_type),
            published_at: m.published_at,
            caption: m.caption,
            permalink: m.permalink,
            deleted: m.deleted,
            metrics,
            snapshots: Vec::new(),
        });
    }
    attach_snapshots(&mut posts, post_rows);

    // Stories published in the window, with their snapshots.
    let first = posts.len();
    for s in &stories {
        posts.push(Post {
            ig_media_id: s.record.ig_media_id.clone(),
            product_type: analytics::MediaProductType::Story,
            media_type: analytics_media(s.record.media_type),
            published_at: s.record.published_at,
            caption: s.record.caption.clone(),
            permalink: s.record.permalink.clone(),
            deleted: false,
            metrics: post_metrics(&s.latest),
            snapshots: Vec::new(),
        });
    }
    attach_snapshots(&mut posts[first..], story_rows);

    let follower_samples: Vec<FollowerSample> = samples
        .into_iter()
        .map(|s| FollowerSample {
            captured_at: s.captured_at,
            followers: s.followers_count,
            follows: s.follows_count,
            media_count: s.media_count,
        })
        .collect();

    let mut daily_metrics = Vec::new();
    let mut online_followers = Vec::new();
    for d in days {
        if d.metric == "online_followers" {
            if let Some(Ok(hour)) = d.breakdown.as_ref().map(|b| b.key.parse::<i64>())
                && (0..24).contains(&hour)
            {
                online_followers.push(OnlineFollowersSample {
                    hour_start: pacific_midnight(d.day) + Duration::hours(hour),
                    followers_online: d.value.round() as i64,
                });
            }
            continue;
        }
        if let Some(metric) = account_metric(&d.metric, d.breakdown.as_ref()) {
            daily_metrics.push(DailyMetricValue {
                day: d.day,
                metric,
                value: d.value.round() as i64,
            });
        }
    }

    let demographics = match demographics {
        None => Vec::new(),
        Some((_, values)) => values
            .into_iter()
            // Engaged and reached audiences are read for two timeframes; the analytics get
            // one snapshot per audience: the longer one (this month), or the one without a
            // timeframe (followers).
            .filter(|v| v.timeframe.is_empty() || v.timeframe == "this_month")
            .filter_map(|v| {
                Some(analytics::DemographicValue {
                    audience: match v.metric.as_str() {
                        "follower_demographics" => Audience::Followers,
                        "engaged_audience_demographics" => Audience::Engaged,
                        "reached_audience_demographics" => Audience::Reached,
                        _ => return None,
                    },
                    dimension: match v.breakdown.as_str() {
                        "age" => DemographicDimension::Age,
                        "gender" => DemographicDimension::Gender,
                        "country" => DemographicDimension::Country,
                        "city" => DemographicDimension::City,
                        _ => return None,
                    },
                    key: v.key,
                    value: v.value.round() as i64,
                })
            })
            .collect(),
    };

    Ok(AccountHistory {
        account: AccountInfo {
            time_zone,
            followers_now: account.followers_count,
        },
        posts,
        follower_samples,
        daily_metrics,
        online_followers,
        demographics,
    })
}

fn analytics_product(p: ProductType) -> Option<analytics::MediaProductType> {
    match p {
        ProductType::Feed => Some(analytics::MediaProductType::Feed),
        ProductType::Reels => Some(analytics::MediaProductType::Reels),
        ProductType::Story => Some(analytics::MediaProductType::Story),
        ProductType::Ad => None,
    }
}

fn analytics_media(m: store::MediaType) -> analytics::MediaType {
    match m {
        store::MediaType::Image => analytics::MediaType::Image,
        store::MediaType::Video => analytics::MediaType::Video,
        store::MediaType::CarouselAlbum => analytics::MediaType::CarouselAlbum,
    }
}

/// Sets one post metric from a Meta media metric name; false when the name is not used.
fn set_post_metric(m: &mut PostMetrics, name: &str, value: f64) -> bool {
    match POST_METRICS.iter().find(|(n, _)| *n == name) {
        Some((_, field)) => {
            *field(m) = Some(value.round() as i64);
            true
        }
        None => false,
    }
}

fn post_metrics(latest: &BTreeMap<String, f64>) -> PostMetrics {
    let mut m = PostMetrics::default();
    for (name, value) in latest {
        set_post_metric(&mut m, name, *value);
    }
    m
}

/// Groups snapshot rows (totals only) by post and capture time and attaches them in time
/// order.
fn attach_snapshots(posts: &mut [Post], rows: Vec<InsightSnapshot>) {
    let mut grouped: HashMap<String, BTreeMap<DateTime<Utc>, PostMetrics>> = HashMap::new();
    for r in rows {
        if r.breakdown.is_some() {
            continue;
        }
        let entry = grouped
            .entry(r.ig_media_id)
            .or_default()
            .entry(r.captured_at)
            .or_default();
        set_post_metric(entry, &r.metric, r.value);
    }
    for p in posts.iter_mut() {
        if let Some(snaps) = grouped.remove(&p.ig_media_id) {
            p.snapshots = snaps
                .into_iter()
                .map(|(captured_at, metrics)| PostSnapshot {
                    captured_at,
                    metrics,
                })
                .collect();
        }
    }
}

/// The analytics metric of a stored account insight (`None` for values analytics do not
/// use, e.g. breakdown rows).
/// Meta's daily account metrics without a breakdown and the analytics series each fills.
const ACCOUNT_METRICS: &[(&str, AccountMetric)] = &[
    ("reach", AccountMetric::Reach),
    ("views", AccountMetric::Views),
    ("accounts_engaged", AccountMetric::AccountsEngaged),
    ("total_interactions", AccountMetric::TotalInteractions),
    ("likes", AccountMetric::Likes),
    ("comments", AccountMetric::Comments),
    ("saves", AccountMetric::Saves),
    ("shares", AccountMetric::Shares),
    ("replies", AccountMetric::Replies),
    ("profile_views", AccountMetric::ProfileViews),
    ("website_clicks", AccountMetric::WebsiteClicks),
    ("profile_links_taps", AccountMetric::ProfileLinksTaps),
    ("follower_count", AccountMetric::NetNewFollowers),
];

/// The metric whose `follow_type` breakdown gives follows and unfollows.
const FOLLOWS_AND_UNFOLLOWS: &str = "follows_and_unfollows";

fn account_metric(metric: &str, breakdown: Option<&Breakdown>) -> Option<AccountMetric> {
    if let Some(breakdown) = breakdown {
        if breakdown.dimension != "follow_type" || metric != FOLLOWS_AND_UNFOLLOWS {
            return None;
        }
        return match breakdown.key.as_str() {
            "FOLLOWER" => Some(AccountMetric::Follows),
            "NON_FOLLOWER" => Some(AccountMetric::Unfollows),
            _ => None,
        };
    }
    ACCOUNT_METRICS
        .iter()
        .find(|(name, _)| *name == metric)
        .map(|(_, m)| *m)
}

/// The UTC instant of the Pacific midnight that starts `day` (Meta's day buckets).
fn pacific_midnight(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    Los_Angeles
        .from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| midnight.and_utc() + Duration::hours(8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_loaded_media_metric_fills_a_post_metric() {
        for (name, _) in POST_METRICS {
            let mut m = PostMetrics::default();
            assert!(set_post_metric(&mut m, name, 3.0), "{name}");
            assert_ne!(m, PostMetrics::default(), "{name} fills nothing");
        }
        assert!(!set_post_metric(
            &mut PostMetrics::default(),
            "impressions",
            1.0
        ));
    }

    #[test]
    fn meta_names_map_to_domain_names() {
        let by = |dimension: &str, key: &str| Some(Breakdown::new(dimension, key));
        assert_eq!(account_metric("reach", None), Some(AccountMetric::Reach));
        assert_eq!(
            account_metric(
                "follows_and_unfollows",
                by("follow_type", "NON_FOLLOWER").as_ref()
            ),
            Some(AccountMetric::Unfollows)
        );
        assert_eq!(
            account_metric("reach", by("media_product_type", "REEL").as_ref()),
            None
        );
        assert_eq!(account_metric("impressions", None), None);
        let mut latest = BTreeMap::new();
        latest.insert("saved".to_string(), 4.0);
        latest.insert("views".to_string(), 120.4);
        latest.insert("impressions".to_string(), 9.0);
        let m = post_metrics(&latest);
        assert_eq!((m.saves, m.views, m.reach), (Some(4), Some(120), None));
        assert_eq!(
            pacific_midnight("2026-07-10".parse().unwrap()).to_rfc3339(),
            "2026-07-10T07:00:00+00:00"
        );
    }
}
