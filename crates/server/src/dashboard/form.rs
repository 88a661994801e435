//! `application/x-www-form-urlencoded` bodies and query strings as a list of pairs, so a
//! field may repeat (the job checkboxes post `ids=1&ids=2`), plus the typed reads the
//! dashboard's forms need. Malformed input becomes a 400, never a panic.

use axum::body::Bytes;

use crate::error::AppError;

/// Decoded `name=value` pairs in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FormData {
    pairs: Vec<(String, String)>,
}

impl FormData {
    /// Parses a urlencoded body.
    pub(crate) fn parse(body: &Bytes) -> Result<FormData, AppError> {
        let text = std::str::from_utf8(body)
            .map_err(|_| AppError::bad_request("the form is not valid UTF-8"))?;
        FormData::parse_str(text)
    }

    /// Parses a urlencoded string (a body or a query string).
    pub(crate) fn parse_str(text: &str) -> Result<FormData, AppError> {
        let mut pairs = Vec::new();
        for part in text.split('&').filter(|it| !it.is_empty()) {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((decode(name)?, decode(value)?));
        }
        Ok(FormData { pairs })
    }

    /// The first value of `name`, trimmed, `None` when absent or empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every value of `name`.
    pub(crate) fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.pairs
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name` as an integer; 400 when present but not a number.
    pub(crate) fn get_i64(&self, name: &str) -> Result<Option<i64>, AppError> {
        self.get_id(name)
    }

    /// The first value of `name` as an id written as an integer (`AccountId`, `RunId`…);
    /// 400 when present but not a number.
    pub(crate) fn get_id<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, AppError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| AppError::bad_request(format!("`{name}` must be a whole number"))),
        }
    }
}

/// Percent-decoding with `+` as space.
fn decode(s: &str) -> Result<String, AppError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        AppError::bad_request("malformed percent-encoding in the form")
                    })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| AppError::bad_request("the form is not valid UTF-8"))
}

/// Percent-encodes a value for a query string.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Builds `a=1&b=x` from pairs, skipping empty values.
pub(crate) fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> String {
    pairs
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{}={}", encode(k), encode(&v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_fields_and_encoding_round_trip() {
        let form = FormData::parse_str("ids=1&ids=22&q=a+b%26c&csrf=x&empty=").unwrap();
        assert_eq!(form.all("ids").collect::<Vec<_>>(), ["1", "22"]);
        assert_eq!(form.get("q"), Some("a b&c"));
        assert_eq!(form.get("empty"), None);
        assert_eq!(form.get_i64("ids").unwrap(), Some(1));
        assert!(form.get_i64("q").is_err());
        assert!(FormData::parse_str("a=%zz").is_err());
        assert!(
            FormData::parse_str("a=%e2%82").is_err(),
            "invalid UTF-8 is rejected"
        );
        assert_eq!(encode("a b&c/é"), "a+b%26c%2F%C3%A9");
        let qs = query_string([
            ("state", "failed".to_owned()),
            ("q", String::new()),
            ("kind", "x y".into()),
        ]);
        assert_eq!(qs, "state=failed&kind=x+y");
        assert_eq!(FormData::parse_str(&qs).unwrap().get("kind"), Some("x y"));
    }
}
