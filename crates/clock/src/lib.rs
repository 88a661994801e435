//! The engine's notion of "now": the system clock, or a manual clock that tests and
//! simulations move with [`Clock::advance`] / [`Clock::set`]. Every scheduling decision
//! (run_at, leases, backoff, cron ticks, limiter windows, tiered refresh) reads it, so a test
//! can jump hours ahead without sleeping.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, DurationRound, Utc};

/// A clock. Clones share the same time.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock { manual: None }
    }

    /// A clock frozen at `start` that moves only when told to.
    pub fn manual(start: DateTime<Utc>) -> Clock {
        Clock {
            manual: Some(Arc::new(Mutex::new(truncate(start)))),
        }
    }

    /// Whether this is a manual clock.
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }

    /// Now, truncated to microseconds (the precision the store keeps).
    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            Some(t) => *t.lock().unwrap_or_else(|e| e.into_inner()),
            None => truncate(Utc::now()),
        }
    }

    /// Moves a manual clock forward (or back, with a negative duration). Returns false (and
    /// does nothing) on the system clock.
    pub fn advance(&self, by: Duration) -> bool {
        match &self.manual {
            Some(t) => {
                let mut t = t.lock().unwrap_or_else(|e| e.into_inner());
                *t = truncate(t.checked_add_signed(by).unwrap_or(*t));
                true
            }
            None => false,
        }
    }

    /// Sets a manual clock. Returns false (and does nothing) on the system clock.
    pub fn set(&self, to: DateTime<Utc>) -> bool {
        match &self.manual {
            Some(t) => {
                *t.lock().unwrap_or_else(|e| e.into_inner()) = truncate(to);
                true
            }
            None => false,
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
        assert!(other.advance(Duration::hours(2)));
        assert_eq!(clock.now() - other.now(), Duration::zero());
        assert_eq!(clock.now() - truncate(start), Duration::hours(2));
        let system = Clock::system();
        assert!(!system.advance(Duration::hours(1)));
        assert!((system.now() - Utc::now()).num_seconds().abs() < 5);
    }
}
