//! Tests of follower growth and its daily series.

use chrono_tz::Europe::Berlin;
use chrono_tz::UTC;

use super::*;
use crate::testkit::{date, followers, utc};

fn timeline(samples: &[FollowerSample]) -> FollowerTimeline {
    FollowerTimeline::new(samples)
}

#[test]
fn growth_between_the_bracketing_samples_with_a_gap_aware_daily_series() {
    let t = timeline(&[
        followers(utc(2026, 3, 1, 10, 0), 1000), // before the period
        followers(utc(2026, 3, 3, 9, 0), 1010),
        followers(utc(2026, 3, 3, 20, 0), 1020), // last of Mar 3
        followers(utc(2026, 3, 6, 12, 0), 1050), // Mar 4 and 5 without sync
        followers(utc(2026, 3, 9, 12, 0), 2000), // after the period
    ]);
    let period = Period::new(date(2026, 3, 2), date(2026, 3, 7)).unwrap();
    let g = follower_growth(&t, &period, UTC);

    assert_eq!(g.start.value, Some(1000.0));
    assert_eq!(
        g.start_sample.unwrap().1,
        StartSampleChoice::AtOrBeforeStart
    );
    assert_eq!(g.end.value, Some(1050.0));
    assert_eq!(g.growth_abs.value, Some(50.0));
    assert_eq!(g.growth_abs.key, "follower_growth_abs");
    assert_eq!(g.growth_pct.value, Some(5.0)); // 50 / 1000
    assert_eq!(g.growth_pct.key, "follower_growth_pct");
    assert_eq!(
        g.daily,
        vec![
            DailyFollowers {
                day: date(2026, 3, 3),
                followers: 1020,
                captured_at: utc(2026, 3, 3, 20, 0),
                change: Some(20),
                days_spanned: Some(2),
            },
            DailyFollowers {
                day: date(2026, 3, 6),
                followers: 1050,
                captured_at: utc(2026, 3, 6, 12, 0),
                change: Some(30),
                days_spanned: Some(3),
            },
        ]
    );
    assert_eq!(
        (g.days_in_period, g.days_with_samples, g.longest_gap_days),
        (6, 2, 2)
    );
    let note = g.growth_abs.note.unwrap();
    assert!(
        note.contains("last sample in the period is from 2026-03-06"),
        "{note}"
    );
    assert!(
        note.contains("4 of 6 day(s) without a sync (longest gap 2 day(s))"),
        "{note}"
    );
}

#[test]
fn an_old_start_sample_is_used_and_flagged() {
    let t = timeline(&[
        followers(utc(2026, 2, 20, 10, 0), 500),
        followers(utc(2026, 3, 5, 10, 0), 520),
    ]);
    let period = Period::new(date(2026, 3, 1), date(2026, 3, 5)).unwrap();
    let g = follower_growth(&t, &period, UTC);
    assert_eq!(g.growth_abs.value, Some(20.0));
    assert_eq!(g.growth_pct.value, Some(4.0));
    assert!(
        g.start
            .note
            .unwrap()
            .contains("9 days before the period start")
    );
}

#[test]
fn without_an_earlier_sample_growth_starts_at_the_first_sample_in_the_period() {
    let t = timeline(&[
        followers(utc(2026, 3, 2, 10, 0), 200),
        followers(utc(2026, 3, 4, 10, 0), 150),
    ]);
    let period = Period::new(date(2026, 3, 1), date(2026, 3, 4)).unwrap();
    let g = follower_growth(&t, &period, UTC);
    assert_eq!(g.start_sample.unwrap().1, StartSampleChoice::FirstInPeriod);
    assert_eq!(g.growth_abs.value, Some(-50.0));
    assert_eq!(g.growth_pct.value, Some(-25.0));
    assert!(
        g.growth_abs
            .note
            .unwrap()
            .contains("no sample before the period")
    );
    assert_eq!(g.daily[0].change, None);
    assert_eq!(g.daily[1].change, Some(-50));
}

#[test]
fn one_or_no_sample_gives_no_growth() {
    let period = Period::new(date(2026, 3, 1), date(2026, 3, 4)).unwrap();
    let one = follower_growth(
        &timeline(&[followers(utc(2026, 3, 2, 0, 0), 10)]),
        &period,
        UTC,
    );
    assert_eq!(one.growth_abs.value, None);
    assert_eq!(
        one.growth_abs.note.as_deref(),
        Some("only one follower sample")
    );

    let none = follower_growth(&timeline(&[]), &period, UTC);
    assert_eq!(none.growth_abs.value, None);
    assert_eq!(none.start.value, None);
    assert_eq!(none.longest_gap_days, 4);

    // Samples only before the period: nothing was measured in it.
    let before = follower_growth(
        &timeline(&[followers(utc(2026, 2, 1, 0, 0), 10)]),
        &period,
        UTC,
    );
    assert_eq!(
        before.growth_abs.note.as_deref(),
        Some("no follower sample in the period")
    );
}

#[test]
fn zero_followers_at_the_start_gives_no_percentage() {
    let t = timeline(&[
        followers(utc(2026, 3, 1, 0, 0), 0),
        followers(utc(2026, 3, 2, 0, 0), 7),
    ]);
    let period = Period::new(date(2026, 3, 1), date(2026, 3, 2)).unwrap();
    let g = follower_growth(&t, &period, UTC);
    assert_eq!(g.growth_abs.value, Some(7.0));
    assert_eq!(g.growth_pct.value, None);
}

#[test]
fn days_are_local_days_of_the_account() {
    // 23:30 UTC on Mar 1 is 00:30 on Mar 2 in Berlin.
    let t = timeline(&[
        followers(utc(2026, 3, 1, 12, 0), 100),
        followers(utc(2026, 3, 1, 23, 30), 110),
    ]);
    let period = Period::new(date(2026, 3, 2), date(2026, 3, 2)).unwrap();
    let berlin = follower_growth(&t, &period, Berlin);
    assert_eq!(berlin.daily.len(), 1);
    assert_eq!(berlin.daily[0].day, date(2026, 3, 2));
    assert_eq!(berlin.growth_abs.value, Some(10.0));
    // In UTC both samples are on Mar 1: nothing in the period.
    assert_eq!(follower_growth(&t, &period, UTC).growth_abs.value, None);
}

#[test]
fn before_two_samples_meta_daily_changes_give_the_growth() {
    let period = Period::new(date(2026, 3, 1), date(2026, 3, 4)).unwrap();
    let changes = [
        (date(2026, 3, 2), 5),
        (date(2026, 3, 3), -2),
        (date(2026, 3, 4), 4),
    ];
    // The first sync: one counter sample, and Meta's daily changes for three days.
    let one = follower_growth(
        &timeline(&[followers(utc(2026, 3, 4, 9, 0), 1000)]),
        &period,
        UTC,
    )
    .or_api_daily_changes(&changes);
    assert_eq!(one.growth_abs.value, Some(7.0));
    assert_eq!(one.growth_abs.key, "follower_growth_abs");
    assert_eq!(
        one.growth_abs.note.as_deref(),
        Some(
            "sum of Meta's daily follower changes (only one follower sample: the counter \
             cannot be measured yet); data for 3 of 4 day(s)"
        )
    );
    assert_eq!(one.source, GrowthSource::ApiDailyChanges { days: 3 });
    assert_eq!(one.growth_pct.value, None);
    assert!(
        one.growth_pct
            .note
            .as_deref()
            .unwrap()
            .contains("followers at the period start are not known")
    );

    // Missing stays missing without daily changes, never 0.
    let none = follower_growth(&timeline(&[]), &period, UTC).or_api_daily_changes(&[]);
    assert_eq!(none.growth_abs.value, None);
    assert_eq!(none.source, GrowthSource::Samples);

    // Two samples measure the growth; the daily changes do not replace it.
    let two = follower_growth(
        &timeline(&[
            followers(utc(2026, 3, 1, 9, 0), 1000),
            followers(utc(2026, 3, 4, 9, 0), 1010),
        ]),
        &period,
        UTC,
    )
    .or_api_daily_changes(&changes);
    assert_eq!(two.growth_abs.value, Some(10.0));
    assert_eq!(two.growth_pct.value, Some(1.0));
    assert_eq!(two.source, GrowthSource::Samples);
}
