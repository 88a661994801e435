//! Analytics of one account: everything `igsync report` offers, as JSON (every figure with
//! its definition key) or CSV, over `from`/`to` dates or the last `days` days.

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
