//! The input of every analytics function: an account's stored history as plain values.
//!
//! The store (and the glue that loads history from it) produces these types; the analytics
//! functions only read them. Names are igsync's domain names, never Meta's metric strings:
//! [`AccountMetric::key`] and friends give the stable snake_case keys to persist or render.
//!
//! Every metric value is an `Option<i64>`: `None` means "not available" (Meta does not offer
//! the metric for that media type or API version, or it was never fetched), which is different
//! from a measured `0`. Nothing in this crate turns a missing value into zero.
//!
//! Ordering: the analytics functions do not rely on the order of any vector (they sort what
//! they need), but the store is expected to deliver snapshots and samples in time order, which
//! is the fast path. All structs implement `Default`, so callers can write
//! `Post { ig_media_id, ..Default::default() }` and stay source-compatible when fields are added.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

/// Everything the analytics know about one account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountHistory {
    /// Account-level settings and counters.
    pub account: AccountInfo,
    /// Posts, reels and stories with their latest metrics and snapshot history.
    pub posts: Vec<Post>,
    /// Follower/follows/media counters sampled at each sync (gaps between syncs are normal).
    pub follower_samples: Vec<FollowerSample>,
    /// Account insights, one value per metric and day.
    pub daily_metrics: Vec<DailyMetricValue>,
    /// Followers online per hour (the API keeps the last 30 days).
    pub online_followers: Vec<OnlineFollowersSample>,
    /// The latest demographics snapshot.
    pub demographics: Vec<DemographicValue>,
}

/// Account-level settings and counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountInfo {
    /// The account's time zone (IANA). Periods, days and best-time slots are in this zone.
    /// Defaults to UTC.
    pub time_zone: Tz,
    /// Followers right now (from the latest profile sync), if known.
    pub followers_now: Option<i64>,
}

/// One post, reel or story.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Post {
    /// Instagram media id.
    pub ig_media_id: String,
    /// Where the media was published: feed, reels or stories.
    pub product_type: MediaProductType,
    /// What the media is: image, video or carousel album.
    pub media_type: MediaType,
    /// Publication time (UTC).
    pub published_at: DateTime<Utc>,
    /// Caption, if any.
    pub caption: Option<String>,
    /// Public permalink, if known.
    pub permalink: Option<String>,
    /// The post was deleted on Instagram; its history is kept but flagged.
    pub deleted: bool,
    /// The latest known metric values (lifetime values, as Meta reports them).
    pub metrics: PostMetrics,
    /// The snapshot history of the same metrics, in time order.
    pub snapshots: Vec<PostSnapshot>,
}

/// Lifetime metric values of one post at one moment. `None` = not available.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PostMetrics {
    /// Likes.
    pub likes: Option<i64>,
    /// Comments.
    pub comments: Option<i64>,
    /// Saves.
    pub saves: Option<i64>,
    /// Shares (Instagram's own `shares` metric, never a remainder).
    pub shares: Option<i64>,
    /// Accounts reached (unique, estimated by Meta).
    pub reach: Option<i64>,
    /// Views (Meta's 2025 replacement of impressions and plays).
    pub views: Option<i64>,
    /// Meta's own total interactions (likes + saves + comments + shares minus un-actions).
    pub total_interactions: Option<i64>,
    /// Follows attributed to the post.
    pub follows: Option<i64>,
    /// Profile visits attributed to the post.
    pub profile_visits: Option<i64>,
    /// Average watch time of a reel, in milliseconds.
    pub reels_avg_watch_time_ms: Option<i64>,
}

/// The metrics of one post as captured at one sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PostSnapshot {
    /// When the values were captured (UTC).
    pub captured_at: DateTime<Utc>,
    /// The values captured.
    pub metrics: PostMetrics,
}

/// Profile counters sampled at one sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowerSample {
    /// When the counters were read (UTC).
    pub captured_at: DateTime<Utc>,
    /// Followers.
    pub followers: i64,
    /// Accounts this account follows.
    pub follows: i64,
    /// Number of media published.
    pub media_count: i64,
}

/// One account insight value for one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DailyMetricValue {
    /// The API's day bucket.
    pub day: NaiveDate,
    /// Which metric.
    pub metric: AccountMetric,
    /// The value for that day.
    pub value: i64,
}

/// Followers online during one hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OnlineFollowersSample {
    /// Start of the hour (UTC).
    pub hour_start: DateTime<Utc>,
    /// Followers online during that hour.
    pub followers_online: i64,
}

/// One value of the demographics snapshot, e.g. (followers, country, "DE", 1200).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemographicValue {
    /// Whose demographics.
    pub audience: Audience,
    /// Which breakdown.
    pub dimension: DemographicDimension,
    /// The breakdown value: an age range ("25-34"), gender ("F"), country code or city name.
    pub key: String,
    /// Number of accounts.
    pub value: i64,
}

/// Error returned when a stable key does not name a known variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// What kind of key was being parsed (e.g. "media product type").
    pub kind: &'static str,
    /// The key that was not recognised.
    pub key: String,
}

impl fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} key: {:?}", self.kind, self.key)
    }
}

impl std::error::Error for UnknownKey {}

/// Declares a fieldless enum with stable snake_case keys, `ALL`, `key()`, `Display` and
/// `FromStr`.
macro_rules! keyed_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal, default = $default:ident,
        { $( $(#[$vmeta:meta])* $variant:ident => $key:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $(
                $(#[$vmeta])*
                $variant,
            )+
        }

        impl Default for $name {
            fn default() -> Self {
                $name::$default
            }
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable snake_case key of this variant.
            pub const fn key(self) -> &'static str {
                match self {
                    $($name::$variant => $key),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.key())
            }
        }

        impl FromStr for $name {
            type Err = UnknownKey;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($key => Ok($name::$variant),)+
                    _ => Err(UnknownKey { kind: $kind, key: s.to_owned() }),
                }
            }
        }
    };
}

keyed_enum! {
    /// Where a media was published. Stories are analysed separately from feed posts and reels.
    MediaProductType, "media product type", default = Feed,
    {
        /// A feed post (image, video or carousel).
        Feed => "feed",
        /// A reel.
        Reels => "reels",
        /// A story (expires after 24 h).
        Story => "story",
    }
}

keyed_enum! {
    /// What kind of media it is.
    MediaType, "media type", default = Image,
    {
        /// A single image.
        Image => "image",
        /// A video (including reels).
        Video => "video",
        /// A carousel album.
        CarouselAlbum => "carousel_album",
    }
}

keyed_enum! {
    /// Account insights kept as daily series (igsync's names, not Meta's).
    AccountMetric, "account metric", default = Reach,
    {
        /// Unique accounts reached that day. Not additive across days.
        Reach => "reach",
        /// Views of the account's content that day.
        Views => "views",
        /// Unique accounts that interacted that day. Not additive across days.
        AccountsEngaged => "accounts_engaged",
        /// Interactions (likes, comments, saves, shares, replies…) that day.
        TotalInteractions => "total_interactions",
        /// Likes that day.
        Likes => "likes",
        /// Comments that day.
        Comments => "comments",
        /// Saves that day.
        Saves => "saves",
        /// Shares that day.
        Shares => "shares",
        /// Story replies that day.
        Replies => "replies",
        /// Profile views that day.
        ProfileViews => "profile_views",
        /// Website link clicks that day.
        WebsiteClicks => "website_clicks",
        /// Taps on profile links (call, email, directions…) that day.
        ProfileLinksTaps => "profile_links_taps",
        /// New followers that day.
        Follows => "follows",
        /// Unfollows that day.
        Unfollows => "unfollows",
        /// Net new followers that day as reported by the API (last 30 days only).
        NetNewFollowers => "net_new_followers",
    }
}

keyed_enum! {
    /// Whose demographics a value describes.
    Audience, "audience", default = Followers,
    {
        /// The account's followers.
        Followers => "followers",
        /// Accounts that engaged with the content.
        Engaged => "engaged",
        /// Accounts reached by the content.
        Reached => "reached",
    }
}

keyed_enum! {
    /// The breakdown of a demographic value.
    DemographicDimension, "demographic dimension", default = Age,
    {
        /// Age range.
        Age => "age",
        /// Gender.
        Gender => "gender",
        /// Country (ISO code).
        Country => "country",
        /// City.
        City => "city",
    }
}

impl MediaProductType {
    /// Position in [`MediaProductType::ALL`] (for per-type tables).
    pub(crate) const fn index(self) -> usize {
        match self {
            MediaProductType::Feed => 0,
            MediaProductType::Reels => 1,
            MediaProductType::Story => 2,
        }
    }
}

impl AccountMetric {
    /// Whether summing the daily values gives a meaningful period total. Counts of events
    /// (views, likes, clicks…) add up; counts of unique accounts (reach, accounts engaged) do
    /// not: an account reached on three days is one account, not three.
    pub const fn is_additive(self) -> bool {
        !matches!(self, AccountMetric::Reach | AccountMetric::AccountsEngaged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_unknown_keys_are_errors() {
        for it in MediaProductType::ALL {
            assert_eq!(it.key().parse::<MediaProductType>(), Ok(*it));
        }
        for it in MediaType::ALL {
            assert_eq!(it.to_string().parse::<MediaType>(), Ok(*it));
        }
        for it in AccountMetric::ALL {
            assert_eq!(it.key().parse::<AccountMetric>(), Ok(*it));
        }
        for it in Audience::ALL {
            assert_eq!(it.key().parse::<Audience>(), Ok(*it));
        }
        for it in DemographicDimension::ALL {
            assert_eq!(it.key().parse::<DemographicDimension>(), Ok(*it));
        }
        let err = "impressions".parse::<AccountMetric>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown account metric key: \"impressions\""
        );
        assert_eq!(MediaType::CarouselAlbum.key(), "carousel_album");
    }

    #[test]
    fn defaults_are_utc_and_feed() {
        let h = AccountHistory::default();
        assert_eq!(h.account.time_zone, Tz::UTC);
        assert_eq!(Post::default().product_type, MediaProductType::Feed);
        assert_eq!(
            MediaProductType::ALL
                .iter()
                .map(|it| it.index())
                .collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert!(!AccountMetric::Reach.is_additive());
        assert!(!AccountMetric::AccountsEngaged.is_additive());
        assert!(AccountMetric::Views.is_additive());
    }
}
