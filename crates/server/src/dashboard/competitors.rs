//! `GET /competitors`: the competitors read through Business Discovery — a table with their
//! latest counters or their last failure's reason, their followers over the last 90 days,
//! and when they post (weekday × hour, UTC) — everything from the stored snapshots.

use std::collections::{BTreeMap, HashSet};

use axum::extract::State;
use chrono::{Datelike, Duration, Timelike};

use super::layout::{Page, PageResult, render};
use crate::api::competitors::view;
use crate::auth::RequireSession;
use crate::charts::{HeatCell, Heatmap, LineChart, TimeSeries, ValueFormat, escape};
use crate::state::AppState;

/// Days of history the charts show.
const DAYS: i64 = 90;

fn shown(v: Option<i64>) -> String {
    v.map_or_else(|| "—".to_owned(), |n| n.to_string())
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
        let mut seen = HashSet::new();
        for m in state
            .store
            .competitor_media_snapshots(c.id, from, now)
            .await?
        {
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
