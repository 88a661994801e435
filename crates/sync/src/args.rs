//! The typed arguments of every job kind the engine persists, one [`JobArgs`] type per kind
//! with `KIND` = the kind's stable string (see [`crate::plan`]). The JSON field names are
//! those jobs have always been queued with, so a job queued by an older version decodes; a
//! job whose arguments do not decode is discarded with the reason.

use ::queue::JobArgs;
use serde::{Deserialize, Serialize};

use crate::plan::{self, Plan, Scope, Step};

/// `sync_account`: one account sync, every step of its plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncAccountArgs {
    pub plan: Plan,
    /// What asked for the sync: `manual`, `api`, `schedule:<name>`, …
    pub trigger: String,
    /// Absent when the sync is not narrowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

impl JobArgs for SyncAccountArgs {
    const KIND: &'static str = plan::KIND_SYNC_ACCOUNT;
}

/// One step of a chain: the chain's plan, trigger and scope, and the step's position in
/// the plan. Each step has its own kind (and args type below) with this body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepArgs {
    pub plan: Plan,
    pub trigger: String,
    pub position: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

macro_rules! step_args {
    ($($(#[$doc:meta])* $name:ident = $kind:path;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub StepArgs);

        impl JobArgs for $name {
            const KIND: &'static str = $kind;
        }
    )*};
}

step_args! {
    /// `sync_profile`.
    SyncProfileArgs = plan::KIND_SYNC_PROFILE;
    /// `sync_media`.
    SyncMediaArgs = plan::KIND_SYNC_MEDIA;
    /// `sync_media_insights`.
    SyncMediaInsightsArgs = plan::KIND_SYNC_MEDIA_INSIGHTS;
    /// `sync_stories`.
    SyncStoriesArgs = plan::KIND_SYNC_STORIES;
    /// `sync_demographics`.
    SyncDemographicsArgs = plan::KIND_SYNC_DEMOGRAPHICS;
    /// `sync_account_insights`.
    SyncAccountInsightsArgs = plan::KIND_SYNC_ACCOUNT_INSIGHTS;
}

impl StepArgs {
    /// The job of this step: its kind is the kind of the step at `position` of the plan.
    pub fn new_job(
        self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<::queue::NewJob, ::queue::QueueError> {
        let step = self.plan.steps().get(self.position).copied();
        match step {
            Some(Step::Profile) => ::queue::NewJob::typed(&SyncProfileArgs(self), now),
            Some(Step::Media) => ::queue::NewJob::typed(&SyncMediaArgs(self), now),
            Some(Step::MediaInsights) => ::queue::NewJob::typed(&SyncMediaInsightsArgs(self), now),
            Some(Step::Stories) => ::queue::NewJob::typed(&SyncStoriesArgs(self), now),
            Some(Step::Demographics) => ::queue::NewJob::typed(&SyncDemographicsArgs(self), now),
            Some(Step::AccountInsights) => {
                ::queue::NewJob::typed(&SyncAccountInsightsArgs(self), now)
            }
            None => Err(::queue::QueueError::Args {
                kind: "sync step".to_string(),
                message: format!(
                    "the {} plan has no step at position {}",
                    self.plan, self.position
                ),
            }),
        }
    }
}

/// `sync_fan_out`: a sync schedule's tick (or a hand-made fan-out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncFanOutArgs {
    pub plan: Plan,
    /// The schedule that ticked (added by the scheduler).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// The tick's time, RFC 3339 (added by the scheduler).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick: Option<String>,
    /// The trigger of a fan-out not made by a schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// A schedule's run-now (added by the scheduler): every account at once, not at its
    /// offset within the period.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub run_now: bool,
}

impl SyncFanOutArgs {
    /// The trigger the account syncs it starts carry: `schedule:<name>`, or the given
    /// trigger, or `schedule`.
    pub fn sync_trigger(&self) -> String {
        match (&self.schedule, &self.trigger) {
            (Some(name), _) => format!("schedule:{name}"),
            (None, Some(trigger)) => trigger.clone(),
            (None, None) => "schedule".to_string(),
        }
    }
}

impl JobArgs for SyncFanOutArgs {
    const KIND: &'static str = plan::KIND_SYNC_FAN_OUT;
}

/// What a maintenance job's arguments say about where it came from: a schedule's tick
/// (`schedule`, `tick`) or a trigger (`manual`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
}

/// `token_refresh_fan_out`: one `token_refresh` per account whose token expires soon.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenRefreshFanOutArgs(pub Origin);

impl JobArgs for TokenRefreshFanOutArgs {
    const KIND: &'static str = plan::KIND_TOKEN_REFRESH_FAN_OUT;
}

/// `token_refresh`: refreshes the token of the job's account (no arguments).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenRefreshArgs {}

impl JobArgs for TokenRefreshArgs {
    const KIND: &'static str = plan::KIND_TOKEN_REFRESH;
}

/// `retention`: prunes finished jobs and expired sessions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RetentionArgs(pub Origin);

impl JobArgs for RetentionArgs {
    const KIND: &'static str = plan::KIND_RETENTION;
}

/// `deliver_webhook`: POSTs one alert's body to the configured webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliverWebhookArgs {
    pub alert_id: i64,
    /// The JSON body, as built when the alert was raised.
    pub body: serde_json::Value,
}

impl JobArgs for DeliverWebhookArgs {
    const KIND: &'static str = plan::KIND_DELIVER_WEBHOOK;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> chrono::DateTime<chrono::Utc> {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn every_step_job_has_its_steps_kind() {
        for plan in [Plan::Full, Plan::Light] {
            for (position, step) in plan.steps().iter().enumerate() {
                let job = StepArgs {
                    plan,
                    trigger: "manual".into(),
                    position,
                    scope: None,
                }
                .new_job(now())
                .unwrap();
                assert_eq!(job.kind, step.kind());
                assert_eq!(Step::from_kind(&job.kind), Some(*step));
            }
        }
        let err = StepArgs {
            plan: Plan::Only(Step::Media),
            trigger: "manual".into(),
            position: 1,
            scope: None,
        }
        .new_job(now())
        .unwrap_err();
        assert!(err.to_string().contains("no step at position 1"), "{err}");
    }

    #[test]
    fn the_json_shapes_are_those_jobs_were_always_queued_with() {
        let scope = Scope {
            media: vec!["17901".into()],
            since: Some("2026-03-01".parse().unwrap()),
            until: None,
        };
        let old = json!({
            "plan": "media_insights",
            "trigger": "api",
            "position": 0,
            "scope": scope.to_json(),
        });
        let args: SyncMediaInsightsArgs = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(args.0.plan, Plan::Only(Step::MediaInsights));
        assert_eq!(args.0.scope.as_ref(), Some(&scope));
        assert_eq!(serde_json::to_value(&args).unwrap(), old);

        let old = json!({ "plan": "light", "trigger": "manual" });
        let args: SyncAccountArgs = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(args.scope, None);
        assert_eq!(serde_json::to_value(&args).unwrap(), old);

        let tick =
            json!({ "plan": "full", "schedule": "full_sync", "tick": "2026-03-01T12:00:00+00:00" });
        let args: SyncFanOutArgs = serde_json::from_value(tick).unwrap();
        assert_eq!(args.sync_trigger(), "schedule:full_sync");

        let args: TokenRefreshFanOutArgs =
            serde_json::from_value(json!({ "trigger": "manual" })).unwrap();
        assert_eq!(args.0.trigger.as_deref(), Some("manual"));
        let _: TokenRefreshArgs = serde_json::from_value(json!({})).unwrap();
        let _: RetentionArgs = serde_json::from_value(json!({})).unwrap();
    }

    #[test]
    fn an_unknown_plan_does_not_decode() {
        let err = serde_json::from_value::<SyncAccountArgs>(
            json!({ "plan": "weekly", "trigger": "manual" }),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown sync plan `weekly`"), "{err}");
    }
}

/// `process_webhook_event`: one stored Meta webhook event to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessWebhookEventArgs {
    pub event_id: i64,
}

impl JobArgs for ProcessWebhookEventArgs {
    const KIND: &'static str = plan::KIND_PROCESS_WEBHOOK_EVENT;
}

/// `story_final_read`: one story's insights, read shortly before it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoryFinalReadArgs {
    pub account_id: queue::AccountId,
    pub ig_media_id: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

impl JobArgs for StoryFinalReadArgs {
    const KIND: &'static str = plan::KIND_STORY_FINAL_READ;
}

/// `competitor_snapshot`: one competitor read through Business Discovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompetitorSnapshotArgs {
    pub competitor_id: i64,
}

impl JobArgs for CompetitorSnapshotArgs {
    const KIND: &'static str = crate::jobs::competitors::KIND_COMPETITOR_SNAPSHOT;
}
