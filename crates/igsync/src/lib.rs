//! The `igsync` binary: command line, configuration, telemetry and wiring.
//!
//! This is the only crate that reads the environment or config files, installs a tracing
//! subscriber, picks a database dialect from the URL, and uses `anyhow`. The library part
//! exists so the integration tests can reach the configuration parser; `main` is
//! [`run_main`].

mod bench;
mod cli;
mod cmd;
pub mod config;
mod db;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, LogFormatArg};
use crate::config::{Config, Overrides};

/// Parses the command line, runs the command and returns the process exit code.
pub fn run_main() -> ExitCode {
    install_panic_hook();
    // HTTPS everywhere in the process (Graph API, webhooks, doctor) uses rustls with ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            // `{:#}` prints the context chain on one line and never a backtrace.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(result) = cmd::without_config(&cli.command) {
        return result;
    }
    let overrides = Overrides {
        database_url: cli.database_url.clone(),
        log_format: cli.log_format.map(|f| match f {
            LogFormatArg::Pretty => "pretty".to_string(),
            LogFormatArg::Json => "json".to_string(),
        }),
        ..cmd::overrides_of(&cli.command)
    };
    let env = |name: &str| std::env::var(name).ok();
    let config = Config::load(cli.config.as_deref(), &overrides, &env)?;
    telemetry::init(&config, cmd::default_log_level(&cli.command));
    cmd::dispatch(cli.command, config).await
}

/// Help and version go to standard output as clap renders them; a usage error becomes one
/// line on standard error (the message, allowed values and tip, without the usage block)
/// and exit code 2.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
        || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    {
        let _ = e.print();
        return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let rendered = e.render().to_string();
    let mut parts = Vec::new();
    let mut in_usage = false;
    for line in rendered.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") {
            in_usage = true;
            continue;
        }
        if line.is_empty() {
            in_usage = false;
            continue;
        }
        if in_usage || line.starts_with("For more information") {
            continue;
        }
        parts.push(line.to_string());
    }
    let mut message = parts.join(" ");
    if !message.starts_with("error:") {
        message = format!("error: {message}");
    }
    eprintln!("{message} (see `igsync --help`)");
    ExitCode::from(2)
}

/// A panic is a bug: say so in one line instead of dumping a backtrace on the user, unless
/// they ask for one with `IGSYNC_BACKTRACE=1`. A closed standard output or error (`igsync
/// history | head -1`) is no bug: the reader has what it wanted, so igsync stops quietly
/// with success, as other command-line tools do.
fn install_panic_hook() {
    let backtrace = std::env::var_os("IGSYNC_BACKTRACE").is_some();
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        if is_closed_output(&message) {
            std::process::exit(0);
        }
        if backtrace {
            default(info);
            return;
        }
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "internal error: {message}{location} (a bug in igsync; rerun with IGSYNC_BACKTRACE=1 \
             and report it)"
        );
    }));
}

/// Whether a panic is the standard library's report of a write to a closed pipe
/// (`println!` panics on it; Rust ignores SIGPIPE, so the write fails with EPIPE).
fn is_closed_output(message: &str) -> bool {
    (message.starts_with("failed printing to stdout")
        || message.starts_with("failed printing to stderr"))
        && (message.contains("Broken pipe") || message.contains("os error 32"))
}
