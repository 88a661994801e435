//! The numbers of the world at a given simulated time: post and story counters that grow
//! along a saturating curve (final after 48 h for posts, 24 h for stories), account insight
//! days derived from the posts and stories that accrued on each Pacific day, online
//! followers and audience demographics.
//!
//! Everything here is a pure function of the world and `now`, shared by the HTTP handlers
//! and the ground truth.

use chrono::NaiveDate;

use crate::hash::{h, hs, log_normal, range};
use crate::time::{HOUR, day_end, day_key, day_start};
use crate::world::{Counts, PostKind, Story, World};

/// Posts' numbers settle 48 h after publication.
pub(crate) const POST_SETTLE: i64 = 48 * HOUR;
const POST_TAU: f64 = 8.0 * HOUR as f64;
/// Stories' numbers settle when they expire.
pub(crate) const STORY_SETTLE: i64 = 24 * HOUR;
const STORY_TAU: f64 = 3.0 * HOUR as f64;
/// Account insight days are revised for 48 h after they end (Meta: "may be delayed up to
/// 48 hours").
pub(crate) const DAY_SETTLE: i64 = 48 * HOUR;

/// Share of the settled value reached at `age` seconds: 0 before publication, 1 from
/// `settle` on, a saturating exponential in between.
pub(crate) fn growth(age: i64, settle: i64, tau: f64) -> f64 {
    if age <= 0 {
        return 0.0;
    }
    if age >= settle {
        return 1.0;
    }
    let a = age as f64;
    (1.0 - (-a / tau).exp()) / (1.0 - (-(settle as f64) / tau).exp())
}

fn scale(c: &Counts, g: f64) -> Counts {
    let f = |v: u32| (f64::from(v) * g).floor() as u32;
    Counts {
        reach: f(c.reach),
        views: f(c.views),
        likes: f(c.likes),
        comments: f(c.comments),
        saved: f(c.saved),
        shares: f(c.shares),
        reposts: f(c.reposts),
        profile_visits: f(c.profile_visits),
        follows: f(c.follows),
        profile_activity: f(c.profile_activity),
        replies: f(c.replies),
        navigation: f(c.navigation),
        link_clicks: f(c.link_clicks),
        fb_views: f(c.fb_views),
    }
}

/// A post's counters at `now`.
pub(crate) fn post_counts(fin: &Counts, ts: i64, now: i64) -> Counts {
    scale(fin, growth(now - ts, POST_SETTLE, POST_TAU))
}

/// A story's counters at `now`.
pub(crate) fn story_counts(story: &Story, now: i64) -> Counts {
    scale(&story.fin, growth(now - story.ts, STORY_SETTLE, STORY_TAU))
}

/// Splits `total` over weights so that the parts sum to `total` exactly.
pub(crate) fn split(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 || weights.is_empty() {
        return vec![0; weights.len()];
    }
    let mut parts: Vec<u64> = weights
        .iter()
        .map(|w| (total as f64 * w / sum).floor() as u64)
        .collect();
    let rest = total - parts.iter().sum::<u64>().min(total);
    // The remainder goes to the largest weight.
    let (imax, _) =
        weights.iter().enumerate().fold(
            (0, f64::MIN),
            |acc, (i, &w)| if w > acc.1 { (i, w) } else { acc },
        );
    parts[imax] += rest;
    parts
}

/// `profile_activity` breakdown keys (`action_type`), as the API spells them in results.
pub(crate) const ACTION_TYPES: [&str; 6] = [
    "bio_link_clicked",
    "call",
    "direction",
    "email",
    "other",
    "text",
];
const ACTION_WEIGHTS: [f64; 6] = [0.45, 0.08, 0.07, 0.1, 0.25, 0.05];
/// `navigation` breakdown keys (`story_navigation_action_type`).
pub(crate) const NAVIGATION_TYPES: [&str; 4] =
    ["swipe_forward", "tap_back", "tap_exit", "tap_forward"];
const NAVIGATION_WEIGHTS: [f64; 4] = [0.08, 0.1, 0.12, 0.7];

/// Breakdown of a media's `profile_activity` by action type.
pub(crate) fn profile_activity_split(total: u64) -> Vec<(&'static str, u64)> {
    ACTION_TYPES
        .into_iter()
        .zip(split(total, &ACTION_WEIGHTS))
        .collect()
}

/// Breakdown of a story's `navigation` by action type.
pub(crate) fn navigation_split(total: u64) -> Vec<(&'static str, u64)> {
    NAVIGATION_TYPES
        .into_iter()
        .zip(split(total, &NAVIGATION_WEIGHTS))
        .collect()
}

/// `media_product_type` breakdown keys of account insights.
pub(crate) const PRODUCT_TYPES: [&str; 5] = ["AD", "CAROUSEL_CONTAINER", "POST", "REEL", "STORY"];
const T_CAROUSEL: usize = 1;
const T_POST: usize = 2;
const T_REEL: usize = 3;
const T_STORY: usize = 4;
/// `contact_button_type` breakdown keys.
pub(crate) const CONTACT_TYPES: [&str; 7] = [
    "BOOK_NOW",
    "CALL",
    "DIRECTION",
    "EMAIL",
    "INSTANT_EXPERIENCE",
    "TEXT",
    "UNDEFINED",
];
/// `follow_type` / `follower_type` breakdown keys.
pub(crate) const FOLLOW_TYPES: [&str; 2] = ["FOLLOWER", "NON_FOLLOWER"];

/// One Pacific day of account insights at a given `now`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DayValues {
    pub(crate) reach: u64,
    pub(crate) views: u64,
    pub(crate) likes: u64,
    pub(crate) comments: u64,
    pub(crate) saves: u64,
    pub(crate) shares: u64,
    pub(crate) reposts: u64,
    pub(crate) replies: u64,
    pub(crate) total_interactions: u64,
    pub(crate) accounts_engaged: u64,
    pub(crate) profile_views: u64,
    pub(crate) website_clicks: u64,
    pub(crate) profile_links_taps: u64,
    pub(crate) follows: u64,
    pub(crate) unfollows: u64,
    /// Per [`PRODUCT_TYPES`].
    pub(crate) reach_by_type: [u64; 5],
    pub(crate) views_by_type: [u64; 5],
    pub(crate) likes_by_type: [u64; 5],
    pub(crate) comments_by_type: [u64; 5],
    pub(crate) saves_by_type: [u64; 5],
    pub(crate) shares_by_type: [u64; 5],
    pub(crate) interactions_by_type: [u64; 5],
    /// Per [`FOLLOW_TYPES`].
    pub(crate) reach_by_follow: [u64; 2],
    pub(crate) views_by_follower: [u64; 2],
    /// Per [`CONTACT_TYPES`].
    pub(crate) links_by_contact: [u64; 7],
}

impl DayValues {
    /// The plain value of an account metric (no breakdown).
    pub(crate) fn get(&self, metric: &str) -> Option<u64> {
        Some(match metric {
            "reach" => self.reach,
            "views" => self.views,
            "likes" => self.likes,
            "comments" => self.comments,
            "saves" => self.saves,
            "shares" => self.shares,
            "reposts" => self.reposts,
            "replies" => self.replies,
            "total_interactions" => self.total_interactions,
            "accounts_engaged" => self.accounts_engaged,
            "profile_views" => self.profile_views,
            "website_clicks" => self.website_clicks,
            "profile_links_taps" => self.profile_links_taps,
            "follows_and_unfollows" => self.follows + self.unfollows,
            "follower_count" => self.follows,
            // Only served on v21 before 21 Apr 2025: a little above views.
            "impressions" => self.views + self.views / 12,
            _ => return None,
        })
    }

    /// The values of a metric per breakdown key, or `None` if the metric does not support
    /// that breakdown.
    pub(crate) fn breakdown(
        &self,
        metric: &str,
        dimension: &str,
    ) -> Option<Vec<(&'static str, u64)>> {
        let by_type = |a: &[u64; 5]| {
            PRODUCT_TYPES
                .iter()
                .copied()
                .zip(a.iter().copied())
                .collect()
        };
        let by_follow = |a: &[u64; 2]| {
            FOLLOW_TYPES
                .iter()
                .copied()
                .zip(a.iter().copied())
                .collect()
        };
        Some(match (metric, dimension) {
            ("reach", "media_product_type") => by_type(&self.reach_by_type),
            ("views", "media_product_type") => by_type(&self.views_by_type),
            ("likes", "media_product_type") => by_type(&self.likes_by_type),
            ("comments", "media_product_type") => by_type(&self.comments_by_type),
            ("saves", "media_product_type") => by_type(&self.saves_by_type),
            ("shares", "media_product_type") => by_type(&self.shares_by_type),
            ("total_interactions", "media_product_type") => by_type(&self.interactions_by_type),
            ("reach", "follow_type") => by_follow(&self.reach_by_follow),
            ("views", "follower_type") => by_follow(&self.views_by_follower),
            ("follows_and_unfollows", "follow_type") => {
                vec![("FOLLOWER", self.follows), ("NON_FOLLOWER", self.unfollows)]
            }
            ("profile_links_taps", "contact_button_type") => CONTACT_TYPES
                .iter()
                .copied()
                .zip(self.links_by_contact.iter().copied())
                .collect(),
            _ => return None,
        })
    }
}

/// Whether a metric counts unique accounts (and so is not additive over days).
pub(crate) fn is_unique_count(metric: &str) -> bool {
    matches!(metric, "reach" | "accounts_engaged")
}

/// Combines daily values of a metric into one value over the window: a sum for additive
/// metrics; for unique counts (reach), the largest day plus a fraction of the others, so
/// that the window is always less than the sum of its days.
pub(crate) fn combine(metric: &str, values: &[u64]) -> u64 {
    let sum: u64 = values.iter().sum();
    if !is_unique_count(metric) || values.len() < 2 {
        return sum;
    }
    let max = values.iter().copied().max().unwrap_or(0);
    max + ((sum - max) as f64 * 0.4).floor() as u64
}

/// Account insights for one Pacific day, as reported at `now`; `None` if the day has not
/// started yet.
#[cfg(test)]
pub(crate) fn account_day(
    world: &World,
    acct: usize,
    day: NaiveDate,
    now: i64,
) -> Option<DayValues> {
    account_day_revised(world, acct, day, now, 1.0)
}

/// [`account_day`] after Meta revised the day by `revision` (1.0: not revised). The factor
/// scales the day's accruals like settling does, so every sum and breakdown stays consistent.
pub(crate) fn account_day_revised(
    world: &World,
    acct: usize,
    day: NaiveDate,
    now: i64,
    revision: f64,
) -> Option<DayValues> {
    let start = day_start(day);
    let end = day_end(day);
    if start > now {
        return None;
    }
    let cutoff = end.min(now);
    let a = &world.accounts[acct];
    let f = a.base_followers as f64;
    let dk = day_key(day);
    let dayfrac = ((cutoff - start) as f64 / (end - start) as f64).clamp(0.0, 1.0);
    let since_end = now - end;
    let settled = if since_end >= DAY_SETTLE {
        1.0
    } else {
        0.85 + 0.15 * (since_end.max(0) as f64 / DAY_SETTLE as f64)
    };
    let settle = settled * revision * crate::shape::day_factor(world, acct, day);

    // Raw accruals during the day, per product type.
    let mut reach = [0f64; 5];
    let mut views = [0f64; 5];
    let mut likes = [0f64; 5];
    let mut comments = [0f64; 5];
    let mut saves = [0f64; 5];
    let mut shares = [0f64; 5];
    let (mut reposts, mut replies, mut visits, mut follows) = (0f64, 0f64, 0f64, 0f64);

    let lo = a.posts.partition_point(|p| p.ts >= cutoff);
    let hi = a.posts.partition_point(|p| p.ts >= start - POST_SETTLE);
    for p in &a.posts[lo..hi] {
        let t = match p.kind {
            PostKind::Carousel => T_CAROUSEL,
            PostKind::Reel => T_REEL,
            PostKind::Image | PostKind::FeedVideo => T_POST,
        };
        let c1 = post_counts(&p.fin, p.ts, cutoff);
        let c0 = post_counts(&p.fin, p.ts, start);
        let d = |x: u32, y: u32| f64::from(x.saturating_sub(y));
        reach[t] += d(c1.reach, c0.reach);
        views[t] += d(c1.views, c0.views);
        likes[t] += d(c1.likes, c0.likes);
        comments[t] += d(c1.comments, c0.comments);
        saves[t] += d(c1.saved, c0.saved);
        shares[t] += d(c1.shares, c0.shares);
        reposts += d(c1.reposts, c0.reposts);
        visits += d(c1.profile_visits, c0.profile_visits);
        follows += d(c1.follows, c0.follows);
    }
    for s in world.stories_between(acct, start - STORY_SETTLE, cutoff) {
        let c1 = story_counts(&s, cutoff);
        let c0 = story_counts(&s, start);
        let d = |x: u32, y: u32| f64::from(x.saturating_sub(y));
        reach[T_STORY] += d(c1.reach, c0.reach);
        views[T_STORY] += d(c1.views, c0.views);
        shares[T_STORY] += d(c1.shares, c0.shares);
        replies += d(c1.replies, c0.replies);
        visits += d(c1.profile_visits, c0.profile_visits);
        follows += d(c1.follows, c0.follows);
    }

    let fl = |x: f64| x.max(0.0).floor() as u64;
    let noise = |salt: &str, sigma: f64| log_normal(h(&[a.key, hs(salt), dk]), 0.0, sigma);
    let mut v = DayValues::default();
    for t in 0..5 {
        v.reach_by_type[t] = fl(reach[t] * 0.8 * settle);
        v.views_by_type[t] = fl(views[t] * settle);
        v.likes_by_type[t] = fl(likes[t] * settle);
        v.comments_by_type[t] = fl(comments[t] * settle);
        v.saves_by_type[t] = fl(saves[t] * settle);
        v.shares_by_type[t] = fl(shares[t] * settle);
        v.interactions_by_type[t] =
            v.likes_by_type[t] + v.comments_by_type[t] + v.saves_by_type[t] + v.shares_by_type[t];
    }
    // Accounts reached outside the posts (profile, explore, hashtags).
    // With the life-like shape, most of an account's daily reach comes from outside its new
    // posts (profile, explore, older posts), as on real accounts.
    let (reach_share, visit_share) = if world.shaped {
        (0.15, 0.01)
    } else {
        (0.012, 0.003)
    };
    let base_reach = fl(f * reach_share * noise("base-reach", 0.3) * dayfrac * settle);
    v.reach = v.reach_by_type.iter().sum::<u64>() + base_reach;
    v.views = v.views_by_type.iter().sum::<u64>() + base_reach + base_reach / 3;
    v.likes = v.likes_by_type.iter().sum();
    v.comments = v.comments_by_type.iter().sum();
    v.saves = v.saves_by_type.iter().sum();
    v.shares = v.shares_by_type.iter().sum();
    v.total_interactions = v.likes + v.comments + v.saves + v.shares;
    v.reposts = fl(reposts * settle);
    v.replies = fl(replies * settle);
    v.accounts_engaged = (v.total_interactions * 7 / 10 + v.replies).min(v.reach);
    v.profile_views =
        fl(visits * settle) + fl(f * visit_share * noise("base-visits", 0.3) * dayfrac * settle);
    v.website_clicks = fl(v.profile_views as f64 * range(h(&[a.key, hs("web-rate")]), 0.02, 0.08));
    v.profile_links_taps =
        fl(v.profile_views as f64 * range(h(&[a.key, hs("links-rate")]), 0.03, 0.1));
    let contact_weights: [f64; 7] = std::array::from_fn(|i| {
        let base = if a.account_type == crate::world::AccountType::Business {
            [0.05, 0.25, 0.2, 0.2, 0.02, 0.08, 0.2][i]
        } else {
            [0.0, 0.02, 0.0, 0.35, 0.0, 0.03, 0.6][i]
        };
        base * range(h(&[a.key, hs("contact"), i as u64]), 0.5, 1.5)
    });
    let parts = split(v.profile_links_taps, &contact_weights);
    v.links_by_contact.copy_from_slice(&parts);
    v.follows =
        fl(follows * settle) + fl(f * 0.0012 * noise("base-follows", 0.4) * dayfrac * settle);
    v.unfollows = fl(v.follows as f64 * range(h(&[a.key, hs("unfollow"), dk]), 0.25, 0.6));
    let share = range(h(&[a.key, hs("follower-share"), dk]), 0.35, 0.75);
    let rf = fl(v.reach as f64 * share);
    v.reach_by_follow = [rf, v.reach - rf];
    let vf = fl(v.views as f64 * share);
    v.views_by_follower = [vf, v.views - vf];
    Some(v)
}

/// Followers online per Pacific hour on `day`, keyed "0".."23".
pub(crate) fn online_followers(world: &World, acct: usize, day: NaiveDate) -> Vec<(u32, u64)> {
    let a = &world.accounts[acct];
    let dk = day_key(day);
    let f = world.followers_at(acct, day_end(day)) as f64;
    let online = f * 0.35 * log_normal(h(&[a.key, hs("online"), dk]), 0.0, 0.15);
    let peak = 17.0 + (h(&[a.key, hs("peak")]) % 6) as f64;
    (0..24u32)
        .map(|hour| {
            let dist = (f64::from(hour) - peak)
                .abs()
                .min(24.0 - (f64::from(hour) - peak).abs());
            let w = 0.25 + 0.75 * (-(dist * dist) / 18.0).exp();
            let n = range(h(&[a.key, hs("online-h"), dk, u64::from(hour)]), 0.9, 1.1);
            (hour, (online * w * n).floor() as u64)
        })
        .collect()
}

/// Age buckets of demographics.
pub(crate) const AGES: [&str; 7] = ["13-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"];
const AGE_SHAPE: [f64; 7] = [0.03, 0.22, 0.33, 0.2, 0.11, 0.07, 0.04];
/// Gender values of demographics.
pub(crate) const GENDERS: [&str; 3] = ["F", "M", "U"];
const COUNTRIES: [&str; 50] = [
    "US", "BR", "IN", "ID", "MX", "TR", "GB", "DE", "FR", "IT", "ES", "JP", "CA", "AR", "PH", "RU",
    "KR", "TH", "CO", "AU", "NL", "PL", "EG", "NG", "ZA", "SA", "AE", "MY", "VN", "CL", "PE", "PT",
    "SE", "BE", "CH", "AT", "IE", "DK", "NO", "FI", "GR", "CZ", "RO", "HU", "IL", "NZ", "SG", "PK",
    "BD", "UA",
];
const CITIES: [(&str, &str); 60] = [
    ("US", "New York, New York"),
    ("US", "Los Angeles, California"),
    ("US", "Chicago, Illinois"),
    ("US", "Houston, Texas"),
    ("US", "Miami, Florida"),
    ("BR", "São Paulo, São Paulo (state)"),
    ("BR", "Rio de Janeiro, Rio de Janeiro (state)"),
    ("BR", "Belo Horizonte, Minas Gerais"),
    ("IN", "Mumbai, Maharashtra"),
    ("IN", "Delhi, Delhi"),
    ("IN", "Bangalore, Karnataka"),
    ("ID", "Jakarta, Jakarta"),
    ("ID", "Surabaya, East Java"),
    ("MX", "Mexico City, Distrito Federal"),
    ("MX", "Guadalajara, Jalisco"),
    ("TR", "Istanbul, Istanbul Province"),
    ("TR", "Ankara, Ankara Province"),
    ("GB", "London, England"),
    ("GB", "Manchester, England"),
    ("GB", "Birmingham, England"),
    ("DE", "Berlin, Berlin"),
    ("DE", "Hamburg, Hamburg"),
    ("DE", "Munich, Bavaria"),
    ("FR", "Paris, Île-de-France"),
    ("FR", "Lyon, Rhône-Alpes"),
    ("IT", "Rome, Lazio"),
    ("IT", "Milan, Lombardy"),
    ("ES", "Madrid, Comunidad de Madrid"),
    ("ES", "Barcelona, Catalonia"),
    ("JP", "Tokyo, Tokyo"),
    ("JP", "Osaka, Osaka"),
    ("CA", "Toronto, Ontario"),
    ("CA", "Montreal, Quebec"),
    ("CA", "Vancouver, British Columbia"),
    ("AR", "Buenos Aires, Buenos Aires"),
    ("PH", "Manila, Metro Manila"),
    ("RU", "Moscow, Moscow"),
    ("KR", "Seoul, Seoul"),
    ("TH", "Bangkok, Bangkok"),
    ("CO", "Bogotá, Distrito Especial"),
    ("AU", "Sydney, New South Wales"),
    ("AU", "Melbourne, Victoria"),
    ("NL", "Amsterdam, North Holland"),
    ("PL", "Warsaw, Masovian Voivodeship"),
    ("EG", "Cairo, Cairo Governorate"),
    ("NG", "Lagos, Lagos State"),
    ("ZA", "Johannesburg, Gauteng"),
    ("SA", "Riyadh, Riyadh Region"),
    ("AE", "Dubai, Dubai"),
    ("MY", "Kuala Lumpur, Kuala Lumpur"),
    ("VN", "Ho Chi Minh City, Ho Chi Minh City"),
    ("CL", "Santiago, Santiago Metropolitan Region"),
    ("PE", "Lima, Lima Region"),
    ("PT", "Lisbon, Lisbon District"),
    ("SE", "Stockholm, Stockholm County"),
    ("BE", "Brussels, Brussels"),
    ("CH", "Zürich, Canton of Zürich"),
    ("AT", "Vienna, Vienna"),
    ("IE", "Dublin, Dublin"),
    ("DK", "Copenhagen, Capital Region of Denmark"),
];

/// How many values a demographic breakdown returns at most.
pub(crate) const DEMOGRAPHIC_TOP: usize = 45;

/// The audience profile of an account: weights per age, gender, country and city.
fn country_weights(world: &World, acct: usize) -> Vec<(&'static str, f64)> {
    let key = world.accounts[acct].key;
    let home = (h(&[key, hs("home")]) % COUNTRIES.len() as u64) as usize;
    let home_share = range(h(&[key, hs("home-share")]), 0.45, 0.75);
    COUNTRIES
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let w = if i == home {
                home_share
            } else {
                // Zipf-like tail in a per-account order.
                let rank = 1 + (h(&[key, hs("country-rank"), i as u64]) % 50) as usize;
                (1.0 - home_share) * 0.25 / rank as f64
            };
            (*c, w)
        })
        .collect()
}

fn age_weights(world: &World, acct: usize) -> [f64; 7] {
    let key = world.accounts[acct].key;
    std::array::from_fn(|i| AGE_SHAPE[i] * log_normal(h(&[key, hs("age"), i as u64]), 0.0, 0.35))
}

fn gender_weights(world: &World, acct: usize) -> [f64; 3] {
    let key = world.accounts[acct].key;
    let female = range(h(&[key, hs("female")]), 0.3, 0.7);
    let unknown = range(h(&[key, hs("unknown-gender")]), 0.02, 0.06);
    [
        female * (1.0 - unknown),
        (1.0 - female) * (1.0 - unknown),
        unknown,
    ]
}

/// One demographic breakdown (e.g. `age`, `country`, `age,gender`) of an audience of
/// `total` people: the top 45 keys by value, largest first.
pub(crate) fn demographics(
    world: &World,
    acct: usize,
    total: u64,
    breakdown: &[&str],
) -> Vec<(Vec<String>, u64)> {
    let mut out = demographics_all(world, acct, total, breakdown);
    out.truncate(DEMOGRAPHIC_TOP);
    out
}

/// Every non-zero key of a demographic breakdown, largest first (what Meta cuts to the
/// top 45).
pub(crate) fn demographics_all(
    world: &World,
    acct: usize,
    total: u64,
    breakdown: &[&str],
) -> Vec<(Vec<String>, u64)> {
    let mut dims: Vec<Vec<(String, f64)>> = Vec::new();
    for b in breakdown {
        let dim: Vec<(String, f64)> = match *b {
            "age" => AGES
                .iter()
                .map(|s| (*s).to_owned())
                .zip(age_weights(world, acct))
                .collect(),
            "gender" => GENDERS
                .iter()
                .map(|s| (*s).to_owned())
                .zip(gender_weights(world, acct))
                .collect(),
            "country" => country_weights(world, acct)
                .into_iter()
                .map(|(c, w)| (c.to_owned(), w))
                .collect(),
            "city" => {
                let countries = country_weights(world, acct);
                let key = world.accounts[acct].key;
                CITIES
                    .iter()
                    .enumerate()
                    .map(|(i, (c, city))| {
                        let cw = countries.iter().find(|(k, _)| k == c).map_or(0.0, |x| x.1);
                        let share = range(h(&[key, hs("city"), i as u64]), 0.05, 0.35);
                        ((*city).to_owned(), cw * share)
                    })
                    .collect()
            }
            _ => continue,
        };
        let sum: f64 = dim.iter().map(|x| x.1).sum();
        dims.push(
            dim.into_iter()
                .map(|(k, w)| (k, w / sum.max(1e-9)))
                .collect(),
        );
    }
    if dims.is_empty() {
        return Vec::new();
    }
    // Cartesian product of the dimensions.
    let mut combos: Vec<(Vec<String>, f64)> = vec![(Vec::new(), 1.0)];
    for dim in &dims {
        let mut next = Vec::with_capacity(combos.len() * dim.len());
        for (keys, w) in &combos {
            for (k, dw) in dim {
                let mut ks = keys.clone();
                ks.push(k.clone());
                next.push((ks, w * dw));
            }
        }
        combos = next;
    }
    let mut out: Vec<(Vec<String>, u64)> = combos
        .into_iter()
        .map(|(k, w)| (k, (total as f64 * w).floor() as u64))
        .filter(|(_, v)| *v > 0)
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// The audience size behind a demographic metric at `now`: current followers with known
/// demographics, or accounts engaged / reached over the timeframe's days. `None` when the
/// account is below the 100 followers / 100 engagements threshold.
pub(crate) fn demographic_total(
    world: &World,
    acct: usize,
    metric: &str,
    days: u32,
    now: i64,
    day_values: impl Fn(NaiveDate) -> Option<DayValues>,
) -> Option<u64> {
    let followers = world.followers_at(acct, now);
    if followers < 100 {
        return None;
    }
    let total = match metric {
        "follower_demographics" => followers * 85 / 100,
        "engaged_audience_demographics" | "reached_audience_demographics" => {
            let today = crate::time::pacific_date(now);
            let name = if metric == "engaged_audience_demographics" {
                "accounts_engaged"
            } else {
                "reach"
            };
            let values: Vec<u64> = (0..days)
                .filter_map(|back| {
                    let d = today - chrono::Duration::days(i64::from(back));
                    day_values(d).and_then(|v| v.get(name))
                })
                .collect();
            combine(name, &values) * 9 / 10
        }
        _ => return None,
    };
    (total >= 100).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;
    use crate::time::{DAY, pacific_date};

    #[test]
    fn growth_saturates_at_settle() {
        assert_eq!(growth(-5, POST_SETTLE, POST_TAU), 0.0);
        assert_eq!(growth(POST_SETTLE, POST_SETTLE, POST_TAU), 1.0);
        let a = growth(6 * HOUR, POST_SETTLE, POST_TAU);
        let b = growth(12 * HOUR, POST_SETTLE, POST_TAU);
        assert!(0.0 < a && a < b && b < 1.0);
    }

    #[test]
    fn split_sums_exactly() {
        let parts = split(1001, &ACTION_WEIGHTS);
        assert_eq!(parts.iter().sum::<u64>(), 1001);
    }

    #[test]
    fn settled_days_are_consistent_and_frozen() {
        let w = World::generate(&SimConfig::new(9, 2, 400));
        let now = w.start;
        let day = pacific_date(now) - chrono::Duration::days(10);
        let v1 = account_day(&w, 0, day, now).unwrap();
        let v2 = account_day(&w, 0, day, now + 5 * DAY).unwrap();
        assert_eq!(v1, v2);
        assert_eq!(
            v1.total_interactions,
            v1.likes + v1.comments + v1.saves + v1.shares
        );
        assert!(v1.reach <= v1.views);
        assert!(v1.accounts_engaged <= v1.reach);
        assert_eq!(
            v1.links_by_contact.iter().sum::<u64>(),
            v1.profile_links_taps
        );
        let today = pacific_date(now);
        assert!(account_day(&w, 0, today + chrono::Duration::days(2), now).is_none());
    }

    #[test]
    fn demographics_are_top_45_sorted() {
        let w = World::generate(&SimConfig::new(9, 2, 10));
        let rows = demographics(&w, 0, 100_000, &["city"]);
        assert!(rows.len() <= DEMOGRAPHIC_TOP);
        assert!(rows.windows(2).all(|r| r[0].1 >= r[1].1));
        let rows = demographics(&w, 0, 100_000, &["age", "gender"]);
        assert_eq!(rows[0].0.len(), 2);
    }
}
