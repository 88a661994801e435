//! Media step: the account's posts, reels and carousels (with children), listed newest
//! first. A full sync (and a media sync on its own) lists everything and marks stored posts
//! missing from the listing as deleted; a light sync stops at the first already-known post whose numbers have settled
//! (older than 48 h) and detects deletions only within the range it listed.

use std::collections::{HashMap, HashSet};

use chrono::Duration;
use store::{MediaBatch, MediaChild, MediaRecord};

use crate::steps::{StepCtx, StepError, StepReport, count, media_type, product_type};

pub(crate) async fn run(ctx: &StepCtx<'_>) -> Result<StepReport, StepError> {
    let store = &ctx.deps.store;
    let expected = ctx.account.media_count;
    ctx.progress(0, expected.unwrap_or(0).max(0) as u64).await;
    let index = store.media_index(ctx.account.id).await?;
    let known: HashMap<&str, &store::MediaIndexEntry> =
        index.iter().map(|e| (e.ig_media_id.as_str(), e)).collect();
    let settled_before = ctx.now - Duration::hours(48);
    let full = ctx.plan.is_thorough();
    let listing = ctx
        .client
        .list_media(&ctx.acct, |item| {
            !full
                && known.get(item.id.as_str()).is_some_and(|e| {
                    !e.deleted && e.published_at < settled_before && item.timestamp < settled_before
                })
        })
        .await?;

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
            deleted,
        })
        .await?;
    tracing::debug!(
        account = ctx.account.id,
        listed = listing.items.len(),
        deleted = deleted_count,
        "media listed"
    );
    ctx.progress(
        stored.max(0) as u64,
        expected.unwrap_or(stored).max(0) as u64,
    )
    .await;
    Ok(StepReport {
        rows_written: rows,
        expected,
        stored: Some(stored),
        complete: expected.map(|e| e == stored),
        detail,
        skipped: false,
    })
}
