//! Token life cycle for both login flavours: exchanging a short-lived token for a long-lived
//! one, refreshing a long-lived token before it expires (with `expires_in` turned into an
//! `expires_at`), and `debug_token` checks.

use chrono::Duration;

use crate::client::{GraphClient, PathKind, Request};
use crate::config::LoginKind;
use crate::error::GraphError;
use crate::model::{TokenDebug, TokenInfo};
use crate::parse;
use crate::token::AccessToken;

impl GraphClient {
    pub(crate) fn token_info(
        &self,
        (token, token_type, expires_in): (String, Option<String>, Option<u64>),
    ) -> TokenInfo {
        let expires_at = expires_in.and_then(|s| {
            let secs = i64::try_from(s).ok()?;
            self.inner
                .cfg
                .clock
                .now()
                .checked_add_signed(Duration::try_seconds(secs)?)
        });
        TokenInfo {
            token: AccessToken::new(token),
            token_type,
            expires_in,
            expires_at,
        }
    }

    fn app_secret(&self) -> Result<String, GraphError> {
        self.inner
            .cfg
            .app_secret
            .as_ref()
            .map(|s| s.expose().to_owned())
            .ok_or_else(|| GraphError::InvalidRequest("this call needs the app secret".to_owned()))
    }

    /// Exchanges a short-lived token for a long-lived one (about 60 days). Facebook Login:
    /// `oauth/access_token?grant_type=fb_exchange_token` (needs the app id); Instagram Login:
    /// `access_token?grant_type=ig_exchange_token`. Needs the app secret.
    #[tracing::instrument(skip_all)]
    pub async fn exchange_token(&self, short_lived: &AccessToken) -> Result<TokenInfo, GraphError> {
        let secret = self.app_secret()?;
        if self.login() == LoginKind::Facebook && self.config().app_id().is_empty() {
            return Err(GraphError::InvalidRequest(
                "this call needs the app id".to_owned(),
            ));
        }
        let mut req = match self.login() {
            LoginKind::Facebook => Request::get("token", "oauth/access_token")
                .param("grant_type", "fb_exchange_token")
                .param("client_id", self.config().app_id())
                .param("client_secret", secret.clone())
                .param("fb_exchange_token", short_lived.expose()),
            LoginKind::Instagram => {
                let mut r = Request::get("token", "access_token")
                    .param("grant_type", "ig_exchange_token")
                    .param("client_secret", secret.clone())
                    .param("access_token", short_lived.expose());
                r.kind = PathKind::Unversioned;
                r
            }
        };
        req.secrets = vec![short_lived.expose()];
        let raw = self.call(&req, parse::token_info).await?;
        Ok(self.token_info(raw))
    }

    /// Refreshes a long-lived token. Instagram Login: `refresh_access_token?grant_type=
    /// ig_refresh_token` (the token must be at least 24 h old and unexpired; no app secret
    /// needed). Facebook Login: a new `fb_exchange_token` exchange of the current token
    /// (needs the app secret). An expired token cannot be refreshed: the error
    /// [`needs_reauth`](GraphError::needs_reauth).
    #[tracing::instrument(skip_all)]
    pub async fn refresh_token(&self, long_lived: &AccessToken) -> Result<TokenInfo, GraphError> {
        match self.login() {
            LoginKind::Facebook => self.exchange_token(long_lived).await,
            LoginKind::Instagram => {
                let mut req = Request::get("token", "refresh_access_token")
                    .param("grant_type", "ig_refresh_token")
                    .param("access_token", long_lived.expose());
                req.kind = PathKind::Unversioned;
                req.secrets = vec![long_lived.expose()];
                let raw = self.call(&req, parse::token_info).await?;
                Ok(self.token_info(raw))
            }
        }
    }

    /// Inspects a token with `debug_token` (validity, expiry, scopes). Uses the app access
    /// token (`app_id|app_secret`) when the app secret is configured, else the token itself.
    #[tracing::instrument(skip_all)]
    pub async fn debug_token(&self, token: &AccessToken) -> Result<TokenDebug, GraphError> {
        let app_id = self.config().app_id();
        let app_token = self
            .inner
            .cfg
            .app_secret
            .as_ref()
            .filter(|_| !app_id.is_empty())
            .map(|s| AccessToken::new(format!("{app_id}|{}", s.expose())));
        let mut req = Request::get("token", "debug_token").param("input_token", token.expose());
        req.token = Some(app_token.as_ref().unwrap_or(token));
        req.secrets = vec![token.expose()];
        self.call(&req, parse::debug_token).await
    }
}
