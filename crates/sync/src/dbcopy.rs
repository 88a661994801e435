//! Copying a whole igsync database to another (SQLite → PostgreSQL and back, or within one
//! dialect): the loop behind `igsync db copy` and `igsync restore`.
//!
//! Generic over the tables: both databases describe theirs from their catalogs
//! ([`store::Store::copy_schema`]); every table of the source must exist in the target with
//! the same key and every column, or the copy refuses before writing. Tables are written
//! parents first (foreign keys), each in key order in batches of thousands of rows, one
//! transaction per batch, so an interrupted copy resumes after the last key the target holds
//! ([`CopyMode::Resume`]) and ends with the same rows. It ends by comparing, per table, the
//! row count and a SHA-256 over a canonical rendering of every row in key order, computed the
//! same way on both sides.
//!
//! The queue's state: a job `running` in the source is copied as `pending` with its lease and
//! worker cleared (its attempt stays counted), so it runs once more on the target and never
//! on both; worker registrations (`workers`) describe the source's processes and are not
//! copied. Tokens are copied as stored ciphertext: the target needs the same secret key.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};
use store::{CopyKind, CopySchema, CopyTable, CopyValue, Store, StoreError};

/// Rows per batch (one read, one write transaction).
pub const DEFAULT_BATCH: u32 = 5_000;

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Refused(String),
    #[error("stopped after {0} batches as asked; run again with --resume to finish")]
    Stopped(u64),
}

type Result<T> = std::result::Result<T, CopyError>;

/// What to do with a target that already holds rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyMode {
    /// Refuse unless every table of the target is empty.
    Fresh,
    /// Continue an interrupted copy: each table from after the last key the target holds.
    Resume,
    /// Delete the target's rows first.
    Replace,
}

#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub mode: CopyMode,
    pub batch: u32,
    /// Stop with [`CopyError::Stopped`] after this many batches (to test resuming).
    pub stop_after_batches: Option<u64>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            mode: CopyMode::Fresh,
            batch: DEFAULT_BATCH,
            stop_after_batches: None,
        }
    }
}

/// What the copy is doing, for a progress display.
#[derive(Debug, Clone)]
pub enum CopyEvent<'a> {
    /// A table starts: its rows in the source, and how many the target already holds.
    Table {
        table: &'a str,
        rows: i64,
        present: i64,
    },
    /// A batch of rows was written.
    Rows { table: &'a str, rows: u64 },
    /// The comparison of a table starts.
    Verify { table: &'a str },
}

/// One table's comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCheck {
    pub table: String,
    pub source_rows: i64,
    pub target_rows: i64,
    pub source_sum: String,
    pub target_sum: String,
}

impl TableCheck {
    pub fn equal(&self) -> bool {
        self.source_rows == self.target_rows && self.source_sum == self.target_sum
    }
}

#[derive(Debug, Clone)]
pub struct CopyReport {
    /// Parents first: the order the tables were written in.
    pub tables: Vec<TableCheck>,
    pub rows_written: u64,
}

impl CopyReport {
    pub fn all_equal(&self) -> bool {
        self.tables.iter().all(TableCheck::equal)
    }
}

/// A source table paired with its target: the columns written and each column's kind.
#[derive(Debug, Clone)]
pub struct TablePlan {
    pub source: CopyTable,
    /// The kind each source column is compared as.
    pub kinds: Vec<CopyKind>,
}

/// Pairs the tables of two databases at the same schema level, parents first.
pub fn plan(source: &CopySchema, target: &CopySchema) -> Result<Vec<TablePlan>> {
    for (side, s) in [("source", source), ("target", target)] {
        if s.migrations_applied != s.migrations_known {
            return Err(CopyError::Refused(format!(
                "the {side} database has {} of the {} migrations this igsync knows: open it \
                 once with this igsync (e.g. `igsync doctor`) so both are at the same schema \
                 version",
                s.migrations_applied, s.migrations_known
            )));
        }
    }
    let mut plans = BTreeMap::new();
    for s in &source.tables {
        let Some(t) = target.table(&s.name) else {
            return Err(CopyError::Refused(format!(
                "table {} of the source has no counterpart in the target",
                s.name
            )));
        };
        let (mut a, mut b) = (s.key.clone(), t.key.clone());
        a.sort();
        b.sort();
        if a != b {
            return Err(CopyError::Refused(format!(
                "table {}: the source's key ({}) differs from the target's ({})",
                s.name,
                s.key.join(", "),
                t.key.join(", ")
            )));
        }
        let mut kinds = Vec::new();
        for c in &s.columns {
            let Some(tc) = t.column(&c.name) else {
                return Err(CopyError::Refused(format!(
                    "column {}.{} of the source has no counterpart in the target",
                    s.name, c.name
                )));
            };
            let Some(kind) = c.kind.unify(tc.kind) else {
                return Err(CopyError::Refused(format!(
                    "column {}.{} holds {:?} in the source but {:?} in the target",
                    s.name, c.name, c.kind, tc.kind
                )));
            };
            kinds.push(kind);
        }
        plans.insert(
            s.name.clone(),
            TablePlan {
                source: s.clone(),
                kinds,
            },
        );
    }
    if let Some(extra) = target
        .tables
        .iter()
        .find(|t| source.table(&t.name).is_none())
    {
        return Err(CopyError::Refused(format!(
            "table {} of the target has no counterpart in the source",
            extra.name
        )));
    }
    // Parents first: a table comes after every table it references.
    let mut ordered = Vec::new();
    let mut placed = BTreeSet::new();
    while placed.len() < plans.len() {
        let ready: Vec<String> = plans
            .values()
            .filter(|p| !placed.contains(&p.source.name))
            .filter(|p| {
                let refs = target
                    .table(&p.source.name)
                    .map(|t| t.references.clone())
                    .unwrap_or_default();
                p.source
                    .references
                    .iter()
                    .chain(refs.iter())
                    .all(|r| placed.contains(r) || !plans.contains_key(r))
            })
            .map(|p| p.source.name.clone())
            .collect();
        if ready.is_empty() {
            return Err(CopyError::Refused(
                "the tables' foreign keys form a cycle".into(),
            ));
        }
        for name in ready {
            placed.insert(name.clone());
            ordered.push(plans[&name].clone());
        }
    }
    Ok(ordered)
}

/// The queue's consistency rule (see the module header), applied to source rows before they
/// are written and before they are compared.
fn transform(table: &CopyTable, rows: Vec<Vec<CopyValue>>) -> Vec<Vec<CopyValue>> {
    match table.name.as_str() {
        "workers" => Vec::new(),
        "jobs" => {
            let at = |name: &str| table.columns.iter().position(|c| c.name == name);
            let (Some(state), locked, lease) =
                (at("state"), at("locked_by"), at("lease_expires_at"))
            else {
                return rows;
            };
            rows.into_iter()
                .map(|mut row| {
                    if row[state] == CopyValue::Text("running".into()) {
                        row[state] = CopyValue::Text("pending".into());
                        for i in [locked, lease].into_iter().flatten() {
                            row[i] = CopyValue::Null;
                        }
                    }
                    row
                })
                .collect()
        }
        _ => rows,
    }
}

fn key_of(table: &CopyTable, row: &[CopyValue]) -> Vec<CopyValue> {
    table
        .key
        .iter()
        .map(|k| {
            let i = table.columns.iter().position(|c| &c.name == k).unwrap_or(0);
            row[i].clone()
        })
        .collect()
}

/// Copies every table of `source` into `target` (migrated to the same schema level).
pub async fn copy(
    source: &dyn Store,
    target: &dyn Store,
    options: &CopyOptions,
    progress: &mut (dyn FnMut(CopyEvent<'_>) + Send),
) -> Result<CopyReport> {
    let plans = plan(&source.copy_schema().await?, &target.copy_schema().await?)?;
    let names: Vec<String> = plans.iter().map(|p| p.source.name.clone()).collect();
    match options.mode {
        CopyMode::Fresh => {
            for name in &names {
                let n = target.copy_count(name).await?;
                if n > 0 {
                    return Err(CopyError::Refused(format!(
                        "the target is not empty ({name} holds {n} rows): use --resume to \
                         continue an interrupted copy or --force to replace its contents"
                    )));
                }
            }
        }
        CopyMode::Replace => {
            let children_first: Vec<String> = names.iter().rev().cloned().collect();
            target.copy_clear(&children_first).await?;
        }
        CopyMode::Resume => {}
    }

    let batch = options.batch.max(1);
    let mut batches = 0u64;
    let mut written = 0u64;
    for p in &plans {
        let table = &p.source;
        let columns: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
        let mut after = match options.mode {
            CopyMode::Resume => target.copy_last_key(&table.name, &table.key).await?,
            _ => None,
        };
        progress(CopyEvent::Table {
            table: &table.name,
            rows: source.copy_count(&table.name).await?,
            present: target.copy_count(&table.name).await?,
        });
        loop {
            let rows = source
                .copy_read(&table.name, &table.key, after.as_deref(), batch)
                .await?;
            let Some(last) = rows.last() else { break };
            after = Some(key_of(table, last));
            let read = rows.len();
            let rows = transform(table, rows);
            written += target.copy_write(&table.name, &columns, rows).await?;
            batches += 1;
            progress(CopyEvent::Rows {
                table: &table.name,
                rows: read as u64,
            });
            if options.stop_after_batches.is_some_and(|n| batches >= n) {
                return Err(CopyError::Stopped(batches));
            }
            if read < batch as usize {
                break;
            }
        }
    }
    target.copy_finish().await?;
    let tables = compare(source, target, &plans, batch, progress).await?;
    Ok(CopyReport {
        tables,
        rows_written: written,
    })
}

/// Row counts and checksums of every table on both sides.
pub async fn compare(
    source: &dyn Store,
    target: &dyn Store,
    plans: &[TablePlan],
    batch: u32,
    progress: &mut (dyn FnMut(CopyEvent<'_>) + Send),
) -> Result<Vec<TableCheck>> {
    let mut checks = Vec::new();
    for p in plans {
        progress(CopyEvent::Verify {
            table: &p.source.name,
        });
        let (source_rows, source_sum) = checksum(source, p, true, batch).await?;
        let (target_rows, target_sum) = checksum(target, p, false, batch).await?;
        checks.push(TableCheck {
            table: p.source.name.clone(),
            source_rows,
            target_rows,
            source_sum,
            target_sum,
        });
    }
    Ok(checks)
}

/// Count and SHA-256 of a table's rows in key order, each value rendered canonically for the
/// kind both sides share. Columns are the source's, looked up by name on either side.
async fn checksum(
    store: &dyn Store,
    p: &TablePlan,
    is_source: bool,
    batch: u32,
) -> Result<(i64, String)> {
    let own = if is_source {
        p.source.clone()
    } else {
        store
            .copy_schema()
            .await?
            .table(&p.source.name)
            .cloned()
            .ok_or_else(|| CopyError::Refused(format!("table {} vanished", p.source.name)))?
    };
    let own_in_order = own.clone().with_key_order(&p.source.key)?;
    let positions: Vec<usize> = p
        .source
        .columns
        .iter()
        .map(|c| {
            own.columns
                .iter()
                .position(|o| o.name == c.name)
                .unwrap_or(0)
        })
        .collect();
    let mut hash = Sha256::new();
    let mut count = 0i64;
    let mut after: Option<Vec<CopyValue>> = None;
    loop {
        let rows = store
            .copy_read(&own.name, &p.source.key, after.as_deref(), batch.max(1))
            .await?;
        let Some(last) = rows.last() else { break };
        after = Some(key_of(&own_in_order, last));
        let read = rows.len();
        let rows = if is_source {
            transform(&own, rows)
        } else {
            rows
        };
        for row in &rows {
            for (kind, &i) in p.kinds.iter().zip(&positions) {
                render(&mut hash, *kind, &row[i]);
            }
            count += 1;
        }
        if read < batch.max(1) as usize {
            break;
        }
    }
    Ok((count, hex::encode(hash.finalize())))
}

fn render(hash: &mut Sha256, kind: CopyKind, value: &CopyValue) {
    let text = match (kind, value) {
        (_, CopyValue::Null) => {
            hash.update(b"N");
            return;
        }
        (CopyKind::Json, CopyValue::Text(t)) => match serde_json::from_str(t) {
            Ok(v) => canonical_json(&v),
            Err(_) => t.clone(),
        },
        (_, CopyValue::Int(v)) => v.to_string(),
        (_, CopyValue::Real(v)) => format!("{:016x}", v.to_bits()),
        (_, CopyValue::Text(t)) => t.clone(),
        (_, CopyValue::Bytes(b)) => hex::encode(b),
    };
    hash.update(b"V");
    hash.update((text.len() as u64).to_le_bytes());
    hash.update(text.as_bytes());
}

/// JSON with object keys sorted and numbers as `serde_json` prints them.
fn canonical_json(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, String> =
                map.iter().map(|(k, v)| (k, canonical_json(v))).collect();
            let parts: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(canonical_json)
                .collect::<Vec<_>>()
                .join(",")
        ),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{:016x}", f.to_bits()),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_renders_the_same_whatever_its_spacing_and_key_order() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b": [1, 2.5], "a": "x"}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{"a":"x","b":[1,2.5]}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
    }

    #[test]
    fn running_jobs_are_copied_pending_and_workers_not_at_all() {
        let col = |name: &str| store::CopyColumn {
            name: name.into(),
            kind: CopyKind::Text,
        };
        let jobs = CopyTable {
            name: "jobs".into(),
            columns: vec![
                col("id"),
                col("state"),
                col("locked_by"),
                col("lease_expires_at"),
            ],
            key: vec!["id".into()],
            references: vec![],
        };
        let text = |t: &str| CopyValue::Text(t.into());
        let rows = vec![
            vec![
                CopyValue::Int(1),
                text("running"),
                text("w1"),
                CopyValue::Int(5),
            ],
            vec![
                CopyValue::Int(2),
                text("completed"),
                text("w1"),
                CopyValue::Null,
            ],
        ];
        let out = transform(&jobs, rows.clone());
        assert_eq!(
            out[0],
            vec![
                CopyValue::Int(1),
                text("pending"),
                CopyValue::Null,
                CopyValue::Null
            ]
        );
        assert_eq!(out[1], rows[1]);
        let workers = CopyTable {
            name: "workers".into(),
            ..jobs
        };
        assert!(transform(&workers, rows).is_empty());
    }

    fn schema(tables: &[(&str, &[&str])]) -> CopySchema {
        CopySchema {
            migrations_applied: 2,
            migrations_known: 2,
            tables: tables
                .iter()
                .map(|(name, refs)| CopyTable {
                    name: name.to_string(),
                    columns: vec![store::CopyColumn {
                        name: "id".into(),
                        kind: CopyKind::Int,
                    }],
                    key: vec!["id".into()],
                    references: refs.iter().map(|r| r.to_string()).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_table_the_target_lacks_stops_the_copy_and_parents_go_first() {
        let source = schema(&[
            ("accounts", &[]),
            ("media", &["accounts"]),
            ("webhooks", &[]),
        ]);
        let target = schema(&[("accounts", &[]), ("media", &["accounts"])]);
        let e = plan(&source, &target).unwrap_err().to_string();
        assert!(e.contains("webhooks"), "{e}");
        let e = plan(&target, &source).unwrap_err().to_string();
        assert!(e.contains("webhooks"), "{e}");

        let source = schema(&[
            ("media", &["accounts"]),
            ("accounts", &[]),
            ("snaps", &["media"]),
        ]);
        let order: Vec<String> = plan(&source, &source)
            .unwrap()
            .into_iter()
            .map(|p| p.source.name)
            .collect();
        assert_eq!(order, ["accounts", "media", "snaps"]);

        let mut old = source.clone();
        old.migrations_applied = 1;
        assert!(plan(&old, &source).is_err());
    }

    #[test]
    fn kinds_unify_only_where_values_carry_over() {
        assert_eq!(CopyKind::Int.unify(CopyKind::Time), Some(CopyKind::Time));
        assert_eq!(CopyKind::Json.unify(CopyKind::Text), Some(CopyKind::Json));
        assert_eq!(CopyKind::Real.unify(CopyKind::Int), None);
    }
}
