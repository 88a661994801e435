//! The world's daily series read directly, without HTTP: settled account insights per
//! Pacific day, the follower counter at each day's end and the labelled anomalies. The
//! benchmarks of igsync's detectors and forecasters run on these (pure and fast); the same
//! numbers are what the API serves for those days.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::config::SimConfig;
use crate::numbers::account_day_revised;
use crate::shape::{InjectedAnomaly, account_anomalies};
use crate::time::{DAY, day_end, pacific_date};
use crate::world::World;

/// The account metrics [`daily_series`] returns, by their API names.
pub const SERIES_METRICS: [&str; 7] = [
    "reach",
    "views",
    "profile_views",
    "website_clicks",
    "profile_links_taps",
    "total_interactions",
    "follower_count",
];

/// One account's daily series over the world's history.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountSeries {
    /// The account.
    pub ig_user_id: String,
    /// Its username.
    pub username: String,
    /// The first Pacific day of every series.
    pub first_day: NaiveDate,
    /// Metric (one of [`SERIES_METRICS`]) → settled value per day from `first_day`.
    pub metrics: BTreeMap<&'static str, Vec<u64>>,
    /// Followers at the end of each day from `first_day`.
    pub followers: Vec<u64>,
    /// The labelled anomalies starting in the covered days (empty unless
    /// [`SimConfig::anomalies`]).
    pub anomalies: Vec<InjectedAnomaly>,
}

/// Every account's series from the first whole Pacific day of the history to the last day
/// settled (48 h) before the clock's start, as the world of `config` has them.
pub fn daily_series(config: &SimConfig) -> Vec<AccountSeries> {
    daily_series_as_of(config, config.now)
}

/// [`daily_series`] as the running simulator of `config` serves them once its clock reads
/// `as_of` (not before the start): the same world, with the days settled by then. (A
/// configuration whose start is `as_of` is another world: its history starts elsewhere and
/// its numbers differ.)
pub fn daily_series_as_of(config: &SimConfig, as_of: DateTime<Utc>) -> Vec<AccountSeries> {
    let world = World::generate(config);
    let now = world.start.max(as_of.timestamp());
    let first_day =
        pacific_date(world.start - i64::from(world.history_days) * DAY) + chrono::Days::new(1);
    let last_day = pacific_date(now - 3 * DAY);
    let days: Vec<NaiveDate> = first_day
        .iter_days()
        .take_while(|d| *d <= last_day)
        .collect();
    (0..world.accounts.len())
        .map(|acct| {
            let a = &world.accounts[acct];
            let mut metrics: BTreeMap<&'static str, Vec<u64>> = SERIES_METRICS
                .iter()
                .map(|m| (*m, Vec::with_capacity(days.len())))
                .collect();
            let mut followers = Vec::with_capacity(days.len());
            for day in &days {
                let v = account_day_revised(&world, acct, *day, now, 1.0).unwrap_or_default();
                for m in SERIES_METRICS {
                    let value = v.get(m).unwrap_or_default();
                    metrics.entry(m).or_default().push(value);
                }
                followers.push(world.followers_at(acct, day_end(*day).min(now)));
            }
            AccountSeries {
                ig_user_id: a.ig_user_id.clone(),
                username: a.username.clone(),
                first_day,
                metrics,
                followers,
                anomalies: account_anomalies(&world, acct, first_day, last_day),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_cover_the_settled_history_and_carry_the_labels() {
        let mut config = SimConfig::new(3, 4, 100);
        config.history_days = 120;
        config.anomalies = true;
        let all = daily_series(&config);
        assert_eq!(all.len(), 4);
        for s in &all {
            assert_eq!(s.followers.len(), s.metrics["reach"].len());
            assert!(
                (115..=118).contains(&s.followers.len()),
                "{}",
                s.followers.len()
            );
            for a in &s.anomalies {
                assert!(a.day >= s.first_day);
            }
        }
        assert!(all.iter().map(|s| s.anomalies.len()).sum::<usize>() > 0);
        // Three days on, the same world: the same days' numbers, three days more.
        let later = daily_series_as_of(&config, config.now + chrono::Duration::days(3));
        for (now, on) in all.iter().zip(&later) {
            assert_eq!(on.first_day, now.first_day);
            assert_eq!(on.followers.len(), now.followers.len() + 3);
            let n = now.followers.len();
            assert_eq!(on.metrics["reach"][..n], now.metrics["reach"][..]);
            assert_eq!(on.followers[..n], now.followers[..]);
        }
        // Off: the same world without labels.
        config.anomalies = false;
        assert!(daily_series(&config).iter().all(|s| s.anomalies.is_empty()));
    }
}
