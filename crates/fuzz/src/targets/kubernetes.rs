//! The Kubernetes RBAC file importer (`kubernetes::read`): the kubectl `List` fixtures (a small
//! estate, the escalation techniques, a real cluster's bootstrap policy, and the rejected ones),
//! structurally mutated; the properties are those of [`super::broker_file`].

use super::broker_file::{ScratchFile, documents, property};
use crate::harness::{Outcome, check};
use crate::seeds;

/// The cluster name the file is read as (it is part of every id).
const CLUSTER: &str = "fuzz";

/// Field names, kinds, verbs and resources of RBAC objects.
const WORDS: &[&str] = &[
    "apiVersion",
    "kind",
    "items",
    "metadata",
    "name",
    "namespace",
    "labels",
    "annotations",
    "rules",
    "verbs",
    "apiGroups",
    "resources",
    "resourceNames",
    "nonResourceURLs",
    "aggregationRule",
    "clusterRoleSelectors",
    "matchLabels",
    "matchExpressions",
    "key",
    "operator",
    "values",
    "roleRef",
    "subjects",
    "type",
    "data",
    "List",
    "ServiceAccount",
    "Secret",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "User",
    "Group",
    "In",
    "NotIn",
    "Exists",
    "DoesNotExist",
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "bind",
    "escalate",
    "impersonate",
    "approve",
    "sign",
    "*",
    "",
    "apps",
    "rbac.authorization.k8s.io",
    "pods",
    "pods/exec",
    "secrets",
    "serviceaccounts",
    "serviceaccounts/token",
    "nodes/proxy",
    "roles",
    "clusterroles",
    "rolebindings",
    "deployments",
    "certificatesigningrequests",
    "system:masters",
    "system:serviceaccount:kube-system:default",
    "system:authenticated",
    "cluster-admin",
    "kube-system",
    "default",
    "kubernetes.io/service-account-token",
    "kubernetes.io/service-account.name",
    "/healthz",
    "/api/*",
];

pub fn run(seed: u64, cases: u32) -> Outcome {
    let file = ScratchFile::new("rbac.json");
    check(seed, cases, documents(seeds::KUBERNETES, WORDS), |input| {
        property(input, &file, |path| {
            bridle_brokers::kubernetes::read(path, CLUSTER)
        })
    })
}
