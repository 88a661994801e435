//! The synced content and its history: profile counter snapshots, media (posts, reels,
//! carousels with children), media insight snapshots, stories and their snapshots, account
//! insight days and demographic snapshots.
//!
//! Metric names are kept as the strings Meta uses (long format), so a metric that Meta adds
//! or removes needs no migration. Values are `f64` because a few metrics are rates or
//! durations; counts are exact up to 2^53.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::account::AccountId;
use crate::breakdown::Breakdown;
use crate::provenance::{Origin, ValueSource};

/// The counters of a profile at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileSnapshot {
    pub account_id: AccountId,
    pub captured_at: DateTime<Utc>,
    pub followers_count: i64,
    pub follows_count: i64,
    pub media_count: i64,
}

/// One profile read: refreshes the account's descriptive fields and latest counters and
/// appends a counter snapshot, in one transaction. Idempotent on `(account, captured_at)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileUpdate {
    pub snapshot: ProfileSnapshot,
    pub username: String,
    pub name: Option<String>,
    pub profile_picture_url: Option<String>,
    /// The Graph API version and source the counters were read with.
    pub origin: Origin,
}

/// IMAGE, VIDEO or CAROUSEL_ALBUM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaType {
    Image,
    Video,
    CarouselAlbum,
}

impl MediaType {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Image => "IMAGE",
            MediaType::Video => "VIDEO",
            MediaType::CarouselAlbum => "CAROUSEL_ALBUM",
        }
    }

    pub fn parse(s: &str) -> Option<MediaType> {
        Some(match s {
            "IMAGE" => MediaType::Image,
            "VIDEO" => MediaType::Video,
            "CAROUSEL_ALBUM" => MediaType::CarouselAlbum,
            _ => return None,
        })
    }
}

/// FEED, REELS, STORY or AD: decides which insight metrics exist for a media item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProductType {
    Feed,
    Reels,
    Story,
    Ad,
}

impl ProductType {
    /// Every product type.
    pub const ALL: [ProductType; 4] = [
        ProductType::Feed,
        ProductType::Reels,
        ProductType::Story,
        ProductType::Ad,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProductType::Feed => "FEED",
            ProductType::Reels => "REELS",
            ProductType::Story => "STORY",
            ProductType::Ad => "AD",
        }
    }

    pub fn parse(s: &str) -> Option<ProductType> {
        Some(match s {
            "FEED" => ProductType::Feed,
            "REELS" => ProductType::Reels,
            "STORY" => ProductType::Story,
            "AD" => ProductType::Ad,
            _ => return None,
        })
    }
}

/// A child of a carousel album. Children have no insights of their own.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaChild {
    pub ig_media_id: String,
    pub media_type: MediaType,
    pub media_url: Option<String>,
}

/// A post, reel or carousel as listed by the API.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaRecord {
    pub ig_media_id: String,
    pub media_type: MediaType,
    pub product_type: ProductType,
    pub published_at: DateTime<Utc>,
    pub caption: Option<String>,
    pub permalink: Option<String>,
    pub media_url: Option<String>,
    pub thumbnail_url: Option<String>,
    pub shortcode: Option<String>,
    /// Public counters at listing time (`like_count` is absent when the owner hides likes).
    pub like_count: Option<i64>,
    pub comments_count: Option<i64>,
    pub children: Vec<MediaChild>,
}

/// A stored media item with its latest insight values.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    pub account_id: AccountId,
    pub record: MediaRecord,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// Set when a complete listing no longer contains the item. History is kept.
    pub deleted_at: Option<DateTime<Utc>>,
    /// When insights were last captured.
    pub insights_captured_at: Option<DateTime<Utc>>,
    /// The last per-item insights error (e.g. pre-business-conversion media), if any.
    pub insights_error: Option<String>,
    /// Latest value of each insight metric (metric name → value; breakdown rows excluded).
    pub latest: BTreeMap<String, f64>,
}

/// A listing result to apply in one transaction: upsert every listed item (latest public
/// counters, `last_seen_at = seen_at`, clears `deleted_at`) and mark `deleted` ids as
/// deleted at `seen_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaBatch {
    pub account_id: AccountId,
    pub seen_at: DateTime<Utc>,
    pub upserts: Vec<MediaRecord>,
    pub deleted: Vec<String>,
}

/// What the analytics need of a post, read for every post of an account at once (no URLs,
/// children or seen times, so thousands of posts stay cheap to load).
#[derive(Debug, Clone, PartialEq)]
pub struct MediaSummary {
    pub ig_media_id: String,
    pub media_type: MediaType,
    pub product_type: ProductType,
    pub published_at: DateTime<Utc>,
    pub caption: Option<String>,
    pub permalink: Option<String>,
    pub deleted: bool,
    pub like_count: Option<i64>,
    pub comments_count: Option<i64>,
    /// Latest value of each insight metric, as in [`Media::latest`].
    pub latest: BTreeMap<String, f64>,
}

/// The posts of an account whose snapshot history a report needs: those published in
/// `from..=to`, and the `baseline` most recent of each product type published before
/// `from` (newest first, ties by `ig_media_id` descending), against which they are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostWindow {
    pub account_id: AccountId,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub baseline: usize,
}

/// What a listing needs to know about stored media to stop early, detect deletions and
/// plan insight refreshes.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaIndexEntry {
    pub ig_media_id: String,
    pub media_type: MediaType,
    pub product_type: ProductType,
    pub published_at: DateTime<Utc>,
    pub deleted: bool,
    pub insights_captured_at: Option<DateTime<Utc>>,
    pub insights_error: Option<String>,
}

/// One insight value of a media item or story at one moment: the metric's total, or the
/// part of it one [`Breakdown`] counts (e.g. `action_type` = `BIO_LINK_CLICKED`).
#[derive(Debug, Clone, PartialEq)]
pub struct InsightSnapshot {
    pub ig_media_id: String,
    pub metric: String,
    pub breakdown: Option<Breakdown>,
    pub captured_at: DateTime<Utc>,
    pub value: f64,
}

/// Insight snapshots of media to append in one transaction, idempotent on
/// `(media, metric, breakdown, captured_at)`. Also updates each media item's `latest` values
/// and `insights_captured_at`, and records per-item errors (`errors`: media id → message;
/// an item that succeeds clears its error).
#[derive(Debug, Clone, PartialEq)]
pub struct InsightBatch {
    pub account_id: AccountId,
    pub captured_at: DateTime<Utc>,
    pub rows: Vec<InsightSnapshot>,
    pub errors: Vec<(String, String)>,
    /// The Graph API version and source of every row.
    pub origin: Origin,
}

/// A story as listed while live (stories expire after 24 h).
#[derive(Debug, Clone, PartialEq)]
pub struct StoryRecord {
    pub ig_media_id: String,
    pub media_type: MediaType,
    pub published_at: DateTime<Utc>,
    pub permalink: Option<String>,
    pub caption: Option<String>,
    pub media_url: Option<String>,
}

/// A stored story with its latest insight values.
#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    pub account_id: AccountId,
    pub record: StoryRecord,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub insights_captured_at: Option<DateTime<Utc>>,
    pub insights_error: Option<String>,
    pub latest: BTreeMap<String, f64>,
}

/// Live stories and their insights, applied in one transaction (upsert stories, append
/// story insight snapshots idempotently, record per-story errors).
#[derive(Debug, Clone, PartialEq)]
pub struct StoryBatch {
    pub account_id: AccountId,
    pub captured_at: DateTime<Utc>,
    pub stories: Vec<StoryRecord>,
    pub rows: Vec<InsightSnapshot>,
    pub errors: Vec<(String, String)>,
    /// The Graph API version and source of every row.
    pub origin: Origin,
}

/// One account-level value for one day: the day's total, or the part of it one
/// [`Breakdown`] counts (e.g. `media_product_type` = `REELS`, `hour` = `13` for online
/// followers).
#[derive(Debug, Clone, PartialEq)]
pub struct AccountInsightDay {
    pub metric: String,
    pub day: NaiveDate,
    pub breakdown: Option<Breakdown>,
    pub value: f64,
}

/// One account value for one day as it was known at a time (`as_of`), with its history:
/// the value first read and how many revisions Meta made up to then. Values Meta revised
/// later keep every earlier value (`account_insight_revisions`), so nothing read is lost.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountInsightReading {
    pub day: NaiveDate,
    pub breakdown: Option<Breakdown>,
    /// The value as known at `as_of`.
    pub value: f64,
    /// The value first read.
    pub first_value: f64,
    /// When the day was first read.
    pub first_fetched_at: DateTime<Utc>,
    /// The last read of `value` (before the next revision, if any).
    pub fetched_at: DateTime<Utc>,
    /// Revisions made up to `as_of` (0: the first value still stands).
    pub revisions: i64,
    /// The Graph API version `value` was read with; `None` for a value stored before
    /// provenance was recorded.
    pub api_version: Option<String>,
    /// Where `value` came from.
    pub source: ValueSource,
}

/// Account insight days to upsert in one transaction on
/// `(account, metric, day, breakdown, key)`: values of the settling window are replaced
/// with fresher ones; days are never deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountInsightBatch {
    pub account_id: AccountId,
    pub fetched_at: DateTime<Utc>,
    pub rows: Vec<AccountInsightDay>,
    /// The Graph API version and source of every row.
    pub origin: Origin,
}

/// One demographic value: `metric` (e.g. `follower_demographics`), `breakdown` (age,
/// gender, country, city or a combination like `age,gender`), `timeframe` (`""` when none),
/// `key` (e.g. `F.25-34`, `US`).
#[derive(Debug, Clone, PartialEq)]
pub struct DemographicValue {
    pub metric: String,
    pub breakdown: String,
    pub timeframe: String,
    pub key: String,
    pub value: f64,
}

/// A demographic snapshot for one day, upserted on
/// `(account, metric, breakdown, timeframe, key, captured_on)`.
#[derive(Debug, Clone, PartialEq)]
pub struct DemographicBatch {
    pub account_id: AccountId,
    pub captured_on: NaiveDate,
    pub rows: Vec<DemographicValue>,
    /// The Graph API version and source of every row.
    pub origin: Origin,
}

/// Filters for [`crate::Store::media_list`]. Ranges are inclusive, on `published_at`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaQuery {
    pub account_id: Option<AccountId>,
    pub published_from: Option<DateTime<Utc>>,
    pub published_to: Option<DateTime<Utc>>,
    pub product_type: Option<ProductType>,
    pub include_deleted: bool,
    /// Newest first; `None` = no limit.
    pub limit: Option<u32>,
    pub offset: u32,
}

/// Row counts, for summaries, the demo and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreTotals {
    pub accounts: i64,
    pub profile_snapshots: i64,
    pub media: i64,
    pub media_deleted: i64,
    pub media_insight_snapshots: i64,
    pub stories: i64,
    pub story_insight_snapshots: i64,
    pub account_insight_days: i64,
    pub demographic_values: i64,
    pub sync_runs: i64,
    pub alerts: i64,
}
