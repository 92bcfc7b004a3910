//! Privilege-path commands through the CLI on the demo estate, cross-checked against the same
//! commands on an edited copy of the estate (the database itself is never changed by them).

use serde_json::Value;

use crate::support::{Sandbox, demo_estate};

const AT: &str = "2026-11-28T12:00:00Z";

fn reach(sandbox: &Sandbox, from: &str) -> Value {
    let run = sandbox.bridle(&["reach", from, "--json", "--at", AT]);
    run.ok();
    run.json()
}

/// (target, hops, actions) of a reach result, for comparisons.
fn summary(reach: &Value) -> Vec<(String, u64, Value)> {
    reach["reachable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["target"].as_str().unwrap().to_owned(),
                r["hops"].as_u64().unwrap(),
                r["actions"].clone(),
            )
        })
        .collect()
}

#[test]
fn reach_json_has_the_contract_shape_and_the_side_rule() {
    let sandbox = Sandbox::new();
    sandbox.import(&demo_estate(), &[]);
    let result = reach(&sandbox, "agent:ci-fixer");
    assert_eq!(result["from"], "agent:ci-fixer");
    assert_eq!(result["at"], AT);
    let reachable = result["reachable"].as_array().unwrap();
    let targets: Vec<&str> = reachable
        .iter()
        .map(|r| r["target"].as_str().unwrap())
        .collect();
    let mut sorted = targets.clone();
    sorted.sort();
    assert_eq!(targets, sorted, "sorted by target");
    assert!(
        !targets.contains(&"agent:ci-fixer"),
        "the start is never listed"
    );
    for r in reachable {
        let path: Vec<&str> = r["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(path.len() as u64, r["hops"].as_u64().unwrap() + 1, "{r}");
        assert_eq!(path.first(), Some(&"agent:ci-fixer"));
        assert_eq!(path.last(), Some(&r["target"].as_str().unwrap()));
        if r["kind"] != "resource" {
            assert_eq!(r["actions"], Value::Array(Vec::new()));
        }
    }
    // The demo's read-side/write-side case (assets/demo/README.md): the pipeline is written at 2
    // hops but read only at 3, so its runs_as identity is at 3 and its held key at 4.
    let hops = |target: &str| {
        summary(&result)
            .into_iter()
            .find(|(t, ..)| t == target)
            .map(|(_, h, a)| (h, a))
    };
    assert_eq!(
        hops("res:ci-pipeline"),
        Some((2, serde_json::json!(["read", "write"])))
    );
    assert_eq!(
        hops("system:serviceaccount:ci:runner").map(|h| h.0),
        Some(3)
    );
    assert_eq!(hops("cred:deploy-ssh-key").map(|h| h.0), Some(4));
}

#[test]
fn what_if_and_chokepoints_agree_with_recomputing_on_the_edited_estate() {
    let sandbox = Sandbox::new();
    sandbox.import(&demo_estate(), &[]);
    let before_db = std::fs::read(sandbox.db()).unwrap();

    let chokepoints = sandbox.bridle(&["chokepoints", "--top", "1", "--json", "--at", AT]);
    chokepoints.ok();
    let top = chokepoints.json()["items"][0].clone();
    assert_eq!(top["item"], "grant", "{top}");
    let grant = top["id"].as_str().unwrap().to_owned();
    let cut = top["cut_pairs"].as_u64().unwrap();

    let what_if = sandbox.bridle(&["what-if", "--revoke", &grant, "--json", "--at", AT]);
    what_if.ok();
    let what_if = what_if.json();
    assert_eq!(
        std::fs::read(sandbox.db()).unwrap(),
        before_db,
        "what-if changes nothing"
    );

    // The same estate without that grant, imported into a second database.
    let mut estate: Value = serde_json::from_slice(&sandbox.export("demo.json", None)).unwrap();
    estate["grants"]
        .as_array_mut()
        .unwrap()
        .retain(|g| g["id"] != grant.as_str());
    let edited = sandbox.write("edited.json", serde_json::to_vec(&estate).unwrap());
    let other = Sandbox::new();
    other.import(&edited, &[]);

    let pairs = |s: &Sandbox| -> Vec<(String, String, Value)> {
        let blast = s.bridle(&["blast-radius", "--json", "--at", AT]);
        blast.ok();
        let agents: Vec<String> = blast.json()["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["source"].as_str().unwrap().to_owned())
            .collect();
        let mut pairs = Vec::new();
        for agent in agents {
            for (target, _, actions) in summary(&reach(s, &agent)) {
                if target.starts_with("res:") {
                    pairs.push((agent.clone(), target, actions));
                }
            }
        }
        pairs
    };
    let before = pairs(&sandbox);
    let after = pairs(&other);
    let mut lost: Vec<(String, String)> = before
        .iter()
        .filter(|(a, r, _)| !after.iter().any(|(a2, r2, _)| a2 == a && r2 == r))
        .map(|(a, r, _)| (a.clone(), r.clone()))
        .collect();
    lost.sort();
    let reported: Vec<(String, String)> = what_if["lost"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["agent"].as_str().unwrap().to_owned(),
                p["resource"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(reported, lost);

    let jewels = |s: &Sandbox| -> u64 {
        let blast = s.bridle(&["blast-radius", "--json", "--at", AT]);
        blast.ok();
        blast.json()["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "agent")
            .map(|e| e["crown_jewels"].as_array().unwrap().len() as u64)
            .sum()
    };
    assert_eq!(
        jewels(&sandbox) - jewels(&other),
        cut,
        "the chokepoint's cut count holds"
    );
}
