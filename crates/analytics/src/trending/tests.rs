//! Tests of the `trending` module.
use super::*;
