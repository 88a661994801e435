//! The original specifications' way of reading an account, kept for benchmarks only: the
//! media list at Meta's default page size (25) and one insights request per post. It uses the
//! same client plumbing (throttle, retries, catalog, accounting) so the comparison with
//! [`GraphClient::list_media`] + [`GraphClient::media_insights`] measures only the access
//! pattern. Do not use it in syncs.

use crate::client::GraphClient;
use crate::error::GraphError;
use crate::media_insights::MediaTarget;
use crate::model::{MediaInsights, MediaItem, Profile};
use crate::token::AccountRef;

/// What [`read_account`] read.
#[derive(Clone, Debug, PartialEq)]
pub struct NaiveRead {
    /// The profile.
    pub profile: Profile,
    /// Every media item.
    pub media: Vec<MediaItem>,
    /// Insights of every item that has a category.
    pub insights: MediaInsights,
}

/// Reads profile, media list (default page size) and per-post insights, one request per post.
pub async fn read_account(
    client: &GraphClient,
    account: &AccountRef,
) -> Result<NaiveRead, GraphError> {
    let profile = client.profile(account).await?;
    let media = client
        .list_media_with(account, None, |_| false)
        .await?
        .items;
    let mut insights = MediaInsights::default();
    for item in &media {
        let Some(target) = MediaTarget::of(item) else {
            continue;
        };
        let result = client.media_insights_one(account, &target).await?;
        insights.results.insert(target.id, result);
    }
    Ok(NaiveRead {
        profile,
        media,
        insights,
    })
}
