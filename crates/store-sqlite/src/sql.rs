//! Shared SQL plumbing: how values are stored (unix microseconds, `YYYY-MM-DD` days, JSON
//! text), typed column reads, and chunked multi-row statements under SQLite's bound
//! parameter limit.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{AssertSqlSafe, Decode, Row, Sqlite, SqliteConnection, Type};
use store::{Result, StoreError};

use crate::error::{corrupt, db_err};

/// SQLite's default `SQLITE_MAX_VARIABLE_NUMBER` (since 3.32).
const MAX_PARAMS: usize = 32_766;
/// At most this many rows per statement.
const MAX_ROWS: usize = 4_096;

/// A query whose parameters are owned (bound by value).
pub(crate) type Q = Query<'static, Sqlite, SqliteArguments>;

pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(crate) fn micros_opt(at: Option<DateTime<Utc>>) -> Option<i64> {
    at.map(micros)
}

pub(crate) fn from_micros(value: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value).ok_or_else(|| corrupt(format!("timestamp {value}")))
}

pub(crate) fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn parse_day(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| corrupt(format!("day {text:?}")))
}

/// A JSON array of strings, bound as one parameter and read with `json_each`.
pub(crate) fn json_texts<S: AsRef<str>>(items: &[S]) -> String {
    serde_json::Value::from_iter(items.iter().map(|it| it.as_ref())).to_string()
}

/// A JSON array of integers, bound as one parameter and read with `json_each`.
pub(crate) fn json_ints(items: impl IntoIterator<Item = i64>) -> String {
    serde_json::Value::from_iter(items).to_string()
}

/// Rejects NaN and infinities, which SQLite would store as NULL.
pub(crate) fn check_finite(what: &str, value: f64) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(StoreError::invalid(format!(
            "{what} has a non-finite value ({value})"
        )))
    }
}

/// Typed reads of a row's columns, with decode failures as [`StoreError`]s.
pub(crate) trait RowExt {
    fn col<T>(&self, name: &str) -> Result<T>
    where
        T: for<'r> Decode<'r, Sqlite> + Type<Sqlite>;

    fn time(&self, name: &str) -> Result<DateTime<Utc>> {
        from_micros(self.col(name)?)
    }

    fn time_opt(&self, name: &str) -> Result<Option<DateTime<Utc>>> {
        self.col::<Option<i64>>(name)?.map(from_micros).transpose()
    }

    fn day(&self, name: &str) -> Result<NaiveDate> {
        parse_day(&self.col::<String>(name)?)
    }

    fn json(&self, name: &str) -> Result<serde_json::Value> {
        let text: String = self.col(name)?;
        serde_json::from_str(&text).map_err(|e| corrupt(format!("{name}: {e}")))
    }

    fn json_opt(&self, name: &str) -> Result<Option<serde_json::Value>> {
        self.col::<Option<String>>(name)?
            .map(|text| serde_json::from_str(&text).map_err(|e| corrupt(format!("{name}: {e}"))))
            .transpose()
    }

    fn metrics(&self, name: &str) -> Result<BTreeMap<String, f64>> {
        let text: String = self.col(name)?;
        serde_json::from_str(&text).map_err(|e| corrupt(format!("{name}: {e}")))
    }

    /// A text column holding one of an enum's names.
    fn parsed<T>(&self, name: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
        let text: String = self.col(name)?;
        parse(&text).ok_or_else(|| corrupt(format!("{name} {text:?}")))
    }
}

impl RowExt for SqliteRow {
    fn col<T>(&self, name: &str) -> Result<T>
    where
        T: for<'r> Decode<'r, Sqlite> + Type<Sqlite>,
    {
        self.try_get(name)
            .map_err(|e| corrupt(format!("column {name}: {e}")))
    }
}

/// Runs `head VALUES row, row, … tail` over `rows` in as few statements as the parameter
/// limit allows; `row` is the parenthesized placeholder tuple of one row and `bind` binds
/// one row's values in the same order. Returns the rows affected.
///
/// Statements hold a power-of-two number of rows (a remainder is split the same way), so
/// each statement shape has only a dozen sizes and every one of them stays prepared in the
/// connection's statement cache.
pub(crate) async fn chunked_values<T>(
    conn: &mut SqliteConnection,
    head: &str,
    row: &str,
    tail: &str,
    rows: &[T],
    bind: impl Fn(Q, &T) -> Q,
) -> Result<u64> {
    let per_row = row.matches('?').count().max(1);
    let max_rows = prev_power_of_two((MAX_PARAMS / per_row).clamp(1, MAX_ROWS));
    let mut affected = 0;
    let mut rest = rows;
    while !rest.is_empty() {
        let n = prev_power_of_two(rest.len()).min(max_rows);
        let (part, tail_rows) = rest.split_at(n);
        rest = tail_rows;
        let mut sql = String::with_capacity(head.len() + tail.len() + n * (row.len() + 1) + 16);
        sql.push_str(head);
        sql.push_str(" VALUES ");
        for i in 0..n {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(row);
        }
        sql.push(' ');
        sql.push_str(tail);
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for item in part {
            query = bind(query, item);
        }
        affected += query
            .execute(&mut *conn)
            .await
            .map_err(db_err)?
            .rows_affected();
    }
    Ok(affected)
}

/// The largest power of two not above `n` (`n` ≥ 1).
fn prev_power_of_two(n: usize) -> usize {
    1 << (usize::BITS - 1 - n.max(1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two() {
        assert_eq!(prev_power_of_two(1), 1);
        assert_eq!(prev_power_of_two(1000), 512);
        assert_eq!(prev_power_of_two(1024), 1024);
        assert_eq!(prev_power_of_two(32_766 / 5), 4096);
    }
}

/// A value for a statement assembled from fixed fragments at run time.
pub(crate) enum Arg {
    Int(i64),
    Text(String),
}

/// A `WHERE` clause assembled from fixed fragments, each with its bound values.
#[derive(Default)]
pub(crate) struct Filter {
    clauses: Vec<&'static str>,
    args: Vec<Arg>,
}

impl Filter {
    /// Adds a condition; `fragment` holds one `?` per value, in order.
    pub(crate) fn and(&mut self, fragment: &'static str, values: impl IntoIterator<Item = Arg>) {
        self.clauses.push(fragment);
        self.args.extend(values);
    }

    /// ` WHERE a AND b …`, or nothing.
    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// Binds the values of every condition, in order.
    pub(crate) fn bind(&self, mut query: Q) -> Q {
        for arg in &self.args {
            query = match arg {
                Arg::Int(v) => query.bind(*v),
                Arg::Text(v) => query.bind(v.clone()),
            };
        }
        query
    }
}
