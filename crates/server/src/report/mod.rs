//! Renders an [`analytics::Report`] for people and programs: a plain-text table for the
//! terminal, JSON in which every figure carries its definition key, long-format CSV (one
//! row per figure, keyed), and one self-contained HTML file with inline CSS and SVG charts.
//!
//! `igsync report` and the API's analytics endpoints both go through [`render`], so the
//! four formats never disagree. Values are formatted here, from the figure's unit; a
//! missing value is written `n/a` (JSON `null`) with the reason next to it, never `0`.

mod body;
mod csv;
pub mod html;
mod json;
mod table;

use std::fmt;
use std::str::FromStr;

use analytics::{Figure, Report, Unit};

pub use self::body::ReportBody;
pub use self::json::report_json;

/// The output formats of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportFormat {
    /// Aligned plain text for a terminal.
    Table,
    /// JSON; every figure is `{"key", "label", "value", "unit", "note", "definition"}`.
    Json,
    /// CSV, one row per figure (and per post figure, daily value, slot…), each with its key.
    Csv,
    /// A single self-contained HTML document with inline CSS and SVG charts.
    Html,
}

impl ReportFormat {
    /// Every format.
    pub const ALL: [ReportFormat; 4] = [
        ReportFormat::Table,
        ReportFormat::Json,
        ReportFormat::Csv,
        ReportFormat::Html,
    ];

    /// The format's name as used on the command line and in `?format=`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Table => "table",
            ReportFormat::Json => "json",
            ReportFormat::Csv => "csv",
            ReportFormat::Html => "html",
        }
    }

    /// The HTTP `Content-Type` of the rendered output.
    pub fn content_type(self) -> &'static str {
        match self {
            ReportFormat::Table => "text/plain; charset=utf-8",
            ReportFormat::Json => "application/json",
            ReportFormat::Csv => "text/csv; charset=utf-8",
            ReportFormat::Html => "text/html; charset=utf-8",
        }
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Table => "txt",
            ReportFormat::Json => "json",
            ReportFormat::Csv => "csv",
            ReportFormat::Html => "html",
        }
    }
}

impl fmt::Display for ReportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a format name that is not one of `table`, `json`, `csv`, `html`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown report format {0:?}: expected table, json, csv or html")]
pub struct UnknownFormat(pub String);

impl FromStr for ReportFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReportFormat::ALL
            .into_iter()
            .find(|it| it.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// Which account a report is about (the report itself holds only numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSubject {
    /// igsync's account id.
    pub account_id: store::AccountId,
    /// Instagram username.
    pub username: String,
    /// Display name, if any.
    pub name: Option<String>,
    /// How complete the period's story numbers are ("23 of 23 stories have final numbers
    /// (19 webhook, 4 final read)"), when known.
    pub stories: Option<String>,
    /// Comments and mentions received in the period, when known.
    pub conversations: Option<String>,
}

impl From<&store::Account> for ReportSubject {
    fn from(account: &store::Account) -> Self {
        ReportSubject {
            account_id: account.id,
            username: account.username.clone(),
            name: account.name.clone(),
            stories: None,
            conversations: None,
        }
    }
}

/// Renders `report` about `subject` in `format`.
pub fn render(report: &Report, subject: &ReportSubject, format: ReportFormat) -> String {
    match format {
        ReportFormat::Table => table::render(report, subject),
        ReportFormat::Json => {
            let value = report_json(report, subject);
            // Serialising a `serde_json::Value` cannot fail.
            serde_json::to_string_pretty(&value).unwrap_or_default()
        }
        ReportFormat::Csv => csv::render(report, subject),
        ReportFormat::Html => html::document(report, subject),
    }
}

/// The CSV form without the formula guard: text cells as they are (`@acme`, not
/// `'@acme`), for programs that read CSV rather than spreadsheets.
pub fn render_csv_raw(report: &Report, subject: &ReportSubject) -> String {
    csv::render_raw(report, subject)
}

/// A figure's value for people, from its unit (`n/a` when missing).
pub fn format_figure(figure: &Figure) -> String {
    match figure.value {
        Some(v) => format_value(v, figure.unit),
        None => "n/a".to_owned(),
    }
}

/// A value of `unit` for people: `1,234`, `3.21%`, `2.50×`, `z 2.31`, `87.5`.
pub fn format_value(value: f64, unit: Unit) -> String {
    use crate::charts::{format_count, format_decimal};
    match unit {
        Unit::Count => format_count(value),
        Unit::Percent => format!("{}%", format_decimal(value, 2)),
        Unit::Ratio => format!("{value:.2}×"),
        Unit::ZScore => format!("z {}", format_decimal(value, 2)),
        Unit::Score => format_decimal(value, 1),
        Unit::Percentile => format!("{} pct", format_decimal(value, 1)),
    }
}

/// A signed change in percent, `+12.5%` / `-3%`, or `n/a`.
pub(crate) fn format_change(figure: &Figure) -> String {
    match figure.value {
        Some(v) if v > 0.0 => format!("+{}%", crate::charts::format_decimal(v, 1)),
        Some(v) => format!("{}%", crate::charts::format_decimal(v, 1)),
        None => "n/a".to_owned(),
    }
}

/// The label of a figure's definition (its key when the registry does not know it).
pub(crate) fn figure_label(figure: &Figure) -> &'static str {
    figure.definition().map_or(figure.key, |it| it.label)
}

/// Human name of a media product type.
pub(crate) fn product_type_label(product_type: analytics::MediaProductType) -> &'static str {
    match product_type {
        analytics::MediaProductType::Feed => "Feed",
        analytics::MediaProductType::Reels => "Reels",
        analytics::MediaProductType::Story => "Stories",
    }
}

/// Human name of an account metric.
pub(crate) fn account_metric_label(metric: analytics::AccountMetric) -> &'static str {
    use analytics::AccountMetric as M;
    match metric {
        M::Reach => "Reach",
        M::Views => "Views",
        M::AccountsEngaged => "Accounts engaged",
        M::TotalInteractions => "Total interactions",
        M::Likes => "Likes",
        M::Comments => "Comments",
        M::Saves => "Saves",
        M::Shares => "Shares",
        M::Replies => "Replies",
        M::ProfileViews => "Profile views",
        M::WebsiteClicks => "Website clicks",
        M::ProfileLinksTaps => "Profile link taps",
        M::Follows => "Follows",
        M::Unfollows => "Unfollows",
        M::NetNewFollowers => "Net new followers",
    }
}

/// Human name of a demographic breakdown.
pub(crate) fn demographic_label(
    audience: analytics::Audience,
    dimension: analytics::DemographicDimension,
) -> String {
    let who = match audience {
        analytics::Audience::Followers => "Followers",
        analytics::Audience::Engaged => "Engaged accounts",
        analytics::Audience::Reached => "Reached accounts",
    };
    let by = match dimension {
        analytics::DemographicDimension::Age => "age",
        analytics::DemographicDimension::Gender => "gender",
        analytics::DemographicDimension::Country => "country",
        analytics::DemographicDimension::City => "city",
    };
    format!("{who} by {by}")
}

/// Human name of a trending verdict.
pub fn verdict_label(verdict: analytics::TrendingVerdict) -> &'static str {
    use analytics::TrendingVerdict as V;
    match verdict {
        V::Trending => "Trending",
        V::NotTrending => "Not trending",
        V::InsufficientBaseline => "Not enough history",
        V::NoObservation => "No snapshot yet",
        V::Deleted => "Deleted",
    }
}

/// Three-letter weekday name.
pub(crate) fn weekday_label(weekday: chrono::Weekday) -> &'static str {
    match weekday {
        chrono::Weekday::Mon => "Mon",
        chrono::Weekday::Tue => "Tue",
        chrono::Weekday::Wed => "Wed",
        chrono::Weekday::Thu => "Thu",
        chrono::Weekday::Fri => "Fri",
        chrono::Weekday::Sat => "Sat",
        chrono::Weekday::Sun => "Sun",
    }
}

/// A caption shortened to one line of at most `max` characters.
pub fn short_caption(caption: Option<&str>, max: usize) -> String {
    let Some(caption) = caption else {
        return String::new();
    };
    let line: String = caption.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        return line;
    }
    let mut out: String = line.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Our rank on a peer-benchmark figure as a `peer_rank` figure (1 = best), with the size of
/// the ranked set, or why there is no rank.
pub(crate) fn peer_rank_figure(rank: &analytics::competitors::PeerRank) -> Figure {
    let mut f = Figure::new(
        &analytics::definition::PEER_RANK,
        rank.rank.map(|r| r as f64),
    );
    f.note = Some(match rank.rank {
        Some(_) => format!("of {} account(s) with a value", rank.of),
        None => format!(
            "no rank: {}",
            rank.ours.note.as_deref().unwrap_or("our value is missing")
        ),
    });
    f
}

/// The competitors' median on a peer-benchmark figure, as a figure of the same definition.
pub(crate) fn peer_median_figure(rank: &analytics::competitors::PeerRank) -> Figure {
    Figure {
        key: rank.ours.key,
        value: rank.peer_median,
        unit: rank.ours.unit,
        note: match rank.peer_median {
            Some(_) => Some("median of the competitors".to_owned()),
            None => Some("no competitor has a value in the period".to_owned()),
        },
    }
}

/// Every definition key a report's figures use, in registry order (for glossaries).
pub(crate) fn used_definitions(report: &Report) -> Vec<&'static analytics::Definition> {
    let keys = json::figure_keys(report);
    analytics::definitions()
        .iter()
        .copied()
        .filter(|d| keys.contains(d.key))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_case_insensitively_and_reject_unknown_names() {
        assert_eq!("HTML".parse::<ReportFormat>(), Ok(ReportFormat::Html));
        assert_eq!(" csv ".parse::<ReportFormat>(), Ok(ReportFormat::Csv));
        let err = "pdf".parse::<ReportFormat>().unwrap_err();
        assert!(err.to_string().contains("table, json, csv or html"));
        for format in ReportFormat::ALL {
            assert_eq!(format.as_str().parse::<ReportFormat>(), Ok(format));
        }
    }

    #[test]
    fn values_follow_their_unit() {
        assert_eq!(format_value(1234.0, Unit::Count), "1,234");
        assert_eq!(format_value(3.456, Unit::Percent), "3.46%");
        assert_eq!(format_value(2.5, Unit::Ratio), "2.50×");
        assert_eq!(format_value(2.345, Unit::ZScore), "z 2.35");
        assert_eq!(format_value(87.5, Unit::Percentile), "87.5 pct");
        assert_eq!(short_caption(Some("a  b\nc"), 10), "a b c");
        assert_eq!(short_caption(Some("abcdefghijkl"), 5), "abcd…");
    }
}
