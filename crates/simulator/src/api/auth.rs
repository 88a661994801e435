//! Token endpoints: the Facebook Login code exchange and long-lived exchange
//! (`/oauth/access_token`), the Instagram Login code exchange (`POST /oauth/access_token`,
//! api.instagram.com), short-to-long exchange (`/access_token?grant_type=ig_exchange_token`)
//! and refresh (`/refresh_access_token?grant_type=ig_refresh_token`, token ≥ 24 h old and
//! unexpired), and `/debug_token`.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{Auth, Params, meta_time};
use crate::error::ApiError;
use crate::login::AuthCode;
use crate::state::{Grant, SimState};
use crate::time::{DAY, HOUR};
use crate::world::LoginKind;

/// Lifetime of the short-lived Facebook user token a code exchange returns.
pub(crate) const FB_SHORT_LIFETIME: i64 = 90 * 60;
/// Lifetime of the short-lived Instagram token a code exchange returns.
pub(crate) const IG_SHORT_LIFETIME: i64 = HOUR;
/// Lifetime of long-lived tokens.
pub(crate) const LONG_LIFETIME: i64 = 60 * DAY;

/// Takes a code for `login`: checks the app, the redirect, single use and expiry.
fn take_code(
    st: &SimState,
    login: LoginKind,
    params: &Params,
    now: i64,
) -> Result<AuthCode, ApiError> {
    if params.get("client_id") != Some(st.app_id.as_str()) {
        return Err(ApiError::app_id_invalid());
    }
    if params.get("client_secret") != Some(st.app_secret.as_str()) {
        return Err(ApiError::client_secret_invalid());
    }
    let raw = params.get("code").unwrap_or("").trim();
    // Instagram appends `#_` to the redirect; a pasted code may still carry it.
    let code = raw.strip_suffix("#_").unwrap_or(raw);
    let mut m = st.write();
    let Some(c) = m.codes.get_mut(code).filter(|c| c.login == login) else {
        return Err(ApiError::code_invalid());
    };
    if c.used {
        return Err(ApiError::code_used());
    }
    if now >= c.expires_at {
        return Err(ApiError::code_expired());
    }
    if params.get("redirect_uri") != Some(c.redirect_uri.as_str()) {
        return Err(ApiError::code_redirect_mismatch());
    }
    c.used = true;
    Ok(c.clone())
}

/// `GET /oauth/access_token?client_id&client_secret&redirect_uri&code`: the dialog's code
/// for a short-lived user token of the login user.
fn fb_code_exchange(st: &SimState, params: &Params, now: i64) -> Result<(usize, Value), ApiError> {
    let code = take_code(st, LoginKind::Facebook, params, now)?;
    let user = &st.logins.facebook[code.who];
    let acct = user.accounts.first().copied().unwrap_or(0);
    let (token, expires_at) = st.mint_token(
        acct,
        LoginKind::Facebook,
        FB_SHORT_LIFETIME,
        Grant {
            user: Some(code.who),
            granted: code.granted,
            declined: code.declined,
            short_lived: true,
            bare_page: false,
        },
    );
    Ok((
        acct,
        json!({ "access_token": token, "token_type": "bearer", "expires_in": expires_at - now }),
    ))
}

/// `POST /oauth/access_token` (api.instagram.com, form body): the dialog's code for a
/// short-lived Instagram token. Errors use api.instagram.com's shape, not the Graph one.
pub(crate) fn ig_code_exchange(
    st: &SimState,
    params: &Params,
    now: i64,
) -> Result<(usize, Value), String> {
    if params.get("grant_type") != Some("authorization_code") {
        return Err("Invalid grant_type: must be authorization_code".to_owned());
    }
    let code = take_code(st, LoginKind::Instagram, params, now).map_err(|e| {
        match (e.code, e.subcode) {
            (101, _) => "Invalid platform app".to_owned(),
            (_, Some(36009)) => "This authorization code has been used".to_owned(),
            (_, Some(36007)) => "This authorization code has expired".to_owned(),
            (100, None) => "Invalid authorization code".to_owned(),
            _ => e.message.clone(),
        }
    })?;
    let acct = code.who;
    let permissions = code.granted.join(",");
    let (token, _) = st.mint_token(
        acct,
        LoginKind::Instagram,
        IG_SHORT_LIFETIME,
        Grant {
            user: None,
            granted: code.granted,
            declined: code.declined,
            short_lived: true,
            bare_page: false,
        },
    );
    Ok((
        acct,
        json!({ "data": [{
            "access_token": token,
            "user_id": st.world.accounts[acct].app_scoped_id,
            "permissions": permissions,
        }]}),
    ))
}

/// `GET /oauth/access_token`: a dialog code (`code`), or a user token to make long-lived
/// (`grant_type=fb_exchange_token&client_id&client_secret&fb_exchange_token`).
pub(crate) fn fb_exchange(
    st: &SimState,
    params: &Params,
    now: i64,
) -> Result<(usize, Value), ApiError> {
    if params.get("code").is_some()
        && matches!(params.get("grant_type"), None | Some("authorization_code"))
    {
        return fb_code_exchange(st, params, now);
    }
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
    let (token, expires_at) = match &rec.grant {
        // A login user's token stays theirs, with the same permissions.
        Some(g) => st.mint_token(rec.acct, LoginKind::Facebook, LONG_LIFETIME, long_lived(g)),
        None => st.issue_token(rec.acct, LoginKind::Facebook),
    };
    Ok((
        rec.acct,
        json!({ "access_token": token, "token_type": "bearer", "expires_in": expires_at - now }),
    ))
}

fn long_lived(g: &Arc<Grant>) -> Grant {
    Grant {
        short_lived: false,
        ..(**g).clone()
    }
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
        let short = auth
            .grant
            .as_ref()
            .filter(|g| g.short_lived && auth.login == LoginKind::Instagram);
        let Some(g) = short else {
            // Seeded and exchanged tokens are already long-lived.
            return Err(ApiError::param(
                "The access token is not a short-lived Instagram User access token; long-lived tokens are refreshed with /refresh_access_token",
            ));
        };
        if params.get("grant_type") != Some("ig_exchange_token") {
            return Err(ApiError::param(
                "The parameter grant_type must be ig_exchange_token",
            ));
        }
        if params.get("client_secret") != Some(st.app_secret.as_str()) {
            return Err(ApiError::client_secret_invalid());
        }
        let (token, expires_at) = st.mint_token(
            auth.acct,
            LoginKind::Instagram,
            LONG_LIFETIME,
            long_lived(g),
        );
        return Ok(
            json!({ "access_token": token, "token_type": "bearer", "expires_in": expires_at - now }),
        );
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
    let (token, expires_at) = match &rec.grant {
        Some(g) => st.mint_token(rec.acct, LoginKind::Instagram, LONG_LIFETIME, long_lived(g)),
        None => st.issue_token(rec.acct, LoginKind::Instagram),
    };
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
