//! The `igsync` binary: command line, configuration, telemetry and wiring.

fn main() {
    println!("igsync");
}
