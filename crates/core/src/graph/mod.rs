//! The privilege graph: what an agent, an identity or a stolen credential can reach, and by which
//! chain of rules (ESTATE-FORMAT.md, "Reachability rules").
//!
//! # Shape
//! The graph is a petgraph [`DiGraph`] over *states*, not just entities. Every agent, identity,
//! credential, tool and resource is one node, and every resource has two more: its *read side*
//! (reached with `read` or `admin`) and its *write side* (reached with `write` or `admin`). A grant
//! or a tool's `acts_on` entry that targets a resource points at the side(s) its actions open;
//! `holds_credentials` leaves from the read side (rule 4) and a resource's `runs_as` from the write
//! side (rule 5); both sides lead to the resource's own node by a *side edge* that costs no hop.
//! This is what makes hops exact: a resource reached with `write` at 2 hops and `read` only at 3
//! yields its credentials at 4 and its `runs_as` identity at 3, which a node-only BFS gets wrong.
//!
//! Node indices are dense: entities are numbered in ascending id order (so comparing indices
//! compares ids, and every "ties broken by id" is an integer comparison), then the sides. Edges
//! are stored sorted by source and then by the target's id, and every traversal follows that
//! order, so all results are deterministic whatever the order of the estate's lists.
//!
//! Every edge remembers why it exists ([`EdgeReason`]): the grant behind it, a `runs_as`, a tool's
//! `acts_on`, a `holds_credentials` entry or a credential's identity. Expired grants, expired
//! credentials' identities and actions that mean nothing for their target are not edges at all.
//!
//! # Time
//! The evaluation time is an argument of [`PrivilegeGraph::build`]; nothing here reads a clock.
//!
//! # Queries
//! [`PrivilegeGraph::reach`], [`PrivilegeGraph::paths`], [`PrivilegeGraph::who_can_reach`],
//! [`PrivilegeGraph::blast_radius`], [`PrivilegeGraph::chokepoints`] and
//! [`PrivilegeGraph::what_if`]; [`layout`] places a neighbourhood for the UI and the PDF.

mod blast;
pub(crate) use blast::parallel_map;
mod build;
mod chokepoints;
mod dominators;
mod layout;
mod paths;
mod reach;
mod what_if;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::{Arc, OnceLock};

use petgraph::graph::DiGraph;

use crate::model::{ActionSet, EntityKind, Sensitivity};
use crate::time::Timestamp;

pub use blast::{BlastEntry, BlastRadius, JewelSet, SourceHops};
pub use chokepoints::{Chokepoint, ChokepointSet, Chokepoints, RemovableItem};
pub use layout::{
    Layout, MAX_LAYOUT_NODES, PlacedEdge, PlacedNode, Subgraph, SubgraphEdge, SubgraphNode,
    Truncated, layout, layout_with_cap,
};
pub use paths::{Path, Paths};
pub use reach::{
    Reach, ReachScanner, ReachTree, Reached, Reaching, ScanReached, TreeReached, WhoCanReach,
};
pub use what_if::{PairLost, PairShrunk, WhatIf};

/// Marks "no node", "not reached" and "not a resource" in the dense index arrays.
const NONE: u32 = u32::MAX;

/// Why a query could not run: the caller named something the graph does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("unknown id `{0}`: no entity in this estate has it")]
    UnknownId(String),
    #[error("`{id}` is a {kind}, but this must name {expected}")]
    WrongKind {
        id: String,
        kind: EntityKind,
        expected: &'static str,
    },
}

/// A node of the state graph (the weight of each petgraph node).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateNode {
    /// An agent, identity, credential, tool or resource, by entity index. For a resource this
    /// node means "reached at all"; it has no outgoing edges.
    Entity(u32),
    /// A resource reached with `read` or `admin`, by the resource's entity index.
    ReadSide(u32),
    /// A resource reached with `write` or `admin`, by the resource's entity index.
    WriteSide(u32),
}

/// Why an edge exists, compactly (the weight of each petgraph edge, with [`Edge::actions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Via {
    /// Rule 1: an agent's `runs_as`.
    AgentRunsAs,
    /// Rule 2: a grant, by its index in [`PrivilegeGraph::grants`].
    Grant(u32),
    /// Rule 3: a tool's `runs_as`.
    ToolRunsAs,
    /// Rule 3: a tool's `acts_on` entry.
    ToolActsOn,
    /// Rule 4: a resource's `holds_credentials` entry (from its read side).
    HoldsCredential,
    /// Rule 5: a resource's `runs_as` entry (from its write side).
    ResourceRunsAs,
    /// Rule 6: a live credential's identity.
    CredentialIdentity,
    /// A resource side to the resource itself: zero hops, not a rule application.
    Side,
}

/// The weight of a petgraph edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub(crate) via: Via,
    /// For a grant or an `acts_on` entry: its actions that mean something for the target (into
    /// a resource side, the resource is reached with these). Empty for other edges.
    pub actions: ActionSet,
}

/// Why one entity reaches another in one hop, as the UI and reports name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeReason {
    /// Rule 1: the agent runs as the identity.
    AgentRunsAs,
    /// Rule 2: a grant; `actions` are the ones that mean something for its target.
    Grant { id: String, actions: ActionSet },
    /// Rule 3: the tool runs as the identity.
    ToolRunsAs,
    /// Rule 3: the tool acts on the resource with these actions.
    ToolActsOn { actions: ActionSet },
    /// Rule 4: the resource holds the credential.
    HoldsCredential,
    /// Rule 5: code in the resource runs as the identity.
    ResourceRunsAs,
    /// Rule 6: the credential authenticates as the identity.
    CredentialIdentity,
}

impl fmt::Display for EdgeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EdgeReason::AgentRunsAs => f.write_str("runs_as"),
            EdgeReason::Grant { id, actions } => write!(f, "grant {id} ({actions})"),
            EdgeReason::ToolRunsAs => f.write_str("tool runs_as"),
            EdgeReason::ToolActsOn { actions } => write!(f, "tool acts_on ({actions})"),
            EdgeReason::HoldsCredential => f.write_str("holds_credentials"),
            EdgeReason::ResourceRunsAs => f.write_str("resource runs_as"),
            EdgeReason::CredentialIdentity => f.write_str("credential identity"),
        }
    }
}

/// One entity-level edge with its reason (one per rule application; a grant on a resource with
/// both `read` and `write` is one edge here although it opens both sides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityEdge {
    pub from: String,
    pub to: String,
    pub reason: EdgeReason,
}

/// What the graph keeps of a resource beyond its id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResourceFacts {
    pub entity: u32,
    pub sensitivity: Sensitivity,
    pub crown_jewel: bool,
}

/// What the graph keeps of a grant: every grant of the estate is here, also the expired or
/// meaningless ones (which have no edge), so that `what_if` can name them.
#[derive(Debug, Clone)]
pub(crate) struct GrantFacts {
    pub id: Box<str>,
    pub subject: u32,
    pub target: u32,
}

/// Compressed adjacency (one direction): for node `n`, `nodes[offsets[n]..offsets[n + 1]]` are
/// its neighbours and `edges[..]` the matching petgraph edge indices, in the graph's sorted order.
/// The edge facts that traversals test on every step are copied alongside (`side`, `actions`), so
/// the hot loops read memory sequentially instead of looking up petgraph's edge list.
#[derive(Debug, Clone, Default)]
pub(crate) struct Adjacency {
    pub offsets: Vec<u32>,
    pub nodes: Vec<u32>,
    pub edges: Vec<u32>,
    /// Whether the edge is a zero-hop side edge.
    pub side: Vec<bool>,
    /// The edge's actions (see [`Edge::actions`]).
    pub actions: Vec<ActionSet>,
}

impl Adjacency {
    pub fn range(&self, node: u32) -> std::ops::Range<usize> {
        self.offsets[node as usize] as usize..self.offsets[node as usize + 1] as usize
    }
}

/// A set of removed edges (by petgraph edge index): what `what_if` and chokepoints take away.
#[derive(Debug, Clone)]
pub(crate) struct EdgeMask {
    pub removed: Vec<bool>,
}

impl EdgeMask {
    pub fn none(edge_count: usize) -> EdgeMask {
        EdgeMask {
            removed: vec![false; edge_count],
        }
    }

    pub fn is_removed(&self, edge: u32) -> bool {
        self.removed[edge as usize]
    }
}

/// The privilege graph of one estate at one evaluation time. Immutable once built; every query
/// takes `&self`, and the graph is `Send + Sync` so callers may share it.
#[derive(Debug)]
pub struct PrivilegeGraph {
    at: Timestamp,
    /// Entity ids in ascending order; an entity's index is its rank. Shared with the witness
    /// trees of [`Reach`] results, so a reach never copies it.
    ids: Arc<[Box<str>]>,
    kinds: Vec<EntityKind>,
    /// Per entity: its resource ordinal, or [`NONE`].
    resource_ordinal: Vec<u32>,
    /// Per resource ordinal (ascending id order).
    resources: Vec<ResourceFacts>,
    grants: Vec<GrantFacts>,
    graph: DiGraph<StateNode, Edge, u32>,
    out: Adjacency,
    inn: Adjacency,
    /// The strongly connected components of the full graph, computed on first use.
    condensation: OnceLock<blast::Condensation>,
    /// Every `expires_at` of a grant or credential, ascending: the only times at which the
    /// graph of the estate changes (see [`PrivilegeGraph::unchanged_at`]).
    expiries: Vec<Timestamp>,
}

impl PrivilegeGraph {
    /// The evaluation time the graph was built for.
    pub fn at(&self) -> Timestamp {
        self.at
    }

    /// Whether the estate's graph at `other` is this one: time enters the graph only through
    /// expiry (`expires_at <= at` is expired), so it is the same graph exactly when no grant or
    /// credential expires after the earlier of the two times and at or before the later. A
    /// caller may then answer a query for `other` with this graph (the results still name
    /// [`PrivilegeGraph::at`]).
    pub fn unchanged_at(&self, other: Timestamp) -> bool {
        let (earlier, later) = if other < self.at {
            (other, self.at)
        } else {
            (self.at, other)
        };
        let first_after = self.expiries.partition_point(|&e| e <= earlier);
        self.expiries.get(first_after).is_none_or(|&e| e > later)
    }

    /// The petgraph graph itself, for exports and visualisations that want the state nodes.
    pub fn petgraph(&self) -> &DiGraph<StateNode, Edge, u32> {
        &self.graph
    }

    /// Number of entities (agents, identities, credentials, resources and tools).
    pub fn entity_count(&self) -> usize {
        self.ids.len()
    }

    /// Number of state-graph nodes (entities plus two sides per resource).
    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    /// Number of state-graph edges (a grant with `read` and `write` on a resource counts twice,
    /// once per side, and every resource has two side edges).
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// The kind of the entity with this id (grants are not graph nodes: `None` for them).
    pub fn kind_of(&self, id: &str) -> Option<EntityKind> {
        self.index_of(id).map(|e| self.kinds[e as usize])
    }

    /// The index of the entity with this id: its rank among the ids, so indices ascend with ids
    /// (what [`StateNode::Entity`] and [`ScanReached::entity`] hold).
    pub fn entity_index(&self, id: &str) -> Option<u32> {
        self.index_of(id)
    }

    /// The id of the entity with this index (below [`PrivilegeGraph::entity_count`]).
    pub fn entity_id(&self, entity: u32) -> &str {
        &self.ids[entity as usize]
    }

    /// The id of an entity or of the entity a state node belongs to.
    pub fn id_of(&self, node: StateNode) -> &str {
        let entity = match node {
            StateNode::Entity(e) | StateNode::ReadSide(e) | StateNode::WriteSide(e) => e,
        };
        &self.ids[entity as usize]
    }

    /// Every entity-level edge with its reason, sorted by (from, to, reason): what an export of
    /// the graph (e.g. BloodHound OpenGraph) draws.
    pub fn edges(&self) -> Vec<EntityEdge> {
        let mut edges = Vec::with_capacity(self.graph.edge_count());
        for from in 0..self.graph.node_count() as u32 {
            for (to, edge) in self.out_edges(from) {
                let weight = self.graph.raw_edges()[edge as usize].weight;
                if weight.via == Via::Side {
                    continue;
                }
                // A grant opening both sides is one entity edge: keep its read-side copy only,
                // unless it opens the write side alone.
                if matches!(weight.via, Via::Grant(_) | Via::ToolActsOn)
                    && self.is_write_side(to)
                    && !weight.actions.intersection(read_side_actions()).is_empty()
                {
                    continue;
                }
                edges.push(EntityEdge {
                    from: self.ids[self.entity_of(from) as usize].to_string(),
                    to: self.ids[self.entity_of(to) as usize].to_string(),
                    reason: self.reason(weight),
                });
            }
        }
        edges.sort_by(|a, b| (&a.from, &a.to, &a.reason).cmp(&(&b.from, &b.to, &b.reason)));
        edges
    }

    /// Why `from` reaches `to` in one hop: every edge between the two entities, sorted (empty
    /// when there is none). What the UI shows when an edge is clicked.
    pub fn edge_reasons(&self, from: &str, to: &str) -> Result<Vec<EdgeReason>, GraphError> {
        let from = self.require(from)?;
        let to = self.require(to)?;
        let mut reasons = Vec::new();
        for node in self.states_of(from) {
            for (target, edge) in self.out_edges(node) {
                let weight = self.graph.raw_edges()[edge as usize].weight;
                if weight.via != Via::Side && self.entity_of(target) == to {
                    reasons.push(self.reason(weight));
                }
            }
        }
        reasons.sort();
        reasons.dedup();
        Ok(reasons)
    }

    // ---- internal helpers shared by the query modules ----

    fn index_of(&self, id: &str) -> Option<u32> {
        self.ids
            .binary_search_by(|probe| (**probe).cmp(id))
            .ok()
            .map(|i| i as u32)
    }

    fn require(&self, id: &str) -> Result<u32, GraphError> {
        self.index_of(id)
            .ok_or_else(|| GraphError::UnknownId(id.to_owned()))
    }

    /// Looks up a node a traversal may start from: an agent, identity or credential.
    fn require_source(&self, id: &str) -> Result<u32, GraphError> {
        let entity = self.require(id)?;
        match self.kinds[entity as usize] {
            EntityKind::Agent | EntityKind::Identity | EntityKind::Credential => Ok(entity),
            kind => Err(GraphError::WrongKind {
                id: id.to_owned(),
                kind,
                expected: "an agent, identity or credential",
            }),
        }
    }

    fn entity_count_u32(&self) -> u32 {
        self.ids.len() as u32
    }

    /// The entity a state node belongs to.
    fn entity_of(&self, node: u32) -> u32 {
        let n = self.entity_count_u32();
        if node < n {
            node
        } else {
            self.resources[((node - n) / 2) as usize].entity
        }
    }

    fn read_side(&self, resource_ordinal: u32) -> u32 {
        self.entity_count_u32() + 2 * resource_ordinal
    }

    fn write_side(&self, resource_ordinal: u32) -> u32 {
        self.entity_count_u32() + 2 * resource_ordinal + 1
    }

    fn is_side(&self, node: u32) -> bool {
        node >= self.entity_count_u32()
    }

    fn is_write_side(&self, node: u32) -> bool {
        self.is_side(node) && (node - self.entity_count_u32()) % 2 == 1
    }

    /// The state nodes an entity has: itself, plus both sides for a resource.
    fn states_of(&self, entity: u32) -> Vec<u32> {
        let ordinal = self.resource_ordinal[entity as usize];
        if ordinal == NONE {
            vec![entity]
        } else {
            vec![entity, self.read_side(ordinal), self.write_side(ordinal)]
        }
    }

    fn out_edges(&self, node: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        let range = self.out.range(node);
        self.out.nodes[range.clone()]
            .iter()
            .copied()
            .zip(self.out.edges[range].iter().copied())
    }

    fn edge(&self, edge: u32) -> Edge {
        self.graph.raw_edges()[edge as usize].weight
    }

    fn reason(&self, edge: Edge) -> EdgeReason {
        match edge.via {
            Via::AgentRunsAs => EdgeReason::AgentRunsAs,
            Via::Grant(g) => EdgeReason::Grant {
                id: self.grants[g as usize].id.to_string(),
                actions: edge.actions,
            },
            Via::ToolRunsAs => EdgeReason::ToolRunsAs,
            Via::ToolActsOn => EdgeReason::ToolActsOn {
                actions: edge.actions,
            },
            Via::HoldsCredential => EdgeReason::HoldsCredential,
            Via::ResourceRunsAs => EdgeReason::ResourceRunsAs,
            Via::CredentialIdentity => EdgeReason::CredentialIdentity,
            Via::Side => unreachable!("side edges are not rule applications"),
        }
    }

    fn id(&self, entity: u32) -> String {
        self.ids[entity as usize].to_string()
    }
}

/// The actions that open a resource's read side (rule 4).
fn read_side_actions() -> ActionSet {
    ActionSet::from_iter([crate::model::Action::Read, crate::model::Action::Admin])
}

/// The actions that open a resource's write side (rule 5).
fn write_side_actions() -> ActionSet {
    ActionSet::from_iter([crate::model::Action::Write, crate::model::Action::Admin])
}
