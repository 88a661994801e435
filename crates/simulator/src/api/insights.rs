//! Insights: `/{ig-media-id}/insights` (lifetime values per media product type) and
//! `/{ig-user-id}/insights` (interaction metrics per Pacific day, `time_series` or
//! `total_value` with breakdowns, online followers, audience demographics).

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use super::{Ctx, Params, Scope};
use crate::catalog::{self, MediaTarget, PERIODS, UserMetric};
use crate::edge_cases;
use crate::error::ApiError;
use crate::hash::{h, hs, range, unit};
use crate::numbers::{
    self, DayValues, navigation_split, post_counts, profile_activity_split, story_counts,
};
use crate::state::SimState;
use crate::time::{DAY, day_end, day_start, fmt_ts, pacific_date};
use crate::world::{Counts, MediaRef, Surface, World};

/// Share of extra (promoted) engagement of a post; most posts were never boosted.
pub(crate) fn boost(key: u64, idx: usize) -> f64 {
    let k = h(&[key, hs("boost"), idx as u64]);
    if unit(k) < 0.1 {
        range(h(&[k, 1]), 0.2, 1.0)
    } else {
        0.0
    }
}

/// A value including promoted engagement.
pub(crate) fn boosted(v: u32, b: f64) -> u64 {
    u64::from(v) + (f64::from(v) * b).floor() as u64
}

/// A breakdown dimension and its values per key.
pub(crate) type Breakdown = (&'static str, Vec<(&'static str, u64)>);

/// One media metric value, with its breakdown when the metric has one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MetricValue {
    pub(crate) name: &'static str,
    pub(crate) value: Value,
    pub(crate) breakdown: Option<Breakdown>,
}

/// The metric target (product type and creation time) of a post or story.
pub(crate) fn media_target(world: &World, m: MediaRef) -> Option<MediaTarget> {
    match m {
        MediaRef::Post { acct, idx } => {
            let p = &world.accounts[acct].posts[idx];
            Some(MediaTarget {
                surface: p.kind.surface(),
                created: p.ts,
            })
        }
        MediaRef::Story { acct, slot, n } => world.story(acct, slot, n).map(|s| MediaTarget {
            surface: Surface::Story,
            created: s.ts,
        }),
        MediaRef::Child { .. } => None,
    }
}

/// Values of already validated metrics for one media at `now`, or the object-level error
/// that replaces them (album child, pre-conversion media, expired story, story with too few
/// viewers, Facebook metrics of media not shared to Facebook).
pub(crate) fn media_insight_values(
    st: &SimState,
    m: MediaRef,
    names: &[&'static str],
    now: i64,
) -> Result<Vec<MetricValue>, ApiError> {
    let w = &st.world;
    let (counts, crossposted, surface, extra) = match m {
        MediaRef::Child { .. } => return Err(ApiError::album_child_insights()),
        MediaRef::Post { acct, idx } => {
            let a = &w.accounts[acct];
            let p = &a.posts[idx];
            if p.pre_conversion {
                return Err(ApiError::pre_conversion());
            }
            if st.edges() && edge_cases::post_has_no_data_yet(w, acct, idx, now) {
                // Empty is not zero: a young post answers an empty data set.
                return Ok(Vec::new());
            }
            let c = post_counts(&p.fin, p.ts, now);
            (
                c,
                p.crossposted,
                p.kind.surface(),
                Some((p.avg_watch_ms, p.skip_rate_bp, boost(a.key, idx))),
            )
        }
        MediaRef::Story { acct, slot, n } => {
            let s = w
                .story(acct, slot, n)
                .ok_or_else(|| ApiError::no_object("get", &w.story_id(acct, slot, n)))?;
            if !World::story_is_live(&s, now) {
                return Err(ApiError::story_expired());
            }
            let c = story_counts(&s, now);
            if c.reach < 5 {
                return Err(ApiError::not_enough_viewers());
            }
            (c, s.crossposted, Surface::Story, None)
        }
    };
    let mut out = Vec::with_capacity(names.len());
    for &name in names {
        if matches!(name, "facebook_views" | "crossposted_views") && !crossposted {
            return Err(ApiError::not_crossposted(name));
        }
        let (value, breakdown) = metric_value(name, &counts, surface, extra);
        out.push(MetricValue {
            name,
            value,
            breakdown,
        });
    }
    Ok(out)
}

fn metric_value(
    name: &str,
    c: &Counts,
    surface: Surface,
    extra: Option<(u32, u16, f64)>,
) -> (Value, Option<Breakdown>) {
    let (watch, skip, boost) = extra.unwrap_or((0, 0, 0.0));
    let views = u64::from(c.views);
    let v = match name {
        "reach" => json!(c.reach),
        "views" => json!(c.views),
        "likes" => json!(c.likes),
        "comments" => json!(c.comments),
        "saved" => json!(c.saved),
        "shares" => json!(c.shares),
        "reposts" => json!(c.reposts),
        "follows" => json!(c.follows),
        "profile_visits" => json!(c.profile_visits),
        "replies" => json!(c.replies),
        "link_clicks" => json!(c.link_clicks),
        "facebook_views" | "crossposted_views" => json!(c.fb_views),
        "total_interactions" => match surface {
            Surface::Story => json!(u64::from(c.replies) + u64::from(c.shares)),
            _ => json!(
                u64::from(c.likes)
                    + u64::from(c.comments)
                    + u64::from(c.saved)
                    + u64::from(c.shares)
            ),
        },
        "ig_reels_avg_watch_time" => json!(if views > 0 { u64::from(watch) } else { 0 }),
        "ig_reels_video_view_total_time" => json!(u64::from(watch) * views),
        "reels_skip_rate" => {
            let pct = if views > 0 {
                f64::from(skip) / 100.0
            } else {
                0.0
            };
            json!(pct)
        }
        "total_likes" => json!(boosted(c.likes, boost)),
        "total_comments" => json!(boosted(c.comments, boost)),
        "total_views" => json!(boosted(c.views, boost) + u64::from(c.fb_views)),
        "impressions" => json!(u64::from(c.reach).max(views * 93 / 100)),
        "plays" => json!(views),
        "clips_replays_count" => json!(views * 18 / 100),
        "ig_reels_aggregated_all_plays_count" => {
            json!(views + u64::from(c.fb_views) + views * 18 / 100)
        }
        "profile_activity" => {
            let total = u64::from(c.profile_activity);
            return (
                json!(total),
                Some(("action_type", profile_activity_split(total))),
            );
        }
        "navigation" => {
            let total = u64::from(c.navigation);
            return (
                json!(total),
                Some(("story_navigation_action_type", navigation_split(total))),
            );
        }
        _ => json!(0),
    };
    (v, None)
}

/// `GET /{ig-media-id}/insights` (and `insights.metric(...)` expansion).
pub(crate) fn media_insights(
    ctx: &Ctx<'_>,
    m: MediaRef,
    id: &str,
    metric: Option<&str>,
    breakdown: Option<&str>,
) -> Result<Value, ApiError> {
    ctx.require(Scope::Insights)?;
    let Some(target) = media_target(&ctx.st.world, m) else {
        return Err(ApiError::album_child_insights());
    };
    for name in catalog::split_list(metric.unwrap_or("")) {
        if ctx.is_withdrawn(&name) {
            return Err(ApiError::metric_withdrawn(&name, true));
        }
    }
    let names = catalog::check_media_metrics(metric.unwrap_or(""), &ctx.metric_ctx(), &[target])?;
    let dim = catalog::check_media_breakdown(breakdown, &names)?;
    let values = media_insight_values(ctx.st, m, &names, ctx.now)?;
    let data: Vec<Value> = values
        .into_iter()
        .map(|mv| {
            let (title, description) = catalog::media_metric_text(mv.name);
            let mut e = Map::new();
            e.insert("name".into(), json!(mv.name));
            e.insert("period".into(), json!("lifetime"));
            e.insert("values".into(), json!([{ "value": mv.value }]));
            e.insert("title".into(), json!(title));
            e.insert("description".into(), json!(description));
            if let (Some(d), Some((_, parts))) = (dim, &mv.breakdown) {
                let results: Vec<Value> = parts
                    .iter()
                    .map(|(k, v)| json!({ "dimension_values": [k], "value": v }))
                    .collect();
                e.insert(
                    "total_value".into(),
                    json!({ "value": mv.value, "breakdowns": [{ "dimension_keys": [d], "results": results }] }),
                );
            }
            e.insert("id".into(), json!(format!("{id}/insights/{}/lifetime", mv.name)));
            Value::Object(e)
        })
        .collect();
    Ok(json!({ "data": data }))
}

/// Parses `since` / `until`: Unix seconds or a `YYYY-MM-DD` date (UTC midnight).
pub(crate) fn parse_time_param(name: &str, raw: &str) -> Result<i64, ApiError> {
    let raw = raw.trim();
    if let Ok(t) = raw.parse::<i64>() {
        return Ok(t);
    }
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp());
    }
    Err(ApiError::param(format!(
        "The parameter {name} must be a Unix timestamp or a date (YYYY-MM-DD), got '{raw}'"
    )))
}

const DEPRECATED_TIMEFRAMES: &[&str] =
    &["last_14_days", "last_30_days", "last_90_days", "prev_month"];

/// Days a demographic timeframe covers.
pub(crate) fn timeframe_days(tf: &str) -> Option<u32> {
    match tf {
        "this_week" => Some(7),
        "this_month" => Some(30),
        _ => None,
    }
}

/// Days of account insights at `now`, computed once per request.
struct DayCache<'a> {
    st: &'a SimState,
    acct: usize,
    now: i64,
    days: Vec<(NaiveDate, Option<DayValues>)>,
}

impl DayCache<'_> {
    fn get(&mut self, d: NaiveDate) -> Option<&DayValues> {
        let pos = match self.days.iter().position(|(x, _)| *x == d) {
            Some(p) => p,
            None => {
                self.days
                    .push((d, self.st.day_values(self.acct, d, self.now)));
                self.days.len() - 1
            }
        };
        self.days[pos].1.as_ref()
    }
}

/// `GET /{ig-user-id}/insights`.
pub(crate) fn user_insights(
    ctx: &Ctx<'_>,
    acct: usize,
    id: &str,
    params: &Params,
) -> Result<Value, ApiError> {
    ctx.require(Scope::Insights)?;
    let mctx = ctx.metric_ctx();
    let names = catalog::split_list(params.get("metric").unwrap_or(""));
    if names.is_empty() {
        return Err(ApiError::param("The parameter metric is required"));
    }
    for n in &names {
        if ctx.is_withdrawn(n) {
            return Err(ApiError::metric_withdrawn(n, false));
        }
    }
    let Some(period) = params
        .get("period")
        .map(str::trim)
        .filter(|p| !p.is_empty())
    else {
        return Err(ApiError::param("The parameter period is required"));
    };
    if !PERIODS.contains(&period) {
        return Err(ApiError::param(format!(
            "period must be one of the following values: {}",
            PERIODS.join(", ")
        )));
    }
    let metric_type = params.get("metric_type").map_or("time_series", str::trim);
    if !matches!(metric_type, "time_series" | "total_value") {
        return Err(ApiError::param(
            "metric_type must be one of the following values: time_series, total_value",
        ));
    }
    let mut metrics: Vec<&'static UserMetric> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let m = match catalog::user_metric(n, &mctx) {
            Ok(m) => m,
            Err(Some(e)) => return Err(e),
            Err(None) => {
                return Err(ApiError::metric_must_be_one_of(
                    i,
                    &catalog::accepted_user(&mctx),
                ));
            }
        };
        if !metrics.iter().any(|x| x.name == m.name) {
            metrics.push(m);
        }
    }
    for m in &metrics {
        if !m.periods.contains(&period) {
            return Err(ApiError::param(format!(
                "The period {period} is not supported for the metric {}; supported: {}",
                m.name,
                m.periods.join(", ")
            )));
        }
    }
    let total_value = metric_type == "total_value";
    if !total_value {
        let tv_only: Vec<&str> = metrics
            .iter()
            .filter(|m| !m.time_series)
            .map(|m| m.name)
            .collect();
        if !tv_only.is_empty() {
            return Err(ApiError::total_value_required(&tv_only));
        }
    } else {
        let ts_only: Vec<&str> = metrics
            .iter()
            .filter(|m| !m.total_value)
            .map(|m| m.name)
            .collect();
        if !ts_only.is_empty() {
            return Err(ApiError::param(format!(
                "The following metrics ({}) do not support metric_type=total_value",
                ts_only.join(",")
            )));
        }
    }
    // Breakdowns apply to total_value only; with time_series they are ignored (doc).
    let dims: Vec<String> = if total_value {
        catalog::split_list(params.get("breakdown").unwrap_or(""))
    } else {
        Vec::new()
    };
    const KNOWN_DIMS: &[&str] = &[
        "media_product_type",
        "follow_type",
        "follower_type",
        "contact_button_type",
        "age",
        "city",
        "country",
        "gender",
    ];
    for (i, d) in dims.iter().enumerate() {
        if !KNOWN_DIMS.contains(&d.as_str()) {
            return Err(ApiError::param(format!(
                "breakdown[{i}] must be one of the following values: {}",
                KNOWN_DIMS.join(", ")
            )));
        }
    }
    let joined = dims.join(",");
    for m in &metrics {
        let unsupported = dims.iter().any(|d| !m.breakdowns.contains(&d.as_str()))
            || (!dims.is_empty() && ctx.st.is_breakdown_refused(m.name, &joined));
        if unsupported || (!m.demographic && dims.len() > 1) {
            return Err(ApiError::unknown_error());
        }
    }
    // Demographic timeframe.
    let timeframe = params
        .get("timeframe")
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if metrics.iter().any(|m| m.demographic) {
        match timeframe {
            Some(tf) if DEPRECATED_TIMEFRAMES.contains(&tf) => {
                return Err(ApiError::param(format!(
                    "Timeframe {tf} is no longer supported for demographic metrics; use this_week or this_month"
                )));
            }
            Some(tf) if timeframe_days(tf).is_none() => {
                return Err(ApiError::param(
                    "timeframe must be one of the following values: this_month, this_week",
                ));
            }
            None if metrics
                .iter()
                .any(|m| m.demographic && m.name != "follower_demographics") =>
            {
                return Err(ApiError::param(
                    "The parameter timeframe is required for engaged and reached audience demographics",
                ));
            }
            _ => {}
        }
    }
    // Time window (demographics ignore since/until).
    let windowed = metrics.iter().any(|m| !m.demographic);
    let now = ctx.now;
    let until = match params.get("until") {
        Some(u) => parse_time_param("until", u)?,
        None => now,
    };
    let since = match params.get("since") {
        Some(s) => parse_time_param("since", s)?,
        None => until - DAY,
    };
    if windowed {
        if since > until {
            return Err(ApiError::param(
                "The since parameter must not be after the until parameter",
            ));
        }
        if until - since > 30 * DAY {
            return Err(ApiError::window_too_long());
        }
    }
    let today = pacific_date(now);
    let mut days: Vec<NaiveDate> = Vec::new();
    if windowed && until > since {
        let mut d = pacific_date(since);
        let last = pacific_date(until - 1);
        while d <= last {
            if day_start(d) <= now {
                days.push(d);
            }
            d = d.succ_opt().unwrap_or(d);
            if days.len() > 40 {
                break;
            }
        }
    }
    let oldest_recent = today - chrono::Duration::days(30);
    if metrics.iter().any(|m| m.name == "follower_count")
        && days.first().is_some_and(|d| *d < oldest_recent)
    {
        return Err(ApiError::follower_count_window());
    }
    if ctx.edges
        && metrics.iter().any(|m| m.name == "online_followers")
        && days
            .iter()
            .any(|d| edge_cases::online_followers_not_ready(*d, today))
    {
        return Err(ApiError::online_followers_not_ready());
    }
    let small = ctx.st.world.followers_at(acct, now) < 100;
    let mut cache = DayCache {
        st: ctx.st,
        acct,
        now,
        days: Vec::new(),
    };
    let mut data = Vec::new();
    for m in &metrics {
        if small
            && matches!(
                m.name,
                "follower_count" | "online_followers" | "follows_and_unfollows"
            )
        {
            continue;
        }
        let mut e = Map::new();
        e.insert("name".into(), json!(m.name));
        e.insert("period".into(), json!(period));
        if m.demographic {
            match demographic_entry(ctx, acct, m.name, timeframe, &dims) {
                Some(tv) => e.insert("total_value".into(), tv),
                None => continue,
            };
        } else if !total_value {
            let values = time_series_values(ctx, acct, m.name, period, &days, today, &mut cache);
            e.insert("values".into(), Value::Array(values));
        } else {
            let mut vals = Vec::new();
            let mut per_key: Vec<(&'static str, Vec<u64>)> = Vec::new();
            for d in &days {
                if m.name == "follower_count" && *d >= today {
                    continue;
                }
                let Some(dv) = cache.get(*d) else { continue };
                vals.push(dv.get(m.name).unwrap_or(0));
                if let Some(dim) = dims.first()
                    && let Some(parts) = dv.breakdown(m.name, dim)
                {
                    for (k, v) in parts {
                        match per_key.iter_mut().find(|(x, _)| *x == k) {
                            Some((_, list)) => list.push(v),
                            None => per_key.push((k, vec![v])),
                        }
                    }
                }
            }
            let mut tv = Map::new();
            tv.insert("value".into(), json!(numbers::combine(m.name, &vals)));
            if let Some(dim) = dims.first() {
                let results: Vec<Value> = per_key
                    .iter()
                    .map(|(k, list)| (k, numbers::combine(m.name, list)))
                    .filter(|(_, v)| *v > 0)
                    .map(|(k, v)| json!({ "dimension_values": [k], "value": v }))
                    .collect();
                tv.insert(
                    "breakdowns".into(),
                    json!([{ "dimension_keys": [dim], "results": results }]),
                );
            }
            e.insert("total_value".into(), Value::Object(tv));
        }
        e.insert("title".into(), json!(m.title));
        e.insert("description".into(), json!(m.description));
        e.insert(
            "id".into(),
            json!(format!("{id}/insights/{}/{period}", m.name)),
        );
        data.push(Value::Object(e));
    }
    let mut body = Map::new();
    body.insert("data".into(), Value::Array(data));
    if windowed {
        let span = (until - since).max(DAY);
        let mut prev = params.clone();
        prev.set("since", (since - span).to_string());
        prev.set("until", (until - span).to_string());
        let mut next = params.clone();
        next.set("since", (since + span).to_string());
        next.set("until", (until + span).to_string());
        let path = format!("{id}/insights");
        body.insert(
            "paging".into(),
            json!({ "previous": ctx.url(&path, &prev), "next": ctx.url(&path, &next) }),
        );
    }
    Ok(Value::Object(body))
}

fn time_series_values(
    ctx: &Ctx<'_>,
    acct: usize,
    name: &str,
    period: &str,
    days: &[NaiveDate],
    today: NaiveDate,
    cache: &mut DayCache<'_>,
) -> Vec<Value> {
    let oldest_recent = today - chrono::Duration::days(30);
    let mut out = Vec::new();
    for d in days {
        let end_time = fmt_ts(day_end(*d));
        let value = match name {
            "online_followers" => {
                if *d >= today || *d < oldest_recent {
                    continue;
                }
                let hours: Map<String, Value> = numbers::online_followers(&ctx.st.world, acct, *d)
                    .into_iter()
                    .map(|(hour, v)| (hour.to_string(), json!(v)))
                    .collect();
                Value::Object(hours)
            }
            "follower_count" if *d >= today => continue,
            "reach" if period != "day" => {
                let n = if period == "week" { 7 } else { 28 };
                let vals: Vec<u64> = (0..n)
                    .filter_map(|back| {
                        cache
                            .get(*d - chrono::Duration::days(back))
                            .map(|v| v.reach)
                    })
                    .collect();
                json!(numbers::combine("reach", &vals))
            }
            _ => match cache.get(*d) {
                Some(dv) => json!(dv.get(name).unwrap_or(0)),
                None => continue,
            },
        };
        out.push(json!({ "value": value, "end_time": end_time }));
    }
    out
}

fn demographic_entry(
    ctx: &Ctx<'_>,
    acct: usize,
    name: &str,
    timeframe: Option<&str>,
    dims: &[String],
) -> Option<Value> {
    let days = timeframe.and_then(timeframe_days).unwrap_or(30);
    let total = numbers::demographic_total(&ctx.st.world, acct, name, days, ctx.now, |d| {
        ctx.st.day_values(acct, d, ctx.now)
    })?;
    if dims.is_empty() {
        return Some(json!({ "value": total }));
    }
    let dim_refs: Vec<&str> = dims.iter().map(String::as_str).collect();
    let rows = numbers::demographics(&ctx.st.world, acct, total, &dim_refs);
    let mut keys: Vec<Value> = Vec::new();
    if timeframe.is_some() {
        keys.push(json!("timeframe"));
    }
    keys.extend(dims.iter().map(|d| json!(d)));
    let tf_upper = timeframe.map(str::to_ascii_uppercase);
    let results: Vec<Value> = rows
        .into_iter()
        .map(|(k, v)| {
            let mut vals: Vec<Value> = Vec::new();
            if let Some(tf) = &tf_upper {
                vals.push(json!(tf));
            }
            vals.extend(k.into_iter().map(Value::from));
            json!({ "dimension_values": vals, "value": v })
        })
        .collect();
    Some(json!({ "breakdowns": [{ "dimension_keys": keys, "results": results }] }))
}
