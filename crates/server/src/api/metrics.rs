//! One account metric per day as it was known at a time
//! (`GET /accounts/{id}/metrics/{metric}?as_of=T`): the value then, the value first read,
//! how many revisions Meta made, when it was read and from where; the days Meta did not give
//! are listed with their reason. A report can so say how much a period moved after it was
//! first read.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use store::{AccountId, AccountInsightReading, MissingKind, ValueProvenance};

use crate::api::accounts::account_by_ref;
use crate::api::missing::MissingView;
use crate::api::{parse_date, parse_instant};
use crate::error::{ApiJson, ApiPath, ApiQuery, AppError, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/accounts/{id}/metrics/{metric}", get(series))
}

/// The longest range, in days.
const MAX_DAYS: i64 = 731;
/// The default range, in days.
const DEFAULT_DAYS: i64 = 30;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesParams {
    /// First Pacific day (default: 29 days before `to`).
    pub from: Option<String>,
    /// Last Pacific day, inclusive (default: today, UTC).
    pub to: Option<String>,
    /// The time the values are answered as of (date or RFC 3339; default now).
    pub as_of: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "MetricDay")]
pub struct DayView {
    pub day: NaiveDate,
    /// The breakdown dimension (`null` for the day's total).
    pub breakdown: Option<String>,
    pub key: Option<String>,
    pub value: f64,
    pub first_value: f64,
    pub revisions: i64,
    pub first_fetched_at: DateTime<Utc>,
    pub fetched_at: DateTime<Utc>,
    /// Where the value came from (`poll`, `webhook`, `derived`); as in `provenance`.
    #[schemars(extend("enum" = ["poll", "webhook", "derived"]))]
    pub source: &'static str,
    /// Read before its Pacific day ended (today's day, or a day not read again since): the
    /// value is what Meta said so far and grows until the day is read complete.
    pub partial: bool,
    /// Older than Meta's 48-hour settling window: later changes are revisions.
    pub settled: bool,
    pub provenance: ProvenanceView,
}

/// Where a value comes from: the Graph API version of the read (`null`: stored before
/// provenance was recorded), when it was read, whether Meta may still revise it and its
/// source, with the same words as the dashboard's hover text.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Provenance")]
pub struct ProvenanceView {
    /// The Graph API version the read used; null for a value stored before igsync recorded
    /// provenance.
    pub api_version: Option<String>,
    /// When it was read.
    pub captured_at: DateTime<Utc>,
    /// Its day is older than Meta's 48-hour revision window, so a later change is a revision.
    pub settled: bool,
    /// `poll` (a Graph API read), `webhook` (Meta's notification) or `derived` (computed by
    /// igsync).
    #[schemars(extend("enum" = ["poll", "webhook", "derived"]))]
    pub source: &'static str,
    /// The same in words, as the dashboard shows it on hover.
    pub text: String,
}

impl ProvenanceView {
    pub fn of(p: &ValueProvenance) -> ProvenanceView {
        ProvenanceView {
            api_version: p.api_version.clone(),
            captured_at: p.captured_at,
            settled: p.settled,
            source: p.source.as_str(),
            text: p.describe(),
        }
    }
}

/// The provenance of one reading at `now`.
pub(crate) fn reading_provenance(r: &AccountInsightReading, now: DateTime<Utc>) -> ValueProvenance {
    ValueProvenance {
        api_version: r.api_version.clone(),
        captured_at: r.fetched_at,
        settled: store::day_settled(r.day, now),
        source: r.source,
    }
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "MetricSeries")]
pub struct SeriesView {
    pub account_id: AccountId,
    pub metric: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub as_of: Option<DateTime<Utc>>,
    pub days: Vec<DayView>,
    /// Sum of the day totals now (as of) minus their sum as first read.
    pub moved_since_first_read: f64,
    /// Days of this metric Meta did not give, with the reason.
    pub missing: Vec<MissingView>,
}

fn view(r: &AccountInsightReading, now: DateTime<Utc>) -> DayView {
    let day_end = store::pacific_day_end(r.day).unwrap_or(now);
    let provenance = reading_provenance(r, now);
    DayView {
        day: r.day,
        breakdown: r.breakdown.as_ref().map(|b| b.dimension.clone()),
        key: r.breakdown.as_ref().map(|b| b.key.clone()),
        value: r.value,
        first_value: r.first_value,
        revisions: r.revisions,
        first_fetched_at: r.first_fetched_at,
        fetched_at: r.fetched_at,
        source: r.source.as_str(),
        // Read before its day ended: Meta's number for the day so far.
        partial: r.fetched_at < day_end,
        settled: provenance.settled,
        provenance: ProvenanceView::of(&provenance),
    }
}

/// A query value, `None` when absent or blank.
fn blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

async fn series(
    State(state): State<AppState>,
    ApiPath((id, metric)): ApiPath<(String, String)>,
    ApiQuery(params): ApiQuery<SeriesParams>,
) -> AppResult<ApiJson<SeriesView>> {
    if metric.is_empty()
        || metric.len() > 100
        || !metric
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(AppError::invalid(
            "metric must be a Graph API metric name (lower-case letters, digits, _)",
        ));
    }
    let as_of = blank(&params.as_of)
        .map(|v| parse_instant("as_of", v))
        .transpose()?;
    let to = match blank(&params.to) {
        Some(v) => parse_date("to", v)?,
        None => state.clock.now().date_naive(),
    };
    let from = match blank(&params.from) {
        Some(v) => parse_date("from", v)?,
        None => to - Duration::days(DEFAULT_DAYS - 1),
    };
    if from > to {
        return Err(AppError::invalid("from must not be after to"));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(AppError::invalid(format!(
            "at most {MAX_DAYS} days per request"
        )));
    }
    let account = account_by_ref(&state, &id).await?;
    let readings = state
        .store
        .account_insight_as_of(account.id, &metric, from, to, as_of)
        .await?;
    let moved = readings
        .iter()
        .filter(|r| r.breakdown.is_none())
        .map(|r| r.value - r.first_value)
        .sum();
    let missing = state
        .store
        .missing_list(
            account.id,
            &[MissingKind::AccountInsight, MissingKind::OnlineFollowers],
        )
        .await?
        .iter()
        .filter(|m| m.key.metric == metric && m.key.day.is_some_and(|d| d >= from && d <= to))
        .filter(|m| as_of.is_none_or(|t| m.since <= t))
        .map(MissingView::of)
        .collect();
    Ok(ApiJson(SeriesView {
        account_id: account.id,
        metric,
        from,
        to,
        as_of,
        days: readings
            .iter()
            .map(|r| view(r, as_of.unwrap_or_else(|| state.clock.now())))
            .collect(),
        moved_since_first_read: moved,
        missing,
    }))
}
