//! `igsync warehouse`: the Fivetran-compatible views of a PostgreSQL database (kept current
//! by `igsync migrate`) and the read-only role that analytics tools connect as.

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::{Context, bail};
use store_postgres::PostgresStore;

use crate::cli::WarehouseCommand;
use crate::config::{Config, redact_url};

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

async fn connect(config: &Config) -> anyhow::Result<PostgresStore> {
    Ok(PostgresStore::connect(&config.database_url).await?)
}

/// Creates or updates the warehouse views on PostgreSQL; returns their schema. SQLite has
/// no warehouse schema: `None`.
pub(crate) async fn ensure_views(config: &Config) -> anyhow::Result<Option<String>> {
    if !is_postgres(&config.database_url) {
        return Ok(None);
    }
    let store = connect(config).await?;
    store
        .warehouse_views(&config.warehouse_schema)
        .await
        .with_context(|| {
            format!(
                "cannot create the warehouse views in schema {} of {}",
                config.warehouse_schema,
                redact_url(&config.database_url)
            )
        })?;
    Ok(Some(config.warehouse_schema.clone()))
}

fn require_postgres(config: &Config) -> anyhow::Result<()> {
    if !is_postgres(&config.database_url) {
        bail!(
            "the warehouse views exist on PostgreSQL only; {} is not a PostgreSQL database",
            redact_url(&config.database_url)
        );
    }
    Ok(())
}

pub(crate) async fn run(cmd: WarehouseCommand, config: &Config) -> anyhow::Result<ExitCode> {
    require_postgres(config)?;
    match cmd {
        WarehouseCommand::Revoke { role } => {
            let store = connect(config).await?;
            let existed = store
                .warehouse_revoke(&role)
                .await
                .with_context(|| format!("cannot drop role {role}"))?;
            if existed {
                println!("dropped role {role}");
            } else {
                println!("role {role} does not exist: nothing to drop");
            }
            Ok(ExitCode::SUCCESS)
        }
        WarehouseCommand::Grant {
            role,
            password_stdin,
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .context("cannot read the password from stdin")?;
                let line = line.trim_end_matches(['\r', '\n']).to_string();
                if line.is_empty() {
                    bail!("--password-stdin: standard input held no password");
                }
                Some(line)
            } else {
                None
            };
            let store = connect(config).await?;
            let created = store
                .warehouse_grant(&config.warehouse_schema, &role, password.as_deref())
                .await
                .with_context(|| format!("cannot grant the warehouse views to role {role}"))?;
            println!(
                "{} role {role}: it can read the views of schema {} and none of igsync's tables",
                if created { "created" } else { "updated" },
                config.warehouse_schema
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
