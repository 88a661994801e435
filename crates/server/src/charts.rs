//! Inline SVG charts for the dashboard and the self-contained HTML report: time series
//! (lines or areas, linear or logarithmic), horizontal bars and a weekday × hour heatmap.
//!
//! Every chart is a plain `String` of SVG with a fixed `viewBox` and natural size (it
//! shrinks with its container, `max-width: 100%`), an accessible `<title>`/`<desc>`, readable axes, and a `<title>` on every
//! mark so hovering shows the exact value. All text is escaped. Colours are attributes, not
//! classes, so a chart renders the same in the dashboard, in a saved report and in a
//! screenshot. Missing values are gaps, never zeros: a line breaks where a day has no data.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};

/// Series colours: a palette that stays distinguishable for the common colour-vision
/// deficiencies.
pub const PALETTE: [&str; 6] = [
    "#2563eb", "#d97706", "#059669", "#c026d3", "#dc2626", "#0891b2",
];

const FONT: &str = "font-family=\"system-ui,-apple-system,'Segoe UI',Roboto,sans-serif\"";
const AXIS_COLOUR: &str = "#6b7280";
const GRID_COLOUR: &str = "#e5e7eb";
const TEXT_COLOUR: &str = "#374151";
/// Above this many points per chart, points get no individual hover marks (the line alone
/// stays readable and the SVG small).
const MAX_MARKED_POINTS: usize = 160;

/// Escapes text for HTML and SVG (element content and quoted attribute values).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// How the values of a chart are written on its axis and in its hover titles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueFormat {
    /// Counts: `1,234` in titles, `1.2k` on axes.
    Count,
    /// Percentages, already multiplied by 100.
    Percent,
    /// Durations in milliseconds: `350 ms`, `1.2 s`, `4.0 min`, `2.5 h`.
    DurationMs,
    /// Ratios: `2.50×`.
    Ratio,
}

impl ValueFormat {
    /// The exact form, for titles and tables.
    pub fn full(self, value: f64) -> String {
        match self {
            ValueFormat::Count => format_count(value),
            ValueFormat::Percent => format!("{}%", format_decimal(value, 2)),
            ValueFormat::DurationMs => format_duration_ms(value),
            ValueFormat::Ratio => format!("{value:.2}×"),
        }
    }

    /// The short form, for axis ticks.
    pub fn short(self, value: f64) -> String {
        match self {
            ValueFormat::Count => format_compact(value),
            ValueFormat::Percent => format!("{}%", format_decimal(value, 1)),
            ValueFormat::DurationMs => format_duration_ms(value),
            ValueFormat::Ratio => format!("{}×", format_decimal(value, 1)),
        }
    }
}

/// `1234567.0` → `1,234,567`; fractions keep up to two decimals (`12.5`).
pub fn format_count(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_owned();
    }
    let negative = value < 0.0;
    let abs = value.abs();
    let whole = abs.trunc();
    let frac = abs - whole;
    let digits = format!("{whole:.0}");
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&grouped);
    if (0.005..0.995).contains(&frac) {
        let decimals = format!("{frac:.2}");
        out.push_str(decimals.trim_start_matches('0').trim_end_matches('0'));
    }
    out
}

/// `12_300.0` → `12.3k`, `4_500_000.0` → `4.5M`.
pub fn format_compact(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_owned();
    }
    let abs = value.abs();
    let (scaled, suffix) = if abs >= 1e9 {
        (value / 1e9, "B")
    } else if abs >= 1e6 {
        (value / 1e6, "M")
    } else if abs >= 1e4 {
        (value / 1e3, "k")
    } else {
        return format_decimal(value, 2);
    };
    format!("{}{suffix}", format_decimal(scaled, 1))
}

/// A decimal with at most `max_decimals` digits after the point and no trailing zeros.
pub fn format_decimal(value: f64, max_decimals: usize) -> String {
    if !value.is_finite() {
        return "n/a".to_owned();
    }
    let text = format!("{value:.max_decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    if text == "-0" { "0".to_owned() } else { text }
}

/// `350.0` → `350 ms`, `1500.0` → `1.5 s`, `240_000.0` → `4 min`.
pub fn format_duration_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return "n/a".to_owned();
    }
    let abs = ms.abs();
    if abs < 1_000.0 {
        format!("{} ms", format_decimal(ms, 0))
    } else if abs < 60_000.0 {
        format!("{} s", format_decimal(ms / 1_000.0, 1))
    } else if abs < 3_600_000.0 {
        format!("{} min", format_decimal(ms / 60_000.0, 1))
    } else if abs < 172_800_000.0 {
        format!("{} h", format_decimal(ms / 3_600_000.0, 1))
    } else {
        format!("{} d", format_decimal(ms / 86_400_000.0, 1))
    }
}

/// Keeps only `[a-zA-Z0-9_-]` so an id is safe in attributes and `aria-labelledby`.
fn sanitize_id(id: &str) -> String {
    let cleaned: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "chart".to_owned()
    } else {
        cleaned
    }
}

/// Opens an `<svg>` with its accessible title and description.
fn open_svg(
    out: &mut String,
    class: &str,
    id: &str,
    width: f64,
    height: f64,
    title: &str,
    desc: &str,
) {
    let id = sanitize_id(id);
    let _ = write!(
        out,
        "<svg class=\"{class}\" id=\"{id}\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" preserveAspectRatio=\"xMidYMid meet\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\" {FONT} font-size=\"11\">\
         <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        escape(title),
        escape(desc),
    );
}

fn text(out: &mut String, x: f64, y: f64, anchor: &str, fill: &str, content: &str) {
    let _ = write!(
        out,
        "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\" fill=\"{fill}\">{}</text>",
        escape(content)
    );
}

fn empty_note(out: &mut String, x: f64, y: f64, message: &str) {
    let _ = write!(
        out,
        "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\" fill=\"{AXIS_COLOUR}\" font-size=\"13\">{}</text>",
        escape(message)
    );
}

// ---------------------------------------------------------------------------------------
// Time series
// ---------------------------------------------------------------------------------------

/// One line of a time-series chart. `None` values are gaps.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeSeries {
    /// Legend label.
    pub label: String,
    /// Points in any order (they are sorted by time when drawn).
    pub points: Vec<(DateTime<Utc>, Option<f64>)>,
}

impl TimeSeries {
    /// A series of timestamped values.
    pub fn new(label: impl Into<String>, points: Vec<(DateTime<Utc>, Option<f64>)>) -> TimeSeries {
        TimeSeries {
            label: label.into(),
            points,
        }
    }

    /// A series of daily values, each drawn at midnight (UTC) of its day.
    pub fn daily(label: impl Into<String>, days: Vec<(NaiveDate, Option<f64>)>) -> TimeSeries {
        let points = days
            .into_iter()
            .map(|(day, value)| {
                (
                    Utc.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN)),
                    value,
                )
            })
            .collect();
        TimeSeries {
            label: label.into(),
            points,
        }
    }
}

/// Which scale the value axis uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Linear from zero (counts, rates, throughput).
    LinearFromZero,
    /// Linear fitted to the data (stocks such as followers, whose changes are small
    /// compared with their size).
    LinearFitted,
    /// Logarithmic (durations spanning milliseconds to minutes).
    Log,
}

/// A time-series chart: one or more lines over time, optionally filled as areas.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// Element id (made attribute-safe), also the prefix of the accessible title's id.
    pub id: String,
    /// Accessible title (what the chart shows).
    pub title: String,
    /// Axis caption of the values, e.g. "followers" or "jobs per hour".
    pub y_label: String,
    /// How values are written.
    pub format: ValueFormat,
    /// The lines.
    pub series: Vec<TimeSeries>,
    /// Fill the area under each line (for a single series or stacked-looking totals).
    pub area: bool,
    /// The value scale.
    pub scale: Scale,
    /// Draw the last segment of each line dashed: its bucket is still filling.
    pub last_point_partial: bool,
    /// A smaller canvas (560 × 240 instead of 960 × 280) for half-width places.
    pub compact: bool,
}

impl LineChart {
    /// A linear line chart from zero with no series yet.
    pub fn new(id: impl Into<String>, title: impl Into<String>, format: ValueFormat) -> LineChart {
        LineChart {
            id: id.into(),
            title: title.into(),
            y_label: String::new(),
            format,
            series: Vec::new(),
            area: false,
            scale: Scale::LinearFromZero,
            last_point_partial: false,
            compact: false,
        }
    }

    /// Sets the value axis caption.
    pub fn y_label(mut self, label: impl Into<String>) -> LineChart {
        self.y_label = label.into();
        self
    }

    /// Adds a series.
    pub fn series(mut self, series: TimeSeries) -> LineChart {
        self.series.push(series);
        self
    }

    /// Fills the area under the lines.
    pub fn area(mut self) -> LineChart {
        self.area = true;
        self
    }

    /// Sets the value scale.
    pub fn scale(mut self, scale: Scale) -> LineChart {
        self.scale = scale;
        self
    }

    /// Marks the last point of each series as partial (dashed last segment).
    pub fn last_point_partial(mut self, partial: bool) -> LineChart {
        self.last_point_partial = partial;
        self
    }

    /// Uses the smaller canvas.
    pub fn compact(mut self) -> LineChart {
        self.compact = true;
        self
    }

    /// Renders the chart.
    pub fn to_svg(&self) -> String {
        let (w, h) = if self.compact {
            (560.0, 240.0)
        } else {
            (960.0, 280.0)
        };
        const LEFT: f64 = 64.0;
        const RIGHT: f64 = 18.0;
        const TOP: f64 = 30.0;
        const BOTTOM: f64 = 34.0;
        let plot_w = w - LEFT - RIGHT;
        let plot_h = h - TOP - BOTTOM;

        let mut series: Vec<Vec<(DateTime<Utc>, Option<f64>)>> = self
            .series
            .iter()
            .map(|s| {
                let mut points: Vec<_> = s
                    .points
                    .iter()
                    .map(|(t, v)| (*t, v.filter(|it| it.is_finite())))
                    .collect();
                points.sort_by_key(|(t, _)| *t);
                points
            })
            .collect();
        if self.scale == Scale::Log {
            for points in &mut series {
                for (_, v) in points.iter_mut() {
                    *v = v.filter(|it| *it > 0.0);
                }
            }
        }
        let values: Vec<f64> = series.iter().flatten().filter_map(|(_, v)| *v).collect();
        let n_points = values.len();

        let mut out = String::new();
        let desc = self.describe(&series);
        open_svg(&mut out, "chart line", &self.id, w, h, &self.title, &desc);
        self.legend(&mut out, LEFT, w - RIGHT);
        if !self.y_label.is_empty() {
            let _ = write!(
                out,
                "<text x=\"12\" y=\"{:.1}\" transform=\"rotate(-90 12 {:.1})\" text-anchor=\"middle\" fill=\"{AXIS_COLOUR}\">{}</text>",
                TOP + plot_h / 2.0,
                TOP + plot_h / 2.0,
                escape(&self.y_label)
            );
        }

        let times: Vec<DateTime<Utc>> = series.iter().flatten().map(|(t, _)| *t).collect();
        let (Some(t_min), Some(t_max)) = (times.iter().min().copied(), times.iter().max().copied())
        else {
            frame(&mut out, LEFT, TOP, plot_w, plot_h);
            empty_note(
                &mut out,
                LEFT + plot_w / 2.0,
                TOP + plot_h / 2.0,
                "No data for this period",
            );
            out.push_str("</svg>");
            return out;
        };
        let (t_min, t_max) = if t_min == t_max {
            (t_min - Duration::hours(12), t_max + Duration::hours(12))
        } else {
            (t_min, t_max)
        };
        let span = (t_max - t_min).num_seconds() as f64;
        let dates_only = all_midnight(&series);
        let x_of = |t: DateTime<Utc>| LEFT + (t - t_min).num_seconds() as f64 / span * plot_w;

        let axis = ValueAxis::new(&values, self.scale, self.format);
        let y_of = |v: f64| TOP + plot_h - axis.fraction(v) * plot_h;

        // Grid and value ticks.
        for tick in &axis.ticks {
            let y = y_of(*tick);
            let _ = write!(
                out,
                "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{GRID_COLOUR}\"/>",
                LEFT + plot_w
            );
            text(
                &mut out,
                LEFT - 6.0,
                y + 3.5,
                "end",
                AXIS_COLOUR,
                &self.format.short(*tick),
            );
        }
        // Time ticks.
        for (tick, label) in time_ticks(t_min, t_max) {
            let x = x_of(tick);
            let _ = write!(
                out,
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{AXIS_COLOUR}\"/>",
                TOP + plot_h,
                TOP + plot_h + 4.0
            );
            text(
                &mut out,
                x,
                TOP + plot_h + 16.0,
                "middle",
                AXIS_COLOUR,
                &label,
            );
        }
        frame(&mut out, LEFT, TOP, plot_w, plot_h);

        if n_points == 0 {
            empty_note(
                &mut out,
                LEFT + plot_w / 2.0,
                TOP + plot_h / 2.0,
                "No data for this period",
            );
            out.push_str("</svg>");
            return out;
        }

        let mark_points = n_points <= MAX_MARKED_POINTS;
        let baseline = TOP + plot_h;
        for (idx, points) in series.iter().enumerate() {
            let colour = PALETTE[idx % PALETTE.len()];
            let label = &self.series[idx].label;
            let segments = segments(points);
            let last_present = points.iter().rposition(|(_, v)| v.is_some());
            for segment in &segments {
                let coords: Vec<(f64, f64)> =
                    segment.iter().map(|(t, v)| (x_of(*t), y_of(*v))).collect();
                if self.area && coords.len() > 1 {
                    let mut d = format!("M{:.1},{baseline:.1}", coords[0].0);
                    for (x, y) in &coords {
                        let _ = write!(d, " L{x:.1},{y:.1}");
                    }
                    let _ = write!(d, " L{:.1},{baseline:.1} Z", coords[coords.len() - 1].0);
                    let _ = write!(
                        out,
                        "<path d=\"{d}\" fill=\"{colour}\" fill-opacity=\"0.15\" stroke=\"none\"/>"
                    );
                }
                let partial_tail = self.last_point_partial
                    && coords.len() > 1
                    && last_present
                        .is_some_and(|last| points[last].0 == segment[segment.len() - 1].0);
                let solid = if partial_tail {
                    &coords[..coords.len() - 1]
                } else {
                    &coords[..]
                };
                if solid.len() > 1 {
                    let _ = write!(
                        out,
                        "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" stroke-linejoin=\"round\"/>",
                        polyline(solid)
                    );
                }
                if partial_tail {
                    let tail = &coords[coords.len() - 2..];
                    let _ = write!(
                        out,
                        "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" stroke-dasharray=\"4 3\"><title>{}</title></polyline>",
                        polyline(tail),
                        escape("Latest bucket, still filling")
                    );
                }
                if segment.len() == 1 || mark_points {
                    for (t, v) in segment.iter() {
                        let _ = write!(
                            out,
                            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{}\" fill=\"{colour}\"><title>{}</title></circle>",
                            x_of(*t),
                            y_of(*v),
                            if segment.len() == 1 { 3.0 } else { 2.2 },
                            escape(&format!(
                                "{label} — {}: {}",
                                format_time(*t, dates_only),
                                self.format.full(*v)
                            ))
                        );
                    }
                }
            }
        }
        out.push_str("</svg>");
        out
    }

    fn legend(&self, out: &mut String, left: f64, right: f64) {
        let mut x = left;
        for (idx, series) in self.series.iter().enumerate() {
            let colour = PALETTE[idx % PALETTE.len()];
            let width = 26.0 + series.label.chars().count() as f64 * 6.2;
            if x + width > right {
                break;
            }
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"9\" width=\"14\" height=\"4\" rx=\"1\" fill=\"{colour}\"/>"
            );
            text(out, x + 19.0, 15.0, "start", TEXT_COLOUR, &series.label);
            x += width + 14.0;
        }
    }

    fn describe(&self, series: &[Vec<(DateTime<Utc>, Option<f64>)>]) -> String {
        let mut parts = Vec::new();
        let dates_only = all_midnight(series);
        for (idx, points) in series.iter().enumerate() {
            let present: Vec<(DateTime<Utc>, f64)> = points
                .iter()
                .filter_map(|(t, v)| v.map(|v| (*t, v)))
                .collect();
            let label = &self.series[idx].label;
            match (present.first(), present.last()) {
                (Some(first), Some(last)) => {
                    let min = present.iter().map(|it| it.1).fold(f64::INFINITY, f64::min);
                    let max = present
                        .iter()
                        .map(|it| it.1)
                        .fold(f64::NEG_INFINITY, f64::max);
                    parts.push(format!(
                        "{label}: {} points from {} ({}) to {} ({}), min {}, max {}",
                        present.len(),
                        format_time(first.0, dates_only),
                        self.format.full(first.1),
                        format_time(last.0, dates_only),
                        self.format.full(last.1),
                        self.format.full(min),
                        self.format.full(max),
                    ));
                }
                _ => parts.push(format!("{label}: no data")),
            }
        }
        if parts.is_empty() {
            "No data".to_owned()
        } else {
            parts.join("; ")
        }
    }
}

fn frame(out: &mut String, left: f64, top: f64, w: f64, h: f64) {
    let _ = write!(
        out,
        "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{AXIS_COLOUR}\"/>\
         <line x1=\"{left}\" x2=\"{left}\" y1=\"{top}\" y2=\"{:.1}\" stroke=\"{AXIS_COLOUR}\"/>",
        left + w,
        top + h,
        top + h,
        top + h,
    );
}

fn polyline(coords: &[(f64, f64)]) -> String {
    let mut s = String::with_capacity(coords.len() * 12);
    for (i, (x, y)) in coords.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{x:.1},{y:.1}");
    }
    s
}

/// Runs of consecutive present values.
fn segments(points: &[(DateTime<Utc>, Option<f64>)]) -> Vec<Vec<(DateTime<Utc>, f64)>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for (t, v) in points {
        match v {
            Some(v) => current.push((*t, *v)),
            None => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A value axis: domain and "nice" ticks.
struct ValueAxis {
    min: f64,
    max: f64,
    log: bool,
    ticks: Vec<f64>,
}

impl ValueAxis {
    fn new(values: &[f64], scale: Scale, format: ValueFormat) -> ValueAxis {
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

    fn fraction(&self, v: f64) -> f64 {
        let f = if self.log {
            let v = v.max(self.min);
            (v.log10() - self.min.log10()) / (self.max.log10() - self.min.log10())
        } else {
            (v - self.min) / (self.max - self.min)
        };
        f.clamp(0.0, 1.0)
    }
}

fn nice_linear(lo: f64, hi: f64) -> ValueAxis {
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
fn nice_step(raw: f64) -> f64 {
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
fn time_ticks(min: DateTime<Utc>, max: DateTime<Utc>) -> Vec<(DateTime<Utc>, String)> {
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
fn format_time(t: DateTime<Utc>, dates_only: bool) -> String {
    if dates_only {
        t.format("%Y-%m-%d").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M UTC").to_string()
    }
}

/// Whether every point sits on midnight (a daily series), so hover titles show dates only.
fn all_midnight(series: &[Vec<(DateTime<Utc>, Option<f64>)>]) -> bool {
    series
        .iter()
        .flatten()
        .all(|(t, _)| t.hour() == 0 && t.minute() == 0 && t.second() == 0)
}

// ---------------------------------------------------------------------------------------
// Percentiles
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// Bars
// ---------------------------------------------------------------------------------------

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Category label (shown left of the bar).
    pub label: String,
    /// The value (negative values are drawn as zero-length bars with their value).
    pub value: f64,
    /// Extra text for the hover title, e.g. a share of the total.
    pub note: Option<String>,
}

impl Bar {
    /// A bar without a note.
    pub fn new(label: impl Into<String>, value: f64) -> Bar {
        Bar {
            label: label.into(),
            value,
            note: None,
        }
    }

    /// Adds a note to the hover title.
    pub fn note(mut self, note: impl Into<String>) -> Bar {
        self.note = Some(note.into());
        self
    }
}

/// A horizontal bar chart (categories down the side, so long labels stay readable).
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Element id.
    pub id: String,
    /// Accessible title.
    pub title: String,
    /// How values are written.
    pub format: ValueFormat,
    /// The bars, drawn in this order from the top.
    pub bars: Vec<Bar>,
}

impl BarChart {
    /// A bar chart with no bars yet.
    pub fn new(id: impl Into<String>, title: impl Into<String>, format: ValueFormat) -> BarChart {
        BarChart {
            id: id.into(),
            title: title.into(),
            format,
            bars: Vec::new(),
        }
    }

    /// Adds a bar.
    pub fn bar(mut self, bar: Bar) -> BarChart {
        self.bars.push(bar);
        self
    }

    /// Renders the chart.
    pub fn to_svg(&self) -> String {
        const W: f64 = 560.0;
        const ROW: f64 = 22.0;
        const TOP: f64 = 8.0;
        const LABEL_W: f64 = 150.0;
        const VALUE_W: f64 = 80.0;
        let bars: Vec<&Bar> = self.bars.iter().filter(|b| b.value.is_finite()).collect();
        let rows = bars.len().max(1) as f64;
        let height = TOP * 2.0 + rows * ROW;
        let mut out = String::new();
        let desc = if bars.is_empty() {
            "No data".to_owned()
        } else {
            bars.iter()
                .map(|b| format!("{}: {}", b.label, self.format.full(b.value)))
                .collect::<Vec<_>>()
                .join("; ")
        };
        open_svg(
            &mut out,
            "chart bars",
            &self.id,
            W,
            height,
            &self.title,
            &desc,
        );
        if bars.is_empty() {
            empty_note(&mut out, W / 2.0, height / 2.0 + 4.0, "No data");
            out.push_str("</svg>");
            return out;
        }
        let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
        let scale_w = W - LABEL_W - VALUE_W;
        for (idx, bar) in bars.iter().enumerate() {
            let y = TOP + idx as f64 * ROW;
            let w = if max > 0.0 {
                (bar.value.max(0.0) / max) * scale_w
            } else {
                0.0
            };
            let label = truncate(&bar.label, 22);
            text(
                &mut out,
                LABEL_W - 8.0,
                y + ROW / 2.0 + 4.0,
                "end",
                TEXT_COLOUR,
                &label,
            );
            let mut title = format!("{}: {}", bar.label, self.format.full(bar.value));
            if let Some(note) = &bar.note {
                let _ = write!(title, " ({note})");
            }
            let _ = write!(
                out,
                "<rect x=\"{LABEL_W}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"2\" fill=\"{}\"><title>{}</title></rect>",
                y + 3.0,
                w.max(1.0),
                ROW - 6.0,
                PALETTE[0],
                escape(&title)
            );
            text(
                &mut out,
                LABEL_W + w + 6.0,
                y + ROW / 2.0 + 4.0,
                "start",
                TEXT_COLOUR,
                &self.format.full(bar.value),
            );
        }
        out.push_str("</svg>");
        out
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(max_chars - 1).collect();
    t.push('…');
    t
}

// ---------------------------------------------------------------------------------------
// Heatmap
// ---------------------------------------------------------------------------------------

/// One cell of a weekday × hour heatmap.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatCell {
    /// Monday = 0 … Sunday = 6.
    pub weekday: u32,
    /// Hour of day, 0–23 (in the account's time zone).
    pub hour: u32,
    /// The value; `None` draws the cell as "no data".
    pub value: Option<f64>,
    /// Extra text for the hover title, e.g. "4 posts, 95% CI 2.1–3.8%".
    pub detail: Option<String>,
}

/// A weekday × hour heatmap with a legend, e.g. best posting times.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// Element id.
    pub id: String,
    /// Accessible title.
    pub title: String,
    /// What the colour means, shown in the legend, e.g. "engagement rate by reach".
    pub value_label: String,
    /// Time zone name shown under the hours.
    pub time_zone: String,
    /// How values are written.
    pub format: ValueFormat,
    /// Cells (missing cells are "no data").
    pub cells: Vec<HeatCell>,
    /// Cells to outline as recommendations, as (weekday, hour).
    pub highlight: Vec<(u32, u32)>,
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const HEAT_LOW: (u8, u8, u8) = (0xdb, 0xea, 0xfe);
const HEAT_HIGH: (u8, u8, u8) = (0x1e, 0x3a, 0x8a);
const NO_DATA: &str = "#ffffff";

fn heat_colour(f: f64) -> String {
    let f = f.clamp(0.0, 1.0);
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(HEAT_LOW.0, HEAT_HIGH.0),
        mix(HEAT_LOW.1, HEAT_HIGH.1),
        mix(HEAT_LOW.2, HEAT_HIGH.2)
    )
}

impl Heatmap {
    /// Renders the heatmap.
    pub fn to_svg(&self) -> String {
        const LEFT: f64 = 40.0;
        const TOP: f64 = 22.0;
        const CW: f64 = 27.0;
        const CH: f64 = 22.0;
        const W: f64 = LEFT + 24.0 * CW + 12.0;
        const H: f64 = TOP + 7.0 * CH + 58.0;
        type Slot<'a> = Option<(f64, Option<&'a str>)>;
        let mut grid: [[Slot<'_>; 24]; 7] = [[None; 24]; 7];
        for cell in &self.cells {
            if cell.weekday < 7
                && cell.hour < 24
                && let Some(v) = cell.value.filter(|it| it.is_finite())
            {
                grid[cell.weekday as usize][cell.hour as usize] = Some((v, cell.detail.as_deref()));
            }
        }
        let values: Vec<f64> = grid
            .iter()
            .flatten()
            .filter_map(|c| c.map(|it| it.0))
            .collect();
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let fraction = |v: f64| if hi > lo { (v - lo) / (hi - lo) } else { 1.0 };

        let mut out = String::new();
        let desc = if values.is_empty() {
            "No data".to_owned()
        } else {
            let best: Vec<String> = self
                .highlight
                .iter()
                .filter(|(d, h)| *d < 7 && *h < 24)
                .map(|(d, h)| format!("{} {h:02}:00", WEEKDAYS[*d as usize]))
                .collect();
            let mut d = format!(
                "{} by weekday and hour ({}), {} of 168 slots with data, from {} to {}",
                self.value_label,
                self.time_zone,
                values.len(),
                self.format.full(lo),
                self.format.full(hi)
            );
            if !best.is_empty() {
                let _ = write!(d, "; recommended: {}", best.join(", "));
            }
            d
        };
        open_svg(
            &mut out,
            "chart heatmap",
            &self.id,
            W,
            H,
            &self.title,
            &desc,
        );
        for hour in (0..24).step_by(3) {
            let x = LEFT + hour as f64 * CW + CW / 2.0;
            text(
                &mut out,
                x,
                TOP - 8.0,
                "middle",
                AXIS_COLOUR,
                &format!("{hour:02}"),
            );
        }
        for (d, name) in WEEKDAYS.iter().enumerate() {
            let y = TOP + d as f64 * CH;
            text(
                &mut out,
                LEFT - 8.0,
                y + CH / 2.0 + 4.0,
                "end",
                TEXT_COLOUR,
                name,
            );
            for (hour, slot) in grid[d].iter().enumerate() {
                let x = LEFT + hour as f64 * CW;
                let (fill, title) = match *slot {
                    Some((v, detail)) => {
                        let mut t = format!(
                            "{name} {hour:02}:00–{:02}:00: {} {}",
                            (hour + 1) % 24,
                            self.value_label,
                            self.format.full(v)
                        );
                        if let Some(detail) = detail {
                            let _ = write!(t, " ({detail})");
                        }
                        (heat_colour(fraction(v)), t)
                    }
                    None => (NO_DATA.to_owned(), format!("{name} {hour:02}:00: no data")),
                };
                let _ = write!(
                    out,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"2\" fill=\"{fill}\" stroke=\"{GRID_COLOUR}\"><title>{}</title></rect>",
                    x + 1.0,
                    y + 1.0,
                    CW - 2.0,
                    CH - 2.0,
                    escape(&title)
                );
            }
        }
        for (d, h) in &self.highlight {
            if *d < 7 && *h < 24 {
                let _ = write!(
                    out,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"3\" fill=\"none\" stroke=\"#f59e0b\" stroke-width=\"2.5\"><title>Recommended slot</title></rect>",
                    LEFT + *h as f64 * CW,
                    TOP + *d as f64 * CH,
                    CW,
                    CH
                );
            }
        }
        // Legend.
        let ly = TOP + 7.0 * CH + 14.0;
        text(
            &mut out,
            LEFT,
            ly + 10.0,
            "start",
            TEXT_COLOUR,
            &format!("{} ({})", self.value_label, self.time_zone),
        );
        let lx = LEFT;
        let ly2 = ly + 18.0;
        if values.is_empty() {
            text(
                &mut out,
                lx,
                ly2 + 10.0,
                "start",
                AXIS_COLOUR,
                "No data yet",
            );
        } else {
            text(
                &mut out,
                lx,
                ly2 + 10.0,
                "start",
                AXIS_COLOUR,
                &self.format.full(lo),
            );
            let sx = lx + 64.0;
            for i in 0..5 {
                let _ = write!(
                    out,
                    "<rect x=\"{:.1}\" y=\"{ly2:.1}\" width=\"28\" height=\"12\" fill=\"{}\"/>",
                    sx + i as f64 * 28.0,
                    heat_colour(i as f64 / 4.0)
                );
            }
            text(
                &mut out,
                sx + 5.0 * 28.0 + 6.0,
                ly2 + 10.0,
                "start",
                AXIS_COLOUR,
                &self.format.full(hi),
            );
        }
        let nx = lx + 330.0;
        let _ = write!(
            out,
            "<rect x=\"{nx:.1}\" y=\"{ly2:.1}\" width=\"16\" height=\"12\" fill=\"{NO_DATA}\" stroke=\"#d1d5db\"/>"
        );
        text(
            &mut out,
            nx + 22.0,
            ly2 + 10.0,
            "start",
            AXIS_COLOUR,
            "no data",
        );
        if !self.highlight.is_empty() {
            let rx = nx + 90.0;
            let _ = write!(
                out,
                "<rect x=\"{rx:.1}\" y=\"{ly2:.1}\" width=\"16\" height=\"12\" fill=\"none\" stroke=\"#f59e0b\" stroke-width=\"2.5\"/>"
            );
            text(
                &mut out,
                rx + 22.0,
                ly2 + 10.0,
                "start",
                AXIS_COLOUR,
                "recommended",
            );
        }
        out.push_str("</svg>");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap()
    }

    /// A crude well-formedness check: every opened element is closed in order.
    fn assert_balanced(svg: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            rest = &rest[start + 1..];
            let end = rest.find('>').expect("unterminated tag");
            let tag = &rest[..end];
            rest = &rest[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(name),
                    "mismatched </{name}> in {svg}"
                );
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().unwrap().to_owned();
                stack.push(name);
            }
        }
        assert!(stack.is_empty(), "unclosed elements {stack:?}");
    }

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn formats_are_readable() {
        assert_eq!(format_count(1_234_567.0), "1,234,567");
        assert_eq!(format_count(-1_000.0), "-1,000");
        assert_eq!(format_count(12.5), "12.5");
        assert_eq!(format_count(999.0), "999");
        assert_eq!(format_compact(12_300.0), "12.3k");
        assert_eq!(format_compact(4_500_000.0), "4.5M");
        assert_eq!(format_compact(950.0), "950");
        assert_eq!(format_duration_ms(350.0), "350 ms");
        assert_eq!(format_duration_ms(1_500.0), "1.5 s");
        assert_eq!(format_duration_ms(240_000.0), "4 min");
        assert_eq!(ValueFormat::Percent.full(3.456), "3.46%");
        assert_eq!(ValueFormat::Ratio.full(2.5), "2.50×");
        assert_eq!(format_decimal(-0.0001, 2), "0");
    }

    #[test]
    fn nice_steps_are_round() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.3), 2.0);
        assert_eq!(nice_step(23.0), 25.0);
        assert_eq!(nice_step(260.0), 500.0);
        let axis = ValueAxis::new(
            &[10_020.0, 10_480.0],
            Scale::LinearFitted,
            ValueFormat::Count,
        );
        assert!(
            axis.min <= 10_020.0 && axis.min > 9_000.0,
            "fitted axis starts near the data: {}",
            axis.min
        );
        assert!(axis.max >= 10_480.0);
        let axis = ValueAxis::new(&[3.0, 80.0], Scale::LinearFromZero, ValueFormat::Count);
        assert_eq!(axis.min, 0.0);
        assert_eq!(axis.ticks, vec![0.0, 20.0, 40.0, 60.0, 80.0]);
    }

    #[test]
    fn line_chart_has_title_axes_points_and_escaped_labels() {
        let svg = LineChart::new("followers<1>", "Followers <per day>", ValueFormat::Count)
            .y_label("followers")
            .scale(Scale::LinearFitted)
            .series(TimeSeries::new(
                "Followers & friends",
                vec![
                    (day(1), Some(1000.0)),
                    (day(2), Some(1010.0)),
                    (day(3), Some(1042.0)),
                ],
            ))
            .to_svg();
        assert_balanced(&svg);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("viewBox=\"0 0 960 280\""));
        assert!(
            svg.contains("id=\"followers-1-\""),
            "id is sanitised: {svg}"
        );
        assert!(svg.contains("<title id=\"followers-1--title\">Followers &lt;per day&gt;</title>"));
        assert!(svg.contains("Followers &amp; friends"));
        assert!(!svg.contains("<per day>"));
        assert!(svg.contains("<polyline"));
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("Followers &amp; friends — 2026-03-03: 1,042"));
        assert!(
            svg.contains(">Mar 1<") || svg.contains(">Mar 2<"),
            "date ticks: {svg}"
        );
        assert!(svg.contains(">followers<"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn missing_values_break_the_line_instead_of_dropping_to_zero() {
        let svg = LineChart::new("reach", "Reach", ValueFormat::Count)
            .area()
            .series(TimeSeries::daily(
                "Reach",
                vec![
                    (NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(), Some(50.0)),
                    (NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(), Some(60.0)),
                    (NaiveDate::from_ymd_opt(2026, 3, 3).unwrap(), None),
                    (NaiveDate::from_ymd_opt(2026, 3, 4).unwrap(), Some(70.0)),
                    (NaiveDate::from_ymd_opt(2026, 3, 5).unwrap(), Some(65.0)),
                ],
            ))
            .to_svg();
        assert_balanced(&svg);
        assert_eq!(
            svg.matches("<polyline").count(),
            2,
            "two segments around the gap"
        );
        assert_eq!(
            svg.matches("fill-opacity=\"0.15\"").count(),
            2,
            "two filled areas"
        );
        assert_eq!(
            svg.matches("<circle").count(),
            4,
            "no point for the missing day"
        );
    }

    #[test]
    fn empty_chart_says_so() {
        let svg = LineChart::new("x", "Views", ValueFormat::Count)
            .series(TimeSeries::new("Views", vec![]))
            .to_svg();
        assert_balanced(&svg);
        assert!(svg.contains("No data for this period"));
        let svg = LineChart::new("x", "Views", ValueFormat::Count)
            .series(TimeSeries::new(
                "Views",
                vec![(day(1), None), (day(2), None)],
            ))
            .to_svg();
        assert_balanced(&svg);
        assert!(svg.contains("No data for this period"));
    }

    #[test]
    fn partial_last_bucket_is_dashed() {
        let svg = LineChart::new("tp", "Throughput", ValueFormat::Count)
            .series(TimeSeries::new(
                "completed",
                vec![
                    (day(1), Some(10.0)),
                    (day(2), Some(12.0)),
                    (day(3), Some(3.0)),
                ],
            ))
            .last_point_partial(true)
            .to_svg();
        assert_balanced(&svg);
        assert!(svg.contains("stroke-dasharray"));
        assert!(svg.contains("Latest bucket, still filling"));
    }

    #[test]
    fn percentile_chart_uses_a_log_duration_axis() {
        let points: Vec<PercentilePoint> = (1..=5)
            .map(|d| PercentilePoint {
                at: day(d),
                p50: Some(40.0 * f64::from(d)),
                p95: Some(900.0),
                p99: Some(12_000.0),
            })
            .collect();
        let svg = percentile_chart("wait", "Wait time", &points, false).to_svg();
        assert_balanced(&svg);
        for label in ["p50", "p95", "p99"] {
            assert!(svg.contains(&format!(">{label}<")), "legend {label}");
        }
        // From 10 ms to 1 min, in readable steps.
        for tick in [">10 ms<", ">100 ms<", ">1 s<", ">10 s<", ">1 min<"] {
            assert!(svg.contains(tick), "tick {tick} in {svg}");
        }
        assert!(svg.contains("p99 — 2026-03-05: 12 s"));
    }

    #[test]
    fn compact_charts_use_the_smaller_canvas() {
        let svg = LineChart::new("c", "Compact", ValueFormat::Count)
            .compact()
            .series(TimeSeries::new(
                "v",
                vec![(day(1), Some(1.0)), (day(2), Some(2.0))],
            ))
            .to_svg();
        assert!(svg.contains("viewBox=\"0 0 560 240\""));
        assert!(svg.contains("class=\"chart line\""));
    }

    #[test]
    fn long_series_spanning_months_get_month_ticks_and_no_per_point_marks() {
        let start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let points = (0..365)
            .map(|d| (start + Duration::days(d), Some(d as f64)))
            .collect();
        let svg = LineChart::new("year", "Year", ValueFormat::Count)
            .series(TimeSeries::new("v", points))
            .to_svg();
        assert_balanced(&svg);
        assert_eq!(svg.matches("<circle").count(), 0);
        assert!(
            svg.contains(">Jan 2025<") || svg.contains(">Apr<") || svg.contains(">Mar<"),
            "{svg}"
        );
        assert!(
            svg.len() < 20_000,
            "a year of days stays small: {}",
            svg.len()
        );
    }

    #[test]
    fn hourly_ticks_for_short_spans() {
        let start = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        let ticks = time_ticks(start, start + Duration::hours(12));
        assert!(ticks.len() >= 3 && ticks.len() <= 8, "{ticks:?}");
        assert!(ticks.iter().any(|(_, l)| l == "06:00"), "{ticks:?}");
        let ticks = time_ticks(start, start + Duration::days(30));
        assert!(
            ticks
                .iter()
                .all(|(_, l)| l.starts_with("Mar") || l.starts_with("Apr")),
            "{ticks:?}"
        );
    }

    #[test]
    fn bar_chart_scales_bars_to_the_largest_value() {
        let svg = BarChart::new("types", "Posts by type", ValueFormat::Count)
            .bar(Bar::new("Reels", 40.0).note("50%"))
            .bar(Bar::new("Feed <img>", 20.0))
            .bar(Bar::new("Story", 20.0))
            .to_svg();
        assert_balanced(&svg);
        assert!(svg.contains("Feed &lt;img&gt;"));
        assert!(svg.contains("<title>Reels: 40 (50%)</title>"));
        // Largest bar spans the whole scale (560 - 150 - 80 = 330), half of it for 20.
        assert!(svg.contains("width=\"330.0\""));
        assert_eq!(svg.matches("width=\"165.0\"").count(), 2);
        let empty = BarChart::new("e", "Nothing", ValueFormat::Count).to_svg();
        assert_balanced(&empty);
        assert!(empty.contains("No data"));
    }

    #[test]
    fn heatmap_has_168_cells_a_legend_and_highlights() {
        let cells = vec![
            HeatCell {
                weekday: 0,
                hour: 9,
                value: Some(2.0),
                detail: Some("3 posts".into()),
            },
            HeatCell {
                weekday: 4,
                hour: 18,
                value: Some(6.0),
                detail: None,
            },
            HeatCell {
                weekday: 9,
                hour: 99,
                value: Some(100.0),
                detail: None,
            },
        ];
        let svg = Heatmap {
            id: "best".into(),
            title: "Best posting times".into(),
            value_label: "engagement rate by reach".into(),
            time_zone: "Europe/Berlin".into(),
            format: ValueFormat::Percent,
            cells,
            highlight: vec![(4, 18)],
        }
        .to_svg();
        assert_balanced(&svg);
        let cell_titles = svg.matches(":00–").count() + svg.matches(":00: no data").count();
        assert_eq!(cell_titles, 168);
        assert!(svg.contains("Mon 09:00–10:00: engagement rate by reach 2% (3 posts)"));
        assert!(svg.contains("Fri 18:00–19:00"));
        assert!(svg.contains("recommended: Fri 18:00"));
        assert!(svg.contains(">no data<") && svg.contains(">recommended<"));
        assert!(
            svg.contains(&heat_colour(1.0)),
            "the maximum gets the darkest colour"
        );
        assert!(svg.contains("Europe/Berlin"));
        assert!(
            !svg.contains("by reach 100%"),
            "out-of-range cells are ignored"
        );
    }
}
