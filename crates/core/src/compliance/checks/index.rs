//! What the checks share: the lookups over the estate ([`Index`], built once per evaluation), the
//! finding builder and the wording of dates and grants in evidence.

use std::collections::{BTreeMap, HashMap};

use super::{CheckInfo, Finding, Severity, Status};
use crate::graph::PrivilegeGraph;
use crate::model::{
    Agent, Credential, Estate, Grant, Identity, IdentityKind, Resource, Sensitivity, Tool,
};
use crate::time::{Timestamp, format_utc};

/// Lookups shared by the checks.
pub(super) struct Index<'a> {
    pub(super) estate: &'a Estate,
    pub(super) at: Timestamp,
    pub(super) identities: HashMap<&'a str, &'a Identity>,
    pub(super) resources: HashMap<&'a str, &'a Resource>,
    pub(super) tools: HashMap<&'a str, &'a Tool>,
    /// Identity id → the agents that run as it (sorted).
    pub(super) agents_of_identity: BTreeMap<&'a str, Vec<&'a Agent>>,
    /// Subject id → its live grants.
    pub(super) grants_of_subject: HashMap<&'a str, Vec<&'a Grant>>,
    /// Credential id → the resources holding it (sorted).
    pub(super) holders: BTreeMap<&'a str, Vec<&'a Resource>>,
    pub(super) credentials: HashMap<&'a str, &'a Credential>,
    pub(super) graph: &'a PrivilegeGraph,
    /// Agent, identity or credential id → the nearest crown jewel or restricted resource it
    /// reaches, and in how many hops (one backward search for the whole estate).
    pub(super) strong: HashMap<String, (String, u32)>,
}

impl<'a> Index<'a> {
    pub(super) fn new(estate: &'a Estate, graph: &'a PrivilegeGraph, at: Timestamp) -> Index<'a> {
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
    pub(super) fn agent_grants(&self, agent: &Agent) -> Vec<&'a Grant> {
        let mut grants: Vec<&Grant> = std::iter::once(agent.id.as_str())
            .chain(agent.runs_as.iter().map(String::as_str))
            .flat_map(|s| self.grants_of_subject.get(s).into_iter().flatten().copied())
            .collect();
        grants.sort_by(|a, b| a.id.cmp(&b.id));
        grants.dedup_by(|a, b| a.id == b.id);
        grants
    }

    pub(super) fn is_human(&self, identity: &str) -> bool {
        self.identities
            .get(identity)
            .is_some_and(|i| i.kind == IdentityKind::Human)
    }
}

/// Builds findings for one check.
pub(super) struct Builder<'c> {
    pub(super) check: &'c CheckInfo,
}

impl Builder<'_> {
    pub(super) fn finding(
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
    pub(super) fn with_entities<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        more: I,
    ) -> Finding {
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

    pub(super) fn with_severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }
}

pub(super) fn day(time: &Timestamp) -> String {
    format_utc(time)
}

pub(super) fn days_between(from: Timestamp, to: Timestamp) -> i64 {
    (to - from).num_days()
}

pub(super) fn describe_grant(g: &Grant) -> String {
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
