//! PostgreSQL integration tests: the whole store conformance suite (one fresh database per
//! case on the server of `DATABASE_URL`) plus PostgreSQL-specific tests.

mod fixture;
mod postgres;
mod warehouse;

store::conformance_suite!(crate::fixture::fixture);
