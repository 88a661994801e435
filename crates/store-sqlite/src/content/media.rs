//! Media rows: the posts of an account with their children, listed, indexed and
//! summarised with their latest insights.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sqlx::AssertSqlSafe;
use sqlx::sqlite::SqliteRow;
use store::{
    AccountId, Media, MediaBatch, MediaChild, MediaIndexEntry, MediaQuery, MediaRecord,
    MediaSummary, MediaType, PostWindow, ProductType, Result, StoreError,
};

use super::WINDOW_POSTS;
use crate::SqliteStore;
use crate::accounts::ensure_exists;
use crate::error::{corrupt, db_err};
use crate::sql::{Arg, Filter, RowExt, chunked_values, from_micros, json_texts, micros};

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
        account_id: AccountId::new(row.col("account_id")?),
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

pub(super) fn require_ids<'a>(what: &str, ids: impl IntoIterator<Item = &'a str>) -> Result<()> {
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
            q.bind(account.get())
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
        .bind(account.get())
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
    .bind(account_id.get())
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
        filter.and("account_id = ?", [Arg::Int(account.get())]);
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
    let sql = format!("{SUMMARIES_JSON} FROM media WHERE account_id = ?");
    let text: String = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(account_id.get())
        .fetch_one(&db.reader)
        .await
        .map_err(db_err)?;
    summaries_from_json(&text)
}

/// The summaries of a [`PostWindow`]'s posts, newest first: what the alerts after a sync
/// compare, however long the account's history.
pub(crate) async fn media_summaries_window(
    db: &SqliteStore,
    window: PostWindow,
) -> Result<Vec<MediaSummary>> {
    let sql = format!(
        "{WINDOW_POSTS}
         {SUMMARIES_JSON} FROM media WHERE id IN (SELECT id FROM wanted)"
    );
    let text: String = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(window.account_id.get())
        .bind(micros(window.from))
        .bind(micros(window.to))
        .bind(i64::try_from(window.baseline).unwrap_or(i64::MAX))
        .fetch_one(&db.reader)
        .await
        .map_err(db_err)?;
    summaries_from_json(&text)
}

/// The aggregate of [`SummaryJson`] arrays that [`summaries_from_json`] decodes.
const SUMMARIES_JSON: &str = "SELECT json_group_array(json_array(id, ig_media_id, media_type,
    product_type, published_at, caption, permalink,
    json(iif(deleted_at IS NULL, 'false', 'true')), like_count, comments_count, json(latest)))";

/// Posts' summaries from a [`SUMMARIES_JSON`] aggregate, newest first.
fn summaries_from_json(text: &str) -> Result<Vec<MediaSummary>> {
    let mut rows: Vec<SummaryJson> =
        serde_json::from_str(text).map_err(|e| corrupt(format!("media summaries: {e}")))?;
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
