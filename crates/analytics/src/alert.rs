//! Detectors the sync engine runs after a sync to raise notifications: follower growth since
//! the previous sample above a threshold, and trending posts.
//!
//! Detectors are stateless: they look at the history and say what is true now. Each
//! detection carries a stable `dedup_key`, unique within the account, so the caller can store
//! the keys it has already alerted on and emit every event exactly once, even when the same
//! detector runs again after the next sync or after a retry.

use chrono::{DateTime, Duration, Utc};

use crate::definition as def;
use crate::engagement::FollowerTimeline;
use crate::figure::Figure;
use crate::input::{AccountHistory, FollowerSample};
use crate::trending::{TrendingAssessment, TrendingConfig, assess_trending};

/// Settings of the detectors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertConfig {
    /// Follower growth between two consecutive samples above this raises an alert
    /// (strictly greater).
    pub follower_growth_threshold: i64,
    /// Only posts published within this window before `now` are checked for trending.
    pub trending_window: Duration,
    /// Trending detection settings.
    pub trending: TrendingConfig,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            follower_growth_threshold: 100,
            trending_window: Duration::days(7),
            trending: TrendingConfig::default(),
        }
    }
}

/// What was detected.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertKind {
    /// Followers grew by more than the threshold between two consecutive samples.
    FollowerGrowth {
        /// The earlier sample.
        from: FollowerSample,
        /// The latest sample.
        to: FollowerSample,
        /// `follower_growth_since_previous_sample`.
        growth: Figure,
    },
    /// A recent post is trending.
    PostTrending {
        /// The assessment (its `post_idx` indexes [`AccountHistory::posts`]).
        assessment: Box<TrendingAssessment>,
    },
}

/// One detection.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Stable key of the event, unique within the account: `follower_growth:<from>:<to>` (Unix
    /// seconds of the two samples) or `post_trending:<ig media id>` (a post alerts once).
    pub dedup_key: String,
    /// What was detected.
    pub kind: AlertKind,
    /// A one-line human message.
    pub message: String,
}

/// Follower growth between the latest sample and the one before it, when it is above
/// `threshold`.
pub fn detect_follower_growth(samples: &[FollowerSample], threshold: i64) -> Option<Alert> {
    let timeline = FollowerTimeline::new(samples);
    let [.., from, to] = timeline.samples() else {
        return None;
    };
    let growth = to.followers.saturating_sub(from.followers);
    if growth <= threshold {
        return None;
    }
    Some(Alert {
        dedup_key: format!(
            "follower_growth:{}:{}",
            from.captured_at.timestamp(),
            to.captured_at.timestamp()
        ),
        message: format!(
            "Followers grew by {growth} (from {} to {}) {}.",
            from.followers,
            to.followers,
            between(from.captured_at, to.captured_at)
        ),
        kind: AlertKind::FollowerGrowth {
            from: *from,
            to: *to,
            growth: Figure::new(
                &def::FOLLOWER_GROWTH_SINCE_PREVIOUS_SAMPLE,
                Some(growth as f64),
            ),
        },
    })
}

/// "between … and …" for two instants, precise enough to tell them apart: seconds when
/// they fall in the same minute, the date once when they share it.
fn between(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let same_minute =
        from.format("%Y-%m-%d %H:%M").to_string() == to.format("%Y-%m-%d %H:%M").to_string();
    let time = if same_minute { "%H:%M:%S" } else { "%H:%M" };
    if from.date_naive() == to.date_naive() {
        format!(
            "between {} and {} UTC",
            from.format(&format!("%Y-%m-%d {time}")),
            to.format(time)
        )
    } else {
        format!(
            "between {} UTC and {} UTC",
            from.format(&format!("%Y-%m-%d {time}")),
            to.format(&format!("%Y-%m-%d {time}"))
        )
    }
}

/// Posts published within `window` before `now` (not deleted) that are trending at `now`.
pub fn detect_trending_posts(
    history: &AccountHistory,
    now: DateTime<Utc>,
    window: Duration,
    config: &TrendingConfig,
) -> Vec<Alert> {
    let since = now - window;
    let candidates = history
        .posts
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.deleted && p.published_at >= since && p.published_at <= now)
        .map(|(idx, _)| idx);
    assess_trending(&history.posts, candidates, now, config)
        .into_iter()
        .filter(|it| it.is_trending())
        .map(|it| Alert {
            dedup_key: format!("post_trending:{}", it.ig_media_id),
            message: format!("Post {} is trending. {}", it.ig_media_id, it.why),
            kind: AlertKind::PostTrending {
                assessment: Box::new(it),
            },
        })
        .collect()
}

/// Runs every detector.
pub fn detect_alerts(
    history: &AccountHistory,
    now: DateTime<Utc>,
    config: &AlertConfig,
) -> Vec<Alert> {
    let mut res: Vec<Alert> =
        detect_follower_growth(&history.follower_samples, config.follower_growth_threshold)
            .into_iter()
            .collect();
    res.extend(detect_trending_posts(
        history,
        now,
        config.trending_window,
        &config.trending,
    ));
    res
}

#[cfg(test)]
mod tests;
