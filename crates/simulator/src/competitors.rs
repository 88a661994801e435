//! Public accounts that are not ours: the competitors a Business Discovery read names by
//! username. Each has its own evolving world (followers growing or shrinking day by day,
//! posts published on its own cadence, likes and comments settling with a post's age), a
//! pure function of the seed and the simulated time, and its ground truth
//! ([`CompetitorTruth`]) for tests.
//!
//! Besides professional accounts (business and creator) the set holds one personal account
//! and one age-gated account, which Business Discovery does not serve.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::hash::{self, h, hs, log_normal, range, unit};
use crate::time::DAY;

/// How many public accounts the world holds besides our own.
pub(crate) const COUNT: usize = 14;
/// Posts are generated from this many days before the start to this many after.
const PAST_DAYS: i64 = 120;
const FUTURE_DAYS: i64 = 400;

/// What kind of account a public username is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompetitorKind {
    /// A business account: served by Business Discovery.
    Business,
    /// A creator account: served by Business Discovery.
    Creator,
    /// A personal account: Business Discovery cannot find it.
    Personal,
    /// An age-gated professional account: Business Discovery returns no data about it.
    Restricted,
}

/// One post of a competitor.
#[derive(Debug, Clone)]
pub(crate) struct CompPost {
    pub(crate) id: String,
    pub(crate) ts: i64,
    pub(crate) media_type: &'static str,
    pub(crate) product: &'static str,
    pub(crate) shortcode: String,
    likes_final: f64,
    comments_final: f64,
}

/// A public account that is not ours.
#[derive(Debug, Clone)]
pub(crate) struct Competitor {
    pub(crate) idx: usize,
    pub(crate) username: String,
    pub(crate) name: String,
    pub(crate) ig_user_id: String,
    pub(crate) kind: CompetitorKind,
    key: u64,
    start: i64,
    base_followers: f64,
    growth_per_day: f64,
    pub(crate) follows_count: u64,
    /// Newest first.
    pub(crate) posts: Vec<CompPost>,
}

/// Generates the public accounts of a world seeded with `seed` whose clock starts at `start`.
pub(crate) fn generate(seed: u64, start: i64) -> Vec<Competitor> {
    (0..COUNT).map(|i| competitor(seed, start, i)).collect()
}

fn competitor(seed: u64, start: i64, idx: usize) -> Competitor {
    let key = h(&[seed, hs("competitor"), idx as u64]);
    let kind = match idx {
        i if i == COUNT - 2 => CompetitorKind::Personal,
        i if i == COUNT - 1 => CompetitorKind::Restricted,
        i if i % 3 == 2 => CompetitorKind::Creator,
        _ => CompetitorKind::Business,
    };
    let tag = hash::encode(h(&[key, hs("name")]), b"abcdefghijklmnopqrstuvwxyz", 6);
    let username = format!("peer_{tag}_{idx}");
    let ig_user_id = format!("1784{:011}", h(&[key, hs("id")]) % 100_000_000_000);
    let base_followers = log_normal(h(&[key, hs("followers")]), 9.5, 1.0).round();
    // Daily growth between −0.2 % and +0.8 % of the starting audience.
    let growth_per_day = base_followers * range(h(&[key, hs("growth")]), -0.002, 0.008);
    let cadence_days = range(h(&[key, hs("cadence")]), 0.6, 3.5);
    let reels_share = range(h(&[key, hs("reels")]), 0.1, 0.7);
    let rate = range(h(&[key, hs("rate")]), 0.01, 0.06);
    let mut posts = Vec::new();
    let mut t = start - PAST_DAYS * DAY + (unit(h(&[key, hs("phase")])) * DAY as f64) as i64;
    let mut n = 0u64;
    while t < start + FUTURE_DAYS * DAY {
        let ph = h(&[key, hs("post"), n]);
        let reel = unit(ph) < reels_share;
        let carousel = !reel && unit(h(&[ph, 1])) < 0.3;
        let engagement = base_followers * rate * log_normal(h(&[ph, 2]), 0.0, 0.6);
        let id = format!(
            "{}",
            18_000_000_000_000_000u64 + h(&[ph, 3]) % 1_000_000_000_000_000
        );
        posts.push(CompPost {
            shortcode: hash::encode(h(&[ph, 4]), hash::SHORTCODE, 11),
            id,
            ts: t,
            media_type: if reel {
                "VIDEO"
            } else if carousel {
                "CAROUSEL_ALBUM"
            } else {
                "IMAGE"
            },
            product: if reel { "REELS" } else { "FEED" },
            likes_final: engagement * 0.95,
            comments_final: engagement * 0.05,
        });
        let gap = cadence_days * range(h(&[ph, 5]), 0.4, 1.6);
        t += (gap * DAY as f64) as i64 + 60;
        n += 1;
    }
    posts.reverse();
    Competitor {
        idx,
        name: format!("Peer {}", tag.to_uppercase()),
        username,
        ig_user_id,
        kind,
        key,
        start,
        base_followers,
        growth_per_day,
        follows_count: 100 + h(&[key, hs("follows")]) % 900,
        posts,
    }
}

impl Competitor {
    /// Followers at `t`: the starting audience, its daily trend, and a small daily wobble.
    pub(crate) fn followers_at(&self, t: i64) -> u64 {
        let days = (t - self.start) as f64 / DAY as f64;
        let day = (t - self.start).div_euclid(DAY);
        let wobble = (unit(h(&[self.key, hs("wobble"), day as u64])) - 0.5) * 0.002;
        let v = (self.base_followers + self.growth_per_day * days) * (1.0 + wobble);
        v.max(0.0).round() as u64
    }

    /// The index of the newest post published at `t` (posts are newest first).
    pub(crate) fn first_visible(&self, t: i64) -> usize {
        self.posts.partition_point(|p| p.ts > t)
    }

    /// Published posts at `t`.
    pub(crate) fn media_count(&self, t: i64) -> u64 {
        (self.posts.len() - self.first_visible(t)) as u64
    }

    /// Likes and comments of a post at `t`: they settle over the post's first days.
    pub(crate) fn counts(&self, p: &CompPost, t: i64) -> (u64, u64) {
        let age_h = ((t - p.ts).max(0)) as f64 / 3600.0;
        let share = 1.0 - (-age_h / 18.0).exp();
        (
            (p.likes_final * share).round() as u64,
            (p.comments_final * share).round() as u64,
        )
    }

    /// The public permalink of a post.
    pub(crate) fn permalink(p: &CompPost) -> String {
        if p.product == "REELS" {
            format!("https://www.instagram.com/reel/{}/", p.shortcode)
        } else {
            format!("https://www.instagram.com/p/{}/", p.shortcode)
        }
    }

    /// What Business Discovery serves about this account at `t`.
    pub(crate) fn truth(&self, t: i64) -> CompetitorTruth {
        let served = matches!(
            self.kind,
            CompetitorKind::Business | CompetitorKind::Creator
        );
        let media = if served {
            self.posts[self.first_visible(t)..]
                .iter()
                .map(|p| {
                    let (likes, comments) = self.counts(p, t);
                    CompetitorMediaTruth {
                        id: p.id.clone(),
                        timestamp: utc(p.ts),
                        media_type: p.media_type.to_owned(),
                        media_product_type: p.product.to_owned(),
                        like_count: likes,
                        comments_count: comments,
                        permalink: Competitor::permalink(p),
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        CompetitorTruth {
            username: self.username.clone(),
            kind: self.kind,
            at: utc(t),
            ig_user_id: self.ig_user_id.clone(),
            name: self.name.clone(),
            followers_count: served.then(|| self.followers_at(t)),
            follows_count: served.then_some(self.follows_count),
            media_count: served.then(|| self.media_count(t)),
            media,
        }
    }
}

fn utc(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

/// What Business Discovery serves about one public account at a simulated time: the counters
/// are `None` for the accounts it does not serve (personal, age-gated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompetitorTruth {
    /// The username Business Discovery is asked with.
    pub username: String,
    /// What kind of account it is.
    pub kind: CompetitorKind,
    /// The simulated time of the truth.
    pub at: DateTime<Utc>,
    /// Its Instagram user id.
    pub ig_user_id: String,
    /// Its profile name.
    pub name: String,
    /// Followers.
    pub followers_count: Option<u64>,
    /// Accounts it follows.
    pub follows_count: Option<u64>,
    /// Published posts.
    pub media_count: Option<u64>,
    /// Every published post, newest first (empty when not served).
    pub media: Vec<CompetitorMediaTruth>,
}

/// One post of a competitor as Business Discovery serves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompetitorMediaTruth {
    /// Media id.
    pub id: String,
    /// Publication time.
    pub timestamp: DateTime<Utc>,
    /// `IMAGE`, `VIDEO` or `CAROUSEL_ALBUM`.
    pub media_type: String,
    /// `FEED` or `REELS`.
    pub media_product_type: String,
    /// Likes.
    pub like_count: u64,
    /// Comments.
    pub comments_count: u64,
    /// Public link.
    pub permalink: String,
}
