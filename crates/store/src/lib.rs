//! The storage seam: igsync's domain types, the [`Store`] trait both SQL dialects implement,
//! token encryption, and (behind the `testkit` feature) the conformance suite every dialect
//! must pass.
//!
//! `store` holds no SQL and must not depend on `sqlx`, `graph`, `sync` or `server`; it
//! depends only on `analytics` for the inputs the analytics functions take.
