//! The follower chart of a report mail: the period's followers per day (and the forecast
//! with its prediction band, when the report has one) drawn with `tiny-skia` as a PNG that
//! travels inside the mail as an inline image. Mail clients drop `<style>` blocks and most
//! do not draw inline SVG, but every one shows an inline PNG.
//!
//! The image holds no text (no fonts): the title, the first and last day, the values at the
//! chart's top and bottom edge and the legend are HTML text around it. A day without a
//! follower sample is a gap in the line, never a 0. The size is fixed and the bytes are the
//! same for the same input.

use chrono::NaiveDate;
use tiny_skia::{Color, FillRule, Paint, PathBuilder, Pixmap, Stroke, StrokeDash, Transform};

/// Width of the chart in CSS pixels.
pub(crate) const WIDTH: u32 = 600;
/// Height of the chart in CSS pixels.
pub(crate) const HEIGHT: u32 = 180;
/// Device pixels per CSS pixel (sharp on high-density screens).
pub(crate) const SCALE: u32 = 2;
/// Room around the plot, in CSS pixels, so the line is never cut at the edge.
const INSET: f32 = 8.0;

/// The followers line (the dashboard's first series colour, `#2563eb`).
pub(crate) const LINE_RGB: (u8, u8, u8) = (0x25, 0x63, 0xeb);
/// The forecast line and its band (the dashboard's second colour, `#d97706`).
pub(crate) const FORECAST_RGB: (u8, u8, u8) = (0xd9, 0x77, 0x06);
/// The guide lines at the top and bottom values (`#e5e7eb`).
const GUIDE_RGB: (u8, u8, u8) = (0xe5, 0xe7, 0xeb);

/// One forecast day: the point forecast and the edges of its prediction interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BandPoint {
    pub(crate) day: NaiveDate,
    pub(crate) value: f64,
    pub(crate) low: f64,
    pub(crate) high: f64,
}

/// What the chart draws.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChartInput {
    /// First day of the x axis.
    pub(crate) first: NaiveDate,
    /// Last day of the x axis (the forecast's days may reach past the series').
    pub(crate) last: NaiveDate,
    /// Days with a value; a day left out is a gap.
    pub(crate) series: Vec<(NaiveDate, f64)>,
    /// Forecast days (empty: no forecast).
    pub(crate) band: Vec<BandPoint>,
}

/// A drawn chart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChartPng {
    /// The PNG, `WIDTH × SCALE` by `HEIGHT × SCALE` pixels.
    pub(crate) png: Vec<u8>,
    /// The value at the chart's bottom guide line.
    pub(crate) bottom: f64,
    /// The value at the chart's top guide line.
    pub(crate) top: f64,
}

/// Why there is no chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChartError {
    /// Nothing to draw: no day of the period has a value.
    NoValues,
    /// A value is not a finite number, or the days are out of order.
    BadInput(String),
    /// The PNG could not be written.
    Encode(String),
}

impl std::fmt::Display for ChartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChartError::NoValues => f.write_str("no day of the period has a follower sample"),
            ChartError::BadInput(why) => write!(f, "the chart's data is unusable: {why}"),
            ChartError::Encode(why) => write!(f, "the chart could not be written as PNG: {why}"),
        }
    }
}

/// Maps days and values to CSS-pixel coordinates of the plot.
#[derive(Debug, Clone, Copy)]
struct Frame {
    first: NaiveDate,
    span_days: i64,
    bottom: f64,
    top: f64,
}

impl Frame {
    fn x(&self, day: NaiveDate) -> f32 {
        let plot_w = WIDTH as f32 - 2.0 * INSET;
        if self.span_days == 0 {
            return WIDTH as f32 / 2.0;
        }
        let offset = (day - self.first).num_days() as f32;
        INSET + plot_w * offset / self.span_days as f32
    }

    fn y(&self, value: f64) -> f32 {
        let plot_h = HEIGHT as f32 - 2.0 * INSET;
        let share = ((value - self.bottom) / (self.top - self.bottom)) as f32;
        HEIGHT as f32 - INSET - plot_h * share
    }
}

fn paint(rgb: (u8, u8, u8), alpha: u8) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color_rgba8(rgb.0, rgb.1, rgb.2, alpha);
    p.anti_alias = true;
    p
}

fn frame_of(input: &ChartInput) -> Result<Frame, ChartError> {
    if input.last < input.first {
        return Err(ChartError::BadInput(format!(
            "the last day {} is before the first {}",
            input.last, input.first
        )));
    }
    let mut values: Vec<f64> = input.series.iter().map(|(_, v)| *v).collect();
    if values.is_empty() {
        return Err(ChartError::NoValues);
    }
    values.extend(input.band.iter().flat_map(|b| [b.value, b.low, b.high]));
    if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
        return Err(ChartError::BadInput(format!(
            "the value {bad} is not a number"
        )));
    }
    let days = input
        .series
        .iter()
        .map(|(d, _)| *d)
        .chain(input.band.iter().map(|b| b.day));
    for day in days {
        if day < input.first || day > input.last {
            return Err(ChartError::BadInput(format!(
                "the day {day} is outside {} to {}",
                input.first, input.last
            )));
        }
    }
    let mut bottom = values.iter().copied().fold(f64::INFINITY, f64::min);
    let mut top = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if top - bottom < 1.0 {
        // A flat line sits in the middle of a range of ±1.
        let mid = (top + bottom) / 2.0;
        bottom = mid - 1.0;
        top = mid + 1.0;
    }
    Ok(Frame {
        first: input.first,
        span_days: (input.last - input.first).num_days(),
        bottom,
        top,
    })
}

/// Draws the chart. Errors (never panics) when there is nothing to draw or the input is
/// not usable.
pub(crate) fn draw(input: &ChartInput) -> Result<ChartPng, ChartError> {
    let frame = frame_of(input)?;
    let mut pixmap = Pixmap::new(WIDTH * SCALE, HEIGHT * SCALE)
        .ok_or_else(|| ChartError::Encode("no room for the image".into()))?;
    pixmap.fill(Color::WHITE);
    let at = Transform::from_scale(SCALE as f32, SCALE as f32);

    // Guide lines at the top and bottom values, which the HTML labels.
    let guide = Stroke {
        width: 1.0,
        ..Stroke::default()
    };
    for value in [frame.bottom, frame.top] {
        let y = frame.y(value);
        let mut pb = PathBuilder::new();
        pb.move_to(INSET, y);
        pb.line_to(WIDTH as f32 - INSET, y);
        if let Some(path) = pb.finish() {
            pixmap.stroke_path(&path, &paint(GUIDE_RGB, 255), &guide, at, None);
        }
    }

    // The forecast's band, then its point forecast dashed.
    let mut band = input.band.clone();
    band.sort_by_key(|b| b.day);
    if band.len() > 1 {
        let mut pb = PathBuilder::new();
        for (i, b) in band.iter().enumerate() {
            let (x, y) = (frame.x(b.day), frame.y(b.high));
            if i == 0 {
                pb.move_to(x, y);
            } else {
                pb.line_to(x, y);
            }
        }
        for b in band.iter().rev() {
            pb.line_to(frame.x(b.day), frame.y(b.low));
        }
        pb.close();
        if let Some(path) = pb.finish() {
            pixmap.fill_path(&path, &paint(FORECAST_RGB, 46), FillRule::Winding, at, None);
        }
        let dashed = Stroke {
            width: 2.0,
            dash: StrokeDash::new(vec![4.0, 3.0], 0.0),
            ..Stroke::default()
        };
        let points: Vec<_> = band.iter().map(|b| (b.day, b.value)).collect();
        for segment in segments(&points) {
            stroke_segment(&mut pixmap, &frame, segment, FORECAST_RGB, &dashed, at);
        }
    }

    // The followers: a line through consecutive days, a dot for a day alone.
    let mut series = input.series.clone();
    series.sort_by_key(|(d, _)| *d);
    let solid = Stroke {
        width: 2.0,
        line_cap: tiny_skia::LineCap::Round,
        line_join: tiny_skia::LineJoin::Round,
        ..Stroke::default()
    };
    for segment in segments(&series) {
        stroke_segment(&mut pixmap, &frame, segment, LINE_RGB, &solid, at);
    }

    let png = pixmap
        .encode_png()
        .map_err(|e| ChartError::Encode(e.to_string()))?;
    Ok(ChartPng {
        png,
        bottom: frame.bottom,
        top: frame.top,
    })
}

/// Runs of consecutive days: a missing day ends a run.
fn segments(points: &[(NaiveDate, f64)]) -> Vec<&[(NaiveDate, f64)]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=points.len() {
        let broken = i == points.len() || (points[i].0 - points[i - 1].0).num_days() != 1;
        if broken {
            out.push(&points[start..i]);
            start = i;
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

fn stroke_segment(
    pixmap: &mut Pixmap,
    frame: &Frame,
    segment: &[(NaiveDate, f64)],
    rgb: (u8, u8, u8),
    stroke: &Stroke,
    at: Transform,
) {
    if let [(day, value)] = segment {
        let dot = PathBuilder::from_circle(frame.x(*day), frame.y(*value), stroke.width * 1.5);
        if let Some(path) = dot {
            pixmap.fill_path(&path, &paint(rgb, 255), FillRule::Winding, at, None);
        }
        return;
    }
    let mut pb = PathBuilder::new();
    for (i, (day, value)) in segment.iter().enumerate() {
        let (x, y) = (frame.x(*day), frame.y(*value));
        if i == 0 {
            pb.move_to(x, y);
        } else {
            pb.line_to(x, y);
        }
    }
    if let Some(path) = pb.finish() {
        pixmap.stroke_path(&path, &paint(rgb, 255), stroke, at, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, day).unwrap()
    }

    fn rgb(p: &Pixmap, x: f32, y: f32) -> (u8, u8, u8) {
        let px = p
            .pixel((x * SCALE as f32) as u32, (y * SCALE as f32) as u32)
            .unwrap()
            .demultiply();
        (px.red(), px.green(), px.blue())
    }

    /// Followers on 2–8 March without a sample on the 5th: 100, 100, 100, –, 110, 120, 130.
    fn week() -> ChartInput {
        ChartInput {
            first: d(2),
            last: d(8),
            series: vec![
                (d(2), 100.0),
                (d(3), 100.0),
                (d(4), 100.0),
                (d(6), 110.0),
                (d(7), 120.0),
                (d(8), 130.0),
            ],
            band: Vec::new(),
        }
    }

    #[test]
    fn a_png_of_fixed_size_with_the_line_and_a_gap_for_the_missing_day() {
        let chart = draw(&week()).unwrap();
        assert_eq!(&chart.png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!((chart.bottom, chart.top), (100.0, 130.0));
        let p = Pixmap::decode_png(&chart.png).unwrap();
        assert_eq!((p.width(), p.height()), (1200, 360));

        // Six days over 584 px: 2 March at x 8, one day every 97.33 px. 100 followers
        // are the bottom edge, y 172.
        let frame = frame_of(&week()).unwrap();
        assert_eq!(frame.x(d(2)), 8.0);
        assert_eq!(frame.y(100.0), 172.0);
        assert_eq!(frame.y(130.0), 8.0);
        // Halfway between the 2nd and the 3rd (both 100), on the line: the line's colour.
        let mid = (frame.x(d(2)) + frame.x(d(3))) / 2.0;
        assert_eq!(rgb(&p, mid, 172.0), LINE_RGB);
        // Between the 4th and the 6th there is no line: the whole column between the 4th
        // and the missing 5th holds no pixel of the line's colour (no drop to 0 either).
        let gap = (frame.x(d(4)) + frame.x(d(5))) / 2.0 + 4.0;
        for y in 0..HEIGHT {
            let c = rgb(&p, gap, y as f32);
            let bluish = i32::from(c.2) - i32::from(c.0) > 40;
            assert!(!bluish, "a line pixel at y {y}: {c:?}");
        }
        // The column of the 4th → 5th gap is white away from the guide lines.
        assert_eq!(rgb(&p, gap, 90.0), (255, 255, 255));
        // Between the 6th and the 7th the line climbs: its middle is on it.
        let (x6, x7) = (frame.x(d(6)), frame.x(d(7)));
        assert_eq!(rgb(&p, (x6 + x7) / 2.0, frame.y(115.0)), LINE_RGB);
    }

    #[test]
    fn the_same_input_gives_the_same_bytes_and_a_band_is_drawn() {
        let mut input = week();
        input.last = d(12);
        input.band = (9..=12)
            .map(|day| BandPoint {
                day: d(day),
                value: 130.0 + f64::from(day - 8) * 5.0,
                low: 120.0,
                high: 160.0,
            })
            .collect();
        let a = draw(&input).unwrap();
        assert_eq!(a, draw(&input).unwrap());
        assert_eq!((a.bottom, a.top), (100.0, 160.0));
        let frame = frame_of(&input).unwrap();
        let p = Pixmap::decode_png(&a.png).unwrap();
        // Inside the band, away from its dashed line: the band's tint (orange over white).
        let c = rgb(&p, (frame.x(d(10)) + frame.x(d(11))) / 2.0, frame.y(125.0));
        assert!(c.0 > c.2 && c != (255, 255, 255), "{c:?}");
        assert_ne!(a, draw(&week()).unwrap());
    }

    #[test]
    fn nothing_to_draw_or_bad_values_are_errors() {
        let mut empty = week();
        empty.series.clear();
        assert_eq!(draw(&empty), Err(ChartError::NoValues));
        let mut nan = week();
        nan.series.push((d(5), f64::NAN));
        assert!(matches!(draw(&nan), Err(ChartError::BadInput(_))));
        let mut outside = week();
        outside.series.push((d(20), 1.0));
        assert!(matches!(draw(&outside), Err(ChartError::BadInput(_))));
        // One day alone is a dot, and a flat series sits mid-height.
        let one = ChartInput {
            first: d(2),
            last: d(2),
            series: vec![(d(2), 50.0)],
            band: Vec::new(),
        };
        let chart = draw(&one).unwrap();
        assert_eq!((chart.bottom, chart.top), (49.0, 51.0));
        let p = Pixmap::decode_png(&chart.png).unwrap();
        assert_eq!(rgb(&p, 300.0, 90.0), LINE_RGB);
    }
}
