//! `what_if`: the (agent, resource) reachability diff of revoking grants and expiring
//! credentials, computed on a masked copy of the graph's edges (the graph itself is untouched).
//!
//! Both sides use the blast-radius propagation ([`super::blast`]): per component, the set of
//! agents that reach it. An agent holds action `a` on resource R exactly when it reaches some
//! node with an edge into R carrying `a`, so per resource and action the agents holding it are an
//! OR of the rows of the edges' sources. Comparing those sets before and after gives every pair
//! lost, shrunk or kept, without a traversal per agent.

use std::collections::HashSet;

use super::blast::{BATCH, for_each_bit};
use super::{EdgeMask, GraphError, PrivilegeGraph, Via};
use crate::model::{Action, ActionSet, EntityKind};
use crate::time::Timestamp;

/// The diff over (agent, resource) pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatIf {
    pub at: Timestamp,
    /// The grants revoked and credentials expired, as asked (sorted, without repeats).
    pub revoked_grants: Vec<String>,
    pub expired_credentials: Vec<String>,
    /// Pairs no longer reached at all, sorted by (agent, resource).
    pub lost: Vec<PairLost>,
    /// Pairs still reached with fewer actions, sorted by (agent, resource).
    pub shrunk: Vec<PairShrunk>,
    /// Pairs reached with the same actions as before.
    pub kept: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairLost {
    pub agent: String,
    pub resource: String,
    /// The actions it had before.
    pub actions: ActionSet,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairShrunk {
    pub agent: String,
    pub resource: String,
    pub before: ActionSet,
    pub after: ActionSet,
}

/// The resource actions, each with its row slot.
const ACTIONS: [Action; 3] = [Action::Admin, Action::Read, Action::Write];

impl PrivilegeGraph {
    /// What agents would lose on resources if `revoke_grants` were revoked and
    /// `expire_credentials` expired. Unknown ids, and ids of something else than a grant or a
    /// credential, are errors; revoking an already expired grant changes nothing.
    pub fn what_if(
        &self,
        revoke_grants: &[String],
        expire_credentials: &[String],
    ) -> Result<WhatIf, GraphError> {
        let mut mask = EdgeMask::none(self.graph.edge_count());
        let wanted: HashSet<&str> = revoke_grants.iter().map(String::as_str).collect();
        let mut found: HashSet<&str> = HashSet::new();
        let mut revoked = HashSet::new();
        for (ordinal, grant) in self.grants.iter().enumerate() {
            if wanted.contains(&*grant.id) {
                found.insert(&grant.id);
                revoked.insert(ordinal as u32);
            }
        }
        let mut revoked_grants: Vec<String> = wanted.iter().map(|s| s.to_string()).collect();
        revoked_grants.sort();
        for id in &revoked_grants {
            if !found.contains(id.as_str()) {
                return Err(match self.kind_of(id) {
                    Some(kind) => GraphError::WrongKind {
                        id: id.clone(),
                        kind,
                        expected: "a grant",
                    },
                    None => GraphError::UnknownId(id.clone()),
                });
            }
        }
        let mut expired = HashSet::new();
        for id in expire_credentials {
            let entity = self.require(id)?;
            let kind = self.kinds[entity as usize];
            if kind != EntityKind::Credential {
                return Err(GraphError::WrongKind {
                    id: id.clone(),
                    kind,
                    expected: "a credential",
                });
            }
            expired.insert(entity);
        }
        let mut expired_credentials: Vec<String> = expire_credentials.to_vec();
        expired_credentials.sort();
        expired_credentials.dedup();
        for (edge, raw) in self.graph.raw_edges().iter().enumerate() {
            mask.removed[edge] = match raw.weight.via {
                Via::Grant(g) => revoked.contains(&g),
                Via::CredentialIdentity => expired.contains(&(raw.source().index() as u32)),
                _ => false,
            };
        }

        let agents: Vec<u32> = (0..self.entity_count_u32())
            .filter(|&e| self.kinds[e as usize] == EntityKind::Agent)
            .collect();
        let before = self.condensation();
        let after = self.condense(Some(&mask));
        let mut lost = Vec::new();
        let mut shrunk = Vec::new();
        let mut kept = 0u64;
        for batch in agents.chunks(BATCH) {
            let components = |c: &super::blast::Condensation| -> Vec<u32> {
                batch.iter().map(|&a| c.component[a as usize]).collect()
            };
            let rows_before = self.propagate(before, None, &components(before));
            let rows_after = self.propagate(&after, Some(&mask), &components(&after));
            let words = rows_before.words;
            let mut held_before = vec![0u64; ACTIONS.len() * words];
            let mut held_after = vec![0u64; ACTIONS.len() * words];
            for (ordinal, facts) in self.resources.iter().enumerate() {
                held_before.fill(0);
                held_after.fill(0);
                for side in [
                    self.read_side(ordinal as u32),
                    self.write_side(ordinal as u32),
                ] {
                    for slot in self.inn.range(side) {
                        let (source, edge) = (self.inn.nodes[slot], self.inn.edges[slot]);
                        let actions = self.inn.actions[slot];
                        let row = rows_before.row(before.component[source as usize]);
                        or_by_action(&mut held_before, row, actions);
                        if !mask.is_removed(edge) {
                            let row = rows_after.row(after.component[source as usize]);
                            or_by_action(&mut held_after, row, actions);
                        }
                    }
                }
                let slot = |held: &[u64], a: usize, w: usize| held[a * words + w];
                for w in 0..words {
                    let any_before = (0..3).fold(0, |acc, a| acc | slot(&held_before, a, w));
                    let any_after = (0..3).fold(0, |acc, a| acc | slot(&held_after, a, w));
                    let gone = any_before & !any_after;
                    let fewer = (0..3).fold(0, |acc, a| {
                        acc | (slot(&held_before, a, w) & !slot(&held_after, a, w))
                    }) & any_after;
                    kept += u64::from((any_before & any_after & !fewer).count_ones());
                    let actions_of = |held: &[u64], bit: usize| {
                        ActionSet::from_iter(
                            (0..3)
                                .filter(|&a| slot(held, a, w) & (1 << bit) != 0)
                                .map(|a| ACTIONS[a]),
                        )
                    };
                    for_each_bit(&[gone], |bit| {
                        lost.push((
                            batch[w * 64 + bit],
                            facts.entity,
                            actions_of(&held_before, bit),
                            ActionSet::EMPTY,
                        ))
                    });
                    for_each_bit(&[fewer], |bit| {
                        shrunk.push((
                            batch[w * 64 + bit],
                            facts.entity,
                            actions_of(&held_before, bit),
                            actions_of(&held_after, bit),
                        ))
                    });
                }
            }
        }
        lost.sort_unstable_by_key(|&(agent, resource, _, _)| (agent, resource));
        shrunk.sort_unstable_by_key(|&(agent, resource, _, _)| (agent, resource));
        Ok(WhatIf {
            at: self.at,
            revoked_grants,
            expired_credentials,
            lost: lost
                .into_iter()
                .map(|(agent, resource, actions, _)| PairLost {
                    agent: self.id(agent),
                    resource: self.id(resource),
                    actions,
                })
                .collect(),
            shrunk: shrunk
                .into_iter()
                .map(|(agent, resource, before, after)| PairShrunk {
                    agent: self.id(agent),
                    resource: self.id(resource),
                    before,
                    after,
                })
                .collect(),
            kept,
        })
    }
}

/// ORs `row` into the slot of each of `actions`.
fn or_by_action(held: &mut [u64], row: &[u64], actions: ActionSet) {
    let words = row.len();
    for (a, action) in ACTIONS.iter().enumerate() {
        if actions.contains(*action) {
            for (into, &from) in held[a * words..(a + 1) * words].iter_mut().zip(row) {
                *into |= from;
            }
        }
    }
}
