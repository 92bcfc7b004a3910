//! Blast radius: per agent (and per credential), how many resources it reaches, which crown
//! jewels, and the worst sensitivity; plus the reachability engine that `what_if` and
//! chokepoints reuse.
//!
//! # Method
//! Nodes of one strongly connected component reach exactly the same things, so the graph is
//! condensed (petgraph's Kosaraju, iterative) into a DAG whose components are numbered in
//! topological order. A batch of up to [`BATCH`] sources gets one bit each; walking the DAG in
//! topological order, each component ORs its row of source bits into its successors' rows, so
//! afterwards a component's row is exactly the set of batch sources that reach it. These are
//! sets, not sums: a resource reached along many paths is still one bit.
//!
//! From the rows of the resource nodes, per source: the resource count (added up with a
//! bit-sliced counter, a few word operations per resource instead of one per (source, resource)
//! pair), the crown jewels (the set bits of each jewel's row) and the worst sensitivity (an OR of
//! the rows per sensitivity level). Memory is one row per component: with 1,024 sources that is
//! 128 bytes per component, and the work is one row OR per DAG edge per batch.

use std::cmp::Reverse;

use petgraph::algo::kosaraju_scc;
use petgraph::visit::EdgeFiltered;
use petgraph::visit::EdgeRef;

use super::{EdgeMask, NONE, PrivilegeGraph};
use crate::model::{EntityKind, Sensitivity};
use crate::time::Timestamp;

/// Sources per propagation batch (bits per row).
pub(crate) const BATCH: usize = 1024;

/// The blast radius of every agent (and, on request, every credential), riskiest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlastRadius {
    pub at: Timestamp,
    /// Every crown jewel of the estate, sorted by id: what [`BlastEntry::crown_jewels`] indexes.
    pub crown_jewels: Vec<String>,
    /// Sorted by: more crown jewels, then worse sensitivity, then more resources, then id.
    pub entries: Vec<BlastEntry>,
}

impl BlastRadius {
    /// The ids of the crown jewels `entry` reaches, sorted.
    pub fn jewel_ids<'a>(&'a self, entry: &'a BlastEntry) -> impl Iterator<Item = &'a str> + 'a {
        entry
            .crown_jewels
            .iter()
            .map(|index| self.crown_jewels[index].as_str())
    }
}

/// What one agent or credential reaches, summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlastEntry {
    pub source: String,
    /// `agent` or `credential`.
    pub kind: EntityKind,
    /// Distinct resources reached.
    pub resources: u32,
    /// The crown jewels reached, as indices into [`BlastRadius::crown_jewels`]: a bit set, because
    /// on a large estate every credential may reach hundreds of jewels and lists of ids would
    /// take gigabytes.
    pub crown_jewels: JewelSet,
    /// The highest sensitivity among the resources reached; `None` when it reaches none.
    pub worst_sensitivity: Option<Sensitivity>,
}

/// A set of crown jewels, by index into [`BlastRadius::crown_jewels`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JewelSet {
    bits: Box<[u64]>,
}

impl JewelSet {
    pub fn len(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|&w| w == 0)
    }

    pub fn contains(&self, index: usize) -> bool {
        self.bits
            .get(index / 64)
            .is_some_and(|w| w & (1 << (index % 64)) != 0)
    }

    /// The indices, ascending (so the ids come out sorted).
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.bits.iter().enumerate().flat_map(|(w, &word)| {
            let mut word = word;
            std::iter::from_fn(move || {
                (word != 0).then(|| {
                    let bit = word.trailing_zeros() as usize;
                    word &= word - 1;
                    w * 64 + bit
                })
            })
        })
    }
}

/// The farthest an agent's reach goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceHops {
    pub source: String,
    /// The largest `hops` among the entities it reaches (0 when it reaches nothing).
    pub max_hops: u32,
    /// How many entities it reaches.
    pub reached: u32,
}

/// Strongly connected components, numbered so that every edge between two components goes
/// from a smaller number to a larger one.
#[derive(Debug)]
pub(crate) struct Condensation {
    /// Per state node, its component.
    pub component: Vec<u32>,
    /// Members of component `c`: `members[offsets[c]..offsets[c + 1]]`.
    pub offsets: Vec<u32>,
    pub members: Vec<u32>,
}

impl Condensation {
    pub fn count(&self) -> usize {
        self.offsets.len() - 1
    }
}

/// For a batch of sources: per component, the set of sources that reach it.
pub(crate) struct SourceRows {
    pub words: usize,
    pub bits: Vec<u64>,
}

impl SourceRows {
    pub fn row(&self, component: u32) -> &[u64] {
        let start = component as usize * self.words;
        &self.bits[start..start + self.words]
    }
}

impl PrivilegeGraph {
    /// Every agent's blast radius, and every credential's too when `include_credentials`.
    pub fn blast_radius(&self, include_credentials: bool) -> BlastRadius {
        let mut sources: Vec<u32> = (0..self.entity_count_u32())
            .filter(|&e| match self.kinds[e as usize] {
                EntityKind::Agent => true,
                EntityKind::Credential => include_credentials,
                _ => false,
            })
            .collect();
        sources.sort_unstable();
        let condensation = self.condensation();
        let summaries = self.summarise(condensation, None, &sources);
        let mut entries: Vec<BlastEntry> = sources
            .iter()
            .zip(summaries)
            .map(|(&source, summary)| BlastEntry {
                source: self.id(source),
                kind: self.kinds[source as usize],
                resources: summary.resources,
                crown_jewels: summary.crown_jewels,
                worst_sensitivity: summary.worst,
            })
            .collect();
        entries.sort_by(|a, b| {
            (
                Reverse(a.crown_jewels.len()),
                Reverse(a.worst_sensitivity),
                Reverse(a.resources),
                &a.source,
            )
                .cmp(&(
                    Reverse(b.crown_jewels.len()),
                    Reverse(b.worst_sensitivity),
                    Reverse(b.resources),
                    &b.source,
                ))
        });
        BlastRadius {
            at: self.at,
            crown_jewels: self
                .resources
                .iter()
                .filter(|r| r.crown_jewel)
                .map(|r| self.id(r.entity))
                .collect(),
            entries,
        }
    }

    /// Each agent's farthest hop count: one breadth-first search per agent (so much slower than
    /// [`PrivilegeGraph::blast_radius`]), spread over the available cores. Sorted by id.
    pub fn blast_radius_hops(&self) -> Vec<SourceHops> {
        let agents: Vec<u32> = (0..self.entity_count_u32())
            .filter(|&e| self.kinds[e as usize] == EntityKind::Agent)
            .collect();
        let results = parallel_map(&agents, 1, |chunk| {
            let mut bfs = HopSearch::new(self.graph.node_count());
            chunk
                .iter()
                .map(|&agent| bfs.run(self, agent))
                .collect::<Vec<_>>()
        });
        agents
            .iter()
            .zip(results)
            .map(|(&agent, (max_hops, reached))| SourceHops {
                source: self.id(agent),
                max_hops,
                reached,
            })
            .collect()
    }

    /// The condensation of the full graph (computed once).
    pub(crate) fn condensation(&self) -> &Condensation {
        self.condensation.get_or_init(|| self.condense(None))
    }

    /// Condenses the graph without the edges in `removed`.
    pub(crate) fn condense(&self, removed: Option<&EdgeMask>) -> Condensation {
        let components = match removed {
            None => kosaraju_scc(&self.graph),
            Some(mask) => {
                let filtered = EdgeFiltered::from_fn(
                    &self.graph,
                    |edge: petgraph::graph::EdgeReference<'_, _, u32>| {
                        !mask.is_removed(edge.id().index() as u32)
                    },
                );
                kosaraju_scc(&filtered)
            }
        };
        // Kosaraju lists components in reverse topological order.
        let count = components.len();
        let mut component = vec![NONE; self.graph.node_count()];
        let mut offsets = Vec::with_capacity(count + 1);
        let mut members = Vec::with_capacity(self.graph.node_count());
        offsets.push(0);
        for (topological, nodes) in components.iter().rev().enumerate() {
            for node in nodes {
                component[node.index()] = topological as u32;
                members.push(node.index() as u32);
            }
            offsets.push(members.len() as u32);
        }
        Condensation {
            component,
            offsets,
            members,
        }
    }

    /// Propagates a batch of source components (at most [`BATCH`]; bit `i` is
    /// `sources[i]`) down the DAG, skipping the edges in `removed`.
    pub(crate) fn propagate(
        &self,
        condensation: &Condensation,
        removed: Option<&EdgeMask>,
        sources: &[u32],
    ) -> SourceRows {
        debug_assert!(sources.len() <= BATCH);
        let words = sources.len().div_ceil(64).max(1);
        let count = condensation.count();
        let mut bits = vec![0u64; count * words];
        let mut first = count;
        for (i, &component) in sources.iter().enumerate() {
            bits[component as usize * words + i / 64] |= 1 << (i % 64);
            first = first.min(component as usize);
        }
        for c in first..count {
            let (done, rest) = bits.split_at_mut((c + 1) * words);
            let row = &done[c * words..];
            if row.iter().all(|&w| w == 0) {
                continue;
            }
            let members = &condensation.members
                [condensation.offsets[c] as usize..condensation.offsets[c + 1] as usize];
            for &node in members {
                for (target, edge) in self.out_edges(node) {
                    if removed.is_some_and(|mask| mask.is_removed(edge)) {
                        continue;
                    }
                    let d = condensation.component[target as usize] as usize;
                    if d == c {
                        continue;
                    }
                    let start = (d - c - 1) * words;
                    for (into, &from) in rest[start..start + words].iter_mut().zip(row) {
                        *into |= from;
                    }
                }
            }
        }
        SourceRows { words, bits }
    }

    /// Reach summaries of `sources` (entities) over the graph without `removed`.
    pub(crate) fn summarise(
        &self,
        condensation: &Condensation,
        removed: Option<&EdgeMask>,
        sources: &[u32],
    ) -> Vec<Summary> {
        // Sources in one component reach the same resources: summarise each component once.
        let mut unique: Vec<u32> = sources
            .iter()
            .map(|&s| condensation.component[s as usize])
            .collect();
        unique.sort_unstable();
        unique.dedup();
        let mut by_component: Vec<Summary> = Vec::with_capacity(unique.len());
        let levels = Sensitivity::ALL.len();
        let counter_planes = (usize::BITS - self.resources.len().leading_zeros()) as usize + 1;
        // Per resource ordinal, its rank among the crown jewels (in id order).
        let mut jewel_rank = vec![NONE; self.resources.len()];
        let mut jewel_count = 0usize;
        for (ordinal, facts) in self.resources.iter().enumerate() {
            if facts.crown_jewel {
                jewel_rank[ordinal] = jewel_count as u32;
                jewel_count += 1;
            }
        }
        let jewel_words = jewel_count.div_ceil(64);
        for batch in unique.chunks(BATCH) {
            let rows = self.propagate(condensation, removed, batch);
            let words = rows.words;
            let mut planes = vec![0u64; counter_planes * words];
            let mut worst = vec![0u64; levels * words];
            let mut jewels = vec![0u64; batch.len() * jewel_words];
            for (ordinal, facts) in self.resources.iter().enumerate() {
                let row = rows.row(condensation.component[facts.entity as usize]);
                if row.iter().all(|&w| w == 0) {
                    continue;
                }
                // Bit-sliced add of `row` into the per-source counters.
                for (w, &word) in row.iter().enumerate() {
                    let mut carry = word;
                    let mut plane = 0;
                    while carry != 0 {
                        let slot = &mut planes[plane * words + w];
                        let next = *slot & carry;
                        *slot ^= carry;
                        carry = next;
                        plane += 1;
                    }
                }
                let level = facts.sensitivity as usize;
                for (w, &word) in row.iter().enumerate() {
                    worst[level * words + w] |= word;
                }
                let rank = jewel_rank[ordinal];
                if rank != NONE {
                    let (word, bit) = (rank as usize / 64, 1u64 << (rank % 64));
                    for_each_bit(row, |i| jewels[i * jewel_words + word] |= bit);
                }
            }
            for i in 0..batch.len() {
                let crown_jewels = JewelSet {
                    bits: jewels[i * jewel_words..(i + 1) * jewel_words].into(),
                };
                let (w, bit) = (i / 64, 1u64 << (i % 64));
                let resources = (0..counter_planes)
                    .filter(|&p| planes[p * words + w] & bit != 0)
                    .map(|p| 1u32 << p)
                    .sum();
                let worst = (0..levels)
                    .rev()
                    .find(|&level| worst[level * words + w] & bit != 0)
                    .map(|level| Sensitivity::ALL[level]);
                by_component.push(Summary {
                    resources,
                    crown_jewels,
                    worst,
                });
            }
        }
        sources
            .iter()
            .map(|&s| {
                let c = condensation.component[s as usize];
                let at = unique.binary_search(&c).unwrap_or_default();
                by_component[at].clone()
            })
            .collect()
    }
}

/// What one source reaches.
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    pub resources: u32,
    /// By rank among the crown jewels (in id order).
    pub crown_jewels: JewelSet,
    pub worst: Option<Sensitivity>,
}

/// Calls `f` with the index of every set bit, ascending.
pub(crate) fn for_each_bit(row: &[u64], mut f: impl FnMut(usize)) {
    for (w, &word) in row.iter().enumerate() {
        let mut word = word;
        while word != 0 {
            let bit = word.trailing_zeros() as usize;
            f(w * 64 + bit);
            word &= word - 1;
        }
    }
}

/// A reusable hop-only breadth-first search (no parents, no actions), for per-agent sweeps.
struct HopSearch {
    dist: Vec<u32>,
    queue: Vec<u32>,
}

impl HopSearch {
    fn new(nodes: usize) -> HopSearch {
        HopSearch {
            dist: vec![NONE; nodes],
            queue: Vec::new(),
        }
    }

    /// (largest hops among reached entities, number of reached entities), the start excluded.
    fn run(&mut self, graph: &PrivilegeGraph, start: u32) -> (u32, u32) {
        for &node in &self.queue {
            self.dist[node as usize] = NONE;
        }
        self.queue.clear();
        self.dist[start as usize] = 0;
        self.queue.push(start);
        let mut head = 0;
        let (mut max_hops, mut reached) = (0, 0);
        while head < self.queue.len() {
            let node = self.queue[head];
            head += 1;
            let hops = self.dist[node as usize];
            if node != start && !graph.is_side(node) {
                max_hops = max_hops.max(hops);
                reached += 1;
            }
            for slot in graph.out.range(node) {
                let target = graph.out.nodes[slot];
                if self.dist[target as usize] != NONE {
                    continue;
                }
                self.dist[target as usize] = if graph.out.side[slot] { hops } else { hops + 1 };
                self.queue.push(target);
            }
        }
        (max_hops, reached)
    }
}

/// Maps `work` over chunks of `items` on the available cores (each thread getting at least
/// `at_least` items), keeping the order of results. The thread count changes only the speed,
/// never the result.
pub(crate) fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    at_least: usize,
    work: impl Fn(&[T]) -> Vec<R> + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 16)
        .min(items.len() / at_least.max(1));
    if threads <= 1 {
        return work(items);
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| work(part)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}
