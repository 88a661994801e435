//! Just enough of Rust's lexical grammar to find string literals and their lines: comments
//! (nested block comments too), plain, byte, C and raw strings, character literals and
//! lifetimes. Tokens that are not strings are skipped.

/// A string literal's contents as written (escapes not processed) and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    pub line: usize,
    pub text: String,
}

/// Every string literal of `source`, in order.
pub fn string_literals(source: &str) -> Vec<Literal> {
    let chars: Vec<char> = source.chars().collect();
    let mut literals = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i = skip_block_comment(&chars, i, &mut line);
        } else if c == '"' {
            let start_line = line;
            let (text, end) = quoted(&chars, i + 1, &mut line);
            literals.push(Literal {
                line: start_line,
                text,
            });
            i = end;
        } else if c == '\'' {
            i = skip_char_or_lifetime(&chars, i);
        } else if is_ident_start(c) {
            let start = i;
            while i < chars.len() && is_ident_continue(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let raw_prefix = matches!(word.as_str(), "r" | "br" | "cr");
            if raw_prefix && matches!(chars.get(i), Some('#' | '"')) {
                let mut hashes = 0;
                while chars.get(i + hashes) == Some(&'#') {
                    hashes += 1;
                }
                if chars.get(i + hashes) == Some(&'"') {
                    let start_line = line;
                    let (text, end) = raw(&chars, i + hashes + 1, hashes, &mut line);
                    literals.push(Literal {
                        line: start_line,
                        text,
                    });
                    i = end;
                }
                // Otherwise a raw identifier (`r#type`): its name is read as a word next.
                else {
                    i += hashes;
                }
            }
            // `b"…"` and `c"…"` are read as `"…"` on the next turn.
        } else {
            i += 1;
        }
    }
    literals
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn skip_block_comment(chars: &[char], mut i: usize, line: &mut usize) -> usize {
    let mut depth = 0;
    while i < chars.len() {
        match (chars[i], chars.get(i + 1).copied()) {
            ('/', Some('*')) => {
                depth += 1;
                i += 2;
            }
            ('*', Some('/')) => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            (c, _) => {
                if c == '\n' {
                    *line += 1;
                }
                i += 1;
            }
        }
    }
    i
}

/// Reads a `"…"` body from `i` (after the opening quote); returns it and the index after
/// the closing quote.
fn quoted(chars: &[char], mut i: usize, line: &mut usize) -> (String, usize) {
    let mut text = String::new();
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                text.push('\\');
                if let Some(&escaped) = chars.get(i + 1) {
                    if escaped == '\n' {
                        *line += 1;
                    }
                    text.push(escaped);
                }
                i += 2;
            }
            '"' => return (text, i + 1),
            c => {
                if c == '\n' {
                    *line += 1;
                }
                text.push(c);
                i += 1;
            }
        }
    }
    (text, i)
}

/// Reads a raw string body closed by `"` and `hashes` `#`s.
fn raw(chars: &[char], mut i: usize, hashes: usize, line: &mut usize) -> (String, usize) {
    let mut text = String::new();
    while i < chars.len() {
        if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
            return (text, i + 1 + hashes);
        }
        if chars[i] == '\n' {
            *line += 1;
        }
        text.push(chars[i]);
        i += 1;
    }
    (text, i)
}

/// `'x'`, `'\n'`, `'\u{1F600}'` and `'"'` are characters; `'a` and `'outer:` are lifetimes
/// and labels.
fn skip_char_or_lifetime(chars: &[char], i: usize) -> usize {
    match (chars.get(i + 1), chars.get(i + 2)) {
        (Some('\\'), _) => {
            let mut j = i + 2;
            // The escaped character itself may be a quote: `'\''`.
            j += 1;
            while j < chars.len() && chars[j] != '\'' && chars[j] != '\n' {
                j += 1;
            }
            j + 1
        }
        (Some(_), Some('\'')) => i + 3,
        _ => i + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(source: &str) -> Vec<String> {
        string_literals(source)
            .into_iter()
            .map(|l| l.text)
            .collect()
    }

    #[test]
    fn finds_plain_raw_and_byte_strings_with_their_lines() {
        let source = "fn f() {\n    let a = \"one\";\n    let b = r#\"two \"quoted\"\"#;\n    \
                      let c = b\"three\";\n    let d = r\"four\";\n}\n";
        let found = string_literals(source);
        let lines: Vec<usize> = found.iter().map(|l| l.line).collect();
        assert_eq!(texts(source), ["one", "two \"quoted\"", "three", "four"]);
        assert_eq!(lines, [2, 3, 4, 5]);
    }

    #[test]
    fn skips_comments_chars_and_lifetimes() {
        let source = "// \"not a string\"\n/* outer /* \"nested\" */ still */\n\
                      fn f<'a>(x: &'a str) -> char { let q = '\"'; let e = '\\''; 'outer: loop {} \
                      let s = \"yes\"; '\\u{1F600}' }\n";
        assert_eq!(texts(source), ["yes"]);
    }

    #[test]
    fn escapes_do_not_end_a_string_and_lines_are_counted_inside() {
        let source = "let a = \"x \\\" y\nz\";\nlet b = \"after\";";
        let found = string_literals(source);
        assert_eq!(found[0].text, "x \\\" y\nz");
        assert_eq!(found[1].line, 3);
    }

    #[test]
    fn raw_identifiers_are_not_strings() {
        assert_eq!(texts("let r#type = 1; let s = \"k\";"), ["k"]);
    }
}
