//! Wait and run time percentiles (p50, p95, p99) over time, as a line chart on a
//! logarithmic duration axis.

use chrono::{DateTime, Utc};

use super::{LineChart, Scale, TimeSeries, ValueFormat};

/// Wait or run time percentiles of one time bucket, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PercentilePoint {
    /// Start of the bucket.
    pub at: DateTime<Utc>,
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

/// p50/p95/p99 lines over time on a logarithmic duration axis.
pub fn percentile_chart(
    id: &str,
    title: &str,
    points: &[PercentilePoint],
    last_point_partial: bool,
) -> LineChart {
    let pick = |f: fn(&PercentilePoint) -> Option<f64>| -> Vec<(DateTime<Utc>, Option<f64>)> {
        points.iter().map(|p| (p.at, f(p))).collect()
    };
    LineChart::new(id, title, ValueFormat::DurationMs)
        .scale(Scale::Log)
        .y_label("duration (log scale)")
        .series(TimeSeries::new("p50", pick(|p| p.p50)))
        .series(TimeSeries::new("p95", pick(|p| p.p95)))
        .series(TimeSeries::new("p99", pick(|p| p.p99)))
        .last_point_partial(last_point_partial)
}
