//! Read-only report links for clients: `/share/{token}` shows one account's HTML report
//! (the last 30 days) and nothing else, with no sign-in, until the link expires or is
//! revoked.
//!
//! A token reads `igshare_<id>_<secret>`: `id` (16 hex characters) names the row, `secret`
//! is 32 random bytes; only the SHA-256 of the whole token is stored and compared in
//! constant time, as for API keys. Unknown or wrong tokens get one 404; an expired or
//! revoked link says so (410).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use store::{Account, SecretString, ShareLink, Store};
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::report::{ReportFormat, ReportSubject};
use crate::state::AppState;

/// Every share token starts with this.
pub const SHARE_PREFIX: &str = "igshare_";
/// The path of a link, before its token.
pub const SHARE_PATH: &str = "/share/";
/// The days a shared report covers, ending today.
pub const SHARED_DAYS: u32 = 30;

/// Why a link could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    #[error("a link must expire in the future")]
    Expired,
    #[error("the operating system's random number generator failed")]
    Random,
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// Creates a link to `account`'s report valid until `expires_at`; returns it and the token
/// (shown once).
pub async fn create_share_link(
    store: &dyn Store,
    account: &Account,
    expires_at: DateTime<Utc>,
    created_by: &str,
    now: DateTime<Utc>,
) -> Result<(ShareLink, SecretString), ShareError> {
    if expires_at <= now {
        return Err(ShareError::Expired);
    }
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut id).map_err(|_| ShareError::Random)?;
    getrandom::getrandom(&mut secret).map_err(|_| ShareError::Random)?;
    let id = hex::encode(id);
    let token = SecretString::new(format!("{SHARE_PREFIX}{id}_{}", hex::encode(secret)));
    let link = ShareLink {
        id,
        account_id: account.id,
        hash: digest_of(token.expose()),
        created_at: now,
        expires_at,
        revoked_at: None,
        created_by: created_by.to_owned(),
    };
    store.share_link_insert(link.clone()).await?;
    Ok((link, token))
}

fn digest_of(token: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(token.as_bytes())))
}

/// `GET /share/{token}`: the account's report as a standalone HTML page.
pub async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match shared_report(&state, &token).await {
        Ok(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::HeaderName::from_static("x-robots-tag"), "noindex"),
            ],
            html,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn shared_report(state: &AppState, token: &str) -> Result<String, AppError> {
    let unknown = || AppError::not_found("no such share link");
    let id = token
        .strip_prefix(SHARE_PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .map(|(id, _)| id)
        .filter(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(unknown)?;
    let link = state.store.share_link_get(id).await?.ok_or_else(unknown)?;
    let presented = digest_of(token);
    if !bool::from(presented.as_bytes().ct_eq(link.hash.as_bytes())) {
        return Err(unknown());
    }
    let now = state.clock.now();
    if let Some(at) = link.revoked_at {
        return Err(AppError::Gone(format!(
            "this link was revoked on {}",
            at.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    if link.expires_at <= now {
        return Err(AppError::Gone(format!(
            "this link expired on {}",
            link.expires_at.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    let account = state
        .store
        .account_get(link.account_id)
        .await?
        .ok_or_else(unknown)?;
    let tz = account.time_zone()?;
    let today = now.with_timezone(&tz).date_naive();
    let period = analytics::Period::ending_on(today, SHARED_DAYS)
        .map_err(|e| AppError::internal(e.to_string()))?;
    let report = sync::build_report(&*state.store, &account, period, now).await?;
    let subject = ReportSubject::from(&account);
    Ok(crate::report::render(&report, &subject, ReportFormat::Html))
}
