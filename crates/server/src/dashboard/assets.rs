//! The dashboard's two static assets, compiled into the binary (`include_str!`) so the
//! dashboard needs no files on disk and nothing from the network.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use super::layout::PageError;
use crate::error::AppError;

/// The stylesheet (also inlined into saved HTML reports).
pub(crate) const CSS: &str = crate::report::html::CSS;
/// Live counts, bulk selection and confirmations.
pub(crate) const JS: &str = include_str!("../../assets/igsync.js");

/// `GET /assets/{file}`: public, cacheable for an hour.
pub(crate) async fn serve(Path(file): Path<String>) -> Result<Response, PageError> {
    let (body, content_type) = match file.as_str() {
        "igsync.css" => (CSS, "text/css; charset=utf-8"),
        "igsync.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return Err(AppError::not_found(format!("no asset named {file:?}")).into()),
    };
    Ok((
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response())
}
