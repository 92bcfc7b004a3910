//! `reach` (forward, from one agent, identity or credential) and `who_can_reach` (backward, to
//! any entity): breadth-first searches over the state graph.

use super::blast::parallel_map;
use super::{EdgeMask, GraphError, NONE, PrivilegeGraph};
use crate::model::{ActionSet, EntityKind};
use crate::time::Timestamp;

/// Everything one node reaches (ESTATE-FORMAT.md: the shape of `reach --json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub from: String,
    pub at: Timestamp,
    /// Sorted by `target`; never contains `from` itself.
    pub reachable: Vec<Reached>,
}

/// One reached entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    pub target: String,
    pub kind: EntityKind,
    /// The union of the actions of every way the resource is reached; empty for anything but a
    /// resource.
    pub actions: ActionSet,
    /// The fewest rule applications from `from` to `target`.
    pub hops: u32,
    /// A witness: one shortest chain of ids from `from` to `target` (`hops + 1` ids).
    pub path: Vec<String>,
}

/// Everything that reaches one entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhoCanReach {
    pub target: String,
    pub at: Timestamp,
    /// Agents, identities and credentials that reach `target`, sorted by id; never `target`.
    pub sources: Vec<Reaching>,
}

/// One entity that reaches the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaching {
    pub source: String,
    pub kind: EntityKind,
    /// The fewest rule applications from `source` to the target (what `reach(source)` says).
    pub hops: u32,
}

/// The outcome of a forward search: distances and BFS parents over state nodes, and the action
/// union per resource ordinal.
pub(crate) struct Forward {
    pub dist: Vec<u32>,
    pub parent: Vec<u32>,
    pub actions: Vec<ActionSet>,
    /// Every reached state node (the start first), in the order they were reached.
    pub order: Vec<u32>,
}

impl PrivilegeGraph {
    /// What `from` (an agent, identity or credential) reaches, with actions, hops and a witness
    /// path for each target.
    pub fn reach(&self, from: &str) -> Result<Reach, GraphError> {
        let start = self.require_source(from)?;
        let forward = self.forward(start, None);
        let mut reachable = Vec::new();
        let mut entities: Vec<u32> = forward
            .order
            .iter()
            .copied()
            .filter(|&node| !self.is_side(node) && node != start)
            .collect();
        entities.sort_unstable();
        // Materialising every witness as owned ids is most of the cost on a large reach: it is
        // spread over the cores (the order of results does not depend on it).
        reachable.extend(parallel_map(&entities, 4_096, |chunk| {
            chunk
                .iter()
                .map(|&entity| {
                    let ordinal = self.resource_ordinal[entity as usize];
                    Reached {
                        target: self.id(entity),
                        kind: self.kinds[entity as usize],
                        actions: if ordinal == NONE {
                            ActionSet::EMPTY
                        } else {
                            forward.actions[ordinal as usize]
                        },
                        hops: forward.dist[entity as usize],
                        path: self.witness(&forward, entity),
                    }
                })
                .collect()
        }));
        Ok(Reach {
            from: from.to_owned(),
            at: self.at,
            reachable,
        })
    }

    /// Every agent, identity and credential that reaches `target` (any entity), with hops.
    pub fn who_can_reach(&self, target: &str) -> Result<WhoCanReach, GraphError> {
        let entity = self.require(target)?;
        let dist = self.backward(entity, None);
        let sources = (0..self.entity_count_u32())
            .filter(|&e| e != entity && dist[e as usize] != NONE)
            .filter(|&e| {
                matches!(
                    self.kinds[e as usize],
                    EntityKind::Agent | EntityKind::Identity | EntityKind::Credential
                )
            })
            .map(|e| Reaching {
                source: self.id(e),
                kind: self.kinds[e as usize],
                hops: dist[e as usize],
            })
            .collect();
        Ok(WhoCanReach {
            target: target.to_owned(),
            at: self.at,
            sources,
        })
    }

    /// Breadth-first search from `start` over the edges not in `removed`. Side edges cost no
    /// hop; a resource node has no outgoing edge, so taking them when a side is dequeued keeps
    /// the queue ordered by distance.
    pub(crate) fn forward(&self, start: u32, removed: Option<&EdgeMask>) -> Forward {
        let nodes = self.graph.node_count();
        let mut dist = vec![NONE; nodes];
        let mut parent = vec![NONE; nodes];
        let mut actions = vec![ActionSet::EMPTY; self.resources.len()];
        let mut order = Vec::new();
        let entity_count = self.entity_count_u32();
        dist[start as usize] = 0;
        order.push(start);
        let mut head = 0;
        while head < order.len() {
            let node = order[head];
            head += 1;
            let next = dist[node as usize] + 1;
            for slot in self.out.range(node) {
                let target = self.out.nodes[slot];
                if removed.is_some_and(|mask| mask.is_removed(self.out.edges[slot])) {
                    continue;
                }
                if self.out.side[slot] {
                    if dist[target as usize] == NONE {
                        dist[target as usize] = dist[node as usize];
                        parent[target as usize] = node;
                        order.push(target);
                    }
                    continue;
                }
                if target >= entity_count {
                    let ordinal = ((target - entity_count) / 2) as usize;
                    actions[ordinal] = actions[ordinal].union(self.out.actions[slot]);
                }
                if dist[target as usize] == NONE {
                    dist[target as usize] = next;
                    parent[target as usize] = node;
                    order.push(target);
                }
            }
        }
        Forward {
            dist,
            parent,
            actions,
            order,
        }
    }

    /// Per state node, the fewest hops from it to `target` (an entity) over the edges not in
    /// `removed`; [`NONE`] when it does not reach it. A resource target is reached through
    /// either side, so both start at zero.
    pub(crate) fn backward(&self, target: u32, removed: Option<&EdgeMask>) -> Vec<u32> {
        let mut dist = vec![NONE; self.graph.node_count()];
        let mut queue = Vec::new();
        for node in self.states_of(target) {
            dist[node as usize] = 0;
            queue.push(node);
        }
        let mut head = 0;
        while head < queue.len() {
            let node = queue[head];
            head += 1;
            for slot in self.inn.range(node) {
                let source = self.inn.nodes[slot];
                if self.inn.side[slot]
                    || removed.is_some_and(|mask| mask.is_removed(self.inn.edges[slot]))
                {
                    continue;
                }
                if dist[source as usize] == NONE {
                    dist[source as usize] = dist[node as usize] + 1;
                    queue.push(source);
                }
            }
        }
        dist
    }

    /// The witness path to `entity`: BFS parents back to the start, as ids; a side and its
    /// resource are one id.
    fn witness(&self, forward: &Forward, entity: u32) -> Vec<String> {
        let mut chain = Vec::with_capacity(forward.dist[entity as usize] as usize + 2);
        let mut node = entity;
        loop {
            let e = self.entity_of(node);
            if chain.last() != Some(&e) {
                chain.push(e);
            }
            let up = forward.parent[node as usize];
            if up == NONE {
                break;
            }
            node = up;
        }
        chain.iter().rev().map(|&e| self.id(e)).collect()
    }
}
