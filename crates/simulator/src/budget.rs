//! Rate-limit budgets over a rolling window: one per account (Instagram BUC,
//! `4800 × impressions` calls per 24 h, or the configured tight budget) and one for the app.
//! The window runs in real time, or on the simulated clock when configured so (tests that
//! jump the clock then see usage roll off as Meta's would).
//!
//! Usage is kept in 120 slots per window, so memory is constant whatever the call volume.
//! Throttled calls count too: as Meta warns, calling while throttled extends the block.

use std::time::{Duration, Instant};

const SLOTS: usize = 120;

#[derive(Debug, Clone)]
struct Ring {
    ids: [u64; SLOTS],
    counts: [u64; SLOTS],
}

impl Ring {
    fn new() -> Ring {
        Ring {
            ids: [0; SLOTS],
            counts: [0; SLOTS],
        }
    }

    fn add(&mut self, slot: u64, n: u64) {
        let i = (slot % SLOTS as u64) as usize;
        if self.ids[i] != slot {
            self.ids[i] = slot;
            self.counts[i] = 0;
        }
        self.counts[i] += n;
    }

    fn live(&self, slot: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ids
            .iter()
            .zip(self.counts.iter())
            .filter(move |(id, c)| **c > 0 && **id <= slot && slot - **id < SLOTS as u64)
            .map(|(id, c)| (*id, *c))
    }

    fn usage(&self, slot: u64) -> u64 {
        self.live(slot).map(|(_, c)| c).sum()
    }

    /// Slot after which usage falls below `budget` again (None if it already is).
    fn regain_slot(&self, slot: u64, budget: u64) -> Option<u64> {
        let mut usage = self.usage(slot);
        if usage < budget {
            return None;
        }
        let mut live: Vec<(u64, u64)> = self.live(slot).collect();
        live.sort_unstable();
        for (id, c) in live {
            usage -= c;
            if usage < budget {
                return Some(id + SLOTS as u64);
            }
        }
        Some(slot + SLOTS as u64)
    }
}

/// Usage figures for the headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Percentage of the account budget used (capped at 100).
    pub(crate) call_pct: u64,
    /// Minutes until the account can call again (0 when not throttled).
    pub(crate) regain_minutes: u64,
}

/// What the budget says about a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allowed,
    AccountExhausted,
    AppExhausted,
}

/// All budgets.
#[derive(Debug)]
pub(crate) struct Budgets {
    started: Instant,
    /// The simulated clock's start and reading (Unix milliseconds) when the window runs on
    /// it; `None`: real time.
    sim_clock: Option<(i64, i64)>,
    slot_len: Duration,
    limits: Vec<u64>,
    accounts: Vec<Ring>,
    app_limit: u64,
    app: Ring,
}

impl Budgets {
    pub(crate) fn new(window: Duration, limits: Vec<u64>, app_limit: u64) -> Budgets {
        let n = limits.len();
        Budgets {
            started: Instant::now(),
            sim_clock: None,
            slot_len: (window / SLOTS as u32).max(Duration::from_micros(1)),
            limits,
            accounts: vec![Ring::new(); n],
            app_limit,
            app: Ring::new(),
        }
    }

    /// Runs the window on the simulated clock, from `start_ms` (Unix milliseconds).
    pub(crate) fn on_sim_clock(mut self, start_ms: i64) -> Budgets {
        self.sim_clock = Some((start_ms, start_ms));
        self
    }

    /// The simulated clock's reading, for a window that runs on it.
    pub(crate) fn set_sim_now(&mut self, now_ms: i64) {
        if let Some((_, now)) = &mut self.sim_clock {
            *now = now_ms;
        }
    }

    fn elapsed(&self) -> Duration {
        match self.sim_clock {
            Some((start, now)) => Duration::from_millis(u64::try_from(now - start).unwrap_or(0)),
            None => self.started.elapsed(),
        }
    }

    fn slot(&self) -> u64 {
        (self.elapsed().as_nanos() / self.slot_len.as_nanos()) as u64 + 1
    }

    /// Checks a call of `units` against the budgets, then counts it (throttled or not).
    pub(crate) fn charge(&mut self, acct: Option<usize>, units: u64) -> Verdict {
        let slot = self.slot();
        let mut verdict = Verdict::Allowed;
        if self.app.usage(slot) >= self.app_limit {
            verdict = Verdict::AppExhausted;
        }
        if let Some(a) = acct
            && verdict == Verdict::Allowed
            && self.accounts[a].usage(slot) >= self.limits[a]
        {
            verdict = Verdict::AccountExhausted;
        }
        self.add(acct, units);
        verdict
    }

    /// Counts units without checking (e.g. objects expanded inside a call).
    pub(crate) fn add(&mut self, acct: Option<usize>, units: u64) {
        if units == 0 {
            return;
        }
        let slot = self.slot();
        self.app.add(slot, units);
        if let Some(a) = acct {
            self.accounts[a].add(slot, units);
        }
    }

    /// The account's usage for the `X-Business-Use-Case-Usage` header.
    pub(crate) fn account_usage(&self, acct: usize) -> Usage {
        let slot = self.slot();
        let ring = &self.accounts[acct];
        let limit = self.limits[acct].max(1);
        let used = ring.usage(slot);
        let regain_minutes = match ring.regain_slot(slot, limit) {
            None => 0,
            Some(s) => {
                // Slot `s` starts at `(s - 1) × slot_len` after the start.
                let at = self.slot_len * (s - 1) as u32;
                let left = at.saturating_sub(self.elapsed());
                left.as_secs().div_ceil(60).max(1)
            }
        };
        Usage {
            call_pct: (used.saturating_mul(100) / limit).min(100),
            regain_minutes,
        }
    }

    /// The account's usage in percent of its budget, uncapped (over 100 once throttled calls
    /// keep coming).
    pub(crate) fn account_pct(&self, acct: usize) -> u64 {
        let used = self.accounts[acct].usage(self.slot());
        used.saturating_mul(100) / self.limits[acct].max(1)
    }

    /// The app's usage percentage for the `X-App-Usage` header.
    pub(crate) fn app_pct(&self) -> u64 {
        let slot = self.slot();
        (self.app.usage(slot).saturating_mul(100) / self.app_limit.max(1)).min(100)
    }

    /// Forgets all usage.
    pub(crate) fn reset(&mut self) {
        for r in &mut self.accounts {
            *r = Ring::new();
        }
        self.app = Ring::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhausts_then_reports_regain_time() {
        let mut b = Budgets::new(Duration::from_secs(24 * 3600), vec![3, 1000], 1_000_000);
        for _ in 0..3 {
            assert_eq!(b.charge(Some(0), 1), Verdict::Allowed);
        }
        assert_eq!(b.charge(Some(0), 1), Verdict::AccountExhausted);
        assert_eq!(b.charge(Some(1), 1), Verdict::Allowed);
        let u = b.account_usage(0);
        assert_eq!(u.call_pct, 100);
        assert!(u.regain_minutes > 0 && u.regain_minutes <= 24 * 60);
        assert_eq!(b.account_usage(1).regain_minutes, 0);
        b.reset();
        assert_eq!(b.charge(Some(0), 1), Verdict::Allowed);
    }

    #[test]
    fn app_budget_applies_to_everyone() {
        let mut b = Budgets::new(Duration::from_secs(3600), vec![100, 100], 2);
        assert_eq!(b.charge(Some(0), 1), Verdict::Allowed);
        assert_eq!(b.charge(Some(1), 1), Verdict::Allowed);
        assert_eq!(b.charge(Some(1), 1), Verdict::AppExhausted);
        assert_eq!(b.app_pct(), 100);
    }

    #[test]
    fn a_window_on_the_simulated_clock_rolls_when_the_clock_moves() {
        let start = 1_700_000_000_000;
        let mut b = Budgets::new(Duration::from_secs(3600), vec![10], 1_000).on_sim_clock(start);
        for _ in 0..6 {
            assert_eq!(b.charge(Some(0), 1), Verdict::Allowed);
        }
        assert_eq!(b.account_pct(0), 60);
        b.set_sim_now(start + 30 * 60 * 1000);
        assert_eq!(b.account_pct(0), 60, "half a window later, still counted");
        b.set_sim_now(start + 61 * 60 * 1000);
        assert_eq!(b.account_pct(0), 0, "a window later, rolled off");
    }
}
