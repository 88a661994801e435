//! [`store::Store::export_page`] on SQLite: every exported table as one `SELECT` in the
//! column order of [`ExportTable::columns`], paged by its order key (row-value comparison).

use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};
use store::{
    ExportBatch, ExportColumnValues, ExportKind, ExportPageQuery, ExportTable, ExportValue, Result,
    StoreError, epoch_day,
};

use crate::SqliteStore;
use crate::error::{corrupt, db_err};
use crate::sql::{Q, day, from_micros, micros, parse_day};

struct Spec {
    select: &'static str,
    from: &'static str,
    account: &'static str,
    time: &'static str,
    keys: &'static str,
}

fn spec(table: ExportTable) -> Spec {
    match table {
        ExportTable::Accounts => Spec {
            select: "id, ig_user_id, username, name, account_type, login, page_id, timezone, \
                     sync_status, last_synced_at, last_sync_error, followers_count, \
                     follows_count, media_count, created_at, updated_at",
            from: "accounts",
            account: "id",
            time: "created_at",
            keys: "id",
        },
        ExportTable::ProfileSnapshots => Spec {
            select: "account_id, captured_at, followers_count, follows_count, media_count, \
                     api_version, source",
            from: "profile_snapshots",
            account: "account_id",
            time: "captured_at",
            keys: "captured_at",
        },
        ExportTable::Media => Spec {
            select: "account_id, published_at, id, ig_media_id, media_type, product_type, \
                     caption, permalink, media_url, thumbnail_url, shortcode, like_count, \
                     comments_count, children, first_seen_at, last_seen_at, deleted_at, \
                     insights_captured_at, insights_error",
            from: "media",
            account: "account_id",
            time: "published_at",
            keys: "published_at, id",
        },
        ExportTable::MediaInsightSnapshots => Spec {
            select: "m.account_id, s.captured_at, s.media_id, s.metric, s.breakdown, \
                     m.ig_media_id, s.value, s.api_version, s.source",
            from: "media_insight_snapshots s JOIN media m ON m.id = s.media_id",
            account: "m.account_id",
            time: "s.captured_at",
            keys: "s.captured_at, s.media_id, s.metric, s.breakdown",
        },
        ExportTable::Stories => Spec {
            select: "account_id, published_at, id, ig_media_id, media_type, permalink, \
                     caption, media_url, first_seen_at, last_seen_at, insights_captured_at, \
                     insights_error",
            from: "stories",
            account: "account_id",
            time: "published_at",
            keys: "published_at, id",
        },
        ExportTable::StoryInsightSnapshots => Spec {
            select: "st.account_id, s.captured_at, s.story_id, s.metric, s.breakdown, \
                     st.ig_media_id, s.value, s.api_version, s.source",
            from: "story_insight_snapshots s JOIN stories st ON st.id = s.story_id",
            account: "st.account_id",
            time: "s.captured_at",
            keys: "s.captured_at, s.story_id, s.metric, s.breakdown",
        },
        ExportTable::AccountInsightDays => Spec {
            select: "account_id, day, metric, breakdown, key, value, fetched_at, api_version, \
                     source",
            from: "account_insight_days",
            account: "account_id",
            time: "day",
            keys: "day, metric, breakdown, key",
        },
        ExportTable::DemographicSnapshots => Spec {
            select: "account_id, captured_on, metric, breakdown, timeframe, key, value, \
                     api_version, source",
            from: "demographic_snapshots",
            account: "account_id",
            time: "captured_on",
            keys: "captured_on, metric, breakdown, timeframe, key",
        },
        ExportTable::SyncRuns => Spec {
            select: "account_id, started_at, id, plan, triggered_by, steps_planned, status, \
                     finished_at, error",
            from: "sync_runs",
            account: "account_id",
            time: "started_at",
            keys: "started_at, id",
        },
    }
}

fn bind_value(q: Q, value: &ExportValue) -> Result<Q> {
    Ok(match value {
        ExportValue::Int(v) => q.bind(*v),
        ExportValue::Float(v) => q.bind(*v),
        ExportValue::Text(v) => q.bind(v.clone()),
        ExportValue::Time(v) => q.bind(micros(*v)),
        ExportValue::Day(v) => q.bind(day(*v)),
        ExportValue::Null => {
            return Err(StoreError::invalid("an export order key holds no null"));
        }
    })
}

fn decode(row: &SqliteRow, table: ExportTable) -> Result<Vec<ExportValue>> {
    let mut out = Vec::with_capacity(table.columns().len());
    for (i, column) in table.columns().iter().enumerate() {
        let value = match column.kind {
            ExportKind::Int => row
                .try_get::<Option<i64>, _>(i)
                .map_err(db_err)?
                .map(ExportValue::Int),
            ExportKind::Float => row
                .try_get::<Option<f64>, _>(i)
                .map_err(db_err)?
                .map(ExportValue::Float),
            ExportKind::Text | ExportKind::Json => row
                .try_get::<Option<String>, _>(i)
                .map_err(db_err)?
                .map(ExportValue::Text),
            ExportKind::Time => match row.try_get::<Option<i64>, _>(i).map_err(db_err)? {
                Some(v) => Some(ExportValue::Time(from_micros(v)?)),
                None => None,
            },
            ExportKind::Day => match row.try_get::<Option<String>, _>(i).map_err(db_err)? {
                Some(v) => Some(ExportValue::Day(parse_day(&v)?)),
                None => None,
            },
        };
        out.push(value.unwrap_or(ExportValue::Null));
    }
    Ok(out)
}

/// How a page is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// The whole rest of the rows in whatever order the plan gives them, with one row more
    /// than a page holds so that a read that fits one page is known to: [`read_batch`] then
    /// sorts it by key itself, and SQLite builds no sorter.
    Whole,
    /// In key order, one page.
    Keyed,
}

/// The SQL of a page (in key order) and its parameters in order.
fn page_sql(query: &ExportPageQuery) -> Result<(String, Vec<ExportValue>)> {
    ordered_sql(query, Order::Keyed)
}

fn ordered_sql(query: &ExportPageQuery, order: Order) -> Result<(String, Vec<ExportValue>)> {
    let table = query.table;
    let s = spec(table);
    let by_day = table.partitioned_by_day();
    let mut sql = format!(
        "SELECT {} FROM {} WHERE {} = ?",
        s.select, s.from, s.account
    );
    let mut params = vec![ExportValue::Int(query.account_id.get())];
    for (bound, op) in [(query.since, ">="), (query.until, "<=")] {
        if let Some(bound) = bound {
            sql.push_str(&format!(" AND {} {op} ?", s.time));
            params.push(if by_day {
                ExportValue::Day(bound.date_naive())
            } else {
                ExportValue::Time(bound)
            });
        }
    }
    if let Some(after) = query.after_key()? {
        let marks = vec!["?"; after.len()].join(", ");
        sql.push_str(&format!(" AND ({}) > ({marks})", s.keys));
        params.extend(after.iter().cloned());
    }
    let limit = i64::from(query.limit.max(1));
    match order {
        Order::Whole => {
            sql.push_str(" LIMIT ?");
            params.push(ExportValue::Int(limit + 1));
        }
        Order::Keyed => {
            sql.push_str(&format!(" ORDER BY {} LIMIT ?", s.keys));
            params.push(ExportValue::Int(limit));
        }
    }
    Ok((sql, params))
}

pub(crate) async fn page(
    store: &SqliteStore,
    query: ExportPageQuery,
) -> Result<Vec<Vec<ExportValue>>> {
    let table = query.table;
    let (sql, params) = page_sql(&query)?;
    let mut q: Q = sqlx::query(AssertSqlSafe(sql));
    for value in &params {
        q = bind_value(q, value)?;
    }
    let rows = q.fetch_all(&store.reader).await.map_err(db_err)?;
    rows.iter().map(|row| decode(row, table)).collect()
}

/// [`store::Store::export_batch`] on SQLite: the page's statement run on a read-only
/// connection of the export's own (prepared statements cached), each cell appended to its
/// column straight from SQLite's buffer. An in-memory database, which no second connection
/// can open, is read through [`page`].
pub(crate) async fn batch(store: &SqliteStore, query: ExportPageQuery) -> Result<ExportBatch> {
    let Some(file) = store.file.clone() else {
        let table = query.table;
        return ExportBatch::from_rows(table, &page(store, query).await?);
    };
    let reader = store.export_reader.clone();
    tokio::task::spawn_blocking(move || {
        let mut slot = reader
            .lock()
            .map_err(|_| unavailable("the SQLite export reader panicked"))?;
        if slot.is_none() {
            let conn = rusqlite::Connection::open_with_flags(
                &file,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| unavailable(format!("cannot open {} to export: {e}", file.display())))?;
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .map_err(lite_err)?;
            *slot = Some(conn);
        }
        let conn = slot
            .as_ref()
            .ok_or_else(|| unavailable("no SQLite export connection"))?;
        read_batch(conn, &query)
    })
    .await
    .map_err(|e| unavailable(format!("the SQLite export reader stopped: {e}")))?
}

fn unavailable(message: impl Into<String>) -> StoreError {
    StoreError::Unavailable {
        message: message.into(),
    }
}

fn lite_err(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            unavailable(format!("SQLite export read: {e}"))
        }
        e => StoreError::Other {
            message: format!("SQLite export read: {e}"),
        },
    }
}

/// A page: a first page is asked for whole and unordered ([`Order::Whole`]) and sorted here;
/// only a read larger than a page is asked again in key order.
fn read_batch(conn: &rusqlite::Connection, query: &ExportPageQuery) -> Result<ExportBatch> {
    let limit = query.limit.max(1) as usize;
    if query.after.is_none() {
        let mut batch = read_rows(conn, query, Order::Whole)?;
        if batch.len() <= limit {
            batch.sort_by_key();
            batch.complete = true;
            return Ok(batch);
        }
    }
    read_rows(conn, query, Order::Keyed)
}

fn read_rows(
    conn: &rusqlite::Connection,
    query: &ExportPageQuery,
    order: Order,
) -> Result<ExportBatch> {
    use rusqlite::types::{Value, ValueRef};
    let table = query.table;
    let (sql, params) = ordered_sql(query, order)?;
    let params: Vec<Value> = params
        .into_iter()
        .map(|v| match v {
            ExportValue::Int(v) => Ok(Value::Integer(v)),
            ExportValue::Float(v) => Ok(Value::Real(v)),
            ExportValue::Text(v) => Ok(Value::Text(v)),
            ExportValue::Time(v) => Ok(Value::Integer(micros(v))),
            ExportValue::Day(v) => Ok(Value::Text(day(v))),
            ExportValue::Null => Err(StoreError::invalid("an export order key holds no null")),
        })
        .collect::<Result<_>>()?;
    let mut statement = conn.prepare_cached(&sql).map_err(lite_err)?;
    let mut rows = statement
        .query(rusqlite::params_from_iter(params))
        .map_err(lite_err)?;
    let mut batch = ExportBatch::new(table, query.limit.min(65_536) as usize + 1);
    // Days repeat row after row: parse each text once.
    let mut last_day: Option<(String, i32)> = None;
    let bad = |column: &str, what: &str| corrupt(format!("{}.{column} holds {what}", table.name()));
    while let Some(row) = rows.next().map_err(lite_err)? {
        for (i, (spec, column)) in table
            .columns()
            .iter()
            .zip(batch.columns.iter_mut())
            .enumerate()
        {
            let value = row.get_ref(i).map_err(lite_err)?;
            match (column, value) {
                (c, ValueRef::Null) => c.push_null(),
                (
                    ExportColumnValues::Int(v) | ExportColumnValues::Time(v),
                    ValueRef::Integer(x),
                ) => {
                    v.push(Some(x));
                }
                (ExportColumnValues::Float(v), ValueRef::Real(x)) => v.push(Some(x)),
                (ExportColumnValues::Float(v), ValueRef::Integer(x)) => v.push(Some(x as f64)),
                (c @ ExportColumnValues::Text { .. }, ValueRef::Text(bytes)) => {
                    let text = std::str::from_utf8(bytes)
                        .map_err(|_| bad(spec.name, "text that is not UTF-8"))?;
                    c.push_text(Some(text));
                }
                (ExportColumnValues::Day(v), ValueRef::Text(bytes)) => {
                    let text = std::str::from_utf8(bytes)
                        .map_err(|_| bad(spec.name, "a day that is not UTF-8"))?;
                    let d = match &last_day {
                        Some((t, d)) if t == text => *d,
                        _ => {
                            let d = epoch_day(parse_day(text)?);
                            last_day = Some((text.to_string(), d));
                            d
                        }
                    };
                    v.push(Some(d));
                }
                (_, other) => {
                    return Err(bad(
                        spec.name,
                        &format!(
                            "a {:?} value where {:?} was expected",
                            other.data_type(),
                            spec.kind
                        ),
                    ));
                }
            }
        }
    }
    Ok(batch)
}
