//! [`store::Store::export_page`] on PostgreSQL: every exported table as one `SELECT` in the
//! column order of [`ExportTable::columns`], paged by its order key (row-value comparison).
//! JSON columns are read as text; timestamps and days keep their types.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Row};
use store::{ExportKind, ExportPageQuery, ExportTable, ExportValue, Result, StoreError};

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
            select: "account_id, captured_at, followers_count, follows_count, media_count",
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
                     m.ig_media_id, s.value",
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
                     st.ig_media_id, s.value",
            from: "story_insight_snapshots s JOIN stories st ON st.id = s.story_id",
            account: "st.account_id",
            time: "s.captured_at",
            keys: "s.captured_at, s.story_id, s.metric, s.breakdown",
        },
        ExportTable::AccountInsightDays => Spec {
            select: "account_id, day, metric, breakdown, key, value, fetched_at",
            from: "account_insight_days",
            account: "account_id",
            time: "day",
            keys: "day, metric, breakdown, key",
        },
        ExportTable::DemographicSnapshots => Spec {
            select: "account_id, captured_on, metric, breakdown, timeframe, key, value",
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
    let by_day = table.columns()[table.time_column()].kind == ExportKind::Day;
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
    if let Some(after) = &query.after {
        if after.len() != table.key_columns().len() {
            return Err(StoreError::invalid(format!(
                "the order key of {} has {} values, not {}",
                table.name(),
                table.key_columns().len(),
                after.len()
            )));
        }
        let first = 2 + usize::from(query.since.is_some()) + usize::from(query.until.is_some());
        let marks = (first..first + after.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        sql.push_str(&format!(" AND ({}) > ({marks})", s.keys));
    }
    let limit = next + query.after.as_ref().map_or(0, Vec::len);
    sql.push_str(&format!(" ORDER BY {} LIMIT ${limit}", s.keys));
    let mut q: Q = sqlx::query(AssertSqlSafe(sql)).bind(query.account_id);
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
