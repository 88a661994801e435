//! The command line: clear one-line errors and non-zero exits for bad input.

use std::process::Command;

fn igsync() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_igsync"));
    cmd.env_remove("IGSYNC_DATABASE_URL")
        .env_remove("IGSYNC_SECRET_KEY")
        .env_remove("RUST_LOG");
    cmd
}

#[test]
fn help_reads_well() {
    let out = igsync().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for word in [
        "migrate", "accounts", "sync", "worker", "serve", "report", "demo", "doctor",
    ] {
        assert!(text.contains(word), "--help lists {word}: {text}");
    }
}
