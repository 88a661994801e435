//! Graph API versions the simulator serves (v21.0 to v26.0), with their release and expiry dates.
//!
//! A version is callable once released (by the simulated clock). A call to an expired version
//! is served by the oldest version still available, as Meta does, and the
//! `facebook-api-version` header says which version answered.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Graph API version between v21.0 and v26.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiVersion {
    /// v21.0, released 2 Oct 2024.
    V21,
    /// v22.0, released 21 Jan 2025.
    V22,
    /// v23.0, released 29 May 2025.
    V23,
    /// v24.0, released 8 Oct 2025.
    V24,
    /// v25.0, released 18 Feb 2026.
    V25,
    /// v26.0, released 29 Jul 2026.
    V26,
}

/// The error of parsing a version string that is not one of v21.0..=v26.0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Graph API version {0:?}: expected one of v21.0 to v26.0")]
pub struct UnknownVersion(pub String);

impl ApiVersion {
    /// Every version, oldest first.
    pub const ALL: [ApiVersion; 6] = [
        ApiVersion::V21,
        ApiVersion::V22,
        ApiVersion::V23,
        ApiVersion::V24,
        ApiVersion::V25,
        ApiVersion::V26,
    ];

    /// The major number (21 for v21.0).
    pub fn major(self) -> u32 {
        match self {
            ApiVersion::V21 => 21,
            ApiVersion::V22 => 22,
            ApiVersion::V23 => 23,
            ApiVersion::V24 => 24,
            ApiVersion::V25 => 25,
            ApiVersion::V26 => 26,
        }
    }

    /// The version as written in paths: `v22.0`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V21 => "v21.0",
            ApiVersion::V22 => "v22.0",
            ApiVersion::V23 => "v23.0",
            ApiVersion::V24 => "v24.0",
            ApiVersion::V25 => "v25.0",
            ApiVersion::V26 => "v26.0",
        }
    }

    /// The day Meta released the version.
    pub fn released(self) -> NaiveDate {
        let (y, m, d) = match self {
            ApiVersion::V21 => (2024, 10, 2),
            ApiVersion::V22 => (2025, 1, 21),
            ApiVersion::V23 => (2025, 5, 29),
            ApiVersion::V24 => (2025, 10, 8),
            ApiVersion::V25 => (2026, 2, 18),
            ApiVersion::V26 => (2026, 7, 29),
        };
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    /// The day the version stops being served (calls are upgraded from then on).
    pub fn expires(self) -> NaiveDate {
        let (y, m, d) = match self {
            ApiVersion::V21 => (2027, 1, 21),
            ApiVersion::V22 => (2027, 5, 20),
            ApiVersion::V23 => (2027, 10, 8),
            ApiVersion::V24 => (2028, 2, 18),
            ApiVersion::V25 => (2028, 7, 29),
            // Not announced in the reference: two years after release, like the others.
            ApiVersion::V26 => (2028, 12, 29),
        };
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    /// Whether the version had been released at `now`.
    pub fn is_released(self, now: DateTime<Utc>) -> bool {
        now.date_naive() >= self.released()
    }

    /// The version that actually serves a call made to `self` at `now`: `self` unless it has
    /// expired, in which case the oldest version still available.
    pub fn effective(self, now: DateTime<Utc>) -> ApiVersion {
        let today = now.date_naive();
        if today < self.expires() {
            return self;
        }
        ApiVersion::ALL
            .into_iter()
            .find(|v| today < v.expires())
            .unwrap_or(ApiVersion::V26)
    }

    /// The newest version released at `now` (v21.0 if none was).
    pub fn latest_at(now: DateTime<Utc>) -> ApiVersion {
        ApiVersion::ALL
            .into_iter()
            .rev()
            .find(|v| v.is_released(now))
            .unwrap_or(ApiVersion::V21)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiVersion {
    type Err = UnknownVersion;

    /// Parses `v22.0` (also `v22` and `22.0`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let t = t.strip_prefix('v').unwrap_or(t);
        let t = t.strip_suffix(".0").unwrap_or(t);
        let v = match t {
            "21" => ApiVersion::V21,
            "22" => ApiVersion::V22,
            "23" => ApiVersion::V23,
            "24" => ApiVersion::V24,
            "25" => ApiVersion::V25,
            "26" => ApiVersion::V26,
            _ => return Err(UnknownVersion(s.to_owned())),
        };
        Ok(v)
    }
}

impl Serialize for ApiVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ApiVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn parses_and_prints() {
        assert_eq!("v22.0".parse::<ApiVersion>().unwrap(), ApiVersion::V22);
        assert_eq!("v26".parse::<ApiVersion>().unwrap(), ApiVersion::V26);
        assert_eq!(ApiVersion::V21.to_string(), "v21.0");
        assert!("v20.0".parse::<ApiVersion>().is_err());
        assert!("banana".parse::<ApiVersion>().is_err());
    }

    #[test]
    fn expired_versions_are_served_by_the_oldest_available() {
        let before = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let after = Utc.with_ymd_and_hms(2027, 2, 1, 0, 0, 0).unwrap();
        assert_eq!(ApiVersion::V21.effective(before), ApiVersion::V21);
        assert_eq!(ApiVersion::V21.effective(after), ApiVersion::V22);
        assert!(!ApiVersion::V26.is_released(before));
        assert_eq!(ApiVersion::latest_at(before), ApiVersion::V25);
    }
}
