//! `paths`: the shortest chain from one node to another and more distinct simple chains, shortest
//! first.
//!
//! Method: a backward BFS gives every state's distance to the target; then, for each length from
//! the shortest up to `max_hops`, a depth-first search enumerates the chains of exactly that
//! length, pruning any branch whose length so far plus the remaining distance exceeds it. Because
//! neighbours are visited in id order, each length's chains come out in lexicographic id order,
//! so "ties broken by id" holds even when `max_paths` stops the enumeration early. A step budget
//! bounds the work on dense graphs; `truncated` says when it ran out.

use std::collections::HashSet;

use super::{EdgeReason, GraphError, NONE, PrivilegeGraph, Via};
use crate::time::Timestamp;

/// How many edge examinations one `paths` query may spend before it stops and says so.
const STEP_BUDGET: u64 = 5_000_000;

/// The chains from one node to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub from: String,
    pub to: String,
    pub at: Timestamp,
    /// The fewest hops from `from` to `to`, even when that is beyond `max_hops`; `None` when
    /// `to` is not reached at all.
    pub shortest: Option<u32>,
    /// Distinct simple chains (no id twice), shortest first, then in id order.
    pub paths: Vec<Path>,
    /// `true` when the step budget ran out before `max_paths` chains were found.
    pub truncated: bool,
}

/// One chain of rule applications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub hops: u32,
    /// The ids from `from` to `to` (`hops + 1` of them).
    pub nodes: Vec<String>,
    /// Per step, every edge that makes it valid (e.g. the grants behind it).
    pub via: Vec<Vec<EdgeReason>>,
}

impl PrivilegeGraph {
    /// Up to `max_paths` distinct simple chains from `from` (an agent, identity or credential)
    /// to `to` (any entity) of at most `max_hops` hops, shortest first; the first is a shortest
    /// one, with the same length as `reach` reports.
    pub fn paths(
        &self,
        from: &str,
        to: &str,
        max_paths: usize,
        max_hops: u32,
    ) -> Result<Paths, GraphError> {
        let start = self.require_source(from)?;
        let target = self.require(to)?;
        let mut result = Paths {
            from: from.to_owned(),
            to: to.to_owned(),
            at: self.at,
            shortest: None,
            paths: Vec::new(),
            truncated: false,
        };
        if start == target {
            return Ok(result);
        }
        let to_dist = self.backward(target, None);
        let shortest = to_dist[start as usize];
        if shortest == NONE {
            return Ok(result);
        }
        result.shortest = Some(shortest);
        let wanted = max_paths.max(1);
        let mut search = Search {
            graph: self,
            target,
            to_dist: &to_dist,
            on_path: vec![false; self.ids.len()],
            seen: HashSet::new(),
            found: Vec::new(),
            budget: STEP_BUDGET,
        };
        for length in shortest..=max_hops {
            if search.found.len() >= wanted {
                break;
            }
            if !search.run(start, length, wanted) {
                result.truncated = true;
                break;
            }
        }
        result.paths = search
            .found
            .into_iter()
            .map(|states| self.describe(&states, target))
            .collect();
        Ok(result)
    }

    /// Turns a chain of states into ids and, per step, the edges that make it valid. The last
    /// step into a resource may use either side; earlier steps use the side the chain goes on
    /// through.
    fn describe(&self, states: &[u32], target: u32) -> Path {
        let mut via = Vec::with_capacity(states.len() - 1);
        for pair in states.windows(2) {
            let (from, to) = (pair[0], pair[1]);
            let last = to == *states.last().unwrap_or(&to);
            let mut reasons: Vec<EdgeReason> = self
                .out_edges(from)
                .filter(|&(next, edge)| {
                    let via = self.edge(edge).via;
                    via != Via::Side
                        && if last {
                            self.entity_of(next) == target
                        } else {
                            next == to
                        }
                })
                .map(|(_, edge)| self.reason(self.edge(edge)))
                .collect();
            reasons.sort();
            reasons.dedup();
            via.push(reasons);
        }
        Path {
            hops: (states.len() - 1) as u32,
            nodes: states.iter().map(|&s| self.id(self.entity_of(s))).collect(),
            via,
        }
    }
}

struct Search<'a> {
    graph: &'a PrivilegeGraph,
    target: u32,
    to_dist: &'a [u32],
    /// Entities on the current chain (a simple chain visits each id once).
    on_path: Vec<bool>,
    /// Id sequences already found: both sides of a target resource give the same ids.
    seen: HashSet<Vec<u32>>,
    found: Vec<Vec<u32>>,
    budget: u64,
}

impl Search<'_> {
    /// Appends the chains of exactly `length` hops, in id order, until `wanted` are known.
    /// Returns `false` when the budget ran out.
    fn run(&mut self, start: u32, length: u32, wanted: usize) -> bool {
        let graph = self.graph;
        // (state, next position in its adjacency)
        let mut stack: Vec<(u32, usize)> = vec![(start, graph.out.range(start).start)];
        self.on_path[start as usize] = true;
        while let Some(&(node, resume)) = stack.last() {
            let range = graph.out.range(node);
            let depth = (stack.len() - 1) as u32;
            let mut cursor = resume;
            let mut descend = None;
            while cursor < range.end {
                let slot = cursor;
                cursor += 1;
                if self.budget == 0 {
                    self.unwind(&stack);
                    return false;
                }
                self.budget -= 1;
                let next = graph.out.nodes[slot];
                // Parallel edges (several grants) lead to the same state: one chain.
                if slot > range.start && graph.out.nodes[slot - 1] == next {
                    continue;
                }
                if graph.out.side[slot] {
                    continue;
                }
                let entity = graph.entity_of(next);
                let remaining = self.to_dist[next as usize];
                if self.on_path[entity as usize]
                    || remaining == NONE
                    || depth + 1 + remaining > length
                {
                    continue;
                }
                if entity == self.target {
                    if depth + 1 == length {
                        let mut states: Vec<u32> = stack.iter().map(|&(s, _)| s).collect();
                        states.push(next);
                        let ids: Vec<u32> = states.iter().map(|&s| graph.entity_of(s)).collect();
                        if self.seen.insert(ids) {
                            self.found.push(states);
                            if self.found.len() >= wanted {
                                self.unwind(&stack);
                                return true;
                            }
                        }
                    }
                    continue;
                }
                descend = Some(next);
                break;
            }
            if let Some(top) = stack.last_mut() {
                top.1 = cursor;
            }
            match descend {
                Some(next) => {
                    self.on_path[graph.entity_of(next) as usize] = true;
                    stack.push((next, graph.out.range(next).start));
                }
                None => {
                    stack.pop();
                    self.on_path[graph.entity_of(node) as usize] = false;
                }
            }
        }
        true
    }

    fn unwind(&mut self, stack: &[(u32, usize)]) {
        for &(state, _) in stack {
            self.on_path[self.graph.entity_of(state) as usize] = false;
        }
    }
}
