//! Media insights step: lifetime insights of the posts that are due under the tiered
//! refresh policy (or, asked for on its own, of given posts or the posts of given days), read with one multi-ID request per ≤ 50 posts of one media category, kept
//! as snapshots. Per-item errors are recorded on the item; an item that could not be read
//! for a passing reason makes the step incomplete (retried) after storing the rest.

use graph::{InsightValue, ItemError, MAX_IDS_PER_REQUEST, MediaInsights, MediaTarget};
use store::{InsightBatch, InsightSnapshot};

use crate::steps::{StepCtx, StepError, StepReport, category, item_error_is_permanent};
use crate::tiered::insights_due;

/// One stored snapshot row of an insight value.
pub(crate) fn snapshot_row(
    ig_media_id: &str,
    value: &InsightValue,
    captured_at: chrono::DateTime<chrono::Utc>,
) -> InsightSnapshot {
    InsightSnapshot {
        ig_media_id: ig_media_id.to_string(),
        metric: value.metric.clone(),
        breakdown: value
            .breakdown
            .as_ref()
            .map(|b| format!("{}:{}", b.dimension, b.key))
            .unwrap_or_default(),
        captured_at,
        value: value.value,
    }
}

/// Outcome of reading insights for a set of targets.
#[derive(Default)]
pub(crate) struct Collected {
    pub(crate) rows: Vec<InsightSnapshot>,
    pub(crate) errors: Vec<(String, String)>,
    pub(crate) ok: usize,
    pub(crate) permanent: usize,
    pub(crate) transient: Vec<String>,
}

impl Collected {
    pub(crate) fn add(&mut self, insights: MediaInsights, now: chrono::DateTime<chrono::Utc>) {
        for (id, result) in insights.results {
            match result {
                Ok(values) => {
                    self.ok += 1;
                    self.rows
                        .extend(values.iter().map(|v| snapshot_row(&id, v, now)));
                }
                Err(e) => {
                    if item_error_is_permanent(&e) {
                        self.permanent += 1;
                    } else {
                        self.transient.push(id.clone());
                    }
                    self.errors.push((id, describe(&e)));
                }
            }
        }
    }
}

pub(crate) fn describe(e: &ItemError) -> String {
    let kind = match e.kind {
        graph::ItemErrorKind::PostedBeforeBusinessConversion => {
            "posted before the business conversion"
        }
        graph::ItemErrorKind::NotFound => "not found",
        graph::ItemErrorKind::NotEnoughViewers => "not enough viewers",
        graph::ItemErrorKind::PermissionDenied => "permission denied",
        graph::ItemErrorKind::Missing => "missing from the answer",
        _ => "error",
    };
    format!("{kind}: {}", e.message)
}

/// Whether a stored post is read by this run: the given posts, the posts published in the
/// given days (in the account's time zone), or the posts due under the tiered policy.
/// `tz` is the account's time zone, known when the scope has days.
fn selected(ctx: &StepCtx<'_>, tz: Option<chrono_tz::Tz>, e: &store::MediaIndexEntry) -> bool {
    let scope = ctx.scope;
    if !scope.media.is_empty() {
        return scope.media.contains(&e.ig_media_id);
    }
    if let (Some(since), Some(tz)) = (scope.since, tz) {
        let day = e.published_at.with_timezone(&tz).date_naive();
        return day >= since && scope.until.is_none_or(|until| day <= until);
    }
    // Items whose last read failed for good are tried again on thorough syncs only.
    (e.insights_captured_at.is_some() || e.insights_error.is_none() || ctx.plan.is_thorough())
        && insights_due(e.published_at, e.insights_captured_at, ctx.now)
}

pub(crate) async fn run(ctx: &StepCtx<'_>) -> Result<StepReport, StepError> {
    let store = &ctx.deps.store;
    let index = store.media_index(ctx.account.id).await?;
    let tz = match ctx.scope.since {
        Some(_) => Some(ctx.account.time_zone()?),
        None => None,
    };
    let mut targets: Vec<MediaTarget> = index
        .iter()
        .filter(|e| !e.deleted)
        .filter(|e| selected(ctx, tz, e))
        .filter_map(|e| {
            let cat = category(e.product_type, e.media_type)?;
            (cat != graph::MediaCategory::Story)
                .then(|| MediaTarget::new(e.ig_media_id.clone(), cat))
        })
        .collect();
    // One multi-ID request per ≤ 50 items of one category.
    targets.sort_by(|a, b| a.category.cmp(&b.category).then(a.id.cmp(&b.id)));
    let due = targets.len();
    ctx.progress(0, due as u64).await;

    let mut collected = Collected::default();
    let mut failure: Option<graph::GraphError> = None;
    let mut done = 0usize;
    let mut start = 0;
    while start < targets.len() {
        let cat = targets[start].category;
        let mut end = start;
        while end < targets.len()
            && end - start < MAX_IDS_PER_REQUEST
            && targets[end].category == cat
        {
            end += 1;
        }
        match ctx
            .client
            .media_insights(&ctx.acct, &targets[start..end])
            .await
        {
            Ok(insights) => collected.add(insights, ctx.now),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
        done = end;
        ctx.progress(done as u64, due as u64).await;
        start = end;
    }

    let ok = collected.ok;
    let permanent = collected.permanent;
    let transient = collected.transient.len();
    let rows = if collected.rows.is_empty() && collected.errors.is_empty() {
        0
    } else {
        store
            .media_insights_apply(InsightBatch {
                account_id: ctx.account.id,
                captured_at: ctx.now,
                rows: collected.rows,
                errors: collected.errors,
            })
            .await?
    };
    let report = StepReport {
        rows_written: rows,
        expected: Some(due as i64),
        stored: Some(ok as i64),
        complete: Some(ok + permanent == due),
        detail: serde_json::json!({
            "due": due,
            "captured": ok,
            "item_errors_permanent": permanent,
            "item_errors_transient": transient,
            "read": done,
            "known_media": index.len(),
        }),
        skipped: false,
    };
    if let Some(e) = failure {
        return Err(StepError::Graph(e));
    }
    if transient > 0 {
        return Err(StepError::Incomplete {
            reason: format!("{transient} of {due} posts' insights could not be read this time"),
            report,
        });
    }
    Ok(report)
}
