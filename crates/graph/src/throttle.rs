//! The adaptive throttle: reads `X-App-Usage` and `X-Business-Use-Case-Usage` from every
//! response, spaces calls out as a budget fills up, pauses an account (or the whole app) after
//! a rate limit until Meta's time to regain access, and exports the current usage.
//!
//! State is shared by every clone of a client, so concurrent tasks see the same budgets.
//!
//! Concurrent calls reach Meta, and their answers come back, in any order, so the last
//! answer read is not always the latest level. A budget's level is replaced by an answer to a
//! call sent after that level was read (Meta counted it later), and otherwise only by a
//! higher level: within a burst of concurrent calls usage only grows, so a slow answer with
//! a lower figure never hides the budget filling up.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::config::ThrottleConfig;
use crate::error::{GraphError, RateLimitScope};
use ::clock::Clock;

/// Usage of one budget as Meta reported it (percentages, 0–100+).
#[derive(Clone, Debug, PartialEq)]
pub struct UsageLevel {
    /// `call_count` percentage.
    pub call_count: u32,
    /// `total_time` percentage.
    pub total_time: u32,
    /// `total_cputime` percentage.
    pub total_cputime: u32,
    /// `estimated_time_to_regain_access` (BUC only; zero otherwise).
    pub regain_access_in: Duration,
    /// When the header was read.
    pub observed_at: DateTime<Utc>,
}

impl UsageLevel {
    /// The highest of the three percentages.
    pub fn percent(&self) -> u32 {
        self.call_count.max(self.total_time).max(self.total_cputime)
    }
}

/// Usage and pause of one account.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccountUsage {
    /// The account's BUC usage, the latest Meta reported (see the module's note on order).
    pub usage: Option<UsageLevel>,
    /// Remaining pause, when calls for this account currently fail fast.
    pub paused_for: Option<Duration>,
}

/// A snapshot of every budget the client knows, for monitoring.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UsageSnapshot {
    /// `X-App-Usage`, the latest Meta reported.
    pub app: Option<UsageLevel>,
    /// Remaining app-wide pause.
    pub app_paused_for: Option<Duration>,
    /// Per IG user id (or business object id from the BUC header).
    pub accounts: BTreeMap<String, AccountUsage>,
}

#[derive(Default)]
struct AccountState {
    usage: Option<UsageLevel>,
    /// Calls sent before `usage` was read (see [`newer`]).
    usage_mark: u64,
    paused_until: Option<Instant>,
}

impl AccountState {
    fn usage_at(&self, now: Instant) -> AccountUsage {
        AccountUsage {
            usage: self.usage.clone(),
            paused_for: remaining(self.paused_until, now),
        }
    }
}

/// The time left until `until`, when it is still ahead of `now`.
fn remaining(until: Option<Instant>, now: Instant) -> Option<Duration> {
    until.filter(|u| *u > now).map(|u| u - now)
}

#[derive(Default)]
struct State {
    app: Option<UsageLevel>,
    /// Calls sent before `app` was read.
    app_mark: u64,
    app_paused_until: Option<Instant>,
    accounts: HashMap<String, AccountState>,
}

impl State {
    /// The app-wide part of a snapshot (no account).
    fn app_usage_at(&self, now: Instant) -> UsageSnapshot {
        UsageSnapshot {
            app: self.app.clone(),
            app_paused_for: remaining(self.app_paused_until, now),
            accounts: BTreeMap::new(),
        }
    }
}

/// The order in which a call was sent among every call of the client (from 1), taken just
/// before the request leaves and handed back with its answer's headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Sent(u64);

pub(crate) struct Throttle {
    cfg: ThrottleConfig,
    clock: Clock,
    state: Mutex<State>,
    sent: AtomicU64,
}

impl Throttle {
    pub(crate) fn new(cfg: ThrottleConfig, clock: Clock) -> Self {
        Self {
            cfg,
            clock,
            state: Mutex::new(State::default()),
            sent: AtomicU64::new(0),
        }
    }

    /// A ticket for a call about to be sent.
    pub(crate) fn sending(&self) -> Sent {
        Sent(self.sent.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Before a call: fails fast while the app or the account is paused, else returns how
    /// long to wait so the call does not exhaust a budget that is filling up.
    pub(crate) fn gate(&self, account: Option<&str>) -> Result<Duration, GraphError> {
        let now = self.clock.instant();
        let state = self.lock();
        if let Some(until) = state.app_paused_until
            && until > now
        {
            return Err(GraphError::RateLimited {
                scope: RateLimitScope::App,
                account: None,
                retry_after: until - now,
                code: None,
            });
        }
        let mut delay = self.delay_for(state.app.as_ref());
        if let Some(id) = account
            && let Some(acc) = state.accounts.get(id)
        {
            if let Some(until) = acc.paused_until
                && until > now
            {
                return Err(GraphError::RateLimited {
                    scope: RateLimitScope::Account,
                    account: Some(id.to_owned()),
                    retry_after: until - now,
                    code: None,
                });
            }
            delay = delay.max(self.delay_for(acc.usage.as_ref()));
        }
        Ok(delay)
    }

    fn delay_for(&self, usage: Option<&UsageLevel>) -> Duration {
        let Some(usage) = usage else {
            return Duration::ZERO;
        };
        let from = u32::from(self.cfg.slow_down_at_percent);
        let pct = usage.percent();
        if pct < from {
            return Duration::ZERO;
        }
        if pct >= 100 {
            return self.cfg.max_delay;
        }
        let fraction = f64::from(pct - from) / f64::from(100 - from);
        self.cfg.max_delay.mul_f64(fraction.clamp(0.0, 1.0))
    }

    /// After a response to the call sent as `sent`: records the usage headers, unless a call
    /// sent later already reported that budget's level (a pause they give applies either
    /// way). Returns the time to regain access that applies to `account` (or to the app),
    /// when the headers give one.
    pub(crate) fn observe(
        &self,
        account: Option<&str>,
        sent: Sent,
        headers: &HeaderMap,
    ) -> Option<Duration> {
        let observed_at = self.clock.now();
        let now = self.clock.instant();
        let app = headers
            .get("x-app-usage")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_app_usage(v, observed_at));
        let buc = headers
            .get("x-business-use-case-usage")
            .and_then(|v| v.to_str().ok())
            .map(|v| parse_buc_usage(v, observed_at))
            .unwrap_or_default();
        if app.is_none() && buc.is_empty() {
            return None;
        }
        let mut state = self.lock();
        let mut regain = None;
        let mark = self.sent.load(Ordering::Relaxed);
        if let Some(app) = app
            && newer(&app, sent, state.app.as_ref(), state.app_mark)
        {
            state.app = Some(app);
            state.app_mark = mark;
        }
        let single = buc.len() == 1;
        for (id, level) in buc {
            let target = match account {
                Some(acc) if id == acc || single => acc.to_owned(),
                _ => id,
            };
            let is_caller = account == Some(target.as_str());
            let entry = state.accounts.entry(target).or_default();
            if level.percent() >= 100 && !level.regain_access_in.is_zero() {
                let until = now + level.regain_access_in;
                entry.paused_until = Some(entry.paused_until.map_or(until, |u| u.max(until)));
            }
            if is_caller && !level.regain_access_in.is_zero() {
                regain = Some(level.regain_access_in);
            }
            if newer(&level, sent, entry.usage.as_ref(), entry.usage_mark) {
                entry.usage = Some(level);
                entry.usage_mark = mark;
            }
        }
        regain
    }

    /// After a rate-limit error: pauses the scope and returns the error callers see.
    pub(crate) fn rate_limited(
        &self,
        scope: RateLimitScope,
        account: Option<&str>,
        regain: Option<Duration>,
        code: Option<i64>,
    ) -> GraphError {
        let retry_after = regain
            .filter(|d| !d.is_zero())
            .unwrap_or(self.cfg.default_pause);
        let until = self.clock.instant() + retry_after;
        let mut state = self.lock();
        match (scope, account) {
            (RateLimitScope::Account, Some(id)) => {
                let entry = state.accounts.entry(id.to_owned()).or_default();
                entry.paused_until = Some(entry.paused_until.map_or(until, |u| u.max(until)));
            }
            _ => {
                state.app_paused_until =
                    Some(state.app_paused_until.map_or(until, |u| u.max(until)));
            }
        }
        tracing::warn!(%scope, account, retry_after_s = retry_after.as_secs(), code, "Graph API rate limit: pausing");
        GraphError::RateLimited {
            scope,
            account: account.map(str::to_owned),
            retry_after,
            code,
        }
    }

    pub(crate) fn snapshot(&self) -> UsageSnapshot {
        let now = self.clock.instant();
        let state = self.lock();
        UsageSnapshot {
            accounts: state
                .accounts
                .iter()
                .map(|(id, s)| (id.clone(), s.usage_at(now)))
                .collect(),
            ..state.app_usage_at(now)
        }
    }

    /// The app's budget and the one account's: a copy of one entry, however many accounts
    /// the client serves.
    pub(crate) fn snapshot_of(&self, account: &str) -> UsageSnapshot {
        let now = self.clock.instant();
        let state = self.lock();
        UsageSnapshot {
            accounts: state
                .accounts
                .get_key_value(account)
                .map(|(id, s)| (id.clone(), s.usage_at(now)))
                .into_iter()
                .collect(),
            ..state.app_usage_at(now)
        }
    }
}

/// Whether `level`, read from the answer to the call sent as `sent`, replaces `stored`, read
/// when `mark` calls had been sent: yes when the call left after `stored` was read (Meta
/// counted it later), else (the two calls were in flight together) when it is no lower.
fn newer(level: &UsageLevel, sent: Sent, stored: Option<&UsageLevel>, mark: u64) -> bool {
    match stored {
        None => true,
        Some(stored) => sent.0 > mark || level.percent() >= stored.percent(),
    }
}

fn pct(v: Option<&Value>) -> u32 {
    match v {
        Some(Value::Number(n)) => n
            .as_u64()
            .map(|x| u32::try_from(x).unwrap_or(u32::MAX))
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f.min(1e9) as u32)
            })
            .unwrap_or(0),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map_or(0, |f| f.min(1e9) as u32),
        _ => 0,
    }
}

/// Parses `X-App-Usage` (`{"call_count":28,"total_time":25,"total_cputime":25}`).
pub(crate) fn parse_app_usage(raw: &str, observed_at: DateTime<Utc>) -> Option<UsageLevel> {
    let v: Value = serde_json::from_str(raw).ok()?;
    let o = v.as_object()?;
    Some(UsageLevel {
        call_count: pct(o.get("call_count")),
        total_time: pct(o.get("total_time")),
        total_cputime: pct(o.get("total_cputime")),
        regain_access_in: Duration::ZERO,
        observed_at,
    })
}

/// Parses `X-Business-Use-Case-Usage`: business object id → its highest usage across types
/// (`estimated_time_to_regain_access` is in minutes).
pub(crate) fn parse_buc_usage(raw: &str, observed_at: DateTime<Utc>) -> Vec<(String, UsageLevel)> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(raw) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (id, entries) in map.into_iter().take(64) {
        let list: Vec<Value> = match entries {
            Value::Array(a) => a,
            o @ Value::Object(_) => vec![o],
            _ => continue,
        };
        let mut best: Option<UsageLevel> = None;
        for e in &list {
            let Some(o) = e.as_object() else { continue };
            let minutes = u64::from(pct(o.get("estimated_time_to_regain_access")));
            let level = UsageLevel {
                call_count: pct(o.get("call_count")),
                total_time: pct(o.get("total_time")),
                total_cputime: pct(o.get("total_cputime")),
                // Meta's window is a rolling 24 h: a longer wait is a bad header.
                regain_access_in: Duration::from_secs(minutes.min(24 * 60) * 60),
                observed_at,
            };
            best = Some(match best {
                Some(b)
                    if (b.percent(), b.regain_access_in)
                        >= (level.percent(), level.regain_access_in) =>
                {
                    b
                }
                _ => level,
            });
        }
        if let Some(level) = best {
            out.push((id, level));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn parses_usage_headers() {
        let now = Utc::now();
        let app = parse_app_usage(
            r#"{"call_count":28,"total_time":25,"total_cputime":"30"}"#,
            now,
        )
        .unwrap();
        assert_eq!(app.percent(), 30);
        let buc = parse_buc_usage(
            r#"{"178":[{"type":"instagram","call_count":95,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":3}]}"#,
            now,
        );
        assert_eq!(buc.len(), 1);
        assert_eq!(buc[0].0, "178");
        assert_eq!(buc[0].1.call_count, 95);
        assert_eq!(buc[0].1.regain_access_in, Duration::from_secs(180));
        assert!(parse_buc_usage("not json", now).is_empty());
        assert!(parse_app_usage("[]", now).is_none());
    }

    #[test]
    fn slows_down_then_pauses() {
        let clock = Clock::offset();
        let t = Throttle::new(ThrottleConfig::STANDARD, clock.clone());
        assert_eq!(t.gate(Some("a")).unwrap(), Duration::ZERO);
        let mut h = HeaderMap::new();
        h.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(r#"{"a":[{"type":"instagram","call_count":90,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":0}]}"#),
        );
        t.observe(Some("a"), t.sending(), &h);
        let d = t.gate(Some("a")).unwrap();
        assert!(d > Duration::ZERO && d < ThrottleConfig::STANDARD.max_delay);
        assert_eq!(t.gate(Some("b")).unwrap(), Duration::ZERO);
        let err = t.rate_limited(
            RateLimitScope::Account,
            Some("a"),
            Some(Duration::from_secs(120)),
            Some(80002),
        );
        assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
        assert!(t.gate(Some("a")).is_err());
        assert!(t.gate(Some("b")).is_ok());
        assert!(t.snapshot().accounts["a"].paused_for.is_some());
        clock.advance(chrono::Duration::seconds(121));
        assert!(t.gate(Some("a")).is_ok());
    }

    fn buc(pct: u32) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = format!(
            r#"{{"a":[{{"type":"instagram","call_count":{pct},"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":0}}]}}"#
        );
        h.insert(
            "x-business-use-case-usage",
            HeaderValue::from_str(&v).unwrap(),
        );
        h.insert(
            "x-app-usage",
            HeaderValue::from_str(&format!(r#"{{"call_count":{pct}}}"#)).unwrap(),
        );
        h
    }

    #[test]
    fn an_answer_from_the_same_burst_does_not_lower_the_level() {
        let t = Throttle::new(ThrottleConfig::STANDARD, Clock::offset());
        let level = |t: &Throttle| {
            let s = t.snapshot_of("a");
            (
                s.accounts["a"].usage.as_ref().unwrap().percent(),
                s.app.unwrap().percent(),
            )
        };
        // Three calls in flight together; Meta counts them in another order than they
        // left, and their answers arrive in yet another.
        let (first, second, third) = (t.sending(), t.sending(), t.sending());
        t.observe(Some("a"), second, &buc(60));
        t.observe(Some("a"), first, &buc(100));
        t.observe(Some("a"), third, &buc(73));
        assert_eq!(level(&t), (100, 100));
        // A call sent after those answers were read reports the level again, even lower
        // (the rolling window let usage go).
        t.observe(Some("a"), t.sending(), &buc(40));
        assert_eq!(level(&t), (40, 40));
    }
}
