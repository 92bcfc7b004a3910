//! Building the state graph from an estate at an evaluation time.
//!
//! The builder is forgiving about references: an estate assembled from several sources may name
//! ids no source defines (yet), and an id of the wrong kind is possible in hand-made data. Such a
//! reference simply creates no edge; reporting it is the estate reader's job.

use std::collections::HashMap;
use std::sync::OnceLock;

use petgraph::graph::{DiGraph, NodeIndex};

use super::{
    Adjacency, Edge, GrantFacts, NONE, PrivilegeGraph, ResourceFacts, StateNode, Via,
    read_side_actions, write_side_actions,
};
use crate::model::{ActionSet, EntityKind, Estate};
use crate::time::Timestamp;

impl PrivilegeGraph {
    /// Builds the graph of `estate` as it stands at `at`: grants and credentials whose
    /// `expires_at` is at or before `at` count as expired.
    pub fn build(estate: &Estate, at: Timestamp) -> PrivilegeGraph {
        // Entities in ascending id order. A duplicate id (invalid, but possible in hand-made
        // data) keeps its first kind in document order: agents, identities, credentials,
        // resources, tools.
        let mut entities: Vec<(&str, EntityKind)> = Vec::with_capacity(
            estate.agents.len()
                + estate.identities.len()
                + estate.credentials.len()
                + estate.resources.len()
                + estate.tools.len(),
        );
        entities.extend(
            estate
                .agents
                .iter()
                .map(|a| (a.id.as_str(), EntityKind::Agent)),
        );
        entities.extend(
            estate
                .identities
                .iter()
                .map(|i| (i.id.as_str(), EntityKind::Identity)),
        );
        entities.extend(
            estate
                .credentials
                .iter()
                .map(|c| (c.id.as_str(), EntityKind::Credential)),
        );
        entities.extend(
            estate
                .resources
                .iter()
                .map(|r| (r.id.as_str(), EntityKind::Resource)),
        );
        entities.extend(
            estate
                .tools
                .iter()
                .map(|t| (t.id.as_str(), EntityKind::Tool)),
        );
        entities.sort_by(|a, b| a.0.cmp(b.0));
        entities.dedup_by(|later, first| later.0 == first.0);

        let index: HashMap<&str, u32> = entities
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (*id, i as u32))
            .collect();
        let kinds: Vec<EntityKind> = entities.iter().map(|(_, kind)| *kind).collect();
        let entity_count = entities.len() as u32;
        // Looks up an id that must be of `kind`; dangling or wrong-kind references give `None`.
        let lookup = |id: &str, kind: EntityKind| -> Option<u32> {
            index
                .get(id)
                .copied()
                .filter(|&e| kinds[e as usize] == kind)
        };

        let mut resource_ordinal = vec![NONE; entities.len()];
        let mut resources = Vec::with_capacity(estate.resources.len());
        for (e, kind) in kinds.iter().enumerate() {
            if *kind == EntityKind::Resource {
                resource_ordinal[e] = resources.len() as u32;
                resources.push(ResourceFacts {
                    entity: e as u32,
                    sensitivity: crate::model::Sensitivity::Public,
                    crown_jewel: false,
                });
            }
        }
        let mut seen_resource = vec![false; resources.len()];
        for resource in &estate.resources {
            if let Some(e) = lookup(&resource.id, EntityKind::Resource) {
                let ordinal = resource_ordinal[e as usize] as usize;
                if !std::mem::replace(&mut seen_resource[ordinal], true) {
                    resources[ordinal].sensitivity = resource.sensitivity;
                    resources[ordinal].crown_jewel = resource.crown_jewel;
                }
            }
        }
        let read_side = |e: u32| entity_count + 2 * resource_ordinal[e as usize];
        let write_side = |e: u32| entity_count + 2 * resource_ordinal[e as usize] + 1;

        let mut edges: Vec<(u32, u32, Edge)> = Vec::with_capacity(
            estate.grants.len() + estate.credentials.len() + 2 * estate.resources.len(),
        );
        let plain = |via| Edge {
            via,
            actions: ActionSet::EMPTY,
        };
        // An edge into a resource: to the read side and/or the write side, carrying the
        // meaningful actions so that the resource's action set is their union.
        let into_resource =
            |edges: &mut Vec<(u32, u32, Edge)>, from: u32, resource: u32, via, actions| {
                let actions =
                    ActionSet::intersection(actions, EntityKind::Resource.meaningful_actions());
                let edge = Edge { via, actions };
                if !actions.intersection(read_side_actions()).is_empty() {
                    edges.push((from, read_side(resource), edge));
                }
                if !actions.intersection(write_side_actions()).is_empty() {
                    edges.push((from, write_side(resource), edge));
                }
            };

        // Rule 1.
        for agent in &estate.agents {
            let Some(a) = lookup(&agent.id, EntityKind::Agent) else {
                continue;
            };
            for identity in &agent.runs_as {
                if let Some(i) = lookup(identity, EntityKind::Identity) {
                    edges.push((a, i, plain(Via::AgentRunsAs)));
                }
            }
        }

        // Rule 2.
        let mut grants = Vec::with_capacity(estate.grants.len());
        for grant in &estate.grants {
            let ordinal = grants.len() as u32;
            let subject = index
                .get(grant.subject.as_str())
                .copied()
                .filter(|&s| matches!(kinds[s as usize], EntityKind::Agent | EntityKind::Identity))
                .unwrap_or(NONE);
            let target = index.get(grant.target.as_str()).copied().unwrap_or(NONE);
            let target_kind = (target != NONE).then(|| kinds[target as usize]);
            let actions = target_kind.map_or(ActionSet::EMPTY, |kind| {
                grant.actions.intersection(kind.meaningful_actions())
            });
            let live = subject != NONE && !actions.is_empty() && !grant.is_expired_at(at);
            if live {
                match target_kind {
                    Some(EntityKind::Resource) => {
                        into_resource(&mut edges, subject, target, Via::Grant(ordinal), actions)
                    }
                    Some(_) => edges.push((
                        subject,
                        target,
                        Edge {
                            via: Via::Grant(ordinal),
                            actions,
                        },
                    )),
                    None => {}
                }
            }
            grants.push(GrantFacts {
                id: grant.id.as_str().into(),
                subject,
                target,
            });
        }

        // Rule 3.
        for tool in &estate.tools {
            let Some(t) = lookup(&tool.id, EntityKind::Tool) else {
                continue;
            };
            if let Some(i) = tool
                .runs_as
                .as_deref()
                .and_then(|id| lookup(id, EntityKind::Identity))
            {
                edges.push((t, i, plain(Via::ToolRunsAs)));
            }
            for entry in &tool.acts_on {
                if let Some(r) = lookup(&entry.resource, EntityKind::Resource) {
                    into_resource(&mut edges, t, r, Via::ToolActsOn, entry.actions);
                }
            }
        }

        // Rules 4 and 5, and the zero-hop side edges.
        let mut seen_resource = vec![false; resources.len()];
        for resource in &estate.resources {
            let Some(r) = lookup(&resource.id, EntityKind::Resource) else {
                continue;
            };
            let ordinal = resource_ordinal[r as usize] as usize;
            if std::mem::replace(&mut seen_resource[ordinal], true) {
                continue;
            }
            for credential in &resource.holds_credentials {
                if let Some(c) = lookup(credential, EntityKind::Credential) {
                    edges.push((read_side(r), c, plain(Via::HoldsCredential)));
                }
            }
            for identity in &resource.runs_as {
                if let Some(i) = lookup(identity, EntityKind::Identity) {
                    edges.push((write_side(r), i, plain(Via::ResourceRunsAs)));
                }
            }
        }
        for facts in &resources {
            edges.push((read_side(facts.entity), facts.entity, plain(Via::Side)));
            edges.push((write_side(facts.entity), facts.entity, plain(Via::Side)));
        }

        // Rule 6: only a live credential yields its identity.
        for credential in &estate.credentials {
            if credential.is_expired_at(at) {
                continue;
            }
            let (Some(c), Some(i)) = (
                lookup(&credential.id, EntityKind::Credential),
                lookup(&credential.identity, EntityKind::Identity),
            ) else {
                continue;
            };
            edges.push((c, i, plain(Via::CredentialIdentity)));
        }

        // Sorted by source, then by the target's entity (so by id), then by target state: every
        // traversal visits neighbours in id order, which makes witnesses deterministic.
        let entity_of = |node: u32| {
            if node < entity_count {
                node
            } else {
                resources[((node - entity_count) / 2) as usize].entity
            }
        };
        edges.sort_unstable_by_key(|&(from, to, edge)| (from, entity_of(to), to, edge.via));
        edges.dedup_by(|later, first| later == first);

        let node_count = entity_count as usize + 2 * resources.len();
        let mut graph: DiGraph<StateNode, Edge, u32> =
            DiGraph::with_capacity(node_count, edges.len());
        for e in 0..entity_count {
            graph.add_node(StateNode::Entity(e));
        }
        for facts in &resources {
            graph.add_node(StateNode::ReadSide(facts.entity));
            graph.add_node(StateNode::WriteSide(facts.entity));
        }
        for &(from, to, edge) in &edges {
            graph.add_edge(
                NodeIndex::new(from as usize),
                NodeIndex::new(to as usize),
                edge,
            );
        }

        let out = adjacency(node_count, &edges, |&(from, to, _)| (from, to));
        let inn = adjacency(node_count, &edges, |&(from, to, _)| (to, from));

        PrivilegeGraph {
            at,
            ids: entities
                .iter()
                .map(|(id, _)| Box::<str>::from(*id))
                .collect(),
            kinds,
            resource_ordinal,
            resources,
            grants,
            graph,
            out,
            inn,
            condensation: OnceLock::new(),
            expiries: {
                let mut expiries: Vec<Timestamp> = estate
                    .grants
                    .iter()
                    .filter_map(|g| g.expires_at)
                    .chain(estate.credentials.iter().filter_map(|c| c.expires_at))
                    .collect();
                expiries.sort_unstable();
                expiries.dedup();
                expiries
            },
        }
    }
}

/// Builds compressed adjacency keyed by `ends(edge).0` with neighbour `ends(edge).1`, from the
/// edges in edge-index order; within a node, neighbours keep that order (a stable counting sort).
fn adjacency(
    node_count: usize,
    edges: &[(u32, u32, Edge)],
    ends: impl Fn(&(u32, u32, Edge)) -> (u32, u32),
) -> Adjacency {
    let mut offsets = vec![0u32; node_count + 1];
    for edge in edges {
        offsets[ends(edge).0 as usize + 1] += 1;
    }
    for i in 0..node_count {
        offsets[i + 1] += offsets[i];
    }
    let total = offsets[node_count] as usize;
    let mut cursor = offsets.clone();
    let mut nodes = vec![0u32; total];
    let mut indices = vec![0u32; total];
    let mut side = vec![false; total];
    let mut actions = vec![ActionSet::EMPTY; total];
    for (index, edge) in edges.iter().enumerate() {
        let (key, neighbour) = ends(edge);
        let slot = cursor[key as usize] as usize;
        cursor[key as usize] += 1;
        nodes[slot] = neighbour;
        indices[slot] = index as u32;
        side[slot] = edge.2.via == Via::Side;
        actions[slot] = edge.2.actions;
    }
    Adjacency {
        offsets,
        nodes,
        edges: indices,
        side,
        actions,
    }
}
