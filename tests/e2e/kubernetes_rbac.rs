//! `bridle import --format kubernetes` with the escalation techniques: the real binary imports a
//! cluster's RBAC (with Secret metadata) into a real SQLite file, `bridle paths` names the
//! technique behind each step, and no Secret value reaches the database.

use crate::support::{Sandbox, fixture};

const CLUSTER_ADMIN: &str = "k8s:prod/cluster-admin";
const PAYMENTS_API: &str = "k8s:prod/payments/serviceaccount/payments-api";

fn import_kubernetes(sandbox: &Sandbox, name: &str, cluster: &str) -> serde_json::Value {
    let file = fixture(&format!("brokers/{name}"));
    let run = sandbox.bridle(&[
        "import".as_ref(),
        "--format".as_ref(),
        "kubernetes".as_ref(),
        file.as_os_str(),
        "--source".as_ref(),
        cluster.as_ref(),
        "--json".as_ref(),
    ]);
    run.ok();
    let outcome = run.json();
    assert_eq!(outcome["outcome"], "imported", "{outcome}");
    outcome
}

/// The first shortest path's first step, as `bridle paths --json` prints it.
fn first_step(sandbox: &Sandbox, from: &str, to: &str) -> String {
    let run = sandbox.bridle(&["paths", from, to, "--json"]);
    run.ok();
    let paths = run.json();
    let step = &paths["paths"][0]["via"][0];
    assert!(step.is_array(), "{from} does not reach {to}: {paths}");
    step.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[test]
fn paths_name_the_escalation_technique_and_no_secret_value_is_stored() {
    let sandbox = Sandbox::new();
    import_kubernetes(&sandbox, "k8s-techniques.json", "prod");

    let lab = |account: &str| format!("k8s:prod/lab/serviceaccount/{account}");
    for (account, target, technique) in [
        ("binder", CLUSTER_ADMIN, "via: bind roles"),
        ("escalator", CLUSTER_ADMIN, "via: escalate roles"),
        ("impersonator", CLUSTER_ADMIN, "via: impersonate groups"),
        (
            "csr-approver",
            CLUSTER_ADMIN,
            "via: approve client certificate requests",
        ),
        ("pod-creator", PAYMENTS_API, "via: create pods"),
        ("secret-reader", PAYMENTS_API, "via: read secrets"),
        ("node-proxy", PAYMENTS_API, "via: nodes/proxy"),
    ] {
        let step = first_step(&sandbox, &lab(account), target);
        assert!(step.contains(technique), "{account}: {step}");
    }

    // The text form says it too.
    let run = sandbox.bridle(&["paths", &lab("binder"), CLUSTER_ADMIN]);
    run.ok();
    assert!(run.stdout.contains("via: bind roles"), "{}", run.stdout);

    // The benign account reaches no identity.
    let run = sandbox.bridle(&["reach", &lab("benign"), "--json"]);
    run.ok();
    let reach = run.json();
    let identities: Vec<&serde_json::Value> = reach["reachable"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] != "resource")
        .collect();
    assert!(identities.is_empty(), "{identities:?}");

    // Only Secret metadata was read: no value, nor the annotation that repeats it, is on disk.
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(sandbox.path("")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            stored.extend(std::fs::read(&path).unwrap());
        }
    }
    let stored = String::from_utf8_lossy(&stored);
    for value in [
        "ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNkluQmhlVzFsYm5SekluMC5CUklETEUtVEVTVC1UT0tFTg",
        "c2tfbGl2ZV9CUklETEVURVNUU0VDUkVUVkFMVUU",
        "last-applied-configuration",
    ] {
        assert!(!stored.contains(value), "`{value}` is stored");
    }
}

#[test]
fn kubernetes_bootstrap_policy_imports_clean_with_its_controller_escalations() {
    let sandbox = Sandbox::new();
    let outcome = import_kubernetes(&sandbox, "k8s-bootstrap.json", "boot");
    assert_eq!(outcome["snapshot"]["source"], "import:boot", "{outcome}");
    let step = first_step(
        &sandbox,
        "k8s:boot/kube-system/serviceaccount/clusterrole-aggregation-controller",
        "k8s:boot/cluster-admin",
    );
    assert!(step.contains("via: escalate roles"), "{step}");
    let step = first_step(
        &sandbox,
        "k8s:boot/kube-system/serviceaccount/replicaset-controller",
        "k8s:boot/kube-system/serviceaccount/default",
    );
    assert!(step.contains("via: create pods"), "{step}");
    // The whole cluster is a crown jewel, and the built-in superusers reach it.
    let run = sandbox.bridle(&["who-can-reach", "k8s:boot/cluster", "--json"]);
    run.ok();
    let who = run.json().to_string();
    assert!(who.contains("k8s:boot/group/system:masters"), "{who}");
    let resources = sandbox.list("resources");
    let cluster = resources
        .iter()
        .find(|r| r["id"] == "k8s:boot/cluster")
        .expect("the cluster is a resource");
    assert_eq!(cluster["crown_jewel"], true, "{cluster}");
}
