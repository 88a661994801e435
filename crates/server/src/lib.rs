//! `igsync serve`: the JSON API (with its OpenAPI document), the web dashboard, the queue
//! monitor, `/metrics`, `/healthz` and `/readyz`, on axum.
//!
//! This is the only crate that defines igsync's JSON and HTML shapes. It talks to the
//! database through the `store` trait only and must not depend on `sqlx` or a dialect crate.
