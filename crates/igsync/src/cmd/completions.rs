//! `igsync completions SHELL` and `igsync man`: the shell completion scripts and the roff
//! manual pages, generated from the same clap definition as `--help`, so they never drift.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};

/// Prints the completion script for one shell on standard output.
pub(super) fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut command = without_hidden_subcommands(Cli::command());
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "igsync", &mut out);
    write_stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// The command line as users see it: some generators (bash) offer hidden subcommands too,
/// and the internal `bench-load` has no business in a completion list.
fn without_hidden_subcommands(command: clap::Command) -> clap::Command {
    let visible: Vec<clap::Command> = command
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    let arguments: Vec<clap::Arg> = command.get_arguments().cloned().collect();
    let mut public = clap::Command::new("igsync")
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .args(arguments)
        .subcommands(visible)
        .subcommand_required(command.is_subcommand_required_set());
    if let Some(about) = command.get_about() {
        public = public.about(about.clone());
    }
    public
}

/// Prints `igsync.1`, or writes it and one page per visible subcommand into `--out`.
pub(super) fn man(args: &ManArgs) -> anyhow::Result<ExitCode> {
    let command = Cli::command();
    match &args.out {
        None => {
            let mut out = Vec::new();
            page(command)
                .render(&mut out)
                .context("cannot render the manual page")?;
            write_stdout(&out)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let mut written = Vec::new();
            write_pages(command, dir, &mut written)?;
            let listing: String = written.iter().map(|path| format!("{path}\n")).collect();
            write_stdout(listing.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A page titled in capitals, as manual pages are (`.TH IGSYNC-SYNC 1 …`). The top page's
/// NAME line is a one-liner; its description is the full text of `--help`.
fn page(mut command: clap::Command) -> clap_mangen::Man {
    if command.get_name() == "igsync"
        && let Some(about) = command.get_about().cloned()
    {
        command = command
            .about("keep the complete history of Instagram accounts' analytics")
            .long_about(about);
    }
    let title = command
        .get_display_name()
        .unwrap_or_else(|| command.get_name())
        .to_uppercase();
    clap_mangen::Man::new(command)
        .title(title)
        .source(concat!("igsync ", env!("CARGO_PKG_VERSION")))
        .manual("igsync manual")
}

/// Writes the page of `command` and, recursively, of its visible subcommands (`help` and the
/// hidden ones excluded).
fn write_pages(
    mut command: clap::Command,
    dir: &Path,
    written: &mut Vec<String>,
) -> anyhow::Result<()> {
    command = command.disable_help_subcommand(true);
    command.build();
    let man = page(command.clone());
    let path = man
        .generate_to(dir)
        .with_context(|| format!("cannot write a manual page into {}", dir.display()))?;
    written.push(path.display().to_string());
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub.clone(), dir, written)?;
    }
    Ok(())
}

/// Standard output may be a closed pipe (`igsync man | head`): that ends the command quietly
/// instead of panicking inside `println!`.
fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).context("cannot write to standard output"),
    }
}
