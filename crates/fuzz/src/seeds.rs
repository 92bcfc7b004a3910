//! The repository's own example documents, compiled in: the starting points that mutations
//! damage. Valid documents reach deep into a reader before a mutation trips it; the malformed
//! fixtures start next to the rejections the readers already know.

/// Estate documents written as JSON.
pub const ESTATE_JSON: &[&str] = &[
    include_str!("../../../tests/fixtures/estates/clean.json"),
    include_str!("../../../tests/fixtures/estates/every-field.json"),
    include_str!("../../../assets/demo/estate.json"),
    include_str!("../../../crates/core/src/flow/fixtures/estate.json"),
    include_str!("../../../tests/fixtures/malformed/05-missing-bridle.json"),
    include_str!("../../../tests/fixtures/malformed/07-agent-missing-name.json"),
    include_str!("../../../tests/fixtures/malformed/08-standing-string.json"),
    include_str!("../../../tests/fixtures/malformed/10-runs-as-string.json"),
    include_str!("../../../tests/fixtures/malformed/19-duplicate-id-agent-resource.json"),
    include_str!("../../../tests/fixtures/malformed/20-derived-id-clash.json"),
    include_str!("../../../tests/fixtures/malformed/22-grant-target-credential.json"),
    include_str!("../../../tests/fixtures/malformed/25-tool-acts-on-unknown-resource.json"),
    include_str!("../../../tests/fixtures/malformed/26-holds-identity-not-credential.json"),
    include_str!("../../../tests/fixtures/malformed/28-bad-month.json"),
    include_str!("../../../tests/fixtures/malformed/31-id-too-long.json"),
    include_str!("../../../tests/fixtures/malformed/multi-error.json"),
];

/// Estate documents written as YAML.
pub const ESTATE_YAML: &[&str] = &[
    include_str!("../../../tests/fixtures/estates/every-field.yaml"),
    include_str!("../../../tests/fixtures/malformed/12-unknown-identity-kind.yaml"),
    include_str!("../../../tests/fixtures/malformed/23-grant-subject-resource.yaml"),
    include_str!("../../../tests/fixtures/malformed/29-time-yesterday.yaml"),
];

/// Approval-flow documents (YAML).
pub const FLOWS: &[&str] = &[
    include_str!("../../../crates/core/src/flow/fixtures/sound.yaml"),
    include_str!("../../../tests/fixtures/flows/localisation-sound.yaml"),
    include_str!("../../../tests/fixtures/flows/planted-approval-after-staging.yaml"),
    include_str!("../../../tests/fixtures/flows/planted-exit-without-revocation.yaml"),
    include_str!("../../../tests/fixtures/flows/planted-long-ttl.yaml"),
    include_str!("../../../tests/fixtures/flows/planted-owner-approves.yaml"),
    include_str!("../../../tests/fixtures/flows/planted-unused-grant.yaml"),
    include_str!("../../../assets/demo/flows/helpdesk-reply.yaml"),
    include_str!("../../../assets/demo/flows/ledger-reconciliation.yaml"),
];

/// `spire-server entry show -output json` files.
pub const SPIRE: &[&str] = &[
    include_str!("../../../tests/fixtures/brokers/spire-entries-current.json"),
    include_str!("../../../tests/fixtures/brokers/spire-entries.json"),
    include_str!("../../../tests/fixtures/brokers/spire-bad-selector.json"),
    include_str!("../../../tests/fixtures/brokers/spire-bad-spiffe-id.json"),
];

/// kubectl RBAC `List` files. The bootstrap policy of a real cluster is large (180 kB): it is
/// one seed among six.
pub const KUBERNETES: &[&str] = &[
    include_str!("../../../tests/fixtures/brokers/k8s-rbac.json"),
    include_str!("../../../tests/fixtures/brokers/k8s-techniques.json"),
    include_str!("../../../tests/fixtures/brokers/k8s-bad-kind.json"),
    include_str!("../../../tests/fixtures/brokers/k8s-bad-namespace.json"),
    include_str!("../../../tests/fixtures/brokers/k8s-bad-rule.json"),
    include_str!("../../../tests/fixtures/brokers/k8s-bootstrap.json"),
];

/// Parses each seed as a JSON tree; a seed that is not one (a truncated fixture) is skipped.
pub fn json_trees(seeds: &[&str]) -> Vec<serde_json::Value> {
    seeds
        .iter()
        .filter_map(|text| serde_json::from_str(text).ok())
        .collect()
}

/// Parses each seed as a YAML tree in the JSON data model.
pub fn yaml_trees(seeds: &[&str]) -> Vec<serde_json::Value> {
    seeds
        .iter()
        .filter_map(|text| serde_norway::from_str(text).ok())
        .collect()
}
