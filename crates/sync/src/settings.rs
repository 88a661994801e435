//! The engine's settings, built once from the configuration: retention of finished jobs,
//! alerts, and everything a sync needs (`SyncSettings`: concurrency, retries, schedules and
//! their crons, validated before any worker starts).

use std::time::Duration;

use store::{ScheduleDef, SecretString};

use crate::engine::{
    SCHEDULE_FULL_SYNC, SCHEDULE_LIGHT_SYNC, SCHEDULE_RETENTION, SCHEDULE_TOKEN_REFRESH,
};
use crate::error::{Result, SyncError};
use crate::jobs::{self, WebhookUrl};
use crate::plan::{
    DEFAULT_FULL_SYNC_CRON, DEFAULT_LIGHT_SYNC_CRON, DEFAULT_RETENTION_CRON,
    DEFAULT_TOKEN_REFRESH_CRON, MAINTENANCE_QUEUE, SYNC_QUEUE,
};
use crate::plan::{KIND_RETENTION, KIND_SYNC_FAN_OUT, KIND_TOKEN_REFRESH_FAN_OUT, Plan};
use ::queue::{CronExpr, RetryPolicy, WorkerConfig};

/// Requests in flight per account by default: enough for the media listing, the insight
/// batches of what it listed and the account-level reads to overlap.
pub const DEFAULT_ACCOUNT_CONCURRENCY: u32 = 4;
/// The most requests in flight per account a configuration may ask for (Meta's budget is
/// per account and hour; more lanes only crowd it).
pub const MAX_ACCOUNT_CONCURRENCY: u32 = 16;

/// Retention of finished jobs (analytics data is never pruned).
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionSettings {
    pub completed_keep: u32,
    pub completed_max_age: Duration,
    pub failed_keep: u32,
    pub failed_max_age: Duration,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            completed_keep: 100,
            completed_max_age: Duration::from_secs(7 * 86_400),
            failed_keep: 500,
            failed_max_age: Duration::from_secs(30 * 86_400),
        }
    }
}

/// When alerts are raised and where they go.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSettings {
    /// Followers gained between two syncs above this raise an alert.
    pub follower_growth_threshold: u32,
    /// Graph API usage at or above this percentage raises a rate-limit pressure alert.
    pub usage_pressure_percent: u32,
    /// A competitor's post whose likes + comments reach this many times the competitor's
    /// median per post raises an alert (once per post).
    pub competitor_post_multiple: u32,
    /// POST every new alert as JSON here (signed when a secret is set).
    pub webhook_url: Option<WebhookUrl>,
    pub webhook_secret: Option<SecretString>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            follower_growth_threshold: 100,
            usage_pressure_percent: 90,
            competitor_post_multiple: 3,
            webhook_url: None,
            webhook_secret: None,
        }
    }
}

/// The start limiter's default: 500 account syncs a minute across all workers. The default
/// schedules start 24 syncs per account-day (a light one every hour, and a full sync every 6
/// hours standing in for one of them), so it keeps 500 × 1,440 ÷ 24 = 30,000 accounts on
/// their schedules; a fleet of 10,000 needs 167 a minute on average, and the busiest minute
/// of its spread offsets (196) stays well under 500 (the settings' tests compute both). It
/// still stops a burst (every account's first sync, a schedule's run-now) from starting all
/// at once.
pub const DEFAULT_SYNCS_PER_MINUTE: u32 = 500;

/// The account insights' rest between two reads by light syncs by default: the full
/// schedule's period, so on the default schedules light syncs read them only when a new
/// Pacific day begins.
pub const DEFAULT_ACCOUNT_INSIGHTS_LIGHT_INTERVAL: Duration = Duration::from_secs(6 * 3600);

/// Everything configurable about syncing.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncSettings {
    /// Jobs (accounts) one worker runs at a time.
    pub concurrency: u32,
    /// Graph API requests one account's sync has in flight at most: the media listing, the
    /// insight batches of the posts it lists and the other steps' reads run side by side up
    /// to this many (1: one after another).
    pub account_concurrency: u32,
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt, ±20 % jitter.
    pub backoff: Duration,
    pub job_timeout: Duration,
    pub lease: Duration,
    pub poll_interval: Duration,
    pub maintenance_interval: Duration,
    pub shutdown_grace: Duration,
    /// Account syncs started per minute across all workers (0: no limit). The default
    /// ([`DEFAULT_SYNCS_PER_MINUTE`]) keeps 30,000 accounts on the default schedules;
    /// [`SyncSettings::accounts_served_by_limiter`] says how many a value keeps.
    pub syncs_per_minute: u32,
    pub full_cron: String,
    pub light_cron: String,
    pub token_refresh_cron: String,
    pub retention_cron: String,
    /// The tick that enqueues the scheduled reports whose period has ended.
    pub reports_cron: String,
    /// Refresh tokens that expire within this many days.
    pub token_refresh_within_days: u32,
    /// Complete days of account insights read on an account's first sync (today's partial
    /// day comes on top).
    pub account_insights_backfill_days: u32,
    /// Recent days of account insights read again on every sync (Meta's numbers settle).
    pub account_insights_settling_days: u32,
    /// Days of account insights read again once a week, for Meta's later revisions (0: off).
    pub account_insights_reread_days: u32,
    /// How long a light sync leaves the account insights alone after they were read (zero:
    /// every light sync reads them). Meta's numbers are daily and settle over about 48 h, so
    /// an hourly read of the same days mostly rewrites what was stored; full syncs, a new
    /// Pacific day and the step asked for on its own read them whatever this says.
    pub account_insights_light_interval: Duration,
    /// Also read per-day breakdowns of account insights (media product type, follow type…).
    pub account_insight_breakdowns: bool,
    pub retention: RetentionSettings,
    pub alerts: AlertSettings,
    /// The mail server of scheduled reports (`smtp.*`); None: email targets are refused.
    pub smtp: Option<crate::SmtpSettings>,
    /// The dashboard's public address, for the links in delivered reports.
    pub public_url: Option<String>,
    /// Queues a worker serves.
    pub queues: Vec<String>,
    /// Each story's final read runs this long before the story expires (24 h after it was
    /// published).
    pub story_final_read_margin: Duration,
    /// Competitors read through Business Discovery: schedule, pacing, posts per read.
    pub competitors: crate::CompetitorSettings,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            concurrency: 2,
            account_concurrency: DEFAULT_ACCOUNT_CONCURRENCY,
            max_attempts: 3,
            backoff: Duration::from_secs(60),
            job_timeout: Duration::from_secs(600),
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            maintenance_interval: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(30),
            syncs_per_minute: DEFAULT_SYNCS_PER_MINUTE,
            full_cron: DEFAULT_FULL_SYNC_CRON.to_string(),
            light_cron: DEFAULT_LIGHT_SYNC_CRON.to_string(),
            token_refresh_cron: DEFAULT_TOKEN_REFRESH_CRON.to_string(),
            retention_cron: DEFAULT_RETENTION_CRON.to_string(),
            reports_cron: jobs::reports::DEFAULT_REPORTS_CRON.to_string(),
            token_refresh_within_days: 7,
            account_insights_backfill_days: 90,
            account_insights_settling_days: 3,
            account_insights_reread_days: 28,
            account_insights_light_interval: DEFAULT_ACCOUNT_INSIGHTS_LIGHT_INTERVAL,
            account_insight_breakdowns: true,
            retention: RetentionSettings::default(),
            alerts: AlertSettings::default(),
            smtp: None,
            public_url: None,
            queues: vec![SYNC_QUEUE.to_string(), MAINTENANCE_QUEUE.to_string()],
            story_final_read_margin: Duration::from_secs(30 * 60),
            competitors: crate::CompetitorSettings::default(),
        }
    }
}

impl SyncSettings {
    /// The worker configuration these settings describe.
    pub fn worker_config(&self) -> WorkerConfig {
        WorkerConfig {
            queues: self.queues.clone(),
            concurrency: self.concurrency,
            lease: self.lease,
            poll_interval: self.poll_interval,
            job_timeout: self.job_timeout,
            retry: RetryPolicy {
                max_attempts: self.max_attempts,
                base: self.backoff,
                ..RetryPolicy::default()
            },
            maintenance_interval: self.maintenance_interval,
            shutdown_grace: self.shutdown_grace,
        }
    }

    pub fn validate(&self) -> Result<()> {
        self.worker_config().validate()?;
        for (name, cron) in [
            ("full_cron", &self.full_cron),
            ("light_cron", &self.light_cron),
            ("token_refresh_cron", &self.token_refresh_cron),
            ("retention_cron", &self.retention_cron),
            ("reports_cron", &self.reports_cron),
            ("competitors_cron", &self.competitors.cron),
        ] {
            CronExpr::parse(cron).map_err(|e| SyncError::config(format!("{name}: {e}")))?;
        }
        if !(1..=MAX_ACCOUNT_CONCURRENCY).contains(&self.account_concurrency) {
            return Err(SyncError::config(format!(
                "account_concurrency must be from 1 to {MAX_ACCOUNT_CONCURRENCY}"
            )));
        }
        if !(1..=59).contains(&self.token_refresh_within_days) {
            return Err(SyncError::config(
                "token_refresh_within_days must be from 1 to 59",
            ));
        }
        if !(1..=730).contains(&self.account_insights_backfill_days) {
            return Err(SyncError::config(
                "account_insights_backfill_days must be from 1 to 730",
            ));
        }
        if !(1..=30).contains(&self.account_insights_settling_days) {
            return Err(SyncError::config(
                "account_insights_settling_days must be from 1 to 30",
            ));
        }
        if self.account_insights_reread_days > 90 {
            return Err(SyncError::config(
                "account_insights_reread_days must be from 0 to 90",
            ));
        }
        if self.account_insights_light_interval > Duration::from_secs(24 * 3600) {
            return Err(SyncError::config(
                "account_insights_light_interval must be from 0 to 24 hours",
            ));
        }
        if !(1..=100).contains(&self.competitors.usage_ceiling_percent) {
            return Err(SyncError::config(
                "competitors usage_ceiling_percent must be from 1 to 100",
            ));
        }
        if !(1..=1000).contains(&self.competitors.media_per_read) {
            return Err(SyncError::config(
                "competitors media_per_read must be from 1 to 1000",
            ));
        }
        if self.alerts.usage_pressure_percent == 0 || self.alerts.usage_pressure_percent > 100 {
            return Err(SyncError::config(
                "usage_pressure_percent must be from 1 to 100",
            ));
        }
        Ok(())
    }

    /// Account syncs one account starts per day on these schedules: its full syncs and the
    /// light syncs no full sync stands in for (`phase`), over a week, ÷ 7 (a light sync
    /// skipped because the account's chain is still active makes it fewer, never more).
    pub fn sync_starts_per_account_day(&self) -> Result<f64> {
        Ok(self.sync_starts()?.started())
    }

    /// One account's full syncs, light syncs and light syncs a full sync stands in for, per
    /// day on these schedules (see [`SyncSettings::sync_starts_per_account_day`]).
    pub fn sync_starts(&self) -> Result<crate::SyncStarts> {
        let from = chrono::DateTime::<chrono::Utc>::from_timestamp(1_767_225_600, 0) // 2026-01-01
            .ok_or_else(|| SyncError::config("no reference day"))?;
        let full = CronExpr::parse(&self.full_cron)
            .map_err(|e| SyncError::config(format!("full_cron: {e}")))?;
        let light = CronExpr::parse(&self.light_cron)
            .map_err(|e| SyncError::config(format!("light_cron: {e}")))?;
        crate::phase::starts_per_account_day(&full, &light, from).map_err(SyncError::config)
    }

    /// Accounts the start limiter keeps on their schedules: `syncs_per_minute` × 1,440 ÷
    /// [`SyncSettings::sync_starts_per_account_day`]. None when the limiter is off (0). A
    /// larger fleet falls behind its own schedules: its syncs wait for the limiter longer
    /// and longer.
    pub fn accounts_served_by_limiter(&self) -> Result<Option<u64>> {
        if self.syncs_per_minute == 0 {
            return Ok(None);
        }
        Ok(self.accounts_served_at(self.sync_starts_per_account_day()?))
    }

    /// [`SyncSettings::accounts_served_by_limiter`] for accounts that each start `per_day`
    /// syncs a day (as [`SyncSettings::sync_starts`] counted them).
    pub fn accounts_served_at(&self, per_day: f64) -> Option<u64> {
        if self.syncs_per_minute == 0 || per_day <= 0.0 {
            return None;
        }
        Some((f64::from(self.syncs_per_minute) * 1440.0 / per_day).floor() as u64)
    }

    /// The schedules these settings describe.
    pub fn schedules(&self) -> Vec<ScheduleDef> {
        let def = |name: &str, cron: &str, kind: &str, args: serde_json::Value| ScheduleDef {
            name: name.to_string(),
            cron: cron.trim().to_string(),
            queue: MAINTENANCE_QUEUE.to_string(),
            kind: kind.to_string(),
            args,
        };
        vec![
            def(
                SCHEDULE_FULL_SYNC,
                &self.full_cron,
                KIND_SYNC_FAN_OUT,
                fan_out_args(Plan::Full),
            ),
            def(
                SCHEDULE_LIGHT_SYNC,
                &self.light_cron,
                KIND_SYNC_FAN_OUT,
                fan_out_args(Plan::Light),
            ),
            def(
                SCHEDULE_TOKEN_REFRESH,
                &self.token_refresh_cron,
                KIND_TOKEN_REFRESH_FAN_OUT,
                serde_json::json!({}),
            ),
            def(
                SCHEDULE_RETENTION,
                &self.retention_cron,
                KIND_RETENTION,
                serde_json::json!({}),
            ),
            jobs::reports::schedule(&self.reports_cron),
            jobs::competitors::schedule(&self.competitors),
        ]
    }
}

/// The arguments of a sync schedule's fan-out (the scheduler adds `schedule` and `tick`).
fn fan_out_args(plan: Plan) -> serde_json::Value {
    serde_json::json!({ "plan": plan.as_str() })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::{DateTime, Duration, Utc};

    use super::*;

    /// The fleet the default start limiter must keep on the default schedules.
    const FLEET: i64 = 10_000;

    #[test]
    fn the_default_schedules_start_24_syncs_per_account_day() {
        // 4 full syncs, each standing in for one of the 24 light syncs.
        let s = SyncSettings::default();
        assert_eq!(s.sync_starts_per_account_day().unwrap(), 24.0);
        let daily = SyncSettings {
            full_cron: "0 0 2 * * *".into(),
            light_cron: "0 0 */2 * * *".into(),
            ..SyncSettings::default()
        };
        assert_eq!(daily.sync_starts_per_account_day().unwrap(), 12.0);
    }

    #[test]
    fn the_limiter_serves_its_rate_times_a_day_over_each_accounts_starts() {
        let at = |n| SyncSettings {
            syncs_per_minute: n,
            ..SyncSettings::default()
        };
        assert_eq!(at(5).accounts_served_by_limiter().unwrap(), Some(300));
        assert_eq!(at(500).accounts_served_by_limiter().unwrap(), Some(30_000));
        assert_eq!(at(0).accounts_served_by_limiter().unwrap(), None);
    }

    /// Computed, no timing: with the default limiter, a 10,000-account fleet on the default
    /// schedules is served on average with room to spare, and the day's busiest minute (its
    /// syncs falling due at the fan-out's own offsets, `phase::due_at`, less the light syncs
    /// a full sync stands in for) stays under the limit, so no sync waits for the next minute.
    #[test]
    fn the_default_limiter_keeps_ten_thousand_accounts_on_their_schedules() {
        let s = SyncSettings::default();
        assert_eq!(s.syncs_per_minute, DEFAULT_SYNCS_PER_MINUTE);
        let served = s.accounts_served_by_limiter().unwrap().unwrap();
        assert!(
            served >= 2 * FLEET as u64,
            "the default {} starts a minute keep only {served} accounts",
            s.syncs_per_minute
        );

        let day: DateTime<Utc> = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        let mut per_minute: HashMap<i64, u32> = HashMap::new();
        let full = CronExpr::parse(&s.full_cron).unwrap();
        let light = CronExpr::parse(&s.light_cron).unwrap();
        for (expr, is_light) in [(&full, false), (&light, true)] {
            let ticks = crate::phase::ticks_between(
                expr,
                day - Duration::seconds(1),
                day + Duration::days(1),
                usize::MAX,
            )
            .unwrap();
            for (tick, period) in ticks {
                let covering = if is_light {
                    crate::phase::Covering::of(
                        &[crate::phase::FullSchedule::steady(full.clone())],
                        tick,
                        period,
                    )
                } else {
                    crate::phase::Covering::default()
                };
                for account in (1..=FLEET).map(store::AccountId::new) {
                    let due = crate::phase::due_at(tick, account, period);
                    if !covering.covers(account, due) {
                        *per_minute.entry(due.timestamp() / 60).or_default() += 1;
                    }
                }
            }
        }
        let busiest = per_minute.values().copied().max().unwrap();
        let mean = f64::from(per_minute.values().sum::<u32>()) / 1440.0;
        assert!(
            (166.0..167.0).contains(&mean),
            "{mean} starts a minute on average"
        );
        assert!(
            busiest < s.syncs_per_minute,
            "the busiest minute starts {busiest} syncs, over the limiter's {}",
            s.syncs_per_minute
        );
    }
}
