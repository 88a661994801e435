//! SQL lives only in the dialect crates (`store-sqlite`, `store-postgres`). A heuristic over
//! string literals outside them: the statement shapes `SELECT … FROM`, `INSERT INTO`,
//! `UPDATE … SET`, `DELETE FROM`, `CREATE TABLE/INDEX`, `ALTER TABLE` and `DROP TABLE/INDEX`,
//! in capitals as the project writes SQL. Comments are not read. `.sql` files are allowed
//! only in the dialect crates too.

use crate::Violation;
use crate::lexer::string_literals;

/// The crates that hold SQL.
pub const DIALECT_CRATES: &[&str] = &["crates/store-sqlite/", "crates/store-postgres/"];

/// A string literal outside the dialect crates that looks like SQL and is not.
#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    pub path: &'static str,
    /// A piece of the literal; empty: every literal of the file.
    pub fragment: &'static str,
    pub reason: &'static str,
}

pub const ALLOWED: &[Allowance] = &[
    Allowance {
        path: "crates/igsync/tests/it/export.rs",
        fragment: "SELECT count(*), count(DISTINCT account_id)",
        reason: "DuckDB's SQL over the exported Parquet files, not igsync's database",
    },
    Allowance {
        path: "crates/igsync/tests/it/api.rs",
        fragment: "'; DROP TABLE accounts; --",
        reason: "an SQL-injection probe sent to the API, which must treat it as data",
    },
    Allowance {
        path: "crates/igsync/tests/it/api.rs",
        fragment: "1; DELETE FROM jobs",
        reason: "an SQL-injection probe sent to the API, which must treat it as data",
    },
    Allowance {
        path: "crates/server/tests/it/api.rs",
        fragment: "\"; DROP TABLE jobs; --",
        reason: "an SQL-injection probe in the jobs search, which must treat it as data",
    },
    Allowance {
        path: "crates/queue/src/testkit/inspection.rs",
        fragment: "'; DROP TABLE jobs; --",
        reason: "job arguments and a search text both dialects must store and match as data",
    },
    Allowance {
        path: "crates/xtask/src/sql.rs",
        fragment: "",
        reason: "this check's own bad inputs",
    },
];

/// The SQL statement a text contains, if any: the shape that matched.
pub fn sql_shape(text: &str) -> Option<&'static str> {
    let words = words(text);
    let at = |i: usize| words.get(i).map(String::as_str);
    for (i, word) in words.iter().enumerate() {
        let shape = match (word.as_str(), at(i + 1), at(i + 2)) {
            ("SELECT", _, _) if words[i + 1..].iter().any(|w| w == "FROM") => "SELECT … FROM",
            ("INSERT", Some("INTO"), _) => "INSERT INTO",
            ("UPDATE", Some(table), Some("SET")) if is_identifier(table) => "UPDATE … SET",
            ("DELETE", Some("FROM"), _) => "DELETE FROM",
            ("CREATE", Some("TABLE" | "INDEX"), _) => "CREATE TABLE/INDEX",
            ("CREATE", Some("UNIQUE"), Some("INDEX")) => "CREATE TABLE/INDEX",
            ("ALTER", Some("TABLE"), _) => "ALTER TABLE",
            ("DROP", Some("TABLE" | "INDEX"), _) => "DROP TABLE/INDEX",
            _ => continue,
        };
        return Some(shape);
    }
    None
}

/// Words of a literal: identifiers and keywords, with escapes (`\n`, `\t`) and punctuation
/// as separators.
fn words(text: &str) -> Vec<String> {
    let text = text.replace("\\n", " ").replace("\\t", " ");
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn is_identifier(word: &str) -> bool {
    word.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

fn in_dialect_crate(path: &str) -> bool {
    DIALECT_CRATES.iter().any(|dir| path.starts_with(dir))
}

/// SQL in string literals and `.sql` files outside the dialect crates, less `allowed`; and
/// every allowance that no longer matches anything.
pub fn check(
    sources: &[(String, String)],
    sql_files: &[String],
    allowed: &[Allowance],
) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut used = vec![false; allowed.len()];
    for (path, text) in sources {
        if in_dialect_crate(path) {
            continue;
        }
        for literal in string_literals(text) {
            let Some(shape) = sql_shape(&literal.text) else {
                continue;
            };
            let allowance = allowed.iter().position(|a| {
                a.path == path && (a.fragment.is_empty() || literal.text.contains(a.fragment))
            });
            match allowance {
                Some(k) => used[k] = true,
                None => violations.push(Violation::new(
                    format!("{path}:{}", literal.line),
                    format!(
                        "SQL ({shape}) outside store-sqlite and store-postgres: move it behind \
                         a Store method, or add an allowance with its reason to xtask's \
                         sql::ALLOWED if it is not SQL"
                    ),
                )),
            }
        }
    }
    for path in sql_files {
        if !in_dialect_crate(path) {
            violations.push(Violation::new(
                path.clone(),
                "an .sql file outside store-sqlite and store-postgres: migrations and queries \
                 belong to a dialect crate",
            ));
        }
    }
    for (allowance, used) in allowed.iter().zip(used) {
        if !used {
            violations.push(Violation::new(
                allowance.path,
                format!(
                    "stale allowance in xtask's sql::ALLOWED ({:?}): nothing there looks like \
                     SQL any more; remove the entry",
                    allowance.fragment
                ),
            ));
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(path: &str, text: &str) -> Vec<(String, String)> {
        vec![(path.to_owned(), text.to_owned())]
    }

    #[test]
    fn recognises_each_statement_shape() {
        for (text, shape) in [
            (
                "SELECT id, name FROM accounts WHERE id = $1",
                "SELECT … FROM",
            ),
            ("INSERT INTO jobs (kind) VALUES (?)", "INSERT INTO"),
            ("UPDATE jobs SET state = 'failed'", "UPDATE … SET"),
            ("DELETE FROM jobs WHERE id = ?", "DELETE FROM"),
            ("CREATE TABLE t (id INTEGER)", "CREATE TABLE/INDEX"),
            ("CREATE UNIQUE INDEX one ON t (a)", "CREATE TABLE/INDEX"),
            ("ALTER TABLE t ADD COLUMN c TEXT", "ALTER TABLE"),
            ("DROP INDEX one", "DROP TABLE/INDEX"),
            ("SELECT count(*)\\n  FROM media", "SELECT … FROM"),
        ] {
            assert_eq!(sql_shape(text), Some(shape), "{text}");
        }
    }

    #[test]
    fn prose_and_lowercase_words_are_not_sql() {
        for text in [
            "select at most 1000 jobs at once",
            "Delete from the list",
            "UPDATE available",
            "SELECT pg_sleep(10)",
            "insert into the queue",
        ] {
            assert_eq!(sql_shape(text), None, "{text}");
        }
    }

    #[test]
    fn sql_in_a_library_crate_is_a_violation_with_its_line() {
        let code = "//! x\n// SELECT a FROM b is fine in a comment\nfn f() {\n    \
                    q(\"SELECT a FROM accounts\");\n}\n";
        let violations = check(&source("crates/sync/src/jobs/x.rs", code), &[], &[]);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].place, "crates/sync/src/jobs/x.rs:4");
        assert!(violations[0].message.contains("SELECT … FROM"));
    }

    #[test]
    fn the_dialect_crates_may_hold_sql() {
        let code = "fn f() { q(r#\"INSERT INTO accounts (id) VALUES (?)\"#); }";
        let sources = source("crates/store-sqlite/src/account.rs", code);
        let files = ["crates/store-postgres/migrations/0001_initial.sql".to_owned()];
        assert!(check(&sources, &files, &[]).is_empty());
    }

    #[test]
    fn an_sql_file_elsewhere_is_a_violation() {
        let files = ["crates/server/schema.sql".to_owned()];
        let violations = check(&[], &files, &[]);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].place, "crates/server/schema.sql");
    }

    #[test]
    fn an_allowance_covers_its_literal_only_and_a_stale_one_is_reported() {
        let code = "fn f() { probe(\"1; DELETE FROM jobs\"); run(\"DELETE FROM accounts\"); }";
        let allowed = [
            Allowance {
                path: "crates/igsync/tests/it/api.rs",
                fragment: "DELETE FROM jobs",
                reason: "a probe",
            },
            Allowance {
                path: "crates/igsync/tests/it/api.rs",
                fragment: "DROP TABLE",
                reason: "gone",
            },
        ];
        let violations = check(
            &source("crates/igsync/tests/it/api.rs", code),
            &[],
            &allowed,
        );
        assert_eq!(violations.len(), 2, "{violations:?}");
        assert!(violations[0].message.contains("DELETE FROM"));
        assert!(violations[1].message.contains("stale"));
    }
}
