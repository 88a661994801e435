//! Ground truth: what a correct sync must have stored for one account at the current
//! simulated time, computed by the same code the HTTP handlers use. Every expected value is
//! either present or listed in [`GroundTruth::missing`] with Meta's reason.

use std::cell::Cell;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{self, Ctx, media_insight_values, media_target};
use crate::catalog::{self, MetricCtx};
use crate::edge_cases;
use crate::error::ApiError;
use crate::fields;
use crate::numbers;
use crate::state::{Obj, SimState};
use crate::time::{day_end, fmt_ts, pacific_date};
use crate::version::ApiVersion;
use crate::world::{MediaRef, World};

/// Complete Pacific days of account insights a sync keeps (before today's partial day).
pub(crate) const COMPLETE_DAYS: i64 = 90;

/// Everything a correct sync of one account stores at the simulated now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// The account.
    pub ig_user_id: String,
    /// The version the values are valid for (after any upgrade of an expired version).
    pub version: ApiVersion,
    /// The simulated time of the truth.
    pub at: DateTime<Utc>,
    /// Profile counters.
    pub profile: ProfileTruth,
    /// Every published post, newest first.
    pub media: Vec<MediaTruth>,
    /// Live stories, newest first.
    pub stories: Vec<StoryTruth>,
    /// Account insights per Pacific day: the 90 complete days before today, then today's
    /// partial day (oldest first, 91 entries).
    pub account_insights: Vec<AccountDayTruth>,
    /// Online followers per hour for the last 30 days excluding today (oldest first).
    pub online_followers: Vec<OnlineFollowersTruth>,
    /// Audience demographics.
    pub demographics: Vec<DemographicTruth>,
    /// Every value a sync would ask for that Meta does not give, with the reason.
    #[serde(default)]
    pub missing: Vec<MissingValue>,
}

/// Why Meta gives no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingReason {
    /// A story seen by fewer than 5 accounts: `(#10) Not enough viewers`.
    NotEnoughViewers,
    /// Media posted before the business conversion (subcode 2108006).
    BeforeConversion,
    /// Media deleted since it was listed (subcode 33).
    Deleted,
    /// An album child: no insights of its own.
    AlbumChild,
    /// A story more than 24 h old.
    StoryExpired,
    /// A young post: `{"data": []}` until Meta has numbers.
    NoDataYet,
    /// Below the 100 followers / 100 engagements threshold.
    BelowThreshold,
    /// Demographic keys beyond the top 45 values.
    TruncatedTop45,
    /// `online_followers` of the latest two days, not served yet.
    NotReadyYet,
    /// A breakdown Meta refuses for the metric: code 1 "An unknown error has occurred."
    UnsupportedBreakdown,
    /// Any other refusal (see the error).
    Other,
}

impl MissingReason {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            MissingReason::NotEnoughViewers => "not_enough_viewers",
            MissingReason::BeforeConversion => "before_conversion",
            MissingReason::Deleted => "deleted",
            MissingReason::AlbumChild => "album_child",
            MissingReason::StoryExpired => "story_expired",
            MissingReason::NoDataYet => "no_data_yet",
            MissingReason::BelowThreshold => "below_threshold",
            MissingReason::TruncatedTop45 => "truncated_top_45",
            MissingReason::NotReadyYet => "not_ready_yet",
            MissingReason::UnsupportedBreakdown => "unsupported_breakdown",
            MissingReason::Other => "other",
        }
    }
}

/// What kind of value is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingKind {
    /// A post's lifetime insights.
    MediaInsights,
    /// A live story's insights.
    StoryInsights,
    /// One account metric of one day.
    AccountInsight,
    /// Followers online per hour of one day.
    OnlineFollowers,
    /// A demographic metric (all its rows, or the rows past the top 45).
    Demographics,
}

/// One expected value that Meta does not give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingValue {
    /// What is missing.
    pub kind: MissingKind,
    /// The media or story id (media and story insights).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The Pacific day (account insights, online followers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    /// The metric (account insights, demographics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// The demographic timeframe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeframe: Option<String>,
    /// The demographic breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<String>,
    /// Keys dropped past the top 45 (truncated demographics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<u64>,
    /// Why.
    pub reason: MissingReason,
}

impl MissingValue {
    fn new(kind: MissingKind, reason: MissingReason) -> MissingValue {
        MissingValue {
            kind,
            id: None,
            date: None,
            metric: None,
            timeframe: None,
            breakdown: None,
            dropped: None,
            reason,
        }
    }
}

/// Profile fields and counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileTruth {
    /// `id`.
    pub id: String,
    /// `username`.
    pub username: String,
    /// `name`.
    pub name: String,
    /// `biography`.
    pub biography: String,
    /// `website`, if any.
    pub website: Option<String>,
    /// `followers_count`.
    pub followers_count: u64,
    /// `follows_count`.
    pub follows_count: u64,
    /// `media_count`.
    pub media_count: u64,
}

/// One post with its insights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaTruth {
    /// `id`.
    pub id: String,
    /// `IMAGE`, `VIDEO` or `CAROUSEL_ALBUM`.
    pub media_type: String,
    /// `FEED` or `REELS`.
    pub media_product_type: String,
    /// `timestamp`, as the API writes it (`+0000`).
    pub timestamp: String,
    /// `permalink`.
    pub permalink: String,
    /// `caption`, if any.
    pub caption: Option<String>,
    /// `like_count`.
    pub like_count: u64,
    /// `comments_count`.
    pub comments_count: u64,
    /// Ids of album children (empty unless CAROUSEL_ALBUM).
    pub children: Vec<String>,
    /// Lifetime insights, or the error a request for them gets.
    pub insights: InsightsTruth,
}

/// One live story with its insights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryTruth {
    /// `id`.
    pub id: String,
    /// `IMAGE` or `VIDEO`.
    pub media_type: String,
    /// `timestamp`.
    pub timestamp: String,
    /// Insights, or the error (e.g. too few viewers).
    pub insights: InsightsTruth,
}

/// Insight values of a media, or the object-level error in their place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum InsightsTruth {
    /// Values of every metric valid for the version, product type and date.
    Values {
        /// Metric → value (numbers; `reels_skip_rate` is a percentage with decimals).
        values: BTreeMap<String, Value>,
        /// Metric → breakdown key → value, for `profile_activity` and `navigation`.
        breakdowns: BTreeMap<String, BTreeMap<String, u64>>,
    },
    /// The error any insights request for this media gets.
    Error {
        /// Graph error code.
        code: u32,
        /// Graph error subcode.
        subcode: Option<u32>,
        /// Message.
        message: String,
        /// Why the values are missing.
        #[serde(default = "other_reason")]
        reason: MissingReason,
    },
}

fn other_reason() -> MissingReason {
    MissingReason::Other
}

/// Account insights of one Pacific day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDayTruth {
    /// The Pacific calendar day.
    pub date: NaiveDate,
    /// The `end_time` the API reports for the day.
    pub end_time: String,
    /// Metric → value: time-series metrics (`reach`, `follower_count` within its 30-day
    /// window) and every total_value metric requested for that single day.
    pub values: BTreeMap<String, u64>,
    /// Metric → breakdown dimension → key → value (zero values omitted, as the API does).
    pub breakdowns: BTreeMap<String, BTreeMap<String, BTreeMap<String, u64>>>,
    /// Today's day, still growing: its values are what Meta says so far.
    #[serde(default)]
    pub partial: bool,
}

/// Followers online per hour of one Pacific day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlineFollowersTruth {
    /// The Pacific calendar day.
    pub date: NaiveDate,
    /// The `end_time` the API reports.
    pub end_time: String,
    /// "0".."23" → followers online.
    pub by_hour: BTreeMap<String, u64>,
}

/// One demographic breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemographicTruth {
    /// `follower_demographics`, `engaged_audience_demographics` or
    /// `reached_audience_demographics`.
    pub metric: String,
    /// `this_week`, `this_month`, or none (follower demographics without timeframe).
    pub timeframe: Option<String>,
    /// The `breakdown` parameter, e.g. `age` or `age,gender`.
    pub breakdown: String,
    /// Rows, largest first (top 45), keys without the timeframe dimension.
    pub rows: Vec<DemographicRow>,
}

/// One demographic value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemographicRow {
    /// Dimension values, in breakdown order.
    pub keys: Vec<String>,
    /// Audience size.
    pub value: u64,
}

fn err_truth(e: &ApiError) -> InsightsTruth {
    InsightsTruth::Error {
        code: e.code,
        subcode: e.subcode,
        message: e.message.clone(),
        reason: reason_of(e),
    }
}

/// The reason behind an object-level insights error.
fn reason_of(e: &ApiError) -> MissingReason {
    if e.subcode == Some(2_108_006) {
        MissingReason::BeforeConversion
    } else if e.code == 10 {
        MissingReason::NotEnoughViewers
    } else if e.subcode == Some(33) {
        MissingReason::Deleted
    } else if *e == ApiError::album_child_insights() {
        MissingReason::AlbumChild
    } else if *e == ApiError::story_expired() {
        MissingReason::StoryExpired
    } else {
        MissingReason::Other
    }
}

/// The reason attached to a media's insights, if they are missing.
fn insights_missing(t: &InsightsTruth) -> Option<MissingReason> {
    match t {
        InsightsTruth::Error { reason, .. } => Some(*reason),
        InsightsTruth::Values { values, .. } if values.is_empty() => Some(MissingReason::NoDataYet),
        InsightsTruth::Values { .. } => None,
    }
}

fn insights_truth(
    st: &SimState,
    m: MediaRef,
    mctx: &MetricCtx,
    crossposted: bool,
) -> InsightsTruth {
    let Some(target) = media_target(&st.world, m) else {
        return err_truth(&ApiError::album_child_insights());
    };
    let names: Vec<&'static str> = catalog::valid_media_metrics(mctx, target, crossposted)
        .into_iter()
        .filter(|n| !st.is_withdrawn(n, mctx.version))
        .collect();
    match media_insight_values(st, m, &names, mctx.now) {
        Ok(values) => {
            let mut v = BTreeMap::new();
            let mut b = BTreeMap::new();
            for mv in values {
                v.insert(mv.name.to_owned(), mv.value);
                if let Some((_, parts)) = mv.breakdown {
                    b.insert(
                        mv.name.to_owned(),
                        parts.into_iter().map(|(k, x)| (k.to_owned(), x)).collect(),
                    );
                }
            }
            InsightsTruth::Values {
                values: v,
                breakdowns: b,
            }
        }
        Err(e) => err_truth(&e),
    }
}

fn str_of(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn u64_of(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or_default()
}

/// Computes the ground truth of one account.
pub(crate) fn ground_truth(
    st: &SimState,
    ig_user_id: &str,
    version: ApiVersion,
) -> Option<GroundTruth> {
    let acct = st.account_index(ig_user_id)?;
    let now = st.now();
    let at = st.now_utc();
    let version = version.effective(at);
    let a = &st.world.accounts[acct];
    let token = st.read().current[acct].clone();
    let ctx = Ctx {
        st,
        version,
        url_version: version,
        now,
        acct,
        login: a.login,
        token,
        extra_units: Cell::new(0),
        endpoint: Cell::new("ground truth"),
        grant: None,
        edges: st.edges(),
    };
    let mut missing = Vec::new();
    let mctx = ctx.metric_ctx();
    let profile_fields = fields::parse(
        "id,username,name,biography,website,followers_count,follows_count,media_count",
    )
    .ok()?;
    let p = api::render_node(
        &ctx,
        Obj::User {
            acct,
            app_scoped: false,
        },
        &profile_fields,
    )
    .ok()?;
    let profile = ProfileTruth {
        id: str_of(&p, "id"),
        username: str_of(&p, "username"),
        name: str_of(&p, "name"),
        biography: str_of(&p, "biography"),
        website: p.get("website").and_then(Value::as_str).map(str::to_owned),
        followers_count: u64_of(&p, "followers_count"),
        follows_count: u64_of(&p, "follows_count"),
        media_count: u64_of(&p, "media_count"),
    };

    let media_fields = fields::parse(
        "id,media_type,media_product_type,timestamp,permalink,caption,like_count,comments_count,children{id}",
    )
    .ok()?;
    let deleted = st.read().deleted.clone();
    let first = st.world.first_visible(acct, now);
    let mut media = Vec::new();
    for idx in first..a.posts.len() {
        let m = MediaRef::Post { acct, idx };
        if deleted.contains(&m) {
            continue;
        }
        let v = api::render_node(&ctx, Obj::Media(m), &media_fields).ok()?;
        let children = v
            .get("children")
            .and_then(|c| c.get("data"))
            .and_then(Value::as_array)
            .map(|arr| arr.iter().map(|c| str_of(c, "id")).collect())
            .unwrap_or_default();
        media.push(MediaTruth {
            id: str_of(&v, "id"),
            media_type: str_of(&v, "media_type"),
            media_product_type: str_of(&v, "media_product_type"),
            timestamp: str_of(&v, "timestamp"),
            permalink: str_of(&v, "permalink"),
            caption: v.get("caption").and_then(Value::as_str).map(str::to_owned),
            like_count: u64_of(&v, "like_count"),
            comments_count: u64_of(&v, "comments_count"),
            children,
            insights: insights_truth(st, m, &mctx, a.posts[idx].crossposted),
        });
    }
    for t in &media {
        if let Some(reason) = insights_missing(&t.insights) {
            let mut mv = MissingValue::new(MissingKind::MediaInsights, reason);
            mv.id = Some(t.id.clone());
            missing.push(mv);
        }
    }
    // Posts deleted after they were published: a sync that listed them holds them.
    let mut gone: Vec<MissingValue> = deleted
        .iter()
        .filter_map(|r| match *r {
            MediaRef::Post { acct: x, idx } if x == acct && idx >= first => {
                let mut mv = MissingValue::new(MissingKind::MediaInsights, MissingReason::Deleted);
                mv.id = Some(st.world.post_id(acct, idx));
                Some(mv)
            }
            MediaRef::Story { acct: x, slot, n } if x == acct => st
                .world
                .story(acct, slot, n)
                .filter(|s| World::story_is_live(s, now))
                .map(|_| {
                    let mut mv =
                        MissingValue::new(MissingKind::StoryInsights, MissingReason::Deleted);
                    mv.id = Some(st.world.story_id(acct, slot, n));
                    mv
                }),
            _ => None,
        })
        .collect();
    gone.sort_by(|a, b| a.id.cmp(&b.id));
    missing.extend(gone);

    let stories = st
        .world
        .live_stories(acct, now)
        .into_iter()
        .map(|s| {
            let m = MediaRef::Story {
                acct,
                slot: s.slot,
                n: s.n,
            };
            StoryTruth {
                id: st.world.story_id(acct, s.slot, s.n),
                media_type: if s.video { "VIDEO" } else { "IMAGE" }.to_owned(),
                timestamp: fmt_ts(s.ts),
                insights: insights_truth(st, m, &mctx, s.crossposted),
            }
        })
        .filter(|s| !deleted.contains(&story_ref(&st.world, acct, &s.id)))
        .collect::<Vec<StoryTruth>>();
    for t in &stories {
        if let Some(reason) = insights_missing(&t.insights) {
            let mut mv = MissingValue::new(MissingKind::StoryInsights, reason);
            mv.id = Some(t.id.clone());
            missing.push(mv);
        }
    }

    let (ts_metrics, tv_metrics) = catalog::daily_user_metrics(&mctx);
    let removed = |m: &str| st.is_withdrawn(m, version);
    let today = pacific_date(now);
    let small = st.world.followers_at(acct, now) < 100;
    let mut account_insights = Vec::new();
    // 90 complete days in Meta's day buckets, and today's partial day.
    for back in (0..=COMPLETE_DAYS).rev() {
        let d = today - chrono::Duration::days(back);
        let Some(dv) = st.day_values(acct, d, now) else {
            continue;
        };
        let mut values = BTreeMap::new();
        let mut breakdowns: BTreeMap<String, BTreeMap<String, BTreeMap<String, u64>>> =
            BTreeMap::new();
        for m in ts_metrics.iter().chain(tv_metrics.iter()) {
            if removed(m) {
                continue;
            }
            if *m == "online_followers" {
                continue;
            }
            if *m == "follower_count" && (d >= today || back > 30) {
                continue;
            }
            if small && matches!(*m, "follower_count" | "follows_and_unfollows") {
                let mut mv =
                    MissingValue::new(MissingKind::AccountInsight, MissingReason::BelowThreshold);
                mv.date = Some(d);
                mv.metric = Some((*m).to_owned());
                missing.push(mv);
                continue;
            }
            let Some(v) = dv.get(m) else { continue };
            values.insert((*m).to_owned(), v);
            let Ok(um) = catalog::user_metric(m, &mctx) else {
                continue;
            };
            for dim in um.breakdowns {
                if let Some(parts) = dv.breakdown(m, dim) {
                    let nonzero: BTreeMap<String, u64> = parts
                        .into_iter()
                        .filter(|(_, v)| *v > 0)
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect();
                    breakdowns
                        .entry((*m).to_owned())
                        .or_default()
                        .insert((*dim).to_owned(), nonzero);
                }
            }
        }
        account_insights.push(AccountDayTruth {
            date: d,
            end_time: fmt_ts(day_end(d)),
            values,
            breakdowns,
            partial: back == 0,
        });
    }

    let mut online_followers = Vec::new();
    if !removed("online_followers") {
        for back in (1..=30).rev() {
            let d = today - chrono::Duration::days(back);
            let reason = if small {
                Some(MissingReason::BelowThreshold)
            } else if ctx.edges && edge_cases::online_followers_not_ready(d, today) {
                Some(MissingReason::NotReadyYet)
            } else {
                None
            };
            if let Some(reason) = reason {
                let mut mv = MissingValue::new(MissingKind::OnlineFollowers, reason);
                mv.date = Some(d);
                mv.metric = Some("online_followers".to_owned());
                missing.push(mv);
                continue;
            }
            online_followers.push(OnlineFollowersTruth {
                date: d,
                end_time: fmt_ts(day_end(d)),
                by_hour: numbers::online_followers(&st.world, acct, d)
                    .into_iter()
                    .map(|(h, v)| (h.to_string(), v))
                    .collect(),
            });
        }
    }

    let mut demographics = Vec::new();
    let plan: [(&str, Option<&str>); 5] = [
        ("follower_demographics", None),
        ("engaged_audience_demographics", Some("this_week")),
        ("engaged_audience_demographics", Some("this_month")),
        ("reached_audience_demographics", Some("this_week")),
        ("reached_audience_demographics", Some("this_month")),
    ];
    for (metric, tf) in plan {
        if removed(metric) {
            continue;
        }
        const BREAKDOWNS: [&str; 5] = ["age", "gender", "country", "city", "age,gender"];
        // A refused breakdown answers code 1 whatever the audience's size.
        for breakdown in BREAKDOWNS {
            if st.is_breakdown_refused(metric, breakdown) {
                let mut mv = MissingValue::new(
                    MissingKind::Demographics,
                    MissingReason::UnsupportedBreakdown,
                );
                mv.metric = Some(metric.to_owned());
                mv.timeframe = tf.map(str::to_owned);
                mv.breakdown = Some(breakdown.to_owned());
                missing.push(mv);
            }
        }
        let days = tf.and_then(api::timeframe_days).unwrap_or(30);
        let Some(total) = numbers::demographic_total(&st.world, acct, metric, days, now, |d| {
            st.day_values(acct, d, now)
        }) else {
            let mut mv =
                MissingValue::new(MissingKind::Demographics, MissingReason::BelowThreshold);
            mv.metric = Some(metric.to_owned());
            mv.timeframe = tf.map(str::to_owned);
            missing.push(mv);
            continue;
        };
        for breakdown in BREAKDOWNS {
            if st.is_breakdown_refused(metric, breakdown) {
                continue;
            }
            let dims: Vec<&str> = breakdown.split(',').collect();
            let all = numbers::demographics_all(&st.world, acct, total, &dims);
            if all.len() > numbers::DEMOGRAPHIC_TOP {
                let mut mv =
                    MissingValue::new(MissingKind::Demographics, MissingReason::TruncatedTop45);
                mv.metric = Some(metric.to_owned());
                mv.timeframe = tf.map(str::to_owned);
                mv.breakdown = Some(breakdown.to_owned());
                mv.dropped = Some((all.len() - numbers::DEMOGRAPHIC_TOP) as u64);
                missing.push(mv);
            }
            let rows = all
                .into_iter()
                .take(numbers::DEMOGRAPHIC_TOP)
                .map(|(keys, value)| DemographicRow { keys, value })
                .collect();
            demographics.push(DemographicTruth {
                metric: metric.to_owned(),
                timeframe: tf.map(str::to_owned),
                breakdown: breakdown.to_owned(),
                rows,
            });
        }
    }

    Some(GroundTruth {
        ig_user_id: a.ig_user_id.clone(),
        version,
        at,
        profile,
        media,
        stories,
        account_insights,
        online_followers,
        demographics,
        missing,
    })
}

fn story_ref(world: &World, acct: usize, id: &str) -> MediaRef {
    world.decode_media(id).unwrap_or(MediaRef::Story {
        acct,
        slot: i64::MIN,
        n: 0,
    })
}
