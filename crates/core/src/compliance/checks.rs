//! The automated checks: pure functions of the inventory, its privilege graph and the evaluation
//! time that turn controls into findings.
//!
//! A check never fails as a program: what it cannot decide for lack of data is a finding with
//! status [`Status::Unknown`] that says which data is missing, never a silent pass. Each check
//! evaluates one kind of subject (every agent, every live credential…) and yields one finding
//! per subject, whose id is `check@subject`, stable across runs so that risks can link to it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use crate::graph::{PrivilegeGraph, ReachTree, TreeReached};
use crate::model::{
    Action, ActionSet, Agent, Autonomy, Credential, EntityKind, Estate, Grant, Identity,
    IdentityKind, Resource, ResourceKind, Sensitivity,
};
use crate::time::{Timestamp, format_utc};

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
    let mut reach_found = reach_checks(&index);
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

/// Lookups shared by the checks.
struct Index<'a> {
    estate: &'a Estate,
    at: Timestamp,
    identities: HashMap<&'a str, &'a Identity>,
    resources: HashMap<&'a str, &'a Resource>,
    tools: HashMap<&'a str, &'a crate::model::Tool>,
    /// Identity id → the agents that run as it (sorted).
    agents_of_identity: BTreeMap<&'a str, Vec<&'a Agent>>,
    /// Subject id → its live grants.
    grants_of_subject: HashMap<&'a str, Vec<&'a Grant>>,
    /// Credential id → the resources holding it (sorted).
    holders: BTreeMap<&'a str, Vec<&'a Resource>>,
    credentials: HashMap<&'a str, &'a Credential>,
    graph: &'a PrivilegeGraph,
    /// Agent, identity or credential id → the nearest crown jewel or restricted resource it
    /// reaches, and in how many hops (one backward search for the whole estate).
    strong: HashMap<String, (String, u32)>,
}

impl<'a> Index<'a> {
    fn new(estate: &'a Estate, graph: &'a PrivilegeGraph, at: Timestamp) -> Index<'a> {
        let mut agents_of_identity: BTreeMap<&str, Vec<&Agent>> = BTreeMap::new();
        for agent in &estate.agents {
            for identity in &agent.runs_as {
                agents_of_identity
                    .entry(identity.as_str())
                    .or_default()
                    .push(agent);
            }
        }
        for agents in agents_of_identity.values_mut() {
            agents.sort_by(|a, b| a.id.cmp(&b.id));
            agents.dedup_by(|a, b| a.id == b.id);
        }
        let mut grants_of_subject: HashMap<&str, Vec<&Grant>> = HashMap::new();
        for grant in &estate.grants {
            if !grant.is_expired_at(at) {
                grants_of_subject
                    .entry(grant.subject.as_str())
                    .or_default()
                    .push(grant);
            }
        }
        for grants in grants_of_subject.values_mut() {
            grants.sort_by(|a, b| a.id.cmp(&b.id));
        }
        let mut holders: BTreeMap<&str, Vec<&Resource>> = BTreeMap::new();
        for resource in &estate.resources {
            for credential in &resource.holds_credentials {
                holders
                    .entry(credential.as_str())
                    .or_default()
                    .push(resource);
            }
        }
        for list in holders.values_mut() {
            list.sort_by(|a, b| a.id.cmp(&b.id));
        }
        Index {
            estate,
            at,
            identities: estate
                .identities
                .iter()
                .map(|i| (i.id.as_str(), i))
                .collect(),
            resources: estate
                .resources
                .iter()
                .map(|r| (r.id.as_str(), r))
                .collect(),
            tools: estate.tools.iter().map(|t| (t.id.as_str(), t)).collect(),
            agents_of_identity,
            grants_of_subject,
            holders,
            credentials: estate
                .credentials
                .iter()
                .map(|c| (c.id.as_str(), c))
                .collect(),
            graph,
            strong: graph.nearest_of(
                estate
                    .resources
                    .iter()
                    .filter(|r| r.crown_jewel || r.sensitivity == Sensitivity::Restricted)
                    .map(|r| r.id.as_str()),
            ),
        }
    }

    /// The live grants held by an agent itself or by any identity it runs as.
    fn agent_grants(&self, agent: &Agent) -> Vec<&'a Grant> {
        let mut grants: Vec<&Grant> = std::iter::once(agent.id.as_str())
            .chain(agent.runs_as.iter().map(String::as_str))
            .flat_map(|s| self.grants_of_subject.get(s).into_iter().flatten().copied())
            .collect();
        grants.sort_by(|a, b| a.id.cmp(&b.id));
        grants.dedup_by(|a, b| a.id == b.id);
        grants
    }

    fn is_human(&self, identity: &str) -> bool {
        self.identities
            .get(identity)
            .is_some_and(|i| i.kind == IdentityKind::Human)
    }
}

/// Builds findings for one check.
struct Builder<'c> {
    check: &'c CheckInfo,
}

impl Builder<'_> {
    fn finding(
        &self,
        subject: &str,
        status: Status,
        summary: impl Into<String>,
        evidence: Vec<String>,
    ) -> Finding {
        Finding {
            id: format!("{}@{subject}", self.check.id),
            check: self.check.id,
            subject: subject.to_owned(),
            status,
            severity: self.check.severity,
            summary: summary.into(),
            entities: vec![subject.to_owned()],
            evidence,
            paths: Vec::new(),
        }
    }
}

impl Finding {
    fn with_entities<I: IntoIterator<Item = S>, S: Into<String>>(mut self, more: I) -> Finding {
        // A set, not `contains` on the list: a finding may name hundreds of crown jewels.
        let mut seen: std::collections::HashSet<String> = self.entities.iter().cloned().collect();
        for entity in more {
            let entity = entity.into();
            if seen.insert(entity.clone()) {
                self.entities.push(entity);
            }
        }
        self
    }

    fn with_severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }
}

fn day(time: &Timestamp) -> String {
    format_utc(time)
}

fn days_between(from: Timestamp, to: Timestamp) -> i64 {
    (to - from).num_days()
}

fn run(check: &CheckInfo, ix: &Index<'_>, limits: &Limits) -> Vec<Finding> {
    let b = Builder { check };
    let estate = ix.estate;
    let at = ix.at;
    match check.id {
        "agent-owner" => estate
            .agents
            .iter()
            .map(|a| match &a.owner {
                Some(owner) => b.finding(&a.id, Status::Pass, format!("owned by {owner}"), vec![
                    format!("owner: {owner}"),
                ]),
                None => b.finding(&a.id, Status::Fail, "agent has no owner", vec![
                    "owner: null (unknown or orphaned)".to_owned(),
                ]),
            })
            .collect(),

        "agent-workload-identity" => estate
            .agents
            .iter()
            .map(|a| agent_workload_identity(&b, ix, a))
            .collect(),

        "identity-not-shared" => ix
            .agents_of_identity
            .iter()
            .map(|(identity, agents)| {
                let names: Vec<String> = agents
                    .iter()
                    .map(|a| {
                        format!(
                            "{} ({})",
                            a.id,
                            a.environment.as_deref().unwrap_or("environment unknown")
                        )
                    })
                    .collect();
                if agents.len() > 1 {
                    let environments: BTreeSet<_> =
                        agents.iter().map(|a| a.environment.as_deref()).collect();
                    let mut evidence = vec![format!(
                        "{} agents run as it: {}",
                        agents.len(),
                        names.join(", ")
                    )];
                    if environments.len() > 1 {
                        evidence.push("the agents run in different environments".to_owned());
                    }
                    b.finding(
                        identity,
                        Status::Fail,
                        format!("identity shared by {} agents", agents.len()),
                        evidence,
                    )
                    .with_entities(agents.iter().map(|a| a.id.clone()))
                } else {
                    b.finding(
                        identity,
                        Status::Pass,
                        format!("used by {} only", agents[0].id),
                        vec![format!("runs_as of {}", names.join(", "))],
                    )
                    .with_entities([agents[0].id.clone()])
                }
            })
            .collect(),

        "identity-owner" => estate
            .identities
            .iter()
            .filter(|i| i.kind != IdentityKind::Human)
            .map(|i| match &i.owner {
                Some(owner) => b.finding(&i.id, Status::Pass, format!("owned by {owner}"), vec![
                    format!("owner: {owner}"),
                ]),
                None => b.finding(&i.id, Status::Fail, "identity has no owner", vec![
                    format!("{} identity with owner: null", i.kind),
                ]),
            })
            .collect(),

        "human-use-of-nhi" => ix
            .agents_of_identity
            .iter()
            .filter(|(identity, _)| !ix.is_human(identity))
            .map(|(identity, agents)| {
                let mut humans = Vec::new();
                let mut evidence = vec![format!(
                    "runs_as of {}",
                    agents.iter().map(|a| a.id.as_str()).collect::<Vec<_>>().join(", ")
                )];
                for grant in &estate.grants {
                    if grant.target == *identity
                        && !grant.is_expired_at(at)
                        && ix.is_human(&grant.subject)
                        && (grant.actions.contains(Action::Assume)
                            || grant.actions.contains(Action::Impersonate))
                    {
                        evidence.push(format!(
                            "{} may {} it (grant {})",
                            grant.subject, grant.actions, grant.id
                        ));
                        humans.push(grant.subject.clone());
                        humans.push(grant.id.clone());
                    }
                }
                if humans.is_empty() {
                    b.finding(identity, Status::Pass, "no person may act as it", evidence)
                } else {
                    b.finding(
                        identity,
                        Status::Fail,
                        "a person may act as this agent identity",
                        evidence,
                    )
                    .with_entities(humans)
                }
                .with_entities(agents.iter().map(|a| a.id.clone()))
            })
            .collect(),

        "credential-short-lived" => live_credentials(estate, at)
            .map(|c| {
                let entities = [c.identity.clone()];
                match (c.expires_at, c.issued_at) {
                    (None, _) => b.finding(&c.id, Status::Fail, "credential never expires", vec![
                        format!("{} of {}: expires_at null", c.kind, c.identity),
                    ]),
                    (Some(expires), None) => b.finding(
                        &c.id,
                        Status::Unknown,
                        "validity unknown: issue time not recorded",
                        vec![format!("expires {}, issued_at null", day(&expires))],
                    ),
                    (Some(expires), Some(issued)) => {
                        let ttl = expires - issued;
                        let limit = chrono::Duration::days(i64::from(limits.max_ttl_days));
                        let evidence = vec![format!(
                            "issued {}, expires {}: valid {}",
                            day(&issued),
                            day(&expires),
                            duration(ttl)
                        )];
                        if ttl > limit {
                            b.finding(
                                &c.id,
                                Status::Fail,
                                format!(
                                    "valid for {} (limit {} days)",
                                    duration(ttl),
                                    limits.max_ttl_days
                                ),
                                evidence,
                            )
                            .with_severity(Severity::Medium)
                        } else {
                            b.finding(
                                &c.id,
                                Status::Pass,
                                format!("valid for {}", duration(ttl)),
                                evidence,
                            )
                        }
                    }
                }
                .with_entities(entities)
            })
            .collect(),

        "credential-rotation" => live_credentials(estate, at)
            .map(|c| {
                let from = c.last_rotated.map(|t| ("last rotated", t)).or(c.issued_at.map(|t| ("issued (never rotated)", t)));
                match from {
                    None => b.finding(
                        &c.id,
                        Status::Unknown,
                        "age unknown: neither issue nor rotation time recorded",
                        vec!["issued_at null, last_rotated null".to_owned()],
                    ),
                    Some((what, time)) => {
                        let age = days_between(time, at);
                        let evidence = vec![format!(
                            "{what} {} ({age} days before {}), limit {} days",
                            day(&time),
                            day(&at),
                            limits.rotation_days
                        )];
                        if age > i64::from(limits.rotation_days) {
                            b.finding(&c.id, Status::Fail, format!("not rotated for {age} days"), evidence)
                        } else {
                            b.finding(&c.id, Status::Pass, format!("{age} days old"), evidence)
                        }
                    }
                }
                .with_entities([c.identity.clone()])
            })
            .collect(),

        "credential-unused" => live_credentials(estate, at)
            .map(|c| {
                match c.last_used {
                    None => b.finding(
                        &c.id,
                        Status::Unknown,
                        "last use unknown",
                        vec![match c.issued_at {
                            Some(issued) => format!(
                                "last_used null; issued {} ({} days before {})",
                                day(&issued),
                                days_between(issued, at),
                                day(&at)
                            ),
                            None => "last_used null, issued_at null".to_owned(),
                        }],
                    ),
                    Some(used) => {
                        let idle = days_between(used, at);
                        let evidence = vec![format!(
                            "last used {} ({idle} days before {}), limit {} days",
                            day(&used),
                            day(&at),
                            limits.unused_days
                        )];
                        if idle > i64::from(limits.unused_days) {
                            b.finding(&c.id, Status::Fail, format!("unused for {idle} days"), evidence)
                        } else {
                            b.finding(&c.id, Status::Pass, format!("used {idle} days ago"), evidence)
                        }
                    }
                }
                .with_entities([c.identity.clone()])
            })
            .collect(),

        "credential-crown-jewel-admin" => live_credentials(estate, at)
            .map(|c| {
                // Whoever holds such a credential owns the crown jewel outright (a Vault root
                // token: admin on every path), whatever the paths through the graph say.
                let held: Vec<&Grant> = ix
                    .grants_of_subject
                    .get(c.identity.as_str())
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(|g| {
                        g.actions.contains(Action::Admin)
                            && ix.resources.get(g.target.as_str()).is_some_and(|r| r.crown_jewel)
                    })
                    .collect();
                if held.is_empty() {
                    b.finding(
                        &c.id,
                        Status::Pass,
                        "no admin grant on a crown jewel",
                        vec![format!("{} of {}", c.kind, c.identity)],
                    )
                    .with_entities([c.identity.clone()])
                } else {
                    let targets: Vec<&str> = held.iter().map(|g| g.target.as_str()).collect();
                    let expiry = match c.expires_at {
                        Some(t) => format!("expires {}", day(&t)),
                        None => "never expires".to_owned(),
                    };
                    let mut evidence = vec![format!("{} of {}: {expiry}", c.kind, c.identity)];
                    evidence.extend(held.iter().map(|g| {
                        format!(
                            "grant {}: {} -> {} [{}]{}",
                            g.id,
                            g.subject,
                            g.target,
                            g.actions,
                            g.conditions
                                .as_deref()
                                .map(|c| format!(" ({c})"))
                                .unwrap_or_default()
                        )
                    }));
                    b.finding(
                        &c.id,
                        Status::Fail,
                        format!(
                            "live credential with admin on crown jewel {}",
                            targets.join(", ")
                        ),
                        evidence,
                    )
                    .with_entities([c.identity.clone()])
                    .with_entities(targets.iter().map(|t| (*t).to_owned()))
                }
            })
            .collect(),

        "expired-credential-stored" => estate
            .credentials
            .iter()
            .filter(|c| c.is_expired_at(at))
            .map(|c| {
                let expired = c.expires_at.map(|t| day(&t)).unwrap_or_default();
                let holders = ix.holders.get(c.id.as_str()).cloned().unwrap_or_default();
                if holders.is_empty() {
                    b.finding(&c.id, Status::Pass, "expired and not held by any resource", vec![
                        format!("expired {expired}"),
                    ])
                } else {
                    b.finding(
                        &c.id,
                        Status::Fail,
                        format!("expired {expired} but still kept in {}", ids(&holders)),
                        vec![format!("expired {expired}; held by {}", ids(&holders))],
                    )
                    .with_entities(holders.iter().map(|r| r.id.clone()))
                }
                .with_entities([c.identity.clone()])
            })
            .collect(),

        "secret-outside-secret-store" => ix
            .holders
            .iter()
            .map(|(credential, holders)| {
                let bad: Vec<&&Resource> = holders
                    .iter()
                    .filter(|r| {
                        matches!(
                            r.kind,
                            ResourceKind::CodeRepo
                                | ResourceKind::Ticketing
                                | ResourceKind::MessageChannel
                                | ResourceKind::Filesystem
                        )
                    })
                    .collect();
                let places: Vec<String> = holders
                    .iter()
                    .map(|r| format!("{} ({})", r.id, r.kind))
                    .collect();
                let evidence = vec![format!("held by {}", places.join(", "))];
                if bad.is_empty() {
                    b.finding(credential, Status::Pass, "kept in a secret store or pipeline", evidence)
                } else {
                    b.finding(
                        credential,
                        Status::Fail,
                        format!(
                            "kept in {}",
                            bad.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                        evidence,
                    )
                }
                .with_entities(holders.iter().map(|r| r.id.clone()))
            })
            .collect(),

        "autonomous-standing-access" => estate
            .agents
            .iter()
            .filter(|a| a.autonomy == Autonomy::Autonomous)
            .map(|a| {
                let standing: Vec<&Grant> =
                    ix.agent_grants(a).into_iter().filter(|g| g.standing).collect();
                // Standing admin, or standing access to restricted data, a crown jewel or a
                // secret store, is the severe case; other standing grants are medium.
                let severe = standing.iter().any(|g| {
                    g.actions.contains(Action::Admin)
                        || ix.resources.get(g.target.as_str()).is_some_and(|r| {
                            r.crown_jewel
                                || r.sensitivity == Sensitivity::Restricted
                                || r.kind == ResourceKind::SecretStore
                        })
                });
                if standing.is_empty() {
                    b.finding(&a.id, Status::Pass, "no standing grant", vec![])
                } else {
                    b.finding(
                        &a.id,
                        Status::Fail,
                        format!("autonomous agent holds {} standing grant(s)", standing.len()),
                        standing.iter().map(|g| describe_grant(g)).collect(),
                    )
                    .with_entities(standing.iter().map(|g| g.id.clone()))
                    .with_severity(if severe { Severity::High } else { Severity::Medium })
                }
            })
            .collect(),

        "jit-grant-expiry" => estate
            .grants
            .iter()
            .filter(|g| !g.standing && !g.is_expired_at(at))
            .map(|g| match g.expires_at {
                None => b.finding(&g.id, Status::Fail, "just-in-time grant never expires", vec![
                    describe_grant(g),
                ]),
                Some(expires) => b.finding(
                    &g.id,
                    Status::Pass,
                    format!("expires {}", day(&expires)),
                    vec![describe_grant(g)],
                ),
            }
            .with_entities([g.subject.clone(), g.target.clone()]))
            .collect(),

        "approval-gated-data-access" => estate
            .agents
            .iter()
            .filter(|a| a.autonomy != Autonomy::Autonomous)
            .map(|a| approval_gated(&b, ix, a))
            .collect(),

        "tool-own-identity" => estate
            .tools
            .iter()
            .map(|t| {
                if let Some(identity) = &t.runs_as {
                    return b
                        .finding(&t.id, Status::Pass, format!("runs as {identity}"), vec![
                            format!("runs_as: {identity}"),
                        ])
                        .with_entities([identity.clone()]);
                }
                let mut sensitive = Vec::new();
                let mut missing = Vec::new();
                for entry in &t.acts_on {
                    match ix.resources.get(entry.resource.as_str()) {
                        Some(r) if r.crown_jewel || r.sensitivity == Sensitivity::Restricted => {
                            sensitive.push(format!(
                                "acts on {} ({}{}) with [{}]",
                                r.id,
                                r.sensitivity,
                                if r.crown_jewel { ", crown jewel" } else { "" },
                                entry.actions
                            ))
                        }
                        Some(_) => {}
                        None => missing.push(entry.resource.clone()),
                    }
                }
                let resources = t.acts_on.iter().map(|e| e.resource.clone());
                if !sensitive.is_empty() {
                    let mut evidence = vec!["runs_as: null (acts with its callers' rights)".to_owned()];
                    evidence.extend(sensitive);
                    b.finding(&t.id, Status::Fail, "tool without its own identity acts on restricted data", evidence)
                } else if !missing.is_empty() {
                    b.finding(
                        &t.id,
                        Status::Unknown,
                        "acts on resources not in the inventory",
                        vec![format!("runs_as: null; unknown resources {}", missing.join(", "))],
                    )
                } else {
                    b.finding(
                        &t.id,
                        Status::Pass,
                        "no identity of its own, but acts on no restricted data",
                        vec!["runs_as: null; every acts_on resource is below restricted and not a crown jewel".to_owned()],
                    )
                }
                .with_entities(resources)
            })
            .collect(),

        "grant-provenance" => estate
            .grants
            .iter()
            .map(|g| match &g.source {
                Some(source) => b.finding(&g.id, Status::Pass, format!("from {source}"), vec![
                    format!("source: {source}"),
                ]),
                None => b.finding(&g.id, Status::Fail, "grant has no recorded source", vec![
                    describe_grant(g),
                    "source: null".to_owned(),
                ]),
            }
            .with_entities([g.subject.clone(), g.target.clone()]))
            .collect(),

        "grant-expired-on-record" => estate
            .grants
            .iter()
            .map(|g| match g.expires_at {
                Some(expires) if expires <= at => b.finding(
                    &g.id,
                    Status::Fail,
                    format!("expired {} but still on record", day(&expires)),
                    vec![describe_grant(g)],
                ),
                _ => b.finding(&g.id, Status::Pass, "not expired", vec![describe_grant(g)]),
            }
            .with_entities([g.subject.clone(), g.target.clone()]))
            .collect(),

        other => unreachable!("check `{other}` has no implementation"),
    }
}

fn live_credentials(estate: &Estate, at: Timestamp) -> impl Iterator<Item = &Credential> {
    estate
        .credentials
        .iter()
        .filter(move |c| !c.is_expired_at(at))
}

fn ids(resources: &[&Resource]) -> String {
    resources
        .iter()
        .map(|r| r.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn duration(d: chrono::Duration) -> String {
    if d.num_days() >= 2 {
        format!("{} days", d.num_days())
    } else {
        format!("{} hours", d.num_hours())
    }
}

fn describe_grant(g: &Grant) -> String {
    format!(
        "grant {}: {} -> {} [{}], {}, expires {}",
        g.id,
        g.subject,
        g.target,
        g.actions,
        if g.standing {
            "standing"
        } else {
            "just in time"
        },
        g.expires_at
            .map(|t| day(&t))
            .unwrap_or_else(|| "never".to_owned())
    )
}

fn agent_workload_identity(b: &Builder<'_>, ix: &Index<'_>, a: &Agent) -> Finding {
    if a.runs_as.is_empty() {
        return b.finding(
            &a.id,
            Status::Fail,
            "agent has no identity of its own",
            vec!["runs_as: [] (it acts only through grants made to the agent itself)".to_owned()],
        );
    }
    let mut problems = Vec::new();
    let mut unknown = Vec::new();
    let mut others = Vec::new();
    for id in &a.runs_as {
        match ix.identities.get(id.as_str()) {
            None => unknown.push(format!("{id} is not in the inventory")),
            Some(i) if i.kind == IdentityKind::Human => {
                problems.push(format!("runs as {id}, a human identity"))
            }
            Some(_) => {
                let sharing: Vec<&str> = ix
                    .agents_of_identity
                    .get(id.as_str())
                    .into_iter()
                    .flatten()
                    .filter(|other| other.id != a.id)
                    .map(|other| other.id.as_str())
                    .collect();
                if !sharing.is_empty() {
                    problems.push(format!("{id} is shared with {}", sharing.join(", ")));
                    others.extend(sharing.iter().map(|s| s.to_string()));
                }
            }
        }
    }
    let identities = a.runs_as.iter().cloned();
    if !problems.is_empty() {
        b.finding(&a.id, Status::Fail, problems[0].clone(), problems)
            .with_entities(identities)
            .with_entities(others)
    } else if !unknown.is_empty() {
        b.finding(
            &a.id,
            Status::Unknown,
            "identity not in the inventory",
            unknown,
        )
        .with_entities(identities)
    } else {
        let kinds: Vec<String> = a
            .runs_as
            .iter()
            .filter_map(|id| ix.identities.get(id.as_str()))
            .map(|i| format!("{} ({})", i.id, i.kind))
            .collect();
        b.finding(
            &a.id,
            Status::Pass,
            format!("runs as {}", a.runs_as.join(", ")),
            vec![format!("own workload identity: {}", kinds.join(", "))],
        )
        .with_entities(identities)
    }
}

/// A supervised or assistive agent is meant to act only after a person approves; standing grants
/// that read confidential data or change anything let it collect or stage before that approval.
fn approval_gated(b: &Builder<'_>, ix: &Index<'_>, a: &Agent) -> Finding {
    let mut evidence = Vec::new();
    let mut entities = Vec::new();
    for g in ix.agent_grants(a).into_iter().filter(|g| g.standing) {
        let opens = |actions: ActionSet, r: &Resource| {
            actions.contains(Action::Write)
                || actions.contains(Action::Admin)
                || (actions.contains(Action::Read) && r.sensitivity >= Sensitivity::Confidential)
        };
        if let Some(r) = ix.resources.get(g.target.as_str()) {
            if opens(g.actions, r) {
                evidence.push(describe_grant(g));
                entities.push(g.id.clone());
            }
        } else if let Some(tool) = ix.tools.get(g.target.as_str())
            && g.actions.contains(Action::Invoke)
        {
            for entry in &tool.acts_on {
                if let Some(r) = ix.resources.get(entry.resource.as_str())
                    && opens(entry.actions, r)
                {
                    evidence.push(format!(
                        "{}; {} acts on {} [{}]",
                        describe_grant(g),
                        tool.id,
                        r.id,
                        entry.actions
                    ));
                    entities.push(g.id.clone());
                }
            }
        }
    }
    if evidence.is_empty() {
        b.finding(
            &a.id,
            Status::Pass,
            format!("{} agent holds no standing data access", a.autonomy),
            vec![],
        )
    } else {
        b.finding(
            &a.id,
            Status::Fail,
            format!(
                "{} agent can collect or change data before any approval",
                a.autonomy
            ),
            evidence,
        )
        .with_entities(entities)
    }
}

/// The checks that read what each agent reaches. They run together, agent by agent (spread over
/// the cores), on one reach tree per agent that is dropped as soon as its findings are written:
/// holding every agent's reach at once does not fit in memory on a large estate (2,000 agents
/// reaching 100,000 entities each).
const REACH_CHECKS: [&str; 4] = [
    "agent-impersonates-human",
    "crown-jewel-reach",
    "secret-store-exposure",
    "environment-isolation",
];

/// A finding lists at most this many reached targets with their witness paths (the nearest,
/// then by id) and counts the rest: on a large estate an agent reaches tens of thousands of
/// resources, and a finding is read by a person (`bridle reach` lists everything).
pub(crate) const LISTED_TARGETS: usize = 20;

fn reach_checks(ix: &Index<'_>) -> HashMap<&'static str, Vec<Finding>> {
    let builders = REACH_CHECKS.map(|id| Builder {
        check: check_info(id).expect("every reach check is in CHECKS"),
    });
    let per_agent: Vec<[Finding; 4]> = crate::graph::parallel_map(&ix.estate.agents, 8, |agents| {
        agents
            .iter()
            .map(|a| {
                let tree = ix.graph.reach_tree(&a.id).ok();
                let reached = Classified::of(ix, tree.as_ref());
                [
                    impersonates_human(&builders[0], a, &reached),
                    crown_jewel_reach(&builders[1], a, &reached),
                    secret_store_exposure(&builders[2], ix, a, &reached),
                    environment_isolation(&builders[3], a, &reached),
                ]
            })
            .collect()
    });
    let mut found: HashMap<&'static str, Vec<Finding>> =
        REACH_CHECKS.iter().map(|id| (*id, Vec::new())).collect();
    for findings in per_agent {
        for (id, finding) in REACH_CHECKS.iter().zip(findings) {
            found.get_mut(id).expect("initialised above").push(finding);
        }
    }
    found
}

/// What one agent reaches, sorted once into what the reach checks read (one lookup per reached
/// entity rather than one per check).
struct Classified<'t, 'a> {
    tree: Option<&'t ReachTree>,
    /// Identities of people.
    humans: Vec<&'t TreeReached>,
    /// Every reached resource.
    resources: Vec<(&'t TreeReached, &'a Resource)>,
    crown_jewels: Vec<&'t TreeReached>,
    /// Secret stores reached with read or admin (their credentials are exposed).
    secret_stores: Vec<(&'t TreeReached, &'a Resource)>,
}

impl<'t, 'a> Classified<'t, 'a> {
    fn of(ix: &Index<'a>, tree: Option<&'t ReachTree>) -> Classified<'t, 'a> {
        let mut classified = Classified {
            tree,
            humans: Vec::new(),
            resources: Vec::new(),
            crown_jewels: Vec::new(),
            secret_stores: Vec::new(),
        };
        for r in tree.into_iter().flat_map(|t| t.reachable.iter()) {
            match r.kind {
                EntityKind::Identity if ix.is_human(&r.target) => classified.humans.push(r),
                EntityKind::Resource => {
                    let Some(&resource) = ix.resources.get(r.target.as_str()) else {
                        continue;
                    };
                    classified.resources.push((r, resource));
                    if resource.crown_jewel {
                        classified.crown_jewels.push(r);
                    }
                    if resource.kind == ResourceKind::SecretStore
                        && (r.actions.contains(Action::Read) || r.actions.contains(Action::Admin))
                    {
                        classified.secret_stores.push((r, resource));
                    }
                }
                _ => {}
            }
        }
        classified
    }
}

/// The targets a finding lists: all of them when few, else the [`LISTED_TARGETS`] nearest; in
/// target order either way.
fn listed<T>(mut items: Vec<T>, hops_and_target: impl Fn(&T) -> (u32, &str)) -> Vec<T> {
    if items.len() > LISTED_TARGETS {
        items.sort_by(|a, b| hops_and_target(a).cmp(&hops_and_target(b)));
        items.truncate(LISTED_TARGETS);
    }
    items.sort_by(|a, b| hops_and_target(a).1.cmp(hops_and_target(b).1));
    items
}

/// The evidence line that counts what a finding does not list.
fn more_line(total: usize, listed: usize, what: &str) -> Option<String> {
    (total > listed).then(|| {
        format!(
            "and {} more {what} not listed here (the {listed} nearest are; `bridle reach` lists all)",
            total - listed
        )
    })
}

fn owned_path(tree: &ReachTree, reached: &TreeReached) -> Vec<String> {
    tree.path(reached).into_iter().map(str::to_owned).collect()
}

/// Up to five ids, then how many more.
fn some_ids(ids: &[String]) -> String {
    match ids.len() {
        0..=5 => ids.join(", "),
        n => format!("{} and {} more", ids[..5].join(", "), n - 5),
    }
}

fn impersonates_human(b: &Builder<'_>, a: &Agent, reach: &Classified) -> Finding {
    // Running as a person is reported by `agent-workload-identity`.
    let reached: Vec<&TreeReached> = reach
        .humans
        .iter()
        .copied()
        .filter(|r| !a.runs_as.contains(&r.target))
        .collect();
    let (Some(tree), false) = (reach.tree, reached.is_empty()) else {
        return b.finding(&a.id, Status::Pass, "reaches no human identity", vec![]);
    };
    let total = reached.len();
    let shown = listed(reached, |r| (r.hops, r.target.as_str()));
    let paths: Vec<Vec<String>> = shown.iter().map(|r| owned_path(tree, r)).collect();
    let mut evidence: Vec<String> = shown
        .iter()
        .zip(&paths)
        .map(|(r, path)| {
            format!(
                "reaches {} in {} hop(s): {}",
                r.target,
                r.hops,
                path.join(" > ")
            )
        })
        .collect();
    evidence.extend(more_line(total, shown.len(), "person(s)"));
    let mut f = b
        .finding(
            &a.id,
            Status::Fail,
            format!("can act as {total} person(s)"),
            evidence,
        )
        .with_entities(shown.iter().map(|r| r.target.clone()));
    f.paths = paths;
    f
}

fn crown_jewel_reach(b: &Builder<'_>, a: &Agent, reach: &Classified) -> Finding {
    let jewels = reach.crown_jewels.clone();
    let (Some(tree), false) = (reach.tree, jewels.is_empty()) else {
        let resources = reach.resources.len();
        return b.finding(
            &a.id,
            Status::Pass,
            "reaches no crown jewel",
            vec![format!(
                "reaches {resources} resource(s), none a crown jewel"
            )],
        );
    };
    // Every crown jewel is named (there are few of them); the paths are listed for the nearest.
    let all: Vec<String> = jewels.iter().map(|r| r.target.clone()).collect();
    let total = jewels.len();
    let shown = listed(jewels, |r| (r.hops, r.target.as_str()));
    let paths: Vec<Vec<String>> = shown.iter().map(|r| owned_path(tree, r)).collect();
    let mut evidence: Vec<String> = shown
        .iter()
        .zip(&paths)
        .map(|(r, path)| {
            format!(
                "{} [{}] in {} hop(s): {}",
                r.target,
                r.actions,
                r.hops,
                path.join(" > ")
            )
        })
        .collect();
    evidence.extend(more_line(total, shown.len(), "crown jewel(s)"));
    let mut f = b
        .finding(
            &a.id,
            Status::Fail,
            format!("reaches {total} crown jewel(s): {}", some_ids(&all)),
            evidence,
        )
        .with_entities(all);
    f.paths = paths;
    f
}

fn secret_store_exposure(
    b: &Builder<'_>,
    ix: &Index<'_>,
    a: &Agent,
    reach: &Classified,
) -> Finding {
    let Some(tree) = reach.tree else {
        return b.finding(&a.id, Status::Pass, "reaches nothing", vec![]);
    };
    let store_count = reach.secret_stores.len();
    // (store reached, the credential it exposes, the nearest strong target of its identity)
    let mut exposures = Vec::new();
    for &(r, store) in &reach.secret_stores {
        for credential_id in &store.holds_credentials {
            let Some(credential) = ix.credentials.get(credential_id.as_str()) else {
                continue;
            };
            if credential.is_expired_at(ix.at) || a.runs_as.contains(&credential.identity) {
                continue;
            }
            if let Some(strong) = ix.strong.get(&credential.identity) {
                exposures.push((r, credential, strong));
            }
        }
    }
    if exposures.is_empty() {
        return b.finding(
            &a.id,
            Status::Pass,
            "no reachable secret store exposes a stronger identity",
            vec![format!("reads {store_count} secret store(s)")],
        );
    }
    let total = exposures.len();
    let shown = listed(exposures, |(r, _, _)| (r.hops, r.target.as_str()));
    let mut evidence = Vec::new();
    let mut entities = Vec::new();
    let mut paths = Vec::new();
    for (r, credential, strong) in &shown {
        let (strong_target, strong_hops) = strong;
        evidence.push(format!(
            "{} (reached in {} hop(s)) holds {} of {}, which reaches {strong_target} in \
             {strong_hops} hop(s)",
            r.target, r.hops, credential.id, credential.identity,
        ));
        entities.extend([
            r.target.clone(),
            credential.id.clone(),
            credential.identity.clone(),
        ]);
        paths.push(owned_path(tree, r));
    }
    evidence.extend(more_line(total, shown.len(), "exposed credential(s)"));
    paths.dedup();
    let mut f = b
        .finding(
            &a.id,
            Status::Fail,
            "a reachable secret store exposes credentials of a more privileged identity",
            evidence,
        )
        .with_entities(entities);
    f.paths = paths;
    f
}

fn environment_isolation(b: &Builder<'_>, a: &Agent, reach: &Classified) -> Finding {
    let reached = &reach.resources;
    let tree = reach.tree;
    let Some(env) = a.environment.as_deref() else {
        return if reached.is_empty() {
            b.finding(&a.id, Status::Pass, "reaches no resource", vec![])
        } else {
            b.finding(
                &a.id,
                Status::Unknown,
                "agent environment unknown",
                vec![format!(
                    "environment: null; reaches {} resource(s)",
                    reached.len()
                )],
            )
        };
    };
    let mut crossing = Vec::new();
    let mut unknown = Vec::new();
    for (r, res) in reached {
        match res.environment.as_deref() {
            None => unknown.push(res.id.clone()),
            Some(other) if other != env => crossing.push((*r, other)),
            Some(_) => {}
        }
    }
    let unknown_total = unknown.len();
    unknown.truncate(LISTED_TARGETS);
    let unknown_note = (unknown_total > 0).then(|| {
        format!(
            "environment unknown for {unknown_total} reached resource(s): {}",
            some_ids(&unknown)
        )
    });
    if let (Some(tree), false) = (tree, crossing.is_empty()) {
        let total = crossing.len();
        let shown = listed(crossing, |(r, _)| (r.hops, r.target.as_str()));
        let paths: Vec<Vec<String>> = shown.iter().map(|(r, _)| owned_path(tree, r)).collect();
        let mut evidence: Vec<String> = shown
            .iter()
            .zip(&paths)
            .map(|((r, other), path)| {
                format!(
                    "{env} agent reaches {} ({other}) in {} hop(s): {}",
                    r.target,
                    r.hops,
                    path.join(" > ")
                )
            })
            .collect();
        evidence.extend(more_line(
            total,
            shown.len(),
            "resource(s) of another environment",
        ));
        evidence.extend(unknown_note);
        let mut f = b
            .finding(
                &a.id,
                Status::Fail,
                format!("{env} agent reaches {total} resource(s) of another environment"),
                evidence,
            )
            .with_entities(shown.iter().map(|(r, _)| r.target.clone()))
            .with_entities(unknown);
        f.paths = paths;
        f
    } else if let Some(note) = unknown_note {
        b.finding(
            &a.id,
            Status::Unknown,
            format!("{unknown_total} reached resource(s) have no environment"),
            vec![note],
        )
        .with_entities(unknown)
    } else {
        b.finding(
            &a.id,
            Status::Pass,
            format!("reaches only {env} resources"),
            vec![format!("{} resource(s) reached, all {env}", reached.len())],
        )
    }
}
