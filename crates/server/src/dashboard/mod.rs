//! The server-rendered dashboard and queue monitor.

use axum::Router;

use crate::state::AppState;

/// The dashboard's routes, merged under `/` by [`crate::router`].
pub fn router() -> Router<AppState> {
    Router::new()
}
