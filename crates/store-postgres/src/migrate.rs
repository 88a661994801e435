//! The migration runner: plain `.sql` files embedded in the binary, applied in order, each
//! in its own transaction, recorded in `igsync_migrations` with a checksum. Concurrent
//! migrators (several workers starting at once) are serialized with a session advisory
//! lock, so exactly one applies each migration and the others see it done.

use sha2::{Digest, Sha256};
use sqlx::{Acquire, PgConnection, Row};
use store::{Result, StoreError};

use crate::error::db;
use crate::{LOCK_MIGRATE, LOCK_NAMESPACE, PostgresStore};

/// The migrations of this build: (version, name, SQL).
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (3, "missing", include_str!("../migrations/0003_missing.sql")),
    (
        4,
        "webhooks",
        include_str!("../migrations/0004_webhooks.sql"),
    ),
    (6, "reports", include_str!("../migrations/0006_reports.sql")),
    (
        7,
        "warehouse_views",
        include_str!("../migrations/0007_warehouse_views.sql"),
    ),
    (
        8,
        "warehouse_media_comment",
        include_str!("../migrations/0008_warehouse_media_comment.sql"),
    ),
    (
        10,
        "workspaces",
        include_str!("../migrations/0010_workspaces.sql"),
    ),
    (
        11,
        "competitors",
        include_str!("../migrations/0011_competitors.sql"),
    ),
    (
        12,
        "report_pdf",
        include_str!("../migrations/0012_report_pdf.sql"),
    ),
    (
        13,
        "provenance",
        include_str!("../migrations/0013_provenance.sql"),
    ),
    (
        14,
        "snapshot_confirmed",
        include_str!("../migrations/0014_snapshot_confirmed.sql"),
    ),
    (
        15,
        "page_room",
        include_str!("../migrations/0015_page_room.sql"),
    ),
    (
        16,
        "window_posts",
        include_str!("../migrations/0016_window_posts.sql"),
    ),
    (
        17,
        "claim_function",
        include_str!("../migrations/0017_claim_function.sql"),
    ),
];

fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

fn migration_error(message: impl Into<String>) -> StoreError {
    StoreError::Migration {
        message: message.into(),
    }
}

impl PostgresStore {
    pub(crate) async fn run_migrations(&self) -> Result<u32> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        sqlx::query("SELECT pg_advisory_lock($1, $2)")
            .bind(LOCK_NAMESPACE)
            .bind(LOCK_MIGRATE)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        let outcome = apply_pending(&mut conn).await;
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1, $2)")
            .bind(LOCK_NAMESPACE)
            .bind(LOCK_MIGRATE)
            .execute(&mut *conn)
            .await;
        if unlocked.is_err() {
            // A connection that may still hold the lock must not go back to the pool.
            conn.detach();
        }
        outcome
    }
}

async fn apply_pending(conn: &mut PgConnection) -> Result<u32> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS igsync_migrations (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            checksum   text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .execute(&mut *conn)
    .await
    .map_err(db)?;

    let applied = sqlx::query("SELECT version, name, checksum FROM igsync_migrations")
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    let mut done = Vec::new();
    for row in applied {
        let version: i32 = row.try_get("version").map_err(db)?;
        let name: String = row.try_get("name").map_err(db)?;
        let sum: String = row.try_get("checksum").map_err(db)?;
        match MIGRATIONS.iter().find(|m| m.0 == version) {
            None => {
                return Err(migration_error(format!(
                    "the database has migration {version} ({name}) which this igsync does not \
                     know: it was migrated by a newer version; upgrade igsync"
                )));
            }
            Some((_, known_name, sql)) if checksum(sql) != sum => {
                return Err(migration_error(format!(
                    "migration {version} ({known_name}) was changed after it was applied \
                     (checksum mismatch)"
                )));
            }
            Some(_) => done.push(version),
        }
    }

    let mut count = 0;
    for (version, name, sql) in MIGRATIONS {
        if done.contains(version) {
            continue;
        }
        let mut tx = conn.begin().await.map_err(db)?;
        sqlx::raw_sql(*sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| migration_error(format!("migration {version} ({name}): {}", db(e))))?;
        sqlx::query("INSERT INTO igsync_migrations (version, name, checksum) VALUES ($1, $2, $3)")
            .bind(version)
            .bind(name)
            .bind(checksum(sql))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        tracing::info!(version, name, "applied migration");
        count += 1;
    }
    Ok(count)
}
