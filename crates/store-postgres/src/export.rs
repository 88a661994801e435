//! [`store::Store::export_page`] on PostgreSQL: every exported table as one `SELECT` in the
//! column order of [`ExportTable::columns`], paged by its order key (row-value comparison).
//! JSON columns are read as text; timestamps and days keep their types.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Row};
use store::{
    ExportBatch, ExportColumnValues, ExportKind, ExportPageQuery, ExportTable, ExportValue, Result,
    StoreError,
};

use crate::PostgresStore;
use crate::error::db;

type Q = Query<'static, sqlx::Postgres, PgArguments>;

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
                     status, last_synced_at, last_sync_error, followers_count, \
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
                     comments_count, children::text, first_seen_at, last_seen_at, deleted_at, \
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
            select: "account_id, started_at, id, plan, trigger, array_to_json(steps_planned)::text, status, \
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
        ExportValue::Time(v) => q.bind(*v),
        ExportValue::Day(v) => q.bind(*v),
        ExportValue::Null => {
            return Err(StoreError::invalid("an export order key holds no null"));
        }
    })
}

fn decode(row: &PgRow, table: ExportTable) -> Result<Vec<ExportValue>> {
    let mut out = Vec::with_capacity(table.columns().len());
    for (i, column) in table.columns().iter().enumerate() {
        let value = match column.kind {
            ExportKind::Int => row
                .try_get::<Option<i64>, _>(i)
                .map_err(db)?
                .map(ExportValue::Int),
            ExportKind::Float => row
                .try_get::<Option<f64>, _>(i)
                .map_err(db)?
                .map(ExportValue::Float),
            ExportKind::Text | ExportKind::Json => row
                .try_get::<Option<String>, _>(i)
                .map_err(db)?
                .map(ExportValue::Text),
            ExportKind::Time => row
                .try_get::<Option<DateTime<Utc>>, _>(i)
                .map_err(db)?
                .map(ExportValue::Time),
            ExportKind::Day => row
                .try_get::<Option<NaiveDate>, _>(i)
                .map_err(db)?
                .map(ExportValue::Day),
        };
        out.push(value.unwrap_or(ExportValue::Null));
    }
    Ok(out)
}

pub(crate) async fn page(
    store: &PostgresStore,
    query: ExportPageQuery,
) -> Result<Vec<Vec<ExportValue>>> {
    let table = query.table;
    let s = spec(table);
    let by_day = table.partitioned_by_day();
    let mut sql = format!(
        "SELECT {} FROM {} WHERE {} = $1",
        s.select, s.from, s.account
    );
    let mut next = 2;
    if query.since.is_some() {
        sql.push_str(&format!(" AND {} >= ${next}", s.time));
        next += 1;
    }
    if query.until.is_some() {
        sql.push_str(&format!(" AND {} <= ${next}", s.time));
        next += 1;
    }
    if let Some(after) = query.after_key()? {
        let first = 2 + usize::from(query.since.is_some()) + usize::from(query.until.is_some());
        let marks = (first..first + after.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        sql.push_str(&format!(" AND ({}) > ({marks})", s.keys));
    }
    let limit = next + query.after.as_ref().map_or(0, Vec::len);
    sql.push_str(&format!(" ORDER BY {} LIMIT ${limit}", s.keys));
    let mut q: Q = sqlx::query(AssertSqlSafe(sql)).bind(query.account_id.get());
    for bound in [query.since, query.until].into_iter().flatten() {
        q = if by_day {
            q.bind(bound.date_naive())
        } else {
            q.bind(bound)
        };
    }
    for value in query.after.iter().flatten() {
        q = bind_value(q, value)?;
    }
    q = q.bind(i64::from(query.limit.max(1)));
    let rows = q.fetch_all(&store.pool).await.map_err(db)?;
    rows.iter().map(|row| decode(row, table)).collect()
}

/// A value as an SQL literal of a `COPY` statement (which takes no parameters): numbers and
/// times as their text, texts hex-encoded so no quoting rule applies.
fn literal(value: &ExportValue, by_day: bool) -> Result<String> {
    Ok(match value {
        ExportValue::Int(v) => format!("{v}::int8"),
        ExportValue::Float(v) if v.is_finite() => format!("{v:?}::float8"),
        ExportValue::Float(v) => return Err(StoreError::invalid(format!("an order key of {v}"))),
        ExportValue::Text(v) => {
            format!("convert_from(decode('{}', 'hex'), 'UTF8')", hex::encode(v))
        }
        ExportValue::Time(v) if by_day => format!("'{}'::date", v.date_naive()),
        ExportValue::Time(v) => format!(
            "'{}'::timestamptz",
            v.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        ),
        ExportValue::Day(v) => format!("'{v}'::date"),
        ExportValue::Null => {
            return Err(StoreError::invalid("an export order key holds no null"));
        }
    })
}

/// The expressions of a select list (split at its top-level commas).
fn select_items(select: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in select.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(select[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(select[start..].trim());
    items
}

/// How [`batch`] asks for a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// The whole rest of the rows in whatever order the index gives them, with one row more
    /// than a page holds so that a read that fits one page is known to: [`batch`] then sorts
    /// it by key itself, and the database sorts nothing.
    Whole,
    /// In key order, one page (a page that continues another, or the first page of a read
    /// larger than a page).
    Keyed,
}

/// A snapshot table whose rows name their account through a parent row (a post, a story).
/// [`batch`] reads it without joining the parent: the account's parents are read first
/// (their ids and Instagram ids), the rows are selected by the parent ids (the primary
/// key's first column: an index scan of the account's rows only) and `account_id` and
/// `ig_media_id` are filled in from the parents.
struct Child {
    parent: &'static str,
    from: &'static str,
    /// The column naming the parent.
    fk: &'static str,
    select: &'static str,
}

fn child(table: ExportTable) -> Option<Child> {
    match table {
        ExportTable::MediaInsightSnapshots => Some(Child {
            parent: "media",
            from: "media_insight_snapshots s",
            fk: "s.media_id",
            select: "s.captured_at, s.media_id, s.metric, s.breakdown, s.value, \
                     s.api_version, s.source",
        }),
        ExportTable::StoryInsightSnapshots => Some(Child {
            parent: "stories",
            from: "story_insight_snapshots s",
            fk: "s.story_id",
            select: "s.captured_at, s.story_id, s.metric, s.breakdown, s.value, \
                     s.api_version, s.source",
        }),
        _ => None,
    }
}

/// The positions of a [`Child`]'s selected columns among its table's export columns.
const CHILD_FIELDS: [usize; 7] = [1, 2, 3, 4, 6, 7, 8];
/// The positions of the parent's id and of the Instagram id it gives.
const CHILD_PARENT: usize = 2;
const CHILD_IG_ID: usize = 5;

/// The `COPY … TO STDOUT (FORMAT binary)` of a page: the page's query with each column cast
/// to the one binary type its kind is decoded from. A [`Child`] table is read by its
/// account's `parents` ids.
fn copy_sql(query: &ExportPageQuery, parents: Option<&[i64]>, order: Order) -> Result<String> {
    let table = query.table;
    let s = spec(table);
    let by_day = table.partitioned_by_day();
    let (select, fields, from, filter) = match (child(table), parents) {
        (Some(c), Some(ids)) => {
            let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
            (
                c.select,
                CHILD_FIELDS.to_vec(),
                c.from,
                format!("{} = ANY('{{{}}}'::int8[])", c.fk, ids.join(",")),
            )
        }
        (None, _) => (
            s.select,
            (0..table.columns().len()).collect(),
            s.from,
            format!("{} = {}", s.account, query.account_id),
        ),
        (Some(_), None) => {
            return Err(StoreError::invalid(format!(
                "the export of {} needs the account's parent rows",
                table.name()
            )));
        }
    };
    let items = select_items(select);
    if items.len() != fields.len() {
        return Err(StoreError::invalid(format!(
            "the export of {} selects {} columns, not {}",
            table.name(),
            items.len(),
            fields.len()
        )));
    }
    let select: Vec<String> = items
        .iter()
        .zip(&fields)
        .map(|(item, &field)| {
            let cast = match table.columns()[field].kind {
                ExportKind::Int => "int8",
                ExportKind::Float => "float8",
                ExportKind::Text | ExportKind::Json => "text",
                ExportKind::Time => "timestamptz",
                ExportKind::Day => "date",
            };
            format!("({item})::{cast}")
        })
        .collect();
    let mut sql = format!(
        "COPY (SELECT {} FROM {from} WHERE {filter}",
        select.join(", ")
    );
    for (bound, op) in [(query.since, ">="), (query.until, "<=")] {
        if let Some(bound) = bound {
            let bound = literal(&ExportValue::Time(bound), by_day)?;
            sql.push_str(&format!(" AND {} {op} {bound}", s.time));
        }
    }
    if let Some(after) = query.after_key()? {
        let values = after
            .iter()
            .map(|v| literal(v, false))
            .collect::<Result<Vec<_>>>()?;
        sql.push_str(&format!(" AND ({}) > ({})", s.keys, values.join(", ")));
    }
    let limit = u64::from(query.limit.max(1));
    match order {
        Order::Whole => sql.push_str(&format!(" LIMIT {}", limit + 1)),
        Order::Keyed => sql.push_str(&format!(" ORDER BY {} LIMIT {limit}", s.keys)),
    }
    sql.push_str(") TO STDOUT (FORMAT binary)");
    Ok(sql)
}

/// [`store::Store::export_batch`] on PostgreSQL: the page as one `COPY … (FORMAT binary)`,
/// decoded field by field into the batch's columns. A first page is asked for whole and
/// unordered ([`Order::Whole`]); only a read larger than a page is asked again in key order.
pub(crate) async fn batch(store: &PostgresStore, query: ExportPageQuery) -> Result<ExportBatch> {
    let table = query.table;
    let limit = query.limit.max(1) as usize;
    let parents = match child(table) {
        Some(c) => Some(parents(store, &c, query.account_id).await?),
        None => None,
    };
    let ids: Option<Vec<i64>> = parents
        .as_ref()
        .map(|p| p.iter().map(|(id, _)| *id).collect());
    if ids.as_ref().is_some_and(Vec::is_empty) {
        let mut none = ExportBatch::new(table, 0);
        none.complete = true;
        return Ok(none);
    }
    let fields: Vec<usize> = match &parents {
        Some(_) => CHILD_FIELDS.to_vec(),
        None => (0..table.columns().len()).collect(),
    };
    let mut order = if query.after.is_none() {
        Order::Whole
    } else {
        Order::Keyed
    };
    let mut batch = loop {
        let sql = copy_sql(&query, ids.as_deref(), order)?;
        let batch = copy_out(store, table, &sql, limit.min(65_536) + 1, &fields).await?;
        if order == Order::Whole && batch_rows(&batch, &fields) > limit {
            order = Order::Keyed;
            continue;
        }
        break batch;
    };
    if let Some(parents) = &parents {
        fill_from_parents(&mut batch, query.account_id, parents)?;
    }
    if order == Order::Whole {
        batch.sort_by_key();
        batch.complete = true;
    }
    Ok(batch)
}

/// Rows decoded into a batch whose `fields` were read.
fn batch_rows(batch: &ExportBatch, fields: &[usize]) -> usize {
    fields
        .first()
        .and_then(|&f| batch.columns.get(f))
        .map_or(0, ExportColumnValues::len)
}

/// The ids and Instagram ids of an account's parent rows.
async fn parents(
    store: &PostgresStore,
    child: &Child,
    account: store::AccountId,
) -> Result<Vec<(i64, String)>> {
    let sql = format!(
        "SELECT id, ig_media_id FROM {} WHERE account_id = $1",
        child.parent
    );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(account.get())
        .fetch_all(&store.pool)
        .await
        .map_err(db)
}

/// Fills a [`Child`] batch's `account_id` and `ig_media_id` from its account's parents.
fn fill_from_parents(
    batch: &mut ExportBatch,
    account: store::AccountId,
    parents: &[(i64, String)],
) -> Result<()> {
    let table = batch.table;
    let by_id: HashMap<i64, &str> = parents.iter().map(|(id, ig)| (*id, ig.as_str())).collect();
    let ExportColumnValues::Int(ids) = &batch.columns[CHILD_PARENT] else {
        return Err(StoreError::invalid(format!(
            "{} names its parent by a number",
            table.name()
        )));
    };
    let mut ig = ExportColumnValues::new(ExportKind::Text, ids.len());
    for id in ids {
        let text = id.and_then(|id| by_id.get(&id).copied());
        if text.is_none() {
            return Err(StoreError::Other {
                message: format!(
                    "a row of {} names {id:?}, not a {} of account {account}",
                    table.name(),
                    child(table).map_or("parent", |c| c.parent)
                ),
            });
        }
        ig.push_text(text);
    }
    batch.columns[0] = ExportColumnValues::Int(vec![Some(account.get()); ids.len()]);
    batch.columns[CHILD_IG_ID] = ig;
    Ok(())
}

/// Runs a `COPY … TO STDOUT (FORMAT binary)` and decodes its fields into a batch's `fields`.
async fn copy_out(
    store: &PostgresStore,
    table: ExportTable,
    sql: &str,
    rows: usize,
    fields: &[usize],
) -> Result<ExportBatch> {
    use futures_util::TryStreamExt;
    use sqlx::postgres::PgPoolCopyExt;
    let mut stream = store.pool.copy_out_raw(sql).await.map_err(db)?;
    let mut data = Vec::new();
    while let Some(chunk) = stream.try_next().await.map_err(db)? {
        data.extend_from_slice(&chunk);
    }
    decode_copy(table, &data, rows, fields)
}

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days from the Unix epoch to PostgreSQL's.
const PG_EPOCH_DAYS: i32 = 10_957;

/// Decodes the binary `COPY` format: a header, then per row a field count and per field a
/// length (-1: null) and its bytes, then a trailer of -1.
fn decode_copy(
    table: ExportTable,
    data: &[u8],
    rows: usize,
    fields: &[usize],
) -> Result<ExportBatch> {
    const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";
    let broken = |what: &str| StoreError::Other {
        message: format!("the COPY of {} is malformed: {what}", table.name()),
    };
    let mut cursor = Cursor { data, at: 0 };
    let ends = || broken("it ends early");
    if cursor.take(SIGNATURE.len()).ok_or_else(ends)? != SIGNATURE {
        return Err(broken("no binary COPY signature"));
    }
    cursor.take(4).ok_or_else(ends)?; // flags
    let extension = cursor.u32().ok_or_else(ends)?;
    cursor.take(extension as usize).ok_or_else(ends)?;
    let mut batch = ExportBatch::new(table, rows);
    let width = fields.len();
    if fields.iter().any(|&f| f >= table.columns().len()) {
        return Err(broken("a field outside the table's columns"));
    }
    loop {
        let count = cursor.i16().ok_or_else(ends)?;
        if count == -1 {
            break;
        }
        if count as usize != width {
            return Err(broken(&format!("a row of {count} fields, not {width}")));
        }
        for &field in fields {
            let spec = &table.columns()[field];
            let column = &mut batch.columns[field];
            let len = cursor.u32().ok_or_else(ends)? as i32;
            if len < 0 {
                column.push_null();
                continue;
            }
            let bytes = cursor.take(len as usize).ok_or_else(ends)?;
            let wrong = || broken(&format!("{} is not {:?}", spec.name, spec.kind));
            let eight = || -> Result<[u8; 8]> { bytes.try_into().map_err(|_| wrong()) };
            match column {
                ExportColumnValues::Int(v) => v.push(Some(i64::from_be_bytes(eight()?))),
                ExportColumnValues::Float(v) => v.push(Some(f64::from_be_bytes(eight()?))),
                ExportColumnValues::Time(v) => {
                    let us = i64::from_be_bytes(eight()?);
                    let unix = us
                        .checked_add(PG_EPOCH_MICROS)
                        .filter(|_| us != i64::MAX && us != i64::MIN)
                        .ok_or_else(|| broken(&format!("{} is infinite", spec.name)))?;
                    v.push(Some(unix));
                }
                ExportColumnValues::Day(v) => {
                    let four: [u8; 4] = bytes.try_into().map_err(|_| wrong())?;
                    let days = i32::from_be_bytes(four);
                    let unix = days
                        .checked_add(PG_EPOCH_DAYS)
                        .filter(|_| days != i32::MAX && days != i32::MIN)
                        .ok_or_else(|| broken(&format!("{} is infinite", spec.name)))?;
                    v.push(Some(unix));
                }
                c @ ExportColumnValues::Text { .. } => {
                    let text = std::str::from_utf8(bytes).map_err(|_| wrong())?;
                    c.push_text(Some(text));
                }
            }
        }
    }
    Ok(batch)
}

/// A reader of the binary `COPY` format's big-endian fields.
struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.data.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(bytes)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
}
