//! Integration tests of the sync engine on real databases (SQLite files and fresh PostgreSQL
//! databases) and, for the sync jobs, the Graph API simulator over real HTTP.

mod accounts;
mod chain;
mod competitors;
mod critical_path;
mod db;
mod deprecation;
mod e2e;
mod edges;
mod env;
mod failures;
mod herd;
mod job_args;
mod ops;
mod provenance;
mod queue;
mod report;
mod reports;
mod reread;
mod schedules;
mod scoped;
mod webhook;

pub(crate) use testsupport::both_dialects;
