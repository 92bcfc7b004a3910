//! Kubernetes RBAC from `kubectl get serviceaccounts,secrets,roles,rolebindings,clusterroles,clusterrolebindings -A -o json`
//! (a `List` of those kinds; `secrets` is optional and read for its metadata only), for clusters
//! Bridle does not connect to.
//!
//! Mapping (ids are prefixed `k8s:<cluster>/`, so two clusters can be imported side by side):
//! - a service account becomes an identity of kind `k8s_service_account`
//!   (`k8s:<cluster>/<namespace>/serviceaccount/<name>`); a `User` subject an identity of kind
//!   `human` (`service_account` for the `system:` users of cluster components; a user named
//!   `system:serviceaccount:<ns>:<name>` *is* that service account); a `Group` subject an
//!   identity of kind `service_account` (`k8s:<cluster>/group/<name>`) whose members are not in
//!   the file, except the groups Kubernetes itself fills: every service account is in
//!   `system:serviceaccounts`, `system:serviceaccounts:<ns>` and `system:authenticated` (an
//!   `assume` grant per membership);
//! - the cluster's own superusers are explicit: `k8s:<cluster>/cluster-admin` (every permission
//!   cluster-wide) and the group `system:masters` (which the API server authorizes for
//!   everything, whatever RBAC says) both hold `k8s:<cluster>/cluster`, a crown-jewel resource
//!   standing for every object of the cluster (it holds every token Secret and runs as every
//!   account);
//! - each rule of a bound role becomes resources: one per (scope, API group, resource type), or
//!   per named object when the rule lists `resourceNames`, e.g. `k8s:prod/billing/secrets`,
//!   `k8s:prod/billing/secrets/stripe-key`, `k8s:prod/*/deployments.apps` (cluster-wide), and one
//!   per non-resource URL (`k8s:prod/url/healthz`); Secrets resources hold the token Secrets
//!   of their scope, so reading them reaches those accounts exactly;
//! - verbs map to actions: get/list/watch → read; create/update/patch/delete/deletecollection →
//!   write; bind/escalate/impersonate/approve/sign → admin; `*` → read, write, admin;
//! - a binding gives each subject a grant to each of its role's targets, scoped to the binding's
//!   namespace (a ClusterRole bound by a RoleBinding reaches that namespace only, never a
//!   cluster-scoped object; by a ClusterRoleBinding, every namespace: `*`);
//! - the escalation techniques of [`techniques`] become grants to what they yield (an account, a
//!   user, a group, `cluster-admin`, or a whole namespace `k8s:<cluster>/namespace:<ns>`), each
//!   saying `via: <technique>` with its bindings;
//! - cluster roles with an `aggregationRule` get the rules of the roles their selectors match,
//!   as the aggregation controller computes them.
//!
//! A `*` in verbs, resources or API groups is kept as a pattern in the resource id and every grant
//! it produced says `over-approximation` in its conditions (and in its `k8s.grant` observation):
//! the pattern may cover objects that do not exist. Techniques whose result the file cannot
//! pin down (which pods run as which account) say so the same way.

mod items;
mod rbac;
mod techniques;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use bridle_core::model::{
    Action, ActionSet, Credential, CredentialKind, Grant, Identity, IdentityKind, Resource,
    ResourceKind, Sensitivity,
};
use serde_json::{Map, json};

use crate::spire::{check_mapped_ids, read_json_document, sorted};
use crate::{BrokerError, Collected, Observation, UnknownPart};
use items::{
    BindingItem, Item, ItemList, Metadata, RoleItem, Rule, SERVICE_ACCOUNT_ANNOTATION,
    SERVICE_ACCOUNT_TOKEN_TYPE, SecretItem, ServiceAccountItem, Subject, read_item,
};
use rbac::{Held, RoleDef, RoleKey, Scope};
use techniques::{Bound, Cluster};

/// A grant being assembled: actions and provenance unioned over every rule, binding and
/// technique that gives the same subject the same target.
#[derive(Default)]
struct PendingGrant {
    actions: ActionSet,
    bindings: BTreeSet<String>,
    over_approximation: BTreeSet<String>,
    /// `via: <technique>` notes, or how a membership arises.
    notes: BTreeSet<String>,
}

impl PendingGrant {
    fn add(&mut self, actions: ActionSet, binding: &str, note: Option<String>) {
        self.actions = self.actions.union(actions);
        self.bindings.insert(binding.to_owned());
        self.notes.extend(note);
    }
}

/// One binding as read, before its subjects are resolved.
struct BindingDef<'i> {
    index: usize,
    name: String,
    scope: Scope,
    role: RoleKey,
    role_kind: &'i str,
    subjects: &'i [Subject],
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
    let items = list
        .items
        .into_iter()
        .enumerate()
        .map(|(index, value)| read_item(value, index, &file))
        .collect::<Result<Vec<Item>, BrokerError>>()?;

    let mut identities: BTreeMap<String, Identity> = BTreeMap::new();
    let mut roles: BTreeMap<RoleKey, RoleDef> = BTreeMap::new();
    let mut bindings: Vec<BindingDef<'_>> = Vec::new();
    // Service accounts of the file per namespace: name → id.
    let mut accounts: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut namespaces: BTreeSet<String> = BTreeSet::new();
    let mut secrets: Vec<(usize, &SecretItem, &str)> = Vec::new();
    let mut secrets_listed = false;

    // First pass: accounts, roles and Secrets (bindings may precede their roles).
    for (index, item) in items.iter().enumerate() {
        let at = |field: &str| format!("items[{index}].{field}");
        match item {
            Item::ServiceAccount(ServiceAccountItem { metadata }) => {
                let namespace = require_namespace(metadata, &at("metadata.namespace"), &fail)?;
                let id = service_account_id(cluster, namespace, &metadata.name);
                namespaces.insert(namespace.to_owned());
                accounts
                    .entry(namespace.to_owned())
                    .or_default()
                    .insert(metadata.name.clone(), id.clone());
                identities.insert(
                    id.clone(),
                    service_account(&id, namespace, &metadata.name, cluster),
                );
            }
            Item::Secret(secret) => {
                secrets_listed = true;
                let namespace = match secret.metadata.namespace.as_deref() {
                    Some(ns) if !ns.is_empty() => ns,
                    _ => {
                        return Err(fail(
                            at("metadata.namespace"),
                            format!(
                                "`{}` is namespaced but has no namespace",
                                secret.metadata.name
                            ),
                        ));
                    }
                };
                namespaces.insert(namespace.to_owned());
                secrets.push((index, secret, namespace));
            }
            Item::Role(RoleItem {
                metadata,
                rules,
                aggregation_rule,
            })
            | Item::ClusterRole(RoleItem {
                metadata,
                rules,
                aggregation_rule,
            }) => {
                let namespace = match item {
                    Item::Role(_) => {
                        let ns = require_namespace(metadata, &at("metadata.namespace"), &fail)?;
                        namespaces.insert(ns.to_owned());
                        Some(ns.to_owned())
                    }
                    _ => None,
                };
                let rules = rules.clone().unwrap_or_default();
                for (r, rule) in rules.iter().enumerate() {
                    check_rule(rule, &at(&format!("rules[{r}]")), &fail)?;
                }
                let key = (namespace.clone(), metadata.name.clone());
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
                        labels: metadata.labels.clone().unwrap_or_default(),
                        // Only cluster roles aggregate.
                        selectors: aggregation_rule
                            .as_ref()
                            .filter(|_| namespace.is_none())
                            .map(|rule| rule.cluster_role_selectors.clone().unwrap_or_default()),
                        location: format!("items[{index}]"),
                        aggregated_from: Vec::new(),
                        stale_rules: 0,
                    },
                );
            }
            Item::RoleBinding(binding) | Item::ClusterRoleBinding(binding) => {
                let BindingItem {
                    metadata,
                    role_ref,
                    subjects,
                } = binding;
                let namespace = match item {
                    Item::RoleBinding(_) => {
                        let ns = require_namespace(metadata, &at("metadata.namespace"), &fail)?;
                        namespaces.insert(ns.to_owned());
                        Some(ns.to_owned())
                    }
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
                    if subject.kind == "ServiceAccount" {
                        match subject.namespace.as_deref() {
                            Some(ns) if !ns.is_empty() => {
                                namespaces.insert(ns.to_owned());
                            }
                            _ => {
                                return Err(fail(
                                    at(&format!("subjects[{s}].namespace")),
                                    "a ServiceAccount subject needs its namespace".into(),
                                ));
                            }
                        }
                    }
                }
                let (name, scope) = match &namespace {
                    Some(ns) => (
                        format!("rolebinding/{ns}/{}", metadata.name),
                        Scope::Namespace(ns.clone()),
                    ),
                    None => (
                        format!("clusterrolebinding/{}", metadata.name),
                        Scope::Cluster,
                    ),
                };
                bindings.push(BindingDef {
                    index,
                    name,
                    scope,
                    role: (role_namespace, role_ref.name.clone()),
                    role_kind: &role_ref.kind,
                    subjects,
                });
            }
        }
    }
    rbac::aggregate(&mut roles).map_err(|(location, message)| fail(location, message))?;

    let mut observations = Vec::new();
    let mut unknowns = Vec::new();
    for ((_, name), def) in roles.iter().filter(|(_, def)| def.selectors.is_some()) {
        observations.push(Observation {
            kind: "k8s.aggregated_role".into(),
            id: format!("clusterrole/{name}"),
            facts: sorted(Map::from_iter([
                ("role".to_owned(), json!(name)),
                ("aggregated_from".to_owned(), json!(def.aggregated_from)),
                ("rules".to_owned(), json!(def.rules.len())),
                (
                    "listed_rules_no_source_gives".to_owned(),
                    json!(def.stale_rules),
                ),
                ("defined_at".to_owned(), json!(def.location)),
            ])),
        });
    }

    // Token Secrets: credential metadata of the account each one authenticates as.
    let mut credentials: BTreeMap<String, Credential> = BTreeMap::new();
    // (namespace, secret name) → credential id.
    let mut token_secrets: BTreeMap<(String, String), String> = BTreeMap::new();
    for (index, secret, namespace) in &secrets {
        if secret.secret_type.as_deref() != Some(SERVICE_ACCOUNT_TOKEN_TYPE) {
            continue;
        }
        let account = secret
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(SERVICE_ACCOUNT_ANNOTATION));
        let Some(account) = account else {
            return Err(fail(
                format!("items[{index}].metadata.annotations"),
                format!(
                    "a `{SERVICE_ACCOUNT_TOKEN_TYPE}` Secret needs the `{SERVICE_ACCOUNT_ANNOTATION}` annotation"
                ),
            ));
        };
        let identity = service_account_id(cluster, namespace, account);
        if !identities.contains_key(&identity) {
            // The API server rejects the token of an account that no longer exists.
            observations.push(Observation {
                kind: "k8s.orphan_token_secret".into(),
                id: format!("{namespace}/{}", secret.metadata.name),
                facts: sorted(Map::from_iter([
                    ("namespace".to_owned(), json!(namespace)),
                    ("secret".to_owned(), json!(secret.metadata.name)),
                    ("service_account".to_owned(), json!(account)),
                ])),
            });
            continue;
        }
        let id = format!("k8s:{cluster}/{namespace}/secret/{}", secret.metadata.name);
        token_secrets.insert(
            ((*namespace).to_owned(), secret.metadata.name.clone()),
            id.clone(),
        );
        credentials.insert(
            id.clone(),
            Credential {
                id,
                identity,
                kind: CredentialKind::Token,
                issued_at: None,
                // Legacy service-account tokens do not expire.
                expires_at: None,
                last_rotated: None,
                last_used: None,
                fingerprint: None,
            },
        );
    }

    // Resolve subjects into identities; collect every subject's held rules and bindings.
    let mut held: BTreeMap<String, Vec<Held>> = BTreeMap::new();
    let mut bound: BTreeMap<String, Vec<Bound>> = BTreeMap::new();
    let mut users: BTreeMap<String, String> = BTreeMap::new();
    let mut groups: BTreeMap<String, String> = BTreeMap::new();
    let masters_id = format!("k8s:{cluster}/group/system:masters");
    groups.insert("system:masters".into(), masters_id.clone());
    for binding in &bindings {
        let Some(role) = roles.get(&binding.role) else {
            // A binding to a role that does not exist grants nothing today, but creating that
            // role later would: recorded, not an error.
            unknowns.push(UnknownPart {
                part: format!("{} (items[{}])", binding.name, binding.index),
                reason: format!(
                    "refers to {} `{}`, which is not in the file; it grants nothing until that role exists",
                    binding.role_kind, binding.role.1
                ),
            });
            continue;
        };
        for subject in binding.subjects {
            let id = match subject.kind.as_str() {
                "ServiceAccount" => {
                    let ns = subject.namespace.as_deref().unwrap_or_default();
                    account_subject(
                        cluster,
                        ns,
                        &subject.name,
                        &binding.name,
                        &mut identities,
                        &mut observations,
                    )
                }
                "User" => match service_account_user(&subject.name) {
                    Some((ns, name)) => account_subject(
                        cluster,
                        ns,
                        name,
                        &binding.name,
                        &mut identities,
                        &mut observations,
                    ),
                    None => {
                        let id = format!("k8s:{cluster}/user/{}", subject.name);
                        identities.entry(id.clone()).or_insert_with(|| Identity {
                            id: id.clone(),
                            kind: if subject.name.starts_with("system:") {
                                IdentityKind::ServiceAccount
                            } else {
                                IdentityKind::Human
                            },
                            name: subject.name.clone(),
                            owner: None,
                            provider: Some(format!("kubernetes:{cluster}")),
                        });
                        users.insert(subject.name.clone(), id.clone());
                        id
                    }
                },
                _ => {
                    let id = format!("k8s:{cluster}/group/{}", subject.name);
                    groups.insert(subject.name.clone(), id.clone());
                    if !filled_by_kubernetes(&subject.name) {
                        observations.push(Observation {
                            kind: "k8s.group_binding".into(),
                            id: format!("{}/group/{}", binding.name, subject.name),
                            facts: sorted(Map::from_iter([
                                ("binding".to_owned(), json!(binding.name)),
                                ("group".to_owned(), json!(subject.name)),
                                ("role".to_owned(), json!(binding.role.1)),
                                ("scope".to_owned(), json!(binding.scope.word())),
                            ])),
                        });
                        unknowns.push(UnknownPart {
                            part: format!("members of group `{}` ({})", subject.name, binding.name),
                            reason: "kubectl's RBAC output does not list group members; the group is an identity whose members are not known".into(),
                        });
                    }
                    id
                }
            };
            bound.entry(id.clone()).or_default().push(Bound {
                role: binding.role.clone(),
                scope: binding.scope.clone(),
                binding: binding.name.clone(),
            });
            let rules = held.entry(id).or_default();
            for rule in &role.rules {
                rules.push(Held {
                    rule: rule.clone(),
                    scope: binding.scope.clone(),
                    binding: binding.name.clone(),
                    role: binding.role.clone(),
                });
            }
        }
    }
    for (name, id) in &groups {
        identities.entry(id.clone()).or_insert_with(|| Identity {
            id: id.clone(),
            kind: IdentityKind::ServiceAccount,
            name: format!("group {name}"),
            owner: None,
            provider: Some(format!("kubernetes:{cluster}")),
        });
    }

    let every_account: Vec<String> = identities
        .values()
        .filter(|i| i.kind == IdentityKind::K8sServiceAccount)
        .map(|i| i.id.clone())
        .collect();
    let mut resources: BTreeMap<String, Resource> = BTreeMap::new();
    let mut pending: BTreeMap<(String, String), PendingGrant> = BTreeMap::new();

    // Memberships Kubernetes itself decides: a grant per (member, bound group).
    let mut members_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for identity in identities.values() {
        let memberships: Vec<String> = if identity.kind == IdentityKind::K8sServiceAccount {
            let namespace = identity.name.split('/').next().unwrap_or_default();
            vec![
                "system:serviceaccounts".to_owned(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".to_owned(),
            ]
        } else if users.values().any(|id| *id == identity.id) {
            vec!["system:authenticated".to_owned()]
        } else {
            Vec::new()
        };
        for group in memberships {
            if let Some(group_id) = groups.get(&group) {
                members_of
                    .entry(identity.id.clone())
                    .or_default()
                    .push(group_id.clone());
                pending
                    .entry((identity.id.clone(), group_id.clone()))
                    .or_default()
                    .add(
                        ActionSet::from_iter([Action::Assume]),
                        "kubernetes",
                        Some(format!("member: Kubernetes puts it in group {group}")),
                    );
            }
        }
    }

    let context = Cluster {
        name: cluster,
        accounts: &accounts,
        users: &users,
        groups: &groups,
        roles: &roles,
        namespaces: &namespaces,
        secrets_listed,
    };
    let mut noted = BTreeSet::new();
    let subjects: Vec<String> = held
        .keys()
        .chain(bound.keys())
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for subject in &subjects {
        let own = held.get(subject).cloned().unwrap_or_default();
        let own_bound = bound.get(subject).cloned().unwrap_or_default();
        // Techniques see the rules of the groups Kubernetes puts the subject in as well.
        let mut effective = own.clone();
        let mut effective_bound = own_bound.clone();
        for group in members_of.get(subject).into_iter().flatten() {
            effective.extend(held.get(group).cloned().unwrap_or_default());
            effective_bound.extend(bound.get(group).cloned().unwrap_or_default());
        }
        let mut targets_from = own;
        // Roles gained by binding them are rules like any other; what they allow is evaluated
        // again until nothing new is gained (bounded by the number of roles).
        for _ in 0..=roles.len() {
            let outcome = techniques::evaluate(subject, &effective, &effective_bound, &context);
            noted.extend(outcome.noted.into_iter().map(|n| (subject.clone(), n)));
            for acquisition in outcome.acquisitions {
                let grant = pending
                    .entry((subject.clone(), acquisition.target.clone()))
                    .or_default();
                grant.actions = grant.actions.union(acquisition.actions);
                grant.bindings.extend(acquisition.bindings.iter().cloned());
                grant.notes.insert(format!(
                    "via: {} ({})",
                    acquisition.technique,
                    acquisition
                        .bindings
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                grant.over_approximation.extend(acquisition.over);
            }
            let new: Vec<Held> = outcome
                .gained
                .into_iter()
                .filter(|g| {
                    !effective
                        .iter()
                        .any(|h| h.rule == g.rule && h.scope == g.scope)
                })
                .collect();
            if new.is_empty() {
                break;
            }
            effective.extend(new.iter().cloned());
            targets_from.extend(new);
        }
        rule_grants(
            cluster,
            subject,
            &targets_from,
            &token_secrets,
            &mut resources,
            &mut pending,
            &mut observations,
        );
    }
    for (subject, n) in noted {
        observations.push(Observation {
            kind: "k8s.technique".into(),
            id: format!("{subject}/{}", n.technique),
            facts: sorted(Map::from_iter([
                ("subject".to_owned(), json!(subject)),
                ("technique".to_owned(), json!(n.technique)),
                ("binding".to_owned(), json!(n.binding)),
                ("why_no_edge".to_owned(), json!(n.reason)),
            ])),
        });
    }

    // The cluster's superusers and the resources that stand for "everything".
    let cluster_admin = context.cluster_admin_id();
    let whole = context.cluster_id();
    identities.insert(
        cluster_admin.clone(),
        Identity {
            id: cluster_admin.clone(),
            kind: IdentityKind::ServiceAccount,
            name: format!("{cluster}: cluster-admin (every permission cluster-wide)"),
            owner: None,
            provider: Some(format!("kubernetes:{cluster}")),
        },
    );
    let everything = ActionSet::from_iter([Action::Read, Action::Write, Action::Admin]);
    pending
        .entry((cluster_admin.clone(), whole.clone()))
        .or_default()
        .add(everything, "built-in", None);
    pending
        .entry((masters_id.clone(), cluster_admin.clone()))
        .or_default()
        .add(
            ActionSet::from_iter([Action::Assume]),
            "built-in",
            Some("via: system:masters (the API server authorizes this group for everything, whatever RBAC says)".into()),
        );
    resources.insert(
        whole.clone(),
        Resource {
            id: whole,
            kind: ResourceKind::CloudApi,
            name: format!("{cluster}: every object of the cluster"),
            sensitivity: Sensitivity::Restricted,
            crown_jewel: true,
            environment: None,
            holds_credentials: credentials.keys().cloned().collect(),
            runs_as: every_account,
        },
    );
    let namespace_prefix = format!("k8s:{cluster}/namespace:");
    let admin_namespaces: BTreeSet<String> = pending
        .keys()
        .filter_map(|(_, target)| target.strip_prefix(&namespace_prefix).map(str::to_owned))
        .collect();
    for namespace in admin_namespaces {
        let id = context.namespace_id(&namespace);
        let scope = Scope::Namespace(namespace.clone());
        resources.insert(
            id.clone(),
            Resource {
                id,
                kind: ResourceKind::CloudApi,
                name: format!("{cluster}: every object in namespace {namespace}"),
                sensitivity: Sensitivity::Restricted,
                crown_jewel: false,
                environment: None,
                holds_credentials: credentials_in(&token_secrets, &scope, None),
                runs_as: context.accounts_in(&scope, &[]),
            },
        );
    }
    // The validating-webhook route reads every Secret of the cluster, whether or not a rule
    // names that resource.
    let all_secrets = format!("k8s:{cluster}/*/secrets");
    if pending.keys().any(|(_, target)| *target == all_secrets)
        && !resources.contains_key(&all_secrets)
    {
        let target = Target {
            id: all_secrets.clone(),
            what: "secrets".into(),
            scope: "*".into(),
            object: None,
            url: false,
            group: String::new(),
        };
        let mut resource = target.resource(cluster);
        resource.holds_credentials = target.holds_tokens(&token_secrets);
        resources.insert(all_secrets, resource);
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
            said.push(format!("over-approximation: {}", over.join("; ")));
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
    collected.estate.credentials = credentials.into_values().collect();
    collected.estate.resources = resources.into_values().collect();
    collected.estate.grants = grants;
    collected.observations = observations;
    collected.unknowns = unknowns;
    check_mapped_ids(&collected.estate, &file)?;
    Ok(collected)
}

/// The groups whose members Kubernetes decides itself (so they are not unknown).
fn filled_by_kubernetes(group: &str) -> bool {
    matches!(
        group,
        "system:masters"
            | "system:serviceaccounts"
            | "system:authenticated"
            | "system:unauthenticated"
    ) || group.starts_with("system:serviceaccounts:")
}

/// `system:serviceaccount:<ns>:<name>`, the user name of a service account.
fn service_account_user(user: &str) -> Option<(&str, &str)> {
    let rest = user.strip_prefix("system:serviceaccount:")?;
    let (namespace, name) = rest.split_once(':')?;
    (!namespace.is_empty() && !name.is_empty() && !name.contains(':')).then_some((namespace, name))
}

/// The id of a bound service account; one bound but absent from the file is recorded, since
/// whoever creates it gets the role.
fn account_subject(
    cluster: &str,
    namespace: &str,
    name: &str,
    binding: &str,
    identities: &mut BTreeMap<String, Identity>,
    observations: &mut Vec<Observation>,
) -> String {
    let id = service_account_id(cluster, namespace, name);
    if !identities.contains_key(&id) {
        observations.push(Observation {
            kind: "k8s.missing_service_account".into(),
            id: id.clone(),
            facts: sorted(Map::from_iter([
                ("binding".to_owned(), json!(binding)),
                ("namespace".to_owned(), json!(namespace)),
                ("name".to_owned(), json!(name)),
            ])),
        });
        identities.insert(id.clone(), service_account(&id, namespace, name, cluster));
    }
    id
}

/// The grants one subject's rules give on the resources they name.
#[allow(clippy::too_many_arguments)]
fn rule_grants(
    cluster: &str,
    subject: &str,
    held: &[Held],
    token_secrets: &BTreeMap<(String, String), String>,
    resources: &mut BTreeMap<String, Resource>,
    pending: &mut BTreeMap<(String, String), PendingGrant>,
    observations: &mut Vec<Observation>,
) {
    for (r, h) in held.iter().enumerate() {
        let rule = &h.rule;
        let actions = verb_actions(&rule.verbs);
        if actions.is_empty() {
            observations.push(Observation {
                kind: "k8s.unmapped_rule".into(),
                id: format!("{subject}/{}/rule/{r}", h.binding),
                facts: sorted(Map::from_iter([
                    ("role".to_owned(), json!(h.role.1)),
                    ("verbs".to_owned(), json!(rule.verbs)),
                    ("binding".to_owned(), json!(h.binding)),
                ])),
            });
            continue;
        }
        let mut pattern_reasons = Vec::new();
        if rule.verbs.iter().any(|v| v == "*") {
            pattern_reasons.push("pattern rule: verbs `*` read as read, write, admin");
        }
        if rule
            .resources
            .iter()
            .any(|r| r == "*" || r.starts_with("*/"))
        {
            pattern_reasons.push("pattern rule: resources `*`");
        }
        if rule.api_groups.iter().any(|g| g == "*") {
            pattern_reasons.push("pattern rule: apiGroups `*`");
        }
        if rule.non_resource_urls.iter().any(|u| u.contains('*')) {
            pattern_reasons.push("pattern rule: nonResourceURLs `*`");
        }
        let gained = h.binding.starts_with("bind roles:");
        for target in rule_targets(cluster, h.scope.word(), rule) {
            let holds = target.holds_tokens(token_secrets);
            let resource = resources
                .entry(target.id.clone())
                .or_insert_with(|| target.resource(cluster));
            if resource.holds_credentials.is_empty() {
                resource.holds_credentials = holds.clone();
            }
            let mut note = None;
            if gained {
                note = Some(format!("via: {}", h.binding));
            } else if !holds.is_empty()
                && (actions.contains(Action::Read) || actions.contains(Action::Admin))
            {
                note = Some("via: read secrets (service-account token Secrets)".to_owned());
            }
            let grant = pending
                .entry((subject.to_owned(), target.id.clone()))
                .or_default();
            grant.add(actions, &h.binding, note);
            grant
                .over_approximation
                .extend(pattern_reasons.iter().map(|s| (*s).to_owned()));
        }
    }
}

/// The token-Secret credentials of `scope`, narrowed to one Secret's name when given.
fn credentials_in(
    token_secrets: &BTreeMap<(String, String), String>,
    scope: &Scope,
    name: Option<&str>,
) -> Vec<String> {
    token_secrets
        .iter()
        .filter(|((namespace, secret), _)| {
            scope.covers(namespace) && name.is_none_or(|n| n == secret)
        })
        .map(|(_, id)| id.clone())
        .collect()
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
    /// The API group (`""` is the core group).
    group: String,
}

impl Target {
    fn base(&self) -> &str {
        self.what.split(['.', '/']).next().unwrap_or_default()
    }

    /// Token Secrets readable here: Secrets (or `*`) of the core group, without a subresource.
    fn holds_tokens(&self, token_secrets: &BTreeMap<(String, String), String>) -> Vec<String> {
        let secrets_like = matches!(self.base(), "secrets" | "*")
            && matches!(self.group.as_str(), "" | "*")
            && !self.what.contains('/');
        if self.url || !secrets_like {
            return Vec::new();
        }
        let scope = if self.scope == "*" {
            Scope::Cluster
        } else {
            Scope::Namespace(self.scope.clone())
        };
        credentials_in(token_secrets, &scope, self.object.as_deref())
    }

    fn resource(&self, cluster: &str) -> Resource {
        let base = self.base();
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
            group: String::new(),
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
                    group: group.clone(),
                });
            } else {
                for object in &rule.resource_names {
                    targets.push(Target {
                        id: format!("k8s:{cluster}/{scope}/{what}/{object}"),
                        what: what.clone(),
                        scope: scope.to_owned(),
                        object: Some(object.clone()),
                        url: false,
                        group: group.clone(),
                    });
                }
            }
        }
    }
    targets
}
