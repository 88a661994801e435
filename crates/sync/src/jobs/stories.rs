//! Stories' final numbers: the processing of stored webhook events
//! (`process_webhook_event`), the read scheduled shortly before each story expires
//! (`story_final_read`), and the `poll` numbers every hourly stories step leaves.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use graph::{AccountRef, MediaCategory, MediaTarget};
use store::{
    AccountId, InsightSnapshot, NewJob, Provenance, StoryFinal, StoryFinalMetric, StoryRecord,
    WebhookApply,
};

use crate::args::{ProcessWebhookEventArgs, StoryFinalReadArgs};
use crate::engine::Deps;
use crate::jobs::{PRIORITY_STEP, client_for, token_for};
use crate::plan::SYNC_QUEUE;
use crate::plan::{KIND_PROCESS_WEBHOOK_EVENT, KIND_STORY_FINAL_READ};
use crate::steps::media_insights::Collected;
use crate::webhooks::{Change, parse_envelope, webhook_final};
use ::queue::{JobContext, JobHandler, JobOutcome};

/// Stories live this long.
pub(crate) const STORY_LIFETIME: chrono::Duration = chrono::Duration::hours(24);

/// Reads one stored webhook event into final story numbers, comments and mentions, and
/// marks it processed, in one transaction.
pub(crate) struct ProcessWebhookEvent {
    pub(crate) deps: Arc<Deps>,
}

#[async_trait::async_trait]
impl JobHandler for ProcessWebhookEvent {
    fn kind(&self) -> &str {
        KIND_PROCESS_WEBHOOK_EVENT
    }

    async fn run(&self, ctx: JobContext) -> JobOutcome {
        let args: ProcessWebhookEventArgs = match ctx.args() {
            Ok(a) => a,
            Err(e) => return JobOutcome::discard(e.to_string()),
        };
        let store = &self.deps.store;
        let event = match store.webhook_event_get(args.event_id).await {
            Ok(Some(e)) => e,
            Ok(None) => {
                return JobOutcome::discard(format!(
                    "webhook event {} does not exist",
                    args.event_id
                ));
            }
            Err(e) => return JobOutcome::retry(e.to_string()),
        };
        if event.processed_at.is_some() {
            return JobOutcome::done();
        }
        let mut apply = WebhookApply {
            event_id: event.id,
            processed_at: ctx.now(),
            ..Default::default()
        };
        let mut problems: Vec<String> = Vec::new();
        match parse_envelope(&event.body) {
            Err(m) => problems.push(m),
            Ok(entries) => {
                for entry in entries {
                    let account = match store.account_get_by_ig(&entry.ig_user_id).await {
                        Ok(Some(a)) => a,
                        Ok(None) => {
                            problems.push(format!(
                                "no account with Instagram id {} is registered",
                                entry.ig_user_id
                            ));
                            continue;
                        }
                        Err(e) => return JobOutcome::retry(e.to_string()),
                    };
                    apply.heard.push((account.id, entry.time));
                    for change in entry.changes {
                        match change {
                            Change::StoryInsights {
                                media_id,
                                metrics,
                                reason,
                            } => apply.finals.push(webhook_final(
                                account.id, entry.time, media_id, metrics, reason,
                            )),
                            Change::Comment(mut c) => {
                                c.account_id = account.id;
                                apply.comments.push(c);
                            }
                            Change::Mention(mut m) => {
                                m.account_id = account.id;
                                apply.mentions.push(m);
                            }
                            Change::Other(_) => {}
                        }
                    }
                }
            }
        }
        if !problems.is_empty() {
            tracing::warn!(event = event.id, "webhook event: {}", problems.join("; "));
            apply.error = Some(problems.join("; "));
        }
        match store.webhook_apply(apply).await {
            Ok(_) => JobOutcome::done(),
            Err(e) => JobOutcome::retry(e.to_string()),
        }
    }
}

/// Reads one story's insights shortly before it expires: its final numbers when Meta's
/// notification does not come (or the app has no webhooks).
pub(crate) struct StoryFinalRead {
    pub(crate) deps: Arc<Deps>,
}

#[async_trait::async_trait]
impl JobHandler for StoryFinalRead {
    fn kind(&self) -> &str {
        KIND_STORY_FINAL_READ
    }

    async fn run(&self, ctx: JobContext) -> JobOutcome {
        let args: StoryFinalReadArgs = match ctx.args() {
            Ok(a) => a,
            Err(e) => return JobOutcome::discard(e.to_string()),
        };
        let deps = &self.deps;
        let now = ctx.now();
        let account = match deps.store.account_get(args.account_id).await {
            Ok(Some(a)) => a,
            // The account was removed: nothing to read.
            Ok(None) => return JobOutcome::done(),
            Err(e) => return JobOutcome::retry(e.to_string()),
        };
        let unavailable = |reason: String| StoryFinal {
            account_id: args.account_id,
            ig_media_id: args.ig_media_id.clone(),
            provenance: Provenance::Unavailable,
            captured_at: now,
            expires_at: args.expires_at,
            metrics: Vec::new(),
            reason: Some(reason),
            api_version: None,
        };
        let final_numbers = if now >= args.expires_at {
            unavailable(format!(
                "the story expired at {} before its final read could run",
                args.expires_at
            ))
        } else {
            let client = match client_for(deps, &account) {
                Ok(c) => c,
                Err(e) => return JobOutcome::discard(e),
            };
            let token = match token_for(deps, &account) {
                Ok(t) => t,
                Err(e) => return JobOutcome::discard(e),
            };
            let acct = AccountRef::new(account.ig_user_id.clone(), token);
            let target = MediaTarget::new(args.ig_media_id.clone(), MediaCategory::Story);
            match client
                .media_insights(&acct, std::slice::from_ref(&target))
                .await
            {
                Ok(mut insights) => {
                    // The final read also keeps the breakdowns (navigation by action, the
                    // split a webhook gives); without them the totals still stand.
                    match client.media_insight_breakdowns(&acct, &[target]).await {
                        Ok(b) => {
                            for (id, extra) in b.results {
                                if let (Some(Ok(values)), Ok(extra)) =
                                    (insights.results.get_mut(&id), extra)
                                {
                                    values.extend(extra);
                                }
                            }
                        }
                        Err(e) => {
                            tracing::warn!(story = %args.ig_media_id, error = %e, "could not read a story's breakdowns");
                        }
                    }
                    let mut collected = Collected::default();
                    collected.add(insights, now);
                    finals_from(
                        args.account_id,
                        &[(args.ig_media_id.clone(), args.expires_at)],
                        &collected.rows,
                        &collected.errors,
                        Provenance::FinalPoll,
                        Some(client.version().to_string()),
                        now,
                    )
                    .pop()
                    .unwrap_or_else(|| unavailable("Meta returned nothing for the story".into()))
                }
                Err(e) if !ctx.is_last_attempt() && !e.needs_reauth() => {
                    return JobOutcome::retry(e.to_string());
                }
                Err(e) => unavailable(format!("the final read failed: {e}")),
            }
        };
        match deps.store.story_finals_apply(vec![final_numbers]).await {
            Ok(_) => JobOutcome::done(),
            Err(e) => JobOutcome::retry(e.to_string()),
        }
    }
}

/// Final numbers of stories from one read: values for those that came back, the error as
/// the reason for those that did not.
pub(crate) fn finals_from(
    account_id: AccountId,
    stories: &[(String, DateTime<Utc>)],
    rows: &[InsightSnapshot],
    errors: &[(String, String)],
    provenance: Provenance,
    api_version: Option<String>,
    now: DateTime<Utc>,
) -> Vec<StoryFinal> {
    stories
        .iter()
        .filter_map(|(id, expires_at)| {
            let metrics: Vec<StoryFinalMetric> = rows
                .iter()
                .filter(|r| &r.ig_media_id == id)
                .map(|r| StoryFinalMetric {
                    metric: r.metric.clone(),
                    breakdown: r.breakdown.clone(),
                    value: Some(r.value),
                    missing_reason: None,
                })
                .collect();
            let error = errors.iter().find(|(e, _)| e == id).map(|(_, m)| m.clone());
            if metrics.is_empty() && error.is_none() {
                return None;
            }
            Some(StoryFinal {
                account_id,
                ig_media_id: id.clone(),
                provenance,
                captured_at: now,
                expires_at: *expires_at,
                metrics,
                reason: error,
                api_version: api_version.clone(),
            })
        })
        .collect()
}

/// After an hourly read of the live stories: their numbers become `poll` final numbers
/// (until something stronger comes), and each story gets its final read, queued once at
/// `expiry − margin` while that is still ahead.
pub(crate) async fn after_poll(
    deps: &Deps,
    account_id: AccountId,
    stories: &[StoryRecord],
    rows: &[InsightSnapshot],
    errors: &[(String, String)],
    api_version: String,
    now: DateTime<Utc>,
) -> Result<(), store::StoreError> {
    let expiring: Vec<(String, DateTime<Utc>)> = stories
        .iter()
        .map(|s| (s.ig_media_id.clone(), s.published_at + STORY_LIFETIME))
        .collect();
    let finals = finals_from(
        account_id,
        &expiring,
        rows,
        errors,
        Provenance::Poll,
        Some(api_version),
        now,
    );
    if !finals.is_empty() {
        deps.store.story_finals_apply(finals).await?;
    }
    let margin = chrono::Duration::from_std(deps.settings.story_final_read_margin)
        .unwrap_or(chrono::Duration::minutes(30));
    // One insert for the account's stories: a story seen before merges into its pending
    // final read (the job's unique key).
    let jobs: Vec<NewJob> = expiring
        .iter()
        .filter(|(_, expires_at)| *expires_at - margin > now)
        .map(|(id, expires_at)| {
            final_read_job(deps, account_id, id, *expires_at, *expires_at - margin, now)
        })
        .collect();
    if !jobs.is_empty() {
        deps.store.job_insert_many(jobs).await?;
    }
    Ok(())
}

fn final_read_job(
    deps: &Deps,
    account_id: AccountId,
    ig_media_id: &str,
    expires_at: DateTime<Utc>,
    run_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> NewJob {
    let args = StoryFinalReadArgs {
        account_id,
        ig_media_id: ig_media_id.to_owned(),
        expires_at,
    };
    NewJob {
        queue: SYNC_QUEUE.to_string(),
        kind: KIND_STORY_FINAL_READ.to_string(),
        // Cannot fail for these fields; a Null would be discarded with its reason.
        args: serde_json::to_value(args).unwrap_or(serde_json::Value::Null),
        // Not tied to the account's job slot: a final read waiting for its hour must not
        // look like an active sync of the account.
        account_id: None,
        unique_key: Some(format!("story-final:{ig_media_id}")),
        run_id: None,
        run_at,
        max_attempts: deps.settings.max_attempts as i32,
        priority: PRIORITY_STEP,
        now,
    }
}
