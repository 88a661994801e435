//! The migration runner: plain `.sql` files embedded in the binary, applied in order, each
//! in its own write transaction, recorded with a checksum in `igsync_migrations`.

use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, Row};
use store::{Result, StoreError};

use crate::SqliteStore;
use crate::error::db_err;
use crate::sql::micros;

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "data",
        sql: include_str!("../migrations/0001_data.sql"),
    },
    Migration {
        version: 2,
        name: "queue",
        sql: include_str!("../migrations/0002_queue.sql"),
    },
    Migration {
        version: 3,
        name: "missing",
        sql: include_str!("../migrations/0003_missing.sql"),
    },
    Migration {
        version: 4,
        name: "webhooks",
        sql: include_str!("../migrations/0004_webhooks.sql"),
    },
    Migration {
        version: 6,
        name: "reports",
        sql: include_str!("../migrations/0006_reports.sql"),
    },
    Migration {
        version: 10,
        name: "workspaces",
        sql: include_str!("../migrations/0010_workspaces.sql"),
    },
    Migration {
        version: 11,
        name: "competitors",
        sql: include_str!("../migrations/0011_competitors.sql"),
    },
    Migration {
        version: 12,
        name: "report_pdf",
        sql: include_str!("../migrations/0012_report_pdf.sql"),
    },
    Migration {
        version: 13,
        name: "provenance",
        sql: include_str!("../migrations/0013_provenance.sql"),
    },
    Migration {
        version: 14,
        name: "snapshot_confirmed",
        sql: include_str!("../migrations/0014_snapshot_confirmed.sql"),
    },
];

/// How many migrations this build knows.
pub(crate) fn known() -> u32 {
    MIGRATIONS.len() as u32
}

fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

fn failed(message: impl Into<String>) -> StoreError {
    StoreError::Migration {
        message: message.into(),
    }
}

/// Applies pending migrations; returns how many. Concurrent migrators (threads or
/// processes) serialize on the write lock and each migration is applied exactly once.
pub(crate) async fn migrate(store: &SqliteStore) -> Result<u32> {
    {
        let mut conn = store.writer.acquire().await.map_err(db_err)?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS igsync_migrations (
                 version    INTEGER PRIMARY KEY,
                 name       TEXT    NOT NULL,
                 checksum   TEXT    NOT NULL,
                 applied_at INTEGER NOT NULL
             ) STRICT",
        )
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }

    let mut applied = 0;
    for migration in MIGRATIONS {
        let mut tx = store.write().await?;
        let rows = sqlx::query("SELECT version, name, checksum FROM igsync_migrations")
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        let mut done = false;
        for row in &rows {
            let version: i64 = row.try_get("version").map_err(db_err)?;
            let name: String = row.try_get("name").map_err(db_err)?;
            let sum: String = row.try_get("checksum").map_err(db_err)?;
            match MIGRATIONS.iter().find(|m| m.version == version) {
                None => {
                    return Err(failed(format!(
                        "the database has migration {version} ({name}), which this igsync \
                         does not know: it was written by a newer version"
                    )));
                }
                Some(known) if checksum(known.sql) != sum => {
                    return Err(failed(format!(
                        "migration {version} ({name}) was changed after it was applied \
                         (checksum mismatch)"
                    )));
                }
                Some(_) => done |= version == migration.version,
            }
        }
        if done {
            continue;
        }
        sqlx::raw_sql(AssertSqlSafe(migration.sql))
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                failed(format!(
                    "migration {} ({}): {}",
                    migration.version,
                    migration.name,
                    db_err(e)
                ))
            })?;
        sqlx::query(
            "INSERT INTO igsync_migrations (version, name, checksum, applied_at)
             VALUES (?, ?, ?, ?)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(checksum(migration.sql))
        .bind(micros(chrono::Utc::now()))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
        applied += 1;
    }
    Ok(applied)
}
