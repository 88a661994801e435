//! The [`store::Store`] on PostgreSQL, where any number of workers share one database and
//! one queue: its schema, migrations and SQL.
//!
//! SQL lives only here and in `store-sqlite`. This crate must not depend on `store-sqlite`,
//! `sync` or `server`.
