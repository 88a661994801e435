//! What code may call, by crate: only `igsync` reads the environment (libraries take their
//! settings as arguments), and `analytics` has no clock and no IO (`now` is an argument).
//! (That the job queue uses nothing of Instagram's is no longer a rule here: `queue` is its
//! own crate and `deps` keeps its dependencies to `clock`.) A heuristic over source lines,
//! comments skipped; test code and examples (benchmark programs) are exempt.

use crate::Violation;
use crate::files::is_test_code;

/// A rule: code outside `allowed_under` must not contain any of `patterns`.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub name: &'static str,
    pub patterns: &'static [&'static str],
    /// Applies to files under these directories; empty: everywhere.
    pub applies_under: &'static [&'static str],
    /// Never applies to files under these directories.
    pub allowed_under: &'static [&'static str],
    pub why: &'static str,
}

pub const RULES: &[Rule] = &[
    Rule {
        name: "environment",
        patterns: &[
            "env::var(",
            "env::var_os(",
            "env::vars(",
            "env::args(",
            "env::args_os(",
        ],
        applies_under: &[],
        allowed_under: &["crates/igsync/"],
        why: "only igsync reads the environment; pass the value in as an argument",
    },
    Rule {
        name: "clock",
        patterns: &["::now("],
        applies_under: &["crates/analytics/"],
        allowed_under: &[],
        why: "analytics has no clock: `now` is an argument",
    },
    Rule {
        name: "IO",
        patterns: &["std::fs", "std::net", "std::io", "std::process", "tokio"],
        applies_under: &["crates/analytics/"],
        allowed_under: &[],
        why: "analytics is pure functions: no IO",
    },
];

/// Files that break a rule for a reason: `(path, rule name, reason)`.
pub const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "crates/xtask/src/calls.rs",
        "environment",
        "this check's own patterns and bad inputs",
    ),
    (
        "crates/queue/src/worker.rs",
        "environment",
        "the last fallbacks for the machine's name in worker ids (HOSTNAME, COMPUTERNAME)",
    ),
    (
        "crates/store-postgres/src/scratch.rs",
        "environment",
        "scratch databases for tests and benchmarks find their server in DATABASE_URL",
    ),
];

fn exempt(path: &str) -> bool {
    is_test_code(path) || path.contains("/examples/") || path.contains("/benches/")
}

/// Every broken rule in `sources`, less `allowed`; and allowances that match nothing.
pub fn check(
    sources: &[(String, String)],
    rules: &[Rule],
    allowed: &[(&str, &str, &str)],
) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut used = vec![false; allowed.len()];
    for (path, text) in sources {
        if exempt(path) {
            continue;
        }
        for rule in rules {
            let applies = rule.applies_under.is_empty()
                || rule.applies_under.iter().any(|dir| path.starts_with(dir));
            if !applies || rule.allowed_under.iter().any(|dir| path.starts_with(dir)) {
                continue;
            }
            let hits: Vec<(usize, &str)> = text
                .lines()
                .enumerate()
                .filter(|(_, line)| !line.trim_start().starts_with("//"))
                .filter_map(|(i, line)| {
                    rule.patterns
                        .iter()
                        .find(|p| line.contains(*p))
                        .map(|p| (i + 1, *p))
                })
                .collect();
            if hits.is_empty() {
                continue;
            }
            if let Some(k) = allowed
                .iter()
                .position(|(p, name, _)| p == path && *name == rule.name)
            {
                used[k] = true;
                continue;
            }
            for (line, pattern) in hits {
                violations.push(Violation::new(
                    format!("{path}:{line}"),
                    format!("`{pattern}` ({}): {}", rule.name, rule.why),
                ));
            }
        }
    }
    for ((path, name, _), used) in allowed.iter().zip(used) {
        if !used {
            violations.push(Violation::new(
                *path,
                format!(
                    "stale entry in xtask's calls::ALLOWED ({name}): the file no longer does \
                     it; remove the entry"
                ),
            ));
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> Vec<(String, String)> {
        vec![(path.to_owned(), text.to_owned())]
    }

    #[test]
    fn a_library_reading_the_environment_is_a_violation() {
        let code = "//! x\n// std::env::var(\"X\") in a comment is fine\nfn f() {\n    \
                    let v = std::env::var(\"GRAPH_URL\");\n}\n";
        let violations = check(&file("crates/graph/src/client.rs", code), RULES, &[]);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].place, "crates/graph/src/client.rs:4");
        assert!(violations[0].message.contains("only igsync"));
    }

    #[test]
    fn the_binary_tests_and_examples_may_read_it() {
        let code = "fn f() { let _ = std::env::var(\"X\"); }";
        for path in [
            "crates/igsync/src/config.rs",
            "crates/sync/tests/it/main.rs",
            "crates/graph/examples/bench.rs",
        ] {
            assert!(check(&file(path, code), RULES, &[]).is_empty(), "{path}");
        }
    }

    #[test]
    fn a_clock_or_io_in_analytics_is_a_violation() {
        let code = "fn age() -> i64 { (Utc::now() - posted).num_days() }\n\
                    fn load() { std::fs::read(\"x\"); }\n";
        let violations = check(&file("crates/analytics/src/growth.rs", code), RULES, &[]);
        let places: Vec<&str> = violations.iter().map(|v| v.place.as_str()).collect();
        assert_eq!(
            places,
            [
                "crates/analytics/src/growth.rs:1",
                "crates/analytics/src/growth.rs:2"
            ]
        );
        // The same code elsewhere is not analytics' business.
        assert!(check(&file("crates/sync/src/engine.rs", code), RULES, &[]).is_empty());
    }

    #[test]
    fn an_allowance_covers_its_file_and_a_stale_one_is_reported() {
        let code = "fn f() { std::env::var(\"HOSTNAME\"); }";
        let allowed = [
            ("crates/queue/src/worker.rs", "environment", "hostname"),
            ("crates/sync/src/engine.rs", "environment", "gone"),
        ];
        let violations = check(&file("crates/queue/src/worker.rs", code), RULES, &allowed);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].place, "crates/sync/src/engine.rs");
        assert!(violations[0].message.contains("stale"));
    }
}
