//! The privilege graph of one source, laid out: what the console's graph view draws and what the
//! PDF report draws as vector shapes. Positions are abstract layout units (x grows with hops from
//! the source, y within a layer); a renderer scales them as it likes.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// What to lay out: the reach of `from`, optionally narrowed and edited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphViewRequest {
    /// An agent, identity or credential.
    pub from: String,
    /// A target whose shortest path from `from` is highlighted.
    #[serde(default)]
    pub to: Option<String>,
    /// Only nodes at most this many hops from `from` (`None`: all).
    #[serde(default)]
    pub max_hops: Option<u32>,
    /// What-if: grants to treat as revoked (the database is not changed).
    #[serde(default)]
    pub revoke_grants: Vec<String>,
    /// What-if: credentials to treat as expired.
    #[serde(default)]
    pub expire_credentials: Vec<String>,
}

/// A laid-out neighbourhood. `nodes[0]` is the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphView {
    pub from: String,
    pub at: Timestamp,
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    /// The extent of the positions (the source is at x = 0).
    pub width: f64,
    pub height: f64,
    /// Edge crossings between adjacent layers in the drawn order (lower reads better).
    pub crossings: u64,
    /// Every node the source reaches, the source included, before any limit.
    pub reached: u64,
    /// Of those, the ones within the hops limit.
    pub within_hops: u64,
    /// The hops limit applied, if any.
    pub max_hops: Option<u32>,
    /// The most hops any reached node is away.
    pub deepest: u32,
    /// Set when the view does not show every reached node: the sentence to show.
    pub limited: Option<String>,
    pub path: Option<GraphPath>,
    pub what_if: Option<GraphWhatIf>,
}

/// One entity in the view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphNode {
    pub id: String,
    /// `agent`, `identity`, `credential`, `resource` or `tool`.
    pub kind: String,
    pub name: Option<String>,
    pub hops: u32,
    pub layer: u32,
    pub order: u32,
    pub x: f64,
    pub y: f64,
    /// For a resource, the actions it is reached with.
    pub actions: Vec<String>,
    pub sensitivity: Option<String>,
    pub crown_jewel: bool,
    /// On the highlighted path.
    pub on_path: bool,
    /// Under the what-if edit: what happens to this node's reach.
    pub change: Change,
    /// For a shrunk resource: the actions left.
    pub actions_after: Vec<String>,
}

/// What a what-if edit does to a node or an edge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    #[default]
    Kept,
    /// No longer reached (a node) or no longer usable (an edge).
    Lost,
    /// A resource still reached, with fewer actions.
    Shrunk,
}

/// One or more rule applications from one node to another (indices into `nodes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphEdge {
    pub from: usize,
    pub to: usize,
    pub reasons: Vec<EdgeReasonView>,
    pub on_path: bool,
    pub change: Change,
}

/// Why an edge exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeReasonView {
    /// `runs_as`, `grant`, `tool_runs_as`, `tool_acts_on`, `holds_credentials`,
    /// `resource_runs_as` or `credential_identity`.
    pub rule: String,
    /// A sentence such as `grant g:42 (read, write)`.
    pub label: String,
    /// For a grant or a tool's `acts_on`: the actions that mean something for the target.
    pub actions: Vec<String>,
    pub grant: Option<GrantFacts>,
    /// Removed by the what-if edit (a revoked grant, an expired credential's identity).
    pub removed: bool,
}

/// The grant behind an edge, as the estate states it (provenance is on its entity page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantFacts {
    pub id: String,
    pub subject: String,
    pub target: String,
    /// Every action the grant names, meaningful or not.
    pub actions: Vec<String>,
    pub standing: bool,
    pub expires_at: Option<Timestamp>,
    pub conditions: Option<String>,
    pub source: Option<String>,
}

/// The highlighted path to the requested target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphPath {
    pub to: String,
    /// The ids from the source to the target (a shortest chain); empty when not reached.
    pub nodes: Vec<String>,
    pub hops: Option<u32>,
    /// Every node of the chain is in the view.
    pub shown: bool,
}

/// Counts of a what-if edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphWhatIf {
    pub revoked_grants: Vec<String>,
    pub expired_credentials: Vec<String>,
    /// Nodes the source no longer reaches (in its whole reach, not only the view).
    pub nodes_lost: u64,
    /// Resources the source still reaches with fewer actions.
    pub resources_shrunk: u64,
    /// Over the whole estate: (agent, resource) pairs lost and shrunk.
    pub estate_pairs_lost: u64,
    pub estate_pairs_shrunk: u64,
}
