//! Approval flows through the CLI on a real SQLite file: verification of planted design errors,
//! all-or-nothing import, Cedar export and the simulator, what-if and drift (against a real
//! OpenBao dev server for the broker role TTLs), and flow findings in `bridle check`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::broker_support::Bao;
use crate::support::{Sandbox, array, demo_estate, fixture, sha256_file, with_suffix};

fn flow_fixture(name: &str) -> PathBuf {
    fixture(&format!("flows/{name}"))
}

const ALL: [&str; 6] = [
    "localisation-sound.yaml",
    "planted-approval-after-staging.yaml",
    "planted-exit-without-revocation.yaml",
    "planted-long-ttl.yaml",
    "planted-owner-approves.yaml",
    "planted-unused-grant.yaml",
];

/// The demo estate with every fixture flow imported.
fn sandbox_with_flows() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.import(&demo_estate(), &[]);
    let mut args = vec!["flow".to_owned(), "import".to_owned(), "--json".to_owned()];
    args.extend(ALL.iter().map(|f| flow_fixture(f).display().to_string()));
    let run = sandbox.bridle(&args);
    run.ok();
    let outcomes: Vec<String> = array(&json!({"f": run.json()["flows"]}), "f")
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["id"].as_str().unwrap(),
                f["outcome"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(outcomes.len(), ALL.len(), "{outcomes:?}");
    assert!(
        outcomes.iter().all(|o| o.ends_with(" created")),
        "{outcomes:?}"
    );
    sandbox
}

fn findings(sandbox: &Sandbox, args: &[&str]) -> Vec<Value> {
    let mut full = vec!["flow", "check", "--json"];
    full.extend(args);
    let run = sandbox.bridle(&full);
    run.ok();
    run.json()
        .as_array()
        .cloned()
        .expect("an array of findings")
}

#[test]
fn verification_flags_exactly_the_planted_errors_and_passes_the_sound_flow() {
    let sandbox = sandbox_with_flows();
    let all = findings(&sandbox, &[]);
    let mut not_passing: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &all {
        let entry = not_passing
            .entry(f["flow"].as_str().unwrap().to_owned())
            .or_default();
        if f["status"] != "pass" {
            entry.insert(format!(
                "{} {}",
                f["status"].as_str().unwrap(),
                f["id"].as_str().unwrap()
            ));
        }
    }
    let expected: BTreeMap<String, BTreeSet<String>> = [
        ("contract-translation", vec![]),
        (
            "contracts-late-approval",
            vec![
                "fail flow-approval-dominates@contracts-late-approval/fetch",
                "fail flow-approval-dominates@contracts-late-approval/issue",
                "fail flow-approval-dominates@contracts-late-approval/upload",
            ],
        ),
        (
            "contracts-leaky-exit",
            vec!["fail flow-revocation-postdominates@contracts-leaky-exit/issue"],
        ),
        (
            "contracts-long-ttl",
            vec!["fail flow-no-standing-access@contracts-long-ttl/read-contracts"],
        ),
        (
            "contracts-owner-approves",
            vec!["fail flow-separation-of-duties@contracts-owner-approves/approve"],
        ),
        (
            "contracts-extra-grant",
            vec!["fail flow-least-privilege@contracts-extra-grant/read-hr"],
        ),
    ]
    .into_iter()
    .map(|(flow, ids)| {
        (
            flow.to_owned(),
            ids.into_iter().map(str::to_owned).collect(),
        )
    })
    .collect();
    assert_eq!(not_passing, expected);

    // A failure names the offending step, the path that escapes, a fix and its controls.
    let upload = all
        .iter()
        .find(|f| f["id"] == "flow-approval-dominates@contracts-late-approval/upload")
        .unwrap();
    assert_eq!(upload["step"], "upload");
    assert_eq!(upload["path"], json!(["issue", "fetch", "upload"]));
    assert!(
        upload["summary"]
            .as_str()
            .unwrap()
            .contains("before its approval `approve`"),
        "{upload}"
    );
    assert!(
        upload["hint"]
            .as_str()
            .unwrap()
            .contains("Move approval `approve` before `upload`")
    );
    assert_eq!(upload["controls"], json!(["C07"]));
    let leaky = all
        .iter()
        .find(|f| f["id"] == "flow-revocation-postdominates@contracts-leaky-exit/issue")
        .unwrap();
    assert_eq!(leaky["path"], json!(["issue", "fetch", "done"]));
    let owner = all
        .iter()
        .find(|f| f["id"] == "flow-separation-of-duties@contracts-owner-approves/approve")
        .unwrap();
    assert!(
        owner["evidence"][0]
            .as_str()
            .unwrap()
            .contains("soren.aero@northwind.example owns the agent agent:localisation"),
        "{owner}"
    );

    // The gate: critical failures exit 3; the sound flow alone passes even at `low`.
    let gate = sandbox.bridle(&["flow", "check", "--fail-on", "critical"]);
    gate.expect_code(3);
    assert!(gate.stderr.contains("at or above"), "{}", gate.stderr);
    sandbox
        .bridle(&["flow", "check", "contract-translation", "--fail-on", "low"])
        .ok();
    sandbox
        .bridle(&["flow", "check", "no-such-flow"])
        .expect_code(2);

    // Flow findings are findings: `bridle check` carries them with their controls.
    let check = sandbox.bridle(&["check", "--json"]);
    let report = check.json();
    let in_check = array(&report, "findings")
        .iter()
        .find(|f| f["id"] == "flow-approval-dominates@contracts-late-approval/upload")
        .cloned()
        .expect("flow findings are in bridle check");
    assert_eq!(in_check["status"], "fail");
    assert_eq!(in_check["controls"], json!(["C07"]));
    assert_eq!(
        in_check["title"],
        "Approval comes before credential issuance, staging and sensitive data"
    );
    assert!(
        in_check["framework_items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["framework"] == "nist-ai-rmf"),
        "{in_check}"
    );
}

#[test]
fn flow_import_is_all_or_nothing_and_says_where_each_problem_is() {
    let sandbox = Sandbox::new();
    sandbox.import(&demo_estate(), &[]);
    let sound = std::fs::read_to_string(flow_fixture("localisation-sound.yaml")).unwrap();
    let broken = sandbox.write(
        "broken.yaml",
        sound
            .replace("id: contract-translation", "id: broken-one")
            .replace("next: [fetch]", "next: [fecth]")
            .replace(
                "single_use: true",
                "single_use: true\n        singel_use: true",
            ),
    );
    let also_broken = sandbox.write(
        "also-broken.yaml",
        sound
            .replace("id: contract-translation", "id: broken-two")
            .replace("{agent}/{task}", "{agent}:{task}"),
    );
    let db = sandbox.db();
    let before = (sha256_file(&db), sha256_file(&with_suffix(&db, "-wal")));
    let run = sandbox.bridle(&[
        "flow".as_ref(),
        "import".as_ref(),
        flow_fixture("localisation-sound.yaml").as_os_str(),
        broken.as_os_str(),
        also_broken.as_os_str(),
    ]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("no flow was imported"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("broken.yaml: flow.steps[2].issue.singel_use: unknown field `singel_use`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("also-broken.yaml: flow.identity.spiffe_id:")
            && run.stderr.contains("contains `:`"),
        "{}",
        run.stderr
    );
    assert_eq!(
        (sha256_file(&db), sha256_file(&with_suffix(&db, "-wal"))),
        before,
        "a rejected import leaves the database untouched"
    );
    assert_eq!(sandbox.bridle(&["flow", "ls", "--json"]).json(), json!([]));

    // The next-step typo alone is reported with its path too.
    let typo = sandbox.write("typo.yaml", sound.replace("next: [fetch]", "next: [fecth]"));
    let run = sandbox.bridle(&["flow".as_ref(), "import".as_ref(), typo.as_os_str()]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("typo.yaml: flow.steps[2].next[0]: `fecth` is not a step"),
        "{}",
        run.stderr
    );

    // Two files with one id are refused whole.
    let twin = sandbox.write("twin.yaml", &sound);
    let run = sandbox.bridle(&[
        "flow".as_ref(),
        "import".as_ref(),
        flow_fixture("localisation-sound.yaml").as_os_str(),
        twin.as_os_str(),
    ]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("is also the id of the flow in"),
        "{}",
        run.stderr
    );

    // Versions: created, unchanged, updated; the export is the document as written.
    let import = |path: &std::path::Path| {
        let run = sandbox.bridle(&[
            "flow".as_ref(),
            "import".as_ref(),
            path.as_os_str(),
            "--json".as_ref(),
        ]);
        run.ok();
        run.json()["flows"][0].clone()
    };
    let path = flow_fixture("localisation-sound.yaml");
    assert_eq!(import(&path)["outcome"], "created");
    assert_eq!(import(&path)["outcome"], "unchanged");
    let edited = sandbox.write(
        "edited.yaml",
        sound.replace("ttl: 20m\n        max_ttl", "ttl: 10m\n        max_ttl"),
    );
    let second = import(&edited);
    assert_eq!(
        (second["outcome"].clone(), second["version"].clone()),
        (json!("updated"), json!(2))
    );
    let exported = sandbox.path("exported.yaml");
    sandbox
        .bridle(&[
            "flow".as_ref(),
            "export".as_ref(),
            "contract-translation".as_ref(),
            "-o".as_ref(),
            exported.as_os_str(),
        ])
        .ok();
    assert_eq!(
        std::fs::read(&exported).unwrap(),
        std::fs::read(&edited).unwrap()
    );
    let log = sandbox.bridle(&["audit", "log", "--json"]).json();
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("flow."))
        .collect();
    assert_eq!(actions, ["flow.create", "flow.update"]);
    sandbox.bridle(&["audit", "verify"]).ok();

    // A change under review is checked from its file, against the stored flows, without saving.
    let review = sandbox.bridle(&[
        "flow".as_ref(),
        "check".as_ref(),
        "--json".as_ref(),
        "--fail-on".as_ref(),
        "high".as_ref(),
        "--file".as_ref(),
        flow_fixture("planted-long-ttl.yaml").as_os_str(),
    ]);
    review.expect_code(3);
    let failing: Vec<String> = review
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "fail")
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        failing,
        ["flow-no-standing-access@contracts-long-ttl/read-contracts"]
    );
    let stored: Vec<Value> = sandbox
        .bridle(&["flow", "ls", "--json"])
        .json()
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(stored.len(), 1, "checking a file saves nothing");
    let bad = sandbox.bridle(&[
        "flow".as_ref(),
        "check".as_ref(),
        "--file".as_ref(),
        typo.as_os_str(),
    ]);
    bad.expect_code(2);
    assert!(
        bad.stderr.contains("flow.steps[2].next[0]"),
        "{}",
        bad.stderr
    );

    sandbox.bridle(&["flow", "rm", "contract-translation"]).ok();
    sandbox
        .bridle(&["flow", "show", "contract-translation"])
        .expect_code(2);
}

fn simulate(sandbox: &Sandbox, args: &[&str]) -> Value {
    let mut full = vec!["flow", "simulate", "contract-translation", "--json"];
    full.extend(args);
    let run = sandbox.bridle(&full);
    run.ok();
    run.json()["decision"].clone()
}

#[test]
fn cedar_is_exported_and_the_simulator_decides_as_the_flow_says() {
    let sandbox = sandbox_with_flows();
    let dir = sandbox.path("policies");
    sandbox
        .bridle(&[
            "flow".as_ref(),
            "cedar".as_ref(),
            "contract-translation".as_ref(),
            "-o".as_ref(),
            dir.as_os_str(),
        ])
        .ok();
    let policies = std::fs::read_to_string(dir.join("contract-translation.cedar")).unwrap();
    let schema = std::fs::read_to_string(dir.join("contract-translation.cedarschema")).unwrap();
    assert!(
        policies.contains("@id(\"grant:read-contracts\")"),
        "{policies}"
    );
    assert!(policies.contains("@id(\"require-approval\")"), "{policies}");
    assert!(
        policies.contains("context.now < context.issued_at + 1200"),
        "{policies}"
    );
    assert!(schema.contains("namespace Bridle"), "{schema}");
    let json = sandbox
        .bridle(&["flow", "cedar", "contract-translation", "--json"])
        .json();
    assert_eq!(
        json["policy_ids"],
        json!([
            "grant:read-contracts",
            "grant:upload-partner",
            "require-approval",
            "kill-switch"
        ])
    );

    let run7 =
        "--principal=spiffe://northwind.example/agents/localisation/contract-translation/run-7";
    let at = [
        "--issued-at=2026-11-28T12:00:00Z",
        "--now=2026-11-28T12:05:00Z",
    ];
    let read = ["--action=read", "--resource=res:contracts-drive"];
    let mut before = vec![run7];
    before.extend(read);
    before.extend(at);
    let denied = simulate(&sandbox, &before);
    assert_eq!(denied["decision"], "deny");
    assert_eq!(denied["policies"], json!(["require-approval"]));

    let mut after = before.clone();
    after.push("--approved");
    let allowed = simulate(&sandbox, &after);
    assert_eq!(allowed["decision"], "allow", "{allowed}");
    assert_eq!(allowed["policies"], json!(["grant:read-contracts"]));

    // Outside the declared grants: another resource, another action.
    for outside in [
        ["--action=read", "--resource=res:hr-db"],
        ["--action=write", "--resource=res:contracts-drive"],
    ] {
        let mut args = vec![run7, "--approved"];
        args.extend(outside);
        args.extend(at);
        let decision = simulate(&sandbox, &args);
        assert_eq!(decision["decision"], "deny", "{outside:?}: {decision}");
        assert_eq!(decision["policies"], json!([]), "default deny");
    }
    // After the TTL, after revocation, or as another task's workload: denied.
    let mut late = vec![
        run7,
        "--approved",
        "--issued-at=2026-11-28T12:00:00Z",
        "--now=2026-11-28T12:25:00Z",
    ];
    late.extend(read);
    assert_eq!(simulate(&sandbox, &late)["decision"], "deny");
    let mut revoked = after.clone();
    revoked.push("--revoked");
    assert_eq!(
        simulate(&sandbox, &revoked)["policies"],
        json!(["kill-switch"])
    );
    let mut other = vec![
        "--principal=spiffe://northwind.example/agents/localisation/other-task/run-7",
        "--approved",
    ];
    other.extend(read);
    other.extend(at);
    assert_eq!(simulate(&sandbox, &other)["decision"], "deny");

    // An action the flow never grants is a clear error, not a silent deny.
    let run = sandbox.bridle(&[
        "flow",
        "simulate",
        "contract-translation",
        run7,
        "--action=delete",
        "--resource=res:contracts-drive",
    ]);
    run.expect_code(2);
    assert!(run.stderr.contains("request.action"), "{}", run.stderr);
}

#[test]
fn what_if_and_drift_compare_the_flow_with_the_agents_reach_today() {
    let sandbox = sandbox_with_flows();
    let at = "--at=2026-11-28T12:00:00Z";
    let reach = sandbox
        .bridle(&["reach", "agent:localisation", "--json", at])
        .json();
    let today: BTreeMap<String, Value> = array(&reach, "reachable")
        .iter()
        .filter(|r| r["kind"] == "resource")
        .map(|r| {
            (
                r["target"].as_str().unwrap().to_owned(),
                r["actions"].clone(),
            )
        })
        .collect();

    let what_if = sandbox
        .bridle(&["flow", "what-if", "contract-translation", "--json", at])
        .json();
    let rows = array(&what_if, "rows");
    let today_in_what_if: BTreeMap<String, Value> = rows
        .iter()
        .filter(|r| !r["today"].as_array().unwrap().is_empty())
        .map(|r| {
            (
                r["resource"].as_str().unwrap().to_owned(),
                r["today"].clone(),
            )
        })
        .collect();
    assert_eq!(
        today_in_what_if, today,
        "the what-if's today is `bridle reach`"
    );
    let under: BTreeMap<&str, &Value> = rows
        .iter()
        .filter(|r| !r["under_flow"].as_array().unwrap().is_empty())
        .map(|r| (r["resource"].as_str().unwrap(), &r["under_flow"]))
        .collect();
    assert_eq!(under.get("res:contracts-drive"), Some(&&json!(["read"])));
    assert_eq!(under.get("res:partner-sftp"), Some(&&json!(["write"])));
    assert_eq!(
        what_if["identity"],
        "spiffe://northwind.example/agents/localisation/contract-translation/run-0001"
    );

    // Drift: everything reached today beyond the flow's two grants is excess standing access.
    let drift = sandbox
        .bridle(&["flow", "drift", "contract-translation", "--json", at])
        .json();
    let excess: BTreeSet<&str> = array(&drift, "excess")
        .iter()
        .map(|e| e["resource"].as_str().unwrap())
        .collect();
    let expected: BTreeSet<&str> = today
        .iter()
        .filter(|(resource, actions)| {
            let declared: &[&str] = match resource.as_str() {
                "res:contracts-drive" => &["read"],
                "res:partner-sftp" => &["write"],
                _ => &[],
            };
            actions
                .as_array()
                .unwrap()
                .iter()
                .any(|a| !declared.contains(&a.as_str().unwrap()))
        })
        .map(|(r, _)| r.as_str())
        .collect();
    assert_eq!(excess, expected);
    let statuses: BTreeMap<&str, &str> = array(&drift, "findings")
        .iter()
        .map(|f| (f["check"].as_str().unwrap(), f["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        BTreeMap::from([
            (
                "flow-drift-excess-reach",
                if expected.is_empty() { "pass" } else { "fail" }
            ),
            // No broker called `bao` has been synced here.
            ("flow-drift-broker-ttl", "unknown"),
            // The demo has no identity for this task's runs.
            ("flow-drift-identity-missing", "fail"),
        ])
    );
}

#[test]
fn broker_role_ttls_drift_against_a_real_openbao() {
    let sandbox = sandbox_with_flows();
    let bao = Bao::start(&sandbox.path(""));
    bao.run(&["auth", "enable", "approle"]);
    bao.write_json(
        "auth/approle/role/localisation-contracts",
        &json!({"token_ttl": "1h", "token_max_ttl": "4h"}),
    );
    let root = sandbox.write_secret("root-token", &bao.root_token);
    sandbox
        .bridle(&[
            "broker",
            "add",
            "bao",
            "--kind",
            "openbao",
            "--address",
            &bao.address(),
            "--credential",
            &format!("file:{}", root.display()),
        ])
        .ok();
    let broker_ttl = |sandbox: &Sandbox| -> Value {
        sandbox.bridle(&["sync", "bao"]).ok();
        let drift = sandbox
            .bridle(&["flow", "drift", "contract-translation", "--json"])
            .json();
        array(&drift, "findings")
            .iter()
            .find(|f| f["check"] == "flow-drift-broker-ttl")
            .cloned()
            .unwrap()
    };
    let finding = broker_ttl(&sandbox);
    assert_eq!(finding["status"], "fail", "{finding}");
    let evidence = finding["evidence"].to_string();
    assert!(
        evidence.contains("token_ttl 3600s > designed ttl 1200s"),
        "{evidence}"
    );
    assert!(
        evidence.contains("token_max_ttl 14400s > designed 2400s"),
        "{evidence}"
    );

    // Brought in line with the design, the next sync shows it.
    bao.write_json(
        "auth/approle/role/localisation-contracts",
        &json!({"token_ttl": "20m", "token_max_ttl": "40m"}),
    );
    assert_eq!(broker_ttl(&sandbox)["status"], "pass");

    // Deleted at the broker: the designed role is missing.
    bao.run(&["delete", "auth/approle/role/localisation-contracts"]);
    let finding = broker_ttl(&sandbox);
    assert_eq!(finding["status"], "fail");
    assert!(
        finding["summary"]
            .as_str()
            .unwrap()
            .contains("missing from broker bao"),
        "{finding}"
    );
}
