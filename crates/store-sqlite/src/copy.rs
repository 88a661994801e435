//! Whole-database copy, backup and integrity check on SQLite: tables and keys from
//! `sqlite_schema` and `pragma_table_info`, references from `pragma_foreign_key_list`, rows
//! read by key ranges and written with multi-row `INSERT … ON CONFLICT DO NOTHING`.

use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};
use store::{CopyColumn, CopyKind, CopySchema, CopyTable, CopyValue, Result, StoreError};

use crate::SqliteStore;
use crate::error::db_err;
use crate::sql::{Q, chunked_values};

/// The migrations' own bookkeeping is not data: the target has its own.
const SKIP: &str = "igsync_migrations";

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn kind_of(declared: &str) -> CopyKind {
    match declared.to_ascii_uppercase().as_str() {
        "INTEGER" | "INT" => CopyKind::Int,
        "REAL" => CopyKind::Real,
        "BLOB" => CopyKind::Bytes,
        _ => CopyKind::Text,
    }
}

pub(crate) async fn schema(store: &SqliteStore) -> Result<CopySchema> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema
          WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> ?
          ORDER BY name",
    )
    .bind(SKIP)
    .fetch_all(&store.reader)
    .await
    .map_err(db_err)?;
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        tables.push(table(store, &name).await?);
    }
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM igsync_migrations")
        .fetch_one(&store.reader)
        .await
        .unwrap_or(0);
    Ok(CopySchema {
        migrations_applied: u32::try_from(applied).unwrap_or(0),
        migrations_known: crate::migrate::known(),
        tables,
    })
}

/// One table's description; an error when there is no such table or it has no key.
pub(crate) async fn table(store: &SqliteStore, name: &str) -> Result<CopyTable> {
    if name == SKIP || name.starts_with("sqlite_") {
        return Err(StoreError::invalid(format!("{name} is not copied")));
    }
    let rows = sqlx::query("SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid")
        .bind(name)
        .fetch_all(&store.reader)
        .await
        .map_err(db_err)?;
    if rows.is_empty() {
        return Err(StoreError::not_found(format!("table {name}")));
    }
    let mut columns = Vec::new();
    let mut key: Vec<(i64, String)> = Vec::new();
    for row in &rows {
        let column: String = row.try_get("name").map_err(db_err)?;
        let declared: String = row.try_get("type").map_err(db_err)?;
        let pk: i64 = row.try_get("pk").map_err(db_err)?;
        if pk > 0 {
            key.push((pk, column.clone()));
        }
        columns.push(CopyColumn {
            name: column,
            kind: kind_of(&declared),
        });
    }
    if key.is_empty() {
        return Err(StoreError::invalid(format!(
            "table {name} has no primary key, so it cannot be copied in key order"
        )));
    }
    key.sort();
    let mut references: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?)")
            .bind(name)
            .fetch_all(&store.reader)
            .await
            .map_err(db_err)?;
    references.retain(|r| r != name);
    references.sort();
    Ok(CopyTable {
        name: name.to_string(),
        columns,
        key: key.into_iter().map(|(_, c)| c).collect(),
        references,
    })
}

fn bind(query: Q, value: &CopyValue) -> Q {
    match value {
        CopyValue::Null => query.bind(None::<i64>),
        CopyValue::Int(v) => query.bind(*v),
        CopyValue::Real(v) => query.bind(*v),
        CopyValue::Text(v) => query.bind(v.clone()),
        CopyValue::Bytes(v) => query.bind(v.clone()),
    }
}

fn value(row: &SqliteRow, i: usize, kind: CopyKind) -> Result<CopyValue> {
    let v = match kind {
        CopyKind::Real => row
            .try_get::<Option<f64>, _>(i)
            .map(|v| v.map(CopyValue::Real)),
        CopyKind::Bytes => row
            .try_get::<Option<Vec<u8>>, _>(i)
            .map(|v| v.map(CopyValue::Bytes)),
        CopyKind::Int | CopyKind::Time | CopyKind::Bool => row
            .try_get::<Option<i64>, _>(i)
            .map(|v| v.map(CopyValue::Int)),
        CopyKind::Text | CopyKind::Day | CopyKind::Json => row
            .try_get::<Option<String>, _>(i)
            .map(|v| v.map(CopyValue::Text)),
    };
    Ok(v.map_err(db_err)?.unwrap_or(CopyValue::Null))
}

fn key_list(t: &CopyTable) -> String {
    t.key
        .iter()
        .map(|k| quote(k))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) async fn read(
    store: &SqliteStore,
    name: &str,
    order: &[String],
    after: Option<&[CopyValue]>,
    limit: u32,
) -> Result<Vec<Vec<CopyValue>>> {
    let t = table(store, name).await?.with_key_order(order)?;
    let columns = t
        .columns
        .iter()
        .map(|c| quote(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let keys = key_list(&t);
    let filter = match after {
        Some(after) => {
            if after.len() != t.key.len() {
                return Err(StoreError::invalid(format!(
                    "a key of {name} has {} values, not {}",
                    t.key.len(),
                    after.len()
                )));
            }
            let marks = vec!["?"; after.len()].join(", ");
            // The leading column's bound lets an index on it narrow the scan when the
            // order asked for is not the table's own.
            format!(" WHERE {} >= ? AND ({keys}) > ({marks})", quote(&t.key[0]))
        }
        None => String::new(),
    };
    let sql = format!(
        "SELECT {columns} FROM {} {filter} ORDER BY {keys} LIMIT ?",
        quote(name)
    );
    let mut query: Q = sqlx::query(AssertSqlSafe(sql));
    if let Some(first) = after.and_then(|a| a.first()) {
        query = bind(query, first);
    }
    for v in after.unwrap_or_default() {
        query = bind(query, v);
    }
    let rows = query
        .bind(i64::from(limit))
        .fetch_all(&store.reader)
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            t.columns
                .iter()
                .enumerate()
                .map(|(i, c)| value(row, i, c.kind))
                .collect()
        })
        .collect()
}

pub(crate) async fn last_key(
    store: &SqliteStore,
    name: &str,
    order: &[String],
) -> Result<Option<Vec<CopyValue>>> {
    let t = table(store, name).await?.with_key_order(order)?;
    let desc = t
        .key
        .iter()
        .map(|k| format!("{} DESC", quote(k)))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {desc} LIMIT 1",
        key_list(&t),
        quote(name)
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .fetch_optional(&store.reader)
        .await
        .map_err(db_err)?;
    let Some(row) = row else { return Ok(None) };
    let mut key = Vec::new();
    for (i, k) in t.key.iter().enumerate() {
        let kind = t.column(k).map(|c| c.kind).unwrap_or(CopyKind::Text);
        key.push(value(&row, i, kind)?);
    }
    Ok(Some(key))
}

pub(crate) async fn write(
    store: &SqliteStore,
    name: &str,
    columns: &[String],
    rows: Vec<Vec<CopyValue>>,
) -> Result<u64> {
    let t = table(store, name).await?;
    for c in columns {
        if t.column(c).is_none() {
            return Err(StoreError::invalid(format!("{name} has no column {c}")));
        }
    }
    if let Some(bad) = rows.iter().find(|r| r.len() != columns.len()) {
        return Err(StoreError::invalid(format!(
            "a row for {name} has {} values for {} columns",
            bad.len(),
            columns.len()
        )));
    }
    if rows.is_empty() {
        return Ok(0);
    }
    let head = format!(
        "INSERT INTO {} ({})",
        quote(name),
        columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let one = format!("({})", vec!["?"; columns.len()].join(", "));
    let mut tx = store.write().await?;
    let added = chunked_values(
        &mut tx,
        &head,
        &one,
        "ON CONFLICT DO NOTHING",
        &rows,
        |mut q, row| {
            for v in row {
                q = bind(q, v);
            }
            q
        },
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(added)
}

pub(crate) async fn clear(store: &SqliteStore, tables: &[String]) -> Result<()> {
    for name in tables {
        table(store, name).await?;
    }
    let mut tx = store.write().await?;
    for name in tables {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {}", quote(name))))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn count(store: &SqliteStore, name: &str) -> Result<i64> {
    table(store, name).await?;
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM {}",
        quote(name)
    )))
    .fetch_one(&store.reader)
    .await
    .map_err(db_err)
}

/// `VACUUM INTO` on a reader while the write lock is held: no write can commit between the
/// counts and the copy, so the counts describe exactly the snapshot in the file. Writers
/// wait (up to their busy timeout) for as long as the copy takes.
pub(crate) async fn backup_into(store: &SqliteStore, path: &str) -> Result<Vec<(String, i64)>> {
    let names: Vec<String> = schema(store)
        .await?
        .tables
        .into_iter()
        .map(|t| t.name)
        .collect();
    let mut tx = store.write().await?;
    let mut counts = Vec::with_capacity(names.len());
    for name in names {
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT count(*) FROM {}",
            quote(&name)
        )))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        counts.push((name, n));
    }
    let vacuum = sqlx::query("VACUUM INTO ?")
        .bind(path)
        .execute(&store.reader)
        .await
        .map_err(db_err);
    tx.rollback().await.map_err(db_err)?;
    vacuum?;
    Ok(counts)
}

pub(crate) async fn integrity_check(store: &SqliteStore) -> Result<Vec<String>> {
    let lines: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&store.reader)
        .await
        .map_err(db_err)?;
    let mut problems: Vec<String> = lines.into_iter().filter(|l| l != "ok").collect();
    let broken = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&store.reader)
        .await
        .map_err(db_err)?;
    for row in broken {
        let table: String = row.try_get(0).map_err(db_err)?;
        let parent: String = row.try_get(2).map_err(db_err)?;
        problems.push(format!(
            "a row of {table} references a missing row of {parent}"
        ));
    }
    Ok(problems)
}
