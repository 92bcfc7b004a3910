//! A layered layout of a reach neighbourhood, shared by the console's graph view and the PDF
//! (both draw the same positions, in abstract units).
//!
//! Layers are hops from the source (so the picture reads left to right from the agent to its
//! crown jewels); within a layer, nodes start in their witness parent's order and are then
//! reordered by a few barycenter sweeps, keeping the ordering with the fewest crossings between
//! adjacent layers. Edges that do not join adjacent layers (cycles back, shortcuts) are drawn but
//! do not steer the ordering.
//!
//! Readability caps the size: beyond [`MAX_LAYOUT_NODES`] the nodes kept are the source, the
//! crown jewels with their witness paths, then the nearest nodes, and [`Truncated`] says how many
//! were left out, so the view can say so.

use std::collections::HashMap;

use super::reach::Forward;
use super::{EdgeReason, GraphError, NONE, PrivilegeGraph, Via};
use crate::model::{ActionSet, EntityKind, Sensitivity};

/// The most nodes a layout places.
pub const MAX_LAYOUT_NODES: usize = 2_000;

/// Horizontal distance between layers, in layout units.
const LAYER_SPACING: f64 = 240.0;
/// Vertical distance between neighbours in a layer, in layout units.
const NODE_SPACING: f64 = 64.0;
/// Barycenter sweeps (each one down and one up).
const SWEEPS: usize = 4;

/// A source's reach as a graph: the nodes (the source first) and the valid edges among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subgraph {
    pub source: String,
    pub nodes: Vec<SubgraphNode>,
    pub edges: Vec<SubgraphEdge>,
    /// Reached nodes left out because of the node cap.
    pub omitted: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubgraphNode {
    pub id: String,
    pub kind: EntityKind,
    pub hops: u32,
    /// For a resource, the actions it is reached with.
    pub actions: ActionSet,
    pub sensitivity: Option<Sensitivity>,
    pub crown_jewel: bool,
    /// The index of the previous node on the witness path (`None` for the source).
    pub parent: Option<usize>,
}

/// One or more rule applications from one node to another (indices into `nodes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubgraphEdge {
    pub from: usize,
    pub to: usize,
    pub reasons: Vec<EdgeReason>,
}

/// Positions for a subgraph.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub nodes: Vec<PlacedNode>,
    pub edges: Vec<PlacedEdge>,
    pub width: f64,
    pub height: f64,
    /// Edge crossings between adjacent layers in the chosen ordering.
    pub crossings: u64,
    pub truncated: Option<Truncated>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlacedNode {
    /// Index into the subgraph's nodes.
    pub node: usize,
    pub id: String,
    pub layer: u32,
    /// Position within the layer, top to bottom.
    pub order: u32,
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedEdge {
    /// Indices into [`Layout::nodes`].
    pub from: usize,
    pub to: usize,
    /// Index into the subgraph's edges (for the reasons behind it).
    pub edge: usize,
}

/// How much of the neighbourhood was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated {
    pub shown: usize,
    pub omitted: usize,
}

impl Truncated {
    /// The sentence the view shows.
    pub fn summary(&self) -> String {
        format!(
            "truncated: {} more nodes (showing the nearest {} and every crown jewel path that fits)",
            self.omitted, self.shown
        )
    }
}

impl PrivilegeGraph {
    /// The reach of `from` as a subgraph of at most `max_nodes` nodes (see the module docs for
    /// what is kept), with every valid edge among the kept nodes and the grants behind it.
    pub fn neighbourhood(&self, from: &str, max_nodes: usize) -> Result<Subgraph, GraphError> {
        let start = self.require_source(from)?;
        let forward = self.forward(start, None);
        let mut entities: Vec<u32> = forward
            .order
            .iter()
            .copied()
            .filter(|&n| !self.is_side(n) && n != start)
            .collect();
        entities.sort_unstable();
        entities.insert(0, start);
        let parent_entity = |e: u32| -> Option<u32> { witness_parent(self, &forward, e) };
        let position: HashMap<u32, usize> =
            entities.iter().enumerate().map(|(i, &e)| (e, i)).collect();
        let candidates: Vec<Candidate> = entities
            .iter()
            .map(|&e| Candidate {
                hops: forward.dist[e as usize],
                crown_jewel: self.crown_jewel(e),
                parent: parent_entity(e).map(|p| position[&p]),
            })
            .collect();
        let keep = select(&candidates, max_nodes);
        let omitted = keep.iter().filter(|k| !**k).count();
        let mut index = vec![NONE as usize; entities.len()];
        let mut kept = 0;
        for (i, slot) in index.iter_mut().enumerate() {
            if keep[i] {
                *slot = kept;
                kept += 1;
            }
        }
        let mut nodes = Vec::with_capacity(kept);
        for (i, &e) in entities.iter().enumerate() {
            if !keep[i] {
                continue;
            }
            let ordinal = self.resource_ordinal[e as usize];
            nodes.push(SubgraphNode {
                id: self.id(e),
                kind: self.kinds[e as usize],
                hops: forward.dist[e as usize],
                actions: if ordinal == NONE {
                    ActionSet::EMPTY
                } else {
                    forward.actions[ordinal as usize]
                },
                sensitivity: (ordinal != NONE)
                    .then(|| self.resources[ordinal as usize].sensitivity),
                crown_jewel: self.crown_jewel(e),
                parent: candidates[i].parent.map(|p| index[p]),
            });
        }
        // Edges leave reached states only, so each is valid from this source (a resource's
        // credentials only when its read side is reached, and so on).
        let mut reasons: HashMap<(usize, usize), Vec<EdgeReason>> = HashMap::new();
        for &state in &forward.order {
            let Some(&from) = position.get(&self.entity_of(state)) else {
                continue;
            };
            if index[from] == NONE as usize {
                continue;
            }
            for (target, edge) in self.out_edges(state) {
                let weight = self.edge(edge);
                if weight.via == Via::Side || forward.dist[target as usize] == NONE {
                    continue;
                }
                let to = position[&self.entity_of(target)];
                if index[to] == NONE as usize {
                    continue;
                }
                reasons
                    .entry((index[from], index[to]))
                    .or_default()
                    .push(self.reason(weight));
            }
        }
        let mut edges: Vec<SubgraphEdge> = reasons
            .into_iter()
            .map(|((from, to), mut reasons)| {
                reasons.sort();
                reasons.dedup();
                SubgraphEdge { from, to, reasons }
            })
            .collect();
        edges.sort_by_key(|e| (e.from, e.to));
        Ok(Subgraph {
            source: from.to_owned(),
            nodes,
            edges,
            omitted,
        })
    }

    fn crown_jewel(&self, entity: u32) -> bool {
        let ordinal = self.resource_ordinal[entity as usize];
        ordinal != NONE && self.resources[ordinal as usize].crown_jewel
    }
}

/// The entity before `entity` on its witness path.
fn witness_parent(graph: &PrivilegeGraph, forward: &Forward, entity: u32) -> Option<u32> {
    let mut node = entity;
    loop {
        let up = forward.parent[node as usize];
        if up == NONE {
            return None;
        }
        if graph.entity_of(up) != entity {
            return Some(graph.entity_of(up));
        }
        node = up;
    }
}

struct Candidate {
    hops: u32,
    crown_jewel: bool,
    parent: Option<usize>,
}

/// Chooses at most `cap` nodes: the first (the source), then each crown jewel with its witness
/// ancestors, nearest first, then the rest by (hops, index). Every kept node's parent is kept.
fn select(candidates: &[Candidate], cap: usize) -> Vec<bool> {
    let mut keep = vec![false; candidates.len()];
    if candidates.is_empty() || cap == 0 {
        return keep;
    }
    let mut kept = 0;
    let mut by_distance: Vec<usize> = (0..candidates.len()).collect();
    by_distance.sort_by_key(|&i| (candidates[i].hops, i));
    let jewels = by_distance
        .iter()
        .copied()
        .filter(|&i| candidates[i].crown_jewel);
    let order: Vec<usize> = std::iter::once(0)
        .chain(jewels)
        .chain(by_distance.iter().copied())
        .collect();
    for i in order {
        if keep[i] {
            continue;
        }
        let mut chain = vec![i];
        let mut up = candidates[i].parent;
        while let Some(p) = up {
            if keep[p] {
                break;
            }
            chain.push(p);
            up = candidates[p].parent;
        }
        if kept + chain.len() > cap {
            continue;
        }
        for c in chain {
            keep[c] = true;
            kept += 1;
        }
    }
    keep
}

/// Lays out `subgraph` with the default cap of [`MAX_LAYOUT_NODES`].
pub fn layout(subgraph: &Subgraph) -> Layout {
    layout_with_cap(subgraph, MAX_LAYOUT_NODES)
}

/// Lays out at most `cap` nodes of `subgraph` in layers by hops.
pub fn layout_with_cap(subgraph: &Subgraph, cap: usize) -> Layout {
    let candidates: Vec<Candidate> = subgraph
        .nodes
        .iter()
        .map(|n| Candidate {
            hops: n.hops,
            crown_jewel: n.crown_jewel,
            parent: n.parent,
        })
        .collect();
    let keep = select(&candidates, cap);
    let kept: Vec<usize> = (0..subgraph.nodes.len()).filter(|&i| keep[i]).collect();
    let omitted = subgraph.nodes.len() - kept.len() + subgraph.omitted;

    // Layers by hops, compacted so that a truncated gap leaves no empty column.
    let mut hop_values: Vec<u32> = kept.iter().map(|&i| subgraph.nodes[i].hops).collect();
    hop_values.sort_unstable();
    hop_values.dedup();
    let layer_of = |i: usize| {
        hop_values
            .binary_search(&subgraph.nodes[i].hops)
            .unwrap_or(0)
    };
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); hop_values.len()];
    for &i in &kept {
        layers[layer_of(i)].push(i);
    }

    // Undirected adjacency between adjacent layers only.
    let mut up: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut down: HashMap<usize, Vec<usize>> = HashMap::new();
    for edge in &subgraph.edges {
        if !(keep.get(edge.from) == Some(&true) && keep.get(edge.to) == Some(&true)) {
            continue;
        }
        let (a, b) = (layer_of(edge.from), layer_of(edge.to));
        let (upper, lower) = match (a + 1 == b, b + 1 == a) {
            (true, _) => (edge.from, edge.to),
            (_, true) => (edge.to, edge.from),
            _ => continue,
        };
        up.entry(lower).or_default().push(upper);
        down.entry(upper).or_default().push(lower);
    }

    // Initial order: by the witness parent's position, then by subgraph order (id order).
    let mut position = vec![0usize; subgraph.nodes.len()];
    for layer in &mut layers {
        layer.sort_by_key(|&i| {
            let parent = subgraph.nodes[i].parent.filter(|&p| keep[p]);
            (parent.map_or(0, |p| position[p]), i)
        });
        for (p, &i) in layer.iter().enumerate() {
            position[i] = p;
        }
    }

    let mut best = layers.clone();
    let mut best_crossings = crossings(&layers, &down, &position);
    for _ in 0..SWEEPS {
        for layer in layers.iter_mut().skip(1) {
            reorder(layer, &up, &mut position);
        }
        let below_last = layers.len().saturating_sub(1);
        for layer in layers[..below_last].iter_mut().rev() {
            reorder(layer, &down, &mut position);
        }
        let count = crossings(&layers, &down, &position);
        if count < best_crossings {
            best_crossings = count;
            best = layers.clone();
        }
    }

    let widest = best.iter().map(Vec::len).max().unwrap_or(0);
    let mut placed = Vec::with_capacity(kept.len());
    let mut placed_index = vec![usize::MAX; subgraph.nodes.len()];
    for (l, layer) in best.iter().enumerate() {
        let offset = (widest - layer.len()) as f64 / 2.0;
        for (order, &i) in layer.iter().enumerate() {
            placed_index[i] = placed.len();
            placed.push(PlacedNode {
                node: i,
                id: subgraph.nodes[i].id.clone(),
                layer: l as u32,
                order: order as u32,
                x: l as f64 * LAYER_SPACING,
                y: (offset + order as f64) * NODE_SPACING,
            });
        }
    }
    let edges = subgraph
        .edges
        .iter()
        .enumerate()
        .filter(|(_, e)| keep.get(e.from) == Some(&true) && keep.get(e.to) == Some(&true))
        .map(|(k, e)| PlacedEdge {
            from: placed_index[e.from],
            to: placed_index[e.to],
            edge: k,
        })
        .collect();
    Layout {
        nodes: placed,
        edges,
        width: best.len().saturating_sub(1) as f64 * LAYER_SPACING,
        height: widest.saturating_sub(1) as f64 * NODE_SPACING,
        crossings: best_crossings,
        truncated: (omitted > 0).then_some(Truncated {
            shown: kept.len(),
            omitted,
        }),
    }
}

/// Sorts a layer by the mean position of each node's neighbours in the adjacent layer; a node
/// without neighbours there keeps its position. Ties keep the previous order.
fn reorder(layer: &mut [usize], neighbours: &HashMap<usize, Vec<usize>>, position: &mut [usize]) {
    let mut keyed: Vec<(f64, usize, usize)> = layer
        .iter()
        .map(|&i| {
            let bary = match neighbours.get(&i) {
                Some(list) if !list.is_empty() => {
                    list.iter().map(|&n| position[n] as f64).sum::<f64>() / list.len() as f64
                }
                _ => position[i] as f64,
            };
            (bary, position[i], i)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (p, &(_, _, i)) in keyed.iter().enumerate() {
        layer[p] = i;
        position[i] = p;
    }
}

/// Crossings between each pair of adjacent layers: inversions among the edges sorted by their
/// upper end, counted with a Fenwick tree.
fn crossings(layers: &[Vec<usize>], down: &HashMap<usize, Vec<usize>>, position: &[usize]) -> u64 {
    let mut total = 0u64;
    for l in 0..layers.len().saturating_sub(1) {
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        for &upper in &layers[l] {
            for &lower in down.get(&upper).map(Vec::as_slice).unwrap_or(&[]) {
                pairs.push((position[upper], position[lower]));
            }
        }
        pairs.sort_unstable();
        let size = layers[l + 1].len() + 1;
        let mut tree = vec![0u64; size + 1];
        for (seen, &(_, lower)) in pairs.iter().enumerate() {
            // Count earlier edges whose lower end is strictly below this one's.
            let mut not_greater = 0;
            let mut i = lower + 1;
            while i > 0 {
                not_greater += tree[i];
                i &= i - 1;
            }
            total += seen as u64 - not_greater;
            let mut i = lower + 1;
            while i <= size {
                tree[i] += 1;
                i += i & i.wrapping_neg();
            }
        }
    }
    total
}
