//! A bounded run of every fuzz target, as part of `cargo test`. The seeds are fixed so the run
//! is the same on every machine; `BRIDLE_FUZZ_SEED` replaces them (e.g. with the seed a long
//! run reported) and `BRIDLE_FUZZ_CASES` changes the number of cases.

use bridle_fuzz::Target;

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        text.parse()
            .unwrap_or_else(|_| panic!("{name} must be an unsigned integer, not `{text}`")),
    )
}

fn check(target: Target, default_seed: u64, default_cases: u32) {
    let seed = env_number("BRIDLE_FUZZ_SEED").unwrap_or(default_seed);
    let cases = env_number("BRIDLE_FUZZ_CASES")
        .map_or(default_cases, |n| u32::try_from(n).unwrap_or(u32::MAX));
    let outcome = target.run(seed, cases);
    if let Some(failure) = outcome.failure {
        panic!(
            "fuzz target {} failed with seed {seed} (replay: BRIDLE_FUZZ_SEED={seed} cargo test -p bridle-fuzz --test targets {}, or cargo run --release -p bridle-fuzz -- --target {} --seed {seed} --batch {cases}):\n{}",
            target.name(),
            target.name().replace('-', "_"),
            target.name(),
            failure.message
        );
    }
    assert!(
        outcome.cases >= u64::from(cases),
        "{} cases ran",
        outcome.cases
    );
}

#[test]
fn estate_json() {
    check(Target::EstateJson, 101, 300);
}

#[test]
fn estate_yaml() {
    check(Target::EstateYaml, 102, 300);
}

#[test]
fn flow() {
    check(Target::Flow, 103, 300);
}

#[test]
fn hcl_policy() {
    check(Target::HclPolicy, 104, 300);
}

#[test]
fn spire() {
    check(Target::Spire, 105, 300);
}

#[test]
fn kubernetes() {
    check(Target::Kubernetes, 106, 200);
}

#[test]
fn oidc() {
    check(Target::Oidc, 107, 150);
}

#[test]
fn mcp() {
    check(Target::Mcp, 108, 150);
}

/// The batch of a 10-minute run in which an MCP server answered `initialize` with a
/// `protocolVersion` that is no header value: Bridle then failed building its next request
/// ("builder error: failed to parse header value", naming no method). It is now refused at
/// `initialize`, naming the field.
#[test]
fn mcp_protocol_version_that_is_no_header_value() {
    check(Target::Mcp, 17_004_826_470_840_774_832, 200);
}
