//! The automated checks: pure functions of the inventory, its privilege graph and the evaluation
//! time that turn controls into findings.
//!
//! A check never fails as a program: what it cannot decide for lack of data is a finding with
//! status [`Status::Unknown`] that says which data is missing, never a silent pass. Each check
//! evaluates one kind of subject (every agent, every live credential…) and yields one finding
//! per subject, whose id is `check@subject`, stable across runs so that risks can link to it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use crate::graph::{PrivilegeGraph, Reach};
use crate::model::{
    Action, ActionSet, Agent, Autonomy, Credential, Estate, Grant, Identity, IdentityKind,
    Resource, ResourceKind, Sensitivity,
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

pub fn check_info(id: &str) -> Option<&'static CheckInfo> {
    CHECKS.iter().find(|c| c.id == id)
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
    let mut findings = Vec::new();
    for check in CHECKS {
        let mut found = run(check, &index, limits);
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
    /// Agent id → everything it reaches.
    reach: HashMap<&'a str, Reach>,
    graph: &'a PrivilegeGraph,
    /// Identity id → whether it reaches a crown jewel or restricted resource, and which.
    strong: std::cell::RefCell<HashMap<String, Vec<String>>>,
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
        let reach = estate
            .agents
            .iter()
            .filter_map(|a| graph.reach(&a.id).ok().map(|r| (a.id.as_str(), r)))
            .collect();
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
            reach,
            graph,
            strong: Default::default(),
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

    /// The crown jewels and restricted resources `identity` reaches (sorted), computed once.
    fn strong_targets(&self, identity: &str) -> Vec<String> {
        if let Some(found) = self.strong.borrow().get(identity) {
            return found.clone();
        }
        let found: Vec<String> = self
            .graph
            .reach(identity)
            .map(|reach| {
                reach
                    .reachable
                    .iter()
                    .filter(|r| {
                        self.resources.get(r.target.as_str()).is_some_and(|res| {
                            res.crown_jewel || res.sensitivity == Sensitivity::Restricted
                        })
                    })
                    .map(|r| r.target.clone())
                    .collect()
            })
            .unwrap_or_default();
        self.strong
            .borrow_mut()
            .insert(identity.to_owned(), found.clone());
        found
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
        for entity in more {
            let entity = entity.into();
            if !self.entities.contains(&entity) {
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

        "agent-impersonates-human" => estate
            .agents
            .iter()
            .map(|a| {
                let reached: Vec<&crate::graph::Reached> = ix
                    .reach
                    .get(a.id.as_str())
                    .into_iter()
                    .flat_map(|r| r.reachable.iter())
                    // Running as a person is reported by `agent-workload-identity`.
                    .filter(|r| ix.is_human(&r.target) && !a.runs_as.contains(&r.target))
                    .collect();
                if reached.is_empty() {
                    b.finding(&a.id, Status::Pass, "reaches no human identity", vec![])
                } else {
                    let mut f = b.finding(
                        &a.id,
                        Status::Fail,
                        format!("can act as {} person(s)", reached.len()),
                        reached
                            .iter()
                            .map(|r| {
                                format!(
                                    "reaches {} in {} hop(s): {}",
                                    r.target,
                                    r.hops,
                                    r.path.join(" > ")
                                )
                            })
                            .collect(),
                    )
                    .with_entities(reached.iter().map(|r| r.target.clone()));
                    f.paths = reached.iter().map(|r| r.path.clone()).collect();
                    f
                }
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

        "crown-jewel-reach" => estate
            .agents
            .iter()
            .map(|a| {
                let reach = ix.reach.get(a.id.as_str());
                let jewels: Vec<&crate::graph::Reached> = reach
                    .into_iter()
                    .flat_map(|r| r.reachable.iter())
                    .filter(|r| {
                        ix.resources
                            .get(r.target.as_str())
                            .is_some_and(|res| res.crown_jewel)
                    })
                    .collect();
                if jewels.is_empty() {
                    let resources = reach
                        .into_iter()
                        .flat_map(|r| r.reachable.iter())
                        .filter(|r| ix.resources.contains_key(r.target.as_str()))
                        .count();
                    b.finding(
                        &a.id,
                        Status::Pass,
                        "reaches no crown jewel",
                        vec![format!("reaches {resources} resource(s), none a crown jewel")],
                    )
                } else {
                    let mut f = b
                        .finding(
                            &a.id,
                            Status::Fail,
                            format!(
                                "reaches {} crown jewel(s): {}",
                                jewels.len(),
                                jewels.iter().map(|r| r.target.as_str()).collect::<Vec<_>>().join(", ")
                            ),
                            jewels
                                .iter()
                                .map(|r| {
                                    format!(
                                        "{} [{}] in {} hop(s): {}",
                                        r.target,
                                        r.actions,
                                        r.hops,
                                        r.path.join(" > ")
                                    )
                                })
                                .collect(),
                        )
                        .with_entities(jewels.iter().map(|r| r.target.clone()));
                    f.paths = jewels.iter().map(|r| r.path.clone()).collect();
                    f
                }
            })
            .collect(),

        "secret-store-exposure" => estate
            .agents
            .iter()
            .map(|a| secret_store_exposure(&b, ix, a))
            .collect(),

        "environment-isolation" => estate
            .agents
            .iter()
            .map(|a| environment_isolation(&b, ix, a))
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

fn secret_store_exposure(b: &Builder<'_>, ix: &Index<'_>, a: &Agent) -> Finding {
    let Some(reach) = ix.reach.get(a.id.as_str()) else {
        return b.finding(&a.id, Status::Pass, "reaches nothing", vec![]);
    };
    let mut evidence = Vec::new();
    let mut entities = Vec::new();
    let mut paths = Vec::new();
    let mut stores = 0;
    for r in &reach.reachable {
        let Some(store) = ix.resources.get(r.target.as_str()) else {
            continue;
        };
        if store.kind != ResourceKind::SecretStore
            || !(r.actions.contains(Action::Read) || r.actions.contains(Action::Admin))
        {
            continue;
        }
        stores += 1;
        for credential_id in &store.holds_credentials {
            let Some(credential) = ix
                .estate
                .credentials
                .iter()
                .find(|c| &c.id == credential_id)
            else {
                continue;
            };
            if credential.is_expired_at(ix.at) || a.runs_as.contains(&credential.identity) {
                continue;
            }
            let strong = ix.strong_targets(&credential.identity);
            if !strong.is_empty() {
                evidence.push(format!(
                    "{} (reached in {} hop(s)) holds {} of {}, which reaches {}",
                    store.id,
                    r.hops,
                    credential.id,
                    credential.identity,
                    strong.join(", ")
                ));
                entities.extend([
                    store.id.clone(),
                    credential.id.clone(),
                    credential.identity.clone(),
                ]);
                paths.push(r.path.clone());
            }
        }
    }
    if evidence.is_empty() {
        b.finding(
            &a.id,
            Status::Pass,
            "no reachable secret store exposes a stronger identity",
            vec![format!("reads {stores} secret store(s)")],
        )
    } else {
        let mut f = b
            .finding(
                &a.id,
                Status::Fail,
                "a reachable secret store exposes credentials of a more privileged identity",
                evidence,
            )
            .with_entities(entities);
        paths.dedup();
        f.paths = paths;
        f
    }
}

fn environment_isolation(b: &Builder<'_>, ix: &Index<'_>, a: &Agent) -> Finding {
    let reached: Vec<(&crate::graph::Reached, &Resource)> = ix
        .reach
        .get(a.id.as_str())
        .into_iter()
        .flat_map(|r| r.reachable.iter())
        .filter_map(|r| ix.resources.get(r.target.as_str()).map(|res| (r, *res)))
        .collect();
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
    let mut paths = Vec::new();
    for (r, res) in &reached {
        match res.environment.as_deref() {
            None => unknown.push(res.id.clone()),
            Some(other) if other != env => {
                crossing.push((r, other));
                paths.push(r.path.clone());
            }
            Some(_) => {}
        }
    }
    let unknown_note = (!unknown.is_empty()).then(|| {
        format!(
            "environment unknown for {} reached resource(s): {}",
            unknown.len(),
            unknown.join(", ")
        )
    });
    if !crossing.is_empty() {
        let mut evidence: Vec<String> = crossing
            .iter()
            .map(|(r, other)| {
                format!(
                    "{env} agent reaches {} ({other}) in {} hop(s): {}",
                    r.target,
                    r.hops,
                    r.path.join(" > ")
                )
            })
            .collect();
        evidence.extend(unknown_note);
        let mut f = b
            .finding(
                &a.id,
                Status::Fail,
                format!(
                    "{env} agent reaches {} resource(s) of another environment",
                    crossing.len()
                ),
                evidence,
            )
            .with_entities(crossing.iter().map(|(r, _)| r.target.clone()))
            .with_entities(unknown);
        f.paths = paths;
        f
    } else if let Some(note) = unknown_note {
        b.finding(
            &a.id,
            Status::Unknown,
            format!("{} reached resource(s) have no environment", unknown.len()),
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
