//! `reach` (forward, from one agent, identity or credential) and `who_can_reach` (backward, to
//! any entity): breadth-first searches over the state graph.

use std::collections::HashMap;
use std::sync::Arc;

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

/// The shortest-path tree of a reach over entities: a side and its resource are one step.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Witnesses {
    /// The graph's id table (shared, not copied).
    ids: Arc<[Box<str>]>,
    /// Per step: its entity, and the step before it ([`NONE`] for `from`).
    entity: Vec<u32>,
    up: Vec<u32>,
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

/// What [`PrivilegeGraph::reach`] returns, with the witness paths kept as one tree of parent
/// pointers and materialised only when asked for ([`ReachTree::path`]). A large reach has over a
/// million path entries; a caller that reads a few paths, or none, should not pay for them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachTree {
    pub from: String,
    pub at: Timestamp,
    /// Sorted by `target`; never contains `from` itself.
    pub reachable: Vec<TreeReached>,
    witnesses: Witnesses,
}

/// One reached entity of a [`ReachTree`]: a [`Reached`] whose path is read from the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeReached {
    pub target: String,
    pub kind: EntityKind,
    /// As [`Reached::actions`].
    pub actions: ActionSet,
    pub hops: u32,
    /// Where the witness ends in the tree.
    witness: u32,
}

impl ReachTree {
    /// The witness of `reached` (one of [`ReachTree::reachable`]): one shortest chain of ids from
    /// `from` to its target, `hops + 1` ids, the same as [`Reached::path`].
    pub fn path(&self, reached: &TreeReached) -> Vec<&str> {
        let tree = &self.witnesses;
        let mut chain = Vec::with_capacity(reached.hops as usize + 1);
        let mut step = reached.witness;
        while step != NONE {
            chain.push(&*tree.ids[tree.entity[step as usize] as usize]);
            step = tree.up[step as usize];
        }
        chain.reverse();
        chain
    }

    /// Every witness materialised as owned ids: the [`Reach`] of the same query.
    pub fn into_reach(self) -> Reach {
        // Over a million owned ids on a large reach: spread over the cores (the order of results
        // does not depend on it).
        let reachable = parallel_map(&self.reachable, 4_096, |chunk| {
            chunk
                .iter()
                .map(|r| Reached {
                    path: self.path(r).into_iter().map(str::to_owned).collect(),
                    target: r.target.clone(),
                    kind: r.kind,
                    actions: r.actions,
                    hops: r.hops,
                })
                .collect()
        });
        Reach {
            from: self.from,
            at: self.at,
            reachable,
        }
    }
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
    /// One bit per state node: reached. What the search tests on every edge, small enough to
    /// stay in cache where `dist` is not.
    reached: Vec<u64>,
}

impl PrivilegeGraph {
    /// What `from` (an agent, identity or credential) reaches, with actions, hops and a witness
    /// path for each target.
    pub fn reach(&self, from: &str) -> Result<Reach, GraphError> {
        Ok(self.reach_tree(from)?.into_reach())
    }

    /// [`PrivilegeGraph::reach`] without materialising the witness paths: the query itself.
    pub fn reach_tree(&self, from: &str) -> Result<ReachTree, GraphError> {
        let start = self.require_source(from)?;
        let forward = self.forward(start, None);
        let (witnesses, step_of) = self.witness_tree(&forward);
        let mut entities: Vec<u32> = forward
            .order
            .iter()
            .copied()
            .filter(|&node| !self.is_side(node) && node != start)
            .collect();
        entities.sort_unstable();
        // Owned target ids are what remains costly on a large reach: spread over the cores (the
        // order of results does not depend on it).
        let reachable = parallel_map(&entities, 16_384, |chunk| {
            chunk
                .iter()
                .map(|&entity| {
                    let ordinal = self.resource_ordinal[entity as usize];
                    TreeReached {
                        target: self.id(entity),
                        kind: self.kinds[entity as usize],
                        actions: if ordinal == NONE {
                            ActionSet::EMPTY
                        } else {
                            forward.actions[ordinal as usize]
                        },
                        hops: forward.dist[entity as usize],
                        witness: step_of[entity as usize],
                    }
                })
                .collect()
        });
        Ok(ReachTree {
            from: from.to_owned(),
            at: self.at,
            reachable,
            witnesses,
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

    /// For every agent, identity and credential that reaches at least one of `targets`: one of
    /// them it reaches in the fewest hops (the first in `targets` order among equals), and that
    /// number of hops. One backward search from all targets at once, instead of a forward search
    /// per source: what a check needs to know about thousands of identities. Unknown ids in
    /// `targets` are skipped.
    pub fn nearest_of<'t>(
        &self,
        targets: impl IntoIterator<Item = &'t str>,
    ) -> HashMap<String, (String, u32)> {
        let mut dist = vec![NONE; self.graph.node_count()];
        let mut label = vec![NONE; self.graph.node_count()];
        let mut queue = Vec::new();
        for target in targets {
            let Some(entity) = self.index_of(target) else {
                continue;
            };
            for node in self.states_of(entity) {
                if dist[node as usize] == NONE {
                    dist[node as usize] = 0;
                    label[node as usize] = entity;
                    queue.push(node);
                }
            }
        }
        // As `backward`, carrying along which target each node was reached from.
        let mut head = 0;
        while head < queue.len() {
            let node = queue[head];
            head += 1;
            for slot in self.inn.range(node) {
                let source = self.inn.nodes[slot];
                if self.inn.side[slot] || dist[source as usize] != NONE {
                    continue;
                }
                dist[source as usize] = dist[node as usize] + 1;
                label[source as usize] = label[node as usize];
                queue.push(source);
            }
        }
        (0..self.entity_count_u32())
            .filter(|&e| {
                dist[e as usize] != NONE
                    && dist[e as usize] > 0
                    && matches!(
                        self.kinds[e as usize],
                        EntityKind::Agent | EntityKind::Identity | EntityKind::Credential
                    )
            })
            .map(|e| (self.id(e), (self.id(label[e as usize]), dist[e as usize])))
            .collect()
    }

    /// Breadth-first search from `start` over the edges not in `removed`. Side edges cost no
    /// hop; a resource node has no outgoing edge, so taking them when a side is dequeued keeps
    /// the queue ordered by distance.
    pub(crate) fn forward(&self, start: u32, removed: Option<&EdgeMask>) -> Forward {
        let mut forward = Forward::unreached(self);
        self.forward_into(start, removed, &mut forward);
        forward
    }

    /// [`PrivilegeGraph::forward`] into `forward`, which must be unreached (new, or
    /// [`Forward::reset`]): a search writes only the nodes it reaches, so buffers the size of
    /// the graph can serve many searches.
    fn forward_into(&self, start: u32, removed: Option<&EdgeMask>, forward: &mut Forward) {
        let Forward {
            dist,
            parent,
            actions,
            order,
            reached,
        } = forward;
        debug_assert!(order.is_empty(), "forward_into needs an unreached Forward");
        // Marks `node` reached; false when it already was.
        let mut first_reach = |node: u32| {
            let (word, bit) = (node as usize / 64, 1u64 << (node % 64));
            let new = reached[word] & bit == 0;
            reached[word] |= bit;
            new
        };
        let entity_count = self.entity_count_u32();
        first_reach(start);
        dist[start as usize] = 0;
        order.push(start);
        let mut head = 0;
        while head < order.len() {
            let node = order[head];
            head += 1;
            let here = dist[node as usize];
            for slot in self.out.range(node) {
                let target = self.out.nodes[slot];
                if removed.is_some_and(|mask| mask.is_removed(self.out.edges[slot])) {
                    continue;
                }
                if self.out.side[slot] {
                    if first_reach(target) {
                        dist[target as usize] = here;
                        parent[target as usize] = node;
                        order.push(target);
                    }
                    continue;
                }
                if target >= entity_count {
                    let ordinal = ((target - entity_count) / 2) as usize;
                    actions[ordinal] = actions[ordinal].union(self.out.actions[slot]);
                }
                if first_reach(target) {
                    dist[target as usize] = here + 1;
                    parent[target as usize] = node;
                    order.push(target);
                }
            }
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

    /// The BFS tree of `forward` over entities, and per state node its step in that tree. A side
    /// and the resource it leads to (a zero-hop edge) are one step; any other edge is a hop. BFS
    /// order puts every parent before its children, so one pass builds the tree.
    fn witness_tree(&self, forward: &Forward) -> (Witnesses, Vec<u32>) {
        let mut step_of = vec![NONE; self.graph.node_count()];
        let mut entity = Vec::with_capacity(forward.order.len());
        let mut up = Vec::with_capacity(forward.order.len());
        for &node in &forward.order {
            let e = self.entity_of(node);
            let parent = forward.parent[node as usize];
            step_of[node as usize] = if parent != NONE && self.entity_of(parent) == e {
                step_of[parent as usize]
            } else {
                entity.push(e);
                up.push(if parent == NONE {
                    NONE
                } else {
                    step_of[parent as usize]
                });
                entity.len() as u32 - 1
            };
        }
        let witnesses = Witnesses {
            ids: Arc::clone(&self.ids),
            entity,
            up,
        };
        (witnesses, step_of)
    }

    /// A scanner for reaches from many sources in turn (see [`ReachScanner`]).
    pub fn reach_scanner(&self) -> ReachScanner<'_> {
        ReachScanner {
            graph: self,
            forward: Forward::unreached(self),
            start: None,
        }
    }
}

impl Forward {
    /// Buffers for a search of `graph` that has reached nothing yet.
    fn unreached(graph: &PrivilegeGraph) -> Forward {
        let nodes = graph.graph.node_count();
        Forward {
            dist: vec![NONE; nodes],
            parent: vec![NONE; nodes],
            actions: vec![ActionSet::EMPTY; graph.resources.len()],
            order: Vec::new(),
            reached: vec![0; nodes.div_ceil(64)],
        }
    }

    /// Makes the buffers unreached again, touching only what the last search reached (every
    /// written node is in `order`, and every written action belongs to a side in it).
    fn reset(&mut self, graph: &PrivilegeGraph) {
        let entity_count = graph.entity_count_u32();
        for &node in &self.order {
            self.dist[node as usize] = NONE;
            self.parent[node as usize] = NONE;
            self.reached[node as usize / 64] = 0;
            if node >= entity_count {
                self.actions[((node - entity_count) / 2) as usize] = ActionSet::EMPTY;
            }
        }
        self.order.clear();
    }
}

/// Reaches from many sources in turn, by entity index: what a caller needs that reads every
/// reached entity of thousands of sources (the compliance checks). Where
/// [`PrivilegeGraph::reach_tree`] gives each reached entity its owned id, sorts by it and builds
/// the witness tree, a scan yields entity indices in the order the search took them and walks a
/// witness only when asked; its buffers (the size of the graph) are reused from one source to
/// the next, cleared only where the last search wrote.
pub struct ReachScanner<'g> {
    graph: &'g PrivilegeGraph,
    forward: Forward,
    /// The source of the search `forward` holds, if any.
    start: Option<u32>,
}

/// One entity reached by a [`ReachScanner`]: a [`TreeReached`] by entity index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanReached {
    /// The entity's index in the graph ([`PrivilegeGraph::entity_id`]); indices ascend with ids.
    pub entity: u32,
    pub kind: EntityKind,
    /// As [`Reached::actions`].
    pub actions: ActionSet,
    pub hops: u32,
}

impl<'g> ReachScanner<'g> {
    /// Searches what `from` (an agent, identity or credential) reaches, replacing the previous
    /// scan: afterwards [`ReachScanner::reached`] lists it.
    pub fn scan(&mut self, from: &str) -> Result<(), GraphError> {
        if self.start.take().is_some() {
            self.forward.reset(self.graph);
        }
        let start = self.graph.require_source(from)?;
        self.graph.forward_into(start, None, &mut self.forward);
        self.start = Some(start);
        Ok(())
    }

    /// The graph the scans search.
    pub fn graph(&self) -> &'g PrivilegeGraph {
        self.graph
    }

    /// Every entity the last scan reached, once each, in the order the search took them (not
    /// sorted; sort by `entity` for id order); never the source itself. Nothing before a scan
    /// and after one that failed.
    pub fn reached(&self) -> impl Iterator<Item = ScanReached> + '_ {
        self.entities().map(|entity| self.reached_entity(entity))
    }

    /// [`ReachScanner::reached`] as entity indices only: for a caller that looks most of them
    /// up and skips them, before reading the rest with [`ReachScanner::reached_entity`].
    pub fn entities(&self) -> impl Iterator<Item = u32> + '_ {
        let graph = self.graph;
        let start = self.start;
        self.forward
            .order
            .iter()
            .copied()
            .filter(move |&node| !graph.is_side(node) && Some(node) != start)
    }

    /// What the last scan says of `entity`, one of [`ReachScanner::entities`].
    pub fn reached_entity(&self, entity: u32) -> ScanReached {
        let graph = self.graph;
        let ordinal = graph.resource_ordinal[entity as usize];
        ScanReached {
            entity,
            kind: graph.kinds[entity as usize],
            actions: if ordinal == NONE {
                ActionSet::EMPTY
            } else {
                self.forward.actions[ordinal as usize]
            },
            hops: self.forward.dist[entity as usize],
        }
    }

    /// The witness of `reached` (one of [`ReachScanner::reached`]): one shortest chain of ids
    /// from the source to its target, `hops + 1` ids, the one [`ReachTree::path`] gives. It
    /// follows the search's parents back to the source; a side and its resource are one step.
    pub fn path(&self, reached: &ScanReached) -> Vec<&'g str> {
        let graph = self.graph;
        let mut chain = Vec::with_capacity(reached.hops as usize + 1);
        let mut last = NONE;
        let mut node = reached.entity;
        while node != NONE {
            let entity = graph.entity_of(node);
            if entity != last {
                chain.push(graph.entity_id(entity));
                last = entity;
            }
            node = self.forward.parent[node as usize];
        }
        chain.reverse();
        chain
    }
}
