//! The report use case: an account's analytics report for a period, built from its stored
//! history. `igsync report`, `GET /api/v1/accounts/{id}/report` and the dashboard's account
//! page all call [`build_report`].

use chrono::{DateTime, Utc};
use store::{Account, Store};

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
    Ok(analytics::performance_report(
        &history,
        period,
        now,
        &analytics::ReportConfig::default(),
    ))
}
