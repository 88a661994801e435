//! The overview: every account with its sync status, last and next sync and token expiry,
//! the open alerts and the queue's live counts, in one call (what the dashboard's first page
//! shows).
//!
//! It is the most polled endpoint, so its JSON is computed at most once per
//! `overview_cache_ttl` (default 1 s) per process — one request computes while concurrent
//! ones wait for its answer — and again at once after any write made through this server.
//! `generated_at` says when it was computed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use store::{AccountId, AlertQuery};

use crate::access::Access;
use crate::api::accounts::{AccountView, account_views};
use crate::api::alerts::{AlertView, alerts_of};
use crate::api::queue::SnapshotView;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/overview", get(overview))
}

/// Open alerts listed in the overview (newest first).
pub const OVERVIEW_ALERTS: u32 = 20;

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Overview {
    pub generated_at: DateTime<Utc>,
    pub accounts: Vec<AccountView>,
    /// Accounts per status.
    pub account_status: std::collections::BTreeMap<&'static str, usize>,
    pub open_alerts: Vec<AlertView>,
    pub queue: SnapshotView,
}

/// Builds the overview; `only` some accounts (a workspace's): over those accounts alone,
/// their alerts and their jobs' counts.
pub async fn load(state: &AppState, only: Option<&[AccountId]>) -> AppResult<Overview> {
    let now = state.clock.now();
    let (mut accounts, alerts, snapshot) = tokio::try_join!(
        account_views(state),
        alerts_of(
            state,
            AlertQuery {
                unacknowledged_only: true,
                limit: OVERVIEW_ALERTS,
                ..Default::default()
            },
            only,
        ),
        async { Ok(state.store.job_snapshot(now, only).await?) },
    )?;
    if let Some(only) = only {
        accounts.retain(|a| only.contains(&a.id));
    }
    let mut account_status = std::collections::BTreeMap::new();
    for status in store::SyncStatus::ALL {
        account_status.insert(status.as_str(), 0);
    }
    for a in &accounts {
        *account_status.entry(a.status).or_default() += 1;
    }
    Ok(Overview {
        generated_at: now,
        accounts,
        account_status,
        open_alerts: alerts.iter().map(AlertView::of).collect(),
        queue: SnapshotView::of(&snapshot, now),
    })
}

/// The overview; the cached one covers every workspace, so a key of one workspace gets
/// its own, computed for it.
async fn overview(State(state): State<AppState>, access: Access) -> AppResult<Response> {
    if let Some(only) = access.account_set() {
        let overview = load(&state, Some(&only)).await?;
        return Ok(axum::Json(overview).into_response());
    }
    let body = state
        .overview_cache
        .get_or_compute(|| async {
            let overview = load(&state, None).await?;
            serde_json::to_vec(&overview)
                .map(Bytes::from)
                .map_err(|e| AppError::internal(e.to_string()))
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The last overview's JSON, reused while younger than the TTL and while no write went
/// through this server since.
pub(crate) struct OverviewCache {
    ttl: Duration,
    /// Bumped by every successful write request (see `crate::count_writes`).
    pub(crate) writes: AtomicU64,
    /// Held while computing, so concurrent requests wait for one computation.
    slot: tokio::sync::Mutex<Option<Cached>>,
}

struct Cached {
    at: Instant,
    writes: u64,
    body: Bytes,
}

impl OverviewCache {
    pub(crate) fn new(ttl: Duration) -> OverviewCache {
        OverviewCache {
            ttl,
            writes: AtomicU64::new(0),
            slot: tokio::sync::Mutex::new(None),
        }
    }

    async fn get_or_compute<F, Fut>(&self, compute: F) -> AppResult<Bytes>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = AppResult<Bytes>>,
    {
        let mut slot = self.slot.lock().await;
        let writes = self.writes.load(Ordering::Acquire);
        if let Some(cached) = slot.as_ref()
            && cached.writes == writes
            && cached.at.elapsed() < self.ttl
        {
            return Ok(cached.body.clone());
        }
        let body = compute().await?;
        *slot = Some(Cached {
            at: Instant::now(),
            writes,
            body: body.clone(),
        });
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_cache_is_reused_until_it_expires_or_a_write_happens() {
        let cache = OverviewCache::new(Duration::from_secs(60));
        let n = std::sync::atomic::AtomicU32::new(0);
        let compute = || async {
            let i = n.fetch_add(1, Ordering::SeqCst);
            Ok(Bytes::from(i.to_string()))
        };
        assert_eq!(cache.get_or_compute(compute).await.unwrap(), "0");
        assert_eq!(cache.get_or_compute(compute).await.unwrap(), "0");
        cache.writes.fetch_add(1, Ordering::Release);
        assert_eq!(cache.get_or_compute(compute).await.unwrap(), "1");
        let uncached = OverviewCache::new(Duration::ZERO);
        assert_eq!(uncached.get_or_compute(compute).await.unwrap(), "2");
        assert_eq!(uncached.get_or_compute(compute).await.unwrap(), "3");
        // A failed computation is not cached.
        let failing = || async { Err(AppError::internal("boom")) };
        assert!(cache.get_or_compute(failing).await.is_ok(), "still fresh");
        cache.writes.fetch_add(1, Ordering::Release);
        assert!(cache.get_or_compute(failing).await.is_err());
        assert_eq!(cache.get_or_compute(compute).await.unwrap(), "4");
    }
}
