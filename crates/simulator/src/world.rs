//! The seeded world: accounts, their posts (with carousel children) and their stories.
//!
//! Generation is cheap: each post is a compact record of its timestamp, kind and settled
//! counters; stories are not stored at all but derived from the seed per 24 h slot. Ids are
//! arithmetic (account, kind, index) so a lookup by id needs no index.

use serde::{Deserialize, Serialize};

use crate::config::SimConfig;
use crate::hash::{self, h, hs, log_normal, range, unit};
use crate::time::{DAY, HOUR};

/// Whether the professional account is a business or a creator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountType {
    /// `BUSINESS`.
    Business,
    /// `MEDIA_CREATOR`.
    MediaCreator,
}

impl AccountType {
    /// The Graph API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountType::Business => "BUSINESS",
            AccountType::MediaCreator => "MEDIA_CREATOR",
        }
    }
}

/// How the account is connected: Instagram API with Facebook Login (a Page with an
/// `instagram_business_account`) or with Instagram Login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LoginKind {
    /// Facebook Login: Facebook user token, `/me/accounts`.
    Facebook,
    /// Instagram Login: Instagram user token, `/me` with `user_id`.
    Instagram,
}

/// The kind of a feed post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PostKind {
    /// FEED, IMAGE.
    Image,
    /// FEED, VIDEO (older feed videos).
    FeedVideo,
    /// FEED, CAROUSEL_ALBUM with 2–10 children.
    Carousel,
    /// REELS, VIDEO.
    Reel,
}

impl PostKind {
    pub(crate) fn media_type(self) -> &'static str {
        match self {
            PostKind::Image => "IMAGE",
            PostKind::FeedVideo | PostKind::Reel => "VIDEO",
            PostKind::Carousel => "CAROUSEL_ALBUM",
        }
    }

    pub(crate) fn surface(self) -> Surface {
        match self {
            PostKind::Reel => Surface::Reels,
            _ => Surface::Feed,
        }
    }
}

/// A media product type as far as metric availability is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Surface {
    Feed,
    Reels,
    Story,
}

impl Surface {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Surface::Feed => "FEED",
            Surface::Reels => "REELS",
            Surface::Story => "STORY",
        }
    }
}

/// Settled (final) counters of a post or story; current values grow towards them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Counts {
    pub(crate) reach: u32,
    pub(crate) views: u32,
    pub(crate) likes: u32,
    pub(crate) comments: u32,
    pub(crate) saved: u32,
    pub(crate) shares: u32,
    pub(crate) reposts: u32,
    pub(crate) profile_visits: u32,
    pub(crate) follows: u32,
    pub(crate) profile_activity: u32,
    pub(crate) replies: u32,
    pub(crate) navigation: u32,
    pub(crate) link_clicks: u32,
    pub(crate) fb_views: u32,
}

/// One feed post or reel.
#[derive(Debug, Clone)]
pub(crate) struct Post {
    pub(crate) ts: i64,
    pub(crate) kind: PostKind,
    pub(crate) children: u8,
    pub(crate) child_videos: u16,
    pub(crate) pre_conversion: bool,
    pub(crate) crossposted: bool,
    pub(crate) has_caption: bool,
    pub(crate) avg_watch_ms: u32,
    pub(crate) skip_rate_bp: u16,
    pub(crate) fin: Counts,
}

/// One story (derived from the seed, never stored).
#[derive(Debug, Clone)]
pub(crate) struct Story {
    pub(crate) slot: i64,
    pub(crate) n: u8,
    pub(crate) ts: i64,
    pub(crate) video: bool,
    pub(crate) crossposted: bool,
    pub(crate) fin: Counts,
}

/// The long-lived token an account starts with.
#[derive(Debug, Clone)]
pub(crate) struct SeedToken {
    pub(crate) token: String,
    pub(crate) issued_at: i64,
    pub(crate) expires_at: i64,
}

/// One professional account.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) idx: usize,
    pub(crate) key: u64,
    pub(crate) ig_user_id: String,
    pub(crate) app_scoped_id: String,
    pub(crate) fb_user_id: String,
    pub(crate) page_id: String,
    pub(crate) page_name: String,
    pub(crate) username: String,
    pub(crate) name: String,
    pub(crate) biography: String,
    pub(crate) website: Option<String>,
    pub(crate) account_type: AccountType,
    pub(crate) login: LoginKind,
    pub(crate) base_followers: u64,
    pub(crate) follows_count: u64,
    pub(crate) net_followers_per_day: f64,
    pub(crate) budget: u64,
    pub(crate) token: SeedToken,
    pub(crate) page_token: Option<String>,
    /// Newest first; includes posts scheduled after the clock's start (hidden until then).
    pub(crate) posts: Vec<Post>,
    /// Whether the account publishes stories ([`SimConfig::story_share`]).
    pub(crate) stories: bool,
    /// Cumulative follower drift per day (empty unless [`SimConfig::anomalies`]); see
    /// `shape::drift`.
    pub(crate) drift: Vec<f64>,
}

/// What a media id points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MediaRef {
    Post { acct: usize, idx: usize },
    Child { acct: usize, post: usize, child: u8 },
    Story { acct: usize, slot: i64, n: u8 },
}

/// The whole seeded world.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) seed: u64,
    pub(crate) start: i64,
    pub(crate) history_days: u32,
    /// [`SimConfig::anomalies`]: the daily series have their life-like shape.
    pub(crate) shaped: bool,
    pub(crate) accounts: Vec<Account>,
    media_base: u64,
}

const MEDIA_ACCOUNT_STRIDE: u64 = 1_000_000_000;
const MEDIA_KIND_STRIDE: u64 = 100_000_000;
const KIND_POST: u64 = 1;
const KIND_CHILD: u64 = 2;
const KIND_STORY: u64 = 3;
const SLOT_OFFSET: i64 = 100_000;
pub(crate) const STORY_LIFETIME: i64 = DAY;

const ADJECTIVES: [&str; 16] = [
    "sunny", "urban", "wild", "golden", "quiet", "bold", "little", "cosmic", "salty", "green",
    "rustic", "happy", "north", "velvet", "bright", "misty",
];
const NOUNS: [&str; 16] = [
    "bakery", "studio", "travels", "kitchen", "fitness", "garden", "coffee", "atelier", "outdoors",
    "books", "design", "records", "yoga", "tailor", "bikes", "ceramics",
];
const OPENERS: [&str; 8] = [
    "New this week:",
    "Behind the scenes of",
    "A little love letter to",
    "Throwback to",
    "Swipe to see",
    "Fresh from the",
    "You asked for it:",
    "Sunday mood:",
];

impl World {
    /// Generates the world of `config`.
    pub(crate) fn generate(config: &SimConfig) -> World {
        let seed = config.seed;
        let start = config.now.timestamp();
        // Media ids live in 17.90e15..17.96e15, clear of user (17.84e15), app-scoped (24e15),
        // Facebook user (10.16e15) and page (1e14) ids.
        let media_base =
            17_900_000_000_000_000 + (h(&[seed, hs("media")]) % 50) * 1_000_000_000_000;
        let user_salt = user_salt(seed);
        let n = config.accounts;
        let accounts = (0..n)
            .map(|idx| generate_account(config, idx, user_salt, start))
            .collect();
        World {
            seed,
            start,
            history_days: config.history_days,
            shaped: config.anomalies,
            accounts,
            media_base,
        }
    }

    /// The id of a post.
    pub(crate) fn post_id(&self, acct: usize, idx: usize) -> String {
        self.media_id(acct, KIND_POST, idx as u64).to_string()
    }

    /// The id of a carousel child.
    pub(crate) fn child_id(&self, acct: usize, post: usize, child: u8) -> String {
        self.media_id(acct, KIND_CHILD, post as u64 * 16 + u64::from(child))
            .to_string()
    }

    /// The id of a story.
    pub(crate) fn story_id(&self, acct: usize, slot: i64, n: u8) -> String {
        let slot_idx = u64::try_from(slot + SLOT_OFFSET).unwrap_or(0);
        self.media_id(acct, KIND_STORY, slot_idx * 16 + u64::from(n))
            .to_string()
    }

    fn media_id(&self, acct: usize, kind: u64, idx: u64) -> u64 {
        self.media_base + acct as u64 * MEDIA_ACCOUNT_STRIDE + kind * MEDIA_KIND_STRIDE + idx
    }

    /// Decodes a media id (without checking visibility at a given time).
    pub(crate) fn decode_media(&self, id: &str) -> Option<MediaRef> {
        if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u64 = id.parse().ok()?;
        let rel = n.checked_sub(self.media_base)?;
        let acct = usize::try_from(rel / MEDIA_ACCOUNT_STRIDE).ok()?;
        let account = self.accounts.get(acct)?;
        let rest = rel % MEDIA_ACCOUNT_STRIDE;
        let kind = rest / MEDIA_KIND_STRIDE;
        let idx = rest % MEDIA_KIND_STRIDE;
        match kind {
            KIND_POST => {
                let idx = usize::try_from(idx).ok()?;
                (idx < account.posts.len()).then_some(MediaRef::Post { acct, idx })
            }
            KIND_CHILD => {
                let post = usize::try_from(idx / 16).ok()?;
                let child = u8::try_from(idx % 16).ok()?;
                let p = account.posts.get(post)?;
                (child < p.children).then_some(MediaRef::Child { acct, post, child })
            }
            KIND_STORY => {
                let slot = i64::try_from(idx / 16).ok()? - SLOT_OFFSET;
                let n = u8::try_from(idx % 16).ok()?;
                if slot < self.first_story_slot() {
                    return None;
                }
                let count = self.slot_story_count(acct, slot);
                (n < count).then_some(MediaRef::Story { acct, slot, n })
            }
            _ => None,
        }
    }

    /// The earliest 24 h slot that has stories (slot 0 starts at the clock's start).
    pub(crate) fn first_story_slot(&self) -> i64 {
        -i64::from(self.history_days) - 1
    }

    /// Index of the first post published at or before `now` (posts are newest first).
    pub(crate) fn first_visible(&self, acct: usize, now: i64) -> usize {
        self.accounts[acct].posts.partition_point(|p| p.ts > now)
    }

    /// Followers at `now`: the seeded count plus the account's steady net growth.
    pub(crate) fn followers_at(&self, acct: usize, now: i64) -> u64 {
        let a = &self.accounts[acct];
        let days = (now - self.start) as f64 / DAY as f64;
        let v = a.base_followers as f64
            + a.net_followers_per_day * days
            + crate::shape::drift_at(self, acct, now);
        v.max(0.0).floor() as u64
    }

    /// How many stories slot `slot` of an account holds (0–4; 2–4 for the slot before the
    /// start so every account that publishes stories has live stories when the clock
    /// starts; always 0 for the others).
    pub(crate) fn slot_story_count(&self, acct: usize, slot: i64) -> u8 {
        if !self.accounts[acct].stories {
            return 0;
        }
        let key = self.accounts[acct].key;
        let u = unit(h(&[key, hs("story-count"), slot as u64]));
        if slot == -1 {
            return 2 + (u * 3.0) as u8;
        }
        match u {
            u if u < 0.25 => 0,
            u if u < 0.55 => 1,
            u if u < 0.80 => 2,
            u if u < 0.92 => 3,
            _ => 4,
        }
    }

    /// The stories of one 24 h slot, oldest first.
    pub(crate) fn slot_stories(&self, acct: usize, slot: i64) -> Vec<Story> {
        let count = self.slot_story_count(acct, slot);
        if count == 0 {
            return Vec::new();
        }
        let account = &self.accounts[acct];
        let key = account.key;
        let slot_start = self.start + slot * DAY;
        let mut offsets: Vec<i64> = (0..count)
            .map(|i| {
                let u = unit(h(&[key, hs("story-ts"), slot as u64, u64::from(i)]));
                (u * (DAY - 60) as f64) as i64 + 30
            })
            .collect();
        offsets.sort_unstable();
        offsets
            .into_iter()
            .enumerate()
            .map(|(n, off)| {
                let n = n as u8;
                let sk = h(&[key, hs("story"), slot as u64, u64::from(n)]);
                // The second story of the slot before the start always has too few viewers,
                // so every account starts with a story whose insights fail with (#10).
                let tiny = (slot == -1 && n == 1) || unit(h(&[sk, 1])) < 0.12;
                let fin = story_counts(account.base_followers, sk, tiny);
                Story {
                    slot,
                    n,
                    ts: slot_start + off,
                    video: unit(h(&[sk, 2])) < 0.4,
                    crossposted: unit(h(&[sk, 3])) < 0.15,
                    fin,
                }
            })
            .collect()
    }

    /// One story by reference.
    pub(crate) fn story(&self, acct: usize, slot: i64, n: u8) -> Option<Story> {
        self.slot_stories(acct, slot)
            .into_iter()
            .nth(usize::from(n))
    }

    /// Stories published in the 24 h before `now` (live stories), newest first.
    pub(crate) fn live_stories(&self, acct: usize, now: i64) -> Vec<Story> {
        self.stories_between(acct, now - STORY_LIFETIME + 1, now + 1)
            .into_iter()
            .rev()
            .collect()
    }

    /// Stories with `from <= ts < to`, oldest first.
    pub(crate) fn stories_between(&self, acct: usize, from: i64, to: i64) -> Vec<Story> {
        let first = (from - self.start)
            .div_euclid(DAY)
            .max(self.first_story_slot());
        let last = (to - 1 - self.start).div_euclid(DAY);
        let mut out = Vec::new();
        for slot in first..=last {
            out.extend(
                self.slot_stories(acct, slot)
                    .into_iter()
                    .filter(|s| s.ts >= from && s.ts < to),
            );
        }
        out
    }

    /// Whether a story is live (published, not yet expired) at `now`.
    pub(crate) fn story_is_live(story: &Story, now: i64) -> bool {
        story.ts <= now && now < story.ts + STORY_LIFETIME
    }

    /// The shortcode of a media id (stable, 11 characters).
    pub(crate) fn shortcode(&self, media_id: &str) -> String {
        hash::encode(h(&[self.seed, hs(media_id)]), hash::SHORTCODE, 11)
    }

    /// The caption of a post, if it has one.
    pub(crate) fn caption(&self, acct: usize, idx: usize) -> Option<String> {
        let a = &self.accounts[acct];
        let p = &a.posts[idx];
        if !p.has_caption {
            return None;
        }
        let k = h(&[a.key, hs("caption"), idx as u64]);
        let noun = NOUNS[(a.key % 16) as usize];
        let opener = OPENERS[(k % 8) as usize];
        let tag = ADJECTIVES[((k >> 8) % 16) as usize];
        Some(format!(
            "{opener} our {noun} ✨ #{tag}{noun} #{} #instagood",
            NOUNS[((k >> 16) % 16) as usize]
        ))
    }
}

/// The per-seed offset of user, page and app-scoped ids.
pub(crate) fn user_salt(seed: u64) -> u64 {
    h(&[seed, hs("users")]) % 10_000
}

fn generate_account(config: &SimConfig, idx: usize, user_salt: u64, start: i64) -> Account {
    let seed = config.seed;
    let key = h(&[seed, hs("account"), idx as u64]);
    let adj = ADJECTIVES[(h(&[key, 1]) % 16) as usize];
    let noun = NOUNS[(h(&[key, 2]) % 16) as usize];
    let username = format!("{adj}_{noun}_{idx}");
    let name = format!("{} {}", capitalize(adj), capitalize(noun));
    let account_type = if unit(h(&[key, 3])) < 0.6 {
        AccountType::Business
    } else {
        AccountType::MediaCreator
    };
    // The first two accounts cover both login kinds; the rest are drawn.
    let login = match idx {
        0 => LoginKind::Facebook,
        1 => LoginKind::Instagram,
        _ if unit(h(&[key, 4])) < 0.5 => LoginKind::Facebook,
        _ => LoginKind::Instagram,
    };
    let tight = idx >= config.accounts - config.tight_budget_accounts;
    let base_followers = if tight {
        30 + h(&[key, 5]) % 65
    } else {
        log_normal(h(&[key, 5]), 8.6, 1.5).clamp(150.0, 2_000_000.0) as u64
    };
    let follows_count = 50 + h(&[key, 6]) % 1500;
    let net_followers_per_day = base_followers as f64 * range(h(&[key, 7]), -0.0002, 0.003);
    let history = i64::from(config.history_days) * DAY;
    // Every third account converted to a professional account during the history, so its
    // oldest posts predate the conversion (media insights fail with subcode 2108006).
    let converted_at = if idx.is_multiple_of(3) {
        start - (history as f64 * range(h(&[key, 8]), 0.6, 0.9)) as i64
    } else {
        start - history - 30 * DAY
    };
    let impressions_per_day =
        (base_followers as f64 * range(h(&[key, 9]), 0.6, 1.8)).max(1.0) as u64;
    let budget = if tight {
        config.tight_budget
    } else {
        4800u64.saturating_mul(impressions_per_day)
    };
    let expiring = idx < config.expiring_token_accounts;
    let expires_at = if expiring {
        start + (range(h(&[key, 10]), 0.25, 2.9) * DAY as f64) as i64
    } else {
        start + (range(h(&[key, 10]), 40.0, 58.0) * DAY as f64) as i64
    };
    let issued_at = expires_at - 60 * DAY;
    let prefix = match login {
        LoginKind::Facebook => "EAAG",
        LoginKind::Instagram => "IGAA",
    };
    let token = format!(
        "{prefix}{}",
        hash::encode(h(&[key, hs("token")]), hash::ALNUM, 140)
    );
    let page_token = (login == LoginKind::Facebook).then(|| {
        format!(
            "EAAP{}",
            hash::encode(h(&[key, hs("page-token")]), hash::ALNUM, 140)
        )
    });
    let ig_user_id = (17_841_400_000_000_000u64 + user_salt * 100_000 + idx as u64).to_string();
    let app_scoped_id = (24_000_000_000_000_000u64 + user_salt * 100_000 + idx as u64).to_string();
    let fb_user_id = (10_160_000_000_000_000u64 + user_salt * 100_000 + idx as u64).to_string();
    let page_id = (100_000_000_000_000u64 + user_salt * 100_000 + idx as u64).to_string();
    let website = (unit(h(&[key, 11])) < 0.7).then(|| format!("https://{adj}{noun}.example.com"));
    let biography = format!(
        "{} {} • {} since {}",
        capitalize(adj),
        noun,
        if account_type == AccountType::Business {
            "Small business"
        } else {
            "Creator"
        },
        2012 + h(&[key, 12]) % 12
    );
    let posts = generate_posts(config, key, base_followers, converted_at, start);
    let mut account = Account {
        idx,
        key,
        ig_user_id,
        app_scoped_id,
        fb_user_id,
        page_id,
        page_name: name.clone(),
        username,
        name,
        biography,
        website,
        account_type,
        login,
        base_followers,
        follows_count,
        net_followers_per_day,
        budget,
        token: SeedToken {
            token,
            issued_at,
            expires_at,
        },
        page_token,
        posts,
        stories: unit(h(&[key, hs("stories")])) < config.story_share,
        drift: Vec::new(),
    };
    if config.anomalies {
        account.drift = crate::shape::drift(&account, config.history_days as usize + 1 + 400);
    }
    account
}

fn generate_posts(
    config: &SimConfig,
    key: u64,
    followers: u64,
    converted_at: i64,
    start: i64,
) -> Vec<Post> {
    let size = h(&[key, hs("size")]);
    let n = config
        .sizes
        .posts(config.media_per_account, unit(size), hash::normal(size));
    if n == 0 {
        return Vec::new();
    }
    let history = i64::from(config.history_days) * DAY;
    // Posts keep coming after the start at the account's usual pace: they appear as the
    // clock advances (a week's worth is scheduled).
    let n_future = ((n as f64) * 7.0 / f64::from(config.history_days)).round() as usize;
    let mut stamps: Vec<i64> = Vec::with_capacity(n + n_future);
    for j in 0..n {
        let age = if j == 0 {
            // Every account has a post younger than a day, so some numbers are still moving.
            (range(h(&[key, hs("newest")]), 1.0, 20.0) * HOUR as f64) as i64
        } else {
            (unit(h(&[key, hs("post-ts"), j as u64])) * history as f64) as i64 + 60
        };
        stamps.push(start - age);
    }
    for j in 0..n_future {
        let ahead = (unit(h(&[key, hs("future-ts"), j as u64])) * (7 * DAY) as f64) as i64 + 60;
        stamps.push(start + ahead);
    }
    stamps.sort_unstable_by(|a, b| b.cmp(a));
    stamps
        .into_iter()
        .enumerate()
        .map(|(i, ts)| generate_post(key, i, ts, followers, converted_at))
        .collect()
}

fn generate_post(key: u64, i: usize, ts: i64, followers: u64, converted_at: i64) -> Post {
    let pk = h(&[key, hs("post"), i as u64]);
    let u = unit(h(&[pk, 1]));
    let kind = match u {
        u if u < 0.45 => PostKind::Image,
        u if u < 0.65 => PostKind::Carousel,
        u if u < 0.70 => PostKind::FeedVideo,
        _ => PostKind::Reel,
    };
    let (children, child_videos) = if kind == PostKind::Carousel {
        let c = 2 + (h(&[pk, 2]) % 9) as u8;
        let mut mask = 0u16;
        for b in 0..c {
            if unit(h(&[pk, 3, u64::from(b)])) < 0.25 {
                mask |= 1 << b;
            }
        }
        (c, mask)
    } else {
        (0, 0)
    };
    // Quality is log-normal; a few posts get a large boost and clearly over-perform.
    let mut quality = log_normal(h(&[pk, 4]), 0.0, 0.45);
    if unit(h(&[pk, 5])) < 0.03 {
        quality *= range(h(&[pk, 6]), 3.0, 8.0);
    }
    let f = followers as f64;
    let reach_rate = match kind {
        PostKind::Image => 0.25,
        PostKind::Carousel => 0.30,
        PostKind::FeedVideo => 0.22,
        PostKind::Reel => 0.45,
    };
    let reach = (f * reach_rate * quality * range(h(&[pk, 7]), 0.7, 1.3)).max(1.0);
    let views_mult = if kind == PostKind::Reel {
        range(h(&[pk, 8]), 1.4, 3.0)
    } else {
        range(h(&[pk, 8]), 1.15, 2.2)
    };
    let views = reach * views_mult;
    let likes = reach * range(h(&[pk, 9]), 0.03, 0.09);
    let comments = likes * range(h(&[pk, 10]), 0.01, 0.08);
    let saved = likes * range(h(&[pk, 11]), 0.02, 0.15);
    let shares = likes * range(h(&[pk, 12]), 0.01, 0.12);
    let reposts = likes * range(h(&[pk, 13]), 0.0, 0.02);
    let profile_visits = reach * range(h(&[pk, 14]), 0.005, 0.03);
    let follows = profile_visits * range(h(&[pk, 15]), 0.02, 0.15);
    let profile_activity = profile_visits * range(h(&[pk, 16]), 0.1, 0.4);
    let crossposted = unit(h(&[pk, 17])) < if kind == PostKind::Reel { 0.25 } else { 0.1 };
    let fb_views = if crossposted {
        views * range(h(&[pk, 18]), 0.05, 0.3)
    } else {
        0.0
    };
    let fin = Counts {
        reach: reach as u32,
        views: (views as u32).max(reach as u32),
        likes: likes as u32,
        comments: comments as u32,
        saved: saved as u32,
        shares: shares as u32,
        reposts: reposts as u32,
        profile_visits: profile_visits as u32,
        follows: follows as u32,
        profile_activity: profile_activity as u32,
        replies: 0,
        navigation: 0,
        link_clicks: 0,
        fb_views: fb_views as u32,
    };
    Post {
        ts,
        kind,
        children,
        child_videos,
        pre_conversion: ts < converted_at,
        crossposted,
        has_caption: unit(h(&[pk, 19])) < 0.9,
        avg_watch_ms: range(h(&[pk, 20]), 2_500.0, 18_000.0) as u32,
        skip_rate_bp: range(h(&[pk, 21]), 1_500.0, 6_500.0) as u16,
        fin,
    }
}

fn story_counts(followers: u64, sk: u64, tiny: bool) -> Counts {
    let reach = if tiny {
        (h(&[sk, 10]) % 5) as f64
    } else {
        (followers as f64 * range(h(&[sk, 11]), 0.03, 0.12) * log_normal(h(&[sk, 12]), 0.0, 0.4))
            .max(5.0)
    };
    let views = reach * range(h(&[sk, 13]), 1.1, 1.6);
    let profile_visits = reach * range(h(&[sk, 14]), 0.005, 0.03);
    Counts {
        reach: reach as u32,
        views: (views as u32).max(reach as u32),
        likes: 0,
        comments: 0,
        saved: 0,
        shares: (reach * range(h(&[sk, 15]), 0.0, 0.01)) as u32,
        reposts: (reach * range(h(&[sk, 16]), 0.0, 0.004)) as u32,
        profile_visits: profile_visits as u32,
        follows: (reach * range(h(&[sk, 17]), 0.0, 0.005)) as u32,
        profile_activity: (profile_visits * 0.2) as u32,
        replies: (reach * range(h(&[sk, 18]), 0.0, 0.01)) as u32,
        navigation: (views * range(h(&[sk, 19]), 1.2, 2.0)) as u32,
        link_clicks: (reach * range(h(&[sk, 20]), 0.0, 0.02)) as u32,
        fb_views: (views * range(h(&[sk, 21]), 0.05, 0.2)) as u32,
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        let mut c = SimConfig::new(42, 6, 300);
        c.tight_budget_accounts = 1;
        World::generate(&c)
    }

    #[test]
    fn ids_round_trip() {
        let w = world();
        let id = w.post_id(2, 17);
        assert_eq!(
            w.decode_media(&id),
            Some(MediaRef::Post { acct: 2, idx: 17 })
        );
        let sid = w.story_id(1, -1, 1);
        assert_eq!(
            w.decode_media(&sid),
            Some(MediaRef::Story {
                acct: 1,
                slot: -1,
                n: 1
            })
        );
        let carousel = w.accounts[0]
            .posts
            .iter()
            .position(|p| p.kind == PostKind::Carousel)
            .unwrap();
        let cid = w.child_id(0, carousel, 1);
        assert_eq!(
            w.decode_media(&cid),
            Some(MediaRef::Child {
                acct: 0,
                post: carousel,
                child: 1
            })
        );
        assert_eq!(w.decode_media("123"), None);
        assert_eq!(w.decode_media("not-a-number"), None);
    }

    #[test]
    fn posts_are_newest_first_and_counters_consistent() {
        let w = world();
        for a in &w.accounts {
            assert!(a.posts.windows(2).all(|p| p[0].ts >= p[1].ts));
            for p in &a.posts {
                assert!(p.fin.views >= p.fin.reach);
                if p.kind == PostKind::Carousel {
                    assert!((2..=10).contains(&p.children));
                }
            }
        }
        assert!(
            w.accounts[5].base_followers < 100,
            "tight accounts are small"
        );
    }

    #[test]
    fn every_account_starts_with_live_stories() {
        let w = world();
        for a in 0..w.accounts.len() {
            let live = w.live_stories(a, w.start);
            assert!(live.len() >= 2);
            assert!(live.windows(2).all(|s| s[0].ts >= s[1].ts));
        }
    }
}
