//! The life-like shape of the daily series when [`crate::SimConfig::anomalies`] is on: a
//! weekday rhythm of each account's account insights, a follower counter that drifts around
//! the account's steady pace, and labelled anomalies (spikes, drops, level shifts) injected
//! into the account insights, drawn by seed. [`injected_anomalies`] lists them: the ground
//! truth that `igsync bench analytics` scores its detector against.
//!
//! Off (the default), every function here is neutral (factor 1, drift 0, no anomalies), so
//! the numbers of a world do not change.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::hash::{h, hs, normal, range, unit};
use crate::time::{DAY, day_key};
use crate::world::{Account, World};

/// What was injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InjectedKind {
    /// One day multiplied by 2.5–6.
    Spike,
    /// One day multiplied by 0.1–0.35.
    Drop,
    /// From its day on, `days` days multiplied by 1.8–3 or 0.3–0.55.
    LevelShift,
}

/// One labelled anomaly of an account's daily account insights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InjectedAnomaly {
    /// The account.
    pub ig_user_id: String,
    /// The first Pacific day affected.
    pub day: NaiveDate,
    /// Spike, drop or level shift.
    pub kind: InjectedKind,
    /// Every account insight of the affected days is multiplied by this.
    pub factor: f64,
    /// Days affected (1 for spikes and drops).
    pub days: u32,
}

/// Chance per account and day of a spike, a drop and a level shift starting.
const P_SPIKE: f64 = 1.0 / 90.0;
const P_DROP: f64 = 0.5 / 90.0;
const P_SHIFT: f64 = 0.3 / 90.0;
/// Longest level shift, in days.
pub(crate) const MAX_SHIFT_DAYS: i64 = 42;

/// The anomaly (if any) that starts on `day`: (kind, factor, days).
fn starting(a: &Account, day: NaiveDate) -> Option<(InjectedKind, f64, u32)> {
    let key = h(&[a.key, hs("anomaly"), day_key(day)]);
    let u = unit(key);
    let v = unit(h(&[key, 1]));
    if u < P_SPIKE {
        Some((InjectedKind::Spike, 2.5 + 3.5 * v, 1))
    } else if u < P_SPIKE + P_DROP {
        Some((InjectedKind::Drop, 0.1 + 0.25 * v, 1))
    } else if u < P_SPIKE + P_DROP + P_SHIFT {
        let up = unit(h(&[key, 2])) < 0.5;
        let factor = if up { 1.8 + 1.2 * v } else { 0.3 + 0.25 * v };
        let days = 21 + (h(&[key, 3]) % (MAX_SHIFT_DAYS as u64 - 20)) as u32;
        Some((InjectedKind::LevelShift, factor, days))
    } else {
        None
    }
}

/// The factor of every account insight of `day`: the weekday rhythm times any anomaly
/// covering the day. 1 when the shape is off.
pub(crate) fn day_factor(world: &World, acct: usize, day: NaiveDate) -> f64 {
    if !world.shaped {
        return 1.0;
    }
    let a = &world.accounts[acct];
    let mut f = weekday_factor(a, day);
    for back in 0..MAX_SHIFT_DAYS {
        let Some(d) = day.checked_sub_days(chrono::Days::new(back as u64)) else {
            break;
        };
        if let Some((_, factor, days)) = starting(a, d)
            && (back as u32) < days
        {
            f *= factor;
        }
    }
    f
}

/// The account's weekday rhythm: busier midweek, quieter at the weekend, by how much drawn
/// per account.
fn weekday_factor(a: &Account, day: NaiveDate) -> f64 {
    const PROFILE: [f64; 7] = [1.0, 1.08, 1.12, 1.06, 0.98, 0.78, 0.72];
    let depth = range(h(&[a.key, hs("weekday-depth")]), 0.5, 1.5);
    let base = PROFILE[day.weekday().num_days_from_monday() as usize];
    1.0 + (base - 1.0) * depth
}

/// Labelled anomalies of one account starting in `from..=to`.
pub(crate) fn account_anomalies(
    world: &World,
    acct: usize,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<InjectedAnomaly> {
    if !world.shaped {
        return Vec::new();
    }
    let a = &world.accounts[acct];
    from.iter_days()
        .take_while(|d| *d <= to)
        .filter_map(|day| {
            starting(a, day).map(|(kind, factor, days)| InjectedAnomaly {
                ig_user_id: a.ig_user_id.clone(),
                day,
                kind,
                factor,
                days,
            })
        })
        .collect()
}

/// Every labelled anomaly of the world's history (the `history_days` before the clock's
/// start, up to the start), per account in order.
pub(crate) fn injected_anomalies(world: &World) -> Vec<InjectedAnomaly> {
    let to = crate::time::pacific_date(world.start);
    let from = crate::time::pacific_date(world.start - i64::from(world.history_days) * DAY);
    (0..world.accounts.len())
        .flat_map(|acct| account_anomalies(world, acct, from, to))
        .collect()
}

/// The cumulative follower drift of an account, one value per day from `origin` (the day
/// `history_days + 1` before the clock's start) for `len` days: daily net changes that wander
/// around the account's pace (an AR(1) modulation of the pace plus counting noise).
pub(crate) fn drift(a: &Account, len: usize) -> Vec<f64> {
    let pace = a.net_followers_per_day;
    let noise = (pace.abs() + 1.0).sqrt();
    let mut modulation = 0.0;
    let mut total = 0.0;
    let mut out = Vec::with_capacity(len);
    for d in 0..len as u64 {
        modulation = 0.97 * modulation + 0.12 * normal(h(&[a.key, hs("drift-mod"), d]));
        total += pace * modulation + noise * normal(h(&[a.key, hs("drift-noise"), d]));
        out.push(total);
    }
    out
}

/// Drift at `now` relative to the clock's start (linear within a day); 0 when off.
pub(crate) fn drift_at(world: &World, acct: usize, now: i64) -> f64 {
    let drift = &world.accounts[acct].drift;
    if drift.is_empty() {
        return 0.0;
    }
    let origin = world.start - (i64::from(world.history_days) + 1) * DAY;
    let at = |t: i64| {
        let x = ((t - origin) as f64 / DAY as f64).clamp(0.0, (drift.len() - 1) as f64);
        let i = x.floor() as usize;
        let j = (i + 1).min(drift.len() - 1);
        drift[i] + (drift[j] - drift[i]) * (x - i as f64)
    };
    at(now) - at(world.start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimConfig;

    fn world(shaped: bool) -> World {
        let mut config = SimConfig::new(7, 20, 50);
        config.anomalies = shaped;
        World::generate(&config)
    }

    #[test]
    fn off_the_shape_is_neutral() {
        let w = world(false);
        let day = crate::time::pacific_date(w.start);
        assert_eq!(day_factor(&w, 0, day), 1.0);
        assert!(injected_anomalies(&w).is_empty());
        assert_eq!(drift_at(&w, 0, w.start + 30 * DAY), 0.0);
    }

    #[test]
    fn on_the_anomalies_are_labelled_and_act_on_their_days() {
        let w = world(true);
        let all = injected_anomalies(&w);
        // 20 accounts × 365 days × 1.8/90 ≈ 146 expected.
        assert!((80..=220).contains(&all.len()), "{}", all.len());
        for kind in [
            InjectedKind::Spike,
            InjectedKind::Drop,
            InjectedKind::LevelShift,
        ] {
            assert!(all.iter().any(|it| it.kind == kind), "{kind:?}");
        }
        let spike = all
            .iter()
            .find(|it| it.kind == InjectedKind::Spike)
            .unwrap();
        let acct = w
            .accounts
            .iter()
            .position(|a| a.ig_user_id == spike.ig_user_id)
            .unwrap();
        let a = &w.accounts[acct];
        let f = day_factor(&w, acct, spike.day) / weekday_factor(a, spike.day);
        assert!(f >= spike.factor - 1e-9, "{f} {}", spike.factor);
        // The drift is 0 at the start and moves afterwards.
        assert_eq!(drift_at(&w, acct, w.start), 0.0);
        assert_ne!(drift_at(&w, acct, w.start - 100 * DAY), 0.0);
    }
}
