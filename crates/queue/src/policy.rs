//! Worker settings and the retry policy: how many attempts a job gets and how long it waits
//! between them (exponential backoff with jitter), validated once.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::QueueError;

/// The queue a [`WorkerConfig`] serves unless told otherwise.
pub const DEFAULT_QUEUE: &str = "default";

/// Attempts and backoff of failed jobs: attempt `n` (from 1) that fails is retried after
/// `base × factor^(n−1)`, capped at `max_delay`, randomised by ±`jitter`.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub factor: u32,
    /// Fraction of the delay added or removed at random (0.2 = ±20 %).
    pub jitter: f64,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base: Duration::from_secs(60),
            factor: 2,
            jitter: 0.2,
            max_delay: Duration::from_secs(6 * 3600),
        }
    }
}

impl RetryPolicy {
    pub fn validate(&self) -> Result<(), QueueError> {
        if self.max_attempts == 0 || self.max_attempts > 100 {
            return Err(QueueError::config("max_attempts must be from 1 to 100"));
        }
        if self.factor == 0 {
            return Err(QueueError::config("the backoff factor must be at least 1"));
        }
        if !(0.0..1.0).contains(&self.jitter) {
            return Err(QueueError::config(
                "the backoff jitter must be a fraction from 0 to below 1",
            ));
        }
        if self.max_delay < self.base {
            return Err(QueueError::config(
                "the maximum backoff must not be shorter than the first one",
            ));
        }
        Ok(())
    }

    /// The delay after failed attempt `attempt` (from 1), without jitter.
    pub fn nominal_delay(&self, attempt: i32) -> Duration {
        let exp = attempt.saturating_sub(1).clamp(0, 62) as u32;
        let mult = (self.factor as u64).checked_pow(exp).unwrap_or(u64::MAX);
        let secs = self.base.as_secs_f64() * mult as f64;
        Duration::from_secs_f64(secs.min(self.max_delay.as_secs_f64()))
    }

    /// The delay after failed attempt `attempt`, with jitter from `unit` in `[0, 1)`.
    pub fn delay(&self, attempt: i32, unit: f64) -> Duration {
        let nominal = self.nominal_delay(attempt).as_secs_f64();
        let spread = (unit.clamp(0.0, 1.0) * 2.0 - 1.0) * self.jitter;
        Duration::from_secs_f64((nominal * (1.0 + spread)).max(0.0))
    }

    /// When to retry after failed attempt `attempt` at `now`.
    pub fn retry_at(&self, attempt: i32, now: DateTime<Utc>) -> DateTime<Utc> {
        let d = self.delay(attempt, random_unit());
        now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::hours(6))
    }
}

/// How a [`crate::Worker`] runs.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerConfig {
    /// Queues to claim from.
    pub queues: Vec<String>,
    /// Jobs run at a time.
    pub concurrency: u32,
    /// How long a claimed job stays ours without a heartbeat; heartbeats every third of it.
    pub lease: Duration,
    /// How often to look for due jobs when the last claim found fewer than free slots.
    pub poll_interval: Duration,
    /// A job running longer fails its attempt (and is retried).
    pub job_timeout: Duration,
    pub retry: RetryPolicy,
    /// How often to rescue expired leases and fire due schedules.
    pub maintenance_interval: Duration,
    /// On shutdown, how long running jobs may finish before they are released.
    pub shutdown_grace: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            queues: vec![DEFAULT_QUEUE.to_string()],
            concurrency: 2,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            job_timeout: Duration::from_secs(600),
            retry: RetryPolicy::default(),
            maintenance_interval: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

impl WorkerConfig {
    pub fn validate(&self) -> Result<(), QueueError> {
        if self.queues.is_empty() || self.queues.iter().any(|q| q.trim().is_empty()) {
            return Err(QueueError::config("a worker needs at least one queue name"));
        }
        if self.concurrency == 0 || self.concurrency > 1024 {
            return Err(QueueError::config("concurrency must be from 1 to 1024"));
        }
        if self.lease < Duration::from_millis(300) {
            return Err(QueueError::config("the lease must be at least 300 ms"));
        }
        if self.poll_interval.is_zero() {
            return Err(QueueError::config("the poll interval must be positive"));
        }
        if self.job_timeout.is_zero() {
            return Err(QueueError::config("the job timeout must be positive"));
        }
        if self.maintenance_interval.is_zero() {
            return Err(QueueError::config(
                "the maintenance interval must be positive",
            ));
        }
        self.retry.validate()
    }

    /// Every third of the lease.
    pub fn heartbeat_interval(&self) -> Duration {
        self.lease / 3
    }
}

/// A uniformly distributed number in `[0, 1)` (jitter, not cryptography).
pub(crate) fn random_unit() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A random 64-bit number from the operating system, or from the time if that fails.
pub(crate) fn random_u64() -> u64 {
    let mut buf = [0u8; 8];
    if getrandom::getrandom(&mut buf).is_ok() {
        return u64::from_le_bytes(buf);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // SplitMix64 finaliser so consecutive fallbacks differ widely.
    let mut z = nanos.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_backoff_is_60s_doubling_with_20_percent_jitter() {
        let p = RetryPolicy::default();
        p.validate().unwrap();
        assert_eq!(p.max_attempts, 3);
        assert_eq!(p.nominal_delay(1), Duration::from_secs(60));
        assert_eq!(p.nominal_delay(2), Duration::from_secs(120));
        assert_eq!(p.nominal_delay(3), Duration::from_secs(240));
        assert_eq!(p.delay(1, 0.0), Duration::from_secs(48));
        assert_eq!(p.delay(1, 0.5), Duration::from_secs(60));
        assert_eq!(
            p.delay(2, 0.999_999_999),
            Duration::from_secs_f64(144.0 - 120.0 * 0.2 * 2e-9)
        );
        assert_eq!(p.nominal_delay(40), Duration::from_secs(6 * 3600));
        for _ in 0..200 {
            let d = p.delay(1, random_unit()).as_secs_f64();
            assert!((48.0..=72.0).contains(&d), "{d}");
        }
    }

    #[test]
    fn bad_settings_are_rejected_with_a_reason() {
        let mut c = WorkerConfig::default();
        c.validate().unwrap();
        assert_eq!(c.heartbeat_interval(), Duration::from_secs(10));
        c.concurrency = 0;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("concurrency")
        );
        let mut c = WorkerConfig::default();
        c.retry.max_attempts = 0;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("max_attempts")
        );
        let mut c = WorkerConfig::default();
        c.retry.jitter = 1.5;
        assert!(c.validate().unwrap_err().to_string().contains("jitter"));
        let mut c = WorkerConfig::default();
        c.queues.clear();
        assert!(c.validate().unwrap_err().to_string().contains("queue"));
    }
}
