//! Account insights step: daily account metrics. The first sync backfills the configured
//! number of complete days (90 by default) and today's partial day, read in ≤ 30-day windows
//! by the client (a day read before it ended is shown as partial until read again); later
//! syncs read from the last stored day, and always the last few days again because Meta's
//! numbers settle for about 48 h (today's partial values included). Asked for on its own with
//! a range of days, it reads exactly those. Once a week the window widens to the configured
//! re-read days (28 by default): Meta revises numbers later than 48 h now and then, and a
//! changed value is stored as a revision of the earlier one. Days are Pacific-time days
//! (Meta's buckets); the series is kept forever. Followers online per hour come along for
//! the last 30 days. A light sync reads them only once its configured rest since the last
//! read is over, or a new Pacific day has begun.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::America::Los_Angeles;
use graph::{AccountInsightsQuery, CatalogScope};
use store::{
    AccountInsightBatch, AccountInsightDay, Breakdown, MissingBatch, MissingKey, MissingKind,
    MissingReason, MissingValue,
};

use crate::steps::{StepCtx, StepError, StepReport};

/// The metric whose stored days decide between backfill and settling window.
const ANCHOR_METRIC: &str = "reach";

/// The inclusive range of Pacific days to read (ending `today`), given the last stored day:
/// at most `backfill_days` complete days before today, and today's partial day.
pub(crate) fn days_to_read(
    today: NaiveDate,
    last_stored: Option<NaiveDate>,
    backfill_days: u32,
    settling_days: u32,
) -> (NaiveDate, NaiveDate) {
    let earliest = today - Duration::days(backfill_days.max(1) as i64);
    let settling_start = today - Duration::days(settling_days.max(1) as i64 - 1);
    let since = match last_stored {
        None => earliest,
        Some(last) => (last + Duration::days(1)).min(settling_start).max(earliest),
    };
    (since, today)
}

/// How often the wider window is read again.
const REREAD_EVERY: Duration = Duration::days(7);

/// Whether the days before the usual window are due to be read again: some day's total
/// was last read `REREAD_EVERY` ago or longer (`oldest_read`: the least recent read).
fn reread_due(oldest_read: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    oldest_read.is_some_and(|at| at <= now - REREAD_EVERY)
}

pub(crate) async fn run(ctx: &StepCtx<'_>) -> Result<StepReport, StepError> {
    let store = &ctx.deps.store;
    let settings = &ctx.deps.settings;
    // Today's (partial) values are read too; the settling window reads them again.
    let today = ctx.now.with_timezone(&Los_Angeles).date_naive();
    let (last, read_today) = store
        .account_insight_freshness(ctx.account.id, ANCHOR_METRIC, today)
        .await?;
    // A light sync leaves today's values alone for a while after they were read: they are
    // daily numbers, and an hourly read mostly rewrites what is stored. A new Pacific day
    // is always read (yesterday's last partial values, today's first).
    let rest = settings.account_insights_light_interval;
    if !ctx.plan.is_thorough()
        && ctx.scope.since.is_none()
        && !rest.is_zero()
        && last == Some(today)
        && let Some(read_at) = read_today
        && let Some(due_at) = Duration::from_std(rest).ok().map(|rest| read_at + rest)
        && ctx.now < due_at
    {
        return Ok(StepReport {
            rows_written: 0,
            expected: None,
            stored: None,
            complete: None,
            detail: serde_json::json!({
                "skipped": "read recently",
                "read_at": read_at,
                "due_at": due_at,
            }),
            skipped: true,
        });
    }
    let mut reread = false;
    let (since, until) = match ctx.scope.since {
        // Asked for on its own with a range of days: exactly those (checked when enqueued).
        Some(since) => (since, ctx.scope.until.unwrap_or(today).min(today)),
        None => {
            let (mut since, until) = days_to_read(
                today,
                last,
                settings.account_insights_backfill_days,
                settings.account_insights_settling_days,
            );
            // The weekly wider re-read, for Meta's later revisions.
            let wide = today - Duration::days(settings.account_insights_reread_days as i64);
            if last.is_some() && wide < since {
                let oldest = store
                    .account_insight_oldest_read(
                        ctx.account.id,
                        ANCHOR_METRIC,
                        wide,
                        since - Duration::days(1),
                    )
                    .await?;
                if reread_due(oldest, ctx.now) {
                    since = wide;
                    reread = true;
                }
            }
            (since, until)
        }
    };
    let days = (until - since).num_days() + 1;
    ctx.progress(0, days as u64).await;
    // Meta keeps followers online for the 30 days before today.
    let online_since = since.max(today - Duration::days(30));
    let online_until = today - Duration::days(1);
    // The daily metrics and followers online are read side by side (two lanes).
    let query = AccountInsightsQuery {
        since,
        until,
        breakdowns: settings.account_insight_breakdowns,
    };
    let (points, online) = tokio::join!(
        ctx.read(ctx.client.account_insights(&ctx.acct, &query)),
        async {
            if online_since <= online_until {
                ctx.read(
                    ctx.client
                        .online_followers_read(&ctx.acct, online_since, online_until),
                )
                .await
            } else {
                Ok(graph::OnlineFollowersRead::default())
            }
        },
    );
    let (points, online) = (points?, online?);
    // Every value asked for is stored or recorded as missing with its reason.
    // The account as its job found it: after the plan's profile step, which runs in an
    // earlier job of the chain.
    let followers = ctx.account.followers_count;
    let mut seen: BTreeSet<(String, NaiveDate)> = points
        .iter()
        .filter(|p| p.breakdown.is_none())
        .map(|p| (p.metric.clone(), p.day))
        .collect();
    seen.extend(
        online
            .days
            .iter()
            .map(|d| ("online_followers".to_string(), d.day)),
    );
    let mut expected: Vec<(MissingKind, &str, NaiveDate)> = Vec::new();
    let total_value = ctx
        .client
        .requested_metrics(CatalogScope::AccountTotalValue);
    let series = ctx
        .client
        .requested_metrics(CatalogScope::AccountTimeSeries);
    let mut day = since;
    while day <= until {
        for m in total_value.iter().chain(series.iter()) {
            // follower_count is served for the 30 days before today only.
            if *m == "follower_count" && (day >= today || day < today - Duration::days(30)) {
                continue;
            }
            expected.push((MissingKind::AccountInsight, m, day));
        }
        if day >= online_since && day <= online_until {
            expected.push((MissingKind::OnlineFollowers, "online_followers", day));
        }
        day += Duration::days(1);
    }
    let not_ready: BTreeSet<NaiveDate> = online.not_ready.iter().copied().collect();
    let known: BTreeSet<MissingKey> = store
        .missing_list(
            ctx.account.id,
            &[MissingKind::AccountInsight, MissingKind::OnlineFollowers],
        )
        .await?
        .into_iter()
        .map(|m| m.key)
        .collect();
    let mut missing = Vec::new();
    let mut present = Vec::new();
    for (kind, metric, day) in expected {
        let key = MissingKey::day(kind, metric, day);
        if seen.contains(&(metric.to_string(), day)) {
            if known.contains(&key) {
                present.push(key);
            }
            continue;
        }
        // Below the threshold is the lasting reason, whatever else Meta said about the day.
        let reason = match crate::missing::reason_of_absence(followers) {
            MissingReason::NoDataYet
                if kind == MissingKind::OnlineFollowers && not_ready.contains(&day) =>
            {
                MissingReason::NotReadyYet
            }
            r => r,
        };
        missing.push(MissingValue::seen(key, reason, ctx.now));
    }
    let missing_count = missing.len();
    let missing_rows = if missing.is_empty() && present.is_empty() {
        0
    } else {
        store
            .missing_apply(MissingBatch {
                account_id: ctx.account.id,
                missing,
                present,
            })
            .await?
    };
    let online = online.days;
    let mut rows: Vec<AccountInsightDay> = points
        .into_iter()
        .map(|p| AccountInsightDay {
            metric: p.metric,
            day: p.day,
            breakdown: p.breakdown.map(|b| Breakdown::new(b.dimension, b.key)),
            value: p.value,
        })
        .collect();
    let online_days = online.len();
    for day in online {
        for (hour, value) in day.by_hour {
            rows.push(AccountInsightDay {
                metric: "online_followers".to_string(),
                day: day.day,
                breakdown: Some(Breakdown::new("hour", hour.to_string())),
                value,
            });
        }
    }
    let values = rows.len();
    let metrics: BTreeSet<String> = rows.iter().map(|r| r.metric.clone()).collect();
    let written = if rows.is_empty() {
        0
    } else {
        store
            .account_insights_apply(AccountInsightBatch {
                account_id: ctx.account.id,
                fetched_at: ctx.now,
                rows,
                origin: ctx.origin(),
            })
            .await?
    };
    let stored_days: BTreeSet<NaiveDate> = store
        .account_insight_days(ctx.account.id, &[ANCHOR_METRIC.to_string()], since, until)
        .await?
        .into_iter()
        .filter(|d| d.breakdown.is_none())
        .map(|d| d.day)
        .collect();
    let stored = stored_days.len() as i64;
    ctx.progress(stored.max(0) as u64, days as u64).await;
    Ok(StepReport {
        rows_written: written + missing_rows,
        expected: Some(days),
        stored: Some(stored),
        complete: Some(stored == days),
        detail: serde_json::json!({
            "since": since.to_string(),
            "until": until.to_string(),
            "backfill": last.is_none(),
            "reread": reread,
            "values": values,
            "metrics": metrics,
            "online_followers_days": online_days,
            "missing_values": missing_count,
        }),
        skipped: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn first_sync_backfills_then_settling_window() {
        let y = d("2026-03-09");
        // 90 complete days, and today's partial day.
        assert_eq!(days_to_read(y, None, 90, 3), (d("2025-12-09"), y));
        assert_eq!((y - d("2025-12-09")).num_days(), 90);
        // Up to date: read the settling window again.
        assert_eq!(days_to_read(y, Some(y), 90, 3), (d("2026-03-07"), y));
        // A week behind: read from the first missing day.
        assert_eq!(
            days_to_read(y, Some(d("2026-03-01")), 90, 3),
            (d("2026-03-02"), y)
        );
        // A year behind: never more than the backfill.
        assert_eq!(
            days_to_read(y, Some(d("2025-01-01")), 90, 3),
            (d("2025-12-09"), y)
        );
    }
}
