//! SPIFFE IDs and the flow's identity templates.
//!
//! The syntax is the SPIFFE ID standard's: `spiffe://` + a trust domain of lower-case letters,
//! digits, `.`, `-` and `_` + a path of `/`-separated segments of letters, digits, `.`, `-` and
//! `_`, where no segment is empty, `.` or `..`, there is no trailing `/`, no query or fragment, no
//! percent-encoding, and the whole ID is at most 2048 bytes.

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 3] = ["agent", "task", "run"];

/// The run id substituted when a template is checked at design time (runs are named at run
/// time; any valid run id must be a valid path segment, and this one is).
pub const SAMPLE_RUN: &str = "run-0001";

const MAX_LEN: usize = 2048;

/// Checks `id` against the SPIFFE ID syntax; the error says what is wrong and where.
pub fn validate_spiffe_id(id: &str) -> Result<(), String> {
    if id.len() > MAX_LEN {
        return Err(format!(
            "is {} bytes long; a SPIFFE ID has at most {MAX_LEN}",
            id.len()
        ));
    }
    let Some(rest) = id.strip_prefix("spiffe://") else {
        return Err("must start with `spiffe://` (lower case)".to_owned());
    };
    if let Some(bad) = rest.find(['?', '#']) {
        return Err(format!(
            "contains `{}`: a SPIFFE ID has no query or fragment",
            &rest[bad..=bad]
        ));
    }
    let (domain, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, ""),
    };
    if domain.is_empty() {
        return Err("has an empty trust domain".to_owned());
    }
    if let Some(c) = domain
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_')))
    {
        return Err(format!(
            "trust domain `{domain}` contains `{c}`: only lower-case letters, digits, `.`, `-` and `_` are allowed"
        ));
    }
    if path.is_empty() {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err("ends with `/`".to_owned());
    }
    for segment in path[1..].split('/') {
        if segment.is_empty() {
            return Err("has an empty path segment (`//`)".to_owned());
        }
        if segment == "." || segment == ".." {
            return Err(format!("has a `{segment}` path segment"));
        }
        if let Some(c) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        {
            return Err(format!(
                "path segment `{segment}` contains `{c}`: only letters, digits, `.`, `-` and `_` are allowed"
            ));
        }
    }
    Ok(())
}

/// What `{agent}` stands for: the agent id after its last `:` (`agent:triage-router` →
/// `triage-router`), since inventory ids carry a kind prefix that a path segment may not.
pub fn agent_segment(agent_id: &str) -> &str {
    agent_id.rsplit(':').next().unwrap_or(agent_id)
}

/// Substitutes the placeholders of `template`; an unknown or unclosed placeholder is an error.
pub fn render(template: &str, agent: &str, task: &str, run: &str) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(format!(
                "has an unclosed `{{` at byte {}",
                template.len() - rest.len() + open
            ));
        };
        let name = &after[..close];
        match name {
            "agent" => out.push_str(agent_segment(agent)),
            "task" => out.push_str(task),
            "run" => out.push_str(run),
            other => {
                return Err(format!(
                    "uses the placeholder `{{{other}}}`; the placeholders are {{agent}}, {{task}} and {{run}}"
                ));
            }
        }
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err("has a `}` without its `{`".to_owned());
    }
    out.push_str(rest);
    Ok(out)
}

/// The template with `{agent}` and `{task}` filled in and `{run}` left as `*`: the set of IDs
/// the task's runs use, as a glob (Cedar's `like` reads the same syntax).
pub fn run_pattern(template: &str, agent: &str, task: &str) -> Result<String, String> {
    render(template, agent, task, "*")
}

/// Whether `id` is one of the IDs `pattern` (from [`run_pattern`]) stands for; `*` matches one
/// or more characters of a single path segment.
pub fn pattern_matches(pattern: &str, id: &str) -> bool {
    fn matches(pattern: &[u8], id: &[u8]) -> bool {
        match pattern.split_first() {
            None => id.is_empty(),
            Some((b'*', rest)) => (1..=id.len())
                .take_while(|&n| id[n - 1] != b'/')
                .any(|n| matches(rest, &id[n..])),
            Some((&c, rest)) => id.first() == Some(&c) && matches(rest, &id[1..]),
        }
    }
    matches(pattern.as_bytes(), id.as_bytes())
}

/// Whether two patterns can stand for a common ID (two tasks sharing an identity).
pub fn patterns_overlap(a: &str, b: &str) -> bool {
    fn overlap(a: &[u8], b: &[u8]) -> bool {
        match (a.split_first(), b.split_first()) {
            (None, None) => true,
            (Some((b'*', ra)), _) => {
                // `*` eats one or more non-`/` characters of the other side (or another `*`).
                (1..=b.len())
                    .take_while(|&n| b[n - 1] != b'/')
                    .any(|n| overlap(ra, &b[n..]))
                    || (b.first() == Some(&b'*') && overlap(ra, &b[1..]))
            }
            (_, Some((b'*', _))) => overlap(b, a),
            (Some((x, ra)), Some((y, rb))) => x == y && overlap(ra, rb),
            _ => false,
        }
    }
    overlap(a.as_bytes(), b.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ids_pass_and_each_invalid_form_is_named() {
        for ok in [
            "spiffe://example.org",
            "spiffe://example.org/agents/triage-router/run_01",
            "spiffe://a-b_c.9/x.y",
        ] {
            assert_eq!(validate_spiffe_id(ok), Ok(()), "{ok}");
        }
        for (bad, says) in [
            ("https://example.org/x", "must start with `spiffe://`"),
            ("SPIFFE://example.org/x", "must start with `spiffe://`"),
            ("spiffe://Example.org/x", "contains `E`"),
            ("spiffe:///x", "empty trust domain"),
            ("spiffe://example.org/x/", "ends with `/`"),
            ("spiffe://example.org//x", "empty path segment"),
            ("spiffe://example.org/a/../b", "`..` path segment"),
            ("spiffe://example.org/a:b", "contains `:`"),
            ("spiffe://example.org/a%20b", "contains `%`"),
            ("spiffe://example.org/a?x=1", "no query"),
            ("spiffe://example.org/a#f", "no query or fragment"),
        ] {
            let error = validate_spiffe_id(bad).expect_err(bad);
            assert!(error.contains(says), "{bad}: {error}");
        }
        let long = format!("spiffe://example.org/{}", "a".repeat(2040));
        assert!(
            validate_spiffe_id(&long)
                .unwrap_err()
                .contains("at most 2048")
        );
    }

    #[test]
    fn templates_render_and_reject_unknown_placeholders() {
        let template = "spiffe://example.org/agents/{agent}/{task}/{run}";
        assert_eq!(
            render(template, "agent:triage-router", "nightly", "run-7").unwrap(),
            "spiffe://example.org/agents/triage-router/nightly/run-7"
        );
        assert!(
            render("spiffe://x/{user}", "a", "t", "r")
                .unwrap_err()
                .contains("{user}")
        );
        assert!(
            render("spiffe://x/{agent", "a", "t", "r")
                .unwrap_err()
                .contains("unclosed")
        );
        assert!(
            render("spiffe://x/agent}", "a", "t", "r")
                .unwrap_err()
                .contains("without")
        );
    }

    #[test]
    fn run_patterns_match_one_segment_and_detect_overlap() {
        let pattern = run_pattern("spiffe://e.org/{agent}/{task}/{run}", "agent:a", "t").unwrap();
        assert_eq!(pattern, "spiffe://e.org/a/t/*");
        assert!(pattern_matches(&pattern, "spiffe://e.org/a/t/run-1"));
        assert!(!pattern_matches(&pattern, "spiffe://e.org/a/t/run-1/x"));
        assert!(!pattern_matches(&pattern, "spiffe://e.org/a/t/"));
        assert!(!pattern_matches(&pattern, "spiffe://e.org/a/u/run-1"));
        assert!(patterns_overlap(&pattern, "spiffe://e.org/a/t/run-1"));
        assert!(patterns_overlap(&pattern, "spiffe://e.org/a/*/x"));
        assert!(!patterns_overlap(&pattern, "spiffe://e.org/b/*/*"));
        assert!(patterns_overlap("spiffe://e.org/a", "spiffe://e.org/a"));
        assert!(!patterns_overlap("spiffe://e.org/a/*", "spiffe://e.org/a"));
    }
}
