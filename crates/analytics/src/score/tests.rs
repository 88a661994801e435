//! Tests of the `score` module.
use super::*;
