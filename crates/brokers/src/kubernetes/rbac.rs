//! RBAC as the API server's authorizer reads it: which rules a subject holds where, whether a
//! rule allows one request, and `aggregationRule` cluster roles computed the way the
//! clusterrole-aggregation controller computes them. Pure: no files, no estate.

use std::collections::{BTreeMap, BTreeSet};

use super::items::{LabelSelector, Rule};

/// Where a held rule applies: everywhere (a ClusterRoleBinding) or in one namespace (a
/// RoleBinding, which never reaches cluster-scoped objects).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Scope {
    Cluster,
    Namespace(String),
}

impl Scope {
    /// Whether a namespaced request in `namespace` is within this scope.
    pub fn covers(&self, namespace: &str) -> bool {
        match self {
            Scope::Cluster => true,
            Scope::Namespace(own) => own == namespace,
        }
    }

    /// `*` for the cluster, else the namespace: the word used in resource ids.
    pub fn word(&self) -> &str {
        match self {
            Scope::Cluster => "*",
            Scope::Namespace(namespace) => namespace,
        }
    }
}

/// `(namespace, name)` of a Role, `(None, name)` of a ClusterRole.
pub(super) type RoleKey = (Option<String>, String);

/// One role as the file defines it, and as aggregation leaves it.
#[derive(Debug, Clone)]
pub(super) struct RoleDef {
    pub rules: Vec<Rule>,
    pub labels: BTreeMap<String, String>,
    pub selectors: Option<Vec<LabelSelector>>,
    /// `items[i]` where the role is defined.
    pub location: String,
    /// For an aggregated cluster role: the cluster roles its rules came from.
    pub aggregated_from: Vec<String>,
    /// For an aggregated cluster role: listed rules that no source gives (the controller will
    /// remove them).
    pub stale_rules: usize,
}

/// A rule a subject holds through a binding.
#[derive(Debug, Clone)]
pub(super) struct Held {
    pub rule: Rule,
    pub scope: Scope,
    /// `rolebinding/<ns>/<name>` or `clusterrolebinding/<name>`, or how an escalation gave it.
    pub binding: String,
    pub role: RoleKey,
}

/// One request, as the authorizer sees it.
pub(super) struct Request<'r> {
    pub verb: &'r str,
    pub group: &'r str,
    /// `pods`, or `pods/exec` for a subresource.
    pub resource: &'r str,
    /// The object's name; `None` for a create of a new object or a list.
    pub name: Option<&'r str>,
}

fn matches_word(list: &[String], word: &str) -> bool {
    list.iter().any(|w| w == "*" || w == word)
}

impl Rule {
    /// Whether this rule allows `request`, with Kubernetes' own matching: `*` verbs, groups and
    /// resources match everything; `*/<sub>` matches that subresource of every resource (but
    /// `pods/*` is no pattern: it matches only a subresource literally named `*`); a rule with
    /// `resourceNames` matches only requests that name one of them.
    pub fn allows(&self, request: &Request<'_>) -> bool {
        if !matches_word(&self.verbs, request.verb)
            || !matches_word(&self.api_groups, request.group)
        {
            return false;
        }
        let subresource = request.resource.split_once('/').map(|(_, sub)| sub);
        let resource_matches = self.resources.iter().any(|r| {
            r == "*"
                || r == request.resource
                || subresource.is_some_and(|sub| r.strip_prefix("*/") == Some(sub))
        });
        if !resource_matches {
            return false;
        }
        self.resource_names.is_empty()
            || request
                .name
                .is_some_and(|name| self.resource_names.iter().any(|n| n == name))
    }

    /// Every verb on every resource of every group, for every name.
    pub fn is_everything(&self) -> bool {
        self.verbs.iter().any(|v| v == "*")
            && self.api_groups.iter().any(|g| g == "*")
            && self.resources.iter().any(|r| r == "*")
            && self.resource_names.is_empty()
    }
}

/// A held rule that allows a request, and where.
#[derive(Debug, Clone, Copy)]
pub(super) struct Allowed<'h> {
    pub held: &'h Held,
}

impl<'h> Allowed<'h> {
    pub fn scope(&self) -> &'h Scope {
        &self.held.scope
    }
    pub fn binding(&self) -> &'h str {
        &self.held.binding
    }
    /// The names the rule is limited to (empty: every name).
    pub fn names(&self) -> &'h [String] {
        &self.held.rule.resource_names
    }
}

/// The subject's rules that allow `verb` on `group`/`resource` for *some* name (a rule limited
/// by `resourceNames` is included; [`Allowed::names`] says which).
pub(super) fn allowing<'h>(
    held: &'h [Held],
    verbs: &[&str],
    group: &str,
    resource: &str,
) -> Vec<Allowed<'h>> {
    held.iter()
        .filter(|h| {
            verbs.iter().any(|verb| {
                let mut probe = h.rule.clone();
                // Ask the rule without its name limit; the caller reads the names.
                probe.resource_names.clear();
                probe.allows(&Request {
                    verb,
                    group,
                    resource,
                    name: None,
                })
            })
        })
        .map(|held| Allowed { held })
        .collect()
}

/// Whether any rule allows the request in `namespace` (`None`: a cluster-scoped object).
pub(super) fn allowed_at<'h>(
    held: &'h [Held],
    request: &Request<'_>,
    namespace: Option<&str>,
) -> Option<&'h Held> {
    held.iter().find(|h| {
        let in_scope = match namespace {
            Some(ns) => h.scope.covers(ns),
            None => h.scope == Scope::Cluster,
        };
        in_scope && h.rule.allows(request)
    })
}

/// The labels a selector asks for, as the API machinery reads them; an empty selector matches
/// every role. `Err` names an operator Kubernetes does not have.
pub(super) fn selector_matches(
    selector: &LabelSelector,
    labels: &BTreeMap<String, String>,
) -> Result<bool, String> {
    for (key, value) in selector.match_labels.iter().flatten() {
        if labels.get(key) != Some(value) {
            return Ok(false);
        }
    }
    for expression in selector.match_expressions.iter().flatten() {
        let values = expression.values.as_deref().unwrap_or_default();
        let present = labels.get(&expression.key);
        let holds = match expression.operator.as_str() {
            "In" => present.is_some_and(|v| values.contains(v)),
            "NotIn" => present.is_none_or(|v| !values.contains(v)),
            "Exists" => present.is_some(),
            "DoesNotExist" => present.is_none(),
            other => {
                return Err(format!(
                    "unknown selector operator `{other}`: expected In, NotIn, Exists or DoesNotExist"
                ));
            }
        };
        if !holds {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Fills every cluster role that has an `aggregationRule` with the rules of the cluster roles
/// its selectors match, as the aggregation controller does (repeatedly, so `admin` gets `edit`'s
/// rules that `edit` got from `view`'s sources). The controller owns those roles' rules and will
/// replace what the file lists under them; until it has, the API server authorizes the listed
/// ones. Both are kept (what is allowed now or once the controller has run), and the listed
/// rules no source gives are counted in [`RoleDef::stale_rules`].
/// `Err((location, message))` for a bad selector.
pub(super) fn aggregate(roles: &mut BTreeMap<RoleKey, RoleDef>) -> Result<(), (String, String)> {
    let aggregated: Vec<String> = roles
        .iter()
        .filter(|((ns, _), def)| ns.is_none() && def.selectors.is_some())
        .map(|((_, name), _)| name.clone())
        .collect();
    // Which cluster roles each aggregated role draws from (fixed: labels do not change).
    let mut sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for name in &aggregated {
        let def = &roles[&(None, name.clone())];
        let mut from = BTreeSet::new();
        for (s, selector) in def.selectors.iter().flatten().enumerate() {
            for ((ns, other), candidate) in roles.iter() {
                if ns.is_some() || other == name {
                    continue;
                }
                let matched = selector_matches(selector, &candidate.labels).map_err(|message| {
                    (
                        format!("{}.aggregationRule.clusterRoleSelectors[{s}]", def.location),
                        message,
                    )
                })?;
                if matched {
                    from.insert(other.clone());
                }
            }
        }
        sources.insert(name.clone(), from.into_iter().collect());
    }
    let listed: BTreeMap<String, Vec<Rule>> = aggregated
        .iter()
        .map(|name| (name.clone(), roles[&(None, name.clone())].rules.clone()))
        .collect();
    for name in &aggregated {
        if let Some(def) = roles.get_mut(&(None, name.clone())) {
            def.aggregated_from = sources[name].clone();
        }
    }
    // Each round adds what the sources hold now. Rules only grow, so this ends after at most one
    // round per aggregated role.
    for _ in 0..=aggregated.len() {
        let mut changed = false;
        for name in &aggregated {
            let mut rules: Vec<Rule> = roles[&(None, name.clone())].rules.clone();
            for source in &sources[name] {
                for rule in &roles[&(None, source.clone())].rules {
                    if !rules.contains(rule) {
                        rules.push(rule.clone());
                        changed = true;
                    }
                }
            }
            if let Some(def) = roles.get_mut(&(None, name.clone())) {
                def.rules = rules;
            }
        }
        if !changed {
            break;
        }
    }
    for name in &aggregated {
        let from_sources: BTreeSet<&Rule> = sources[name]
            .iter()
            .flat_map(|source| roles[&(None, source.clone())].rules.iter())
            .collect();
        let stale = listed[name]
            .iter()
            .filter(|rule| !from_sources.contains(rule))
            .count();
        if let Some(def) = roles.get_mut(&(None, name.clone())) {
            def.stale_rules = stale;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> Rule {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        Rule {
            verbs: owned(verbs),
            api_groups: owned(groups),
            resources: owned(resources),
            resource_names: owned(names),
            non_resource_urls: Vec::new(),
        }
    }

    fn request<'a>(verb: &'a str, group: &'a str, resource: &'a str) -> Request<'a> {
        Request {
            verb,
            group,
            resource,
            name: None,
        }
    }

    #[test]
    fn subresource_patterns_match_as_the_authorizer_matches_them() {
        let star_exec = rule(&["create"], &[""], &["*/exec"], &[]);
        assert!(star_exec.allows(&request("create", "", "pods/exec")));
        assert!(!star_exec.allows(&request("create", "", "pods")));
        // `pods/*` is not a pattern in RBAC.
        let pods_star = rule(&["create"], &[""], &["pods/*"], &[]);
        assert!(!pods_star.allows(&request("create", "", "pods/exec")));
        let everything = rule(&["*"], &["*"], &["*"], &[]);
        assert!(everything.allows(&request("impersonate", "", "users")));
        assert!(everything.is_everything());
    }

    #[test]
    fn resource_names_never_match_a_request_without_a_name() {
        let named = rule(&["create"], &[""], &["secrets"], &["db"]);
        assert!(!named.allows(&request("create", "", "secrets")));
        assert!(named.allows(&Request {
            name: Some("db"),
            ..request("create", "", "secrets")
        }));
        assert!(!named.allows(&Request {
            name: Some("other"),
            ..request("create", "", "secrets")
        }));
    }

    #[test]
    fn groups_and_verbs_must_match() {
        let apps = rule(&["create"], &["apps"], &["deployments"], &[]);
        assert!(!apps.allows(&request("create", "", "deployments")));
        assert!(!apps.allows(&request("update", "apps", "deployments")));
        assert!(apps.allows(&request("create", "apps", "deployments")));
    }

    #[test]
    fn selectors_follow_the_label_selector_operators() {
        let labels = BTreeMap::from([("tier".to_owned(), "web".to_owned())]);
        let selector =
            |json: serde_json::Value| -> LabelSelector { serde_json::from_value(json).unwrap() };
        let cases = [
            (serde_json::json!({}), true),
            (serde_json::json!({"matchLabels": {"tier": "web"}}), true),
            (serde_json::json!({"matchLabels": {"tier": "db"}}), false),
            (
                serde_json::json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "db"]}]}),
                true,
            ),
            (
                serde_json::json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}),
                false,
            ),
            (
                serde_json::json!({"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["x"]}]}),
                true,
            ),
            (
                serde_json::json!({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}),
                true,
            ),
            (
                serde_json::json!({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}),
                false,
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(
                selector_matches(&selector(json.clone()), &labels),
                Ok(expected),
                "{json}"
            );
        }
        assert!(
            selector_matches(
                &selector(
                    serde_json::json!({"matchExpressions": [{"key": "tier", "operator": "Gt"}]})
                ),
                &labels
            )
            .is_err()
        );
    }

    #[test]
    fn aggregation_is_transitive_and_keeps_listed_rules_until_the_controller_runs() {
        let label = |key: &str| BTreeMap::from([(key.to_owned(), "true".to_owned())]);
        let selects = |key: &str| -> Option<Vec<LabelSelector>> {
            Some(vec![
                serde_json::from_value(serde_json::json!({"matchLabels": {key: "true"}})).unwrap(),
            ])
        };
        let def = |rules: Vec<Rule>, labels, selectors| RoleDef {
            rules,
            labels,
            selectors,
            location: "items[0]".into(),
            aggregated_from: Vec::new(),
            stale_rules: 0,
        };
        let read_pods = rule(&["get"], &[""], &["pods"], &[]);
        let write_pods = rule(&["create"], &[""], &["pods"], &[]);
        let stale = rule(&["*"], &["*"], &["*"], &[]);
        let mut roles = BTreeMap::from([
            (
                (None, "admin".to_owned()),
                def(vec![stale.clone()], BTreeMap::new(), selects("to-admin")),
            ),
            (
                (None, "edit".to_owned()),
                def(vec![], label("to-admin"), selects("to-edit")),
            ),
            (
                (None, "view-source".to_owned()),
                def(vec![read_pods.clone()], label("to-edit"), None),
            ),
            (
                (None, "edit-source".to_owned()),
                def(vec![write_pods.clone()], label("to-admin"), None),
            ),
        ]);
        aggregate(&mut roles).unwrap();
        let admin = &roles[&(None, "admin".to_owned())];
        assert!(admin.rules.contains(&read_pods), "{:?}", admin.rules);
        assert!(admin.rules.contains(&write_pods));
        assert!(admin.rules.contains(&stale));
        assert_eq!(admin.stale_rules, 1);
        assert_eq!(admin.aggregated_from, ["edit", "edit-source"]);
        assert_eq!(roles[&(None, "edit".to_owned())].rules, [read_pods]);
    }
}
