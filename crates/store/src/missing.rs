//! Values Meta does not give, each stored with its reason: a post refused because it was
//! published before the business conversion, a story with too few viewers, an account day
//! below the 100-follower threshold, demographics cut to the top 45, the latest days of
//! `online_followers` not served yet. A missing value is never stored as 0; it is a row
//! here, with when it was first seen missing and when it is worth asking again.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::AccountId;

/// What kind of value is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MissingKind {
    /// A post's lifetime insights (`object_id` is the media id).
    MediaInsights,
    /// A story's insights (`object_id` is the story id).
    StoryInsights,
    /// One account metric of one Pacific day.
    AccountInsight,
    /// Followers online per hour of one Pacific day.
    OnlineFollowers,
    /// A demographic metric (all of it, or the rows past the top 45 of one breakdown).
    Demographics,
}

impl MissingKind {
    /// Every kind.
    pub const ALL: [MissingKind; 5] = [
        MissingKind::MediaInsights,
        MissingKind::StoryInsights,
        MissingKind::AccountInsight,
        MissingKind::OnlineFollowers,
        MissingKind::Demographics,
    ];

    /// The stored (and API) name.
    pub fn as_str(self) -> &'static str {
        match self {
            MissingKind::MediaInsights => "media_insights",
            MissingKind::StoryInsights => "story_insights",
            MissingKind::AccountInsight => "account_insight",
            MissingKind::OnlineFollowers => "online_followers",
            MissingKind::Demographics => "demographics",
        }
    }

    /// The kind of a stored name.
    pub fn parse(s: &str) -> Option<MissingKind> {
        MissingKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The stored names of `kinds`, or of every kind when `kinds` is empty (a listing's
    /// filter).
    pub fn names_or_all(kinds: &[MissingKind]) -> Vec<&'static str> {
        let kinds = if kinds.is_empty() {
            &MissingKind::ALL[..]
        } else {
            kinds
        };
        kinds.iter().map(|k| k.as_str()).collect()
    }
}

/// Why Meta gives no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MissingReason {
    /// A story seen by fewer than 5 accounts: `(#10) Not enough viewers`.
    NotEnoughViewers,
    /// Media posted before the account's business conversion (subcode 2108006).
    BeforeConversion,
    /// The media no longer exists (deleted; subcode 33).
    Deleted,
    /// A carousel child: insights exist for the album only.
    AlbumChild,
    /// A story more than 24 hours old.
    StoryExpired,
    /// A young post (or day) for which Meta answers an empty data set so far.
    NoDataYet,
    /// Below Meta's 100 followers / 100 engagements threshold.
    BelowThreshold,
    /// Demographic values past the top 45 that Meta returns.
    TruncatedTop45,
    /// A day Meta does not serve yet (`online_followers` of the latest two days).
    NotReadyYet,
    /// The token lacks the permission.
    PermissionDenied,
    /// A breakdown Meta refuses for the metric (its generic code 1 "An unknown error has
    /// occurred."); the metric's other breakdowns are read on their own.
    UnsupportedBreakdown,
    /// Any other refusal (the detail holds Meta's message).
    Other,
}

impl MissingReason {
    /// Every reason.
    pub const ALL: [MissingReason; 12] = [
        MissingReason::NotEnoughViewers,
        MissingReason::BeforeConversion,
        MissingReason::Deleted,
        MissingReason::AlbumChild,
        MissingReason::StoryExpired,
        MissingReason::NoDataYet,
        MissingReason::BelowThreshold,
        MissingReason::TruncatedTop45,
        MissingReason::NotReadyYet,
        MissingReason::PermissionDenied,
        MissingReason::UnsupportedBreakdown,
        MissingReason::Other,
    ];

    /// The stored (and API) name.
    pub fn as_str(self) -> &'static str {
        match self {
            MissingReason::NotEnoughViewers => "not_enough_viewers",
            MissingReason::BeforeConversion => "before_conversion",
            MissingReason::Deleted => "deleted",
            MissingReason::AlbumChild => "album_child",
            MissingReason::StoryExpired => "story_expired",
            MissingReason::NoDataYet => "no_data_yet",
            MissingReason::BelowThreshold => "below_threshold",
            MissingReason::TruncatedTop45 => "truncated_top_45",
            MissingReason::NotReadyYet => "not_ready_yet",
            MissingReason::PermissionDenied => "permission_denied",
            MissingReason::UnsupportedBreakdown => "unsupported_breakdown",
            MissingReason::Other => "other",
        }
    }

    /// The reason of a stored name.
    pub fn parse(s: &str) -> Option<MissingReason> {
        MissingReason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The reason in words, for reports and the dashboard.
    pub fn words(self) -> &'static str {
        match self {
            MissingReason::NotEnoughViewers => "not available: fewer than 5 viewers",
            MissingReason::BeforeConversion => {
                "not available: posted before the account became a professional account"
            }
            MissingReason::Deleted => "not available: the media was deleted",
            MissingReason::AlbumChild => "not available: part of an album (see the album)",
            MissingReason::StoryExpired => "not available: the story expired",
            MissingReason::NoDataYet => "not available yet: Meta has no numbers so far",
            MissingReason::BelowThreshold => {
                "not available: fewer than 100 followers (or engagements)"
            }
            MissingReason::TruncatedTop45 => "incomplete: Meta returns the top 45 values only",
            MissingReason::NotReadyYet => "not available yet: Meta serves it after two days",
            MissingReason::PermissionDenied => "not available: permission missing",
            MissingReason::UnsupportedBreakdown => {
                "not available: Meta refuses this breakdown (unknown error)"
            }
            MissingReason::Other => "not available (see the detail)",
        }
    }

    /// How long to wait before asking again, from the moment the value was refused:
    /// `None` for a refusal that never changes (before the conversion, a carousel child,
    /// deleted or expired media); a day for too few viewers or followers; an hour for
    /// values Meta has not produced yet.
    pub fn retry_after(self) -> Option<Duration> {
        match self {
            MissingReason::BeforeConversion
            | MissingReason::AlbumChild
            | MissingReason::Deleted
            | MissingReason::StoryExpired => None,
            MissingReason::NotEnoughViewers
            | MissingReason::BelowThreshold
            | MissingReason::TruncatedTop45
            | MissingReason::PermissionDenied
            | MissingReason::UnsupportedBreakdown
            | MissingReason::Other => Some(Duration::days(1)),
            MissingReason::NoDataYet | MissingReason::NotReadyYet => Some(Duration::hours(1)),
        }
    }
}

/// What a missing value is: its kind and the identity of the value. Fields that do not
/// apply to the kind are empty (`None` for the day).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MissingKey {
    pub kind: MissingKind,
    /// Media or story id (media and story insights), else empty.
    pub object_id: String,
    /// Pacific day (account insights, online followers).
    pub day: Option<NaiveDate>,
    /// Metric name (account insights, online followers, demographics), else empty.
    pub metric: String,
    /// Demographic timeframe (`this_week`, `this_month`), else empty.
    pub timeframe: String,
    /// Demographic breakdown (`age`, `country`, `age,gender`, …), else empty.
    pub breakdown: String,
}

impl MissingKey {
    /// The key of a media or story's insights.
    pub fn object(kind: MissingKind, id: impl Into<String>) -> MissingKey {
        MissingKey {
            kind,
            object_id: id.into(),
            day: None,
            metric: String::new(),
            timeframe: String::new(),
            breakdown: String::new(),
        }
    }

    /// The key of one metric of one day.
    pub fn day(kind: MissingKind, metric: impl Into<String>, day: NaiveDate) -> MissingKey {
        MissingKey {
            kind,
            object_id: String::new(),
            day: Some(day),
            metric: metric.into(),
            timeframe: String::new(),
            breakdown: String::new(),
        }
    }

    /// The key of a demographic metric (`breakdown` empty: all of it).
    pub fn demographic(
        metric: impl Into<String>,
        timeframe: impl Into<String>,
        breakdown: impl Into<String>,
    ) -> MissingKey {
        MissingKey {
            kind: MissingKind::Demographics,
            object_id: String::new(),
            day: None,
            metric: metric.into(),
            timeframe: timeframe.into(),
            breakdown: breakdown.into(),
        }
    }
}

/// One value Meta does not give, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingValue {
    pub key: MissingKey,
    pub reason: MissingReason,
    /// Values dropped (truncated demographics), when known.
    pub dropped: Option<i64>,
    /// Meta's message or other detail (may be empty).
    pub detail: String,
    /// When the value was first seen missing for this reason.
    pub since: DateTime<Utc>,
    /// When the latest read saw it missing.
    pub checked_at: DateTime<Utc>,
    /// When it is worth asking again (`None`: never).
    pub next_retry_at: Option<DateTime<Utc>>,
}

impl MissingValue {
    /// A value seen missing at `at`, to be asked again after the reason's wait.
    pub fn seen(key: MissingKey, reason: MissingReason, at: DateTime<Utc>) -> MissingValue {
        MissingValue {
            key,
            reason,
            dropped: None,
            detail: String::new(),
            since: at,
            checked_at: at,
            next_retry_at: reason.retry_after().map(|d| at + d),
        }
    }

    /// With Meta's message.
    pub fn with_detail(mut self, detail: impl Into<String>) -> MissingValue {
        self.detail = detail.into();
        self
    }

    /// Whether the value should not be asked for at `now`.
    pub fn holds_at(&self, now: DateTime<Utc>) -> bool {
        self.next_retry_at.is_none_or(|t| now < t)
    }
}

/// What one read learnt about missing values of one account: values now missing (upserted:
/// a value missing for the same reason as before keeps its `since`) and values now present
/// (their rows are removed).
#[derive(Debug, Clone, PartialEq)]
pub struct MissingBatch {
    pub account_id: AccountId,
    pub missing: Vec<MissingValue>,
    pub present: Vec<MissingKey>,
}

impl MissingBatch {
    /// The batch's values to upsert and keys to remove, each key once: the last word on a
    /// key wins within one batch (a key both missing and present stays missing). The
    /// values are in key order.
    pub fn last_words(self) -> (Vec<MissingValue>, Vec<MissingKey>) {
        let missing: std::collections::BTreeMap<MissingKey, MissingValue> = self
            .missing
            .into_iter()
            .map(|m| (m.key.clone(), m))
            .collect();
        let present: Vec<MissingKey> = self
            .present
            .into_iter()
            .filter(|k| !missing.contains_key(k))
            .collect();
        (missing.into_values().collect(), present)
    }
}
