//! Media insight reads, built for few round trips: one multi-ID request per ≤ 50 posts of
//! one media category, per-id errors kept apart; a group that fails as a whole because of
//! one object (Meta's multi-ID reads do) is asked again as one batch request of per-object
//! operations, so the others still get their numbers. Metrics the API rejects are dropped,
//! remembered and the rest asked for again.

use std::collections::{BTreeMap, VecDeque};

use reqwest::Method;
use serde_json::{Value, json};

use crate::catalog::{CatalogScope, MEDIA_BREAKDOWNS};
use crate::client::{GraphClient, PathKind, Request};
use crate::error::{ErrorClass, GraphError, ItemError};
use crate::insights::MAX_IDS_PER_REQUEST;
use crate::model::{InsightValue, MediaCategory, MediaInsights, MediaItem};
use crate::parse;
use crate::reads::check_id;
use crate::token::AccountRef;

/// A media object whose insights are wanted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MediaTarget {
    /// Media id.
    pub id: String,
    /// Its category (decides the metrics).
    pub category: MediaCategory,
}

impl MediaTarget {
    /// A target.
    pub fn new(id: impl Into<String>, category: MediaCategory) -> Self {
        Self {
            id: id.into(),
            category,
        }
    }

    /// The target for a listed item; `None` for ads and unknown product types. (Carousel
    /// children are never targets: they have no insights.)
    pub fn of(item: &MediaItem) -> Option<Self> {
        Some(Self::new(item.id.clone(), item.category()?))
    }
}

impl GraphClient {
    /// Lifetime insights of many media objects: one multi-ID request per ≤ 50 objects of the
    /// same category. Each id gets its values or its own error (e.g. posted before the
    /// business conversion, deleted, a story with fewer than 5 viewers); a request that
    /// fails as a whole because of one object is asked again as one batch request of
    /// per-object operations, so the others still get their numbers.
    ///
    /// Fails as a whole only for errors that concern every id (token, rate limit, transient
    /// failures that outlived the retries).
    #[tracing::instrument(skip_all)]
    pub async fn media_insights(
        &self,
        account: &AccountRef,
        targets: &[MediaTarget],
    ) -> Result<MediaInsights, GraphError> {
        let mut groups: BTreeMap<MediaCategory, Vec<String>> = BTreeMap::new();
        for t in targets {
            check_id(&t.id)?;
            let ids = groups.entry(t.category).or_default();
            if !ids.contains(&t.id) {
                ids.push(t.id.clone());
            }
        }
        let mut out = MediaInsights::default();
        for (category, ids) in groups {
            for chunk in ids.chunks(MAX_IDS_PER_REQUEST) {
                self.insights_group(account, category, None, chunk.to_vec(), &mut out)
                    .await?;
            }
        }
        Ok(out)
    }

    /// The breakdown rows of media insights (`profile_activity` by `action_type` for feed
    /// posts, carousels and stories; `navigation` by `story_navigation_action_type` for
    /// stories), read like [`media_insights`](Self::media_insights): one multi-ID request
    /// per ≤ 50 objects of a category and breakdown. Reels have none. Each id gets only
    /// breakdown rows (`InsightValue::breakdown` is set).
    #[tracing::instrument(skip_all)]
    pub async fn media_insight_breakdowns(
        &self,
        account: &AccountRef,
        targets: &[MediaTarget],
    ) -> Result<MediaInsights, GraphError> {
        let mut groups: BTreeMap<MediaCategory, Vec<String>> = BTreeMap::new();
        for t in targets {
            check_id(&t.id)?;
            let ids = groups.entry(t.category).or_default();
            if !ids.contains(&t.id) {
                ids.push(t.id.clone());
            }
        }
        let mut out = MediaInsights::default();
        for (category, ids) in groups {
            for breakdown in MEDIA_BREAKDOWNS.iter().filter(|b| b.0.contains(&category)) {
                let spec = Some((breakdown.1, breakdown.2));
                for chunk in ids.chunks(MAX_IDS_PER_REQUEST) {
                    let mut part = MediaInsights::default();
                    self.insights_group(account, category, spec, chunk.to_vec(), &mut part)
                        .await?;
                    for (id, result) in part.results {
                        let result = result.map(|values| {
                            values
                                .into_iter()
                                .filter(|v| v.breakdown.is_some())
                                .collect::<Vec<_>>()
                        });
                        match (out.results.get_mut(&id), result) {
                            (Some(Ok(existing)), Ok(mut rows)) => existing.append(&mut rows),
                            (Some(Err(_)), _) => {}
                            (_, result) => {
                                out.results.insert(id, result);
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    async fn insights_group(
        &self,
        account: &AccountRef,
        category: MediaCategory,
        breakdown: Option<(&'static str, &'static str)>,
        ids: Vec<String>,
        out: &mut MediaInsights,
    ) -> Result<(), GraphError> {
        let scope = CatalogScope::Media(category);
        let max_rounds = self.inner.cfg.retry.max_attempts;
        // (ids, transient rounds so far)
        let mut pending: Vec<(Vec<String>, u32)> = vec![(ids, 0)];
        while let Some((group, rounds)) = pending.pop() {
            let mut metrics = self.metrics(scope);
            if let Some((metric, _)) = breakdown {
                metrics.retain(|m| *m == metric);
                if metrics.is_empty() {
                    // The metric itself is no longer served: nothing to break down.
                    return Ok(());
                }
            }
            if metrics.is_empty() {
                return Err(GraphError::NoMetricsLeft {
                    scope: scope.to_string(),
                    version: self.version(),
                });
            }
            let mut fields = format!("insights.metric({})", metrics.join(","));
            if let Some((_, dimension)) = breakdown {
                fields.push_str(&format!(".breakdown({dimension})"));
            }
            let req = Request {
                units: group.len() as u64,
                ..Request::get("media_insights", "")
                    .for_account(account)
                    .param("ids", group.join(","))
                    .param("fields", fields)
            };
            match self.call(&req, parse::multi_id_insights).await {
                Ok(mut answer) => {
                    let mut again = Vec::new();
                    for id in group {
                        match answer.remove(&id) {
                            Some(Ok(values)) => {
                                out.results.insert(id, Ok(values));
                            }
                            None => {
                                out.results.insert(id, Err(ItemError::missing()));
                            }
                            Some(Err(api)) => {
                                self.inner
                                    .stats
                                    .error(&api.code.to_string(), Some(&account.ig_user_id));
                                match api.class() {
                                    ErrorClass::UnsupportedMetric
                                        if !self
                                            .drop_rejected(scope, &api, &metrics)
                                            .is_empty() =>
                                    {
                                        again.push(id);
                                    }
                                    ErrorClass::Transient if rounds + 1 < max_rounds => {
                                        again.push(id)
                                    }
                                    ErrorClass::RateLimited | ErrorClass::Auth => {
                                        return Err(self.api_error(
                                            Some(&account.ig_user_id),
                                            api,
                                            None,
                                        ));
                                    }
                                    _ => {
                                        out.results.insert(id, Err(ItemError::from_api(&api)));
                                    }
                                }
                            }
                        }
                    }
                    if !again.is_empty() {
                        pending.push((again, rounds + 1));
                    }
                }
                Err(GraphError::Api(api)) if api.class() == ErrorClass::UnsupportedMetric => {
                    if self.drop_rejected(scope, &api, &metrics).is_empty() {
                        if group.len() == 1 {
                            out.results
                                .insert(group[0].clone(), Err(ItemError::from_api(&api)));
                        } else {
                            self.insights_per_object(account, category, breakdown, group, out)
                                .await?;
                        }
                    } else {
                        pending.push((group, rounds));
                    }
                }
                Err(GraphError::Api(api))
                    if api.class() == ErrorClass::Permanent && blames_one_object(&api) =>
                {
                    if group.len() == 1 {
                        out.results
                            .insert(group[0].clone(), Err(ItemError::from_api(&api)));
                    } else {
                        // The whole multi-ID read failed because of (at least) one object
                        // and the answer does not say which: ask again with one operation
                        // per object in a batch request, whose answers are per operation.
                        self.insights_per_object(account, category, breakdown, group, out)
                            .await?;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Insights of each object of a group through batch requests of ≤ 50 operations
    /// (`{id}/insights?metric=…`): one request instead of one per object, and each object
    /// gets its own values or its own error. Meta's advice for multi-ID reads that fail as
    /// a whole (docs/graph-api-edges.md).
    async fn insights_per_object(
        &self,
        account: &AccountRef,
        category: MediaCategory,
        breakdown: Option<(&'static str, &'static str)>,
        group: Vec<String>,
        out: &mut MediaInsights,
    ) -> Result<(), GraphError> {
        let scope = CatalogScope::Media(category);
        let max_rounds = self.inner.cfg.retry.max_attempts;
        let mut queue: VecDeque<(String, u32)> = group.into_iter().map(|id| (id, 0)).collect();
        let mut round = 0;
        while !queue.is_empty() {
            let mut metrics = self.metrics(scope);
            if let Some((metric, _)) = breakdown {
                metrics.retain(|m| *m == metric);
                if metrics.is_empty() {
                    return Ok(());
                }
            }
            if metrics.is_empty() {
                return Err(GraphError::NoMetricsLeft {
                    scope: scope.to_string(),
                    version: self.version(),
                });
            }
            let take = queue.len().min(MAX_IDS_PER_REQUEST);
            let chunk: Vec<(String, u32)> = queue.drain(..take).collect();
            let suffix = breakdown
                .map(|(_, d)| format!("&breakdown={d}"))
                .unwrap_or_default();
            let ops: Vec<Value> = chunk
                .iter()
                .map(|(id, _)| {
                    json!({
                        "method": "GET",
                        "relative_url": format!("{id}/insights?metric={}{suffix}", metrics.join(",")),
                    })
                })
                .collect();
            let n = ops.len();
            let req = Request {
                method: Method::POST,
                kind: PathKind::Versioned,
                form: Some(vec![
                    ("batch", Value::Array(ops).to_string()),
                    ("include_headers", "false".to_owned()),
                ]),
                units: n as u64,
                ..Request::get("batch", "").for_account(account)
            };
            let items = self.call(&req, |b| parse::batch(b, n)).await?;
            let mut retry_later = false;
            for ((id, rounds), item) in chunk.into_iter().zip(items) {
                let api = match item {
                    Some((status, body)) if (200..300).contains(&status) => {
                        match parse::media_insights_single(body.as_bytes()) {
                            Ok(values) => {
                                out.results.insert(id, Ok(values));
                            }
                            Err(_) if rounds + 1 < max_rounds => {
                                retry_later = true;
                                queue.push_back((id, rounds + 1));
                            }
                            Err(_) => {
                                out.results.insert(id, Err(ItemError::missing()));
                            }
                        }
                        continue;
                    }
                    Some((status, body)) => parse::api_error(status, body.as_bytes()),
                    None => None,
                };
                let Some(mut api) = api else {
                    // Not completed or not an error object: a passing failure.
                    if rounds + 1 < max_rounds {
                        retry_later = true;
                        queue.push_back((id, rounds + 1));
                    } else {
                        out.results.insert(id, Err(ItemError::missing()));
                    }
                    continue;
                };
                api.message = crate::error::scrub(&api.message, account.token.expose());
                self.inner
                    .stats
                    .error(&api.code.to_string(), Some(&account.ig_user_id));
                match api.class() {
                    ErrorClass::UnsupportedMetric
                        if !self.drop_rejected(scope, &api, &metrics).is_empty() =>
                    {
                        queue.push_back((id, rounds));
                    }
                    ErrorClass::Transient if rounds + 1 < max_rounds => {
                        retry_later = true;
                        queue.push_back((id, rounds + 1));
                    }
                    ErrorClass::RateLimited | ErrorClass::Auth => {
                        return Err(self.api_error(Some(&account.ig_user_id), api, None));
                    }
                    _ => {
                        out.results.insert(id, Err(ItemError::from_api(&api)));
                    }
                }
            }
            if retry_later {
                round += 1;
                tokio::time::sleep(self.backoff(round)).await;
            }
        }
        Ok(())
    }

    /// Insights of one media object with one plain request (`GET /{media-id}/insights`).
    /// Prefer [`media_insights`](Self::media_insights); this exists for single objects and
    /// for comparison benchmarks.
    #[tracing::instrument(skip_all)]
    pub async fn media_insights_one(
        &self,
        account: &AccountRef,
        target: &MediaTarget,
    ) -> Result<Result<Vec<InsightValue>, ItemError>, GraphError> {
        check_id(&target.id)?;
        let scope = CatalogScope::Media(target.category);
        loop {
            let metrics = self.metrics(scope);
            if metrics.is_empty() {
                return Err(GraphError::NoMetricsLeft {
                    scope: scope.to_string(),
                    version: self.version(),
                });
            }
            let req = Request::get("media_insights", format!("{}/insights", target.id))
                .for_account(account)
                .param("metric", metrics.join(","));
            match self.call(&req, parse::media_insights_single).await {
                Ok(values) => return Ok(Ok(values)),
                Err(GraphError::Api(api)) if api.class() == ErrorClass::UnsupportedMetric => {
                    if self.drop_rejected(scope, &api, &metrics).is_empty() {
                        return Ok(Err(ItemError::from_api(&api)));
                    }
                }
                Err(GraphError::Api(api)) if api.class() == ErrorClass::Permanent => {
                    return Ok(Err(ItemError::from_api(&api)));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Whether a whole-request error can come from a single object of a multi-ID request
/// (invalid or missing object, pre-conversion media, a story with too few viewers), so that
/// splitting the request isolates it. Permission and other account-wide errors cannot.
fn blames_one_object(api: &crate::ApiError) -> bool {
    api.code == 100
        || (api.code == 10
            && api
                .message
                .to_ascii_lowercase()
                .contains("not enough viewers"))
}
