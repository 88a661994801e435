//! Time-series charts: one or more lines over time, optionally filled as areas, on a
//! linear or logarithmic value axis; missing values break the line.

use std::fmt::Write as _;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use super::axis::{ValueAxis, all_midnight, format_time, time_ticks};
use super::{
    AXIS_COLOUR, GRID_COLOUR, MAX_MARKED_POINTS, PALETTE, TEXT_COLOUR, ValueFormat, empty_note,
    escape, open_svg, text,
};

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

/// A shaded band between a lower and an upper line (a forecast's prediction interval).
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// What the band is, shown on hover and in the description.
    pub label: String,
    /// `(time, low, high)` points (sorted by time when drawn); non-finite points are skipped.
    pub points: Vec<(DateTime<Utc>, f64, f64)>,
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
    /// A shaded band drawn under the lines (it widens the axes to fit).
    pub band: Option<Band>,
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
            band: None,
        }
    }

    /// Adds a shaded band (e.g. a forecast's prediction interval).
    pub fn band(mut self, band: Band) -> LineChart {
        self.band = Some(band);
        self
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
        let mut band: Vec<(DateTime<Utc>, f64, f64)> = self
            .band
            .iter()
            .flat_map(|b| b.points.iter().copied())
            .filter(|(_, lo, hi)| {
                lo.is_finite() && hi.is_finite() && (self.scale != Scale::Log || *lo > 0.0)
            })
            .collect();
        band.sort_by_key(|(t, _, _)| *t);
        let mut values: Vec<f64> = series.iter().flatten().filter_map(|(_, v)| *v).collect();
        let n_points = values.len();
        values.extend(band.iter().flat_map(|(_, lo, hi)| [*lo, *hi]));

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

        let times: Vec<DateTime<Utc>> = series
            .iter()
            .flatten()
            .map(|(t, _)| *t)
            .chain(band.iter().map(|(t, _, _)| *t))
            .collect();
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

        if band.len() > 1 {
            let mut d = String::new();
            for (i, (t, _, hi)) in band.iter().enumerate() {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1} ",
                    if i == 0 { "M" } else { "L" },
                    x_of(*t),
                    y_of(*hi)
                );
            }
            for (t, lo, _) in band.iter().rev() {
                let _ = write!(d, "L{:.1},{:.1} ", x_of(*t), y_of(*lo));
            }
            let label = self.band.as_ref().map_or("", |b| b.label.as_str());
            let _ = write!(
                out,
                "<path class=\"band\" d=\"{}Z\" fill=\"{}\" fill-opacity=\"0.18\" stroke=\"none\"><title>{}</title></path>",
                d,
                PALETTE[1 % PALETTE.len()],
                escape(label)
            );
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
        if let Some(b) = &self.band {
            let finite = || {
                b.points
                    .iter()
                    .filter(|(_, lo, hi)| lo.is_finite() && hi.is_finite())
                    .map(|it| it.0)
            };
            if let (Some(first), Some(last)) = (finite().min(), finite().max()) {
                let dates_only = all_midnight(series);
                parts.push(format!(
                    "{} from {} to {}",
                    b.label,
                    format_time(first, dates_only),
                    format_time(last, dates_only)
                ));
            }
        }
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
