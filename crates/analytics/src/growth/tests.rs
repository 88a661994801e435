//! Tests of the `growth` module.
use super::*;
