//! The account page's story, comment and mention panels: how complete the stories' numbers
//! are and where they came from, whether Meta's notifications reach igsync (subscription,
//! last event, refused notifications), and the latest comments and mentions.

use chrono::{DateTime, Duration, Utc};
use store::{Account, Provenance};

use crate::charts::escape;
use crate::error::AppError;
use crate::state::AppState;

/// Comments and mentions listed on the account page.
const LISTED: u32 = 20;

fn at(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The panels, as HTML (every value escaped).
pub(crate) async fn account_panels(
    state: &AppState,
    account: &Account,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let store = state.store.as_ref();
    let from = now - Duration::days(30);
    let completeness = sync::webhooks::story_completeness(store, account.id, from, now).await?;
    let finals = store
        .story_final_list(account.id, now - Duration::days(7), now + Duration::days(1))
        .await?;
    let status = store.webhook_account_status().await?;
    let mine = status.iter().find(|s| s.account_id == account.id);
    let refused: i64 = store
        .webhook_rejections()
        .await?
        .iter()
        .filter(|r| r.reason.contains("signature"))
        .map(|r| r.count)
        .sum();
    let comments = store.comment_list(account.id, None, LISTED).await?;
    let mentions = store.mention_list(account.id, LISTED).await?;

    let mut out = String::new();
    out.push_str("<div class=\"panel\" id=\"stories\"><h2>Stories (last 30 days)</h2>");
    out.push_str(&format!("<p>{}</p>", escape(&completeness.to_string())));
    let subscribed = match mine {
        Some(s) if s.error.is_some() => format!(
            "refused by Meta: {}",
            escape(s.error.as_deref().unwrap_or(""))
        ),
        Some(s) if !s.fields.is_empty() => {
            format!("subscribed to {}", escape(&s.fields.join(", ")))
        }
        _ => "not subscribed".to_owned(),
    };
    let last = mine
        .and_then(|s| s.last_event_at)
        .map_or_else(|| "never".to_owned(), at);
    out.push_str(&format!(
        "<p class=\"sub\">Meta webhooks: {subscribed}; last event {}; signature failures (all accounts): {refused}</p>",
        escape(&last)
    ));
    if !finals.is_empty() {
        out.push_str(
            "<div class=\"table-wrap\"><table><thead><tr><th>story</th><th>expires</th><th>source</th>\
             <th class=\"num\">views</th><th class=\"num\">reach</th><th class=\"num\">replies</th><th>note</th></tr></thead><tbody>",
        );
        for f in finals.iter().rev() {
            let value = |name: &str| {
                f.metrics
                    .iter()
                    .find(|m| m.metric == name && m.breakdown.is_none())
                    .map_or_else(
                        || "—".to_owned(),
                        |m| match (m.value, &m.missing_reason) {
                            (Some(v), _) => format!("{v}"),
                            (None, Some(r)) => format!("missing ({r})"),
                            (None, None) => "missing".to_owned(),
                        },
                    )
            };
            let source = match f.provenance {
                Provenance::Webhook => "webhook",
                Provenance::FinalPoll => "final read",
                Provenance::Poll => "hourly read",
                Provenance::Unavailable => "unavailable",
            };
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"note\">{}</td></tr>",
                escape(&f.ig_media_id),
                escape(&at(f.expires_at)),
                source,
                escape(&value("views")),
                escape(&value("reach")),
                escape(&value("replies")),
                escape(f.reason.as_deref().unwrap_or("")),
            ));
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</div>");

    out.push_str("<div class=\"panel\" id=\"comments\"><h2>Latest comments</h2>");
    if comments.is_empty() {
        out.push_str(
            "<p class=\"empty\">No comments received (they arrive through Meta's webhooks).</p>",
        );
    } else {
        out.push_str(
            "<div class=\"table-wrap\"><table><thead><tr><th>when</th><th>post</th><th>from</th><th>text</th><th>reply to</th></tr></thead><tbody>",
        );
        for c in &comments {
            let r = &c.record;
            let edited = if c.versions > 1 { " (edited)" } else { "" };
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>@{}</td><td>{}{edited}</td><td>{}</td></tr>",
                escape(&at(r.commented_at)),
                escape(r.ig_media_id.as_deref().unwrap_or("")),
                escape(r.from_username.as_deref().unwrap_or("?")),
                escape(r.text.as_deref().unwrap_or("")),
                escape(r.parent_id.as_deref().unwrap_or("")),
            ));
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</div>");

    out.push_str("<div class=\"panel\" id=\"mentions\"><h2>Latest mentions</h2>");
    if mentions.is_empty() {
        out.push_str("<p class=\"empty\">No mentions received.</p>");
    } else {
        out.push_str("<ul class=\"why\">");
        for m in &mentions {
            let what = match &m.ig_comment_id {
                Some(c) => format!(
                    "in comment {} on media {}",
                    escape(c),
                    escape(&m.ig_media_id)
                ),
                None => format!("in the caption of media {}", escape(&m.ig_media_id)),
            };
            out.push_str(&format!(
                "<li>{} — {what}</li>",
                escape(&at(m.mentioned_at))
            ));
        }
        out.push_str("</ul>");
    }
    out.push_str("</div>");
    Ok(out)
}
