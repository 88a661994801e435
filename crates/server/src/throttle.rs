//! Throttling of failed credentials: well-formed API keys whose secret is wrong (or whose id
//! does not exist), presented to the API or to the dashboard's sign-in, counted per client
//! address and per key id.
//!
//! Each subject (a client address, IPv6 addresses by /64 network; a key id, known or not)
//! may fail `limit` times in a window of `window`; once it has, every further attempt of that
//! subject is answered 429 with `Retry-After` until the window ends, without looking the key
//! up or verifying anything. The window starts at a subject's first failure. Both tables are
//! bounded ([`MAX_SUBJECTS`] entries each): expired entries are dropped first, and when a
//! flood of distinct subjects still fills a table it is emptied (forgetting failures is the
//! safe side; the keys themselves are 256-bit random secrets).
//!
//! A credential that verified recently is exempt (see `crate::auth`), so a flood of wrong
//! secrets aimed at a key id or sent from a shared address does not lock out the key's holder.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most subjects remembered per table.
pub(crate) const MAX_SUBJECTS: usize = 65_536;

/// A client as far as throttling and connection limits go: its IPv4 address, or the /64
/// network of its IPv6 address (one host usually holds a whole /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    pub fn of(ip: IpAddr) -> ClientKey {
        match ip {
            IpAddr::V4(v4) => ClientKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey(IpAddr::V4(v4)),
                None => {
                    let network = u128::from(v6) & !((1u128 << 64) - 1);
                    ClientKey(IpAddr::V6(network.into()))
                }
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    failures: u32,
}

/// Failures per subject within the current window.
struct Table<K> {
    limit: u32,
    entries: HashMap<K, Window>,
}

impl<K: Eq + Hash + Clone> Table<K> {
    fn new(limit: u32) -> Table<K> {
        Table {
            limit,
            entries: HashMap::new(),
        }
    }

    /// How long `subject` stays refused, if it is.
    fn blocked<Q>(&self, subject: &Q, now: Instant, window: Duration) -> Option<Duration>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let w = self.entries.get(subject)?;
        let ends = w.start + window;
        (w.failures >= self.limit && ends > now).then(|| ends - now)
    }

    fn fail(&mut self, subject: &K, now: Instant, window: Duration) {
        if let Some(w) = self.entries.get_mut(subject) {
            if now.duration_since(w.start) >= window {
                *w = Window {
                    start: now,
                    failures: 1,
                };
            } else {
                w.failures = w.failures.saturating_add(1);
            }
            return;
        }
        if self.entries.len() >= MAX_SUBJECTS {
            self.entries
                .retain(|_, w| now.duration_since(w.start) < window);
            if self.entries.len() >= MAX_SUBJECTS {
                self.entries.clear();
            }
        }
        self.entries.insert(
            subject.clone(),
            Window {
                start: now,
                failures: 1,
            },
        );
    }
}

struct Inner {
    clients: Table<ClientKey>,
    keys: Table<String>,
}

/// The failure counts of this process (each server process counts its own).
pub(crate) struct Throttle {
    window: Duration,
    inner: Mutex<Inner>,
}

impl Throttle {
    pub(crate) fn new(per_client: u32, per_key: u32, window: Duration) -> Throttle {
        Throttle {
            window,
            inner: Mutex::new(Inner {
                clients: Table::new(per_client.max(1)),
                keys: Table::new(per_key.max(1)),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long the client or the key id is still refused (the longer of the two), or None
    /// when neither is.
    pub(crate) fn blocked(
        &self,
        client: Option<ClientKey>,
        key_id: Option<&str>,
    ) -> Option<Duration> {
        let now = Instant::now();
        let inner = self.lock();
        let by_client = client.and_then(|c| inner.clients.blocked(&c, now, self.window));
        let by_key = key_id.and_then(|k| inner.keys.blocked(k, now, self.window));
        by_client.max(by_key)
    }

    /// Counts one failed attempt against the client and the key id.
    pub(crate) fn fail(&self, client: Option<ClientKey>, key_id: Option<&str>) {
        let now = Instant::now();
        let mut inner = self.lock();
        if let Some(c) = client {
            inner.clients.fail(&c, now, self.window);
        }
        if let Some(k) = key_id {
            inner.keys.fail(&k.to_owned(), now, self.window);
        }
    }
}

/// `Retry-After` in whole seconds, rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> ClientKey {
        ClientKey::of(s.parse().unwrap())
    }

    #[test]
    fn a_subject_is_refused_after_its_limit_until_the_window_ends() {
        let t = Throttle::new(3, 5, Duration::from_secs(60));
        let a = Some(ip("192.0.2.1"));
        for _ in 0..3 {
            assert_eq!(t.blocked(a, Some("k")), None);
            t.fail(a, Some("k"));
        }
        let wait = t.blocked(a, None).expect("the client is refused");
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(55));
        assert_eq!(
            t.blocked(Some(ip("192.0.2.2")), None),
            None,
            "others are not"
        );
        assert_eq!(
            t.blocked(None, Some("k")),
            None,
            "the key has 2 failures left"
        );
        t.fail(Some(ip("192.0.2.2")), Some("k"));
        t.fail(Some(ip("192.0.2.3")), Some("k"));
        assert!(
            t.blocked(Some(ip("192.0.2.4")), Some("k")).is_some(),
            "the key is refused from anywhere"
        );
        assert_eq!(t.blocked(Some(ip("192.0.2.4")), Some("other")), None);

        let short = Throttle::new(1, 1, Duration::ZERO);
        short.fail(a, Some("k"));
        assert_eq!(
            short.blocked(a, Some("k")),
            None,
            "an ended window refuses nothing"
        );
    }

    #[test]
    fn ipv6_clients_count_per_64_network_and_mapped_ipv4_as_ipv4() {
        assert_eq!(ip("2001:db8:1:2:aaaa::1"), ip("2001:db8:1:2:bbbb::2"));
        assert_ne!(ip("2001:db8:1:2::1"), ip("2001:db8:1:3::1"));
        assert_eq!(ip("::ffff:192.0.2.7"), ip("192.0.2.7"));
    }

    #[test]
    fn the_tables_stay_bounded() {
        let t = Throttle::new(1, 1, Duration::from_secs(60));
        for n in 0..(MAX_SUBJECTS + 10) {
            t.fail(None, Some(&format!("{n:016x}")));
        }
        assert!(t.lock().keys.entries.len() <= MAX_SUBJECTS);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(60)), 60);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
