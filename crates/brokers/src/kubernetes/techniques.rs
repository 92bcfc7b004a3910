//! The escalation techniques the Kubernetes security community catalogues (PaloAltoNetworks'
//! rbac-police policy library, DataDog's KubeHound attack edges), evaluated over the rules one
//! subject holds. Each technique that yields another identity is an [`Acquisition`] naming the
//! technique and the bindings behind it; one that needs what RBAC cannot show (a node under the
//! attacker's control) is [`Noted`] instead of guessed.

use std::collections::{BTreeMap, BTreeSet};

use bridle_core::model::{Action, ActionSet};

use super::rbac::{Allowed, Held, Request, RoleDef, RoleKey, Scope, allowed_at, allowing};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const CERTIFICATES_GROUP: &str = "certificates.k8s.io";
const ADMISSION_GROUP: &str = "admissionregistration.k8s.io";
/// The signer whose certificates authenticate to the API server with any user and groups the
/// request asks for, `system:masters` included.
const CLIENT_SIGNER: &str = "kubernetes.io/kube-apiserver-client";

/// Workload controllers: whoever writes their pod template chooses the account its pods run as.
const CONTROLLERS: [(&str, &str); 10] = [
    ("apps", "deployments"),
    ("apps", "daemonsets"),
    ("apps", "statefulsets"),
    ("apps", "replicasets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("", "replicationcontrollers"),
    ("extensions", "deployments"),
    ("extensions", "daemonsets"),
    ("extensions", "replicasets"),
];

/// What the techniques look at besides the subject's rules.
pub(super) struct Cluster<'a> {
    pub name: &'a str,
    /// Service accounts per namespace: name → id.
    pub accounts: &'a BTreeMap<String, BTreeMap<String, String>>,
    /// User subjects of the file: name → id.
    pub users: &'a BTreeMap<String, String>,
    /// Group identities (every bound group and `system:masters`): name → id.
    pub groups: &'a BTreeMap<String, String>,
    pub roles: &'a BTreeMap<RoleKey, RoleDef>,
    pub namespaces: &'a BTreeSet<String>,
    /// The file lists Secrets, so token Secrets are known exactly.
    pub secrets_listed: bool,
}

impl Cluster<'_> {
    pub fn cluster_admin_id(&self) -> String {
        format!("k8s:{}/cluster-admin", self.name)
    }
    pub fn masters_id(&self) -> String {
        format!("k8s:{}/group/system:masters", self.name)
    }
    /// The whole cluster: every object of every namespace and every cluster-scoped one.
    pub fn cluster_id(&self) -> String {
        format!("k8s:{}/cluster", self.name)
    }
    /// Every object of one namespace (`:` cannot occur in a namespace name, so no rule target
    /// id can equal it).
    pub fn namespace_id(&self, namespace: &str) -> String {
        format!("k8s:{}/namespace:{namespace}", self.name)
    }
    /// The accounts of `scope`, narrowed to `names` when given.
    pub fn accounts_in(&self, scope: &Scope, names: &[String]) -> Vec<String> {
        self.accounts
            .iter()
            .filter(|(namespace, _)| scope.covers(namespace))
            .flat_map(|(_, by_name)| by_name.iter())
            .filter(|(name, _)| names.is_empty() || names.contains(name))
            .map(|(_, id)| id.clone())
            .collect()
    }
}

/// One identity (or namespace) a subject can obtain, and how.
#[derive(Debug, Clone)]
pub(super) struct Acquisition {
    pub target: String,
    pub actions: ActionSet,
    /// Short and stable, e.g. `bind roles`; paths print it as `via: bind roles`.
    pub technique: String,
    pub bindings: BTreeSet<String>,
    /// Why this may claim more than the cluster allows, when it may.
    pub over: Option<String>,
}

/// A technique present in the rules whose result RBAC alone cannot show.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Noted {
    pub technique: String,
    pub binding: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub acquisitions: Vec<Acquisition>,
    /// Roles the subject can bind to itself (named roles only; binding any role is admin).
    pub gained: Vec<Held>,
    pub noted: Vec<Noted>,
}

/// One binding of the subject: the role, where it applies, and the binding's name.
#[derive(Debug, Clone)]
pub(super) struct Bound {
    pub role: RoleKey,
    pub scope: Scope,
    pub binding: String,
}

fn names_include(names: &[String], name: &str) -> bool {
    names.is_empty() || names.iter().any(|n| n == name)
}

fn cluster_wide<'h>(allowed: Vec<Allowed<'h>>) -> Vec<Allowed<'h>> {
    allowed
        .into_iter()
        .filter(|a| *a.scope() == Scope::Cluster)
        .collect()
}

/// Rules that allow creating a new object: a `resourceNames` limit never matches a create.
fn creating<'h>(allowed: Vec<Allowed<'h>>) -> Vec<Allowed<'h>> {
    allowed
        .into_iter()
        .filter(|a| a.names().is_empty())
        .collect()
}

fn covering<'a, 'h>(allowed: &'a [Allowed<'h>], namespace: &str) -> Option<&'a Allowed<'h>> {
    allowed.iter().find(|a| a.scope().covers(namespace))
}

impl Outcome {
    fn acquire(
        &mut self,
        target: String,
        actions: ActionSet,
        technique: &str,
        bindings: &[&str],
        over: Option<&str>,
    ) {
        self.acquisitions.push(Acquisition {
            target,
            actions,
            technique: technique.to_owned(),
            bindings: bindings.iter().map(|b| (*b).to_owned()).collect(),
            over: over.map(str::to_owned),
        });
    }

    fn act_as(&mut self, target: String, technique: &str, bindings: &[&str], over: Option<&str>) {
        self.acquire(
            target,
            ActionSet::from_iter([Action::Impersonate]),
            technique,
            bindings,
            over,
        );
    }

    /// Everything in `scope`: the cluster-admin identity, or the namespace as a whole.
    fn admin_of(
        &mut self,
        cluster: &Cluster<'_>,
        scope: &Scope,
        technique: &str,
        bindings: &[&str],
    ) {
        match scope {
            Scope::Cluster => self.acquire(
                cluster.cluster_admin_id(),
                ActionSet::from_iter([Action::Assume]),
                technique,
                bindings,
                None,
            ),
            Scope::Namespace(namespace) => self.acquire(
                cluster.namespace_id(namespace),
                ActionSet::from_iter([Action::Read, Action::Write, Action::Admin]),
                technique,
                bindings,
                None,
            ),
        }
    }

    fn gain(&mut self, cluster: &Cluster<'_>, role: RoleKey, scope: Scope, binding: String) {
        let Some(def) = cluster.roles.get(&role) else {
            return;
        };
        for rule in &def.rules {
            self.gained.push(Held {
                rule: rule.clone(),
                scope: scope.clone(),
                binding: binding.clone(),
                role: role.clone(),
            });
        }
    }
}

/// Every technique `subject` can use with the rules it holds (`held`, its groups' included) and
/// its bindings (`bound`).
pub(super) fn evaluate(
    subject: &str,
    held: &[Held],
    bound: &[Bound],
    cluster: &Cluster<'_>,
) -> Outcome {
    let mut out = Outcome::default();
    every_permission(held, cluster, &mut out);
    bind_roles(held, cluster, &mut out);
    escalate_roles(held, bound, cluster, &mut out);
    impersonate(subject, held, cluster, &mut out);
    service_account_tokens(subject, held, cluster, &mut out);
    workloads(subject, held, cluster, &mut out);
    nodes_and_certificates(subject, held, cluster, &mut out);
    // Whoever has the whole cluster needs no namespace-level route to say so again.
    if out
        .acquisitions
        .iter()
        .any(|a| a.target == cluster.cluster_admin_id())
    {
        let prefix = format!("k8s:{}/namespace:", cluster.name);
        out.acquisitions.retain(|a| !a.target.starts_with(&prefix));
    }
    out.acquisitions.retain(|a| a.target != subject);
    out
}

/// `*` verbs on `*` resources of `*` groups: the scope's every permission, as `cluster-admin`.
fn every_permission(held: &[Held], cluster: &Cluster<'_>, out: &mut Outcome) {
    for h in held.iter().filter(|h| h.rule.is_everything()) {
        out.admin_of(cluster, &h.scope, "every permission", &[&h.binding]);
    }
}

/// `bind` on roles lets a binding refer to a role whose permissions the writer lacks; with the
/// right to write bindings, the subject binds itself to it.
fn bind_roles(held: &[Held], cluster: &Cluster<'_>, out: &mut Outcome) {
    let bind_cluster_roles = allowing(held, &["bind"], RBAC_GROUP, "clusterroles");
    let bind_roles = allowing(held, &["bind"], RBAC_GROUP, "roles");
    let create_crb = cluster_wide(creating(allowing(
        held,
        &["create"],
        RBAC_GROUP,
        "clusterrolebindings",
    )));
    if let Some(create) = create_crb.first() {
        for bind in bind_cluster_roles
            .iter()
            .filter(|b| *b.scope() == Scope::Cluster)
        {
            let bindings = [create.binding(), bind.binding()];
            if names_include(bind.names(), "cluster-admin") {
                out.admin_of(cluster, &Scope::Cluster, "bind roles", &bindings);
            } else {
                for name in bind.names() {
                    out.gain(
                        cluster,
                        (None, name.clone()),
                        Scope::Cluster,
                        format!("bind roles: {} + {}", bindings[0], bindings[1]),
                    );
                }
            }
        }
    }
    let create_rb = creating(allowing(held, &["create"], RBAC_GROUP, "rolebindings"));
    for namespace in cluster.namespaces {
        let Some(create) = covering(&create_rb, namespace) else {
            continue;
        };
        let scope = Scope::Namespace(namespace.clone());
        for bind in bind_cluster_roles
            .iter()
            .filter(|b| b.scope().covers(namespace))
        {
            let bindings = [create.binding(), bind.binding()];
            if names_include(bind.names(), "cluster-admin") {
                out.admin_of(cluster, &scope, "bind roles", &bindings);
            } else {
                for name in bind.names() {
                    out.gain(
                        cluster,
                        (None, name.clone()),
                        scope.clone(),
                        format!("bind roles: {} + {}", bindings[0], bindings[1]),
                    );
                }
            }
        }
        for bind in bind_roles.iter().filter(|b| b.scope().covers(namespace)) {
            for ((role_namespace, name), _) in cluster.roles.iter() {
                if role_namespace.as_deref() == Some(namespace.as_str())
                    && names_include(bind.names(), name)
                {
                    out.gain(
                        cluster,
                        (role_namespace.clone(), name.clone()),
                        scope.clone(),
                        format!("bind roles: {} + {}", create.binding(), bind.binding()),
                    );
                }
            }
        }
    }
}

/// `escalate` lets a role be given permissions its writer lacks: updating a role the subject is
/// bound to (or creating one that aggregates into it) gives the subject everything there.
fn escalate_roles(held: &[Held], bound: &[Bound], cluster: &Cluster<'_>, out: &mut Outcome) {
    for b in bound {
        let (role_namespace, name) = &b.role;
        let resource = if role_namespace.is_some() {
            "roles"
        } else {
            "clusterroles"
        };
        let request = |verb| Request {
            verb,
            group: RBAC_GROUP,
            resource,
            name: Some(name),
        };
        let escalate = allowed_at(held, &request("escalate"), role_namespace.as_deref());
        let update = allowed_at(held, &request("update"), role_namespace.as_deref())
            .or_else(|| allowed_at(held, &request("patch"), role_namespace.as_deref()));
        if let (Some(escalate), Some(update)) = (escalate, update) {
            out.admin_of(
                cluster,
                &b.scope,
                &format!(
                    "escalate roles (update {resource}/{name}, bound by {})",
                    b.binding
                ),
                &[&escalate.binding, &update.binding],
            );
        }
        let aggregated = role_namespace.is_none()
            && cluster
                .roles
                .get(&b.role)
                .is_some_and(|def| def.selectors.is_some());
        if aggregated {
            let create = Request {
                verb: "create",
                group: RBAC_GROUP,
                resource: "clusterroles",
                name: None,
            };
            let escalate_any = Request {
                verb: "escalate",
                ..create
            };
            if let (Some(create), Some(escalate)) = (
                allowed_at(held, &create, None),
                allowed_at(held, &escalate_any, None),
            ) {
                out.admin_of(
                    cluster,
                    &b.scope,
                    &format!(
                        "escalate roles (create a cluster role that aggregates into {name}, bound by {})",
                        b.binding
                    ),
                    &[&create.binding, &escalate.binding],
                );
            }
        }
    }
}

/// `impersonate` on users, groups and service accounts. The API server refuses groups or uids
/// without a user to impersonate, so groups count only with users or service accounts.
fn impersonate(subject: &str, held: &[Held], cluster: &Cluster<'_>, out: &mut Outcome) {
    let users = cluster_wide(allowing(held, &["impersonate"], "", "users"));
    let groups = cluster_wide(allowing(held, &["impersonate"], "", "groups"));
    let accounts = allowing(held, &["impersonate"], "", "serviceaccounts");
    for u in &users {
        for (name, id) in cluster.users {
            if names_include(u.names(), name) {
                out.act_as(id.clone(), "impersonate users", &[u.binding()], None);
            }
        }
    }
    for a in &accounts {
        for id in cluster.accounts_in(a.scope(), a.names()) {
            out.act_as(id, "impersonate serviceaccounts", &[a.binding()], None);
        }
    }
    let as_someone = users
        .iter()
        .find(|u| u.names().is_empty())
        .or(users.first())
        .or(accounts.first());
    for g in &groups {
        match as_someone {
            Some(user) => {
                for (name, id) in cluster.groups {
                    if names_include(g.names(), name) && id != subject {
                        out.act_as(
                            id.clone(),
                            "impersonate groups",
                            &[g.binding(), user.binding()],
                            None,
                        );
                    }
                }
            }
            None => out.noted.push(Noted {
                technique: "impersonate groups".into(),
                binding: g.binding().to_owned(),
                reason: "no user or service account to impersonate with them: the API server refuses groups without a user".into(),
            }),
        }
    }
    for uid in cluster_wide(allowing(
        held,
        &["impersonate"],
        "authentication.k8s.io",
        "uids",
    )) {
        out.noted.push(Noted {
            technique: "impersonate uids".into(),
            binding: uid.binding().to_owned(),
            reason: "RBAC decides on user and groups, never on uid: no identity follows from a uid alone".into(),
        });
    }
}

/// Minting a token (`serviceaccounts/token`), reading token Secrets, or creating one for any
/// account and reading it back.
fn service_account_tokens(subject: &str, held: &[Held], cluster: &Cluster<'_>, out: &mut Outcome) {
    for a in allowing(held, &["create"], "", "serviceaccounts/token") {
        for id in cluster.accounts_in(a.scope(), a.names()) {
            out.act_as(id, "create serviceaccounts/token", &[a.binding()], None);
        }
    }
    let read = allowing(held, &["get", "list", "watch"], "", "secrets");
    if !cluster.secrets_listed {
        // A read limited to named Secrets is not followed: without Secret items nothing says
        // whether those are token Secrets, and every account would be a guess.
        for r in read.iter().filter(|r| r.names().is_empty()) {
            for id in cluster.accounts_in(r.scope(), &[]) {
                out.act_as(
                    id,
                    "read secrets",
                    &[r.binding()],
                    Some("the file lists no Secrets, so any account of the namespace may have a token Secret (add `secrets` to the kubectl command to make this exact)"),
                );
            }
        }
    }
    let create = creating(allowing(held, &["create"], "", "secrets"));
    for namespace in cluster.namespaces {
        if let (Some(c), Some(r)) = (covering(&create, namespace), covering(&read, namespace)) {
            let scope = Scope::Namespace(namespace.clone());
            for id in cluster.accounts_in(&scope, &[]) {
                if id != subject {
                    out.act_as(
                        id,
                        "create service-account token secrets",
                        &[c.binding(), r.binding()],
                        None,
                    );
                }
            }
        }
    }
}

/// Pods and the controllers that make them run code as an account of their namespace.
fn workloads(subject: &str, held: &[Held], cluster: &Cluster<'_>, out: &mut Outcome) {
    const WHICH_PODS: &str = "which pods run as which account is not in the file: every account of the namespace is assumed";
    let create_pods = creating(allowing(held, &["create"], "", "pods"));
    let update_pods = allowing(held, &["update", "patch"], "", "pods");
    let exec = allowing(held, &["create"], "", "pods/exec");
    let exec_get = allowing(held, &["get"], "", "pods/exec");
    let attach = allowing(held, &["create"], "", "pods/attach");
    let attach_get = allowing(held, &["get"], "", "pods/attach");
    let ephemeral = allowing(held, &["update", "patch"], "", "pods/ephemeralcontainers");
    let controllers: Vec<(String, Vec<Allowed<'_>>, Vec<Allowed<'_>>)> = CONTROLLERS
        .iter()
        .map(|(group, resource)| {
            let what = if group.is_empty() {
                (*resource).to_owned()
            } else {
                format!("{resource}.{group}")
            };
            (
                what,
                creating(allowing(held, &["create"], group, resource)),
                allowing(held, &["update", "patch"], group, resource),
            )
        })
        .collect();
    let websocket = format!(
        "{WHICH_PODS}; `get` opens exec and attach over WebSocket wherever the API server authorizes that upgrade with `get` rather than `create`"
    );
    for namespace in cluster.namespaces {
        let scope = Scope::Namespace(namespace.clone());
        let mut routes: Vec<(String, &str, Option<&str>)> = Vec::new();
        if let Some(a) = covering(&create_pods, namespace) {
            routes.push(("create pods".into(), a.binding(), None));
        }
        if let Some(a) = covering(&update_pods, namespace) {
            routes.push(("update pods".into(), a.binding(), Some(WHICH_PODS)));
        }
        for (list, technique, over) in [
            (&exec, "pods/exec", WHICH_PODS),
            (&exec_get, "pods/exec", websocket.as_str()),
            (&attach, "pods/attach", WHICH_PODS),
            (&attach_get, "pods/attach", websocket.as_str()),
            (&ephemeral, "pods/ephemeralcontainers", WHICH_PODS),
        ] {
            if let Some(a) = covering(list, namespace) {
                routes.push((technique.into(), a.binding(), Some(over)));
            }
        }
        for (what, create, update) in &controllers {
            if let Some(a) = covering(create, namespace) {
                routes.push((format!("create {what}"), a.binding(), None));
            } else if let Some(a) = covering(update, namespace) {
                routes.push((format!("update {what}"), a.binding(), None));
            }
        }
        for (technique, binding, over) in routes {
            for id in cluster.accounts_in(&scope, &[]) {
                if id != subject {
                    out.act_as(id, &technique, &[binding], over);
                }
            }
        }
    }
}

/// Cluster-scoped routes: the kubelet API, client certificates, admission webhooks; and the
/// status writes that need a node under the subject's control.
fn nodes_and_certificates(subject: &str, held: &[Held], cluster: &Cluster<'_>, out: &mut Outcome) {
    let every_account = cluster.accounts_in(&Scope::Cluster, &[]);
    for proxy in cluster_wide(allowing(held, &["create", "get"], "", "nodes/proxy")) {
        for id in &every_account {
            if id != subject {
                out.act_as(
                    id.clone(),
                    "nodes/proxy",
                    &[proxy.binding()],
                    Some("the kubelet API runs commands in any pod of the node; which accounts have pods is not in the file"),
                );
            }
        }
    }

    let create_csr = cluster_wide(creating(allowing(
        held,
        &["create"],
        CERTIFICATES_GROUP,
        "certificatesigningrequests",
    )));
    let read_csr = cluster_wide(allowing(
        held,
        &["get", "list", "watch"],
        CERTIFICATES_GROUP,
        "certificatesigningrequests",
    ));
    let approve = cluster_wide(allowing(
        held,
        &["update", "patch"],
        CERTIFICATES_GROUP,
        "certificatesigningrequests/approval",
    ));
    let signer = cluster_wide(allowing(held, &["approve"], CERTIFICATES_GROUP, "signers"));
    let client_signer = signer.iter().find(|s| {
        names_include(s.names(), CLIENT_SIGNER) || names_include(s.names(), "kubernetes.io/*")
    });
    if let (Some(c), Some(r), Some(a), Some(s)) = (
        create_csr.first(),
        read_csr.first(),
        approve.first(),
        client_signer,
    ) {
        out.act_as(
            cluster.masters_id(),
            "approve client certificate requests (signer kubernetes.io/kube-apiserver-client)",
            &[c.binding(), r.binding(), a.binding(), s.binding()],
            None,
        );
    }

    for w in cluster_wide(allowing(
        held,
        &["create", "update", "patch"],
        ADMISSION_GROUP,
        "mutatingwebhookconfigurations",
    )) {
        for id in &every_account {
            if id != subject {
                out.act_as(
                    id.clone(),
                    "write mutating admission webhooks (rewrites every pod admitted from then on)",
                    &[w.binding()],
                    None,
                );
            }
        }
    }
    if let Some(w) = cluster_wide(allowing(
        held,
        &["create", "update", "patch"],
        ADMISSION_GROUP,
        "validatingwebhookconfigurations",
    ))
    .first()
    {
        out.acquire(
            format!("k8s:{}/*/secrets", cluster.name),
            ActionSet::from_iter([Action::Read]),
            "write validating admission webhooks (receives every Secret written)",
            &[w.binding()],
            Some(
                "a webhook sees Secrets only as they are created or changed after it is registered",
            ),
        );
    }

    for (resource, yields) in [
        (
            "nodes/status",
            "node labels steer pods only to a node the subject already controls",
        ),
        (
            "pods/status",
            "pod labels redirect Service traffic; no identity follows",
        ),
    ] {
        let allowed = allowing(held, &["update", "patch"], "", resource);
        // Nodes are cluster-scoped: a RoleBinding never reaches them.
        let allowed = if resource.starts_with("nodes/") {
            cluster_wide(allowed)
        } else {
            allowed
        };
        for a in allowed {
            out.noted.push(Noted {
                technique: format!("modify {resource}"),
                binding: a.binding().to_owned(),
                reason: yields.to_owned(),
            });
        }
    }
}
