//! Cron schedules: parsing and validating the 6-field (with seconds) UTC cron expressions the
//! configuration and the `schedules` table hold, and computing the next tick.
//!
//! A tick is always computed from "now" (never from the previous tick), so a paused
//! schedule, a stopped worker or a clock jump never leaves a backlog of missed ticks.
//!
//! No thundering herd: a schedule that fans out into one job per account does not run them
//! all at its tick. Each account runs at its own stable offset within the period the tick
//! opens ([`spread_offset`], [`CronExpr::period_at`]), so the jobs falling due per minute
//! stay flat over the period and each account's runs stay one period apart. A run-now
//! ([`Scheduler::run_now`] marks its job's arguments with `"run_now": true`) is not spread.

use crate::error::{QueueError, Result};
use crate::types::{AccountId, InsertOutcome, JobId, NewJob, Schedule, ScheduleDef, ScheduleFire};
use crate::worker::Maintenance;
use crate::{Clock, DynQueueStore};
use chrono::{DateTime, Utc};
use croner::Cron;

/// A parsed cron expression (6 fields: second minute hour day-of-month month day-of-week,
/// evaluated in UTC).
#[derive(Debug, Clone)]
pub struct CronExpr {
    text: String,
    cron: Cron,
}

impl CronExpr {
    /// Parses and validates an expression; the error says what is wrong in plain words.
    pub fn parse(expr: &str) -> Result<CronExpr, String> {
        let text = expr.trim();
        if text.is_empty() {
            return Err("the cron expression is empty; expected 6 fields \
                 (second minute hour day-of-month month day-of-week), e.g. `0 0 */6 * * *`"
                .to_string());
        }
        let fields = text.split_whitespace().count();
        if !text.starts_with('@') && fields != 6 {
            let hint = if fields == 5 {
                format!(
                    "; it looks like a 5-field expression: add a seconds field in front, \
                     e.g. `0 {text}`"
                )
            } else {
                String::new()
            };
            return Err(format!(
                "the cron expression `{text}` has {fields} field(s); expected 6 \
                 (second minute hour day-of-month month day-of-week, in UTC){hint}"
            ));
        }
        let cron = Cron::new(text)
            .with_seconds_required()
            .parse()
            .map_err(|e| format!("invalid cron expression `{text}`: {e}"))?;
        let parsed = CronExpr {
            text: text.to_string(),
            cron,
        };
        // An expression that can never fire (e.g. 31 February) is a configuration error.
        parsed.next_after(Utc::now()).map_err(|_| {
            format!("the cron expression `{text}` never fires (no matching date exists)")
        })?;
        Ok(parsed)
    }

    /// The expression as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first tick strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
        self.cron
            .find_next_occurrence(&after, false)
            .map_err(|e| format!("cannot compute the next tick of `{}`: {e}", self.text))
    }

    /// The period the tick `tick` opens: from it to the expression's next tick.
    pub fn period_at(&self, tick: DateTime<Utc>) -> Result<chrono::Duration, String> {
        Ok(self.next_after(tick)? - tick)
    }
}

/// The stable offset at which `account` runs within a period of `period` of the schedule
/// `schedule`: a 64-bit FNV-1a hash of the schedule's name, a zero byte and the account id
/// (little-endian), mixed by SplitMix64's finalizer, modulo the period in milliseconds. A
/// function of its arguments alone — the same in every process, after restarts and across
/// releases (changing it would move every account's runs once) — and uniform over the period,
/// so a fleet's runs spread evenly. Zero for a period shorter than a millisecond.
pub fn spread_offset(
    schedule: &str,
    account: AccountId,
    period: chrono::Duration,
) -> chrono::Duration {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = FNV_OFFSET;
    for b in schedule
        .bytes()
        .chain([0])
        .chain(account.get().to_le_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    match u64::try_from(period.num_milliseconds()) {
        Ok(ms) if ms > 0 => chrono::Duration::milliseconds((h % ms) as i64),
        _ => chrono::Duration::zero(),
    }
}

/// Checks a cron expression (6 fields with seconds, UTC), e.g. `0 0 */6 * * *`.
pub fn validate_cron(expr: &str) -> Result<(), String> {
    CronExpr::parse(expr).map(|_| ())
}

/// The first tick of `expr` strictly after `after`.
pub fn next_tick(expr: &str, after: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    CronExpr::parse(expr)?.next_after(after)
}

/// Installs, fires, pauses and resumes the persisted schedules. Firing is exactly-once
/// across workers: the store fires a tick only if `next_run_at` is still the value this
/// worker read, and the next tick is computed from now.
#[derive(Clone)]
pub struct Scheduler {
    store: DynQueueStore,
    clock: Clock,
    max_attempts: i32,
}

/// What one [`Scheduler::fire_due`] pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FireReport {
    /// Schedules this worker fired, with the job each inserted.
    pub fired: Vec<(String, JobId)>,
    /// Due schedules another worker fired first.
    pub lost: Vec<String>,
}

impl Scheduler {
    pub fn new(store: DynQueueStore, clock: Clock, max_attempts: u32) -> Scheduler {
        Scheduler {
            store,
            clock,
            max_attempts: max_attempts.clamp(1, 100) as i32,
        }
    }

    /// Creates or updates schedules (keeping their paused flag and last run).
    pub async fn install(&self, defs: &[ScheduleDef]) -> Result<()> {
        let now = self.clock.now();
        for def in defs {
            let cron = CronExpr::parse(&def.cron)
                .map_err(|e| QueueError::config(format!("schedule `{}`: {e}", def.name)))?;
            let next = cron.next_after(now).map_err(QueueError::Config)?;
            self.store.schedule_upsert(def.clone(), next).await?;
        }
        Ok(())
    }

    /// Fires every schedule that is due (not paused, `next_run_at <= now`): one job per
    /// schedule, whatever the number of missed ticks; the next tick is the first after now.
    pub async fn fire_due(&self) -> Result<FireReport> {
        let now = self.clock.now();
        let mut report = FireReport::default();
        for schedule in self.store.schedule_list().await? {
            if schedule.paused || schedule.next_run_at > now {
                continue;
            }
            let name = schedule.def.name.clone();
            let next = match CronExpr::parse(&schedule.def.cron).and_then(|c| c.next_after(now)) {
                Ok(next) => next,
                Err(e) => {
                    tracing::error!(schedule = %name, error = %e, "schedule has an invalid cron expression; skipped");
                    continue;
                }
            };
            let job = self.job_for(&schedule.def, schedule.next_run_at, now);
            let fired = self
                .store
                .schedule_fire(ScheduleFire {
                    name: name.clone(),
                    expected_next_run_at: schedule.next_run_at,
                    new_next_run_at: next,
                    job,
                    now,
                })
                .await?;
            match fired {
                Some(outcome) => {
                    tracing::info!(schedule = %name, job = outcome.id().get(), next = %next, "schedule fired");
                    report.fired.push((name, outcome.id()));
                }
                None => report.lost.push(name),
            }
        }
        Ok(report)
    }

    /// Pauses a schedule: it fires no more until resumed.
    pub async fn pause(&self, name: &str) -> Result<()> {
        let schedule = self.get(name).await?;
        if !self
            .store
            .schedule_set_paused(name, true, schedule.next_run_at)
            .await?
        {
            return Err(self.unknown(name).await);
        }
        Ok(())
    }

    /// Resumes a schedule; its next tick is the first after now (missed ticks are skipped)
    /// and after the last time it fired, so a clock set back while the schedule was paused
    /// never fires a tick a second time.
    pub async fn resume(&self, name: &str) -> Result<()> {
        let schedule = self.get(name).await?;
        let now = self.clock.now();
        let from = schedule.last_run_at.map_or(now, |last| last.max(now));
        let next = CronExpr::parse(&schedule.def.cron)
            .and_then(|c| c.next_after(from))
            .map_err(QueueError::Config)?;
        if !self.store.schedule_set_paused(name, false, next).await? {
            return Err(self.unknown(name).await);
        }
        Ok(())
    }

    /// Inserts the schedule's job now, leaving its next tick unchanged. Merges into the
    /// job of a run-now that is still active. Its arguments carry `"run_now": true`, so a
    /// fan-out runs every account at once instead of at its offset.
    pub async fn run_now(&self, name: &str) -> Result<InsertOutcome> {
        let schedule = self.get(name).await?;
        let now = self.clock.now();
        let mut job = self.job_for(&schedule.def, now, now);
        if let serde_json::Value::Object(map) = &mut job.args {
            map.insert("run_now".into(), true.into());
        }
        job.unique_key = Some(format!("schedule:{name}:now"));
        Ok(self.store.job_insert(job).await?)
    }

    async fn get(&self, name: &str) -> Result<Schedule> {
        match self.store.schedule_get(name).await? {
            Some(schedule) => Ok(schedule),
            None => Err(self.unknown(name).await),
        }
    }

    /// The error for a name no schedule has, listing the names that exist.
    async fn unknown(&self, name: &str) -> QueueError {
        let known = match self.store.schedule_list().await {
            Ok(list) => list.into_iter().map(|s| s.def.name).collect(),
            Err(e) => return e.into(),
        };
        QueueError::UnknownSchedule {
            name: name.to_string(),
            known,
        }
    }

    fn job_for(&self, def: &ScheduleDef, tick: DateTime<Utc>, now: DateTime<Utc>) -> NewJob {
        let mut args = def.args.clone();
        if let serde_json::Value::Object(map) = &mut args {
            map.insert("schedule".into(), def.name.clone().into());
            map.insert("tick".into(), tick.to_rfc3339().into());
        }
        NewJob {
            queue: def.queue.clone(),
            kind: def.kind.clone(),
            args,
            account_id: None,
            unique_key: Some(format!("schedule:{}:{}", def.name, tick.timestamp())),
            run_id: None,
            run_at: now,
            max_attempts: self.max_attempts,
            priority: 0,
            now,
        }
    }
}

#[async_trait::async_trait]
impl Maintenance for Scheduler {
    fn name(&self) -> &str {
        "schedules"
    }

    async fn run(&self, _now: DateTime<Utc>) -> Result<()> {
        self.fire_due().await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn six_field_expressions_are_valid() {
        for expr in [
            "0 0 */6 * * *",
            "0 0 * * * *",
            "0 30 3 * * *",
            "0 0 2 * * *",
        ] {
            validate_cron(expr).unwrap();
        }
    }

    #[test]
    fn rejects_bad_expressions_with_a_clear_message() {
        let e = validate_cron("").unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = validate_cron("0 2 * * *").unwrap_err();
        assert!(e.contains("5-field") && e.contains("`0 0 2 * * *`"), "{e}");
        let e = validate_cron("0 0 25 * * *").unwrap_err();
        assert!(e.contains("invalid cron expression"), "{e}");
        let e = validate_cron("every hour").unwrap_err();
        assert!(e.contains("expected 6"), "{e}");
        let e = validate_cron("0 0 0 31 2 *").unwrap_err();
        assert!(e.contains("never fires"), "{e}");
        assert!(validate_cron("0 0 0 1 1 * 2030").is_err());
    }

    #[test]
    fn offsets_are_stable_within_the_period_and_spread_evenly() {
        let hour = chrono::Duration::hours(1);
        // Fixed values: the offsets must never change between releases.
        assert_eq!(
            spread_offset("light_sync", AccountId::new(1), hour),
            spread_offset("light_sync", AccountId::new(1), hour)
        );
        let known: Vec<i64> = (1..=3)
            .map(|a| spread_offset("light_sync", AccountId::new(a), hour).num_milliseconds())
            .collect();
        assert_eq!(known, KNOWN_OFFSETS);
        assert_ne!(
            spread_offset("light_sync", AccountId::new(7), hour),
            spread_offset("full_sync", AccountId::new(7), hour),
            "each schedule has its own offsets"
        );
        let mut per_minute = [0u32; 60];
        for a in 1..=6000 {
            let o = spread_offset("light_sync", AccountId::new(a), hour);
            assert!(o >= chrono::Duration::zero() && o < hour);
            per_minute[(o.num_seconds() / 60) as usize] += 1;
        }
        // 100 per minute on average.
        assert!(
            per_minute.iter().all(|n| (60..=140).contains(n)),
            "{per_minute:?}"
        );
        assert_eq!(
            spread_offset("x", AccountId::new(1), chrono::Duration::zero()),
            chrono::Duration::zero()
        );
        let six = CronExpr::parse("0 0 */6 * * *").unwrap();
        assert_eq!(
            six.period_at(at(2026, 3, 1, 6, 0, 0)).unwrap(),
            chrono::Duration::hours(6)
        );
    }

    const KNOWN_OFFSETS: [i64; 3] = [335_543, 2_616_567, 655_473];

    #[test]
    fn next_tick_is_strictly_after_and_in_utc() {
        let six = CronExpr::parse("0 0 */6 * * *").unwrap();
        assert_eq!(
            six.next_after(at(2026, 3, 1, 0, 0, 0)).unwrap(),
            at(2026, 3, 1, 6, 0, 0)
        );
        assert_eq!(
            six.next_after(at(2026, 3, 1, 5, 59, 59)).unwrap(),
            at(2026, 3, 1, 6, 0, 0)
        );
        assert_eq!(
            six.next_after(at(2026, 3, 1, 18, 0, 1)).unwrap(),
            at(2026, 3, 2, 0, 0, 0)
        );
        let daily = CronExpr::parse("0 0 2 * * *").unwrap();
        assert_eq!(
            daily.next_after(at(2026, 3, 1, 2, 0, 0)).unwrap(),
            at(2026, 3, 2, 2, 0, 0)
        );
        assert_eq!(
            next_tick("*/10 * * * * *", at(2026, 3, 1, 0, 0, 5)).unwrap(),
            at(2026, 3, 1, 0, 0, 10)
        );
    }
}
