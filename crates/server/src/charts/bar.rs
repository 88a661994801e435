//! Horizontal bar charts: categories down the side so long labels stay readable.

use std::fmt::Write as _;

use super::{PALETTE, TEXT_COLOUR, ValueFormat, empty_note, escape, open_svg, text};

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
