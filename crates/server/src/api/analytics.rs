//! Analytics of one account: everything `igsync report` offers (account metrics and follower
//! growth, engagement rates with their denominators, content by type, top and trending
//! posts with why, best posting times, demographics, comparison with the previous period),
//! as JSON (every figure with its definition key) or CSV (also `table` and `html`), over
//! `from`/`to` local dates or the last `days` days; and the glossary of definitions.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::parse_date;
use crate::error::{ApiJson, ApiPath, ApiQuery, AppError, AppResult};
use crate::report::{ReportFormat, ReportSubject};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts/{id}/report", get(report))
        .route("/definitions", get(glossary))
}

/// The default report length, in days.
pub const DEFAULT_DAYS: u32 = 30;
/// The longest report, in days.
pub const MAX_DAYS: u32 = 731;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// First local day (`YYYY-MM-DD`, in the account's time zone).
    pub from: Option<String>,
    /// Last local day, inclusive; default today.
    pub to: Option<String>,
    /// The last N days up to `to` (or today); default 30. Not with `from`.
    pub days: Option<u32>,
    /// `json` (default), `csv`, `table` or `html`.
    pub format: Option<String>,
}

/// The period a request asks for, in the account's time zone.
pub fn period_of(
    params: &ReportParams,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> AppResult<analytics::Period> {
    let today = analytics::local_date(tz, now);
    let to = match &params.to {
        Some(v) => parse_date("to", v)?,
        None => today,
    };
    let period = match (&params.from, params.days) {
        (Some(_), Some(_)) => {
            return Err(AppError::invalid(
                "give either `from` (with `to`) or `days`, not both",
            ));
        }
        (Some(from), None) => analytics::Period::new(parse_date("from", from)?, to),
        (None, days) => {
            let days = days.unwrap_or(DEFAULT_DAYS);
            if !(1..=MAX_DAYS).contains(&days) {
                return Err(AppError::invalid(format!(
                    "days must be between 1 and {MAX_DAYS}, got {days}"
                )));
            }
            analytics::Period::ending_on(to, days)
        }
    }
    .map_err(|e| AppError::invalid(e.to_string()))?;
    if period.n_days() > i64::from(MAX_DAYS) {
        return Err(AppError::invalid(format!(
            "a report covers at most {MAX_DAYS} days"
        )));
    }
    Ok(period)
}

async fn report(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> AppResult<Response> {
    let format = match params.format.as_deref() {
        None => ReportFormat::Json,
        Some(f) => f
            .parse::<ReportFormat>()
            .map_err(|e| AppError::invalid(e.to_string()))?,
    };
    let account = crate::api::accounts::account_by_ref(&state, &id).await?;
    let id = account.id;
    let now = state.clock.now();
    let period = period_of(&params, now, account.time_zone()?)?;
    let report = sync::build_report(&*state.store, &account, period, now).await?;
    let mut subject = ReportSubject::from(&account);
    let (stories, conversations) =
        sync::webhooks::report_lines(&*state.store, &account, period.start(), period.end(), now)
            .await?;
    subject.stories = Some(stories);
    subject.conversations = Some(conversations);
    if format == ReportFormat::Json {
        return Ok(ApiJson(crate::report::report_json(&report, &subject)).into_response());
    }
    let body = crate::report::render(&report, &subject, format);
    let filename = format!(
        "igsync-{}-{}-{}.{}",
        id,
        period.start(),
        period.end(),
        format.extension()
    );
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Definition")]
pub struct DefinitionView {
    pub key: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub definition: &'static str,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Glossary {
    pub definitions: Vec<DefinitionView>,
}

async fn glossary() -> ApiJson<Glossary> {
    ApiJson(Glossary {
        definitions: analytics::definitions()
            .iter()
            .map(|d| DefinitionView {
                key: d.key,
                label: d.label,
                unit: d.unit.key(),
                definition: d.definition,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn params(from: Option<&str>, to: Option<&str>, days: Option<u32>) -> ReportParams {
        ReportParams {
            from: from.map(Into::into),
            to: to.map(Into::into),
            days,
            format: None,
        }
    }

    #[test]
    fn periods_come_from_dates_or_days_in_the_account_zone() {
        // 23:30 UTC on March 1st is already March 2nd in Berlin.
        let now = Utc.with_ymd_and_hms(2025, 3, 1, 23, 30, 0).unwrap();
        let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        let p = period_of(&params(None, None, None), now, berlin).unwrap();
        assert_eq!(p.end().to_string(), "2025-03-02");
        assert_eq!(p.n_days(), 30);
        let p = period_of(&params(None, None, Some(7)), now, chrono_tz::UTC).unwrap();
        assert_eq!(
            (p.start().to_string(), p.end().to_string()),
            ("2025-02-23".into(), "2025-03-01".into())
        );
        let p = period_of(
            &params(Some("2025-01-01"), Some("2025-01-31"), None),
            now,
            chrono_tz::UTC,
        )
        .unwrap();
        assert_eq!(p.n_days(), 31);
        for bad in [
            params(Some("2025-02-01"), Some("2025-01-01"), None),
            params(Some("2025-01-01"), None, Some(3)),
            params(None, None, Some(0)),
            params(None, None, Some(5000)),
            params(Some("2020-01-01"), Some("2025-01-01"), None),
            params(Some("01/02/2025"), None, None),
        ] {
            assert!(matches!(
                period_of(&bad, now, chrono_tz::UTC),
                Err(AppError::Invalid(_))
            ));
        }
    }
}
