//! The engine's one notion of "now", shared by the queue, the sync engine and the Graph API
//! client: the system clock; a manual clock that tests and simulations move with
//! [`Clock::advance`] / [`Clock::set`] (every scheduling decision — run_at, leases, backoff,
//! cron ticks, limiter windows, tiered refresh — reads it, so a test can jump hours ahead
//! without sleeping); or an offset clock that runs with the system clock and can also be
//! moved forward (so the client's rate-limit pauses and token expiry follow a simulated
//! Graph API's time).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Duration, DurationRound, Utc};

/// A clock. Clones share the same time.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    kind: Kind,
}

#[derive(Clone, Debug, Default)]
enum Kind {
    #[default]
    System,
    /// Frozen at a time that moves only when told to; `anchor` pairs a monotonic instant
    /// with the time it started at, for [`Clock::instant`].
    Manual {
        at: Arc<Mutex<DateTime<Utc>>>,
        anchor: (Instant, DateTime<Utc>),
    },
    /// The system time plus this many nanoseconds.
    Offset(Arc<AtomicI64>),
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock { kind: Kind::System }
    }

    /// A clock frozen at `start` that moves only when told to.
    pub fn manual(start: DateTime<Utc>) -> Clock {
        let start = truncate(start);
        Clock {
            kind: Kind::Manual {
                at: Arc::new(Mutex::new(start)),
                anchor: (Instant::now(), start),
            },
        }
    }

    /// A clock that runs with the system clock and can also be moved forward with
    /// [`advance`](Self::advance) (simulations of the Graph API's time).
    pub fn offset() -> Clock {
        Clock {
            kind: Kind::Offset(Arc::new(AtomicI64::new(0))),
        }
    }

    /// Whether this is a manual clock.
    pub fn is_manual(&self) -> bool {
        matches!(self.kind, Kind::Manual { .. })
    }

    /// Now, truncated to microseconds (the precision the store keeps).
    pub fn now(&self) -> DateTime<Utc> {
        match &self.kind {
            Kind::System => truncate(Utc::now()),
            Kind::Manual { at, .. } => *at.lock().unwrap_or_else(|e| e.into_inner()),
            Kind::Offset(nanos) => truncate(
                Utc::now()
                    .checked_add_signed(Duration::nanoseconds(nanos.load(Ordering::SeqCst)))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
            ),
        }
    }

    /// Monotonic now, moved by [`advance`](Self::advance) and [`set`](Self::set) like
    /// [`now`](Self::now) (for deadlines and pauses).
    pub fn instant(&self) -> Instant {
        let shift = |base: Instant, by: Duration| match by.to_std() {
            Ok(forward) => base.checked_add(forward).unwrap_or(base),
            Err(_) => (-by)
                .to_std()
                .ok()
                .and_then(|back| base.checked_sub(back))
                .unwrap_or(base),
        };
        match &self.kind {
            Kind::System => Instant::now(),
            Kind::Manual { at, anchor } => {
                let now = *at.lock().unwrap_or_else(|e| e.into_inner());
                shift(anchor.0, now - anchor.1)
            }
            Kind::Offset(nanos) => shift(
                Instant::now(),
                Duration::nanoseconds(nanos.load(Ordering::SeqCst)),
            ),
        }
    }

    /// Moves a manual or offset clock forward (or back, with a negative duration). Returns
    /// false (and does nothing) on the system clock.
    pub fn advance(&self, by: Duration) -> bool {
        match &self.kind {
            Kind::System => false,
            Kind::Manual { at, .. } => {
                let mut t = at.lock().unwrap_or_else(|e| e.into_inner());
                *t = truncate(t.checked_add_signed(by).unwrap_or(*t));
                true
            }
            Kind::Offset(nanos) => {
                let by = by.num_nanoseconds().unwrap_or(i64::MAX);
                let _ = nanos.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
                    Some(v.saturating_add(by))
                });
                true
            }
        }
    }

    /// Sets a manual clock. Returns false (and does nothing) on the other clocks.
    pub fn set(&self, to: DateTime<Utc>) -> bool {
        match &self.kind {
            Kind::Manual { at, .. } => {
                *at.lock().unwrap_or_else(|e| e.into_inner()) = truncate(to);
                true
            }
            _ => false,
        }
    }
}

fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::microseconds(1)).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_it() {
        let start = DateTime::parse_from_rfc3339("2026-03-01T00:00:00.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = Clock::manual(start);
        let other = clock.clone();
        assert_eq!(clock.now().timestamp_subsec_nanos(), 123_456_000);
        let before = clock.instant();
        assert!(other.advance(Duration::hours(2)));
        assert_eq!(clock.now() - other.now(), Duration::zero());
        assert_eq!(clock.now() - truncate(start), Duration::hours(2));
        assert_eq!(
            clock.instant() - before,
            std::time::Duration::from_secs(7200)
        );
        let system = Clock::system();
        assert!(!system.advance(Duration::hours(1)));
        assert!(!system.set(start));
        assert!((system.now() - Utc::now()).num_seconds().abs() < 5);
    }

    #[test]
    fn offset_clock_runs_with_the_system_and_moves_forward() {
        let clock = Clock::offset();
        let other = clock.clone();
        let before = other.instant();
        assert!(clock.advance(Duration::hours(1)));
        assert!(other.instant() >= before + std::time::Duration::from_secs(3600));
        let ahead = (other.now() - Utc::now()).num_seconds();
        assert!((3595..=3605).contains(&ahead), "{ahead}");
        assert!(!clock.set(Utc::now()));
        assert!(!clock.is_manual());
    }
}
