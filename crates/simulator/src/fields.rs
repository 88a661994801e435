//! Parser of the Graph API `fields` parameter with field expansion:
//! `id,caption,children{id,media_type},insights.metric(reach,saved)`.

use crate::error::ApiError;

/// One requested field, with its modifiers (`.metric(a,b)`, `.limit(5)`) and nested fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) modifiers: Vec<(String, String)>,
    pub(crate) children: Option<Vec<Field>>,
}

impl Field {
    /// The argument of a modifier, e.g. `metric` in `insights.metric(reach)`.
    pub(crate) fn modifier(&self, name: &str) -> Option<&str> {
        self.modifiers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a `fields` value; errors have Meta's syntax-error shape.
pub(crate) fn parse(input: &str) -> Result<Vec<Field>, ApiError> {
    let mut p = Parser {
        s: input.as_bytes(),
        pos: 0,
        input,
    };
    let fields = p.list(0)?;
    p.skip_ws();
    if p.pos < p.s.len() {
        return Err(p.err(
            "Expected end of string instead of \"{}\"."
                .replace("{}", &(p.s[p.pos] as char).to_string()),
        ));
    }
    Ok(fields)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    input: &'a str,
}

const MAX_DEPTH: usize = 8;

impl Parser<'_> {
    fn err(&self, detail: impl AsRef<str>) -> ApiError {
        ApiError::syntax(detail.as_ref(), self.pos, self.input)
    }

    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn list(&mut self, depth: usize) -> Result<Vec<Field>, ApiError> {
        if depth > MAX_DEPTH {
            return Err(self.err("Field expansion is nested too deeply."));
        }
        let mut out = Vec::new();
        loop {
            self.skip_ws();
            out.push(self.field(depth)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                _ => return Ok(out),
            }
        }
    }

    fn ident(&mut self) -> Result<String, ApiError> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'_' {
                self.pos += 1;
            } else {
                break;
            }
        }
        if start == self.pos {
            return Err(match self.peek() {
                Some(c) => self.err(format!(
                    "Expected a field name instead of \"{}\".",
                    c as char
                )),
                None => self.err("Unexpected end of string, expected a field name."),
            });
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }

    fn field(&mut self, depth: usize) -> Result<Field, ApiError> {
        let name = self.ident()?;
        let mut modifiers = Vec::new();
        let mut children = None;
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'.') => {
                    self.pos += 1;
                    let m = self.ident()?;
                    if self.peek() != Some(b'(') {
                        return Err(self.err("Expected \"(\" after a modifier."));
                    }
                    self.pos += 1;
                    let start = self.pos;
                    while let Some(c) = self.peek() {
                        if c == b')' {
                            break;
                        }
                        self.pos += 1;
                    }
                    if self.peek() != Some(b')') {
                        return Err(self.err("Unexpected end of string, expected \")\"."));
                    }
                    let arg = String::from_utf8_lossy(&self.s[start..self.pos])
                        .trim()
                        .to_owned();
                    self.pos += 1;
                    modifiers.push((m, arg));
                }
                Some(b'{') => {
                    if children.is_some() {
                        return Err(self.err("Expected end of string instead of \"{\"."));
                    }
                    self.pos += 1;
                    let inner = self.list(depth + 1)?;
                    self.skip_ws();
                    if self.peek() != Some(b'}') {
                        return Err(match self.peek() {
                            Some(c) => {
                                self.err(format!("Expected \"}}\" instead of \"{}\".", c as char))
                            }
                            None => self.err("Unexpected end of string, expected \"}\"."),
                        });
                    }
                    self.pos += 1;
                    children = Some(inner);
                }
                _ => break,
            }
        }
        Ok(Field {
            name,
            modifiers,
            children,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_expansion_and_modifiers() {
        let f = parse("id, caption,children{id,media_type},insights.metric(reach,saved)").unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!(f[1].name, "caption");
        let kids = f[2].children.as_ref().unwrap();
        assert_eq!(kids[1].name, "media_type");
        assert_eq!(f[3].modifier("metric"), Some("reach,saved"));
        let g = parse("media.limit(5){id,insights.metric(reach){values}}").unwrap();
        assert_eq!(g[0].modifier("limit"), Some("5"));
        assert!(g[0].children.as_ref().unwrap()[1].children.is_some());
    }

    #[test]
    fn reports_syntax_errors() {
        for bad in [
            "",
            "id,",
            "children{id",
            "a.metric(x",
            "id}",
            "a{b}{c}",
            "a.b",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.code, 2500, "{bad}");
            assert!(
                e.message.starts_with("Syntax error"),
                "{bad}: {}",
                e.message
            );
        }
    }
}
