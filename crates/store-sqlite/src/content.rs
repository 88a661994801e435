//! The synced content and its history: profile snapshots, media and their insight
//! snapshots, stories, account insight days and demographics. Every `*_apply` is one write
//! transaction of chunked multi-row statements.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, SqliteConnection};
use store::{
    AccountId, AccountInsightBatch, AccountInsightDay, DemographicBatch, DemographicValue,
    InsightBatch, InsightSnapshot, Media, MediaBatch, MediaChild, MediaIndexEntry, MediaQuery,
    MediaRecord, MediaSummary, MediaType, PostWindow, ProductType, ProfileSnapshot, ProfileUpdate,
    Result, StoreError, StoreTotals, Story, StoryBatch, StoryRecord,
};

use crate::SqliteStore;
use crate::accounts::ensure_exists;
use crate::error::{corrupt, db_err};
use crate::sql::{
    Arg, Filter, RowExt, check_finite, chunked_values, day, from_micros, json_texts, micros,
    parse_day,
};

// ----- profile -----

pub(crate) async fn profile_apply(db: &SqliteStore, update: ProfileUpdate) -> Result<()> {
    let snap = &update.snapshot;
    let at = micros(snap.captured_at);
    let mut tx = db.write().await?;
    ensure_exists(&mut tx, snap.account_id).await?;
    sqlx::query(
        "INSERT INTO profile_snapshots
             (account_id, captured_at, followers_count, follows_count, media_count)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account_id, captured_at) DO UPDATE SET
             followers_count = excluded.followers_count,
             follows_count = excluded.follows_count,
             media_count = excluded.media_count",
    )
    .bind(snap.account_id)
    .bind(at)
    .bind(snap.followers_count)
    .bind(snap.follows_count)
    .bind(snap.media_count)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    // The account shows the newest read: an older snapshot applied late only adds history.
    sqlx::query(
        "UPDATE accounts SET
             username = ?2, name = ?3, profile_picture_url = ?4,
             followers_count = ?5, follows_count = ?6, media_count = ?7,
             updated_at = max(updated_at, ?8)
         WHERE id = ?1
           AND NOT EXISTS (SELECT 1 FROM profile_snapshots
                           WHERE account_id = ?1 AND captured_at > ?8)",
    )
    .bind(snap.account_id)
    .bind(&update.username)
    .bind(&update.name)
    .bind(&update.profile_picture_url)
    .bind(snap.followers_count)
    .bind(snap.follows_count)
    .bind(snap.media_count)
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn profile_snapshots(
    db: &SqliteStore,
    account_id: AccountId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ProfileSnapshot>> {
    let rows = sqlx::query(
        "SELECT captured_at, followers_count, follows_count, media_count
         FROM profile_snapshots
         WHERE account_id = ? AND captured_at BETWEEN ? AND ?
         ORDER BY captured_at",
    )
    .bind(account_id)
    .bind(micros(from))
    .bind(micros(to))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            Ok(ProfileSnapshot {
                account_id,
                captured_at: row.time("captured_at")?,
                followers_count: row.col("followers_count")?,
                follows_count: row.col("follows_count")?,
                media_count: row.col("media_count")?,
            })
        })
        .collect()
}

// ----- media -----

const MEDIA_COLUMNS: &str = "account_id, ig_media_id, media_type, product_type, published_at, \
     caption, permalink, media_url, thumbnail_url, shortcode, like_count, comments_count, \
     children, first_seen_at, last_seen_at, deleted_at, insights_captured_at, insights_error, \
     latest";

fn children_json(children: &[MediaChild]) -> String {
    Value::Array(
        children
            .iter()
            .map(
                |c| json!({"id": c.ig_media_id, "type": c.media_type.as_str(), "url": c.media_url}),
            )
            .collect(),
    )
    .to_string()
}

fn children_from(value: Value) -> Result<Vec<MediaChild>> {
    let Value::Array(items) = value else {
        return Err(corrupt("media children"));
    };
    items
        .iter()
        .map(|item| {
            let id = item["id"].as_str();
            let media_type = item["type"].as_str().and_then(MediaType::parse);
            match (id, media_type) {
                (Some(id), Some(media_type)) => Ok(MediaChild {
                    ig_media_id: id.to_owned(),
                    media_type,
                    media_url: item["url"].as_str().map(str::to_owned),
                }),
                _ => Err(corrupt(format!("media child {item}"))),
            }
        })
        .collect()
}

fn media_from(row: &SqliteRow) -> Result<Media> {
    Ok(Media {
        account_id: row.col("account_id")?,
        record: MediaRecord {
            ig_media_id: row.col("ig_media_id")?,
            media_type: row.parsed("media_type", MediaType::parse)?,
            product_type: row.parsed("product_type", ProductType::parse)?,
            published_at: row.time("published_at")?,
            caption: row.col("caption")?,
            permalink: row.col("permalink")?,
            media_url: row.col("media_url")?,
            thumbnail_url: row.col("thumbnail_url")?,
            shortcode: row.col("shortcode")?,
            like_count: row.col("like_count")?,
            comments_count: row.col("comments_count")?,
            children: children_from(row.json("children")?)?,
        },
        first_seen_at: row.time("first_seen_at")?,
        last_seen_at: row.time("last_seen_at")?,
        deleted_at: row.time_opt("deleted_at")?,
        insights_captured_at: row.time_opt("insights_captured_at")?,
        insights_error: row.col("insights_error")?,
        latest: row.metrics("latest")?,
    })
}

fn require_ids<'a>(what: &str, ids: impl IntoIterator<Item = &'a str>) -> Result<()> {
    if ids.into_iter().any(|id| id.trim().is_empty()) {
        return Err(StoreError::invalid(format!(
            "{what} with an empty media id"
        )));
    }
    Ok(())
}

pub(crate) async fn media_apply(db: &SqliteStore, batch: MediaBatch) -> Result<u64> {
    require_ids(
        "media",
        batch.upserts.iter().map(|m| m.ig_media_id.as_str()),
    )?;
    let seen = micros(batch.seen_at);
    let account = batch.account_id;
    let mut tx = db.write().await?;
    ensure_exists(&mut tx, account).await?;
    let upserted = chunked_values(
        &mut tx,
        "INSERT INTO media (account_id, ig_media_id, media_type, product_type, published_at,
             caption, permalink, media_url, thumbnail_url, shortcode, like_count,
             comments_count, children, first_seen_at, last_seen_at)",
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "ON CONFLICT (ig_media_id) DO UPDATE SET
             media_type = excluded.media_type,
             product_type = excluded.product_type,
             published_at = excluded.published_at,
             caption = excluded.caption,
             permalink = excluded.permalink,
             media_url = excluded.media_url,
             thumbnail_url = excluded.thumbnail_url,
             shortcode = excluded.shortcode,
             like_count = excluded.like_count,
             comments_count = excluded.comments_count,
             children = excluded.children,
             last_seen_at = max(media.last_seen_at, excluded.last_seen_at),
             deleted_at = NULL
         WHERE media.account_id = excluded.account_id",
        &batch.upserts,
        |q, m| {
            q.bind(account)
                .bind(m.ig_media_id.clone())
                .bind(m.media_type.as_str())
                .bind(m.product_type.as_str())
                .bind(micros(m.published_at))
                .bind(m.caption.clone())
                .bind(m.permalink.clone())
                .bind(m.media_url.clone())
                .bind(m.thumbnail_url.clone())
                .bind(m.shortcode.clone())
                .bind(m.like_count)
                .bind(m.comments_count)
                .bind(children_json(&m.children))
                .bind(seen)
                .bind(seen)
        },
    )
    .await?;
    if upserted < batch.upserts.len() as u64 {
        return Err(StoreError::Conflict {
            message: format!("a listed media id of account {account} belongs to another account"),
        });
    }
    let deleted = if batch.deleted.is_empty() {
        0
    } else {
        sqlx::query(
            "UPDATE media SET deleted_at = ?
             WHERE ig_media_id IN (SELECT value FROM json_each(?))
               AND +account_id = ? AND deleted_at IS NULL",
        )
        .bind(seen)
        .bind(json_texts(&batch.deleted))
        .bind(account)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected()
    };
    tx.commit().await.map_err(db_err)?;
    Ok(upserted + deleted)
}

pub(crate) async fn media_index(
    db: &SqliteStore,
    account_id: AccountId,
) -> Result<Vec<MediaIndexEntry>> {
    let rows = sqlx::query(
        "SELECT ig_media_id, media_type, product_type, published_at, deleted_at,
                insights_captured_at, insights_error
         FROM media WHERE account_id = ?
         ORDER BY published_at DESC, id DESC",
    )
    .bind(account_id)
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            Ok(MediaIndexEntry {
                ig_media_id: row.col("ig_media_id")?,
                media_type: row.parsed("media_type", MediaType::parse)?,
                product_type: row.parsed("product_type", ProductType::parse)?,
                published_at: row.time("published_at")?,
                deleted: row.col::<Option<i64>>("deleted_at")?.is_some(),
                insights_captured_at: row.time_opt("insights_captured_at")?,
                insights_error: row.col("insights_error")?,
            })
        })
        .collect()
}

pub(crate) async fn media_list(db: &SqliteStore, query: MediaQuery) -> Result<Vec<Media>> {
    let mut filter = Filter::default();
    if let Some(account) = query.account_id {
        filter.and("account_id = ?", [Arg::Int(account)]);
    }
    if let Some(from) = query.published_from {
        filter.and("published_at >= ?", [Arg::Int(micros(from))]);
    }
    if let Some(to) = query.published_to {
        filter.and("published_at <= ?", [Arg::Int(micros(to))]);
    }
    if let Some(product) = query.product_type {
        filter.and("product_type = ?", [Arg::Text(product.as_str().into())]);
    }
    if !query.include_deleted {
        filter.and("deleted_at IS NULL", []);
    }
    let sql = format!(
        "SELECT {MEDIA_COLUMNS} FROM media{} ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?",
        filter.sql()
    );
    let rows = filter
        .bind(sqlx::query(AssertSqlSafe(sql)))
        .bind(query.limit.map_or(-1, i64::from))
        .bind(i64::from(query.offset))
        .fetch_all(&db.reader)
        .await
        .map_err(db_err)?;
    rows.iter().map(media_from).collect()
}

/// One post as an array in [`media_summaries`]' aggregate (the first value is the row id).
#[derive(serde::Deserialize)]
struct SummaryJson(
    i64,
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    bool,
    Option<i64>,
    Option<i64>,
    BTreeMap<String, f64>,
);

/// Every post of an account with what the analytics need. The rows come back as ONE
/// aggregated JSON text rather than one driver row per post: the SQLite driver hands each
/// row from its worker thread to the caller, and for the ten thousand posts of a large
/// account that hand-off, not SQLite, was most of a report's time.
pub(crate) async fn media_summaries(
    db: &SqliteStore,
    account_id: AccountId,
) -> Result<Vec<MediaSummary>> {
    let text: String = sqlx::query_scalar(
        "SELECT json_group_array(json_array(id, ig_media_id, media_type, product_type,
                    published_at, caption, permalink,
                    json(iif(deleted_at IS NULL, 'false', 'true')), like_count, comments_count,
                    json(latest)))
         FROM media WHERE account_id = ?",
    )
    .bind(account_id)
    .fetch_one(&db.reader)
    .await
    .map_err(db_err)?;
    let mut rows: Vec<SummaryJson> =
        serde_json::from_str(&text).map_err(|e| corrupt(format!("media summaries: {e}")))?;
    // Sorting here is cheaper than asking the aggregate to sort the JSON it builds.
    rows.sort_unstable_by_key(|it| std::cmp::Reverse((it.4, it.0)));
    rows.into_iter()
        .map(|r| {
            let SummaryJson(
                _,
                id,
                mt,
                pt,
                published,
                caption,
                permalink,
                deleted,
                likes,
                comments,
                latest,
            ) = r;
            Ok(MediaSummary {
                media_type: MediaType::parse(&mt)
                    .ok_or_else(|| corrupt(format!("media_type {mt:?}")))?,
                product_type: ProductType::parse(&pt)
                    .ok_or_else(|| corrupt(format!("product_type {pt:?}")))?,
                ig_media_id: id,
                published_at: from_micros(published)?,
                caption,
                permalink,
                deleted,
                like_count: likes,
                comments_count: comments,
                latest,
            })
        })
        .collect()
}

pub(crate) async fn media_get(db: &SqliteStore, ig_media_id: &str) -> Result<Option<Media>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {MEDIA_COLUMNS} FROM media WHERE ig_media_id = ?"
    )))
    .bind(ig_media_id)
    .fetch_optional(&db.reader)
    .await
    .map_err(db_err)?
    .as_ref()
    .map(media_from)
    .transpose()
}

/// Where insight snapshots of one kind of item live.
struct InsightTables {
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

const STORY_INSIGHTS: InsightTables = InsightTables {
    items: "stories",
    snapshots: "story_insight_snapshots",
    item_column: "story_id",
    what: "story",
};

fn check_rows(what: &str, rows: &[InsightSnapshot]) -> Result<()> {
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
async fn apply_insights(
    conn: &mut SqliteConnection,
    tables: &InsightTables,
    account: AccountId,
    captured_at: DateTime<Utc>,
    rows: &[InsightSnapshot],
    errors: &[(String, String)],
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
    .bind(account)
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
    let written = chunked_values(
        conn,
        &format!("INSERT INTO {snapshots} ({item_column}, captured_at, metric, breakdown, value)"),
        "(?, ?, ?, ?, ?)",
        &format!(
            "ON CONFLICT ({item_column}, captured_at, metric, breakdown) \
             DO UPDATE SET value = excluded.value"
        ),
        &resolved,
        |q, (id, r)| {
            q.bind(*id)
                .bind(micros(r.captured_at))
                .bind(r.metric.clone())
                .bind(r.breakdown.clone())
                .bind(r.value)
        },
    )
    .await?;

    // The newest total of each metric per item.
    let mut latest: BTreeMap<i64, BTreeMap<&str, (DateTime<Utc>, f64)>> = BTreeMap::new();
    for (id, r) in &resolved {
        let metrics = latest.entry(*id).or_default();
        if r.breakdown.is_empty() {
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
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(written)
}

fn snapshot_from(row: &SqliteRow) -> Result<InsightSnapshot> {
    Ok(InsightSnapshot {
        ig_media_id: row.col("ig_media_id")?,
        metric: row.col("metric")?,
        breakdown: row.col("breakdown")?,
        captured_at: row.time("captured_at")?,
        value: row.col("value")?,
    })
}

/// Snapshot history rows of the posts `m` (with `id` and `ig_media_id`) joined to their
/// snapshots `s`, aggregated into one JSON text (see [`media_summaries`] for why) that
/// [`sorted_history`] decodes. Values are written with 17 significant digits: SQLite's JSON
/// would round them to 15.
const HISTORY_JSON: &str = "SELECT json_group_array(json_array(m.ig_media_id, s.metric,
    s.breakdown, s.captured_at, json(printf('%!.17g', s.value))))";

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
        "WITH wanted AS (
             SELECT id, ig_media_id FROM media
             WHERE account_id = ?1 AND published_at >= ?2 AND published_at <= ?3
             UNION ALL
             SELECT id, ig_media_id FROM (
                 SELECT id, ig_media_id, row_number() OVER (
                     PARTITION BY product_type ORDER BY published_at DESC, ig_media_id DESC) AS n
                 FROM media WHERE account_id = ?1 AND published_at < ?2
             ) WHERE n <= ?4
         )
         {HISTORY_JSON}
         FROM wanted m JOIN media_insight_snapshots s ON s.media_id = m.id
         WHERE ?5 = 0 OR s.metric IN (SELECT value FROM json_each(?6))"
    );
    let text: String = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(window.account_id)
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

/// Decodes a JSON array of `[media id, metric, breakdown, captured_at µs, value]` rows and
/// orders them by media, metric, breakdown and time.
fn sorted_history(text: &str) -> Result<Vec<InsightSnapshot>> {
    let mut rows: Vec<(String, String, String, i64, f64)> =
        serde_json::from_str(text).map_err(|e| corrupt(format!("insight history: {e}")))?;
    rows.sort_unstable_by(|a, b| (&a.0, &a.1, &a.2, a.3).cmp(&(&b.0, &b.1, &b.2, b.3)));
    rows.into_iter()
        .map(|(ig_media_id, metric, breakdown, captured_at, value)| {
            Ok(InsightSnapshot {
                ig_media_id,
                metric,
                breakdown,
                captured_at: from_micros(captured_at)?,
                value,
            })
        })
        .collect()
}

// ----- stories -----

pub(crate) async fn stories_apply(db: &SqliteStore, batch: StoryBatch) -> Result<u64> {
    require_ids(
        "story",
        batch.stories.iter().map(|s| s.ig_media_id.as_str()),
    )?;
    check_rows("story", &batch.rows)?;
    let seen = micros(batch.captured_at);
    let account = batch.account_id;
    let mut tx = db.write().await?;
    ensure_exists(&mut tx, account).await?;
    let upserted = chunked_values(
        &mut tx,
        "INSERT INTO stories (account_id, ig_media_id, media_type, published_at, permalink,
             caption, media_url, first_seen_at, last_seen_at)",
        "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "ON CONFLICT (ig_media_id) DO UPDATE SET
             media_type = excluded.media_type,
             published_at = excluded.published_at,
             permalink = excluded.permalink,
             caption = excluded.caption,
             media_url = excluded.media_url,
             last_seen_at = max(stories.last_seen_at, excluded.last_seen_at)
         WHERE stories.account_id = excluded.account_id",
        &batch.stories,
        |q, s| {
            q.bind(account)
                .bind(s.ig_media_id.clone())
                .bind(s.media_type.as_str())
                .bind(micros(s.published_at))
                .bind(s.permalink.clone())
                .bind(s.caption.clone())
                .bind(s.media_url.clone())
                .bind(seen)
                .bind(seen)
        },
    )
    .await?;
    if upserted < batch.stories.len() as u64 {
        return Err(StoreError::Conflict {
            message: format!("a listed story id of account {account} belongs to another account"),
        });
    }
    let written = apply_insights(
        &mut tx,
        &STORY_INSIGHTS,
        account,
        batch.captured_at,
        &batch.rows,
        &batch.errors,
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(upserted + written)
}

pub(crate) async fn story_list(
    db: &SqliteStore,
    account_id: AccountId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Story>> {
    let rows = sqlx::query(
        "SELECT account_id, ig_media_id, media_type, published_at, permalink, caption,
                media_url, first_seen_at, last_seen_at, insights_captured_at, insights_error,
                latest
         FROM stories
         WHERE account_id = ? AND published_at BETWEEN ? AND ?
         ORDER BY published_at DESC, id DESC",
    )
    .bind(account_id)
    .bind(micros(from))
    .bind(micros(to))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            Ok(Story {
                account_id: row.col("account_id")?,
                record: StoryRecord {
                    ig_media_id: row.col("ig_media_id")?,
                    media_type: row.parsed("media_type", MediaType::parse)?,
                    published_at: row.time("published_at")?,
                    permalink: row.col("permalink")?,
                    caption: row.col("caption")?,
                    media_url: row.col("media_url")?,
                },
                first_seen_at: row.time("first_seen_at")?,
                last_seen_at: row.time("last_seen_at")?,
                insights_captured_at: row.time_opt("insights_captured_at")?,
                insights_error: row.col("insights_error")?,
                latest: row.metrics("latest")?,
            })
        })
        .collect()
}

pub(crate) async fn story_insight_history(
    db: &SqliteStore,
    ig_media_ids: &[String],
) -> Result<Vec<InsightSnapshot>> {
    let rows = sqlx::query(
        "SELECT st.ig_media_id, s.metric, s.breakdown, s.captured_at, s.value
         FROM stories st JOIN story_insight_snapshots s ON s.story_id = st.id
         WHERE st.ig_media_id IN (SELECT value FROM json_each(?))
         ORDER BY st.ig_media_id, s.metric, s.breakdown, s.captured_at",
    )
    .bind(json_texts(ig_media_ids))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    rows.iter().map(snapshot_from).collect()
}

// ----- account insights -----

pub(crate) async fn account_insights_apply(
    db: &SqliteStore,
    batch: AccountInsightBatch,
) -> Result<u64> {
    for row in &batch.rows {
        if row.metric.is_empty() {
            return Err(StoreError::invalid(
                "an account insight without a metric name",
            ));
        }
        check_finite(
            &format!("account insight {} on {}", row.metric, row.day),
            row.value,
        )?;
    }
    let account = batch.account_id;
    let fetched = micros(batch.fetched_at);
    let mut tx = db.write().await?;
    ensure_exists(&mut tx, account).await?;
    // A fresher fetch replaces a day's value (the settling window); an older one does not.
    let written = chunked_values(
        &mut tx,
        "INSERT INTO account_insight_days
             (account_id, metric, day, breakdown, key, value, fetched_at)",
        "(?, ?, ?, ?, ?, ?, ?)",
        "ON CONFLICT (account_id, metric, day, breakdown, key) DO UPDATE SET
             value = excluded.value, fetched_at = excluded.fetched_at
         WHERE excluded.fetched_at >= account_insight_days.fetched_at",
        &batch.rows,
        |q, r| {
            q.bind(account)
                .bind(r.metric.clone())
                .bind(day(r.day))
                .bind(r.breakdown.clone())
                .bind(r.key.clone())
                .bind(r.value)
                .bind(fetched)
        },
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(written)
}

/// Days of account insights, aggregated into one JSON text (a year of daily metrics with
/// breakdowns is tens of thousands of rows; see [`media_summaries`]) and ordered here.
pub(crate) async fn account_insight_days(
    db: &SqliteStore,
    account_id: AccountId,
    metrics: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<AccountInsightDay>> {
    let text: String = sqlx::query_scalar(
        "SELECT json_group_array(json_array(metric, day, breakdown, key,
                    json(printf('%!.17g', value))))
         FROM account_insight_days
         WHERE account_id = ?1 AND day BETWEEN ?2 AND ?3
           AND (?4 = 0 OR metric IN (SELECT value FROM json_each(?5)))",
    )
    .bind(account_id)
    .bind(day(from))
    .bind(day(to))
    .bind(metrics.len() as i64)
    .bind(json_texts(metrics))
    .fetch_one(&db.reader)
    .await
    .map_err(db_err)?;
    let mut rows: Vec<(String, String, String, String, f64)> =
        serde_json::from_str(&text).map_err(|e| corrupt(format!("account insight days: {e}")))?;
    rows.sort_unstable_by(|a, b| (&a.0, &a.1, &a.2, &a.3).cmp(&(&b.0, &b.1, &b.2, &b.3)));
    rows.into_iter()
        .map(|(metric, d, breakdown, key, value)| {
            Ok(AccountInsightDay {
                metric,
                day: parse_day(&d)?,
                breakdown,
                key,
                value,
            })
        })
        .collect()
}

pub(crate) async fn account_insight_last_day(
    db: &SqliteStore,
    account_id: AccountId,
    metric: &str,
) -> Result<Option<NaiveDate>> {
    let last: Option<String> = sqlx::query_scalar(
        "SELECT max(day) FROM account_insight_days WHERE account_id = ? AND metric = ?",
    )
    .bind(account_id)
    .bind(metric)
    .fetch_one(&db.reader)
    .await
    .map_err(db_err)?;
    last.as_deref().map(crate::sql::parse_day).transpose()
}

// ----- demographics -----

pub(crate) async fn demographics_apply(db: &SqliteStore, batch: DemographicBatch) -> Result<u64> {
    for row in &batch.rows {
        if row.metric.is_empty() {
            return Err(StoreError::invalid(
                "a demographic value without a metric name",
            ));
        }
        check_finite(
            &format!("demographic {} {} {}", row.metric, row.breakdown, row.key),
            row.value,
        )?;
    }
    let account = batch.account_id;
    let on = day(batch.captured_on);
    let mut tx = db.write().await?;
    ensure_exists(&mut tx, account).await?;
    let written = chunked_values(
        &mut tx,
        "INSERT INTO demographic_snapshots
             (account_id, captured_on, metric, breakdown, timeframe, key, value)",
        "(?, ?, ?, ?, ?, ?, ?)",
        "ON CONFLICT (account_id, captured_on, metric, breakdown, timeframe, key)
         DO UPDATE SET value = excluded.value",
        &batch.rows,
        |q, r| {
            q.bind(account)
                .bind(on.clone())
                .bind(r.metric.clone())
                .bind(r.breakdown.clone())
                .bind(r.timeframe.clone())
                .bind(r.key.clone())
                .bind(r.value)
        },
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(written)
}

pub(crate) async fn demographics_latest(
    db: &SqliteStore,
    account_id: AccountId,
) -> Result<Option<(NaiveDate, Vec<DemographicValue>)>> {
    let rows = sqlx::query(
        "SELECT captured_on, metric, breakdown, timeframe, key, value
         FROM demographic_snapshots
         WHERE account_id = ?1
           AND captured_on = (SELECT max(captured_on) FROM demographic_snapshots
                              WHERE account_id = ?1)
         ORDER BY metric, breakdown, timeframe, key",
    )
    .bind(account_id)
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let on = first.day("captured_on")?;
    let values = rows
        .iter()
        .map(|row| {
            Ok(DemographicValue {
                metric: row.col("metric")?,
                breakdown: row.col("breakdown")?,
                timeframe: row.col("timeframe")?,
                key: row.col("key")?,
                value: row.col("value")?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Some((on, values)))
}

// ----- totals -----

pub(crate) async fn totals(db: &SqliteStore) -> Result<StoreTotals> {
    let row = sqlx::query(
        "SELECT
             (SELECT count(*) FROM accounts) AS accounts,
             (SELECT count(*) FROM profile_snapshots) AS profile_snapshots,
             (SELECT count(*) FROM media) AS media,
             (SELECT count(*) FROM media WHERE deleted_at IS NOT NULL) AS media_deleted,
             (SELECT count(*) FROM media_insight_snapshots) AS media_insight_snapshots,
             (SELECT count(*) FROM stories) AS stories,
             (SELECT count(*) FROM story_insight_snapshots) AS story_insight_snapshots,
             (SELECT count(*) FROM account_insight_days) AS account_insight_days,
             (SELECT count(*) FROM demographic_snapshots) AS demographic_values,
             (SELECT count(*) FROM sync_runs) AS sync_runs,
             (SELECT count(*) FROM alerts) AS alerts",
    )
    .fetch_one(&db.reader)
    .await
    .map_err(db_err)?;
    Ok(StoreTotals {
        accounts: row.col("accounts")?,
        profile_snapshots: row.col("profile_snapshots")?,
        media: row.col("media")?,
        media_deleted: row.col("media_deleted")?,
        media_insight_snapshots: row.col("media_insight_snapshots")?,
        stories: row.col("stories")?,
        story_insight_snapshots: row.col("story_insight_snapshots")?,
        account_insight_days: row.col("account_insight_days")?,
        demographic_values: row.col("demographic_values")?,
        sync_runs: row.col("sync_runs")?,
        alerts: row.col("alerts")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_round_trip_through_json() {
        let children = vec![
            MediaChild {
                ig_media_id: "c1".into(),
                media_type: MediaType::Image,
                media_url: Some("https://cdn/x.jpg".into()),
            },
            MediaChild {
                ig_media_id: "c2".into(),
                media_type: MediaType::Video,
                media_url: None,
            },
        ];
        let text = children_json(&children);
        let back = children_from(serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(back, children);
        assert!(children_from(json!([{"id": "x", "type": "GIF"}])).is_err());
    }
}
