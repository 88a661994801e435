//! The account page's "Where the numbers come from" table: the latest days of each account
//! metric igsync stored, each value with its provenance on hover (`title`): the Graph API
//! version of the read, when it was read, whether Meta may still revise it, and its source.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use store::Account;

use crate::api::metrics::reading_provenance;
use crate::charts::{escape, format_count};
use crate::error::AppError;
use crate::state::AppState;

/// The days shown, ending on the period's last day.
const DAYS: i64 = 7;

pub(crate) async fn panel(
    state: &AppState,
    account: &Account,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let from = to - Duration::days(DAYS - 1);
    let stored = state
        .store
        .account_insight_days(account.id, &[], from, to)
        .await?;
    let mut metrics: Vec<&str> = stored
        .iter()
        .filter(|d| d.breakdown.is_none())
        .map(|d| d.metric.as_str())
        .collect();
    metrics.dedup();
    let mut out = String::from(
        "<div class=\"panel\" data-provenance><h2>Where the numbers come from</h2>\
         <p class=\"sub\">Hover a value for the Graph API version that read it, when it was read, \
         whether Meta may still revise it (48 hours after its day) and its source.</p>",
    );
    if metrics.is_empty() {
        out.push_str("<p class=\"empty\">No account metrics stored for these days yet.</p></div>");
        return Ok(out);
    }
    let days: Vec<NaiveDate> = (0..DAYS).map(|i| from + Duration::days(i)).collect();
    out.push_str("<div class=\"table-wrap\"><table><thead><tr><th>metric</th>");
    for d in &days {
        out.push_str(&format!("<th class=\"num\">{}</th>", d.format("%b %-d")));
    }
    out.push_str("</tr></thead><tbody>");
    for metric in metrics {
        let readings = state
            .store
            .account_insight_as_of(account.id, metric, from, to, None)
            .await?;
        out.push_str(&format!("<tr><td>{}</td>", escape(metric)));
        for d in &days {
            match readings
                .iter()
                .find(|r| r.day == *d && r.breakdown.is_none())
            {
                Some(r) => out.push_str(&format!(
                    "<td class=\"num\" title=\"{}\">{}</td>",
                    escape(&reading_provenance(r, now).describe()),
                    format_count(r.value)
                )),
                None => out.push_str("<td class=\"num sub\">–</td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div></div>");
    Ok(out)
}
