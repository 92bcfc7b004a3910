//! Writing values into Cedar source: string literals, `like` patterns and one-line comments.
//!
//! Every id and every piece of prose that reaches generated Cedar text goes through one of these
//! functions, so a quote, a backslash, a `*` or a line break in a flow can never change what a
//! policy means.

use std::fmt::Write as _;

/// `text` as the inside of a Cedar string literal (without the surrounding quotes).
pub(crate) fn escape_string(text: &str) -> String {
    escape(text, false)
}

/// `text` as the inside of a Cedar `like` pattern that matches exactly `text`: as a string
/// literal, and with `*` written `\*` so that it is not a wildcard.
pub(crate) fn escape_pattern_literal(text: &str) -> String {
    escape(text, true)
}

/// `text` for a `//` comment: one line whatever it contains (line breaks and other control
/// characters escaped, everything else as it is).
pub(crate) fn comment_text(text: &str) -> String {
    escape_with(text, false, false)
}

fn escape(text: &str, star: bool) -> String {
    escape_with(text, true, star)
}

fn escape_with(text: &str, quotes: bool, star: bool) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        match c {
            '\\' if quotes => out.push_str("\\\\"),
            '"' if quotes => out.push_str("\\\""),
            '*' if star => out.push_str("\\*"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_backslashes_stars_and_line_breaks_are_escaped() {
        assert_eq!(escape_string(r#"a"b\c*"#), r#"a\"b\\c*"#);
        assert_eq!(escape_pattern_literal(r#"a"b\c*"#), r#"a\"b\\c\*"#);
        assert_eq!(escape_string("x\ny\u{7}"), "x\\ny\\u{7}");
        assert_eq!(comment_text("say \"hi\" \\\nnow"), "say \"hi\" \\\\nnow");
    }
}
