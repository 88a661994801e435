//! `igsync keys`: API keys for the HTTP API and dashboard, and rotation of the secret key
//! that encrypts account tokens.

use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::Utc;
use store::{Cipher, SecretKey};

use crate::cli::KeysCommand;
use crate::config::Config;
use crate::db;

pub(crate) async fn run(cmd: KeysCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let store = db::open(&config.database_url).await?;
    match cmd {
        KeysCommand::Create { name } => {
            let (key, secret) = server::auth::create_api_key(&*store, &name, chrono::Utc::now())
                .await
                .map_err(|e| anyhow::anyhow!("cannot create the key: {e}"))?;
            println!("{}", secret.expose());
            eprintln!(
                "created API key {} ({}); it is shown only this once: store it now",
                key.id, key.name
            );
        }
        KeysCommand::List => {
            let keys = store.api_key_list().await?;
            if keys.is_empty() {
                println!("no API keys: create one with `igsync keys create --name NAME`");
            } else {
                println!(
                    "{:<18} {:<24} {:<17} {:<17} STATE",
                    "ID", "NAME", "CREATED (UTC)", "LAST USED"
                );
                for k in keys {
                    println!(
                        "{:<18} {:<24} {:<17} {:<17} {}",
                        k.id,
                        k.name,
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
