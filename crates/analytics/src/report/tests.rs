//! Tests of the `report` module.
use super::*;
