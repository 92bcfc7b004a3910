//! OpenBao/Vault ACL policies: HCL (or the JSON form the server also accepts) into typed path
//! rules. How rules combine into a token's access is [`super::acl`]'s business.

use super::acl::{Capabilities, RuleShape, rule_key};

/// One `path "…" { … }` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRule {
    /// The path as written, without one leading `/` (the server strips one).
    pub path: String,
    /// The block's capabilities: the `capabilities` list and the legacy `policy` word together;
    /// `deny` alone when either holds `deny`.
    pub capabilities: Capabilities,
    /// The words as written (both forms), sorted, for observations.
    pub words: Vec<String>,
    /// The rule narrows requests by parameters (`allowed_parameters` …): access is narrower
    /// than the capabilities say.
    pub parameter_constraints: bool,
    /// The path holds `{{…}}` identity templates, resolved per token.
    pub templated: bool,
    /// `expiration` as written: after it the server ignores the block.
    pub expiration: Option<String>,
    /// 1-based line of the block in the policy text.
    pub line: usize,
}

impl PolicyRule {
    pub fn shape(&self) -> RuleShape {
        rule_key(&self.path).0
    }
}

/// A parsed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub name: String,
    pub rules: Vec<PolicyRule>,
}

/// A bad policy, located in its text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy `{policy}` line {line}, column {column}: {message}")]
pub struct PolicyError {
    pub policy: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The deprecated `policy = "read"` word as the capabilities it stands for.
fn legacy_capabilities(word: &str) -> Option<&'static [&'static str]> {
    Some(match word {
        "deny" => &["deny"],
        "read" => &["read", "list"],
        "write" => &["create", "read", "update", "delete", "list"],
        "sudo" => &["create", "read", "update", "delete", "list", "sudo"],
        _ => return None,
    })
}

const PARAMETER_KEYS: [&str; 3] = [
    "allowed_parameters",
    "denied_parameters",
    "required_parameters",
];

/// Parses a policy's text (HCL, or the JSON form Vault also accepts).
pub fn parse_policy(name: &str, text: &str) -> Result<Policy, PolicyError> {
    let error = |line: usize, column: usize, message: String| PolicyError {
        policy: name.to_owned(),
        line,
        column,
        message,
    };
    // Each `path` block as (label, its body as JSON, its line when the parser knows it).
    let mut blocks: Vec<(String, serde_json::Value, Option<usize>)> = Vec::new();
    if text.trim_start().starts_with('{') {
        let value: serde_json::Value =
            // serde_json counts a column 0 right after a line break; columns start at 1 here.
            serde_json::from_str(text)
                .map_err(|e| error(e.line(), e.column().max(1), e.to_string()))?;
        let list = match value.get("path").cloned().unwrap_or_default() {
            serde_json::Value::Array(list) => list,
            serde_json::Value::Null => Vec::new(),
            single => vec![single],
        };
        for item in list {
            let Some(object) = item.as_object() else {
                return Err(error(1, 1, "`path` must map paths to rule objects".into()));
            };
            blocks.extend(object.iter().map(|(k, v)| (k.clone(), v.clone(), None)));
        }
    } else {
        // The editing parser keeps each block's place in the text, so a rule's line is its
        // block's even when the label is written with escapes.
        use hcl::edit::Span as _;
        let body = hcl::edit::parser::parse_body(text).map_err(|e| {
            error(
                e.location().line(),
                e.location().column(),
                e.message().to_owned(),
            )
        })?;
        for block in body.get_blocks("path") {
            let line = block
                .span()
                .map(|span| line_at(text, span.start))
                .unwrap_or(1);
            let block = hcl::Block::from(block.clone());
            let [label] = block.labels() else {
                return Err(error(
                    line,
                    1,
                    "a `path` block needs exactly one quoted path label".into(),
                ));
            };
            let mut object = serde_json::Map::new();
            for attribute in block.body().attributes() {
                let value =
                    serde_json::to_value(attribute.expr()).unwrap_or(serde_json::Value::Null);
                object.insert(attribute.key().to_owned(), value);
            }
            blocks.push((
                label.as_str().to_owned(),
                serde_json::Value::Object(object),
                Some(line),
            ));
        }
    }
    let mut rules = Vec::new();
    // Blocks on the same label are found at successive occurrences of it in the text.
    let mut seen: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for (path, body, known_line) in &blocks {
        let occurrence = seen.entry(path.as_str()).or_default();
        let line = known_line.unwrap_or_else(|| line_of(text, path, *occurrence));
        *occurrence += 1;
        let located = |message: String| error(line, 1, format!("path \"{path}\": {message}"));
        let mut words: Vec<String> = match body.get("capabilities") {
            Some(serde_json::Value::Array(list)) => list
                .iter()
                .map(|w| {
                    w.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| located(format!("capability {w} is not a string")))
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(located(format!(
                    "`capabilities` must be a list of strings, found {other}"
                )));
            }
            None => Vec::new(),
        };
        match body.get("policy") {
            Some(serde_json::Value::String(word)) => words.extend(
                legacy_capabilities(word)
                    .ok_or_else(|| {
                        located(format!(
                            "unknown policy word `{word}` (expected deny, read, write or sudo)"
                        ))
                    })?
                    .iter()
                    .map(|w| (*w).to_owned()),
            ),
            Some(other) => {
                return Err(located(format!(
                    "`policy` must be one word (deny, read, write or sudo), found {other}"
                )));
            }
            None => {}
        }
        if body.get("capabilities").is_none() && body.get("policy").is_none() {
            return Err(located("no `capabilities` given".into()));
        }
        words.sort();
        words.dedup();
        let mut capabilities = Capabilities::NONE;
        for word in &words {
            let Some(capability) = Capabilities::from_word(word) else {
                let known: Vec<&str> = Capabilities::known_words().collect();
                return Err(located(format!(
                    "unknown capability `{word}` (expected one of {})",
                    known.join(", ")
                )));
            };
            capabilities = capabilities.union(capability);
        }
        if capabilities.is_deny() {
            capabilities = Capabilities::DENY;
        }
        let path = path.strip_prefix('/').unwrap_or(path).to_owned();
        if path.contains("+*") {
            return Err(located("`+*` is not allowed in a path".into()));
        }
        let expiration = match body.get("expiration") {
            Some(serde_json::Value::String(at)) => Some(at.clone()),
            Some(other) => {
                return Err(located(format!(
                    "`expiration` must be a time, found {other}"
                )));
            }
            None => None,
        };
        let parameter_constraints = PARAMETER_KEYS.iter().any(|k| body.get(*k).is_some());
        rules.push(PolicyRule {
            templated: path.contains("{{") && path.contains("}}"),
            path,
            capabilities,
            words,
            parameter_constraints,
            expiration,
            line,
        });
    }
    rules.sort_by_key(|r| r.line);
    Ok(Policy {
        name: name.to_owned(),
        rules,
    })
}

/// The 1-based line of the `occurrence`-th `"<label>"` in the text (1 when it cannot be found).
fn line_of(text: &str, label: &str, occurrence: usize) -> usize {
    let quoted = format!("\"{label}\"");
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.contains(&quoted))
        .nth(occurrence)
        .map_or(1, |(i, _)| i + 1)
}

/// The 1-based line of byte `offset` in the text.
fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Whether some path could match both patterns (conservative: `true` when unsure), for naming
/// the rules that may narrow a pattern's grant.
pub fn may_overlap(a: &str, b: &str) -> bool {
    let (a_glob, b_glob) = (a.ends_with('*'), b.ends_with('*'));
    let a_stem: Vec<&str> = a.trim_end_matches('*').split('/').collect();
    let b_stem: Vec<&str> = b.trim_end_matches('*').split('/').collect();
    let common = a_stem.len().min(b_stem.len());
    for i in 0..common {
        let (x, y) = (a_stem[i], b_stem[i]);
        let x_open = i == a_stem.len() - 1 && a_glob;
        let y_open = i == b_stem.len() - 1 && b_glob;
        if x == "+" || y == "+" || x.contains("{{") || y.contains("{{") {
            if x_open || y_open {
                return true;
            }
            continue;
        }
        match (x_open, y_open) {
            (true, true) => return x.starts_with(y) || y.starts_with(x),
            (true, false) => return y.starts_with(x),
            (false, true) => return x.starts_with(y),
            (false, false) if x != y => return false,
            (false, false) => {}
        }
    }
    match a_stem.len().cmp(&b_stem.len()) {
        std::cmp::Ordering::Equal => true,
        std::cmp::Ordering::Less => a_glob && a_stem.last().is_some_and(|s| s.is_empty()),
        std::cmp::Ordering::Greater => b_glob && b_stem.last().is_some_and(|s| s.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hcl_with_globs_plus_and_deny() {
        let text = r#"
# app policy
path "secret/data/app/*" {
  capabilities = ["read", "list"]
}

path "secret/data/+/config" {
  capabilities = ["create", "update"]
}

path "secret/data/app/admin" {
  capabilities = ["deny"]
}

path "sys/leases/*" { capabilities = ["sudo", "read", "scan"] }
"#;
        let policy = parse_policy("app", text).unwrap();
        let summary: Vec<(&str, String, RuleShape, usize)> = policy
            .rules
            .iter()
            .map(|r| {
                (
                    r.path.as_str(),
                    r.capabilities.to_string(),
                    r.shape(),
                    r.line,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "secret/data/app/*",
                    "list, read".into(),
                    RuleShape::Prefix,
                    3
                ),
                (
                    "secret/data/+/config",
                    "create, update".into(),
                    RuleShape::Segments,
                    7
                ),
                ("secret/data/app/admin", "deny".into(), RuleShape::Exact, 11),
                (
                    "sys/leases/*",
                    "read, scan, sudo".into(),
                    RuleShape::Prefix,
                    15
                ),
            ]
        );
    }

    #[test]
    fn bad_policies_are_located() {
        let error =
            parse_policy("bad", "path \"a/*\" {\n  capabilities = [\"read\"\n").unwrap_err();
        assert_eq!(error.policy, "bad");
        assert!(error.line >= 2, "{error}");
        let error = parse_policy(
            "typo",
            "path \"a\" {\n capabilities = [\"read\"]\n}\npath \"b/*\" {\n capabilities = [\"reed\"]\n}\n",
        )
        .unwrap_err();
        assert_eq!(error.line, 4, "{error}");
        assert!(error.to_string().contains("`reed`"), "{error}");
        assert!(
            error.to_string().contains("scan"),
            "the known words are listed: {error}"
        );
        assert!(
            error.to_string().contains("policy `typo` line 4"),
            "{error}"
        );
        let error = parse_policy("empty", "path \"a\" {\n}\n").unwrap_err();
        assert!(error.message.contains("no `capabilities`"), "{error}");
        let error =
            parse_policy("star", "path \"a/+*\" { capabilities = [\"read\"] }").unwrap_err();
        assert!(error.message.contains("`+*`"), "{error}");
    }

    #[test]
    fn json_and_legacy_forms() {
        let policy = parse_policy(
            "j",
            r#"{"path": {"kv/*": {"capabilities": ["read"]}, "kv/x": {"policy": "deny"}}}"#,
        )
        .unwrap();
        assert_eq!(policy.rules.len(), 2);
        let legacy = policy.rules.iter().find(|r| r.path == "kv/x").unwrap();
        assert!(legacy.capabilities.is_deny());
    }

    #[test]
    fn legacy_word_and_capabilities_grant_both() {
        let policy = parse_policy(
            "both",
            "path \"kv/a\" {\n  policy = \"read\"\n  capabilities = [\"update\"]\n}\n",
        )
        .unwrap();
        assert_eq!(
            policy.rules[0].capabilities.to_string(),
            "list, read, update"
        );
    }

    #[test]
    fn deny_in_a_block_denies_whatever_else_it_lists() {
        for text in [
            "path \"kv/a\" { capabilities = [\"read\", \"deny\", \"update\"] }",
            "path \"kv/a\" {\n  policy = \"deny\"\n  capabilities = [\"read\"]\n}",
            "path \"kv/a\" {\n  policy = \"write\"\n  capabilities = [\"deny\"]\n}",
        ] {
            let policy = parse_policy("d", text).unwrap();
            assert_eq!(policy.rules[0].capabilities, Capabilities::DENY, "{text}");
        }
    }

    #[test]
    fn every_capability_openbao_accepts_is_understood() {
        // OpenBao's own list (internal/vault/policy/policy.go) and Vault's additions.
        let text = "path \"a\" { capabilities = [\"create\", \"read\", \"update\", \"delete\", \"list\", \"sudo\", \"patch\", \"scan\", \"subscribe\", \"recover\"] }";
        let policy = parse_policy("all", text).unwrap();
        assert_eq!(
            policy.rules[0].capabilities.words(),
            vec![
                "create",
                "delete",
                "list",
                "patch",
                "read",
                "recover",
                "scan",
                "subscribe",
                "sudo",
                "update"
            ]
        );
    }

    #[test]
    fn repeated_labels_get_their_own_lines_and_templates_are_flagged() {
        let text = "path \"a\" { capabilities = [\"read\"] }\npath \"a\" { capabilities = [\"list\"] }\npath \"kv/data/{{identity.entity.name}}/*\" { capabilities = [\"read\"] }\n";
        let policy = parse_policy("twice", text).unwrap();
        let lines: Vec<usize> = policy.rules.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![1, 2, 3]);
        assert!(policy.rules[2].templated);
        assert!(!policy.rules[0].templated);
    }

    #[test]
    fn blocks_are_located_by_their_place_not_by_their_label_text() {
        // Found by the fuzz tests: a block with the wrong number of labels was reported at line
        // 1, and a label written with escapes was not found in the text (line 1 as well).
        let error = parse_policy(
            "labels",
            "# one\npath \"a\" { capabilities = [\"read\"] }\npath {\n}\n",
        )
        .unwrap_err();
        assert_eq!(
            (error.line, error.message.contains("exactly one")),
            (3, true)
        );
        let text = "# escapes\n\npath \"kv/\\u00e9t\\u00e9\" {\n  capabilities = [\"reed\"]\n}\n";
        let error = parse_policy("escaped", text).unwrap_err();
        assert_eq!(error.line, 3, "{error}");
        let text = "# escapes\n\npath \"kv/a\\\"b\" {\n  capabilities = [\"read\"]\n}\n";
        let policy = parse_policy("escaped", text).unwrap();
        assert_eq!(
            (policy.rules[0].path.as_str(), policy.rules[0].line),
            ("kv/a\"b", 3)
        );
        // A JSON policy broken right after a line break: column 1, not 0.
        let error =
            parse_policy("json", "{\"path\": {\"a\": {\"\ncapabilities\": 1}}}").unwrap_err();
        assert_eq!((error.line, error.column), (2, 1), "{error}");
    }

    #[test]
    fn overlap() {
        assert!(may_overlap("secret/data/app/*", "secret/*"));
        assert!(may_overlap("secret/data/+/x", "secret/data/app/*"));
        assert!(!may_overlap("secret/data/app/*", "sys/*"));
        assert!(!may_overlap("a/b", "a/c"));
    }
}
