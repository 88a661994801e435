//! The peer benchmark's inputs: our account's stored history and its competitors' snapshots
//! (the competitors tracked through it) turned into `analytics::competitors::PeerAccount`s,
//! and `Engine::peer_benchmark`, where the account ranks in that set on each figure.

use std::collections::BTreeMap;

use analytics::competitors::{
    CounterSample, PeerAccount, PeerPost, PeerPostSample, PeerRank, Window, peer_benchmark,
};
use analytics::{AccountHistory, MediaProductType};
use chrono::{DateTime, Duration, Utc};
use store::{AccountId, CompetitorMediaSnapshot, CompetitorSnapshot, Store};

use crate::engine::Engine;
use crate::error::{Result, SyncError};
use crate::history::{HistoryWindow, load_account_history};

fn count(v: Option<i64>) -> Option<u64> {
    v.and_then(|n| u64::try_from(n).ok())
}

/// A competitor's snapshots as the analytics take them.
pub fn peer_of_competitor(
    name: &str,
    snaps: &[CompetitorSnapshot],
    media: &[CompetitorMediaSnapshot],
) -> PeerAccount {
    let mut posts: BTreeMap<&str, PeerPost> = BTreeMap::new();
    for m in media {
        let p = posts
            .entry(m.media_id.as_str())
            .or_insert_with(|| PeerPost {
                id: m.media_id.clone(),
                posted_at: m.posted_at,
                product_type: m.media_product_type.clone(),
                samples: Vec::new(),
            });
        p.samples.push(PeerPostSample {
            at: m.captured_at,
            likes: count(m.like_count),
            comments: count(m.comments_count),
        });
    }
    PeerAccount {
        name: name.to_owned(),
        followers: snaps
            .iter()
            .map(|s| CounterSample {
                at: s.captured_at,
                followers: count(s.followers_count),
            })
            .collect(),
        posts: posts.into_values().collect(),
    }
}

/// Our account's history on the same footing: follower samples and the likes and comments
/// of its feed posts and reels at each capture (stories have no public counters).
pub fn peer_of_history(name: &str, h: &AccountHistory) -> PeerAccount {
    PeerAccount {
        name: name.to_owned(),
        followers: h
            .follower_samples
            .iter()
            .map(|s| CounterSample {
                at: s.captured_at,
                followers: u64::try_from(s.followers).ok(),
            })
            .collect(),
        posts: h
            .posts
            .iter()
            .filter(|p| p.product_type != MediaProductType::Story && !p.deleted)
            .map(|p| PeerPost {
                id: p.ig_media_id.clone(),
                posted_at: p.published_at,
                product_type: Some(p.product_type.key().to_ascii_uppercase()),
                samples: p
                    .snapshots
                    .iter()
                    .map(|s| PeerPostSample {
                        at: s.captured_at,
                        likes: count(s.metrics.likes),
                        comments: count(s.metrics.comments),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The competitors tracked through `account_id`, each with its snapshots captured in
/// `[from, to]` (empty: none is tracked through it).
pub async fn competitor_peers(
    store: &dyn Store,
    account_id: AccountId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<PeerAccount>> {
    let mut peers = Vec::new();
    for c in store.competitor_list().await? {
        if c.via_account_id != account_id {
            continue;
        }
        let snaps = store.competitor_snapshots(c.id, from, to).await?;
        let media = store.competitor_media_snapshots(c.id, from, to).await?;
        peers.push(peer_of_competitor(&c.username, &snaps, &media));
    }
    Ok(peers)
}

impl Engine {
    /// Where the account ranks among the competitors tracked through it, on each benchmark
    /// figure over the last `days` days.
    pub async fn peer_benchmark(&self, account_id: AccountId, days: i64) -> Result<Vec<PeerRank>> {
        if !(1..=365).contains(&days) {
            return Err(SyncError::Invalid("days must be from 1 to 365".to_string()));
        }
        let store = self.deps.store.as_ref();
        let account = store
            .account_get(account_id)
            .await?
            .ok_or(SyncError::UnknownAccount(account_id))?;
        let now = self.deps.clock.now();
        let from = now - Duration::days(days);
        let history = load_account_history(
            store,
            account_id,
            HistoryWindow {
                from,
                to: now,
                trending_from: from,
            },
        )
        .await?;
        let ours = peer_of_history(&account.username, &history);
        let peers = competitor_peers(store, account_id, from, now).await?;
        let window = Window {
            from,
            to: now + Duration::seconds(1),
        };
        Ok(peer_benchmark(&ours, &peers, window))
    }
}
