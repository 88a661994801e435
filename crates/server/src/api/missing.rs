//! Values Meta does not give, per account, each with its reason: what a report or chart
//! shows as "not available" instead of a 0 (`GET /accounts/{id}/missing`).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use store::{AccountId, MissingKind, MissingValue};

use crate::api::accounts::account_by_ref;
use crate::error::{ApiJson, ApiPath, ApiQuery, AppError, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/accounts/{id}/missing", get(list))
}

/// One missing value. Fields that do not apply to its kind are null.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "MissingValue")]
pub struct MissingView {
    /// `media_insights`, `story_insights`, `account_insight`, `online_followers` or
    /// `demographics`.
    #[schemars(extend("enum" = store::MissingKind::ALL.map(store::MissingKind::as_str)))]
    pub kind: &'static str,
    /// The media or story id.
    pub object_id: Option<String>,
    /// The Pacific day (account insights, online followers).
    pub day: Option<NaiveDate>,
    pub metric: Option<String>,
    pub timeframe: Option<String>,
    pub breakdown: Option<String>,
    /// Machine-readable reason (`before_conversion`, `below_threshold`, …).
    #[schemars(extend("enum" = store::MissingReason::ALL.map(store::MissingReason::as_str)))]
    pub reason: &'static str,
    /// The reason in words.
    pub reason_text: &'static str,
    /// Values dropped (truncated demographics), when Meta says.
    pub dropped: Option<i64>,
    /// Meta's message or other detail.
    pub detail: String,
    /// First seen missing for this reason.
    pub since: DateTime<Utc>,
    /// Last seen missing.
    pub checked_at: DateTime<Utc>,
    /// When igsync asks again (null: never, the refusal is permanent).
    pub next_retry_at: Option<DateTime<Utc>>,
}

fn some(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

impl MissingView {
    pub fn of(m: &MissingValue) -> MissingView {
        MissingView {
            kind: m.key.kind.as_str(),
            object_id: some(&m.key.object_id),
            day: m.key.day,
            metric: some(&m.key.metric),
            timeframe: some(&m.key.timeframe),
            breakdown: some(&m.key.breakdown),
            reason: m.reason.as_str(),
            reason_text: m.reason.words(),
            dropped: m.dropped,
            detail: m.detail.clone(),
            since: m.since,
            checked_at: m.checked_at,
            next_retry_at: m.next_retry_at,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only this kind.
    pub kind: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MissingList {
    pub account_id: AccountId,
    pub missing: Vec<MissingView>,
}

async fn list(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> AppResult<ApiJson<MissingList>> {
    let kinds = match params.kind.as_deref().map(str::trim) {
        None | Some("") => Vec::new(),
        Some(k) => vec![MissingKind::parse(k).ok_or_else(|| {
            AppError::invalid(format!(
                "kind must be one of media_insights, story_insights, account_insight, \
                 online_followers, demographics; got {k:?}"
            ))
        })?],
    };
    let account = account_by_ref(&state, &id).await?;
    let missing = state.store.missing_list(account.id, &kinds).await?;
    Ok(ApiJson(MissingList {
        account_id: account.id,
        missing: missing.iter().map(MissingView::of).collect(),
    }))
}
