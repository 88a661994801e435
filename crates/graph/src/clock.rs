//! The client's notion of time: the system clock, or one that a simulation can move forward
//! so rate-limit pauses and token expiry follow a simulated Graph API's time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// A clock. Clones share the same time.
#[derive(Clone, Debug)]
pub struct Clock {
    /// Nanoseconds added to the system time; `None` for the plain system clock.
    offset: Option<Arc<AtomicU64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { offset: None }
    }

    /// A clock that runs with the system clock and can also be moved forward with
    /// [`advance`](Self::advance) (simulations, tests).
    pub fn manual() -> Self {
        Self {
            offset: Some(Arc::new(AtomicU64::new(0))),
        }
    }

    /// Moves a manual clock forward; the system clock ignores it and returns `false`.
    pub fn advance(&self, by: Duration) -> bool {
        match &self.offset {
            Some(offset) => {
                let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
                let _ = offset.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
                    Some(v.saturating_add(nanos))
                });
                true
            }
            None => false,
        }
    }

    fn offset(&self) -> Duration {
        self.offset.as_ref().map_or(Duration::ZERO, |o| {
            Duration::from_nanos(o.load(Ordering::SeqCst))
        })
    }

    /// Monotonic now.
    pub fn now(&self) -> Instant {
        Instant::now() + self.offset()
    }

    /// Wall-clock now.
    pub fn now_utc(&self) -> DateTime<Utc> {
        let offset = chrono::Duration::from_std(self.offset()).unwrap_or(chrono::Duration::MAX);
        Utc::now()
            .checked_add_signed(offset)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_and_clones_share_it() {
        let clock = Clock::manual();
        let other = clock.clone();
        let before = other.now();
        assert!(clock.advance(Duration::from_secs(3600)));
        assert!(other.now() >= before + Duration::from_secs(3600));
        assert!(!Clock::system().advance(Duration::from_secs(1)));
    }
}
