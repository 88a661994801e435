//! Engagement and engagement rates, per post and per set of posts.
//!
//! Engagement = likes + comments + saves + shares, each taken from its own metric. A
//! component Meta does not provide is left out and listed in [`Engagement::missing`]; no
//! component is ever derived from another (e.g. shares are never "total minus the rest").
//!
//! Every rate names its denominator: reach, followers at post time, or views. A rate whose
//! numerator or denominator is missing, or whose denominator is 0, has no value (never NaN,
//! never infinity, never a made-up 0) and says why.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::definition::{self as def, Definition};
use crate::figure::Figure;
use crate::input::{FollowerSample, Post, PostMetrics};

/// One of the four engagement components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngagementComponent {
    /// Likes.
    Likes,
    /// Comments.
    Comments,
    /// Saves.
    Saves,
    /// Shares.
    Shares,
}

impl EngagementComponent {
    /// All components in the order they are summed.
    pub const ALL: [EngagementComponent; 4] = [
        EngagementComponent::Likes,
        EngagementComponent::Comments,
        EngagementComponent::Saves,
        EngagementComponent::Shares,
    ];

    /// Stable key (`likes`, `comments`, `saves`, `shares`).
    pub const fn key(self) -> &'static str {
        match self {
            EngagementComponent::Likes => "likes",
            EngagementComponent::Comments => "comments",
            EngagementComponent::Saves => "saves",
            EngagementComponent::Shares => "shares",
        }
    }

    /// The component's value in a set of metrics.
    pub fn value(self, metrics: &PostMetrics) -> Option<i64> {
        match self {
            EngagementComponent::Likes => metrics.likes,
            EngagementComponent::Comments => metrics.comments,
            EngagementComponent::Saves => metrics.saves,
            EngagementComponent::Shares => metrics.shares,
        }
    }

    const fn bit(self) -> u8 {
        match self {
            EngagementComponent::Likes => 1,
            EngagementComponent::Comments => 2,
            EngagementComponent::Saves => 4,
            EngagementComponent::Shares => 8,
        }
    }
}

/// A set of engagement components (e.g. the missing ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ComponentSet(u8);

impl ComponentSet {
    /// The empty set.
    pub const EMPTY: ComponentSet = ComponentSet(0);

    /// Whether the set contains `component`.
    pub fn contains(self, component: EngagementComponent) -> bool {
        self.0 & component.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Number of components in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The components in the set, in summation order.
    pub fn iter(self) -> impl Iterator<Item = EngagementComponent> {
        EngagementComponent::ALL
            .into_iter()
            .filter(move |it| self.contains(*it))
    }

    fn insert(&mut self, component: EngagementComponent) {
        self.0 |= component.bit();
    }
}

impl fmt::Display for ComponentSet {
    /// Comma-separated keys, e.g. `saves, shares`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (idx, it) in self.iter().enumerate() {
            if idx > 0 {
                f.write_str(", ")?;
            }
            f.write_str(it.key())?;
        }
        Ok(())
    }
}

/// The engagement of one post (definition `engagement`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Engagement {
    /// Sum of the components that are present; `None` when none is.
    pub total: Option<i64>,
    /// Components that were not available and are therefore not in the sum.
    pub missing: ComponentSet,
}

impl Engagement {
    /// Whether all four components are present.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }

    /// The engagement as a figure, with a note naming missing components.
    pub fn figure(&self) -> Figure {
        Figure::new(&def::ENGAGEMENT, self.total.map(|it| it as f64))
            .with_optional_note(self.missing_note())
    }

    /// "not available: shares" or `None` when complete.
    pub fn missing_note(&self) -> Option<String> {
        if self.missing.is_empty() {
            return None;
        }
        if self.total.is_none() {
            return Some("no engagement component is available".to_owned());
        }
        Some(format!("excludes {} (not available)", self.missing))
    }
}

/// Computes a post's engagement from its metrics (definition `engagement`).
pub fn engagement(metrics: &PostMetrics) -> Engagement {
    let mut total: Option<i64> = None;
    let mut missing = ComponentSet::EMPTY;
    for component in EngagementComponent::ALL {
        match component.value(metrics) {
            Some(v) => total = Some(total.unwrap_or(0).saturating_add(v)),
            None => missing.insert(component),
        }
    }
    Engagement { total, missing }
}

/// Why a rate has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateGap {
    /// The numerator is not available.
    NumeratorMissing,
    /// The denominator is not available.
    DenominatorMissing,
    /// The denominator is 0 (or negative, which is invalid data).
    DenominatorNotPositive,
    /// The numerator is negative (invalid data).
    NumeratorNegative,
}

impl RateGap {
    /// A short English explanation.
    pub fn describe(self) -> &'static str {
        match self {
            RateGap::NumeratorMissing => "numerator not available",
            RateGap::DenominatorMissing => "denominator not available",
            RateGap::DenominatorNotPositive => "denominator is 0",
            RateGap::NumeratorNegative => "numerator is negative (invalid data)",
        }
    }
}

/// A percentage `numerator / denominator × 100` with its definition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// What the rate is (its key names numerator and denominator).
    pub definition: &'static Definition,
    /// The percentage; `None` exactly when `gap` is `Some`.
    pub value: Option<f64>,
    /// Numerator used.
    pub numerator: Option<i64>,
    /// Denominator used.
    pub denominator: Option<i64>,
    /// Why there is no value.
    pub gap: Option<RateGap>,
}

impl Rate {
    /// Computes `numerator / denominator × 100`.
    pub fn new(
        definition: &'static Definition,
        numerator: Option<i64>,
        denominator: Option<i64>,
    ) -> Rate {
        let gap = match (numerator, denominator) {
            (None, _) => Some(RateGap::NumeratorMissing),
            (_, None) => Some(RateGap::DenominatorMissing),
            (_, Some(d)) if d <= 0 => Some(RateGap::DenominatorNotPositive),
            (Some(n), _) if n < 0 => Some(RateGap::NumeratorNegative),
            _ => None,
        };
        let value = match (gap, numerator, denominator) {
            (None, Some(n), Some(d)) => Some(n as f64 / d as f64 * 100.0),
            _ => None,
        };
        Rate {
            definition,
            value,
            numerator,
            denominator,
            gap,
        }
    }

    /// The rate's key.
    pub fn key(&self) -> &'static str {
        self.definition.key
    }

    /// The rate as a figure; the note explains a missing value.
    pub fn figure(&self) -> Figure {
        Figure::new(self.definition, self.value)
            .with_optional_note(self.gap.map(|it| it.describe().to_owned()))
    }
}

/// How the follower count at post time was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FollowerSampleChoice {
    /// The last sample at or before the publish time (the normal case).
    AtOrBefore,
    /// No sample before publication: the first sample after it.
    FirstAfter,
}

/// Followers when a post was published, and which sample says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowersAtPostTime {
    /// Followers at the chosen sample.
    pub followers: i64,
    /// When the chosen sample was taken.
    pub sample_at: DateTime<Utc>,
    /// How the sample was chosen.
    pub choice: FollowerSampleChoice,
}

impl FollowersAtPostTime {
    /// "follower sample from 2026-03-02 10:00 UTC (first sample after publication)".
    pub fn describe(&self) -> String {
        let how = match self.choice {
            FollowerSampleChoice::AtOrBefore => "last sample at or before publication",
            FollowerSampleChoice::FirstAfter => "no earlier sample: first sample after publication",
        };
        format!(
            "{} followers from the sample of {} ({how})",
            self.followers,
            self.sample_at.format("%Y-%m-%d %H:%M UTC")
        )
    }
}

/// Follower counter samples in time order, for lookups by instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowerTimeline {
    samples: Vec<FollowerSample>,
}

impl FollowerTimeline {
    /// Builds the timeline (sorts a copy of the samples by capture time).
    pub fn new(samples: &[FollowerSample]) -> FollowerTimeline {
        let mut samples = samples.to_vec();
        if !samples.is_sorted_by_key(|it| it.captured_at) {
            samples.sort_by_key(|it| it.captured_at);
        }
        FollowerTimeline { samples }
    }

    /// The samples in time order.
    pub fn samples(&self) -> &[FollowerSample] {
        &self.samples
    }

    /// The last sample taken at or before `at`.
    pub fn last_at_or_before(&self, at: DateTime<Utc>) -> Option<&FollowerSample> {
        let idx = self.samples.partition_point(|it| it.captured_at <= at);
        idx.checked_sub(1).map(|it| &self.samples[it])
    }

    /// The first sample taken strictly after `at`.
    pub fn first_after(&self, at: DateTime<Utc>) -> Option<&FollowerSample> {
        let idx = self.samples.partition_point(|it| it.captured_at <= at);
        self.samples.get(idx)
    }

    /// Followers at post time: the last sample at or before `published_at`, else the first
    /// sample after it; `None` when there are no samples.
    pub fn at_post_time(&self, published_at: DateTime<Utc>) -> Option<FollowersAtPostTime> {
        if let Some(it) = self.last_at_or_before(published_at) {
            return Some(FollowersAtPostTime {
                followers: it.followers,
                sample_at: it.captured_at,
                choice: FollowerSampleChoice::AtOrBefore,
            });
        }
        self.first_after(published_at)
            .map(|it| FollowersAtPostTime {
                followers: it.followers,
                sample_at: it.captured_at,
                choice: FollowerSampleChoice::FirstAfter,
            })
    }
}

/// Engagement and every rate of one post.
#[derive(Debug, Clone, PartialEq)]
pub struct PostEngagement {
    /// Engagement (`engagement`).
    pub engagement: Engagement,
    /// Post reach, the denominator of the `…_by_reach` rates.
    pub reach: Option<i64>,
    /// Post views, the denominator of `engagement_rate_by_views`.
    pub views: Option<i64>,
    /// Followers at post time, the denominator of the `…_by_followers_at_post_time` rates.
    pub followers_at_post_time: Option<FollowersAtPostTime>,
    /// `engagement_rate_by_reach`.
    pub rate_by_reach: Rate,
    /// `engagement_rate_by_followers_at_post_time`.
    pub rate_by_followers: Rate,
    /// `engagement_rate_by_views`.
    pub rate_by_views: Rate,
    /// `like_rate_by_reach`.
    pub like_rate: Rate,
    /// `comment_rate_by_reach`.
    pub comment_rate: Rate,
    /// `save_rate_by_reach`.
    pub save_rate: Rate,
    /// `share_rate_by_reach`.
    pub share_rate: Rate,
    /// `reach_rate_by_followers_at_post_time`.
    pub reach_rate: Rate,
}

impl PostEngagement {
    /// All eight rates, in a stable order.
    pub fn rates(&self) -> [&Rate; 8] {
        [
            &self.rate_by_reach,
            &self.rate_by_followers,
            &self.rate_by_views,
            &self.like_rate,
            &self.comment_rate,
            &self.save_rate,
            &self.share_rate,
            &self.reach_rate,
        ]
    }

    /// Engagement and all rates as figures, with notes on missing components, gaps and the
    /// follower sample used.
    pub fn figures(&self) -> Vec<Figure> {
        let partial = self
            .engagement
            .missing_note()
            .filter(|_| self.engagement.total.is_some());
        let followers_note = self.followers_at_post_time.map(|it| it.describe());
        // (rate, its numerator is engagement, its denominator is followers at post time)
        let rates: [(&Rate, bool, bool); 8] = [
            (&self.rate_by_reach, true, false),
            (&self.rate_by_followers, true, true),
            (&self.rate_by_views, true, false),
            (&self.like_rate, false, false),
            (&self.comment_rate, false, false),
            (&self.save_rate, false, false),
            (&self.share_rate, false, false),
            (&self.reach_rate, false, true),
        ];
        let mut res = vec![self.engagement.figure()];
        for (rate, uses_engagement, uses_followers) in rates {
            let mut notes = Vec::new();
            if rate.value.is_some()
                && uses_engagement
                && let Some(it) = &partial
            {
                notes.push(format!("engagement {it}"));
            }
            if uses_followers {
                match &followers_note {
                    Some(it) => notes.push(it.clone()),
                    None => notes.push("no follower sample".to_owned()),
                }
            }
            let mut figure = rate.figure();
            if !notes.is_empty() {
                let prefix = figure.note.take();
                figure = figure.with_note(
                    prefix
                        .into_iter()
                        .chain(notes)
                        .collect::<Vec<_>>()
                        .join("; "),
                );
            }
            res.push(figure);
        }
        res
    }
}

/// Engagement and rates of one post, using its latest metrics.
pub fn post_engagement(post: &Post, followers: &FollowerTimeline) -> PostEngagement {
    metrics_engagement(&post.metrics, followers.at_post_time(post.published_at))
}

/// Engagement and rates of one set of metrics with a known follower count at post time.
pub fn metrics_engagement(
    metrics: &PostMetrics,
    followers_at_post_time: Option<FollowersAtPostTime>,
) -> PostEngagement {
    let engagement = engagement(metrics);
    let followers = followers_at_post_time.map(|it| it.followers);
    PostEngagement {
        engagement,
        reach: metrics.reach,
        views: metrics.views,
        followers_at_post_time,
        rate_by_reach: Rate::new(
            &def::ENGAGEMENT_RATE_BY_REACH,
            engagement.total,
            metrics.reach,
        ),
        rate_by_followers: Rate::new(
            &def::ENGAGEMENT_RATE_BY_FOLLOWERS_AT_POST_TIME,
            engagement.total,
            followers,
        ),
        rate_by_views: Rate::new(
            &def::ENGAGEMENT_RATE_BY_VIEWS,
            engagement.total,
            metrics.views,
        ),
        like_rate: Rate::new(&def::LIKE_RATE_BY_REACH, metrics.likes, metrics.reach),
        comment_rate: Rate::new(&def::COMMENT_RATE_BY_REACH, metrics.comments, metrics.reach),
        save_rate: Rate::new(&def::SAVE_RATE_BY_REACH, metrics.saves, metrics.reach),
        share_rate: Rate::new(&def::SHARE_RATE_BY_REACH, metrics.shares, metrics.reach),
        reach_rate: Rate::new(
            &def::REACH_RATE_BY_FOLLOWERS_AT_POST_TIME,
            metrics.reach,
            followers,
        ),
    }
}

/// A rate averaged over a set of posts in both customary ways.
#[derive(Debug, Clone, PartialEq)]
pub struct AverageRate {
    /// Mean of the per-post rates (`…_mean_of_posts`).
    pub mean_of_posts: Figure,
    /// Σ numerators / Σ denominators × 100 (`…_pooled`).
    pub pooled: Figure,
    /// Number of posts whose rate is defined (both averages use exactly these posts).
    pub n_posts: usize,
}

/// Engagement of a set of posts.
#[derive(Debug, Clone, PartialEq)]
pub struct EngagementSummary {
    /// Posts in the set (`posts_published` when the set is a period's posts).
    pub n_posts: usize,
    /// Deleted posts among them (`posts_deleted`).
    pub n_deleted: usize,
    /// Posts with at least one engagement component.
    pub n_with_engagement: usize,
    /// `engagement_total`.
    pub engagement_total: Figure,
    /// `engagement_per_post_mean`.
    pub engagement_per_post_mean: Figure,
    /// `reach_per_post_mean`.
    pub reach_per_post_mean: Figure,
    /// `views_per_post_mean`.
    pub views_per_post_mean: Figure,
    /// Engagement rate by reach.
    pub by_reach: AverageRate,
    /// Engagement rate by followers at post time.
    pub by_followers: AverageRate,
    /// Engagement rate by views.
    pub by_views: AverageRate,
    /// Like rate by reach.
    pub like_rate: AverageRate,
    /// Comment rate by reach.
    pub comment_rate: AverageRate,
    /// Save rate by reach.
    pub save_rate: AverageRate,
    /// Share rate by reach.
    pub share_rate: AverageRate,
    /// Reach rate by followers at post time.
    pub reach_rate: AverageRate,
    /// For each component, how many posts lacked it.
    pub missing_components: [(EngagementComponent, usize); 4],
}

impl EngagementSummary {
    /// Summarises posts and their precomputed engagement.
    pub fn from_engagements<'a>(
        items: impl IntoIterator<Item = (&'a Post, &'a PostEngagement)>,
    ) -> EngagementSummary {
        let mut n_posts = 0;
        let mut n_deleted = 0;
        let mut n_with_engagement = 0;
        let mut engagement_sum: i128 = 0;
        let mut reach = MeanAcc::default();
        let mut views = MeanAcc::default();
        let mut missing = [0usize; 4];
        let mut accs: [RateAcc; 8] = Default::default();
        for (post, it) in items {
            n_posts += 1;
            n_deleted += usize::from(post.deleted);
            if let Some(total) = it.engagement.total {
                n_with_engagement += 1;
                engagement_sum += i128::from(total);
            }
            for (idx, component) in EngagementComponent::ALL.into_iter().enumerate() {
                missing[idx] += usize::from(it.engagement.missing.contains(component));
            }
            reach.push(it.reach);
            views.push(it.views);
            for (acc, rate) in accs.iter_mut().zip(it.rates()) {
                acc.push(rate);
            }
        }
        let engagement_total = if n_with_engagement == 0 {
            Figure::missing(&def::ENGAGEMENT_TOTAL, "no post with engagement")
        } else {
            Figure::new(&def::ENGAGEMENT_TOTAL, Some(engagement_sum as f64))
        };
        let engagement_per_post_mean = if n_with_engagement == 0 {
            Figure::missing(&def::ENGAGEMENT_PER_POST_MEAN, "no post with engagement")
        } else {
            Figure::new(
                &def::ENGAGEMENT_PER_POST_MEAN,
                Some(engagement_sum as f64 / n_with_engagement as f64),
            )
        };
        let missing_note = missing_components_note(&missing, n_with_engagement);
        let engagement_total = engagement_total.with_optional_note(missing_note.clone());
        let engagement_per_post_mean = engagement_per_post_mean.with_optional_note(missing_note);
        let [r0, r1, r2, r3, r4, r5, r6, r7] = accs;
        EngagementSummary {
            n_posts,
            n_deleted,
            n_with_engagement,
            engagement_total,
            engagement_per_post_mean,
            reach_per_post_mean: reach.figure(&def::REACH_PER_POST_MEAN, "reach"),
            views_per_post_mean: views.figure(&def::VIEWS_PER_POST_MEAN, "views"),
            by_reach: r0.finish(
                &def::ENGAGEMENT_RATE_BY_REACH_MEAN_OF_POSTS,
                &def::ENGAGEMENT_RATE_BY_REACH_POOLED,
            ),
            by_followers: r1.finish(
                &def::ENGAGEMENT_RATE_BY_FOLLOWERS_AT_POST_TIME_MEAN_OF_POSTS,
                &def::ENGAGEMENT_RATE_BY_FOLLOWERS_AT_POST_TIME_POOLED,
            ),
            by_views: r2.finish(
                &def::ENGAGEMENT_RATE_BY_VIEWS_MEAN_OF_POSTS,
                &def::ENGAGEMENT_RATE_BY_VIEWS_POOLED,
            ),
            like_rate: r3.finish(
                &def::LIKE_RATE_BY_REACH_MEAN_OF_POSTS,
                &def::LIKE_RATE_BY_REACH_POOLED,
            ),
            comment_rate: r4.finish(
                &def::COMMENT_RATE_BY_REACH_MEAN_OF_POSTS,
                &def::COMMENT_RATE_BY_REACH_POOLED,
            ),
            save_rate: r5.finish(
                &def::SAVE_RATE_BY_REACH_MEAN_OF_POSTS,
                &def::SAVE_RATE_BY_REACH_POOLED,
            ),
            share_rate: r6.finish(
                &def::SHARE_RATE_BY_REACH_MEAN_OF_POSTS,
                &def::SHARE_RATE_BY_REACH_POOLED,
            ),
            reach_rate: r7.finish(
                &def::REACH_RATE_BY_FOLLOWERS_AT_POST_TIME_MEAN_OF_POSTS,
                &def::REACH_RATE_BY_FOLLOWERS_AT_POST_TIME_POOLED,
            ),
            missing_components: [
                (EngagementComponent::Likes, missing[0]),
                (EngagementComponent::Comments, missing[1]),
                (EngagementComponent::Saves, missing[2]),
                (EngagementComponent::Shares, missing[3]),
            ],
        }
    }

    /// Summarises posts, computing their engagement from their latest metrics.
    pub fn from_posts<'a>(
        posts: impl IntoIterator<Item = &'a Post>,
        followers: &FollowerTimeline,
    ) -> EngagementSummary {
        let items: Vec<(&Post, PostEngagement)> = posts
            .into_iter()
            .map(|it| (it, post_engagement(it, followers)))
            .collect();
        EngagementSummary::from_engagements(items.iter().map(|(p, e)| (*p, e)))
    }

    /// All average rates in a stable order.
    pub fn average_rates(&self) -> [&AverageRate; 8] {
        [
            &self.by_reach,
            &self.by_followers,
            &self.by_views,
            &self.like_rate,
            &self.comment_rate,
            &self.save_rate,
            &self.share_rate,
            &self.reach_rate,
        ]
    }
}

fn missing_components_note(missing: &[usize; 4], n_with_engagement: usize) -> Option<String> {
    let parts: Vec<String> = EngagementComponent::ALL
        .into_iter()
        .zip(missing)
        .filter(|(_, n)| **n > 0)
        .map(|(c, n)| format!("{} missing on {n} post(s)", c.key()))
        .collect();
    if parts.is_empty() || n_with_engagement == 0 {
        return None;
    }
    Some(format!(
        "engagement counts the available components only: {}",
        parts.join(", ")
    ))
}

#[derive(Default)]
struct MeanAcc {
    sum: i128,
    n: usize,
}

impl MeanAcc {
    fn push(&mut self, value: Option<i64>) {
        if let Some(v) = value {
            self.sum += i128::from(v);
            self.n += 1;
        }
    }

    fn figure(&self, definition: &'static Definition, what: &str) -> Figure {
        if self.n == 0 {
            return Figure::missing(definition, format!("no post with {what}"));
        }
        Figure::new(definition, Some(self.sum as f64 / self.n as f64))
    }
}

#[derive(Default)]
struct RateAcc {
    sum_rates: f64,
    sum_num: i128,
    sum_den: i128,
    n: usize,
    n_gaps: usize,
}

impl RateAcc {
    fn push(&mut self, rate: &Rate) {
        match (rate.value, rate.numerator, rate.denominator) {
            (Some(v), Some(num), Some(den)) => {
                self.sum_rates += v;
                self.sum_num += i128::from(num);
                self.sum_den += i128::from(den);
                self.n += 1;
            }
            _ => self.n_gaps += 1,
        }
    }

    fn finish(self, mean_def: &'static Definition, pooled_def: &'static Definition) -> AverageRate {
        if self.n == 0 {
            let why = "no post with a defined rate";
            return AverageRate {
                mean_of_posts: Figure::missing(mean_def, why),
                pooled: Figure::missing(pooled_def, why),
                n_posts: 0,
            };
        }
        let note = (self.n_gaps > 0).then(|| {
            format!(
                "over {} post(s); {} post(s) without a defined rate left out",
                self.n, self.n_gaps
            )
        });
        AverageRate {
            mean_of_posts: Figure::new(mean_def, Some(self.sum_rates / self.n as f64))
                .with_optional_note(note.clone()),
            pooled: Figure::new(
                pooled_def,
                Some(self.sum_num as f64 / self.sum_den as f64 * 100.0),
            )
            .with_optional_note(note),
            n_posts: self.n,
        }
    }
}

#[cfg(test)]
mod tests;
