use std::collections::BTreeSet;
use std::str::FromStr;

use bridle_core::flow::{Flow, FlowGrant, StepKind, Ttl, parse_flow};
use cedar_policy::{PolicySet, Schema, ValidationMode, Validator};
use expect_test::expect;
use serde_json::json;

use super::*;

const SOUND: &str = include_str!("../../core/src/flow/fixtures/sound.yaml");
const RUN: &str = "spiffe://acme.example/agents/invoice-bot/invoice-triage/run-42";
const ISSUED_AT: i64 = 1_700_000_000;

fn sound() -> Flow {
    parse_flow(SOUND).expect("the sound fixture parses")
}

/// A request the sound flow allows: approved, within the TTL, not revoked.
fn allowed_request() -> SimulationRequest {
    SimulationRequest {
        principal: RUN.to_owned(),
        action: "read".to_owned(),
        resource: "res:invoices".to_owned(),
        context: context(json!({
            "approved": true,
            "task_id": "invoice-triage",
            "now": ISSUED_AT + 60,
            "issued_at": ISSUED_AT,
            "revoked": false,
        })),
    }
}

fn context(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("a context is an object, not {other}"),
    }
}

/// The decision for `allowed_request` changed by `edit`, as `allow [ids]` or `deny [ids]`.
fn decide(flow: &Flow, edit: impl FnOnce(&mut SimulationRequest)) -> String {
    let mut request = allowed_request();
    edit(&mut request);
    let decision = simulate(flow, &request).expect("the request is well-formed");
    assert!(decision.errors.is_empty(), "{:?}", decision.errors);
    format!(
        "{} [{}]",
        if decision.allowed { "allow" } else { "deny" },
        decision.policies.join(", ")
    )
}

fn error(flow: &Flow, edit: impl FnOnce(&mut SimulationRequest)) -> String {
    let mut request = allowed_request();
    edit(&mut request);
    simulate(flow, &request)
        .expect_err("the request is malformed")
        .to_string()
}

#[test]
fn generated_policies_validate_strictly_and_reparse_to_the_same_ids() {
    let bundle = compile_flow(&sound()).unwrap();
    assert_eq!(
        bundle.policy_ids,
        [
            "grant:read-invoices",
            "grant:write-staging",
            "require-approval",
            "kill-switch"
        ]
    );

    // Independently of `compile_flow`: the texts as a reviewer would feed them to Cedar.
    let (schema, _) = Schema::from_cedarschema_str(&bundle.schema).unwrap();
    let set = PolicySet::from_str(&bundle.policies).unwrap();
    let ids: BTreeSet<&str> = set
        .policies()
        .map(|policy| policy.annotation("id").expect("every policy has an @id"))
        .collect();
    let expected: BTreeSet<&str> = bundle.policy_ids.iter().map(String::as_str).collect();
    assert_eq!(ids, expected);
    let validation = Validator::new(schema).validate(&set, ValidationMode::Strict);
    assert!(
        validation.validation_passed_without_warnings(),
        "{:?}",
        validation.validation_errors().collect::<Vec<_>>()
    );
}

#[test]
fn approval_decides_between_require_approval_and_the_grant() {
    let flow = sound();
    assert_eq!(
        decide(&flow, |r| {
            r.context.insert("approved".into(), json!(false));
        }),
        "deny [require-approval]"
    );
    assert_eq!(decide(&flow, |_| {}), "allow [grant:read-invoices]");
    assert_eq!(
        decide(&flow, |r| {
            r.action = "write".into();
            r.resource = "res:staging".into();
        }),
        "allow [grant:write-staging]"
    );
}

#[test]
fn requests_outside_the_declared_grants_are_denied() {
    let flow = sound();
    assert_eq!(
        decide(&flow, |r| r.resource = "res:payroll".into()),
        "deny []"
    );
    // `write` is declared, but on the staging area, not on the invoices.
    assert_eq!(decide(&flow, |r| r.action = "write".into()), "deny []");
}

#[test]
fn the_ttl_window_is_issue_time_inclusive_to_issue_time_plus_ttl_exclusive() {
    let flow = sound();
    let at = |now: i64| {
        decide(&flow, |r| {
            r.context.insert("now".into(), json!(now));
        })
    };
    assert_eq!(at(ISSUED_AT), "allow [grant:read-invoices]");
    assert_eq!(at(ISSUED_AT + 899), "allow [grant:read-invoices]");
    assert_eq!(at(ISSUED_AT + 900), "deny []");
    assert_eq!(at(ISSUED_AT - 1), "deny []");
}

#[test]
fn a_revoked_task_is_denied_by_the_kill_switch() {
    assert_eq!(
        decide(&sound(), |r| {
            r.context.insert("revoked".into(), json!(true));
        }),
        "deny [kill-switch]"
    );
}

#[test]
fn principals_of_other_tasks_or_runs_are_denied() {
    let flow = sound();
    for principal in [
        "spiffe://acme.example/agents/invoice-bot/other-task/run-42",
        "spiffe://acme.example/agents/other-bot/invoice-triage/run-42",
        "spiffe://acme.example/agents/invoice-bot/invoice-triage/run-42/child",
        "spiffe://acme.example/agents/invoice-bot/invoice-triage",
        "spiffe://other.example/agents/invoice-bot/invoice-triage/run-42",
    ] {
        assert_eq!(
            decide(&flow, |r| r.principal = principal.into()),
            "deny []",
            "{principal}"
        );
    }
    // The right workload claiming another task in its context.
    assert_eq!(
        decide(&flow, |r| {
            r.context.insert("task_id".into(), json!("other-task"));
        }),
        "deny []"
    );
}

#[test]
fn the_run_is_exactly_one_non_empty_segment() {
    let mut flow = sound();
    flow.identity.spiffe_id = "spiffe://acme.example/{agent}/{task}-{run}".into();
    let as_principal = |principal: &str| decide(&flow, |r| r.principal = principal.into());
    assert_eq!(
        as_principal("spiffe://acme.example/invoice-bot/invoice-triage-7"),
        "allow [grant:read-invoices]"
    );
    assert_eq!(
        as_principal("spiffe://acme.example/invoice-bot/invoice-triage-"),
        "deny []"
    );
    assert_eq!(
        as_principal("spiffe://acme.example/invoice-bot/invoice-triage-7/x"),
        "deny []"
    );
    assert_eq!(
        as_principal("spiffe://acme.example/invoice-bot/invoice-triage-7/x-invoice-triage-8"),
        "deny []"
    );
}

#[test]
fn malformed_requests_are_errors_naming_the_field() {
    let flow = sound();
    expect![[r#"request.context: missing required attribute(s) now, revoked"#]].assert_eq(&error(
        &flow,
        |r| {
            r.context.remove("now");
            r.context.remove("revoked");
        },
    ));
    expect![[r#"request.action: `delete` is not an action of flow `invoice-triage` (its grants use: read, write)"#]]
        .assert_eq(&error(&flow, |r| r.action = "delete".into()));
    expect![[r#"request.context.approved: must be true or false, not `"yes"`"#]].assert_eq(&error(
        &flow,
        |r| {
            r.context.insert("approved".into(), json!("yes"));
        },
    ));
    expect!["request.context: `surprise` is not a context attribute; they are approved, task_id, now, issued_at, revoked, condition_met"].assert_eq(&error(&flow, |r| {
        r.context.insert("surprise".into(), json!(1));
    }));
    expect!["request.context.now: must be a whole number (epoch seconds) that fits a Cedar Long, not `1.5`"].assert_eq(&error(&flow, |r| {
        r.context.insert("now".into(), json!(1.5));
    }));
    expect!["request.principal: `agent:invoice-bot` is not a SPIFFE ID: it must start with `spiffe://` (lower case)"].assert_eq(&error(&flow, |r| r.principal = "agent:invoice-bot".into()));
}

/// A flow without approval whose grant has a condition, and ids that need escaping.
fn conditional() -> Flow {
    let mut flow = sound();
    flow.steps.retain(|step| step.kind != StepKind::Approval);
    flow.revocation.triggers = vec!["ttl".into()];
    flow.grants = vec![
        FlowGrant {
            id: "admin-ledger".into(),
            resource: r#"res:ledger "main" \ 2024*"#.into(),
            actions: vec!["admin".into()],
            ttl: Some(Ttl::from_secs(300)),
            condition: Some("ticket in state \"approved\"\nand assigned".into()),
        },
        FlowGrant {
            id: "read-invoices".into(),
            resource: "res:invoices".into(),
            actions: vec!["read".into()],
            ttl: None,
            condition: None,
        },
    ];
    flow
}

#[test]
fn conditions_are_required_in_context_and_ids_are_escaped() {
    let flow = conditional();
    let ledger = r#"res:ledger "main" \ 2024*"#;
    let on_ledger = |r: &mut SimulationRequest| {
        r.action = "admin".into();
        r.resource = ledger.into();
    };
    assert_eq!(decide(&flow, on_ledger), "deny []");
    assert_eq!(
        decide(&flow, |r| {
            on_ledger(r);
            r.context.insert("condition_met".into(), json!(false));
        }),
        "deny []"
    );
    assert_eq!(
        decide(&flow, |r| {
            on_ledger(r);
            r.context.insert("condition_met".into(), json!(true));
        }),
        "allow [grant:admin-ledger]"
    );
    // No approval step: no approval needed; no revoking trigger: `revoked` is not consulted.
    assert_eq!(
        decide(&flow, |r| {
            r.context.insert("approved".into(), json!(false));
            r.context.insert("revoked".into(), json!(true));
        }),
        "allow [grant:read-invoices]"
    );
    // `admin` is not widened to `read` in Cedar.
    assert_eq!(
        decide(&flow, |r| {
            on_ledger(r);
            r.action = "read".into();
            r.context.insert("condition_met".into(), json!(true));
        }),
        "deny []"
    );
    // A `*` in a resource id is a character, not a wildcard.
    assert_eq!(
        decide(&flow, |r| {
            on_ledger(r);
            r.resource = r#"res:ledger "main" \ 2024-x"#.into();
            r.context.insert("condition_met".into(), json!(true));
        }),
        "deny []"
    );
    let bundle = compile_flow(&flow).unwrap();
    let set = PolicySet::from_str(&bundle.policies).unwrap();
    let condition = set
        .policies()
        .find_map(|policy| policy.annotation("condition"))
        .unwrap();
    assert_eq!(condition, "ticket in state \"approved\"\nand assigned");
}

#[test]
fn identity_templates_that_are_not_spiffe_ids_are_refused() {
    let mut flow = sound();
    flow.identity.spiffe_id = "spiffe://acme.example/agents/*/{task}/{run}".into();
    expect!["flow `invoice-triage`: flow.identity.spiffe_id `spiffe://acme.example/agents/*/{task}/{run}` renders as `spiffe://acme.example/agents/*/invoice-triage/run-0001`, which path segment `*` contains `*`: only letters, digits, `.`, `-` and `_` are allowed"].assert_eq(&compile_flow(&flow).unwrap_err().to_string());
    flow.identity.spiffe_id = "spiffe://acme.example/{owner}/{run}".into();
    expect!["flow `invoice-triage`: flow.identity.spiffe_id `spiffe://acme.example/{owner}/{run}` uses the placeholder `{owner}`; the placeholders are {agent}, {task} and {run}"].assert_eq(&compile_flow(&flow).unwrap_err().to_string());
    flow.identity.spiffe_id = "spiffe://acme.example/{task}/{run}/{run}".into();
    expect!["flow `invoice-triage`: flow.identity.spiffe_id `spiffe://acme.example/{task}/{run}/{run}` uses `{run}` more than once; a Cedar pattern cannot require both to be the same run"].assert_eq(&compile_flow(&flow).unwrap_err().to_string());
}

#[test]
fn sound_fixture_compiles_to_this_schema_and_these_policies() {
    let bundle = compile_flow(&sound()).unwrap();
    expect![[r#"
        // Generated by Bridle from an approval flow (bridle.flow/v1).
        namespace Bridle {
          // The task's workload: its SPIFFE ID and the task (flow) id.
          entity Workload = {
            spiffe_id: String,
            task: String,
          };
          // A resource of the inventory, by its id.
          entity Resource = {
            sensitivity?: String,
          };
          // What every request carries; times are epoch seconds.
          type RequestContext = {
            approved: Bool,
            task_id: String,
            now: Long,
            issued_at: Long,
            revoked: Bool,
            condition_met?: Bool,
          };
          // The actions the flow's grants use.
          action "read", "write" appliesTo {
            principal: [Workload],
            resource: [Resource],
            context: RequestContext,
          };
        }
    "#]]
    .assert_eq(&bundle.schema);
    expect![[r#"
        // grant read-invoices: read on res:invoices, once approved, for 15m from issue
        @id("grant:read-invoices")
        permit (
          principal is Bridle::Workload,
          action in [Bridle::Action::"read"],
          resource == Bridle::Resource::"res:invoices"
        )
        when {
          principal.spiffe_id like "spiffe://acme.example/agents/invoice-bot/invoice-triage/*" &&
          !(principal.spiffe_id like "spiffe://acme.example/agents/invoice-bot/invoice-triage/*/*") &&
          principal.spiffe_id != "spiffe://acme.example/agents/invoice-bot/invoice-triage/" &&
          context.task_id == "invoice-triage" &&
          context.approved &&
          context.now >= context.issued_at &&
          context.now < context.issued_at + 900
        };

        // grant write-staging: write on res:staging, once approved, for 15m from issue
        @id("grant:write-staging")
        permit (
          principal is Bridle::Workload,
          action in [Bridle::Action::"write"],
          resource == Bridle::Resource::"res:staging"
        )
        when {
          principal.spiffe_id like "spiffe://acme.example/agents/invoice-bot/invoice-triage/*" &&
          !(principal.spiffe_id like "spiffe://acme.example/agents/invoice-bot/invoice-triage/*/*") &&
          principal.spiffe_id != "spiffe://acme.example/agents/invoice-bot/invoice-triage/" &&
          context.task_id == "invoice-triage" &&
          context.approved &&
          context.now >= context.issued_at &&
          context.now < context.issued_at + 900
        };

        // rule require-approval: the flow asks for approval (step approve); the task's workload gets nothing before it
        @id("require-approval")
        forbid (
          principal is Bridle::Workload,
          action,
          resource is Bridle::Resource
        )
        when {
          principal.spiffe_id like "spiffe://acme.example/agents/invoice-bot/invoice-triage/*" &&
          !(principal.spiffe_id like "spiffe://acme.example/agents/invoice-bot/invoice-triage/*/*") &&
          principal.spiffe_id != "spiffe://acme.example/agents/invoice-bot/invoice-triage/"
        }
        unless { context.approved };

        // rule kill-switch: revocation is triggered by task_end, kill_switch; nothing is allowed once access is revoked
        @id("kill-switch")
        forbid (
          principal is Bridle::Workload,
          action,
          resource is Bridle::Resource
        )
        when { context.revoked };
    "#]].assert_eq(&bundle.policies);
}

#[test]
fn conditional_flow_compiles_to_these_policies() {
    expect![[r#"
        // grant admin-ledger: admin on res:ledger "main" \ 2024*, for 5m from issue, if its condition holds
        @id("grant:admin-ledger")
        @condition("ticket in state \"approved\"\nand assigned")
        permit (
          principal is Bridle::Workload,
          action in [Bridle::Action::"admin"],
          resource == Bridle::Resource::"res:ledger \"main\" \\ 2024*"
        )
        when {
          principal.spiffe_id like "spiffe://acme.example/agents/invoice-bot/invoice-triage/*" &&
          !(principal.spiffe_id like "spiffe://acme.example/agents/invoice-bot/invoice-triage/*/*") &&
          principal.spiffe_id != "spiffe://acme.example/agents/invoice-bot/invoice-triage/" &&
          context.task_id == "invoice-triage" &&
          context.now >= context.issued_at &&
          context.now < context.issued_at + 300 &&
          context has condition_met &&
          context.condition_met
        };

        // grant read-invoices: read on res:invoices
        @id("grant:read-invoices")
        permit (
          principal is Bridle::Workload,
          action in [Bridle::Action::"read"],
          resource == Bridle::Resource::"res:invoices"
        )
        when {
          principal.spiffe_id like "spiffe://acme.example/agents/invoice-bot/invoice-triage/*" &&
          !(principal.spiffe_id like "spiffe://acme.example/agents/invoice-bot/invoice-triage/*/*") &&
          principal.spiffe_id != "spiffe://acme.example/agents/invoice-bot/invoice-triage/" &&
          context.task_id == "invoice-triage"
        };
    "#]].assert_eq(&compile_flow(&conditional()).unwrap().policies);
}

#[test]
fn a_flow_without_grants_compiles_to_forbids_only_and_allows_nothing() {
    let mut flow = sound();
    flow.grants.clear();
    let bundle = compile_flow(&flow).unwrap();
    assert_eq!(bundle.policy_ids, ["require-approval", "kill-switch"]);
    assert!(!bundle.schema.contains("action "), "{}", bundle.schema);
    expect![
        "request.action: `read` is not an action of flow `invoice-triage` (its grants use: none)"
    ]
    .assert_eq(&error(&flow, |_| {}));
}

#[test]
fn a_grant_declared_twice_is_an_error_naming_its_policy() {
    let mut flow = sound();
    flow.grants.push(flow.grants[0].clone());
    expect!["flow `invoice-triage`: generated policy `grant:read-invoices` is not valid Cedar: duplicate template or policy id `grant:read-invoices`"].assert_eq(&compile_flow(&flow).unwrap_err().to_string());
}
