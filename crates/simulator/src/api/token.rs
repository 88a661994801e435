//! The token of a call: its validation (present, known, unexpired, a well-formed
//! `appsecret_proof`) and the scopes a minted token's grant must hold.

use std::sync::Arc;

use super::Params;
use crate::error::ApiError;
use crate::state::{Grant, SimState};
use crate::world::LoginKind;

/// What a call needs from a minted token, per login kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Profile, media and stories.
    Basic,
    /// Insights.
    Insights,
    /// Comments and mentions webhooks.
    Comments,
    /// Listing Pages (Facebook Login).
    Pages,
}

impl Scope {
    pub(crate) fn name(self, login: LoginKind) -> &'static str {
        match (self, login) {
            (Scope::Basic, LoginKind::Facebook) => "instagram_basic",
            (Scope::Basic, LoginKind::Instagram) => "instagram_business_basic",
            (Scope::Insights, LoginKind::Facebook) => "instagram_manage_insights",
            (Scope::Insights, LoginKind::Instagram) => "instagram_business_manage_insights",
            (Scope::Comments, LoginKind::Facebook) => "instagram_manage_comments",
            (Scope::Comments, LoginKind::Instagram) => "instagram_business_manage_comments",
            (Scope::Pages, _) => "pages_show_list",
        }
    }
}

/// A validated token.
pub(crate) struct Auth {
    pub(super) acct: usize,
    pub(super) login: LoginKind,
    pub(super) token: String,
    pub(super) grant: Option<Arc<Grant>>,
}

pub(super) fn authenticate(
    st: &SimState,
    token: Option<&str>,
    params: &Params,
    now: i64,
) -> Result<Auth, ApiError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(ApiError::token_required());
    };
    if let Some(proof) = params.get("appsecret_proof")
        && (proof.len() != 64 || !proof.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(ApiError::param(
            "Invalid appsecret_proof provided in the API argument",
        ));
    }
    let Some(rec) = st.token(token) else {
        return Err(ApiError::token_invalid());
    };
    if let Some(exp) = rec.expires_at
        && exp <= now
    {
        return Err(ApiError::token_expired(&meta_time(exp), &meta_time(now)));
    }
    Ok(Auth {
        acct: rec.acct,
        login: rec.login,
        token: token.to_owned(),
        grant: rec.grant,
    })
}

/// Meta's wording of times in token errors: `Tuesday, 01-Jul-25 10:00:00 PDT`.
pub(crate) fn meta_time(ts: i64) -> String {
    crate::time::to_utc(ts)
        .with_timezone(&chrono_tz::America::Los_Angeles)
        .format("%A, %d-%b-%y %H:%M:%S %Z")
        .to_string()
}
