//! Builders for hand-written test histories: compact constructors for instants, metrics,
//! posts and samples, so each test states only the numbers it checks.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use crate::input::{FollowerSample, MediaProductType, MediaType, Post, PostMetrics, PostSnapshot};

/// A UTC instant.
pub(crate) fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

/// A calendar date.
pub(crate) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Metrics with the four engagement components, reach and views.
pub(crate) fn metrics(
    likes: i64,
    comments: i64,
    saves: i64,
    shares: i64,
    reach: i64,
    views: i64,
) -> PostMetrics {
    PostMetrics {
        likes: Some(likes),
        comments: Some(comments),
        saves: Some(saves),
        shares: Some(shares),
        reach: Some(reach),
        views: Some(views),
        ..PostMetrics::default()
    }
}

/// Metrics where engagement is exactly `likes` (the other components 0) and reach is given.
pub(crate) fn likes_only(likes: i64, reach: i64) -> PostMetrics {
    metrics(likes, 0, 0, 0, reach, reach)
}

/// A feed image post.
pub(crate) fn post(id: &str, published_at: DateTime<Utc>, metrics: PostMetrics) -> Post {
    Post {
        ig_media_id: id.to_owned(),
        product_type: MediaProductType::Feed,
        media_type: MediaType::Image,
        published_at,
        metrics,
        ..Post::default()
    }
}

/// A post of the given type.
pub(crate) fn typed_post(
    id: &str,
    product_type: MediaProductType,
    published_at: DateTime<Utc>,
    metrics: PostMetrics,
) -> Post {
    Post {
        product_type,
        ..post(id, published_at, metrics)
    }
}

/// A snapshot `hours` after `published_at`.
pub(crate) fn snap(published_at: DateTime<Utc>, hours: i64, metrics: PostMetrics) -> PostSnapshot {
    PostSnapshot {
        captured_at: published_at + chrono::Duration::hours(hours),
        metrics,
    }
}

/// A follower sample.
pub(crate) fn followers(at: DateTime<Utc>, followers: i64) -> FollowerSample {
    FollowerSample {
        captured_at: at,
        followers,
        follows: 0,
        media_count: 0,
    }
}
