//! The importer against fixture clusters: one service account per escalation technique, a
//! benign control, and Kubernetes' own bootstrap roles.

use std::collections::BTreeMap;

use bridle_core::graph::{EdgeReason, PrivilegeGraph};
use bridle_core::model::{EntityKind, Estate};
use expect_test::expect_file;

use super::*;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/brokers")
        .join(name)
}

fn render(collected: &Collected) -> String {
    let mut out = Vec::new();
    bridle_core::estate::write_canonical(&collected.estate, &mut out).unwrap();
    let mut text = String::from_utf8(out).unwrap();
    text.push_str("\nobservations:\n");
    for observation in &collected.observations {
        text.push_str(&format!(
            "{} {} {}\n",
            observation.kind,
            observation.id,
            serde_json::Value::Object(observation.facts.clone())
        ));
    }
    text.push_str("\nunknown parts:\n");
    for unknown in &collected.unknowns {
        text.push_str(&format!("{}: {}\n", unknown.part, unknown.reason));
    }
    text
}

fn at() -> bridle_core::time::Timestamp {
    bridle_core::time::parse_utc("2026-12-01T00:00:00Z").unwrap()
}

/// Every step's grant conditions along the first shortest path from `from` to `to`.
fn path_notes(
    estate: &Estate,
    graph: &PrivilegeGraph,
    from: &str,
    to: &str,
) -> Option<Vec<String>> {
    let conditions: BTreeMap<&str, &str> = estate
        .grants
        .iter()
        .map(|g| (g.id.as_str(), g.conditions.as_deref().unwrap_or_default()))
        .collect();
    let paths = graph.paths(from, to, 1, 12).unwrap();
    let path = paths.paths.first()?;
    Some(
        path.via
            .iter()
            .map(|step| {
                step.iter()
                    .map(|reason| match reason {
                        EdgeReason::Grant { id, .. } => conditions[id.as_str()].to_owned(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .collect(),
    )
}

#[test]
fn rbac_becomes_identities_resources_and_grants() {
    let collected = read(&fixture("k8s-rbac.json"), "prod").unwrap();
    expect_file!["../snapshots/k8s-rbac.txt"].assert_eq(&render(&collected));
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

#[test]
fn a_name_too_long_for_an_id_is_refused_naming_the_file() {
    // Found by the fuzz tests: the import refused the mapped estate instead, at a place in a
    // generated document.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rbac.json");
    let name = "n".repeat(600);
    let list = serde_json::json!({"kind": "List", "items": [
        {"kind": "ServiceAccount", "metadata": {"name": name, "namespace": "ci"}}
    ]});
    std::fs::write(&path, list.to_string()).unwrap();
    match read(&path, "prod") {
        Err(BrokerError::File {
            location, message, ..
        }) => {
            assert_eq!(location, "$");
            assert!(message.contains("at most 512 bytes"), "{message}");
        }
        other => panic!("expected a located file error, got {other:?}"),
    }
}

const CLUSTER_ADMIN: &str = "k8s:prod/cluster-admin";
const PAYMENTS_API: &str = "k8s:prod/payments/serviceaccount/payments-api";

#[test]
fn every_technique_reaches_its_target_with_a_path_naming_it() {
    let collected = read(&fixture("k8s-techniques.json"), "prod").unwrap();
    let estate = &collected.estate;
    let graph = PrivilegeGraph::build(estate, at());
    let cases = [
        ("binder", CLUSTER_ADMIN, "via: bind roles"),
        ("ns-binder", PAYMENTS_API, "via: bind roles"),
        (
            "escalator",
            CLUSTER_ADMIN,
            "via: escalate roles (update clusterroles/self-editing",
        ),
        (
            "aggregator",
            CLUSTER_ADMIN,
            "via: escalate roles (create a cluster role that aggregates into lab-aggregate",
        ),
        ("impersonator", CLUSTER_ADMIN, "via: impersonate groups"),
        (
            "sa-impersonator",
            PAYMENTS_API,
            "via: impersonate serviceaccounts",
        ),
        ("secret-reader", PAYMENTS_API, "via: read secrets"),
        (
            "token-secret-maker",
            PAYMENTS_API,
            "via: create service-account token secrets",
        ),
        (
            "token-requester",
            PAYMENTS_API,
            "via: create serviceaccounts/token",
        ),
        ("pod-creator", PAYMENTS_API, "via: create pods"),
        ("deployer", PAYMENTS_API, "via: create deployments.apps"),
        ("execer", PAYMENTS_API, "via: pods/exec"),
        ("attacher", PAYMENTS_API, "via: pods/attach"),
        ("debugger", PAYMENTS_API, "via: pods/ephemeralcontainers"),
        ("node-proxy", PAYMENTS_API, "via: nodes/proxy"),
        (
            "csr-approver",
            CLUSTER_ADMIN,
            "via: approve client certificate requests",
        ),
        (
            "webhook-writer",
            PAYMENTS_API,
            "via: write mutating admission webhooks",
        ),
    ];
    for (account, target, technique) in cases {
        let from = format!("k8s:prod/lab/serviceaccount/{account}");
        let notes = path_notes(estate, &graph, &from, target)
            .unwrap_or_else(|| panic!("{account} does not reach {target}"));
        assert!(
            notes[0].contains(technique),
            "{account} → {target}: the first step says {notes:?}, not `{technique}`"
        );
    }
    // The superusers hold the whole cluster, a crown jewel.
    let whole = estate
        .resources
        .iter()
        .find(|r| r.id == "k8s:prod/cluster")
        .unwrap();
    assert!(whole.crown_jewel);
    let reached = graph.reach("k8s:prod/group/system:masters").unwrap();
    assert!(
        reached
            .reachable
            .iter()
            .any(|r| r.target == "k8s:prod/cluster")
    );
    assert!(reached.reachable.iter().any(|r| r.target == PAYMENTS_API));
}

#[test]
fn the_benign_control_and_techniques_without_an_identity_reach_nothing_privileged() {
    let collected = read(&fixture("k8s-techniques.json"), "prod").unwrap();
    let estate = &collected.estate;
    let graph = PrivilegeGraph::build(estate, at());
    let jewels: Vec<&str> = estate
        .resources
        .iter()
        .filter(|r| r.crown_jewel)
        .map(|r| r.id.as_str())
        .collect();
    for account in ["benign", "group-only", "status-writer", "widget-viewer"] {
        let from = format!("k8s:prod/lab/serviceaccount/{account}");
        let reached = graph.reach(&from).unwrap();
        let privileged: Vec<&str> = reached
            .reachable
            .iter()
            .filter(|r| {
                matches!(r.kind, EntityKind::Identity | EntityKind::Credential)
                    || jewels.contains(&r.target.as_str())
            })
            .map(|r| r.target.as_str())
            .collect();
        assert!(privileged.is_empty(), "{account} reaches {privileged:?}");
    }
    let noted: Vec<&str> = collected
        .observations
        .iter()
        .filter(|o| o.kind == "k8s.technique")
        .map(|o| o.id.as_str())
        .collect();
    assert!(
        noted.contains(&"k8s:prod/lab/serviceaccount/group-only/impersonate groups"),
        "{noted:?}"
    );
    assert!(
        noted.contains(&"k8s:prod/lab/serviceaccount/status-writer/modify nodes/status"),
        "{noted:?}"
    );
    // `view` aggregates the labelled role, so its holder reads widgets.
    let widgets = graph
        .reach("k8s:prod/lab/serviceaccount/widget-viewer")
        .unwrap();
    assert!(
        widgets
            .reachable
            .iter()
            .any(|r| r.target == "k8s:prod/lab/widgets.example.com"),
        "{:?}",
        widgets.reachable
    );
}

#[test]
fn secret_items_give_exact_token_reach_and_leave_no_value_behind() {
    let collected = read(&fixture("k8s-techniques.json"), "prod").unwrap();
    let estate = &collected.estate;
    // Only the token Secret becomes a credential, of the account its annotation names.
    let credentials: Vec<(&str, &str)> = estate
        .credentials
        .iter()
        .map(|c| (c.id.as_str(), c.identity.as_str()))
        .collect();
    assert_eq!(
        credentials,
        [("k8s:prod/payments/secret/payments-api-token", PAYMENTS_API)]
    );
    // Reading Secrets reaches the account with a token Secret, not the one without.
    let graph = PrivilegeGraph::build(estate, at());
    let reached = graph
        .reach("k8s:prod/lab/serviceaccount/secret-reader")
        .unwrap();
    let ids: Vec<&str> = reached
        .reachable
        .iter()
        .map(|r| r.target.as_str())
        .collect();
    assert!(ids.contains(&PAYMENTS_API), "{ids:?}");
    assert!(
        !ids.contains(&"k8s:prod/payments/serviceaccount/default"),
        "{ids:?}"
    );
    // No byte of any Secret value, nor the annotation that repeats them, is anywhere.
    let text = render(&collected);
    for value in [
        "ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNkluQmhlVzFsYm5SekluMC5CUklETEUtVEVTVC1UT0tFTg",
        "c2tfbGl2ZV9CUklETEVURVNUU0VDUkVUVkFMVUU",
        "BRIDLE",
        "last-applied",
    ] {
        assert!(!text.contains(value), "`{value}` leaked");
    }
}

#[test]
fn without_secret_items_reading_secrets_is_an_over_approximation() {
    let collected = read(&fixture("k8s-rbac.json"), "prod").unwrap();
    let graph = PrivilegeGraph::build(&collected.estate, at());
    // alice reads every Secret of the cluster; which accounts have token Secrets is not known.
    let notes = path_notes(
        &collected.estate,
        &graph,
        "k8s:prod/user/alice@example.com",
        "k8s:prod/billing/serviceaccount/billing-agent",
    )
    .unwrap();
    assert!(notes[0].contains("via: read secrets"), "{notes:?}");
    assert!(
        notes[0].contains("over-approximation: the file lists no Secrets"),
        "{notes:?}"
    );
}

/// Kubernetes' own bootstrap policy (cluster roles, controller roles, namespace roles and their
/// bindings, as `kubectl get … -o json` prints them on a new cluster).
#[test]
fn the_bootstrap_roles_import_clean_and_give_the_controller_escalations_they_imply() {
    let collected = read(&fixture("k8s-bootstrap.json"), "boot").unwrap();
    let missing: Vec<&UnknownPart> = collected
        .unknowns
        .iter()
        .filter(|u| u.reason.contains("not in the file"))
        .collect();
    assert!(missing.is_empty(), "{missing:?}");
    let estate = &collected.estate;
    let graph = PrivilegeGraph::build(estate, at());
    let controller = |name: &str| format!("k8s:boot/kube-system/serviceaccount/{name}");
    let kube_system_default = "k8s:boot/kube-system/serviceaccount/default";
    let cases = [
        // It may update the cluster roles it is bound to, and holds `escalate`.
        (
            controller("clusterrole-aggregation-controller"),
            "k8s:boot/cluster-admin".to_owned(),
            "via: escalate roles",
        ),
        (
            controller("replicaset-controller"),
            kube_system_default.to_owned(),
            "via: create pods",
        ),
        (
            controller("daemon-set-controller"),
            kube_system_default.to_owned(),
            "via: create pods",
        ),
        (
            controller("job-controller"),
            kube_system_default.to_owned(),
            "via: create pods",
        ),
        (
            controller("deployment-controller"),
            kube_system_default.to_owned(),
            "via: create replicasets.apps",
        ),
        (
            controller("cronjob-controller"),
            kube_system_default.to_owned(),
            "via: create jobs.batch",
        ),
        // The controller manager mints every account's tokens.
        (
            "k8s:boot/user/system:kube-controller-manager".to_owned(),
            kube_system_default.to_owned(),
            "via: create serviceaccounts/token",
        ),
        (
            "k8s:boot/group/system:masters".to_owned(),
            "k8s:boot/cluster-admin".to_owned(),
            "via: every permission",
        ),
    ];
    for (from, to, technique) in &cases {
        let notes = path_notes(estate, &graph, from, to)
            .unwrap_or_else(|| panic!("{from} does not reach {to}"));
        assert!(notes[0].contains(technique), "{from} → {to}: {notes:?}");
    }
    // Aggregation as the controller computes it: admin ⊇ edit ⊇ view.
    let aggregated = |role: &str| -> Vec<String> {
        let o = collected
            .observations
            .iter()
            .find(|o| o.kind == "k8s.aggregated_role" && o.id == format!("clusterrole/{role}"))
            .unwrap_or_else(|| panic!("{role} is not aggregated"));
        serde_json::from_value(o.facts["aggregated_from"].clone()).unwrap()
    };
    assert!(aggregated("admin").contains(&"edit".to_owned()));
    assert!(aggregated("edit").contains(&"view".to_owned()));
    assert!(aggregated("view").contains(&"system:aggregate-to-view".to_owned()));
    // An account with no binding of its own reaches only the groups Kubernetes puts it in.
    let reached = graph
        .reach("k8s:boot/kube-public/serviceaccount/default")
        .unwrap();
    let identities: Vec<&str> = reached
        .reachable
        .iter()
        .filter(|r| {
            r.kind == EntityKind::Identity && !r.target.starts_with("k8s:boot/group/system:")
        })
        .map(|r| r.target.as_str())
        .collect();
    assert!(identities.is_empty(), "{identities:?}");
    let jewel = reached
        .reachable
        .iter()
        .any(|r| r.target == "k8s:boot/cluster");
    assert!(!jewel);
}
