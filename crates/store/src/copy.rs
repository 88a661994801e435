//! The whole-database seam behind `igsync db copy`, `backup` and `restore`: each dialect
//! describes the tables a migrated database has (read from its own catalog) and reads and
//! writes their rows as dialect-neutral values, so the copy loop (in `sync::dbcopy`) needs no
//! list of tables and picks up every table a new migration adds.
//!
//! Canonical values: times are unix microseconds ([`CopyValue::Int`]), days `YYYY-MM-DD` text,
//! booleans 0/1, JSON and arrays JSON text, tokens bytes (ciphertext, copied as stored).

/// What a column holds, as far as its dialect can tell. SQLite says only `Int`, `Real`,
/// `Text` or `Bytes`; PostgreSQL also knows times, days, booleans and JSON. A copy pairs a
/// column with the more specific of its two kinds (see [`CopyKind::unify`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyKind {
    Int,
    Real,
    Text,
    Bytes,
    /// Unix microseconds.
    Time,
    /// `YYYY-MM-DD`.
    Day,
    /// 0 or 1.
    Bool,
    /// JSON text (objects, arrays, and PostgreSQL arrays rendered as JSON arrays).
    Json,
}

impl CopyKind {
    /// The kind two columns of the same name share, or `None` when their values cannot be
    /// carried from one to the other.
    pub fn unify(self, other: CopyKind) -> Option<CopyKind> {
        use CopyKind::*;
        match (self, other) {
            (a, b) if a == b => Some(a),
            (Int, k @ (Time | Bool)) | (k @ (Time | Bool), Int) => Some(k),
            (Text, k @ (Day | Json)) | (k @ (Day | Json), Text) => Some(k),
            _ => None,
        }
    }
}

/// One value of one column, dialect-neutral.
#[derive(Debug, Clone, PartialEq)]
pub enum CopyValue {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyColumn {
    pub name: String,
    pub kind: CopyKind,
}

/// A table as its dialect presents it for copying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyTable {
    pub name: String,
    /// In the order [`crate::Store::copy_read`] returns values.
    pub columns: Vec<CopyColumn>,
    /// The primary key's columns, in key order: rows are read and compared in this order.
    pub key: Vec<String>,
    /// Tables this one references (foreign keys): they are written first.
    pub references: Vec<String>,
}

impl CopyTable {
    /// This table with its key sorted in `order` (the same columns), or an error naming them.
    pub fn with_key_order(mut self, order: &[String]) -> crate::Result<CopyTable> {
        if order.is_empty() {
            return Ok(self);
        }
        let mut a = order.to_vec();
        let mut b = self.key.clone();
        a.sort();
        b.sort();
        if a != b {
            return Err(crate::StoreError::invalid(format!(
                "{} is keyed by ({}), not ({})",
                self.name,
                self.key.join(", "),
                order.join(", ")
            )));
        }
        self.key = order.to_vec();
        Ok(self)
    }

    pub fn column(&self, name: &str) -> Option<&CopyColumn> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Every table of a database (without the migrations' own bookkeeping) and its schema level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySchema {
    /// Migrations applied to this database.
    pub migrations_applied: u32,
    /// Migrations this build of igsync knows for this dialect.
    pub migrations_known: u32,
    /// Sorted by name.
    pub tables: Vec<CopyTable>,
}

impl CopySchema {
    pub fn table(&self, name: &str) -> Option<&CopyTable> {
        self.tables.iter().find(|t| t.name == name)
    }
}
