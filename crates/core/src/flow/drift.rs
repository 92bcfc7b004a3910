//! Design against reality: a flow compared with the live inventory (imports and broker syncs),
//! and the agent's reach under the flow next to its reach today.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Flow, StepKind};
use super::spiffe;
use super::verify::FlowFinding;
use crate::compliance::{CheckInfo, Severity, Status};
use crate::graph::PrivilegeGraph;
use crate::model::{Action, ActionSet, EntityKind, Estate, Grant, Identity, IdentityKind};
use crate::time::{Timestamp, format_utc};

/// The drift checks, in report order.
pub const DRIFT_CHECKS: &[CheckInfo] = &[
    CheckInfo {
        id: "flow-drift-excess-reach",
        title: "The agent reaches nothing beyond the flow's grants",
        severity: Severity::High,
        subject: "every flow",
    },
    CheckInfo {
        id: "flow-drift-broker-ttl",
        title: "The broker role issues credentials no longer-lived than designed",
        severity: Severity::Medium,
        subject: "every issue step",
    },
    CheckInfo {
        id: "flow-drift-svid-ttl",
        title: "SPIRE issues the task's X.509-SVIDs no longer-lived than designed",
        severity: Severity::Medium,
        subject: "every flow, once SPIRE entries are imported",
    },
    CheckInfo {
        id: "flow-drift-identity-missing",
        title: "The task's workload identity exists in the inventory",
        severity: Severity::Medium,
        subject: "every flow",
    },
];

/// A broker role as last synced (from the broker's `vault.role` observations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRole {
    /// The broker profile name.
    pub broker: String,
    /// The auth mount (e.g. `approle`).
    pub mount: String,
    pub name: String,
    pub ttl_secs: Option<u64>,
    pub max_ttl_secs: Option<u64>,
}

/// A SPIRE registration entry as last imported (a `spire.entry` observation of a file import).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpireEntry {
    /// The import source that holds it (`import:<name>`).
    pub source: String,
    /// The entry id.
    pub entry: String,
    pub spiffe_id: String,
    /// Seconds; `None` when the entry leaves it to the server's default (SPIRE's `0`).
    pub x509_svid_ttl_secs: Option<u64>,
    pub jwt_svid_ttl_secs: Option<u64>,
}

/// What the brokers said at their last successful syncs, and the SPIRE entries last imported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerFacts {
    /// Broker profiles with at least one successful sync.
    pub synced: BTreeSet<String>,
    pub roles: Vec<BrokerRole>,
    pub spire_entries: Vec<SpireEntry>,
}

/// Access the agent has today beyond what the flow declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExcessAccess {
    pub resource: String,
    /// The actions reached that no declared grant covers.
    pub actions: ActionSet,
    pub hops: u32,
    pub path: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowDrift {
    pub flow: String,
    pub at: Timestamp,
    /// `None` when the agent is not in the inventory.
    pub excess: Option<Vec<ExcessAccess>>,
    pub findings: Vec<FlowFinding>,
}

fn drift_finding(
    check: &'static str,
    flow: &Flow,
    step: Option<&str>,
    subject: &str,
) -> FlowFinding {
    FlowFinding::new(DRIFT_CHECKS, check, flow, step, subject)
}

fn covered(flow: &Flow, resource: &str) -> ActionSet {
    let mut set = ActionSet::EMPTY;
    for grant in flow.grants.iter().filter(|g| g.resource == resource) {
        for action in grant.actions.iter().filter_map(|a| Action::parse(a)) {
            set.insert(action);
            if action == Action::Admin {
                set.insert(Action::Read);
                set.insert(Action::Write);
            }
        }
    }
    set
}

/// Compares `flow` with the inventory (`estate`, its graph at `at`) and the brokers' facts.
pub fn flow_drift(
    flow: &Flow,
    estate: &Estate,
    graph: &PrivilegeGraph,
    brokers: &BrokerFacts,
    at: Timestamp,
) -> FlowDrift {
    let mut findings = Vec::new();

    // Excess reach.
    let mut f = drift_finding("flow-drift-excess-reach", flow, None, "reach");
    let excess = match graph.reach(&flow.agent) {
        Err(_) => {
            f.status = Status::Unknown;
            f.summary = format!("Agent {} is not in the inventory", flow.agent);
            f.hint = Some("Import the agent (estate file or broker sync) to compare.".to_owned());
            None
        }
        Ok(reach) => {
            let excess: Vec<ExcessAccess> = reach
                .reachable
                .into_iter()
                .filter(|r| r.kind == EntityKind::Resource)
                .filter_map(|r| {
                    let beyond = r.actions.difference(covered(flow, &r.target));
                    (!beyond.is_empty()).then_some(ExcessAccess {
                        resource: r.target,
                        actions: beyond,
                        hops: r.hops,
                        path: r.path,
                    })
                })
                .collect();
            if excess.is_empty() {
                f.summary = format!(
                    "At {} {} reaches nothing beyond the flow's grants",
                    format_utc(&at),
                    flow.agent
                );
            } else {
                f.status = Status::Fail;
                f.summary = format!(
                    "{} has standing access to {} resource{} beyond the flow",
                    flow.agent,
                    excess.len(),
                    if excess.len() == 1 { "" } else { "s" }
                );
                for e in excess.iter().take(20) {
                    f.evidence.push(format!(
                        "{} {} via {}",
                        e.resource,
                        e.actions.words().join(","),
                        e.path.join(" → ")
                    ));
                    f.entities.push(e.resource.clone());
                }
                if excess.len() > 20 {
                    f.evidence.push(format!("… and {} more", excess.len() - 20));
                }
                f.path = excess[0].path.clone();
                f.hint = Some(
                    "Revoke the standing grants behind these paths; the flow's JIT grants cover the task."
                        .to_owned(),
                );
            }
            Some(excess)
        }
    };
    findings.push(f);

    // Broker roles: real TTLs against the design.
    for step in flow.steps.iter().filter(|s| s.kind == StepKind::Issue) {
        let issue = step
            .issue
            .as_ref()
            .expect("validated: issue steps carry issue");
        let mut f = drift_finding("flow-drift-broker-ttl", flow, Some(&step.id), &step.id);
        let role = brokers.roles.iter().find(|r| {
            r.broker == issue.broker
                && (r.name == issue.role || format!("{}/{}", r.mount, r.name) == issue.role)
        });
        match role {
            None if !brokers.synced.contains(&issue.broker) => {
                f.status = Status::Unknown;
                f.summary = format!("Broker {} has not been synced", issue.broker);
                f.hint = Some(format!("Run `bridle sync {}`.", issue.broker));
            }
            None => {
                f.status = Status::Fail;
                f.summary = format!(
                    "Role {} is missing from broker {}",
                    issue.role, issue.broker
                );
                f.hint = Some(format!(
                    "Create role {} on {} as designed, or correct the flow.",
                    issue.role, issue.broker
                ));
            }
            Some(role) => {
                let designed_max = issue.max_ttl.unwrap_or(issue.ttl).secs();
                let mut over = Vec::new();
                // OpenBao: 0 means "the mount's default", i.e. not bounded by the role.
                match role.ttl_secs {
                    Some(ttl) if ttl > 0 && ttl <= issue.ttl.secs() => {}
                    Some(ttl) if ttl > 0 => over.push(format!(
                        "token_ttl {ttl}s > designed ttl {}s",
                        issue.ttl.secs()
                    )),
                    _ => over.push("token_ttl is unset (the mount's default applies)".to_owned()),
                }
                match role.max_ttl_secs {
                    Some(max) if max > 0 && max <= designed_max => {}
                    Some(max) if max > 0 => {
                        over.push(format!("token_max_ttl {max}s > designed {designed_max}s"))
                    }
                    _ => {
                        over.push("token_max_ttl is unset (the mount's default applies)".to_owned())
                    }
                }
                f.evidence.push(format!(
                    "{} auth/{}/role/{}: ttl {}, max ttl {}",
                    role.broker,
                    role.mount,
                    role.name,
                    role.ttl_secs.map_or("unset".into(), |t| format!("{t}s")),
                    role.max_ttl_secs
                        .map_or("unset".into(), |t| format!("{t}s"))
                ));
                if over.is_empty() {
                    f.summary = format!("Role {} issues within the designed TTLs", issue.role);
                } else {
                    f.status = Status::Fail;
                    f.summary = format!(
                        "Role {} on {} issues longer-lived credentials than designed",
                        issue.role, issue.broker
                    );
                    f.evidence.extend(over);
                    f.hint = Some(format!(
                        "Set token_ttl ≤ {} and token_max_ttl ≤ {}s on the role.",
                        issue.ttl, designed_max
                    ));
                }
            }
        }
        findings.push(f);
    }

    if let Some(f) = svid_ttl_finding(flow, brokers) {
        findings.push(f);
    }

    // The declared identity in the inventory.
    let mut f = drift_finding("flow-drift-identity-missing", flow, None, "identity");
    if let Ok(pattern) = spiffe::run_pattern(&flow.identity.spiffe_id, &flow.agent, &flow.id) {
        let matching: Vec<&Identity> = estate
            .identities
            .iter()
            .filter(|i| i.id == pattern || spiffe::pattern_matches(&pattern, &i.id))
            .collect();
        if matching.is_empty() {
            f.status = Status::Fail;
            f.summary = format!("No identity in the inventory matches {pattern}");
            f.hint = Some(
                "Register the task's SPIFFE ID with the broker (e.g. a SPIRE entry) and sync or import it."
                    .to_owned(),
            );
        } else {
            f.summary = format!(
                "{} identit{} in the inventory match{} {pattern}",
                matching.len(),
                if matching.len() == 1 { "y" } else { "ies" },
                if matching.len() == 1 { "es" } else { "" }
            );
            for identity in matching.iter().take(10) {
                f.evidence
                    .push(format!("{} ({})", identity.id, identity.kind.as_str()));
                f.entities.push(identity.id.clone());
            }
        }
        findings.push(f);
    }

    FlowDrift {
        flow: flow.id.clone(),
        at,
        excess,
        findings,
    }
}

/// The X.509-SVID TTLs of the SPIRE entries that register the task's SPIFFE IDs, against the
/// design. The flow model gives the task's identity no lifetime of its own; the credential
/// lifetime it designs is the issue steps' `ttl`, the field broker role TTLs are compared with.
/// The SVID proves the task's identity to the brokers for as long as it is valid, so it should
/// live no longer than the longest credential the flow issues; an SVID that outlives it lets the
/// workload go on obtaining credentials after the designed window. Like a role's unset
/// `token_ttl`, an entry that leaves the TTL to the server's default fails: the file cannot say
/// what that default is.
///
/// No finding when the flow issues nothing (no designed lifetime) or when no SPIRE entries are
/// imported at all (nothing says SPIRE issues this identity; `flow-drift-identity-missing` covers
/// an identity that is nowhere).
fn svid_ttl_finding(flow: &Flow, brokers: &BrokerFacts) -> Option<FlowFinding> {
    if brokers.spire_entries.is_empty() {
        return None;
    }
    let (step, issue) = flow
        .steps
        .iter()
        .filter(|s| s.kind == StepKind::Issue)
        .filter_map(|s| s.issue.as_ref().map(|issue| (s, issue)))
        .max_by_key(|(_, issue)| issue.ttl)?;
    let pattern = spiffe::run_pattern(&flow.identity.spiffe_id, &flow.agent, &flow.id).ok()?;
    let designed = issue.ttl.secs();
    let mut f = drift_finding("flow-drift-svid-ttl", flow, Some(&step.id), "svid");
    let entries: Vec<&SpireEntry> = brokers
        .spire_entries
        .iter()
        .filter(|e| e.spiffe_id == pattern || spiffe::pattern_matches(&pattern, &e.spiffe_id))
        .collect();
    if entries.is_empty() {
        f.status = Status::Unknown;
        f.summary = format!("No imported SPIRE entry registers an ID matching {pattern}");
        f.hint = Some(
            "Import the entries of the SPIRE server that issues the task's SVIDs (`bridle import --format spire`)."
                .to_owned(),
        );
        return Some(f);
    }
    let seconds = |t: Option<u64>| t.map_or("the server's default".to_owned(), |t| format!("{t}s"));
    let mut over = Vec::new();
    for entry in &entries {
        f.evidence.push(format!(
            "{} entry {} {}: X.509-SVID ttl {}, JWT-SVID ttl {}",
            entry.source,
            entry.entry,
            entry.spiffe_id,
            seconds(entry.x509_svid_ttl_secs),
            seconds(entry.jwt_svid_ttl_secs)
        ));
        if !f.entities.contains(&entry.spiffe_id) {
            f.entities.push(entry.spiffe_id.clone());
        }
        match entry.x509_svid_ttl_secs {
            Some(ttl) if ttl <= designed => {}
            Some(ttl) => over.push(format!(
                "entry {}: x509_svid_ttl {ttl}s > designed ttl {designed}s (step {})",
                entry.entry, step.id
            )),
            None => over.push(format!(
                "entry {}: x509_svid_ttl is unset (the server's default applies)",
                entry.entry
            )),
        }
    }
    if over.is_empty() {
        f.summary = format!("SPIRE issues {pattern} X.509-SVIDs within the designed TTL");
    } else {
        f.status = Status::Fail;
        f.summary = format!("SPIRE issues {pattern} X.509-SVIDs longer-lived than designed");
        f.evidence.extend(over);
        f.hint = Some(format!(
            "Set the entries' X.509-SVID TTL to at most {} (`spire-server entry update -x509SVIDTTL {designed}`), or correct the flow.",
            issue.ttl
        ));
    }
    Some(f)
}

/// One resource the agent reaches today or under the flow, with the actions in each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachComparison {
    pub resource: String,
    pub today: ActionSet,
    pub under_flow: ActionSet,
}

/// The agent's reach under the flow (only its declared just-in-time grants, during the task)
/// next to its reach today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowWhatIf {
    pub flow: String,
    pub agent: String,
    pub at: Timestamp,
    /// The identity the agent runs as during the task (`{run}` filled with a sample).
    pub identity: String,
    /// Every resource reached either way, sorted by id.
    pub resources: Vec<ReachComparison>,
    /// Declared grants whose resource is not in the inventory (not part of either reach).
    pub unknown_resources: Vec<String>,
}

impl FlowWhatIf {
    /// Resources reached today and not at all under the flow.
    pub fn lost(&self) -> impl Iterator<Item = &ReachComparison> {
        self.resources.iter().filter(|r| r.under_flow.is_empty())
    }

    /// Resources reached both ways with fewer actions under the flow.
    pub fn shrunk(&self) -> impl Iterator<Item = &ReachComparison> {
        self.resources.iter().filter(|r| {
            !r.under_flow.is_empty()
                && !r.today.is_empty()
                && r.under_flow != r.today
                && r.under_flow.is_subset(r.today)
        })
    }

    /// Resources reached under the flow that are not reached today, or with actions today lacks.
    pub fn gained(&self) -> impl Iterator<Item = &ReachComparison> {
        self.resources
            .iter()
            .filter(|r| !r.under_flow.difference(r.today).is_empty())
    }
}

/// Computes [`FlowWhatIf`]: the inventory with the agent's standing grants (its own and those of
/// the identities it runs as) removed, the agent running as the task's identity, and the flow's
/// grants given to that identity with their TTLs from `at`.
pub fn flow_what_if(flow: &Flow, estate: &Estate, at: Timestamp) -> Result<FlowWhatIf, String> {
    let agent = estate
        .agents
        .iter()
        .find(|a| a.id == flow.agent)
        .ok_or_else(|| format!("agent {} is not in the inventory", flow.agent))?;
    let identity = spiffe::render(
        &flow.identity.spiffe_id,
        &flow.agent,
        &flow.id,
        spiffe::SAMPLE_RUN,
    )?;
    let today_graph = PrivilegeGraph::build(estate, at);
    let today = today_graph.reach(&flow.agent).map_err(|e| e.to_string())?;

    let own: BTreeSet<&str> = std::iter::once(agent.id.as_str())
        .chain(agent.runs_as.iter().map(String::as_str))
        .collect();
    let resources: BTreeSet<&str> = estate.resources.iter().map(|r| r.id.as_str()).collect();
    let mut designed = estate.clone();
    designed
        .grants
        .retain(|g| !own.contains(g.subject.as_str()));
    if let Some(a) = designed.agents.iter_mut().find(|a| a.id == flow.agent) {
        a.runs_as = vec![identity.clone()];
    }
    if !designed.identities.iter().any(|i| i.id == identity) {
        designed.identities.push(Identity {
            id: identity.clone(),
            kind: IdentityKind::Spiffe,
            name: format!("{} workload for task {}", agent.name, flow.id),
            owner: agent.owner.clone(),
            provider: None,
        });
    }
    let mut unknown_resources = Vec::new();
    for grant in &flow.grants {
        if !resources.contains(grant.resource.as_str()) {
            unknown_resources.push(grant.resource.clone());
            continue;
        }
        let mut actions = ActionSet::EMPTY;
        for action in grant.actions.iter().filter_map(|a| Action::parse(a)) {
            actions.insert(action);
        }
        designed.grants.push(Grant {
            id: format!("flow:{}:{}", flow.id, grant.id),
            subject: identity.clone(),
            target: grant.resource.clone(),
            actions,
            standing: false,
            expires_at: grant
                .ttl
                .and_then(|t| chrono::Duration::from_std(t.0).ok())
                .map(|t| at + t),
            conditions: grant.condition.clone(),
            source: Some(format!("flow {}", flow.id)),
        });
    }
    let under = PrivilegeGraph::build(&designed, at)
        .reach(&flow.agent)
        .map_err(|e| e.to_string())?;

    let mut by_resource: BTreeMap<String, (ActionSet, ActionSet)> = BTreeMap::new();
    for r in today
        .reachable
        .into_iter()
        .filter(|r| r.kind == EntityKind::Resource)
    {
        by_resource.entry(r.target).or_default().0 = r.actions;
    }
    for r in under
        .reachable
        .into_iter()
        .filter(|r| r.kind == EntityKind::Resource)
    {
        by_resource.entry(r.target).or_default().1 = r.actions;
    }
    unknown_resources.sort();
    unknown_resources.dedup();
    Ok(FlowWhatIf {
        flow: flow.id.clone(),
        agent: flow.agent.clone(),
        at,
        identity,
        resources: by_resource
            .into_iter()
            .map(|(resource, (today, under_flow))| ReachComparison {
                resource,
                today,
                under_flow,
            })
            .collect(),
        unknown_resources,
    })
}
