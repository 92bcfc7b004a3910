//! What the checks share: the lookups over the estate ([`Index`], built once per evaluation), the
//! finding builder and the wording of dates and grants in evidence.

use std::collections::{BTreeMap, HashMap};

use super::{CheckInfo, Finding, Passes, Severity, Status};
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
    /// Per entity of the graph, by its index: what the reach checks read of it when reached.
    pub(super) entity_facts: Vec<EntityFacts<'a>>,
    /// Every resource environment, numbered (what [`EntityFacts::Resource`] holds).
    environments: HashMap<&'a str, u32>,
}

/// What the reach checks read of a reached entity, looked up by its index in the graph: an agent
/// reaches up to a hundred thousand entities, each looked up once per agent.
#[derive(Debug, Clone, Copy)]
pub(super) enum EntityFacts<'a> {
    /// An identity of a person.
    Human,
    /// A resource of the estate, with its environment by number ([`Index::environment_number`]).
    Resource {
        resource: &'a Resource,
        environment: Option<u32>,
    },
    /// Anything else.
    Other,
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
        let mut environments: HashMap<&str, u32> = HashMap::new();
        let mut entity_facts = vec![EntityFacts::Other; graph.entity_count()];
        for identity in &estate.identities {
            if let Some(entity) = graph.entity_index(&identity.id) {
                entity_facts[entity as usize] = if identity.kind == IdentityKind::Human {
                    EntityFacts::Human
                } else {
                    EntityFacts::Other
                };
            }
        }
        for resource in &estate.resources {
            let environment = resource.environment.as_deref().map(|env| {
                let next = environments.len() as u32;
                *environments.entry(env).or_insert(next)
            });
            if let Some(entity) = graph.entity_index(&resource.id) {
                entity_facts[entity as usize] = EntityFacts::Resource {
                    resource,
                    environment,
                };
            }
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
            entity_facts,
            environments,
        }
    }

    /// The number of an environment some resource is in; `None` when none is.
    pub(super) fn environment_number(&self, environment: &str) -> Option<u32> {
        self.environments.get(environment).copied()
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

/// One check's findings as they are written: every failure and unknown, and the passes either
/// listed or only counted ([`Passes`]). A counted pass is never built: on a large estate there
/// are millions of them, and their sentences are what a report without them does not need.
pub(super) struct Found<'c> {
    builder: Builder<'c>,
    passes: Passes,
    listed: Vec<Finding>,
    passed: u64,
}

impl<'c> Found<'c> {
    pub(super) fn new(check: &'c CheckInfo, passes: Passes) -> Found<'c> {
        Found {
            builder: Builder { check },
            passes,
            listed: Vec::new(),
            passed: 0,
        }
    }

    /// Records a failure or an unknown (a pass goes through [`Found::pass`]).
    pub(super) fn push(&mut self, finding: Finding) {
        debug_assert_ne!(
            finding.status,
            Status::Pass,
            "passes go through Found::pass"
        );
        self.listed.push(finding);
    }

    /// Records a pass, built by `make` only when passes are listed.
    pub(super) fn pass(&mut self, make: impl FnOnce(&Builder<'c>) -> Finding) {
        self.passed += 1;
        if self.passes == Passes::List {
            let finding = make(&self.builder);
            debug_assert_eq!(
                finding.status,
                Status::Pass,
                "Found::pass records passes only"
            );
            self.listed.push(finding);
        }
    }

    /// The builder of this check's findings.
    pub(super) fn builder(&self) -> &Builder<'c> {
        &self.builder
    }

    /// Appends the findings of `other` (the same check over later subjects).
    pub(super) fn append(&mut self, other: Found<'c>) {
        self.listed.extend(other.listed);
        self.passed += other.passed;
    }

    /// The listed findings, and how many passed (listed or not).
    pub(super) fn into_parts(self) -> (Vec<Finding>, u64) {
        (self.listed, self.passed)
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
