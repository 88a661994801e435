//! The in-memory cache of recent verifications: keys and sessions by a SHA-256 of the
//! presented credential (never the credential itself), and when each key's last use was
//! last written.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::{CACHE_CAPACITY, PROVEN_FOR, SessionInfo, TOUCH_EVERY, digest};

/// Recently verified keys and sessions, by SHA-256 of the presented credential, plus when
/// each key's `last_used_at` was last written.
pub(crate) struct AuthCache {
    ttl: Duration,
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    keys: HashMap<[u8; 32], (String, Instant)>,
    sessions: HashMap<[u8; 32], (SessionInfo, Instant)>,
    touched: HashMap<String, Instant>,
}

impl AuthCache {
    pub(crate) fn new(ttl: Duration) -> AuthCache {
        AuthCache {
            ttl,
            inner: Mutex::new(CacheInner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key id of a presented key (by digest) verified within the cache's TTL.
    pub(super) fn cached_key(&self, presented: &[u8; 32]) -> Option<String> {
        let inner = self.lock();
        let (id, at) = inner.keys.get(presented)?;
        (at.elapsed() < self.ttl).then(|| id.clone())
    }

    /// Whether this exact key verified within [`PROVEN_FOR`] (it may have been revoked
    /// since: this only exempts it from the throttle, it is still checked).
    pub(super) fn recently_verified(&self, presented: &[u8; 32]) -> bool {
        self.lock()
            .keys
            .get(presented)
            .is_some_and(|(_, at)| at.elapsed() < PROVEN_FOR)
    }

    pub(super) fn remember_key(&self, presented: [u8; 32], key_id: &str) {
        let mut inner = self.lock();
        if inner.keys.len() >= CACHE_CAPACITY {
            inner.keys.retain(|_, (_, at)| at.elapsed() < PROVEN_FOR);
            if inner.keys.len() >= CACHE_CAPACITY {
                inner.keys.clear();
            }
        }
        inner
            .keys
            .insert(presented, (key_id.to_owned(), Instant::now()));
    }

    pub(super) fn cached_session(&self, cookie: &str) -> Option<SessionInfo> {
        let d = digest(cookie);
        let inner = self.lock();
        let (session, at) = inner.sessions.get(&d)?;
        (at.elapsed() < self.ttl).then(|| session.clone())
    }

    pub(super) fn remember_session(&self, cookie: &str, session: &SessionInfo) {
        let ttl = self.ttl;
        let mut inner = self.lock();
        if inner.sessions.len() >= CACHE_CAPACITY {
            inner.sessions.retain(|_, (_, at)| at.elapsed() < ttl);
            if inner.sessions.len() >= CACHE_CAPACITY {
                inner.sessions.clear();
            }
        }
        inner
            .sessions
            .insert(digest(cookie), (session.clone(), Instant::now()));
    }

    pub(super) fn forget_session(&self, cookie: &str) {
        self.lock().sessions.remove(&digest(cookie));
    }

    pub(super) fn forget_key(&self, key_id: &str) {
        let mut inner = self.lock();
        inner.keys.retain(|_, (id, _)| id != key_id);
        inner.sessions.retain(|_, (s, _)| s.key_id != key_id);
    }

    /// True (and records now) when the key's `last_used_at` should be written; `now` is
    /// the engine's clock.
    pub(super) fn touch_due(
        &self,
        key_id: &str,
        last_used_at: Option<chrono::DateTime<Utc>>,
        now_utc: chrono::DateTime<Utc>,
    ) -> bool {
        let mut inner = self.lock();
        let now = Instant::now();
        match inner.touched.get(key_id) {
            Some(at) if now.duration_since(*at) < TOUCH_EVERY => false,
            Some(_) => {
                inner.touched.insert(key_id.to_owned(), now);
                true
            }
            None => {
                // First sight in this process: the stored value decides.
                let recent = last_used_at
                    .is_some_and(|t| (now_utc - t).to_std().is_ok_and(|age| age < TOUCH_EVERY));
                inner.touched.insert(key_id.to_owned(), now);
                !recent
            }
        }
    }
}
