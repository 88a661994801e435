//! Tidy: the rules of `ARCHITECTURE.md` that can be checked by reading the workspace's files,
//! checked by `cargo test -p xtask` (and so by every `cargo test --workspace`).
//!
//! Each check is a function from file contents (strings) to [`Violation`]s, so its unit tests
//! feed it small bad inputs; [`Workspace`] reads the real files for the integration test.
//! Exceptions live in allow-lists next to each check, every entry with its reason, and an
//! entry that no longer matches anything is itself a violation, so the lists stay true.

pub mod calls;
pub mod deps;
pub mod files;
pub mod lexer;
pub mod sql;

use std::fmt;
use std::path::{Path, PathBuf};

/// One broken rule: where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// A path relative to the workspace root (`crates/graph/Cargo.toml`), with a line when
    /// one is known (`crates/sync/src/lib.rs:12`).
    pub place: String,
    pub message: String,
}

impl Violation {
    pub fn new(place: impl Into<String>, message: impl Into<String>) -> Violation {
        Violation {
            place: place.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// The workspace's files that tidy reads: every crate's manifest, Rust source and SQL file.
#[derive(Debug, Default)]
pub struct Workspace {
    /// `(crate directory name, Cargo.toml text)`, e.g. `("store-sqlite", "[package]…")`.
    pub manifests: Vec<(String, String)>,
    /// `(path relative to the root, text)` of every `.rs` file under `crates/`.
    pub sources: Vec<(String, String)>,
    /// Paths relative to the root of every `.sql` file under `crates/`.
    pub sql_files: Vec<String>,
}

impl Workspace {
    /// The workspace this crate lives in (`CARGO_MANIFEST_DIR/../..`).
    pub fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// Reads every crate under `root/crates`, skipping build output and hidden directories.
    pub fn read(root: &Path) -> std::io::Result<Workspace> {
        let mut workspace = Workspace::default();
        let mut crates: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        crates.sort();
        for dir in crates {
            let manifest = dir.join("Cargo.toml");
            if !manifest.is_file() {
                continue;
            }
            let name = file_name(&dir);
            workspace
                .manifests
                .push((name, std::fs::read_to_string(&manifest)?));
            let mut files = Vec::new();
            walk(&dir, &mut files)?;
            files.sort();
            for file in files {
                let relative = relative(root, &file);
                if relative.ends_with(".rs") {
                    let text = std::fs::read_to_string(&file)?;
                    workspace.sources.push((relative, text));
                } else if relative.ends_with(".sql") {
                    workspace.sql_files.push(relative);
                }
            }
        }
        Ok(workspace)
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn relative(root: &Path, path: &Path) -> String {
    let crates = root.join("crates");
    let rest = path.strip_prefix(&crates).unwrap_or(path);
    let parts: Vec<String> = rest
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    format!("crates/{}", parts.join("/"))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = file_name(&path);
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
