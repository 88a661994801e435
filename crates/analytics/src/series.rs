//! `DailySeries`: one value per calendar day over a contiguous range of days, `None` where
//! the day has no value. The input of anomaly detection and forecasting.
//!
//! A day without data stays `None`: it is neither a 0 nor interpolated. Series are built from
//! the stored account insights (the API's day buckets), from the follower counter (the last
//! sample of each local day in the account's time zone, so a 23- or 25-hour day around a DST
//! switch is still one day) or directly from values.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use chrono_tz::Tz;

use crate::input::{AccountHistory, AccountMetric, FollowerSample};
use crate::period::local_date;

/// Values per day from `start`, one entry per consecutive day.
#[derive(Debug, Clone, PartialEq)]
pub struct DailySeries {
    /// The first day.
    pub start: NaiveDate,
    /// One value per day from `start`; `None` = no value that day. Values are finite.
    pub values: Vec<Option<f64>>,
}

impl DailySeries {
    /// A series from its first day and values; non-finite values become `None`.
    pub fn new(start: NaiveDate, values: Vec<Option<f64>>) -> DailySeries {
        let values = values
            .into_iter()
            .map(|it| it.filter(|v| v.is_finite()))
            .collect();
        DailySeries { start, values }
    }

    /// A series spanning the first to the last day given; days not given are `None`. When a
    /// day is given twice the later value wins.
    pub fn from_points(points: impl IntoIterator<Item = (NaiveDate, f64)>) -> DailySeries {
        let by_day: BTreeMap<NaiveDate, f64> = points.into_iter().collect();
        let (Some((&first, _)), Some((&last, _))) =
            (by_day.first_key_value(), by_day.last_key_value())
        else {
            return DailySeries {
                start: NaiveDate::MIN,
                values: Vec::new(),
            };
        };
        let len = (last - first).num_days() as usize + 1;
        let mut values = vec![None; len];
        for (day, v) in by_day {
            values[(day - first).num_days() as usize] = Some(v).filter(|it| it.is_finite());
        }
        DailySeries {
            start: first,
            values,
        }
    }

    /// The stored daily values of one account metric.
    pub fn account_metric(history: &AccountHistory, metric: AccountMetric) -> DailySeries {
        DailySeries::from_points(
            history
                .daily_metrics
                .iter()
                .filter(|it| it.metric == metric)
                .map(|it| (it.day, it.value as f64)),
        )
    }

    /// Followers at the last sample of each local day in `tz`; days without a sync are `None`.
    pub fn followers(samples: &[FollowerSample], tz: Tz) -> DailySeries {
        let mut sorted: Vec<&FollowerSample> = samples.iter().collect();
        sorted.sort_by_key(|it| it.captured_at);
        DailySeries::from_points(
            sorted
                .into_iter()
                .map(|it| (local_date(tz, it.captured_at), it.followers as f64)),
        )
    }

    /// Day-over-day change of a stock (e.g. followers): the value of each day minus the value
    /// of the day before, `None` unless both days have a value (a change over a sync gap is
    /// not one day's change).
    pub fn day_over_day(&self) -> DailySeries {
        let values = (0..self.values.len())
            .map(|i| {
                match (
                    i.checked_sub(1).and_then(|p| self.values[p]),
                    self.values[i],
                ) {
                    (Some(before), Some(now)) => Some(now - before),
                    _ => None,
                }
            })
            .collect();
        DailySeries {
            start: self.start,
            values,
        }
    }

    /// Number of days covered.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the series covers no day.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The date of position `idx`.
    pub fn day(&self, idx: usize) -> NaiveDate {
        self.start
            .checked_add_days(Days::new(idx as u64))
            .unwrap_or(NaiveDate::MAX)
    }

    /// Position of `day`, if the series covers it.
    pub fn index_of(&self, day: NaiveDate) -> Option<usize> {
        let idx = usize::try_from((day - self.start).num_days()).ok()?;
        (idx < self.values.len()).then_some(idx)
    }

    /// The value on `day`.
    pub fn get(&self, day: NaiveDate) -> Option<f64> {
        self.values[self.index_of(day)?]
    }

    /// The last day covered.
    pub fn last_day(&self) -> Option<NaiveDate> {
        self.values.len().checked_sub(1).map(|it| self.day(it))
    }

    /// The series up to and including position `idx` (what was known on that day).
    pub fn truncated(&self, idx: usize) -> DailySeries {
        DailySeries {
            start: self.start,
            values: self.values[..(idx + 1).min(self.values.len())].to_vec(),
        }
    }

    /// Number of days with a value.
    pub fn present(&self) -> usize {
        self.values.iter().filter(|it| it.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn gaps_are_none_and_later_points_win() {
        let s = DailySeries::from_points([
            (d(2026, 3, 3), 5.0),
            (d(2026, 3, 1), 1.0),
            (d(2026, 3, 3), 7.0),
        ]);
        assert_eq!(s.start, d(2026, 3, 1));
        assert_eq!(s.values, [Some(1.0), None, Some(7.0)]);
        assert_eq!(s.get(d(2026, 3, 2)), None);
        assert_eq!(s.get(d(2026, 3, 4)), None);
        assert_eq!(s.last_day(), Some(d(2026, 3, 3)));
        assert_eq!(s.present(), 2);
        assert!(DailySeries::from_points([]).is_empty());
        let nan = DailySeries::new(d(2026, 1, 1), vec![Some(f64::NAN), Some(2.0)]);
        assert_eq!(nan.values, [None, Some(2.0)]);
    }

    #[test]
    fn followers_are_the_last_sample_of_each_local_day_across_dst() {
        // Berlin switches to summer time on Sun 29 Mar 2026 (a 23-hour day). 22:30 UTC on
        // the 29th is 00:30 local on the 30th; 21:30 UTC is 23:30 local on the 29th.
        let sample = |h: (u32, u32, u32), followers| FollowerSample {
            captured_at: Utc.with_ymd_and_hms(2026, 3, h.0, h.1, h.2, 0).unwrap(),
            followers,
            ..Default::default()
        };
        let samples = [
            sample((29, 22, 30), 130),
            sample((28, 10, 0), 100),
            sample((29, 21, 30), 120),
            sample((29, 8, 0), 110),
        ];
        let s = DailySeries::followers(&samples, chrono_tz::Europe::Berlin);
        assert_eq!(s.start, d(2026, 3, 28));
        assert_eq!(s.values, [Some(100.0), Some(120.0), Some(130.0)]);
        let change = s.day_over_day();
        assert_eq!(change.values, [None, Some(20.0), Some(10.0)]);
        // A gap day breaks the change on both sides.
        let gappy = DailySeries::new(d(2026, 1, 1), vec![Some(1.0), None, Some(4.0), Some(6.0)]);
        assert_eq!(gappy.day_over_day().values, [None, None, None, Some(2.0)]);
    }
}
