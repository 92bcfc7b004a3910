//! Checks that a rejection's location points inside the input: a JSON path that names a node of
//! the document (or a field missing from a node that is there), a line and column within the text.

use serde_json::Value;

/// How much of a path names nodes of the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// Every step names a node.
    Whole,
    /// All but the last step do: the last names a field that is missing (a required field).
    Parent,
    /// The path leaves the document before its last step.
    Outside,
}

/// Resolves a path written as `$`, `key`, `a.b[3].c` (the readers' form; serde_path_to_error's
/// is the same) against `document`. Keys may themselves hold `.` or `[`: every way of reading the
/// path is tried. A key also matches its lowerCamel spelling (`spiffe_id` for `spiffeId`), since
/// readers that take both report the snake_case name.
pub fn resolve(document: &Value, path: &str) -> Resolved {
    // A top-level key is its own path, whatever it looks like (`$x`, `..`, `[`).
    if let Value::Object(map) = document
        && map.contains_key(path)
    {
        return Resolved::Whole;
    }
    let path = path.strip_prefix('$').unwrap_or(path);
    let path = path.strip_prefix('.').unwrap_or(path);
    let rest = unmatched(document, path, true);
    if rest.is_empty() {
        Resolved::Whole
    } else if is_one_step(rest) {
        Resolved::Parent
    } else {
        Resolved::Outside
    }
}

fn is_one_step(rest: &str) -> bool {
    if let Some(inner) = rest.strip_prefix('[') {
        return inner.strip_suffix(']').is_some_and(|digits| {
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        });
    }
    let key = rest.strip_prefix('.').unwrap_or(rest);
    !key.contains(['.', '['])
}

/// The shortest rest of `path` that no reading of it matches below `value`.
fn unmatched<'p>(value: &Value, path: &'p str, first: bool) -> &'p str {
    if path.is_empty() {
        return path;
    }
    if let Some(inner) = path.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return path;
        };
        let after = &inner[close + 1..];
        return match (value, inner[..close].parse::<usize>()) {
            (Value::Array(items), Ok(index)) if index < items.len() => {
                unmatched(&items[index], after, false)
            }
            _ => path,
        };
    }
    let key_text = if first {
        path
    } else {
        match path.strip_prefix('.') {
            Some(rest) => rest,
            None => return path,
        }
    };
    let Value::Object(map) = value else {
        return path;
    };
    let mut best = path;
    for (key, child) in map {
        for spelling in [key.clone(), snake_case(key)] {
            if let Some(after) = key_text.strip_prefix(spelling.as_str())
                && (after.is_empty() || after.starts_with(['.', '[']))
            {
                let rest = unmatched(child, after, false);
                if rest.len() < best.len() {
                    best = rest;
                }
            }
        }
    }
    best
}

/// `spiffeId` → `spiffe_id`.
fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Checks a 1-based line and column against the text: the line exists (or is the one just past
/// the end, at column 1) and the column is at most one past that line's end.
pub fn check_line_column(text: &[u8], line: usize, column: usize) -> Result<(), String> {
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    check_lines(&lines, line, column)
}

/// [`check_line_column`] for YAML, whose line breaks are also a lone CR, NEL, LS and PS (the
/// parser counts them, so a line and column after one are right in YAML's terms).
pub fn check_yaml_line_column(text: &[u8], line: usize, column: usize) -> Result<(), String> {
    let text = String::from_utf8_lossy(text).replace("\r\n", "\n");
    let lines: Vec<&[u8]> = text
        .split(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
        .map(str::as_bytes)
        .collect();
    check_lines(&lines, line, column)
}

fn check_lines(lines: &[&[u8]], line: usize, column: usize) -> Result<(), String> {
    if line == 0 || column == 0 {
        return Err(format!(
            "line {line} column {column}: lines and columns start at 1"
        ));
    }
    // The end of a text without a final newline may be reported as the start of the next line.
    if line == lines.len() + 1 && column == 1 {
        return Ok(());
    }
    let Some(content) = lines.get(line - 1) else {
        return Err(format!(
            "line {line} is past the end of the input ({} lines)",
            lines.len()
        ));
    };
    // Columns may count bytes or characters; bytes bound both.
    if column > content.len() + 2 {
        return Err(format!(
            "column {column} is past the end of line {line} ({} bytes)",
            content.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_resolve_with_odd_keys_and_missing_last_fields() {
        let doc = json!({"agents": [{"id": "a", "x.y": {"z": 1}}], "spiffeId": {"path": "/"}});
        assert_eq!(resolve(&doc, "$"), Resolved::Whole);
        assert_eq!(resolve(&doc, "agents[0].id"), Resolved::Whole);
        assert_eq!(resolve(&doc, "agents[0].x.y.z"), Resolved::Whole);
        assert_eq!(resolve(&doc, "agents[0].name"), Resolved::Parent);
        assert_eq!(resolve(&doc, "agents[1]"), Resolved::Parent);
        assert_eq!(resolve(&doc, "agents[1].id"), Resolved::Outside);
        assert_eq!(resolve(&doc, "spiffe_id.path"), Resolved::Whole);
        assert_eq!(resolve(&doc, "grants[0].id"), Resolved::Outside);
        let odd = json!({"..": 1, "$[": 2});
        assert_eq!(resolve(&odd, ".."), Resolved::Whole);
        assert_eq!(resolve(&odd, "$["), Resolved::Whole);
    }

    #[test]
    fn line_and_column_must_be_inside_the_text() {
        let text = b"{\n  \"a\": 1\n}\n";
        assert!(check_line_column(text, 2, 3).is_ok());
        assert!(check_line_column(text, 4, 1).is_ok());
        assert!(check_line_column(text, 5, 1).is_ok());
        assert!(check_line_column(text, 5, 2).is_err());
        assert!(check_line_column(text, 6, 1).is_err());
        assert!(check_line_column(text, 1, 0).is_err());
        assert!(check_line_column(text, 1, 9).is_err());
        assert!(check_line_column("a\u{2028}b".as_bytes(), 2, 1).is_ok());
        assert!(check_yaml_line_column("a\u{2028}b".as_bytes(), 2, 2).is_ok());
        assert!(check_yaml_line_column(b"a\r\nb", 3, 2).is_err());
    }
}
