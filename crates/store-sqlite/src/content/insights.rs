//! Insight snapshots of media and stories: appended per capture, with each item's latest
//! values kept beside it, and read back as history.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, SqliteConnection};
use store::{
    AccountId, Breakdown, InsightBatch, InsightSnapshot, Origin, PostWindow, Result, StoreError,
};

use super::WINDOW_POSTS;
use crate::SqliteStore;
use crate::accounts::ensure_exists;
use crate::error::{corrupt, db_err};
use crate::sql::{RowExt, check_finite, chunked_values, from_micros, json_texts, micros};

/// Where insight snapshots of one kind of item live.
pub(super) struct InsightTables {
    /// The item table (`media` or `stories`), with `latest`, `insights_*` columns.
    items: &'static str,
    snapshots: &'static str,
    item_column: &'static str,
    what: &'static str,
}

const MEDIA_INSIGHTS: InsightTables = InsightTables {
    items: "media",
    snapshots: "media_insight_snapshots",
    item_column: "media_id",
    what: "media",
};

pub(super) const STORY_INSIGHTS: InsightTables = InsightTables {
    items: "stories",
    snapshots: "story_insight_snapshots",
    item_column: "story_id",
    what: "story",
};

pub(super) fn check_rows(what: &str, rows: &[InsightSnapshot]) -> Result<()> {
    for row in rows {
        if row.metric.is_empty() {
            return Err(StoreError::invalid(format!(
                "{what} insight of {} without a metric name",
                row.ig_media_id
            )));
        }
        check_finite(
            &format!("{what} insight {} of {}", row.metric, row.ig_media_id),
            row.value,
        )?;
    }
    Ok(())
}

/// Appends snapshots (idempotently), refreshes each item's latest values and
/// `insights_captured_at` (unless it already holds a newer capture) and records per-item
/// errors. Fails before writing anything if a row or error names an unknown item.
pub(super) async fn apply_insights(
    conn: &mut SqliteConnection,
    tables: &InsightTables,
    account: AccountId,
    captured_at: DateTime<Utc>,
    rows: &[InsightSnapshot],
    errors: &[(String, String)],
    origin: &Origin,
) -> Result<u64> {
    let InsightTables {
        items,
        snapshots,
        item_column,
        what,
    } = tables;
    let mut wanted: Vec<&str> = rows
        .iter()
        .map(|r| r.ig_media_id.as_str())
        .chain(errors.iter().map(|(id, _)| id.as_str()))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.is_empty() {
        return Ok(0);
    }
    // `+account_id` keeps the planner on the unique index of the ids (not the account's
    // index, which would scan every item the account has).
    let found = sqlx::query(AssertSqlSafe(format!(
        "SELECT id, ig_media_id FROM {items}
         WHERE ig_media_id IN (SELECT value FROM json_each(?)) AND +account_id = ?"
    )))
    .bind(json_texts(&wanted))
    .bind(account.get())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(found.len());
    for row in &found {
        ids.insert(row.col("ig_media_id")?, row.col("id")?);
    }
    let unknown: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|id| !ids.contains_key(*id))
        .collect();
    if !unknown.is_empty() {
        let shown: Vec<&str> = unknown.iter().copied().take(5).collect();
        return Err(StoreError::invalid(format!(
            "insights for {} unknown {what} item(s) of account {account}: {}{}",
            unknown.len(),
            shown.join(", "),
            if unknown.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        )));
    }

    let resolved: Vec<(i64, &InsightSnapshot)> =
        rows.iter().map(|r| (ids[&r.ig_media_id], r)).collect();

    // A snapshot equal to the newest row of its series (provenance included) confirms that
    // row instead of appending one (`store::plan_snapshot_writes`). The newest rows come
    // from one grouped read: SQLite takes the bare columns from the row of `max`.
    let mut item_ids: Vec<i64> = resolved.iter().map(|(id, _)| *id).collect();
    item_ids.sort_unstable();
    item_ids.dedup();
    let newest_rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {item_column} AS id, metric, breakdown, max(captured_at) AS captured_at, value,
                api_version, source
         FROM {snapshots} WHERE {item_column} IN (SELECT value FROM json_each(?))
         GROUP BY {item_column}, metric, breakdown"
    )))
    .bind(serde_json::to_string(&item_ids).map_err(|e| corrupt(e.to_string()))?)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    type Stored = (f64, Option<String>, String);
    let mut newest: HashMap<(i64, String, String), (i64, Stored)> =
        HashMap::with_capacity(newest_rows.len());
    for row in &newest_rows {
        newest.insert(
            (row.col("id")?, row.col("metric")?, row.col("breakdown")?),
            (
                row.col("captured_at")?,
                (
                    row.col("value")?,
                    row.col("api_version")?,
                    row.col("source")?,
                ),
            ),
        );
    }
    let incoming: Vec<((i64, String, String), i64, Stored)> = resolved
        .iter()
        .map(|(id, r)| {
            (
                (
                    *id,
                    r.metric.clone(),
                    Breakdown::to_column(r.breakdown.as_ref()),
                ),
                micros(r.captured_at),
                (
                    r.value,
                    origin.api_version.clone(),
                    origin.source.as_str().to_string(),
                ),
            )
        })
        .collect();
    let plan = store::plan_snapshot_writes(newest, &incoming);
    let keys: Vec<((i64, String, String), i64)> =
        incoming.into_iter().map(|(k, t, _)| (k, t)).collect();
    let confirmed = store::confirmations(&keys, &plan);
    let mut written = chunked_values(
        conn,
        "WITH v (id, metric, breakdown, c, t) AS (",
        "(?, ?, ?, ?, ?)",
        &format!(
            ") UPDATE {snapshots} SET confirmed_at = v.t FROM v
             WHERE {snapshots}.{item_column} = v.id AND {snapshots}.metric = v.metric
               AND {snapshots}.breakdown = v.breakdown AND {snapshots}.captured_at = v.c
               AND ({snapshots}.confirmed_at IS NULL OR {snapshots}.confirmed_at < v.t)"
        ),
        &confirmed,
        |q, ((id, metric, breakdown), c, t)| {
            q.bind(*id)
                .bind(metric.clone())
                .bind(breakdown.clone())
                .bind(*c)
                .bind(*t)
        },
    )
    .await?;
    let appended: Vec<(i64, &InsightSnapshot)> = resolved
        .iter()
        .zip(&plan)
        .filter(|(_, w)| **w == store::SnapshotWrite::Insert)
        .map(|(r, _)| *r)
        .collect();
    written += chunked_values(
        conn,
        &format!(
            "INSERT INTO {snapshots} \
             ({item_column}, captured_at, metric, breakdown, value, api_version, source)"
        ),
        "(?, ?, ?, ?, ?, ?, ?)",
        &format!(
            "ON CONFLICT ({item_column}, captured_at, metric, breakdown) \
             DO UPDATE SET value = excluded.value, api_version = excluded.api_version, \
             source = excluded.source"
        ),
        &appended,
        |q, (id, r)| {
            q.bind(*id)
                .bind(micros(r.captured_at))
                .bind(r.metric.clone())
                .bind(Breakdown::to_column(r.breakdown.as_ref()))
                .bind(r.value)
                .bind(origin.api_version.clone())
                .bind(origin.source.as_str())
        },
    )
    .await?;

    // The newest total of each metric per item.
    let mut latest: BTreeMap<i64, BTreeMap<&str, (DateTime<Utc>, f64)>> = BTreeMap::new();
    for (id, r) in &resolved {
        let metrics = latest.entry(*id).or_default();
        if r.breakdown.is_none() {
            let slot = metrics
                .entry(r.metric.as_str())
                .or_insert((r.captured_at, r.value));
            if r.captured_at >= slot.0 {
                *slot = (r.captured_at, r.value);
            }
        }
    }
    let at = micros(captured_at);
    let latest: Vec<(i64, String)> = latest
        .into_iter()
        .map(|(id, metrics)| {
            let object: serde_json::Map<String, Value> = metrics
                .into_iter()
                .map(|(metric, (_, value))| (metric.to_owned(), json!(value)))
                .collect();
            (id, Value::Object(object).to_string())
        })
        .collect();
    chunked_values(
        conn,
        "WITH v (id, latest, at) AS (",
        "(?, ?, ?)",
        &format!(
            ") UPDATE {items} SET
                 latest = json_patch({items}.latest, v.latest),
                 insights_captured_at = v.at,
                 insights_error = NULL
             FROM v
             WHERE {items}.id = v.id
               AND ({items}.insights_captured_at IS NULL OR {items}.insights_captured_at <= v.at)"
        ),
        &latest,
        |q, (id, object)| q.bind(*id).bind(object.clone()).bind(at),
    )
    .await?;

    let failed: Vec<(i64, &str)> = errors
        .iter()
        .map(|(id, message)| (ids[id], message.as_str()))
        .collect();
    chunked_values(
        conn,
        "WITH v (id, error) AS (",
        "(?, ?)",
        &format!(") UPDATE {items} SET insights_error = v.error FROM v WHERE {items}.id = v.id"),
        &failed,
        |q, (id, message)| q.bind(*id).bind(message.to_string()),
    )
    .await?;
    Ok(written)
}

pub(crate) async fn media_insights_apply(db: &SqliteStore, batch: InsightBatch) -> Result<u64> {
    check_rows("media", &batch.rows)?;
    let mut tx = db.write().await?;
    ensure_exists(&mut tx, batch.account_id).await?;
    let written = apply_insights(
        &mut tx,
        &MEDIA_INSIGHTS,
        batch.account_id,
        batch.captured_at,
        &batch.rows,
        &batch.errors,
        &batch.origin,
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(written)
}

pub(super) fn snapshot_from(row: &SqliteRow) -> Result<InsightSnapshot> {
    Ok(InsightSnapshot {
        ig_media_id: row.col("ig_media_id")?,
        metric: row.col("metric")?,
        breakdown: Breakdown::from_column(&row.col::<String>("breakdown")?)?,
        captured_at: row.time("captured_at")?,
        value: row.col("value")?,
    })
}

/// Snapshot history rows of the posts `m` (with `id` and `ig_media_id`) joined to their
/// snapshots `s`, aggregated into one JSON text (see [`media_summaries`] for why) that
/// [`sorted_history`] decodes. Values are written with 17 significant digits: SQLite's JSON
/// would round them to 15.
const HISTORY_JSON: &str = "SELECT json_group_array(json_array(m.ig_media_id, s.metric,
    s.breakdown, s.captured_at, json(printf('%!.17g', s.value)), s.confirmed_at))";

pub(crate) async fn media_insight_history(
    db: &SqliteStore,
    ig_media_ids: &[String],
    metrics: &[String],
) -> Result<Vec<InsightSnapshot>> {
    let sql = format!(
        "{HISTORY_JSON}
         FROM media m JOIN media_insight_snapshots s ON s.media_id = m.id
         WHERE m.ig_media_id IN (SELECT value FROM json_each(?1))
           AND (?2 = 0 OR s.metric IN (SELECT value FROM json_each(?3)))"
    );
    let text: String = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(json_texts(ig_media_ids))
        .bind(metrics.len() as i64)
        .bind(json_texts(metrics))
        .fetch_one(&db.reader)
        .await
        .map_err(db_err)?;
    sorted_history(&text)
}

pub(crate) async fn media_insight_history_window(
    db: &SqliteStore,
    window: PostWindow,
    metrics: &[String],
) -> Result<Vec<InsightSnapshot>> {
    let baseline = i64::try_from(window.baseline).unwrap_or(i64::MAX);
    let sql = format!(
        "{WINDOW_POSTS}
         {HISTORY_JSON}
         FROM wanted m JOIN media_insight_snapshots s ON s.media_id = m.id
         WHERE ?5 = 0 OR s.metric IN (SELECT value FROM json_each(?6))"
    );
    let text: String = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(window.account_id.get())
        .bind(micros(window.from))
        .bind(micros(window.to))
        .bind(baseline)
        .bind(metrics.len() as i64)
        .bind(json_texts(metrics))
        .fetch_one(&db.reader)
        .await
        .map_err(db_err)?;
    sorted_history(&text)
}

/// Decodes a JSON array of `[media id, metric, breakdown, captured_at µs, value,
/// confirmed_at µs]` rows into the points of every read, ordered by media, metric,
/// breakdown and time (`store::expand_insight_history`).
pub(super) fn sorted_history(text: &str) -> Result<Vec<InsightSnapshot>> {
    let rows: Vec<(String, String, String, i64, f64, Option<i64>)> =
        serde_json::from_str(text).map_err(|e| corrupt(format!("insight history: {e}")))?;
    let rows = rows
        .into_iter()
        .map(
            |(ig_media_id, metric, breakdown, captured_at, value, confirmed)| {
                Ok((
                    InsightSnapshot {
                        ig_media_id,
                        metric,
                        breakdown: Breakdown::from_column(&breakdown)?,
                        captured_at: from_micros(captured_at)?,
                        value,
                    },
                    confirmed.map(from_micros).transpose()?,
                ))
            },
        )
        .collect::<Result<Vec<_>>>()?;
    Ok(store::expand_insight_history(rows))
}
