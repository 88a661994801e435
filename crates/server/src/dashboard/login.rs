//! Signing in to the dashboard with an API key (which becomes an HttpOnly, SameSite=Strict
//! session cookie; the key itself is never stored in the browser or shown again) and
//! signing out.
//!
//! A sign-in posted from another site is refused (403): a browser says where a form comes
//! from in `Sec-Fetch-Site` and `Origin`, and a page elsewhere must not sign a visitor in to
//! a session of its choosing. Failed sign-ins are throttled like failed API keys, per client
//! and per key id (429 with `Retry-After`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::header::{HOST, ORIGIN, RETRY_AFTER, SET_COOKIE};
use axum::response::IntoResponse;

use super::form::FormData;
use super::layout::{Page, PageResult, render, render_with_status, see_other};
use crate::auth::{
    Client, RequireSession, end_session, session_from_headers, start_session, verify_csrf,
};
use crate::charts::escape;
use crate::error::AppError;
use crate::state::AppState;

fn login_page(status: StatusCode, error: Option<&str>) -> axum::response::Response {
    let error = error
        .map(|e| {
            format!(
                "<div class=\"flash error\" role=\"alert\">{}</div>",
                escape(e)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<div class=\"panel login\"><h1>igsync</h1><p class=\"sub\">Sign in with an API key \
         (create one with <code>igsync keys create --name NAME</code>).</p>{error}\
         <form method=\"post\" action=\"/login\"><label for=\"key\">API key</label>\
         <input type=\"password\" id=\"key\" name=\"key\" autocomplete=\"off\" required placeholder=\"igs_…\">\
         <button type=\"submit\" class=\"primary\">Sign in</button></form></div>"
    );
    let page = Page {
        title: "Sign in".to_owned(),
        nav: None,
        csrf: None,
        flash: None,
        live_src: None,
        body,
    };
    if status == StatusCode::OK {
        render(page)
    } else {
        render_with_status(status, page)
    }
}

/// `GET /login`: the sign-in form (or the overview when already signed in).
pub(crate) async fn form(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    if session_from_headers(&state, &headers).await?.is_some() {
        return Ok(see_other("/"));
    }
    Ok(login_page(StatusCode::OK, None))
}

/// `POST /login`: verifies the key and starts a session.
pub(crate) async fn submit(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    if let Err(why) = same_origin(&headers) {
        tracing::warn!(why, "a cross-site sign-in was refused");
        return Ok(login_page(
            StatusCode::FORBIDDEN,
            Some("Sign in from igsync's own sign-in page."),
        ));
    }
    let form = FormData::parse(&body)?;
    let Some(key) = form.get("key") else {
        return Ok(login_page(
            StatusCode::BAD_REQUEST,
            Some("Enter an API key."),
        ));
    };
    match start_session(&state, key, client).await {
        Ok(started) => {
            let mut res = see_other("/");
            res.headers_mut().insert(SET_COOKIE, started.set_cookie);
            Ok(res)
        }
        Err(AppError::Unauthorized(message)) => {
            let message = if message.contains("revoked") {
                "This API key has been revoked."
            } else {
                "That API key is not valid."
            };
            Ok(login_page(StatusCode::UNAUTHORIZED, Some(message)))
        }
        Err(AppError::TooManyRequests { retry_after }) => {
            let secs = crate::throttle::retry_after_secs(retry_after);
            let mut res = login_page(
                StatusCode::TOO_MANY_REQUESTS,
                Some(&format!(
                    "Too many failed sign-ins. Try again in {secs} seconds."
                )),
            );
            res.headers_mut().insert(RETRY_AFTER, secs.into());
            Ok(res)
        }
        Err(other) => Err(other.into()),
    }
}

/// Whether a sign-in comes from this site's own page, as far as the browser says. Browsers
/// with Fetch Metadata (every current one) send `Sec-Fetch-Site`, which alone decides:
/// `same-origin`, or `none` (typed or bookmarked), passes. Otherwise an `Origin` naming
/// another host than the request's `Host` is refused. `Origin: null` cannot be told apart
/// (the dashboard's `Referrer-Policy: no-referrer` makes a browser send it for its own
/// forms), and clients that send neither header (command-line tools, not browsers) cannot be
/// led by another site: both pass.
fn same_origin(headers: &HeaderMap) -> Result<(), &'static str> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.to_str().map(str::to_ascii_lowercase).as_deref() {
            Ok("same-origin" | "none") => Ok(()),
            _ => Err("Sec-Fetch-Site is not same-origin"),
        };
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().map_err(|_| "Origin is not text")?;
    if origin == "null" {
        return Ok(());
    }
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'))
        .ok_or("Origin has no scheme")?;
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or("Origin without Host")?;
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err("Origin names another host")
    }
}

/// `POST /logout`: ends the session and clears the cookie.
pub(crate) async fn logout(
    State(state): State<AppState>,
    RequireSession(session): RequireSession,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let form = FormData::parse(&body)?;
    verify_csrf(&session, form.get("csrf"))?;
    let clear = end_session(&state, &headers).await?;
    let mut res = see_other("/login");
    res.headers_mut().insert(SET_COOKIE, clear);
    Ok(res.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, value.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_same_origin_sign_ins_pass() {
        let host = ("host", "igsync.example:8080");
        for ok in [
            vec![host],
            vec![host, ("sec-fetch-site", "same-origin")],
            vec![host, ("sec-fetch-site", "none")],
            // What Chromium sends for the dashboard's own form (no-referrer policy).
            vec![host, ("sec-fetch-site", "same-origin"), ("origin", "null")],
            vec![host, ("origin", "http://igsync.example:8080")],
            vec![host, ("origin", "https://IGSYNC.example:8080")],
            vec![host, ("origin", "null")],
        ] {
            assert_eq!(same_origin(&headers(&ok)), Ok(()), "{ok:?}");
        }
        for refused in [
            vec![host, ("sec-fetch-site", "cross-site")],
            vec![host, ("sec-fetch-site", "same-site")],
            vec![
                host,
                ("sec-fetch-site", "cross-site"),
                ("origin", "http://igsync.example:8080"),
            ],
            vec![host, ("origin", "https://evil.example")],
            vec![host, ("origin", "http://igsync.example:8081")],
            vec![("origin", "http://igsync.example:8080")],
        ] {
            assert!(same_origin(&headers(&refused)).is_err(), "{refused:?}");
        }
    }
}
