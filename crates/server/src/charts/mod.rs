//! Inline SVG charts for the dashboard and the self-contained HTML report: time series
//! (lines or areas, linear or logarithmic), horizontal bars and a weekday × hour heatmap.
//!
//! Every chart is a plain `String` of SVG with a fixed `viewBox` and natural size (it
//! shrinks with its container, `max-width: 100%`), an accessible `<title>`/`<desc>`, readable axes, and a `<title>` on every
//! mark so hovering shows the exact value. All text is escaped. Colours are attributes, not
//! classes, so a chart renders the same in the dashboard, in a saved report and in a
//! screenshot. Missing values are gaps, never zeros: a line breaks where a day has no data.
//!
//! One file per chart kind, along the sections the charts share: `format` (how values are
//! written), `axis` (value and time axes), `line` (time series), `percentiles` (p50/p95/p99
//! over time), `bar` (horizontal bars) and `heatmap` (weekday × hour). This file holds what
//! every chart uses: the palette, the SVG opening, text and escaping.

mod axis;
mod bar;
mod format;
mod heatmap;
mod line;
mod percentiles;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;

pub use bar::{Bar, BarChart};
pub use format::{ValueFormat, format_compact, format_count, format_decimal, format_duration_ms};
pub use heatmap::{HeatCell, Heatmap};
pub use line::{Band, LineChart, Scale, TimeSeries};
pub use percentiles::{PercentilePoint, percentile_chart};

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
