//! The login flows that connect an account: the dialog URL of Facebook Login for Business
//! (`www.facebook.com/v{N}/dialog/oauth`) and Business Login for Instagram
//! (`www.instagram.com/oauth/authorize`), the exchange of the dialog's code for a token
//! (`graph.facebook.com/v{N}/oauth/access_token`, `POST api.instagram.com/oauth/access_token`),
//! the permissions the person granted (`/me/permissions`) and the Pages with their
//! non-expiring Page tokens (`/me/accounts?fields=name,access_token,…`).

use reqwest::{Method, Url};

use crate::client::{GraphClient, PathKind, Request};
use crate::config::{LoginKind, MetaHost};
use crate::error::GraphError;
use crate::model::{DiscoveredAccount, TokenInfo};
use crate::parse;
use crate::token::AccessToken;

/// Permissions a login must be granted for igsync to read an account's analytics.
pub const fn required_scopes(login: LoginKind) -> &'static [&'static str] {
    match login {
        LoginKind::Facebook => &[
            "instagram_basic",
            "instagram_manage_insights",
            "pages_show_list",
            "pages_read_engagement",
        ],
        LoginKind::Instagram => &[
            "instagram_business_basic",
            "instagram_business_manage_insights",
        ],
    }
}

/// Permissions a login asks for: the required ones, and with Facebook Login
/// `business_management`, without which Pages a person reaches through a business portfolio
/// are not listed (optional: declining it hides only those Pages).
pub const fn requested_scopes(login: LoginKind) -> &'static [&'static str] {
    match login {
        LoginKind::Facebook => &[
            "instagram_basic",
            "instagram_manage_insights",
            "pages_show_list",
            "pages_read_engagement",
            "business_management",
        ],
        LoginKind::Instagram => required_scopes(login),
    }
}

/// What a login dialog is opened with.
#[derive(Debug, Clone)]
pub struct DialogRequest<'a> {
    /// Where Meta sends the person back (must be registered in the Meta app, and is sent
    /// again, identical, with the code exchange).
    pub redirect_uri: &'a str,
    /// The unguessable, single-use value Meta hands back with the code.
    pub state: &'a str,
    /// Ask again for permissions the person declined before (`auth_type=rerequest`).
    pub rerequest: bool,
}

/// A code exchanged for a short-lived token.
#[derive(Debug, Clone)]
pub struct CodeExchange {
    /// The short-lived token (about 1 hour).
    pub token: TokenInfo,
    /// Instagram Login: the permissions granted, as api.instagram.com lists them.
    pub permissions: Option<Vec<String>>,
}

/// One Instagram professional account a login reaches, with the token to read it with.
#[derive(Debug, Clone)]
pub struct ConnectedAccount {
    pub account: DiscoveredAccount,
    /// Facebook Login: the Page's token (derived from a long-lived user token it does not
    /// expire), when Meta returned one.
    pub page_token: Option<AccessToken>,
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl GraphClient {
    /// The login dialog's URL for this client's login flavour. Needs the app id.
    pub fn login_dialog_url(&self, req: &DialogRequest<'_>) -> Result<Url, GraphError> {
        let app_id = self.config().app_id();
        if app_id.is_empty() {
            return Err(GraphError::InvalidRequest(
                "the login dialog needs the app id".to_owned(),
            ));
        }
        let scope = requested_scopes(self.login()).join(",");
        let mut pairs = vec![
            ("client_id", app_id.to_owned()),
            ("redirect_uri", req.redirect_uri.to_owned()),
            ("response_type", "code".to_owned()),
            ("scope", scope),
            ("state", req.state.to_owned()),
        ];
        if req.rerequest {
            pairs.push(("auth_type", "rerequest".to_owned()));
        }
        let (host, path) = match self.login() {
            LoginKind::Facebook => (
                MetaHost::WwwFacebook,
                format!("{}/dialog/oauth", self.version()),
            ),
            LoginKind::Instagram => (MetaHost::WwwInstagram, "oauth/authorize".to_owned()),
        };
        let query = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let full = format!("{}{path}?{query}", self.config().host(host));
        Url::parse(&full).map_err(|e| GraphError::InvalidRequest(format!("dialog URL: {e}")))
    }

    /// Exchanges a dialog's code for a short-lived token. `redirect_uri` must be the
    /// dialog's. Needs the app id and secret. Facebook Login:
    /// `GET graph.facebook.com/v{N}/oauth/access_token`; Instagram Login:
    /// `POST api.instagram.com/oauth/access_token` (form body).
    #[tracing::instrument(skip_all)]
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<CodeExchange, GraphError> {
        let secret = self
            .inner
            .cfg
            .app_secret
            .as_ref()
            .map(|s| s.expose().to_owned())
            .ok_or_else(|| {
                GraphError::InvalidRequest("the code exchange needs the app secret".to_owned())
            })?;
        let app_id = self.config().app_id().to_owned();
        if app_id.is_empty() {
            return Err(GraphError::InvalidRequest(
                "the code exchange needs the app id".to_owned(),
            ));
        }
        // Instagram appends `#_` to its redirect; it is not part of the code.
        let code = code.trim();
        let code = code.strip_suffix("#_").unwrap_or(code);
        let mut req = match self.login() {
            LoginKind::Facebook => Request::get("token", "oauth/access_token")
                .param("client_id", app_id)
                .param("redirect_uri", redirect_uri)
                .param("client_secret", secret.clone())
                .param("code", code),
            LoginKind::Instagram => {
                let mut r = Request::get("token", "oauth/access_token");
                r.method = Method::POST;
                r.kind = PathKind::Host(MetaHost::ApiInstagram);
                r.form = Some(vec![
                    ("client_id", app_id),
                    ("client_secret", secret.clone()),
                    ("grant_type", "authorization_code".to_owned()),
                    ("redirect_uri", redirect_uri.to_owned()),
                    ("code", code.to_owned()),
                ]);
                r
            }
        };
        req.secrets = vec![code];
        let (raw, permissions) = self.call(&req, parse::code_exchange).await?;
        Ok(CodeExchange {
            token: self.token_info(raw),
            permissions,
        })
    }

    /// The permissions of a Facebook user token: `(name, granted)` for each one the person
    /// was asked for (`/me/permissions`).
    #[tracing::instrument(skip_all)]
    pub async fn permissions(
        &self,
        token: &AccessToken,
    ) -> Result<Vec<(String, bool)>, GraphError> {
        let mut req = Request::get("token", "me/permissions");
        req.token = Some(token);
        self.call(&req, parse::permissions).await
    }

    /// The Instagram professional accounts behind a Facebook user's Pages, each with its
    /// Page token (`/me/accounts?fields=name,access_token,instagram_business_account{id,username}`).
    /// Instagram Login: the token's own account (`/me?fields=user_id,username`), read with
    /// the token itself.
    #[tracing::instrument(skip_all)]
    pub async fn connected_accounts(
        &self,
        token: &AccessToken,
    ) -> Result<Vec<ConnectedAccount>, GraphError> {
        if self.login() == LoginKind::Instagram {
            return Ok(self
                .discover_accounts(token)
                .await?
                .into_iter()
                .map(|account| ConnectedAccount {
                    account,
                    page_token: None,
                })
                .collect());
        }
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..100 {
            let mut req = Request::get("accounts", "me/accounts")
                .param(
                    "fields",
                    "name,access_token,instagram_business_account{id,username}",
                )
                .param("limit", crate::reads::PAGE_SIZE.to_string());
            req.token = Some(token);
            if let Some(cursor) = &after {
                req = req.param("after", cursor.clone());
            }
            let (page, next) = self.call(&req, parse::pages_with_tokens).await?;
            out.extend(page.into_iter().map(|(account, t)| ConnectedAccount {
                account,
                page_token: t.map(AccessToken::new).filter(|t| !t.is_empty()),
            }));
            match next {
                Some(cursor) if after.as_deref() != Some(cursor.as_str()) => after = Some(cursor),
                _ => break,
            }
        }
        Ok(out)
    }
}
