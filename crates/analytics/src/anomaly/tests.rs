//! Tests of the anomaly baseline, band and verdicts on small hand-computed series.

use chrono::Duration;

use super::*;
use crate::input::{DailyMetricValue, MediaProductType};
use crate::testkit::{date, followers, likes_only, snap, typed_post, utc};

/// Mon 5 Jan 2026 plus `idx` days.
fn monday() -> NaiveDate {
    date(2026, 1, 5)
}

/// Nine weeks from Mon 5 Jan 2026, every day of week `w` at `pattern[w % 8]` (so each
/// weekday's eight earlier values are the whole pattern), then a last Tuesday (position 57)
/// with `last`.
fn weekly(pattern: [f64; 8], last: Option<f64>) -> DailySeries {
    let mut values: Vec<Option<f64>> = (0..57).map(|i| Some(pattern[(i / 7) % 8])).collect();
    values.push(last);
    DailySeries::new(monday(), values)
}

/// The tests' band: k = 4, whatever the measured default is.
fn k4() -> AnomalyConfig {
    AnomalyConfig {
        k: 4.0,
        ..AnomalyConfig::default()
    }
}

const SPREAD: [f64; 8] = [20.0, 40.0, 80.0, 40.0, 20.0, 80.0, 40.0, 40.0];

#[test]
fn the_weekday_baseline_is_the_median_and_mad_of_the_same_weekday_on_the_log_scale() {
    let s = weekly(SPREAD, Some(300.0));
    let b = baseline(&s, 57, SeriesKind::Count, &k4()).unwrap();
    assert_eq!(b.kind, BaselineKind::Weekday);
    assert_eq!(b.n, 8);
    // ln(1+x) of the eight earlier Tuesdays: two ln 21, four ln 41, two ln 81 → median ln 41.
    assert!((b.center - 41f64.ln()).abs() < 1e-12);
    assert!((b.usual - 40.0).abs() < 1e-9);
    // Every weekday's deviations from its median: 0,0,0,0,0.66905,0.66905,0.68088,0.68088
    // → MAD 0.334525, × 1.4826.
    assert!((b.scale - 0.495_966_49).abs() < 1e-6, "{}", b.scale);
    // Band: e^(ln 41 ± 4 × 0.49597) − 1.
    assert!((b.high - 297.1027).abs() < 1e-3, "{}", b.high);
    assert!((b.low - 4.6390).abs() < 1e-3, "{}", b.low);
}

#[test]
fn the_center_is_the_same_weekday_so_a_busy_weekend_is_not_an_anomaly() {
    // Weekdays 100, weekends 1000, eight weeks; then a Saturday and a Tuesday of 1000.
    let day = |i: usize| if i % 7 >= 5 { 1000.0 } else { 100.0 };
    let mut values: Vec<Option<f64>> = (0..62).map(|i| Some(day(i))).collect();
    let s = DailySeries::new(monday(), values.clone());
    let config = k4();
    assert_eq!(s.day(61), date(2026, 3, 7)); // a Saturday
    assert_eq!(
        assess_day(&s, 61, SeriesKind::Count, "reach", &config),
        Ok(None)
    );
    values[57] = Some(1000.0); // a Tuesday
    let s = DailySeries::new(monday(), values);
    let a = assess_day(&s, 57, SeriesKind::Count, "reach", &config)
        .unwrap()
        .unwrap();
    // Usual Tuesday 100; no spread at all → the counting floor 1/√101.
    assert!((a.baseline.usual - 100.0).abs() < 1e-9);
    assert!((a.baseline.scale - 1.0 / 101f64.sqrt()).abs() < 1e-12);
    assert!(
        a.message.contains("10× the usual Tuesday (1,000 vs 100)"),
        "{}",
        a.message
    );
}

#[test]
fn a_day_beyond_k_is_an_anomaly_with_its_size_and_rarity_in_words() {
    let config = k4();
    let s = weekly(SPREAD, Some(300.0));
    let a = assess_day(&s, 57, SeriesKind::Count, "reach", &config)
        .unwrap()
        .unwrap();
    assert_eq!(a.day, date(2026, 3, 3));
    assert_eq!(a.direction, Direction::Above);
    // z = (ln 301 − ln 41) / 0.495966 = 4.0195.
    let z = a.robust_z.value.unwrap();
    assert!((z - 4.019_501_8).abs() < 1e-6, "{z}");
    assert_eq!(a.robust_z.key, "anomaly_robust_z");
    assert!((a.ratio.value.unwrap() - 7.5).abs() < 1e-9);
    // P(Z > 4.0195) = 2.916e-5 → 1 in 34,293 → two significant digits.
    assert!((a.one_in_days.value.unwrap() - 34_292.8).abs() < 5.0);
    assert_eq!(
        a.message,
        "reach on Tue 3 Mar 2026 was 7.5× the usual Tuesday (300 vs 40); 1 in ~34,000 days by this baseline"
    );
    // 290 is inside the band (z = 3.95).
    let inside = weekly(SPREAD, Some(290.0));
    assert_eq!(
        assess_day(&inside, 57, SeriesKind::Count, "reach", &config),
        Ok(None)
    );
    // A smaller k flags it.
    let k3 = AnomalyConfig { k: 3.0, ..config };
    assert!(
        assess_day(&inside, 57, SeriesKind::Count, "reach", &k3)
            .unwrap()
            .is_some()
    );
}

#[test]
fn the_counting_noise_floors_the_scale_of_a_quiet_series() {
    // Tuesdays 36…44: MAD scale 0.0353 on the log scale, below the Poisson floor 1/√41.
    let s = weekly(
        [40.0, 42.0, 38.0, 40.0, 44.0, 36.0, 40.0, 40.0],
        Some(136.0),
    );
    let config = k4();
    let a = assess_day(&s, 57, SeriesKind::Count, "reach", &config)
        .unwrap()
        .unwrap();
    assert!((a.baseline.scale - 1.0 / 41f64.sqrt()).abs() < 1e-12);
    // z = (ln 137 − ln 41) × √41 = 7.7248.
    assert!((a.robust_z.value.unwrap() - 7.724_785_8).abs() < 1e-6);
    assert_eq!(
        a.message,
        "reach on Tue 3 Mar 2026 was 3.4× the usual Tuesday (136 vs 40); rarer than 1 in a million days by this baseline"
    );
    // 50 would have been an anomaly on the MAD scale alone (z ≈ 5.8), not with the floor.
    let s = weekly([40.0, 42.0, 38.0, 40.0, 44.0, 36.0, 40.0, 40.0], Some(50.0));
    assert_eq!(
        assess_day(&s, 57, SeriesKind::Count, "reach", &config),
        Ok(None)
    );
}

#[test]
fn drops_below_the_band_are_anomalies_too() {
    let s = weekly(SPREAD, Some(1.0));
    let a = assess_day(&s, 57, SeriesKind::Count, "views", &k4())
        .unwrap()
        .unwrap();
    assert_eq!(a.direction, Direction::Below);
    // z = (ln 2 − ln 41) / 0.495966 = −6.0901.
    assert!((a.robust_z.value.unwrap() + 6.090_1).abs() < 1e-3);
    assert!(
        a.message
            .starts_with("views on Tue 3 Mar 2026 was 0.0× the usual Tuesday (1 vs 40)"),
        "{}",
        a.message
    );
}

#[test]
fn missing_days_are_skipped_never_zero() {
    // Four of the eight earlier Tuesdays are missing: the other four (all 40) still make a
    // weekday baseline; the missing ones did not pull the median to 0.
    let mut s = weekly([40.0; 8], Some(40.0));
    for week in [0, 2, 4, 6] {
        s.values[1 + 7 * week] = None;
    }
    let b = baseline(&s, 57, SeriesKind::Count, &k4()).unwrap();
    assert_eq!((b.kind, b.n), (BaselineKind::Weekday, 4));
    assert!((b.usual - 40.0).abs() < 1e-9);
    // The day itself missing: no verdict, not an anomaly at 0.
    let s = weekly([40.0; 8], None);
    assert_eq!(
        assess_day(&s, 57, SeriesKind::Count, "reach", &k4()),
        Err(NoBaseline::NoValue)
    );
    assert!(detect_anomalies(&s, SeriesKind::Count, "reach", &k4()).is_empty());
}

#[test]
fn short_history_falls_back_to_recent_days_with_low_confidence_then_gives_up() {
    let config = k4();
    // 20 days: two earlier Tuesdays only, 14 recent days present.
    let mut values = vec![Some(10.0); 20];
    values.push(Some(100.0));
    let s = DailySeries::new(monday(), values);
    let b = baseline(&s, 20, SeriesKind::Count, &config).unwrap();
    assert_eq!((b.kind, b.n), (BaselineKind::RecentDays, 14));
    // All ten: MAD 0 and mean deviation 0 → the floor 1/√11.
    assert!((b.scale - 1.0 / 11f64.sqrt()).abs() < 1e-12);
    let a = assess_day(&s, 20, SeriesKind::Count, "profile views", &config)
        .unwrap()
        .unwrap();
    assert!(
        a.message.starts_with("profile views on Sun 25 Jan 2026 was 10× the usual day of the last 14 days (100 vs 10);")
            && a.message.ends_with("by this baseline (low confidence: fewer than 4 earlier Sundays)"),
        "{}",
        a.message
    );
    // Six present days before: too short.
    let s = DailySeries::new(monday(), vec![Some(10.0); 7]);
    assert_eq!(
        baseline(&s, 6, SeriesKind::Count, &config),
        Err(NoBaseline::TooShort { present: 6 })
    );
}

#[test]
fn signed_changes_are_compared_as_they_are() {
    // Tuesdays' follower change 3…7, median 5; MAD 0.5 → 0.7413 < floor 1 → band 5 ± 4.
    let s = weekly([5.0, 6.0, 4.0, 5.0, 5.0, 7.0, 3.0, 5.0], Some(-3.0));
    let config = k4();
    let b = baseline(&s, 57, SeriesKind::Change, &config).unwrap();
    assert_eq!((b.usual, b.low, b.high, b.scale), (5.0, 1.0, 9.0, 1.0));
    let a = assess_day(&s, 57, SeriesKind::Change, "follower change", &config)
        .unwrap()
        .unwrap();
    assert_eq!(a.robust_z.value, Some(-8.0));
    assert_eq!(a.ratio.value, None);
    assert!(
        a.message.starts_with(
            "follower change on Tue 3 Mar 2026 was -3 against the usual Tuesday of +5;"
        ),
        "{}",
        a.message
    );
}

#[test]
fn rarity_is_the_normal_upper_tail() {
    assert_eq!(AnomalyConfig::default().k, DEFAULT_K);
    // P(Z > 2.878) ≈ 0.002 → "1 in ~500 days".
    assert_eq!(rarity(1.0 / upper_tail(2.878)), "1 in ~500 days");
    assert!((upper_tail(0.0) - 0.5).abs() < 1e-7);
    assert!((upper_tail(1.96) - 0.025).abs() < 1e-5);
    assert!((upper_tail(-1.0) - 0.841_344_7).abs() < 1e-6);
    assert_eq!(rarity(2e6), "rarer than 1 in a million days");
    assert_eq!(count(1234567.0), "1,234,567");
    assert_eq!(count(-1234.0), "-1,234");
}

#[test]
fn account_anomalies_check_the_stored_series_and_the_follower_change() {
    let mut history = AccountHistory::default();
    let s = weekly(SPREAD, Some(300.0));
    for (i, v) in s.values.iter().enumerate() {
        if let Some(v) = v {
            history.daily_metrics.push(DailyMetricValue {
                day: s.day(i),
                metric: AccountMetric::Reach,
                value: *v as i64,
            });
        }
    }
    // Followers +5 a day at noon UTC for 57 days, then +200 on the last day.
    let mut n = 1000;
    for i in 0..58 {
        n += if i == 57 { 200 } else { 5 };
        history
            .follower_samples
            .push(followers(utc(2026, 1, 5, 12, 0) + Duration::days(i), n));
    }
    let found = account_anomalies(&history, date(2026, 3, 3), 1, &k4());
    let keys: Vec<_> = found.iter().map(|it| it.series).collect();
    assert_eq!(keys, ["reach", "follower_change"]);
    assert!(
        found[1]
            .anomaly
            .message
            .contains("+200 against the usual Tuesday of +5")
    );
    // Further back, anything flagged in the first weeks rests on the fallback baseline and
    // says so.
    // The last day not yet final: nothing is assessed after `last_day`.
    assert!(account_anomalies(&history, date(2026, 3, 2), 1, &k4()).is_empty());
    let all = account_anomalies(&history, date(2026, 3, 3), 60, &k4());
    for it in all.iter().filter(|it| it.anomaly.day < date(2026, 2, 2)) {
        assert_eq!(
            it.anomaly.baseline.kind,
            BaselineKind::RecentDays,
            "{}",
            it.anomaly.message
        );
    }
}

#[test]
fn posts_far_from_same_age_peers_are_anomalies_both_ways() {
    let mut posts = Vec::new();
    for (i, v) in [40, 42, 38, 40, 44, 36, 40, 41, 39].iter().enumerate() {
        let at = utc(2026, 1, 1, 12, 0) + Duration::days(i as i64);
        let mut p = typed_post(
            &format!("p{i}"),
            MediaProductType::Feed,
            at,
            likes_only(*v, 400),
        );
        p.snapshots = vec![snap(at, 24, likes_only(*v, 400))];
        posts.push(p);
    }
    for (id, v) in [("big", 400), ("flop", 2)] {
        let at = utc(2026, 1, 20, 12, 0);
        let mut p = typed_post(id, MediaProductType::Feed, at, likes_only(v, 400));
        p.snapshots = vec![snap(at, 24, likes_only(v, 400))];
        posts.push(p);
    }
    let history = AccountHistory {
        posts,
        ..Default::default()
    };
    let as_of = utc(2026, 1, 21, 13, 0);
    let found = post_anomalies(&history, [9, 10], as_of, &k4());
    assert_eq!(found.len(), 2);
    assert_eq!(
        (found[0].ig_media_id.as_str(), found[0].direction),
        ("big", Direction::Above)
    );
    assert_eq!(
        (found[1].ig_media_id.as_str(), found[1].direction),
        ("flop", Direction::Below)
    );
    assert!(
        found[0]
            .message
            .contains("10× that of its 9 same-type peers"),
        "{}",
        found[0].message
    );
    // A usual post is not an anomaly.
    assert!(post_anomalies(&history, [8], as_of, &k4()).is_empty());
}
