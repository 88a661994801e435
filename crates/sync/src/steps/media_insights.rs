//! Media insights step: lifetime insights of the posts that are due under the tiered
//! refresh policy (or, asked for on its own, of given posts or the posts of given days), read with one multi-ID request per ≤ 50 posts of one media category, kept
//! as snapshots. Per-item errors are recorded on the item; an item that could not be read
//! for a passing reason makes the step incomplete (retried) after storing the rest.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use graph::{InsightValue, ItemError, MAX_IDS_PER_REQUEST, MediaInsights, MediaTarget};
use store::{
    InsightBatch, InsightSnapshot, MissingBatch, MissingKey, MissingKind, MissingReason,
    MissingValue,
};

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
            .map(|b| store::Breakdown::new(&b.dimension, &b.key)),
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
    /// Items without values, with the reason (an empty answer is "no data yet").
    pub(crate) missing: Vec<MissingValue>,
    /// Items that have values now.
    pub(crate) present: Vec<MissingKey>,
}

impl Collected {
    /// Adds the insights of stories.
    pub(crate) fn add(&mut self, insights: MediaInsights, now: chrono::DateTime<chrono::Utc>) {
        self.add_as(insights, MissingKind::StoryInsights, now);
    }

    /// Adds insights of objects of one kind, noting which are missing and why.
    pub(crate) fn add_as(
        &mut self,
        insights: MediaInsights,
        kind: MissingKind,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        for (id, result) in insights.results {
            let key = MissingKey::object(kind, id.clone());
            match result {
                Ok(values) if values.is_empty() => {
                    // `{"data": []}`: Meta has no numbers for it yet; never a 0.
                    self.ok += 1;
                    self.missing
                        .push(MissingValue::seen(key, MissingReason::NoDataYet, now));
                }
                Ok(values) => {
                    self.ok += 1;
                    self.present.push(key);
                    self.rows
                        .extend(values.iter().map(|v| snapshot_row(&id, v, now)));
                }
                Err(e) => {
                    if item_error_is_permanent(&e) {
                        self.permanent += 1;
                    } else {
                        self.transient.push(id.clone());
                    }
                    if let Some(reason) = crate::missing::reason_of_item(&e) {
                        self.missing
                            .push(MissingValue::seen(key, reason, now).with_detail(&e.message));
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
        graph::ItemErrorKind::AlbumChild => "part of an album",
        graph::ItemErrorKind::StoryExpired => "story expired",
        _ => "error",
    };
    format!("{kind}: {}", e.message)
}

/// Whether a stored post is read by this run: the given posts, the posts published in the
/// given days (in the account's time zone), or the posts due under the tiered policy.
/// `tz` is the account's time zone, known when the scope has days.
fn selected(
    ctx: &StepCtx<'_>,
    tz: Option<chrono_tz::Tz>,
    held: &BTreeMap<String, &MissingValue>,
    e: &store::MediaIndexEntry,
) -> bool {
    let scope = ctx.scope;
    if !scope.media.is_empty() {
        return scope.media.contains(&e.ig_media_id);
    }
    // A refusal that holds (never for a post published before the conversion, a day for
    // too few viewers, an hour for a post without numbers yet) is not asked again sooner.
    if held
        .get(&e.ig_media_id)
        .is_some_and(|m| m.holds_at(ctx.now))
    {
        return false;
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
    let known_missing = store
        .missing_list(ctx.account.id, &[MissingKind::MediaInsights])
        .await?;
    let held: BTreeMap<String, &MissingValue> = known_missing
        .iter()
        .map(|m| (m.key.object_id.clone(), m))
        .collect();
    let mut targets: Vec<(MediaTarget, DateTime<Utc>)> = index
        .iter()
        .filter(|e| !e.deleted)
        .filter(|e| selected(ctx, tz, &held, e))
        .filter_map(|e| {
            let cat = category(e.product_type, e.media_type)?;
            (cat != graph::MediaCategory::Story)
                .then(|| (MediaTarget::new(e.ig_media_id.clone(), cat), e.published_at))
        })
        .collect();
    // One multi-ID request per ≤ 50 items of one category, newest first.
    targets.sort_by(|(a, at), (b, bt)| {
        a.category
            .cmp(&b.category)
            .then(bt.cmp(at))
            .then(a.id.cmp(&b.id))
    });
    let published: BTreeMap<&str, DateTime<Utc>> =
        targets.iter().map(|(t, at)| (t.id.as_str(), *at)).collect();
    let due = targets.len();
    ctx.progress(0, due as u64).await;

    let mut collected = Collected::default();
    let mut failure: Option<graph::GraphError> = None;
    // The newest post refused as posted before the business conversion: every older post
    // was posted before the conversion too ("posted before the most recent time that the
    // user's account was converted"), so it is recorded without being asked about.
    let mut converted_after: Option<(DateTime<Utc>, ItemError)> = None;
    let mut done = 0usize;
    let mut start = 0;
    while start < targets.len() {
        let cat = targets[start].0.category;
        let mut group = Vec::new();
        let mut end = start;
        while end < targets.len()
            && group.len() < MAX_IDS_PER_REQUEST
            && targets[end].0.category == cat
        {
            let (target, at) = &targets[end];
            match &converted_after {
                Some((refused_at, e)) if at < refused_at => {
                    collected.add_as(
                        MediaInsights {
                            results: [(target.id.clone(), Err(e.clone()))].into(),
                        },
                        MissingKind::MediaInsights,
                        ctx.now,
                    );
                }
                _ => group.push(target.clone()),
            }
            end += 1;
        }
        if !group.is_empty() {
            match ctx.client.media_insights(&ctx.acct, &group).await {
                Ok(insights) => {
                    for (id, result) in &insights.results {
                        if let Err(e) = result
                            && e.kind == graph::ItemErrorKind::PostedBeforeBusinessConversion
                            && let Some(at) = published.get(id.as_str())
                            && converted_after.as_ref().is_none_or(|(t, _)| at > t)
                        {
                            converted_after = Some((*at, e.clone()));
                        }
                    }
                    collected.add_as(insights, MissingKind::MediaInsights, ctx.now);
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        done = end;
        ctx.progress(done as u64, due as u64).await;
        start = end;
    }

    // Posts deleted since they were listed have no insights any more, for good.
    for e in index.iter().filter(|e| e.deleted) {
        if held
            .get(&e.ig_media_id)
            .is_none_or(|m| m.reason != MissingReason::Deleted)
        {
            collected.missing.push(MissingValue::seen(
                MissingKey::object(MissingKind::MediaInsights, e.ig_media_id.clone()),
                MissingReason::Deleted,
                ctx.now,
            ));
        }
    }
    let present: Vec<MissingKey> = std::mem::take(&mut collected.present)
        .into_iter()
        .filter(|k| held.contains_key(&k.object_id))
        .collect();
    let missing_rows = if collected.missing.is_empty() && present.is_empty() {
        0
    } else {
        store
            .missing_apply(MissingBatch {
                account_id: ctx.account.id,
                missing: std::mem::take(&mut collected.missing),
                present,
            })
            .await?
    };
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
                origin: ctx.origin(),
            })
            .await?
    };
    let report = StepReport {
        rows_written: rows + missing_rows,
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
