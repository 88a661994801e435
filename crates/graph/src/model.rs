//! Typed results of the client's reads: profile, media (with carousel children), stories,
//! insight values, account insight days, demographics, online followers and token facts.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::ItemError;
use crate::token::AccessToken;

/// `media_type` of an IG Media object.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaType {
    /// `IMAGE`.
    Image,
    /// `VIDEO`.
    Video,
    /// `CAROUSEL_ALBUM`.
    CarouselAlbum,
    /// A value this client does not know yet.
    Other(String),
}

impl MediaType {
    /// Parses Meta's spelling (case-insensitive).
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "IMAGE" => Self::Image,
            "VIDEO" => Self::Video,
            "CAROUSEL_ALBUM" => Self::CarouselAlbum,
            _ => Self::Other(s.to_owned()),
        }
    }

    /// Meta's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Image => "IMAGE",
            Self::Video => "VIDEO",
            Self::CarouselAlbum => "CAROUSEL_ALBUM",
            Self::Other(s) => s,
        }
    }
}

/// `media_product_type` of an IG Media object.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaProductType {
    /// `FEED` (posts and carousels).
    Feed,
    /// `REELS`.
    Reels,
    /// `STORY`.
    Story,
    /// `AD`.
    Ad,
    /// A value this client does not know yet.
    Other(String),
}

impl MediaProductType {
    /// Parses Meta's spelling (case-insensitive; `REEL` is taken as `REELS`).
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "FEED" => Self::Feed,
            "REELS" | "REEL" => Self::Reels,
            "STORY" => Self::Story,
            "AD" => Self::Ad,
            _ => Self::Other(s.to_owned()),
        }
    }

    /// Meta's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Feed => "FEED",
            Self::Reels => "REELS",
            Self::Story => "STORY",
            Self::Ad => "AD",
            Self::Other(s) => s,
        }
    }
}

/// What the metric catalog is keyed by besides the API version: the kind of media whose
/// insights are read. Carousel albums are their own kind (their children have no insights).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaCategory {
    /// A feed image or video.
    Feed,
    /// A feed carousel album.
    CarouselAlbum,
    /// A reel.
    Reels,
    /// A story.
    Story,
}

impl MediaCategory {
    /// All categories.
    pub const ALL: [Self; 4] = [Self::Feed, Self::CarouselAlbum, Self::Reels, Self::Story];

    /// The category of a media object; `None` for kinds that have no organic insights (ads,
    /// unknown product types).
    pub fn of(product: &MediaProductType, media_type: &MediaType) -> Option<Self> {
        match product {
            MediaProductType::Reels => Some(Self::Reels),
            MediaProductType::Story => Some(Self::Story),
            MediaProductType::Feed if *media_type == MediaType::CarouselAlbum => {
                Some(Self::CarouselAlbum)
            }
            MediaProductType::Feed => Some(Self::Feed),
            MediaProductType::Ad | MediaProductType::Other(_) => None,
        }
    }

    /// A stable name (`FEED`, `CAROUSEL_ALBUM`, `REELS`, `STORY`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Feed => "FEED",
            Self::CarouselAlbum => "CAROUSEL_ALBUM",
            Self::Reels => "REELS",
            Self::Story => "STORY",
        }
    }
}

impl fmt::Display for MediaCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The profile of a professional account (current counters only; Meta keeps no history).
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// IG user id.
    pub id: String,
    /// `username`.
    pub username: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `biography`.
    pub biography: Option<String>,
    /// `website`.
    pub website: Option<String>,
    /// `profile_picture_url`.
    pub profile_picture_url: Option<String>,
    /// `followers_count`.
    pub followers_count: Option<u64>,
    /// `follows_count`.
    pub follows_count: Option<u64>,
    /// `media_count`.
    pub media_count: Option<u64>,
    /// `account_type` (`BUSINESS` or `MEDIA_CREATOR`): only Instagram Login's user node has
    /// it.
    pub account_type: Option<String>,
}

/// A child of a carousel album (no insights of its own).
#[derive(Clone, Debug, PartialEq)]
pub struct MediaChild {
    /// Media id.
    pub id: String,
    /// `media_type`.
    pub media_type: Option<MediaType>,
    /// `media_url`.
    pub media_url: Option<String>,
    /// `thumbnail_url`.
    pub thumbnail_url: Option<String>,
    /// `permalink`.
    pub permalink: Option<String>,
    /// `timestamp`.
    pub timestamp: Option<DateTime<Utc>>,
}

/// A post, reel or carousel album from the media list.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaItem {
    /// Media id.
    pub id: String,
    /// `media_type`.
    pub media_type: MediaType,
    /// `media_product_type`.
    pub media_product_type: MediaProductType,
    /// `caption`.
    pub caption: Option<String>,
    /// `permalink`.
    pub permalink: Option<String>,
    /// `shortcode`.
    pub shortcode: Option<String>,
    /// `media_url`.
    pub media_url: Option<String>,
    /// `thumbnail_url`.
    pub thumbnail_url: Option<String>,
    /// Publication time.
    pub timestamp: DateTime<Utc>,
    /// `like_count` (absent when the owner hides likes).
    pub like_count: Option<u64>,
    /// `comments_count`.
    pub comments_count: Option<u64>,
    /// Carousel children, in order.
    pub children: Vec<MediaChild>,
}

impl MediaItem {
    /// The metric-catalog category of this item.
    pub fn category(&self) -> Option<MediaCategory> {
        MediaCategory::of(&self.media_product_type, &self.media_type)
    }
}

/// The result of listing an account's media.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaListing {
    /// Items, newest first, up to (excluding) the one that met the stop condition.
    pub items: Vec<MediaItem>,
    /// `true` when the listing reached the end of the edge; `false` when it stopped early.
    pub complete: bool,
    /// List requests made.
    pub pages: u32,
}

/// A live story.
#[derive(Clone, Debug, PartialEq)]
pub struct Story {
    /// Media id.
    pub id: String,
    /// `media_type`.
    pub media_type: Option<MediaType>,
    /// `media_url`.
    pub media_url: Option<String>,
    /// `thumbnail_url`.
    pub thumbnail_url: Option<String>,
    /// `permalink`.
    pub permalink: Option<String>,
    /// `caption`.
    pub caption: Option<String>,
    /// Publication time (stories live 24 h).
    pub timestamp: Option<DateTime<Utc>>,
}

/// One dimension value of a breakdown (`media_product_type` = `REEL`, `age,gender` = `F,25-34`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Breakdown {
    /// Dimension key(s), comma-joined when several.
    pub dimension: String,
    /// Dimension value(s), comma-joined when several.
    pub key: String,
}

/// One lifetime insight value of a media object (total, or one breakdown row).
#[derive(Clone, Debug, PartialEq)]
pub struct InsightValue {
    /// Meta's metric name.
    pub metric: String,
    /// The value.
    pub value: f64,
    /// `None` for the metric's total.
    pub breakdown: Option<Breakdown>,
}

/// Insights of many media objects: one result per requested id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MediaInsights {
    /// Per media id: its values, or why it has none.
    pub results: BTreeMap<String, Result<Vec<InsightValue>, ItemError>>,
}

impl MediaInsights {
    /// Ids that came back with values.
    pub fn ok_count(&self) -> usize {
        self.results.values().filter(|r| r.is_ok()).count()
    }
}

/// One account-level value for one Pacific-time day.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountInsightPoint {
    /// Meta's metric name.
    pub metric: String,
    /// The day (America/Los_Angeles), derived from the period's `end_time`.
    pub day: NaiveDate,
    /// `None` for the day's total.
    pub breakdown: Option<Breakdown>,
    /// The value.
    pub value: f64,
}

/// The time frame of engaged/reached audience demographics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DemographicTimeframe {
    /// `this_week` (last 7 days).
    ThisWeek,
    /// `this_month` (last 30 days).
    ThisMonth,
}

impl DemographicTimeframe {
    /// Meta's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ThisWeek => "this_week",
            Self::ThisMonth => "this_month",
        }
    }
}

/// One audience demographic value.
#[derive(Clone, Debug, PartialEq)]
pub struct DemographicValue {
    /// `follower_demographics`, `engaged_audience_demographics`, …
    pub metric: String,
    /// `age`, `gender`, `country`, `city` or the combined `age,gender`.
    pub breakdown: String,
    /// The time frame asked for.
    pub timeframe: DemographicTimeframe,
    /// The dimension value (`25-34`, `F`, `US`, `Berlin, Germany`).
    pub key: String,
    /// The value.
    pub value: f64,
}

/// Followers online per hour for one Pacific-time day.
#[derive(Clone, Debug, PartialEq)]
pub struct OnlineFollowers {
    /// The day.
    pub day: NaiveDate,
    /// Hour (0–23, as Meta keys them) → followers online.
    pub by_hour: BTreeMap<u8, f64>,
}

/// Followers online per hour over a range of days, with the days Meta does not serve yet.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct OnlineFollowersRead {
    /// The days served, oldest first.
    pub days: Vec<OnlineFollowers>,
    /// Days of the range Meta refused as not available yet (the latest two days; Meta
    /// fails the whole request when it includes one of them).
    pub not_ready: Vec<NaiveDate>,
}

/// Audience demographics of one time frame, with the breakdowns Meta refused.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct DemographicsRead {
    /// The values of every breakdown Meta answered.
    pub values: Vec<DemographicValue>,
    /// (metric, breakdown, Meta's message) of each breakdown Meta refused with its generic
    /// code 1 "An unknown error has occurred." (asked for on its own, so it fails nothing
    /// else).
    pub refused: Vec<(String, String, String)>,
}

/// An Instagram professional account reachable with a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveredAccount {
    /// IG user id.
    pub ig_user_id: String,
    /// `username`, when returned.
    pub username: Option<String>,
    /// The Facebook Page it is connected to (Facebook Login).
    pub page_id: Option<String>,
    /// The Page's name (Facebook Login).
    pub page_name: Option<String>,
}

/// A token obtained by an exchange or refresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// The new token.
    pub token: AccessToken,
    /// `token_type` (usually `bearer`).
    pub token_type: Option<String>,
    /// Seconds of validity as returned.
    pub expires_in: Option<u64>,
    /// `now + expires_in`, by the client's clock.
    pub expires_at: Option<DateTime<Utc>>,
}

/// What `debug_token` says about a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenDebug {
    /// Whether the token is currently valid.
    pub is_valid: bool,
    /// App the token belongs to.
    pub app_id: Option<String>,
    /// `USER`, `PAGE`, …
    pub token_type: Option<String>,
    /// Owner id.
    pub user_id: Option<String>,
    /// Expiry (`None` when it never expires).
    pub expires_at: Option<DateTime<Utc>>,
    /// Data-access expiry.
    pub data_access_expires_at: Option<DateTime<Utc>>,
    /// Issue time.
    pub issued_at: Option<DateTime<Utc>>,
    /// Granted permissions.
    pub scopes: Vec<String>,
}
