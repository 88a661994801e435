//! The axes of time-series charts: a value axis with "nice" ticks (linear from zero,
//! fitted, or logarithmic) and time ticks chosen by the span shown.

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};

use super::{Scale, ValueFormat};

/// A value axis: domain and "nice" ticks.
pub(super) struct ValueAxis {
    pub(super) min: f64,
    pub(super) max: f64,
    pub(super) log: bool,
    pub(super) ticks: Vec<f64>,
}

impl ValueAxis {
    pub(super) fn new(values: &[f64], scale: Scale, format: ValueFormat) -> ValueAxis {
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() || !hi.is_finite() {
            return match scale {
                Scale::Log => ValueAxis {
                    min: 1.0,
                    max: 1000.0,
                    log: true,
                    ticks: vec![1.0, 10.0, 100.0, 1000.0],
                },
                _ => ValueAxis {
                    min: 0.0,
                    max: 1.0,
                    log: false,
                    ticks: vec![0.0, 0.5, 1.0],
                },
            };
        }
        match scale {
            Scale::Log => {
                // Durations get ticks people read at a glance (1 s, 1 min, 1 h), other
                // values decades.
                let candidates: Vec<f64> = if format == ValueFormat::DurationMs {
                    vec![
                        1.0, 10.0, 100.0, 1e3, 1e4, 6e4, 6e5, 3.6e6, 3.6e7, 8.64e7, 8.64e8,
                    ]
                } else {
                    (-6..=15).map(|e| 10f64.powi(e)).collect()
                };
                let min = candidates
                    .iter()
                    .rev()
                    .copied()
                    .find(|c| *c <= lo)
                    .unwrap_or(candidates[0]);
                let max = candidates
                    .iter()
                    .copied()
                    .find(|c| *c >= hi && *c > min)
                    .unwrap_or(candidates[candidates.len() - 1]);
                let ticks = candidates
                    .iter()
                    .copied()
                    .filter(|c| *c >= min && *c <= max)
                    .collect();
                ValueAxis {
                    min,
                    max,
                    log: true,
                    ticks,
                }
            }
            Scale::LinearFromZero => {
                let lo = lo.min(0.0);
                let hi = if hi <= lo { lo + 1.0 } else { hi };
                nice_linear(lo, hi)
            }
            Scale::LinearFitted => {
                let (lo, hi) = if hi - lo < f64::EPSILON * hi.abs().max(1.0) {
                    let pad = (hi.abs() * 0.01).max(1.0);
                    (lo - pad, hi + pad)
                } else {
                    let pad = (hi - lo) * 0.08;
                    (lo - pad, hi + pad)
                };
                // Do not cross zero just for padding.
                let lo = if values.iter().all(|it| *it >= 0.0) {
                    lo.max(0.0)
                } else {
                    lo
                };
                nice_linear(lo, hi)
            }
        }
    }

    pub(super) fn fraction(&self, v: f64) -> f64 {
        let f = if self.log {
            let v = v.max(self.min);
            (v.log10() - self.min.log10()) / (self.max.log10() - self.min.log10())
        } else {
            (v - self.min) / (self.max - self.min)
        };
        f.clamp(0.0, 1.0)
    }
}

pub(super) fn nice_linear(lo: f64, hi: f64) -> ValueAxis {
    let step = nice_step((hi - lo) / 4.0);
    let min = (lo / step).floor() * step;
    let max = (hi / step).ceil() * step;
    let max = if max <= min { min + step } else { max };
    let n = ((max - min) / step).round() as usize;
    let ticks = (0..=n).map(|i| min + step * i as f64).collect();
    ValueAxis {
        min,
        max,
        log: false,
        ticks,
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ `raw`.
pub(super) fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * magnitude >= raw * 0.999_999 {
            return m * magnitude;
        }
    }
    10.0 * magnitude
}

/// Tick positions and labels for a time axis from `min` to `max` (at most ~8 ticks).
pub(super) fn time_ticks(min: DateTime<Utc>, max: DateTime<Utc>) -> Vec<(DateTime<Utc>, String)> {
    let span = max - min;
    let span_s = span.num_seconds().max(1);
    if span > Duration::days(120) {
        // Calendar months.
        let months = span.num_days() / 30;
        let step = [1, 2, 3, 6, 12, 24, 60]
            .into_iter()
            .find(|s| months / s <= 7)
            .unwrap_or(120);
        let mut ticks = Vec::new();
        let (mut y, mut m) = (min.year(), min.month0() as i32);
        loop {
            m += 1;
            if m >= 12 {
                m -= 12;
                y += 1;
            }
            let Some(t) = Utc.with_ymd_and_hms(y, m as u32 + 1, 1, 0, 0, 0).single() else {
                break;
            };
            if t > max {
                break;
            }
            if (y * 12 + m) % step as i32 == 0 {
                let label = if m == 0 || step >= 12 {
                    t.format("%b %Y")
                } else {
                    t.format("%b")
                };
                ticks.push((t, label.to_string()));
            }
            if ticks.len() > 12 {
                break;
            }
        }
        return ticks;
    }
    const STEPS: [i64; 14] = [
        60,
        300,
        900,
        1800,
        3600,
        2 * 3600,
        3 * 3600,
        6 * 3600,
        12 * 3600,
        86_400,
        2 * 86_400,
        7 * 86_400,
        14 * 86_400,
        28 * 86_400,
    ];
    let step = STEPS
        .into_iter()
        .find(|s| span_s / s <= 7)
        .unwrap_or(28 * 86_400);
    // Weekly steps start on Mondays; the epoch (1970-01-01) was a Thursday.
    let offset = if step >= 7 * 86_400 { 4 * 86_400 } else { 0 };
    let start = min.timestamp();
    let first = ((start - offset) as f64 / step as f64).ceil() as i64 * step + offset;
    let mut ticks = Vec::new();
    let mut t = first;
    while t <= max.timestamp() && ticks.len() < 12 {
        if let Some(at) = DateTime::<Utc>::from_timestamp(t, 0) {
            let label = if step >= 86_400 || (at.hour() == 0 && at.minute() == 0) {
                at.format("%b %-d").to_string()
            } else {
                at.format("%H:%M").to_string()
            };
            ticks.push((at, label));
        }
        t += step;
    }
    ticks
}

/// A point's time as shown in its hover title.
pub(super) fn format_time(t: DateTime<Utc>, dates_only: bool) -> String {
    if dates_only {
        t.format("%Y-%m-%d").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M UTC").to_string()
    }
}

/// Whether every point sits on midnight (a daily series), so hover titles show dates only.
pub(super) fn all_midnight(series: &[Vec<(DateTime<Utc>, Option<f64>)>]) -> bool {
    series
        .iter()
        .flatten()
        .all(|(t, _)| t.hour() == 0 && t.minute() == 0 && t.second() == 0)
}
