//! Whole-database copy on PostgreSQL: tables, columns, keys and references from the catalog
//! (`pg_class`, `pg_attribute`, `pg_index`, `pg_constraint`), every value carried as text and
//! cast by its column's type, rows written with `INSERT … SELECT FROM UNNEST … ON CONFLICT DO
//! NOTHING`.
//!
//! The copy speaks SQLite's names and shapes where this schema differs from it (it is the
//! older of the two, and SQLite is where most users start): [`TABLE_NAMES`] and
//! [`COLUMN_NAMES`] rename, `api_usage` gets SQLite's `scope` key (`COALESCE(account_id, 0)`,
//! the unique index here), and `job_metrics` is read summed over its `shard`s (one row per
//! minute, queue and kind, as SQLite keeps it; written as shard 0).

use sqlx::{AssertSqlSafe, PgPool, Row};
use store::{CopyColumn, CopyKind, CopySchema, CopyTable, CopyValue, Result, StoreError};

use crate::error::db;
use crate::migrate::MIGRATIONS;

const SKIP: &str = "igsync_migrations";

/// (this schema's name, the copy's name).
const TABLE_NAMES: &[(&str, &str)] = &[("api_calls_days", "api_call_days")];
/// (table, this schema's column name, the copy's name).
const COLUMN_NAMES: &[(&str, &str, &str)] = &[
    ("accounts", "status", "sync_status"),
    ("sync_runs", "trigger", "triggered_by"),
];
/// Tables whose rows are split over a `shard` column that the copy sums away.
const SHARDED: &[&str] = &["job_metrics"];

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn canonical_table(physical: &str) -> String {
    TABLE_NAMES
        .iter()
        .find(|(p, _)| *p == physical)
        .map_or(physical, |(_, c)| c)
        .to_string()
}

fn physical_table(canonical: &str) -> String {
    TABLE_NAMES
        .iter()
        .find(|(_, c)| *c == canonical)
        .map_or(canonical, |(p, _)| p)
        .to_string()
}

/// One column as the copy sees it.
struct Col {
    name: String,
    /// `None` for a column the view derives (not written).
    physical: Option<String>,
    pg_type: String,
    kind: CopyKind,
}

/// A table with the SQL that reads its canonical view (aliased `t`).
struct View {
    /// The database's text order is already bytewise (C collations): no `COLLATE` needed,
    /// so the primary key's index serves the reads.
    bytewise: bool,
    physical: String,
    from: String,
    cols: Vec<Col>,
    table: CopyTable,
}

fn kind_of(pg_type: &str) -> CopyKind {
    if pg_type.ends_with("[]") {
        return CopyKind::Json;
    }
    match pg_type {
        "bigint" | "integer" | "smallint" => CopyKind::Int,
        "double precision" | "real" => CopyKind::Real,
        "bytea" => CopyKind::Bytes,
        "boolean" => CopyKind::Bool,
        "date" => CopyKind::Day,
        "jsonb" | "json" => CopyKind::Json,
        t if t.starts_with("timestamp") => CopyKind::Time,
        _ => CopyKind::Text,
    }
}

/// The expression that renders column `c` of `t` as the text of its canonical value.
fn read_expr(col: &Col) -> String {
    let c = format!("t.{}", quote(&col.name));
    if col.pg_type.ends_with("[]") {
        return format!("to_jsonb({c})::text");
    }
    match col.kind {
        CopyKind::Bytes => format!("encode({c}, 'hex')"),
        CopyKind::Bool => format!("{c}::int::text"),
        CopyKind::Day => format!("to_char({c}, 'YYYY-MM-DD')"),
        CopyKind::Time => format!("(extract(epoch FROM {c}) * 1000000)::bigint::text"),
        _ => format!("{c}::text"),
    }
}

/// The expression that turns the text `v` into a value of the column's type.
fn write_expr(pg_type: &str, v: &str) -> String {
    if let Some(element) = pg_type.strip_suffix("[]") {
        return format!(
            "CASE WHEN {v} IS NULL THEN NULL ELSE \
             ARRAY(SELECT x::{element} FROM jsonb_array_elements_text({v}::jsonb) AS x) END"
        );
    }
    match kind_of(pg_type) {
        CopyKind::Bytes => format!("decode({v}, 'hex')"),
        CopyKind::Bool => format!("({v}::bigint <> 0)"),
        CopyKind::Time => {
            format!("('epoch'::timestamptz + {v}::bigint * interval '1 microsecond')")
        }
        CopyKind::Text => v.to_string(),
        _ => format!("{v}::{pg_type}"),
    }
}

fn text_of(value: &CopyValue) -> Option<String> {
    match value {
        CopyValue::Null => None,
        CopyValue::Int(v) => Some(v.to_string()),
        CopyValue::Real(v) => Some(v.to_string()),
        CopyValue::Text(v) => Some(v.clone()),
        CopyValue::Bytes(v) => Some(hex::encode(v)),
    }
}

fn value_of(text: Option<String>, kind: CopyKind, what: &str) -> Result<CopyValue> {
    let Some(text) = text else {
        return Ok(CopyValue::Null);
    };
    let bad = |e: String| StoreError::Other {
        message: format!("{what}: {e}"),
    };
    Ok(match kind {
        CopyKind::Int | CopyKind::Time | CopyKind::Bool => {
            CopyValue::Int(text.parse().map_err(|e| bad(format!("{e}")))?)
        }
        CopyKind::Real => CopyValue::Real(text.parse().map_err(|e| bad(format!("{e}")))?),
        CopyKind::Bytes => CopyValue::Bytes(hex::decode(&text).map_err(|e| bad(e.to_string()))?),
        CopyKind::Text | CopyKind::Day | CopyKind::Json => CopyValue::Text(text),
    })
}

async fn table_names(pool: &PgPool) -> Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() AND c.relname <> $1
          ORDER BY c.relname",
    )
    .bind(SKIP)
    .fetch_all(pool)
    .await
    .map_err(db)
}

async fn view(pool: &PgPool, canonical: &str) -> Result<View> {
    let physical = physical_table(canonical);
    if physical == SKIP || !table_names(pool).await?.contains(&physical) {
        return Err(StoreError::not_found(format!("table {canonical}")));
    }
    let oid_of = "(SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = current_schema() AND c.relname = $1)";
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type
           FROM pg_attribute a
          WHERE a.attrelid = {oid_of} AND a.attnum > 0 AND NOT a.attisdropped
          ORDER BY a.attnum"
    )))
    .bind(&physical)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let key: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT a.attname::text FROM pg_index i
           CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
          WHERE i.indrelid = {oid_of} AND i.indisprimary
          ORDER BY k.ord"
    )))
    .bind(&physical)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let references: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT DISTINCT (SELECT relname::text FROM pg_class WHERE oid = f.confrelid)
           FROM pg_constraint f
          WHERE f.conrelid = {oid_of} AND f.contype = 'f' AND f.confrelid <> f.conrelid"
    )))
    .bind(&physical)
    .fetch_all(pool)
    .await
    .map_err(db)?;

    let rename = |column: &str| {
        COLUMN_NAMES
            .iter()
            .find(|(t, p, _)| *t == physical && *p == column)
            .map_or(column, |(_, _, c)| c)
            .to_string()
    };
    let mut cols = Vec::new();
    for row in &rows {
        let name: String = row.try_get("name").map_err(db)?;
        let pg_type: String = row.try_get("type").map_err(db)?;
        cols.push(Col {
            name: rename(&name),
            physical: Some(name),
            kind: kind_of(&pg_type),
            pg_type,
        });
    }
    let mut key: Vec<String> = key.iter().map(|k| rename(k)).collect();
    let renamed = cols
        .iter()
        .map(|c| {
            format!(
                "{} AS {}",
                quote(c.physical.as_deref().unwrap_or_default()),
                quote(&c.name)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut from = format!("(SELECT {renamed} FROM {}) AS t", quote(&physical));

    if physical == "api_usage" && key.is_empty() {
        // SQLite's key: the unique index on COALESCE(account_id, 0).
        from = format!(
            "(SELECT COALESCE(account_id, 0) AS scope, {renamed} FROM {}) AS t",
            quote(&physical)
        );
        cols.insert(
            0,
            Col {
                name: "scope".into(),
                physical: None,
                pg_type: "bigint".into(),
                kind: CopyKind::Int,
            },
        );
        key = vec!["scope".into()];
    }
    if SHARDED.contains(&physical.as_str()) {
        cols.retain(|c| c.name != "shard");
        key.retain(|k| k != "shard");
        let on = key
            .iter()
            .map(|k| format!("s.{0} = m.{0}", quote(k)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let parts = cols
            .iter()
            .map(|c| {
                let q = quote(&c.name);
                if key.contains(&c.name) {
                    format!("m.{q}")
                } else if c.pg_type.ends_with("[]") {
                    format!(
                        "(SELECT array_agg(total ORDER BY i) FROM (SELECT u.i, sum(u.v)::bigint AS total
                            FROM {tab} s CROSS JOIN LATERAL unnest(s.{q}) WITH ORDINALITY AS u(v, i)
                           WHERE {on} GROUP BY u.i) AS e) AS {q}",
                        tab = quote(&physical)
                    )
                } else if c.kind == CopyKind::Int {
                    format!("sum(m.{q})::bigint AS {q}")
                } else {
                    format!("min(m.{q}) AS {q}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        from = format!(
            "(SELECT {parts} FROM {} m GROUP BY {}) AS t",
            quote(&physical),
            key.iter()
                .map(|k| format!("m.{}", quote(k)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if key.is_empty() {
        return Err(StoreError::invalid(format!(
            "table {canonical} has no primary key, so it cannot be copied in key order"
        )));
    }
    let mut references: Vec<String> = references.iter().map(|r| canonical_table(r)).collect();
    references.sort();
    let table = CopyTable {
        name: canonical.to_string(),
        columns: cols
            .iter()
            .map(|c| CopyColumn {
                name: c.name.clone(),
                kind: c.kind,
            })
            .collect(),
        key,
        references,
    };
    let collation: String = sqlx::query_scalar(
        "SELECT datcollate::text FROM pg_database WHERE datname = current_database()",
    )
    .fetch_one(pool)
    .await
    .map_err(db)?;
    let bytewise = matches!(
        collation.as_str(),
        "C" | "POSIX" | "C.UTF-8" | "C.utf8" | "ucs_basic"
    );
    Ok(View {
        bytewise,
        physical,
        from,
        cols,
        table,
    })
}

impl View {
    fn col(&self, name: &str) -> Option<&Col> {
        self.cols.iter().find(|c| c.name == name)
    }

    /// ` COLLATE "C"` for a text column when the database's order is not bytewise already.
    fn collate(&self, col: &Col) -> &'static str {
        if col.kind == CopyKind::Text && !self.bytewise {
            " COLLATE \"C\""
        } else {
            ""
        }
    }

    /// Key columns for `ORDER BY` (text compared bytewise, as SQLite does).
    fn order(&self, desc: bool) -> String {
        self.table
            .key
            .iter()
            .map(|k| {
                let collate = self.col(k).map_or("", |c| self.collate(c));
                format!("t.{}{collate}{}", quote(k), if desc { " DESC" } else { "" })
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub(crate) async fn schema(pool: &PgPool) -> Result<CopySchema> {
    let mut tables = Vec::new();
    for physical in table_names(pool).await? {
        tables.push(view(pool, &canonical_table(&physical)).await?.table);
    }
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM igsync_migrations")
        .fetch_one(pool)
        .await
        .unwrap_or(0);
    Ok(CopySchema {
        migrations_applied: u32::try_from(applied).unwrap_or(0),
        migrations_known: MIGRATIONS.len() as u32,
        tables,
    })
}

fn select(v: &View) -> String {
    v.cols.iter().map(read_expr).collect::<Vec<_>>().join(", ")
}

fn decode_row(v: &View, row: &sqlx::postgres::PgRow) -> Result<Vec<CopyValue>> {
    v.cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let text: Option<String> = row.try_get(i).map_err(db)?;
            value_of(text, c.kind, &format!("{}.{}", v.table.name, c.name))
        })
        .collect()
}

pub(crate) async fn read(
    pool: &PgPool,
    table: &str,
    order: &[String],
    after: Option<&[CopyValue]>,
    limit: u32,
) -> Result<Vec<Vec<CopyValue>>> {
    let mut v = view(pool, table).await?;
    v.table = v.table.with_key_order(order)?;
    let mut filter = String::new();
    if let Some(after) = after {
        if after.len() != v.table.key.len() {
            return Err(StoreError::invalid(format!(
                "a key of {table} has {} values, not {}",
                v.table.key.len(),
                after.len()
            )));
        }
        let mut left = Vec::new();
        let mut right = Vec::new();
        let mut lead = String::new();
        for (i, k) in v.table.key.iter().enumerate() {
            let Some(col) = v.col(k) else {
                return Err(StoreError::invalid(format!("{table} has no column {k}")));
            };
            let collate = v.collate(col);
            let bound = write_expr(&col.pg_type, &format!("${}::text", i + 1));
            if i == 0 && collate.is_empty() {
                // Lets the index on the leading key column narrow the scan.
                lead = format!("t.{} >= {bound} AND ", quote(k));
            }
            left.push(format!("t.{}{collate}", quote(k)));
            right.push(format!("{bound}{collate}"));
        }
        filter = format!(
            " WHERE {lead}({}) > ({})",
            left.join(", "),
            right.join(", ")
        );
    }
    let sql = format!(
        "SELECT {} FROM {}{filter} ORDER BY {} LIMIT {limit}",
        select(&v),
        v.from,
        v.order(false)
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for value in after.unwrap_or_default() {
        query = query.bind(text_of(value));
    }
    let rows = query.fetch_all(pool).await.map_err(db)?;
    rows.iter().map(|row| decode_row(&v, row)).collect()
}

pub(crate) async fn last_key(
    pool: &PgPool,
    table: &str,
    order: &[String],
) -> Result<Option<Vec<CopyValue>>> {
    let mut v = view(pool, table).await?;
    v.table = v.table.with_key_order(order)?;
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {} LIMIT 1",
        select(&v),
        v.from,
        v.order(true)
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    let Some(row) = row else { return Ok(None) };
    let values = decode_row(&v, &row)?;
    Ok(Some(
        v.table
            .key
            .iter()
            .map(|k| {
                let i = v.cols.iter().position(|c| &c.name == k).unwrap_or(0);
                values[i].clone()
            })
            .collect(),
    ))
}

pub(crate) async fn write(
    pool: &PgPool,
    table: &str,
    columns: &[String],
    rows: Vec<Vec<CopyValue>>,
) -> Result<u64> {
    let v = view(pool, table).await?;
    let mut targets = Vec::new();
    for (i, name) in columns.iter().enumerate() {
        let Some(col) = v.col(name) else {
            return Err(StoreError::invalid(format!("{table} has no column {name}")));
        };
        if let Some(physical) = &col.physical {
            targets.push((i, physical.clone(), col.pg_type.clone()));
        }
    }
    if let Some(bad) = rows.iter().find(|r| r.len() != columns.len()) {
        return Err(StoreError::invalid(format!(
            "a row for {table} has {} values for {} columns",
            bad.len(),
            columns.len()
        )));
    }
    if rows.is_empty() {
        return Ok(0);
    }
    let names = targets
        .iter()
        .map(|(_, p, _)| quote(p))
        .collect::<Vec<_>>()
        .join(", ");
    let exprs = targets
        .iter()
        .enumerate()
        .map(|(j, (_, _, ty))| write_expr(ty, &format!("u.c{j}")))
        .collect::<Vec<_>>()
        .join(", ");
    let arrays = (0..targets.len())
        .map(|j| format!("${}::text[]", j + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let aliases = (0..targets.len())
        .map(|j| format!("c{j}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO {} ({names}) SELECT {exprs} FROM UNNEST({arrays}) AS u({aliases}) \
         ON CONFLICT DO NOTHING",
        quote(&v.physical)
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for (i, _, _) in &targets {
        let column: Vec<Option<String>> = rows.iter().map(|r| text_of(&r[*i])).collect();
        query = query.bind(column);
    }
    let mut tx = pool.begin().await.map_err(db)?;
    let added = query.execute(&mut *tx).await.map_err(db)?.rows_affected();
    tx.commit().await.map_err(db)?;
    Ok(added)
}

pub(crate) async fn clear(pool: &PgPool, tables: &[String]) -> Result<()> {
    let mut physical = Vec::new();
    for t in tables {
        physical.push(view(pool, t).await?.physical);
    }
    let mut tx = pool.begin().await.map_err(db)?;
    for p in physical {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {}", quote(&p))))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    tx.commit().await.map_err(db)
}

pub(crate) async fn count(pool: &PgPool, table: &str) -> Result<i64> {
    let v = view(pool, table).await?;
    sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {}", v.from)))
        .fetch_one(pool)
        .await
        .map_err(db)
}

/// Moves every sequence owned by a column past the largest id in it.
pub(crate) async fn finish(pool: &PgPool) -> Result<()> {
    let owned = sqlx::query(
        "SELECT c.relname::text AS tab, a.attname::text AS col,
                pg_get_serial_sequence(quote_ident(c.relname), a.attname) AS seq
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
          WHERE n.nspname = current_schema() AND c.relkind = 'r'
            AND pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL",
    )
    .fetch_all(pool)
    .await
    .map_err(db)?;
    for row in owned {
        let tab: String = row.try_get("tab").map_err(db)?;
        let col: String = row.try_get("col").map_err(db)?;
        let seq: String = row.try_get("seq").map_err(db)?;
        sqlx::query(AssertSqlSafe(format!(
            "SELECT setval($1::regclass, COALESCE(max({}), 0) + 1, false) FROM {}",
            quote(&col),
            quote(&tab)
        )))
        .bind(seq)
        .execute(pool)
        .await
        .map_err(db)?;
    }
    Ok(())
}
