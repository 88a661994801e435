//! Media step: the account's posts, reels and carousels (with children), listed newest
//! first. A full sync (and a media sync on its own) lists everything and marks stored posts
//! missing from the listing as deleted; a light sync stops at the first already-known post whose numbers have settled
//! (older than 48 h) and detects deletions only within the range it listed.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use chrono::Duration;
use graph::MediaItem;
use store::{MediaBatch, MediaChild, MediaIndexEntry, MediaRecord};
use tokio::sync::{OnceCell, mpsc, watch};

use crate::steps::{StepCtx, StepError, StepReport, count, media_type, product_type};

/// What the media step shares with the steps beside it in its stage: the account's stored
/// posts as they stood before the listing (read once, by whichever step asks first), to
/// media insights every listed post as its page arrives, and to every step the end of its
/// write, with the posts it marked deleted (`None`: the step did not write).
pub(crate) struct Link {
    index: OnceCell<Vec<MediaIndexEntry>>,
    sender: Mutex<Option<mpsc::UnboundedSender<MediaItem>>>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<MediaItem>>>,
    written: watch::Sender<Option<Option<Vec<String>>>>,
}

impl Link {
    /// A link; `items`: whether the listed posts are handed on (media insights runs too).
    pub(crate) fn new(items: bool) -> Link {
        let (tx, rx) = mpsc::unbounded_channel();
        Link {
            index: OnceCell::new(),
            sender: Mutex::new(items.then_some(tx)),
            receiver: Mutex::new(items.then_some(rx)),
            written: watch::channel(None).0,
        }
    }

    fn sender(&self) -> Option<mpsc::UnboundedSender<MediaItem>> {
        self.sender.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// The listed posts, once (media insights takes them).
    pub(crate) fn receiver(&self) -> Option<mpsc::UnboundedReceiver<MediaItem>> {
        self.receiver
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// The account's stored posts before the media step writes its listing: read at the
    /// first call, the same entries at every later one. The media step writes only after
    /// its listing, which needs the entries first, so they never include that write.
    async fn index(&self, ctx: &StepCtx<'_>) -> store::Result<&[MediaIndexEntry]> {
        self.index
            .get_or_try_init(|| ctx.deps.store.media_index(ctx.account.id))
            .await
            .map(Vec::as_slice)
    }

    /// Waits for the media step's write: the posts it marked deleted, or `None` when it
    /// did not write (its error is the stage's).
    pub(crate) async fn written(&self) -> Option<Vec<String>> {
        let mut rx = self.written.subscribe();
        match rx.wait_for(|w| w.is_some()).await {
            Ok(w) => w.clone().flatten(),
            Err(_) => None,
        }
    }
}

/// The account's stored posts before this stage's listing is written: shared by the steps
/// of a stage with the media step, else read now.
pub(crate) async fn stored_index<'c>(
    ctx: &'c StepCtx<'_>,
) -> store::Result<Cow<'c, [MediaIndexEntry]>> {
    match ctx.link {
        Some(link) => link.index(ctx).await.map(Cow::Borrowed),
        None => ctx
            .deps
            .store
            .media_index(ctx.account.id)
            .await
            .map(Cow::Owned),
    }
}

pub(crate) async fn run(ctx: &StepCtx<'_>) -> Result<StepReport, StepError> {
    let sender = ctx.link.and_then(Link::sender);
    let result = list_and_store(ctx, sender).await;
    if let Some(link) = ctx.link {
        let deleted = result.as_ref().ok().map(|(_, deleted)| deleted.clone());
        link.written.send_replace(Some(deleted));
    }
    result.map(|(report, _)| report)
}

async fn list_and_store(
    ctx: &StepCtx<'_>,
    sender: Option<mpsc::UnboundedSender<MediaItem>>,
) -> Result<(StepReport, Vec<String>), StepError> {
    let store = &ctx.deps.store;
    let expected = ctx.account.media_count;
    ctx.progress(0, expected.unwrap_or(0).max(0) as u64).await;
    let index = stored_index(ctx).await?;
    let known: HashMap<&str, &store::MediaIndexEntry> =
        index.iter().map(|e| (e.ig_media_id.as_str(), e)).collect();
    let settled_before = ctx.now - Duration::hours(48);
    let full = ctx.plan.is_thorough();
    // One request at a time (each page names the next); every listed post goes on to
    // media insights at once when they share the stage.
    let listing = ctx
        .read(ctx.client.list_media(&ctx.acct, |item| {
            let stop = !full
                && known.get(item.id.as_str()).is_some_and(|e| {
                    !e.deleted && e.published_at < settled_before && item.timestamp < settled_before
                });
            if !stop && let Some(tx) = &sender {
                // Media insights may have stopped reading (its own failure): nothing lost.
                let _ = tx.send(item.clone());
            }
            stop
        }))
        .await;
    drop(sender);
    let listing = listing?;

    let mut upserts = Vec::with_capacity(listing.items.len());
    let mut skipped = Vec::new();
    for item in &listing.items {
        let (Some(mt), Some(pt)) = (
            media_type(&item.media_type),
            product_type(&item.media_product_type),
        ) else {
            skipped.push(format!(
                "{} ({}/{})",
                item.id,
                item.media_type.as_str(),
                item.media_product_type.as_str()
            ));
            continue;
        };
        upserts.push(MediaRecord {
            ig_media_id: item.id.clone(),
            media_type: mt,
            product_type: pt,
            published_at: item.timestamp,
            caption: item.caption.clone(),
            permalink: item.permalink.clone(),
            media_url: item.media_url.clone(),
            thumbnail_url: item.thumbnail_url.clone(),
            shortcode: item.shortcode.clone(),
            like_count: count(item.like_count),
            comments_count: count(item.comments_count),
            children: item
                .children
                .iter()
                .map(|c| MediaChild {
                    ig_media_id: c.id.clone(),
                    media_type: c
                        .media_type
                        .as_ref()
                        .and_then(media_type)
                        .unwrap_or(store::MediaType::Image),
                    media_url: c.media_url.clone(),
                })
                .collect(),
        });
    }

    let listed: HashSet<&str> = listing.items.iter().map(|i| i.id.as_str()).collect();
    let oldest_listed = listing.items.iter().map(|i| i.timestamp).min();
    let deleted: Vec<String> = index
        .iter()
        .filter(|e| !e.deleted && !listed.contains(e.ig_media_id.as_str()))
        .filter(|e| listing.complete || oldest_listed.is_some_and(|oldest| e.published_at > oldest))
        .map(|e| e.ig_media_id.clone())
        .collect();

    let mut live: HashSet<&str> = index
        .iter()
        .filter(|e| !e.deleted)
        .map(|e| e.ig_media_id.as_str())
        .collect();
    live.extend(upserts.iter().map(|r| r.ig_media_id.as_str()));
    for id in &deleted {
        live.remove(id.as_str());
    }
    let stored = live.len() as i64;
    let new_items = upserts
        .iter()
        .filter(|r| !known.contains_key(r.ig_media_id.as_str()))
        .count();
    let detail = serde_json::json!({
        "listed": listing.items.len(),
        "pages": listing.pages,
        "listing_complete": listing.complete,
        "new": new_items,
        "deleted": deleted.len(),
        "skipped_unknown_types": skipped,
    });
    let deleted_count = deleted.len();
    let rows = store
        .media_apply(MediaBatch {
            account_id: ctx.account.id,
            seen_at: ctx.now,
            upserts,
            deleted: deleted.clone(),
        })
        .await?;
    tracing::debug!(
        account = ctx.account.id.get(),
        listed = listing.items.len(),
        deleted = deleted_count,
        "media listed"
    );
    ctx.progress(
        stored.max(0) as u64,
        expected.unwrap_or(stored).max(0) as u64,
    )
    .await;
    Ok((
        StepReport {
            rows_written: rows,
            expected,
            stored: Some(stored),
            complete: expected.map(|e| e == stored),
            detail,
            skipped: false,
        },
        deleted,
    ))
}
