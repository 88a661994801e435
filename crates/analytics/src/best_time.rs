//! Best posting times: a weekday × hour grid in the account's time zone built from two kinds
//! of evidence, and the top slots with the evidence behind each.
//!
//! * **Past posts**: each post counts in the slot of its local publish time; the slot's value
//!   is the mean engagement rate by reach of its posts (those with a defined rate), with a
//!   95 % Student-t interval and a confidence level from the number of rated posts:
//!   fewer than `min_posts_per_slot` (3) → insufficient, up to 5 → low, 6–11 → medium,
//!   12 or more → high.
//! * **Followers online**: each hourly sample counts in the slot of its local start hour (so
//!   around DST switches an hour may repeat or be absent locally); the slot's value is the
//!   mean number of followers online.
//!
//! Recommendations: first the slots with at least `min_posts_per_slot` rated posts whose mean
//! is at least the overall mean, ranked by the lower bound of their interval (so a slot needs
//! both a high rate and enough posts); then, if fewer than `top_slots` were found, the slots
//! with the most followers online. Each recommendation says which evidence backs it.

use chrono::{Datelike, Timelike, Weekday};
use chrono_tz::Tz;

use crate::definition as def;
use crate::engagement::{Rate, engagement};
use crate::figure::Figure;
use crate::input::{MediaProductType, OnlineFollowersSample, Post};
use crate::stats;

/// Settings of the best-time analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BestTimeConfig {
    /// Which posts count (default: feed posts and reels; stories behave differently).
    pub product_types: Vec<MediaProductType>,
    /// How many slots to recommend.
    pub top_slots: usize,
    /// Rated posts a slot needs before its post evidence is used.
    pub min_posts_per_slot: usize,
}

impl Default for BestTimeConfig {
    fn default() -> Self {
        BestTimeConfig {
            product_types: vec![MediaProductType::Feed, MediaProductType::Reels],
            top_slots: 3,
            min_posts_per_slot: 3,
        }
    }
}

/// How much the post evidence of a slot can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Confidence {
    /// Fewer rated posts than `min_posts_per_slot`.
    Insufficient,
    /// Up to 5 rated posts.
    Low,
    /// 6 to 11 rated posts.
    Medium,
    /// 12 or more rated posts.
    High,
}

impl Confidence {
    /// Stable key.
    pub const fn key(self) -> &'static str {
        match self {
            Confidence::Insufficient => "insufficient",
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    fn from_count(n_rated: usize, min_posts: usize) -> Confidence {
        if n_rated < min_posts.max(1) {
            Confidence::Insufficient
        } else if n_rated <= 5 {
            Confidence::Low
        } else if n_rated <= 11 {
            Confidence::Medium
        } else {
            Confidence::High
        }
    }
}

/// Post evidence of one slot.
#[derive(Debug, Clone, PartialEq)]
pub struct PostSlot {
    /// Posts published in this slot.
    pub n_posts: usize,
    /// Of those, posts with a defined engagement rate by reach.
    pub n_rated: usize,
    /// `best_time_post_engagement_rate`.
    pub mean_rate: Figure,
    /// 95 % t-interval of the mean rate (needs two rated posts).
    pub interval_95: Option<(f64, f64)>,
    /// Confidence level from the number of rated posts.
    pub confidence: Confidence,
}

/// Online-follower evidence of one slot.
#[derive(Debug, Clone, PartialEq)]
pub struct OnlineSlot {
    /// Hourly samples falling in this slot.
    pub n_samples: usize,
    /// `best_time_online_followers`.
    pub mean_online: Figure,
}

/// One weekday × hour cell.
#[derive(Debug, Clone, PartialEq)]
pub struct BestTimeCell {
    /// Local weekday.
    pub weekday: Weekday,
    /// Local hour (0–23).
    pub hour: u32,
    /// Past-post evidence.
    pub posts: PostSlot,
    /// Followers-online evidence.
    pub online: OnlineSlot,
}

/// Which evidence backs a recommended slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecommendationBasis {
    /// Past posts did well here and many followers are online (top quarter of slots).
    PastPostsAndOnlineFollowers,
    /// Past posts did well here.
    PastPosts,
    /// Many followers are online here (not enough past posts at this time).
    OnlineFollowers,
}

impl RecommendationBasis {
    /// Stable key.
    pub const fn key(self) -> &'static str {
        match self {
            RecommendationBasis::PastPostsAndOnlineFollowers => "past_posts_and_online_followers",
            RecommendationBasis::PastPosts => "past_posts",
            RecommendationBasis::OnlineFollowers => "online_followers",
        }
    }
}

/// A recommended slot.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotRecommendation {
    /// Local weekday.
    pub weekday: Weekday,
    /// Local hour (0–23).
    pub hour: u32,
    /// Evidence behind it.
    pub basis: RecommendationBasis,
    /// Human-readable evidence.
    pub why: String,
}

/// The best-time grid and recommendations.
#[derive(Debug, Clone, PartialEq)]
pub struct BestTimes {
    /// Time zone of the grid.
    pub time_zone: Tz,
    /// 168 cells, Monday 00:00 first, then by hour, then by weekday.
    pub cells: Vec<BestTimeCell>,
    /// Posts counted (the cells' `n_posts` sum to this).
    pub n_posts: usize,
    /// Online-follower samples counted.
    pub n_online_samples: usize,
    /// Mean engagement rate by reach over all rated posts counted.
    pub overall_mean_rate: Option<f64>,
    /// The top slots, best first.
    pub recommendations: Vec<SlotRecommendation>,
}

impl BestTimes {
    /// The cell of a local weekday and hour (hours above 23 wrap).
    pub fn cell(&self, weekday: Weekday, hour: u32) -> &BestTimeCell {
        &self.cells[slot_index(weekday, hour % 24)]
    }
}

fn slot_index(weekday: Weekday, hour: u32) -> usize {
    weekday.num_days_from_monday() as usize * 24 + hour as usize
}

/// Builds the grid from `posts` (filtered by the configured product types; deleted posts
/// count, their history is real) and hourly online-follower samples, in `tz`.
pub fn best_times<'a>(
    posts: impl IntoIterator<Item = &'a Post>,
    online: &[OnlineFollowersSample],
    tz: Tz,
    config: &BestTimeConfig,
) -> BestTimes {
    let mut n_posts_by_slot = vec![0usize; 168];
    let mut rates_by_slot: Vec<Vec<f64>> = vec![Vec::new(); 168];
    let mut all_rates = Vec::new();
    let mut n_posts = 0;
    for post in posts {
        if !config.product_types.contains(&post.product_type) {
            continue;
        }
        n_posts += 1;
        let local = post.published_at.with_timezone(&tz);
        let slot = slot_index(local.weekday(), local.hour());
        n_posts_by_slot[slot] += 1;
        let rate = Rate::new(
            &def::ENGAGEMENT_RATE_BY_REACH,
            engagement(&post.metrics).total,
            post.metrics.reach,
        );
        if let Some(v) = rate.value {
            rates_by_slot[slot].push(v);
            all_rates.push(v);
        }
    }
    let mut online_sum = vec![0i128; 168];
    let mut online_n = vec![0usize; 168];
    for sample in online {
        let local = sample.hour_start.with_timezone(&tz);
        let slot = slot_index(local.weekday(), local.hour());
        online_sum[slot] += i128::from(sample.followers_online);
        online_n[slot] += 1;
    }

    let mut cells = Vec::with_capacity(168);
    for slot in 0..168 {
        let weekday = Weekday::try_from((slot / 24) as u8).unwrap_or(Weekday::Mon);
        let hour = (slot % 24) as u32;
        let rates = &rates_by_slot[slot];
        let (mean_rate, interval_95) = match stats::mean_interval_95(rates) {
            Some((mean, interval)) => (
                Figure::new(&def::BEST_TIME_POST_ENGAGEMENT_RATE, Some(mean)),
                interval,
            ),
            None => (
                Figure::missing(
                    &def::BEST_TIME_POST_ENGAGEMENT_RATE,
                    if n_posts_by_slot[slot] == 0 {
                        "no post published in this slot"
                    } else {
                        "no post in this slot has a defined engagement rate by reach"
                    },
                ),
                None,
            ),
        };
        let mean_online = if online_n[slot] == 0 {
            Figure::missing(
                &def::BEST_TIME_ONLINE_FOLLOWERS,
                "no online-follower sample",
            )
        } else {
            Figure::new(
                &def::BEST_TIME_ONLINE_FOLLOWERS,
                Some(online_sum[slot] as f64 / online_n[slot] as f64),
            )
        };
        cells.push(BestTimeCell {
            weekday,
            hour,
            posts: PostSlot {
                n_posts: n_posts_by_slot[slot],
                n_rated: rates.len(),
                mean_rate,
                interval_95,
                confidence: Confidence::from_count(rates.len(), config.min_posts_per_slot),
            },
            online: OnlineSlot {
                n_samples: online_n[slot],
                mean_online,
            },
        });
    }

    let overall_mean_rate = stats::mean(&all_rates);
    let recommendations = recommend(&cells, overall_mean_rate, config);
    BestTimes {
        time_zone: tz,
        cells,
        n_posts,
        n_online_samples: online.len(),
        overall_mean_rate,
        recommendations,
    }
}

fn recommend(
    cells: &[BestTimeCell],
    overall_mean_rate: Option<f64>,
    config: &BestTimeConfig,
) -> Vec<SlotRecommendation> {
    // Online ranking: 1 = most followers online.
    let mut by_online: Vec<usize> = (0..cells.len())
        .filter(|it| cells[*it].online.mean_online.value.is_some())
        .collect();
    by_online.sort_by(|a, b| {
        let (va, vb) = (online_value(&cells[*a]), online_value(&cells[*b]));
        vb.total_cmp(&va).then(a.cmp(b))
    });
    let n_online_slots = by_online.len();
    let mut online_rank = vec![None; cells.len()];
    for (rank, slot) in by_online.iter().enumerate() {
        online_rank[*slot] = Some(rank + 1);
    }
    let top_quarter = n_online_slots.div_ceil(4);

    let mut by_posts: Vec<usize> = (0..cells.len())
        .filter(|it| {
            let p = &cells[*it].posts;
            p.confidence != Confidence::Insufficient
                && match (p.mean_rate.value, overall_mean_rate) {
                    (Some(m), Some(o)) => m >= o,
                    _ => false,
                }
        })
        .collect();
    by_posts.sort_by(|a, b| {
        let key = |slot: usize| {
            let p = &cells[slot].posts;
            (
                p.interval_95.map_or(f64::NEG_INFINITY, |it| it.0),
                p.mean_rate.value.unwrap_or(0.0),
            )
        };
        let (ka, kb) = (key(*a), key(*b));
        kb.0.total_cmp(&ka.0)
            .then(kb.1.total_cmp(&ka.1))
            .then(a.cmp(b))
    });

    let mut res = Vec::new();
    let mut chosen = vec![false; cells.len()];
    for slot in by_posts.into_iter().take(config.top_slots) {
        chosen[slot] = true;
        let cell = &cells[slot];
        let in_top_quarter = online_rank[slot].is_some_and(|it| it <= top_quarter);
        let basis = if in_top_quarter {
            RecommendationBasis::PastPostsAndOnlineFollowers
        } else {
            RecommendationBasis::PastPosts
        };
        let mut why = format!(
            "{}: {}",
            slot_label(cell),
            post_evidence(cell, overall_mean_rate)
        );
        if let Some(rank) = online_rank[slot] {
            why.push_str(&format!(
                "; {}",
                online_evidence(cell, rank, n_online_slots)
            ));
        }
        res.push(SlotRecommendation {
            weekday: cell.weekday,
            hour: cell.hour,
            basis,
            why,
        });
    }
    for slot in by_online {
        if res.len() >= config.top_slots {
            break;
        }
        if chosen[slot] {
            continue;
        }
        let cell = &cells[slot];
        let rank = online_rank[slot].unwrap_or(0);
        let posts = match cell.posts.n_posts {
            0 => "no past post at this time".to_owned(),
            n => format!("only {n} past post(s) at this time, too few to judge"),
        };
        let why = format!(
            "{}: {}; {posts}",
            slot_label(cell),
            online_evidence(cell, rank, n_online_slots)
        );
        res.push(SlotRecommendation {
            weekday: cell.weekday,
            hour: cell.hour,
            basis: RecommendationBasis::OnlineFollowers,
            why,
        });
    }
    res
}

fn online_value(cell: &BestTimeCell) -> f64 {
    cell.online.mean_online.value.unwrap_or(f64::NEG_INFINITY)
}

fn slot_label(cell: &BestTimeCell) -> String {
    format!(
        "{} {:02}:00–{:02}:00",
        cell.weekday,
        cell.hour,
        (cell.hour + 1) % 24
    )
}

fn post_evidence(cell: &BestTimeCell, overall: Option<f64>) -> String {
    let p = &cell.posts;
    let mut res = format!(
        "{} post(s), mean engagement rate by reach {:.2}%",
        p.n_rated,
        p.mean_rate.value.unwrap_or(0.0)
    );
    if let Some((lo, hi)) = p.interval_95 {
        res.push_str(&format!(" (95% CI {lo:.2}–{hi:.2}%)"));
    }
    if let Some(o) = overall {
        res.push_str(&format!(" vs {o:.2}% overall"));
    }
    res.push_str(&format!(", {} confidence", p.confidence.key()));
    res
}

fn online_evidence(cell: &BestTimeCell, rank: usize, n_slots: usize) -> String {
    format!(
        "{:.0} followers online on average over {} sample(s) (rank {rank} of {n_slots} slots)",
        cell.online.mean_online.value.unwrap_or(0.0),
        cell.online.n_samples
    )
}

#[cfg(test)]
mod tests;
