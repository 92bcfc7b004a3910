//! Tests of the catalog and its dispatch (the findings themselves are pinned in
//! `compliance/tests.rs`).

use std::collections::{BTreeMap, BTreeSet};

use super::{CATALOG, CHECKS, Evaluation, Limits, Status, check_info, evaluate};
use crate::estate::{Syntax, parse};
use crate::flow::{DRIFT_CHECKS, FLOW_CHECKS};
use crate::graph::PrivilegeGraph;
use crate::model::Estate;
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
