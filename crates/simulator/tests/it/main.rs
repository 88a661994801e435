//! Integration tests of the simulator over real HTTP.
