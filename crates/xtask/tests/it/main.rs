//! Tidy over the real workspace: each test runs one check of `xtask` on the files under
//! `crates/` and lists every violation, one per line, with what to do about it.

use xtask::{Violation, Workspace, calls, deps, files, sql};

fn workspace() -> Workspace {
    Workspace::read(&Workspace::root()).expect("the workspace's files are readable")
}

fn assert_clean(check: &str, violations: Vec<Violation>) {
    let listed: Vec<String> = violations.iter().map(Violation::to_string).collect();
    assert!(
        listed.is_empty(),
        "tidy: {check}: {} violation(s)\n{}",
        listed.len(),
        listed.join("\n")
    );
}

#[test]
fn dependencies_follow_the_architecture() {
    let workspace = workspace();
    assert!(
        workspace.manifests.len() >= 10,
        "every crate is read: {:?}",
        workspace
            .manifests
            .iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>()
    );
    assert_clean("dependency direction", deps::check(&workspace.manifests));
}

#[test]
fn sql_lives_in_the_dialect_crates() {
    let workspace = workspace();
    assert_clean(
        "SQL outside the dialect crates",
        sql::check(&workspace.sources, &workspace.sql_files, sql::ALLOWED),
    );
}

#[test]
fn every_source_file_has_its_header() {
    let workspace = workspace();
    assert!(workspace.sources.len() > 100, "every source file is read");
    assert_clean("//! headers", files::check_headers(&workspace.sources));
}

#[test]
fn big_files_are_accounted_for() {
    let workspace = workspace();
    assert_clean(
        "file sizes",
        files::check_sizes(&workspace.sources, files::BIG_FILES),
    );
}

#[test]
fn code_calls_only_what_its_crate_may() {
    let workspace = workspace();
    assert_clean(
        "calls",
        calls::check(&workspace.sources, calls::RULES, calls::ALLOWED),
    );
}
