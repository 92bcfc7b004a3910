//! The ACL of one token as OpenBao/Vault evaluates it — pure, no IO.
//!
//! The server builds a single ACL from *every* policy that applies to a token (token policies,
//! `default`, identity policies of its entity and of the entity's direct and inherited groups):
//! rules on the same path key merge (capabilities united; a `deny` on that key wins and stays),
//! and then, for a request path, exactly one rule decides:
//! 1. an exact rule on the path (for LIST, also on the path without its trailing `/`);
//! 2. otherwise among the longest matching glob prefix and every matching `+` rule, the one of
//!    highest priority: later first wildcard, then no trailing glob, then fewer `+` segments, then
//!    longer, then lexicographically larger;
//! 3. nothing matches: denied.
//!
//! The decided rule's capabilities are the answer (`deny` alone when it holds `deny` or nothing).
//! This is what `sys/capabilities` answers, and what the differential test compares it with.
//! Choosing the best rule per policy and uniting the policies is *not* the same: an exact rule of
//! one policy overrides another policy's glob on that path.

use std::collections::BTreeMap;

use bridle_core::{Action, ActionSet};

use super::policy::{Policy, PolicyRule};

/// A set of ACL capabilities, `deny` included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Capabilities(u16);

/// Every capability word Bridle understands, with its bit: OpenBao's list (`create`, `read`,
/// `update`, `delete`, `list`, `sudo`, `patch`, `scan`, `deny`) and HashiCorp Vault's additions
/// (`subscribe`, `recover`).
const WORDS: [(&str, u16); 11] = [
    ("create", 1 << 0),
    ("delete", 1 << 1),
    ("deny", 1 << 2),
    ("list", 1 << 3),
    ("patch", 1 << 4),
    ("read", 1 << 5),
    ("recover", 1 << 6),
    ("scan", 1 << 7),
    ("subscribe", 1 << 8),
    ("sudo", 1 << 9),
    ("update", 1 << 10),
];

impl Capabilities {
    pub const NONE: Capabilities = Capabilities(0);
    pub const DENY: Capabilities = Capabilities(1 << 2);

    /// The capability a policy word names, `None` for a word Bridle does not know.
    pub fn from_word(word: &str) -> Option<Capabilities> {
        WORDS
            .iter()
            .find(|(w, _)| *w == word)
            .map(|(_, bit)| Capabilities(*bit))
    }

    pub fn known_words() -> impl Iterator<Item = &'static str> {
        WORDS.iter().map(|(w, _)| *w)
    }

    pub fn has(self, word: &str) -> bool {
        Capabilities::from_word(word).is_some_and(|c| self.0 & c.0 != 0)
    }

    pub fn is_deny(self) -> bool {
        self.0 & Self::DENY.0 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn union(self, other: Capabilities) -> Capabilities {
        Capabilities(self.0 | other.0)
    }

    /// The words in this set, sorted (`deny` included when present).
    pub fn words(self) -> Vec<&'static str> {
        WORDS
            .iter()
            .filter(|(_, bit)| self.0 & bit != 0)
            .map(|(w, _)| *w)
            .collect()
    }

    /// What `sys/capabilities` prints for a path decided with this set: the sorted words, or
    /// `["deny"]` when the set holds `deny` or nothing at all.
    pub fn answer(self) -> Vec<&'static str> {
        if self.is_deny() || self.is_empty() {
            vec!["deny"]
        } else {
            self.words()
        }
    }
}

impl std::fmt::Display for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.answer().join(", "))
    }
}

/// How the server stores a rule's path, which decides how it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleShape {
    /// No wildcard: matches this path only.
    Exact,
    /// A trailing `*` without `+` segments: matches every path starting with the stem.
    Prefix,
    /// At least one `+` segment (`+` alone, `+/…`, or `…/+…`), possibly with a trailing `*`.
    Segments,
}

/// The server's key for a rule path: the shape and the path as stored (a glob without its `*`).
pub fn rule_key(path: &str) -> (RuleShape, String) {
    let path = path.strip_prefix('/').unwrap_or(path);
    let segments = path == "+" || path.contains("/+") || path.starts_with("+/");
    if segments {
        (RuleShape::Segments, path.to_owned())
    } else if let Some(stem) = path.strip_suffix('*') {
        (RuleShape::Prefix, stem.to_owned())
    } else {
        (RuleShape::Exact, path.to_owned())
    }
}

/// One rule of the merged ACL: every block of every policy written on the same path key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclRule {
    pub shape: RuleShape,
    /// The path as written in the policies (a prefix rule with its `*`).
    pub path: String,
    pub capabilities: Capabilities,
    /// The policies whose blocks on this path make up the rule, in the order merged.
    pub policies: Vec<String>,
    /// Some block narrows requests by parameters (`allowed_parameters`, …).
    pub parameter_constraints: bool,
    /// The earliest `expiration` of the blocks (RFC 3339 as written), if any.
    pub expiration: Option<String>,
}

impl AclRule {
    /// `policy a, b rule `path``, for provenance.
    pub fn provenance(&self) -> String {
        let word = if self.policies.len() == 1 {
            "policy"
        } else {
            "policies"
        };
        format!("{word} {} rule `{}`", self.policies.join(", "), self.path)
    }

    pub fn is_pattern(&self) -> bool {
        self.shape != RuleShape::Exact
    }

    /// Whether this rule matches `path` at all (whether or not it is the one that decides).
    pub fn matches(&self, path: &str) -> bool {
        let path = path.trim_start_matches('/');
        let (_, key) = rule_key(&self.path);
        match self.shape {
            RuleShape::Exact => key == path,
            RuleShape::Prefix => path.starts_with(&key),
            RuleShape::Segments => {
                let parts: Vec<&str> = path.split('/').collect();
                match_segments(&key, &parts).is_some()
            }
        }
    }
}

/// A templated rule left out of an ACL because the entity is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnresolvedRule {
    pub policy: String,
    pub path: String,
    pub capabilities: Capabilities,
}

/// What a templated path (`{{identity.entity.id}}` …) is resolved against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateScope<'a> {
    /// The token has no entity: the server drops every templated path.
    NoEntity,
    /// The entity (and its groups) is known: templates are substituted as the server does.
    Entity(&'a EntityFacts),
    /// Which entity will hold the token is not known (a role logged in through by many): the
    /// templated paths are left out of the ACL and reported by [`Acl::unresolved`].
    Unknown,
}

/// The entity facts a template can name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EntityFacts {
    pub id: String,
    pub name: String,
    pub metadata: BTreeMap<String, String>,
    pub aliases: Vec<AliasFacts>,
    /// Direct and inherited groups.
    pub groups: Vec<GroupFacts>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AliasFacts {
    pub mount_accessor: String,
    pub id: String,
    pub name: String,
    pub metadata: BTreeMap<String, String>,
    pub custom_metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupFacts {
    pub id: String,
    pub name: String,
    pub metadata: BTreeMap<String, String>,
}

/// A token's merged ACL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Acl {
    root: bool,
    exact: BTreeMap<String, AclRule>,
    prefix: BTreeMap<String, AclRule>,
    segments: BTreeMap<String, AclRule>,
    /// Templated rules left out because the entity is not known.
    unresolved: Vec<UnresolvedRule>,
}

/// The rule that decides a path, or none (denied), or root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict<'a> {
    Root,
    Rule(&'a AclRule),
    NoRule,
}

impl Verdict<'_> {
    /// The capabilities the path is decided with (`NONE` when no rule matches).
    pub fn capabilities(&self) -> Capabilities {
        match self {
            Verdict::Root => Capabilities::NONE,
            Verdict::Rule(rule) => rule.capabilities,
            Verdict::NoRule => Capabilities::NONE,
        }
    }

    /// The `sys/capabilities` answer: `["root"]`, or the sorted words, or `["deny"]`.
    pub fn answer(&self) -> Vec<&'static str> {
        match self {
            Verdict::Root => vec!["root"],
            other => other.capabilities().answer(),
        }
    }

    /// The deciding rule, if a rule decides.
    pub fn rule(&self) -> Option<&AclRule> {
        match self {
            Verdict::Rule(rule) => Some(rule),
            _ => None,
        }
    }

    /// True when the path is allowed some capability.
    pub fn allows_anything(&self) -> bool {
        match self {
            Verdict::Root => true,
            other => !other.capabilities().is_deny() && !other.capabilities().is_empty(),
        }
    }
}

impl Acl {
    /// Merges the policies (in the order given, as the server does) into one ACL. A policy named
    /// `root` makes the ACL root.
    pub fn new<'a>(
        policies: impl IntoIterator<Item = &'a Policy>,
        scope: TemplateScope<'_>,
    ) -> Acl {
        let mut acl = Acl::default();
        for policy in policies {
            if policy.name == "root" {
                acl.root = true;
                continue;
            }
            for rule in &policy.rules {
                let path = if rule.templated {
                    match &scope {
                        TemplateScope::NoEntity => continue,
                        TemplateScope::Unknown => {
                            acl.unresolved.push(UnresolvedRule {
                                policy: policy.name.clone(),
                                path: rule.path.clone(),
                                capabilities: rule.capabilities,
                            });
                            continue;
                        }
                        TemplateScope::Entity(entity) => match substitute(&rule.path, entity) {
                            Some(path) => path,
                            None => continue,
                        },
                    }
                } else {
                    rule.path.clone()
                };
                acl.insert(&policy.name, &path, rule);
            }
        }
        acl
    }

    /// True for the `root` policy: every path, every capability.
    pub fn is_root(&self) -> bool {
        self.root
    }

    fn insert(&mut self, policy: &str, path: &str, rule: &PolicyRule) {
        let (shape, key) = rule_key(path);
        let table = match shape {
            RuleShape::Exact => &mut self.exact,
            RuleShape::Prefix => &mut self.prefix,
            RuleShape::Segments => &mut self.segments,
        };
        let written = path.strip_prefix('/').unwrap_or(path).to_owned();
        match table.get_mut(&key) {
            None => {
                table.insert(
                    key,
                    AclRule {
                        shape,
                        path: written,
                        capabilities: rule.capabilities,
                        policies: vec![policy.to_owned()],
                        parameter_constraints: rule.parameter_constraints,
                        expiration: rule.expiration.clone(),
                    },
                );
            }
            Some(existing) => {
                // A deny already there stays whatever else is written on the path.
                if existing.capabilities.is_deny() {
                    return;
                }
                if !existing.policies.iter().any(|p| p == policy) {
                    existing.policies.push(policy.to_owned());
                }
                if let Some(expiration) = &rule.expiration {
                    let earlier = existing.expiration.as_ref().is_none_or(|e| expiration < e);
                    if earlier {
                        existing.expiration = Some(expiration.clone());
                    }
                }
                // A new deny replaces everything.
                if rule.capabilities.is_deny() {
                    existing.capabilities = Capabilities::DENY;
                    existing.parameter_constraints = false;
                    existing.policies = vec![policy.to_owned()];
                    return;
                }
                existing.capabilities = existing.capabilities.union(rule.capabilities);
                existing.parameter_constraints |= rule.parameter_constraints;
            }
        }
    }

    /// Every merged rule, exact rules first, then globs, then `+` rules, each sorted by key.
    pub fn rules(&self) -> impl Iterator<Item = &AclRule> {
        self.exact
            .values()
            .chain(self.prefix.values())
            .chain(self.segments.values())
    }

    /// Templated rules left out because the entity is not known.
    pub fn unresolved(&self) -> &[UnresolvedRule] {
        &self.unresolved
    }

    /// The rule that decides `path`, as `sys/capabilities` decides it (a LIST request).
    pub fn decide(&self, path: &str) -> Verdict<'_> {
        if self.root {
            return Verdict::Root;
        }
        let path = path.trim_start_matches('/');
        if let Some(rule) = self.exact.get(path) {
            return Verdict::Rule(rule);
        }
        let trimmed = path.strip_suffix('/');
        if let Some(rule) = trimmed.and_then(|t| self.exact.get(t)) {
            return Verdict::Rule(rule);
        }
        if let Some(rule) = self.non_exact(path) {
            return Verdict::Rule(rule);
        }
        if let Some(rule) = trimmed.and_then(|t| self.non_exact(t)) {
            return Verdict::Rule(rule);
        }
        Verdict::NoRule
    }

    /// The highest-priority glob or `+` rule matching `path`.
    fn non_exact(&self, path: &str) -> Option<&AclRule> {
        // Only the longest matching glob prefix is a candidate.
        let longest = (0..=path.len())
            .rev()
            .filter(|i| path.is_char_boundary(*i))
            .find_map(|i| self.prefix.get_key_value(&path[..i]));
        if self.segments.is_empty() {
            return longest.map(|(_, rule)| rule);
        }
        let mut best: Option<(Candidate<'_>, &AclRule)> = longest.map(|(stem, rule)| {
            (
                Candidate {
                    first_wildcard: stem.len(),
                    is_prefix: true,
                    wildcards: 0,
                    stem: stem.as_str(),
                },
                rule,
            )
        });
        let parts: Vec<&str> = path.split('/').collect();
        for (full, rule) in &self.segments {
            let Some(candidate) = match_segments(full, &parts) else {
                continue;
            };
            let better = best
                .as_ref()
                .is_none_or(|(current, _)| candidate.outranks(current));
            if better {
                best = Some((candidate, rule));
            }
        }
        best.map(|(_, rule)| rule)
    }
}

/// A matching non-exact rule, with what its priority is computed from.
#[derive(Debug, Clone, Copy)]
struct Candidate<'a> {
    /// Byte position of the first `+` (for a glob prefix: the stem's length).
    first_wildcard: usize,
    is_prefix: bool,
    wildcards: usize,
    /// The path without its trailing `*`.
    stem: &'a str,
}

impl Candidate<'_> {
    fn outranks(&self, other: &Candidate<'_>) -> bool {
        use std::cmp::Ordering;
        let order = self
            .first_wildcard
            .cmp(&other.first_wildcard)
            .then_with(|| other.is_prefix.cmp(&self.is_prefix))
            .then_with(|| other.wildcards.cmp(&self.wildcards))
            .then_with(|| self.stem.len().cmp(&other.stem.len()))
            .then_with(|| self.stem.cmp(other.stem));
        order == Ordering::Greater
    }
}

/// Whether a `+` rule matches the path's segments (the server's segment walk).
fn match_segments<'a>(full: &'a str, parts: &[&str]) -> Option<Candidate<'a>> {
    if full.is_empty() {
        return None;
    }
    let first_wildcard = full.find('+').unwrap_or(full.len());
    let (stem, is_prefix) = match full.strip_suffix('*') {
        Some(stem) => (stem, true),
        None => (full, false),
    };
    let pieces: Vec<&str> = stem.split('/').collect();
    if parts.len() < pieces.len() || (!is_prefix && pieces.len() != parts.len()) {
        return None;
    }
    let mut wildcards = 0;
    let last = pieces.len() - 1;
    for (i, piece) in pieces.iter().enumerate() {
        if *piece == "+" {
            wildcards += 1;
        } else if *piece == parts[i] || (is_prefix && i == last && parts[i].starts_with(piece)) {
        } else {
            return None;
        }
    }
    Some(Candidate {
        first_wildcard,
        is_prefix,
        wildcards,
        stem,
    })
}

/// Substitutes every `{{…}}` in a templated path for an entity, as the server does; `None` when
/// a template names nothing the entity has, or its value holds `/`, `*` or `+` (the server drops
/// that path).
pub fn substitute(path: &str, entity: &EntityFacts) -> Option<String> {
    let mut pieces = path.split("{{");
    let mut out = pieces.next()?.to_owned();
    if out.contains("}}") {
        return None;
    }
    for piece in pieces {
        let (template, rest) = piece.split_once("}}")?;
        if rest.contains("}}") {
            return None;
        }
        let value = template_value(template.trim(), entity)?;
        if value.is_empty() || value.contains(['/', '*', '+']) {
            return None;
        }
        out.push_str(&value);
        out.push_str(rest);
    }
    Some(out)
}

fn template_value(template: &str, entity: &EntityFacts) -> Option<String> {
    let from_map = |map: &BTreeMap<String, String>, key: &str| map.get(key).cloned();
    if let Some(selector) = template.strip_prefix("identity.entity.") {
        return match selector {
            "id" => Some(entity.id.clone()),
            "name" => Some(entity.name.clone()),
            _ if selector.starts_with("metadata.") => {
                from_map(&entity.metadata, &selector["metadata.".len()..])
            }
            _ if selector.starts_with("aliases.") => {
                let (accessor, field) = selector["aliases.".len()..].split_once('.')?;
                let alias = entity
                    .aliases
                    .iter()
                    .find(|a| a.mount_accessor == accessor)?;
                match field {
                    "id" => Some(alias.id.clone()),
                    "name" => Some(alias.name.clone()),
                    _ if field.starts_with("metadata.") => {
                        from_map(&alias.metadata, &field["metadata.".len()..])
                    }
                    _ if field.starts_with("custom_metadata.") => {
                        from_map(&alias.custom_metadata, &field["custom_metadata.".len()..])
                    }
                    _ => None,
                }
            }
            _ => None,
        };
    }
    if let Some(selector) = template.strip_prefix("identity.groups.") {
        let (by, rest) = selector.split_once('.')?;
        let (key, field) = rest.split_once('.')?;
        let group = entity.groups.iter().find(|g| match by {
            "ids" => g.id == key,
            "names" => g.name == key,
            _ => false,
        })?;
        return match field {
            "id" => Some(group.id.clone()),
            "name" => Some(group.name.clone()),
            _ if field.starts_with("metadata.") => {
                from_map(&group.metadata, &field["metadata.".len()..])
            }
            _ => None,
        };
    }
    // `time.now…` depends on the moment of each request: never resolved from a snapshot.
    None
}

/// What a path of a KV secret engine does to the secret it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvOperation {
    /// KV v1 `<mount><key>`.
    V1,
    /// KV v2 `<mount>data/<key>`: the value.
    Data,
    /// KV v2 `<mount>metadata/<key>`: versions, settings and key names, never the value.
    Metadata,
    /// KV v2 `<mount>delete/<key>`: soft-delete versions.
    Delete,
    /// KV v2 `<mount>undelete/<key>`.
    Undelete,
    /// KV v2 `<mount>destroy/<key>`: destroy versions for good.
    Destroy,
    /// KV v2 `<mount>subkeys/<key>`: the value's key structure without values.
    Subkeys,
}

impl KvOperation {
    /// The KV v2 path of a secret for each operation: `(operation, path)`.
    pub fn v2_paths(mount: &str, key: &str) -> [(KvOperation, String); 5] {
        [
            (KvOperation::Data, format!("{mount}data/{key}")),
            (KvOperation::Metadata, format!("{mount}metadata/{key}")),
            (KvOperation::Delete, format!("{mount}delete/{key}")),
            (KvOperation::Undelete, format!("{mount}undelete/{key}")),
            (KvOperation::Destroy, format!("{mount}destroy/{key}")),
        ]
    }

    /// The KV v2 operation a path after the mount names (`data/…` → `Data`), if any.
    pub fn of_v2_rest(rest: &str) -> Option<KvOperation> {
        let (head, _) = rest.split_once('/')?;
        Some(match head {
            "data" => KvOperation::Data,
            "metadata" => KvOperation::Metadata,
            "delete" => KvOperation::Delete,
            "undelete" => KvOperation::Undelete,
            "destroy" => KvOperation::Destroy,
            "subkeys" => KvOperation::Subkeys,
            _ => return None,
        })
    }
}

/// The estate actions capabilities grant on a path:
/// - `read` reads what the path holds → `read`, except where that is not the secret's value
///   (KV v2 `metadata/`, `subkeys/`, `delete/`, `undelete/`, `destroy/`), which maps to nothing;
/// - `create`, `update`, `patch`, `delete`, `recover` change it → `write` (on KV v2 `metadata/`,
///   `delete/`, `undelete/`, `destroy/` they change or destroy the secret's versions: `write`);
/// - `list` and `scan` reveal key names, never values → nothing (`list` alone does not reach the
///   credentials a secret store holds);
/// - `subscribe` receives event notifications, not contents → nothing;
/// - `sudo` opens root-protected endpoints: with any other operation outside a KV engine it adds
///   `admin`; alone, or on a KV path, nothing;
/// - `deny` → nothing.
pub fn actions_for(capabilities: Capabilities, kv: Option<KvOperation>) -> ActionSet {
    let mut actions = ActionSet::default();
    if capabilities.is_deny() {
        return actions;
    }
    // Only a KV value path (or a path outside KV) is read by `read`; metadata and subkeys
    // hold no value, and delete/undelete/destroy take writes only.
    let reads_value = matches!(kv, None | Some(KvOperation::V1 | KvOperation::Data));
    if capabilities.has("read") && reads_value {
        actions.insert(Action::Read);
    }
    let writes = ["create", "update", "patch", "delete", "recover"]
        .iter()
        .any(|w| capabilities.has(w));
    if writes {
        actions.insert(Action::Write);
    }
    let operates = !actions.is_empty() || capabilities.has("read");
    if capabilities.has("sudo") && kv.is_none() && operates {
        actions.insert(Action::Admin);
    }
    actions
}

#[cfg(test)]
mod tests;
