//! The [`store::Store`] on PostgreSQL, where any number of workers share one database and
//! one queue: its schema, migrations and SQL.
//!
//! SQL lives only here and in `store-sqlite`. This crate must not depend on `store-sqlite`,
//! `sync` or `server`. Every value reaches the database as a bound parameter; dynamic
//! `WHERE` clauses are assembled from fixed fragments only.

mod access;
mod accounts;
mod competitors;
mod content;
mod copy;
mod error;
mod export;
mod migrate;
mod ops;
mod queue;
mod reports;
mod runs;
pub mod scratch;
mod store_impl;
pub mod warehouse;
mod webhooks;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use store::{Result, StoreError};

pub use crate::migrate::MIGRATIONS;
pub use store::redact_url;

/// A query with its bound arguments, as the helpers that bind shared parameters take it.
pub(crate) type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Namespace of igsync's advisory locks (the first key of the two-key form): "igsy".
pub(crate) const LOCK_NAMESPACE: i32 = 0x6967_7379;
/// Second keys of the advisory locks.
pub(crate) const LOCK_MIGRATE: i32 = 1;
pub(crate) const LOCK_CLAIM: i32 = 2;
/// Statistics are gathered per schema: the second key is `hashtext` of the schema's name and
/// this suffix (see `ops::statistics_refresh`).
pub(crate) const LOCK_STATISTICS_SUFFIX: &str = " statistics";

/// How to connect: pool size and timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// Largest number of connections the pool opens.
    pub max_connections: u32,
    /// How long an operation waits for a free connection before failing as unavailable.
    pub acquire_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// igsync's store on a PostgreSQL database (tables in the `public` schema).
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects with default options. Does not migrate: call [`store::Store::migrate`].
    pub async fn connect(url: &str) -> Result<PostgresStore> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects with the given options. A bad URL is `InvalidInput`, an unreachable server
    /// `Unavailable`; both name the URL without its password.
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<PostgresStore> {
        let shown = redact_url(url);
        if options.max_connections == 0 {
            return Err(StoreError::invalid(
                "the PostgreSQL pool needs at least one connection",
            ));
        }
        let connect: PgConnectOptions = url.parse().map_err(|e: sqlx::Error| {
            StoreError::invalid(format!(
                "invalid PostgreSQL URL {shown}: {}",
                error::one_line(&e.to_string())
            ))
        })?;
        let connect = connect.options([("TimeZone", "UTC")]);
        let unavailable = |e: sqlx::Error| StoreError::Unavailable {
            message: if error::is_foreign_protocol(&e) {
                format!(
                    "cannot connect to PostgreSQL at {shown}: the server there is not a \
                     PostgreSQL server (it does not answer in PostgreSQL's protocol); check the \
                     host and port"
                )
            } else {
                format!(
                    "cannot connect to PostgreSQL at {shown}: {}",
                    error::one_line(&error::describe(&e))
                )
            },
        };
        // One direct attempt first, so a refused connection or a wrong password is reported
        // at once with its real reason instead of after the pool's acquire timeout; a server
        // that accepts the connection and never answers is given the same time.
        {
            use sqlx::Connection;
            let probe = tokio::time::timeout(
                options.acquire_timeout,
                sqlx::PgConnection::connect_with(&connect),
            )
            .await
            .map_err(|_| StoreError::Unavailable {
                message: format!(
                    "cannot connect to PostgreSQL at {shown}: no answer within {} s (is a \
                     PostgreSQL server listening there?)",
                    options.acquire_timeout.as_secs_f64()
                ),
            })?
            .map_err(unavailable)?;
            let _ = probe.close().await;
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(unavailable)?;
        Ok(PostgresStore { pool })
    }

    /// The connection pool, for dialect-specific tools and tests.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection; later calls fail as unavailable.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
