//! Competitors' figures from their Business Discovery snapshots (public counters only: no
//! reach, no views of ours to compare with), and the peer benchmark: where one account ranks
//! in its peer set on each figure over the same period.
//!
//! Missing is `None`: a hidden like count leaves the post out of engagement, too few
//! captures leave growth out, a zero denominator leaves the rate out.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Utc, Weekday};
use chrono_tz::Tz;

use crate::definition::{
    COMPETITOR_ENGAGEMENT_AT_AGE, COMPETITOR_ENGAGEMENT_PER_FOLLOWER,
    COMPETITOR_ENGAGEMENT_PER_POST, COMPETITOR_FOLLOWER_GROWTH, COMPETITOR_FOLLOWER_GROWTH_PCT,
    COMPETITOR_POSTS_PER_WEEK, Definition,
};
use crate::figure::Figure;

/// One capture of an account's follower counter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CounterSample {
    pub at: DateTime<Utc>,
    /// `None` when Meta gave no value at that capture.
    pub followers: Option<u64>,
}

/// One capture of a post's public counters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeerPostSample {
    pub at: DateTime<Utc>,
    pub likes: Option<u64>,
    pub comments: Option<u64>,
}

/// One post of an account in a peer set, with its captures (any order).
#[derive(Debug, Clone, PartialEq)]
pub struct PeerPost {
    pub id: String,
    pub posted_at: DateTime<Utc>,
    /// `FEED`, `REELS`, … (`None`: Meta did not say).
    pub product_type: Option<String>,
    pub samples: Vec<PeerPostSample>,
}

impl PeerPost {
    /// Likes + comments at the latest capture, when both are public there.
    pub fn engagement_latest(&self) -> Option<u64> {
        let s = self.samples.iter().max_by_key(|s| s.at)?;
        Some(s.likes? + s.comments?)
    }

    /// Likes + comments at the first capture at least `age` after publication.
    pub fn engagement_at_age(&self, age: Duration) -> Option<u64> {
        let due = self.posted_at + age;
        let s = self
            .samples
            .iter()
            .filter(|s| s.at >= due)
            .min_by_key(|s| s.at)?;
        Some(s.likes? + s.comments?)
    }
}

/// An account of a peer set: its follower captures and its posts.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerAccount {
    pub name: String,
    pub followers: Vec<CounterSample>,
    pub posts: Vec<PeerPost>,
}

/// A half-open period `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Window {
    fn contains(&self, t: DateTime<Utc>) -> bool {
        t >= self.from && t < self.to
    }
}

fn in_window(a: &PeerAccount, w: Window) -> impl Iterator<Item = &PeerPost> {
    a.posts.iter().filter(move |p| w.contains(p.posted_at))
}

/// First and last follower values captured in the window (captures without a value skipped).
fn follower_ends(a: &PeerAccount, w: Window) -> Option<(u64, u64)> {
    let mut s: Vec<(DateTime<Utc>, u64)> = a
        .followers
        .iter()
        .filter(|s| w.contains(s.at))
        .filter_map(|s| Some((s.at, s.followers?)))
        .collect();
    if s.len() < 2 {
        return None;
    }
    s.sort_by_key(|x| x.0);
    Some((s[0].1, s[s.len() - 1].1))
}

/// `competitor_follower_growth`.
pub fn follower_growth(a: &PeerAccount, w: Window) -> Figure {
    match follower_ends(a, w) {
        Some((first, last)) => Figure::new(
            &COMPETITOR_FOLLOWER_GROWTH,
            Some(last as f64 - first as f64),
        ),
        None => Figure::missing(
            &COMPETITOR_FOLLOWER_GROWTH,
            "fewer than two captures of followers in the period",
        ),
    }
}

/// `competitor_follower_growth_pct`.
pub fn follower_growth_rate(a: &PeerAccount, w: Window) -> Figure {
    match follower_ends(a, w) {
        Some((0, _)) => Figure::missing(
            &COMPETITOR_FOLLOWER_GROWTH_PCT,
            "no followers at the first capture",
        ),
        Some((first, last)) => Figure::new(
            &COMPETITOR_FOLLOWER_GROWTH_PCT,
            Some((last as f64 - first as f64) / first as f64 * 100.0),
        ),
        None => Figure::missing(
            &COMPETITOR_FOLLOWER_GROWTH_PCT,
            "fewer than two captures of followers in the period",
        ),
    }
}

/// `competitor_posts_per_week`.
pub fn posts_per_week(a: &PeerAccount, w: Window) -> Figure {
    let weeks = (w.to - w.from).num_seconds() as f64 / (7.0 * 86_400.0);
    if weeks <= 0.0 {
        return Figure::missing(&COMPETITOR_POSTS_PER_WEEK, "empty period");
    }
    if a.followers.is_empty() && a.posts.is_empty() {
        return Figure::missing(&COMPETITOR_POSTS_PER_WEEK, "nothing captured yet");
    }
    Figure::new(
        &COMPETITOR_POSTS_PER_WEEK,
        Some(in_window(a, w).count() as f64 / weeks),
    )
}

/// `competitor_posts_by_weekday`: posts per weekday (Monday first) in `tz`.
pub fn posts_by_weekday(a: &PeerAccount, w: Window, tz: Tz) -> [u32; 7] {
    let mut out = [0u32; 7];
    for p in in_window(a, w) {
        let d: Weekday = p.posted_at.with_timezone(&tz).weekday();
        out[d.num_days_from_monday() as usize] += 1;
    }
    out
}

/// `competitor_posts_by_product_type`: posts per product type (`unknown` when not given).
pub fn posts_by_product_type(a: &PeerAccount, w: Window) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for p in in_window(a, w) {
        let k = p.product_type.clone().unwrap_or_else(|| "unknown".into());
        *out.entry(k).or_insert(0) += 1;
    }
    out
}

/// `competitor_engagement_per_post`.
pub fn engagement_per_post(a: &PeerAccount, w: Window) -> Figure {
    let v: Vec<f64> = in_window(a, w)
        .filter_map(PeerPost::engagement_latest)
        .map(|e| e as f64)
        .collect();
    if v.is_empty() {
        return Figure::missing(
            &COMPETITOR_ENGAGEMENT_PER_POST,
            "no post with public likes and comments in the period",
        );
    }
    Figure::new(
        &COMPETITOR_ENGAGEMENT_PER_POST,
        Some(v.iter().sum::<f64>() / v.len() as f64),
    )
}

/// `competitor_engagement_per_follower`: (likes+comments)/followers × 100, mean of posts,
/// with the followers of the latest capture.
pub fn engagement_per_follower(a: &PeerAccount, w: Window) -> Figure {
    let followers = a
        .followers
        .iter()
        .filter(|s| s.followers.is_some())
        .max_by_key(|s| s.at)
        .and_then(|s| s.followers);
    let Some(followers) = followers.filter(|f| *f > 0) else {
        return Figure::missing(
            &COMPETITOR_ENGAGEMENT_PER_FOLLOWER,
            "no follower count captured",
        );
    };
    let v: Vec<f64> = in_window(a, w)
        .filter_map(PeerPost::engagement_latest)
        .map(|e| e as f64 / followers as f64 * 100.0)
        .collect();
    if v.is_empty() {
        return Figure::missing(
            &COMPETITOR_ENGAGEMENT_PER_FOLLOWER,
            "no post with public likes and comments in the period",
        );
    }
    Figure::new(
        &COMPETITOR_ENGAGEMENT_PER_FOLLOWER,
        Some(v.iter().sum::<f64>() / v.len() as f64),
    )
}

/// The period's `n` posts with the most likes + comments at `age` (ties: the earlier post),
/// each with its `competitor_engagement_at_age` figure. Posts without a capture that old
/// are left out.
pub fn top_posts(a: &PeerAccount, w: Window, age: Duration, n: usize) -> Vec<(&PeerPost, Figure)> {
    let mut v: Vec<(&PeerPost, u64)> = in_window(a, w)
        .filter_map(|p| Some((p, p.engagement_at_age(age)?)))
        .collect();
    v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.posted_at.cmp(&y.0.posted_at)));
    v.into_iter()
        .take(n)
        .map(|(p, e)| {
            (
                p,
                Figure::new(&COMPETITOR_ENGAGEMENT_AT_AGE, Some(e as f64)),
            )
        })
        .collect()
}

/// A figure of one account over a period.
pub type FigureFn = fn(&PeerAccount, Window) -> Figure;

/// The figures the peer benchmark ranks, as functions of an account and the period.
pub const BENCHMARK_FIGURES: &[(&Definition, FigureFn)] = &[
    (&COMPETITOR_FOLLOWER_GROWTH, follower_growth),
    (&COMPETITOR_FOLLOWER_GROWTH_PCT, follower_growth_rate),
    (&COMPETITOR_POSTS_PER_WEEK, posts_per_week),
    (&COMPETITOR_ENGAGEMENT_PER_POST, engagement_per_post),
    (&COMPETITOR_ENGAGEMENT_PER_FOLLOWER, engagement_per_follower),
];

/// Where our account stands on one figure.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerRank {
    /// The ranked figure's key.
    pub figure: &'static str,
    /// Our value.
    pub ours: Figure,
    /// 1 = best (`peer_rank`); `None` when our value is missing.
    pub rank: Option<usize>,
    /// Accounts with a value, ours included.
    pub of: usize,
    /// The peers' median (with a value), for context.
    pub peer_median: Option<f64>,
}

/// The peer benchmark of one account: how many competitors it was ranked among, and its rank
/// on each figure.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerBenchmark {
    /// Competitors in the peer set (tracked through the account).
    pub competitors: usize,
    /// One rank per [`BENCHMARK_FIGURES`] entry, in that order.
    pub ranks: Vec<PeerRank>,
}

/// Ranks `ours` among `peers` on every benchmark figure over `w` (higher is better).
pub fn peer_benchmark(ours: &PeerAccount, peers: &[PeerAccount], w: Window) -> Vec<PeerRank> {
    BENCHMARK_FIGURES
        .iter()
        .map(|(def, f)| {
            let mine = f(ours, w);
            let mut theirs: Vec<f64> = peers.iter().filter_map(|p| f(p, w).value).collect();
            theirs.sort_by(f64::total_cmp);
            let peer_median = match theirs.len() {
                0 => None,
                n if n % 2 == 1 => Some(theirs[n / 2]),
                n => Some((theirs[n / 2 - 1] + theirs[n / 2]) / 2.0),
            };
            let rank = mine
                .value
                .map(|v| 1 + theirs.iter().filter(|t| **t > v).count());
            PeerRank {
                figure: def.key,
                of: theirs.len() + usize::from(mine.value.is_some()),
                ours: mine,
                rank,
                peer_median,
            }
        })
        .collect()
}

/// A post whose engagement reached a multiple of its account's median engagement per post.
#[derive(Debug, Clone, PartialEq)]
pub struct StandoutPost {
    pub id: String,
    /// Likes + comments at the latest capture.
    pub engagement: u64,
    /// The median of the account's posts (those with public likes and comments).
    pub median: f64,
    /// `engagement / median`.
    pub multiple: f64,
}

/// Fewest posts with public counters before a median is a fair "usual" engagement.
pub const STANDOUT_MIN_POSTS: usize = 5;

/// The posts whose likes + comments at their latest capture are at least `multiple` × the
/// median of the account's posts. Nothing when fewer than [`STANDOUT_MIN_POSTS`] posts have
/// public counters or the median is 0 (no usual level to compare with).
pub fn standout_posts(posts: &[PeerPost], multiple: f64) -> Vec<StandoutPost> {
    let engaged: Vec<(&PeerPost, u64)> = posts
        .iter()
        .filter_map(|p| Some((p, p.engagement_latest()?)))
        .collect();
    if engaged.len() < STANDOUT_MIN_POSTS {
        return Vec::new();
    }
    let mut v: Vec<u64> = engaged.iter().map(|(_, e)| *e).collect();
    v.sort_unstable();
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0
    };
    if median <= 0.0 {
        return Vec::new();
    }
    engaged
        .into_iter()
        .filter(|(_, e)| *e as f64 >= multiple * median)
        .map(|(p, e)| StandoutPost {
            id: p.id.clone(),
            engagement: e,
            median,
            multiple: e as f64 / median,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(day: u32, hour: u32) -> DateTime<Utc> {
        // 2026-03-02 is a Monday.
        Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
    }

    fn post(id: &str, day: u32, product: &str, likes: Option<u64>, comments: u64) -> PeerPost {
        PeerPost {
            id: id.into(),
            posted_at: t(day, 10),
            product_type: Some(product.into()),
            samples: vec![
                PeerPostSample {
                    at: t(day, 12),
                    likes: likes.map(|l| l / 2),
                    comments: Some(comments / 2),
                },
                PeerPostSample {
                    at: t(day + 1, 12),
                    likes,
                    comments: Some(comments),
                },
            ],
        }
    }

    fn account(name: &str, followers: [u64; 2], posts: Vec<PeerPost>) -> PeerAccount {
        PeerAccount {
            name: name.into(),
            followers: vec![
                CounterSample {
                    at: t(2, 0),
                    followers: Some(followers[0]),
                },
                CounterSample {
                    at: t(8, 0),
                    followers: None,
                },
                CounterSample {
                    at: t(15, 0),
                    followers: Some(followers[1]),
                },
            ],
            posts,
        }
    }

    fn w() -> Window {
        Window {
            from: t(2, 0),
            to: t(16, 0),
        }
    }

    fn us() -> PeerAccount {
        // 1000 → 1100 followers; posts: 90+10, hidden likes, 40+0.
        account(
            "us",
            [1000, 1100],
            vec![
                post("a", 2, "FEED", Some(90), 10),
                post("b", 4, "REELS", None, 6),
                post("c", 9, "REELS", Some(40), 0),
            ],
        )
    }

    fn peers() -> Vec<PeerAccount> {
        vec![
            // 2000 → 2300: growth 300 (15 %); one post 200+0.
            account("p1", [2000, 2300], vec![post("x", 3, "FEED", Some(200), 0)]),
            // 500 → 450: growth −50 (−10 %); two posts 10+2, 20+4.
            account(
                "p2",
                [500, 450],
                vec![
                    post("y", 5, "FEED", Some(10), 2),
                    post("z", 6, "FEED", Some(20), 4),
                ],
            ),
            // No follower counts, no public likes: every figure but cadence missing.
            PeerAccount {
                name: "p3".into(),
                followers: vec![],
                posts: vec![post("w", 7, "REELS", None, 1)],
            },
        ]
    }

    #[test]
    fn figures_match_hand_computed_values() {
        let a = us();
        assert_eq!(follower_growth(&a, w()).value, Some(100.0));
        assert_eq!(follower_growth_rate(&a, w()).value, Some(10.0));
        assert_eq!(posts_per_week(&a, w()).value, Some(1.5));
        // Mean of 100 and 40; the post with hidden likes is left out.
        assert_eq!(engagement_per_post(&a, w()).value, Some(70.0));
        // (100/1100 + 40/1100) / 2 × 100.
        let epf = engagement_per_follower(&a, w()).value.unwrap();
        assert!((epf - 70.0 / 1100.0 * 100.0).abs() < 1e-12, "{epf}");
        assert_eq!(
            engagement_per_follower(&a, w()).key,
            "competitor_engagement_per_follower"
        );
        // Mon 2, Wed 4, Mon 9.
        assert_eq!(
            posts_by_weekday(&a, w(), chrono_tz::UTC),
            [2, 0, 1, 0, 0, 0, 0]
        );
        assert_eq!(
            posts_by_product_type(&a, w()),
            BTreeMap::from([("FEED".into(), 1), ("REELS".into(), 2)])
        );
        // At 2 h the first capture counts (half the final numbers); at 1 day the second.
        let top = top_posts(&a, w(), Duration::hours(2), 5);
        assert_eq!(
            top.iter()
                .map(|(p, f)| (p.id.as_str(), f.value))
                .collect::<Vec<_>>(),
            [("a", Some(50.0)), ("c", Some(20.0))]
        );
        let top = top_posts(&a, w(), Duration::hours(26), 1);
        assert_eq!(top[0].1.value, Some(100.0));
        assert!(top_posts(&a, w(), Duration::days(30), 5).is_empty());
    }

    #[test]
    fn missing_stays_missing() {
        let p3 = &peers()[2];
        assert_eq!(follower_growth(p3, w()).value, None);
        assert!(follower_growth(p3, w()).note.is_some());
        assert_eq!(engagement_per_post(p3, w()).value, None);
        assert_eq!(engagement_per_follower(p3, w()).value, None);
        let zero = account("z", [0, 10], vec![]);
        assert_eq!(follower_growth(&zero, w()).value, Some(10.0));
        assert_eq!(follower_growth_rate(&zero, w()).value, None);
    }

    #[test]
    fn peer_benchmark_ranks_against_hand_computed_values() {
        let ranks = peer_benchmark(&us(), &peers(), w());
        let get = |k: &str| ranks.iter().find(|r| r.figure == k).unwrap();
        // Growth: p1 300 > us 100 > p2 −50; p3 has none.
        let g = get("competitor_follower_growth");
        assert_eq!((g.rank, g.of, g.peer_median), (Some(2), 3, Some(125.0)));
        // Rate: p1 15 > us 10 > p2 −10.
        let r = get("competitor_follower_growth_pct");
        assert_eq!((r.rank, r.of, r.peer_median), (Some(2), 3, Some(2.5)));
        // Posts per week: us 1.5 > p2 1.0 > p1 0.5 = p3 0.5.
        let c = get("competitor_posts_per_week");
        assert_eq!((c.rank, c.of, c.peer_median), (Some(1), 4, Some(0.5)));
        // Engagement per post: p1 200 > us 70 > p2 18.
        let e = get("competitor_engagement_per_post");
        assert_eq!((e.rank, e.of, e.peer_median), (Some(2), 3, Some(109.0)));
        // Per follower: p1 200/2300 = 8.70 %, p2 mean(12,24)/450 = 4 %, us 6.36 %.
        let f = get("competitor_engagement_per_follower");
        assert_eq!((f.rank, f.of), (Some(2), 3));
        let m = f.peer_median.unwrap();
        assert!(
            (m - (200.0 / 2300.0 * 100.0 + 4.0) / 2.0).abs() < 1e-9,
            "{m}"
        );
        // Our missing value has no rank.
        let none = peer_benchmark(&peers()[2], &peers()[..2], w());
        assert_eq!(none[0].rank, None);
        assert_eq!(none[0].of, 2);
    }

    #[test]
    fn standout_posts_reach_the_multiple_of_their_accounts_median() {
        // Engagement (likes + comments at the latest capture): 10, 20, 30, 40, 95, hidden.
        // Median of the five public ones: 30; 3 × 30 = 90: only the 95 stands out (3.1667×).
        let posts = vec![
            post("a", 2, "FEED", Some(8), 2),
            post("b", 3, "FEED", Some(16), 4),
            post("c", 4, "REELS", Some(24), 6),
            post("d", 5, "FEED", Some(32), 8),
            post("e", 6, "REELS", Some(85), 10),
            post("hidden", 7, "FEED", None, 500),
        ];
        let found = standout_posts(&posts, 3.0);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, "e");
        assert_eq!(found[0].engagement, 95);
        assert_eq!(found[0].median, 30.0);
        assert!((found[0].multiple - 95.0 / 30.0).abs() < 1e-12);
        assert_eq!(standout_posts(&posts, 3.2), vec![]);
        // Four public posts are too few for a usual level.
        assert_eq!(standout_posts(&posts[1..], 1.0), vec![]);
        // A median of 0 gives no usual level either.
        let quiet: Vec<PeerPost> = (0..5)
            .map(|i| {
                post(
                    &format!("q{i}"),
                    2 + i,
                    "FEED",
                    Some(0),
                    if i == 4 { 2 } else { 0 },
                )
            })
            .collect();
        assert_eq!(standout_posts(&quiet, 3.0), vec![]);
    }
}
