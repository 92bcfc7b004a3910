//! Privilege-path queries over the current inventory.

use bridle_core::ActionSet;
use bridle_core::graph::{
    EdgeReason, GraphError, PrivilegeGraph, ReachTree, RemovableItem, TreeReached,
};
use bridle_core::time::Timestamp;
use bridle_protocol as protocol;
use serde::ser::{Serialize, SerializeSeq, SerializeStruct, Serializer};

use crate::Bridle;
use crate::error::{ApiError, ErrorCode, api_error};

fn graph_error(error: GraphError) -> ApiError {
    api_error(
        match error {
            GraphError::UnknownId(_) => ErrorCode::NotFound,
            GraphError::WrongKind { .. } => ErrorCode::InvalidInput,
        },
        error.to_string(),
    )
}

/// A [`ReachTree`] serialized exactly as its [`protocol::Reach`] (the same fields, order and
/// values), each witness path read from the tree as it is written: the busiest agent of a large
/// estate has over a million path ids, which then never exist as owned strings at once.
pub struct ReachJson<'a>(pub &'a ReachTree);

impl Serialize for ReachJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let tree = self.0;
        let mut reach = serializer.serialize_struct("Reach", 3)?;
        reach.serialize_field("from", &tree.from)?;
        reach.serialize_field("at", &tree.at)?;
        reach.serialize_field("reachable", &Reachable(tree))?;
        reach.end()
    }
}

struct Reachable<'a>(&'a ReachTree);

impl Serialize for Reachable<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let tree = self.0;
        let mut list = serializer.serialize_seq(Some(tree.reachable.len()))?;
        for reached in &tree.reachable {
            list.serialize_element(&ReachedJson { tree, reached })?;
        }
        list.end()
    }
}

struct ReachedJson<'a> {
    tree: &'a ReachTree,
    reached: &'a TreeReached,
}

impl Serialize for ReachedJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let r = self.reached;
        let mut row = serializer.serialize_struct("Reached", 5)?;
        row.serialize_field("target", &r.target)?;
        row.serialize_field("kind", r.kind.as_str())?;
        row.serialize_field("actions", &r.actions.words())?;
        row.serialize_field("hops", &r.hops)?;
        row.serialize_field("path", &self.tree.path(r))?;
        row.end()
    }
}

fn words(actions: ActionSet) -> Vec<String> {
    actions.words().into_iter().map(str::to_owned).collect()
}

fn chokepoint(c: &bridle_core::graph::Chokepoint) -> protocol::Chokepoint {
    let (item, id, description) = match &c.item {
        RemovableItem::Grant {
            id,
            subject,
            target,
        } => (
            "grant",
            id.clone(),
            format!("grant {id}: {subject} -> {target}"),
        ),
        RemovableItem::Holding {
            resource,
            credential,
        } => (
            "holding",
            format!("{resource} -> {credential}"),
            format!("{resource} holds credential {credential}"),
        ),
        RemovableItem::Credential { id, identity } => (
            "credential",
            id.clone(),
            format!("credential {id} of {identity}"),
        ),
    };
    protocol::Chokepoint {
        item: item.to_owned(),
        id,
        description,
        cut_pairs: c.cut_pairs,
    }
}

impl Bridle {
    /// The privilege graph of the current inventory at time `at` (built once per snapshot and
    /// time, see [`Bridle::current_graph`]).
    pub async fn privilege_graph(
        &self,
        at: Timestamp,
    ) -> Result<std::sync::Arc<PrivilegeGraph>, ApiError> {
        self.current_graph(at).await
    }

    /// What `from` reaches, with the witness paths kept as the search's parent-pointer tree:
    /// [`ReachJson`] writes it as `reach --json` without materialising every path first.
    pub async fn reach_tree(&self, from: &str, at: Timestamp) -> Result<ReachTree, ApiError> {
        let mut tree = self
            .privilege_graph(at)
            .await?
            .reach_tree(from)
            .map_err(graph_error)?;
        tree.at = at;
        Ok(tree)
    }

    pub async fn reach(&self, from: &str, at: Timestamp) -> Result<protocol::Reach, ApiError> {
        let reach = self
            .privilege_graph(at)
            .await?
            .reach(from)
            .map_err(graph_error)?;
        Ok(protocol::Reach {
            from: reach.from,
            // The time asked for: a cached graph may have been built at another time at which
            // it is the same graph (see `Bridle::current_graph`).
            at,
            reachable: reach
                .reachable
                .into_iter()
                .map(|r| protocol::Reached {
                    target: r.target,
                    kind: r.kind.as_str().to_owned(),
                    actions: words(r.actions),
                    hops: r.hops,
                    path: r.path,
                })
                .collect(),
        })
    }

    pub async fn paths(
        &self,
        from: &str,
        to: &str,
        max_paths: usize,
        max_hops: u32,
        at: Timestamp,
    ) -> Result<protocol::Paths, ApiError> {
        let estate = self.current_estate().await?;
        let paths = self
            .current_graph(at)
            .await?
            .paths(from, to, max_paths, max_hops)
            .map_err(graph_error)?;
        // A grant's conditions say how it arises (`via: bind roles …`): a path names them.
        let conditions: std::collections::HashMap<&str, &str> = estate
            .grants
            .iter()
            .filter_map(|g| Some((g.id.as_str(), g.conditions.as_deref()?)))
            .collect();
        let explain = |r: &EdgeReason| match r {
            EdgeReason::Grant { id, .. } => match conditions.get(id.as_str()) {
                Some(said) => format!("{r} — {said}"),
                None => r.to_string(),
            },
            other => other.to_string(),
        };
        Ok(protocol::Paths {
            from: paths.from,
            to: paths.to,
            at,
            shortest: paths.shortest,
            paths: paths
                .paths
                .into_iter()
                .map(|p| protocol::PrivilegePath {
                    hops: p.hops,
                    nodes: p.nodes,
                    via: p
                        .via
                        .iter()
                        .map(|step| step.iter().map(explain).collect())
                        .collect(),
                })
                .collect(),
            truncated: paths.truncated,
        })
    }

    pub async fn who_can_reach(
        &self,
        target: &str,
        at: Timestamp,
    ) -> Result<protocol::WhoCanReach, ApiError> {
        let who = self
            .privilege_graph(at)
            .await?
            .who_can_reach(target)
            .map_err(graph_error)?;
        Ok(protocol::WhoCanReach {
            target: who.target,
            at,
            sources: who
                .sources
                .into_iter()
                .map(|s| protocol::Reaching {
                    source: s.source,
                    kind: s.kind.as_str().to_owned(),
                    hops: s.hops,
                })
                .collect(),
        })
    }

    pub async fn blast_radius(
        &self,
        include_credentials: bool,
        with_hops: bool,
        at: Timestamp,
    ) -> Result<protocol::BlastRadius, ApiError> {
        let graph = self.privilege_graph(at).await?;
        let blast = graph.blast_radius(include_credentials);
        let hops = if with_hops {
            graph.blast_radius_hops()
        } else {
            Vec::new()
        };
        Ok(protocol::BlastRadius {
            at,
            crown_jewels: blast.crown_jewels.len() as u64,
            entries: blast
                .entries
                .iter()
                .map(|e| protocol::BlastEntry {
                    source: e.source.clone(),
                    kind: e.kind.as_str().to_owned(),
                    resources: e.resources,
                    crown_jewels: blast.jewel_ids(e).map(str::to_owned).collect(),
                    worst_sensitivity: e.worst_sensitivity.map(|s| s.as_str().to_owned()),
                    max_hops: hops
                        .iter()
                        .find(|h| h.source == e.source)
                        .map(|h| h.max_hops),
                })
                .collect(),
        })
    }

    pub async fn chokepoints(
        &self,
        top_k: usize,
        greedy_set: Option<usize>,
        at: Timestamp,
    ) -> Result<protocol::Chokepoints, ApiError> {
        let graph = self.privilege_graph(at).await?;
        let top = graph.chokepoints(top_k);
        let set = greedy_set.map(|k| graph.chokepoint_set(k));
        Ok(protocol::Chokepoints {
            at,
            total_pairs: top.total_pairs,
            items: top.items.iter().map(chokepoint).collect(),
            greedy_set: set.map(|s| protocol::ChokepointSet {
                items: s.items.iter().map(chokepoint).collect(),
                combined_cut: s.combined_cut,
            }),
        })
    }

    /// The reachability diff of revoking grants and expiring credentials; the database is not
    /// changed.
    pub async fn what_if(
        &self,
        revoke_grants: &[String],
        expire_credentials: &[String],
        at: Timestamp,
    ) -> Result<protocol::WhatIf, ApiError> {
        let diff = self
            .privilege_graph(at)
            .await?
            .what_if(revoke_grants, expire_credentials)
            .map_err(graph_error)?;
        Ok(protocol::WhatIf {
            at,
            revoked_grants: diff.revoked_grants,
            expired_credentials: diff.expired_credentials,
            lost: diff
                .lost
                .into_iter()
                .map(|p| protocol::PairLost {
                    agent: p.agent,
                    resource: p.resource,
                    actions: words(p.actions),
                })
                .collect(),
            shrunk: diff
                .shrunk
                .into_iter()
                .map(|p| protocol::PairShrunk {
                    agent: p.agent,
                    resource: p.resource,
                    before: words(p.before),
                    after: words(p.after),
                })
                .collect(),
            kept: diff.kept,
        })
    }
}
