//! `bridle export --format opengraph` (BloodHound CE OpenGraph) and `bridle gen` through the CLI.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::support::{Sandbox, array, demo_estate, read_json, sha256_file};

const AT: &str = "2026-11-28T12:00:00Z";

/// Exports the sandbox's inventory as OpenGraph at `at` through `-o` and reads it back.
fn opengraph(sandbox: &Sandbox, at: &str) -> Value {
    let out = sandbox.path("graph.json");
    sandbox
        .bridle(&[
            "export",
            "--format",
            "opengraph",
            "--at",
            at,
            "-o",
            out.to_str().unwrap(),
        ])
        .ok();
    read_json(&out)
}

/// Violations of BloodHound's published OpenGraph schema (node, edge and metadata rules), written
/// here independently of the exporter.
fn shape_problems(document: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let metadata = document["metadata"].as_object().expect("metadata object");
    if metadata.len() != 1 || !metadata["source_kind"].is_string() {
        problems.push(format!("metadata must hold source_kind only: {metadata:?}"));
    }
    let mut ids = HashSet::new();
    for node in array(&document["graph"], "nodes") {
        let id = node["id"].as_str().unwrap_or_default().to_owned();
        if id.is_empty() || !ids.insert(id.clone()) {
            problems.push(format!("node id empty or repeated: {node}"));
        }
        let kinds = array(node, "kinds");
        if !(1..=3).contains(&kinds.len()) || !kinds.iter().all(Value::is_string) {
            problems.push(format!("{id}: kinds must be one to three strings"));
        }
        problems.extend(property_problems(&id, &node["properties"]));
    }
    for edge in array(&document["graph"], "edges") {
        let kind = edge["kind"].as_str().unwrap_or_default();
        if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            problems.push(format!("edge kind {kind:?} is not [A-Za-z0-9_]+"));
        }
        for end in ["start", "end"] {
            let value = edge[end]["value"].as_str().unwrap_or_default();
            if edge[end]["match_by"] != "id" || !ids.contains(value) {
                problems.push(format!("{end} of {edge} does not name a node by id"));
            }
        }
        problems.extend(property_problems(kind, &edge["properties"]));
    }
    problems
}

fn property_problems(owner: &str, properties: &Value) -> Vec<String> {
    let Some(map) = properties.as_object() else {
        return vec![format!("{owner}: properties must be an object")];
    };
    map.iter()
        .filter(|(key, value)| {
            let primitive = |v: &Value| v.is_string() || v.is_number() || v.is_boolean();
            let ok = match value {
                Value::Array(items) => {
                    items.iter().all(Value::is_string)
                        || items.iter().all(Value::is_number)
                        || items.iter().all(Value::is_boolean)
                }
                other => primitive(other),
            };
            !ok || key.as_str() == "objectid"
        })
        .map(|(key, value)| format!("{owner}: property {key} = {value} is not allowed"))
        .collect()
}

#[test]
fn the_demo_estate_exports_as_valid_opengraph_whose_edges_carry_every_witness_path() {
    let sandbox = Sandbox::new();
    sandbox.import(&demo_estate(), &[]);
    let graph = opengraph(&sandbox, AT);
    assert_eq!(shape_problems(&graph), Vec::<String>::new());

    // Every entity is a node; grants are edges.
    let estate = read_json(&demo_estate());
    let entities: usize = ["agents", "identities", "credentials", "resources", "tools"]
        .iter()
        .map(|k| array(&estate, k).len())
        .sum();
    assert_eq!(array(&graph["graph"], "nodes").len(), entities);

    // Every step of every witness path `reach` reports is an exported edge.
    let mut edges: HashMap<(String, String), Vec<String>> = HashMap::new();
    for edge in array(&graph["graph"], "edges") {
        edges
            .entry((
                edge["start"]["value"].as_str().unwrap().to_owned(),
                edge["end"]["value"].as_str().unwrap().to_owned(),
            ))
            .or_default()
            .push(edge["kind"].as_str().unwrap().to_owned());
    }
    for agent in array(&estate, "agents") {
        let id = agent["id"].as_str().unwrap();
        let run = sandbox.bridle(&["reach", id, "--json", "--at", AT]);
        run.ok();
        for reached in array(&run.json(), "reachable") {
            let path: Vec<&str> = array(reached, "path")
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            for step in path.windows(2) {
                assert!(
                    edges.contains_key(&(step[0].to_owned(), step[1].to_owned())),
                    "{} -> {} (on the path to {}) is not an exported edge",
                    step[0],
                    step[1],
                    reached["target"]
                );
            }
        }
    }
}

#[test]
fn expired_grants_are_not_edges_at_the_evaluation_time() {
    let sandbox = Sandbox::new();
    let estate = sandbox.write(
        "e.json",
        r#"{"bridle": "estate/v1",
            "agents": [{"id": "agent:a", "name": "a", "owner": null, "environment": null,
                        "autonomy": "assistive", "runs_as": ["id:a"]}],
            "identities": [{"id": "id:a", "kind": "spiffe", "name": "a", "owner": null,
                            "provider": null}],
            "credentials": [], "tools": [],
            "resources": [{"id": "res:db", "kind": "database", "name": "db",
                           "sensitivity": "restricted", "crown_jewel": true,
                           "holds_credentials": [], "runs_as": []}],
            "grants": [{"id": "g-1", "subject": "id:a", "target": "res:db",
                        "actions": ["read"], "standing": true,
                        "expires_at": "2026-06-01T00:00:00Z", "conditions": null,
                        "source": null}]}"#,
    );
    sandbox.import(&estate, &[]);
    let kinds = |graph: &Value| -> Vec<String> {
        array(&graph["graph"], "edges")
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = opengraph(&sandbox, "2026-05-31T00:00:00Z");
    assert_eq!(kinds(&before), ["BridleRunsAs", "BridleCanRead"]);
    let jewel = &array(&before["graph"], "nodes")[2];
    assert_eq!(jewel["id"], "res:db");
    assert_eq!(
        jewel["kinds"],
        serde_json::json!(["BridleResource", "BridleCrownJewel", "Bridle"])
    );
    let after = opengraph(&sandbox, "2026-06-01T00:00:00Z");
    assert_eq!(kinds(&after), ["BridleRunsAs"]);
}

#[test]
fn at_is_refused_for_an_estate_export() {
    let sandbox = Sandbox::new();
    sandbox.import(&demo_estate(), &[]);
    let run = sandbox.bridle(&["export", "--format", "estate", "--at", AT]);
    run.expect_code(2);
    assert!(run.stderr.contains("--at"), "{}", run.stderr);
}

#[test]
fn gen_is_deterministic_and_its_estate_imports_without_warnings() {
    let sandbox = Sandbox::new();
    let a = sandbox.path("a.json");
    let b = sandbox.path("b.json");
    let other = sandbox.path("other.json");
    for (path, seed) in [(&a, "7"), (&b, "7"), (&other, "8")] {
        sandbox
            .bridle(&[
                "gen",
                "--scale",
                "small",
                "--seed",
                seed,
                "-o",
                path.to_str().unwrap(),
            ])
            .ok();
    }
    assert_eq!(sha256_file(&a), sha256_file(&b));
    assert_ne!(sha256_file(&a), sha256_file(&other));
    let stdout = sandbox.bridle(&["gen", "--scale", "small", "--seed", "7"]);
    stdout.ok();
    assert_eq!(stdout.stdout.as_bytes(), std::fs::read(&a).unwrap());

    let run = sandbox.bridle(&["import", a.to_str().unwrap(), "--json"]);
    run.ok();
    let outcome = run.json();
    assert_eq!(outcome["outcome"], "imported", "{outcome}");
    assert_eq!(
        run.stderr, "",
        "a generated estate has nothing to warn about"
    );
    assert_eq!(sandbox.list("grants").len(), 10_000);
    assert_eq!(sandbox.list("agents").len(), 40);
}
