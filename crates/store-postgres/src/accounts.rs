//! Accounts: registration, status changes, tokens (stored only sealed) and deletion with
//! all dependent rows (foreign keys cascade).

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use store::{
    Account, AccountId, AccountType, Cipher, EncryptedToken, LoginKind, NewAccount, Result,
    StatusChange, SyncStatus, TokenUpdate,
};

use crate::error::{corrupt, db};

pub(crate) fn get<'r, T>(row: &'r PgRow, col: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(col).map_err(db)
}

const ACCOUNT_COLUMNS: &str = "id, ig_user_id, username, name, account_type, login, page_id, \
    timezone, token, token_expires_at, token_refreshed_at, status, last_synced_at, \
    last_sync_error, followers_count, follows_count, media_count, profile_picture_url, \
    created_at, updated_at";

fn account_from(row: &PgRow) -> Result<Account> {
    let account_type: String = get(row, "account_type")?;
    let login: String = get(row, "login")?;
    let status: String = get(row, "status")?;
    let token: Option<Vec<u8>> = get(row, "token")?;
    Ok(Account {
        id: AccountId::new(get(row, "id")?),
        ig_user_id: get(row, "ig_user_id")?,
        username: get(row, "username")?,
        name: get(row, "name")?,
        account_type: AccountType::parse(&account_type)
            .ok_or_else(|| corrupt(format!("account type {account_type:?}")))?,
        login: LoginKind::parse(&login).ok_or_else(|| corrupt(format!("login {login:?}")))?,
        page_id: get(row, "page_id")?,
        timezone: get(row, "timezone")?,
        token: token.map(EncryptedToken),
        token_expires_at: get(row, "token_expires_at")?,
        token_refreshed_at: get(row, "token_refreshed_at")?,
        status: SyncStatus::parse(&status)
            .ok_or_else(|| corrupt(format!("sync status {status:?}")))?,
        last_synced_at: get(row, "last_synced_at")?,
        last_sync_error: get(row, "last_sync_error")?,
        followers_count: get(row, "followers_count")?,
        follows_count: get(row, "follows_count")?,
        media_count: get(row, "media_count")?,
        profile_picture_url: get(row, "profile_picture_url")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

pub(crate) async fn upsert(pool: &PgPool, a: NewAccount) -> Result<Account> {
    if a.ig_user_id.trim().is_empty() {
        return Err(store::StoreError::invalid(
            "an account needs an Instagram user id",
        ));
    }
    let sql = format!(
        "INSERT INTO accounts (ig_user_id, username, name, account_type, login, page_id, timezone,
             token, token_expires_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, 'UTC'), $8, $9, $10, $10)
         ON CONFLICT (ig_user_id) DO UPDATE SET
             username = EXCLUDED.username,
             name = EXCLUDED.name,
             account_type = EXCLUDED.account_type,
             login = EXCLUDED.login,
             page_id = EXCLUDED.page_id,
             timezone = COALESCE($7, accounts.timezone),
             token = EXCLUDED.token,
             token_expires_at = EXCLUDED.token_expires_at,
             updated_at = EXCLUDED.updated_at
         RETURNING {ACCOUNT_COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&a.ig_user_id)
        .bind(&a.username)
        .bind(&a.name)
        .bind(a.account_type.as_str())
        .bind(a.login.as_str())
        .bind(&a.page_id)
        .bind(&a.timezone)
        .bind(&a.token.0)
        .bind(a.token_expires_at)
        .bind(a.now)
        .fetch_one(pool)
        .await
        .map_err(db)?;
    account_from(&row)
}

pub(crate) async fn get_by_id(pool: &PgPool, id: AccountId) -> Result<Option<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.get())
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.as_ref().map(account_from).transpose()
}

pub(crate) async fn get_by_ig(pool: &PgPool, ig_user_id: &str) -> Result<Option<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE ig_user_id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(ig_user_id)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.as_ref().map(account_from).transpose()
}

pub(crate) async fn list(pool: &PgPool) -> Result<Vec<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.iter().map(account_from).collect()
}

/// An account's status change ([`StatusChange`]) as an `UPDATE` over parameters `$1` (the
/// account) to `$6`, bound by [`bind_status`]; other statements put it in a CTE.
pub(crate) const STATUS_SET: &str = "UPDATE accounts SET status = $2, last_sync_error = $3,
         last_synced_at = COALESCE($4, last_synced_at), updated_at = $5
     WHERE id = $1 AND (cardinality($6::text[]) = 0 OR status = ANY($6))";

/// Binds [`STATUS_SET`]'s six parameters.
pub(crate) fn bind_status<'q>(
    q: crate::PgQuery<'q>,
    id: AccountId,
    c: &'q StatusChange,
) -> crate::PgQuery<'q> {
    let only_if: Vec<&str> = c.only_if.iter().map(|s| s.as_str()).collect();
    q.bind(id.get())
        .bind(c.status.as_str())
        .bind(&c.error)
        .bind(c.synced_at)
        .bind(c.now)
        .bind(only_if)
}

pub(crate) async fn status_set(pool: &PgPool, id: AccountId, c: StatusChange) -> Result<bool> {
    let done = bind_status(sqlx::query(STATUS_SET), id, &c)
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn timezone_set(pool: &PgPool, id: AccountId, tz: &str) -> Result<bool> {
    let done = sqlx::query("UPDATE accounts SET timezone = $2 WHERE id = $1")
        .bind(id.get())
        .bind(tz)
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn token_set(pool: &PgPool, u: TokenUpdate) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE accounts SET token = $2, token_expires_at = $3, token_refreshed_at = $4,
             updated_at = GREATEST(updated_at, $4)
         WHERE id = $1",
    )
    .bind(u.account_id.get())
    .bind(&u.token.0)
    .bind(u.expires_at)
    .bind(u.refreshed_at)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn delete(pool: &PgPool, id: AccountId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM accounts WHERE id = $1")
        .bind(id.get())
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn count_with_token(pool: &PgPool) -> Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM accounts WHERE token IS NOT NULL")
        .fetch_one(pool)
        .await
        .map_err(db)
}

pub(crate) async fn tokens_reencrypt(pool: &PgPool, old: &Cipher, new: &Cipher) -> Result<u64> {
    let mut tx = pool.begin().await.map_err(db)?;
    let rows =
        sqlx::query("SELECT id, username, token FROM accounts WHERE token IS NOT NULL FOR UPDATE")
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut tokens = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = get(row, "id")?;
        let sealed: Vec<u8> = get(row, "token")?;
        let username: String = get(row, "username")?;
        let plain = old
            .decrypt(&EncryptedToken(sealed))
            .map_err(|e| store::token_of_account(AccountId::new(id), &username, e))?;
        ids.push(id);
        tokens.push(new.encrypt(&plain)?.0);
    }
    sqlx::query(
        "UPDATE accounts SET token = u.token
         FROM UNNEST($1::bigint[], $2::bytea[]) AS u(id, token)
         WHERE accounts.id = u.id",
    )
    .bind(&ids)
    .bind(&tokens)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(ids.len() as u64)
}
