//! Small robust statistics used by the analytics: mean, median, trimmed mean, median absolute
//! deviation and Student-t intervals. All functions ignore nothing silently: callers pass only
//! finite values and get `None` for empty input.

/// Sorts finite values ascending (total order, so NaN could never panic the sort).
pub(crate) fn sort(values: &mut [f64]) {
    values.sort_unstable_by(f64::total_cmp);
}

/// Arithmetic mean.
pub(crate) fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(values.iter().sum::<f64>() / values.len() as f64)
}

/// Median of unsorted values in O(n); reorders `values`.
pub(crate) fn median_in_place(values: &mut [f64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let (left, mid, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    let mid = *mid;
    if n % 2 == 1 {
        return Some(mid);
    }
    let below = left.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some((below + mid) / 2.0)
}

/// Mean of the middle 50 % of the values: drops ⌊n/4⌋ values at each end (CrowdTangle's
/// benchmark); with fewer than four values nothing is dropped. O(n); reorders `values`.
pub(crate) fn middle_fifty_mean_in_place(values: &mut [f64]) -> Option<f64> {
    let drop = values.len() / 4;
    if drop == 0 {
        return mean(values);
    }
    // Smallest `drop` values to the left, then the largest `drop` of the rest to the right.
    values.select_nth_unstable_by(drop, f64::total_cmp);
    let rest = &mut values[drop..];
    let keep = rest.len() - drop;
    rest.select_nth_unstable_by(keep, f64::total_cmp);
    mean(&rest[..keep])
}

/// Spread of values around their median, as a standard-deviation-equivalent scale:
/// 1.4826 × MAD; when the MAD is 0 (more than half the values are equal), 1.2533 × the mean
/// absolute deviation from the median; `None` when every value is the same.
pub(crate) fn robust_scale(values: &[f64], median: f64) -> Option<(f64, ScaleKind)> {
    let mut deviations: Vec<f64> = values.iter().map(|it| (it - median).abs()).collect();
    let mad = median_in_place(&mut deviations)?;
    if mad > 0.0 {
        return Some((1.4826 * mad, ScaleKind::Mad));
    }
    let mean_ad = mean(&deviations)?;
    if mean_ad > 0.0 {
        return Some((1.2533 * mean_ad, ScaleKind::MeanAbsoluteDeviation));
    }
    None
}

/// Which estimator [`robust_scale`] used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScaleKind {
    /// 1.4826 × median absolute deviation.
    Mad,
    /// 1.2533 × mean absolute deviation (the MAD was 0).
    MeanAbsoluteDeviation,
}

/// Sample standard deviation (n − 1).
pub(crate) fn sample_sd(values: &[f64], mean: f64) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let ss: f64 = values.iter().map(|it| (it - mean).powi(2)).sum();
    Some((ss / (values.len() - 1) as f64).sqrt())
}

/// Two-sided 95 % critical value of Student's t with `df` degrees of freedom.
pub(crate) fn t_critical_95(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        31..=60 => 2.000,
        61..=120 => 1.980,
        _ => 1.960,
    }
}

/// Mean and 95 % t-interval `(mean, low, high)`; the interval is `None` with fewer than two
/// values.
pub(crate) fn mean_interval_95(values: &[f64]) -> Option<(f64, Option<(f64, f64)>)> {
    let mean = mean(values)?;
    let interval = sample_sd(values, mean).map(|sd| {
        let half = t_critical_95(values.len() - 1) * sd / (values.len() as f64).sqrt();
        (mean - half, mean + half)
    });
    Some((mean, interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median_in_place(&mut []), None);
        assert_eq!(median_in_place(&mut [3.0]), Some(3.0));
        assert_eq!(median_in_place(&mut [10.0, 2.0, 1.0]), Some(2.0));
        assert_eq!(median_in_place(&mut [10.0, 1.0, 4.0, 2.0]), Some(3.0));
    }

    #[test]
    fn middle_fifty_mean_drops_a_quarter_at_each_end() {
        // 8 values: drop 2 at each end, mean of 3, 4, 5, 6 (input deliberately unsorted).
        let mut eight = [1000.0, 3.0, 100.0, 1.0, 6.0, 4.0, 2.0, 5.0];
        assert_eq!(middle_fifty_mean_in_place(&mut eight), Some(4.5));
        // 3 values: nothing dropped.
        assert_eq!(middle_fifty_mean_in_place(&mut [6.0, 1.0, 2.0]), Some(3.0));
        // 5 values: drop 1 at each end.
        assert_eq!(
            middle_fifty_mean_in_place(&mut [99.0, 3.0, 0.0, 4.0, 2.0]),
            Some(3.0)
        );
        assert_eq!(middle_fifty_mean_in_place(&mut [2.0, 1.0]), Some(1.5));
        assert_eq!(middle_fifty_mean_in_place(&mut []), None);
    }

    #[test]
    fn robust_scale_uses_mad_then_mean_deviation_then_gives_up() {
        // deviations from 3: 2, 1, 0, 1, 2 → MAD 1.
        let (s, kind) = robust_scale(&[1.0, 2.0, 3.0, 4.0, 5.0], 3.0).unwrap();
        assert!((s - 1.4826).abs() < 1e-12);
        assert_eq!(kind, ScaleKind::Mad);
        // deviations 0, 0, 0, 4 → MAD 0, mean 1.
        let (s, kind) = robust_scale(&[2.0, 2.0, 2.0, 6.0], 2.0).unwrap();
        assert!((s - 1.2533).abs() < 1e-12);
        assert_eq!(kind, ScaleKind::MeanAbsoluteDeviation);
        assert_eq!(robust_scale(&[7.0, 7.0], 7.0), None);
    }

    #[test]
    fn t_interval_matches_hand_computation() {
        // values 1, 2, 3: mean 2, sd 1, half width 4.303 / √3.
        let (m, ci) = mean_interval_95(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(m, 2.0);
        let (lo, hi) = ci.unwrap();
        let half = 4.303 / 3f64.sqrt();
        assert!((lo - (2.0 - half)).abs() < 1e-12 && (hi - (2.0 + half)).abs() < 1e-12);
        assert_eq!(mean_interval_95(&[5.0]), Some((5.0, None)));
        assert_eq!(t_critical_95(1000), 1.960);
    }
}
