//! OpenBao/Vault ACL policies: HCL (or JSON) text into path rules, and the ACL semantics needed to
//! turn rules into grants — path patterns (`*` glob suffix, `+` one segment), Vault's rule
//! priority (the most specific matching rule of a policy decides), and `deny`, which wins across
//! policies.

use std::cmp::Ordering;

use bridle_core::{Action, ActionSet};

/// One `path "…" { capabilities = [...] }` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRule {
    pub path: PathPattern,
    /// Allowing capabilities mapped to estate actions (empty for a pure `deny`).
    pub actions: ActionSet,
    /// `deny` was among the capabilities: this path is refused whatever other rules say.
    pub deny: bool,
    /// The capabilities as written, sorted, for observations.
    pub capabilities: Vec<String>,
    /// The rule narrows requests by parameters (`allowed_parameters` …): access is narrower
    /// than the capabilities say.
    pub parameter_constraints: bool,
    /// 1-based line of the block in the policy text.
    pub line: usize,
}

/// A parsed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub name: String,
    pub rules: Vec<PathRule>,
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

/// A policy path: literal segments, `+` segments, and an optional trailing `*` glob.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PathPattern {
    text: String,
}

impl PathPattern {
    pub fn new(text: &str) -> PathPattern {
        PathPattern {
            text: text.trim_start_matches('/').to_owned(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True for a pattern (a `*` glob or a `+` segment): one rule standing for many paths.
    pub fn is_pattern(&self) -> bool {
        self.is_glob() || self.plus_count() > 0
    }

    fn is_glob(&self) -> bool {
        self.text.ends_with('*')
    }

    /// The text without a trailing glob.
    fn stem(&self) -> &str {
        self.text.strip_suffix('*').unwrap_or(&self.text)
    }

    fn plus_count(&self) -> usize {
        self.stem().split('/').filter(|s| *s == "+").count()
    }

    /// Byte position of the first `+` segment or `*`, or the length when there is none.
    fn first_wildcard(&self) -> usize {
        let mut position = 0;
        for segment in self.stem().split('/') {
            if segment == "+" {
                return position;
            }
            position += segment.len() + 1;
        }
        if self.is_glob() {
            self.text.len() - 1
        } else {
            self.text.len()
        }
    }

    /// Whether a concrete path is one of this pattern's paths (Vault's matching: `+` is exactly
    /// one segment, a trailing `*` any suffix, possibly empty and possibly mid-segment).
    pub fn matches(&self, path: &str) -> bool {
        let stem: Vec<&str> = self.stem().split('/').collect();
        let concrete: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let last = stem.len() - 1;
        for (i, piece) in stem.iter().enumerate() {
            let Some(segment) = concrete.get(i) else {
                return false;
            };
            if i == last && self.is_glob() {
                return *piece == "+" || segment.starts_with(piece);
            }
            if *piece != "+" && piece != segment {
                return false;
            }
        }
        self.is_glob() || concrete.len() == stem.len()
    }

    /// Whether every path of `other` is also a path of `self`.
    pub fn covers(&self, other: &PathPattern) -> bool {
        if other.is_glob() && !self.is_glob() {
            return false;
        }
        let own: Vec<&str> = self.stem().split('/').collect();
        let theirs: Vec<&str> = other.stem().split('/').collect();
        let last = own.len() - 1;
        for (i, piece) in own.iter().enumerate() {
            let Some(segment) = theirs.get(i) else {
                return false;
            };
            let segment_is_last = i == theirs.len() - 1;
            if i == last && self.is_glob() {
                // Their segment (possibly `+`, possibly continued by their glob) must start with
                // our piece for every path it stands for.
                return *piece == "+"
                    || (*segment != "+"
                        && segment.starts_with(piece)
                        && !(segment_is_last && other.is_glob() && segment.len() < piece.len()));
            }
            if *piece != "+" && (piece != segment || (segment_is_last && other.is_glob())) {
                return false;
            }
        }
        !other.is_glob() && own.len() == theirs.len()
    }

    /// Whether some path could match both (a conservative test: `true` when unsure).
    pub fn may_overlap(&self, other: &PathPattern) -> bool {
        let a: Vec<&str> = self.stem().split('/').collect();
        let b: Vec<&str> = other.stem().split('/').collect();
        let common = a.len().min(b.len());
        for i in 0..common {
            let (x, y) = (a[i], b[i]);
            let x_open = i == a.len() - 1 && self.is_glob();
            let y_open = i == b.len() - 1 && other.is_glob();
            if x == "+" || y == "+" {
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
        match a.len().cmp(&b.len()) {
            Ordering::Equal => true,
            Ordering::Less => self.is_glob() && a.last().is_some_and(|s| s.is_empty()),
            Ordering::Greater => other.is_glob() && b.last().is_some_and(|s| s.is_empty()),
        }
    }

    /// Vault's rule priority: `Greater` means `self` wins over `other` when both match a path.
    /// A later first wildcard wins; then no trailing glob; then fewer `+` segments; then longer;
    /// then lexicographically larger.
    pub fn priority(&self, other: &PathPattern) -> Ordering {
        self.first_wildcard()
            .cmp(&other.first_wildcard())
            .then_with(|| other.is_glob().cmp(&self.is_glob()))
            .then_with(|| other.plus_count().cmp(&self.plus_count()))
            .then_with(|| self.text.len().cmp(&other.text.len()))
            .then_with(|| self.text.cmp(&other.text))
    }
}

/// Maps a capability to the estate actions it grants, `Err` for an unknown word.
fn capability_actions(capability: &str) -> Result<Option<Action>, ()> {
    Ok(match capability {
        "read" | "list" | "subscribe" => Some(Action::Read),
        "create" | "update" | "patch" | "delete" | "recover" => Some(Action::Write),
        "sudo" => Some(Action::Admin),
        "deny" => None,
        _ => return Err(()),
    })
}

/// The deprecated `policy = "read"` form.
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
    // Each `path` block as (label, its body as JSON).
    let mut blocks: Vec<(String, serde_json::Value)> = Vec::new();
    if text.trim_start().starts_with('{') {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| error(e.line(), e.column(), e.to_string()))?;
        let list = match value.get("path").cloned().unwrap_or_default() {
            serde_json::Value::Array(list) => list,
            serde_json::Value::Null => Vec::new(),
            single => vec![single],
        };
        for item in list {
            let Some(object) = item.as_object() else {
                return Err(error(1, 1, "`path` must map paths to rule objects".into()));
            };
            blocks.extend(object.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    } else {
        let body = hcl::parse(text).map_err(|e| match e {
            hcl::Error::Parse(parse) => error(
                parse.location().line(),
                parse.location().column(),
                parse.message().to_owned(),
            ),
            other => error(1, 1, other.to_string()),
        })?;
        for block in body.blocks() {
            if block.identifier() != "path" {
                continue;
            }
            let [label] = block.labels() else {
                return Err(error(
                    1,
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
            blocks.push((label.as_str().to_owned(), serde_json::Value::Object(object)));
        }
    }
    let mut rules = Vec::new();
    for (path, body) in &blocks {
        let line = line_of(text, path);
        let located = |message: String| error(line, 1, format!("path \"{path}\": {message}"));
        let mut capabilities: Vec<String> =
            match body.get("capabilities").or_else(|| body.get("policy")) {
                Some(serde_json::Value::Array(words)) => words
                    .iter()
                    .map(|w| {
                        w.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| located(format!("capability {w} is not a string")))
                    })
                    .collect::<Result<_, _>>()?,
                Some(serde_json::Value::String(word)) if body.get("capabilities").is_none() => {
                    legacy_capabilities(word)
                        .ok_or_else(|| located(format!("unknown policy word `{word}`")))?
                        .iter()
                        .map(|w| (*w).to_owned())
                        .collect()
                }
                Some(other) => {
                    return Err(located(format!(
                        "`capabilities` must be a list of strings, found {other}"
                    )));
                }
                None => return Err(located("no `capabilities` given".into())),
            };
        capabilities.sort();
        capabilities.dedup();
        let mut actions = ActionSet::default();
        let mut deny = false;
        for capability in &capabilities {
            match capability_actions(capability) {
                Ok(Some(action)) => actions.insert(action),
                Ok(None) => deny = true,
                Err(()) => {
                    return Err(located(format!(
                        "unknown capability `{capability}` (expected create, read, update, patch, delete, list, sudo, deny, subscribe or recover)"
                    )));
                }
            }
        }
        let parameter_constraints = PARAMETER_KEYS.iter().any(|k| body.get(*k).is_some());
        rules.push(PathRule {
            path: PathPattern::new(path),
            actions: if deny { ActionSet::default() } else { actions },
            deny,
            capabilities,
            parameter_constraints,
            line,
        });
    }
    rules.sort_by_key(|r| r.line);
    Ok(Policy {
        name: name.to_owned(),
        rules,
    })
}

/// The 1-based line where `path "<label>"` is written (1 when it cannot be found).
fn line_of(text: &str, label: &str) -> usize {
    let quoted = format!("\"{label}\"");
    text.lines()
        .position(|line| line.contains(&quoted))
        .map_or(1, |i| i + 1)
}

/// What a set of policies allows on one concrete path: per policy the highest-priority matching
/// rule decides, the policies' results are united, and a `deny` from any policy wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub actions: ActionSet,
    /// `(policy, rule path)` of the rules that decided, for provenance.
    pub deciding: Vec<(String, String)>,
    /// `(policy, rule path)` of a deny that removed access, if any.
    pub denied_by: Option<(String, String)>,
}

pub fn evaluate<'a>(policies: impl IntoIterator<Item = &'a Policy>, path: &str) -> Decision {
    let mut actions = ActionSet::default();
    let mut deciding = Vec::new();
    let mut denied_by = None;
    for policy in policies {
        let best = policy
            .rules
            .iter()
            .filter(|r| r.path.matches(path))
            .max_by(|a, b| a.path.priority(&b.path));
        if let Some(rule) = best {
            if rule.deny {
                denied_by.get_or_insert((policy.name.clone(), rule.path.as_str().to_owned()));
            } else if !rule.actions.is_empty() {
                actions = actions.union(rule.actions);
                deciding.push((policy.name.clone(), rule.path.as_str().to_owned()));
            }
        }
    }
    if denied_by.is_some() {
        actions = ActionSet::default();
        deciding.clear();
    }
    Decision {
        actions,
        deciding,
        denied_by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> PathPattern {
        PathPattern::new(text)
    }

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

path "sys/leases/*" { capabilities = ["sudo", "read"] }
"#;
        let policy = parse_policy("app", text).unwrap();
        let summary: Vec<(String, String, bool, usize)> = policy
            .rules
            .iter()
            .map(|r| {
                (
                    r.path.as_str().to_owned(),
                    r.actions.to_string(),
                    r.deny,
                    r.line,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("secret/data/app/*".into(), "read".into(), false, 3),
                ("secret/data/+/config".into(), "write".into(), false, 7),
                ("secret/data/app/admin".into(), "".into(), true, 11),
                ("sys/leases/*".into(), "admin,read".into(), false, 15),
            ]
        );
        assert!(policy.rules[0].path.is_pattern());
        assert!(policy.rules[1].path.is_pattern());
        assert!(!policy.rules[2].path.is_pattern());
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
            error.to_string().contains("policy `typo` line 4"),
            "{error}"
        );
        let error = parse_policy("empty", "path \"a\" {\n}\n").unwrap_err();
        assert!(error.message.contains("no `capabilities`"), "{error}");
    }

    #[test]
    fn json_and_legacy_forms() {
        let policy = parse_policy(
            "j",
            r#"{"path": {"kv/*": {"capabilities": ["read"]}, "kv/x": {"policy": "deny"}}}"#,
        )
        .unwrap();
        assert_eq!(policy.rules.len(), 2);
        let legacy = policy
            .rules
            .iter()
            .find(|r| r.path.as_str() == "kv/x")
            .unwrap();
        assert!(legacy.deny);
    }

    #[test]
    fn matching() {
        assert!(p("secret/*").matches("secret/data/a"));
        assert!(p("secret/data/ap*").matches("secret/data/apple"));
        assert!(!p("secret/data/ap*").matches("secret/metadata/apple"));
        assert!(p("secret/+/config").matches("secret/data/config"));
        assert!(!p("secret/+/config").matches("secret/data/x/config"));
        assert!(p("secret/+/x/*").matches("secret/a/x/b/c"));
        assert!(p("a/b").matches("a/b"));
        assert!(!p("a/b").matches("a/b/c"));
    }

    #[test]
    fn covering_and_overlap() {
        assert!(p("secret/*").covers(&p("secret/data/app/*")));
        assert!(p("secret/*").covers(&p("secret/data/+/x")));
        assert!(p("secret/+/app/*").covers(&p("secret/data/app/x")));
        assert!(!p("secret/data/app/x").covers(&p("secret/data/app/*")));
        assert!(!p("secret/data/app/*").covers(&p("secret/*")));
        assert!(p("secret/data/app/x").covers(&p("secret/data/app/x")));
        assert!(p("secret/data/app/*").may_overlap(&p("secret/*")));
        assert!(p("secret/data/+/x").may_overlap(&p("secret/data/app/*")));
        assert!(!p("secret/data/app/*").may_overlap(&p("sys/*")));
        assert!(!p("a/b").may_overlap(&p("a/c")));
    }

    #[test]
    fn priority_follows_vault() {
        // Exact beats glob; a later wildcard beats an earlier one; fewer `+` wins.
        assert_eq!(p("a/b").priority(&p("a/*")), Ordering::Greater);
        assert_eq!(p("a/b/*").priority(&p("a/*")), Ordering::Greater);
        assert_eq!(p("a/+/c").priority(&p("a/+/*")), Ordering::Greater);
        assert_eq!(p("a/b/+").priority(&p("a/+/c")), Ordering::Greater);
    }

    #[test]
    fn deny_wins_across_policies_but_specific_rules_win_inside_one() {
        let reader = parse_policy(
            "reader",
            "path \"secret/*\" { capabilities = [\"read\"] }\npath \"secret/data/open\" { capabilities = [\"update\"] }",
        )
        .unwrap();
        let guard = parse_policy(
            "guard",
            "path \"secret/data/admin\" { capabilities = [\"deny\"] }",
        )
        .unwrap();
        let open = evaluate([&reader, &guard], "secret/data/open");
        // The exact rule decides inside `reader`: update only, not the glob's read.
        assert_eq!(open.actions.to_string(), "write");
        let admin = evaluate([&reader, &guard], "secret/data/admin");
        assert!(admin.actions.is_empty());
        assert_eq!(
            admin.denied_by,
            Some(("guard".into(), "secret/data/admin".into()))
        );
        let other = evaluate([&reader, &guard], "secret/data/other");
        assert_eq!(other.actions.to_string(), "read");
        assert_eq!(
            other.deciding,
            vec![("reader".to_owned(), "secret/*".to_owned())]
        );
    }
}
