//! Competitors read through Business Discovery: list them with their latest counters and
//! the reason of their last failure, track one through one of our accounts on Facebook
//! Login, stop tracking one, and queue their snapshots now.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use chrono::{DateTime, Duration, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use store::{AccountId, Competitor};

use crate::api::accounts::account_by_ref;
use crate::error::{ApiJson, ApiPath, ApiQuery, AppError, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/competitors", get(list).post(add))
        .route("/competitors/sync", post(sync_now))
        .route("/competitors/benchmark", get(benchmark))
        .route("/competitors/{id}", delete(remove))
}

/// A competitor with its latest snapshot's counters (absent: Meta gave none yet).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "Competitor")]
pub struct CompetitorView {
    pub id: i64,
    pub username: String,
    pub via_account_id: AccountId,
    pub ig_user_id: Option<String>,
    pub name: Option<String>,
    /// `pending | ok | error`.
    #[schemars(extend("enum" = ["pending", "ok", "error"]))]
    pub status: &'static str,
    pub followers_count: Option<i64>,
    pub follows_count: Option<i64>,
    pub media_count: Option<i64>,
    pub captured_at: Option<DateTime<Utc>>,
    /// Stable key of the last failure: not_found, restricted, instagram_login,
    /// rate_limited, token_invalid, temporary, refused, …
    pub last_reason: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

/// The view of one competitor, with its latest snapshot.
pub async fn view(state: &AppState, c: &Competitor) -> AppResult<CompetitorView> {
    let latest = match c.last_success_at {
        Some(at) => state
            .store
            .competitor_snapshots(c.id, at - Duration::days(400), at)
            .await?
            .pop(),
        None => None,
    };
    Ok(CompetitorView {
        id: c.id,
        username: c.username.clone(),
        via_account_id: c.via_account_id,
        ig_user_id: c.ig_user_id.clone(),
        name: c.name.clone(),
        status: c.status.as_str(),
        followers_count: latest.as_ref().and_then(|s| s.followers_count),
        follows_count: latest.as_ref().and_then(|s| s.follows_count),
        media_count: latest.as_ref().and_then(|s| s.media_count),
        captured_at: latest.as_ref().map(|s| s.captured_at),
        last_reason: c.last_reason.clone(),
        last_error: c.last_error.clone(),
        last_error_at: c.last_error_at,
    })
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CompetitorList {
    pub competitors: Vec<CompetitorView>,
}

async fn list(State(state): State<AppState>) -> AppResult<ApiJson<CompetitorList>> {
    let mut competitors = Vec::new();
    for c in state.store.competitor_list().await? {
        competitors.push(view(&state, &c).await?);
    }
    Ok(ApiJson(CompetitorList { competitors }))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "AddCompetitor")]
pub struct AddBody {
    /// The competitor's Instagram username.
    #[schemars(regex(pattern = r"^\s*@?[A-Za-z0-9._]{1,30}\s*$"))]
    pub username: String,
    /// Our account whose token and budget the reads use: id, @username or Instagram user id.
    pub via: String,
}

fn engine(state: &AppState) -> AppResult<&sync::Engine> {
    state.engine.as_ref().ok_or_else(|| {
        AppError::NotConfigured(
            "this server runs without a sync engine (no Graph API configured), so it cannot \
             read competitors"
                .to_owned(),
        )
    })
}

async fn add(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<AddBody>,
) -> AppResult<(StatusCode, ApiJson<CompetitorView>)> {
    sync::normalize_username(&body.username).map_err(AppError::invalid)?;
    let via = account_by_ref(&state, &body.via).await?;
    let c = engine(&state)?
        .competitor_add(&body.username, via.id)
        .await?;
    Ok((StatusCode::CREATED, ApiJson(view(&state, &c).await?)))
}

async fn remove(State(state): State<AppState>, ApiPath(id): ApiPath<i64>) -> AppResult<StatusCode> {
    if !state.store.competitor_remove(id).await? {
        return Err(AppError::not_found(format!(
            "competitor {id} is not tracked"
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "CompetitorSyncQueued")]
pub struct SyncQueued {
    /// Snapshots queued now (one already waiting for a competitor is not queued again).
    pub enqueued: usize,
}

async fn sync_now(State(state): State<AppState>) -> AppResult<(StatusCode, ApiJson<SyncQueued>)> {
    let enqueued = engine(&state)?.competitor_sync().await?;
    Ok((StatusCode::ACCEPTED, ApiJson(SyncQueued { enqueued })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkParams {
    /// Our account: id, @username or Instagram user id.
    pub account: String,
    /// Days before now (1 to 365, default 30).
    pub days: Option<i64>,
}

/// Where the account stands on one figure among the competitors tracked through it.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "PeerRank")]
pub struct RankView {
    pub figure: &'static str,
    pub value: Option<f64>,
    /// Why the value is missing.
    pub note: Option<String>,
    /// 1 = best; absent when our value is missing.
    pub rank: Option<usize>,
    /// Accounts with a value, ours included.
    pub of: usize,
    pub peer_median: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "PeerBenchmark")]
pub struct Benchmark {
    pub account_id: AccountId,
    pub days: i64,
    pub figures: Vec<RankView>,
}

async fn benchmark(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<BenchmarkParams>,
) -> AppResult<ApiJson<Benchmark>> {
    let days = params.days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(AppError::invalid(format!(
            "days must be from 1 to 365, got {days}"
        )));
    }
    let account = account_by_ref(&state, &params.account).await?;
    let ranks = engine(&state)?.peer_benchmark(account.id, days).await?;
    let figures = ranks
        .into_iter()
        .map(|r| RankView {
            figure: r.figure,
            value: r.ours.value,
            note: r.ours.note,
            rank: r.rank,
            of: r.of,
            peer_median: r.peer_median,
        })
        .collect();
    Ok(ApiJson(Benchmark {
        account_id: account.id,
        days,
        figures,
    }))
}
