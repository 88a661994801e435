//! Sync plans and their steps, the job kinds and queues the engine persists (stable
//! strings: never renamed), and the default schedules.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

/// The queue sync jobs run on.
pub const SYNC_QUEUE: &str = "instagram-sync";
/// The queue of everything else (fan-outs, token refresh, retention, webhook deliveries).
pub const MAINTENANCE_QUEUE: &str = "maintenance";

/// Full sync every 6 hours. For a daily full sync at 02:00 UTC use `0 0 2 * * *`.
pub const DEFAULT_FULL_SYNC_CRON: &str = "0 0 */6 * * *";
/// Light sync (profile, recent posts' insights, stories, account insights when due) every hour.
pub const DEFAULT_LIGHT_SYNC_CRON: &str = "0 0 * * * *";
/// Token refresh fan-out once a day.
pub const DEFAULT_TOKEN_REFRESH_CRON: &str = "0 30 3 * * *";
/// Retention (queue pruning, expired sessions) once a day.
pub const DEFAULT_RETENTION_CRON: &str = "0 45 3 * * *";

/// One account sync: opens the run and runs the plan's stages (see `jobs::orchestrator`).
pub const KIND_SYNC_ACCOUNT: &str = "sync_account";
/// A schedule tick: one `sync_account` job per active account.
pub const KIND_SYNC_FAN_OUT: &str = "sync_fan_out";
/// A schedule tick: one `token_refresh` job per account whose token expires soon.
pub const KIND_TOKEN_REFRESH_FAN_OUT: &str = "token_refresh_fan_out";
/// Refreshes one account's token.
pub const KIND_TOKEN_REFRESH: &str = "token_refresh";
/// Prunes finished jobs and expired sessions.
pub const KIND_RETENTION: &str = "retention";
/// POSTs one alert to the configured webhook.
pub const KIND_DELIVER_WEBHOOK: &str = "deliver_webhook";
/// The steps of a chain, one kind each.
pub const KIND_SYNC_PROFILE: &str = "sync_profile";
pub const KIND_SYNC_MEDIA: &str = "sync_media";
pub const KIND_SYNC_MEDIA_INSIGHTS: &str = "sync_media_insights";
pub const KIND_SYNC_STORIES: &str = "sync_stories";
pub const KIND_SYNC_DEMOGRAPHICS: &str = "sync_demographics";
pub const KIND_SYNC_ACCOUNT_INSIGHTS: &str = "sync_account_insights";
/// Reads one stored Meta webhook event into stories' final numbers, comments and mentions.
pub const KIND_PROCESS_WEBHOOK_EVENT: &str = "process_webhook_event";
/// Reads one story's insights shortly before it expires.
pub const KIND_STORY_FINAL_READ: &str = "story_final_read";

/// Which steps a sync runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Plan {
    /// profile → media → media insights → stories → demographics → account insights.
    Full,
    /// profile → media (until known) → media insights (due only) → stories → account
    /// insights (due only: after their rest, or on a new Pacific day).
    Light,
    /// One step on its own, asked for by hand (`sync --only media-insights`), optionally
    /// narrowed by a [`Scope`]. Persisted as the step's name (`media_insights`).
    Only(Step),
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Full => "full",
            Plan::Light => "light",
            Plan::Only(step) => step.name(),
        }
    }

    pub fn steps(self) -> &'static [Step] {
        match self {
            Plan::Full => &[
                Step::Profile,
                Step::Media,
                Step::MediaInsights,
                Step::Stories,
                Step::Demographics,
                Step::AccountInsights,
            ],
            Plan::Light => &[
                Step::Profile,
                Step::Media,
                Step::MediaInsights,
                Step::Stories,
                Step::AccountInsights,
            ],
            Plan::Only(Step::Profile) => &[Step::Profile],
            Plan::Only(Step::Media) => &[Step::Media],
            Plan::Only(Step::MediaInsights) => &[Step::MediaInsights],
            Plan::Only(Step::Stories) => &[Step::Stories],
            Plan::Only(Step::Demographics) => &[Step::Demographics],
            Plan::Only(Step::AccountInsights) => &[Step::AccountInsights],
        }
    }

    /// The positions the job of step `position` runs, side by side: for the full and light
    /// plans the media step's job runs it with every later step (media insights reads the
    /// listing as it comes; stories, demographics and account insights need nothing of it),
    /// so one account's reads overlap under its lanes; every other job runs its own step.
    /// The chain goes on after the stage once all of it is done: the later steps get no job
    /// of their own (a failure beside the lead retries or fails the job as a whole, and a
    /// retry runs the steps left).
    pub fn stage(self, position: usize) -> std::ops::Range<usize> {
        let steps = self.steps();
        match (self, steps.get(position)) {
            (Plan::Full | Plan::Light, Some(Step::Media)) => position..steps.len(),
            _ => position..(position + 1).min(steps.len()),
        }
    }

    /// Whether the plan reads everything its steps can: the full listing of posts (and so
    /// deletions), insights of posts whose last read failed for good, today's demographics
    /// again. True for the full plan and for a step asked for on its own.
    pub fn is_thorough(self) -> bool {
        !matches!(self, Plan::Light)
    }

    /// The unique key the whole chain of one account and plan holds while active: a second
    /// request while the chain runs merges into it.
    pub fn unique_key(self, account_id: store::AccountId) -> String {
        format!("sync:{account_id}:{}", self.as_str())
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A plan is stored in job arguments as its name ([`Plan::as_str`]).
impl serde::Serialize for Plan {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Plan {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Plan, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for Plan {
    type Err = String;

    /// `full`, `light`, or one step's name (`media_insights` or `media-insights`).
    fn from_str(s: &str) -> Result<Plan, String> {
        let name = s.trim().to_ascii_lowercase().replace('-', "_");
        match name.as_str() {
            "full" => Ok(Plan::Full),
            "light" => Ok(Plan::Light),
            other => Step::from_name(other).map(Plan::Only).ok_or_else(|| {
                format!(
                    "unknown sync plan `{}` (expected full, light, or one step: profile, media, \
                     media-insights, stories, demographics, account-insights)",
                    s.trim()
                )
            }),
        }
    }
}

/// What a sync of one step on its own is narrowed to: given posts, or a range of days
/// (posts published in it, in the account's time zone, for media insights; Meta's days for
/// account insights). Empty: the step's usual choice. In job arguments it is
/// `{"media": [...], "since": "YYYY-MM-DD" | null, "until": …}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Scope {
    /// Instagram media ids of stored posts of the account.
    #[serde(default)]
    pub media: Vec<String>,
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

impl Scope {
    pub fn is_empty(&self) -> bool {
        self.media.is_empty() && self.since.is_none() && self.until.is_none()
    }

    /// The scope as JSON (null when empty): what [`Scope::key`] hashes, and the shape
    /// job arguments carry.
    pub fn to_json(&self) -> serde_json::Value {
        if self.is_empty() {
            return serde_json::Value::Null;
        }
        serde_json::json!({
            "media": self.media,
            "since": self.since.map(|d| d.to_string()),
            "until": self.until.map(|d| d.to_string()),
        })
    }

    /// A short stable tag of the scope for unique keys (requests with different scopes are
    /// different syncs; the same scope asked twice merges).
    pub fn key(&self) -> String {
        // FNV-1a over the canonical JSON: stable across processes and versions.
        let text = self.to_json().to_string();
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in text.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{hash:016x}")
    }

    /// One line for history and messages: "media 123, 456" or "2026-03-01 to 2026-03-07".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.media.is_empty() {
            parts.push(format!("media {}", self.media.join(", ")));
        }
        match (self.since, self.until) {
            (Some(a), Some(b)) => parts.push(format!("{a} to {b}")),
            (Some(a), None) => parts.push(format!("from {a}")),
            (None, Some(b)) => parts.push(format!("until {b}")),
            (None, None) => {}
        }
        parts.join("; ")
    }
}

/// One step of a sync chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    Profile,
    Media,
    MediaInsights,
    Stories,
    Demographics,
    AccountInsights,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::Profile,
        Step::Media,
        Step::MediaInsights,
        Step::Stories,
        Step::Demographics,
        Step::AccountInsights,
    ];

    /// The job kind of the step (persisted).
    pub fn kind(self) -> &'static str {
        match self {
            Step::Profile => KIND_SYNC_PROFILE,
            Step::Media => KIND_SYNC_MEDIA,
            Step::MediaInsights => KIND_SYNC_MEDIA_INSIGHTS,
            Step::Stories => KIND_SYNC_STORIES,
            Step::Demographics => KIND_SYNC_DEMOGRAPHICS,
            Step::AccountInsights => KIND_SYNC_ACCOUNT_INSIGHTS,
        }
    }

    /// The step's name in the sync history.
    pub fn name(self) -> &'static str {
        match self {
            Step::Profile => "profile",
            Step::Media => "media",
            Step::MediaInsights => "media_insights",
            Step::Stories => "stories",
            Step::Demographics => "demographics",
            Step::AccountInsights => "account_insights",
        }
    }

    /// What the step's progress counts (`items_done` of `items_total`).
    pub fn items(self) -> &'static str {
        match self {
            Step::Profile => "profile reads",
            Step::Media => "posts",
            Step::MediaInsights => "posts",
            Step::Stories => "stories",
            Step::Demographics => "audience reads",
            Step::AccountInsights => "days",
        }
    }

    pub fn from_kind(kind: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.kind() == kind)
    }

    pub fn from_name(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_list_their_steps_in_order() {
        let full: Vec<&str> = Plan::Full.steps().iter().map(|s| s.kind()).collect();
        assert_eq!(
            full,
            [
                "sync_profile",
                "sync_media",
                "sync_media_insights",
                "sync_stories",
                "sync_demographics",
                "sync_account_insights"
            ]
        );
        let light: Vec<&str> = Plan::Light.steps().iter().map(|s| s.name()).collect();
        assert_eq!(
            light,
            [
                "profile",
                "media",
                "media_insights",
                "stories",
                "account_insights"
            ]
        );
        assert_eq!("FULL".parse::<Plan>(), Ok(Plan::Full));
        assert!(
            "weekly"
                .parse::<Plan>()
                .unwrap_err()
                .contains("full, light, or one step")
        );
        assert_eq!(
            "media-insights".parse::<Plan>(),
            Ok(Plan::Only(Step::MediaInsights))
        );
        assert_eq!(
            "account_insights".parse::<Plan>(),
            Ok(Plan::Only(Step::AccountInsights))
        );
        for step in Step::ALL {
            let only = Plan::Only(step);
            assert_eq!(only.steps(), &[step]);
            assert_eq!(only.as_str().parse::<Plan>(), Ok(only));
            assert!(only.is_thorough());
        }
        assert!(!Plan::Light.is_thorough());
        for step in Step::ALL {
            assert_eq!(Step::from_kind(step.kind()), Some(step));
            assert_eq!(Step::from_name(step.name()), Some(step));
        }
        assert_eq!(
            Plan::Light.unique_key(store::AccountId::new(7)),
            "sync:7:light"
        );
        // The media step's job runs every later step beside it; the others run alone.
        assert_eq!(Plan::Full.stage(0), 0..1);
        assert_eq!(Plan::Full.stage(1), 1..6);
        assert_eq!(Plan::Full.stage(3), 3..4);
        assert_eq!(Plan::Light.stage(1), 1..5);
        assert_eq!(Plan::Only(Step::Media).stage(0), 0..1);
    }

    #[test]
    fn the_default_schedules_are_valid() {
        for expr in [
            DEFAULT_FULL_SYNC_CRON,
            DEFAULT_LIGHT_SYNC_CRON,
            DEFAULT_TOKEN_REFRESH_CRON,
            DEFAULT_RETENTION_CRON,
        ] {
            ::queue::validate_cron(expr).unwrap();
        }
    }

    #[test]
    fn scopes_round_trip_through_job_arguments() {
        assert_eq!(Scope::default().to_json(), serde_json::Value::Null);
        let scope = Scope {
            media: vec!["1789".into(), "1790".into()],
            since: Some("2026-03-01".parse().unwrap()),
            until: Some("2026-03-07".parse().unwrap()),
        };
        let back: Scope = serde_json::from_value(scope.to_json()).unwrap();
        assert_eq!(back, scope);
        assert_eq!(serde_json::to_value(&scope).unwrap(), scope.to_json());
        assert_eq!(
            scope.describe(),
            "media 1789, 1790; 2026-03-01 to 2026-03-07"
        );
        assert_eq!(scope.key(), scope.clone().key());
        assert_ne!(scope.key(), Scope::default().key());
    }
}
