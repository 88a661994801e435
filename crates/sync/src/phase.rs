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

/// A sync schedule the count accepts ticks at most this often in its first hour: once a
/// minute. A schedule that ticks more often is refused by the count before a week of its
/// ticks is walked (a tick every 5 seconds is 720 an hour, 120,960 a week).
const MAX_TICKS_AN_HOUR: usize = 60;

/// At most this many ticks of one schedule are counted for a week's sync starts and the
/// month before it (a tick a minute over both is 54,720), so the count stays quick whatever
/// the schedule.
const MAX_COUNTED: usize = 60_000;

/// When `account` falls due in the period `period` that `tick` opens.
pub(crate) fn due_at(tick: DateTime<Utc>, account: AccountId, period: Duration) -> DateTime<Utc> {
    tick + ::queue::spread_offset(SYNC_PHASE, account, period)
}

/// The ticks of `cron` from `from` (exclusive) to `until` (exclusive), each with the period it
/// opens; `None` when there are more than `max` or one cannot be computed.
pub(crate) fn ticks_between(
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

/// A schedule of the full plan, and which of its ticks fire.
#[derive(Debug, Clone)]
pub(crate) struct FullSchedule {
    cron: ::queue::CronExpr,
    /// When it last fired: the tick whose period holds that instant has fired.
    last_run_at: Option<DateTime<Utc>>,
    /// Its next tick: every tick from it on will fire. `None`: every tick fires (a schedule
    /// that has always run).
    next_run_at: Option<DateTime<Utc>>,
}

impl FullSchedule {
    /// A schedule every tick of which fires.
    #[cfg(test)]
    pub(crate) fn steady(cron: ::queue::CronExpr) -> FullSchedule {
        FullSchedule {
            cron,
            last_run_at: None,
            next_run_at: None,
        }
    }

    /// A stored schedule: of its ticks before now, only the one it last fired counts (one
    /// installed, resumed or skipped past later fired none of the others).
    pub(crate) fn stored(
        cron: ::queue::CronExpr,
        last_run_at: Option<DateTime<Utc>>,
        next_run_at: DateTime<Utc>,
    ) -> FullSchedule {
        FullSchedule {
            cron,
            last_run_at,
            next_run_at: Some(next_run_at),
        }
    }

    fn fires(&self, tick: DateTime<Utc>, period: Duration) -> bool {
        self.next_run_at.is_none_or(|next| tick >= next)
            || self
                .last_run_at
                .is_some_and(|fired| tick <= fired && fired < tick + period)
    }
}

/// The full syncs due within one light tick's period: the fired or future ticks of the full
/// schedules whose periods overlap it.
#[derive(Debug, Default)]
pub(crate) struct Covering {
    ticks: Vec<(DateTime<Utc>, Duration)>,
}

impl Covering {
    /// The full syncs of the schedules `fulls` due within the period of `period` that the
    /// light tick `tick` opens.
    pub(crate) fn of(fulls: &[FullSchedule], tick: DateTime<Utc>, period: Duration) -> Covering {
        let mut covering = Covering::default();
        for full in fulls {
            if let Some(mut ticks) =
                ticks_between(&full.cron, tick - LOOKBACK, tick + period, MAX_TICKS)
            {
                ticks.retain(|(t, p)| full.fires(*t, *p));
                covering.add(&ticks, tick, period);
            }
        }
        covering
    }

    /// Adds those of `ticks` (a full schedule's ticks with their periods, in order) whose
    /// periods overlap the light period from `tick`: found by bisection, since both a tick
    /// and its period's end (the next tick) grow along the list.
    fn add(&mut self, ticks: &[(DateTime<Utc>, Duration)], tick: DateTime<Utc>, period: Duration) {
        let first = ticks.partition_point(|(t, p)| *t + *p <= tick);
        let end = ticks.partition_point(|(t, _)| *t < tick + period);
        self.ticks.extend(ticks.get(first..end).unwrap_or_default());
    }

    /// Whether a full sync of `account` is due at `due`, the time of its light sync.
    pub(crate) fn covers(&self, account: AccountId, due: DateTime<Utc>) -> bool {
        self.ticks
            .iter()
            .any(|(tick, period)| due_at(*tick, account, *period) == due)
    }
}

/// An account's syncs per day on a full and a light schedule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SyncStarts {
    /// Full syncs.
    pub full: f64,
    /// Light syncs due, the ones a full sync stands in for among them.
    pub light: f64,
    /// Light syncs a full sync due at the same instant stands in for (never started).
    pub covered: f64,
}

impl SyncStarts {
    /// Syncs started: the full ones and the light ones no full sync stands in for.
    pub fn started(&self) -> f64 {
        self.full + self.light - self.covered
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
) -> Result<SyncStarts, String> {
    const SAMPLE: i64 = 100;
    let until = from + Duration::days(7);
    let too_many = |name: &str| {
        format!("the {name} schedule ticks too often to count its syncs (more than once a minute)")
    };
    for (name, cron) in [("full", full), ("light", light)] {
        let hour = from + Duration::hours(1);
        if ticks_between(cron, from - Duration::seconds(1), hour, MAX_TICKS_AN_HOUR).is_none() {
            return Err(too_many(name));
        }
    }
    let fulls =
        ticks_between(full, from - LOOKBACK, until, MAX_COUNTED).ok_or_else(|| too_many("full"))?;
    let lights = ticks_between(light, from - Duration::seconds(1), until, MAX_COUNTED)
        .ok_or_else(|| too_many("light"))?;
    let full_starts = fulls.iter().filter(|(t, _)| *t >= from).count() as f64;
    let mut covered = 0u64;
    for (tick, period) in &lights {
        let mut covering = Covering::default();
        covering.add(&fulls, *tick, *period);
        covered += (1..=SAMPLE)
            .map(AccountId::new)
            .filter(|a| covering.covers(*a, due_at(*tick, *a, *period)))
            .count() as u64;
    }
    Ok(SyncStarts {
        full: full_starts / 7.0,
        light: lights.len() as f64 / 7.0,
        covered: covered as f64 / SAMPLE as f64 / 7.0,
    })
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
        let full = FullSchedule::steady(cron("0 0 */6 * * *"));
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
        let off = FullSchedule::steady(cron("0 30 */6 * * *"));
        let covered = (0..24)
            .map(|h| day + hour * h)
            .filter(|t| {
                Covering::of(std::slice::from_ref(&off), *t, hour).covers(a, due_at(*t, a, hour))
            })
            .count();
        assert_eq!(covered, 0);
    }

    /// A stored full schedule covers with the tick it last fired and the ticks to come, never
    /// with a tick from before it was installed or while it was paused.
    #[test]
    fn only_a_fired_or_coming_full_tick_covers() {
        let day = at("2026-12-01T00:00:00Z");
        let (hour, six) = (Duration::hours(1), Duration::hours(6));
        // An account whose full sync of 00:00 falls in the third hour.
        let a = (1..)
            .map(AccountId::new)
            .find(|a| (due_at(day, *a, six) - day).num_hours() == 2)
            .unwrap();
        let tick = day + hour * 2;
        let due = due_at(tick, a, hour);
        let covers = |last: Option<&str>, next: &str| {
            let full = FullSchedule::stored(cron("0 0 */6 * * *"), last.map(at), at(next));
            Covering::of(&[full], tick, hour).covers(a, due)
        };
        // Installed at 00:00 after its tick: the first to fire is 06:00.
        assert!(!covers(None, "2026-12-01T06:00:00Z"));
        // Fired at 00:00 (a few seconds late).
        assert!(covers(Some("2026-12-01T00:00:03Z"), "2026-12-01T06:00:00Z"));
        // Last fired the day before, then paused and resumed: 00:00 did not fire.
        assert!(!covers(
            Some("2026-11-30T18:00:01Z"),
            "2026-12-01T06:00:00Z"
        ));
        // Not fired yet at the light tick's fan-out, but due: the two fan-outs of one instant
        // may run in either order.
        let full =
            FullSchedule::stored(cron("0 0 */6 * * *"), Some(at("2026-11-30T18:00:00Z")), day);
        let at_midnight = |a| due_at(day, a, hour);
        let b = (1..)
            .map(AccountId::new)
            .find(|b| due_at(day, *b, six) < day + hour)
            .unwrap();
        assert!(Covering::of(&[full], day, hour).covers(b, at_midnight(b)));
    }

    #[test]
    fn starts_per_account_day_count_each_full_sync_once_and_the_light_syncs_it_covers_never() {
        let from = at("2026-01-01T00:00:00Z");
        let starts = |f, l| starts_per_account_day(&cron(f), &cron(l), from).unwrap();
        let counts = |s: SyncStarts| (s.full, s.light, s.covered, s.started());
        // 4 full syncs and 24 light syncs a day, 4 of them covered.
        assert_eq!(
            counts(starts("0 0 */6 * * *", "0 0 * * * *")),
            (4.0, 24.0, 4.0, 24.0)
        );
        // A daily full sync and a light one every two hours: 1 + 12 − 1.
        assert_eq!(
            counts(starts("0 0 2 * * *", "0 0 */2 * * *")),
            (1.0, 12.0, 1.0, 12.0)
        );
        // Full syncs off the light ticks cover nothing: 4 + 24.
        assert_eq!(
            counts(starts("0 30 */6 * * *", "0 0 * * * *")),
            (4.0, 24.0, 0.0, 28.0)
        );
        let e = starts_per_account_day(&cron("* * * * * *"), &cron("0 0 * * * *"), from);
        assert!(e.unwrap_err().contains("full schedule ticks too often"));
        // A light sync every 30 seconds is refused from its first hour, not counted.
        let e = starts_per_account_day(&cron("0 0 */6 * * *"), &cron("*/30 * * * * *"), from);
        assert!(e.unwrap_err().contains("light schedule ticks too often"));
    }
}
