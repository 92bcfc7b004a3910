//! Tests of the catalog and its dispatch (the findings themselves are pinned in
//! `compliance/tests.rs`).

use std::collections::{BTreeMap, BTreeSet};

use super::{
    CATALOG, CHECKS, Evaluation, Finding, Limits, PassCount, Passes, Status, check_info, evaluate,
    evaluate_with,
};
use crate::estate::{Syntax, parse};
use crate::flow::{DRIFT_CHECKS, FLOW_CHECKS};
use crate::graph::PrivilegeGraph;
use crate::model::{EntityKind, Estate};
use crate::synthetic::{Scale, generate};
use crate::time::parse_utc;

fn estate(path: &str) -> Estate {
    let path = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse(&bytes, Syntax::Json)
        .estate
        .unwrap_or_else(|| panic!("{path} is a valid estate"))
}

/// What the other fixtures never fail: a credential kept in a code repository and a
/// just-in-time grant without an expiry.
const LEAKY: &str = r#"{"bridle": "estate/v1",
    "identities": [{"id": "id:ci", "kind": "service_account", "name": "ci",
        "owner": "o@x.example"}],
    "credentials": [{"id": "cred:ci", "identity": "id:ci", "kind": "api_key",
        "issued_at": "2026-11-01T00:00:00Z", "expires_at": "2026-12-01T00:00:00Z"}],
    "resources": [{"id": "res:repo", "kind": "code_repo", "name": "repo",
        "sensitivity": "internal", "crown_jewel": false, "environment": "prod",
        "holds_credentials": ["cred:ci"]}],
    "grants": [{"id": "g-1", "subject": "id:ci", "target": "res:repo", "actions": ["read"],
        "standing": false, "source": "policy:ci"}]}"#;

/// The checks of `estate` with the statuses their findings have, in the order they come out.
fn statuses(estate: &Estate) -> Vec<(&'static str, BTreeSet<Status>)> {
    let at = parse_utc("2026-11-28T12:00:00Z").unwrap();
    let graph = PrivilegeGraph::build(estate, at);
    let mut out: Vec<(&'static str, BTreeSet<Status>)> = Vec::new();
    for f in evaluate(estate, &graph, at, &Limits::default()) {
        match out.last_mut() {
            Some((check, statuses)) if *check == f.check => {
                statuses.insert(f.status);
            }
            _ => out.push((f.check, BTreeSet::from([f.status]))),
        }
    }
    out
}

#[test]
fn check_ids_are_unique_across_inventory_and_flow_checks() {
    let mut seen = BTreeSet::new();
    for check in CHECKS.iter().chain(FLOW_CHECKS).chain(DRIFT_CHECKS) {
        assert!(
            seen.insert(check.id),
            "check `{}` is listed twice",
            check.id
        );
        assert_eq!(check_info(check.id), Some(check));
    }
}

#[test]
fn checks_describe_the_catalog_in_order() {
    let catalog: Vec<_> = CATALOG.iter().map(|c| c.info).collect();
    assert_eq!(CHECKS, catalog.as_slice());
    let reach: Vec<&str> = CATALOG
        .iter()
        .filter(|c| matches!(c.run, Evaluation::Reach(_)))
        .map(|c| c.info.id)
        .collect();
    assert_eq!(
        reach,
        [
            "agent-impersonates-human",
            "crown-jewel-reach",
            "secret-store-exposure",
            "environment-isolation"
        ]
    );
}

/// Every check is dispatched: on the demo estate each yields findings, in catalog order, and
/// across the fixtures each check both passes and does not.
#[test]
fn every_check_yields_findings_in_catalog_order() {
    let demo = statuses(&estate("../../assets/demo/estate.json"));
    let ids: Vec<&str> = demo.iter().map(|(check, _)| *check).collect();
    let catalog: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
    assert_eq!(ids, catalog);

    let mut seen: BTreeMap<&str, BTreeSet<Status>> = BTreeMap::new();
    for fixture in [
        "../../assets/demo/estate.json",
        "src/compliance/fixtures/clean.json",
        "src/compliance/fixtures/unknowns.json",
    ] {
        for (check, statuses) in statuses(&estate(fixture)) {
            seen.entry(check).or_default().extend(statuses);
        }
    }
    let parsed = parse(LEAKY.as_bytes(), Syntax::Json);
    let errors: Vec<String> = parsed.errors().map(ToString::to_string).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let leaky = parsed.estate.expect("LEAKY is a valid estate");
    for (check, statuses) in statuses(&leaky) {
        seen.entry(check).or_default().extend(statuses);
    }
    assert_eq!(seen.len(), CHECKS.len());
    let one_sided: Vec<(&str, &BTreeSet<Status>)> = seen
        .iter()
        .filter(|(_, statuses)| statuses.len() < 2)
        .map(|(check, statuses)| (*check, statuses))
        .collect();
    assert!(one_sided.is_empty(), "{one_sided:?}");
}

/// The subject kind of every entity of `estate` by id (grants included).
fn kinds_by_id(estate: &Estate) -> BTreeMap<&str, EntityKind> {
    let mut kinds = BTreeMap::new();
    kinds.extend(
        estate
            .agents
            .iter()
            .map(|e| (e.id.as_str(), EntityKind::Agent)),
    );
    kinds.extend(
        estate
            .identities
            .iter()
            .map(|e| (e.id.as_str(), EntityKind::Identity)),
    );
    kinds.extend(
        estate
            .credentials
            .iter()
            .map(|e| (e.id.as_str(), EntityKind::Credential)),
    );
    kinds.extend(
        estate
            .tools
            .iter()
            .map(|e| (e.id.as_str(), EntityKind::Tool)),
    );
    kinds.extend(
        estate
            .grants
            .iter()
            .map(|e| (e.id.as_str(), EntityKind::Grant)),
    );
    kinds
}

/// Counting the passes changes nothing else: the same failures and unknowns in the same order,
/// and per check as many passes as listing them gives, under the kind their subjects are.
#[test]
fn counted_passes_are_the_listed_passes_counted() {
    let at = parse_utc("2026-11-28T12:00:00Z").unwrap();
    let parsed = parse(LEAKY.as_bytes(), Syntax::Json);
    let estates = [
        estate("../../assets/demo/estate.json"),
        estate("src/compliance/fixtures/clean.json"),
        estate("src/compliance/fixtures/unknowns.json"),
        parsed.estate.expect("LEAKY is a valid estate"),
        generate(Scale::Small, 3),
    ];
    let mut counted_any = 0;
    for estate in &estates {
        let graph = PrivilegeGraph::build(estate, at);
        let all = evaluate(estate, &graph, at, &Limits::default());
        let listing = evaluate_with(estate, &graph, at, &Limits::default(), Passes::List);
        assert_eq!(listing.listed, all);
        assert!(listing.unlisted_passes.is_empty());

        let counting = evaluate_with(estate, &graph, at, &Limits::default(), Passes::Count);
        let not_passing: Vec<Finding> = all
            .iter()
            .filter(|f| f.status != Status::Pass)
            .cloned()
            .collect();
        assert_eq!(counting.listed, not_passing);

        let kinds = kinds_by_id(estate);
        let mut expected: Vec<PassCount> = Vec::new();
        for f in all.iter().filter(|f| f.status == Status::Pass) {
            let subject_kind = kinds[f.subject.as_str()];
            match expected.last_mut() {
                Some(last) if last.check == f.check => {
                    assert_eq!(last.subject_kind, subject_kind, "{}", f.id);
                    last.count += 1;
                }
                _ => expected.push(PassCount {
                    check: f.check,
                    subject_kind,
                    count: 1,
                }),
            }
        }
        assert_eq!(counting.unlisted_passes, expected);
        counted_any += expected.len();
    }
    // Every check passes somewhere, so every check's kind was compared.
    assert!(counted_any >= CHECKS.len(), "{counted_any}");
}
