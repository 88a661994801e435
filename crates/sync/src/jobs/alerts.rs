//! Alerts: raised once per event (deduplicated by key in the store), logged, and delivered
//! to the configured webhook by a `deliver_webhook` job (retried with the queue's backoff),
//! signed with `X-Igsync-Signature: sha256=<hex HMAC-SHA256 of the body>`.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use store::{Account, AccountId, Alert, NewAlert, NewJob, RunId, Severity};

use crate::args::DeliverWebhookArgs;
use crate::engine::Deps;
use crate::history::{DailySeries, HistoryWindow, load_alert_history};
use crate::jobs::PRIORITY_MAINTENANCE;
use crate::plan::KIND_DELIVER_WEBHOOK;
use crate::plan::MAINTENANCE_QUEUE;
use ::queue::{JobContext, JobHandler, JobOutcome};

/// A webhook URL. Services such as Slack put the credential in the path or the query, so
/// `Debug` and `Display` show only the scheme and the host; [`WebhookUrl::expose`] is the
/// one way to the whole URL.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Accepts `http://` and `https://` URLs with a host.
    pub fn parse(url: &str) -> Result<WebhookUrl, String> {
        let url = url.trim();
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| "the webhook URL must start with http:// or https://".to_string())?;
        if rest.split(['/', '?', '#']).next().unwrap_or("").is_empty() {
            return Err("the webhook URL has no host".to_string());
        }
        Ok(WebhookUrl(url.to_string()))
    }

    /// The whole URL, credential included: for sending, never for printing.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `scheme://host[:port]`, followed by `/…` when the URL has more.
    pub fn origin(&self) -> String {
        let (scheme, rest) = self.0.split_once("://").unwrap_or(("", &self.0));
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let host = &rest[..end];
        // A user:password@ part is a credential too.
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let more = rest[end..].trim_start_matches('/');
        if more.is_empty() {
            format!("{scheme}://{host}")
        } else {
            format!("{scheme}://{host}/…")
        }
    }
}

impl std::fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookUrl({:?})", self.origin())
    }
}

impl std::fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.origin())
    }
}

/// Inserts an alert unless its event was alerted before; logs it and queues its webhook
/// delivery. Returns the new alert. Failures are logged, never propagated: an alert must not
/// fail a sync.
pub(crate) async fn raise_alert(deps: &Deps, alert: NewAlert) -> Option<Alert> {
    let inserted = match deps.store.alert_insert(alert).await {
        Ok(Some(a)) => a,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(error = %e, "could not store an alert");
            return None;
        }
    };
    let a = &inserted.alert;
    match a.severity {
        Severity::Critical | Severity::Warning => {
            tracing::warn!(alert = inserted.id, kind = %a.kind, account = a.account_id.map(AccountId::get), "{}", a.message)
        }
        Severity::Info => {
            tracing::info!(alert = inserted.id, kind = %a.kind, account = a.account_id.map(AccountId::get), "{}", a.message)
        }
    }
    if deps.settings.alerts.webhook_url.is_some() {
        let now = deps.clock.now();
        let args = DeliverWebhookArgs {
            alert_id: inserted.id,
            body: webhook_body(&inserted),
        };
        let job = NewJob::typed(&args, now).map(|job| NewJob {
            queue: MAINTENANCE_QUEUE.to_string(),
            unique_key: Some(format!("webhook:{}", inserted.id)),
            max_attempts: deps.settings.max_attempts as i32,
            priority: PRIORITY_MAINTENANCE,
            ..job
        });
        let inserted_job = match job {
            Ok(job) => deps.store.job_insert(job).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = inserted_job {
            tracing::warn!(alert = inserted.id, error = %e, "could not queue the webhook delivery");
        }
    }
    Some(inserted)
}

/// The JSON an alert is delivered as.
pub(crate) fn webhook_body(alert: &Alert) -> serde_json::Value {
    let a = &alert.alert;
    serde_json::json!({
        "id": alert.id,
        "kind": a.kind,
        "severity": a.severity.as_str(),
        "account_id": a.account_id,
        "title": a.title,
        "message": a.message,
        "payload": a.payload,
        "created_at": a.created_at.to_rfc3339(),
    })
}

/// `sha256=<hex HMAC-SHA256 of body under secret>`.
pub fn webhook_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Runs the analytics detectors over the account's history after a successful sync: follower
/// growth above the threshold, newly trending posts and anomalous days of the daily series
/// (each with a link to the chart).
pub(crate) async fn after_sync(
    deps: &Deps,
    account: &Account,
    run_id: RunId,
    now: DateTime<Utc>,
    days: DailySeries,
) {
    let config = analytics::AlertConfig {
        follower_growth_threshold: deps.settings.alerts.follower_growth_threshold as i64,
        ..analytics::AlertConfig::default()
    };
    // Trending looks at the trending window (and the baselines before it); anomalies need
    // the daily series of the weekday baseline's eight weeks before the days checked.
    let trending_from = now - config.trending_window;
    let window = HistoryWindow {
        from: now - Duration::days(ANOMALY_HISTORY_DAYS),
        to: now,
        trending_from,
    };
    let loaded = load_alert_history(
        deps.store.as_ref(),
        account,
        window,
        days,
        config.trending.metric,
    );
    let history = match loaded.await {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(account = account.id.get(), error = %e, "could not load history for alerts");
            return;
        }
    };
    for detected in analytics::detect_alerts(&history, now, &config) {
        let (kind, title, payload) = match &detected.kind {
            analytics::AlertKind::FollowerGrowth { from, to, .. } => (
                "follower_growth",
                format!(
                    "@{} gained {} followers",
                    account.username,
                    to.followers - from.followers
                ),
                serde_json::json!({
                    "from": { "at": from.captured_at.to_rfc3339(), "followers": from.followers },
                    "to": { "at": to.captured_at.to_rfc3339(), "followers": to.followers },
                    "growth": to.followers - from.followers,
                    "run_id": run_id,
                }),
            ),
            analytics::AlertKind::PostTrending { assessment } => (
                "trending_post",
                format!("A post of @{} is trending", account.username),
                serde_json::json!({
                    "ig_media_id": assessment.ig_media_id,
                    "why": assessment.why,
                    "run_id": run_id,
                }),
            ),
        };
        raise_alert(
            deps,
            NewAlert {
                account_id: Some(account.id),
                kind: kind.to_string(),
                severity: Severity::Info,
                dedup_key: format!("{}:{}", account.id, detected.dedup_key),
                title,
                message: detected.message.clone(),
                payload,
                created_at: now,
            },
        )
        .await;
    }
    // Meta revises account days for 48 hours: only final days are checked, the last few of
    // them (each day alerts once, whichever sync sees it first), by the syncs that read
    // them: a light sync that left them alone would check what the last reader checked.
    if days == DailySeries::Unchanged {
        return;
    }
    let last_final_day = last_final_day(now);
    let found = analytics::account_anomalies(
        &history,
        last_final_day,
        ANOMALY_RECENT_DAYS,
        &analytics::AnomalyConfig::default(),
    );
    for it in found {
        let a = &it.anomaly;
        let chart = if it.series == "follower_change" {
            "acct-followers"
        } else {
            "acct-reach-views"
        };
        let link = format!("/accounts/{}?days=90#{chart}", account.id);
        raise_alert(
            deps,
            NewAlert {
                account_id: Some(account.id),
                kind: "anomaly".to_string(),
                severity: Severity::Info,
                dedup_key: format!("{}:anomaly:{}:{}", account.id, it.series, a.day),
                title: format!(
                    "Unusual {} for @{} on {}",
                    it.series.replace('_', " "),
                    account.username,
                    a.day
                ),
                message: format!("{}. Chart: {link}", capitalize(&a.message)),
                payload: serde_json::json!({
                    "series": it.series,
                    "day": a.day.to_string(),
                    "value": a.value,
                    "usual": a.baseline.usual,
                    "band": [a.baseline.low, a.baseline.high],
                    "baseline": a.baseline.kind.key(),
                    "direction": a.direction.key(),
                    "robust_z": a.robust_z.value,
                    "one_in_days": a.one_in_days.value,
                    "chart": link,
                    "run_id": run_id,
                }),
                created_at: now,
            },
        )
        .await;
    }
}

/// After a competitor's snapshot: one alert per post whose likes + comments reached
/// `alerts.competitor_post_multiple` × the competitor's median per post (posts of this
/// capture), raised on the via account, once per post.
pub(crate) async fn after_competitor_snapshot(
    deps: &Deps,
    competitor: &store::Competitor,
    media: &[store::CompetitorMediaSnapshot],
    now: DateTime<Utc>,
) {
    let multiple = f64::from(deps.settings.alerts.competitor_post_multiple);
    let peer = crate::peers::peer_of_competitor(&competitor.username, &[], media);
    for post in analytics::competitors::standout_posts(&peer.posts, multiple) {
        let permalink = media
            .iter()
            .find(|m| m.media_id == post.id)
            .and_then(|m| m.permalink.clone());
        let link = permalink.as_deref().unwrap_or("no permalink given");
        raise_alert(
            deps,
            NewAlert {
                account_id: Some(competitor.via_account_id),
                kind: "competitor_post".to_string(),
                severity: Severity::Info,
                dedup_key: format!("competitor:{}:post:{}", competitor.id, post.id),
                title: format!(
                    "A post of competitor @{} reached {:.1}× its usual engagement",
                    competitor.username, post.multiple
                ),
                message: format!(
                    "{} likes + comments against a median of {} per post over its {} latest \
                     post(s) with public counters (alert at {}×). Post: {link}",
                    post.engagement,
                    post.median,
                    peer.posts
                        .iter()
                        .filter(|p| p.engagement_latest().is_some())
                        .count(),
                    deps.settings.alerts.competitor_post_multiple,
                ),
                payload: serde_json::json!({
                    "competitor_id": competitor.id,
                    "username": competitor.username,
                    "media_id": post.id,
                    "permalink": permalink,
                    "engagement": post.engagement,
                    "median": post.median,
                    "multiple": post.multiple,
                    "threshold": deps.settings.alerts.competitor_post_multiple,
                }),
                created_at: now,
            },
        )
        .await;
    }
}

/// The last account day Meta no longer revises at `now`: account days are Pacific days
/// (`America/Los_Angeles`), revised for 48 hours after their end, so the last final day is
/// the one before the Pacific day of 48 hours ago. (The UTC date of 48 hours ago takes a day
/// for final 16 hours after its Pacific end: 32 hours before Meta stops revising it, 31 in
/// summer time.)
fn last_final_day(now: DateTime<Utc>) -> NaiveDate {
    (now - Duration::hours(48))
        .with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive()
        - Duration::days(1)
}

/// Days of stored daily series loaded for the anomaly detector: the weekday baseline's eight
/// weeks before the days checked, and a margin.
const ANOMALY_HISTORY_DAYS: i64 = 8 * 7 + 14;
/// Final days checked after each sync (a day missed by one sync is seen by the next).
const ANOMALY_RECENT_DAYS: usize = 3;

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// POSTs one alert to the webhook.
pub(crate) struct DeliverWebhook {
    pub(crate) deps: Arc<Deps>,
}

#[async_trait::async_trait]
impl JobHandler for DeliverWebhook {
    fn kind(&self) -> &str {
        KIND_DELIVER_WEBHOOK
    }

    async fn run(&self, ctx: JobContext) -> JobOutcome {
        let deps = &self.deps;
        let DeliverWebhookArgs { alert_id, body } = match ctx.args() {
            Ok(args) => args,
            Err(e) => return JobOutcome::discard(e.to_string()),
        };
        let Some(url) = deps.settings.alerts.webhook_url.clone() else {
            return JobOutcome::discard("no webhook URL is configured any more");
        };
        let body = match serde_json::to_vec(&body) {
            Ok(body) => body,
            Err(e) => return JobOutcome::discard(format!("the webhook body does not encode: {e}")),
        };
        let mut request = deps
            .http
            .post(url.expose())
            .header("content-type", "application/json")
            .header("user-agent", concat!("igsync/", env!("CARGO_PKG_VERSION")));
        if let Some(secret) = &deps.settings.alerts.webhook_secret {
            request = request.header(
                "x-igsync-signature",
                webhook_signature(secret.expose(), &body),
            );
        }
        let outcome = match request.body(body).send().await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("the webhook answered HTTP {}", response.status())),
            Err(e) => Err(unreachable_error(&url, e)),
        };
        let now = ctx.now();
        match outcome {
            Ok(()) => {
                let _ = deps
                    .store
                    .alert_delivery_set(alert_id, Some(now), None)
                    .await;
                JobOutcome::Complete {
                    result: Some(serde_json::json!({ "delivered_at": now.to_rfc3339() })),
                    next: Vec::new(),
                }
            }
            Err(error) => {
                let _ = deps
                    .store
                    .alert_delivery_set(alert_id, None, Some(error.clone()))
                    .await;
                JobOutcome::retry(error)
            }
        }
    }
}

/// Why a delivery failed before any answer. reqwest's own message names the whole URL,
/// whose path may hold a credential, so it is dropped.
fn unreachable_error(url: &WebhookUrl, e: reqwest::Error) -> String {
    format!(
        "the webhook at {url} could not be reached: {}",
        e.without_url()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLACK: &str = "https://hooks.slack.com/services/T0001/B0002/XXXXsecretXXXX";

    /// A Pacific day is final 48 hours after its end (Pacific midnight: 08:00 UTC in winter,
    /// 07:00 in summer), not 48 hours after the UTC day's.
    #[test]
    fn an_account_day_is_final_48_hours_after_its_pacific_end() {
        let final_at = |now: &str| last_final_day(now.parse().unwrap()).to_string();
        // 7 December ends at 08:00 UTC on the 8th: final from 08:00 UTC on the 10th.
        assert_eq!(final_at("2026-12-10T07:55:00Z"), "2026-12-06");
        assert_eq!(final_at("2026-12-10T08:05:00Z"), "2026-12-07");
        // The UTC date of 48 hours before took 8 December for final from midnight UTC on
        // the 10th, 32 hours early.
        assert_eq!(final_at("2026-12-11T07:55:00Z"), "2026-12-07");
        assert_eq!(final_at("2026-12-11T08:00:00Z"), "2026-12-08");
        // Summer time: Pacific midnight is 07:00 UTC.
        assert_eq!(final_at("2027-07-10T06:55:00Z"), "2027-07-06");
        assert_eq!(final_at("2027-07-10T07:05:00Z"), "2027-07-07");
    }

    #[test]
    fn webhook_urls_print_without_their_credential() {
        let url = WebhookUrl::parse(SLACK).unwrap();
        assert_eq!(url.expose(), SLACK);
        assert_eq!(url.to_string(), "https://hooks.slack.com/…");
        assert_eq!(
            format!("{url:?}"),
            r#"WebhookUrl("https://hooks.slack.com/…")"#
        );
        let with_user = WebhookUrl::parse("http://me:pw@example.com:8080?token=1").unwrap();
        assert_eq!(with_user.origin(), "http://example.com:8080/…");
        assert_eq!(
            WebhookUrl::parse("https://example.com/").unwrap().origin(),
            "https://example.com"
        );
        assert!(WebhookUrl::parse("hooks.slack.com/services/T/B/X").is_err());
        assert!(WebhookUrl::parse("https:///path").is_err());
    }

    #[tokio::test]
    async fn an_unreachable_webhook_is_reported_without_its_credential() {
        // A port nobody listens on: bind one, then free it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url =
            WebhookUrl::parse(&format!("http://127.0.0.1:{port}/hook/XXXXsecretXXXX")).unwrap();
        graph::install_crypto_provider();
        let e = reqwest::Client::new()
            .post(url.expose())
            .send()
            .await
            .unwrap_err();
        assert!(e.to_string().contains("XXXXsecretXXXX"), "{e}");
        let message = unreachable_error(&url, e);
        assert!(!message.contains("XXXXsecretXXXX"), "{message}");
        assert!(
            message.starts_with(&format!(
                "the webhook at http://127.0.0.1:{port}/… could not"
            )),
            "{message}"
        );
    }

    #[test]
    fn signature_is_hex_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            webhook_signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
