//! Tests of the `best_time` module.
use super::*;
