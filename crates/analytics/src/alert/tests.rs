//! Tests of the `alert` module.
use super::*;
