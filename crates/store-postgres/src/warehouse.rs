//! The warehouse schema: Fivetran-compatible views of igsync's history, for analytics tools
//! built on Fivetran's Instagram Business connector (its dbt package reads them unchanged).
//! Migrations 0007 and 0008 define the views beside igsync's tables (`fivetran_*`); here they are
//! exposed under Fivetran's table names in a schema of the operator's choosing, and a
//! read-only role is given access to that schema and nothing else.

use std::collections::BTreeMap;

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
    ("media_comment", "fivetran_media_comment"),
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
    sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
        .execute(&mut *conn)
        .await
        .map_err(db)?;
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

/// One row of `instagram_business__posts`, the final model of Fivetran's dbt package,
/// computed the way the package computes it (see [`PostgresStore::warehouse_posts`]).
#[derive(Debug, Clone, PartialEq)]
pub struct WarehousePost {
    pub post_id: i64,
    pub user_id: Option<i64>,
    pub account_name: Option<String>,
    pub username: Option<String>,
    pub is_story: Option<bool>,
    pub media_type: Option<String>,
    pub post_url: Option<String>,
    pub created_timestamp: Option<chrono::NaiveDateTime>,
    /// Every `media_insights` column of the post's latest row that is not NULL.
    pub metrics: BTreeMap<String, i64>,
}

/// One row of the warehouse view `media_comment` (Fivetran's `MEDIA_COMMENT` table).
#[derive(Debug, Clone, PartialEq)]
pub struct WarehouseComment {
    pub fivetran_id: String,
    pub synced: chrono::NaiveDateTime,
    pub media_id: Option<i64>,
    pub created_time: Option<chrono::DateTime<chrono::Utc>>,
    pub hidden: Option<bool>,
    pub id: Option<i64>,
    pub like_count: Option<i64>,
    pub owner_id: Option<i64>,
    pub owner_username: Option<String>,
    pub parent_id: Option<i64>,
    pub text: Option<String>,
}

/// The package's selection of one staging model: every column plus `is_most_recent_record`
/// (the greatest `_fivetran_synced` per id).
fn latest(schema_q: &str, table: &str) -> String {
    format!(
        "(SELECT t.*, row_number() OVER (PARTITION BY t.id ORDER BY t._fivetran_synced DESC) = 1 \
         AS is_most_recent_record FROM {schema_q}.{table} t)"
    )
}

impl PostgresStore {
    /// `instagram_business__posts` as `fivetran/dbt_instagram_business` (v1.1.0) builds it
    /// from the warehouse views: the latest `media_history` row per id, LEFT JOIN the latest
    /// `media_insights` row on `id`, LEFT JOIN the latest `user_history` row on `user_id`.
    /// Reads only the warehouse schema, so it works as the read-only role. Ordered by id.
    pub async fn warehouse_posts(&self, schema: &str) -> Result<Vec<WarehousePost>> {
        check_identifier("warehouse schema", schema)?;
        let schema_q = format!("\"{schema}\"");
        let sql = format!(
            "SELECT mh.id AS post_id, uh.id AS user_id, uh.name AS account_name, \
             mh.username, mh.is_story, mh.media_type, mh.permalink AS post_url, \
             mh.created_time AS created_timestamp, \
             to_jsonb(mi) - '_fivetran_id' - '_fivetran_synced' - 'id' \
               - 'is_most_recent_record' AS metrics \
             FROM {mh} mh \
             LEFT JOIN {mi} mi ON mi.id = mh.id AND mi.is_most_recent_record \
             LEFT JOIN {uh} uh ON uh.id = mh.user_id AND uh.is_most_recent_record \
             WHERE mh.is_most_recent_record \
             ORDER BY mh.id",
            mh = latest(&schema_q, "media_history"),
            mi = latest(&schema_q, "media_insights"),
            uh = latest(&schema_q, "user_history"),
        );
        // The schema name was checked to be a plain identifier; nothing else is spliced.
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let metrics: Option<serde_json::Value> = row.try_get("metrics").map_err(db)?;
            let metrics = match metrics {
                Some(serde_json::Value::Object(map)) => map
                    .into_iter()
                    .filter_map(|(k, v)| v.as_i64().map(|v| (k, v)))
                    .collect(),
                _ => BTreeMap::new(),
            };
            out.push(WarehousePost {
                post_id: row.try_get("post_id").map_err(db)?,
                user_id: row.try_get("user_id").map_err(db)?,
                account_name: row.try_get("account_name").map_err(db)?,
                username: row.try_get("username").map_err(db)?,
                is_story: row.try_get("is_story").map_err(db)?,
                media_type: row.try_get("media_type").map_err(db)?,
                post_url: row.try_get("post_url").map_err(db)?,
                created_timestamp: row.try_get("created_timestamp").map_err(db)?,
                metrics,
            });
        }
        Ok(out)
    }

    /// Every row of the warehouse view `media_comment`, ordered by comment id and
    /// `_fivetran_synced`. Reads only the warehouse schema, so it works as the read-only role.
    pub async fn warehouse_comments(&self, schema: &str) -> Result<Vec<WarehouseComment>> {
        check_identifier("warehouse schema", schema)?;
        // The schema name was checked to be a plain identifier; nothing else is spliced.
        let sql = format!(
            "SELECT _fivetran_id, _fivetran_synced, media_id, created_time, hidden, id, \
             like_count, owner_id, owner_username, parent_id, text \
             FROM \"{schema}\".media_comment ORDER BY id, _fivetran_synced"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(WarehouseComment {
                    fivetran_id: r.try_get("_fivetran_id").map_err(db)?,
                    synced: r.try_get("_fivetran_synced").map_err(db)?,
                    media_id: r.try_get("media_id").map_err(db)?,
                    created_time: r.try_get("created_time").map_err(db)?,
                    hidden: r.try_get("hidden").map_err(db)?,
                    id: r.try_get("id").map_err(db)?,
                    like_count: r.try_get("like_count").map_err(db)?,
                    owner_id: r.try_get("owner_id").map_err(db)?,
                    owner_username: r.try_get("owner_username").map_err(db)?,
                    parent_id: r.try_get("parent_id").map_err(db)?,
                    text: r.try_get("text").map_err(db)?,
                })
            })
            .collect()
    }

    /// The package's tests (`not_null` on `_fivetran_id` and the id of every view it reads),
    /// plus the uniqueness of `_fivetran_id` in every warehouse view: one line per failure.
    pub async fn warehouse_check(&self, schema: &str) -> Result<Vec<String>> {
        check_identifier("warehouse schema", schema)?;
        let mut failures = Vec::new();
        for (name, _) in WAREHOUSE_VIEWS {
            let sql = format!(
                "SELECT count(*) FILTER (WHERE _fivetran_id IS NULL) AS null_ids, \
                 count(*) FILTER (WHERE id IS NULL) AS null_keys, \
                 count(*) - count(DISTINCT _fivetran_id) AS duplicates, \
                 count(*) AS total_rows FROM \"{schema}\".\"{name}\""
            );
            let row = sqlx::query(AssertSqlSafe(sql))
                .fetch_one(&self.pool)
                .await
                .map_err(db)?;
            for (column, what) in [
                ("null_ids", "rows with a NULL _fivetran_id"),
                ("null_keys", "rows with a NULL id"),
                ("duplicates", "duplicate _fivetran_id values"),
            ] {
                let n: i64 = row.try_get(column).map_err(db)?;
                if n > 0 {
                    failures.push(format!("{name}: {n} {what}"));
                }
            }
        }
        Ok(failures)
    }

    /// Drops a role made by [`PostgresStore::warehouse_grant`]: its privileges in this
    /// database first, then the role. Returns whether it existed.
    pub async fn warehouse_revoke(&self, role: &str) -> Result<bool> {
        check_identifier("role name", role)?;
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let mut tx = conn.begin().await.map_err(db)?;
        let existing = sqlx::query("SELECT rolsuper FROM pg_roles WHERE rolname = $1")
            .bind(role)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        let Some(row) = existing else {
            return Ok(false);
        };
        let superuser: bool = row.try_get("rolsuper").map_err(db)?;
        let current: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        if superuser || current == role {
            return Err(StoreError::invalid(format!(
                "role {role:?} is not a warehouse reader (it is a superuser or igsync's own \
                 role): igsync does not drop it"
            )));
        }
        let sql = quoted(
            &mut tx,
            "SELECT format('DROP OWNED BY %1$I; DROP ROLE %1$I', $1::text)",
            &[role],
        )
        .await?;
        exec(&mut tx, &sql).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
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
