//! Media insights step: lifetime insights of the posts that are due under the tiered
//! refresh policy (or, asked for on its own, of given posts or the posts of given days), read with one multi-ID request per ≤ 50 posts of one media category, kept
//! as snapshots. Per-item errors are recorded on the item; an item that could not be read
//! for a passing reason makes the step incomplete (retried) after storing the rest.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use futures_util::stream::{FuturesUnordered, StreamExt};

use graph::{
    GraphError, InsightValue, ItemError, MAX_IDS_PER_REQUEST, MediaCategory, MediaInsights,
    MediaTarget,
};
use store::{
    InsightBatch, InsightSnapshot, MissingBatch, MissingKey, MissingKind, MissingReason,
    MissingValue,
};

use crate::steps::{
    StepCtx, StepError, StepReport, category, item_error_is_permanent, media, media_type,
    product_type,
};
use crate::tiered::insights_due;

/// Newest first within each category, categories in their order.
fn newest_first(targets: &mut [(MediaTarget, DateTime<Utc>)]) {
    targets.sort_by(|(a, at), (b, bt)| {
        a.category
            .cmp(&b.category)
            .then(bt.cmp(at))
            .then(a.id.cmp(&b.id))
    });
}

/// A listed post not stored yet, as the index will have it once the media step wrote it.
fn listed_entry(item: &graph::MediaItem) -> Option<store::MediaIndexEntry> {
    Some(store::MediaIndexEntry {
        ig_media_id: item.id.clone(),
        media_type: media_type(&item.media_type)?,
        product_type: product_type(&item.media_product_type)?,
        published_at: item.timestamp,
        deleted: false,
        insights_captured_at: None,
        insights_error: None,
    })
}

/// Waits for the media step of the stage to have written the listing.
async fn link_written(ctx: &StepCtx<'_>) -> Option<Vec<String>> {
    match ctx.link {
        Some(link) => link.written().await,
        None => Some(Vec::new()),
    }
}

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

/// One multi-ID read of ≤ 50 posts of one category, in flight.
type Read<'c> = Pin<
    Box<dyn Future<Output = (Vec<MediaTarget>, Result<MediaInsights, GraphError>)> + Send + 'c>,
>;

/// The reads of a run: targets come in (newest first within a category) and fill one group
/// per category; a full group is read as soon as fewer reads than the account's lanes are in
/// flight, the rest when the targets end. So the reads are those of the sequential grouping
/// (one per ≤ 50 posts of a category), however many run at once.
struct Reads<'c> {
    ctx: &'c StepCtx<'c>,
    /// Reads in flight at most (`sync.account_concurrency`).
    cap: usize,
    published: BTreeMap<String, DateTime<Utc>>,
    filling: BTreeMap<MediaCategory, Vec<MediaTarget>>,
    ready: VecDeque<Vec<MediaTarget>>,
    in_flight: FuturesUnordered<Read<'c>>,
    collected: Collected,
    failure: Option<GraphError>,
    /// The newest post refused as posted before the business conversion: every older post
    /// was posted before the conversion too ("posted before the most recent time that the
    /// user's account was converted"), so it is recorded without being asked about.
    converted_after: Option<(DateTime<Utc>, ItemError)>,
    due: usize,
    done: usize,
}

impl<'c> Reads<'c> {
    fn new(ctx: &'c StepCtx<'c>) -> Reads<'c> {
        Reads {
            ctx,
            cap: ctx.deps.settings.account_concurrency.max(1) as usize,
            published: BTreeMap::new(),
            filling: BTreeMap::new(),
            ready: VecDeque::new(),
            in_flight: FuturesUnordered::new(),
            collected: Collected::default(),
            failure: None,
            converted_after: None,
            due: 0,
            done: 0,
        }
    }

    /// A post whose insights are due.
    fn push(&mut self, target: MediaTarget, published_at: DateTime<Utc>) {
        if self.published.contains_key(&target.id) {
            return;
        }
        self.due += 1;
        self.published.insert(target.id.clone(), published_at);
        let category = target.category;
        let group = self.filling.entry(category).or_default();
        group.push(target);
        if group.len() >= MAX_IDS_PER_REQUEST
            && let Some(group) = self.filling.remove(&category)
        {
            self.ready.push_back(group);
            self.pump();
        }
    }

    /// Every group still filling is ready: no more targets come.
    fn close(&mut self) {
        let filling = std::mem::take(&mut self.filling);
        self.ready.extend(filling.into_values());
        self.pump();
    }

    /// Starts ready reads while fewer than `cap` are in flight (none after a failure).
    fn pump(&mut self) {
        while self.failure.is_none() && self.in_flight.len() < self.cap {
            let Some(targets) = self.ready.pop_front() else {
                return;
            };
            let mut group = Vec::with_capacity(targets.len());
            for target in targets {
                let at = self.published.get(&target.id).copied();
                match (&self.converted_after, at) {
                    (Some((refused_at, e)), Some(at)) if at < *refused_at => {
                        self.done += 1;
                        self.collected.add_as(
                            MediaInsights {
                                results: [(target.id.clone(), Err(e.clone()))].into(),
                            },
                            MissingKind::MediaInsights,
                            self.ctx.now,
                        );
                    }
                    _ => group.push(target),
                }
            }
            if group.is_empty() {
                continue;
            }
            let ctx = self.ctx;
            self.in_flight.push(Box::pin(async move {
                let read = ctx.read(ctx.client.media_insights(&ctx.acct, &group)).await;
                (group, read)
            }));
        }
    }

    /// Takes in one finished read and starts the next.
    async fn absorb(&mut self, group: Vec<MediaTarget>, read: Result<MediaInsights, GraphError>) {
        match read {
            Ok(insights) => {
                for (id, result) in &insights.results {
                    if let Err(e) = result
                        && e.kind == graph::ItemErrorKind::PostedBeforeBusinessConversion
                        && let Some(at) = self.published.get(id.as_str())
                        && self.converted_after.as_ref().is_none_or(|(t, _)| at > t)
                    {
                        self.converted_after = Some((*at, e.clone()));
                    }
                }
                self.collected
                    .add_as(insights, MissingKind::MediaInsights, self.ctx.now);
                self.done += group.len();
            }
            // The first failure stops the reading (the reads in flight still finish).
            Err(e) => {
                if self.failure.is_none() {
                    self.failure = Some(e);
                }
            }
        }
        self.pump();
        self.ctx.progress(self.done as u64, self.due as u64).await;
    }

    /// The next finished read, if any is in flight.
    async fn next(&mut self) -> Option<(Vec<MediaTarget>, Result<MediaInsights, GraphError>)> {
        self.in_flight.next().await
    }

    /// Reads every group left and waits for them.
    async fn finish(&mut self) {
        self.close();
        while let Some((group, read)) = self.next().await {
            self.absorb(group, read).await;
        }
    }
}

pub(crate) async fn run(ctx: &StepCtx<'_>) -> Result<StepReport, StepError> {
    let store = &ctx.deps.store;
    let mut index = media::stored_index(ctx).await?.into_owned();
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
    let target_of = |e: &store::MediaIndexEntry| {
        let cat = category(e.product_type, e.media_type)?;
        (cat != graph::MediaCategory::Story && !e.deleted && selected(ctx, tz, &held, e))
            .then(|| (MediaTarget::new(e.ig_media_id.clone(), cat), e.published_at))
    };
    let mut reads = Reads::new(ctx);
    ctx.progress(0, 0).await;

    match ctx.link.and_then(media::Link::receiver) {
        // Beside the media step: each listed post is a target as soon as it is listed, so
        // the reads go on while the listing does; the stored posts it did not list are
        // taken once it ends, when the step has written the listing (and deletions).
        Some(mut listed) => {
            let stored: BTreeMap<String, store::MediaIndexEntry> = index
                .iter()
                .map(|e| (e.ig_media_id.clone(), e.clone()))
                .collect();
            // What the listing makes of the index once written: its posts are stored and not
            // deleted, the new ones added.
            let mut listed_ids: HashSet<String> = HashSet::new();
            let mut listed_new: Vec<store::MediaIndexEntry> = Vec::new();
            let mut open = true;
            while open || !reads.in_flight.is_empty() {
                tokio::select! {
                    item = listed.recv(), if open => match item {
                        Some(item) => {
                            let entry = match stored.get(&item.id) {
                                Some(e) => Some(store::MediaIndexEntry {
                                    deleted: false,
                                    ..e.clone()
                                }),
                                None => listed_entry(&item),
                            };
                            if let Some((target, at)) = entry.as_ref().and_then(target_of) {
                                reads.push(target, at);
                            }
                            if let Some(entry) = entry
                                && listed_ids.insert(item.id)
                                && !stored.contains_key(&entry.ig_media_id)
                            {
                                listed_new.push(entry);
                            }
                        }
                        None => open = false,
                    },
                    Some((group, read)) = reads.next(), if !reads.in_flight.is_empty() => {
                        reads.absorb(group, read).await;
                    }
                }
            }
            let Some(deleted) = link_written(ctx).await else {
                reads.finish().await;
                return Err(StepError::Incomplete {
                    report: StepReport::default(),
                    reason: "the media listing was not stored, so neither are its posts' \
                             insights"
                        .into(),
                });
            };
            // The listing is written: the index as it now stands, with the stored posts it
            // marked deleted (as the store would read it again).
            let deleted: HashSet<String> = deleted.into_iter().collect();
            for e in &mut index {
                if listed_ids.contains(&e.ig_media_id) {
                    e.deleted = false;
                } else if deleted.contains(&e.ig_media_id) {
                    e.deleted = true;
                }
            }
            index.extend(listed_new);
            let mut rest: Vec<(MediaTarget, DateTime<Utc>)> =
                index.iter().filter_map(target_of).collect();
            newest_first(&mut rest);
            for (target, at) in rest {
                reads.push(target, at);
            }
        }
        None => {
            let mut targets: Vec<(MediaTarget, DateTime<Utc>)> =
                index.iter().filter_map(target_of).collect();
            newest_first(&mut targets);
            for (target, at) in targets {
                reads.push(target, at);
            }
        }
    }
    reads.finish().await;
    let Reads {
        mut collected,
        failure,
        due,
        done,
        ..
    } = reads;

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
