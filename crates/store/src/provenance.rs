//! The provenance of every stored number: the Graph API version the request used, where the
//! value came from, and — derived when read, never stored — whether Meta may still revise it.
//! The fetch time is each table's own capture time.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

/// Where a stored value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueSource {
    /// A Graph API read.
    Poll,
    /// One of Meta's webhook notifications.
    Webhook,
    /// Computed by igsync from other values.
    Derived,
}

impl ValueSource {
    pub const ALL: [ValueSource; 3] = [
        ValueSource::Poll,
        ValueSource::Webhook,
        ValueSource::Derived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ValueSource::Poll => "poll",
            ValueSource::Webhook => "webhook",
            ValueSource::Derived => "derived",
        }
    }

    pub fn parse(s: &str) -> Option<ValueSource> {
        ValueSource::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The provenance a batch of values is stored with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The Graph API version the request used (e.g. `v23.0`); `None` when no Graph API
    /// request produced the values (and, when read, for values stored before provenance was
    /// recorded).
    pub api_version: Option<String>,
    pub source: ValueSource,
}

impl Origin {
    /// Read from the Graph API with `api_version`.
    pub fn poll(api_version: impl Into<String>) -> Origin {
        Origin {
            api_version: Some(api_version.into()),
            source: ValueSource::Poll,
        }
    }

    /// Sent by Meta in a webhook notification.
    pub fn webhook() -> Origin {
        Origin {
            api_version: None,
            source: ValueSource::Webhook,
        }
    }

    /// Computed by igsync.
    pub fn derived() -> Origin {
        Origin {
            api_version: None,
            source: ValueSource::Derived,
        }
    }
}

/// Meta revises insights for up to 48 hours: a value whose day (or capture) is older than
/// this window is settled; a later change is a revision.
pub const REVISION_WINDOW_HOURS: i64 = 48;

/// The end of a Pacific day (Meta's day bucket), in UTC.
pub fn pacific_day_end(day: NaiveDate) -> Option<DateTime<Utc>> {
    let next = day.succ_opt()?.and_hms_opt(0, 0, 0)?;
    chrono_tz::America::Los_Angeles
        .from_local_datetime(&next)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// Whether a value captured at `captured_at` is settled at `now`.
pub fn capture_settled(captured_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= captured_at + Duration::hours(REVISION_WINDOW_HOURS)
}

/// Whether a value of Meta's Pacific day `day` is settled at `now`.
pub fn day_settled(day: NaiveDate, now: DateTime<Utc>) -> bool {
    pacific_day_end(day).is_some_and(|end| now >= end + Duration::hours(REVISION_WINDOW_HOURS))
}

/// The provenance of one stored value as it is shown: the hover text of a dashboard value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueProvenance {
    pub api_version: Option<String>,
    pub captured_at: DateTime<Utc>,
    pub settled: bool,
    pub source: ValueSource,
}

impl ValueProvenance {
    /// "Graph API v23.0 · read 2026-12-04 10:00 UTC · settled · poll".
    pub fn describe(&self) -> String {
        let version = match (&self.api_version, self.source) {
            (Some(v), _) => format!("Graph API {v}"),
            (None, ValueSource::Poll) => "Graph API version not recorded".to_owned(),
            (None, ValueSource::Webhook) => "Meta webhook".to_owned(),
            (None, ValueSource::Derived) => "computed by igsync".to_owned(),
        };
        format!(
            "{version} · read {} · {} · {}",
            self.captured_at.format("%Y-%m-%d %H:%M UTC"),
            if self.settled {
                "settled"
            } else {
                "not settled"
            },
            self.source.as_str()
        )
    }
}
