//! What the checks share: the lookups over the estate ([`Index`], built once per evaluation), the
//! finding builder and the wording of dates and grants in evidence.

use std::collections::{BTreeMap, HashMap};

use super::{CheckInfo, Finding, Passes, Severity, Status};
use crate::graph::PrivilegeGraph;
use crate::model::{
    Agent, Credential, Estate, Grant, Identity, IdentityKind, Resource, ResourceKind, Sensitivity,
    Tool,
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
    pub(super) graph: &'a PrivilegeGraph,
    /// Secret store (by entity index) → the credentials it exposes to whoever reads it: the
    /// live ones it holds whose identity reaches a crown jewel or restricted resource, in the
    /// order it holds them.
    pub(super) exposures: HashMap<u32, Vec<Exposure<'a>>>,
    /// Per entity of the graph, by its index: what the reach checks read of it when reached
    /// ([`ReachClass`]).
    pub(super) reach_classes: Vec<ReachClass>,
    /// Per entity of the graph, by its index: the resource of the estate it is, if it is one.
    pub(super) resource_at: Vec<Option<&'a Resource>>,
    /// Every resource environment, numbered (what [`ReachClass::environment`] gives).
    environments: HashMap<&'a str, u32>,
}

/// A live credential kept in a secret store whose identity reaches a crown jewel or restricted
/// resource: what reading the store exposes.
#[derive(Debug, Clone)]
pub(super) struct Exposure<'a> {
    pub(super) credential: &'a Credential,
    /// The nearest crown jewel or restricted resource the credential's identity reaches, and in
    /// how many hops.
    pub(super) strong_target: String,
    pub(super) strong_hops: u32,
}

/// What the reach checks read of a reached entity, packed in four bytes: an agent reaches up to
/// a hundred thousand entities, each looked up once per agent, so the table of them all (one per
/// entity of the graph) must stay small enough for the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct ReachClass(u32);

impl ReachClass {
    const HUMAN: u32 = 1;
    const RESOURCE: u32 = 2;
    const CROWN_JEWEL: u32 = 4;
    const SECRET_STORE: u32 = 8;
    /// Above the flags: the environment's number plus one, zero when it has none.
    const ENVIRONMENT_SHIFT: u32 = 4;

    fn human() -> ReachClass {
        ReachClass(Self::HUMAN)
    }

    fn resource(resource: &Resource, environment: Option<u32>) -> ReachClass {
        let mut bits = Self::RESOURCE;
        if resource.crown_jewel {
            bits |= Self::CROWN_JEWEL;
        }
        if resource.kind == ResourceKind::SecretStore {
            bits |= Self::SECRET_STORE;
        }
        ReachClass(bits | (environment.map_or(0, |n| n + 1) << Self::ENVIRONMENT_SHIFT))
    }

    /// Neither a person's identity nor a resource: nothing the reach checks read.
    pub(super) fn is_other(self) -> bool {
        self.0 == 0
    }

    /// An identity of a person.
    pub(super) fn is_human(self) -> bool {
        self.0 & Self::HUMAN != 0
    }

    pub(super) fn is_crown_jewel(self) -> bool {
        self.0 & Self::CROWN_JEWEL != 0
    }

    pub(super) fn is_secret_store(self) -> bool {
        self.0 & Self::SECRET_STORE != 0
    }

    /// A resource's environment by number ([`Index::environment_number`]), if it has one.
    pub(super) fn environment(self) -> Option<u32> {
        (self.0 >> Self::ENVIRONMENT_SHIFT).checked_sub(1)
    }
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
        let mut reach_classes = vec![ReachClass::default(); graph.entity_count()];
        let mut resource_at = vec![None; graph.entity_count()];
        for identity in &estate.identities {
            if let Some(entity) = graph.entity_index(&identity.id) {
                reach_classes[entity as usize] = if identity.kind == IdentityKind::Human {
                    ReachClass::human()
                } else {
                    ReachClass::default()
                };
            }
        }
        for resource in &estate.resources {
            let environment = resource.environment.as_deref().map(|env| {
                let next = environments.len() as u32;
                *environments.entry(env).or_insert(next)
            });
            if let Some(entity) = graph.entity_index(&resource.id) {
                reach_classes[entity as usize] = ReachClass::resource(resource, environment);
                resource_at[entity as usize] = Some(resource);
            }
        }
        let credentials: HashMap<&str, &Credential> = estate
            .credentials
            .iter()
            .map(|c| (c.id.as_str(), c))
            .collect();
        let exposures = exposures(estate, graph, at, &credentials);
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
            graph,
            exposures,
            reach_classes,
            resource_at,
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

/// [`Index::exposures`]: one backward search from every crown jewel and restricted resource for
/// the whole estate, then each secret store's credentials once (not once per agent reading it).
fn exposures<'a>(
    estate: &'a Estate,
    graph: &PrivilegeGraph,
    at: Timestamp,
    credentials: &HashMap<&str, &'a Credential>,
) -> HashMap<u32, Vec<Exposure<'a>>> {
    let strong = graph.nearest_of(
        estate
            .resources
            .iter()
            .filter(|r| r.crown_jewel || r.sensitivity == Sensitivity::Restricted)
            .map(|r| r.id.as_str()),
    );
    let mut exposures = HashMap::new();
    for store in estate
        .resources
        .iter()
        .filter(|r| r.kind == ResourceKind::SecretStore)
    {
        let Some(entity) = graph.entity_index(&store.id) else {
            continue;
        };
        let exposed: Vec<Exposure<'a>> = store
            .holds_credentials
            .iter()
            .filter_map(|id| credentials.get(id.as_str()).copied())
            .filter(|credential| !credential.is_expired_at(at))
            .filter_map(|credential| {
                let (target, hops) = strong.get(&credential.identity)?;
                Some(Exposure {
                    credential,
                    strong_target: target.clone(),
                    strong_hops: *hops,
                })
            })
            .collect();
        if !exposed.is_empty() {
            exposures.insert(entity, exposed);
        }
    }
    exposures
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
