//! The server's one integration-test binary: the application served over real HTTP on port
//! 0, a fresh SQLite database per test and the Graph API simulator behind the sync engine.

mod access;
mod api;
mod bench;
mod browser;
mod competitors;
mod connect;
mod dashboard;
mod hardening;
mod missing;
mod openapi;
mod report;
mod support;
mod webhooks;
mod workspaces;
