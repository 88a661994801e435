//! Scratch databases on a PostgreSQL server: create an empty database with a unique name
//! and drop it again. Used by tests and benchmarks that need a fresh database per run
//! (`DATABASE_URL` names the server), never by igsync's normal operation.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sqlx::{Connection, PgConnection};
use store::{Result, StoreError};

use store::redact_url;

/// The server tests and benchmarks use when `DATABASE_URL` is not set.
pub const DEFAULT_SERVER_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The server named by `DATABASE_URL`, or [`DEFAULT_SERVER_URL`].
pub fn server_url_from_env() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER_URL.to_string())
}

/// `url` with its database name replaced by `name`.
pub fn url_with_database(url: &str, name: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (url, None),
    };
    let after_scheme = main.find("://").map_or(0, |i| i + 3);
    let base = match main[after_scheme..].find('/') {
        Some(slash) => &main[..after_scheme + slash],
        None => main,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

async fn admin(server_url: &str) -> Result<PgConnection> {
    PgConnection::connect(server_url)
        .await
        .map_err(|e| StoreError::Unavailable {
            message: format!(
                "PostgreSQL is unreachable at {} ({e}); start a server, or set \
                 DATABASE_URL=postgres://USER[:PASSWORD]@HOST:PORT/DB to one whose role may \
                 CREATE DATABASE",
                redact_url(server_url)
            ),
        })
}

/// Creates an empty database named `igsync_<label>_<pid>_<n>_<nanos>` on the server of
/// `server_url`. Returns its URL and name. The name is built from digits and the label's
/// ASCII letters only, so it is safe to quote.
pub async fn create_database(server_url: &str, label: &str) -> Result<(String, String)> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let label: String = label
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(20)
        .collect();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!(
        "igsync_{label}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
    .to_ascii_lowercase();
    let mut conn = admin(server_url).await?;
    // CREATE DATABASE copies template1 and fails while another session uses it.
    let mut tries = 0;
    loop {
        let sql = format!("CREATE DATABASE \"{name}\"");
        match sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
        {
            Ok(_) => break,
            Err(e) if tries < 20 && e.to_string().contains("being accessed by other users") => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50 * tries)).await;
            }
            Err(e) => {
                return Err(StoreError::Other {
                    message: format!("cannot create database {name}: {e}"),
                });
            }
        }
    }
    let _ = conn.close().await;
    Ok((url_with_database(server_url, &name), name))
}

/// Drops a database made by [`create_database`], disconnecting its sessions.
pub async fn drop_database(server_url: &str, name: &str) -> Result<()> {
    if !name.starts_with("igsync_") || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(StoreError::invalid(format!(
            "{name:?} is not a scratch database name"
        )));
    }
    let mut conn = admin(server_url).await?;
    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    let res = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    res.map(|_| ()).map_err(|e| StoreError::Other {
        message: format!("cannot drop database {name}: {e}"),
    })
}

/// The bytes of every table of the database at `url` (its rows, indexes and TOAST:
/// `pg_total_relation_size`), largest first. For benchmarks that report storage per account.
pub async fn table_bytes(url: &str) -> Result<Vec<(String, i64)>> {
    let mut conn = admin(url).await?;
    let rows: std::result::Result<Vec<(String, i64)>, sqlx::Error> = sqlx::query_as(
        "SELECT c.relname::text, pg_total_relation_size(c.oid)::bigint \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() \
         ORDER BY 2 DESC, 1",
    )
    .fetch_all(&mut conn)
    .await;
    let _ = conn.close().await;
    rows.map_err(|e| StoreError::Other {
        message: format!("cannot read the table sizes: {e}"),
    })
}

/// What the database at `url` has done so far, from `pg_stat_database`: transactions
/// committed, and rows inserted, updated, deleted and read (returned by scans). Each backend
/// reports its counts at the end of a transaction, at most once a second, so a difference of
/// two readings taken while connections are busy lags by up to that. For benchmarks that
/// report the database's work per account.
pub async fn database_activity(url: &str) -> Result<[i64; 5]> {
    let mut conn = admin(url).await?;
    let row: std::result::Result<(i64, i64, i64, i64, i64), sqlx::Error> = sqlx::query_as(
        "SELECT xact_commit::bigint, tup_inserted::bigint, tup_updated::bigint, \
                tup_deleted::bigint, tup_returned::bigint \
         FROM pg_stat_database WHERE datname = current_database()",
    )
    .fetch_one(&mut conn)
    .await;
    let _ = conn.close().await;
    row.map(|(c, i, u, d, r)| [c, i, u, d, r])
        .map_err(|e| StoreError::Other {
            message: format!("cannot read the database's activity: {e}"),
        })
}

/// Snapshot rows captured after `since` (on a later day, for a table of days), per snapshot
/// table: how many there are, how many repeat the row before them for the same key (every
/// value and the provenance equal), and how many earlier rows had their `confirmed_at` moved
/// past `since` (0 where the column does not exist yet). For the day benchmark's storage
/// figures.
pub async fn snapshot_repeats(
    url: &str,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<(String, i64, i64, i64)>> {
    // (table, key columns, time column, value columns)
    const TABLES: [(&str, &str, &str, &str); 4] = [
        (
            "profile_snapshots",
            "account_id",
            "captured_at",
            "followers_count, follows_count, media_count",
        ),
        (
            "media_insight_snapshots",
            "media_id, metric, breakdown",
            "captured_at",
            "value",
        ),
        (
            "story_insight_snapshots",
            "story_id, metric, breakdown",
            "captured_at",
            "value",
        ),
        (
            "demographic_snapshots",
            "account_id, metric, breakdown, timeframe, key",
            "captured_on",
            "value",
        ),
    ];
    let mut conn = admin(url).await?;
    let mut out = Vec::with_capacity(TABLES.len());
    let fail = |e: sqlx::Error| StoreError::Other {
        message: format!("cannot count the repeated snapshot rows: {e}"),
    };
    for (table, key, time, values) in TABLES {
        let has_confirmed: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1
               AND column_name = 'confirmed_at')",
        )
        .bind(table)
        .fetch_one(&mut conn)
        .await
        .map_err(fail)?;
        // Strictly after: `since` is the end of a backfill, whose captures stand at it.
        let since_sql = if time == "captured_on" {
            "($1::timestamptz AT TIME ZONE 'UTC')::date"
        } else {
            "$1::timestamptz"
        };
        let cols = format!("{values}, api_version, source");
        let same = cols
            .split(", ")
            .map(|c| format!("{c} IS NOT DISTINCT FROM prev_{c}"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let lags = cols
            .split(", ")
            .map(|c| format!("lag({c}) OVER w AS prev_{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT count(*)::bigint,
                    count(*) FILTER (WHERE has_prev AND {same})::bigint
             FROM (SELECT {time}, {cols}, {lags},
                          lag({time}) OVER w IS NOT NULL AS has_prev
                   FROM {table} WINDOW w AS (PARTITION BY {key} ORDER BY {time})) s
             WHERE {time} > {since_sql}"
        );
        let (rows, repeats): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(since)
            .fetch_one(&mut conn)
            .await
            .map_err(fail)?;
        let confirmed = if has_confirmed {
            let sql = format!(
                "SELECT count(*)::bigint FROM {table}
                 WHERE confirmed_at IS NOT NULL AND confirmed_at > {since_sql}"
            );
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(since)
                .fetch_one(&mut conn)
                .await
                .map_err(fail)?
        } else {
            0
        };
        out.push((table.to_string(), rows, repeats, confirmed));
    }
    let _ = conn.close().await;
    Ok(out)
}
