//! Workspaces, their accounts, and the audit log.

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use sqlx::sqlite::SqliteRow;
use store::{
    AccountId, AuditEntry, AuditOf, AuditVia, NewAuditEntry, Result, ShareLink, Workspace,
    WorkspaceId,
};

use crate::SqliteStore;
use crate::error::db_err;
use crate::sql::{RowExt, json_texts, micros, micros_opt};

pub(crate) async fn workspace_insert(
    db: &SqliteStore,
    name: &str,
    at: DateTime<Utc>,
) -> Result<Workspace> {
    let mut tx = db.write().await?;
    let id: i64 =
        sqlx::query_scalar("INSERT INTO workspaces (name, created_at) VALUES (?, ?) RETURNING id")
            .bind(name)
            .bind(micros(at))
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(Workspace {
        id,
        name: name.to_owned(),
        created_at: at,
        accounts: Vec::new(),
    })
}

async fn with_accounts(db: &SqliteStore, rows: Vec<SqliteRow>) -> Result<Vec<Workspace>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id: i64 = row.col("id")?;
        let accounts: Vec<AccountId> = sqlx::query_scalar::<_, i64>(
            "SELECT account_id FROM workspace_accounts WHERE workspace_id = ? ORDER BY account_id",
        )
        .bind(id)
        .fetch_all(&db.reader)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(AccountId::new)
        .collect();
        out.push(Workspace {
            id,
            name: row.col("name")?,
            created_at: row.time("created_at")?,
            accounts,
        });
    }
    Ok(out)
}

pub(crate) async fn workspace_list(db: &SqliteStore) -> Result<Vec<Workspace>> {
    let rows = sqlx::query("SELECT id, name, created_at FROM workspaces ORDER BY name")
        .fetch_all(&db.reader)
        .await
        .map_err(db_err)?;
    with_accounts(db, rows).await
}

pub(crate) async fn workspace_get(db: &SqliteStore, id: WorkspaceId) -> Result<Option<Workspace>> {
    let rows = sqlx::query("SELECT id, name, created_at FROM workspaces WHERE id = ?")
        .bind(id)
        .fetch_all(&db.reader)
        .await
        .map_err(db_err)?;
    Ok(with_accounts(db, rows).await?.pop())
}

pub(crate) async fn workspace_add_account(
    db: &SqliteStore,
    workspace: WorkspaceId,
    account: AccountId,
    at: DateTime<Utc>,
) -> Result<bool> {
    let mut tx = db.write().await?;
    let done = sqlx::query(
        "INSERT INTO workspace_accounts (workspace_id, account_id, added_at) VALUES (?, ?, ?)
         ON CONFLICT DO NOTHING",
    )
    .bind(workspace)
    .bind(account.get())
    .bind(micros(at))
    .execute(&mut *tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done > 0)
}

pub(crate) async fn workspace_remove_account(
    db: &SqliteStore,
    workspace: WorkspaceId,
    account: AccountId,
) -> Result<bool> {
    let mut tx = db.write().await?;
    let done =
        sqlx::query("DELETE FROM workspace_accounts WHERE workspace_id = ? AND account_id = ?")
            .bind(workspace)
            .bind(account.get())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done > 0)
}

pub(crate) async fn audit_insert(db: &SqliteStore, e: NewAuditEntry) -> Result<()> {
    let mut tx = db.write().await?;
    sqlx::query(
        "INSERT INTO audit_log (at, actor, via, source, action, target, outcome)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(micros(e.at))
    .bind(&e.actor)
    .bind(e.via.as_str())
    .bind(&e.source)
    .bind(&e.action)
    .bind(&e.target)
    .bind(e.outcome)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn audit_list(
    db: &SqliteStore,
    limit: u32,
    of: Option<&AuditOf>,
) -> Result<Vec<AuditEntry>> {
    let limit = if limit == 0 { -1 } else { i64::from(limit) };
    // `?2` NULL: every entry; else the workspace's actors, or its accounts as targets of an
    // account route.
    let actors = of.map(|o| json_texts(&o.actors));
    let accounts = of.map(|o| {
        let ids: Vec<String> = o.accounts.iter().map(|a| a.to_string()).collect();
        json_texts(&ids)
    });
    sqlx::query(
        "SELECT id, at, actor, via, source, action, target, outcome FROM audit_log
         WHERE ?2 IS NULL
            OR actor IN (SELECT value FROM json_each(?2))
            OR (action LIKE '%/accounts/{id}%'
                AND target IN (SELECT value FROM json_each(?3)))
         ORDER BY at DESC, id DESC LIMIT ?1",
    )
    .bind(limit)
    .bind(actors)
    .bind(accounts)
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| {
        Ok(AuditEntry {
            id: row.col("id")?,
            entry: NewAuditEntry {
                at: row.time("at")?,
                actor: row.col("actor")?,
                via: row.parsed("via", AuditVia::parse)?,
                source: row.col("source")?,
                action: row.col("action")?,
                target: row.col("target")?,
                outcome: row.col("outcome")?,
            },
        })
    })
    .collect()
}

const LINK_COLUMNS: &str = "id, account_id, hash, created_at, expires_at, revoked_at, created_by";

fn link_from(row: &SqliteRow) -> Result<ShareLink> {
    Ok(ShareLink {
        id: row.col("id")?,
        account_id: AccountId::new(row.col("account_id")?),
        hash: row.col("hash")?,
        created_at: row.time("created_at")?,
        expires_at: row.time("expires_at")?,
        revoked_at: row.time_opt("revoked_at")?,
        created_by: row.col("created_by")?,
    })
}

pub(crate) async fn share_link_insert(db: &SqliteStore, l: ShareLink) -> Result<()> {
    let mut tx = db.write().await?;
    sqlx::query(
        "INSERT INTO share_links (id, account_id, hash, created_at, expires_at, revoked_at,
                                  created_by)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&l.id)
    .bind(l.account_id.get())
    .bind(&l.hash)
    .bind(micros(l.created_at))
    .bind(micros(l.expires_at))
    .bind(micros_opt(l.revoked_at))
    .bind(&l.created_by)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn share_link_get(db: &SqliteStore, id: &str) -> Result<Option<ShareLink>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {LINK_COLUMNS} FROM share_links WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(&db.reader)
    .await
    .map_err(db_err)?
    .as_ref()
    .map(link_from)
    .transpose()
}

pub(crate) async fn share_link_list(db: &SqliteStore) -> Result<Vec<ShareLink>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {LINK_COLUMNS} FROM share_links ORDER BY created_at, id"
    )))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?
    .iter()
    .map(link_from)
    .collect()
}

pub(crate) async fn share_link_revoke(
    db: &SqliteStore,
    id: &str,
    at: DateTime<Utc>,
) -> Result<bool> {
    let mut tx = db.write().await?;
    let done =
        sqlx::query("UPDATE share_links SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?")
            .bind(micros(at))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done > 0)
}
