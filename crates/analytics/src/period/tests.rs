//! Tests of periods and local days, including DST switches in New York and Berlin.

use chrono::Duration;
use chrono_tz::America::{Havana, New_York, Sao_Paulo};
use chrono_tz::Europe::Berlin;

use super::*;
use crate::testkit::{date, utc};

#[test]
fn new_york_spring_forward_day_is_23_hours() {
    // 2026-03-08: clocks go from 02:00 EST to 03:00 EDT.
    let p = Period::new(date(2026, 3, 8), date(2026, 3, 8)).unwrap();
    let (from, to) = p.utc_bounds(New_York);
    assert_eq!(from, utc(2026, 3, 8, 5, 0)); // 00:00 EST = UTC−5
    assert_eq!(to, utc(2026, 3, 9, 4, 0)); // 00:00 EDT = UTC−4
    assert_eq!(to - from, Duration::hours(23));
}

#[test]
fn new_york_fall_back_day_is_25_hours() {
    // 2026-11-01: clocks go from 02:00 EDT back to 01:00 EST.
    let p = Period::new(date(2026, 11, 1), date(2026, 11, 1)).unwrap();
    let (from, to) = p.utc_bounds(New_York);
    assert_eq!(from, utc(2026, 11, 1, 4, 0));
    assert_eq!(to, utc(2026, 11, 2, 5, 0));
    assert_eq!(to - from, Duration::hours(25));
}

#[test]
fn berlin_switch_days() {
    // 2026-03-29: 02:00 CET → 03:00 CEST; 2026-10-25: 03:00 CEST → 02:00 CET.
    let spring = Period::new(date(2026, 3, 29), date(2026, 3, 29))
        .unwrap()
        .utc_bounds(Berlin);
    assert_eq!(spring, (utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 22, 0)));
    let autumn = Period::new(date(2026, 10, 25), date(2026, 10, 25))
        .unwrap()
        .utc_bounds(Berlin);
    assert_eq!(autumn, (utc(2026, 10, 24, 22, 0), utc(2026, 10, 25, 23, 0)));
    assert_eq!(autumn.1 - autumn.0, Duration::hours(25));
}

#[test]
fn a_month_across_the_switch_starts_and_ends_at_local_midnight() {
    let march = Period::new(date(2026, 3, 1), date(2026, 3, 31)).unwrap();
    let (from, to) = march.utc_bounds(Berlin);
    assert_eq!(from, utc(2026, 2, 28, 23, 0)); // CET
    assert_eq!(to, utc(2026, 3, 31, 22, 0)); // CEST
    assert_eq!(march.n_days(), 31);
    assert_eq!(march.days().count(), 31);
}

#[test]
fn midnight_that_does_not_exist_starts_the_day_at_the_first_valid_time() {
    // São Paulo 2018-11-04: 00:00 jumped to 01:00 (UTC−2 from then on).
    assert_eq!(
        local_day_start(Sao_Paulo, date(2018, 11, 4)),
        utc(2018, 11, 4, 3, 0)
    );
    // Havana 2025-11-02: 01:00 CDT fell back to 00:00 CST, so midnight happened twice; the
    // earlier one (UTC−4) starts the day, which is therefore 25 hours long.
    assert_eq!(
        local_day_start(Havana, date(2025, 11, 2)),
        utc(2025, 11, 2, 4, 0)
    );
    assert_eq!(
        local_day_start(Havana, date(2025, 11, 3)),
        utc(2025, 11, 3, 5, 0)
    );
}

#[test]
fn previous_period_has_equal_length_and_ends_the_day_before() {
    let march = Period::new(date(2026, 3, 1), date(2026, 3, 31)).unwrap();
    let prev = march.previous().unwrap();
    assert_eq!(
        (prev.start(), prev.end()),
        (date(2026, 1, 29), date(2026, 2, 28))
    );
    assert_eq!(prev.n_days(), 31);
    let week = Period::ending_on(date(2026, 3, 7), 7).unwrap();
    assert_eq!(week.start(), date(2026, 3, 1));
    assert_eq!(
        week.previous().unwrap().to_string(),
        "2026-02-22..=2026-02-28"
    );
}

#[test]
fn bad_periods_are_errors_not_panics() {
    assert_eq!(
        Period::new(date(2026, 3, 2), date(2026, 3, 1)),
        Err(PeriodError::EndBeforeStart {
            start: date(2026, 3, 2),
            end: date(2026, 3, 1)
        })
    );
    assert_eq!(
        Period::ending_on(date(2026, 3, 1), 0),
        Err(PeriodError::Empty)
    );
    assert_eq!(
        Period::new(NaiveDate::MIN, date(2026, 1, 1)),
        Err(PeriodError::OutOfRange)
    );
    assert_eq!(
        Period::new(date(2026, 1, 1), NaiveDate::MAX),
        Err(PeriodError::OutOfRange)
    );
    assert_eq!(
        Period::ending_on(date(2026, 3, 1), u32::MAX),
        Err(PeriodError::OutOfRange)
    );
    let whole = Period::new(NaiveDate::MIN.succ_opt().unwrap(), date(2026, 1, 1)).unwrap();
    assert_eq!(whole.previous(), Err(PeriodError::OutOfRange));
    assert!(PeriodError::Empty.to_string().contains("at least one day"));
}

#[test]
fn last_days_uses_the_local_date_of_now() {
    // 2026-03-08 03:30 UTC is still March 7 in New York.
    let p = Period::last_days(utc(2026, 3, 8, 3, 30), New_York, 7).unwrap();
    assert_eq!((p.start(), p.end()), (date(2026, 3, 1), date(2026, 3, 7)));
    assert_eq!(
        local_date(Berlin, utc(2026, 3, 28, 23, 30)),
        date(2026, 3, 29)
    );
    assert!(p.contains_day(date(2026, 3, 1)) && !p.contains_day(date(2026, 3, 8)));
}

#[test]
fn posts_are_selected_by_local_publish_date_in_new_york_across_fall_back() {
    use crate::testkit::{likes_only, post};
    // Sunday 2026-11-01 is 25 hours long in New York: 04:00 UTC to 05:00 UTC next day.
    let posts = [
        post("late", utc(2026, 11, 2, 4, 59), likes_only(1, 1)), // 23:59 EST on Nov 1
        post("before", utc(2026, 11, 1, 3, 59), likes_only(1, 1)), // 23:59 EDT on Oct 31
        post("first", utc(2026, 11, 1, 4, 0), likes_only(1, 1)), // 00:00 EDT on Nov 1
        post("after", utc(2026, 11, 2, 5, 0), likes_only(1, 1)), // 00:00 EST on Nov 2
    ];
    let p = Period::new(date(2026, 11, 1), date(2026, 11, 1)).unwrap();
    assert_eq!(posts_in_period(&posts, &p, New_York), [2, 0]);
    assert!(p.contains_instant(New_York, utc(2026, 11, 2, 4, 59)));
    assert!(!p.contains_instant(New_York, utc(2026, 11, 2, 5, 0)));
    // The same instants in Berlin: Nov 1 runs 2026-10-31 23:00 to 2026-11-01 23:00 UTC.
    assert_eq!(posts_in_period(&posts, &p, Berlin), [1, 2]);
}
