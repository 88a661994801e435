//! Verifies a token before an account is registered: reads the profile (and, when an app is
//! configured, the token's expiry) so a typo fails now and not at the first sync.

use anyhow::bail;
use chrono::{DateTime, Utc};
use graph::{AccessToken, AccountRef};
use store::{AccountType, LoginKind, SecretString};

use crate::config::Config;

pub(crate) struct Verified {
    pub(crate) username: String,
    pub(crate) name: Option<String>,
    pub(crate) account_type: AccountType,
    pub(crate) token_expires_at: Option<DateTime<Utc>>,
}

pub(crate) async fn account(
    config: &Config,
    login: LoginKind,
    ig_user_id: &str,
    token: &SecretString,
) -> anyhow::Result<Verified> {
    let graph_login = match login {
        LoginKind::Facebook => graph::LoginKind::Facebook,
        LoginKind::Instagram => graph::LoginKind::Instagram,
    };
    let client = super::graph::client(config, graph_login)?;
    let account = AccountRef::new(ig_user_id, AccessToken::new(token.expose()));
    let profile = match client.profile(&account).await {
        Ok(p) => p,
        Err(e) if e.needs_reauth() => bail!(
            "Meta rejected the token for {ig_user_id} ({}): get a fresh long-lived token",
            e.label()
        ),
        Err(e) => bail!(
            "cannot read the profile of {ig_user_id} to verify the token: {e} (use --no-verify \
             to register without checking)"
        ),
    };
    let token_expires_at = if config.graph.app_id.is_some() {
        client
            .debug_token(&AccessToken::new(token.expose()))
            .await
            .ok()
            .and_then(|d| d.expires_at)
    } else {
        None
    };
    Ok(Verified {
        username: profile.username.unwrap_or_else(|| ig_user_id.to_string()),
        name: profile.name,
        account_type: AccountType::Unknown,
        token_expires_at,
    })
}
