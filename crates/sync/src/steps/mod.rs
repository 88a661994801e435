//! The steps of a sync chain. Each step reads from the Graph API, then writes everything it
//! read with ONE store `*_apply` call (one transaction, idempotent), and reports what it
//! wrote and how complete the stored data is compared with what the API said exists.
//!
//! Every Graph API request of a step goes through the job's [`Lanes`]: the account's
//! requests in flight never exceed `sync.account_concurrency`, however many steps of the
//! job read at the same time (the media stage, `jobs::orchestrator`).

mod account_insights;
mod demographics;
pub(crate) mod media;
pub(crate) mod media_insights;
mod profile;
mod stories;

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use graph::{AccountRef, GraphClient, GraphError};
use store::{Account, StoreError};

use crate::engine::Deps;
use crate::plan::{Plan, Scope, Step};
use ::queue::JobContext;

/// The Graph API requests one account's job may have in flight: a semaphore of
/// `sync.account_concurrency` permits, one held for each request (or each sequence of
/// requests a client read makes one after another).
pub(crate) struct Lanes(tokio::sync::Semaphore);

impl Lanes {
    pub(crate) fn new(cap: u32) -> Lanes {
        Lanes(tokio::sync::Semaphore::new(cap.max(1) as usize))
    }

    /// Runs `read` once a lane is free.
    pub(crate) async fn run<T>(&self, read: impl Future<Output = T>) -> T {
        // The semaphore is never closed; were it, the read would run without a lane.
        let _lane = self.0.acquire().await.ok();
        read.await
    }
}

/// What a step works with.
pub(crate) struct StepCtx<'a> {
    pub(crate) deps: &'a Deps,
    pub(crate) job: &'a JobContext,
    pub(crate) account: &'a Account,
    pub(crate) acct: AccountRef,
    pub(crate) client: &'a GraphClient,
    pub(crate) plan: Plan,
    /// What a step asked for on its own is narrowed to (empty: the step's usual choice).
    pub(crate) scope: &'a Scope,
    pub(crate) step: Step,
    /// Position of the step in the plan (from 0) and the plan's length.
    pub(crate) position: usize,
    pub(crate) steps_in_plan: usize,
    pub(crate) now: DateTime<Utc>,
    /// The account's lanes, shared by every step the job runs.
    pub(crate) lanes: &'a Lanes,
    /// Whether this step's progress is the job's (the lead step of a stage); the others
    /// running beside it keep quiet.
    pub(crate) reports_progress: bool,
    /// The media listing handed to media insights as it goes, when both run in one stage.
    pub(crate) link: Option<&'a media::Link>,
    /// The metric catalog's stored decisions, read once for the steps the job runs.
    pub(crate) catalog: &'a [store::CatalogDecisionRecord],
}

impl StepCtx<'_> {
    /// The provenance of what this step reads: the Graph API, at the client's version.
    pub(crate) fn origin(&self) -> store::Origin {
        store::Origin::poll(self.client.version().to_string())
    }

    /// Runs one Graph API read in one of the account's lanes.
    pub(crate) async fn read<T>(&self, read: impl Future<Output = T>) -> T {
        self.lanes.run(read).await
    }

    /// Records "step k of n, `done` of `total` items" on the job.
    pub(crate) async fn progress(&self, done: u64, total: u64) {
        if !self.reports_progress {
            return;
        }
        self.job
            .set_progress(progress_json(
                self.step,
                self.position,
                self.steps_in_plan,
                done,
                total,
            ))
            .await;
    }
}

/// A step's progress as recorded on its job (shown by `sync --wait`, the API's job JSON
/// and the queue monitor): which step of how many, and how many of its items are done.
pub(crate) fn progress_json(
    step: Step,
    position: usize,
    steps_in_plan: usize,
    items_done: u64,
    items_total: u64,
) -> serde_json::Value {
    serde_json::json!({
        "step": step.name(),
        "step_number": position + 1,
        "steps_in_plan": steps_in_plan,
        "items_done": items_done,
        "items_total": items_total,
        "items": step.items(),
    })
}

/// The run of a sync's job: the job carries it from the moment the run is opened; a
/// `sync_account` job of an earlier version named it only in its result.
pub(crate) fn run_of(job: &store::Job) -> Option<store::RunId> {
    job.run_id.or_else(|| {
        job.result.as_ref()?["run_id"]
            .as_i64()
            .map(store::RunId::new)
    })
}

/// The step a sync's job is at: a step job's own, or the one a `sync_account` job's
/// progress names ([`progress_json`]).
pub(crate) fn step_of(job: &store::Job) -> Option<Step> {
    Step::from_kind(&job.kind).or_else(|| Step::from_name(job.progress.as_ref()?["step"].as_str()?))
}

/// What a step did.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct StepReport {
    pub(crate) rows_written: u64,
    /// What the API said exists and what is stored after the step.
    pub(crate) expected: Option<i64>,
    pub(crate) stored: Option<i64>,
    pub(crate) complete: Option<bool>,
    pub(crate) detail: serde_json::Value,
    /// Nothing needed doing (e.g. today's demographics already stored).
    pub(crate) skipped: bool,
}

/// Why a step did not succeed.
#[derive(Debug)]
pub(crate) enum StepError {
    Graph(GraphError),
    Store(StoreError),
    /// Some data could not be read this time (what was read is stored); try again.
    Incomplete {
        report: StepReport,
        reason: String,
    },
}

impl From<GraphError> for StepError {
    fn from(e: GraphError) -> Self {
        StepError::Graph(e)
    }
}

impl From<StoreError> for StepError {
    fn from(e: StoreError) -> Self {
        StepError::Store(e)
    }
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepError::Graph(e) => write!(f, "Graph API: {e}"),
            StepError::Store(e) => write!(f, "{e}"),
            StepError::Incomplete { reason, .. } => write!(f, "incomplete: {reason}"),
        }
    }
}

/// How long a worker keeps the metric catalog's stored decisions before it reads them again.
/// What its own jobs learn is in its Graph clients at once; another process's decisions reach
/// it within this time, and until then a step that asks for a refused metric learns the
/// refusal itself, as the first process did.
const CATALOG_REFRESH: chrono::Duration = chrono::Duration::minutes(1);

/// The metric catalog's stored decisions as a worker last read them (see [`CATALOG_REFRESH`]).
/// The jobs a worker starts together wait for one read.
#[derive(Default)]
pub(crate) struct CatalogCache(tokio::sync::Mutex<Option<CatalogRead>>);

/// The stored decisions, and when they were read.
type CatalogRead = (DateTime<Utc>, Arc<Vec<store::CatalogDecisionRecord>>);

impl CatalogCache {
    /// The stored decisions, read again when the last read is older than
    /// [`CATALOG_REFRESH`] at `now` (or after it: a clock set back reads again).
    pub(crate) async fn get(
        &self,
        store: &dyn store::Store,
        now: DateTime<Utc>,
    ) -> store::Result<Arc<Vec<store::CatalogDecisionRecord>>> {
        let mut read = self.0.lock().await;
        if let Some((at, list)) = read.as_ref()
            && *at <= now
            && now - *at < CATALOG_REFRESH
        {
            return Ok(list.clone());
        }
        let list = Arc::new(store.catalog_decisions_list().await?);
        *read = Some((now, list.clone()));
        Ok(list)
    }
}

/// Runs a step with the metric catalog other runs and processes learnt: the stored
/// decisions (as the worker last read them, [`CatalogCache`]) are adopted before, and what the step learnt (a metric Meta refused) is stored
/// after, whatever the step's outcome.
pub(crate) async fn run(ctx: &StepCtx<'_>) -> Result<StepReport, StepError> {
    let client = ctx.client;
    let login = client.login().as_str();
    let known: Vec<graph::CatalogDecision> = ctx
        .catalog
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
    client.catalog_restore(&known);
    let outcome = match ctx.step {
        Step::Profile => profile::run(ctx).await,
        Step::Media => media::run(ctx).await,
        Step::MediaInsights => media_insights::run(ctx).await,
        Step::Stories => stories::run(ctx).await,
        Step::Demographics => demographics::run(ctx).await,
        Step::AccountInsights => account_insights::run(ctx).await,
    };
    let learnt: Vec<store::CatalogDecisionRecord> = client
        .catalog_decisions()
        .into_iter()
        .filter(|d| {
            !known
                .iter()
                .any(|k| k.version == d.version && k.scope == d.scope && k.metric == d.metric)
        })
        .map(|d| store::CatalogDecisionRecord {
            api_version: d.version.to_string(),
            login: login.to_owned(),
            scope: d.scope.to_string(),
            metric: d.metric,
            reason: d.reason,
            decided_at: d.decided_at,
        })
        .collect();
    if !learnt.is_empty() {
        ctx.deps.store.catalog_decisions_record(learnt).await?;
    }
    outcome
}

/// Converts a count from the API into the store's integer type.
pub(crate) fn count(v: Option<u64>) -> Option<i64> {
    v.and_then(|n| i64::try_from(n).ok())
}

/// The store's media type of a Graph media type (`None` for kinds the store does not know).
pub(crate) fn media_type(t: &graph::MediaType) -> Option<store::MediaType> {
    match t {
        graph::MediaType::Image => Some(store::MediaType::Image),
        graph::MediaType::Video => Some(store::MediaType::Video),
        graph::MediaType::CarouselAlbum => Some(store::MediaType::CarouselAlbum),
        _ => None,
    }
}

/// The store's product type of a Graph product type.
pub(crate) fn product_type(t: &graph::MediaProductType) -> Option<store::ProductType> {
    match t {
        graph::MediaProductType::Feed => Some(store::ProductType::Feed),
        graph::MediaProductType::Reels => Some(store::ProductType::Reels),
        graph::MediaProductType::Story => Some(store::ProductType::Story),
        graph::MediaProductType::Ad => Some(store::ProductType::Ad),
        _ => None,
    }
}

/// The metric-catalog category of a stored media item (`None`: no organic insights).
pub(crate) fn category(
    product: store::ProductType,
    media: store::MediaType,
) -> Option<graph::MediaCategory> {
    match (product, media) {
        (store::ProductType::Reels, _) => Some(graph::MediaCategory::Reels),
        (store::ProductType::Story, _) => Some(graph::MediaCategory::Story),
        (store::ProductType::Feed, store::MediaType::CarouselAlbum) => {
            Some(graph::MediaCategory::CarouselAlbum)
        }
        (store::ProductType::Feed, _) => Some(graph::MediaCategory::Feed),
        (store::ProductType::Ad, _) => None,
    }
}

/// Whether a per-item error is the item's lasting state (retrying cannot help): posted
/// before the business conversion, deleted, too few viewers, no permission, an album child,
/// an expired story.
pub(crate) fn item_error_is_permanent(e: &graph::ItemError) -> bool {
    matches!(
        e.kind,
        graph::ItemErrorKind::PostedBeforeBusinessConversion
            | graph::ItemErrorKind::NotFound
            | graph::ItemErrorKind::NotEnoughViewers
            | graph::ItemErrorKind::PermissionDenied
            | graph::ItemErrorKind::AlbumChild
            | graph::ItemErrorKind::StoryExpired
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker reads the stored decisions again once its copy is a minute old (or when its
    /// clock went back), and keeps its copy within the minute.
    #[tokio::test]
    async fn the_catalog_is_read_again_after_a_minute() {
        let db = testsupport::TestDb::new(testsupport::Dialect::Sqlite, "catalog-cache").await;
        let store = db.open().await;
        let t0 = Utc::now();
        let decision = |metric: &str| store::CatalogDecisionRecord {
            api_version: "v25.0".into(),
            login: "facebook".into(),
            scope: "media/REELS".into(),
            metric: metric.into(),
            reason: "refused".into(),
            decided_at: t0,
        };
        let metrics = |list: &[store::CatalogDecisionRecord]| -> Vec<String> {
            list.iter().map(|d| d.metric.clone()).collect()
        };
        let cache = CatalogCache::default();
        assert!(cache.get(store.as_ref(), t0).await.unwrap().is_empty());
        store
            .catalog_decisions_record(vec![decision("plays")])
            .await
            .unwrap();
        let within = t0 + chrono::Duration::seconds(59);
        assert!(cache.get(store.as_ref(), within).await.unwrap().is_empty());
        let later = t0 + CATALOG_REFRESH;
        assert_eq!(
            metrics(&cache.get(store.as_ref(), later).await.unwrap()),
            ["plays"]
        );
        store
            .catalog_decisions_record(vec![decision("impressions")])
            .await
            .unwrap();
        let mut read = metrics(&cache.get(store.as_ref(), t0).await.unwrap());
        read.sort();
        assert_eq!(
            read,
            ["impressions", "plays"],
            "a clock set back reads again"
        );
    }
}
