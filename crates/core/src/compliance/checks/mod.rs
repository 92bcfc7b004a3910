//! The automated checks: pure functions of the inventory, its privilege graph and the evaluation
//! time that turn controls into findings.
//!
//! A check never fails as a program: what it cannot decide for lack of data is a finding with
//! status [`Status::Unknown`] that says which data is missing, never a silent pass. Each check
//! evaluates one kind of subject (every agent, every live credential…) and yields one finding
//! per subject, whose id is `check@subject`, stable across runs so that risks can link to it.
//!
//! Each entry of the catalog (`CATALOG`, whose descriptions are [`CHECKS`]) carries its
//! implementation, so no check can be listed without one: either a function of its own over the
//! lookups shared by all checks (`index.rs`), in the module of its family (`agents`,
//! `identities`, `credentials`, `grants`, `tools`), or, for the checks that read what an agent
//! reaches, a function of one agent's classified reach tree (`reach`), which is computed once
//! per agent for all of them.

mod agents;
mod credentials;
mod grants;
mod identities;
mod index;
mod reach;
mod tools;

#[cfg(test)]
mod tests;

use std::fmt;

use crate::graph::PrivilegeGraph;
use crate::model::{EntityKind, Estate};
use crate::time::Timestamp;
use Evaluation::{Reach, Scan};
use index::{Found, Index};
#[cfg(test)]
pub(crate) use reach::LISTED_TARGETS;

/// The outcome of a check for one subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Pass,
    Fail,
    /// The data needed to decide is absent; the evidence says which.
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a failure is, from least to most (the order is meaningful: gates compare with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(word: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The limits the checks apply; the defaults are the documented ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A credential older than this (from `last_rotated`, else `issued_at`) must be rotated.
    pub rotation_days: u32,
    /// A credential not used for this long should be retired.
    pub unused_days: u32,
    /// The longest validity (`expires_at - issued_at`) a credential may have.
    pub max_ttl_days: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            rotation_days: 90,
            unused_days: 90,
            max_ttl_days: 90,
        }
    }
}

/// What one check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckInfo {
    pub id: &'static str,
    pub title: &'static str,
    /// The severity of a failure (some findings state a lower one, see the check).
    pub severity: Severity,
    /// What the check evaluates, one finding each.
    pub subject: &'static str,
}

/// An inventory check: what it is about, and how it is evaluated.
struct Check {
    info: CheckInfo,
    /// The kind of entity its subjects are (what its passes are counted under).
    subject_kind: EntityKind,
    run: Evaluation,
}

/// How an inventory check is evaluated. Every entry of [`CATALOG`] names its implementation, so
/// a check cannot be listed without one.
#[derive(Clone, Copy)]
enum Evaluation {
    /// By its own function, over the estate and the shared [`Index`]; it writes one finding per
    /// subject into [`Found`].
    Scan(fn(&mut Found<'_>, &Index<'_>, &Limits)),
    /// On each agent's reach tree, which is computed once per agent for every such check
    /// together ([`reach::evaluate`]); the function writes the agent's finding.
    Reach(reach::ReachCheck),
}

/// Every inventory check with its implementation, in report order.
const CATALOG: &[Check] = &[
    check(
        "agent-owner",
        "Agent has an owner",
        Severity::Medium,
        "every agent",
        EntityKind::Agent,
        Scan(agents::owner),
    ),
    check(
        "agent-workload-identity",
        "Agent runs as a workload identity of its own",
        Severity::High,
        "every agent",
        EntityKind::Agent,
        Scan(agents::workload_identity),
    ),
    check(
        "identity-not-shared",
        "Identity is used by one agent only",
        Severity::High,
        "every identity an agent runs as",
        EntityKind::Identity,
        Scan(identities::not_shared),
    ),
    check(
        "identity-owner",
        "Non-human identity has an owner",
        Severity::Medium,
        "every non-human identity",
        EntityKind::Identity,
        Scan(identities::owner),
    ),
    check(
        "human-use-of-nhi",
        "No person may assume or impersonate an agent's identity",
        Severity::High,
        "every non-human identity an agent runs as",
        EntityKind::Identity,
        Scan(identities::human_use_of_nhi),
    ),
    check(
        "agent-impersonates-human",
        "Agent cannot act as a person",
        Severity::High,
        "every agent",
        EntityKind::Agent,
        Reach(reach::impersonates_human),
    ),
    check(
        "credential-short-lived",
        "Credential expires within the TTL limit",
        Severity::High,
        "every live credential",
        EntityKind::Credential,
        Scan(credentials::short_lived),
    ),
    check(
        "credential-rotation",
        "Credential rotated within the rotation limit",
        Severity::Medium,
        "every live credential",
        EntityKind::Credential,
        Scan(credentials::rotation),
    ),
    check(
        "credential-unused",
        "Credential used within the unused limit",
        Severity::Low,
        "every live credential",
        EntityKind::Credential,
        Scan(credentials::unused),
    ),
    check(
        "credential-crown-jewel-admin",
        "Live credential carries no admin over a crown jewel",
        Severity::Critical,
        "every live credential",
        EntityKind::Credential,
        Scan(credentials::crown_jewel_admin),
    ),
    check(
        "expired-credential-stored",
        "Expired credential is not kept in a resource",
        Severity::Medium,
        "every expired credential",
        EntityKind::Credential,
        Scan(credentials::expired_stored),
    ),
    check(
        "secret-outside-secret-store",
        "Credential is not kept in code, tickets, chat or file shares",
        Severity::High,
        "every credential held by a resource",
        EntityKind::Credential,
        Scan(credentials::outside_secret_store),
    ),
    check(
        "autonomous-standing-access",
        "Autonomous agent holds no standing grant",
        Severity::High,
        "every autonomous agent",
        EntityKind::Agent,
        Scan(agents::standing_access),
    ),
    check(
        "jit-grant-expiry",
        "Just-in-time grant has an expiry",
        Severity::Medium,
        "every live just-in-time grant",
        EntityKind::Grant,
        Scan(grants::jit_expiry),
    ),
    check(
        "approval-gated-data-access",
        "Approval-gated agent cannot collect or change data before approval",
        Severity::Medium,
        "every supervised or assistive agent",
        EntityKind::Agent,
        Scan(agents::approval_gated),
    ),
    check(
        "crown-jewel-reach",
        "Agent reaches no crown jewel",
        Severity::High,
        "every agent",
        EntityKind::Agent,
        Reach(reach::crown_jewel_reach),
    ),
    check(
        "secret-store-exposure",
        "Reachable secret stores expose no stronger identity's credentials",
        Severity::High,
        "every agent",
        EntityKind::Agent,
        Reach(reach::secret_store_exposure),
    ),
    check(
        "environment-isolation",
        "Agent reaches only resources of its own environment",
        Severity::High,
        "every agent",
        EntityKind::Agent,
        Reach(reach::environment_isolation),
    ),
    check(
        "tool-own-identity",
        "Tool acting on restricted data has its own identity",
        Severity::High,
        "every tool",
        EntityKind::Tool,
        Scan(tools::own_identity),
    ),
    check(
        "grant-provenance",
        "Grant has a recorded source",
        Severity::Low,
        "every grant",
        EntityKind::Grant,
        Scan(grants::provenance),
    ),
    check(
        "grant-expired-on-record",
        "Expired grant is removed",
        Severity::Low,
        "every grant",
        EntityKind::Grant,
        Scan(grants::expired_on_record),
    ),
];

const fn check(
    id: &'static str,
    title: &'static str,
    severity: Severity,
    subject: &'static str,
    subject_kind: EntityKind,
    run: Evaluation,
) -> Check {
    Check {
        info: CheckInfo {
            id,
            title,
            severity,
            subject,
        },
        subject_kind,
        run,
    }
}

/// Every inventory check, in report order: what `CATALOG` says each is about. (The flow checks,
/// [`crate::flow::FLOW_CHECKS`] and [`crate::flow::DRIFT_CHECKS`], are described by the same
/// type and evaluated by the flow verifier.)
pub const CHECKS: &[CheckInfo] = &infos::<{ CATALOG.len() }>();

/// The [`CheckInfo`] of every [`CATALOG`] entry, in order (evaluated at compile time).
const fn infos<const N: usize>() -> [CheckInfo; N] {
    let mut infos = [CATALOG[0].info; N];
    let mut n = 1;
    while n < N {
        infos[n] = CATALOG[n].info;
        n += 1;
    }
    infos
}

/// The check with this id: an inventory check or a flow check (design or drift).
pub fn check_info(id: &str) -> Option<&'static CheckInfo> {
    CHECKS
        .iter()
        .chain(crate::flow::FLOW_CHECKS)
        .chain(crate::flow::DRIFT_CHECKS)
        .find(|c| c.id == id)
}

/// The result of one check for one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `check@subject`: stable, so risks can link to it.
    pub id: String,
    pub check: &'static str,
    /// The entity the finding is about.
    pub subject: String,
    pub status: Status,
    pub severity: Severity,
    /// One sentence: what was found.
    pub summary: String,
    /// Every entity involved (the subject first), without duplicates.
    pub entities: Vec<String>,
    /// The facts that decided it, one per line.
    pub evidence: Vec<String>,
    /// Privilege paths behind the finding (ids from the agent to the target), for the graph view.
    pub paths: Vec<Vec<String>>,
}

/// Whether an evaluation lists its passing findings one by one or only counts them. A large
/// estate has millions of passes (one per grant and check), which a report reads as counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passes {
    List,
    Count,
}

/// How many findings of one check passed without being listed ([`Passes::Count`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassCount {
    pub check: &'static str,
    /// The kind of entity the check's subjects are.
    pub subject_kind: EntityKind,
    pub count: u64,
}

/// What an evaluation found: the findings it lists, and the passes it only counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// In [`CHECKS`] order, then by subject id: every failure and unknown, and with
    /// [`Passes::List`] every pass.
    pub listed: Vec<Finding>,
    /// With [`Passes::Count`], per check in [`CHECKS`] order, the passes not in `listed` (only
    /// checks with at least one); empty with [`Passes::List`].
    pub unlisted_passes: Vec<PassCount>,
}

/// Runs every check over `estate` at time `at`; `graph` must be the estate's graph at `at`.
/// Findings come out in [`CHECKS`] order, then by subject id, passes included.
pub fn evaluate(
    estate: &Estate,
    graph: &PrivilegeGraph,
    at: Timestamp,
    limits: &Limits,
) -> Vec<Finding> {
    evaluate_with(estate, graph, at, limits, Passes::List).listed
}

/// [`evaluate`], with the passes listed or only counted as `passes` says. Every other finding is
/// the same either way, and so is every listed pass.
pub fn evaluate_with(
    estate: &Estate,
    graph: &PrivilegeGraph,
    at: Timestamp,
    limits: &Limits,
    passes: Passes,
) -> Findings {
    let index = Index::new(estate, graph, at);
    let reach_checks: Vec<(&CheckInfo, reach::ReachCheck)> = CATALOG
        .iter()
        .filter_map(|check| match check.run {
            Reach(run) => Some((&check.info, run)),
            Scan(_) => None,
        })
        .collect();
    let mut reached = reach::evaluate(&index, &reach_checks, passes).into_iter();
    let mut findings = Findings::default();
    for check in CATALOG {
        let found = match check.run {
            Scan(run) => {
                let mut found = Found::new(&check.info, passes);
                run(&mut found, &index, limits);
                found
            }
            Reach(_) => reached
                .next()
                .expect("reach::evaluate returns one list per reach check"),
        };
        let (mut listed, passed) = found.into_parts();
        listed.sort_by(|a, b| a.subject.cmp(&b.subject));
        findings.listed.extend(listed);
        if passes == Passes::Count && passed > 0 {
            findings.unlisted_passes.push(PassCount {
                check: check.info.id,
                subject_kind: check.subject_kind,
                count: passed,
            });
        }
    }
    findings
}
