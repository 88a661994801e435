//! Post performance scores on a 0–100 scale.
//!
//! The default is relative to the account itself: the post's percentile rank of engagement
//! rate by reach among the account's posts of the same media product type
//! (`performance_percentile`). Population: every post of that type (deleted ones included —
//! they are part of the account's history) whose engagement rate by reach is defined. A
//! post's percentile is the share of the *other* posts in the population whose rate is lower,
//! with equal rates counting half: `100 × (lower + ½ × equal) / others`. So the best post of
//! a type scores 100, the worst 0, and a post tied with every other one 50. A post that is the
//! only one of its type, or whose own rate is undefined, has no percentile.
//!
//! The original specification's formula is kept as `legacy_performance_score`, with views in
//! place of the impressions Meta removed.

use crate::definition as def;
use crate::engagement::{Rate, engagement};
use crate::figure::Figure;
use crate::input::{Post, PostMetrics};
use crate::stats;

/// The percentile rank of one post.
#[derive(Debug, Clone, PartialEq)]
pub struct PerformancePercentile {
    /// `performance_percentile`.
    pub percentile: Figure,
    /// The post's engagement rate by reach.
    pub rate: Option<f64>,
    /// Other posts of the same type it was compared with.
    pub compared_with: usize,
    /// How many of those have a lower rate.
    pub lower: usize,
    /// How many have an equal rate.
    pub equal: usize,
}

/// Percentile ranks of the posts at `post_indices` among all `posts` of their type.
/// Returns one entry per index, in the same order (`None` for an index out of range).
pub fn performance_percentiles(
    posts: &[Post],
    post_indices: impl IntoIterator<Item = usize>,
) -> Vec<Option<PerformancePercentile>> {
    let ranking = PercentileRanking::new(posts);
    post_indices
        .into_iter()
        .map(|it| posts.get(it).map(|p| ranking.rank(p)))
        .collect()
}

/// The sorted engagement rates by reach of an account's posts, per media product type.
#[derive(Debug, Clone, Default)]
pub struct PercentileRanking {
    sorted: [Vec<f64>; 3],
}

impl PercentileRanking {
    /// Collects and sorts the rates of `posts`.
    pub fn new(posts: &[Post]) -> PercentileRanking {
        let mut sorted: [Vec<f64>; 3] = Default::default();
        for post in posts {
            if let Some(rate) = rate_by_reach(&post.metrics) {
                sorted[post.product_type.index()].push(rate);
            }
        }
        for it in &mut sorted {
            stats::sort(it);
        }
        PercentileRanking { sorted }
    }

    /// Ranks `post` (which must be one of the posts the ranking was built from, for it to be
    /// excluded from its own comparison set).
    pub fn rank(&self, post: &Post) -> PerformancePercentile {
        let population = &self.sorted[post.product_type.index()];
        let Some(rate) = rate_by_reach(&post.metrics) else {
            return PerformancePercentile {
                percentile: Figure::missing(
                    &def::PERFORMANCE_PERCENTILE,
                    "engagement rate by reach is not defined for this post",
                ),
                rate: None,
                compared_with: population.len(),
                lower: 0,
                equal: 0,
            };
        };
        let lower = population.partition_point(|it| *it < rate);
        let not_higher = population.partition_point(|it| *it <= rate);
        // The post itself is in the population: it is one of the equal values.
        let equal = (not_higher - lower).saturating_sub(1);
        let others = population.len().saturating_sub(1);
        let percentile = if others == 0 {
            Figure::missing(
                &def::PERFORMANCE_PERCENTILE,
                "the only post of its type with a defined engagement rate by reach",
            )
        } else {
            let value = 100.0 * (lower as f64 + 0.5 * equal as f64) / others as f64;
            Figure::new(&def::PERFORMANCE_PERCENTILE, Some(value.clamp(0.0, 100.0))).with_note(
                format!(
                    "beats {lower} and ties {equal} of {others} other {} post(s)",
                    post.product_type
                ),
            )
        };
        PerformancePercentile {
            percentile,
            rate: Some(rate),
            compared_with: others,
            lower,
            equal,
        }
    }
}

fn rate_by_reach(metrics: &PostMetrics) -> Option<f64> {
    Rate::new(
        &def::ENGAGEMENT_RATE_BY_REACH,
        engagement(metrics).total,
        metrics.reach,
    )
    .value
}

/// The original specification's performance score with views in place of impressions.
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyPerformanceScore {
    /// `legacy_performance_score`.
    pub score: Figure,
    /// Weight 0.5: engagement / views × 100.
    pub engagement_rate_by_views: Option<f64>,
    /// Weight 0.3: saves / views × 100.
    pub save_rate_by_views: Option<f64>,
    /// Weight 0.2: reach / views × 100.
    pub reach_rate_by_views: Option<f64>,
}

/// `min(100, 0.5 × engagement/views×100 + 0.3 × saves/views×100 + 0.2 × reach/views×100)`.
/// No value when views is missing or 0, or engagement, saves or reach is missing (the
/// original silently scored 0).
pub fn legacy_performance_score(metrics: &PostMetrics) -> LegacyPerformanceScore {
    let views = metrics.views;
    let er = Rate::new(
        &def::ENGAGEMENT_RATE_BY_VIEWS,
        engagement(metrics).total,
        views,
    )
    .value;
    let sr = Rate::new(&def::ENGAGEMENT_RATE_BY_VIEWS, metrics.saves, views).value;
    let rr = Rate::new(&def::ENGAGEMENT_RATE_BY_VIEWS, metrics.reach, views).value;
    let score = match (er, sr, rr) {
        (Some(e), Some(s), Some(r)) => Figure::new(
            &def::LEGACY_PERFORMANCE_SCORE,
            Some((0.5 * e + 0.3 * s + 0.2 * r).min(100.0)),
        ),
        _ => Figure::missing(
            &def::LEGACY_PERFORMANCE_SCORE,
            "needs views above 0 and engagement, saves and reach",
        ),
    };
    LegacyPerformanceScore {
        score,
        engagement_rate_by_views: er,
        save_rate_by_views: sr,
        reach_rate_by_views: rr,
    }
}

#[cfg(test)]
mod tests;
