//! Graph API usage per account: the latest usage Meta reports (percent of the rolling 24 h
//! budget, `X-Business-Use-Case-Usage`) and the calls igsync made per day.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use store::{AccountId, ApiCallsDay, ApiUsage};

use crate::error::{ApiJson, ApiQuery, AppError, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/usage", get(list))
}

/// At or above this percentage of the budget, usage is `high`.
pub const HIGH_USAGE_PCT: f64 = 75.0;
/// At or above this percentage, usage is `critical` (igsync alerts on rate-limit pressure).
pub const CRITICAL_USAGE_PCT: f64 = 90.0;

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "Usage")]
pub struct UsageView {
    pub observed_at: DateTime<Utc>,
    /// Percent of the budget used: the highest of call count, CPU time and total time.
    pub usage_pct: f64,
    pub call_count_pct: f64,
    pub total_cputime_pct: f64,
    pub total_time_pct: f64,
    /// `ok` (< 75 %), `high` (≥ 75 %) or `critical` (≥ 90 %).
    #[schemars(extend("enum" = ["ok", "high", "critical"]))]
    pub pressure: &'static str,
    /// Minutes until Meta lets calls through again, when throttled.
    pub regain_access_minutes: Option<i64>,
}

impl UsageView {
    pub fn of(u: &ApiUsage) -> UsageView {
        UsageView {
            observed_at: u.observed_at,
            usage_pct: u.usage_pct,
            call_count_pct: u.call_count_pct,
            total_cputime_pct: u.total_cputime_pct,
            total_time_pct: u.total_time_pct,
            pressure: pressure(u.usage_pct),
            regain_access_minutes: u.regain_access_minutes,
        }
    }
}

pub fn pressure(usage_pct: f64) -> &'static str {
    if usage_pct >= CRITICAL_USAGE_PCT {
        "critical"
    } else if usage_pct >= HIGH_USAGE_PCT {
        "high"
    } else {
        "ok"
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "UsageDay")]
pub struct DayView {
    pub day: NaiveDate,
    /// HTTP requests sent.
    pub requests: i64,
    /// Rate-limit units spent (one per id of a multi-ID read).
    pub units: i64,
    pub errors: i64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AccountUsage {
    pub account_id: AccountId,
    pub username: String,
    /// Null until a sync has seen Meta's usage header for this account.
    pub latest: Option<UsageView>,
    /// Oldest first, days without calls omitted.
    pub days: Vec<DayView>,
    pub requests_total: i64,
    pub units_total: i64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UsageReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The app as a whole (`X-App-Usage`), when seen.
    pub app: Option<UsageView>,
    pub accounts: Vec<AccountUsage>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageParams {
    /// Days of call history, ending today (UTC); default 7, at most 90.
    pub days: Option<u32>,
}

/// The usage report over the last `days` days (shared with the dashboard).
pub async fn usage_report(state: &AppState, days: u32) -> AppResult<UsageReport> {
    if !(1..=90).contains(&days) {
        return Err(AppError::invalid(format!(
            "days must be between 1 and 90, got {days}"
        )));
    }
    let to = state.clock.now().date_naive();
    let from = to - Duration::days(i64::from(days) - 1);
    let accounts = state.store.account_list().await?;
    let latest = state.store.api_usage_latest().await?;
    let calls = state.store.api_calls_days(None, from, to).await?;
    let day_view = |d: &ApiCallsDay| DayView {
        day: d.day,
        requests: d.requests,
        units: d.units,
        errors: d.errors,
    };
    Ok(UsageReport {
        from,
        to,
        app: latest
            .iter()
            .find(|u| u.account_id.is_none())
            .map(UsageView::of),
        accounts: accounts
            .iter()
            .map(|a| {
                let mut days: Vec<DayView> = calls
                    .iter()
                    .filter(|d| d.account_id == a.id)
                    .map(day_view)
                    .collect();
                days.sort_by_key(|d| d.day);
                AccountUsage {
                    account_id: a.id,
                    username: a.username.clone(),
                    latest: latest
                        .iter()
                        .find(|u| u.account_id == Some(a.id))
                        .map(UsageView::of),
                    requests_total: days.iter().map(|d| d.requests).sum(),
                    units_total: days.iter().map(|d| d.units).sum(),
                    days,
                }
            })
            .collect(),
    })
}

async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<UsageParams>,
) -> AppResult<ApiJson<UsageReport>> {
    Ok(ApiJson(
        usage_report(&state, params.days.unwrap_or(7)).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pressure_levels() {
        assert_eq!(pressure(0.0), "ok");
        assert_eq!(pressure(74.9), "ok");
        assert_eq!(pressure(75.0), "high");
        assert_eq!(pressure(90.0), "critical");
    }
}
