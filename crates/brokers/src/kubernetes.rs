//! Kubernetes RBAC from `kubectl get serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings -A -o json`
//! (a `List` of those five kinds), for clusters Bridle does not connect to.
//!
//! Mapping (ids are prefixed `k8s:<cluster>/`, so two clusters can be imported side by side):
//! - a service account becomes an identity of kind `k8s_service_account`
//!   (`k8s:<cluster>/<namespace>/serviceaccount/<name>`); a `User` subject an identity of kind
//!   `human`;
//! - each rule of a bound role becomes resources: one per (scope, API group, resource type), or
//!   per named object when the rule lists `resourceNames`, e.g. `k8s:prod/billing/secrets`,
//!   `k8s:prod/billing/secrets/stripe-key`, `k8s:prod/*/deployments.apps` (cluster-wide), and one
//!   per non-resource URL (`k8s:prod/url/healthz`);
//! - verbs map to actions: get/list/watch → read; create/update/patch/delete/deletecollection →
//!   write; bind/escalate/impersonate/approve/sign → admin; `*` → read, write, admin;
//! - a binding gives each subject a grant to each of its role's targets, scoped to the binding's
//!   namespace (a ClusterRole bound by a RoleBinding reaches that namespace only; by a
//!   ClusterRoleBinding, every namespace: `*`);
//! - acting as another service account is followed: `create serviceaccounts/token` or
//!   `impersonate serviceaccounts` is an `impersonate` grant on each account in scope (only the
//!   `resourceNames` when listed), and pods, workload controllers and `pods/exec` list every
//!   account of their namespace in `runs_as` (whoever writes them runs code as those accounts).
//!
//! A `*` in verbs, resources or API groups is kept as a pattern in the resource id and every grant
//! it produced says `over-approximation` in its conditions (and in its `k8s.grant` observation):
//! the pattern may cover objects that do not exist. Group subjects are observations only: group
//! membership is not in kubectl's output, so the members are an unknown part, never guessed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use bridle_core::model::{
    Action, ActionSet, Grant, Identity, IdentityKind, Resource, ResourceKind, Sensitivity,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::spire::{read_json_document, sorted};
use crate::{BrokerError, Collected, Observation, UnknownPart};

#[derive(Debug, Deserialize)]
struct ItemList {
    kind: String,
    /// Read as values first and then by their `kind`, so that a problem inside an item keeps its
    /// full JSON path (an internally tagged enum would lose it).
    items: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct ItemKind {
    kind: String,
}

#[derive(Debug, Deserialize)]
struct ServiceAccountItem {
    metadata: Metadata,
}

#[derive(Debug, Deserialize)]
struct RoleItem {
    metadata: Metadata,
    #[serde(default)]
    rules: Option<Vec<Rule>>,
}

#[derive(Debug, Deserialize)]
struct BindingItem {
    metadata: Metadata,
    #[serde(rename = "roleRef")]
    role_ref: RoleRef,
    #[serde(default)]
    subjects: Option<Vec<Subject>>,
}

#[derive(Debug)]
enum Item {
    ServiceAccount(ServiceAccountItem),
    Role(RoleItem),
    ClusterRole(RoleItem),
    RoleBinding(BindingItem),
    ClusterRoleBinding(BindingItem),
}

/// Reads `items[index]` by its kind, locating problems under `items[index]`.
fn read_item(value: &Value, index: usize, file: &str) -> Result<Item, BrokerError> {
    fn typed<T: serde::de::DeserializeOwned>(
        value: &Value,
        index: usize,
        file: &str,
    ) -> Result<T, BrokerError> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let inner = e.path().to_string();
            BrokerError::File {
                file: file.to_owned(),
                location: if inner == "." {
                    format!("items[{index}]")
                } else {
                    format!("items[{index}].{inner}")
                },
                message: e.into_inner().to_string(),
            }
        })
    }
    let ItemKind { kind } = typed(value, index, file)?;
    Ok(match kind.as_str() {
        "ServiceAccount" => Item::ServiceAccount(typed(value, index, file)?),
        "Role" => Item::Role(typed(value, index, file)?),
        "ClusterRole" => Item::ClusterRole(typed(value, index, file)?),
        "RoleBinding" => Item::RoleBinding(typed(value, index, file)?),
        "ClusterRoleBinding" => Item::ClusterRoleBinding(typed(value, index, file)?),
        other => {
            return Err(BrokerError::File {
                file: file.to_owned(),
                location: format!("items[{index}].kind"),
                message: format!(
                    "unexpected kind `{other}`: expected ServiceAccount, Role, ClusterRole, RoleBinding or ClusterRoleBinding"
                ),
            });
        }
    })
}

#[derive(Debug, Deserialize)]
struct Metadata {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    verbs: Vec<String>,
    #[serde(default)]
    api_groups: Vec<String>,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    resource_names: Vec<String>,
    #[serde(default, rename = "nonResourceURLs")]
    non_resource_urls: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RoleRef {
    kind: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct Subject {
    kind: String,
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

/// One role's rules and where it was defined (for locating problems).
struct RoleDef {
    rules: Vec<Rule>,
    location: String,
}

/// A grant being assembled: actions and provenance unioned over every rule and binding that gives
/// the same subject the same target.
#[derive(Default)]
struct PendingGrant {
    actions: ActionSet,
    bindings: BTreeSet<String>,
    over_approximation: BTreeSet<String>,
    /// How a grant to an identity arises (`create serviceaccounts/token`…).
    notes: BTreeSet<String>,
}

/// Reads a kubectl RBAC `List` as cluster `cluster` (used in every id; pick one name per cluster).
/// Every problem is a [`BrokerError::File`] naming the JSON path; nothing is returned partially.
pub fn read(path: &Path, cluster: &str) -> Result<Collected, BrokerError> {
    let file = path.display().to_string();
    let fail = |location: String, message: String| BrokerError::File {
        file: file.clone(),
        location,
        message,
    };
    if cluster.is_empty() || cluster.contains(['/', ' ']) {
        return Err(fail(
            "$".into(),
            format!("cluster name `{cluster}` must be a non-empty word without `/` or spaces"),
        ));
    }
    let list: ItemList = read_json_document(path)?;
    if list.kind != "List" {
        return Err(fail(
            "kind".into(),
            format!(
                "expected `List` (kubectl get … -A -o json), found `{}`",
                list.kind
            ),
        ));
    }

    let mut identities: BTreeMap<String, Identity> = BTreeMap::new();
    let mut roles: BTreeMap<(Option<String>, String), RoleDef> = BTreeMap::new();
    let mut bindings = Vec::new();
    // Service accounts of the file per namespace: who a pod there may run as.
    let mut accounts: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();

    // First pass: service accounts and role definitions (bindings may precede their roles).
    let items = list
        .items
        .iter()
        .enumerate()
        .map(|(index, value)| read_item(value, index, &file))
        .collect::<Result<Vec<Item>, BrokerError>>()?;
    for (index, item) in items.iter().enumerate() {
        let at = |field: &str| format!("items[{index}].{field}");
        match item {
            Item::ServiceAccount(ServiceAccountItem { metadata }) => {
                let namespace = require_namespace(metadata, &at("metadata.namespace"), &fail)?;
                let id = service_account_id(cluster, namespace, &metadata.name);
                accounts
                    .entry(namespace.to_owned())
                    .or_default()
                    .insert(metadata.name.clone(), id.clone());
                identities.insert(
                    id.clone(),
                    service_account(&id, namespace, &metadata.name, cluster),
                );
            }
            Item::Role(RoleItem { metadata, rules })
            | Item::ClusterRole(RoleItem { metadata, rules }) => {
                let namespace = match item {
                    Item::Role(_) => Some(
                        require_namespace(metadata, &at("metadata.namespace"), &fail)?.to_owned(),
                    ),
                    _ => None,
                };
                let rules = rules.clone().unwrap_or_default();
                for (r, rule) in rules.iter().enumerate() {
                    check_rule(rule, &at(&format!("rules[{r}]")), &fail)?;
                }
                let key = (namespace, metadata.name.clone());
                if roles.contains_key(&key) {
                    return Err(fail(
                        at("metadata.name"),
                        format!("role `{}` is defined twice", metadata.name),
                    ));
                }
                roles.insert(
                    key,
                    RoleDef {
                        rules,
                        location: format!("items[{index}]"),
                    },
                );
            }
            Item::RoleBinding(BindingItem {
                metadata,
                role_ref,
                subjects,
            })
            | Item::ClusterRoleBinding(BindingItem {
                metadata,
                role_ref,
                subjects,
            }) => {
                let namespace = match item {
                    Item::RoleBinding(_) => Some(
                        require_namespace(metadata, &at("metadata.namespace"), &fail)?.to_owned(),
                    ),
                    _ => None,
                };
                let role_namespace = match (role_ref.kind.as_str(), &namespace) {
                    ("Role", Some(ns)) => Some(ns.clone()),
                    ("Role", None) => {
                        return Err(fail(
                            at("roleRef.kind"),
                            "a ClusterRoleBinding can only refer to a ClusterRole".into(),
                        ));
                    }
                    ("ClusterRole", _) => None,
                    (other, _) => {
                        return Err(fail(
                            at("roleRef.kind"),
                            format!("expected Role or ClusterRole, found `{other}`"),
                        ));
                    }
                };
                let subjects = subjects.as_deref().unwrap_or_default();
                for (s, subject) in subjects.iter().enumerate() {
                    if !matches!(subject.kind.as_str(), "ServiceAccount" | "User" | "Group") {
                        return Err(fail(
                            at(&format!("subjects[{s}].kind")),
                            format!(
                                "expected ServiceAccount, User or Group, found `{}`",
                                subject.kind
                            ),
                        ));
                    }
                    if subject.kind == "ServiceAccount"
                        && subject.namespace.as_deref().unwrap_or_default().is_empty()
                    {
                        return Err(fail(
                            at(&format!("subjects[{s}].namespace")),
                            "a ServiceAccount subject needs its namespace".into(),
                        ));
                    }
                }
                let binding_kind = match item {
                    Item::RoleBinding(_) => "rolebinding",
                    _ => "clusterrolebinding",
                };
                bindings.push((
                    index,
                    binding_kind,
                    metadata,
                    namespace,
                    role_namespace,
                    role_ref,
                    subjects,
                ));
            }
        }
    }

    let mut resources: BTreeMap<String, Resource> = BTreeMap::new();
    let mut pending: BTreeMap<(String, String), PendingGrant> = BTreeMap::new();
    let mut observations = Vec::new();
    let mut unknowns = Vec::new();

    for (index, binding_kind, metadata, namespace, role_namespace, role_ref, subjects) in bindings {
        let binding = match &namespace {
            Some(ns) => format!("{binding_kind}/{ns}/{}", metadata.name),
            None => format!("{binding_kind}/{}", metadata.name),
        };
        let Some(role) = roles.get(&(role_namespace.clone(), role_ref.name.clone())) else {
            // A binding to a role that does not exist grants nothing today, but creating that
            // role later would: recorded, not an error.
            unknowns.push(UnknownPart {
                part: format!("{binding} (items[{index}])"),
                reason: format!(
                    "refers to {} `{}`, which is not in the file; it grants nothing until that role exists",
                    role_ref.kind, role_ref.name
                ),
            });
            continue;
        };
        // Where the role's rules apply: the binding's namespace, or every namespace.
        let scope = namespace.clone().unwrap_or_else(|| "*".to_owned());

        let mut subject_ids = Vec::new();
        for subject in subjects {
            match subject.kind.as_str() {
                "ServiceAccount" => {
                    let ns = subject.namespace.as_deref().unwrap_or_default();
                    let id = service_account_id(cluster, ns, &subject.name);
                    if !identities.contains_key(&id) {
                        // Bound but not (or no longer) present: whoever creates it gets the role.
                        observations.push(Observation {
                            kind: "k8s.missing_service_account".into(),
                            id: id.clone(),
                            facts: sorted(Map::from_iter([
                                ("binding".to_owned(), json!(binding)),
                                ("namespace".to_owned(), json!(ns)),
                                ("name".to_owned(), json!(subject.name)),
                            ])),
                        });
                        identities
                            .insert(id.clone(), service_account(&id, ns, &subject.name, cluster));
                    }
                    subject_ids.push(id);
                }
                "User" => {
                    let id = format!("k8s:{cluster}/user/{}", subject.name);
                    identities.entry(id.clone()).or_insert_with(|| Identity {
                        id: id.clone(),
                        kind: IdentityKind::Human,
                        name: subject.name.clone(),
                        owner: None,
                        provider: Some(format!("kubernetes:{cluster}")),
                    });
                    subject_ids.push(id);
                }
                _ => {
                    observations.push(Observation {
                        kind: "k8s.group_binding".into(),
                        id: format!("{binding}/group/{}", subject.name),
                        facts: sorted(Map::from_iter([
                            ("binding".to_owned(), json!(binding)),
                            ("group".to_owned(), json!(subject.name)),
                            ("role".to_owned(), json!(role_ref.name)),
                            ("scope".to_owned(), json!(scope)),
                        ])),
                    });
                    unknowns.push(UnknownPart {
                        part: format!("members of group `{}` ({binding})", subject.name),
                        reason: "kubectl's RBAC output does not list group members; the group's grants are not attributed to anyone".into(),
                    });
                }
            }
        }
        if subject_ids.is_empty() {
            continue;
        }

        for (r, rule) in role.rules.iter().enumerate() {
            let actions = verb_actions(&rule.verbs);
            if actions.is_empty() {
                observations.push(Observation {
                    kind: "k8s.unmapped_rule".into(),
                    id: format!("{binding}/rule/{r}"),
                    facts: sorted(Map::from_iter([
                        ("role".to_owned(), json!(role_ref.name)),
                        ("verbs".to_owned(), json!(rule.verbs)),
                        ("defined_at".to_owned(), json!(role.location)),
                    ])),
                });
                continue;
            }
            let mut pattern_reasons = Vec::new();
            if rule.verbs.iter().any(|v| v == "*") {
                pattern_reasons.push("verbs `*` read as read, write, admin");
            }
            if rule.resources.iter().any(|r| r == "*" || r.ends_with("/*")) {
                pattern_reasons.push("resources `*`");
            }
            if rule.api_groups.iter().any(|g| g == "*") {
                pattern_reasons.push("apiGroups `*`");
            }
            if rule.non_resource_urls.iter().any(|u| u.contains('*')) {
                pattern_reasons.push("nonResourceURLs `*`");
            }
            for target in rule_targets(cluster, &scope, rule) {
                resources.entry(target.id.clone()).or_insert_with(|| {
                    let mut resource = target.resource(cluster);
                    if target.runs_workloads() {
                        // Whoever may create or change a pod (or exec into one) in a namespace
                        // can run code as any service account there.
                        resource.runs_as = accounts_in(&accounts, &target.scope, &[]);
                    }
                    resource
                });
                for subject in &subject_ids {
                    let grant = pending
                        .entry((subject.clone(), target.id.clone()))
                        .or_default();
                    grant.actions = grant.actions.union(actions);
                    grant.bindings.insert(binding.clone());
                    grant
                        .over_approximation
                        .extend(pattern_reasons.iter().map(|s| (*s).to_owned()));
                }
            }
            // Minting a service account's token, or impersonating it, is acting as it.
            if let Some(how) = takes_over_service_accounts(rule) {
                for account in accounts_in(&accounts, &scope, &rule.resource_names) {
                    for subject in &subject_ids {
                        if *subject == account {
                            continue;
                        }
                        let grant = pending
                            .entry((subject.clone(), account.clone()))
                            .or_default();
                        grant.actions.insert(Action::Impersonate);
                        grant.bindings.insert(binding.clone());
                        grant.notes.insert(how.to_owned());
                        grant
                            .over_approximation
                            .extend(pattern_reasons.iter().map(|s| (*s).to_owned()));
                    }
                }
            }
        }
    }

    let mut grants = Vec::new();
    for ((subject, target), pending) in pending {
        let bindings: Vec<&str> = pending.bindings.iter().map(String::as_str).collect();
        let over: Vec<&str> = pending
            .over_approximation
            .iter()
            .map(String::as_str)
            .collect();
        let mut said: Vec<String> = pending.notes.iter().cloned().collect();
        if !over.is_empty() {
            said.push(format!(
                "over-approximation: pattern rule ({})",
                over.join("; ")
            ));
        }
        let conditions = (!said.is_empty()).then(|| said.join("; "));
        let id = bridle_core::estate::derived_grant_id(&subject, &target, pending.actions);
        observations.push(Observation {
            kind: "k8s.grant".into(),
            id: id.clone(),
            facts: sorted(Map::from_iter([
                ("subject".to_owned(), json!(subject)),
                ("target".to_owned(), json!(target)),
                ("actions".to_owned(), json!(pending.actions.words())),
                ("bindings".to_owned(), json!(bindings)),
                ("over_approximation".to_owned(), json!(!over.is_empty())),
                ("how".to_owned(), json!(pending.notes)),
            ])),
        });
        grants.push(Grant {
            id,
            subject,
            target,
            actions: pending.actions,
            standing: true,
            expires_at: None,
            conditions,
            source: Some(format!("kubernetes:{cluster}:{}", bindings.join(","))),
        });
    }

    let mut collected = Collected::default();
    collected.estate.identities = identities.into_values().collect();
    collected.estate.resources = resources.into_values().collect();
    collected.estate.grants = grants;
    collected.observations = observations;
    collected.unknowns = unknowns;
    Ok(collected)
}

fn require_namespace<'m>(
    metadata: &'m Metadata,
    location: &str,
    fail: &impl Fn(String, String) -> BrokerError,
) -> Result<&'m str, BrokerError> {
    match metadata.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => Ok(ns),
        _ => Err(fail(
            location.to_owned(),
            format!("`{}` is namespaced but has no namespace", metadata.name),
        )),
    }
}

fn check_rule(
    rule: &Rule,
    location: &str,
    fail: &impl Fn(String, String) -> BrokerError,
) -> Result<(), BrokerError> {
    if rule.verbs.is_empty() {
        return Err(fail(
            format!("{location}.verbs"),
            "a rule needs at least one verb".into(),
        ));
    }
    if rule.resources.is_empty() && rule.non_resource_urls.is_empty() {
        return Err(fail(
            location.to_owned(),
            "a rule needs resources or nonResourceURLs".into(),
        ));
    }
    if !rule.resources.is_empty() && rule.api_groups.is_empty() {
        return Err(fail(
            format!("{location}.apiGroups"),
            "a rule with resources needs apiGroups (\"\" is the core group)".into(),
        ));
    }
    Ok(())
}

fn service_account_id(cluster: &str, namespace: &str, name: &str) -> String {
    format!("k8s:{cluster}/{namespace}/serviceaccount/{name}")
}

fn service_account(id: &str, namespace: &str, name: &str, cluster: &str) -> Identity {
    Identity {
        id: id.to_owned(),
        kind: IdentityKind::K8sServiceAccount,
        name: format!("{namespace}/{name}"),
        owner: None,
        provider: Some(format!("kubernetes:{cluster}")),
    }
}

/// What Kubernetes verbs allow, in estate actions.
fn verb_actions(verbs: &[String]) -> ActionSet {
    let mut actions = ActionSet::EMPTY;
    for verb in verbs {
        match verb.as_str() {
            "get" | "list" | "watch" => actions.insert(Action::Read),
            "create" | "update" | "patch" | "delete" | "deletecollection" | "post" | "put" => {
                actions.insert(Action::Write)
            }
            "bind" | "escalate" | "impersonate" | "approve" | "sign" => {
                actions.insert(Action::Admin)
            }
            "*" => {
                actions.insert(Action::Read);
                actions.insert(Action::Write);
                actions.insert(Action::Admin);
            }
            // Verbs of aggregated or custom APIs have no meaning we can assert.
            _ => {}
        }
    }
    actions
}

struct Target {
    id: String,
    /// `<resource>[.<group>]`, or the URL for a non-resource rule.
    what: String,
    scope: String,
    object: Option<String>,
    url: bool,
}

impl Target {
    fn resource(&self, cluster: &str) -> Resource {
        let base = self.what.split(['.', '/']).next().unwrap_or_default();
        let (kind, sensitivity) = if self.url {
            (ResourceKind::Api, Sensitivity::Internal)
        } else if base == "secrets" || base == "*" {
            // `*` includes secrets.
            (ResourceKind::SecretStore, Sensitivity::Restricted)
        } else if matches!(
            base,
            "roles" | "rolebindings" | "clusterroles" | "clusterrolebindings" | "serviceaccounts"
        ) {
            (ResourceKind::CloudApi, Sensitivity::Confidential)
        } else {
            (ResourceKind::CloudApi, Sensitivity::Internal)
        };
        let scope = if self.scope == "*" {
            "all namespaces".to_owned()
        } else {
            format!("namespace {}", self.scope)
        };
        let name = match (&self.object, self.url) {
            (_, true) => format!("{cluster}: URL {}", self.what),
            (Some(object), _) => format!("{cluster}: {} {object} in {scope}", self.what),
            (None, _) => format!("{cluster}: {} in {scope}", self.what),
        };
        Resource {
            id: self.id.clone(),
            kind,
            name,
            sensitivity,
            crown_jewel: false,
            environment: None,
            holds_credentials: Vec::new(),
            runs_as: Vec::new(),
        }
    }
}

/// Resource types whose writers choose the service account code runs as (and pod subresources
/// that run commands in a pod).
const WORKLOADS: [&str; 8] = [
    "pods",
    "deployments",
    "daemonsets",
    "statefulsets",
    "replicasets",
    "jobs",
    "cronjobs",
    "replicationcontrollers",
];

impl Target {
    /// Writing here runs code as a service account of the scope. A named object's own account is
    /// not in the file, so named objects are left without `runs_as` rather than guessed.
    fn runs_workloads(&self) -> bool {
        if self.url || self.object.is_some() {
            return false;
        }
        let (resource, subresource) = match self.what.split_once('/') {
            Some((resource, sub)) => (resource, Some(sub)),
            None => (self.what.as_str(), None),
        };
        let base = resource.split('.').next().unwrap_or_default();
        (base == "*" || WORKLOADS.contains(&base))
            && subresource.is_none_or(|sub| {
                base == "pods" && matches!(sub, "exec" | "attach" | "ephemeralcontainers" | "*")
            })
    }
}

/// How a rule lets its holder act as service accounts, if it does.
fn takes_over_service_accounts(rule: &Rule) -> Option<&'static str> {
    let verb = |v: &str| rule.verbs.iter().any(|x| x == v || x == "*");
    let core = rule.api_groups.iter().any(|g| g.is_empty() || g == "*");
    let resource = |r: &str| {
        rule.resources
            .iter()
            .any(|x| x == r || x == "*" || (x == "serviceaccounts/*" && r.contains('/')))
    };
    if !core {
        None
    } else if verb("create") && resource("serviceaccounts/token") {
        Some("can mint the service account's tokens (create serviceaccounts/token)")
    } else if verb("impersonate") && resource("serviceaccounts") {
        Some("can impersonate the service account")
    } else {
        None
    }
}

/// The file's service accounts in `scope` (a namespace or `*`), narrowed to `names` when given.
fn accounts_in(
    accounts: &BTreeMap<String, BTreeMap<String, String>>,
    scope: &str,
    names: &[String],
) -> Vec<String> {
    accounts
        .iter()
        .filter(|(namespace, _)| scope == "*" || scope == namespace.as_str())
        .flat_map(|(_, by_name)| by_name.iter())
        .filter(|(name, _)| names.is_empty() || names.contains(name))
        .map(|(_, id)| id.clone())
        .collect()
}

/// The resources one rule reaches within `scope` (a namespace or `*`).
fn rule_targets(cluster: &str, scope: &str, rule: &Rule) -> Vec<Target> {
    let mut targets = Vec::new();
    for url in &rule.non_resource_urls {
        targets.push(Target {
            id: format!("k8s:{cluster}/url{url}"),
            what: url.clone(),
            scope: "*".into(),
            object: None,
            url: true,
        });
    }
    for group in &rule.api_groups {
        for resource in &rule.resources {
            // `deployments/scale` in group `apps` is written `deployments.apps/scale`.
            let (base, subresource) = match resource.split_once('/') {
                Some((base, sub)) => (base, format!("/{sub}")),
                None => (resource.as_str(), String::new()),
            };
            let what = if group.is_empty() {
                format!("{base}{subresource}")
            } else {
                format!("{base}.{group}{subresource}")
            };
            if rule.resource_names.is_empty() {
                targets.push(Target {
                    id: format!("k8s:{cluster}/{scope}/{what}"),
                    what,
                    scope: scope.to_owned(),
                    object: None,
                    url: false,
                });
            } else {
                for object in &rule.resource_names {
                    targets.push(Target {
                        id: format!("k8s:{cluster}/{scope}/{what}/{object}"),
                        what: what.clone(),
                        scope: scope.to_owned(),
                        object: Some(object.clone()),
                        url: false,
                    });
                }
            }
        }
    }
    targets
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spire::tests::render;
    use expect_test::expect_file;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/brokers")
            .join(name)
    }

    #[test]
    fn rbac_becomes_identities_resources_and_grants() {
        let collected = read(&fixture("k8s-rbac.json"), "prod").unwrap();
        expect_file!["snapshots/k8s-rbac.txt"].assert_eq(&render(&collected));
        let mut bytes = Vec::new();
        bridle_core::estate::write_canonical(&collected.estate, &mut bytes).unwrap();
        let parsed = bridle_core::estate::parse(&bytes, bridle_core::estate::Syntax::Json);
        assert!(parsed.estate.is_some(), "{:?}", parsed.diagnostics);
    }

    #[test]
    fn bad_files_are_located() {
        let cases = [
            ("k8s-bad-kind.json", "items[3].kind", "Pod"),
            (
                "k8s-bad-rule.json",
                "items[2].rules[0]",
                "missing field `verbs`",
            ),
            (
                "k8s-bad-namespace.json",
                "items[0].metadata.namespace",
                "no namespace",
            ),
        ];
        for (name, location, message) in cases {
            match read(&fixture(name), "prod") {
                Err(BrokerError::File {
                    location: found,
                    message: text,
                    ..
                }) => {
                    assert!(found.starts_with(location), "{name}: {found}: {text}");
                    assert!(text.contains(message), "{name}: {found}: {text}");
                }
                other => panic!("{name}: expected a located file error, got {other:?}"),
            }
        }
    }
}
