//! The conventions of a command-line tool: shell completions and manual pages generated from
//! the same definition as `--help`, and logs that are plain text when they go to a file or a
//! pipe (no terminal escape sequences in anyone's log files).

use std::path::Path;
use std::process::{Command, Output};

use crate::support::TempDir;

fn igsync(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_igsync"));
    cmd.current_dir(dir)
        .env_remove("IGSYNC_DATABASE_URL")
        .env_remove("IGSYNC_SECRET_KEY")
        .env_remove("IGSYNC_LOG_FORMAT")
        .env_remove("IGSYNC_LOG_LEVEL")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR");
    cmd
}

fn run(dir: &Path, args: &[&str]) -> Output {
    igsync(dir).args(args).output().unwrap()
}

fn stdout_of(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} fails: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The subcommands a user can type (the internal `bench-load` is not one of them).
const SUBCOMMANDS: &[&str] = &[
    "migrate",
    "accounts",
    "sync",
    "worker",
    "history",
    "schedules",
    "report",
    "serve",
    "keys",
    "simulate",
    "demo",
    "bench",
    "doctor",
    "config",
    "completions",
    "man",
];

#[test]
fn completions_offer_every_subcommand_in_every_shell() {
    let dir = TempDir::new("completions");
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout_of(&run(dir.path(), &["completions", shell]), shell);
        for word in SUBCOMMANDS {
            assert!(script.contains(word), "{shell} completion offers {word}");
        }
        assert!(
            script.contains("rotate-secret") && script.contains("database-url"),
            "{shell} completion reaches nested subcommands and global flags"
        );
        assert!(
            !script.contains("bench-load"),
            "{shell} completion hides the internal load generator"
        );
    }
}

/// The bash script is valid bash and completes what it should: `igsync sy<TAB>` gives
/// `sync`, `igsync accounts <TAB>` lists the account subcommands.
#[test]
fn bash_completion_completes() {
    let dir = TempDir::new("completions-bash");
    let script = stdout_of(&run(dir.path(), &["completions", "bash"]), "bash");
    let path = dir.path().join("igsync.bash");
    std::fs::write(&path, script).unwrap();
    let probe = format!(
        "source {}\n\
         COMP_WORDS=(igsync sy); COMP_CWORD=1; _igsync igsync sy igsync\n\
         echo \"first: ${{COMPREPLY[*]}}\"\n\
         COMP_WORDS=(igsync accounts ''); COMP_CWORD=2; _igsync igsync '' accounts\n\
         echo \"second: ${{COMPREPLY[*]}}\"\n",
        path.display()
    );
    let out = Command::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg(probe)
        .output()
        .unwrap();
    let text = stdout_of(&out, "bash with the completion script");
    assert!(text.contains("first: sync\n"), "{text}");
    let second = text.lines().find(|l| l.starts_with("second:")).unwrap();
    for word in ["add", "list", "remove", "pause", "resume", "set-timezone"] {
        assert!(second.split(' ').any(|w| w == word), "{word} in {second}");
    }
}

#[test]
fn man_page_is_a_roff_page_of_every_command() {
    let dir = TempDir::new("man");
    let page = stdout_of(&run(dir.path(), &["man"]), "man");
    assert!(
        page.lines().any(|l| l.starts_with(".TH IGSYNC 1")),
        "{page}"
    );
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS"] {
        assert!(page.contains(section), "the page has {section}");
    }
    // The NAME line is one short line, as `whatis` and `apropos` expect.
    let name = page
        .lines()
        .skip_while(|l| *l != ".SH NAME")
        .nth(1)
        .unwrap();
    assert!(
        name.starts_with("igsync \\- ") && name.len() < 100,
        "{name}"
    );
    for word in SUBCOMMANDS {
        assert!(page.contains(word), "the page names {word}");
    }
    assert!(!page.contains("bench\\-load") && !page.contains("bench-load"));
    // Every line is text or a request: no stray control bytes.
    assert!(
        page.bytes().all(|b| b == b'\n' || !b.is_ascii_control()),
        "plain roff text"
    );
}

#[test]
fn man_out_writes_one_page_per_command() {
    let dir = TempDir::new("man-out");
    let target = dir.path().join("share/man/man1");
    let listing = stdout_of(
        &run(dir.path(), &["man", "--out", target.to_str().unwrap()]),
        "man --out",
    );
    let mut written: Vec<&str> = listing.lines().collect();
    written.sort_unstable();
    let mut files: Vec<String> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    files.sort_unstable();
    assert_eq!(written, files, "stdout lists exactly the pages written");
    for (file, title) in [
        ("igsync.1", ".TH IGSYNC 1"),
        ("igsync-sync.1", ".TH IGSYNC-SYNC 1"),
        ("igsync-accounts-add.1", ".TH IGSYNC-ACCOUNTS-ADD 1"),
        ("igsync-completions.1", ".TH IGSYNC-COMPLETIONS 1"),
    ] {
        let page = std::fs::read_to_string(target.join(file)).unwrap();
        assert!(page.contains(title), "{file} starts with {title}");
    }
    assert!(
        !files.iter().any(|f| f.contains("bench-load")),
        "no page for the internal load generator"
    );
}

/// Completions and manual pages describe the command line only: a broken configuration file
/// in the working directory, which stops every other command, does not stop them.
#[test]
fn completions_and_man_need_no_configuration() {
    let dir = TempDir::new("completions-config");
    std::fs::write(dir.path().join("igsync.toml"), "database_url = [broken\n").unwrap();
    let migrate = run(dir.path(), &["migrate"]);
    assert!(!migrate.status.success(), "the broken file stops migrate");
    stdout_of(&run(dir.path(), &["completions", "zsh"]), "completions zsh");
    stdout_of(&run(dir.path(), &["man"]), "man");
}

#[test]
fn an_unknown_shell_is_one_line() {
    let dir = TempDir::new("completions-bad");
    let out = run(dir.path(), &["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("tcsh") && err.contains("bash"), "{err}");
    assert!(out.stdout.is_empty());
}

/// With standard error on a pipe (as under systemd, docker or `2>file`), logs carry no ESC
/// byte in either format.
#[test]
fn logs_in_a_pipe_are_plain_text() {
    let dir = TempDir::new("plain-logs");
    for format in ["pretty", "json"] {
        let url = format!("sqlite://{}/{format}.db", dir.path().display());
        let out = igsync(dir.path())
            .args(["--database-url", &url, "--log-format", format, "migrate"])
            .env("RUST_LOG", "info")
            .output()
            .unwrap();
        let logs = String::from_utf8(out.stderr).unwrap();
        assert!(out.status.success(), "{logs}");
        assert!(
            logs.contains("applied migration"),
            "{format}: the migration logs at info: {logs}"
        );
        assert!(
            !logs.contains('\u{1b}'),
            "{format}: no escape sequences in {logs:?}"
        );
    }
}
