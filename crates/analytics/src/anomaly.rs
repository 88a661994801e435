//! Anomalies in daily series: a day whose value leaves the band of a robust, weekday-aware
//! baseline built from the days before it.
//!
//! The baseline of a day is the median of the same weekday's values over the trailing
//! `seasonal_weeks` weeks (at least `min_seasonal` of them present); its scale is the scaled
//! median absolute deviation of every trailing day from its own weekday's median (so the
//! scale rests on up to seven weeks' worth of days, not eight values). With fewer earlier
//! same weekdays, a shorter fallback takes every day of the trailing `fallback_days` (at
//! least `min_fallback` present) and says so (low confidence); with less history still,
//! there is no verdict. Counts are compared on
//! the `ln(1 + x)` scale (their noise is multiplicative), signed changes on their own scale.
//! The scale never drops below the counting noise of the median (Poisson: `1/√(1 + m)` on the
//! log scale; one unit for changes), so a quiet series does not alert on a count of 3.
//!
//! A day is an anomaly when its robust z, `(t(value) − center) / scale`, is beyond `k`.
//! Missing days are skipped and never counted as 0. Post-level anomalies compare a post's
//! engagement with earlier posts of the same type at the same age ([`post_anomalies`]).

use chrono::{Datelike, NaiveDate, Weekday};

use crate::definition as def;
use crate::figure::Figure;
use crate::input::{AccountHistory, AccountMetric};
use crate::series::DailySeries;
use crate::stats::{median_in_place, robust_scale};
use crate::trending::{TrendMetric, TrendingConfig, TrendingIndex};

/// Settings of the detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnomalyConfig {
    /// Band half-width in robust z (scaled MADs). The default is the one
    /// `igsync bench analytics` justifies (see `docs/benchmarks.md`).
    pub k: f64,
    /// Weeks of the same weekday in the seasonal baseline.
    pub seasonal_weeks: usize,
    /// Fewer present same-weekday values than this: use the fallback.
    pub min_seasonal: usize,
    /// Days in the fallback baseline.
    pub fallback_days: usize,
    /// Fewer present days than this in the fallback: no verdict.
    pub min_fallback: usize,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            k: DEFAULT_K,
            seasonal_weeks: 8,
            min_seasonal: 4,
            fallback_days: 14,
            min_fallback: 7,
        }
    }
}

/// The default band half-width: the k with the best F1 against the simulator's labelled
/// anomalies whose precision, leaving out the world's own unlabelled outliers, stays at or
/// above 0.9 (`igsync bench analytics`, `docs/benchmarks.md`).
pub const DEFAULT_K: f64 = 3.5;

/// How values are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesKind {
    /// Non-negative counts (reach, views, taps…): compared on the `ln(1 + x)` scale, sizes
    /// stated as a ratio to the usual value.
    Count,
    /// Signed changes (follower change): compared as they are, sizes stated as a difference.
    Change,
}

/// Which baseline a verdict rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaselineKind {
    /// The same weekday over the trailing weeks (normal confidence).
    Weekday,
    /// Every day of the trailing fallback window (low confidence: too few same weekdays).
    RecentDays,
}

impl BaselineKind {
    /// Stable key.
    pub const fn key(self) -> &'static str {
        match self {
            BaselineKind::Weekday => "weekday",
            BaselineKind::RecentDays => "recent_days",
        }
    }
}

/// The baseline of one day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    /// Which baseline.
    pub kind: BaselineKind,
    /// Number of earlier values it rests on.
    pub n: usize,
    /// The usual value (`anomaly_usual_value`): the median, on the value's own scale.
    pub usual: f64,
    /// Lower edge of the band on the value's own scale.
    pub low: f64,
    /// Upper edge of the band on the value's own scale.
    pub high: f64,
    /// Center on the comparison scale.
    pub center: f64,
    /// Scale on the comparison scale (scaled MAD, at least the counting noise).
    pub scale: f64,
}

/// Why a day has no verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoBaseline {
    /// The day itself has no value.
    NoValue,
    /// Too little earlier history: present days in the fallback window.
    TooShort {
        /// Present days found.
        present: usize,
    },
}

/// Whether the value was above or below the band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Above the band (a spike).
    Above,
    /// Below the band (a drop).
    Below,
}

impl Direction {
    /// Stable key.
    pub const fn key(self) -> &'static str {
        match self {
            Direction::Above => "above",
            Direction::Below => "below",
        }
    }
}

/// One anomalous day.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    /// The day.
    pub day: NaiveDate,
    /// The day's value.
    pub value: f64,
    /// The baseline it was compared with.
    pub baseline: Baseline,
    /// Above or below.
    pub direction: Direction,
    /// `anomaly_robust_z`.
    pub robust_z: Figure,
    /// `anomaly_ratio_to_usual` (counts only; missing when the usual value is 0).
    pub ratio: Figure,
    /// `anomaly_one_in_days`: how rare a deviation this large is under the baseline.
    pub one_in_days: Figure,
    /// The sentence: "reach on Tue 3 Dec 2024 was 3.4× the usual Tuesday (…); 1 in ~500 days
    /// by this baseline".
    pub message: String,
}

/// The baseline of position `idx` from the values before it.
pub fn baseline(
    series: &DailySeries,
    idx: usize,
    kind: SeriesKind,
    config: &AnomalyConfig,
) -> Result<Baseline, NoBaseline> {
    let t = |v: f64| transform(kind, v);
    let mut seasonal: Vec<f64> = (1..=config.seasonal_weeks)
        .filter_map(|w| idx.checked_sub(7 * w))
        .filter_map(|i| series.values[i])
        .map(t)
        .collect();
    let (base_kind, n, center, spread) = if seasonal.len() >= config.min_seasonal.max(1) {
        let n = seasonal.len();
        let center = median_in_place(&mut seasonal).ok_or(NoBaseline::TooShort { present: 0 })?;
        // The spread: every trailing day's deviation from its own weekday's median, so the
        // scale rests on up to seven times as many values as the center.
        let mut deviations = Vec::with_capacity(7 * config.seasonal_weeks);
        for back in 1..=7 {
            let mut same: Vec<f64> = (0..config.seasonal_weeks)
                .filter_map(|w| idx.checked_sub(back + 7 * w))
                .filter_map(|i| series.values[i])
                .map(t)
                .collect();
            if same.len() < 2 {
                continue;
            }
            let values = same.clone();
            let m = median_in_place(&mut same).unwrap_or(0.0);
            deviations.extend(values.iter().map(|v| v - m));
        }
        (BaselineKind::Weekday, n, center, deviations)
    } else {
        let mut recent: Vec<f64> = (1..=config.fallback_days)
            .filter_map(|d| idx.checked_sub(d))
            .filter_map(|i| series.values[i])
            .map(t)
            .collect();
        if recent.len() < config.min_fallback.max(1) {
            return Err(NoBaseline::TooShort {
                present: recent.len(),
            });
        }
        let n = recent.len();
        let center = median_in_place(&mut recent).ok_or(NoBaseline::TooShort { present: 0 })?;
        let deviations = recent.iter().map(|v| v - center).collect();
        (BaselineKind::RecentDays, n, center, deviations)
    };
    let floor = match kind {
        SeriesKind::Count => 1.0 / (1.0 + untransform(kind, center).max(0.0)).sqrt(),
        SeriesKind::Change => 1.0,
    };
    let scale = robust_scale(&spread, 0.0)
        .map_or(floor, |(s, _)| s)
        .max(floor);
    let low = untransform(kind, center - config.k * scale);
    Ok(Baseline {
        kind: base_kind,
        n,
        usual: untransform(kind, center),
        low: if kind == SeriesKind::Count {
            low.max(0.0)
        } else {
            low
        },
        high: untransform(kind, center + config.k * scale),
        center,
        scale,
    })
}

/// The verdict on position `idx`: `Ok(Some(anomaly))`, `Ok(None)` inside the band, or why
/// there is no verdict. `label` names the series in the message ("reach").
pub fn assess_day(
    series: &DailySeries,
    idx: usize,
    kind: SeriesKind,
    label: &str,
    config: &AnomalyConfig,
) -> Result<Option<Anomaly>, NoBaseline> {
    let value = series
        .values
        .get(idx)
        .copied()
        .flatten()
        .ok_or(NoBaseline::NoValue)?;
    let base = baseline(series, idx, kind, config)?;
    let z = (transform(kind, value) - base.center) / base.scale;
    if z.abs() <= config.k || !z.is_finite() {
        return Ok(None);
    }
    let day = series.day(idx);
    let direction = if z > 0.0 {
        Direction::Above
    } else {
        Direction::Below
    };
    let ratio = match kind {
        SeriesKind::Count if base.usual > 0.0 => {
            Figure::new(&def::ANOMALY_RATIO_TO_USUAL, Some(value / base.usual))
        }
        SeriesKind::Count => Figure::missing(&def::ANOMALY_RATIO_TO_USUAL, "the usual value is 0"),
        SeriesKind::Change => Figure::missing(
            &def::ANOMALY_RATIO_TO_USUAL,
            "a change has no ratio; the difference is stated instead",
        ),
    };
    let one_in = 1.0 / upper_tail(z.abs());
    let usual_what = match base.kind {
        BaselineKind::Weekday => format!("the usual {}", weekday_name(day.weekday())),
        BaselineKind::RecentDays => {
            format!("the usual day of the last {} days", config.fallback_days)
        }
    };
    let size = match (kind, ratio.value) {
        (SeriesKind::Count, Some(r)) => format!(
            "{} {usual_what} ({} vs {})",
            times(r),
            count(value),
            count(base.usual)
        ),
        (SeriesKind::Count, None) => format!("{} against {usual_what} of 0", count(value)),
        (SeriesKind::Change, _) => {
            format!(
                "{} against {usual_what} of {}",
                signed(value),
                signed(base.usual)
            )
        }
    };
    let caveat = match base.kind {
        BaselineKind::Weekday => String::new(),
        BaselineKind::RecentDays => format!(
            " (low confidence: fewer than {} earlier {}s)",
            config.min_seasonal,
            weekday_name(day.weekday())
        ),
    };
    let message = format!(
        "{label} on {} was {size}; {} by this baseline{caveat}",
        day.format("%a %-d %b %Y"),
        rarity(one_in)
    );
    Ok(Some(Anomaly {
        day,
        value,
        baseline: base,
        direction,
        robust_z: Figure::new(&def::ANOMALY_ROBUST_Z, Some(z)),
        ratio,
        one_in_days: Figure::new(&def::ANOMALY_ONE_IN_DAYS, Some(one_in)),
        message,
    }))
}

/// Every anomalous day of the series (days without a verdict are skipped).
pub fn detect_anomalies(
    series: &DailySeries,
    kind: SeriesKind,
    label: &str,
    config: &AnomalyConfig,
) -> Vec<Anomaly> {
    (0..series.len())
        .filter_map(|idx| assess_day(series, idx, kind, label, config).ok().flatten())
        .collect()
}

/// The account metrics checked for anomalies, with how they are compared.
pub const CHECKED_METRICS: &[AccountMetric] = &[
    AccountMetric::Reach,
    AccountMetric::Views,
    AccountMetric::ProfileViews,
    AccountMetric::WebsiteClicks,
    AccountMetric::ProfileLinksTaps,
    AccountMetric::TotalInteractions,
    AccountMetric::Follows,
];

/// An anomaly of one of an account's series.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesAnomaly {
    /// Stable key of the series: an [`AccountMetric`] key or `follower_change`.
    pub series: &'static str,
    /// The anomaly.
    pub anomaly: Anomaly,
}

/// Anomalies among the `recent_days` days up to `last_day` of the account's stored daily
/// series (the metrics in [`CHECKED_METRICS`] and the day-over-day follower change). Pass as
/// `last_day` the last day whose values are final: a day still filling would look like a
/// drop.
pub fn account_anomalies(
    history: &AccountHistory,
    last_day: NaiveDate,
    recent_days: usize,
    config: &AnomalyConfig,
) -> Vec<SeriesAnomaly> {
    let mut res = Vec::new();
    let mut check = |key: &'static str, label: &str, series: DailySeries, kind| {
        let Some(end) = series
            .index_of(last_day)
            .map(|it| it + 1)
            .or_else(|| (series.last_day()? < last_day).then_some(series.len()))
        else {
            return;
        };
        for idx in end.saturating_sub(recent_days)..end {
            if let Ok(Some(anomaly)) = assess_day(&series, idx, kind, label, config) {
                res.push(SeriesAnomaly {
                    series: key,
                    anomaly,
                });
            }
        }
    };
    for metric in CHECKED_METRICS {
        let label = metric.key().replace('_', " ");
        check(
            metric.key(),
            &label,
            DailySeries::account_metric(history, *metric),
            SeriesKind::Count,
        );
    }
    let followers = DailySeries::followers(&history.follower_samples, history.account.time_zone);
    check(
        "follower_change",
        "follower change",
        followers.day_over_day(),
        SeriesKind::Change,
    );
    res
}

/// A post whose engagement at its age is beyond `k` robust z of earlier same-type posts at
/// the same age (above or below).
#[derive(Debug, Clone, PartialEq)]
pub struct PostAnomaly {
    /// Index into [`AccountHistory::posts`].
    pub post_idx: usize,
    /// Instagram media id.
    pub ig_media_id: String,
    /// Above or below its peers.
    pub direction: Direction,
    /// `trending_robust_z` of the assessment.
    pub robust_z: Figure,
    /// `trending_ratio_at_age` of the assessment.
    pub ratio: Figure,
    /// The sentence.
    pub message: String,
}

/// Posts among `candidates` whose engagement is beyond `k` of same-age peers at `as_of`.
pub fn post_anomalies(
    history: &AccountHistory,
    candidates: impl IntoIterator<Item = usize>,
    as_of: chrono::DateTime<chrono::Utc>,
    config: &AnomalyConfig,
) -> Vec<PostAnomaly> {
    let trending = TrendingConfig::default();
    let index = TrendingIndex::new(&history.posts, TrendMetric::Engagement, as_of);
    candidates
        .into_iter()
        .filter_map(|idx| index.assess(idx, &trending))
        .filter_map(|a| {
            let z = a.robust_z.value?;
            if z.abs() <= config.k || history.posts[a.post_idx].deleted {
                return None;
            }
            let direction = if z > 0.0 {
                Direction::Above
            } else {
                Direction::Below
            };
            let size = a
                .ratio
                .value
                .map_or_else(|| "unlike".to_string(), |r| format!("{} that of", times(r)));
            Some(PostAnomaly {
                post_idx: a.post_idx,
                message: format!(
                    "post {}'s engagement is {size} its {} same-type peers at the same age; {} by this baseline",
                    a.ig_media_id,
                    a.baseline_posts,
                    rarity(1.0 / upper_tail(z.abs()))
                        .replace("days", "posts")
                ),
                ig_media_id: a.ig_media_id,
                direction,
                robust_z: a.robust_z,
                ratio: a.ratio,
            })
        })
        .collect()
}

fn transform(kind: SeriesKind, v: f64) -> f64 {
    match kind {
        SeriesKind::Count => v.max(0.0).ln_1p(),
        SeriesKind::Change => v,
    }
}

fn untransform(kind: SeriesKind, t: f64) -> f64 {
    match kind {
        SeriesKind::Count => t.exp_m1(),
        SeriesKind::Change => t,
    }
}

/// P(Z > z) of the standard normal: `erfc(z/√2)/2`, with the Chebyshev fit of Numerical
/// Recipes' `erfcc` (relative error below 1.2e-7 everywhere).
pub(crate) fn upper_tail(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let ans = t * poly.exp();
    if x >= 0.0 { ans } else { 2.0 - ans }
}

/// "1 in ~500 days", two significant digits; "rarer than 1 in a million days" beyond.
fn rarity(one_in: f64) -> String {
    if !one_in.is_finite() || one_in >= 1e6 {
        return "rarer than 1 in a million days".to_string();
    }
    format!("1 in ~{} days", count(round_significant(one_in, 2)))
}

fn round_significant(x: f64, digits: i32) -> f64 {
    if x <= 0.0 {
        return x;
    }
    let p = 10f64.powi(digits - 1 - x.log10().floor() as i32);
    (x * p).round() / p
}

fn times(r: f64) -> String {
    if (r * 10.0).round() >= 100.0 {
        format!("{r:.0}×")
    } else {
        format!("{r:.1}×")
    }
}

/// A count with thousands separators ("12,345"); one decimal below 10 when fractional.
fn count(v: f64) -> String {
    if v.abs() < 10.0 && v.fract().abs() > 1e-9 {
        return format!("{v:.1}");
    }
    let n = v.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn signed(v: f64) -> String {
    if v > 0.0 {
        format!("+{}", count(v))
    } else {
        count(v)
    }
}

fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

#[cfg(test)]
mod tests;
