//! End-to-end tests of the `igsync` binary: the command line, configuration, the demo, and
//! the reliability and security promises, against the simulator and real databases.

mod cli;
