//! Trending posts: a post trends when it clearly beats the account's own baseline for posts
//! of the same media product type at the same age.
//!
//! For a post observed at age `a` (its latest snapshot, captured at or before `as_of`):
//!
//! * **Baseline**: among the last `max_baseline_posts` (100) earlier posts of the same media
//!   product type (deleted ones included: their history is real), those whose snapshot
//!   history covers age `a`. A past post's value at age `a` is interpolated linearly between
//!   its two snapshots around `a` (publication counts as a snapshot of value 0), but only when
//!   they are at most `max(a × max_gap_fraction, min_gap_allowance)` apart; otherwise the post
//!   was not observed closely enough at that age and is left out.
//! * **Expected value** (`trending_expected_at_age`): CrowdTangle-style mean of the middle
//!   50 % of the baseline values (or their median).
//! * **Ratio** (`trending_ratio_at_age`): observed / expected; none when expected is 0.
//! * **Robust z** (`trending_robust_z`): `(ln(1+x) − median) / (1.4826 · MAD)` on
//!   `ln(1+value)` of the baseline; when the MAD is 0, `1.2533 ×` the mean absolute deviation
//!   is the scale; none when every baseline value is equal.
//! * **Verdict**: trending when the baseline has at least `min_baseline_posts` posts, the
//!   value beats the expectation, the ratio is ≥ `min_ratio` and the z-score is
//!   ≥ `min_robust_z` (a measure that is undefined — expected 0, or no spread — is skipped,
//!   but never both). Too little history gives [`TrendingVerdict::InsufficientBaseline`]:
//!   never a trending claim without a baseline. Deleted posts are assessed but never trend.
//!
//! The original specification's fixed-weight score is kept as a named alternative:
//! [`legacy_weighted_trending_score`].

use std::cell::OnceCell;
use std::fmt;

use chrono::{DateTime, Duration, Utc};

use crate::definition as def;
use crate::engagement::engagement;
use crate::figure::Figure;
use crate::input::{MediaProductType, Post, PostMetrics};
use crate::stats::{self, ScaleKind};

/// The post metric compared against the baseline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TrendMetric {
    /// Likes + comments + saves + shares (definition `engagement`).
    #[default]
    Engagement,
    /// Reach.
    Reach,
    /// Views.
    Views,
    /// Meta's total interactions.
    TotalInteractions,
}

impl TrendMetric {
    /// Stable key.
    pub const fn key(self) -> &'static str {
        match self {
            TrendMetric::Engagement => "engagement",
            TrendMetric::Reach => "reach",
            TrendMetric::Views => "views",
            TrendMetric::TotalInteractions => "total_interactions",
        }
    }

    /// The metric's value in a set of post metrics.
    pub fn value(self, metrics: &PostMetrics) -> Option<i64> {
        match self {
            TrendMetric::Engagement => engagement(metrics).total,
            TrendMetric::Reach => metrics.reach,
            TrendMetric::Views => metrics.views,
            TrendMetric::TotalInteractions => metrics.total_interactions,
        }
    }

    fn label(self) -> &'static str {
        match self {
            TrendMetric::Engagement => "Engagement",
            TrendMetric::Reach => "Reach",
            TrendMetric::Views => "Views",
            TrendMetric::TotalInteractions => "Total interactions",
        }
    }
}

/// How the expected value is computed from the baseline values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum BaselineStatistic {
    /// Mean of the middle 50 % (drop ⌊n/4⌋ values at each end), as CrowdTangle does.
    #[default]
    MiddleFiftyMean,
    /// Median.
    Median,
}

impl BaselineStatistic {
    fn describe(self) -> &'static str {
        match self {
            BaselineStatistic::MiddleFiftyMean => "middle-50% mean",
            BaselineStatistic::Median => "median",
        }
    }
}

/// Settings of trending detection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendingConfig {
    /// Metric compared.
    pub metric: TrendMetric,
    /// How the expectation is computed.
    pub baseline: BaselineStatistic,
    /// How many earlier posts of the same type are considered (CrowdTangle: 100).
    pub max_baseline_posts: usize,
    /// Fewer baseline posts than this: no verdict.
    pub min_baseline_posts: usize,
    /// Minimum ratio to expected.
    pub min_ratio: f64,
    /// Minimum robust z-score.
    pub min_robust_z: f64,
    /// Largest snapshot gap used for interpolation, as a fraction of the age.
    pub max_gap_fraction: f64,
    /// Snapshot gaps up to this long are always accepted for interpolation.
    pub min_gap_allowance: Duration,
    /// Meta's numbers are final this long after publication (48 h): a snapshot taken at or
    /// after this age gives the post's value at every later age, so settled posts form a
    /// baseline from their first sync on.
    pub settled_after: Duration,
}

impl Default for TrendingConfig {
    fn default() -> Self {
        TrendingConfig {
            metric: TrendMetric::Engagement,
            baseline: BaselineStatistic::MiddleFiftyMean,
            max_baseline_posts: 100,
            min_baseline_posts: 5,
            min_ratio: 1.5,
            min_robust_z: 2.0,
            max_gap_fraction: 0.5,
            min_gap_allowance: Duration::hours(1),
            settled_after: Duration::hours(48),
        }
    }
}

/// The outcome of a trending assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrendingVerdict {
    /// Clearly above the account's own baseline.
    Trending,
    /// Within or below the usual range.
    NotTrending,
    /// Too few earlier posts of the same type observed at this age: no claim either way.
    InsufficientBaseline,
    /// The post has no snapshot with the metric (at or before `as_of`).
    NoObservation,
    /// The post was deleted; it is assessed for information but never trends.
    Deleted,
}

impl TrendingVerdict {
    /// Stable key.
    pub const fn key(self) -> &'static str {
        match self {
            TrendingVerdict::Trending => "trending",
            TrendingVerdict::NotTrending => "not_trending",
            TrendingVerdict::InsufficientBaseline => "insufficient_baseline",
            TrendingVerdict::NoObservation => "no_observation",
            TrendingVerdict::Deleted => "deleted",
        }
    }
}

/// The assessment of one post.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendingAssessment {
    /// Index of the post in the slice that was assessed.
    pub post_idx: usize,
    /// Instagram media id.
    pub ig_media_id: String,
    /// Media product type (the baseline's stratum).
    pub product_type: MediaProductType,
    /// Metric compared.
    pub metric: TrendMetric,
    /// When the compared value was captured.
    pub observed_at: Option<DateTime<Utc>>,
    /// Age of the post at that moment.
    pub age: Option<Duration>,
    /// The post's value at that age.
    pub observed: Option<f64>,
    /// `trending_expected_at_age`.
    pub expected: Figure,
    /// `trending_ratio_at_age`.
    pub ratio: Figure,
    /// `trending_robust_z`.
    pub robust_z: Figure,
    /// Number of earlier same-type posts observed at this age.
    pub baseline_posts: usize,
    /// The verdict.
    pub verdict: TrendingVerdict,
    /// Human-readable explanation of the verdict.
    pub why: String,
}

impl TrendingAssessment {
    /// Whether the verdict is [`TrendingVerdict::Trending`].
    pub fn is_trending(&self) -> bool {
        self.verdict == TrendingVerdict::Trending
    }
}

/// Snapshot curves of a set of posts for one metric, as known at `as_of`; answers trending
/// questions for any of those posts. Curves are built on first use, so assessing a few recent
/// posts of a large history only reads the snapshots of those posts and their baselines.
#[derive(Debug, Clone)]
pub struct TrendingIndex<'a> {
    posts: &'a [Post],
    metric: TrendMetric,
    as_of: DateTime<Utc>,
    /// Per product type, post indices ordered by publish time (then media id).
    strata: [Vec<usize>; 3],
    /// For each post index: its position in its stratum.
    position: Vec<usize>,
    /// For each post index: (seconds since publication, value), ascending by age, from the
    /// snapshots captured at or before `as_of` that carry the metric.
    curves: Vec<OnceCell<Vec<(i64, f64)>>>,
}

impl<'a> TrendingIndex<'a> {
    /// Indexes `posts` for `metric`, using only snapshots captured at or before `as_of`.
    pub fn new(posts: &'a [Post], metric: TrendMetric, as_of: DateTime<Utc>) -> TrendingIndex<'a> {
        let mut strata: [Vec<usize>; 3] = Default::default();
        for (post_idx, post) in posts.iter().enumerate() {
            strata[post.product_type.index()].push(post_idx);
        }
        let mut position = vec![0; posts.len()];
        for stratum in &mut strata {
            stratum.sort_by(|a, b| {
                let (pa, pb) = (&posts[*a], &posts[*b]);
                pa.published_at
                    .cmp(&pb.published_at)
                    .then_with(|| pa.ig_media_id.cmp(&pb.ig_media_id))
            });
            for (pos, post_idx) in stratum.iter().enumerate() {
                position[*post_idx] = pos;
            }
        }
        let curves = vec![OnceCell::new(); posts.len()];
        TrendingIndex {
            posts,
            metric,
            as_of,
            strata,
            position,
            curves,
        }
    }

    fn curve(&self, post_idx: usize) -> &[(i64, f64)] {
        self.curves[post_idx].get_or_init(|| {
            let post = &self.posts[post_idx];
            let published = post.published_at.timestamp();
            let as_of = self.as_of.timestamp();
            let mut points: Vec<(i64, f64)> = post
                .snapshots
                .iter()
                .filter_map(|it| {
                    let captured = it.captured_at.timestamp();
                    if captured > as_of || captured < published {
                        return None;
                    }
                    let value = self.metric.value(&it.metrics)?;
                    Some((captured - published, value.max(0) as f64))
                })
                .collect();
            if !points.is_sorted_by_key(|it| it.0) {
                points.sort_by_key(|it| it.0);
            }
            points
        })
    }

    /// The metric the index was built for.
    pub fn metric(&self) -> TrendMetric {
        self.metric
    }

    /// The instant the index reflects.
    pub fn as_of(&self) -> DateTime<Utc> {
        self.as_of
    }

    /// Assesses the post at `post_idx` (index into the slice given to [`TrendingIndex::new`]);
    /// `None` when the index is out of range.
    pub fn assess(&self, post_idx: usize, config: &TrendingConfig) -> Option<TrendingAssessment> {
        let post = self.posts.get(post_idx)?;
        Some(self.assess_post(post_idx, post, config))
    }

    /// Assesses `post`, which is `self.posts[post_idx]`.
    pub(crate) fn assess_post(
        &self,
        post_idx: usize,
        post: &Post,
        config: &TrendingConfig,
    ) -> TrendingAssessment {
        let stratum = &self.strata[post.product_type.index()];
        let pos = self.position[post_idx];
        let type_name = product_type_plural(post.product_type);
        let base = |verdict, why: String| TrendingAssessment {
            post_idx,
            ig_media_id: post.ig_media_id.clone(),
            product_type: post.product_type,
            metric: self.metric,
            observed_at: None,
            age: None,
            observed: None,
            expected: Figure::missing(&def::TRENDING_EXPECTED_AT_AGE, why.clone()),
            ratio: Figure::missing(&def::TRENDING_RATIO_AT_AGE, why.clone()),
            robust_z: Figure::missing(&def::TRENDING_ROBUST_Z, why.clone()),
            baseline_posts: 0,
            verdict,
            why,
        };

        let Some(&(age_secs, observed)) = self.curve(post_idx).last() else {
            let why = format!(
                "No snapshot with {} yet, so the post cannot be compared with earlier {type_name}.",
                self.metric.key()
            );
            let verdict = if post.deleted {
                TrendingVerdict::Deleted
            } else {
                TrendingVerdict::NoObservation
            };
            return base(verdict, why);
        };
        let age = Duration::seconds(age_secs);
        let observed_at = post.published_at + age;

        // The last `max_baseline_posts` posts published strictly before the target.
        let end =
            stratum[..pos].partition_point(|it| self.posts[*it].published_at < post.published_at);
        let begin = end.saturating_sub(config.max_baseline_posts);
        let mut values: Vec<f64> = stratum[begin..end]
            .iter()
            .filter_map(|it| value_at_age(self.curve(*it), age_secs, config))
            .collect();
        let n = values.len();
        let age_text = format_age(age);
        let label = self.metric.label();

        let mut res = base(TrendingVerdict::NotTrending, String::new());
        res.observed_at = Some(observed_at);
        res.age = Some(age);
        res.observed = Some(observed);
        res.baseline_posts = n;

        if n < config.min_baseline_posts.max(1) {
            let why = format!(
                "Not enough history: {n} earlier {type_name} observed at this age ({age_text}); at \
                 least {} needed, so no trending claim is made.",
                config.min_baseline_posts.max(1)
            );
            res.expected = Figure::missing(&def::TRENDING_EXPECTED_AT_AGE, why.clone());
            res.ratio = Figure::missing(&def::TRENDING_RATIO_AT_AGE, why.clone());
            res.robust_z = Figure::missing(&def::TRENDING_ROBUST_Z, why.clone());
            res.verdict = if post.deleted {
                TrendingVerdict::Deleted
            } else {
                TrendingVerdict::InsufficientBaseline
            };
            res.why = why;
            return res;
        }

        let expected = match config.baseline {
            BaselineStatistic::MiddleFiftyMean => stats::middle_fifty_mean_in_place(&mut values),
            BaselineStatistic::Median => stats::median_in_place(&mut values),
        }
        .unwrap_or(0.0);
        let stat = config.baseline.describe();
        res.expected = Figure::new(&def::TRENDING_EXPECTED_AT_AGE, Some(expected))
            .with_note(format!("{stat} of {n} earlier {type_name} at {age_text}"));

        let ratio = (expected > 0.0).then(|| observed / expected);
        res.ratio = match ratio {
            Some(it) => Figure::new(&def::TRENDING_RATIO_AT_AGE, Some(it)),
            None => Figure::missing(
                &def::TRENDING_RATIO_AT_AGE,
                "the baseline expects 0 at this age; no ratio",
            ),
        };

        let mut logs: Vec<f64> = values.iter().map(|it| it.ln_1p()).collect();
        let log_median = stats::median_in_place(&mut logs).unwrap_or(0.0);
        let scale = stats::robust_scale(&logs, log_median);
        let z = scale.map(|(s, _)| (observed.ln_1p() - log_median) / s);
        res.robust_z = match (z, scale) {
            (Some(z), Some((_, ScaleKind::Mad))) => Figure::new(&def::TRENDING_ROBUST_Z, Some(z)),
            (Some(z), Some((_, ScaleKind::MeanAbsoluteDeviation))) => Figure::new(
                &def::TRENDING_ROBUST_Z,
                Some(z),
            )
            .with_note(
                "MAD is 0 (over half the baseline is equal); scaled mean absolute deviation used",
            ),
            _ => Figure::missing(
                &def::TRENDING_ROBUST_Z,
                "every baseline value is equal; no spread to compare with",
            ),
        };
        let z = res.robust_z.value;

        let beats = observed > expected;
        let ratio_ok = ratio.is_none_or(|it| it >= config.min_ratio);
        let z_ok = z.is_none_or(|it| it >= config.min_robust_z);
        let trending = beats && ratio_ok && z_ok && (ratio.is_some() || z.is_some());

        let ratio_text = match ratio {
            Some(it) => format!("{it:.2}× the expected {}", format_value(expected)),
            None => "above an expected 0".to_owned(),
        };
        let z_text = match z {
            Some(it) => format!("robust z = {it:.2}"),
            None => "no robust z (baseline has no spread)".to_owned(),
        };
        let head = format!(
            "{label} of {} at {age_text} is {ratio_text} ({stat} of {n} earlier {type_name} at the \
             same age); {z_text}",
            format_value(observed)
        );
        res.verdict = if post.deleted {
            TrendingVerdict::Deleted
        } else if trending {
            TrendingVerdict::Trending
        } else {
            TrendingVerdict::NotTrending
        };
        res.why = match res.verdict {
            TrendingVerdict::Trending => format!(
                "{head}. Trending: at least {}× expected and z ≥ {}.",
                config.min_ratio, config.min_robust_z
            ),
            TrendingVerdict::Deleted => {
                format!("{head}. The post was deleted, so it is not reported as trending.")
            }
            _ => {
                let mut reasons = Vec::new();
                if !beats {
                    reasons.push("it does not beat the expectation".to_owned());
                }
                if !ratio_ok {
                    reasons.push(format!("ratio below {}×", config.min_ratio));
                }
                if !z_ok {
                    reasons.push(format!("z below {}", config.min_robust_z));
                }
                if ratio.is_none() && z.is_none() {
                    reasons.push("neither ratio nor z-score is defined".to_owned());
                }
                format!("{head}. Not trending: {}.", reasons.join(", "))
            }
        };
        res
    }

    /// Assesses every post whose index is yielded by `post_indices`.
    pub fn assess_many(
        &self,
        post_indices: impl IntoIterator<Item = usize>,
        config: &TrendingConfig,
    ) -> Vec<TrendingAssessment> {
        post_indices
            .into_iter()
            .filter_map(|it| self.assess(it, config))
            .collect()
    }
}

/// Assesses the posts at `post_indices` of `posts` as of `as_of`.
pub fn assess_trending(
    posts: &[Post],
    post_indices: impl IntoIterator<Item = usize>,
    as_of: DateTime<Utc>,
    config: &TrendingConfig,
) -> Vec<TrendingAssessment> {
    TrendingIndex::new(posts, config.metric, as_of).assess_many(post_indices, config)
}

/// The value of a curve at `age` seconds: exact snapshot, or linear interpolation between the
/// snapshots around it (publication = value 0) when they are close enough. At or after the
/// settling age, the first snapshot taken once settled is the value (Meta's numbers no
/// longer change).
fn value_at_age(points: &[(i64, f64)], age: i64, config: &TrendingConfig) -> Option<f64> {
    let settled = config.settled_after.num_seconds();
    if age >= settled
        && let Some(point) = points.iter().find(|it| it.0 >= settled)
    {
        return Some(point.1);
    }
    let idx = points.partition_point(|it| it.0 < age);
    let upper = *points.get(idx)?;
    if upper.0 == age {
        return Some(upper.1);
    }
    let lower = if idx == 0 { (0, 0.0) } else { points[idx - 1] };
    let gap = (upper.0 - lower.0) as f64;
    let allowed =
        (age as f64 * config.max_gap_fraction).max(config.min_gap_allowance.num_seconds() as f64);
    if gap > allowed || gap <= 0.0 {
        return None;
    }
    let t = (age - lower.0) as f64 / gap;
    Some(lower.1 + (upper.1 - lower.1) * t)
}

/// The original specification's trending score, on reach instead of the removed impressions
/// (definition `legacy_weighted_trending_score`).
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyTrendingScore {
    /// The weighted score.
    pub score: Figure,
    /// Weight 0.4: engagement rate by reach in percent, not capped.
    pub engagement_rate_component: Option<f64>,
    /// Weight 0.3: `min(engagement / 1000, 100)` — 100 000 engagements saturate it.
    pub engagement_component: Option<f64>,
    /// Weight 0.2: `min(reach / 10 000, 100)` — 1 000 000 reach saturates it.
    pub reach_component: Option<f64>,
    /// Weight 0.1: `100 − 10 × days since publication`, clamped to 0–100 (0 after 10 days).
    pub recency_component: f64,
}

/// Computes the legacy weighted trending score of a post at `now`. It has no value when
/// engagement or reach is missing or reach is 0 (the original silently used 0).
pub fn legacy_weighted_trending_score(post: &Post, now: DateTime<Utc>) -> LegacyTrendingScore {
    let engagement = engagement(&post.metrics).total;
    let reach = post.metrics.reach;
    let days = (now - post.published_at).num_seconds() as f64 / 86_400.0;
    let recency = (100.0 - days * 10.0).clamp(0.0, 100.0);
    let er = match (engagement, reach) {
        (Some(e), Some(r)) if r > 0 && e >= 0 => Some(e as f64 / r as f64 * 100.0),
        _ => None,
    };
    let eng_c = engagement
        .filter(|it| *it >= 0)
        .map(|it| (it as f64 / 1000.0).min(100.0));
    let reach_c = reach
        .filter(|it| *it >= 0)
        .map(|it| (it as f64 / 10_000.0).min(100.0));
    let score = match (er, eng_c, reach_c) {
        (Some(er), Some(e), Some(r)) => Figure::new(
            &def::LEGACY_WEIGHTED_TRENDING_SCORE,
            Some(0.4 * er + 0.3 * e + 0.2 * r + 0.1 * recency),
        ),
        _ => Figure::missing(
            &def::LEGACY_WEIGHTED_TRENDING_SCORE,
            "needs engagement and a reach above 0",
        ),
    };
    LegacyTrendingScore {
        score,
        engagement_rate_component: er,
        engagement_component: eng_c,
        reach_component: reach_c,
        recency_component: recency,
    }
}

/// The original specification's trending list: non-deleted posts published in the `days`
/// days before `now`, ranked by [`legacy_weighted_trending_score`], best first (ties: newer
/// first), at most `limit`. Returns `(post index, score)` pairs.
pub fn legacy_trending_ranking(
    posts: &[Post],
    now: DateTime<Utc>,
    days: u32,
    limit: usize,
) -> Vec<(usize, LegacyTrendingScore)> {
    let since = now - Duration::days(i64::from(days));
    let mut res: Vec<(usize, LegacyTrendingScore)> = posts
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.deleted && p.published_at >= since && p.published_at <= now)
        .map(|(idx, p)| (idx, legacy_weighted_trending_score(p, now)))
        .filter(|(_, s)| s.score.value.is_some())
        .collect();
    res.sort_by(|(ia, a), (ib, b)| {
        let (a, b) = (a.score.value.unwrap_or(0.0), b.score.value.unwrap_or(0.0));
        b.total_cmp(&a)
            .then_with(|| posts[*ib].published_at.cmp(&posts[*ia].published_at))
    });
    res.truncate(limit);
    res
}

fn product_type_plural(product_type: MediaProductType) -> &'static str {
    match product_type {
        MediaProductType::Feed => "feed posts",
        MediaProductType::Reels => "reels",
        MediaProductType::Story => "stories",
    }
}

/// "45 min", "26 h", "3 d 4 h".
pub(crate) fn format_age(age: Duration) -> String {
    let minutes = age.num_minutes();
    if minutes < 60 {
        return format!("{minutes} min");
    }
    let hours = age.num_hours();
    if hours < 48 {
        return format!("{hours} h");
    }
    let days = hours / 24;
    match hours % 24 {
        0 => format!("{days} d"),
        h => format!("{days} d {h} h"),
    }
}

struct Value(f64);

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if (self.0 - self.0.round()).abs() < 1e-9 {
            write!(f, "{}", self.0.round() as i64)
        } else {
            write!(f, "{:.1}", self.0)
        }
    }
}

fn format_value(value: f64) -> Value {
    Value(value)
}

#[cfg(test)]
mod tests;
