//! The [`store::Store`] on embedded SQLite: its schema, migrations and SQL.
//!
//! SQL lives only here and in `store-postgres`. This crate must not depend on
//! `store-postgres`, `sync` or `server`.
