//! Throughput of the simulator.
fn main() {}
