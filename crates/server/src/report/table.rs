//! The plain-text form of a report for a terminal: titled sections of aligned columns, each
//! figure with its definition key, and a glossary of the definitions used at the end.

use std::fmt::Write as _;

use analytics::{Figure, Report};

use super::{ReportSubject, format_change, format_figure, format_value};

/// Columns of text, padded to the widest cell (by characters).
struct Table {
    rows: Vec<Vec<String>>,
    right_aligned: Vec<bool>,
}

impl Table {
    fn new(header: &[&str], right_aligned: &[bool]) -> Table {
        Table {
            rows: vec![header.iter().map(|it| (*it).to_owned()).collect()],
            right_aligned: right_aligned.to_vec(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn write(&self, out: &mut String) {
        let n = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..n)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for (ri, row) in self.rows.iter().enumerate() {
            let mut line = String::from("  ");
            for (c, cell) in row.iter().enumerate() {
                let pad = widths[c].saturating_sub(cell.chars().count());
                let last = c + 1 == row.len();
                if self.right_aligned.get(c).copied().unwrap_or(false) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if !last {
                        line.push_str(&" ".repeat(pad));
                    }
                }
                if !last {
                    line.push_str("  ");
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
            if ri == 0 {
                let total: usize = widths.iter().sum::<usize>() + 2 * n.saturating_sub(1);
                out.push_str("  ");
                out.push_str(&"─".repeat(total));
                out.push('\n');
            }
        }
    }
}

fn section(out: &mut String, title: &str) {
    let _ = write!(out, "\n{}\n", title.to_uppercase());
}

fn figure_row(table: &mut Table, label: &str, figure: &Figure) {
    table.row(vec![
        label.to_owned(),
        format_figure(figure),
        figure.key.to_owned(),
        figure.note.clone().unwrap_or_default(),
    ]);
}

pub(super) fn render(report: &Report, subject: &ReportSubject) -> String {
    let mut out = String::new();
    let name = subject
        .name
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "igsync report: @{}{name}, account {}",
        subject.username, subject.account_id
    );
    if let Some(stories) = &subject.stories {
        let _ = writeln!(out, "Stories: {stories}");
    }
    if let Some(c) = &subject.conversations {
        let _ = writeln!(out, "Conversations: {c}");
    }
    let _ = writeln!(
        out,
        "Period {} to {} ({} days, {})",
        report.period.start(),
        report.period.end(),
        report.period.n_days(),
        report.time_zone.name()
    );
    if let Some(prev) = &report.previous_period {
        let _ = writeln!(out, "Compared with {} to {}", prev.start(), prev.end());
    }
    let _ = writeln!(
        out,
        "Generated {}",
        report.generated_at.format("%Y-%m-%d %H:%M UTC")
    );

    let account = &report.account;
    let growth = &account.follower_growth;
    section(&mut out, "Followers");
    let mut t = Table::new(
        &["figure", "value", "key", "note"],
        &[false, true, false, false],
    );
    figure_row(&mut t, "Followers now", &account.followers_now);
    figure_row(&mut t, "At period start", &growth.start);
    figure_row(&mut t, "At period end", &growth.end);
    figure_row(&mut t, "Growth", &growth.growth_abs);
    figure_row(&mut t, "Growth rate", &growth.growth_pct);
    figure_row(&mut t, "Net new (API)", &account.net_new_followers_api);
    t.write(&mut out);
    let _ = writeln!(
        out,
        "  {} of {} days have a follower sample; longest gap {} day(s).",
        growth.days_with_samples, growth.days_in_period, growth.longest_gap_days
    );

    section(&mut out, "Account metrics (API day buckets)");
    let mut t = Table::new(
        &[
            "metric",
            "avg per day",
            "period total",
            "days with data",
            "keys",
        ],
        &[false, true, true, true, false],
    );
    for m in &account.metrics {
        let total = match &m.period_total {
            Some(f) => format_figure(f),
            None => "not additive".to_owned(),
        };
        let mut keys = m.daily_average.key.to_owned();
        if let Some(f) = &m.period_total {
            keys.push_str(", ");
            keys.push_str(f.key);
        }
        t.row(vec![
            super::account_metric_label(m.metric).to_owned(),
            format_figure(&m.daily_average),
            total,
            format!("{}/{}", m.daily.len(), m.days_in_period),
            keys,
        ]);
    }
    t.write(&mut out);

    let content = &report.content;
    section(&mut out, "Content (feed posts and reels)");
    let s = &content.overall;
    let mut t = Table::new(
        &["figure", "value", "key", "note"],
        &[false, true, false, false],
    );
    figure_row(
        &mut t,
        "Posts published (all types)",
        &content.posts_published,
    );
    figure_row(&mut t, "Deleted since", &content.posts_deleted);
    figure_row(&mut t, "Engagement", &s.engagement_total);
    figure_row(&mut t, "Engagement per post", &s.engagement_per_post_mean);
    figure_row(&mut t, "Reach per post", &s.reach_per_post_mean);
    figure_row(&mut t, "Views per post", &s.views_per_post_mean);
    t.write(&mut out);

    section(&mut out, "Engagement rates (feed posts and reels)");
    let mut t = Table::new(
        &["rate", "pooled", "mean of posts", "posts", "keys"],
        &[false, true, true, true, false],
    );
    for r in s.average_rates() {
        let label = r
            .pooled
            .definition()
            .map_or(r.pooled.key, |d| d.label)
            .trim_end_matches(", pooled")
            .to_owned();
        t.row(vec![
            label,
            format_figure(&r.pooled),
            format_figure(&r.mean_of_posts),
            r.n_posts.to_string(),
            format!("{}, {}", r.pooled.key, r.mean_of_posts.key),
        ]);
    }
    t.write(&mut out);

    section(&mut out, "By type");
    let mut t = Table::new(
        &[
            "type",
            "posts",
            "engagement rate by reach (pooled)",
            "reach per post",
            "best post",
        ],
        &[false, true, true, true, false],
    );
    for ty in &content.by_type {
        t.row(vec![
            super::product_type_label(ty.product_type).to_owned(),
            ty.summary.n_posts.to_string(),
            format_figure(&ty.summary.by_reach.pooled),
            format_figure(&ty.summary.reach_per_post_mean),
            ty.best_post
                .as_ref()
                .map(|b| format!("{} ({})", b.ig_media_id, format_figure(&b.figure)))
                .unwrap_or_default(),
        ]);
    }
    t.write(&mut out);

    section(&mut out, "Top posts by engagement rate by reach");
    let mut rows: Vec<&analytics::PostRow> = content
        .posts
        .iter()
        .filter(|r| !r.deleted && r.engagement.rate_by_reach.value.is_some())
        .collect();
    rows.sort_by(|a, b| {
        let (x, y) = (
            a.engagement.rate_by_reach.value.unwrap_or(0.0),
            b.engagement.rate_by_reach.value.unwrap_or(0.0),
        );
        y.total_cmp(&x)
    });
    if rows.is_empty() {
        out.push_str("  No post of the period has an engagement rate by reach.\n");
    } else {
        let mut t = Table::new(
            &[
                "published (local)",
                "type",
                "engagement",
                "reach",
                "rate by reach",
                "percentile",
                "caption",
            ],
            &[false, false, true, true, true, true, false],
        );
        for r in rows.iter().take(10) {
            t.row(vec![
                r.published_local.format("%Y-%m-%d %H:%M").to_string(),
                r.product_type.key().to_owned(),
                r.engagement
                    .engagement
                    .total
                    .map(|v| format_value(v as f64, analytics::Unit::Count))
                    .unwrap_or_else(|| "n/a".into()),
                r.metrics
                    .reach
                    .map(|v| format_value(v as f64, analytics::Unit::Count))
                    .unwrap_or_else(|| "n/a".into()),
                format_figure(&r.engagement.rate_by_reach.figure()),
                format_figure(&r.percentile.percentile),
                super::short_caption(r.caption.as_deref(), 40),
            ]);
        }
        t.write(&mut out);
    }

    section(
        &mut out,
        "Trending posts (against the account's own baseline)",
    );
    if report.trends.trending_rows.is_empty() {
        out.push_str("  No post of the period is trending.\n");
    }
    for idx in &report.trends.trending_rows {
        if let Some(r) = content.posts.get(*idx) {
            let _ = writeln!(
                out,
                "  {} {} ({}): ratio {}, {}\n    why: {}",
                r.published_local.format("%Y-%m-%d %H:%M"),
                r.ig_media_id,
                r.product_type.key(),
                format_figure(&r.trending.ratio),
                format_figure(&r.trending.robust_z),
                r.trending.why
            );
        }
    }
    let _ = writeln!(
        out,
        "  {} assessed, {} without enough history, {} without snapshots.",
        report.trends.summary.assessed,
        report.trends.summary.insufficient_baseline,
        report.trends.summary.no_observation
    );
    for note in &report.trends.notes {
        let _ = writeln!(out, "  Note: {note}");
    }

    section(
        &mut out,
        &format!(
            "Best posting times ({})",
            report.best_times.time_zone.name()
        ),
    );
    if report.best_times.recommendations.is_empty() {
        out.push_str("  Not enough posts or online-follower data for a recommendation yet.\n");
    }
    for r in &report.best_times.recommendations {
        let _ = writeln!(
            out,
            "  {} {:02}:00  [{}]  {}",
            super::weekday_label(r.weekday),
            r.hour,
            r.basis.key(),
            r.why
        );
    }

    section(&mut out, "Audience (latest snapshot)");
    if report.audience.is_empty() {
        out.push_str("  No demographics stored yet.\n");
    }
    for d in &report.audience {
        let top: Vec<String> = d
            .entries
            .iter()
            .take(5)
            .map(|(k, v, share)| match share {
                Some(s) => format!("{k} {}%", crate::charts::format_decimal(*s, 1)),
                None => format!("{k} {v}"),
            })
            .collect();
        let _ = writeln!(
            out,
            "  {}: {}",
            super::demographic_label(d.audience, d.dimension),
            top.join(", ")
        );
    }

    if !report.comparison.is_empty() {
        section(&mut out, "Compared with the previous period");
        let mut t = Table::new(
            &["figure", "current", "previous", "change", "key"],
            &[false, true, true, true, false],
        );
        for c in &report.comparison {
            let def = analytics::definition(c.key);
            let unit = def.map_or(analytics::Unit::Count, |d| d.unit);
            let fmt = |v: Option<f64>| {
                v.map(|v| format_value(v, unit))
                    .unwrap_or_else(|| "n/a".into())
            };
            t.row(vec![
                def.map_or(c.key, |d| d.label).to_owned(),
                fmt(c.current),
                fmt(c.previous),
                format_change(&c.change_pct),
                c.key.to_owned(),
            ]);
        }
        t.write(&mut out);
    }

    if let Some(peers) = &report.peers {
        let title = format!(
            "Peer benchmark (among {} competitor(s), 1 = best)",
            peers.competitors
        );
        section(&mut out, &title);
        let mut t = Table::new(
            &["figure", "this account", "rank", "median", "key"],
            &[false, true, true, true, false],
        );
        for r in &peers.ranks {
            t.row(vec![
                super::figure_label(&r.ours).to_owned(),
                super::format_figure(&r.ours),
                r.rank
                    .map_or_else(|| "n/a".to_owned(), |n| format!("{n} of {}", r.of)),
                super::format_figure(&super::peer_median_figure(r)),
                r.ours.key.to_owned(),
            ]);
        }
        t.write(&mut out);
    }

    if !report.notes.is_empty() {
        section(&mut out, "Notes");
        for n in &report.notes {
            let _ = writeln!(out, "  - {n}");
        }
    }

    section(&mut out, "Definitions");
    for d in super::used_definitions(report) {
        let _ = writeln!(out, "  {}: {}", d.key, d.definition);
    }
    out
}
