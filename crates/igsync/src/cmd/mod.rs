//! One module per subcommand; [`dispatch`] runs the one the user asked for.

mod accounts;
mod bench;
mod competitors;
mod completions;
mod connect;
mod dbcopy;
mod demo;
mod doctor;
pub(crate) mod engine;
pub(crate) mod export;
mod export_parquet;
pub(crate) mod graph;
mod keys;
mod report;
mod reports;
mod run;
mod serve;
mod simulate;
mod warehouse;
mod webhooks;
mod workspaces;

use std::process::ExitCode;

use anyhow::{Context, bail};
use store::{Account, DynStore};

use crate::cli::Command;
use crate::config::{Config, Overrides};
use crate::db;

/// Flags of a subcommand that override configuration keys.
pub(crate) fn overrides_of(command: &Command) -> Overrides {
    match command {
        Command::Serve(args) => Overrides {
            listen: args.listen.clone(),
            ..Default::default()
        },
        Command::Worker(args) => Overrides {
            concurrency: args.concurrency.clone(),
            ..Default::default()
        },
        _ => Overrides::default(),
    }
}

/// Long-running commands log at info; commands that print results stay quiet unless
/// something goes wrong.
pub(crate) fn default_log_level(command: &Command) -> &'static str {
    match command {
        Command::Worker(_) | Command::Serve(_) | Command::Simulate(_) => "info",
        Command::Demo(_) => "warn,igsync=info",
        _ => "warn",
    }
}

/// Commands that describe the command line itself run before the configuration is read, so
/// a broken igsync.toml never stops `igsync completions` or `igsync man`.
pub(crate) fn without_config(command: &Command) -> Option<anyhow::Result<ExitCode>> {
    match command {
        Command::Completions(args) => Some(completions::completions(args)),
        Command::Man(args) => Some(completions::man(args)),
        _ => None,
    }
}

/// The audit entry (action, target) of a command that changes something, written after it
/// succeeds. Keys, workspaces and share links write their own, naming what they made.
fn change_of(command: &Command) -> Option<(&'static str, Option<String>)> {
    use crate::cli::{AccountsCommand as A, ReportsCommand as R, SchedulesCommand as S};
    let some = |s: &String| Some(s.clone());
    Some(match command {
        Command::Accounts(A::Add(_)) => ("accounts add", None),
        Command::Accounts(A::Connect(_)) => ("accounts connect", None),
        Command::Accounts(A::Remove { account, .. }) => ("accounts remove", some(account)),
        Command::Accounts(A::Pause { account }) => ("accounts pause", some(account)),
        Command::Accounts(A::Resume { account }) => ("accounts resume", some(account)),
        Command::Accounts(A::SetTimezone { account, .. }) => {
            ("accounts set-timezone", some(account))
        }
        Command::Sync(args) => ("sync", args.account.clone()),
        Command::Schedules(S::Pause { name }) => ("schedules pause", some(name)),
        Command::Schedules(S::Resume { name }) => ("schedules resume", some(name)),
        Command::Schedules(S::Run { name }) => ("schedules run", some(name)),
        Command::Reports(R::Schedule { .. }) => ("reports schedule", None),
        Command::Reports(R::Remove { id }) => ("reports remove", Some(id.to_string())),
        Command::Reports(R::SendNow { id }) => ("reports send-now", Some(id.to_string())),
        Command::Keys(crate::cli::KeysCommand::RotateSecret { .. }) => ("keys rotate-secret", None),
        _ => return None,
    })
}

pub(crate) async fn dispatch(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    let change = change_of(&command);
    let result = run_command(command, &config).await;
    if let Some((action, target)) = change
        && matches!(result, Ok(ExitCode::SUCCESS))
        && let Ok(store) = db::open(&config.database_url).await
    {
        workspaces::record(&*store, action, target).await;
    }
    result
}

async fn run_command(command: Command, config: &Config) -> anyhow::Result<ExitCode> {
    let config = config.clone();
    match command {
        Command::Migrate => migrate(&config).await,
        Command::Db(cmd) => dbcopy::run(cmd, &config).await,
        Command::Backup(args) => dbcopy::backup(args, &config).await,
        Command::Restore(args) => dbcopy::restore(args, &config).await,
        Command::Accounts(cmd) => accounts::run(cmd, &config).await,
        Command::Doctor => doctor::run(&config).await,
        Command::Config => {
            doctor::print_config(&config);
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions(args) => completions::completions(&args),
        Command::Man(args) => completions::man(&args),
        Command::Simulate(args) => simulate::run(args).await,
        Command::Sync(args) => run::sync(args, &config).await,
        Command::Worker(_) => run::worker(&config).await,
        Command::History(args) => run::history(args, &config).await,
        Command::Schedules(cmd) => run::schedules(cmd, &config).await,
        Command::Report(args) => report::run(args, &config).await,
        Command::Webhooks(cmd) => webhooks::run(cmd, &config).await,
        Command::Reports(cmd) => reports::run(cmd, &config).await,
        Command::Competitors(cmd) => competitors::run(cmd, &config).await,
        Command::Export(args) => export::run(args, &config).await,
        Command::Serve(args) => serve::run(args, &config).await,
        Command::Keys(cmd) => keys::run(cmd, &config).await,
        Command::Workspaces(cmd) => workspaces::run(cmd, &config).await,
        Command::Audit(cmd) => workspaces::audit(cmd, &config).await,
        Command::Share(cmd) => workspaces::share(cmd, &config).await,
        Command::Warehouse(cmd) => warehouse::run(cmd, &config).await,
        Command::Demo(args) => demo::run(args, &config).await,
        Command::Bench(args) => bench::run(args, &config).await,
        Command::BenchLoad(args) => {
            bench::load(
                &args.url,
                args.connections.clamp(1, 1024),
                args.seconds.clamp(1, 600),
                &args.key,
            )
            .await
        }
    }
}

async fn migrate(config: &Config) -> anyhow::Result<ExitCode> {
    let store = db::connect(&config.database_url).await?;
    let applied = store.migrate().await.context("migration failed")?;
    let shown = crate::config::redact_url(&config.database_url);
    if applied == 0 {
        println!("{shown}: schema is up to date ({})", store.dialect());
    } else {
        println!(
            "{shown}: applied {applied} migration(s) ({})",
            store.dialect()
        );
    }
    if let Some(schema) = warehouse::ensure_views(config).await? {
        println!("{shown}: warehouse views are current in schema {schema}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Finds an account by Instagram user id, @username or igsync id, in that order.
pub(crate) async fn resolve_account(store: &DynStore, arg: &str) -> anyhow::Result<Account> {
    match sync::accounts::find(store.as_ref(), arg).await? {
        Some(account) => Ok(account),
        None => bail!(
            "no account matches {:?}: give its Instagram user id, @username or igsync id \
             (see `igsync accounts list`)",
            arg.trim()
        ),
    }
}
