//! The server-rendered dashboard and queue monitor: sign-in with an API key, the overview
//! of accounts, an account's analytics, the queue monitor (live counts, persisted
//! throughput and wait/run-time percentiles, failed jobs with search and bulk actions, job
//! detail, workers, API usage against its budget), schedules and alerts, and connecting
//! accounts with Meta's login flows (`connect.rs`).
//!
//! Pages are plain HTML built here with every value escaped; the only assets are one
//! stylesheet and one small script (live counts, bulk selection, confirmations) served from
//! `/assets/`, so the dashboard works offline and under a `default-src 'self'` policy. Every
//! form posts with the session's CSRF token, checked by [`crate::auth::verify_csrf`].
//! Tokens and API keys never appear on a page.

mod account;
mod alerts;
mod assets;
mod competitors;
mod connect;
mod form;
mod layout;
mod login;
mod overview;
mod provenance;
mod queue;
mod schedules;
mod share;
mod webhooks;

use axum::Router;
use axum::routing::{get, post};

use crate::error::AppError;
use crate::state::AppState;

pub(crate) use connect::unavailable as connect_unavailable;

/// An error as the dashboard shows it: an HTML page with the error's status.
pub(crate) fn error_page(err: AppError) -> axum::response::Response {
    axum::response::IntoResponse::into_response(layout::PageError(err))
}

/// The dashboard's routes, merged under `/` by [`crate::router`].
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/", get(overview::page))
        .route("/accounts/{id}", get(account::page))
        .route("/accounts/{id}/sync", post(account::sync_now))
        .route("/accounts/{id}/share", post(share::create))
        .route("/accounts/{id}/shares/{sid}/revoke", post(share::revoke))
        .route("/connect", get(connect::choose))
        .route("/connect/start", get(connect::start))
        .route("/connect/callback", get(connect::callback))
        .route(
            "/connect/review/{id}",
            get(connect::review).post(connect::add_selected),
        )
        .route("/queue", get(queue::page))
        .route("/queue/live", get(queue::live))
        .route("/queue/bulk", post(queue::bulk))
        .route("/queue/jobs/{id}", get(queue::job_page))
        .route("/queue/jobs/{id}/{action}", post(queue::job_action))
        .route("/schedules", get(schedules::page))
        .route("/schedules/{name}/{action}", post(schedules::action))
        .route("/alerts", get(alerts::page))
        .route("/competitors", get(competitors::page))
        .route("/alerts/{id}/ack", post(alerts::ack))
        .route("/assets/{file}", get(assets::serve))
        .route("/share/{token}", get(crate::share::page))
}
