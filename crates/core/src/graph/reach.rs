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
        } = forward;
        debug_assert!(order.is_empty(), "forward_into needs an unreached Forward");
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
        let mut tree = StepTree::unreached(self);
        self.witness_tree_into(forward, &mut tree);
        let witnesses = Witnesses {
            ids: Arc::clone(&self.ids),
            entity: tree.entity,
            up: tree.up,
        };
        (witnesses, tree.step_of)
    }

    /// [`PrivilegeGraph::witness_tree`] into `tree`, which must be unreached (new, or
    /// [`StepTree::reset`] with the search it was built from).
    fn witness_tree_into(&self, forward: &Forward, tree: &mut StepTree) {
        let StepTree {
            step_of,
            entity,
            up,
        } = tree;
        debug_assert!(
            entity.is_empty(),
            "witness_tree_into needs an unreached StepTree"
        );
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
    }

    /// A scanner for reaches from many sources in turn (see [`ReachScanner`]).
    pub fn reach_scanner(&self) -> ReachScanner<'_> {
        ReachScanner {
            graph: self,
            forward: Forward::unreached(self),
            tree: StepTree::unreached(self),
            reached: Vec::new(),
            scanned: false,
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
        }
    }

    /// Makes the buffers unreached again, touching only what the last search reached (every
    /// written node is in `order`, and every written action belongs to a side in it).
    fn reset(&mut self, graph: &PrivilegeGraph) {
        let entity_count = graph.entity_count_u32();
        for &node in &self.order {
            self.dist[node as usize] = NONE;
            self.parent[node as usize] = NONE;
            if node >= entity_count {
                self.actions[((node - entity_count) / 2) as usize] = ActionSet::EMPTY;
            }
        }
        self.order.clear();
    }
}

/// The witness tree of a search while it is being built: per state node its step, and per step
/// its entity and the step before it.
struct StepTree {
    step_of: Vec<u32>,
    entity: Vec<u32>,
    up: Vec<u32>,
}

impl StepTree {
    fn unreached(graph: &PrivilegeGraph) -> StepTree {
        StepTree {
            step_of: vec![NONE; graph.graph.node_count()],
            entity: Vec::new(),
            up: Vec::new(),
        }
    }

    /// Makes the tree unreached again; `order` is the search it was built from.
    fn reset(&mut self, order: &[u32]) {
        for &node in order {
            self.step_of[node as usize] = NONE;
        }
        self.entity.clear();
        self.up.clear();
    }
}

/// Reaches from many sources in turn, by entity index: what a caller needs that reads every
/// reached entity of thousands of sources (the compliance checks). Where
/// [`PrivilegeGraph::reach_tree`] gives each reached entity its owned id and sorts by it, a scan
/// gives entity indices in the order the search reached them, and its buffers (the size of the
/// graph) are reused from one source to the next, cleared only where the last search wrote.
pub struct ReachScanner<'g> {
    graph: &'g PrivilegeGraph,
    forward: Forward,
    tree: StepTree,
    reached: Vec<ScanReached>,
    /// Whether `forward` and `tree` hold a search (to be reset before the next).
    scanned: bool,
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
    /// Where the witness ends in the scan's tree.
    witness: u32,
}

impl<'g> ReachScanner<'g> {
    /// Searches what `from` (an agent, identity or credential) reaches, replacing the previous
    /// scan: afterwards [`ReachScanner::reached`] lists it.
    pub fn scan(&mut self, from: &str) -> Result<(), GraphError> {
        let graph = self.graph;
        if self.scanned {
            self.tree.reset(&self.forward.order);
            self.forward.reset(graph);
            self.reached.clear();
            self.scanned = false;
        }
        let start = graph.require_source(from)?;
        graph.forward_into(start, None, &mut self.forward);
        graph.witness_tree_into(&self.forward, &mut self.tree);
        self.scanned = true;
        let forward = &self.forward;
        let step_of = &self.tree.step_of;
        self.reached.extend(
            forward
                .order
                .iter()
                .copied()
                .filter(|&node| !graph.is_side(node) && node != start)
                .map(|entity| {
                    let ordinal = graph.resource_ordinal[entity as usize];
                    ScanReached {
                        entity,
                        kind: graph.kinds[entity as usize],
                        actions: if ordinal == NONE {
                            ActionSet::EMPTY
                        } else {
                            forward.actions[ordinal as usize]
                        },
                        hops: forward.dist[entity as usize],
                        witness: step_of[entity as usize],
                    }
                }),
        );
        Ok(())
    }

    /// The graph the scans search.
    pub fn graph(&self) -> &'g PrivilegeGraph {
        self.graph
    }

    /// Every entity the last scan reached, once each, in the order the search took them (not
    /// sorted; sort by `entity` for id order); never the source itself. Empty before a scan and
    /// after one that failed.
    pub fn reached(&self) -> &[ScanReached] {
        &self.reached
    }

    /// The witness of `reached` (one of [`ReachScanner::reached`]): one shortest chain of ids
    /// from the source to its target, `hops + 1` ids, as [`ReachTree::path`] gives it.
    pub fn path(&self, reached: &ScanReached) -> Vec<&'g str> {
        let tree = &self.tree;
        let mut chain = Vec::with_capacity(reached.hops as usize + 1);
        let mut step = reached.witness;
        while step != NONE {
            chain.push(self.graph.entity_id(tree.entity[step as usize]));
            step = tree.up[step as usize];
        }
        chain.reverse();
        chain
    }
}
