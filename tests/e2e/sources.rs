//! Several estate files side by side (`--source NAME`): each import replaces only its own
//! source's entities, references across sources resolve, and an id owned by another source or
//! defined nowhere is rejected.

use serde_json::{Value, json};

use crate::support::Sandbox;

fn estate(agents: Value, identities: Value, grants: Value) -> Vec<u8> {
    serde_json::to_vec_pretty(&json!({
        "bridle": "estate/v1",
        "agents": agents,
        "identities": identities,
        "credentials": [],
        "resources": [],
        "tools": [],
        "grants": grants,
    }))
    .expect("JSON")
}

fn agent(id: &str, name: &str, runs_as: &[&str]) -> Value {
    json!({"id": id, "name": name, "owner": "team@example.org", "environment": "prod",
           "autonomy": "supervised", "runs_as": runs_as})
}

fn identity(id: &str) -> Value {
    json!({"id": id, "kind": "service_account", "name": id, "owner": null, "provider": null})
}

/// Source a: agent a1 running as svc:a, which it defines.
fn file_a(sandbox: &Sandbox, a1_name: &str) -> std::path::PathBuf {
    sandbox.write(
        "a.json",
        estate(
            json!([agent("agent:a1", a1_name, &["svc:a"])]),
            json!([identity("svc:a")]),
            json!([]),
        ),
    )
}

/// Source b: agent b1 running as svc:b and, when `refers_to_a`, also as svc:a (defined only in
/// a), on which svc:b holds a grant.
fn file_b(sandbox: &Sandbox, refers_to_a: bool) -> std::path::PathBuf {
    let (runs_as, grants) = if refers_to_a {
        (
            vec!["svc:a", "svc:b"],
            json!([{"id": "g-b", "subject": "svc:b", "target": "svc:a", "actions": ["assume"],
                    "standing": true, "expires_at": null, "conditions": null, "source": null}]),
        )
    } else {
        (vec!["svc:b"], json!([]))
    };
    sandbox.write(
        "b.json",
        estate(
            json!([agent("agent:b1", "B one", &runs_as)]),
            json!([identity("svc:b")]),
            grants,
        ),
    )
}

fn origins(sandbox: &Sandbox) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = sandbox
        .list("agents")
        .iter()
        .map(|a| {
            (
                a["id"].as_str().expect("an id").to_owned(),
                a["provenance"]["origin"]
                    .as_str()
                    .expect("an origin")
                    .to_owned(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// Sources a and b imported side by side; b refers to a's identity when `cross_reference`.
fn two_sources(cross_reference: bool) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.import(&file_a(&sandbox, "A one"), &["--source", "a"]);
    sandbox.import(&file_b(&sandbox, cross_reference), &["--source", "b"]);
    sandbox
}

#[test]
fn two_sources_land_side_by_side() {
    let sandbox = two_sources(true);
    assert_eq!(
        origins(&sandbox),
        pairs(&[("agent:a1", "import:a"), ("agent:b1", "import:b")])
    );
    let grants = sandbox.list("grants");
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["provenance"]["origin"], "import:b");
}

#[test]
fn reimporting_one_source_leaves_the_other_alone() {
    let sandbox = two_sources(true);
    let b_before: Vec<Value> = ["agents", "identities", "grants"]
        .iter()
        .flat_map(|kind| sandbox.list(kind))
        .filter(|row| row["provenance"]["origin"] == "import:b")
        .collect();
    assert_eq!(b_before.len(), 3);

    let changed = sandbox.import(&file_a(&sandbox, "A one, renamed"), &["--source", "a"]);
    assert_eq!(changed["source"], "import:a");
    assert_eq!(
        (&changed["added"], &changed["changed"], &changed["removed"]),
        (&json!(0), &json!(1), &json!(0))
    );

    let b_after: Vec<Value> = ["agents", "identities", "grants"]
        .iter()
        .flat_map(|kind| sandbox.list(kind))
        .filter(|row| row["provenance"]["origin"] == "import:b")
        .collect();
    assert_eq!(b_after, b_before, "source b's entities changed");
    let a1 = sandbox
        .list("agents")
        .into_iter()
        .find(|a| a["id"] == "agent:a1")
        .expect("agent:a1 is listed");
    assert_eq!(a1["name"], "A one, renamed");
}

#[test]
fn an_id_owned_by_another_source_is_rejected_naming_that_source() {
    let sandbox = two_sources(false);
    let db_before = crate::support::sha256_file(&sandbox.db());
    let thief = sandbox.write(
        "thief.json",
        estate(
            json!([agent("agent:a1", "taken over", &[])]),
            json!([]),
            json!([]),
        ),
    );
    let run = sandbox.bridle(&[
        "import".as_ref(),
        thief.as_os_str(),
        "--source".as_ref(),
        "b".as_ref(),
    ]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("import:a"),
        "the rejection does not name source import:a:\n{}",
        run.stderr
    );
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with(&format!("{}: agents[0].id: ", thief.display()))),
        "the rejection is not located at agents[0].id:\n{}",
        run.stderr
    );
    assert_eq!(crate::support::sha256_file(&sandbox.db()), db_before);
    assert_eq!(
        origins(&sandbox),
        pairs(&[("agent:a1", "import:a"), ("agent:b1", "import:b")])
    );
}

#[test]
fn a_reference_defined_nowhere_is_rejected() {
    let dangling = |sandbox: &Sandbox| {
        sandbox.write(
            "dangling.json",
            estate(
                json!([agent("agent:c1", "C one", &["svc:nowhere"])]),
                json!([]),
                json!([]),
            ),
        )
    };
    let located = |file: &std::path::Path| format!("{}: agents[0].runs_as[0]: ", file.display());
    // Into a database holding other sources ...
    let sandbox = two_sources(false);
    let file = dangling(&sandbox);
    let run = sandbox.bridle(&[
        "import".as_ref(),
        file.as_os_str(),
        "--source".as_ref(),
        "c".as_ref(),
    ]);
    run.expect_code(2);
    assert!(
        run.stderr.lines().any(|l| l.starts_with(&located(&file))),
        "not located at agents[0].runs_as[0]:\n{}",
        run.stderr
    );
    assert_eq!(sandbox.list("agents").len(), 2);

    // ... and into no database at all, which is then not created.
    let fresh = Sandbox::new();
    let file = dangling(&fresh);
    let run = fresh.bridle(&["import".as_ref(), file.as_os_str()]);
    run.expect_code(2);
    assert!(
        run.stderr.lines().any(|l| l.starts_with(&located(&file))),
        "not located at agents[0].runs_as[0]:\n{}",
        run.stderr
    );
    assert!(!fresh.db().exists());
}

#[test]
fn removing_an_entity_another_source_names_is_rejected_whole() {
    let sandbox = Sandbox::new();
    let a = file_a(&sandbox, "A one");
    sandbox.import(&a, &["--source", "a"]);
    sandbox.import(&file_b(&sandbox, true), &["--source", "b"]);
    let before = std::fs::read(sandbox.db()).expect("the database exists");

    // Source a drops svc:a, which agent:b1 (runs_as) and g-b (target) of source b still name.
    let without = sandbox.write(
        "a-without.json",
        estate(
            json!([agent("agent:a1", "A one", &[])]),
            json!([]),
            json!([]),
        ),
    );
    let run = sandbox.bridle(&[
        "import".as_ref(),
        without.as_os_str(),
        "--source".as_ref(),
        "a".as_ref(),
    ]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("`agent:b1` (runs_as) names `svc:a`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("`g-b` (target) names `svc:a`"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(sandbox.db()).expect("the database exists"),
        before
    );
}
