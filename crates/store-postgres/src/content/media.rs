//! Media rows: the posts of an account with their children, listed, indexed and
//! summarised with their latest insights.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use store::{
    AccountId, Media, MediaBatch, MediaChild, MediaIndexEntry, MediaQuery, MediaRecord,
    MediaSummary, MediaType, PostWindow, ProductType, Result, StoreError,
};

use crate::accounts::get;
use crate::error::{corrupt, db};

use super::insights::{Owner, account_owns};
use super::{WINDOW_POSTS, latest_from};

// ----- media -----

fn children_json(children: &[MediaChild]) -> String {
    serde_json::Value::Array(
        children
            .iter()
            .map(|c| {
                json!({
                    "ig_media_id": c.ig_media_id,
                    "media_type": c.media_type.as_str(),
                    "media_url": c.media_url,
                })
            })
            .collect(),
    )
    .to_string()
}

fn children_from(value: serde_json::Value) -> Result<Vec<MediaChild>> {
    let serde_json::Value::Array(items) = value else {
        return Err(corrupt("media children"));
    };
    items
        .into_iter()
        .map(|c| {
            let id = c["ig_media_id"]
                .as_str()
                .ok_or_else(|| corrupt("media child id"))?;
            let mt = c["media_type"].as_str().unwrap_or_default();
            Ok(MediaChild {
                ig_media_id: id.to_string(),
                media_type: MediaType::parse(mt)
                    .ok_or_else(|| corrupt(format!("media type {mt:?}")))?,
                media_url: c["media_url"].as_str().map(str::to_string),
            })
        })
        .collect()
}

const MEDIA_COLUMNS: &str = "account_id, ig_media_id, media_type, product_type, published_at, \
    caption, permalink, media_url, thumbnail_url, shortcode, like_count, comments_count, \
    children, first_seen_at, last_seen_at, deleted_at, insights_captured_at, insights_error, \
    latest";

fn media_from(row: &PgRow) -> Result<Media> {
    let mt: String = get(row, "media_type")?;
    let pt: String = get(row, "product_type")?;
    Ok(Media {
        account_id: AccountId::new(get(row, "account_id")?),
        record: MediaRecord {
            ig_media_id: get(row, "ig_media_id")?,
            media_type: MediaType::parse(&mt)
                .ok_or_else(|| corrupt(format!("media type {mt:?}")))?,
            product_type: ProductType::parse(&pt)
                .ok_or_else(|| corrupt(format!("product type {pt:?}")))?,
            published_at: get(row, "published_at")?,
            caption: get(row, "caption")?,
            permalink: get(row, "permalink")?,
            media_url: get(row, "media_url")?,
            thumbnail_url: get(row, "thumbnail_url")?,
            shortcode: get(row, "shortcode")?,
            like_count: get(row, "like_count")?,
            comments_count: get(row, "comments_count")?,
            children: children_from(get(row, "children")?)?,
        },
        first_seen_at: get(row, "first_seen_at")?,
        last_seen_at: get(row, "last_seen_at")?,
        deleted_at: get(row, "deleted_at")?,
        insights_captured_at: get(row, "insights_captured_at")?,
        insights_error: get(row, "insights_error")?,
        latest: latest_from(row)?,
    })
}

/// Keeps the last occurrence of each key, in first-seen order.
pub(super) fn dedup_last<T, K: std::hash::Hash + Eq>(
    items: Vec<T>,
    key: impl Fn(&T) -> K,
) -> Vec<T> {
    let mut index: HashMap<K, usize> = HashMap::with_capacity(items.len());
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        match index.entry(key(&item)) {
            std::collections::hash_map::Entry::Occupied(e) => out[*e.get()] = item,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(item);
            }
        }
    }
    out
}

/// A batch's posts as the arrays [`MEDIA_UPSERT`] unnests.
struct MediaColumns {
    ids: Vec<String>,
    mts: Vec<&'static str>,
    pts: Vec<&'static str>,
    published: Vec<DateTime<Utc>>,
    captions: Vec<Option<String>>,
    permalinks: Vec<Option<String>>,
    urls: Vec<Option<String>>,
    thumbs: Vec<Option<String>>,
    shortcodes: Vec<Option<String>>,
    likes: Vec<Option<i64>>,
    comments: Vec<Option<i64>>,
    children: Vec<String>,
}

impl MediaColumns {
    fn of(upserts: Vec<MediaRecord>) -> MediaColumns {
        let n = upserts.len();
        let mut c = MediaColumns {
            ids: Vec::with_capacity(n),
            mts: Vec::with_capacity(n),
            pts: Vec::with_capacity(n),
            published: Vec::with_capacity(n),
            captions: Vec::with_capacity(n),
            permalinks: Vec::with_capacity(n),
            urls: Vec::with_capacity(n),
            thumbs: Vec::with_capacity(n),
            shortcodes: Vec::with_capacity(n),
            likes: Vec::with_capacity(n),
            comments: Vec::with_capacity(n),
            children: Vec::with_capacity(n),
        };
        for m in upserts {
            c.children.push(children_json(&m.children));
            c.ids.push(m.ig_media_id);
            c.mts.push(m.media_type.as_str());
            c.pts.push(m.product_type.as_str());
            c.published.push(m.published_at);
            c.captions.push(m.caption);
            c.permalinks.push(m.permalink);
            c.urls.push(m.media_url);
            c.thumbs.push(m.thumbnail_url);
            c.shortcodes.push(m.shortcode);
            c.likes.push(m.like_count);
            c.comments.push(m.comments_count);
        }
        c
    }

    /// [`MEDIA_UPSERT`] with its parameters: the account, the time seen, the arrays.
    fn upsert(&self, account_id: AccountId, seen_at: DateTime<Utc>) -> crate::PgQuery<'_> {
        sqlx::query(MEDIA_UPSERT)
            .bind(account_id.get())
            .bind(seen_at)
            .bind(&self.ids)
            .bind(&self.mts)
            .bind(&self.pts)
            .bind(&self.published)
            .bind(&self.captions)
            .bind(&self.permalinks)
            .bind(&self.urls)
            .bind(&self.thumbs)
            .bind(&self.shortcodes)
            .bind(&self.likes)
            .bind(&self.comments)
            .bind(&self.children)
    }
}

/// Upserts a batch's posts for account `$1`, all of them or none: none when the account is
/// not stored or one of the posts is stored for another account (the checks of
/// `account_owns`, as its condition; a post stored for another account meanwhile is left
/// alone by the conflict's condition).
const MEDIA_UPSERT: &str = concat!(
    "INSERT INTO media (account_id, ig_media_id, media_type, product_type,
         published_at, caption, permalink, media_url, thumbnail_url, shortcode, like_count,
         comments_count, children, first_seen_at, last_seen_at)
     SELECT $1, u.id, u.mt, u.pt, u.pa, u.cap, u.pl, u.mu, u.tu, u.sc, u.lc, u.cc,
         u.ch::jsonb, $2, $2
     FROM UNNEST($3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[],
         $8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[],
         $13::bigint[], $14::text[])
         AS u(id, mt, pt, pa, cap, pl, mu, tu, sc, lc, cc, ch)
     WHERE ",
    account_is_stored!(),
    " AND NOT EXISTS (",
    owned_by_another!("media", "$3"),
    ")
     ON CONFLICT (ig_media_id) DO UPDATE SET
         media_type = EXCLUDED.media_type,
         product_type = EXCLUDED.product_type,
         published_at = EXCLUDED.published_at,
         caption = EXCLUDED.caption,
         permalink = EXCLUDED.permalink,
         media_url = EXCLUDED.media_url,
         thumbnail_url = EXCLUDED.thumbnail_url,
         shortcode = EXCLUDED.shortcode,
         like_count = EXCLUDED.like_count,
         comments_count = EXCLUDED.comments_count,
         children = EXCLUDED.children,
         last_seen_at = EXCLUDED.last_seen_at,
         deleted_at = NULL
     WHERE media.account_id = EXCLUDED.account_id"
);

pub(crate) async fn media_apply(pool: &PgPool, batch: MediaBatch) -> Result<u64> {
    let upserts = dedup_last(batch.upserts, |m| m.ig_media_id.clone());
    let n = upserts.len() as u64;
    let columns = MediaColumns::of(upserts);
    let (account_id, seen_at) = (batch.account_id, batch.seen_at);
    // Posts and no deletions (every light sync's listing): one statement, whose conditions
    // are the checks below. When it writes fewer rows than it was given, the transaction
    // below finds which check fails, or writes them (upserts are idempotent).
    if n > 0 && batch.deleted.is_empty() {
        let done = columns
            .upsert(account_id, seen_at)
            .execute(pool)
            .await
            .map_err(db)?;
        if done.rows_affected() == n {
            return Ok(n);
        }
    }
    let mut tx = pool.begin().await.map_err(db)?;
    account_owns(&mut tx, Owner::Media, account_id, &columns.ids).await?;
    let mut written = 0;
    if n > 0 {
        let done = columns
            .upsert(account_id, seen_at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        written += done.rows_affected();
    }
    if !batch.deleted.is_empty() {
        let done = sqlx::query(
            "UPDATE media SET deleted_at = $2
             WHERE account_id = $1 AND ig_media_id = ANY($3) AND deleted_at IS NULL",
        )
        .bind(account_id.get())
        .bind(seen_at)
        .bind(&batch.deleted)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        written += done.rows_affected();
    }
    tx.commit().await.map_err(db)?;
    Ok(written)
}

pub(crate) async fn media_index(
    pool: &PgPool,
    account_id: AccountId,
) -> Result<Vec<MediaIndexEntry>> {
    let rows = sqlx::query(
        "SELECT ig_media_id, media_type, product_type, published_at, deleted_at,
             insights_captured_at, insights_error
         FROM media WHERE account_id = $1
         ORDER BY published_at DESC, ig_media_id",
    )
    .bind(account_id.get())
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            let mt: String = get(r, "media_type")?;
            let pt: String = get(r, "product_type")?;
            let deleted: Option<DateTime<Utc>> = get(r, "deleted_at")?;
            Ok(MediaIndexEntry {
                ig_media_id: get(r, "ig_media_id")?,
                media_type: MediaType::parse(&mt)
                    .ok_or_else(|| corrupt(format!("media type {mt:?}")))?,
                product_type: ProductType::parse(&pt)
                    .ok_or_else(|| corrupt(format!("product type {pt:?}")))?,
                published_at: get(r, "published_at")?,
                deleted: deleted.is_some(),
                insights_captured_at: get(r, "insights_captured_at")?,
                insights_error: get(r, "insights_error")?,
            })
        })
        .collect()
}

pub(crate) async fn media_list(pool: &PgPool, q: MediaQuery) -> Result<Vec<Media>> {
    let mut b: QueryBuilder<Postgres> = QueryBuilder::new("SELECT ");
    b.push(MEDIA_COLUMNS).push(" FROM media WHERE TRUE");
    if let Some(a) = q.account_id {
        b.push(" AND account_id = ").push_bind(a.get());
    }
    if let Some(from) = q.published_from {
        b.push(" AND published_at >= ").push_bind(from);
    }
    if let Some(to) = q.published_to {
        b.push(" AND published_at <= ").push_bind(to);
    }
    if let Some(pt) = q.product_type {
        b.push(" AND product_type = ").push_bind(pt.as_str());
    }
    if !q.include_deleted {
        b.push(" AND deleted_at IS NULL");
    }
    b.push(" ORDER BY published_at DESC, id DESC");
    if let Some(limit) = q.limit {
        b.push(" LIMIT ").push_bind(i64::from(limit));
    }
    b.push(" OFFSET ").push_bind(i64::from(q.offset));
    let rows = b.build().fetch_all(pool).await.map_err(db)?;
    rows.iter().map(media_from).collect()
}

/// Every post of an account with what the analytics need, newest first. Columns are read
/// by position, `latest` as text parsed straight into the map, and the rows are ordered
/// here: for ten thousand posts, per-row decoding and the server-side sort of wide rows
/// were most of the time.
pub(crate) async fn media_summaries(
    pool: &PgPool,
    account_id: AccountId,
) -> Result<Vec<MediaSummary>> {
    // Two halves (by row id parity) fetched and decoded on two tasks: decoding, not the
    // query, is the cost, and it then runs on two cores.
    let half = |part: i64| {
        let pool = pool.clone();
        tokio::spawn(async move { summaries_part(&pool, account_id, part).await })
    };
    let (a, b) = tokio::join!(half(0), half(1));
    let join = |e: tokio::task::JoinError| StoreError::Other {
        message: format!("reading post summaries: {e}"),
    };
    let mut out = a.map_err(join)??;
    out.extend(b.map_err(join)??);
    out.sort_unstable_by_key(|it| std::cmp::Reverse((it.1.published_at, it.0)));
    Ok(out.into_iter().map(|(_, s)| s).collect())
}

/// The summaries of the posts whose row id modulo 2 is `part`, with their row ids.
async fn summaries_part(
    pool: &PgPool,
    account_id: AccountId,
    part: i64,
) -> Result<Vec<(i64, MediaSummary)>> {
    let sql = format!("SELECT {SUMMARY_COLUMNS} FROM media WHERE account_id = $1 AND id % 2 = $2");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account_id.get())
        .bind(part)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.iter().map(summary_from).collect()
}

/// The summaries of a [`PostWindow`]'s posts, newest first: what the alerts after a sync
/// compare, however long the account's history.
pub(crate) async fn media_summaries_window(
    pool: &PgPool,
    window: PostWindow,
) -> Result<Vec<MediaSummary>> {
    let baseline = i64::try_from(window.baseline).unwrap_or(i64::MAX);
    let sql = format!(
        "{WINDOW_POSTS}
         SELECT {SUMMARY_COLUMNS} FROM media WHERE id IN (SELECT id FROM wanted)"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(window.account_id.get())
        .bind(window.from)
        .bind(window.to)
        .bind(baseline)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    let mut out = rows.iter().map(summary_from).collect::<Result<Vec<_>>>()?;
    out.sort_unstable_by_key(|it| std::cmp::Reverse((it.1.published_at, it.0)));
    Ok(out.into_iter().map(|(_, s)| s).collect())
}

/// What [`summary_from`] decodes, in its order.
const SUMMARY_COLUMNS: &str = "id, ig_media_id, media_type, product_type, published_at, caption,
    permalink, deleted_at IS NOT NULL, like_count, comments_count, latest::text";

/// A post's summary, with its row id, from a row of [`SUMMARY_COLUMNS`].
fn summary_from(row: &PgRow) -> Result<(i64, MediaSummary)> {
    let mt: &str = row.try_get(2).map_err(db)?;
    let pt: &str = row.try_get(3).map_err(db)?;
    let latest: &str = row.try_get(10).map_err(db)?;
    Ok((
        row.try_get(0).map_err(db)?,
        MediaSummary {
            ig_media_id: row.try_get(1).map_err(db)?,
            media_type: MediaType::parse(mt)
                .ok_or_else(|| corrupt(format!("media type {mt:?}")))?,
            product_type: ProductType::parse(pt)
                .ok_or_else(|| corrupt(format!("product type {pt:?}")))?,
            published_at: row.try_get(4).map_err(db)?,
            caption: row.try_get(5).map_err(db)?,
            permalink: row.try_get(6).map_err(db)?,
            deleted: row.try_get(7).map_err(db)?,
            like_count: row.try_get(8).map_err(db)?,
            comments_count: row.try_get(9).map_err(db)?,
            latest: serde_json::from_str(latest)
                .map_err(|e| corrupt(format!("latest values: {e}")))?,
        },
    ))
}

pub(crate) async fn media_get(pool: &PgPool, ig_media_id: &str) -> Result<Option<Media>> {
    let sql = format!("SELECT {MEDIA_COLUMNS} FROM media WHERE ig_media_id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(ig_media_id)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.as_ref().map(media_from).transpose()
}
