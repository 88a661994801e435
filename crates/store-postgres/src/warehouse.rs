//! The warehouse schema: Fivetran-compatible views of igsync's history, for analytics tools
//! built on Fivetran's Instagram Business connector (its dbt package reads them unchanged).
//! Migration 0007 defines the views beside igsync's tables (`fivetran_*`); here they are
//! exposed under Fivetran's table names in a schema of the operator's choosing, and a
//! read-only role is given access to that schema and nothing else.

use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};
use store::{Result, StoreError};

use crate::error::db;
use crate::{LOCK_MIGRATE, LOCK_NAMESPACE, PostgresStore};

/// The warehouse tables: (name in the warehouse schema, igsync's view behind it).
pub const WAREHOUSE_VIEWS: &[(&str, &str)] = &[
    ("user_history", "fivetran_user_history"),
    ("media_history", "fivetran_media_history"),
    ("media_insights", "fivetran_media_insights"),
    ("user_insights", "fivetran_user_insights"),
    ("user_lifetime_insights", "fivetran_user_lifetime_insights"),
];

/// Checks a schema or role name: a lower-case SQL identifier (letters, digits, `_`, not
/// starting with a digit or `pg_`), at most 63 characters, so that it needs no quoting and
/// means the same to every tool.
pub fn check_identifier(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
        && !name.starts_with("pg_");
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid(format!(
            "invalid {what} {name:?}: use lower-case letters, digits and _ (at most 63, not \
             starting with a digit or pg_)"
        )))
    }
}

/// Builds a statement with the server's own quoting (`format` with `%I` / `%L`).
async fn quoted(conn: &mut PgConnection, template: &str, args: &[&str]) -> Result<String> {
    let mut q = sqlx::query_scalar::<_, String>(AssertSqlSafe(template.to_string()));
    for a in args {
        q = q.bind(*a);
    }
    q.fetch_one(&mut *conn).await.map_err(db)
}

async fn exec(conn: &mut PgConnection, sql: &str) -> Result<()> {
    // Every name in `sql` was quoted by the server (`quoted`).
    sqlx::raw_sql(AssertSqlSafe(sql.to_string())).execute(&mut *conn).await.map_err(db)?;
    Ok(())
}

/// The schema igsync's tables live in, which the warehouse schema must differ from.
async fn own_schema(conn: &mut PgConnection) -> Result<String> {
    sqlx::query_scalar::<_, String>("SELECT current_schema()")
        .fetch_one(&mut *conn)
        .await
        .map_err(db)
}

impl PostgresStore {
    /// Creates the warehouse schema and its views, or brings them up to date; idempotent,
    /// and serialized with migrations. Privileges granted on the views are kept.
    pub async fn warehouse_views(&self, schema: &str) -> Result<()> {
        check_identifier("warehouse schema", schema)?;
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let mut tx = conn.begin().await.map_err(db)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind(LOCK_NAMESPACE)
            .bind(LOCK_MIGRATE)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let own = own_schema(&mut tx).await?;
        if own == schema {
            return Err(StoreError::invalid(format!(
                "the warehouse schema must not be igsync's own schema {own:?}: choose another \
                 name (setting warehouse.schema)"
            )));
        }
        let create = quoted(
            &mut tx,
            "SELECT format('CREATE SCHEMA IF NOT EXISTS %I', $1::text)",
            &[schema],
        )
        .await?;
        exec(&mut tx, &create).await?;
        for (name, base) in WAREHOUSE_VIEWS {
            let sql = quoted(
                &mut tx,
                "SELECT format('CREATE OR REPLACE VIEW %I.%I AS SELECT * FROM %I.%I', \
                 $1::text, $2::text, $3::text, $4::text)",
                &[schema, name, &own, base],
            )
            .await?;
            exec(&mut tx, &sql).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    /// Creates `role` (or updates it) as a login role that can read the warehouse views of
    /// `schema` and nothing of igsync's own tables. With `password`, sets its password.
    /// Returns whether the role was created. Refuses superusers and the connecting role,
    /// which can read everything.
    pub async fn warehouse_grant(
        &self,
        schema: &str,
        role: &str,
        password: Option<&str>,
    ) -> Result<bool> {
        check_identifier("warehouse schema", schema)?;
        check_identifier("role name", role)?;
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let mut tx = conn.begin().await.map_err(db)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind(LOCK_NAMESPACE)
            .bind(LOCK_MIGRATE)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let present: Option<i64> = sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.views WHERE table_schema = $1",
        )
        .bind(schema)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        if present.unwrap_or(0) < WAREHOUSE_VIEWS.len() as i64 {
            return Err(StoreError::invalid(format!(
                "the warehouse schema {schema:?} does not exist yet: run `igsync migrate` first"
            )));
        }
        let current: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        if current == role {
            return Err(StoreError::invalid(format!(
                "role {role:?} is the role igsync connects as, which owns every table: choose \
                 another name for the read-only role"
            )));
        }
        let existing = sqlx::query("SELECT rolsuper FROM pg_roles WHERE rolname = $1")
            .bind(role)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if let Some(row) = &existing {
            let superuser: bool = row.try_get("rolsuper").map_err(db)?;
            if superuser {
                return Err(StoreError::invalid(format!(
                    "role {role:?} is a superuser, which reads everything: choose another name \
                     for the read-only role"
                )));
            }
        }
        let created = existing.is_none();
        let verb = if created { "CREATE" } else { "ALTER" };
        let attributes = " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION \
                          NOBYPASSRLS";
        let sql = quoted(
            &mut tx,
            &format!("SELECT format('{verb} ROLE %I{attributes}', $1::text)"),
            &[role],
        )
        .await?;
        exec(&mut tx, &sql).await?;
        if let Some(password) = password {
            let sql = quoted(
                &mut tx,
                "SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)",
                &[role, password],
            )
            .await?;
            exec(&mut tx, &sql).await?;
        }
        let own = own_schema(&mut tx).await?;
        let sql = quoted(
            &mut tx,
            "SELECT format('REVOKE ALL ON ALL TABLES IN SCHEMA %1$I FROM %2$I; \
             REVOKE ALL ON ALL SEQUENCES IN SCHEMA %1$I FROM %2$I; \
             GRANT CONNECT ON DATABASE %3$I TO %2$I; \
             GRANT USAGE ON SCHEMA %4$I TO %2$I; \
             GRANT SELECT ON ALL TABLES IN SCHEMA %4$I TO %2$I', \
             $1::text, $2::text, current_database(), $3::text)",
            &[&own, role, schema],
        )
        .await?;
        exec(&mut tx, &sql).await?;
        tx.commit().await.map_err(db)?;
        Ok(created)
    }
}

#[cfg(test)]
mod tests {
    use super::check_identifier;

    #[test]
    fn identifiers_are_plain_lower_case_names() {
        for ok in ["instagram_business", "a", "bi_reader2", "_x"] {
            assert!(check_identifier("schema", ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(64);
        for bad in [
            "",
            "Instagram",
            "1abc",
            "pg_catalog",
            "a-b",
            "a b",
            "x\"; drop table accounts; --",
            long.as_str(),
        ] {
            let e = check_identifier("schema", bad).unwrap_err().to_string();
            assert!(e.contains("invalid schema"), "{bad}: {e}");
        }
    }
}
