//! The automated checks: pure functions of the inventory, its privilege graph and the evaluation
//! time that turn controls into findings.
//!
//! A check never fails as a program: what it cannot decide for lack of data is a finding with
//! status [`Status::Unknown`] that says which data is missing, never a silent pass. Each check
//! evaluates one kind of subject (every agent, every live credential…) and yields one finding
//! per subject, whose id is `check@subject`, stable across runs so that risks can link to it.

mod agents;
mod credentials;
mod grants;
mod identities;
mod index;
mod reach;
mod tools;

use std::fmt;

use crate::graph::PrivilegeGraph;
use crate::model::Estate;
use crate::time::Timestamp;
use index::{Builder, Index};
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

/// Every check, in report order.
pub const CHECKS: &[CheckInfo] = &[
    info(
        "agent-owner",
        "Agent has an owner",
        Severity::Medium,
        "every agent",
    ),
    info(
        "agent-workload-identity",
        "Agent runs as a workload identity of its own",
        Severity::High,
        "every agent",
    ),
    info(
        "identity-not-shared",
        "Identity is used by one agent only",
        Severity::High,
        "every identity an agent runs as",
    ),
    info(
        "identity-owner",
        "Non-human identity has an owner",
        Severity::Medium,
        "every non-human identity",
    ),
    info(
        "human-use-of-nhi",
        "No person may assume or impersonate an agent's identity",
        Severity::High,
        "every non-human identity an agent runs as",
    ),
    info(
        "agent-impersonates-human",
        "Agent cannot act as a person",
        Severity::High,
        "every agent",
    ),
    info(
        "credential-short-lived",
        "Credential expires within the TTL limit",
        Severity::High,
        "every live credential",
    ),
    info(
        "credential-rotation",
        "Credential rotated within the rotation limit",
        Severity::Medium,
        "every live credential",
    ),
    info(
        "credential-unused",
        "Credential used within the unused limit",
        Severity::Low,
        "every live credential",
    ),
    info(
        "credential-crown-jewel-admin",
        "Live credential carries no admin over a crown jewel",
        Severity::Critical,
        "every live credential",
    ),
    info(
        "expired-credential-stored",
        "Expired credential is not kept in a resource",
        Severity::Medium,
        "every expired credential",
    ),
    info(
        "secret-outside-secret-store",
        "Credential is not kept in code, tickets, chat or file shares",
        Severity::High,
        "every credential held by a resource",
    ),
    info(
        "autonomous-standing-access",
        "Autonomous agent holds no standing grant",
        Severity::High,
        "every autonomous agent",
    ),
    info(
        "jit-grant-expiry",
        "Just-in-time grant has an expiry",
        Severity::Medium,
        "every live just-in-time grant",
    ),
    info(
        "approval-gated-data-access",
        "Approval-gated agent cannot collect or change data before approval",
        Severity::Medium,
        "every supervised or assistive agent",
    ),
    info(
        "crown-jewel-reach",
        "Agent reaches no crown jewel",
        Severity::High,
        "every agent",
    ),
    info(
        "secret-store-exposure",
        "Reachable secret stores expose no stronger identity's credentials",
        Severity::High,
        "every agent",
    ),
    info(
        "environment-isolation",
        "Agent reaches only resources of its own environment",
        Severity::High,
        "every agent",
    ),
    info(
        "tool-own-identity",
        "Tool acting on restricted data has its own identity",
        Severity::High,
        "every tool",
    ),
    info(
        "grant-provenance",
        "Grant has a recorded source",
        Severity::Low,
        "every grant",
    ),
    info(
        "grant-expired-on-record",
        "Expired grant is removed",
        Severity::Low,
        "every grant",
    ),
];

const fn info(
    id: &'static str,
    title: &'static str,
    severity: Severity,
    subject: &'static str,
) -> CheckInfo {
    CheckInfo {
        id,
        title,
        severity,
        subject,
    }
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

/// Runs every check over `estate` at time `at`; `graph` must be the estate's graph at `at`.
/// Findings come out in [`CHECKS`] order, then by subject id.
pub fn evaluate(
    estate: &Estate,
    graph: &PrivilegeGraph,
    at: Timestamp,
    limits: &Limits,
) -> Vec<Finding> {
    let index = Index::new(estate, graph, at);
    let mut reach_found = reach::reach_checks(&index);
    let mut findings = Vec::new();
    for check in CHECKS {
        let mut found = match reach_found.remove(check.id) {
            Some(found) => found,
            None => run(check, &index, limits),
        };
        found.sort_by(|a, b| a.subject.cmp(&b.subject));
        findings.extend(found);
    }
    findings
}

fn run(check: &CheckInfo, ix: &Index<'_>, limits: &Limits) -> Vec<Finding> {
    let b = Builder { check };
    match check.id {
        "agent-owner" => agents::owner(&b, ix, limits),
        "agent-workload-identity" => agents::workload_identity(&b, ix, limits),
        "autonomous-standing-access" => agents::standing_access(&b, ix, limits),
        "approval-gated-data-access" => agents::approval_gated(&b, ix, limits),
        "identity-not-shared" => identities::not_shared(&b, ix, limits),
        "identity-owner" => identities::owner(&b, ix, limits),
        "human-use-of-nhi" => identities::human_use_of_nhi(&b, ix, limits),
        "credential-short-lived" => credentials::short_lived(&b, ix, limits),
        "credential-rotation" => credentials::rotation(&b, ix, limits),
        "credential-unused" => credentials::unused(&b, ix, limits),
        "credential-crown-jewel-admin" => credentials::crown_jewel_admin(&b, ix, limits),
        "expired-credential-stored" => credentials::expired_stored(&b, ix, limits),
        "secret-outside-secret-store" => credentials::outside_secret_store(&b, ix, limits),
        "jit-grant-expiry" => grants::jit_expiry(&b, ix, limits),
        "grant-provenance" => grants::provenance(&b, ix, limits),
        "grant-expired-on-record" => grants::expired_on_record(&b, ix, limits),
        "tool-own-identity" => tools::own_identity(&b, ix, limits),
        other => unreachable!("check `{other}` has no implementation"),
    }
}
