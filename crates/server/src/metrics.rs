//! `/metrics`: Prometheus text exposition (format 0.0.4) of the queue, the Graph API usage and
//! the accounts' sync state. Never a token or key.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::error::AppResult;
use crate::state::AppState;

/// `GET /metrics`.
pub async fn exposition(State(state): State<AppState>) -> AppResult<impl IntoResponse> {
    let accounts = state.store.account_list().await?;
    let mut out = String::new();
    out.push_str("# HELP igsync_accounts Accounts by sync status.\n# TYPE igsync_accounts gauge\n");
    for status in store::SyncStatus::ALL {
        let n = accounts.iter().filter(|a| a.status == status).count();
        out.push_str(&format!(
            "igsync_accounts{{status=\"{}\"}} {n}\n",
            status.as_str()
        ));
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    ))
}
