//! Token endpoints: the Facebook Login exchange (`/oauth/access_token?grant_type=
//! fb_exchange_token`), the Instagram Login refresh (`/refresh_access_token?grant_type=
//! ig_refresh_token`, token ≥ 24 h old and unexpired) and `/debug_token`.

use serde_json::{Value, json};

use super::{Auth, Params, meta_time};
use crate::error::ApiError;
use crate::state::SimState;
use crate::time::{DAY, HOUR};
use crate::world::LoginKind;

/// `GET /oauth/access_token?grant_type=fb_exchange_token&client_id&client_secret&fb_exchange_token`.
pub(crate) fn fb_exchange(
    st: &SimState,
    params: &Params,
    now: i64,
) -> Result<(usize, Value), ApiError> {
    if params.get("grant_type") != Some("fb_exchange_token") {
        return Err(ApiError::param(
            "The parameter grant_type must be fb_exchange_token",
        ));
    }
    if params.get("client_id").is_none_or(str::is_empty) {
        return Err(ApiError::param("Missing client_id parameter."));
    }
    if params.get("client_secret").is_none_or(str::is_empty) {
        return Err(ApiError::param("Missing client_secret parameter."));
    }
    let Some(old) = params.get("fb_exchange_token").filter(|t| !t.is_empty()) else {
        return Err(ApiError::param("Missing fb_exchange_token parameter."));
    };
    let rec = match st.token(old) {
        Some(r) if r.login == LoginKind::Facebook && !r.page => r,
        _ => return Err(ApiError::token_invalid()),
    };
    if let Some(exp) = rec.expires_at
        && exp <= now
    {
        return Err(ApiError::token_expired(&meta_time(exp), &meta_time(now)));
    }
    let (token, expires_at) = st.issue_token(rec.acct, LoginKind::Facebook);
    Ok((
        rec.acct,
        json!({ "access_token": token, "token_type": "bearer", "expires_in": expires_at - now }),
    ))
}

/// `GET /refresh_access_token?grant_type=ig_refresh_token&access_token=...` (and the
/// short-lived exchange `/access_token`, which no simulated token qualifies for).
pub(crate) fn ig_refresh(
    st: &SimState,
    auth: &Auth,
    params: &Params,
    now: i64,
    exchange: bool,
) -> Result<Value, ApiError> {
    if exchange {
        // Every simulated token is already long-lived.
        return Err(ApiError::param(
            "The access token is not a short-lived Instagram User access token; long-lived tokens are refreshed with /refresh_access_token",
        ));
    }
    if params.get("grant_type") != Some("ig_refresh_token") {
        return Err(ApiError::param(
            "The parameter grant_type must be ig_refresh_token",
        ));
    }
    let rec = st.token(&auth.token).ok_or_else(ApiError::token_invalid)?;
    if auth.login != LoginKind::Instagram {
        return Err(ApiError::token_invalid());
    }
    if now - rec.issued_at < 24 * HOUR {
        return Err(ApiError::param(
            "The access token must be at least 24 hours old before it can be refreshed",
        ));
    }
    let (token, expires_at) = st.issue_token(rec.acct, LoginKind::Instagram);
    Ok(json!({ "access_token": token, "token_type": "bearer", "expires_in": expires_at - now }))
}

/// The scopes of the seeded tokens (every permission the login kind needs).
pub(crate) fn seeded_scopes(login: LoginKind) -> &'static [&'static str] {
    match login {
        LoginKind::Facebook => &[
            "instagram_basic",
            "instagram_manage_insights",
            "pages_read_engagement",
            "pages_show_list",
            "business_management",
        ],
        LoginKind::Instagram => &[
            "instagram_business_basic",
            "instagram_business_manage_insights",
        ],
    }
}

/// `GET /debug_token?input_token=...&access_token=<app token or user token>`.
pub(crate) fn debug_token(
    st: &SimState,
    token: Option<&str>,
    params: &Params,
    now: i64,
) -> Result<(Option<usize>, Value), ApiError> {
    let Some(caller) = token.filter(|t| !t.is_empty()) else {
        return Err(ApiError::token_required());
    };
    let app_token = caller.split_once('|').is_some_and(|(id, secret)| {
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !secret.is_empty()
    });
    if !app_token {
        match st.token(caller) {
            Some(r) if r.expires_at.is_none_or(|e| e > now) => {}
            Some(r) => {
                let exp = r.expires_at.unwrap_or(now);
                return Err(ApiError::token_expired(&meta_time(exp), &meta_time(now)));
            }
            None => return Err(ApiError::token_invalid()),
        }
    }
    let Some(input) = params.get("input_token").filter(|t| !t.is_empty()) else {
        return Err(ApiError::param("The parameter input_token is required"));
    };
    let Some(rec) = st.token(input) else {
        return Ok((
            None,
            json!({ "data": {
                "is_valid": false,
                "error": { "code": 190, "message": "Invalid OAuth access token - Cannot parse access token", "subcode": 467 },
                "scopes": [],
            }}),
        ));
    };
    let a = &st.world.accounts[rec.acct];
    let fb_user = rec.grant.as_ref().and_then(|g| g.user);
    let scopes: Vec<String> = match &rec.grant {
        Some(g) => g.granted.clone(),
        None => seeded_scopes(rec.login)
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    };
    // Which objects each scope reaches: the user's Pages for Page scopes, their Instagram
    // accounts for Instagram scopes.
    let (pages, igs): (Vec<String>, Vec<String>) = match (rec.login, fb_user) {
        (LoginKind::Facebook, Some(u)) => {
            let user = &st.logins.facebook[u];
            let mut pages: Vec<String> = user
                .accounts
                .iter()
                .map(|x| st.world.accounts[*x].page_id.clone())
                .collect();
            pages.extend(user.bare_page.iter().map(|p| p.id.clone()));
            let igs = user
                .accounts
                .iter()
                .map(|x| st.world.accounts[*x].ig_user_id.clone())
                .collect();
            (pages, igs)
        }
        (LoginKind::Facebook, None) => (vec![a.page_id.clone()], vec![a.page_id.clone()]),
        (LoginKind::Instagram, _) => (vec![], vec![a.ig_user_id.clone()]),
    };
    let granular: Vec<Value> = scopes
        .iter()
        .map(|s| {
            let targets = if s.starts_with("pages_") || s == "business_management" {
                &pages
            } else {
                &igs
            };
            json!({ "scope": s, "target_ids": targets })
        })
        .collect();
    let valid = rec.expires_at.is_none_or(|e| e > now);
    let user_id = match (rec.login, fb_user) {
        (LoginKind::Facebook, Some(u)) => st.logins.facebook[u].id.clone(),
        (LoginKind::Facebook, None) => a.fb_user_id.clone(),
        (LoginKind::Instagram, _) => a.ig_user_id.clone(),
    };
    let mut data = json!({
        "app_id": st.app_id,
        "type": if rec.page { "PAGE" } else { "USER" },
        "application": "igsync simulator",
        "data_access_expires_at": rec.issued_at + 90 * DAY,
        "expires_at": rec.expires_at.unwrap_or(0),
        "is_valid": valid,
        "issued_at": rec.issued_at,
        "scopes": scopes,
        "granular_scopes": granular,
        "user_id": user_id,
    });
    if rec.page {
        let bare = rec
            .grant
            .as_ref()
            .filter(|g| g.bare_page)
            .and_then(|g| g.user)
            .and_then(|u| st.logins.facebook[u].bare_page.as_ref())
            .map(|p| p.id.clone());
        data["profile_id"] = json!(bare.unwrap_or_else(|| a.page_id.clone()));
    }
    if !valid {
        let exp = rec.expires_at.unwrap_or(now);
        data["error"] = json!({
            "code": 190,
            "message": format!("Error validating access token: Session has expired on {}. The current time is {}.", meta_time(exp), meta_time(now)),
            "subcode": 463,
        });
    }
    Ok((Some(rec.acct), json!({ "data": data })))
}
