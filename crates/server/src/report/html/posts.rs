//! The report's post sections: trending posts against the account's own baseline and the
//! top posts of the period, each linked to Instagram.

use super::*;

/// A link to a post's permalink, only for `https://` URLs (never `javascript:` or
/// anything else a stored value might hold).
fn permalink(row: &PostRow, text: &str) -> String {
    match row.permalink.as_deref() {
        Some(url) if url.starts_with("https://") => format!(
            "<a href=\"{}\" rel=\"noopener noreferrer\">{}</a>",
            escape(url),
            escape(text)
        ),
        _ => escape(text),
    }
}

pub(super) fn trending(out: &mut String, report: &Report) {
    let trends = &report.trends;
    let posts = &report.content.posts;
    out.push_str("<section><h2>Trending posts</h2><p class=\"sub\">A post trends when it clearly beats earlier posts of the same type at the same age (ratio to expected and robust z-score).</p>");
    if trends.trending_rows.is_empty() {
        out.push_str("<p class=\"empty\">No post of the period is trending.</p>");
    } else {
        out.push_str(
            "<div class=\"table-wrap\"><table><thead><tr><th>post</th><th>type</th><th class=\"num\">ratio to expected</th>\
             <th class=\"num\">robust z</th><th class=\"num\">baseline posts</th><th>why</th></tr></thead><tbody>",
        );
        for idx in &trends.trending_rows {
            let Some(row) = posts.get(*idx) else { continue };
            let t = &row.trending;
            let label = format!(
                "{} {}",
                row.published_local.format("%Y-%m-%d %H:%M"),
                crate::report::short_caption(row.caption.as_deref(), 40)
            );
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                permalink(row, &label),
                escape(crate::report::product_type_label(row.product_type)),
                escape(&format_figure(&t.ratio)),
                escape(&format_figure(&t.robust_z)),
                t.baseline_posts,
                escape(&t.why),
            );
        }
        out.push_str("</tbody></table></div>");
    }
    let _ = write!(
        out,
        "<p class=\"sub\">{} post(s) assessed; {} without enough history; {} without snapshots.</p>",
        trends.summary.assessed,
        trends.summary.insufficient_baseline,
        trends.summary.no_observation
    );
    for note in &trends.notes {
        let _ = write!(out, "<p class=\"note\">{}</p>", escape(note));
    }
    for d in [
        &analytics::definition::TRENDING_RATIO_AT_AGE,
        &analytics::definition::TRENDING_ROBUST_Z,
    ] {
        let _ = write!(
            out,
            "<p class=\"def\"><code>{}</code> {}</p>",
            d.key,
            escape(d.definition)
        );
    }
    out.push_str("</section>");
}

pub(super) fn top_posts(out: &mut String, report: &Report) {
    let mut rows: Vec<&PostRow> = report
        .content
        .posts
        .iter()
        .filter(|r| !r.deleted && r.engagement.rate_by_reach.value.is_some())
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &PostRow| r.engagement.rate_by_reach.value.unwrap_or(0.0);
        key(b).total_cmp(&key(a))
    });
    out.push_str("<section><h2>Top posts</h2>");
    if rows.is_empty() {
        out.push_str("<p class=\"empty\">No post of the period has an engagement rate by reach yet.</p></section>");
        return;
    }
    out.push_str(
        "<div class=\"table-wrap\"><table><thead><tr><th>published</th><th>type</th><th>caption</th>\
         <th class=\"num\">engagement</th><th class=\"num\">reach</th><th class=\"num\">views</th>\
         <th class=\"num\">rate by reach</th><th class=\"num\">rate by followers</th><th class=\"num\">percentile</th></tr></thead><tbody>",
    );
    let count = |v: Option<i64>| {
        v.map_or_else(|| "n/a".to_owned(), |v| format_value(v as f64, Unit::Count))
    };
    for r in rows.iter().take(10) {
        let badge = if r.trending.is_trending() {
            " <span class=\"badge trending\">trending</span>"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"caption\">{}{badge}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            permalink(r, &r.published_local.format("%Y-%m-%d %H:%M").to_string()),
            escape(crate::report::product_type_label(r.product_type)),
            escape(&crate::report::short_caption(r.caption.as_deref(), 70)),
            escape(&count(r.engagement.engagement.total)),
            escape(&count(r.metrics.reach)),
            escape(&count(r.metrics.views)),
            escape(&format_figure(&r.engagement.rate_by_reach.figure())),
            escape(&format_figure(&r.engagement.rate_by_followers.figure())),
            escape(&format_figure(&r.percentile.percentile)),
        );
    }
    out.push_str("</tbody></table></div>");
    for d in [
        &analytics::definition::ENGAGEMENT,
        &analytics::definition::ENGAGEMENT_RATE_BY_REACH,
        &analytics::definition::ENGAGEMENT_RATE_BY_FOLLOWERS_AT_POST_TIME,
        &analytics::definition::PERFORMANCE_PERCENTILE,
    ] {
        let _ = write!(
            out,
            "<p class=\"def\"><code>{}</code> {}</p>",
            d.key,
            escape(d.definition)
        );
    }
    out.push_str("</section>");
}
