//! Building the sync engine from the configuration.

use anyhow::{Context, bail};
use store::DynStore;
use sync::{Clock, Engine, EngineConfig};

use crate::config::Config;
use crate::db;

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
        settings: config.sync.clone(),
        clock: Clock::system(),
    })
    .context("invalid sync settings")
}

/// The engine for a process that runs queue workers (`worker`, `serve`, `sync`), after
/// [`check_secret_key`]: a key that cannot open the stored tokens is a configuration error
/// to report once at start, not a failed sync and an alert for every account.
pub(crate) async fn build_for_workers(config: &Config, store: DynStore) -> anyhow::Result<Engine> {
    let accounts = read_accounts(&store).await?;
    check_secret_key_of(config, &store, &accounts).await?;
    warn_schedules(config, &accounts);
    build(config, store).await
}

async fn read_accounts(store: &DynStore) -> anyhow::Result<Vec<store::Account>> {
    store
        .account_list()
        .await
        .context("cannot read the accounts")
}

/// Logs, once at start, what `igsync doctor` warns of in the sync schedules: no full sync
/// standing in for a light sync, a start limiter too low for the active accounts.
fn warn_schedules(config: &Config, accounts: &[store::Account]) {
    for check in super::doctor::schedules(config, super::doctor::active(accounts)) {
        match check {
            super::doctor::Check::Warn(what, fix) | super::doctor::Check::Fail(what, fix) => {
                tracing::warn!(fix = %fix, "{what}");
            }
            super::doctor::Check::Ok(_) => {}
        }
    }
}

/// Checks, as `igsync doctor` does, that the configured secret key opens the stored account
/// tokens: no key while tokens are stored, or a key that opens none of them, is refused in
/// one line; a key that opens only some is logged as a warning naming the others.
pub(crate) async fn check_secret_key(config: &Config, store: &DynStore) -> anyhow::Result<()> {
    check_secret_key_of(config, store, &read_accounts(store).await?).await
}

/// [`check_secret_key`] over the accounts already read.
async fn check_secret_key_of(
    config: &Config,
    store: &DynStore,
    accounts: &[store::Account],
) -> anyhow::Result<()> {
    let sealed: Vec<_> = accounts.iter().filter(|a| a.token.is_some()).collect();
    if sealed.is_empty() {
        return Ok(());
    }
    let cipher = db::cipher(config, store).await?;
    let unreadable: Vec<_> = sealed
        .iter()
        .filter(|a| a.token.as_ref().is_some_and(|t| cipher.decrypt(t).is_err()))
        .collect();
    if unreadable.len() == sealed.len() {
        bail!(
            "the configured secret key opens none of the {} stored account token(s): it is not \
             the key they were encrypted with; set IGSYNC_SECRET_KEY (or `secret_key` in \
             igsync.toml) to that key (`igsync doctor` checks it); no worker runs without it",
            sealed.len()
        );
    }
    if !unreadable.is_empty() {
        let names: Vec<String> = unreadable
            .iter()
            .map(|a| format!("@{}", a.username))
            .collect();
        tracing::warn!(
            accounts = %names.join(", "),
            "the secret key cannot open {} of {} stored tokens: those accounts fail to sync until \
             they are added again with `igsync accounts add`",
            unreadable.len(),
            sealed.len()
        );
    }
    Ok(())
}
