//! The JSON API under `/api/v1`: one module per resource, each exposing
//! `fn router() -> Router<AppState>`, merged here. Every handler validates its input and
//! answers with [`crate::AppError`] on failure.

pub mod accounts;

use axum::Router;

use crate::state::AppState;

/// All `/api/v1` routes (nested under `/api/v1` by [`crate::router`], behind auth).
pub fn router() -> Router<AppState> {
    Router::new().merge(accounts::router())
}
