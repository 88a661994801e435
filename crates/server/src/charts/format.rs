//! How chart values are written: exact forms for titles and tables, short forms for axis
//! ticks, with thousands separators, compact suffixes and readable durations.

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
