//! SPIRE entries as facts: `bridle import --format spire` of the file as SPIRE prints it today
//! keeps each entry's facts (SVID TTLs, admin, downstream, federation, hint) as the source's
//! observations, in the import's own transaction; `bridle observations` shows them, a re-import
//! replaces them, a bad or refused file leaves them; `bridle flow drift` compares the task
//! identity's X.509-SVID TTL with the flow's design. The real binary on a real SQLite file.

use serde_json::Value;

use crate::support::{Sandbox, array, demo_estate, fixture, sha256_file, with_suffix};

const CURRENT: &str = "brokers/spire-entries-current.json";
/// The entry that registers the localisation task's runs (`…/contract-translation/nightly`).
const TASK_ENTRY: &str = "e1d7c0de-0002-4a11-9b00-00000000aa02";

fn import_spire(sandbox: &Sandbox, file: &std::path::Path) -> crate::support::Run {
    sandbox.bridle(&[
        "import".as_ref(),
        "--format".as_ref(),
        "spire".as_ref(),
        file.as_os_str(),
        "--json".as_ref(),
    ])
}

/// `bridle observations spire --json`, as (id, facts) pairs in the order printed.
fn facts(sandbox: &Sandbox) -> Vec<(String, Value)> {
    let run = sandbox.bridle(&["observations", "spire", "--json"]);
    run.ok();
    array(&serde_json::json!({"o": run.json()}), "o")
        .iter()
        .map(|o| {
            assert_eq!(o["kind"], "spire.entry", "{o}");
            (o["id"].as_str().unwrap().to_owned(), o["facts"].clone())
        })
        .collect()
}

fn fact<'a>(facts: &'a [(String, Value)], id: &str) -> &'a Value {
    &facts
        .iter()
        .find(|(i, _)| i == id)
        .unwrap_or_else(|| panic!("no observation {id} in {facts:?}"))
        .1
}

fn svid_finding(sandbox: &Sandbox) -> Option<Value> {
    let run = sandbox.bridle(&["flow", "drift", "contract-translation", "--json"]);
    run.ok();
    array(&run.json(), "findings")
        .iter()
        .find(|f| f["check"] == "flow-drift-svid-ttl")
        .cloned()
}

#[test]
fn spire_facts_are_kept_replaced_on_reimport_and_drift_against_the_flow() {
    let sandbox = Sandbox::new();
    sandbox.import(&demo_estate(), &[]);
    let flow = fixture("flows/localisation-sound.yaml");
    sandbox
        .bridle(&["flow".as_ref(), "import".as_ref(), flow.as_os_str()])
        .ok();
    // Before any SPIRE entry is known there is nothing to compare.
    assert_eq!(svid_finding(&sandbox), None);

    let current = fixture(CURRENT);
    let run = import_spire(&sandbox, &current);
    run.ok();
    assert_eq!(run.json()["snapshot"]["source"], "import:spire");

    // The facts, as persisted.
    let first = facts(&sandbox);
    assert_eq!(first.len(), 5, "{first:?}");
    let task = fact(&first, TASK_ENTRY);
    assert_eq!(
        task["spiffe_id"],
        "spiffe://northwind.example/agents/localisation/contract-translation/nightly"
    );
    assert_eq!(task["x509_svid_ttl"], 14400);
    assert_eq!(task["jwt_svid_ttl"], 600);
    assert_eq!(task["jwt_svid_include_jti"], true);
    assert_eq!(
        fact(&first, "e1d7c0de-0003-4a11-9b00-00000000aa03")["admin"],
        true
    );
    let downstream = fact(&first, "e1d7c0de-0004-4a11-9b00-00000000aa04");
    assert_eq!(downstream["downstream"], true);
    assert_eq!(
        downstream["federates_with"],
        serde_json::json!(["spiffe://riverbank-partner.example"])
    );
    let exporter = fact(&first, "e1d7c0de-0005-4a11-9b00-00000000aa05");
    assert_eq!(exporter["hint"], "external");
    assert_eq!(exporter["store_svid"], true);
    // 0 is SPIRE's "the server's default".
    assert_eq!(exporter["x509_svid_ttl"], 0);
    // The human table says the same.
    let table = sandbox.bridle(&["observations", "import:spire", "--kind", "spire.entry"]);
    table.ok();
    assert!(table.stdout.contains(TASK_ENTRY), "{}", table.stdout);
    assert!(table.stdout.contains("5 observations"), "{}", table.stdout);

    // The same file again: the same five facts, not ten.
    import_spire(&sandbox, &current).ok();
    assert_eq!(facts(&sandbox), first);

    // A malformed file is a located error; the database, facts included, is untouched.
    let db = sandbox.db();
    let wal = with_suffix(&db, "-wal");
    let before = (sha256_file(&db), sha256_file(&wal));
    let text = std::fs::read_to_string(&current).unwrap();
    assert!(text.contains(r#""x509_svid_ttl":14400"#));
    let bad = sandbox.write(
        "bad-ttl.json",
        text.replace(r#""x509_svid_ttl":14400"#, r#""x509_svid_ttl":"4h""#),
    );
    let run = import_spire(&sandbox, &bad);
    run.expect_code(2);
    let located = format!("{}: entries[1].x509_svid_ttl", bad.display());
    assert!(
        run.stderr.lines().any(|l| l.starts_with(&located)),
        "expected `{located}`:\n{}",
        run.stderr
    );
    assert_eq!((sha256_file(&db), sha256_file(&wal)), before);
    assert_eq!(facts(&sandbox), first);

    // Refused inside the write transaction (another source owns one of its identities): the
    // snapshot and the facts are both left as they were.
    let other = sandbox.write(
        "other.json",
        r#"{"bridle":"estate/v1","identities":[{"id":"spiffe://example.org/agents/support-bot","kind":"spiffe","name":"support bot"}]}"#,
    );
    sandbox.import(&other, &["--source", "other"]);
    let run = import_spire(&sandbox, &fixture("brokers/spire-entries.json"));
    run.expect_code(2);
    assert!(run.stderr.contains("already belongs"), "{}", run.stderr);
    assert_eq!(facts(&sandbox), first);

    // Drift: the task's SVIDs live 4 hours; the flow issues credentials for 20 minutes.
    let finding = svid_finding(&sandbox).expect("an SVID TTL finding");
    assert_eq!(finding["status"], "fail", "{finding}");
    assert_eq!(finding["step"], "issue", "{finding}");
    let evidence = finding["evidence"].to_string();
    assert!(
        evidence.contains(&format!(
            "entry {TASK_ENTRY}: x509_svid_ttl 14400s > designed ttl 1200s"
        )),
        "{evidence}"
    );
    // The SPIRE entry is also the task's identity in the inventory now.
    let drift = sandbox.bridle(&["flow", "drift", "contract-translation", "--json"]);
    let identity = array(&drift.json(), "findings")
        .iter()
        .find(|f| f["check"] == "flow-drift-identity-missing")
        .cloned()
        .unwrap();
    assert_eq!(identity["status"], "pass", "{identity}");

    // Brought in line at the SPIRE server, the next import replaces the fact and drift passes.
    let fixed = sandbox.write(
        "fixed.json",
        text.replace(r#""x509_svid_ttl":14400"#, r#""x509_svid_ttl":1200"#),
    );
    import_spire(&sandbox, &fixed).ok();
    let now = facts(&sandbox);
    assert_eq!(now.len(), 5);
    assert_eq!(fact(&now, TASK_ENTRY)["x509_svid_ttl"], 1200);
    assert_eq!(svid_finding(&sandbox).unwrap()["status"], "pass");

    // An unknown source is an error (bad input), not an empty list.
    let run = sandbox.bridle(&["observations", "nowhere"]);
    run.expect_code(2);
    assert!(run.stderr.contains("never been imported"), "{}", run.stderr);
    sandbox.bridle(&["audit", "verify"]).ok();
}
