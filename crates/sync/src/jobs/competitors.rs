//! Competitors: a daily `competitors_due` tick (its cron configurable) enqueues one
//! `competitor_snapshot` job per tracked competitor, unique per competitor; the job reads
//! the competitor through Business Discovery with its via account's token and appends the
//! counters and posts as a snapshot, or records the failure with its reason. A stored
//! snapshot is checked for posts far above the competitor's median engagement (an alert
//! each, once per post).
//!
//! Pacing: a snapshot job names its via account, so the queue never runs it beside that
//! account's own sync steps (one running job per account); before reading, it snoozes while
//! the via account's own sync is under way (a sync job of the account pending or running:
//! the competitors' reads come after it, not between its steps), and while
//! the via account's last seen usage is at or above `CompetitorSettings::usage_ceiling_percent`
//! (below the throttle's slow-down point), so competitors' reads leave the budget to the
//! account's own syncs; the client's throttle spaces and pauses the calls themselves.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use graph::DiscoveryError;
use store::{
    Account, CompetitorCapture, CompetitorFailure, CompetitorId, CompetitorMediaSnapshot,
    CompetitorSnapshot, NewCompetitor, NewJob,
};

use crate::args::CompetitorSnapshotArgs;
use crate::engine::{Deps, Engine};
use crate::error::{Result, SyncError};
use crate::jobs::{PRIORITY_MAINTENANCE, client_for, token_for};
use crate::plan::MAINTENANCE_QUEUE;
use ::queue::{InsertOutcome, JobContext, JobHandler, JobOutcome};

/// The kind of the daily tick that enqueues the competitors' snapshots.
pub const KIND_COMPETITORS_DUE: &str = "competitors_due";
/// The kind of one competitor's snapshot.
pub const KIND_COMPETITOR_SNAPSHOT: &str = "competitor_snapshot";
/// The tick's schedule name.
pub const SCHEDULE_COMPETITORS: &str = "competitors";
/// Daily at 06:20 UTC.
pub const DEFAULT_COMPETITORS_CRON: &str = "0 20 6 * * *";

/// How competitors are read.
#[derive(Debug, Clone, PartialEq)]
pub struct CompetitorSettings {
    /// When snapshots are taken (sec min hour day month weekday, UTC).
    pub cron: String,
    /// A snapshot waits while its via account's usage is at or above this percentage.
    pub usage_ceiling_percent: u32,
    /// Newest posts read per competitor and snapshot.
    pub media_per_read: usize,
    /// How long a snapshot waits before looking at the usage again.
    pub wait: std::time::Duration,
}

impl Default for CompetitorSettings {
    fn default() -> Self {
        CompetitorSettings {
            cron: DEFAULT_COMPETITORS_CRON.to_string(),
            usage_ceiling_percent: 50,
            media_per_read: 50,
            wait: std::time::Duration::from_secs(10 * 60),
        }
    }
}

/// The daily tick's schedule.
pub(crate) fn schedule(settings: &CompetitorSettings) -> store::ScheduleDef {
    store::ScheduleDef {
        name: SCHEDULE_COMPETITORS.to_string(),
        cron: settings.cron.trim().to_string(),
        queue: MAINTENANCE_QUEUE.to_string(),
        kind: KIND_COMPETITORS_DUE.to_string(),
        args: serde_json::json!({}),
    }
}

/// Normalizes a username as stored: trimmed, without `@`, lower-case.
pub fn normalize_username(raw: &str) -> std::result::Result<String, String> {
    let t = raw.trim();
    let u = t.strip_prefix('@').unwrap_or(t).to_ascii_lowercase();
    if graph::valid_username(&u) {
        Ok(u)
    } else {
        Err(format!(
            "{raw:?} is not an Instagram username (1 to 30 letters, digits, periods or underscores)"
        ))
    }
}

/// Enqueues one snapshot per competitor (merged with one already waiting). Returns how
/// many were inserted.
pub(crate) async fn enqueue_all(deps: &Deps, now: DateTime<Utc>) -> Result<usize> {
    let mut inserted = 0;
    for c in deps.store.competitor_list().await? {
        let args = CompetitorSnapshotArgs {
            competitor_id: c.id,
        };
        let job = NewJob {
            queue: MAINTENANCE_QUEUE.to_string(),
            account_id: Some(c.via_account_id),
            unique_key: Some(format!("competitor:{}", c.id)),
            max_attempts: deps.settings.max_attempts as i32,
            priority: PRIORITY_MAINTENANCE,
            ..NewJob::typed(&args, now)?
        };
        if let InsertOutcome::Inserted(_) = deps.store.job_insert(job).await? {
            inserted += 1;
        }
    }
    if inserted > 0 {
        deps.wake.notify_one();
    }
    Ok(inserted)
}

/// Why a via account cannot read competitors, before any request.
fn via_refusal(account: &Account) -> Option<DiscoveryError> {
    (crate::accounts::graph_login(account.login) == graph::LoginKind::Instagram)
        .then_some(DiscoveryError::InstagramLogin)
}

/// Takes one snapshot.
async fn snapshot(deps: &Deps, id: CompetitorId, now: DateTime<Utc>) -> JobOutcome {
    let competitor = match deps.store.competitor_list().await {
        Ok(list) => list.into_iter().find(|c| c.id == id),
        Err(e) => return JobOutcome::retry(e.to_string()),
    };
    let Some(c) = competitor else {
        return JobOutcome::discard(format!("competitor {id} is no longer tracked"));
    };
    let fail = |reason: &str, message: String| CompetitorFailure {
        competitor_id: c.id,
        at: now,
        reason: reason.to_string(),
        message,
    };
    let via = match deps.store.account_get(c.via_account_id).await {
        Ok(Some(a)) => a,
        Ok(None) => {
            let f = fail(
                "via_account_missing",
                "the via account no longer exists".into(),
            );
            return record_failure(deps, f, false).await;
        }
        Err(e) => return JobOutcome::retry(e.to_string()),
    };
    if let Some(refusal) = via_refusal(&via) {
        return record_failure(deps, fail(refusal.reason(), refusal.to_string()), false).await;
    }
    let client = match client_for(deps, &via) {
        Ok(c) => c,
        Err(e) => return record_failure(deps, fail("no_client", e), false).await,
    };
    let token = match token_for(deps, &via) {
        Ok(t) => t,
        Err(e) => return record_failure(deps, fail("token_missing", e), false).await,
    };
    // Leave the budget to the account's own syncs: wait for one under way to end.
    let wait = Duration::from_std(deps.settings.competitors.wait).unwrap_or(Duration::minutes(10));
    match own_sync_under_way(deps, &via).await {
        Ok(false) => {}
        Ok(true) => {
            return JobOutcome::Snooze {
                until: now + wait,
                reason: format!("@{}'s own sync is under way: it goes first", via.username),
            };
        }
        Err(e) => return JobOutcome::retry(e.to_string()),
    }
    let usage = client.usage_of(&via.ig_user_id);
    let level = usage.accounts.get(&via.ig_user_id);
    // Meta's usage covers a rolling hour: a reading older than that says nothing about now
    // (measured on the client's clock, the one that stamped the reading).
    let read_at = client.config().clock().now();
    let busy = level.is_some_and(|u| {
        u.paused_for.is_some()
            || u.usage.as_ref().is_some_and(|l| {
                read_at - l.observed_at < Duration::hours(1)
                    && l.percent() >= deps.settings.competitors.usage_ceiling_percent
            })
    });
    if busy {
        return JobOutcome::Snooze {
            until: now + wait,
            reason: format!(
                "@{}'s Graph API usage is at or above {} %: its own syncs go first",
                via.username, deps.settings.competitors.usage_ceiling_percent
            ),
        };
    }
    let account = graph::AccountRef::new(via.ig_user_id.clone(), token);
    let media_limit = deps.settings.competitors.media_per_read.max(1);
    match client
        .business_discovery(&account, &c.username, media_limit)
        .await
    {
        Ok(p) => {
            let captured_at = deps.clock.now();
            let count = |v: Option<u64>| v.and_then(|n| i64::try_from(n).ok());
            let media: Vec<CompetitorMediaSnapshot> = p
                .media
                .iter()
                .map(|m| CompetitorMediaSnapshot {
                    competitor_id: c.id,
                    media_id: m.id.clone(),
                    captured_at,
                    posted_at: m.timestamp,
                    media_type: m.media_type.as_str().to_string(),
                    media_product_type: m
                        .media_product_type
                        .as_ref()
                        .map(|t| t.as_str().to_string()),
                    like_count: count(m.like_count),
                    comments_count: count(m.comments_count),
                    permalink: m.permalink.clone(),
                })
                .collect();
            let capture = CompetitorCapture {
                snapshot: CompetitorSnapshot {
                    competitor_id: c.id,
                    captured_at,
                    followers_count: count(p.followers_count),
                    follows_count: count(p.follows_count),
                    media_count: count(p.media_count),
                },
                ig_user_id: p.ig_user_id,
                name: p.name,
                media: media.clone(),
            };
            match deps.store.competitor_capture(capture).await {
                Ok(()) => {
                    crate::jobs::alerts::after_competitor_snapshot(deps, &c, &media, captured_at)
                        .await;
                    JobOutcome::Complete {
                        result: Some(serde_json::json!({
                            "competitor": c.username,
                            "posts": p.media.len(),
                            "requests": p.pages,
                        })),
                        next: Vec::new(),
                    }
                }
                Err(e) => JobOutcome::retry(e.to_string()),
            }
        }
        Err(e) => {
            let retry = e.is_retryable();
            record_failure(deps, fail(e.reason(), e.to_string()), retry).await
        }
    }
}

/// Whether the account's own sync is under way: the account is syncing, or a job of its
/// sync queue is pending or running (stories' final reads, queued for their stories' expiry,
/// aside).
async fn own_sync_under_way(deps: &Deps, via: &Account) -> store::Result<bool> {
    if via.status == store::SyncStatus::Syncing {
        return Ok(true);
    }
    let jobs = deps
        .store
        .job_list(store::JobQuery {
            states: vec![store::JobState::Pending, store::JobState::Running],
            queue: Some(crate::plan::SYNC_QUEUE.to_string()),
            account_id: Some(via.id),
            limit: 100,
            ..Default::default()
        })
        .await?;
    Ok(jobs
        .jobs
        .iter()
        .any(|j| j.kind != crate::plan::KIND_STORY_FINAL_READ))
}

/// Records the failure on the competitor; retries the job when the failure is temporary.
async fn record_failure(deps: &Deps, f: CompetitorFailure, retry: bool) -> JobOutcome {
    let message = format!("{}: {}", f.reason, f.message);
    if let Err(e) = deps.store.competitor_fail(f).await {
        return JobOutcome::retry(e.to_string());
    }
    if retry {
        JobOutcome::retry(message)
    } else {
        JobOutcome::Complete {
            result: Some(serde_json::json!({ "error": message })),
            next: Vec::new(),
        }
    }
}

/// The daily tick.
pub(crate) struct CompetitorsDue {
    pub(crate) deps: Arc<Deps>,
}

#[async_trait::async_trait]
impl JobHandler for CompetitorsDue {
    fn kind(&self) -> &str {
        KIND_COMPETITORS_DUE
    }

    async fn run(&self, ctx: JobContext) -> JobOutcome {
        match enqueue_all(&self.deps, ctx.now()).await {
            Ok(n) => JobOutcome::Complete {
                result: Some(serde_json::json!({ "enqueued": n })),
                next: Vec::new(),
            },
            Err(e) => JobOutcome::retry(e.to_string()),
        }
    }
}

/// One competitor's snapshot.
pub(crate) struct CompetitorSnapshotJob {
    pub(crate) deps: Arc<Deps>,
}

#[async_trait::async_trait]
impl JobHandler for CompetitorSnapshotJob {
    fn kind(&self) -> &str {
        KIND_COMPETITOR_SNAPSHOT
    }

    async fn run(&self, ctx: JobContext) -> JobOutcome {
        let args: CompetitorSnapshotArgs = match ctx.args() {
            Ok(args) => args,
            Err(e) => return JobOutcome::discard(e.to_string()),
        };
        snapshot(&self.deps, args.competitor_id, ctx.now()).await
    }
}

impl Engine {
    /// Starts tracking `username` through the account `via` (on Facebook Login). An
    /// account on Instagram Login is refused with the reason, before any request.
    pub async fn competitor_add(
        &self,
        username: &str,
        via: store::AccountId,
    ) -> Result<store::Competitor> {
        let deps = &self.deps;
        let username = normalize_username(username).map_err(SyncError::Invalid)?;
        let account = deps
            .store
            .account_get(via)
            .await?
            .ok_or(SyncError::UnknownAccount(via))?;
        if let Some(refusal) = via_refusal(&account) {
            return Err(SyncError::Invalid(format!(
                "@{}: {refusal}",
                account.username
            )));
        }
        Ok(deps
            .store
            .competitor_add(NewCompetitor {
                username,
                via_account_id: via,
                created_at: deps.clock.now(),
            })
            .await?)
    }

    /// Every tracked competitor.
    pub async fn competitor_list(&self) -> Result<Vec<store::Competitor>> {
        Ok(self.deps.store.competitor_list().await?)
    }

    /// Stops tracking a competitor (its history is dropped). False when it was not tracked.
    pub async fn competitor_remove(&self, id: CompetitorId) -> Result<bool> {
        Ok(self.deps.store.competitor_remove(id).await?)
    }

    /// Enqueues a snapshot of every competitor now. Returns how many were inserted.
    pub async fn competitor_sync(&self) -> Result<usize> {
        enqueue_all(&self.deps, self.deps.clock.now()).await
    }
}
