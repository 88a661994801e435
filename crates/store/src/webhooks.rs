//! Meta's webhook notifications and what igsync learns from them: the raw events as
//! received (durable before they are answered), each story's final numbers with where they
//! came from, comments with their text history, mentions, and per account whether it is
//! subscribed and when it last heard from Meta.

use chrono::{DateTime, Utc};

use crate::AccountId;

/// A notification as received, after its signature was checked: the raw body, exactly as
/// signed. `delivery_key` identifies the delivery (Meta redelivers the same bytes), so a
/// redelivery or a duplicate is stored once.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhookEvent {
    pub delivery_key: String,
    pub body: String,
    pub received_at: DateTime<Utc>,
}

/// A stored notification and where its processing stands.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    pub id: i64,
    pub delivery_key: String,
    pub body: String,
    pub received_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
    /// Why (part of) the event could not be used, e.g. an unknown account.
    pub error: Option<String>,
}

/// Where a story's final numbers came from, weakest first: a later source of the same
/// strength replaces an earlier one, a stronger one always wins, a weaker one never does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Provenance {
    /// No numbers could be read (the reason says why, e.g. expired before any read).
    Unavailable,
    /// The latest hourly read while the story was live.
    Poll,
    /// The read scheduled shortly before the story expired.
    FinalPoll,
    /// Meta's `story_insights` notification, sent when the story expired.
    Webhook,
}

impl Provenance {
    pub const ALL: [Provenance; 4] = [
        Provenance::Unavailable,
        Provenance::Poll,
        Provenance::FinalPoll,
        Provenance::Webhook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::Unavailable => "unavailable",
            Provenance::Poll => "poll",
            Provenance::FinalPoll => "final_poll",
            Provenance::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Provenance> {
        Provenance::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Strength: higher wins.
    pub fn rank(self) -> i32 {
        self as i32
    }
}

/// One number of a story's final numbers: a value, or missing with the reason Meta gave
/// (e.g. fewer than 5 viewers). Never a stand-in 0 or -1.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryFinalMetric {
    pub metric: String,
    /// `None` for the total, as in [`crate::InsightSnapshot`].
    pub breakdown: Option<crate::Breakdown>,
    pub value: Option<f64>,
    pub missing_reason: Option<String>,
}

/// A story's final numbers. Upserted on the story id by [`Provenance`] strength, then by
/// `captured_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryFinal {
    pub account_id: AccountId,
    pub ig_media_id: String,
    pub provenance: Provenance,
    /// When the numbers were read (or, for a webhook, when Meta sent them).
    pub captured_at: DateTime<Utc>,
    /// When the story expires (published + 24 h).
    pub expires_at: DateTime<Utc>,
    pub metrics: Vec<StoryFinalMetric>,
    /// Why there are no numbers (for [`Provenance::Unavailable`]) or why some are missing.
    pub reason: Option<String>,
    /// The Graph API version of the read that gave the numbers (`None` for a webhook's:
    /// Meta sent them).
    pub api_version: Option<String>,
}

/// A comment on one of the account's media, as a `comments` notification described it.
#[derive(Debug, Clone, PartialEq)]
pub struct CommentRecord {
    pub account_id: AccountId,
    pub ig_comment_id: String,
    pub ig_media_id: Option<String>,
    pub media_product_type: Option<String>,
    pub parent_id: Option<String>,
    pub from_id: Option<String>,
    pub from_username: Option<String>,
    pub text: Option<String>,
    /// The notification's time.
    pub commented_at: DateTime<Utc>,
}

/// A stored comment: its latest text, and how many distinct texts were seen (more than one
/// when it was edited while igsync listened).
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub record: CommentRecord,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub versions: i64,
}

/// The account was @mentioned in a caption (`ig_comment_id` None) or a comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub account_id: AccountId,
    pub ig_media_id: String,
    pub ig_comment_id: Option<String>,
    pub mentioned_at: DateTime<Utc>,
}

/// What one stored event meant, applied in one transaction together with marking the event
/// processed: idempotent, so processing an event twice changes nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WebhookApply {
    pub event_id: i64,
    pub processed_at: DateTime<Utc>,
    pub error: Option<String>,
    pub finals: Vec<StoryFinal>,
    pub comments: Vec<CommentRecord>,
    pub mentions: Vec<Mention>,
    /// Accounts the event was about, with the event's time (their "last event received").
    pub heard: Vec<(AccountId, DateTime<Utc>)>,
}

/// The outcome of asking Meta to send an account's notifications.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSubscriptionUpdate {
    pub account_id: AccountId,
    /// The fields Meta accepted; empty when it refused.
    pub fields: Vec<String>,
    /// Meta's refusal, when it refused.
    pub error: Option<String>,
    pub checked_at: DateTime<Utc>,
}

/// Where an account's notifications stand.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookAccountStatus {
    pub account_id: AccountId,
    pub fields: Vec<String>,
    pub error: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
}

/// Refused notifications by reason (`bad_signature`, `missing_signature`, `too_large`…).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRejections {
    pub reason: String,
    pub count: i64,
    pub last_at: DateTime<Utc>,
}

/// The one JSON form of final numbers both dialects store:
/// `[{"metric","breakdown","value","missing_reason"}]`.
pub fn story_final_metrics_json(metrics: &[StoryFinalMetric]) -> serde_json::Value {
    metrics
        .iter()
        .map(|m| {
            serde_json::json!({
                "metric": m.metric,
                "breakdown": crate::Breakdown::to_column(m.breakdown.as_ref()),
                "value": m.value,
                "missing_reason": m.missing_reason,
            })
        })
        .collect()
}

/// Reads [`story_final_metrics_json`] back; `None` when the JSON is not that shape.
pub fn story_final_metrics_parse(v: &serde_json::Value) -> Option<Vec<StoryFinalMetric>> {
    v.as_array()?
        .iter()
        .map(|m| {
            Some(StoryFinalMetric {
                metric: m.get("metric")?.as_str()?.to_owned(),
                breakdown: crate::Breakdown::from_column(m.get("breakdown")?.as_str()?).ok()?,
                value: match m.get("value") {
                    None | Some(serde_json::Value::Null) => None,
                    Some(v) => Some(v.as_f64()?),
                },
                missing_reason: m
                    .get("missing_reason")
                    .and_then(|r| r.as_str())
                    .map(str::to_owned),
            })
        })
        .collect()
}

/// Checks final numbers before they are written: ids present, values finite.
pub fn story_finals_check(finals: &[StoryFinal]) -> crate::Result<()> {
    for f in finals {
        if f.ig_media_id.trim().is_empty() {
            return Err(crate::StoreError::invalid(
                "a story's final numbers need its id",
            ));
        }
        for m in &f.metrics {
            if m.value.is_some_and(|v| !v.is_finite()) {
                return Err(crate::StoreError::invalid(format!(
                    "story {}: {} has a non-finite value",
                    f.ig_media_id, m.metric
                )));
            }
        }
    }
    Ok(())
}
