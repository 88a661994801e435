//! The lab behind `igsync bench`: the simulator in a child process, process figures (CPU
//! time, peak RSS), the databases under test, the charts, and one module per scenario. The
//! `analytics` needs none of them: it reads the simulator's series directly. The
//! command itself (`cmd/bench.rs`) only checks its arguments, runs the scenarios asked for
//! and writes their JSON.

mod analytics;
mod api;
mod chart;
mod day;
mod db;
mod export;
mod fleet;
mod ingest;
mod naive;
mod probe;
mod report;
mod sim;
mod webhooks;

pub(crate) use analytics::analytics_scenario;
pub(crate) use api::{api_scenario, load};
pub(crate) use day::day_scenario;
pub(crate) use export::export_scenario;
pub(crate) use fleet::sync_scenario;
pub(crate) use ingest::ingest_scenario;
pub(crate) use naive::naive_scenario;
pub(crate) use probe::machine;
pub(crate) use report::report_scenario;
pub(crate) use webhooks::webhooks_scenario;

use std::time::Duration;

fn secs(d: Duration) -> f64 {
    round2(d.as_secs_f64())
}
fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// p50 and p95 of some samples (sorted in place).
fn percentiles(samples: &mut [f64]) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: usize| samples[(samples.len() * q / 100).min(samples.len() - 1)];
    (at(50), at(95))
}
