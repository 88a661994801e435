//! `igsync keys`: API keys for the HTTP API and dashboard, and rotation of the secret key
//! that encrypts account tokens.

use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::Utc;
use store::{Cipher, Role, SecretKey};

use crate::cli::KeysCommand;
use crate::cmd::workspaces;
use crate::config::Config;
use crate::db;

pub(crate) async fn run(cmd: KeysCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let store = db::open(&config.database_url).await?;
    match cmd {
        KeysCommand::Create {
            name,
            workspace,
            role,
        } => {
            let role = Role::parse(&role).context("--role must be viewer, operator or admin")?;
            let workspace = match workspace {
                Some(w) => Some(workspaces::find(&store, &w).await?),
                None => None,
            };
            let (key, secret) = server::auth::create_scoped_api_key(
                &*store,
                &name,
                workspace.as_ref().map(|w| w.id),
                role,
                Utc::now(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot create the key: {e}"))?;
            workspaces::record(&*store, "keys create", Some(key.id.clone())).await;
            println!("{}", secret.expose());
            eprintln!(
                "created API key {} ({}, {} of {}); it is shown only this once: store it now",
                key.id,
                key.name,
                key.role,
                workspace.map_or_else(
                    || "every workspace".to_owned(),
                    |w| format!("workspace {}", w.name)
                )
            );
        }
        KeysCommand::List => {
            let keys = store.api_key_list().await?;
            if keys.is_empty() {
                println!("no API keys: create one with `igsync keys create --name NAME`");
            } else {
                let names: std::collections::HashMap<i64, String> = store
                    .workspace_list()
                    .await?
                    .into_iter()
                    .map(|w| (w.id, w.name))
                    .collect();
                println!(
                    "{:<18} {:<24} {:<9} {:<16} {:<17} {:<17} STATE",
                    "ID", "NAME", "ROLE", "WORKSPACE", "CREATED (UTC)", "LAST USED"
                );
                for k in keys {
                    println!(
                        "{:<18} {:<24} {:<9} {:<16} {:<17} {:<17} {}",
                        k.id,
                        k.name,
                        k.role.as_str(),
                        k.workspace_id.map_or_else(
                            || "all".to_owned(),
                            |id| names.get(&id).cloned().unwrap_or_else(|| id.to_string())
                        ),
                        k.created_at.format("%Y-%m-%d %H:%M"),
                        k.last_used_at
                            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                            .unwrap_or_else(|| "never".into()),
                        if k.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        }
                    );
                }
            }
        }
        KeysCommand::Revoke { id } => {
            if store.api_key_revoke(id.trim(), Utc::now()).await? {
                workspaces::record(&*store, "keys revoke", Some(id.trim().to_owned())).await;
                println!("revoked API key {id}");
            } else {
                bail!("no API key with id {id:?} (see `igsync keys list`)");
            }
        }
        KeysCommand::RotateSecret { new_key } => {
            let old = db::cipher(config, &store).await?;
            let (new_key, generated) = match new_key {
                Some(hex) => (SecretKey::from_hex(&hex).context("--new-key")?, false),
                None => (SecretKey::generate()?, true),
            };
            let n = store
                .account_tokens_reencrypt(&old, &Cipher::new(&new_key))
                .await
                .context("rotation failed; every token is still encrypted with the old key")?;
            if generated {
                println!("{}", new_key.to_hex().expose());
            }
            eprintln!(
                "re-encrypted {n} account token(s) in one transaction; set IGSYNC_SECRET_KEY to the \
                 new key{} before the next start",
                if generated { " printed above" } else { "" }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
