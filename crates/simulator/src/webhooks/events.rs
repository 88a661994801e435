//! The notifications Meta would send for an account, derived from the seed: `story_insights`
//! when each story expires (Facebook Login accounts only, legacy metric names), `comments`
//! and `mentions` at seeded times. A pure function of the world and a time window, so any
//! window can be replayed.

use serde_json::{Value, json};

use crate::hash::{h, hs, unit};
use crate::numbers::{navigation_split, story_counts};
use crate::state::SimState;
use crate::time::DAY;
use crate::world::{LoginKind, MediaRef, World};

/// One notification, before it is put in Meta's envelope.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    /// A stable key: `{field}:{id}`.
    pub(crate) key: String,
    pub(crate) acct: usize,
    pub(crate) field: &'static str,
    /// Simulated Unix time of the event.
    pub(crate) time: i64,
    pub(crate) value: Value,
}

/// Webhook fields of the `instagram` object an account can subscribe to.
pub(crate) const FIELDS: &[&str] = &[
    "comments",
    "live_comments",
    "mentions",
    "message_reactions",
    "messages",
    "messaging_postbacks",
    "messaging_referral",
    "messaging_seen",
    "story_insights",
];

const SLOT_OFFSET: i64 = 100_000;

const TEXTS: [&str; 10] = [
    "Love this ❤️",
    "¡Qué bonito!",
    "Très joli 😍",
    "Where is this? 📍",
    "So good 🔥🔥",
    "好看",
    "Need this in my life",
    "Grüße aus München",
    "👏👏👏",
    "Is it still available?",
];
const HANDLES: [&str; 8] = [
    "ana.k",
    "mo_travels",
    "jules",
    "fit.nora",
    "kenji",
    "the_real_li",
    "bea",
    "omar.eats",
];

/// Events of one account with `from < time <= to`, for the subscribed fields, oldest first.
pub(crate) fn events_between(
    st: &SimState,
    acct: usize,
    fields: &[String],
    from: i64,
    to: i64,
) -> Vec<Event> {
    if to <= from {
        return Vec::new();
    }
    let has = |f: &str| fields.iter().any(|x| x == f);
    let mut out = Vec::new();
    let w = &st.world;
    // Insights webhooks are not supported with Instagram Login.
    if has("story_insights") && w.accounts[acct].login == LoginKind::Facebook {
        out.extend(story_insights(st, acct, from, to));
    }
    let first = (from + 1 - w.start).div_euclid(DAY);
    let last = (to - w.start).div_euclid(DAY);
    for slot in first..=last {
        if has("comments") {
            out.extend(
                comments(st, acct, slot)
                    .into_iter()
                    .filter(|e| e.time > from && e.time <= to),
            );
        }
        if has("mentions") {
            out.extend(
                mention(w, acct, slot)
                    .into_iter()
                    .filter(|e| e.time > from && e.time <= to),
            );
        }
    }
    out.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.key.cmp(&b.key)));
    out
}

fn story_insights(st: &SimState, acct: usize, from: i64, to: i64) -> Vec<Event> {
    let w = &st.world;
    let deleted = st.read().deleted.clone();
    w.stories_between(acct, from - DAY + 1, to - DAY + 1)
        .into_iter()
        .filter(|s| {
            !deleted.contains(&MediaRef::Story {
                acct,
                slot: s.slot,
                n: s.n,
            })
        })
        .map(|s| {
            let id = w.story_id(acct, s.slot, s.n);
            let expiry = s.ts + DAY;
            let c = story_counts(&s, expiry);
            let value = if c.reach < 5 {
                // Too few viewers: counts are withheld as -1.
                json!({
                    "media_id": id, "impressions": -1, "reach": -1, "taps_forward": -1,
                    "taps_back": -1, "exits": -1, "replies": -1,
                })
            } else {
                let nav = navigation_split(u64::from(c.navigation));
                let of = |k: &str| nav.iter().find(|(n, _)| *n == k).map_or(0, |x| x.1);
                json!({
                    "media_id": id,
                    "impressions": c.views,
                    "reach": c.reach,
                    "taps_forward": of("tap_forward"),
                    "taps_back": of("tap_back"),
                    "exits": of("tap_exit"),
                    "replies": c.replies,
                })
            };
            Event {
                key: format!("story_insights:{id}"),
                acct,
                field: "story_insights",
                time: expiry,
                value,
            }
        })
        .collect()
}

fn comments(st: &SimState, acct: usize, slot: i64) -> Vec<Event> {
    let w = &st.world;
    let a = &w.accounts[acct];
    let n = h(&[a.key, hs("webhook-comments"), slot as u64]) % 5;
    let slot_start = w.start + slot * DAY;
    let mut times: Vec<i64> = (0..n)
        .map(|i| {
            slot_start
                + 1
                + (unit(h(&[a.key, hs("wc-time"), slot as u64, i])) * (DAY - 1) as f64) as i64
        })
        .collect();
    times.sort_unstable();
    let deleted = st.read().deleted.clone();
    let mut out: Vec<Event> = Vec::new();
    let mut previous: Option<String> = None;
    for (i, t) in times.into_iter().enumerate() {
        let i = i as u64;
        let k = h(&[a.key, hs("wc"), slot as u64, i]);
        // A post published before the comment, among the 20 newest then.
        let newest = w.first_visible(acct, t);
        let published = a.posts.len().saturating_sub(newest);
        if published == 0 {
            continue;
        }
        let idx = newest + (k % published.min(20) as u64) as usize;
        if deleted.contains(&MediaRef::Post { acct, idx }) {
            continue;
        }
        let comment_id = (18_100_000_000_000_000u64
            + acct as u64 * 10_000_000
            + u64::try_from(slot + SLOT_OFFSET).unwrap_or(0) * 8
            + i)
            .to_string();
        let commenter = h(&[k, 1]);
        let mut value = json!({
            "id": comment_id,
            "from": {
                "id": (25_000_000_000_000_000u64 + commenter % 1_000_000_000_000_000).to_string(),
                "username": format!("{}{}", HANDLES[(commenter % 8) as usize], commenter % 100),
            },
            "text": TEXTS[(h(&[k, 2]) % TEXTS.len() as u64) as usize],
            "media": {
                "id": w.post_id(acct, idx),
                "media_product_type": a.posts[idx].kind.surface().as_str(),
            },
        });
        if let Some(parent) = &previous
            && unit(h(&[k, 3])) < 0.3
        {
            value["parent_id"] = json!(parent);
        }
        previous = Some(comment_id.clone());
        out.push(Event {
            key: format!("comments:{comment_id}"),
            acct,
            field: "comments",
            time: t,
            value,
        });
    }
    out
}

fn mention(w: &World, acct: usize, slot: i64) -> Option<Event> {
    let key = w.accounts[acct].key;
    let k = h(&[key, hs("webhook-mentions"), slot as u64]);
    if !k.is_multiple_of(3) {
        return None;
    }
    let t = w.start + slot * DAY + 1 + (unit(h(&[k, 1])) * (DAY - 1) as f64) as i64;
    let media_id = (18_200_000_000_000_000u64 + h(&[k, 2]) % 1_000_000_000_000).to_string();
    let (value, id) = if unit(h(&[k, 3])) < 0.5 {
        (json!({ "media_id": media_id }), media_id.clone())
    } else {
        let comment_id = (18_300_000_000_000_000u64 + h(&[k, 4]) % 1_000_000_000_000).to_string();
        (
            json!({ "comment_id": comment_id, "media_id": media_id }),
            comment_id,
        )
    };
    Some(Event {
        key: format!("mentions:{id}"),
        acct,
        field: "mentions",
        time: t,
        value,
    })
}
