//! Opening the configured database: the dialect is picked from the URL scheme, the schema is
//! migrated, and the token cipher is checked against what the database holds.

use anyhow::{Context, bail};
use store::{Cipher, DynStore};

use crate::config::{Config, redact_url};

/// Opens the store named by `url` and applies pending migrations.
pub(crate) async fn open(url: &str) -> anyhow::Result<DynStore> {
    let store = connect(url).await?;
    store
        .migrate()
        .await
        .with_context(|| format!("cannot migrate the database at {}", redact_url(url)))?;
    Ok(store)
}

/// Opens the store named by `url` without migrating.
pub(crate) async fn connect(url: &str) -> anyhow::Result<DynStore> {
    // The stores' errors already name the URL (without its password).
    let shown = redact_url(url);
    if url.starts_with("sqlite:") {
        let store = store_sqlite::SqliteStore::open(url).await?;
        return Ok(std::sync::Arc::new(store));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = store_postgres::PostgresStore::connect(url).await?;
        return Ok(std::sync::Arc::new(store));
    }
    bail!("unsupported database URL {shown}: use sqlite://PATH or postgres://USER@HOST:PORT/DB")
}

/// The cipher for account tokens. Errors clearly when no key is configured, or when the
/// configured key cannot open the tokens already stored.
pub(crate) async fn cipher(config: &Config, store: &DynStore) -> anyhow::Result<Cipher> {
    match &config.secret_key {
        Some(key) => Ok(Cipher::new(key)),
        None => {
            let holding = store.account_count_with_token().await.unwrap_or(0);
            let why = if holding > 0 {
                format!("this database holds {holding} encrypted account token(s)")
            } else {
                "account tokens are stored encrypted".to_string()
            };
            bail!(
                "no secret key configured, and {why}: set IGSYNC_SECRET_KEY (or `secret_key` in \
                 igsync.toml) to 64 hex characters, e.g. from `openssl rand -hex 32`; keep it \
                 outside the database and back it up"
            )
        }
    }
}
