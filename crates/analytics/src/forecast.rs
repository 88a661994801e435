//! Forecasts of a daily series (followers; weekly views) with prediction intervals, and the
//! milestone sentence built on them ("reaches 50,000 followers around 14 Mar (80 %: 2 Mar –
//! 1 Apr)").
//!
//! Two methods, chosen per series by backtest (never by taste):
//! * [`ForecastMethod::DampedTrend`]: additive damped-trend exponential smoothing, smoothing
//!   and damping picked from a fixed grid by the smallest one-step squared error.
//! * [`ForecastMethod::RobustTrend`]: a straight line through the trailing window, its slope
//!   the median of the slopes between the window's two halves (robust to outliers).
//!
//! Intervals are calibrated per horizon from each method's own past errors at that horizon
//! (from every past origin, a day apart): their quantiles with a split-conformal correction
//! for the number of independent errors, extrapolated past the horizons the history can
//! measure (see `error_bands`). Deterministic: no random numbers. Only a series too short
//! for even one-step errors gets the analytic interval of the damped trend's state-space form
//! (`σ²(1 + Σ c_j²)`, `c_j = α + βφ(1−φʲ)/(1−φ)`).
//!
//! With [`MethodChoice::Auto`], both methods are backtested on the series' own last weeks
//! (rolling origins a week apart) and the one with the smaller mean absolute error is used.
//! Missing days are skipped by the smoothing (its state moves on without an update) and
//! ignored by the trend; they are never 0.

use chrono::NaiveDate;

use crate::definition as def;
use crate::figure::Figure;
use crate::series::DailySeries;
use crate::stats::median_in_place;

/// How the method is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodChoice {
    /// By backtest on the series itself.
    Auto,
    /// Always this method.
    Fixed(ForecastMethod),
}

/// A forecasting method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForecastMethod {
    /// Additive damped-trend exponential smoothing with analytic intervals.
    DampedTrend,
    /// Robust linear trend with empirical error-quantile intervals.
    RobustTrend,
}

impl ForecastMethod {
    /// Both methods.
    pub const ALL: [ForecastMethod; 2] = [ForecastMethod::DampedTrend, ForecastMethod::RobustTrend];

    /// Stable key.
    pub const fn key(self) -> &'static str {
        match self {
            ForecastMethod::DampedTrend => "damped_trend",
            ForecastMethod::RobustTrend => "robust_trend",
        }
    }
}

/// Settings of the forecaster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastConfig {
    /// Coverage of the prediction interval (0.8 = 80 %).
    pub level: f64,
    /// How the method is chosen.
    pub method: MethodChoice,
    /// Days of the robust trend's window.
    pub trend_window: usize,
    /// Rolling origins (a week apart) of the method choice backtest.
    pub backtest_origins: usize,
    /// Present days needed before any forecast.
    pub min_history: usize,
    /// Values are counts that cannot go below 0 (interval edges are clipped at 0).
    pub non_negative: bool,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        ForecastConfig {
            level: 0.8,
            method: MethodChoice::Auto,
            trend_window: 56,
            backtest_origins: 4,
            min_history: 14,
            non_negative: true,
        }
    }
}

/// Why there is no forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForecastError {
    /// Fewer present days than `min_history`.
    TooShort {
        /// Present days.
        present: usize,
        /// Needed.
        needed: usize,
    },
    /// The interval level is not strictly between 0 and 1.
    BadLevel,
}

impl std::fmt::Display for ForecastError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForecastError::TooShort { present, needed } => write!(
                f,
                "too little history to forecast: {present} days with a value, {needed} needed"
            ),
            ForecastError::BadLevel => f.write_str("the interval level must be between 0 and 1"),
        }
    }
}

impl std::error::Error for ForecastError {}

/// One forecast day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastPoint {
    /// The day.
    pub day: NaiveDate,
    /// Days after the series' last day.
    pub horizon: usize,
    /// Point forecast (`forecast_value`).
    pub value: f64,
    /// Lower edge of the prediction interval (`forecast_interval`).
    pub low: f64,
    /// Upper edge of the prediction interval (`forecast_interval`).
    pub high: f64,
}

/// A forecast of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// The method used.
    pub method: ForecastMethod,
    /// The interval level.
    pub level: f64,
    /// The last day of the history.
    pub last_day: NaiveDate,
    /// One point per day, horizons 1..=max.
    pub points: Vec<ForecastPoint>,
    /// Why this method: the backtest errors of both, or that it was fixed.
    pub why: String,
}

impl Forecast {
    /// The point `horizon` days after the last day.
    pub fn at(&self, horizon: usize) -> Option<&ForecastPoint> {
        self.points.get(horizon.checked_sub(1)?)
    }

    /// The point forecast at `horizon` as a figure (`forecast_value`).
    pub fn value_figure(&self, horizon: usize) -> Figure {
        match self.at(horizon) {
            Some(p) => Figure::new(&def::FORECAST_VALUE, Some(p.value)).with_note(format!(
                "{} from {}, {:.0} % interval {:.0} – {:.0}",
                self.method.key(),
                self.last_day,
                self.level * 100.0,
                p.low,
                p.high
            )),
            None => Figure::missing(&def::FORECAST_VALUE, "beyond the forecast horizon"),
        }
    }
}

/// Forecasts `series` `max_horizon` days past its last day.
pub fn forecast(
    series: &DailySeries,
    max_horizon: usize,
    config: &ForecastConfig,
) -> Result<Forecast, ForecastError> {
    if !(config.level > 0.0 && config.level < 1.0) {
        return Err(ForecastError::BadLevel);
    }
    let present = series.present();
    if present < config.min_history.max(3) {
        return Err(ForecastError::TooShort {
            present,
            needed: config.min_history.max(3),
        });
    }
    let (method, why) = match config.method {
        MethodChoice::Fixed(m) => (m, format!("{} (fixed)", m.key())),
        MethodChoice::Auto => choose(series, config),
    };
    let last_day = series
        .last_day()
        .expect("a series with values has a last day");
    let paths = match method {
        ForecastMethod::DampedTrend => damped_forecast(&series.values, max_horizon, config),
        ForecastMethod::RobustTrend => trend_forecast(&series.values, max_horizon, config),
    };
    let points = paths
        .into_iter()
        .enumerate()
        .map(|(i, (value, low, high))| {
            let clip = |v: f64| if config.non_negative { v.max(0.0) } else { v };
            ForecastPoint {
                day: series.day(series.len() - 1 + i + 1),
                horizon: i + 1,
                value: clip(value),
                low: clip(low),
                high: clip(high),
            }
        })
        .collect();
    Ok(Forecast {
        method,
        level: config.level,
        last_day,
        points,
        why,
    })
}

/// Point forecasts of one method for horizons 1..=h from `values` (no intervals): for
/// backtests.
pub fn point_forecast(
    values: &[Option<f64>],
    method: ForecastMethod,
    h: usize,
    config: &ForecastConfig,
) -> Vec<f64> {
    match method {
        ForecastMethod::DampedTrend => {
            let fit = fit_damped(values);
            (1..=h).map(|k| fit.point(k)).collect()
        }
        ForecastMethod::RobustTrend => match robust_line(values, config.trend_window) {
            Some((level, slope)) => (1..=h).map(|k| level + slope * k as f64).collect(),
            None => vec![f64::NAN; h],
        },
    }
}

fn choose(series: &DailySeries, config: &ForecastConfig) -> (ForecastMethod, String) {
    let n = series.len();
    let h = 14.min(n / 4).max(1);
    let mut errors = [0.0f64; 2];
    let mut counted = [0usize; 2];
    for o in 0..config.backtest_origins {
        let Some(origin) = n.checked_sub(1 + h + 7 * o) else {
            break;
        };
        let past = &series.values[..=origin];
        if past.iter().flatten().count() < config.min_history.max(3) {
            break;
        }
        for (m, method) in ForecastMethod::ALL.iter().enumerate() {
            let f = point_forecast(past, *method, h, config);
            for (k, v) in f.iter().enumerate() {
                if let Some(actual) = series.values[origin + 1 + k]
                    && v.is_finite()
                {
                    errors[m] += (actual - v).abs();
                    counted[m] += 1;
                }
            }
        }
    }
    if counted.contains(&0) {
        return (
            ForecastMethod::DampedTrend,
            "damped_trend (too little history to backtest both methods)".to_string(),
        );
    }
    let mae = [errors[0] / counted[0] as f64, errors[1] / counted[1] as f64];
    let method = if mae[1] < mae[0] {
        ForecastMethod::RobustTrend
    } else {
        ForecastMethod::DampedTrend
    };
    (
        method,
        format!(
            "{} by backtest: mean absolute error over {h} days ahead {:.1} (damped trend) vs {:.1} (robust trend)",
            method.key(),
            mae[0],
            mae[1]
        ),
    )
}

/// A fitted damped-trend model.
#[derive(Debug, Clone, Copy)]
struct DampedFit {
    alpha: f64,
    beta: f64,
    phi: f64,
    level: f64,
    trend: f64,
    sigma2: f64,
}

impl DampedFit {
    fn point(&self, h: usize) -> f64 {
        self.level + damp_sum(self.phi, h) * self.trend
    }

    /// Variance of the h-step error: σ²(1 + Σ_{j<h} c_j²).
    fn variance(&self, h: usize) -> f64 {
        let mut sum = 1.0;
        for j in 1..h {
            let c = self.alpha + self.beta * damp_sum(self.phi, j);
            sum += c * c;
        }
        self.sigma2 * sum
    }
}

/// φ + φ² + … + φʰ.
fn damp_sum(phi: f64, h: usize) -> f64 {
    if (phi - 1.0).abs() < 1e-12 {
        return h as f64;
    }
    phi * (1.0 - phi.powi(h as i32)) / (1.0 - phi)
}

const ALPHAS: [f64; 8] = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0];
const BETAS: [f64; 5] = [0.0, 0.01, 0.03, 0.1, 0.3];
const PHIS: [f64; 4] = [0.8, 0.9, 0.95, 0.98];

/// Runs the smoothing with fixed parameters: final (level, trend), Σe², number of errors.
fn run_damped(values: &[Option<f64>], alpha: f64, beta: f64, phi: f64) -> (f64, f64, f64, usize) {
    let mut present = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)));
    let Some((i0, y0)) = present.next() else {
        return (f64::NAN, 0.0, 0.0, 0);
    };
    // Initial trend: the slope to the next present value.
    let trend0 = present
        .next()
        .map_or(0.0, |(i1, y1)| (y1 - y0) / (i1 - i0) as f64);
    let (mut level, mut trend) = (y0, trend0);
    let (mut sse, mut n) = (0.0, 0usize);
    for v in &values[i0 + 1..] {
        let predicted = level + phi * trend;
        match v {
            Some(y) => {
                let e = y - predicted;
                level = predicted + alpha * e;
                trend = phi * trend + beta * e;
                sse += e * e;
                n += 1;
            }
            None => {
                level = predicted;
                trend *= phi;
            }
        }
    }
    (level, trend, sse, n)
}

fn fit_damped(values: &[Option<f64>]) -> DampedFit {
    let mut best: Option<(f64, DampedFit)> = None;
    for &alpha in &ALPHAS {
        for &beta in BETAS.iter().filter(|b| **b <= alpha) {
            for &phi in &PHIS {
                let (level, trend, sse, n) = run_damped(values, alpha, beta, phi);
                let fit = DampedFit {
                    alpha,
                    beta,
                    phi,
                    level,
                    trend,
                    sigma2: if n > 0 { sse / n as f64 } else { 0.0 },
                };
                if best.as_ref().is_none_or(|(b, _)| sse < *b) {
                    best = Some((sse, fit));
                }
            }
        }
    }
    best.map(|(_, f)| f).expect("the grid is not empty")
}

fn damped_forecast(
    values: &[Option<f64>],
    h: usize,
    config: &ForecastConfig,
) -> Vec<(f64, f64, f64)> {
    let fit = fit_damped(values);
    let qhi = 0.5 + config.level / 2.0;
    let past = damped_errors(values, &fit, h);
    let bands = error_bands(&past, config.level);
    (1..=h)
        .map(|k| {
            let p = fit.point(k);
            match bands[k - 1] {
                Some((lo, hi)) => (p, p + lo, p + hi),
                None => {
                    let half = normal_quantile(qhi) * fit.variance(k).sqrt();
                    (p, p - half, p + half)
                }
            }
        })
        .collect()
}

/// The fitted smoothing's own past errors at horizons 1..=h, sorted: from every past state
/// of one pass over the history (the parameters are the final fit's).
fn damped_errors(values: &[Option<f64>], fit: &DampedFit, h: usize) -> Vec<Vec<f64>> {
    let mut errors = vec![Vec::new(); h];
    let mut present = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)));
    let Some((i0, y0)) = present.next() else {
        return errors;
    };
    let trend0 = present
        .next()
        .map_or(0.0, |(i1, y1)| (y1 - y0) / (i1 - i0) as f64);
    let (mut level, mut trend) = (y0, trend0);
    // Skip the first two weeks of states: the start is not yet smoothed.
    for (t, v) in values.iter().enumerate().skip(i0 + 1) {
        if t >= i0 + 14 {
            for (k, slot) in errors.iter_mut().enumerate() {
                if let Some(Some(actual)) = values.get(t - 1 + k + 1) {
                    let predicted = level + damp_sum(fit.phi, k + 1) * trend;
                    slot.push(actual - predicted);
                }
            }
        }
        let predicted = level + fit.phi * trend;
        match v {
            Some(y) => {
                let e = y - predicted;
                level = predicted + fit.alpha * e;
                trend = fit.phi * trend + fit.beta * e;
            }
            None => {
                level = predicted;
                trend *= fit.phi;
            }
        }
    }
    errors
}

/// The robust line at the last position: (value at the last position, slope per day).
fn robust_line(values: &[Option<f64>], window: usize) -> Option<(f64, f64)> {
    let n = values.len();
    let from = n.saturating_sub(window.max(4));
    let points: Vec<(f64, f64)> = values[from..]
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| ((from + i) as f64, v)))
        .collect();
    if points.len() < 3 {
        return None;
    }
    let half = points.len() / 2;
    let mut slopes: Vec<f64> = (0..half)
        .map(|i| {
            let (a, b) = (points[i], points[i + half]);
            (b.1 - a.1) / (b.0 - a.0)
        })
        .collect();
    let slope = median_in_place(&mut slopes)?;
    let last = (n - 1) as f64;
    let mut at_last: Vec<f64> = points.iter().map(|(t, v)| v + slope * (last - t)).collect();
    Some((median_in_place(&mut at_last)?, slope))
}

fn trend_forecast(
    values: &[Option<f64>],
    h: usize,
    config: &ForecastConfig,
) -> Vec<(f64, f64, f64)> {
    let Some((level, slope)) = robust_line(values, config.trend_window) else {
        return vec![(f64::NAN, f64::NAN, f64::NAN); h];
    };
    let n = values.len();
    let qhi = 0.5 + config.level / 2.0;
    // The method's line at every past origin (a day apart), then its errors per horizon.
    let first_origin = config.min_history.max(config.trend_window / 2).max(3);
    let lines: Vec<Option<(f64, f64)>> = (0..n)
        .map(|o| {
            (o >= first_origin)
                .then(|| robust_line(&values[..=o], config.trend_window))
                .flatten()
        })
        .collect();
    let errors: Vec<Vec<f64>> = (1..=h)
        .map(|k| {
            let errors: Vec<f64> = (0..n.saturating_sub(k))
                .filter_map(|o| {
                    let (l, s) = lines[o]?;
                    Some(values[o + k]? - (l + s * k as f64))
                })
                .collect();
            errors
        })
        .collect();
    let bands = error_bands(&errors, config.level);
    let mut fallback: Option<DampedFit> = None;
    (1..=h)
        .map(|k| {
            let point = level + slope * k as f64;
            match bands[k - 1] {
                Some((lo, hi)) => (point, point + lo, point + hi),
                None => {
                    // No horizon has enough past errors: the damped trend's analytic width.
                    let fit = *fallback.get_or_insert_with(|| fit_damped(values));
                    let half = normal_quantile(qhi) * fit.variance(k).sqrt();
                    (point, point - half, point + half)
                }
            }
        })
        .collect()
}

/// Past errors at a horizon must span this many windows of the horizon's length
/// (`count / h`) for the interval there to be read from them directly.
const MIN_WINDOWS: f64 = 5.0;
/// Exponent of the horizon in the overlap bound of the effective sample size.
const OVERLAP_EXPONENT: f64 = 0.75;
/// Largest growth exponent of an extrapolated interval.
const MAX_GROWTH: f64 = 1.5;

/// The interval of past errors per horizon (errors at horizons 1..=h, each in the order of
/// their origins). Where the errors span [`MIN_WINDOWS`] windows, the band is their
/// quantiles `(1 ∓ level)/2` with the finite-sample correction of split conformal
/// prediction, `(n + 1)/n`, on an effective number of independent errors `n`: errors from
/// neighbouring origins overlap and are correlated, so `n` is the larger of the
/// autocorrelation's effective size and `count / h^0.75` (the constants were chosen by
/// backtest, `igsync bench analytics`). Beyond the longest such horizon `h₀` the band of
/// `h₀` grows as `(h/h₀)^γ`, `γ` the band's own growth between `h₀/3` and `h₀` (from 0 to
/// [`MAX_GROWTH`], ½ when `h₀` is 1 or 2). Every band holds the point forecast (its edges
/// are at most 0 and at least 0). `None` everywhere when even one step ahead has
/// too few errors.
fn error_bands(errors: &[Vec<f64>], level: f64) -> Vec<Option<(f64, f64)>> {
    let windows = |k: usize| errors[k - 1].len() as f64 / k as f64;
    let mut bands: Vec<Option<(f64, f64)>> = (1..=errors.len())
        .map(|k| {
            let e = &errors[k - 1];
            (windows(k) >= MIN_WINDOWS && e.len() >= 2).then(|| {
                let n = effective_size(e).max(e.len() as f64 / (k as f64).powf(OVERLAP_EXPONENT));
                let mut sorted = e.clone();
                sorted.sort_by(f64::total_cmp);
                error_band(&sorted, level, n)
            })
        })
        .collect();
    let Some(h0) = (1..=errors.len()).rev().find(|k| bands[k - 1].is_some()) else {
        return bands;
    };
    let (lo0, hi0) = bands[h0 - 1].expect("found above");
    let h1 = (h0 / 3).max(1);
    let gamma = match bands[h1 - 1] {
        Some((lo1, hi1)) if h1 < h0 && hi1 - lo1 > 0.0 && hi0 - lo0 > 0.0 => {
            (((hi0 - lo0) / (hi1 - lo1)).ln() / (h0 as f64 / h1 as f64).ln()).clamp(0.0, MAX_GROWTH)
        }
        _ => 0.5,
    };
    for k in h0 + 1..=errors.len() {
        let g = (k as f64 / h0 as f64).powf(gamma);
        bands[k - 1] = Some((lo0 * g, hi0 * g));
    }
    // The point forecast stays inside its band, even when the past errors all lean one way.
    bands
        .into_iter()
        .map(|b| b.map(|(lo, hi)| (lo.min(0.0), hi.max(0.0))))
        .collect()
}

/// The effective number of independent values of a sequence whose neighbours are
/// correlated: `n (1 − ρ)/(1 + ρ)`, `ρ` the lag-one autocorrelation (at least 0).
fn effective_size(errors: &[f64]) -> f64 {
    let n = errors.len() as f64;
    if errors.len() < 3 {
        return n;
    }
    let mean = errors.iter().sum::<f64>() / n;
    let var: f64 = errors.iter().map(|e| (e - mean) * (e - mean)).sum();
    if var <= 0.0 {
        return n;
    }
    let cov: f64 = errors
        .windows(2)
        .map(|w| (w[0] - mean) * (w[1] - mean))
        .sum();
    let rho = (cov / var).clamp(0.0, 0.999);
    (n * (1.0 - rho) / (1.0 + rho)).max(1.0)
}

/// The quantiles `(1 ∓ level)/2` of sorted errors, widened by the split-conformal factor
/// `(n + 1)/n` for `n` independent errors.
fn error_band(sorted: &[f64], level: f64, n: f64) -> (f64, f64) {
    let n = n.max(1.0);
    let upper = ((0.5 + level / 2.0) * (n + 1.0) / n).min(1.0);
    (
        quantile_sorted(sorted, 1.0 - upper),
        quantile_sorted(sorted, upper),
    )
}

/// Linear-interpolated quantile of sorted values (type 7).
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub(crate) fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// One edge of a forecast point.
type EdgeFn<'a> = &'a dyn Fn(&ForecastPoint) -> f64;

/// When a forecast crosses a target.
#[derive(Debug, Clone, PartialEq)]
pub struct Milestone {
    /// The target value.
    pub target: f64,
    /// First day the point forecast reaches it.
    pub day: NaiveDate,
    /// First day the optimistic edge of the interval reaches it.
    pub earliest: NaiveDate,
    /// First day the pessimistic edge reaches it; `None` when beyond the horizon.
    pub latest: Option<NaiveDate>,
    /// "at this pace @brand reaches 50,000 followers around 14 Mar 2027 (80 %: 2 Mar – 1 Apr)".
    pub message: String,
}

/// When the forecast reaches `target` (upwards when the target is above the last point,
/// downwards otherwise); `None` when the point forecast does not reach it within the horizon.
/// `subject` and `what` phrase the message ("@brand", "followers").
pub fn milestone(
    forecast: &Forecast,
    last_value: f64,
    target: f64,
    subject: &str,
    what: &str,
) -> Option<Milestone> {
    let up = target >= last_value;
    let reaches = |v: f64| if up { v >= target } else { v <= target };
    let first = |f: &dyn Fn(&ForecastPoint) -> f64| {
        forecast
            .points
            .iter()
            .find(|p| reaches(f(p)))
            .map(|p| p.day)
    };
    let day = first(&|p| p.value)?;
    let high = |p: &ForecastPoint| p.high;
    let low = |p: &ForecastPoint| p.low;
    let (optimistic, pessimistic): (EdgeFn<'_>, EdgeFn<'_>) =
        if up { (&high, &low) } else { (&low, &high) };
    let earliest = first(optimistic).unwrap_or(day);
    let latest = first(pessimistic);
    let fmt = |d: NaiveDate| d.format("%-d %b %Y").to_string();
    let verb = if up { "reaches" } else { "falls to" };
    let range = match latest {
        Some(l) => format!("{} – {}", fmt(earliest), fmt(l)),
        None => format!(
            "{} – after {}",
            fmt(earliest),
            fmt(forecast.points.last().map_or(day, |p| p.day))
        ),
    };
    Some(Milestone {
        target,
        day,
        earliest,
        latest,
        message: format!(
            "at this pace {subject} {verb} {} {what} around {} ({:.0} %: {range})",
            group(target),
            fmt(day),
            forecast.level * 100.0
        ),
    })
}

/// The next round number above `value`: 1, 2 or 5 × a power of ten.
pub fn next_round_number(value: f64) -> f64 {
    let mut base = 1.0;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if m * base > value {
                return m * base;
            }
        }
        base *= 10.0;
        if !base.is_finite() {
            return f64::INFINITY;
        }
    }
}

fn group(v: f64) -> String {
    let digits = (v.round() as i64).unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests;
