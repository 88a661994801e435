//! The real Graph API's edges, decided deterministically by seed: how long a young post's
//! insights stay empty, which settled account days Meta revises late (and by how much), and
//! which days of `online_followers` are not served yet. They apply only while the world's
//! `edges` option is on; revisions asked for through the control API apply always.

use chrono::NaiveDate;

use crate::hash::{h, hs, range, unit};
use crate::numbers::DAY_SETTLE;
use crate::time::{DAY, HOUR, day_end, day_key};
use crate::world::World;

/// Shortest and longest time a new post's insights answer `{"data": []}`.
const DATA_DELAY_MIN: i64 = 10 * 60;
const DATA_DELAY_MAX: i64 = 6 * HOUR;

/// Seconds after publication during which a post's insights are an empty data set.
pub(crate) fn post_data_delay(world: &World, acct: usize, idx: usize) -> i64 {
    let key = world.accounts[acct].key;
    let span = (DATA_DELAY_MAX - DATA_DELAY_MIN) as u64;
    DATA_DELAY_MIN + (h(&[key, hs("data-delay"), idx as u64]) % span) as i64
}

/// Whether a post has no insights yet at `now` (edges on).
pub(crate) fn post_has_no_data_yet(world: &World, acct: usize, idx: usize, now: i64) -> bool {
    let p = &world.accounts[acct].posts[idx];
    now >= p.ts && now < p.ts + post_data_delay(world, acct, idx)
}

/// Share of account days Meta revises after the 48 h settling window.
const LATE_REVISION_SHARE: f64 = 0.12;

/// A late revision of one account day: when it lands and the factor it applies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LateRevision {
    pub(crate) at: i64,
    pub(crate) factor: f64,
}

/// The late revision of an account day, if Meta revises that day after it settled.
pub(crate) fn late_revision(world: &World, acct: usize, day: NaiveDate) -> Option<LateRevision> {
    let key = world.accounts[acct].key;
    let dk = day_key(day);
    if unit(h(&[key, hs("late-revision"), dk])) >= LATE_REVISION_SHARE {
        return None;
    }
    // Between 2 and 7 days after the day ended: after the documented 48 h.
    let after =
        DAY_SETTLE + (range(h(&[key, hs("late-revision-at"), dk]), 0.0, 5.0) * DAY as f64) as i64;
    let factor = range(h(&[key, hs("late-revision-factor"), dk]), 0.96, 1.06);
    Some(LateRevision {
        at: day_end(day) + after,
        factor,
    })
}

/// Number of most recent complete days of `online_followers` that error (edges on).
pub(crate) const ONLINE_FOLLOWERS_GAP_DAYS: i64 = 2;

/// Whether `online_followers` of `day` is in the not-yet-served gap at `today`.
pub(crate) fn online_followers_not_ready(day: NaiveDate, today: NaiveDate) -> bool {
    let back = (today - day).num_days();
    (1..=ONLINE_FOLLOWERS_GAP_DAYS).contains(&back)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;

    #[test]
    fn delays_stay_in_range_and_revisions_are_rare_and_late() {
        let w = World::generate(&SimConfig::new(5, 2, 50));
        for idx in 0..w.accounts[0].posts.len() {
            let d = post_data_delay(&w, 0, idx);
            assert!((DATA_DELAY_MIN..DATA_DELAY_MAX).contains(&d), "{d}");
        }
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let days: Vec<NaiveDate> = (0..1000)
            .map(|i| start + chrono::Duration::days(i))
            .collect();
        let revised: Vec<(NaiveDate, LateRevision)> = days
            .iter()
            .filter_map(|d| late_revision(&w, 0, *d).map(|r| (*d, r)))
            .collect();
        assert!(
            revised.len() > 60 && revised.len() < 200,
            "{}",
            revised.len()
        );
        for (d, r) in revised {
            assert!(r.at >= day_end(d) + DAY_SETTLE);
            assert!((0.96..1.06).contains(&r.factor));
        }
        let today = start;
        assert!(!online_followers_not_ready(today, today));
        assert!(online_followers_not_ready(
            today - chrono::Duration::days(1),
            today
        ));
        assert!(online_followers_not_ready(
            today - chrono::Duration::days(2),
            today
        ));
        assert!(!online_followers_not_ready(
            today - chrono::Duration::days(3),
            today
        ));
    }
}
