//! Structure-aware randomized tests of every reader Bridle points at outside input: estate
//! files (JSON and YAML), approval-flow documents, OpenBao/Vault policies, SPIRE entry files,
//! Kubernetes RBAC files, and the answers of OIDC issuers and MCP tool servers.
//!
//! Each [`Target`] starts from valid documents (the repository's fixtures, or a model of the
//! format) and damages them structurally (fields dropped, repeated, retyped, renamed, nested
//! deep; odd strings and numbers) and byte by byte (truncation, syntax tokens, random bytes).
//! The properties: the reader never panics, and every rejection is located (a line and column
//! inside the text, or a path that names a node of the document, or the endpoint that served
//! the answer); the targets add the round trips and mapping checks of their format.
//!
//! `cargo test -p bridle-fuzz` checks a bounded number of cases per target with a fixed seed
//! (`BRIDLE_FUZZ_SEED` and `BRIDLE_FUZZ_CASES` override them); `cargo xtask fuzz --minutes N`
//! runs the `bridle-fuzz` binary, which draws fresh seeds until the time is up.

pub mod harness;
mod http;
pub mod located;
pub mod mutate;
mod seeds;
mod targets;

pub use harness::{Failure, Outcome};

/// One input family and its reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    EstateJson,
    EstateYaml,
    Flow,
    HclPolicy,
    Spire,
    Kubernetes,
    Oidc,
    Mcp,
}

impl Target {
    pub const ALL: [Target; 8] = [
        Target::EstateJson,
        Target::EstateYaml,
        Target::Flow,
        Target::HclPolicy,
        Target::Spire,
        Target::Kubernetes,
        Target::Oidc,
        Target::Mcp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::EstateJson => "estate-json",
            Target::EstateYaml => "estate-yaml",
            Target::Flow => "flow",
            Target::HclPolicy => "hcl-policy",
            Target::Spire => "spire",
            Target::Kubernetes => "kubernetes",
            Target::Oidc => "oidc",
            Target::Mcp => "mcp",
        }
    }

    pub fn parse(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Cases per batch of a long run: about ten seconds of each target, so a run keeps to its
    /// time (the connectors' cases each build an HTTP client and make several requests).
    pub fn batch(self) -> u32 {
        match self {
            Target::Oidc | Target::Mcp => 200,
            Target::Kubernetes => 1000,
            _ => 5000,
        }
    }

    /// Checks `cases` inputs drawn with `seed`.
    pub fn run(self, seed: u64, cases: u32) -> Outcome {
        match self {
            Target::EstateJson => targets::estate::run_json(seed, cases),
            Target::EstateYaml => targets::estate::run_yaml(seed, cases),
            Target::Flow => targets::flow::run(seed, cases),
            Target::HclPolicy => targets::hcl::run(seed, cases),
            Target::Spire => targets::spire::run(seed, cases),
            Target::Kubernetes => targets::kubernetes::run(seed, cases),
            Target::Oidc => targets::oidc::run(seed, cases),
            Target::Mcp => targets::mcp::run(seed, cases),
        }
    }
}

/// The seed of the next batch of a long run: a SplitMix64 step, so consecutive batches draw
/// unrelated inputs and each batch's seed alone reproduces it.
pub fn next_seed(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
