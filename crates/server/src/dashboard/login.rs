//! Signing in to the dashboard with an API key (which becomes an HttpOnly, SameSite=Strict
//! session cookie; the key itself is never stored in the browser or shown again) and
//! signing out.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::IntoResponse;

use super::form::FormData;
use super::layout::{Page, PageResult, render, render_with_status, see_other};
use crate::auth::{RequireSession, end_session, session_from_headers, start_session, verify_csrf};
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
pub(crate) async fn submit(State(state): State<AppState>, body: Bytes) -> PageResult {
    let form = FormData::parse(&body)?;
    let Some(key) = form.get("key") else {
        return Ok(login_page(
            StatusCode::BAD_REQUEST,
            Some("Enter an API key."),
        ));
    };
    match start_session(&state, key).await {
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
        Err(other) => Err(other.into()),
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
