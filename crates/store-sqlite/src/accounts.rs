//! Accounts: registration, status changes, tokens (stored sealed, re-encrypted on key
//! rotation) and deletion with everything the account owns.

use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;
use store::{
    Account, AccountId, AccountType, Cipher, EncryptedToken, LoginKind, NewAccount, Result,
    StatusChange, StoreError, SyncStatus, TokenUpdate,
};

use crate::SqliteStore;
use crate::error::db_err;
use crate::sql::{RowExt, chunked_values, json_texts, micros, micros_opt};

const COLUMNS: &str = "id, ig_user_id, username, name, account_type, login, page_id, timezone, \
     token, token_expires_at, token_refreshed_at, sync_status, last_synced_at, last_sync_error, \
     followers_count, follows_count, media_count, profile_picture_url, created_at, updated_at";

fn account_from(row: &SqliteRow) -> Result<Account> {
    Ok(Account {
        id: AccountId::new(row.col("id")?),
        ig_user_id: row.col("ig_user_id")?,
        username: row.col("username")?,
        name: row.col("name")?,
        account_type: row.parsed("account_type", AccountType::parse)?,
        login: row.parsed("login", LoginKind::parse)?,
        page_id: row.col("page_id")?,
        timezone: row.col("timezone")?,
        token: row.col::<Option<Vec<u8>>>("token")?.map(EncryptedToken),
        token_expires_at: row.time_opt("token_expires_at")?,
        token_refreshed_at: row.time_opt("token_refreshed_at")?,
        status: row.parsed("sync_status", SyncStatus::parse)?,
        last_synced_at: row.time_opt("last_synced_at")?,
        last_sync_error: row.col("last_sync_error")?,
        followers_count: row.col("followers_count")?,
        follows_count: row.col("follows_count")?,
        media_count: row.col("media_count")?,
        profile_picture_url: row.col("profile_picture_url")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// Fails with `NotFound` unless the account exists (inside a write transaction, so it
/// cannot disappear before the transaction ends).
pub(crate) async fn ensure_exists(conn: &mut SqliteConnection, id: AccountId) -> Result<()> {
    let found = sqlx::query("SELECT 1 FROM accounts WHERE id = ?")
        .bind(id.get())
        .fetch_optional(conn)
        .await
        .map_err(db_err)?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::not_found(format!("account {id}"))),
    }
}

pub(crate) async fn upsert(db: &SqliteStore, account: NewAccount) -> Result<Account> {
    if account.ig_user_id.trim().is_empty() {
        return Err(StoreError::invalid("an account needs an Instagram user id"));
    }
    let now = micros(account.now);
    let mut tx = db.write().await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO accounts (ig_user_id, username, name, account_type, login, page_id,
             timezone, token, token_expires_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, coalesce(?7, 'UTC'), ?8, ?9, ?10, ?10)
         ON CONFLICT (ig_user_id) DO UPDATE SET
             username = excluded.username,
             name = excluded.name,
             account_type = excluded.account_type,
             login = excluded.login,
             page_id = excluded.page_id,
             timezone = coalesce(?7, accounts.timezone),
             token = excluded.token,
             token_expires_at = excluded.token_expires_at,
             updated_at = excluded.updated_at
         RETURNING {COLUMNS}"
    )))
    .bind(&account.ig_user_id)
    .bind(&account.username)
    .bind(&account.name)
    .bind(account.account_type.as_str())
    .bind(account.login.as_str())
    .bind(&account.page_id)
    .bind(&account.timezone)
    .bind(&account.token.0)
    .bind(micros_opt(account.token_expires_at))
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let account = account_from(&row)?;
    tx.commit().await.map_err(db_err)?;
    Ok(account)
}

pub(crate) async fn get(db: &SqliteStore, id: AccountId) -> Result<Option<Account>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM accounts WHERE id = ?"
    )))
    .bind(id.get())
    .fetch_optional(&db.reader)
    .await
    .map_err(db_err)?
    .as_ref()
    .map(account_from)
    .transpose()
}

pub(crate) async fn get_by_ig(db: &SqliteStore, ig_user_id: &str) -> Result<Option<Account>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM accounts WHERE ig_user_id = ?"
    )))
    .bind(ig_user_id)
    .fetch_optional(&db.reader)
    .await
    .map_err(db_err)?
    .as_ref()
    .map(account_from)
    .transpose()
}

pub(crate) async fn list(db: &SqliteStore) -> Result<Vec<Account>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM accounts ORDER BY id"
    )))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?
    .iter()
    .map(account_from)
    .collect()
}

pub(crate) async fn status_set(
    db: &SqliteStore,
    id: AccountId,
    change: StatusChange,
) -> Result<bool> {
    let guard: Vec<&str> = change.only_if.iter().map(|s| s.as_str()).collect();
    let mut tx = db.write().await?;
    let done = sqlx::query(
        "UPDATE accounts SET
             sync_status = ?2,
             last_sync_error = ?3,
             last_synced_at = coalesce(?4, last_synced_at),
             updated_at = ?5
         WHERE id = ?1
           AND (?6 = 0 OR sync_status IN (SELECT value FROM json_each(?7)))",
    )
    .bind(id.get())
    .bind(change.status.as_str())
    .bind(&change.error)
    .bind(micros_opt(change.synced_at))
    .bind(micros(change.now))
    .bind(guard.len() as i64)
    .bind(json_texts(&guard))
    .execute(&mut *tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done > 0)
}

pub(crate) async fn timezone_set(db: &SqliteStore, id: AccountId, timezone: &str) -> Result<bool> {
    let mut tx = db.write().await?;
    let done = sqlx::query("UPDATE accounts SET timezone = ? WHERE id = ?")
        .bind(timezone)
        .bind(id.get())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done > 0)
}

pub(crate) async fn token_set(db: &SqliteStore, update: TokenUpdate) -> Result<bool> {
    let mut tx = db.write().await?;
    let done = sqlx::query(
        "UPDATE accounts SET token = ?1, token_expires_at = ?2, token_refreshed_at = ?3,
             updated_at = max(updated_at, ?3)
         WHERE id = ?4",
    )
    .bind(&update.token.0)
    .bind(micros_opt(update.expires_at))
    .bind(micros(update.refreshed_at))
    .bind(update.account_id.get())
    .execute(&mut *tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done > 0)
}

pub(crate) async fn delete(db: &SqliteStore, id: AccountId) -> Result<bool> {
    let mut tx = db.write().await?;
    let done = sqlx::query("DELETE FROM accounts WHERE id = ?")
        .bind(id.get())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done > 0)
}

pub(crate) async fn count_with_token(db: &SqliteStore) -> Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM accounts WHERE token IS NOT NULL")
        .fetch_one(&db.reader)
        .await
        .map_err(db_err)
}

pub(crate) async fn tokens_reencrypt(db: &SqliteStore, old: &Cipher, new: &Cipher) -> Result<u64> {
    let mut tx = db.write().await?;
    let rows =
        sqlx::query("SELECT id, username, token FROM accounts WHERE token IS NOT NULL ORDER BY id")
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
    let mut sealed = Vec::with_capacity(rows.len());
    for row in &rows {
        let id = AccountId::new(row.col("id")?);
        let token = EncryptedToken(row.col("token")?);
        let username: String = row.col("username")?;
        let plain = old
            .decrypt(&token)
            .map_err(|e| store::token_of_account(id, &username, e))?;
        sealed.push((id, new.encrypt(&plain)?));
    }
    let changed = chunked_values(
        &mut tx,
        "WITH v (id, token) AS (",
        "(?, ?)",
        ") UPDATE accounts SET token = v.token FROM v WHERE accounts.id = v.id",
        &sealed,
        |q, (id, token)| q.bind(id.get()).bind(token.0.clone()),
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(changed)
}
