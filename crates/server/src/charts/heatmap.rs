//! A weekday × hour heatmap with a legend and outlined recommendations, e.g. best posting
//! times.

use std::fmt::Write as _;

use super::{AXIS_COLOUR, GRID_COLOUR, TEXT_COLOUR, ValueFormat, escape, open_svg, text};

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

pub(super) fn heat_colour(f: f64) -> String {
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
