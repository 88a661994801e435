//! Logging: one subscriber for the whole process, pretty for people or JSON for machines,
//! on standard error so standard output stays clean for command results. Colours only when
//! standard error is a terminal (and `NO_COLOR` is unset): a log file or a pipe gets plain
//! text without escape sequences.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

/// Installs the subscriber. `quiet_default` is the filter used when the user configured
/// nothing (commands that print tables stay quiet; servers log at info). `RUST_LOG` wins
/// over `log.level` (already checked by the configuration) when it is a valid filter.
pub(crate) fn init(config: &Config, quiet_default: &str) {
    let explicit = std::env::var("RUST_LOG")
        .ok()
        .filter(|f| EnvFilter::try_new(f).is_ok())
        .or_else(|| config.log_level.clone());
    let filter = match explicit {
        Some(f) => EnvFilter::try_new(&f).unwrap_or_else(|_| EnvFilter::new(quiet_default)),
        None => EnvFilter::new(quiet_default),
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal() && !no_color)
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
        LogFormat::Pretty => builder.with_target(false).try_init(),
    };
}
