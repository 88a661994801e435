//! Ground truth: what a correct sync must have stored for one account at the current
//! simulated time, computed by the same code the HTTP handlers use.

use std::cell::Cell;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{self, Ctx, media_insight_values, media_target};
use crate::catalog::{self, MetricCtx};
use crate::error::ApiError;
use crate::fields;
use crate::numbers;
use crate::state::{Obj, SimState};
use crate::time::{day_end, fmt_ts, pacific_date};
use crate::version::ApiVersion;
use crate::world::{MediaRef, World};

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
    /// Account insights per Pacific day for the last 90 days (oldest first).
    pub account_insights: Vec<AccountDayTruth>,
    /// Online followers per hour for the last 30 days excluding today (oldest first).
    pub online_followers: Vec<OnlineFollowersTruth>,
    /// Audience demographics.
    pub demographics: Vec<DemographicTruth>,
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
    },
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
    let removed = st.read().removed_metrics.clone();
    let names: Vec<&'static str> = catalog::valid_media_metrics(mctx, target, crossposted)
        .into_iter()
        .filter(|n| !removed.contains(*n))
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
    };
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
        .collect();

    let (ts_metrics, tv_metrics) = catalog::daily_user_metrics(&mctx);
    let removed = st.read().removed_metrics.clone();
    let today = pacific_date(now);
    let small = st.world.followers_at(acct, now) < 100;
    let mut account_insights = Vec::new();
    for back in (0..90).rev() {
        let d = today - chrono::Duration::days(back);
        let Some(dv) = numbers::account_day(&st.world, acct, d, now) else {
            continue;
        };
        let mut values = BTreeMap::new();
        let mut breakdowns: BTreeMap<String, BTreeMap<String, BTreeMap<String, u64>>> =
            BTreeMap::new();
        for m in ts_metrics.iter().chain(tv_metrics.iter()) {
            if removed.contains(*m) {
                continue;
            }
            if *m == "online_followers" {
                continue;
            }
            if *m == "follower_count" && (small || d >= today || back > 30) {
                continue;
            }
            if *m == "follows_and_unfollows" && small {
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
        });
    }

    let mut online_followers = Vec::new();
    if !small && !removed.contains("online_followers") {
        for back in (1..=30).rev() {
            let d = today - chrono::Duration::days(back);
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
        if removed.contains(metric) {
            continue;
        }
        let days = tf.and_then(api::timeframe_days).unwrap_or(30);
        let Some(total) = numbers::demographic_total(&st.world, acct, metric, days, now) else {
            continue;
        };
        for breakdown in ["age", "gender", "country", "city", "age,gender"] {
            let dims: Vec<&str> = breakdown.split(',').collect();
            let rows = numbers::demographics(&st.world, acct, total, &dims)
                .into_iter()
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
    })
}

fn story_ref(world: &World, acct: usize, id: &str) -> MediaRef {
    world.decode_media(id).unwrap_or(MediaRef::Story {
        acct,
        slot: i64::MIN,
        n: 0,
    })
}
