//! When a scheduled sync of an account falls due, and which light syncs a full sync stands in
//! for.
//!
//! Every sync schedule spreads its accounts over the period a tick opens with one key,
//! [`SYNC_PHASE`]: an account's offset in a period is a function of the account and the
//! period's length alone, not of the schedule. Where one schedule's ticks fall on another's
//! and its period is a whole number of the other's (the default 6-hourly full sync over the
//! hourly light sync), each of an account's full syncs is due at the same instant as one of
//! its light syncs. That light sync is not queued: the full sync reads everything the light one
//! does, and the account's next light sync comes one light period later, as always. An
//! account therefore runs one sync per light period, never a light sync minutes after a full
//! one that read the same.

use chrono::{DateTime, Duration, Utc};
use store::AccountId;

/// The key every sync schedule's offsets are computed with: the light schedule's name, the
/// key its offsets always had, so sharing it moved the full syncs' times once and never the
/// light syncs'.
pub(crate) const SYNC_PHASE: &str = crate::engine::SCHEDULE_LIGHT_SYNC;

/// How far back a full sync's tick may lie and still open a period that reaches a light
/// tick: a month, the longest period a schedule of a full sync is expected to have. A longer
/// one covers nothing (both syncs run).
const LOOKBACK: Duration = Duration::days(31);

/// At most this many ticks of one schedule are looked at for one light tick; a full schedule
/// that ticks more often over [`LOOKBACK`] covers nothing (both syncs run).
const MAX_TICKS: usize = 5_000;

/// At most this many ticks of one schedule are counted for a week's sync starts (a tick a
/// second is 604,800).
const MAX_COUNTED: usize = 1_000_000;

/// When `account` falls due in the period `period` that `tick` opens.
pub(crate) fn due_at(tick: DateTime<Utc>, account: AccountId, period: Duration) -> DateTime<Utc> {
    tick + ::queue::spread_offset(SYNC_PHASE, account, period)
}

/// The ticks of `cron` from `from` (exclusive) to `until` (exclusive), each with the period it
/// opens; `None` when there are more than `max` or one cannot be computed.
fn ticks_between(
    cron: &::queue::CronExpr,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    max: usize,
) -> Option<Vec<(DateTime<Utc>, Duration)>> {
    let mut ticks = Vec::new();
    let mut at = from;
    loop {
        let tick = cron.next_after(at).ok()?;
        if tick >= until {
            return Some(ticks);
        }
        if ticks.len() == max {
            return None;
        }
        ticks.push((tick, cron.period_at(tick).ok()?));
        at = tick;
    }
}

/// The full syncs due within one light tick's period: the ticks of the full schedules whose
/// periods overlap it.
#[derive(Debug, Default)]
pub(crate) struct Covering {
    ticks: Vec<(DateTime<Utc>, Duration)>,
}

impl Covering {
    /// The full syncs of the schedules `fulls` due within the period of `period` that the
    /// light tick `tick` opens.
    pub(crate) fn of(
        fulls: &[::queue::CronExpr],
        tick: DateTime<Utc>,
        period: Duration,
    ) -> Covering {
        let mut covering = Covering::default();
        for cron in fulls {
            if let Some(ticks) = ticks_between(cron, tick - LOOKBACK, tick + period, MAX_TICKS) {
                covering.add(&ticks, tick, period);
            }
        }
        covering
    }

    /// Adds those of `ticks` (a full schedule's ticks with their periods) whose periods
    /// overlap the light period from `tick`.
    fn add(&mut self, ticks: &[(DateTime<Utc>, Duration)], tick: DateTime<Utc>, period: Duration) {
        self.ticks.extend(
            ticks
                .iter()
                .filter(|(t, p)| *t < tick + period && *t + *p > tick),
        );
    }

    /// Whether a full sync of `account` is due at `due`, the time of its light sync.
    pub(crate) fn covers(&self, account: AccountId, due: DateTime<Utc>) -> bool {
        self.ticks
            .iter()
            .any(|(tick, period)| due_at(*tick, account, *period) == due)
    }
}

/// Sync starts per account-day of a full and a light schedule over the week from `from`:
/// every full sync, and every light sync no full sync stands in for, averaged over accounts
/// 1 to 100 (where the full schedule's periods are whole numbers of the light's and its ticks
/// fall on the light's, every full sync stands in for one light sync of every account).
pub(crate) fn starts_per_account_day(
    full: &::queue::CronExpr,
    light: &::queue::CronExpr,
    from: DateTime<Utc>,
) -> Result<f64, String> {
    const SAMPLE: i64 = 100;
    let until = from + Duration::days(7);
    let too_many = |name: &str| format!("the {name} schedule ticks too often to count its syncs");
    let fulls =
        ticks_between(full, from - LOOKBACK, until, MAX_COUNTED).ok_or_else(|| too_many("full"))?;
    let lights = ticks_between(light, from - Duration::seconds(1), until, MAX_COUNTED)
        .ok_or_else(|| too_many("light"))?;
    let full_starts = fulls.iter().filter(|(t, _)| *t >= from).count() as f64;
    let mut light_starts = 0u64;
    for (tick, period) in &lights {
        let mut covering = Covering::default();
        covering.add(&fulls, *tick, *period);
        light_starts += (1..=SAMPLE)
            .map(AccountId::new)
            .filter(|a| !covering.covers(*a, due_at(*tick, *a, *period)))
            .count() as u64;
    }
    Ok((full_starts + light_starts as f64 / SAMPLE as f64) / 7.0)
}

#[cfg(test)]
mod tests {
    use ::queue::CronExpr;

    use super::*;

    fn cron(expr: &str) -> CronExpr {
        CronExpr::parse(expr).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// Each of an account's 6-hourly full syncs falls due with one of its hourly light syncs,
    /// and no other light sync of the account is covered.
    #[test]
    fn a_full_sync_falls_on_one_light_sync_of_its_period() {
        let (full, light) = (cron("0 0 */6 * * *"), cron("0 0 * * * *"));
        let day = at("2026-12-01T00:00:00Z");
        let hour = Duration::hours(1);
        for account in (1..=500).map(AccountId::new) {
            let full_due = due_at(day, account, Duration::hours(6));
            let mut covered = Vec::new();
            for h in 0..12 {
                let tick = day + hour * h;
                let due = due_at(tick, account, hour);
                if Covering::of(std::slice::from_ref(&full), tick, hour).covers(account, due) {
                    covered.push(due);
                }
            }
            // The full sync of 00:00 and the one of 06:00, each on one light sync's time.
            assert_eq!(covered.len(), 2, "account {account}: {covered:?}");
            assert_eq!(covered[0], full_due, "account {account}");
            assert_eq!(
                covered[1],
                due_at(day + hour * 6, account, Duration::hours(6))
            );
            // Same minute of the hour as every light sync of the account.
            assert_eq!((full_due - day).num_milliseconds() % 3_600_000, {
                (due_at(day, account, hour) - day).num_milliseconds()
            });
        }
        // Nothing covers a light sync when no full schedule ticks, or when the full syncs'
        // ticks fall off the light's (every 6 hours at :30).
        let tick = day + hour * 3;
        let a = AccountId::new(7);
        assert!(!Covering::of(&[], tick, hour).covers(a, due_at(tick, a, hour)));
        let off = cron("0 30 */6 * * *");
        let covered = (0..24)
            .map(|h| day + hour * h)
            .filter(|t| {
                Covering::of(std::slice::from_ref(&off), *t, hour).covers(a, due_at(*t, a, hour))
            })
            .count();
        assert_eq!(covered, 0);
    }

    #[test]
    fn starts_per_account_day_count_each_full_sync_once_and_the_light_syncs_it_covers_never() {
        let from = at("2026-01-01T00:00:00Z");
        let starts = |f, l| starts_per_account_day(&cron(f), &cron(l), from).unwrap();
        // 4 full syncs and 24 light syncs a day, 4 of them covered.
        assert_eq!(starts("0 0 */6 * * *", "0 0 * * * *"), 24.0);
        // A daily full sync and a light one every two hours: 1 + 12 − 1.
        assert_eq!(starts("0 0 2 * * *", "0 0 */2 * * *"), 12.0);
        // Full syncs off the light ticks cover nothing: 4 + 24.
        assert_eq!(starts("0 30 */6 * * *", "0 0 * * * *"), 28.0);
        let e = starts_per_account_day(&cron("* * * * * *"), &cron("0 0 * * * *"), from);
        assert!(e.unwrap_err().contains("full schedule ticks too often"));
    }
}
