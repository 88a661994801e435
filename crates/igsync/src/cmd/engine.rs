//! Building the sync engine from the configuration.

use anyhow::Context;
use store::DynStore;
use sync::{AlertSettings, Clock, Engine, EngineConfig, RetentionSettings, SyncSettings};

use crate::config::Config;
use crate::db;

/// The sync settings the configuration describes.
pub(crate) fn settings(config: &Config) -> SyncSettings {
    let s = &config.sync;
    let r = &config.retention;
    let day = std::time::Duration::from_secs(86_400);
    SyncSettings {
        concurrency: s.concurrency,
        max_attempts: s.max_attempts,
        backoff: s.backoff,
        job_timeout: s.job_timeout,
        lease: s.lease,
        syncs_per_minute: s.syncs_per_minute,
        full_cron: s.full_cron.clone(),
        light_cron: s.light_cron.clone(),
        token_refresh_cron: s.token_refresh_cron.clone(),
        retention_cron: s.retention_cron.clone(),
        token_refresh_within_days: s.token_refresh_within_days,
        account_insights_backfill_days: s.account_insights_backfill_days,
        account_insights_settling_days: s.account_insights_settling_days,
        retention: RetentionSettings {
            completed_keep: r.completed_keep,
            completed_max_age: day * r.completed_max_age_days,
            failed_keep: r.failed_keep,
            failed_max_age: day * r.failed_max_age_days,
        },
        alerts: AlertSettings {
            follower_growth_threshold: config.alerts.follower_growth_threshold,
            webhook_url: config.alerts.webhook_url.clone(),
            webhook_secret: config.alerts.webhook_secret.clone(),
            ..AlertSettings::default()
        },
        ..SyncSettings::default()
    }
}

/// The engine over an open store. Without a secret key the engine still serves the queue
/// and the dashboard; syncs then fail with a clear error naming the missing key.
pub(crate) async fn build(config: &Config, store: DynStore) -> anyhow::Result<Engine> {
    let cipher = match config.secret_key {
        Some(_) => Some(db::cipher(config, &store).await?),
        None => None,
    };
    Engine::new(EngineConfig {
        store,
        graph: super::graph::clients(config)?,
        cipher,
        settings: settings(config),
        clock: Clock::system(),
    })
    .context("invalid sync settings")
}
