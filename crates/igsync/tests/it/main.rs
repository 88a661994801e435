//! End-to-end tests of the `igsync` binary: the command line, configuration, the demo, and
//! the reliability and security promises of DESIGN.md, against the Graph API simulator and
//! real databases. Slow variants (more kills, longer outages, a million fuzz cases) run with
//! `IGSYNC_SLOW_TESTS=1`; each writes its figures to `target/tmp/reliability/`.

mod api;
mod bench_day;
mod cli;
mod clock;
mod competitors;
mod connect;
mod conventions;
mod dbcopy;
mod demo;
mod disk;
mod export;
mod faults;
mod fuzz;
mod kill;
mod outage;
mod reports;
mod retrying;
mod scoped;
mod security;
mod support;
mod truth;
mod warehouse;
mod workspaces;

pub(crate) use testsupport::both_dialects;
