//! Webhooks: `/{ig-user-id}/subscribed_apps`, the verification handshake, Meta-style signed
//! notifications (`story_insights` at expiry, `comments`, `mentions`) driven by the
//! simulated clock, retries with backoff, duplicates and out-of-order deliveries.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use simulator::{
    InsightsTruth, LoginKind, SimAccount, SimServer, WebhookConfig, WebhookError, WebhookState,
};

use crate::{account, assert_graph_error, config, get as api_get, post_form, start};

/// One notification as the receiver got it.
#[derive(Debug, Clone)]
struct Received {
    signature: String,
    body: Bytes,
}

/// A local webhook receiver: echoes the challenge for the right verify token, records every
/// POST and answers 500 to the first `fail` of them (all of them when `fail` is huge).
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    fail: Arc<AtomicUsize>,
}

const VERIFY: &str = "verify-me";

async fn handshake(Query(q): Query<BTreeMap<String, String>>) -> (StatusCode, String) {
    if q.get("hub.mode").map(String::as_str) == Some("subscribe")
        && q.get("hub.verify_token").map(String::as_str) == Some(VERIFY)
    {
        (StatusCode::OK, q["hub.challenge"].clone())
    } else {
        (StatusCode::FORBIDDEN, "wrong verify token".into())
    }
}

async fn notification(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.got.lock().unwrap().push(Received {
        signature: headers
            .get("x-hub-signature-256")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default(),
        body,
    });
    let failing = r
        .fail
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

impl Receiver {
    async fn serve(&self) -> String {
        let app = Router::new()
            .route("/hook", get(handshake).post(notification))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        format!("http://{addr}/hook")
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

fn verify(secret: &str, r: &Received) -> bool {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&r.body);
    r.signature == format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn subscribe(server: &SimServer, a: &SimAccount, fields: &str) -> crate::Resp {
    post_form(
        server,
        &format!("/v25.0/{}/subscribed_apps", a.ig_user_id),
        &[
            ("subscribed_fields", fields),
            ("access_token", a.access_token.as_str()),
        ],
    )
    .await
}

#[tokio::test]
async fn subscribed_apps_enables_reads_and_removes_notifications() {
    let server = start(config(501, 2, 20)).await;
    let fb = account(&server, LoginKind::Facebook);
    let r = subscribe(&server, &fb, "story_insights,comments,mentions").await;
    assert_eq!(r.ok(), &serde_json::json!({ "success": true }));
    let r = api_get(
        &server,
        &format!(
            "/v25.0/{}/subscribed_apps?access_token={}",
            fb.ig_user_id, fb.access_token
        ),
    )
    .await;
    let d = &r.ok()["data"][0];
    assert_eq!(d["id"], server.app_id().as_str());
    assert_eq!(
        d["subscribed_fields"],
        serde_json::json!(["story_insights", "comments", "mentions"])
    );
    let r = subscribe(&server, &fb, "comments,feed").await;
    assert_eq!(
        assert_graph_error(&r, 100)["message"],
        "(#100) Param subscribed_fields[1] must be one of {comments, live_comments, mentions, message_reactions, messages, messaging_postbacks, messaging_referral, messaging_seen, story_insights} - got \"feed\""
    );
    // Instagram Login subscribes through /me.
    let ig = account(&server, LoginKind::Instagram);
    let r = post_form(
        &server,
        "/v25.0/me/subscribed_apps",
        &[
            ("subscribed_fields", "comments"),
            ("access_token", ig.access_token.as_str()),
        ],
    )
    .await;
    r.ok();
    // DELETE removes it.
    let r = crate::client()
        .delete(format!(
            "{}/v25.0/{}/subscribed_apps?access_token={}",
            server.url(),
            fb.ig_user_id,
            fb.access_token
        ))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let r = api_get(
        &server,
        &format!(
            "/v25.0/{}/subscribed_apps?access_token={}",
            fb.ig_user_id, fb.access_token
        ),
    )
    .await;
    assert_eq!(r.ok()["data"], serde_json::json!([]));
    assert_eq!(
        server.stats().by_endpoint["POST /{ig-user-id}/subscribed_apps"],
        3
    );

    // Without Advanced Access the app is refused.
    let mut c = config(501, 2, 20);
    c.webhooks_advanced_access = false;
    let server = start(c).await;
    let fb = account(&server, LoginKind::Facebook);
    let r = subscribe(&server, &fb, "comments").await;
    assert_eq!(
        assert_graph_error(&r, 3)["message"],
        "(#3) Application does not have the capability to make this API call."
    );
}

#[tokio::test]
async fn the_handshake_comes_first() {
    let server = start(config(502, 2, 10)).await;
    let rx = Receiver::default();
    let url = rx.serve().await;
    let e = server
        .start_webhooks(WebhookConfig::new(&url, "not-the-token"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, WebhookError::Verification(m) if m.contains("HTTP 403")),
        "{e}"
    );
    let e = server
        .start_webhooks(WebhookConfig::new("https://example.com/hook", VERIFY))
        .await
        .unwrap_err();
    assert!(matches!(e, WebhookError::Callback(_)), "{e}");
    server
        .start_webhooks(WebhookConfig::new(&url, VERIFY))
        .await
        .unwrap();
    // Nothing is sent before the clock moves and an account subscribes.
    server.flush_webhooks().await;
    assert!(rx.received().is_empty());
    // The control endpoint does the same.
    let r = crate::client()
        .post(format!("{}/__sim/webhooks", server.url()))
        .json(&serde_json::json!({ "callback_url": url, "verify_token": "nope" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

/// Steps the clock an hour at a time for `hours`, flushing after each step; returns the
/// live stories seen along the way: id → (published, truth insights at the last sighting).
async fn step(
    server: &SimServer,
    a: &SimAccount,
    hours: i64,
) -> BTreeMap<String, (chrono::DateTime<chrono::Utc>, InsightsTruth)> {
    let mut seen = BTreeMap::new();
    for _ in 0..hours {
        for s in crate::truth(server, a).stories {
            let ts = chrono::DateTime::parse_from_str(&s.timestamp, "%Y-%m-%dT%H:%M:%S%z")
                .unwrap()
                .to_utc();
            seen.insert(s.id.clone(), (ts, s.insights.clone()));
        }
        server.advance_clock(chrono::Duration::hours(1));
        server.flush_webhooks().await;
    }
    seen
}

#[tokio::test]
async fn three_days_of_signed_notifications() {
    let server = start(config(503, 3, 60)).await;
    let fb = account(&server, LoginKind::Facebook);
    let ig = account(&server, LoginKind::Instagram);
    let rx = Receiver::default();
    let url = rx.serve().await;
    server
        .start_webhooks(WebhookConfig::new(&url, VERIFY))
        .await
        .unwrap();
    subscribe(&server, &fb, "story_insights,comments,mentions")
        .await
        .ok();
    subscribe(&server, &ig, "story_insights,comments,mentions")
        .await
        .ok();
    let t0 = server.now();
    let seen = step(&server, &fb, 72).await;
    let t1 = server.now();

    let got = rx.received();
    assert!(got.len() > 20, "{}", got.len());
    let secret = server.app_secret();
    let mut keys_in_order: Vec<(String, i64)> = Vec::new();
    let mut story_values: BTreeMap<String, Value> = BTreeMap::new();
    let fb_media: BTreeSet<String> = crate::truth(&server, &fb)
        .media
        .into_iter()
        .map(|m| m.id)
        .collect();
    for r in &got {
        assert!(verify(&secret, r), "bad signature");
        assert!(r.body.is_ascii(), "non-ASCII bytes on the wire");
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["object"], "instagram");
        let entry = &v["entry"][0];
        let id = entry["id"].as_str().unwrap();
        let time = entry["time"].as_i64().unwrap();
        assert!(time > t0.timestamp() && time <= t1.timestamp());
        let change = &entry["changes"][0];
        let value = &change["value"];
        let key = match change["field"].as_str().unwrap() {
            "story_insights" => {
                assert_eq!(id, fb.ig_user_id, "story insights need Facebook Login");
                for k in [
                    "impressions",
                    "reach",
                    "taps_forward",
                    "taps_back",
                    "exits",
                    "replies",
                ] {
                    assert!(value[k].is_i64(), "{k}: {value}");
                }
                let media = value["media_id"].as_str().unwrap().to_owned();
                story_values.insert(media.clone(), value.clone());
                format!("story_insights:{media}")
            }
            "comments" => {
                for k in ["id", "text"] {
                    assert!(value[k].is_string(), "{k}: {value}");
                }
                assert!(value["from"]["id"].is_string() && value["from"]["username"].is_string());
                let product = value["media"]["media_product_type"].as_str().unwrap();
                assert!(["FEED", "REELS"].contains(&product));
                if id == fb.ig_user_id {
                    assert!(fb_media.contains(value["media"]["id"].as_str().unwrap()));
                }
                format!("comments:{}", value["id"].as_str().unwrap())
            }
            "mentions" => {
                assert!(value["media_id"].is_string());
                match value.get("comment_id") {
                    Some(c) => format!("mentions:{}", c.as_str().unwrap()),
                    None => format!("mentions:{}", value["media_id"].as_str().unwrap()),
                }
            }
            other => panic!("unexpected field {other}"),
        };
        keys_in_order.push((key, time));
    }

    // Every story that expired in the window, and only those, reported its final numbers.
    let expired: BTreeSet<String> = seen
        .iter()
        .filter(|(_, (ts, _))| {
            let end = *ts + chrono::Duration::days(1);
            end > t0 && end <= t1
        })
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(
        story_values.keys().cloned().collect::<BTreeSet<_>>(),
        expired
    );
    for (id, value) in &story_values {
        match &seen[id].1 {
            InsightsTruth::Error { code: 10, .. } => {
                assert_eq!(value["reach"], -1, "{id}");
            }
            InsightsTruth::Values { values, .. } => {
                let last = values["reach"].as_i64().unwrap();
                assert!(value["reach"].as_i64().unwrap() >= last, "{id}");
            }
            other => panic!("{id}: {other:?}"),
        }
    }

    // Some events came twice, some late; every event was delivered.
    let unique: BTreeSet<&String> = keys_in_order.iter().map(|(k, _)| k).collect();
    assert!(unique.len() < keys_in_order.len(), "no duplicate delivered");
    assert!(
        keys_in_order.windows(2).any(|w| w[1].1 < w[0].1),
        "nothing delivered out of order"
    );
    let events = server.webhook_events().await;
    assert_eq!(events.len(), unique.len());
    assert!(events.iter().all(|e| e.state == WebhookState::Delivered));
    let log = server.webhook_deliveries();
    assert_eq!(log.len(), got.len());
    assert!(log.iter().any(|d| d.duplicate));
    for (d, r) in log.iter().zip(&got) {
        assert_eq!(d.body.as_bytes(), &r.body[..]);
        assert_eq!(d.signature, r.signature);
    }
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_backoff_then_dropped() {
    let server = start(config(504, 2, 40)).await;
    let fb = account(&server, LoginKind::Facebook);
    let rx = Receiver::default();
    let url = rx.serve().await;
    let mut cfg = WebhookConfig::new(&url, VERIFY);
    cfg.duplicates = false;
    cfg.reorder = false;
    server.start_webhooks(cfg).await.unwrap();
    subscribe(&server, &fb, "story_insights,comments,mentions")
        .await
        .ok();

    // Two failures: the first attempt and the immediate retry; a minute later it lands.
    rx.fail.store(2, Ordering::SeqCst);
    let mut first = None;
    for _ in 0..48 {
        server.advance_clock(chrono::Duration::minutes(30));
        server.flush_webhooks().await;
        if let Some(d) = server.webhook_deliveries().first() {
            first = Some(d.clone());
            break;
        }
    }
    let first = first.expect("an event within a day");
    let attempts = |key: &str| -> Vec<simulator::WebhookDelivery> {
        server
            .webhook_deliveries()
            .into_iter()
            .filter(|d| d.event == key)
            .collect()
    };
    let a = attempts(&first.event);
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!((a[0].attempt, a[0].status), (1, Some(500)));
    assert_eq!((a[1].attempt, a[1].status), (2, Some(500)));
    assert_eq!(a[0].body, a[1].body);
    server.advance_clock(chrono::Duration::seconds(61));
    server.flush_webhooks().await;
    let a = attempts(&first.event);
    assert_eq!(a.len(), 3);
    assert_eq!((a[2].attempt, a[2].status), (3, Some(200)));
    assert!(a[2].sent_at - a[0].sent_at >= chrono::Duration::seconds(60));
    let state = |events: &[simulator::WebhookEvent], key: &str| {
        events.iter().find(|e| e.key == key).unwrap().state
    };
    assert_eq!(
        state(&server.webhook_events().await, &first.event),
        WebhookState::Delivered
    );

    // A callback that never accepts: retried for 36 hours, then dropped.
    rx.fail.store(usize::MAX, Ordering::SeqCst);
    let before = server.webhook_deliveries().len();
    let mut failing = None;
    for _ in 0..48 {
        server.advance_clock(chrono::Duration::minutes(30));
        server.flush_webhooks().await;
        if let Some(d) = server.webhook_deliveries().get(before) {
            failing = Some(d.event.clone());
            break;
        }
    }
    let key = failing.expect("another event within a day");
    for _ in 0..40 {
        server.advance_clock(chrono::Duration::hours(1));
        server.flush_webhooks().await;
    }
    let a = attempts(&key);
    assert_eq!(
        a.len(),
        10,
        "{:?}",
        a.iter().map(|d| d.sent_at).collect::<Vec<_>>()
    );
    assert!(a.windows(2).all(|w| w[1].sent_at >= w[0].sent_at));
    assert!(a[9].sent_at - a[0].sent_at >= chrono::Duration::hours(36));
    assert_eq!(
        state(&server.webhook_events().await, &key),
        WebhookState::Dropped
    );
}

#[tokio::test]
async fn duplicates_and_reordering_can_be_switched_off() {
    let server = start(config(503, 3, 60)).await;
    let fb = account(&server, LoginKind::Facebook);
    let rx = Receiver::default();
    let url = rx.serve().await;
    let mut cfg = WebhookConfig::new(&url, VERIFY);
    cfg.duplicates = false;
    cfg.reorder = false;
    server.start_webhooks(cfg).await.unwrap();
    subscribe(&server, &fb, "story_insights,comments,mentions")
        .await
        .ok();
    step(&server, &fb, 72).await;
    let times: Vec<i64> = rx
        .received()
        .iter()
        .map(|r| {
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            v["entry"][0]["time"].as_i64().unwrap()
        })
        .collect();
    assert!(times.len() > 5, "{}", times.len());
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert!(server.webhook_deliveries().iter().all(|d| !d.duplicate));
    // The control endpoint shows the same log.
    let v: Value = crate::client()
        .get(format!("{}/__sim/webhooks", server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["deliveries"].as_array().unwrap().len(), times.len());
    assert_eq!(v["config"]["duplicates"], false);
    assert!(
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["state"] == "delivered")
    );
    let f: Value = crate::client()
        .post(format!("{}/__sim/webhooks/flush", server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(f["attempts"], times.len());
    assert_eq!(f["accepted"], times.len());
}
