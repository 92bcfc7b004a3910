//! `bridle import --format spire|kubernetes`: exported broker files imported by the real binary
//! into a real SQLite file, through the same path as estate files (snapshot, audit, sources); a
//! malformed file is a located error and leaves the database byte-for-byte as it was.

use crate::support::{Sandbox, fixture, sha256_file, with_suffix};

fn broker_fixture(name: &str) -> std::path::PathBuf {
    fixture(&format!("brokers/{name}"))
}

fn ids(rows: &[serde_json::Value]) -> Vec<String> {
    rows.iter()
        .map(|row| row["id"].as_str().expect("every row has an id").to_owned())
        .collect()
}

fn row<'a>(rows: &'a [serde_json::Value], id: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no row {id} in {rows:?}"))
}

#[test]
fn spire_and_kubernetes_files_land_side_by_side_as_snapshots() {
    let sandbox = Sandbox::new();
    let spire = broker_fixture("spire-entries.json");
    let run = sandbox.bridle(&[
        "import".as_ref(),
        "--format".as_ref(),
        "spire".as_ref(),
        spire.as_os_str(),
        "--json".as_ref(),
    ]);
    run.ok();
    let outcome = run.json();
    assert_eq!(outcome["outcome"], "imported", "{outcome}");
    assert_eq!(outcome["snapshot"]["source"], "import:spire");
    assert_eq!(outcome["snapshot"]["counts"]["identities"], 5);
    assert_eq!(outcome["snapshot"]["counts"]["grants"], 5);

    let k8s = broker_fixture("k8s-rbac.json");
    let run = sandbox.bridle(&[
        "import".as_ref(),
        "--format".as_ref(),
        "kubernetes".as_ref(),
        k8s.as_os_str(),
        "--source".as_ref(),
        "prod".as_ref(),
    ]);
    run.ok();
    // What the file cannot tell is said on stderr.
    assert!(
        run.stderr.contains("members of group `security-auditors`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("ClusterRole `ci-deployer`"),
        "{}",
        run.stderr
    );

    let identities = sandbox.list("identities");
    let identity_ids = ids(&identities);
    for id in [
        "spiffe://example.org/agents/support-bot",
        "spiffe://example.org/spire/server",
        "k8s:prod/support/serviceaccount/support-bot",
        // Bound by a RoleBinding but absent from the file: still an identity (creating it would
        // inherit the binding).
        "k8s:prod/billing/serviceaccount/legacy-batch",
    ] {
        assert!(
            identity_ids.contains(&id.to_owned()),
            "{id} in {identity_ids:?}"
        );
    }
    assert_eq!(
        row(&identities, "k8s:prod/support/serviceaccount/support-bot")["kind"],
        "k8s_service_account"
    );
    assert_eq!(
        row(&identities, "spiffe://example.org/agents/support-bot")["kind"],
        "spiffe"
    );

    let grants = sandbox.list("grants");
    // SPIRE: the node entry can mint the agent's SVID, under its selectors.
    let entry = row(&grants, "spire:entry:5d1f6f0c-33a4-4d2e-8e4b-7f7c0e2a9c12");
    assert_eq!(
        entry["subject"],
        "spiffe://example.org/ns/spire/node/prod-cluster"
    );
    assert_eq!(entry["target"], "spiffe://example.org/agents/support-bot");
    assert!(
        entry.to_string().contains("k8s:sa:support-bot"),
        "selectors kept as conditions: {entry}"
    );
    // An admin entry's holder can register anything: it reaches the other agents' identities.
    let reach = sandbox.bridle(&[
        "reach",
        "spiffe://example.org/agents/billing-agent",
        "--json",
    ]);
    reach.ok();
    assert!(
        reach
            .stdout
            .contains("spiffe://example.org/agents/support-bot"),
        "{}",
        reach.stdout
    );
    // Kubernetes: a namespaced wildcard rule is a pattern grant marked as an over-approximation.
    let wildcard = grants
        .iter()
        .find(|g| {
            g["subject"] == "k8s:prod/billing/serviceaccount/billing-agent"
                && g["target"] == "k8s:prod/billing/*"
        })
        .unwrap_or_else(|| panic!("no wildcard grant in {grants:?}"));
    assert!(
        wildcard.to_string().contains("over-approximation"),
        "{wildcard}"
    );
    // A ClusterRole bound by a RoleBinding reaches that namespace only.
    assert!(grants.iter().any(|g| {
        g["subject"] == "k8s:prod/support/serviceaccount/support-bot"
            && g["target"] == "k8s:prod/billing/pods"
    }));
    assert!(
        !ids(&sandbox.list("resources")).contains(&"k8s:prod/*/pods".to_owned()),
        "view was bound in billing only"
    );

    // Minting another account's token is acting as it, and writing pods runs code as every
    // account of the namespace: the privilege graph follows both.
    let minted = grants
        .iter()
        .find(|g| {
            g["subject"] == "k8s:prod/support/serviceaccount/ci-runner"
                && g["target"] == "k8s:prod/support/serviceaccount/support-bot"
        })
        .unwrap_or_else(|| panic!("no token-minting grant in {grants:?}"));
    assert_eq!(minted["actions"], serde_json::json!(["impersonate"]));
    let reach = sandbox.bridle(&[
        "reach",
        "k8s:prod/support/serviceaccount/ci-runner",
        "--json",
    ]);
    reach.ok();
    let reached = reach.stdout.clone();
    assert!(
        reached.contains("k8s:prod/support/serviceaccount/support-bot")
            && reached.contains("k8s:prod/support/secrets/zendesk-api-token"),
        "ci-runner reaches support-bot and its secret: {reached}"
    );

    // Both imports are audited snapshots of their own sources; the chain verifies.
    let snapshots = sandbox.bridle(&["snapshots", "--json"]);
    snapshots.ok();
    let text = snapshots.stdout.clone();
    assert!(
        text.contains("import:spire") && text.contains("import:prod"),
        "{text}"
    );
    sandbox.bridle(&["audit", "verify"]).ok();

    // Re-importing the same file changes nothing.
    let again = sandbox.bridle(&[
        "import".as_ref(),
        "--format".as_ref(),
        "spire".as_ref(),
        spire.as_os_str(),
        "--json".as_ref(),
    ]);
    again.ok();
    let snapshot = &again.json()["snapshot"];
    assert_eq!(snapshot["added"], 0, "{snapshot}");
    assert_eq!(snapshot["changed"], 0, "{snapshot}");
    assert_eq!(snapshot["removed"], 0, "{snapshot}");
}

#[test]
fn malformed_broker_files_are_located_and_change_nothing() {
    let sandbox = Sandbox::new();
    sandbox
        .bridle(&[
            "import".as_ref(),
            "--format".as_ref(),
            "spire".as_ref(),
            broker_fixture("spire-entries.json").as_os_str(),
        ])
        .ok();
    let db = sandbox.db();
    let wal = with_suffix(&db, "-wal");
    let before = (sha256_file(&db), sha256_file(&wal));

    let cases = [
        (
            "spire",
            "spire-bad-selector.json",
            "entries[1].selectors[0]",
        ),
        ("spire", "spire-bad-spiffe-id.json", "entries[0].spiffe_id"),
        ("spire", "spire-truncated.json", "entries[1]"),
        ("kubernetes", "k8s-bad-kind.json", "items[3].kind"),
        ("kubernetes", "k8s-bad-rule.json", "items[2].rules[0]"),
        (
            "kubernetes",
            "k8s-bad-namespace.json",
            "items[0].metadata.namespace",
        ),
    ];
    for (format, name, location) in cases {
        let file = broker_fixture(name);
        let run = sandbox.bridle(&[
            "import".as_ref(),
            "--format".as_ref(),
            format.as_ref(),
            file.as_os_str(),
        ]);
        run.expect_code(2);
        let prefix = format!("{}: {location}", file.display());
        assert!(
            run.stderr.lines().any(|line| line.starts_with(&prefix)),
            "{name}: expected a line starting with `{prefix}`:\n{}",
            run.stderr
        );
        assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
        assert_eq!(
            (sha256_file(&db), sha256_file(&wal)),
            before,
            "{name} changed the database"
        );
    }

    // A bad file never creates a database either.
    let fresh = Sandbox::new();
    fresh
        .bridle(&[
            "import".as_ref(),
            "--format".as_ref(),
            "kubernetes".as_ref(),
            broker_fixture("k8s-bad-kind.json").as_os_str(),
        ])
        .expect_code(2);
    assert!(!fresh.db().exists(), "a rejected file created a database");
}
