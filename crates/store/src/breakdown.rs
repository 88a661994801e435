//! `Breakdown`: the part of a metric a value counts (`media_product_type` = `REEL`,
//! `action_type` = `BIO_LINK_CLICKED`, `hour` = `13`), where `None` is the metric's total.
//! The domain types carry `Option<Breakdown>`; the dialect crates alone turn it into the
//! stored columns (one `dimension:key` text for media and story insights, a `breakdown`
//! and a `key` column for account insight days, `''` for the total in both, so the unique
//! keys never see a NULL).

use std::fmt;

use crate::StoreError;

/// A breakdown of a metric: the dimension Meta split it by and the value's bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Breakdown {
    /// The dimension (`media_product_type`, `follow_type`, `action_type`, `hour`, …).
    pub dimension: String,
    /// The bucket of the dimension (`REEL`, `FOLLOWER`, `BIO_LINK_CLICKED`, `13`, …).
    pub key: String,
}

impl Breakdown {
    /// The breakdown `dimension` = `key`.
    pub fn new(dimension: impl Into<String>, key: impl Into<String>) -> Breakdown {
        Breakdown {
            dimension: dimension.into(),
            key: key.into(),
        }
    }

    /// Whether this is the breakdown `dimension` = `key`.
    pub fn is(&self, dimension: &str, key: &str) -> bool {
        self.dimension == dimension && self.key == key
    }

    /// The one-column form of an optional breakdown: `""` for the total, else
    /// `dimension:key`. For the dialect crates (insight snapshot and story final rows).
    pub fn to_column(breakdown: Option<&Breakdown>) -> String {
        breakdown.map(Breakdown::to_string).unwrap_or_default()
    }

    /// The inverse of [`Breakdown::to_column`]; a text that is neither empty nor
    /// `dimension:key` is an error naming it.
    pub fn from_column(column: &str) -> Result<Option<Breakdown>, StoreError> {
        if column.is_empty() {
            return Ok(None);
        }
        match column.split_once(':') {
            Some((dimension, key)) if !dimension.is_empty() => {
                Ok(Some(Breakdown::new(dimension, key)))
            }
            _ => Err(StoreError::Other {
                message: format!("stored breakdown {column:?} is not dimension:key"),
            }),
        }
    }

    /// The two-column form of an optional breakdown, `(dimension, key)`: `("", "")` for the
    /// total. For the dialect crates (account insight days).
    pub fn to_columns(breakdown: Option<&Breakdown>) -> (&str, &str) {
        breakdown.map_or(("", ""), |b| (b.dimension.as_str(), b.key.as_str()))
    }

    /// The inverse of [`Breakdown::to_columns`]: an empty dimension is the total.
    pub fn from_columns(dimension: String, key: String) -> Option<Breakdown> {
        (!dimension.is_empty()).then_some(Breakdown { dimension, key })
    }
}

impl fmt::Display for Breakdown {
    /// `dimension:key`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.dimension, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_stored_forms_round_trip() {
        let b = Breakdown::new("action_type", "BIO_LINK_CLICKED");
        assert_eq!(
            Breakdown::to_column(Some(&b)),
            "action_type:BIO_LINK_CLICKED"
        );
        assert_eq!(Breakdown::to_column(None), "");
        assert_eq!(
            Breakdown::from_column("action_type:BIO_LINK_CLICKED").unwrap(),
            Some(b.clone())
        );
        assert_eq!(Breakdown::from_column("").unwrap(), None);
        assert_eq!(
            Breakdown::to_columns(Some(&b)),
            ("action_type", "BIO_LINK_CLICKED")
        );
        assert_eq!(Breakdown::to_columns(None), ("", ""));
        assert_eq!(
            Breakdown::from_columns("action_type".into(), "BIO_LINK_CLICKED".into()),
            Some(b)
        );
        assert_eq!(Breakdown::from_columns(String::new(), String::new()), None);
        // A key may hold the separator; the dimension never does.
        assert_eq!(
            Breakdown::from_column("city:Paris: 75").unwrap(),
            Some(Breakdown::new("city", "Paris: 75"))
        );
    }

    #[test]
    fn a_column_that_is_not_dimension_key_is_an_error() {
        for bad in ["reach", ":REEL"] {
            let err = Breakdown::from_column(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{err}");
        }
    }
}
