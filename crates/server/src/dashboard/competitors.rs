//! `GET /competitors`: the competitors read through Business Discovery — a table with their
//! latest counters or their last failure's reason, their followers over the last 90 days,
//! and when they post (weekday × hour, UTC) — everything from the stored snapshots.

use std::collections::{BTreeMap, HashSet};

use analytics::Figure;
use analytics::competitors::{
    Window, engagement_per_follower, engagement_per_post, follower_growth, follower_growth_rate,
    posts_per_week,
};

use axum::extract::State;
use chrono::{Datelike, Duration, Timelike};

use super::layout::{Page, PageResult, render};
use crate::api::competitors::view;
use crate::auth::RequireSession;
use crate::charts::{
    HeatCell, Heatmap, LineChart, TimeSeries, ValueFormat, escape, format_decimal,
};
use crate::state::AppState;

/// Days of history the charts show.
const DAYS: i64 = 90;

fn shown(v: Option<i64>) -> String {
    v.map_or_else(|| "—".to_owned(), |n| n.to_string())
}

/// A figure's cell: its value, or a dash whose title says why it is missing.
fn figure_cell(f: &Figure) -> String {
    match f.value {
        Some(v) => format!(
            "<td class=\"num\" data-key=\"{}\">{}</td>",
            f.key,
            format_decimal(v, 2)
        ),
        None => format!(
            "<td class=\"num\" data-key=\"{}\" title=\"{}\">—</td>",
            f.key,
            escape(f.note.as_deref().unwrap_or("not available"))
        ),
    }
}

pub(crate) async fn page(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
) -> PageResult {
    let now = state.clock.now();
    let from = now - Duration::days(DAYS);
    let competitors = state.store.competitor_list().await?;
    let mut rows = String::new();
    let mut growth = LineChart::new("competitors-followers", "Followers", ValueFormat::Count);
    let mut cadence: BTreeMap<(u32, u32), u32> = BTreeMap::new();
    let window = Window {
        from: now - Duration::days(30),
        to: now + Duration::seconds(1),
    };
    let mut figures = String::new();
    for c in &competitors {
        let v = view(&state, c).await?;
        let state_cell = match (&v.last_reason, &v.last_error, v.status) {
            (Some(reason), Some(error), "error") => format!(
                "<span class=\"badge critical\">error</span> {}: {}",
                escape(reason),
                escape(error)
            ),
            _ => escape(v.status),
        };
        rows.push_str(&format!(
            "<tr><td>@{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&v.username),
            escape(v.name.as_deref().unwrap_or("")),
            shown(v.followers_count),
            shown(v.media_count),
            v.captured_at
                .map_or_else(|| "never".to_owned(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
            state_cell,
        ));
        let snaps = state.store.competitor_snapshots(c.id, from, now).await?;
        if !snaps.is_empty() {
            let points = snaps
                .iter()
                .map(|s| (s.captured_at, s.followers_count.map(|f| f as f64)))
                .collect();
            growth = growth.series(TimeSeries::new(format!("@{}", c.username), points));
        }
        let media = state
            .store
            .competitor_media_snapshots(c.id, from, now)
            .await?;
        let peer = sync::peers::peer_of_competitor(&c.username, &snaps, &media);
        figures.push_str(&format!("<tr><td>@{}</td>", escape(&c.username)));
        for f in [
            follower_growth(&peer, window),
            follower_growth_rate(&peer, window),
            posts_per_week(&peer, window),
            engagement_per_post(&peer, window),
            engagement_per_follower(&peer, window),
        ] {
            figures.push_str(&figure_cell(&f));
        }
        figures.push_str("</tr>");
        let mut seen = HashSet::new();
        for m in media {
            if m.posted_at >= from && seen.insert(m.media_id.clone()) {
                let wd = m.posted_at.weekday().num_days_from_monday();
                *cadence.entry((wd, m.posted_at.hour())).or_insert(0) += 1;
            }
        }
    }
    let mut body = String::from("<h1>Competitors</h1>");
    if competitors.is_empty() {
        body.push_str(
            "<p>No competitors yet: track one with <code>igsync competitors add USERNAME --via ACCOUNT</code> \
             or <code>POST /api/v1/competitors</code>. Their public counters are read daily through \
             Business Discovery with an account connected with Facebook Login.</p>",
        );
    } else {
        body.push_str(
            "<table><thead><tr><th>Username</th><th>Name</th><th>Followers</th><th>Posts</th>\
             <th>Last snapshot</th><th>Status</th></tr></thead><tbody>",
        );
        body.push_str(&rows);
        body.push_str("</tbody></table>");
        body.push_str(
            "<h2>Last 30 days</h2><table><thead><tr><th>Username</th><th>Follower growth</th>\
             <th>Growth %</th><th>Posts per week</th><th>Engagement per post</th>\
             <th>(likes+comments)/followers %</th></tr></thead><tbody>",
        );
        body.push_str(&figures);
        body.push_str("</tbody></table>");
        body.push_str(&growth.to_svg());
        let cells = (0..7)
            .flat_map(|wd| (0..24).map(move |hour| (wd, hour)))
            .map(|(weekday, hour)| HeatCell {
                weekday,
                hour,
                value: Some(f64::from(*cadence.get(&(weekday, hour)).unwrap_or(&0))),
                detail: None,
            })
            .collect();
        body.push_str(
            &Heatmap {
                id: "competitors-cadence".into(),
                title: format!("When competitors post (last {DAYS} days)"),
                value_label: "posts".into(),
                time_zone: "UTC".into(),
                format: ValueFormat::Count,
                cells,
                highlight: Vec::new(),
            }
            .to_svg(),
        );
    }
    Ok(render(Page {
        title: "Competitors".into(),
        nav: None,
        csrf: Some(&session.csrf_token),
        flash: None,
        live_src: None,
        body,
    }))
}
