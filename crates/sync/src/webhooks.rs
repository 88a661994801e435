//! Meta's webhook notifications: the signature check, the durable receipt (the raw event is
//! stored, then a `process_webhook_event` job is queued; the HTTP answer comes after both),
//! the reading of Meta's envelope into final story numbers, comments and mentions, and the
//! subscription of an account to its notifications.
//!
//! `story_insights` notifications use the legacy metric names; [`LEGACY_STORY_METRICS`] maps
//! them to the catalog's current names (see `docs/graph-api-edges.md`). A count of `-1`
//! (fewer than 5 viewers) is stored as missing with its reason, never as a number.

use std::fmt;

use chrono::{DateTime, Utc};
use graph::{AccountRef, GraphClient, WEBHOOK_FIELDS};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use store::{
    AccountId, Breakdown, CommentRecord, DynStore, Mention, NewJob, NewWebhookEvent, Provenance,
    StoryFinal, StoryFinalMetric, WebhookSubscriptionUpdate,
};

use crate::plan::KIND_PROCESS_WEBHOOK_EVENT;
use crate::plan::MAINTENANCE_QUEUE;

/// A legacy `story_insights` name, the current metric and its breakdown (dimension, key).
pub type LegacyStoryMetric = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
);

/// Legacy `story_insights` names → (current metric, breakdown).
pub const LEGACY_STORY_METRICS: &[LegacyStoryMetric] = &[
    ("impressions", "views", None),
    ("reach", "reach", None),
    ("replies", "replies", None),
    (
        "taps_forward",
        "navigation",
        Some(("story_navigation_action_type", "tap_forward")),
    ),
    (
        "taps_back",
        "navigation",
        Some(("story_navigation_action_type", "tap_back")),
    ),
    (
        "exits",
        "navigation",
        Some(("story_navigation_action_type", "tap_exit")),
    ),
];

/// The missing-reason of a story count Meta withholds (`-1`: fewer than 5 viewers).
pub const NOT_ENOUGH_VIEWERS: &str = "not_enough_viewers";

/// Why a notification was refused before anything was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `X-Hub-Signature-256` header.
    MissingSignature,
    /// The header is not `sha256=<64 hex digits>` or the HMAC does not match.
    BadSignature,
    /// The body is over the size limit.
    TooLarge,
}

impl Refusal {
    /// The key refusals are counted under.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::MissingSignature => "missing_signature",
            Refusal::BadSignature => "bad_signature",
            Refusal::TooLarge => "too_large",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::MissingSignature => "the X-Hub-Signature-256 header is missing",
            Refusal::BadSignature => "the X-Hub-Signature-256 signature does not match the body",
            Refusal::TooLarge => "the notification is larger than the limit",
        })
    }
}

/// Checks `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(body, app secret)>` over the raw
/// bytes, in constant time.
pub fn verify_signature(
    app_secret: &[u8],
    header: Option<&str>,
    body: &[u8],
) -> Result<(), Refusal> {
    let header = header.ok_or(Refusal::MissingSignature)?;
    let hex_part = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(Refusal::BadSignature)?;
    if hex_part.len() != 64 {
        return Err(Refusal::BadSignature);
    }
    let expected = hex::decode(hex_part).map_err(|_| Refusal::BadSignature)?;
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(app_secret).map_err(|_| Refusal::BadSignature)?;
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| Refusal::BadSignature)
}

/// `sha256=<hex HMAC-SHA256(body, app secret)>`: the `X-Hub-Signature-256` Meta sends
/// (for load generators and tests that play Meta).
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(app_secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The delivery key of a body: its SHA-256. Meta's redeliveries and duplicates repeat the
/// same bytes, so they share the key.
pub fn delivery_key(body: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(body)))
}

/// What the receiver did with a verified notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub event_id: i64,
    /// False for a redelivery or duplicate of a stored event.
    pub new: bool,
}

/// Stores a verified notification (once per delivery key) and queues its processing (one
/// job per event, merged while pending). Only after both may the sender be answered 200.
pub async fn receive(
    store: &DynStore,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Receipt, store::StoreError> {
    let (event_id, new) = store
        .webhook_event_insert(NewWebhookEvent {
            delivery_key: delivery_key(body.as_bytes()),
            body: body.to_owned(),
            received_at: now,
        })
        .await?;
    // A redelivery of an event already processed needs no job.
    let pending = new
        || store
            .webhook_event_get(event_id)
            .await?
            .is_some_and(|e| e.processed_at.is_none());
    if pending {
        store.job_insert(process_job(event_id, now)).await?;
    }
    Ok(Receipt { event_id, new })
}

pub(crate) fn process_job(event_id: i64, now: DateTime<Utc>) -> NewJob {
    NewJob {
        queue: MAINTENANCE_QUEUE.to_string(),
        kind: KIND_PROCESS_WEBHOOK_EVENT.to_string(),
        args: serde_json::to_value(crate::args::ProcessWebhookEventArgs { event_id })
            .unwrap_or(Value::Null),
        account_id: None,
        unique_key: Some(format!("webhook-event:{event_id}")),
        run_id: None,
        run_at: now,
        max_attempts: 5,
        priority: crate::jobs::PRIORITY_MAINTENANCE,
        now,
    }
}

/// One change of an envelope, read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    StoryInsights {
        media_id: String,
        metrics: Vec<StoryFinalMetric>,
        reason: Option<String>,
    },
    Comment(CommentRecord),
    Mention(Mention),
    /// A field igsync does not use (kept in the raw event).
    Other(String),
}

/// One entry of an envelope: the account's Instagram id, its time and its changes (with
/// `account_id` 0 until the account is resolved).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) ig_user_id: String,
    pub(crate) time: DateTime<Utc>,
    pub(crate) changes: Vec<Change>,
}

fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads Meta's envelope `{"object":"instagram","entry":[{"id","time","changes":[…]}]}`.
pub(crate) fn parse_envelope(body: &str) -> Result<Vec<Entry>, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    match v.get("object").and_then(Value::as_str) {
        Some("instagram") => {}
        other => return Err(format!("object is {other:?}, not \"instagram\"")),
    }
    let entries = v
        .get("entry")
        .and_then(Value::as_array)
        .ok_or("the envelope has no entry array")?;
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let ig_user_id = text(e, "id").ok_or(format!("entry {i} has no id"))?;
        let secs = e
            .get("time")
            .and_then(Value::as_i64)
            .ok_or(format!("entry {i} has no time"))?;
        // Meta sends seconds; some objects send milliseconds.
        let secs = if secs > 100_000_000_000 {
            secs / 1000
        } else {
            secs
        };
        let time = DateTime::from_timestamp(secs, 0).ok_or(format!("entry {i}: bad time"))?;
        let mut changes = Vec::new();
        for (j, c) in e
            .get("changes")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let field = c
                .get("field")
                .and_then(Value::as_str)
                .ok_or(format!("entry {i} change {j} has no field"))?;
            let value = c.get("value").unwrap_or(&Value::Null);
            changes.push(
                parse_change(field, value, time)
                    .map_err(|m| format!("entry {i} change {j} ({field}): {m}"))?,
            );
        }
        out.push(Entry {
            ig_user_id,
            time,
            changes,
        });
    }
    Ok(out)
}

fn parse_change(field: &str, v: &Value, time: DateTime<Utc>) -> Result<Change, String> {
    match field {
        "story_insights" => {
            let media_id = text(v, "media_id").ok_or("no media_id")?;
            let mut metrics = Vec::new();
            let mut withheld = false;
            for (legacy, metric, breakdown) in LEGACY_STORY_METRICS {
                let Some(raw) = v.get(*legacy) else { continue };
                let n = raw
                    .as_f64()
                    .filter(|n| n.is_finite())
                    .ok_or(format!("{legacy} is not a number"))?;
                let (value, missing_reason) = if n < 0.0 {
                    withheld = true;
                    (None, Some(NOT_ENOUGH_VIEWERS.to_owned()))
                } else {
                    (Some(n), None)
                };
                metrics.push(StoryFinalMetric {
                    metric: (*metric).to_owned(),
                    breakdown: breakdown.map(|(dimension, key)| Breakdown::new(dimension, key)),
                    value,
                    missing_reason,
                });
            }
            Ok(Change::StoryInsights {
                media_id,
                metrics,
                reason: withheld.then(|| {
                    "Meta withholds counts of stories seen by fewer than 5 accounts".into()
                }),
            })
        }
        "comments" | "live_comments" => {
            let from = v.get("from").unwrap_or(&Value::Null);
            let media = v.get("media").unwrap_or(&Value::Null);
            Ok(Change::Comment(CommentRecord {
                account_id: AccountId::new(0),
                ig_comment_id: text(v, "id").ok_or("no id")?,
                ig_media_id: text(media, "id"),
                media_product_type: text(media, "media_product_type"),
                parent_id: text(v, "parent_id"),
                from_id: text(from, "id"),
                from_username: text(from, "username"),
                text: text(v, "text"),
                commented_at: time,
            }))
        }
        "mentions" => Ok(Change::Mention(Mention {
            account_id: AccountId::new(0),
            ig_media_id: text(v, "media_id").ok_or("no media_id")?,
            ig_comment_id: text(v, "comment_id"),
            mentioned_at: time,
        })),
        other => Ok(Change::Other(other.to_owned())),
    }
}

/// The final numbers a `story_insights` change gives.
pub(crate) fn webhook_final(
    account_id: AccountId,
    time: DateTime<Utc>,
    media_id: String,
    metrics: Vec<StoryFinalMetric>,
    reason: Option<String>,
) -> StoryFinal {
    StoryFinal {
        account_id,
        ig_media_id: media_id,
        provenance: Provenance::Webhook,
        captured_at: time,
        // Meta sends story insights when the story expires.
        expires_at: time,
        metrics,
        reason,
        // Meta sent the numbers: no Graph API request read them.
        api_version: None,
    }
}

/// Asks Meta to send the account's `story_insights`, `comments` and `mentions`
/// notifications, and records the outcome (also a refusal, with Meta's words and what it
/// usually means).
pub async fn subscribe(
    store: &dyn store::Store,
    client: &GraphClient,
    account_id: AccountId,
    acct: &AccountRef,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let outcome = client.subscribe_webhooks(acct, WEBHOOK_FIELDS).await;
    let error = outcome.as_ref().err().map(|e| {
        format!(
            "Meta refused the webhook subscription ({e}); the app needs Advanced Access for \
             instagram_manage_insights and instagram_manage_comments and must be live"
        )
    });
    store
        .webhook_subscription_set(WebhookSubscriptionUpdate {
            account_id,
            fields: if error.is_none() {
                WEBHOOK_FIELDS.iter().map(|f| (*f).to_owned()).collect()
            } else {
                Vec::new()
            },
            error: error.clone(),
            checked_at: now,
        })
        .await
        .map_err(|e| e.to_string())?;
    match error {
        None => Ok(()),
        Some(e) => Err(e),
    }
}

/// How complete an account's story numbers are: of the stories that expired in a period,
/// how many have final numbers, and where they came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoryCompleteness {
    /// Stories that expired in the period (seen by a poll or named by Meta).
    pub expired: usize,
    pub webhook: usize,
    pub final_poll: usize,
    /// Only an hourly read: the numbers are the last ones seen, not the final ones.
    pub poll_only: usize,
    /// No numbers could be read (the reason is stored with the story).
    pub unavailable: usize,
}

impl StoryCompleteness {
    /// Stories with final numbers (from Meta's notification or the read before expiry).
    pub fn complete(&self) -> usize {
        self.webhook + self.final_poll
    }
}

impl fmt::Display for StoryCompleteness {
    /// "23 of 23 stories have final numbers (19 webhook, 4 final read)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} stories have final numbers ({} webhook, {} final read)",
            self.complete(),
            self.expired,
            self.webhook,
            self.final_poll
        )?;
        if self.poll_only > 0 {
            write!(f, "; {} only an hourly read", self.poll_only)?;
        }
        if self.unavailable > 0 {
            write!(f, "; {} unavailable", self.unavailable)?;
        }
        Ok(())
    }
}

/// Comments and mentions received through Meta's notifications in `[from, to)`:
/// "12 comments and 3 mentions received".
pub async fn conversation_counts(
    store: &dyn store::Store,
    account_id: AccountId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(usize, usize), store::StoreError> {
    let comments = store
        .comment_list(account_id, None, 0)
        .await?
        .iter()
        .filter(|c| c.record.commented_at >= from && c.record.commented_at < to)
        .count();
    let mentions = store
        .mention_list(account_id, 0)
        .await?
        .iter()
        .filter(|m| m.mentioned_at >= from && m.mentioned_at < to)
        .count();
    Ok((comments, mentions))
}

/// The start and end of a report's days in the account's time zone (the end not after
/// `now`).
pub fn days_range(
    account: &store::Account,
    first: chrono::NaiveDate,
    last: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), store::StoreError> {
    use chrono::TimeZone;
    let tz = account.time_zone()?;
    let midnight = |d: chrono::NaiveDate| {
        tz.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map_or_else(
                || d.and_time(chrono::NaiveTime::MIN).and_utc(),
                |t| t.to_utc(),
            )
    };
    let to = last.succ_opt().map_or(now, midnight).min(now);
    Ok((midnight(first), to))
}

/// The report lines about stories and conversations of a report's days: story
/// completeness, and the comments and mentions received.
pub async fn report_lines(
    store: &dyn store::Store,
    account: &store::Account,
    first: chrono::NaiveDate,
    last: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<(String, String), store::StoreError> {
    let (from, to) = days_range(account, first, last, now)?;
    let stories = story_completeness(store, account.id, from, to).await?;
    let (comments, mentions) = conversation_counts(store, account.id, from, to).await?;
    Ok((
        stories.to_string(),
        format!("{comments} comments and {mentions} mentions received through Meta's webhooks"),
    ))
}

/// Story completeness of a report's period: the stories that expired between the first
/// day's midnight and the end of the last day in the account's time zone (not after `now`).
pub async fn story_completeness_of_days(
    store: &dyn store::Store,
    account: &store::Account,
    first: chrono::NaiveDate,
    last: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<StoryCompleteness, store::StoreError> {
    let (from, to) = days_range(account, first, last, now)?;
    story_completeness(store, account.id, from, to).await
}

/// Story completeness of the stories that expired in `[from, to]`.
pub async fn story_completeness(
    store: &dyn store::Store,
    account_id: AccountId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<StoryCompleteness, store::StoreError> {
    let day = chrono::Duration::hours(24);
    let finals = store.story_final_list(account_id, from, to).await?;
    let mut ids: std::collections::BTreeSet<String> = store
        .story_list(account_id, from - day, to - day)
        .await?
        .into_iter()
        .filter(|s| s.record.published_at + day >= from && s.record.published_at + day <= to)
        .map(|s| s.record.ig_media_id)
        .collect();
    let mut c = StoryCompleteness::default();
    for f in &finals {
        ids.insert(f.ig_media_id.clone());
        match f.provenance {
            Provenance::Webhook => c.webhook += 1,
            Provenance::FinalPoll => c.final_poll += 1,
            Provenance::Poll => c.poll_only += 1,
            Provenance::Unavailable => c.unavailable += 1,
        }
    }
    c.expired = ids.len();
    // Stories seen but without any final numbers at all.
    c.unavailable += c.expired - finals.len().min(c.expired);
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn signatures_are_checked_over_the_raw_bytes() {
        let body = br#"{"object":"instagram","entry":[]}"#;
        let good = sign("s3cret", body);
        assert_eq!(verify_signature(b"s3cret", Some(&good), body), Ok(()));
        assert_eq!(
            verify_signature(b"other", Some(&good), body),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verify_signature(b"s3cret", Some(&good), &body[..body.len() - 1]),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verify_signature(b"s3cret", None, body),
            Err(Refusal::MissingSignature)
        );
        for bad in [
            "",
            "sha256=",
            "sha1=abc",
            "sha256=zz",
            &good[..good.len() - 2],
        ] {
            assert_eq!(
                verify_signature(b"s3cret", Some(bad), body),
                Err(Refusal::BadSignature),
                "{bad}"
            );
        }
    }

    #[test]
    fn story_insights_use_current_names_and_keep_withheld_counts_missing() {
        let body = r#"{"object":"instagram","entry":[{"id":"17841","time":1700000000,"changes":[
            {"field":"story_insights","value":{"media_id":"1790","impressions":-1,"reach":-1,
             "taps_forward":-1,"taps_back":-1,"exits":-1,"replies":-1}},
            {"field":"story_insights","value":{"media_id":"1791","impressions":40,"reach":30,
             "taps_forward":7,"taps_back":2,"exits":1,"replies":0}}]}]}"#;
        let e = parse_envelope(body).unwrap();
        assert_eq!(e[0].ig_user_id, "17841");
        let Change::StoryInsights {
            metrics, reason, ..
        } = &e[0].changes[0]
        else {
            panic!()
        };
        assert!(
            metrics
                .iter()
                .all(|m| m.value.is_none()
                    && m.missing_reason.as_deref() == Some(NOT_ENOUGH_VIEWERS))
        );
        assert!(reason.is_some());
        let Change::StoryInsights {
            metrics, reason, ..
        } = &e[0].changes[1]
        else {
            panic!()
        };
        assert_eq!(reason, &None);
        let get = |m: &str, b: &str| {
            metrics
                .iter()
                .find(|x| x.metric == m && Breakdown::to_column(x.breakdown.as_ref()) == b)
                .and_then(|x| x.value)
        };
        assert_eq!(get("views", ""), Some(40.0));
        assert_eq!(get("reach", ""), Some(30.0));
        assert_eq!(get("replies", ""), Some(0.0));
        assert_eq!(
            get("navigation", "story_navigation_action_type:tap_exit"),
            Some(1.0)
        );
    }

    #[test]
    fn malformed_envelopes_are_errors_not_panics() {
        for body in [
            "",
            "[]",
            r#"{"object":"page","entry":[]}"#,
            r#"{"object":"instagram"}"#,
            r#"{"object":"instagram","entry":[{"time":1}]}"#,
            r#"{"object":"instagram","entry":[{"id":"1","time":1,"changes":[{"value":{}}]}]}"#,
            r#"{"object":"instagram","entry":[{"id":"1","time":1,"changes":[{"field":"story_insights","value":{"media_id":"1","reach":"x"}}]}]}"#,
        ] {
            assert!(parse_envelope(body).is_err(), "{body}");
        }
    }
}
