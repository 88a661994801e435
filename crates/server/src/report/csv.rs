//! The CSV form of a report: long format, one row per figure, daily value, post figure,
//! best-time slot and audience entry, each naming its definition key. Columns:
//! `section,item,date,key,label,value,unit,note`. Missing values are empty with the reason
//! in `note`. Text cells that a spreadsheet would read as a formula (starting with `=`, `+`,
//! `-`, `@`, a tab or a carriage return) are prefixed with `'`, so opening the file never runs
//! a caption or a name as a formula: `@acme` is written `'@acme`, which spreadsheets show as
//! `@acme`. [`render_raw`] writes the cells as they are, for programs that read CSV.

use std::fmt::Write as _;

use analytics::{EngagementSummary, Figure, Report};

use super::ReportSubject;

const HEADER: &str = "section,item,date,key,label,value,unit,note";

struct Csv {
    out: String,
    /// Prefix formula-like text cells with `'`.
    guard: bool,
}

impl Csv {
    fn row(&mut self, cells: [&str; 8]) {
        for (idx, cell) in cells.iter().enumerate() {
            if idx > 0 {
                self.out.push(',');
            }
            // Column 5 is the numeric value; every other column is text.
            self.out.push_str(&cell_text(cell, self.guard && idx != 5));
        }
        self.out.push_str("\r\n");
    }

    fn figure(&mut self, section: &str, item: &str, date: &str, figure: &Figure) {
        let value = figure.value.map(number).unwrap_or_default();
        let label = super::figure_label(figure);
        self.row([
            section,
            item,
            date,
            figure.key,
            label,
            &value,
            figure.unit.key(),
            figure.note.as_deref().unwrap_or(""),
        ]);
    }

    fn summary(&mut self, section: &str, item: &str, s: &EngagementSummary) {
        for f in [
            &s.engagement_total,
            &s.engagement_per_post_mean,
            &s.reach_per_post_mean,
            &s.views_per_post_mean,
        ] {
            self.figure(section, item, "", f);
        }
        for r in s.average_rates() {
            self.figure(section, item, "", &r.mean_of_posts);
            self.figure(section, item, "", &r.pooled);
        }
    }
}

/// A finite number in plain decimal notation (no exponent, no grouping).
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// RFC 4180 quoting; text starting with a formula character gets a leading `'`.
fn cell_text(cell: &str, is_text: bool) -> String {
    let guarded;
    let cell = if is_text && cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{cell}");
        guarded.as_str()
    } else {
        cell
    };
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

/// The CSV with formula-like text cells guarded (the default, safe to open in a
/// spreadsheet).
pub(super) fn render(report: &Report, subject: &ReportSubject) -> String {
    write(report, subject, true)
}

/// The CSV with every cell as it is (still RFC 4180 quoted): `@acme` stays `@acme`. Not
/// safe to open in a spreadsheet when captions or names come from others.
pub(super) fn render_raw(report: &Report, subject: &ReportSubject) -> String {
    write(report, subject, false)
}

fn write(report: &Report, subject: &ReportSubject, guard: bool) -> String {
    let mut csv = Csv {
        out: String::new(),
        guard,
    };
    csv.out.push_str(HEADER);
    csv.out.push_str("\r\n");
    let account_item = format!("@{}", subject.username);
    let account = &report.account;
    let growth = &account.follower_growth;

    for f in [
        &account.followers_now,
        &growth.start,
        &growth.end,
        &growth.growth_abs,
        &growth.growth_pct,
        &account.net_new_followers_api,
    ] {
        csv.figure("followers", &account_item, "", f);
    }
    let daily_def = &analytics::definition::FOLLOWERS_DAILY;
    for d in &growth.daily {
        let mut note = String::new();
        if let (Some(change), Some(days)) = (d.change, d.days_spanned) {
            let _ = write!(note, "change {change:+} over {days} day(s)");
        }
        csv.row([
            "followers_daily",
            &account_item,
            &d.day.to_string(),
            daily_def.key,
            daily_def.label,
            &d.followers.to_string(),
            daily_def.unit.key(),
            &note,
        ]);
    }

    for m in &account.metrics {
        let item = m.metric.key();
        csv.figure("account_metric", item, "", &m.daily_average);
        if let Some(total) = &m.period_total {
            csv.figure("account_metric", item, "", total);
        }
        let def = m.metric.daily_definition();
        for (day, v) in &m.daily {
            csv.row([
                "account_metric_daily",
                item,
                &day.to_string(),
                m.daily_key,
                def.label,
                &v.to_string(),
                def.unit.key(),
                "",
            ]);
        }
    }

    let content = &report.content;
    csv.figure("content", "all", "", &content.posts_published);
    csv.figure("content", "all", "", &content.posts_deleted);
    csv.summary("content", "feed_and_reels", &content.overall);
    if let Some(b) = &content.best_post {
        csv.figure("content", &b.ig_media_id, "", &b.figure);
    }
    for t in &content.by_type {
        let item = t.product_type.key();
        csv.summary("content_by_type", item, &t.summary);
        if let Some(b) = &t.best_post {
            csv.figure(
                "content_by_type",
                &format!("{item}:{}", b.ig_media_id),
                "",
                &b.figure,
            );
        }
    }

    for row in &content.posts {
        let date = row.published_local.format("%Y-%m-%d %H:%M").to_string();
        for f in row.engagement.figures() {
            csv.figure("post", &row.ig_media_id, &date, &f);
        }
        csv.figure("post", &row.ig_media_id, &date, &row.percentile.percentile);
        csv.figure(
            "post",
            &row.ig_media_id,
            &date,
            &row.legacy_performance.score,
        );
        csv.figure("post", &row.ig_media_id, &date, &row.legacy_trending.score);
        let t = &row.trending;
        for f in [&t.expected, &t.ratio, &t.robust_z] {
            let mut f = f.clone();
            if f.note.is_none() {
                f.note = Some(format!("{}: {}", t.verdict.key(), t.why));
            }
            csv.figure("post_trending", &row.ig_media_id, &date, &f);
        }
    }

    for c in &report.best_times.cells {
        let item = format!("{} {:02}:00", super::weekday_label(c.weekday), c.hour);
        if c.posts.n_posts > 0 {
            let mut f = c.posts.mean_rate.clone();
            let extra = format!(
                "{} post(s), confidence {}",
                c.posts.n_posts,
                c.posts.confidence.key()
            );
            f.note = Some(match f.note {
                Some(n) => format!("{n}; {extra}"),
                None => extra,
            });
            csv.figure("best_time", &item, "", &f);
        }
        if c.online.n_samples > 0 {
            csv.figure("best_time", &item, "", &c.online.mean_online);
        }
    }

    for c in &report.comparison {
        let mut f = c.change_pct.clone();
        let context = format!(
            "current {}, previous {}",
            c.current.map(number).unwrap_or_else(|| "n/a".into()),
            c.previous.map(number).unwrap_or_else(|| "n/a".into())
        );
        f.note = Some(match f.note {
            Some(n) => format!("{n}; {context}"),
            None => context,
        });
        csv.figure("comparison", c.key, "", &f);
    }

    for r in report.peers.iter().flat_map(|p| &p.ranks) {
        csv.figure("peer_benchmark", "ours", "", &r.ours);
        csv.figure("peer_benchmark", "rank", "", &super::peer_rank_figure(r));
        csv.figure(
            "peer_benchmark",
            "peer_median",
            "",
            &super::peer_median_figure(r),
        );
    }
    csv.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(cell_text("plain", true), "plain");
        assert_eq!(cell_text("a,b", true), "\"a,b\"");
        assert_eq!(cell_text("say \"hi\"", true), "\"say \"\"hi\"\"\"");
        assert_eq!(
            cell_text("=HYPERLINK(\"x\")", true),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(cell_text("-12.5", false), "-12.5");
        assert_eq!(cell_text("@acme", true), "'@acme");
        assert_eq!(cell_text("@acme", false), "@acme");
        assert_eq!(number(1234.0), "1234");
        assert_eq!(number(3.25), "3.25");
        assert_eq!(number(1.0 / 3.0), "0.333333");
    }
}
