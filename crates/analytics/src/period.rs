//! Report periods: inclusive ranges of local dates in the account's time zone, and the
//! DST-correct conversion of local days to UTC instants.
//!
//! A period `2026-03-01..=2026-03-31` in `Europe/Berlin` selects everything published from
//! local midnight of March 1 up to (excluding) local midnight of April 1, whatever the UTC
//! offset did in between. A local day is 23, 24 or 25 hours long around DST switches.

use std::fmt;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::input::Post;

/// An inclusive range of local dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    start: NaiveDate,
    end: NaiveDate,
}

/// Why a period could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeriodError {
    /// The end date is before the start date.
    EndBeforeStart {
        /// Requested first day.
        start: NaiveDate,
        /// Requested last day.
        end: NaiveDate,
    },
    /// The period (or the one before it) leaves the supported calendar range.
    OutOfRange,
    /// A period of zero days was requested.
    Empty,
}

impl fmt::Display for PeriodError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeriodError::EndBeforeStart { start, end } => {
                write!(f, "period end {end} is before its start {start}")
            }
            PeriodError::OutOfRange => f.write_str("period is outside the supported date range"),
            PeriodError::Empty => f.write_str("a period must span at least one day"),
        }
    }
}

impl std::error::Error for PeriodError {}

impl Period {
    /// The days `start..=end`.
    pub fn new(start: NaiveDate, end: NaiveDate) -> Result<Period, PeriodError> {
        if end < start {
            return Err(PeriodError::EndBeforeStart { start, end });
        }
        // Keep one day of headroom on both sides so day arithmetic never overflows.
        if start.pred_opt().is_none() || end.succ_opt().and_then(|it| it.succ_opt()).is_none() {
            return Err(PeriodError::OutOfRange);
        }
        Ok(Period { start, end })
    }

    /// The `days` local days ending with `last_day` (inclusive).
    pub fn ending_on(last_day: NaiveDate, days: u32) -> Result<Period, PeriodError> {
        if days == 0 {
            return Err(PeriodError::Empty);
        }
        let start = last_day
            .checked_sub_days(Days::new(u64::from(days) - 1))
            .ok_or(PeriodError::OutOfRange)?;
        Period::new(start, last_day)
    }

    /// The `days` local days up to and including the local date of `now`.
    pub fn last_days(now: DateTime<Utc>, tz: Tz, days: u32) -> Result<Period, PeriodError> {
        Period::ending_on(now.with_timezone(&tz).date_naive(), days)
    }

    /// First day (inclusive).
    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// Last day (inclusive).
    pub fn end(&self) -> NaiveDate {
        self.end
    }

    /// Number of days in the period.
    pub fn n_days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    /// The period of equal length that ends the day before this one starts.
    pub fn previous(&self) -> Result<Period, PeriodError> {
        let end = self.start.pred_opt().ok_or(PeriodError::OutOfRange)?;
        let days = u32::try_from(self.n_days()).map_err(|_| PeriodError::OutOfRange)?;
        Period::ending_on(end, days)
    }

    /// Whether `day` is one of the period's days.
    pub fn contains_day(&self, day: NaiveDate) -> bool {
        self.start <= day && day <= self.end
    }

    /// Whether the instant `at` falls on one of the period's local days in `tz`.
    pub fn contains_instant(&self, tz: Tz, at: DateTime<Utc>) -> bool {
        self.contains_day(local_date(tz, at))
    }

    /// The period as the half-open UTC interval `[start, end)`: from local midnight of the
    /// first day to local midnight after the last day.
    pub fn utc_bounds(&self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        // `new` guarantees a successor of `end` exists.
        let after = self.end.succ_opt().unwrap_or(self.end);
        (local_day_start(tz, self.start), local_day_start(tz, after))
    }

    /// The days of the period in order.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let end = self.end;
        self.start.iter_days().take_while(move |it| *it <= end)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..={}", self.start, self.end)
    }
}

/// Indices of the posts published during `period` (local dates in `tz`), ordered by publish
/// time and then media id.
pub fn posts_in_period(posts: &[Post], period: &Period, tz: Tz) -> Vec<usize> {
    let (from, to) = period.utc_bounds(tz);
    let mut res: Vec<usize> = posts
        .iter()
        .enumerate()
        .filter(|(_, p)| p.published_at >= from && p.published_at < to)
        .map(|(idx, _)| idx)
        .collect();
    res.sort_by(|a, b| {
        let (pa, pb) = (&posts[*a], &posts[*b]);
        pa.published_at
            .cmp(&pb.published_at)
            .then_with(|| pa.ig_media_id.cmp(&pb.ig_media_id))
    });
    res
}

/// The first instant of local day `day` in `tz`: local midnight, or when midnight does not
/// exist (a DST switch at midnight), the first local time of that day that does; when midnight
/// occurs twice, the earlier one.
pub fn local_day_start(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_time(NaiveTime::MIN);
    if let Some(it) = tz.from_local_datetime(&midnight).earliest() {
        return it.with_timezone(&Utc);
    }
    // Midnight falls into a gap: walk forward in 15-minute steps (all real-world gaps are
    // whole quarter hours and shorter than a day).
    for quarter in 1..=96 {
        let local = midnight + chrono::Duration::minutes(15 * quarter);
        if let Some(it) = tz.from_local_datetime(&local).earliest() {
            return it.with_timezone(&Utc);
        }
    }
    // Unreachable for real time zones; fall back to reading the local day as UTC.
    Utc.from_utc_datetime(&midnight)
}

/// The local calendar date of an instant in `tz`.
pub fn local_date(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

#[cfg(test)]
mod tests;
