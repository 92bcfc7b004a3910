//! Importing the demo estate, re-importing it unchanged and changed, snapshots that stay
//! reconstructable, YAML input, and warnings that are reported without rejecting.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::support::{KINDS, Sandbox, array, demo_estate, read_json};

/// `id → provenance.first_seen` of every current entity of every kind.
fn first_seen(sandbox: &Sandbox) -> BTreeMap<String, Value> {
    KINDS
        .iter()
        .flat_map(|kind| sandbox.list(kind))
        .map(|row| {
            (
                row["id"].as_str().expect("an id").to_owned(),
                row["provenance"]["first_seen"].clone(),
            )
        })
        .collect()
}

#[test]
fn the_demo_estate_imports_and_says_which_snapshot_it_made() {
    let sandbox = Sandbox::new();
    let demo = demo_estate();
    let run = sandbox.bridle(&["import".as_ref(), demo.as_os_str()]);
    run.ok();
    assert!(
        run.stdout.contains("snapshot 1"),
        "stdout does not mention the snapshot:\n{}",
        run.stdout
    );
    let estate = read_json(&demo);
    for kind in KINDS {
        assert_eq!(
            sandbox.list(kind).len(),
            array(&estate, kind).len(),
            "{kind}"
        );
    }
}

#[test]
fn warnings_are_printed_located_and_do_not_reject() {
    let sandbox = Sandbox::new();
    let demo = demo_estate();
    let shown = demo.display().to_string();
    let run = sandbox.bridle(&["import".as_ref(), demo.as_os_str()]);
    run.ok();
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.contains(": warning: "))
        .collect();
    assert_eq!(
        warnings.len(),
        2,
        "the demo has 2 warnings:\n{}",
        run.stderr
    );
    for line in warnings {
        let rest = line
            .strip_prefix(&format!("{shown}: "))
            .unwrap_or_else(|| panic!("warning without the file name: {line}"));
        let (location, message) = rest
            .split_once(": warning: ")
            .unwrap_or_else(|| panic!("warning without a location: {line}"));
        assert!(!location.is_empty() && !message.is_empty(), "{line}");
    }
}

#[test]
fn reimporting_the_same_file_adds_an_empty_snapshot() {
    let sandbox = Sandbox::new();
    let first = sandbox.import(&demo_estate(), &[]);
    let again = sandbox.import(&demo_estate(), &[]);
    assert_eq!(first["id"], 1);
    assert_eq!(again["id"], 2);
    assert_eq!(
        (&again["added"], &again["changed"], &again["removed"]),
        (&json!(0), &json!(0), &json!(0))
    );
    assert_eq!(again["estate_sha256"], first["estate_sha256"]);
    assert_eq!(again["counts"], first["counts"]);
}

#[test]
fn a_changed_file_replaces_its_entities_and_keeps_history() {
    let sandbox = Sandbox::new();
    let first = sandbox.import(&demo_estate(), &[]);
    let first_export = sandbox.export("first.json", None);
    let seen_before = first_seen(&sandbox);

    let mut estate = read_json(&demo_estate());
    let grants = estate["grants"].as_array_mut().expect("grants");
    // Change one grant, delete another agent's grant, add a new one.
    let changed_id = grants[0]["id"].as_str().expect("an id").to_owned();
    grants[0]["conditions"] = json!("reviewed by the end-to-end test");
    let removed_at = grants
        .iter()
        .skip(1)
        .position(|g| {
            g["subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("agent:"))
        })
        .expect("the demo has grants held by agents")
        + 1;
    let removed = grants.remove(removed_at);
    let removed_id = removed["id"].as_str().expect("an id").to_owned();
    grants.push(json!({
        "id": "g-e2e-new", "subject": removed["subject"], "target": removed["target"],
        "actions": removed["actions"], "standing": false, "expires_at": "2030-01-01T00:00:00Z",
        "conditions": null, "source": "e2e"
    }));
    let changed_file = sandbox.write(
        "changed.json",
        serde_json::to_vec_pretty(&estate).expect("JSON"),
    );

    // Snapshot 2 re-imports the original unchanged; snapshot 3 is the changed file.
    sandbox.import(&demo_estate(), &[]);
    let third = sandbox.import(&changed_file, &[]);
    assert_eq!(third["id"], 3);
    assert_eq!(
        (&third["added"], &third["changed"], &third["removed"]),
        (&json!(1), &json!(1), &json!(1)),
        "{third}"
    );
    assert_eq!(third["counts"]["grants"], first["counts"]["grants"]);
    assert_ne!(third["estate_sha256"], first["estate_sha256"]);

    // What stayed, changed or not, keeps its first-seen time; the removed grant is gone.
    let seen_after = first_seen(&sandbox);
    assert!(!seen_after.contains_key(&removed_id));
    assert!(seen_after.contains_key("g-e2e-new"));
    for (id, seen) in &seen_before {
        if *id != removed_id {
            assert_eq!(seen_after.get(id), Some(seen), "first_seen of `{id}`");
        }
    }
    let changed_row = sandbox
        .list("grants")
        .into_iter()
        .find(|g| g["id"] == changed_id.as_str())
        .expect("the changed grant is listed");
    assert_eq!(changed_row["conditions"], "reviewed by the end-to-end test");

    // Every snapshot still reconstructs to its recorded hash, and the first one exports as it
    // did before the change.
    let run = sandbox.bridle(&["snapshots", "--verify", "--json"]);
    run.ok();
    let snapshots = run.json();
    let snapshots = snapshots.as_array().expect("an array of snapshots");
    assert_eq!(snapshots.len(), 3);
    for snapshot in snapshots {
        assert_eq!(snapshot["reconstructs"], true, "{snapshot}");
    }
    assert_eq!(sandbox.export("snapshot-1.json", Some(1)), first_export);
    assert_eq!(sandbox.export("snapshot-2.json", Some(2)), first_export);
    assert_ne!(sandbox.export("current.json", None), first_export);
}

#[test]
fn a_yaml_estate_imports() {
    let sandbox = Sandbox::new();
    let file = sandbox.write(
        "small.yaml",
        "bridle: estate/v1\n\
         agents:\n\
         - id: agent:yaml-bot\n\
         \x20 name: YAML bot\n\
         \x20 owner: null\n\
         \x20 environment: dev\n\
         \x20 autonomy: assistive\n\
         \x20 runs_as: [svc:yaml]\n\
         identities:\n\
         - {id: 'svc:yaml', kind: service_account, name: yaml account, owner: ops@example.org, provider: null}\n\
         credentials: []\n\
         resources:\n\
         - id: res:notes\n\
         \x20 kind: filesystem\n\
         \x20 name: Notes\n\
         \x20 sensitivity: internal\n\
         \x20 crown_jewel: false\n\
         \x20 environment: null\n\
         \x20 holds_credentials: []\n\
         \x20 runs_as: []\n\
         tools: []\n\
         grants:\n\
         - subject: svc:yaml\n\
         \x20 target: res:notes\n\
         \x20 actions: [read]\n\
         \x20 standing: true\n\
         \x20 expires_at: '2027-01-01T00:00:00Z'\n\
         \x20 conditions: null\n\
         \x20 source: null\n",
    );
    let snapshot = sandbox.import(&file, &[]);
    assert_eq!(snapshot["counts"]["agents"], 1);
    assert_eq!(snapshot["counts"]["grants"], 1);
    let grants = sandbox.list("grants");
    assert_eq!(grants[0]["expires_at"], "2027-01-01T00:00:00Z");
    assert_eq!(grants[0]["subject"], "svc:yaml");
}
