//! Pacific-time day arithmetic for account insights: Meta's daily periods end at midnight
//! America/Los_Angeles, so a value's day is the Pacific date of the period that ends at its
//! `end_time`; requests are split into windows of at most 30 days.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;

/// The Pacific day whose 24-hour period ends at `end_time`.
pub(crate) fn pacific_day_ending_at(end_time: DateTime<Utc>) -> NaiveDate {
    let just_before = end_time
        .checked_sub_signed(Duration::seconds(1))
        .unwrap_or(end_time);
    just_before.with_timezone(&Los_Angeles).date_naive()
}

/// Midnight at the start of a Pacific day, in UTC.
pub(crate) fn pacific_day_start(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    // Los Angeles changes clocks at 02:00, so midnight always exists exactly once; fall back
    // to UTC-8 should the zone data ever say otherwise.
    Los_Angeles
        .from_local_datetime(&midnight)
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight) + Duration::hours(8))
}

/// Meta's maximum span between `since` and `until`.
pub(crate) const MAX_WINDOW_SECONDS: i64 = 30 * 86_400;

/// Splits the inclusive day range into windows of at most 30 days whose span in seconds
/// stays within Meta's limit (a window over a DST change may hold one day less), newest
/// first. Empty when `since > until`.
pub(crate) fn windows(since: NaiveDate, until: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut end = until;
    while end >= since {
        let mut start = (end - Duration::days(29)).max(since);
        while start < end
            && (pacific_day_start(end + Duration::days(1)) - pacific_day_start(start)).num_seconds()
                > MAX_WINDOW_SECONDS
        {
            start += Duration::days(1);
        }
        out.push((start, end));
        match start.pred_opt() {
            Some(p) => end = p,
            None => break,
        }
    }
    out
}

/// First and last day accepted in queries (keeps all date arithmetic far from overflow).
pub(crate) fn check_range(since: NaiveDate, until: NaiveDate) -> Result<(), crate::GraphError> {
    let lo = NaiveDate::from_ymd_opt(2010, 1, 1).unwrap_or(NaiveDate::MIN);
    let hi = NaiveDate::from_ymd_opt(2200, 1, 1).unwrap_or(NaiveDate::MAX);
    if since < lo || until > hi {
        return Err(crate::GraphError::InvalidRequest(format!(
            "days must be between {lo} and {hi}"
        )));
    }
    if since > until {
        return Err(crate::GraphError::InvalidRequest(
            "since is after until".to_owned(),
        ));
    }
    Ok(())
}

/// Every day of the inclusive range.
pub(crate) fn each_day(since: NaiveDate, until: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    since.iter_days().take_while(move |d| *d <= until)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::day;

    #[test]
    fn end_time_maps_to_the_pacific_day_it_closes() {
        let summer: DateTime<Utc> = "2018-07-11T07:00:00Z".parse().unwrap();
        assert_eq!(pacific_day_ending_at(summer), day("2018-07-10"));
        let winter: DateTime<Utc> = "2018-01-11T08:00:00Z".parse().unwrap();
        assert_eq!(pacific_day_ending_at(winter), day("2018-01-10"));
        assert_eq!(
            pacific_day_start(day("2018-01-10")),
            "2018-01-10T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            pacific_day_start(day("2018-07-10")),
            "2018-07-10T07:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn windows_cover_the_range_within_the_limit() {
        let (since, until) = (day("2026-01-01"), day("2026-04-10"));
        let w = windows(since, until);
        assert_eq!(w.first().unwrap().1, until);
        assert_eq!(w.last().unwrap().0, since);
        let mut covered = 0;
        for (a, b) in &w {
            assert!(a <= b);
            let span =
                (pacific_day_start(*b + Duration::days(1)) - pacific_day_start(*a)).num_seconds();
            assert!(span <= MAX_WINDOW_SECONDS, "{a}..{b}");
            covered += (*b - *a).num_days() + 1;
        }
        assert_eq!(covered, (until - since).num_days() + 1);
        assert_eq!(w.len(), 4);
        assert!(windows(until, since).is_empty());
    }
}
