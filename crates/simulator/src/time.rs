//! Time helpers: Unix seconds, Meta's `+0000` timestamp format and Pacific-time day buckets.
//!
//! Account insights are bucketed by days of America/Los_Angeles; a day's `end_time` is the
//! next Pacific midnight expressed in UTC (`T07:00:00+0000` in summer, `T08:00:00+0000` in
//! winter).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;

/// Seconds in an hour.
pub(crate) const HOUR: i64 = 3600;
/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;

/// Formats Unix seconds the way the Graph API does: `2019-04-05T07:56:32+0000`.
pub(crate) fn fmt_ts(ts: i64) -> String {
    use chrono::{Datelike, Timelike};
    // Written by hand: strftime parsing dominated the cost of listing media.
    match DateTime::<Utc>::from_timestamp(ts, 0) {
        Some(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+0000",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        None => "1970-01-01T00:00:00+0000".to_owned(),
    }
}

/// Unix seconds to a UTC date-time.
pub(crate) fn to_utc(ts: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(ts, 0).unwrap_or_default()
}

/// The Pacific calendar day containing `ts`.
pub(crate) fn pacific_date(ts: i64) -> NaiveDate {
    to_utc(ts).with_timezone(&Los_Angeles).date_naive()
}

/// Unix seconds of the Pacific midnight that starts `day`.
pub(crate) fn day_start(day: NaiveDate) -> i64 {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    // Midnight always exists in Los Angeles (DST switches at 02:00), so `earliest` is exact.
    match Los_Angeles.from_local_datetime(&midnight).earliest() {
        Some(t) => t.timestamp(),
        None => midnight.and_utc().timestamp() + 8 * HOUR,
    }
}

/// Unix seconds of the Pacific midnight that ends `day`.
pub(crate) fn day_end(day: NaiveDate) -> i64 {
    day_start(day.succ_opt().unwrap_or(day))
}

/// A stable integer for a day, used as hash input.
pub(crate) fn day_key(day: NaiveDate) -> u64 {
    u64::try_from(chrono::Datelike::num_days_from_ce(&day)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_meta() {
        assert_eq!(fmt_ts(1_554_450_992), "2019-04-05T07:56:32+0000");
    }

    #[test]
    fn pacific_days_end_at_seven_or_eight_utc() {
        let summer = NaiveDate::from_ymd_opt(2025, 7, 10).unwrap();
        let winter = NaiveDate::from_ymd_opt(2025, 1, 10).unwrap();
        assert_eq!(fmt_ts(day_end(summer)), "2025-07-11T07:00:00+0000");
        assert_eq!(fmt_ts(day_end(winter)), "2025-01-11T08:00:00+0000");
        assert_eq!(pacific_date(day_start(summer)), summer);
        assert_eq!(pacific_date(day_end(summer) - 1), summer);
    }
}
