//! The dependency direction of `ARCHITECTURE.md`, checked on every crate's `Cargo.toml`:
//! `igsync → server, sync → graph, store, analytics`; `store-* → store`; nothing depends on
//! `igsync`; `analytics` depends on nothing of ours and stays pure; `simulator` and `graph`
//! share nothing; only `igsync` uses `anyhow` and installs a `tracing-subscriber`; `sqlx` only
//! in the dialect crates.

use crate::Violation;

/// Our crates, and which of ours each may depend on as a normal (or build) dependency.
/// A new crate is a violation until it has its row here and its place in `ARCHITECTURE.md`.
pub const LAYERS: &[(&str, &[&str])] = &[
    ("analytics", &[]),
    ("clock", &[]),
    ("graph", &["clock"]),
    ("simulator", &[]),
    ("queue", &["clock"]),
    ("store", &["queue"]),
    ("store-sqlite", &["store"]),
    ("store-postgres", &["store"]),
    ("sync", &["analytics", "clock", "graph", "queue", "store"]),
    ("server", &["analytics", "graph", "store", "sync"]),
    (
        "igsync",
        &[
            "analytics",
            "graph",
            "server",
            "simulator",
            "store",
            "store-postgres",
            "store-sqlite",
            "sync",
        ],
    ),
    (
        "testsupport",
        &[
            "graph",
            "simulator",
            "store",
            "store-postgres",
            "store-sqlite",
            "sync",
        ],
    ),
    ("xtask", &[]),
];

/// Optional dependencies on our crates that only a feature named `testkit` turns on:
/// `(crate, dependency, reason)`.
pub const TESTKIT_EDGES: &[(&str, &str, &str)] = &[(
    "sync",
    "simulator",
    "sync's testkit compares stored rows with the simulator's ground truth",
)];

/// Crates nothing may depend on, in any kind of dependency.
pub const LEAVES: &[&str] = &["igsync", "xtask"];

/// Pairs that share nothing, in any kind of dependency (`from` never depends on `to`).
pub const NEVER: &[(&str, &str, &str)] = &[
    (
        "simulator",
        "graph",
        "the simulator is the yardstick, written from the API reference",
    ),
    ("analytics", "*", "analytics depends on nothing of ours"),
    (
        "clock",
        "*",
        "the clock is the bottom of the graph: it depends on nothing of ours",
    ),
    (
        "queue",
        "graph",
        "the queue knows nothing about Instagram: jobs are kinds and JSON arguments",
    ),
    (
        "queue",
        "analytics",
        "the queue knows nothing about Instagram: jobs are kinds and JSON arguments",
    ),
    (
        "queue",
        "simulator",
        "the queue knows nothing about Instagram: jobs are kinds and JSON arguments",
    ),
    (
        "queue",
        "store",
        "the queue's persistence is its own QueueStore, which store extends, not the reverse",
    ),
    (
        "queue",
        "sync",
        "the queue knows nothing about Instagram: jobs are kinds and JSON arguments",
    ),
];

/// Third-party crates only some of ours may use, in any kind of dependency.
pub const RESTRICTED: &[(&str, &[&str], &str)] = &[
    (
        "anyhow",
        &["igsync"],
        "libraries return typed errors (thiserror); anyhow is for the binary",
    ),
    (
        "tracing-subscriber",
        &["igsync"],
        "only the binary installs a subscriber",
    ),
    (
        "sqlx",
        &["store-sqlite", "store-postgres"],
        "SQL lives in the dialect crates; store has no sqlx",
    ),
    (
        "rusqlite",
        &["store-sqlite"],
        "the SQLite export reader lives in the SQLite dialect",
    ),
];

/// Crates whose normal dependencies are a closed list.
pub const CLOSED: &[(&str, &[&str], &str)] = &[
    (
        "analytics",
        &["chrono", "chrono-tz"],
        "pure functions: no IO, no async, no serde",
    ),
    ("xtask", &["toml"], "tidy builds in seconds"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Normal,
    Build,
    Dev,
}

/// One dependency of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The package's name (the `package = "…"` of a renamed dependency).
    pub name: String,
    pub kind: Kind,
    pub optional: bool,
}

/// A crate's manifest as tidy needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub name: String,
    pub dependencies: Vec<Dependency>,
    /// Features that turn on each optional dependency: `(feature, dependency)`.
    pub features: Vec<(String, String)>,
}

/// Reads a `Cargo.toml`: its package name, every dependency table (target-specific ones
/// too) and which features enable which dependency.
pub fn parse_manifest(text: &str) -> Result<Manifest, String> {
    let table: toml::Table = text.parse().map_err(|e| format!("invalid TOML: {e}"))?;
    let name = table
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str)
        .ok_or("no [package] name")?
        .to_owned();
    let mut dependencies = Vec::new();
    collect(&table, &mut dependencies);
    if let Some(targets) = table.get("target").and_then(toml::Value::as_table) {
        for target in targets.values().filter_map(toml::Value::as_table) {
            collect(target, &mut dependencies);
        }
    }
    let mut features = Vec::new();
    if let Some(table) = table.get("features").and_then(toml::Value::as_table) {
        for (feature, enables) in table {
            for item in enables.as_array().into_iter().flatten() {
                if let Some(item) = item.as_str() {
                    let dep = item.strip_prefix("dep:").unwrap_or(item);
                    let dep = dep.split(['/', '?']).next().unwrap_or(dep);
                    features.push((feature.clone(), dep.to_owned()));
                }
            }
        }
    }
    Ok(Manifest {
        name,
        dependencies,
        features,
    })
}

fn collect(table: &toml::Table, out: &mut Vec<Dependency>) {
    for (key, kind) in [
        ("dependencies", Kind::Normal),
        ("build-dependencies", Kind::Build),
        ("build_dependencies", Kind::Build),
        ("dev-dependencies", Kind::Dev),
        ("dev_dependencies", Kind::Dev),
    ] {
        let Some(deps) = table.get(key).and_then(toml::Value::as_table) else {
            continue;
        };
        for (name, spec) in deps {
            let package = spec.get("package").and_then(toml::Value::as_str);
            let optional = spec
                .get("optional")
                .and_then(toml::Value::as_bool)
                .unwrap_or(false);
            out.push(Dependency {
                name: package.unwrap_or(name).to_owned(),
                kind,
                optional,
            });
        }
    }
}

/// Every broken dependency rule among `manifests`: `(crate directory, Cargo.toml text)`.
pub fn check(manifests: &[(String, String)]) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut parsed = Vec::new();
    for (dir, text) in manifests {
        let place = format!("crates/{dir}/Cargo.toml");
        match parse_manifest(text) {
            Ok(manifest) => parsed.push((place, manifest)),
            Err(e) => violations.push(Violation::new(place, e)),
        }
    }
    let ours: Vec<&str> = parsed.iter().map(|(_, m)| m.name.as_str()).collect();
    for (place, manifest) in &parsed {
        check_one(place, manifest, &ours, &mut violations);
    }
    violations
}

fn check_one(place: &str, manifest: &Manifest, ours: &[&str], out: &mut Vec<Violation>) {
    let me = manifest.name.as_str();
    let Some((_, allowed)) = LAYERS.iter().find(|(name, _)| *name == me) else {
        out.push(Violation::new(
            place,
            format!(
                "crate {me} has no row in xtask's deps::LAYERS: decide which of our crates it \
                 may depend on, and give it its place in ARCHITECTURE.md's code map"
            ),
        ));
        return;
    };
    let mut say = |message: String| out.push(Violation::new(place, message));
    for dep in &manifest.dependencies {
        let name = dep.name.as_str();
        let kind = match dep.kind {
            Kind::Normal => "dependency",
            Kind::Build => "build-dependency",
            Kind::Dev => "dev-dependency",
        };
        let is_ours = ours.contains(&name) || LAYERS.iter().any(|(n, _)| *n == name);
        if is_ours {
            if LEAVES.contains(&name) {
                say(format!(
                    "{me} has a {kind} on {name}: nothing depends on {name}"
                ));
                continue;
            }
            if let Some((_, _, why)) = NEVER
                .iter()
                .find(|(from, to, _)| *from == me && (*to == name || *to == "*"))
            {
                say(format!("{me} has a {kind} on {name}: {why}"));
                continue;
            }
            if dep.kind != Kind::Dev && !allowed.contains(&name) {
                let testkit_edge = TESTKIT_EDGES
                    .iter()
                    .any(|(from, to, _)| *from == me && *to == name);
                let only_testkit = manifest
                    .features
                    .iter()
                    .filter(|(_, enabled)| enabled == name)
                    .all(|(feature, _)| feature == "testkit");
                if !(testkit_edge && dep.optional && only_testkit) {
                    say(format!(
                        "{me} has a {kind} on {name}, against the dependency direction \
                         (allowed: {}); see ARCHITECTURE.md",
                        if allowed.is_empty() {
                            "none of ours".to_owned()
                        } else {
                            allowed.join(", ")
                        }
                    ));
                }
            }
        }
        if let Some((_, users, why)) = RESTRICTED.iter().find(|(crate_, _, _)| *crate_ == name)
            && !users.contains(&me)
        {
            say(format!("{me} has a {kind} on {name}: {why}"));
        }
        if dep.kind == Kind::Normal
            && let Some((_, list, why)) = CLOSED.iter().find(|(crate_, _, _)| *crate_ == me)
            && !list.contains(&name)
        {
            say(format!(
                "{me} depends on {name}, outside its closed list ({}): {why}",
                list.join(", ")
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(name: &str, body: &str) -> (String, String) {
        (
            name.to_owned(),
            format!("[package]\nname = \"{name}\"\n\n{body}"),
        )
    }

    fn messages(manifests: &[(String, String)]) -> Vec<String> {
        check(manifests)
            .into_iter()
            .map(|v| v.to_string())
            .collect()
    }

    #[test]
    fn the_real_shapes_pass() {
        let manifests = [
            manifest("store", "[dependencies]\nthiserror.workspace = true\n"),
            manifest(
                "store-sqlite",
                "[dependencies]\nstore.workspace = true\nsqlx = { workspace = true }\n\
                 [dev-dependencies]\nstore = { workspace = true, features = [\"testkit\"] }\n",
            ),
            manifest(
                "sync",
                "[dependencies]\ngraph.workspace = true\nstore.workspace = true\n\
                 simulator = { workspace = true, optional = true }\n\
                 [features]\ntestkit = [\"dep:simulator\"]\n\
                 [dev-dependencies]\nstore-sqlite.workspace = true\n",
            ),
            manifest(
                "graph",
                "[dependencies]\nreqwest.workspace = true\n\
                 [dev-dependencies]\nsimulator.workspace = true\n",
            ),
            manifest("analytics", "[dependencies]\nchrono.workspace = true\n"),
        ];
        assert_eq!(messages(&manifests), Vec::<String>::new());
    }

    #[test]
    fn an_edge_against_the_direction_is_a_violation() {
        for (name, body, says) in [
            (
                "store",
                "[dependencies]\nsync.workspace = true\n",
                "store has a dependency on sync",
            ),
            (
                "graph",
                "[dependencies]\nstore.workspace = true\n",
                "graph has a dependency on store",
            ),
            (
                "graph",
                "[dependencies]\nsimulator.workspace = true\n",
                "graph has a dependency on simulator",
            ),
            (
                "store-sqlite",
                "[dependencies]\nanalytics.workspace = true\n",
                "allowed: store",
            ),
            (
                "server",
                "[build-dependencies]\nstore-sqlite.workspace = true\n",
                "build-dependency",
            ),
            (
                "sync",
                "[dependencies]\nsimulator.workspace = true\n",
                "sync has a dependency on simulator",
            ),
            (
                "sync",
                "[dependencies]\nsimulator = { workspace = true, optional = true }\n\
                 [features]\ndemo = [\"dep:simulator\"]\n",
                "sync has a dependency on simulator",
            ),
            (
                "server",
                "[target.'cfg(unix)'.dependencies]\nserver-core = { package = \"igsync\", path = \"..\" }\n",
                "nothing depends on igsync",
            ),
        ] {
            let found = messages(&[manifest(name, body)]);
            assert_eq!(found.len(), 1, "{name}: {body}: {found:?}");
            assert!(found[0].contains(says), "{found:?} says {says}");
        }
    }

    #[test]
    fn nothing_depends_on_the_binary_even_in_tests() {
        let found = messages(&[manifest(
            "server",
            "[dev-dependencies]\nigsync.workspace = true\n",
        )]);
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("nothing depends on igsync"), "{found:?}");
    }

    #[test]
    fn the_simulator_and_analytics_share_nothing_even_in_tests() {
        let simulator = manifest("simulator", "[dev-dependencies]\ngraph.workspace = true\n");
        let analytics = manifest("analytics", "[dev-dependencies]\nstore.workspace = true\n");
        let found = messages(&[simulator, analytics]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("yardstick"));
        assert!(found[1].contains("nothing of ours"));
    }

    #[test]
    fn restricted_third_party_crates() {
        for (name, body, says) in [
            ("sync", "[dependencies]\nanyhow = \"1\"\n", "anyhow"),
            ("server", "[dev-dependencies]\nanyhow = \"1\"\n", "anyhow"),
            (
                "store",
                "[dependencies]\nsqlx.workspace = true\n",
                "store has no sqlx",
            ),
            (
                "sync",
                "[dependencies]\ntracing-subscriber.workspace = true\n",
                "subscriber",
            ),
            (
                "analytics",
                "[dependencies]\nserde.workspace = true\n",
                "pure functions",
            ),
            ("xtask", "[dependencies]\nregex = \"1\"\n", "closed list"),
        ] {
            let found = messages(&[manifest(name, body)]);
            assert_eq!(found.len(), 1, "{name}: {body}: {found:?}");
            assert!(found[0].contains(says), "{found:?} says {says}");
        }
        let binary = manifest(
            "igsync",
            "[dependencies]\nanyhow = \"1\"\ntracing-subscriber = \"0.3\"\n",
        );
        assert!(messages(&[binary]).is_empty());
    }

    #[test]
    fn an_unknown_crate_needs_its_place() {
        let found = messages(&[manifest("webhooks", "[dependencies]\n")]);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("no row in xtask's deps::LAYERS"),
            "{found:?}"
        );
    }

    #[test]
    fn an_unreadable_manifest_is_a_violation() {
        let found = messages(&[("broken".to_owned(), "[package\nname = ".to_owned())]);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("crates/broken/Cargo.toml: invalid TOML"));
    }
}
