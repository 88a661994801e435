//! Sync plans and their steps, and the job kinds the engine persists (stable strings:
//! never renamed).

use std::fmt;
use std::str::FromStr;

/// The orchestrator: one per account sync; creates the run and inserts the first step.
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

/// Which steps a sync runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Plan {
    /// profile → media → media insights → stories → demographics → account insights.
    Full,
    /// profile → media (until known) → media insights (due only) → stories → account
    /// insights.
    Light,
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Full => "full",
            Plan::Light => "light",
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
        }
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

impl FromStr for Plan {
    type Err = String;

    fn from_str(s: &str) -> Result<Plan, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(Plan::Full),
            "light" => Ok(Plan::Light),
            other => Err(format!(
                "unknown sync plan `{other}` (expected full or light)"
            )),
        }
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
            Step::Profile => "sync_profile",
            Step::Media => "sync_media",
            Step::MediaInsights => "sync_media_insights",
            Step::Stories => "sync_stories",
            Step::Demographics => "sync_demographics",
            Step::AccountInsights => "sync_account_insights",
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
                .contains("full or light")
        );
        for step in Step::ALL {
            assert_eq!(Step::from_kind(step.kind()), Some(step));
            assert_eq!(Step::from_name(step.name()), Some(step));
        }
        assert_eq!(Plan::Light.unique_key(7), "sync:7:light");
    }
}
