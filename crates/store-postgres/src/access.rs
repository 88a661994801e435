//! Workspaces, their accounts, and the audit log.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgPool};
use store::{
    AccountId, AuditEntry, AuditOf, AuditVia, NewAuditEntry, Result, ShareLink, Workspace,
    WorkspaceId,
};

use crate::accounts::get;
use crate::error::{corrupt, db};

pub(crate) async fn workspace_insert(
    pool: &PgPool,
    name: &str,
    at: DateTime<Utc>,
) -> Result<Workspace> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO workspaces (name, created_at) VALUES ($1, $2) RETURNING id",
    )
    .bind(name)
    .bind(at)
    .fetch_one(pool)
    .await
    .map_err(db)?;
    Ok(Workspace {
        id,
        name: name.to_owned(),
        created_at: at,
        accounts: Vec::new(),
    })
}

async fn with_accounts(pool: &PgPool, rows: Vec<PgRow>) -> Result<Vec<Workspace>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id: i64 = get(&row, "id")?;
        let accounts: Vec<AccountId> = sqlx::query_scalar::<_, i64>(
            "SELECT account_id FROM workspace_accounts WHERE workspace_id = $1 ORDER BY account_id",
        )
        .bind(id)
        .fetch_all(pool)
        .await
        .map_err(db)?
        .into_iter()
        .map(AccountId::new)
        .collect();
        out.push(Workspace {
            id,
            name: get(&row, "name")?,
            created_at: get(&row, "created_at")?,
            accounts,
        });
    }
    Ok(out)
}

pub(crate) async fn workspace_list(pool: &PgPool) -> Result<Vec<Workspace>> {
    let rows = sqlx::query("SELECT id, name, created_at FROM workspaces ORDER BY name")
        .fetch_all(pool)
        .await
        .map_err(db)?;
    with_accounts(pool, rows).await
}

pub(crate) async fn workspace_get(pool: &PgPool, id: WorkspaceId) -> Result<Option<Workspace>> {
    let rows = sqlx::query("SELECT id, name, created_at FROM workspaces WHERE id = $1")
        .bind(id)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    Ok(with_accounts(pool, rows).await?.pop())
}

pub(crate) async fn workspace_add_account(
    pool: &PgPool,
    workspace: WorkspaceId,
    account: AccountId,
    at: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO workspace_accounts (workspace_id, account_id, added_at) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(workspace)
    .bind(account.get())
    .bind(at)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn workspace_remove_account(
    pool: &PgPool,
    workspace: WorkspaceId,
    account: AccountId,
) -> Result<bool> {
    let done =
        sqlx::query("DELETE FROM workspace_accounts WHERE workspace_id = $1 AND account_id = $2")
            .bind(workspace)
            .bind(account.get())
            .execute(pool)
            .await
            .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn audit_insert(pool: &PgPool, e: NewAuditEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, via, source, action, target, outcome)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.at)
    .bind(&e.actor)
    .bind(e.via.as_str())
    .bind(&e.source)
    .bind(&e.action)
    .bind(&e.target)
    .bind(e.outcome)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(())
}

pub(crate) async fn audit_list(
    pool: &PgPool,
    limit: u32,
    of: Option<&AuditOf>,
) -> Result<Vec<AuditEntry>> {
    let limit = (limit > 0).then_some(i64::from(limit));
    // `$2` NULL: every entry; else the workspace's actors, or its accounts as targets of an
    // account route.
    let actors = of.map(|o| o.actors.clone());
    let accounts: Option<Vec<String>> =
        of.map(|o| o.accounts.iter().map(|a| a.to_string()).collect());
    let rows = sqlx::query(
        "SELECT id, at, actor, via, source, action, target, outcome FROM audit_log
         WHERE $2::text[] IS NULL
            OR actor = ANY($2)
            OR (action LIKE '%/accounts/{id}%' AND target = ANY($3))
         ORDER BY at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .bind(actors)
    .bind(accounts)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            let via: String = get(r, "via")?;
            Ok(AuditEntry {
                id: get(r, "id")?,
                entry: NewAuditEntry {
                    at: get(r, "at")?,
                    actor: get(r, "actor")?,
                    via: AuditVia::parse(&via).ok_or_else(|| corrupt(format!("via {via:?}")))?,
                    source: get(r, "source")?,
                    action: get(r, "action")?,
                    target: get(r, "target")?,
                    outcome: get(r, "outcome")?,
                },
            })
        })
        .collect()
}

const LINK_COLUMNS: &str = "id, account_id, hash, created_at, expires_at, revoked_at, created_by";

fn link_from(r: &PgRow) -> Result<ShareLink> {
    Ok(ShareLink {
        id: get(r, "id")?,
        account_id: AccountId::new(get(r, "account_id")?),
        hash: get(r, "hash")?,
        created_at: get(r, "created_at")?,
        expires_at: get(r, "expires_at")?,
        revoked_at: get(r, "revoked_at")?,
        created_by: get(r, "created_by")?,
    })
}

pub(crate) async fn share_link_insert(pool: &PgPool, l: ShareLink) -> Result<()> {
    sqlx::query(
        "INSERT INTO share_links (id, account_id, hash, created_at, expires_at, revoked_at,
                                  created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&l.id)
    .bind(l.account_id.get())
    .bind(&l.hash)
    .bind(l.created_at)
    .bind(l.expires_at)
    .bind(l.revoked_at)
    .bind(&l.created_by)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(())
}

pub(crate) async fn share_link_get(pool: &PgPool, id: &str) -> Result<Option<ShareLink>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {LINK_COLUMNS} FROM share_links WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    row.as_ref().map(link_from).transpose()
}

pub(crate) async fn share_link_list(pool: &PgPool) -> Result<Vec<ShareLink>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {LINK_COLUMNS} FROM share_links ORDER BY created_at, id"
    )))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter().map(link_from).collect()
}

pub(crate) async fn share_link_revoke(pool: &PgPool, id: &str, at: DateTime<Utc>) -> Result<bool> {
    let done =
        sqlx::query("UPDATE share_links SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(pool)
            .await
            .map_err(db)?;
    Ok(done.rows_affected() > 0)
}
