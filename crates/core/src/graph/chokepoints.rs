//! Chokepoints: the grants, credential holdings and credentials whose removal, each on its own,
//! cuts the most (agent, crown jewel) reachability pairs, with the exact count.
//!
//! # Why the count is exact
//! Each removable item becomes a node of its own: the graph is subdivided so that a grant's
//! edges (one per resource side it opens) leave a *midpoint* node `u → m → target`, and likewise
//! a `holds_credentials` entry and a credential's edge to its identity. Removing the item is then
//! removing `m`, and a pair (agent A, jewel J) is cut by it exactly when every path from A to J
//! passes through `m` — when `m` dominates J in the flow graph rooted at A. So the count for `m`
//! is the number of crown jewels in `m`'s subtree of A's dominator tree, summed over agents.
//!
//! Equivalently, on the reversed graph rooted at a jewel J, `m` cuts (A, J) iff `m` dominates A.
//! Whichever side has fewer roots (agents or crown jewels) is used. Before that, the graph is
//! pruned to the states that lie on some agent → crown jewel path (others cannot change any
//! pair), which leaves out most resources. Dominator trees come from [`super::dominators`]
//! (Lengauer–Tarjan), one per root, on all cores. Tests check every count against recomputing
//! reachability with the item removed.

use std::cmp::Reverse;
use std::collections::HashMap;

use super::blast::parallel_map;
use super::dominators::{Csr, Dominators};
use super::{EdgeMask, NONE, PrivilegeGraph, Via};
use crate::model::EntityKind;
use crate::time::Timestamp;

/// The items that cut the most pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chokepoints {
    pub at: Timestamp,
    /// How many (agent, crown jewel) pairs are reachable in the first place.
    pub total_pairs: u64,
    /// At most `top_k` items with a non-zero cut, most pairs cut first, then by item.
    pub items: Vec<Chokepoint>,
}

/// One removable item and how many pairs its removal alone cuts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chokepoint {
    pub item: RemovableItem,
    pub cut_pairs: u64,
}

/// Something an operator can take away: a grant, one `holds_credentials` entry, or a
/// credential (expired or revoked, so that it yields no identity).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RemovableItem {
    Grant {
        id: String,
        subject: String,
        target: String,
    },
    Holding {
        resource: String,
        credential: String,
    },
    Credential {
        id: String,
        identity: String,
    },
}

impl RemovableItem {
    /// The sort key among items with the same count.
    fn key(&self) -> (&str, &str, u8) {
        match self {
            RemovableItem::Grant { id, .. } => (id, "", 0),
            RemovableItem::Holding {
                resource,
                credential,
            } => (resource, credential, 1),
            RemovableItem::Credential { id, .. } => (id, "", 2),
        }
    }
}

/// A greedy set of items, each chosen for the most pairs it cuts once the previous ones are gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChokepointSet {
    pub at: Timestamp,
    pub total_pairs: u64,
    /// In the order chosen; `cut_pairs` is each item's marginal cut.
    pub items: Vec<Chokepoint>,
    /// Pairs cut with all the items removed together, recomputed from scratch (not summed).
    pub combined_cut: u64,
}

/// An item in graph terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ItemKey {
    Grant(u32),
    /// (resource entity, credential entity)
    Holding(u32, u32),
    Credential(u32),
}

impl PrivilegeGraph {
    /// The `top_k` items whose removal alone cuts the most (agent, crown jewel) pairs.
    pub fn chokepoints(&self, top_k: usize) -> Chokepoints {
        let mask = EdgeMask::none(self.graph.edge_count());
        let (total_pairs, counts) = self.cut_counts(&mask);
        let mut items: Vec<Chokepoint> = counts
            .into_iter()
            .filter(|&(_, cut)| cut > 0)
            .map(|(key, cut)| Chokepoint {
                item: self.removable_item(key),
                cut_pairs: cut,
            })
            .collect();
        items.sort_by(|a, b| {
            (Reverse(a.cut_pairs), a.item.key()).cmp(&(Reverse(b.cut_pairs), b.item.key()))
        });
        items.truncate(top_k);
        Chokepoints {
            at: self.at,
            total_pairs,
            items,
        }
    }

    /// Greedily picks up to `k` items, each the one that cuts the most pairs given the ones
    /// already picked, and verifies the combined cut by recomputing reachability with all of
    /// them removed. Costs `k` chokepoint computations.
    pub fn chokepoint_set(&self, k: usize) -> ChokepointSet {
        let mut mask = EdgeMask::none(self.graph.edge_count());
        let mut chosen = Vec::new();
        let mut total_pairs = None;
        for _ in 0..k {
            let (total, counts) = self.cut_counts(&mask);
            total_pairs.get_or_insert(total);
            let best = counts
                .into_iter()
                .filter(|&(_, cut)| cut > 0)
                .map(|(key, cut)| (key, self.removable_item(key), cut))
                .min_by(|a, b| (Reverse(a.2), a.1.key()).cmp(&(Reverse(b.2), b.1.key())));
            let Some((key, item, cut)) = best else {
                break;
            };
            self.remove_item(&mut mask, key);
            chosen.push(Chokepoint {
                item,
                cut_pairs: cut,
            });
        }
        let before = self.agent_jewel_pairs(None);
        let after = self.agent_jewel_pairs(Some(&mask));
        ChokepointSet {
            at: self.at,
            total_pairs: total_pairs.unwrap_or(before),
            items: chosen,
            combined_cut: before - after,
        }
    }

    /// (agent, crown jewel) pairs reachable without the edges in `removed`, by propagation.
    pub(crate) fn agent_jewel_pairs(&self, removed: Option<&EdgeMask>) -> u64 {
        let agents: Vec<u32> = (0..self.entity_count_u32())
            .filter(|&e| self.kinds[e as usize] == EntityKind::Agent)
            .collect();
        let owned;
        let condensation = match removed {
            None => self.condensation(),
            Some(mask) => {
                owned = self.condense(Some(mask));
                &owned
            }
        };
        self.summarise(condensation, removed, &agents)
            .iter()
            .map(|s| s.crown_jewels.len() as u64)
            .sum()
    }

    /// Marks every edge of `item` as removed.
    pub(crate) fn remove_item(&self, mask: &mut EdgeMask, item: ItemKey) {
        for (edge, weight) in self.graph.raw_edges().iter().enumerate() {
            let from = weight.source().index() as u32;
            let to = weight.target().index() as u32;
            let hit = match (item, weight.weight.via) {
                (ItemKey::Grant(g), Via::Grant(h)) => g == h,
                (ItemKey::Holding(r, c), Via::HoldsCredential) => {
                    self.entity_of(from) == r && to == c
                }
                (ItemKey::Credential(c), Via::CredentialIdentity) => from == c,
                _ => false,
            };
            if hit {
                mask.removed[edge] = true;
            }
        }
    }

    fn removable_item(&self, key: ItemKey) -> RemovableItem {
        match key {
            ItemKey::Grant(g) => {
                let grant = &self.grants[g as usize];
                RemovableItem::Grant {
                    id: grant.id.to_string(),
                    subject: self.id(grant.subject),
                    target: self.id(grant.target),
                }
            }
            ItemKey::Holding(resource, credential) => RemovableItem::Holding {
                resource: self.id(resource),
                credential: self.id(credential),
            },
            ItemKey::Credential(credential) => RemovableItem::Credential {
                id: self.id(credential),
                identity: self
                    .out_edges(credential)
                    .find(|&(_, edge)| self.edge(edge).via == Via::CredentialIdentity)
                    .map(|(identity, _)| self.id(identity))
                    .unwrap_or_default(),
            },
        }
    }

    /// For the graph without `removed`: the number of reachable (agent, crown jewel) pairs and,
    /// per removable item on some agent → jewel path, how many of them its removal cuts.
    pub(crate) fn cut_counts(&self, removed: &EdgeMask) -> (u64, Vec<(ItemKey, u64)>) {
        let agents: Vec<u32> = (0..self.entity_count_u32())
            .filter(|&e| self.kinds[e as usize] == EntityKind::Agent)
            .collect();
        let jewels: Vec<u32> = self
            .resources
            .iter()
            .filter(|r| r.crown_jewel)
            .map(|r| r.entity)
            .collect();
        let from_agents = self.closure(&agents, removed, true);
        let to_jewels = self.closure(&jewels, removed, false);
        let node_count = self.graph.node_count();

        // Renumber the relevant states, then append one midpoint per item.
        let mut cut_id = vec![NONE; node_count];
        let mut states = 0u32;
        for node in 0..node_count {
            if from_agents[node] && to_jewels[node] {
                cut_id[node] = states;
                states += 1;
            }
        }
        let mut items: Vec<ItemKey> = Vec::new();
        let mut item_of: HashMap<ItemKey, u32> = HashMap::new();
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for node in 0..node_count as u32 {
            let from = cut_id[node as usize];
            if from == NONE {
                continue;
            }
            for (target, edge) in self.out_edges(node) {
                let to = cut_id[target as usize];
                if to == NONE || removed.is_removed(edge) {
                    continue;
                }
                let key = match self.edge(edge).via {
                    Via::Grant(g) => ItemKey::Grant(g),
                    Via::HoldsCredential => ItemKey::Holding(self.entity_of(node), target),
                    Via::CredentialIdentity => ItemKey::Credential(node),
                    _ => {
                        pairs.push((from, to));
                        continue;
                    }
                };
                let mid = match item_of.get(&key) {
                    Some(&mid) => mid,
                    None => {
                        let mid = items.len() as u32;
                        items.push(key);
                        item_of.insert(key, mid);
                        // The edge into the midpoint exists once per item.
                        pairs.push((from, states + mid));
                        mid
                    }
                };
                pairs.push((states + mid, to));
            }
        }
        let total = states as usize + items.len();
        let forward = Csr::from_pairs(total, &pairs);
        let backward = forward.reversed();

        let agent_roots: Vec<u32> = agents
            .iter()
            .map(|&a| cut_id[a as usize])
            .filter(|&c| c != NONE)
            .collect();
        let jewel_roots: Vec<u32> = jewels
            .iter()
            .map(|&j| cut_id[j as usize])
            .filter(|&c| c != NONE)
            .collect();
        // Roots on one side, counted nodes on the other; fewer roots is less work.
        let (roots, counted, successors, predecessors) = if agent_roots.len() <= jewel_roots.len() {
            (&agent_roots, &jewel_roots, &forward, &backward)
        } else {
            (&jewel_roots, &agent_roots, &backward, &forward)
        };
        let mut is_counted = vec![false; total];
        for &c in counted {
            is_counted[c as usize] = true;
        }
        let states = states as usize;
        let partials = parallel_map(roots, 1, |chunk| {
            let mut dominators = Dominators::new(total);
            let mut counts = vec![0u64; items.len()];
            let mut pairs = 0u64;
            let mut subtree: Vec<u64> = Vec::new();
            for &root in chunk {
                dominators.compute(successors, predecessors, root);
                let n = dominators.len();
                subtree.clear();
                subtree.extend(
                    dominators.vertex[..n]
                        .iter()
                        .map(|&v| u64::from(is_counted[v as usize])),
                );
                pairs += subtree.iter().sum::<u64>();
                for i in (1..n).rev() {
                    let up = dominators.idom[i] as usize;
                    subtree[up] += subtree[i];
                }
                for (&node, &below) in dominators.vertex[1..n].iter().zip(&subtree[1..n]) {
                    if node as usize >= states {
                        counts[node as usize - states] += below;
                    }
                }
            }
            vec![(pairs, counts)]
        });
        let mut total_pairs = 0;
        let mut counts = vec![0u64; items.len()];
        for (pairs, partial) in partials {
            total_pairs += pairs;
            for (sum, part) in counts.iter_mut().zip(partial) {
                *sum += part;
            }
        }
        (total_pairs, items.into_iter().zip(counts).collect())
    }

    /// States reachable from (`forward`) or reaching (`!forward`) any of `starts`, side edges
    /// included, without the edges in `removed`.
    fn closure(&self, starts: &[u32], removed: &EdgeMask, forward: bool) -> Vec<bool> {
        let adjacency = if forward { &self.out } else { &self.inn };
        let mut seen = vec![false; self.graph.node_count()];
        let mut queue: Vec<u32> = Vec::with_capacity(starts.len());
        for &s in starts {
            if !std::mem::replace(&mut seen[s as usize], true) {
                queue.push(s);
            }
        }
        while let Some(node) = queue.pop() {
            let range = adjacency.range(node);
            for (&next, &edge) in adjacency.nodes[range.clone()]
                .iter()
                .zip(&adjacency.edges[range])
            {
                if !removed.is_removed(edge) && !std::mem::replace(&mut seen[next as usize], true) {
                    queue.push(next);
                }
            }
        }
        seen
    }
}
