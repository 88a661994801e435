//! The report use case: an account's analytics report for a period, built from its stored
//! history. `igsync report`, `GET /api/v1/accounts/{id}/report` and the dashboard's account
//! page all call [`build_report`]. Its notes say, in words, which values Meta did not give
//! and why ("not available: fewer than 100 followers"), so a gap is never read as a 0. Its
//! peer benchmark ranks the account among the competitors tracked through it (none: absent).

use std::collections::BTreeMap;

use analytics::competitors::{PeerBenchmark, Window, peer_benchmark};
use chrono::{DateTime, Duration, Utc};
use store::{Account, MissingKind, MissingReason, MissingValue, Store};

use crate::error::{Result, SyncError};
use crate::history::{HistoryWindow, load_account_history};

/// Loads the account's history and assembles its report for `period`, in the account's time
/// zone (the previous period of equal length is loaded too, for the comparison). `now` bounds
/// the loaded history and is the report's "now".
pub async fn build_report(
    store: &dyn Store,
    account: &Account,
    period: analytics::Period,
    now: DateTime<Utc>,
) -> Result<analytics::Report> {
    let tz = account.time_zone()?;
    let from_day = period.previous().map_or(period.start(), |p| p.start());
    let (from, _) = analytics::Period::new(from_day, period.end())
        .map_err(|e| SyncError::BadScope(e.to_string()))?
        .utc_bounds(tz);
    let (period_start, to) = period.utc_bounds(tz);
    let to = to.min(now).max(from);
    let window = HistoryWindow {
        from,
        to,
        trending_from: period_start.min(to),
    };
    let history = load_account_history(store, account.id, window).await?;
    let mut report =
        analytics::performance_report(&history, period, now, &analytics::ReportConfig::default());
    let peers = crate::peers::competitor_peers(store, account.id, period_start, to).await?;
    if !peers.is_empty() {
        let ours = crate::peers::peer_of_history(&account.username, &history);
        // The window is half-open: a capture at `now` itself belongs to the period.
        let end = if to >= now {
            now + Duration::seconds(1)
        } else {
            to
        };
        let window = Window {
            from: period_start,
            to: end,
        };
        report.peers = Some(PeerBenchmark {
            competitors: peers.len(),
            ranks: peer_benchmark(&ours, &peers, window),
        });
    }
    let missing = store.missing_list(account.id, &[]).await?;
    report.notes.extend(missing_notes(&missing, period));
    Ok(report)
}

/// The values Meta did not give, in words, one note per kind, metric and reason: what a
/// reader must know before reading a gap as a 0. Day values count when their day is in the
/// period; posts, stories and demographics always.
pub fn missing_notes(missing: &[MissingValue], period: analytics::Period) -> Vec<String> {
    let mut groups: BTreeMap<(MissingKind, String, MissingReason), (usize, Option<i64>)> =
        BTreeMap::new();
    for m in missing {
        if let Some(day) = m.key.day
            && (day < period.start() || day > period.end())
        {
            continue;
        }
        let what = match m.key.kind {
            MissingKind::MediaInsights => "post insights".to_owned(),
            MissingKind::StoryInsights => "story insights".to_owned(),
            MissingKind::AccountInsight | MissingKind::OnlineFollowers => m.key.metric.clone(),
            MissingKind::Demographics => {
                let part = if m.key.breakdown.is_empty() {
                    String::new()
                } else {
                    format!(" by {}", m.key.breakdown)
                };
                format!("{}{part}", m.key.metric)
            }
        };
        let entry = groups.entry((m.key.kind, what, m.reason)).or_default();
        entry.0 += 1;
        if let Some(d) = m.dropped {
            entry.1 = Some(entry.1.unwrap_or(0) + d);
        }
    }
    groups
        .into_iter()
        .map(|((kind, what, reason), (n, dropped))| {
            let count = match kind {
                MissingKind::MediaInsights => format!("{n} post(s)"),
                MissingKind::StoryInsights => format!("{n} story(ies)"),
                MissingKind::AccountInsight | MissingKind::OnlineFollowers => {
                    format!("{n} day(s)")
                }
                MissingKind::Demographics => match (n, dropped) {
                    (_, Some(d)) => format!("{d} value(s) dropped"),
                    (1, None) => String::new(),
                    (n, None) => format!("{n} breakdowns"),
                },
            };
            let count = if count.is_empty() {
                String::new()
            } else {
                format!(" ({count})")
            };
            format!("{what}{count}: {}", reason.words())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};
    use store::MissingKey;

    #[test]
    fn missing_values_become_notes_in_words() {
        let d = |day: u32| NaiveDate::from_ymd_opt(2026, 3, day).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 3, 20, 0, 0, 0).unwrap();
        let period = analytics::Period::new(d(1), d(10)).unwrap();
        let seen = MissingValue::seen;
        let missing = vec![
            seen(
                MissingKey::object(MissingKind::MediaInsights, "a"),
                MissingReason::BeforeConversion,
                at,
            ),
            seen(
                MissingKey::object(MissingKind::MediaInsights, "b"),
                MissingReason::BeforeConversion,
                at,
            ),
            seen(
                MissingKey::day(MissingKind::AccountInsight, "follower_count", d(2)),
                MissingReason::BelowThreshold,
                at,
            ),
            // Outside the period: not mentioned.
            seen(
                MissingKey::day(MissingKind::AccountInsight, "follower_count", d(12)),
                MissingReason::BelowThreshold,
                at,
            ),
            seen(
                MissingKey::demographic("follower_demographics", "", "city"),
                MissingReason::TruncatedTop45,
                at,
            ),
        ];
        assert_eq!(
            missing_notes(&missing, period),
            vec![
                "post insights (2 post(s)): not available: posted before the account became a \
                 professional account",
                "follower_count (1 day(s)): not available: fewer than 100 followers (or \
                 engagements)",
                "follower_demographics by city: incomplete: Meta returns the top 45 values only",
            ]
        );
    }
}
