//! `Figure`: one number with its definition key, unit and an explanation when it is missing
//! or needs a caveat. Every figure in a report is one of these (or a typed field of one).

use crate::definition::{Definition, Unit};

/// One computed number and what it means.
///
/// `value` is `None` when the number cannot be computed honestly (a missing metric, a zero
/// denominator, too little history); `note` then says why. Values are always finite.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Stable key of the figure's definition (see [`crate::definition()`]).
    pub key: &'static str,
    /// The value, finite when present.
    pub value: Option<f64>,
    /// Unit of the value.
    pub unit: Unit,
    /// Why the value is missing, or a caveat about how it was obtained.
    pub note: Option<String>,
}

impl Figure {
    /// A figure of the given definition. Non-finite values become `None`.
    pub fn new(definition: &'static Definition, value: Option<f64>) -> Figure {
        let value = value.filter(|it| it.is_finite());
        Figure {
            key: definition.key,
            value,
            unit: definition.unit,
            note: None,
        }
    }

    /// A figure without a value, with the reason.
    pub fn missing(definition: &'static Definition, why: impl Into<String>) -> Figure {
        Figure::new(definition, None).with_note(why)
    }

    /// Adds (or replaces) the note.
    pub fn with_note(mut self, note: impl Into<String>) -> Figure {
        self.note = Some(note.into());
        self
    }

    /// Adds the note only when `note` is `Some`.
    pub fn with_optional_note(mut self, note: Option<String>) -> Figure {
        if note.is_some() {
            self.note = note;
        }
        self
    }

    /// The definition this figure refers to.
    pub fn definition(&self) -> Option<&'static Definition> {
        crate::definition::definition(self.key)
    }
}
