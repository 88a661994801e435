//! A scheduled report for mail and webhooks: the headline figures of the period beside the
//! previous period's, as an HTML table with inline CSS (mail clients drop `<style>` blocks),
//! the follower chart as an inline PNG (most mail clients do not draw inline SVG) with its
//! labels as HTML text, a plain-text alternative and a CSV of the same rows. A missing figure
//! is shown as `n/a` with its reason, never as 0. When competitors are tracked through the
//! account, the report's peer benchmark (built by `build_report`, as for the account page)
//! follows the figures: the account's rank among them on each figure; otherwise nothing
//! speaks of peers.

use std::fmt::Write as _;

use analytics::{Figure, Report, Unit};
use store::Account;

use super::Every;
use super::chart::{self, BandPoint, ChartInput};

/// One row of the figures table.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureRow {
    pub key: String,
    pub label: String,
    pub unit: Unit,
    pub current: Option<f64>,
    pub previous: Option<f64>,
    pub change_pct: Option<f64>,
    /// Why a value is missing, or a caveat.
    pub note: Option<String>,
}

/// One figure of the peer benchmark: the account's value, its rank among the competitors
/// tracked through it, and their median.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerRow {
    pub key: String,
    pub label: String,
    pub unit: Unit,
    /// This account's value.
    pub ours: Option<f64>,
    /// 1 = best; `None` when our value is missing (`note` says why).
    pub rank: Option<usize>,
    /// Accounts with a value, ours included.
    pub of: usize,
    /// The competitors' median.
    pub peer_median: Option<f64>,
    /// Why there is no rank or no value.
    pub note: Option<String>,
}

impl PeerRow {
    /// `2 of 6`, or `n/a`.
    pub fn rank_text(&self) -> String {
        self.rank
            .map_or_else(|| "n/a".to_owned(), |n| format!("{n} of {}", self.of))
    }
}

/// The peer benchmark of a report: how many competitors the account was ranked among.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerSection {
    pub competitors: usize,
    pub rows: Vec<PeerRow>,
}

impl PeerSection {
    /// `Peer benchmark (among 6 competitors, 1 = best)`.
    pub fn title(&self) -> String {
        format!(
            "Peer benchmark (among {} competitor{}, 1 = best)",
            self.competitors,
            if self.competitors == 1 { "" } else { "s" }
        )
    }
}

fn peer_section(report: &Report) -> Option<PeerSection> {
    let peers = report.peers.as_ref()?;
    let rows = peers
        .ranks
        .iter()
        .map(|r| PeerRow {
            key: r.figure.to_string(),
            label: label(r.ours.key),
            unit: r.ours.unit,
            ours: r.ours.value,
            rank: r.rank,
            of: r.of,
            peer_median: r.peer_median,
            note: match r.rank {
                Some(_) => r.ours.note.clone(),
                None => Some(format!(
                    "no rank: {}",
                    r.ours
                        .note
                        .as_deref()
                        .unwrap_or("this account's value is missing")
                )),
            },
        })
        .collect();
    Some(PeerSection {
        competitors: peers.competitors,
        rows,
    })
}

/// A report rendered for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedReport {
    /// `Weekly report for @name: 2026-03-02 to 2026-03-08`.
    pub subject: String,
    pub html: String,
    pub text: String,
    pub csv: String,
    /// `igsync-report-name-2026-03-02-2026-03-08.csv`.
    pub file_name: String,
    pub figures: Vec<FigureRow>,
    pub period_start: String,
    pub period_end: String,
    /// The dashboard page of the account, when the public URL is configured.
    pub link: Option<String>,
    /// The follower chart the HTML shows as `cid:` image; `None` when there is nothing to
    /// draw (the HTML says why).
    pub chart: Option<ReportChart>,
    /// The peer benchmark, when competitors are tracked through the account.
    pub peers: Option<PeerSection>,
}

/// The follower chart of a report, sent as an inline image of the mail.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportChart {
    /// The `Content-ID` of the image part (without angle brackets); the HTML refers to it as
    /// `cid:…`.
    pub content_id: String,
    /// The PNG.
    pub png: Vec<u8>,
    /// What the chart shows, in words (the image's `alt`).
    pub alt: String,
}

fn rows(report: &Report) -> Vec<FigureRow> {
    let mut out = Vec::new();
    let f = &report.account.followers_now;
    out.push(figure_row(f, f.value, None, None));
    for c in &report.comparison {
        let unit = analytics::definition(c.key).map_or(Unit::Count, |d| d.unit);
        out.push(FigureRow {
            key: c.key.to_string(),
            label: label(c.key),
            unit,
            current: c.current,
            previous: c.previous,
            change_pct: c.change_pct.value,
            note: c.change_pct.note.clone(),
        });
    }
    out
}

fn figure_row(
    f: &Figure,
    current: Option<f64>,
    previous: Option<f64>,
    change: Option<f64>,
) -> FigureRow {
    FigureRow {
        key: f.key.to_string(),
        label: label(f.key),
        unit: f.unit,
        current,
        previous,
        change_pct: change,
        note: f.note.clone(),
    }
}

fn label(key: &str) -> String {
    analytics::definition(key).map_or_else(|| key.replace('_', " "), |d| d.label.to_string())
}

/// A value for people: `1,234`, `3.21%`, `2.50x`.
pub(crate) fn shown(value: Option<f64>, unit: Unit) -> String {
    let Some(v) = value else {
        return "n/a".to_string();
    };
    match unit {
        Unit::Count => grouped(v),
        Unit::Percent => format!("{v:.2}%"),
        Unit::Ratio => format!("{v:.2}x"),
        _ => format!("{v:.1}"),
    }
}

fn grouped(v: f64) -> String {
    if v.fract() != 0.0 {
        return format!("{v:.1}");
    }
    let digits = format!("{}", v.abs() as i64);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 { format!("-{out}") } else { out }
}

pub(crate) fn change(pct: Option<f64>) -> String {
    pct.map_or_else(|| "n/a".to_string(), |p| format!("{p:+.1}%"))
}

/// A figure's note under its label in the mail's tables (empty without one).
fn note_html(note: Option<&str>) -> String {
    note.map(|n| {
        format!(
            "<br><span style=\"color:#6b7280;font-size:12px;\">{}</span>",
            escape(n)
        )
    })
    .unwrap_or_default()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A CSV cell: quoted when needed; text a spreadsheet would run as a formula gets a `'`.
fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn number(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn count(v: f64) -> String {
    shown(Some(v.round()), Unit::Count)
}

/// The follower chart of the period (and the forecast over as many days as the period has,
/// when the report has one), with its labels as HTML; or a sentence saying why there is none.
fn follower_chart(report: &Report, account: &Account) -> (String, Option<ReportChart>) {
    let period = &report.period;
    let growth = &report.account.follower_growth;
    let series: Vec<(chrono::NaiveDate, f64)> = growth
        .daily
        .iter()
        .filter(|d| d.day >= period.start() && d.day <= period.end())
        .map(|d| (d.day, d.followers as f64))
        .collect();
    let outlook = report.account.follower_outlook.as_ref().ok();
    let band: Vec<BandPoint> = outlook
        .map(|o| {
            o.forecast
                .points
                .iter()
                .filter(|p| p.horizon as i64 <= growth.days_in_period && p.day >= period.start())
                .map(|p| BandPoint {
                    day: p.day,
                    value: p.value,
                    low: p.low,
                    high: p.high,
                })
                .collect()
        })
        .unwrap_or_default();
    let last = band
        .last()
        .map_or(period.end(), |b| b.day.max(period.end()));
    let input = ChartInput {
        first: period.start(),
        last,
        series: series.clone(),
        band: band.clone(),
    };
    let muted = "color:#6b7280;font-size:12px;";
    let mut html =
        String::from("<h2 style=\"font-size:16px;margin:20px 0 4px 0;\">Followers per day</h2>\n");
    let drawn = match chart::draw(&input) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(
                html,
                "<p style=\"margin:0;{muted}\">No follower chart: {}.</p>",
                escape(&e.to_string())
            );
            return (html, None);
        }
    };
    let content_id = format!("followers-{}-{}@igsync", account.id, period.start());
    let (low, high) = series
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, v)| {
            (lo.min(*v), hi.max(*v))
        });
    let mut alt = format!(
        "Followers per day from {} to {}: {} of {} days have a sample; lowest {}, highest {}",
        period.start(),
        period.end(),
        series.len(),
        growth.days_in_period,
        count(low),
        count(high)
    );
    let mut legend = format!(
        "<span style=\"color:#2563eb;font-weight:bold;\">&#8212;</span> Followers ({} of {} days \
         have a sample; a day without one is a gap in the line).",
        series.len(),
        growth.days_in_period
    );
    if let (Some(o), Some(end)) = (outlook, band.last()) {
        let level = o.forecast.level * 100.0;
        let _ = write!(
            alt,
            "; forecast to {} about {} ({level:.0} % band {} to {})",
            end.day,
            count(end.value),
            count(end.low),
            count(end.high)
        );
        let _ = write!(
            legend,
            " <span style=\"color:#d97706;font-weight:bold;\">- -</span> Forecast ({}) with its \
             {level:.0} % band: about {} on {} ({level:.0} %: {} – {}).",
            escape(&o.forecast.method.key().replace('_', " ")),
            count(end.value),
            end.day,
            count(end.low),
            count(end.high)
        );
    }
    if let Err(why) = &report.account.follower_outlook {
        let _ = write!(
            legend,
            " No forecast: {}.",
            escape(why.trim_end_matches('.'))
        );
    }
    alt.push('.');
    let _ = write!(
        html,
        "<p style=\"margin:0 0 4px 0;{muted}\">Top line {top} followers, bottom line {bottom}.</p>\n\
         <img src=\"cid:{cid}\" width=\"{w}\" height=\"{h}\" alt=\"{alt}\" \
         style=\"display:block;width:100%;max-width:{w}px;height:auto;border:0;\">\n\
         <table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" style=\"width:100%;max-width:{w}px;{muted}\">\
         <tr><td style=\"text-align:left;\">{first}</td><td style=\"text-align:right;\">{last}</td></tr></table>\n\
         <p style=\"margin:4px 0 0 0;{muted}\">{legend}</p>\n",
        top = count(drawn.top),
        bottom = count(drawn.bottom),
        cid = escape(&content_id),
        w = chart::WIDTH,
        h = chart::HEIGHT,
        alt = escape(&alt),
        first = period.start(),
        last = last,
    );
    let chart = ReportChart {
        content_id,
        png: drawn.png,
        alt,
    };
    (html, Some(chart))
}

/// Renders `report` of `account` for delivery; `public_url` is the dashboard's address.
pub fn render_report(
    report: &Report,
    account: &Account,
    every: Every,
    public_url: Option<&str>,
) -> RenderedReport {
    let start = report.period.start().to_string();
    let end = report.period.end().to_string();
    let kind = match every {
        Every::Weekly => "Weekly",
        Every::Monthly => "Monthly",
    };
    let subject = format!("{kind} report for @{}: {start} to {end}", account.username);
    let figures = rows(report);
    let link = public_url.map(|base| {
        format!(
            "{}/accounts/{}?from={start}&to={end}",
            base.trim_end_matches('/'),
            account.id
        )
    });

    let mut csv = String::from("key,label,unit,value,previous,change_pct,note\r\n");
    for r in &figures {
        let _ = write!(
            csv,
            "{},{},{},{},{},{},{}\r\n",
            cell(&r.key),
            cell(&r.label),
            r.unit.key(),
            number(r.current),
            number(r.previous),
            number(r.change_pct),
            cell(r.note.as_deref().unwrap_or(""))
        );
    }

    let peers = peer_section(report);
    for r in peers.iter().flat_map(|p| &p.rows) {
        let mut note = format!(
            "of {} account(s) with a value; this account {}; competitors' median {}",
            r.of,
            shown(r.ours, r.unit),
            shown(r.peer_median, r.unit)
        );
        if let Some(n) = &r.note {
            let _ = write!(note, "; {n}");
        }
        let _ = write!(
            csv,
            "{},{},{},{},,,{}\r\n",
            cell(&format!("peer_rank:{}", r.key)),
            cell(&format!("Rank among competitors: {}", r.label)),
            analytics::definition::PEER_RANK.unit.key(),
            r.rank.map(|n| n.to_string()).unwrap_or_default(),
            cell(&note)
        );
    }

    let mut text = format!("{subject}\n\n");
    for r in &figures {
        let _ = writeln!(
            text,
            "{}: {} (previous {}, change {})",
            r.label,
            shown(r.current, r.unit),
            shown(r.previous, r.unit),
            change(r.change_pct)
        );
    }
    if let Some(p) = &peers {
        let _ = writeln!(text, "\n{}", p.title());
        for r in &p.rows {
            let _ = writeln!(
                text,
                "{}: {} (rank {}, competitors' median {})",
                r.label,
                shown(r.ours, r.unit),
                r.rank_text(),
                shown(r.peer_median, r.unit)
            );
        }
    }
    if let Some(link) = &link {
        let _ = write!(text, "\nCharts and details: {link}\n");
    }

    let td = "padding:6px 10px;border-bottom:1px solid #e5e7eb;text-align:right;";
    let th = "padding:6px 10px;border-bottom:2px solid #d1d5db;text-align:right;color:#374151;";
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body style=\"margin:0;padding:16px;background:#f9fafb;font-family:Arial,Helvetica,sans-serif;color:#111827;\">\n\
         <table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" style=\"max-width:640px;width:100%;background:#ffffff;border:1px solid #e5e7eb;\">\n\
         <tr><td style=\"padding:16px;\">\n\
         <h1 style=\"font-size:20px;margin:0 0 4px 0;\">{title}</h1>\n\
         <p style=\"margin:0 0 16px 0;color:#6b7280;\">Time zone {tz}</p>\n\
         <table cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse;width:100%;font-size:14px;\">\n\
         <tr><th style=\"{th}text-align:left;\">Figure</th><th style=\"{th}\">This period</th><th style=\"{th}\">Previous</th><th style=\"{th}\">Change</th></tr>\n",
        title = escape(&subject),
        tz = escape(report.time_zone.name()),
    );
    for r in &figures {
        let note = note_html(r.note.as_deref());
        let _ = writeln!(
            html,
            "<tr><td style=\"{td}text-align:left;\">{}{note}</td><td style=\"{td}\">{}</td><td style=\"{td}\">{}</td><td style=\"{td}\">{}</td></tr>",
            escape(&r.label),
            shown(r.current, r.unit),
            shown(r.previous, r.unit),
            change(r.change_pct),
        );
    }
    html.push_str("</table>\n");
    if let Some(p) = &peers {
        let _ = write!(
            html,
            "<h2 style=\"font-size:16px;margin:20px 0 4px 0;\">{title}</h2>\n\
             <table cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse;width:100%;font-size:14px;\">\n\
             <tr><th style=\"{th}text-align:left;\">Figure</th><th style=\"{th}\">This account</th><th style=\"{th}\">Rank</th><th style=\"{th}\">Competitors' median</th></tr>\n",
            title = escape(&p.title()),
        );
        for r in &p.rows {
            let note = note_html(r.note.as_deref());
            let _ = writeln!(
                html,
                "<tr><td style=\"{td}text-align:left;\">{}{note}</td><td style=\"{td}\">{}</td><td style=\"{td}\">{}</td><td style=\"{td}\">{}</td></tr>",
                escape(&r.label),
                shown(r.ours, r.unit),
                escape(&r.rank_text()),
                shown(r.peer_median, r.unit),
            );
        }
        html.push_str("</table>\n");
    }
    let (chart_html, chart) = follower_chart(report, account);
    html.push_str(&chart_html);
    if let Some(link) = &link {
        let _ = writeln!(
            html,
            "<p style=\"margin:16px 0 0 0;\"><a href=\"{l}\" style=\"color:#2563eb;\">Charts and details on the dashboard</a></p>",
            l = escape(link)
        );
    }
    html.push_str("<p style=\"margin:16px 0 0 0;color:#6b7280;font-size:12px;\">Figures are what Meta reported; n/a marks a value Meta did not give, with the reason.</p>\n</td></tr></table>\n</body></html>\n");

    RenderedReport {
        file_name: format!("igsync-report-{}-{start}-{end}.csv", account.username),
        subject,
        html,
        text,
        csv,
        figures,
        period_start: start,
        period_end: end,
        link,
        chart,
        peers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_for_people_and_csv_cells() {
        assert_eq!(shown(Some(1234567.0), Unit::Count), "1,234,567");
        assert_eq!(shown(Some(-1200.0), Unit::Count), "-1,200");
        assert_eq!(shown(Some(3.2109), Unit::Percent), "3.21%");
        assert_eq!(shown(None, Unit::Count), "n/a");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("=1+1"), "'=1+1");
        assert_eq!(change(Some(12.345)), "+12.3%");
    }
}
