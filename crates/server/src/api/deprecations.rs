//! Deprecation early warning (`GET /deprecations`): the metrics the pinned Graph API version
//! still serves that a newer version refuses, per login, with the day Meta stops serving
//! the pinned version (the metric is gone then at the latest). Built from the catalog
//! decisions every sync stores, the daily probe of the newest version's included.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::Serialize;

use crate::error::{ApiJson, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/deprecations", get(list))
}

/// One metric at risk.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "MetricAtRisk")]
pub struct MetricAtRiskView {
    /// `facebook` or `instagram`.
    #[schemars(extend("enum" = ["facebook", "instagram"]))]
    pub login: &'static str,
    /// The catalog scope (`account/total_value`, `account/demographics`, …).
    pub scope: String,
    pub metric: String,
    /// The version igsync reads with.
    pub pinned_version: String,
    /// The first newer version that refuses the metric.
    pub refused_on: String,
    /// The day the pinned version expires (null while Meta has not announced it).
    pub removal_date: Option<NaiveDate>,
    /// Meta's message on the newer version.
    pub message: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Deprecations")]
pub struct DeprecationsView {
    pub metrics: Vec<MetricAtRiskView>,
}

/// The metrics at risk for every login this server has a Graph API client for.
pub(crate) async fn at_risk(state: &AppState) -> store::Result<Vec<MetricAtRiskView>> {
    let stored = state.store.catalog_decisions_list().await?;
    let mut out = Vec::new();
    let mut clients: Vec<_> = state.graph.values().collect();
    clients.sort_by_key(|c| c.login().as_str());
    for client in clients {
        let login = client.login().as_str();
        let pinned = client.version();
        let decisions: Vec<graph::CatalogDecision> = stored
            .iter()
            .filter(|d| d.login == login)
            .filter_map(|d| {
                Some(graph::CatalogDecision {
                    version: d.api_version.parse().ok()?,
                    scope: graph::CatalogScope::parse(&d.scope)?,
                    metric: d.metric.clone(),
                    reason: d.reason.clone(),
                    decided_at: d.decided_at,
                })
            })
            .collect();
        out.extend(
            graph::metrics_at_risk_of(pinned, &decisions)
                .into_iter()
                .map(|r| MetricAtRiskView {
                    login,
                    scope: r.scope.to_string(),
                    metric: r.metric,
                    pinned_version: pinned.to_string(),
                    refused_on: r.refused_on.to_string(),
                    removal_date: r.removal_date,
                    message: r.message,
                }),
        );
    }
    Ok(out)
}

async fn list(State(state): State<AppState>) -> AppResult<ApiJson<DeprecationsView>> {
    Ok(ApiJson(DeprecationsView {
        metrics: at_risk(&state).await?,
    }))
}
