use std::collections::BTreeSet;

use super::*;
use crate::compliance::Status;
use crate::estate::{Syntax, parse};
use crate::graph::PrivilegeGraph;
use crate::model::{Autonomy, Estate};
use crate::time::parse_utc;

const SOUND: &str = include_str!("fixtures/sound.yaml");

fn estate() -> Estate {
    let parsed = parse(include_bytes!("fixtures/estate.json"), Syntax::Json);
    parsed.estate.expect("the fixture estate is valid")
}

fn sound() -> Flow {
    parse_flow(SOUND).expect("the sound fixture reads")
}

fn failing(flow: &Flow, estate: &Estate) -> BTreeSet<String> {
    verify(flow, estate)
        .into_iter()
        .filter(|f| f.status != Status::Pass)
        .map(|f| format!("{} {}", f.status, f.id))
        .collect()
}

fn verify(flow: &Flow, estate: &Estate) -> Vec<FlowFinding> {
    verify_flow(
        flow,
        &FlowContext {
            estate: Some(estate),
            other_flows: &[],
            limits: FlowLimits::default(),
        },
    )
}

fn step_mut<'a>(flow: &'a mut Flow, id: &str) -> &'a mut Step {
    flow.steps
        .iter_mut()
        .find(|s| s.id == id)
        .expect("a fixture step")
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_sound_flow_passes_every_check() {
    let findings = verify(&sound(), &estate());
    let bad: Vec<_> = findings
        .iter()
        .filter(|f| f.status != Status::Pass)
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
    // Every rule looked at it: 4 sensitive steps, 1 issue step, 2 grants + 1 issue step, 2 grants +
    // 2 tool calls, 1 approval, the identity and the structure.
    let checks: BTreeSet<&str> = findings.iter().map(|f| f.check).collect();
    assert_eq!(checks.len(), FLOW_CHECKS.len());
    let approval = findings
        .iter()
        .find(|f| f.id == "flow-approval-dominates@invoice-triage/stage")
        .unwrap();
    assert!(
        approval
            .evidence
            .iter()
            .any(|e| e.contains("`approve` dominates `stage`"))
    );
}

#[test]
fn approval_after_staging_is_not_control() {
    let mut flow = sound();
    // issue-db → fetch → stage → approve → revoke: the approval moved behind the staging.
    flow.start = "issue-db".into();
    step_mut(&mut flow, "fetch").next = vec!["stage".into(), "revoke".into()];
    step_mut(&mut flow, "stage").next = vec!["approve".into()];
    step_mut(&mut flow, "approve").next = vec!["revoke".into(), "rejected".into()];
    step_mut(&mut flow, "rejected").kind = StepKind::Revoke;
    step_mut(&mut flow, "rejected").next = vec!["done".into()];
    assert_eq!(
        failing(&flow, &estate()),
        set(&[
            "fail flow-approval-dominates@invoice-triage/fetch",
            "fail flow-approval-dominates@invoice-triage/issue-db",
            "fail flow-approval-dominates@invoice-triage/stage",
        ])
    );
    let stage = verify(&flow, &estate())
        .into_iter()
        .find(|f| f.id == "flow-approval-dominates@invoice-triage/stage")
        .unwrap();
    assert!(
        stage.summary.contains("before its approval `approve`"),
        "{}",
        stage.summary
    );
    assert_eq!(stage.path, ["issue-db", "fetch", "stage"]);
    assert!(
        stage
            .hint
            .as_deref()
            .unwrap()
            .contains("Move approval `approve` before `stage`")
    );
}

#[test]
fn a_way_out_without_revocation_is_found_with_its_path() {
    let mut flow = sound();
    step_mut(&mut flow, "fetch").next = vec!["stage".into(), "done".into()];
    assert_eq!(
        failing(&flow, &estate()),
        set(&["fail flow-revocation-postdominates@invoice-triage/issue-db"])
    );
    let finding = verify(&flow, &estate())
        .into_iter()
        .find(|f| f.check == "flow-revocation-postdominates")
        .unwrap();
    assert_eq!(finding.path, ["issue-db", "fetch", "done"]);
}

#[test]
fn revocation_on_every_branch_passes_without_a_single_post_dominator() {
    let mut flow = sound();
    // fetch fails over to its own revoke step; neither revoke post-dominates issue-db alone.
    step_mut(&mut flow, "fetch").next = vec!["stage".into(), "revoke-on-error".into()];
    flow.steps.push(Step {
        id: "revoke-on-error".into(),
        kind: StepKind::Revoke,
        title: None,
        next: vec!["done".into()],
        approval: None,
        issue: None,
        tool_call: None,
        revoke: Some(RevokeStep {
            credentials: vec!["issue-db".into()],
        }),
    });
    assert_eq!(failing(&flow, &estate()), BTreeSet::new());
    let finding = verify(&flow, &estate())
        .into_iter()
        .find(|f| f.check == "flow-revocation-postdominates")
        .unwrap();
    assert!(
        finding.summary.contains("Every way out"),
        "{}",
        finding.summary
    );
}

#[test]
fn a_revoke_step_for_another_credential_does_not_count() {
    let mut flow = sound();
    step_mut(&mut flow, "revoke").revoke = Some(RevokeStep {
        credentials: vec!["issue-other".into()],
    });
    flow.steps.push(Step {
        id: "issue-other".into(),
        kind: StepKind::Issue,
        title: None,
        next: vec!["fetch".into()],
        approval: None,
        issue: flow.steps[2].issue.clone(),
        tool_call: None,
        revoke: None,
    });
    step_mut(&mut flow, "approve")
        .next
        .push("issue-other".into());
    let failing = failing(&flow, &estate());
    assert!(failing.contains("fail flow-revocation-postdominates@invoice-triage/issue-db"));
    assert!(!failing.contains("fail flow-revocation-postdominates@invoice-triage/issue-other"));
}

#[test]
fn a_ttl_above_the_limit_and_standing_grants_fail() {
    let mut flow = sound();
    flow.grants[0].ttl = Some("4h".parse().unwrap());
    assert_eq!(
        failing(&flow, &estate()),
        set(&["fail flow-no-standing-access@invoice-triage/read-invoices"])
    );
    flow.grants[0].ttl = None;
    let issue = step_mut(&mut flow, "issue-db").issue.as_mut().unwrap();
    issue.max_ttl = Some("8h".parse().unwrap());
    assert_eq!(
        failing(&flow, &estate()),
        set(&[
            "fail flow-no-standing-access@invoice-triage/issue-db",
            "fail flow-no-standing-access@invoice-triage/read-invoices",
        ])
    );
}

#[test]
fn an_autonomous_agent_needs_an_approval_or_a_condition_per_grant() {
    let mut estate = estate();
    estate.agents[0].autonomy = Autonomy::Autonomous;
    let mut flow = sound();
    assert!(
        failing(&flow, &estate).is_empty(),
        "approval-gated issuance is enough"
    );
    // Without the approval in front, every grant is ungated (and the steps unapproved).
    flow.start = "issue-db".into();
    flow.grants[1].condition = Some("staging area is the review share".into());
    let failing = failing(&flow, &estate);
    assert!(failing.contains("fail flow-no-standing-access@invoice-triage/read-invoices"));
    assert!(!failing.contains("fail flow-no-standing-access@invoice-triage/write-staging"));
}

#[test]
fn an_unused_grant_and_an_undeclared_need_are_least_privilege_failures() {
    let mut flow = sound();
    flow.grants.push(FlowGrant {
        id: "read-ledger".into(),
        resource: "res:ledger".into(),
        actions: vec!["read".into()],
        ttl: Some("15m".parse().unwrap()),
        condition: None,
    });
    step_mut(&mut flow, "issue-db")
        .issue
        .as_mut()
        .unwrap()
        .grants
        .push("read-ledger".into());
    assert_eq!(
        failing(&flow, &estate()),
        set(&["fail flow-least-privilege@invoice-triage/read-ledger"])
    );

    let mut flow = sound();
    flow.grants[0].actions.push("write".into());
    step_mut(&mut flow, "stage")
        .tool_call
        .as_mut()
        .unwrap()
        .actions = vec!["write".into(), "admin".into()];
    assert_eq!(
        failing(&flow, &estate()),
        set(&[
            "fail flow-least-privilege@invoice-triage/read-invoices",
            "fail flow-least-privilege@invoice-triage/stage",
        ])
    );
}

#[test]
fn a_step_before_its_credential_is_issued_is_flagged() {
    let mut flow = sound();
    step_mut(&mut flow, "approve").next = vec!["fetch".into(), "rejected".into()];
    step_mut(&mut flow, "fetch").next = vec!["issue-db".into()];
    step_mut(&mut flow, "issue-db").next = vec!["stage".into(), "revoke".into()];
    let failing = failing(&flow, &estate());
    assert_eq!(
        failing,
        set(&["fail flow-least-privilege@invoice-triage/fetch"])
    );
}

#[test]
fn an_approver_who_owns_the_agent_or_wrote_the_flow_breaks_separation_of_duties() {
    let mut flow = sound();
    step_mut(&mut flow, "approve")
        .approval
        .as_mut()
        .unwrap()
        .approvers[0]
        .person = Some("Olivia.Owner@acme.example".into());
    assert_eq!(
        failing(&flow, &estate()),
        set(&["fail flow-separation-of-duties@invoice-triage/approve"])
    );
    let mut flow = sound();
    step_mut(&mut flow, "approve")
        .approval
        .as_mut()
        .unwrap()
        .approvers = vec![Approver {
        person: None,
        role: Some("finance-approvers".into()),
        members: vec![
            "fiona.finance@acme.example".into(),
            "alex.architect@acme.example".into(),
        ],
    }];
    let finding = verify(&flow, &estate())
        .into_iter()
        .find(|f| f.check == "flow-separation-of-duties")
        .unwrap();
    assert_eq!(finding.status, Status::Fail);
    assert!(
        finding.evidence[0]
            .contains("alex.architect@acme.example (role finance-approvers) is the flow's author")
    );
    // A role without members cannot be decided: unknown, never pass.
    step_mut(&mut flow, "approve")
        .approval
        .as_mut()
        .unwrap()
        .approvers[0]
        .members
        .clear();
    assert_eq!(
        failing(&flow, &estate()),
        set(&["unknown flow-separation-of-duties@invoice-triage/approve"])
    );
}

#[test]
fn without_the_agent_in_the_inventory_the_flow_s_owner_and_autonomy_decide() {
    let mut flow = sound();
    flow.agent = "agent:not-yet-deployed".into();
    let statuses = |flow: &Flow| -> BTreeSet<String> { failing(flow, &estate()) };
    // Nothing known about the agent: unknown, never pass.
    assert_eq!(
        statuses(&flow),
        set(&[
            "unknown flow-no-standing-access@invoice-triage/read-invoices",
            "unknown flow-no-standing-access@invoice-triage/write-staging",
            "unknown flow-separation-of-duties@invoice-triage/approve",
        ])
    );
    // Declared in the flow: decided, and the sound design passes.
    flow.owner = Some("olivia.owner@acme.example".into());
    flow.autonomy = Some("autonomous".into());
    assert_eq!(statuses(&flow), BTreeSet::new());
    // The owner approving is caught from the flow's own declaration.
    step_mut(&mut flow, "approve")
        .approval
        .as_mut()
        .unwrap()
        .approvers[0]
        .person = Some("olivia.owner@acme.example".into());
    assert_eq!(
        statuses(&flow),
        set(&["fail flow-separation-of-duties@invoice-triage/approve"])
    );
    // A declared owner that differs from the inventory's is checked too.
    let mut flow = sound();
    flow.owner = Some("fiona.finance@acme.example".into());
    assert_eq!(
        failing(&flow, &estate()),
        set(&["fail flow-separation-of-duties@invoice-triage/approve"])
    );
    assert!(
        parse_flow(&SOUND.replace("author:", "autonomy: rogue\n  author:"))
            .unwrap_err()
            .problems
            .iter()
            .any(|p| p.path == "flow.autonomy")
    );
}

#[test]
fn an_identity_shared_with_another_task_or_agent_or_a_person_fails() {
    let estate = estate();
    let mut other = sound();
    other.id = "invoice-archive".into();
    other.identity.spiffe_id = "spiffe://acme.example/agents/invoice-bot/{run}".into();
    let mut flow = sound();
    flow.identity.spiffe_id = "spiffe://acme.example/agents/{agent}/{run}".into();
    let findings = verify_flow(
        &flow,
        &FlowContext {
            estate: Some(&estate),
            other_flows: std::slice::from_ref(&other),
            limits: FlowLimits::default(),
        },
    );
    let identity = findings
        .iter()
        .find(|f| f.check == "flow-workload-identity")
        .unwrap();
    assert_eq!(identity.status, Status::Fail);
    assert!(
        identity
            .evidence
            .iter()
            .any(|e| e.contains("flow invoice-archive"))
    );

    // The agent's fixed identity, also used by another agent.
    let mut estate = estate.clone();
    estate.agents[1]
        .runs_as
        .push("spiffe://acme.example/agents/invoice-bot".into());
    let mut flow = sound();
    flow.identity.spiffe_id = "spiffe://acme.example/agents/invoice-bot".into();
    let identity = verify(&flow, &estate)
        .into_iter()
        .find(|f| f.check == "flow-workload-identity")
        .unwrap();
    assert_eq!(identity.status, Status::Fail);
    assert!(
        identity
            .evidence
            .iter()
            .any(|e| e.contains("also used by agent agent:payer"))
    );
}

#[test]
fn unreachable_steps_and_loops_without_an_end_are_structure_failures() {
    let mut flow = sound();
    step_mut(&mut flow, "stage").next = vec!["fetch".into()];
    step_mut(&mut flow, "fetch").next = vec!["stage".into()];
    let failing = failing(&flow, &estate());
    assert!(
        failing.contains("fail flow-structure@invoice-triage/graph"),
        "{failing:?}"
    );
    assert!(failing.contains("fail flow-revocation-postdominates@invoice-triage/issue-db"));
}

#[test]
fn documents_round_trip_through_yaml() {
    let flow = sound();
    let yaml = flow_to_yaml(&flow);
    assert_eq!(parse_flow(&yaml).unwrap(), flow);
    assert!(yaml.contains("ttl: 15m"), "{yaml}");
}

#[test]
fn document_errors_say_where_and_what() {
    let cases = [
        (
            SOUND.replace("quorum: 1", "quorum: 1\n        quorom: 2"),
            "flow.steps[0].approval.quorom",
            "unknown field `quorom`",
        ),
        (
            SOUND.replace(
                "ttl: 15m\n    - id: write",
                "ttl: 15 minutes please\n    - id: write",
            ),
            "flow.grants[0].ttl",
            "not a duration",
        ),
        (
            SOUND.replace("next: [fetch]", "next: [fecth]"),
            "flow.steps[2].next[0]",
            "`fecth` is not a step",
        ),
        (
            SOUND.replace("{agent}/{task}", "{agent}:{task}"),
            "flow.identity.spiffe_id",
            "contains `:`",
        ),
        (
            SOUND.replace("{task}", "{tasks}"),
            "flow.identity.spiffe_id",
            "{tasks}",
        ),
        (
            SOUND.replace("actions: [read]\n      ttl", "actions: [raed]\n      ttl"),
            "flow.grants[0].actions[0]",
            "`raed`",
        ),
        (
            SOUND.replace(
                "grants: [read-invoices, write-staging]",
                "grants: [read-invoices, nope]",
            ),
            "flow.steps[2].issue.grants[1]",
            "`nope` is not a declared grant",
        ),
        (
            SOUND.replace(
                "kind: end\n    - id: issue-db",
                "kind: end\n      next: [fetch]\n    - id: issue-db",
            ),
            "flow.steps[1].next",
            "an `end` step",
        ),
        (
            SOUND.replace(
                "      kind: approval\n      approval:",
                "      kind: issue\n      approval:",
            ),
            "flow.steps[0].approval",
            "does not belong",
        ),
        (
            SOUND.replace("bridle.flow/v1", "bridle.flow/v9"),
            "format",
            "bridle.flow/v1",
        ),
        (
            SOUND.replace("max_ttl: 30m", "max_ttl: 5m"),
            "flow.steps[2].issue.ttl",
            "longer than its max_ttl",
        ),
        (
            SOUND.replace("data_sensitivity: confidential", "data_sensitivity: secret"),
            "flow.data_sensitivity",
            "`secret`",
        ),
        (
            SOUND.replace("action: revoke_leases", "action: shrug"),
            "flow.revocation.action",
            "`shrug`",
        ),
    ];
    for (text, path, says) in cases {
        let error = parse_flow(&text).expect_err(path);
        let problem = error
            .problems
            .iter()
            .find(|p| p.path == path)
            .unwrap_or_else(|| panic!("no problem at {path}: {error}"));
        assert!(
            problem.message.contains(says),
            "{path}: {}",
            problem.message
        );
    }
    // YAML syntax errors carry line and column.
    let error = parse_flow("format: bridle.flow/v1\nflow: [\n").unwrap_err();
    assert!(error.to_string().contains("line"), "{error}");
    // Found by the fuzz tests: the scanner's own errors printed without their place.
    for text in ["...\n", "format: bridle.flow/v1\nflow:\n  id: a\n id: b\n"] {
        let error = parse_flow(text).unwrap_err();
        assert_eq!(error.problems.len(), 1, "{error}");
        assert!(error.problems[0].message.contains(" at line "), "{error}");
    }
    // An unknown field with an empty name is located at the document, not nowhere.
    let error = parse_flow("'': bridle.flow/v1\n").unwrap_err();
    assert_eq!(error.problems[0].path, "$", "{error}");
}

#[test]
fn drift_finds_excess_reach_broker_ttls_and_missing_identities() {
    let estate = estate();
    let at = parse_utc("2026-11-28T12:00:00Z").unwrap();
    let graph = PrivilegeGraph::build(&estate, at);
    let flow = sound();
    let facts = BrokerFacts {
        synced: ["bao-prod".to_owned()].into(),
        roles: vec![BrokerRole {
            broker: "bao-prod".into(),
            mount: "approle".into(),
            name: "invoice-triage".into(),
            ttl_secs: Some(900),
            max_ttl_secs: Some(7200),
        }],
        spire_entries: vec![],
    };
    let drift = flow_drift(&flow, &estate, &graph, &facts, at);
    let excess = drift.excess.as_ref().unwrap();
    assert_eq!(excess.len(), 1);
    assert_eq!(excess[0].resource, "res:ledger");
    assert_eq!(excess[0].actions.words(), ["read", "write"]);
    let statuses: Vec<(String, Status)> = drift
        .findings
        .iter()
        .map(|f| (f.id.clone(), f.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (
                "flow-drift-excess-reach@invoice-triage/reach".to_owned(),
                Status::Fail
            ),
            (
                "flow-drift-broker-ttl@invoice-triage/issue-db".to_owned(),
                Status::Fail
            ),
            (
                "flow-drift-identity-missing@invoice-triage/identity".to_owned(),
                Status::Pass
            ),
        ]
    );
    assert!(
        drift.findings[1]
            .evidence
            .iter()
            .any(|e| e.contains("token_max_ttl 7200s > designed 1800s"))
    );

    // A role the broker does not have, a broker never synced, an identity nobody registered.
    let mut flow = flow;
    flow.identity.spiffe_id = "spiffe://acme.example/tasks/{task}/{run}".into();
    let facts = BrokerFacts {
        synced: ["bao-prod".to_owned()].into(),
        roles: vec![],
        spire_entries: vec![],
    };
    let drift = flow_drift(&flow, &estate, &graph, &facts, at);
    assert_eq!(drift.findings[1].status, Status::Fail);
    assert!(
        drift.findings[1]
            .summary
            .contains("missing from broker bao-prod")
    );
    assert_eq!(drift.findings[2].status, Status::Fail);
    let drift = flow_drift(&flow, &estate, &graph, &BrokerFacts::default(), at);
    assert_eq!(drift.findings[1].status, Status::Unknown);
}

#[test]
fn drift_compares_the_svid_ttls_of_imported_spire_entries_with_the_design() {
    let estate = estate();
    let at = parse_utc("2026-11-28T12:00:00Z").unwrap();
    let graph = PrivilegeGraph::build(&estate, at);
    let flow = sound();
    let entry = |id: &str, spiffe_id: &str, x509: Option<u64>| SpireEntry {
        source: "import:spire".into(),
        entry: id.into(),
        spiffe_id: spiffe_id.into(),
        x509_svid_ttl_secs: x509,
        jwt_svid_ttl_secs: Some(300),
    };
    let svid = |entries: Vec<SpireEntry>| {
        let facts = BrokerFacts {
            spire_entries: entries,
            ..BrokerFacts::default()
        };
        flow_drift(&flow, &estate, &graph, &facts, at)
            .findings
            .into_iter()
            .find(|f| f.check == "flow-drift-svid-ttl")
    };
    let task = "spiffe://acme.example/agents/invoice-bot/invoice-triage/nightly";

    // No SPIRE entries imported at all: nothing to compare, no finding.
    assert_eq!(svid(vec![]), None);
    // Entries, but none for this task: unknown.
    let f = svid(vec![entry("e-0", "spiffe://acme.example/other", Some(60))]).unwrap();
    assert_eq!(f.status, Status::Unknown);
    assert!(f.summary.contains("invoice-triage/*"), "{}", f.summary);

    // Within the issue step's 15m: pass; the step is named.
    let f = svid(vec![entry("e-1", task, Some(900))]).unwrap();
    assert_eq!(
        (f.id.as_str(), f.status, f.step.as_deref()),
        (
            "flow-drift-svid-ttl@invoice-triage/svid",
            Status::Pass,
            Some("issue-db")
        )
    );
    assert_eq!(f.entities, ["agent:invoice-bot", task]);

    // Longer than designed, or left to the server's default: fail, each entry named.
    let f = svid(vec![
        entry("e-1", task, Some(900)),
        entry("e-2", task, Some(14400)),
        entry("e-3", task, None),
    ])
    .unwrap();
    assert_eq!(f.status, Status::Fail);
    expect_test::expect![[r#"
        import:spire entry e-1 spiffe://acme.example/agents/invoice-bot/invoice-triage/nightly: X.509-SVID ttl 900s, JWT-SVID ttl 300s
        import:spire entry e-2 spiffe://acme.example/agents/invoice-bot/invoice-triage/nightly: X.509-SVID ttl 14400s, JWT-SVID ttl 300s
        import:spire entry e-3 spiffe://acme.example/agents/invoice-bot/invoice-triage/nightly: X.509-SVID ttl the server's default, JWT-SVID ttl 300s
        entry e-2: x509_svid_ttl 14400s > designed ttl 900s (step issue-db)
        entry e-3: x509_svid_ttl is unset (the server's default applies)
    "#]]
    .assert_eq(&(f.evidence.join("\n") + "\n"));
    assert!(f.hint.unwrap().contains("-x509SVIDTTL 900"));
}

#[test]
fn what_if_shows_the_reach_under_the_flow_next_to_today() {
    let estate = estate();
    let at = parse_utc("2026-11-28T12:00:00Z").unwrap();
    let what_if = flow_what_if(&sound(), &estate, at).unwrap();
    assert_eq!(
        what_if.identity,
        "spiffe://acme.example/agents/invoice-bot/invoice-triage/run-0001"
    );
    let rows: Vec<(&str, Vec<&str>, Vec<&str>)> = what_if
        .resources
        .iter()
        .map(|r| (r.resource.as_str(), r.today.words(), r.under_flow.words()))
        .collect();
    assert_eq!(
        rows,
        [
            ("res:invoices", vec!["read"], vec!["read"]),
            ("res:ledger", vec!["read", "write"], vec![]),
            ("res:staging", vec![], vec!["write"]),
        ]
    );
    assert_eq!(
        what_if
            .lost()
            .map(|r| r.resource.as_str())
            .collect::<Vec<_>>(),
        ["res:ledger"]
    );
    assert_eq!(
        what_if
            .gained()
            .map(|r| r.resource.as_str())
            .collect::<Vec<_>>(),
        ["res:staging"]
    );
}
