//! Rules about source files themselves: every Rust file opens with a `//!` header saying
//! what it is for, and a file of code past [`MAX_LINES`] lines has an entry in [`BIG_FILES`]
//! saying why. Test code (`tests/` directories and the `testkit` conformance suites) may
//! grow longer: it is a list of cases.

use crate::Violation;

/// Lines a file of code may have without an entry in [`BIG_FILES`].
pub const MAX_LINES: usize = 800;

/// Files of code longer than [`MAX_LINES`], with the reason, largest first.
pub const BIG_FILES: &[(&str, &str)] = &[
    (
        "crates/igsync/src/cmd/export.rs",
        "one export pipeline: incremental state, atomic staging, the reader task ahead across accounts and the writer, in the order a run takes them",
    ),
    (
        "crates/igsync/src/cli.rs",
        "the whole command-line grammar in one place: every subcommand's arguments, checks and help text",
    ),
    (
        "crates/igsync/src/bench/day.rs",
        "one scenario end to end: the fleet, the clock steps, and each figure with its definition and arithmetic",
    ),
    (
        "crates/server/src/openapi.rs",
        "the operations table is data: one `add` per route with its parameters and statuses, in router order (the schemas are generated from types)",
    ),
    (
        "crates/sync/src/jobs/orchestrator.rs",
        "a sync's job, running the plan's stages (and the step job of chains queued by earlier versions), whose every outcome (stage done, success, rejected token, snooze, retry, discard, timeout, failure) keeps the run's rows true",
    ),
    (
        "crates/graph/src/parse.rs",
        "every response parser with its no-panic property tests (~360 lines are tests)",
    ),
    (
        "crates/simulator/src/catalog.rs",
        "the metric catalog is data from the changelog, per version, product type and date",
    ),
    (
        "crates/igsync/src/config.rs",
        "the KEYS table declares every setting once; ~190 lines are tests",
    ),
];

/// A source file without its `//!` header.
pub fn check_headers(sources: &[(String, String)]) -> Vec<Violation> {
    sources
        .iter()
        .filter(|(_, text)| {
            let first = text.lines().next().unwrap_or("");
            first
                .strip_prefix("//!")
                .is_none_or(|rest| rest.trim().is_empty())
        })
        .map(|(path, _)| {
            Violation::new(
                format!("{path}:1"),
                "no `//!` header: open the file with a line saying what it is for",
            )
        })
        .collect()
}

/// Test code may be long: integration tests and the conformance suites.
pub fn is_test_code(path: &str) -> bool {
    path.contains("/tests/") || path.contains("/testkit/") || path.ends_with("/testkit.rs")
}

/// Files of code past [`MAX_LINES`] without an entry in `allowed`, and entries that are stale
/// (the file shrank or is gone).
pub fn check_sizes(sources: &[(String, String)], allowed: &[(&str, &str)]) -> Vec<Violation> {
    let mut violations = Vec::new();
    for (path, text) in sources {
        if is_test_code(path) {
            continue;
        }
        let lines = text.lines().count();
        let listed = allowed.iter().any(|(p, _)| p == path);
        if lines > MAX_LINES && !listed {
            violations.push(Violation::new(
                path.clone(),
                format!(
                    "{lines} lines (more than {MAX_LINES}): split it, or add it to xtask's \
                     files::BIG_FILES with the reason"
                ),
            ));
        }
    }
    for (path, _) in allowed {
        let still_big = sources
            .iter()
            .find(|(p, _)| p == path)
            .is_some_and(|(_, text)| text.lines().count() > MAX_LINES);
        if !still_big {
            violations.push(Violation::new(
                *path,
                format!(
                    "stale entry in xtask's files::BIG_FILES: the file is gone or has at most \
                     {MAX_LINES} lines now; remove the entry"
                ),
            ));
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> (String, String) {
        (path.to_owned(), text.to_owned())
    }

    fn long(lines: usize) -> String {
        "//! A file.\n".to_owned() + &"fn f() {}\n".repeat(lines - 1)
    }

    #[test]
    fn a_file_without_its_header_is_a_violation() {
        let sources = [
            file("crates/a/src/good.rs", "//! Does one thing.\nfn f() {}\n"),
            file("crates/a/src/plain.rs", "// A plain comment.\nfn f() {}\n"),
            file("crates/a/src/late.rs", "use std::fmt;\n//! Too late.\n"),
            file("crates/a/src/empty_header.rs", "//!\nfn f() {}\n"),
            file("crates/a/tests/it/main.rs", "mod cases;\n"),
            file("crates/a/src/blank.rs", ""),
        ];
        let places: Vec<String> = check_headers(&sources)
            .into_iter()
            .map(|v| v.place)
            .collect();
        assert_eq!(
            places,
            [
                "crates/a/src/plain.rs:1",
                "crates/a/src/late.rs:1",
                "crates/a/src/empty_header.rs:1",
                "crates/a/tests/it/main.rs:1",
                "crates/a/src/blank.rs:1",
            ]
        );
    }

    #[test]
    fn a_long_file_of_code_needs_an_entry() {
        let sources = [
            file("crates/a/src/ok.rs", &long(MAX_LINES)),
            file("crates/a/src/big.rs", &long(MAX_LINES + 1)),
        ];
        let violations = check_sizes(&sources, &[]);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].place, "crates/a/src/big.rs");
        assert!(violations[0].message.contains("801 lines"));
        assert!(check_sizes(&sources, &[("crates/a/src/big.rs", "data")]).is_empty());
    }

    #[test]
    fn long_test_code_needs_no_entry() {
        let sources = [
            file("crates/a/tests/it/api.rs", &long(2000)),
            file("crates/queue/src/testkit/outcomes.rs", &long(2000)),
            file("crates/sync/src/testkit.rs", &long(2000)),
        ];
        assert!(check_sizes(&sources, &[]).is_empty());
    }

    #[test]
    fn a_stale_entry_is_a_violation() {
        let sources = [file("crates/a/src/small.rs", &long(10))];
        let allowed = [
            ("crates/a/src/small.rs", "was big"),
            ("crates/a/src/gone.rs", "deleted"),
        ];
        let violations = check_sizes(&sources, &allowed);
        assert_eq!(violations.len(), 2, "{violations:?}");
        assert!(violations.iter().all(|v| v.message.contains("stale")));
    }
}
