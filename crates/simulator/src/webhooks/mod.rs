//! The webhook sender: Meta's notifications for subscribed accounts, driven by the
//! simulated clock.
//!
//! Configured with a callback URL, a verify token and the app secret, it first performs the
//! verification handshake (`GET callback?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…`,
//! the challenge must come back), then delivers every event whose time the clock has passed,
//! in Meta's envelope `{"object":"instagram","entry":[{"id","time","changes":[{"field","value"}]}]}`,
//! as escaped-unicode JSON signed with `X-Hub-Signature-256`. A failed delivery (non-2xx or
//! no answer) is retried at once, then with decreasing frequency over 36 simulated hours,
//! then dropped. Some events are delivered twice and some late, out of order (switchable),
//! deterministically by seed. Everything sent is logged for tests.

mod events;
pub(crate) mod http;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::hash::{h, hs, unit};
use crate::state::SimState;
use crate::time::to_utc;

use events::Event;
pub(crate) use events::FIELDS;
use http::Callback;

/// How the sender delivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookConfig {
    /// Where notifications go: `http://host:port/path`.
    pub callback_url: String,
    /// Echoed in the verification handshake.
    pub verify_token: String,
    /// The secret notifications are signed with (default: the simulator's app secret).
    #[serde(default)]
    pub app_secret: Option<String>,
    /// Deliver some events twice (as Meta may).
    #[serde(default = "yes")]
    pub duplicates: bool,
    /// Deliver some events late, after newer ones (as Meta may).
    #[serde(default = "yes")]
    pub reorder: bool,
    /// How long one delivery may take before it counts as failed, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn yes() -> bool {
    true
}

fn default_timeout_ms() -> u64 {
    5_000
}

impl WebhookConfig {
    /// A configuration with duplicates and reordering on and a 5 s timeout.
    pub fn new(callback_url: impl Into<String>, verify_token: impl Into<String>) -> WebhookConfig {
        WebhookConfig {
            callback_url: callback_url.into(),
            verify_token: verify_token.into(),
            app_secret: None,
            duplicates: true,
            reorder: true,
            timeout_ms: default_timeout_ms(),
        }
    }
}

/// Why the sender could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The callback URL is not usable.
    #[error("{0}")]
    Callback(String),
    /// The verification handshake failed.
    #[error("verification of the callback failed: {0}")]
    Verification(String),
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// Order of the attempt among all attempts.
    pub seq: u64,
    /// The event's stable key: `{field}:{id}` (e.g. `story_insights:1790…`).
    pub event: String,
    /// The account (`entry.id`).
    pub ig_user_id: String,
    /// `story_insights`, `comments` or `mentions`.
    pub field: String,
    /// When the event happened (simulated).
    pub event_time: DateTime<Utc>,
    /// When this attempt was made (simulated).
    pub sent_at: DateTime<Utc>,
    /// 1 for the first attempt, then 2, 3, … for retries.
    pub attempt: u32,
    /// A second copy of an event already sent (Meta may deliver twice).
    pub duplicate: bool,
    /// The raw body, exactly as sent and signed.
    pub body: String,
    /// The `X-Hub-Signature-256` header.
    pub signature: String,
    /// The callback's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why the attempt failed without an answer.
    pub error: Option<String>,
}

impl WebhookDelivery {
    /// Whether the callback accepted the attempt (2xx).
    pub fn accepted(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Where one event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookState {
    /// Not yet accepted; more attempts will come.
    Pending,
    /// Accepted by the callback.
    Delivered,
    /// Every attempt over 36 hours failed: Meta drops it.
    Dropped,
}

/// One event the sender owes the callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// `{field}:{id}`.
    pub key: String,
    /// The account.
    pub ig_user_id: String,
    /// The field.
    pub field: String,
    /// When it happened (simulated).
    pub time: DateTime<Utc>,
    /// The `value` of the change.
    pub value: serde_json::Value,
    /// Delivery state.
    pub state: WebhookState,
    /// Attempts so far.
    pub attempts: u32,
}

/// Retry offsets after the first attempt (simulated seconds): one at once, then with
/// decreasing frequency up to 36 hours; after the last the event is dropped.
const RETRY_AFTER: [i64; 9] = [0, 60, 300, 1800, 7200, 21_600, 43_200, 86_400, 129_600];

/// Share of events delivered twice, and of events delivered late.
const DUPLICATE_SHARE: f64 = 0.1;
const LATE_SHARE: f64 = 0.1;

#[derive(Debug, Clone)]
struct Pending {
    event: usize,
    /// When the attempt is due (simulated).
    due: i64,
    /// When the first attempt was actually made: retries are timed from it.
    first: Option<i64>,
    attempt: u32,
    duplicate: bool,
}

#[derive(Debug)]
struct Sender {
    cfg: WebhookConfig,
    callback: Callback,
    secret: String,
    /// Events up to this simulated time have been scheduled.
    cursor: i64,
    events: Vec<(Event, String, WebhookState, u32)>,
    queue: Vec<Pending>,
}

/// The webhook sender's shared state.
#[derive(Debug, Default)]
pub(crate) struct Hub {
    wake: Notify,
    sender: tokio::sync::Mutex<Option<Sender>>,
    log: Mutex<Vec<WebhookDelivery>>,
    task: Mutex<Option<JoinHandle<()>>>,
    seq: Mutex<u64>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Hub {
    /// Wakes the sender (the clock moved).
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Every attempt so far.
    pub(crate) fn deliveries(&self) -> Vec<WebhookDelivery> {
        lock(&self.log).clone()
    }

    /// The configuration, if the sender runs.
    pub(crate) async fn config(&self) -> Option<WebhookConfig> {
        self.sender.lock().await.as_ref().map(|s| s.cfg.clone())
    }

    /// Every event scheduled so far, with its state.
    pub(crate) async fn events(&self, st: &SimState) -> Vec<WebhookEvent> {
        let guard = self.sender.lock().await;
        let Some(s) = guard.as_ref() else {
            return Vec::new();
        };
        s.events
            .iter()
            .map(|(e, _, state, attempts)| WebhookEvent {
                key: e.key.clone(),
                ig_user_id: st.world.accounts[e.acct].ig_user_id.clone(),
                field: e.field.to_owned(),
                time: to_utc(e.time),
                value: e.value.clone(),
                state: *state,
                attempts: *attempts,
            })
            .collect()
    }

    /// Stops the sender (the log is kept).
    pub(crate) async fn stop(&self) {
        if let Some(t) = lock(&self.task).take() {
            t.abort();
        }
        *self.sender.lock().await = None;
    }

    /// Aborts the background task without waiting (drop of the server).
    pub(crate) fn abort(&self) {
        if let Some(t) = lock(&self.task).take() {
            t.abort();
        }
    }

    fn next_seq(&self) -> u64 {
        let mut s = lock(&self.seq);
        *s += 1;
        *s
    }
}

/// Verifies the callback and starts delivering (replacing a running sender).
pub(crate) async fn start(st: &Arc<SimState>, cfg: WebhookConfig) -> Result<(), WebhookError> {
    let callback = Callback::parse(&cfg.callback_url).map_err(WebhookError::Callback)?;
    let timeout = Duration::from_millis(cfg.timeout_ms.clamp(1, 120_000));
    let challenge = (1_000_000_000
        + h(&[st.config.seed, hs("hub-challenge"), st.now() as u64]) % 1_000_000_000)
        .to_string();
    let query = format!(
        "hub.mode=subscribe&hub.challenge={challenge}&hub.verify_token={}",
        crate::api::params::encode(&cfg.verify_token)
    );
    let answer = http::send(
        &callback,
        "GET",
        &callback.with_query(&query),
        &[],
        Vec::new(),
        timeout,
    )
    .await
    .map_err(WebhookError::Verification)?;
    if answer.status != 200 {
        return Err(WebhookError::Verification(format!(
            "the callback answered HTTP {} (expected 200 with the challenge)",
            answer.status
        )));
    }
    if answer.body.trim() != challenge {
        return Err(WebhookError::Verification(format!(
            "the callback answered {:?} instead of the challenge {challenge}",
            truncate(&answer.body, 80)
        )));
    }
    st.hub.stop().await;
    let secret = cfg
        .app_secret
        .clone()
        .unwrap_or_else(|| st.app_secret.clone());
    *st.hub.sender.lock().await = Some(Sender {
        cfg,
        callback,
        secret,
        cursor: st.now(),
        events: Vec::new(),
        queue: Vec::new(),
    });
    let st2 = st.clone();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                () = st2.hub.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
            deliver_due(&st2).await;
        }
    });
    *lock(&st.hub.task) = Some(task);
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Schedules the events the clock has passed and makes every attempt that is due.
pub(crate) async fn deliver_due(st: &SimState) {
    let mut guard = st.hub.sender.lock().await;
    let Some(s) = guard.as_mut() else {
        return;
    };
    let now = st.now();
    schedule(st, s, now);
    while let Some(pos) = s
        .queue
        .iter()
        .enumerate()
        .filter(|(_, p)| p.due <= now)
        .min_by_key(|(_, p)| (p.due, p.event, p.duplicate))
        .map(|(i, _)| i)
    {
        let p = s.queue.remove(pos);
        attempt(st, s, p, now).await;
    }
}

fn schedule(st: &SimState, s: &mut Sender, now: i64) {
    if now <= s.cursor {
        return;
    }
    let subs: BTreeMap<usize, crate::state::Subscription> = st.read().subscriptions.clone();
    let mut fresh: Vec<Event> = Vec::new();
    for (acct, sub) in &subs {
        let from = s.cursor.max(sub.since);
        fresh.extend(events::events_between(st, *acct, &sub.fields, from, now));
    }
    fresh.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.key.cmp(&b.key)));
    s.cursor = now;
    let seed = st.config.seed;
    for e in fresh {
        let k = h(&[seed, hs(&e.key)]);
        // A late event is held 10 minutes to 3 hours, so newer ones overtake it.
        let late = if s.cfg.reorder && unit(h(&[k, hs("late")])) < LATE_SHARE {
            600 + (h(&[k, hs("late-by")]) % 10_200) as i64
        } else {
            0
        };
        let body = envelope(st, &e);
        let idx = s.events.len();
        let due = e.time + late;
        s.queue.push(Pending {
            event: idx,
            due,
            first: None,
            attempt: 1,
            duplicate: false,
        });
        if s.cfg.duplicates && unit(h(&[k, hs("twice")])) < DUPLICATE_SHARE {
            let again = due + (h(&[k, hs("twice-after")]) % 600) as i64;
            s.queue.push(Pending {
                event: idx,
                due: again,
                first: None,
                attempt: 1,
                duplicate: true,
            });
        }
        s.events.push((e, body, WebhookState::Pending, 0));
    }
}

/// Meta's envelope of one event, as escaped-unicode JSON.
fn envelope(st: &SimState, e: &Event) -> String {
    http::meta_json(&json!({
        "object": "instagram",
        "entry": [{
            "id": st.world.accounts[e.acct].ig_user_id,
            "time": e.time,
            "changes": [{ "field": e.field, "value": e.value }],
        }],
    }))
}

async fn attempt(st: &SimState, s: &mut Sender, p: Pending, now: i64) {
    let (event, body) = {
        let (e, b, _, _) = &s.events[p.event];
        (e.clone(), b.clone())
    };
    let signature = http::signature(&s.secret, body.as_bytes());
    let headers = [
        ("content-type", "application/json".to_owned()),
        ("x-hub-signature-256", signature.clone()),
    ];
    let timeout = Duration::from_millis(s.cfg.timeout_ms.clamp(1, 120_000));
    let res = http::send(
        &s.callback,
        "POST",
        &s.callback.path_and_query,
        &headers,
        body.clone().into_bytes(),
        timeout,
    )
    .await;
    let (status, error) = match res {
        Ok(a) => (Some(a.status), None),
        Err(e) => (None, Some(e)),
    };
    let d = WebhookDelivery {
        seq: st.hub.next_seq(),
        event: event.key.clone(),
        ig_user_id: st.world.accounts[event.acct].ig_user_id.clone(),
        field: event.field.to_owned(),
        event_time: to_utc(event.time),
        sent_at: to_utc(now),
        attempt: p.attempt,
        duplicate: p.duplicate,
        body,
        signature,
        status,
        error,
    };
    let ok = d.accepted();
    lock(&st.hub.log).push(d);
    let entry = &mut s.events[p.event];
    entry.3 += 1;
    if ok {
        entry.2 = WebhookState::Delivered;
        return;
    }
    let first = p.first.unwrap_or(now);
    match RETRY_AFTER.get(p.attempt as usize - 1) {
        Some(after) => {
            s.queue.push(Pending {
                // The immediate retry keeps its place at the head of the line.
                due: if *after == 0 { p.due } else { first + after },
                first: Some(first),
                attempt: p.attempt + 1,
                ..p
            });
        }
        None => {
            if entry.2 != WebhookState::Delivered {
                entry.2 = WebhookState::Dropped;
            }
        }
    }
}
