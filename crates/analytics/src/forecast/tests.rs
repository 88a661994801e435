//! Tests of the forecasters, their intervals, the method choice and milestones, on small
//! hand-computed series.

use super::*;
use crate::testkit::date;

fn line(days: usize, start: f64, slope: f64) -> DailySeries {
    DailySeries::new(
        date(2026, 1, 1),
        (0..days).map(|i| Some(start + slope * i as f64)).collect(),
    )
}

#[test]
fn damped_smoothing_follows_the_hand_computed_recursion() {
    // y = 1, 2, 3, 4; α 0.5, β 0.1, φ 0.9; level 1, trend 1 (slope to the next value).
    // t1: ŷ 1.9, e 0.1, ℓ 1.95, b 0.91; t2: ŷ 2.769, e 0.231, ℓ 2.8845, b 0.8421;
    // t3: ŷ 3.64239, e 0.35761, ℓ 3.821195, b 0.793651.
    let values = [Some(1.0), Some(2.0), Some(3.0), Some(4.0)];
    let (level, trend, sse, n) = run_damped(&values, 0.5, 0.1, 0.9);
    assert!((level - 3.821_195).abs() < 1e-12);
    assert!((trend - 0.793_651).abs() < 1e-12);
    assert!((sse - 0.191_245_912_1).abs() < 1e-12);
    assert_eq!(n, 3);
    // A missing day moves the state on without an update: ℓ + φb, φb.
    let gappy = [Some(1.0), Some(2.0), None, Some(4.0)];
    let (_, _, _, n) = run_damped(&gappy, 0.5, 0.1, 0.9);
    assert_eq!(n, 2);
    assert_eq!(damp_sum(0.5, 3), 0.875);
    assert_eq!(damp_sum(1.0, 4), 4.0);
}

#[test]
fn the_damped_interval_has_the_state_space_variance() {
    let fit = DampedFit {
        alpha: 0.5,
        beta: 0.1,
        phi: 0.9,
        level: 10.0,
        trend: 2.0,
        sigma2: 1.0,
    };
    // c1 = 0.5 + 0.1 × 0.9 = 0.59; c2 = 0.5 + 0.1 × 1.71 = 0.671 → 1 + 0.3481 + 0.450241.
    assert!((fit.variance(3) - 1.798_341).abs() < 1e-12);
    assert_eq!(fit.variance(1), 1.0);
    // Point: 10 + (0.9 + 0.81) × 2.
    assert!((fit.point(2) - 13.42).abs() < 1e-12);
    assert!((normal_quantile(0.9) - 1.281_551_6).abs() < 1e-6);
    assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-6);
    assert!((normal_quantile(0.01) + 2.326_347_9).abs() < 1e-6);
}

#[test]
fn a_straight_line_is_continued_exactly_and_chosen_by_backtest() {
    // 100 + 5t over 60 days (1 Jan – 1 Mar 2026): the robust line is exact, its past errors
    // are all 0, and it beats the smoothing in the backtest.
    let s = line(60, 100.0, 5.0);
    let f = forecast(&s, 30, &ForecastConfig::default()).unwrap();
    assert_eq!(f.method, ForecastMethod::RobustTrend, "{}", f.why);
    assert!(f.why.starts_with("robust_trend by backtest"), "{}", f.why);
    let p = f.at(7).unwrap();
    assert_eq!(p.day, date(2026, 3, 8));
    assert!((p.value - 430.0).abs() < 1e-9);
    assert!((p.low - 430.0).abs() < 1e-9 && (p.high - 430.0).abs() < 1e-9);
    assert_eq!(f.value_figure(7).key, "forecast_value");
    assert_eq!(f.value_figure(31).value, None);

    let m = milestone(&f, 395.0, next_round_number(395.0), "@brand", "followers").unwrap();
    assert_eq!(m.target, 500.0);
    assert_eq!(m.day, date(2026, 3, 22));
    // Three weeks out, fewer than 20 past errors exist at that horizon: the band is the
    // smoothing's analytic one, so the milestone gets a range around the day.
    assert!(
        m.earliest <= m.day && m.latest.is_some_and(|l| l >= m.day),
        "{m:?}"
    );
    assert!(
        m.message
            .starts_with("at this pace @brand reaches 500 followers around 22 Mar 2026 (80 %: "),
        "{}",
        m.message
    );
}

#[test]
fn the_robust_line_ignores_gaps_and_outliers() {
    // y = 2t with every third day missing and one wild value: slope still 2.
    let mut values: Vec<Option<f64>> = (0..40)
        .map(|i| (i % 3 != 1).then_some(2.0 * i as f64))
        .collect();
    values[30] = Some(10_000.0);
    let (level, slope) = robust_line(&values, 56).unwrap();
    assert!((slope - 2.0).abs() < 1e-12, "{slope}");
    assert!((level - 78.0).abs() < 1e-12, "{level}");
    let points = point_forecast(
        &values,
        ForecastMethod::RobustTrend,
        2,
        &ForecastConfig::default(),
    );
    assert_eq!(points, [80.0, 82.0]);
}

#[test]
fn milestones_read_the_band_edges() {
    let points = (1..=5)
        .map(|h| ForecastPoint {
            day: date(2026, 3, 1) + chrono::Days::new(h as u64),
            horizon: h,
            value: 100.0 * h as f64,
            low: 100.0 * h as f64 - 150.0,
            high: 100.0 * h as f64 + 150.0,
        })
        .collect();
    let f = Forecast {
        method: ForecastMethod::DampedTrend,
        level: 0.8,
        last_day: date(2026, 3, 1),
        points,
        why: String::new(),
    };
    // 400: point at h 4, upper edge at h 3 (250 + 150), lower edge never (500 − 150 < 400).
    let m = milestone(&f, 0.0, 400.0, "@brand", "followers").unwrap();
    assert_eq!(
        (m.day, m.earliest, m.latest),
        (date(2026, 3, 5), date(2026, 3, 4), None)
    );
    assert_eq!(
        m.message,
        "at this pace @brand reaches 400 followers around 5 Mar 2026 (80 %: 4 Mar 2026 – after 6 Mar 2026)"
    );
    let m = milestone(&f, 0.0, 300.0, "@brand", "followers").unwrap();
    assert_eq!(m.latest, Some(date(2026, 3, 6)));
    assert_eq!(milestone(&f, 0.0, 600.0, "@brand", "followers"), None);
    assert_eq!(next_round_number(395.0), 500.0);
    assert_eq!(next_round_number(48_000.0), 50_000.0);
    assert_eq!(next_round_number(50_000.0), 100_000.0);
    assert_eq!(next_round_number(0.0), 1.0);
}

#[test]
fn too_little_history_or_a_bad_level_is_an_error() {
    let s = line(10, 1.0, 1.0);
    assert_eq!(
        forecast(&s, 7, &ForecastConfig::default()),
        Err(ForecastError::TooShort {
            present: 10,
            needed: 14
        })
    );
    let config = ForecastConfig {
        level: 1.0,
        ..ForecastConfig::default()
    };
    assert_eq!(
        forecast(&line(30, 1.0, 1.0), 7, &config),
        Err(ForecastError::BadLevel)
    );
    assert_eq!(
        ForecastError::TooShort {
            present: 10,
            needed: 14
        }
        .to_string(),
        "too little history to forecast: 10 days with a value, 14 needed"
    );
}

#[test]
fn noisy_series_get_intervals_that_widen_with_the_horizon() {
    // A deterministic wiggle around a slope: both methods give finite, widening bands.
    let s = DailySeries::new(
        date(2026, 1, 1),
        (0..120)
            .map(|i| Some(1000.0 + 3.0 * i as f64 + [0.0, 7.0, -4.0, 3.0, -6.0][i % 5]))
            .collect(),
    );
    for method in ForecastMethod::ALL {
        let config = ForecastConfig {
            method: MethodChoice::Fixed(method),
            ..ForecastConfig::default()
        };
        let f = forecast(&s, 90, &config).unwrap();
        let w = |h: usize| {
            let p = f.at(h).unwrap();
            assert!(p.low <= p.value && p.value <= p.high, "{method:?} {p:?}");
            p.high - p.low
        };
        assert!(
            w(1) > 0.0 && w(90) >= w(7),
            "{method:?}: {} {}",
            w(1),
            w(90)
        );
        // The truth, 1449 (± 7), is inside the 80 % band of the undamped line; the damped
        // trend bends below it by design.
        if method == ForecastMethod::RobustTrend {
            let p = f.at(30).unwrap();
            assert!(p.low <= 1449.0 && 1449.0 <= p.high, "{p:?}");
        }
    }
}

#[test]
fn intervals_come_from_past_errors_with_a_conformal_correction_and_extrapolate() {
    // Effective size: alternating errors are not positively correlated (ρ clamps to 0):
    // n = 4. For 1, 2, 3, 4: mean 2.5, Σd² = 5, Σ lag-one products = 1.25, ρ = 0.25,
    // n = 4 × 0.75 / 1.25 = 2.4.
    assert_eq!(effective_size(&[1.0, -1.0, 1.0, -1.0]), 4.0);
    assert!((effective_size(&[1.0, 2.0, 3.0, 4.0]) - 2.4).abs() < 1e-12);

    // Quantiles of 0..=10 at 80 %: with n = 99 the upper level is 0.9 × 100/99 = 0.90909…,
    // at position 9.0909… of the sorted errors; with n = 9 it is 0.9 × 10/9 = 1: the
    // extremes.
    let sorted: Vec<f64> = (0..=10).map(f64::from).collect();
    let (lo, hi) = error_band(&sorted, 0.8, 99.0);
    assert!((hi - 100.0 / 11.0).abs() < 1e-9, "{hi}");
    assert!((lo - 10.0 / 11.0).abs() < 1e-9, "{lo}");
    assert_eq!(error_band(&sorted, 0.8, 9.0), (0.0, 10.0));

    // Ten errors ±1 one step ahead and ten ±2 two steps ahead: 10 and 5 windows, read
    // directly (n = 10, their autocorrelation being negative: the extremes ±1, ±2; the
    // upper level 0.9 × 11/10 = 0.99 falls between two equal errors). Three steps ahead has
    // 10 / 3 < 5 windows: the band of two steps grows as (h/2)^γ, γ = ln(4/2) / ln(2/1) = 1.
    let alternating = |a: f64| (0..10).map(|i| if i % 2 == 0 { -a } else { a }).collect();
    let errors: Vec<Vec<f64>> = vec![
        alternating(1.0),
        alternating(2.0),
        alternating(50.0),
        Vec::new(),
    ];
    let bands = error_bands(&errors, 0.8);
    let expected = [(-1.0, 1.0), (-2.0, 2.0), (-3.0, 3.0), (-4.0, 4.0)];
    for (b, e) in bands.iter().zip(expected) {
        let (lo, hi) = b.unwrap();
        assert!(
            (lo - e.0).abs() < 1e-9 && (hi - e.1).abs() < 1e-9,
            "{bands:?}"
        );
    }
    // Errors that all lean one way still give a band around the point forecast.
    let bands = error_bands(&[(1..=10).map(f64::from).collect()], 0.8);
    assert_eq!(bands[0].unwrap().0, 0.0);
    // Too few errors even one step ahead: no band (the analytic interval is used).
    assert_eq!(error_bands(&[vec![1.0, 2.0]], 0.8), vec![None]);
}
