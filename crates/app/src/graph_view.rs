//! The graph view: one source's reach laid out by `core` (layers by hops, barycentric order,
//! capped), narrowed by a hops limit, with a highlighted shortest path and a what-if edit, as the
//! plain positioned nodes and edges of [`protocol::graph_view::GraphView`]. The console draws it
//! as SVG; the PDF report can draw the same positions.

use std::collections::{HashMap, HashSet};

use bridle_core::graph::{
    EdgeReason, GraphError, MAX_LAYOUT_NODES, PrivilegeGraph, Subgraph, SubgraphEdge,
    layout_with_cap,
};
use bridle_core::time::Timestamp;
use bridle_core::{ActionSet, Estate};
use bridle_protocol::graph_view::{
    Change, EdgeReasonView, GrantFacts, GraphEdge, GraphNode, GraphPath, GraphView,
    GraphViewRequest, GraphWhatIf,
};

use crate::Bridle;
use crate::error::{ApiError, ErrorCode, api_error};

impl Bridle {
    /// The laid-out reach of `request.from` in the current inventory at `at` (at most
    /// [`MAX_LAYOUT_NODES`] nodes; the view says when it shows fewer than are reached).
    pub async fn graph_view(
        &self,
        request: &GraphViewRequest,
        at: Timestamp,
    ) -> Result<GraphView, ApiError> {
        let estate = self.current_estate().await?;
        let graph = self.current_graph(at).await?;
        graph_view(&estate, &graph, request, at, MAX_LAYOUT_NODES)
    }
}

fn graph_error(error: GraphError) -> ApiError {
    api_error(
        match error {
            GraphError::UnknownId(_) => ErrorCode::NotFound,
            GraphError::WrongKind { .. } => ErrorCode::InvalidInput,
        },
        error.to_string(),
    )
}

fn words(actions: ActionSet) -> Vec<String> {
    actions.words().into_iter().map(str::to_owned).collect()
}

/// `12345` → `12,345`: the view's sentences are read by people.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The view of `estate` (see [`Bridle::graph_view`]), placing at most `cap` nodes.
/// The view of `request` on `graph`, the privilege graph of `estate` at `at` (a what-if rebuilds
/// it for the edited estate).
pub(crate) fn graph_view(
    estate: &Estate,
    graph: &PrivilegeGraph,
    request: &GraphViewRequest,
    at: Timestamp,
    cap: usize,
) -> Result<GraphView, ApiError> {
    let full = graph
        .neighbourhood(&request.from, usize::MAX)
        .map_err(graph_error)?;
    let deepest = full.nodes.iter().map(|n| n.hops).max().unwrap_or(0);
    let near = within_hops(&full, request.max_hops);
    let layout = layout_with_cap(&near.subgraph, cap);

    // What-if: the same neighbourhood on a copy of the estate without the revoked grants and
    // with the expired credentials, compared node by node.
    let editing = !request.revoke_grants.is_empty() || !request.expire_credentials.is_empty();
    let mut after: Option<HashMap<String, ActionSet>> = None;
    let mut what_if = None;
    if editing {
        let diff = graph
            .what_if(&request.revoke_grants, &request.expire_credentials)
            .map_err(graph_error)?;
        let edited = edited_estate(estate, request, at);
        let reach_after = PrivilegeGraph::build(&edited, at)
            .neighbourhood(&request.from, usize::MAX)
            .map_err(graph_error)?;
        let reached_after: HashMap<String, ActionSet> = reach_after
            .nodes
            .into_iter()
            .map(|n| (n.id, n.actions))
            .collect();
        let nodes_lost = full
            .nodes
            .iter()
            .filter(|n| !reached_after.contains_key(&n.id))
            .count() as u64;
        let resources_shrunk = full
            .nodes
            .iter()
            .filter(|n| {
                reached_after
                    .get(&n.id)
                    .is_some_and(|a| *a != n.actions && a.is_subset(n.actions))
            })
            .count() as u64;
        what_if = Some(GraphWhatIf {
            revoked_grants: diff.revoked_grants,
            expired_credentials: diff.expired_credentials,
            nodes_lost,
            resources_shrunk,
            estate_pairs_lost: diff.lost.len() as u64,
            estate_pairs_shrunk: diff.shrunk.len() as u64,
        });
        after = Some(reached_after);
    }

    // The highlighted path: the witness chain of the target (a shortest one, as `reach` gives).
    let mut path_nodes: Vec<usize> = Vec::new();
    let path = match &request.to {
        None => None,
        Some(to) if to.is_empty() => None,
        Some(to) => {
            if graph.kind_of(to).is_none() {
                return Err(graph_error(GraphError::UnknownId(to.clone())));
            }
            if let Some(target) = full.nodes.iter().position(|n| &n.id == to) {
                let mut chain = vec![target];
                while let Some(parent) = full.nodes[*chain.last().unwrap_or(&0)].parent {
                    chain.push(parent);
                }
                chain.reverse();
                path_nodes = chain;
            }
            Some(to.clone())
        }
    };

    let names = names(estate);
    let grant_ids: HashSet<&str> = near
        .subgraph
        .edges
        .iter()
        .flat_map(|e| &e.reasons)
        .filter_map(|r| match r {
            EdgeReason::Grant { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    let grants: HashMap<&str, GrantFacts> = estate
        .grants
        .iter()
        .filter(|g| grant_ids.contains(g.id.as_str()))
        .map(|g| {
            (
                g.id.as_str(),
                GrantFacts {
                    id: g.id.clone(),
                    subject: g.subject.clone(),
                    target: g.target.clone(),
                    actions: words(g.actions),
                    standing: g.standing,
                    expires_at: g.expires_at,
                    conditions: g.conditions.clone(),
                    source: g.source.clone(),
                },
            )
        })
        .collect();
    let revoked: HashSet<&str> = request.revoke_grants.iter().map(String::as_str).collect();
    let expired: HashSet<&str> = request
        .expire_credentials
        .iter()
        .map(String::as_str)
        .collect();

    // Ids on the path, by full-neighbourhood index → the near-subgraph index.
    let on_path_ids: HashSet<&str> = path_nodes
        .iter()
        .map(|&i| full.nodes[i].id.as_str())
        .collect();
    let path_steps: HashSet<(&str, &str)> = path_nodes
        .windows(2)
        .map(|w| (full.nodes[w[0]].id.as_str(), full.nodes[w[1]].id.as_str()))
        .collect();

    let nodes: Vec<GraphNode> = layout
        .nodes
        .iter()
        .map(|placed| {
            let node = &near.subgraph.nodes[placed.node];
            let (change, actions_after) = match &after {
                None => (Change::Kept, Vec::new()),
                Some(after) => match after.get(&node.id) {
                    None => (Change::Lost, Vec::new()),
                    Some(a) if *a != node.actions => (Change::Shrunk, words(*a)),
                    Some(_) => (Change::Kept, Vec::new()),
                },
            };
            GraphNode {
                id: node.id.clone(),
                kind: node.kind.as_str().to_owned(),
                name: names.get(node.id.as_str()).map(|n| (*n).to_owned()),
                hops: node.hops,
                layer: placed.layer,
                order: placed.order,
                x: placed.x,
                y: placed.y,
                actions: words(node.actions),
                sensitivity: node.sensitivity.map(|s| s.as_str().to_owned()),
                crown_jewel: node.crown_jewel,
                on_path: on_path_ids.contains(node.id.as_str()),
                change,
                actions_after,
            }
        })
        .collect();
    let edges: Vec<GraphEdge> = layout
        .edges
        .iter()
        .map(|placed| {
            let edge = &near.subgraph.edges[placed.edge];
            let (from, to) = (&nodes[placed.from], &nodes[placed.to]);
            let reasons: Vec<EdgeReasonView> = edge
                .reasons
                .iter()
                .map(|reason| {
                    let removed = match reason {
                        EdgeReason::Grant { id, .. } => revoked.contains(id.as_str()),
                        EdgeReason::CredentialIdentity => expired.contains(from.id.as_str()),
                        _ => false,
                    };
                    reason_view(reason, &grants, removed)
                })
                .collect();
            let change = if !editing {
                Change::Kept
            } else if reasons.iter().all(|r| r.removed)
                || from.change == Change::Lost
                || to.change == Change::Lost
            {
                Change::Lost
            } else {
                Change::Kept
            };
            GraphEdge {
                from: placed.from,
                to: placed.to,
                on_path: path_steps.contains(&(from.id.as_str(), to.id.as_str())),
                reasons,
                change,
            }
        })
        .collect();

    let path = path.map(|to| {
        let ids: Vec<String> = path_nodes
            .iter()
            .map(|&i| full.nodes[i].id.clone())
            .collect();
        let shown = !ids.is_empty()
            && ids
                .iter()
                .all(|id| nodes.iter().any(|n| n.on_path && &n.id == id));
        GraphPath {
            to,
            hops: path_nodes.last().map(|&i| full.nodes[i].hops),
            nodes: ids,
            shown,
        }
    });

    let reached = full.nodes.len();
    let within = near.subgraph.nodes.len();
    let shown = nodes.len();
    let limited = (shown < reached).then(|| {
        let mut parts = Vec::new();
        if within < reached {
            parts.push(format!(
                "{} beyond {} hops",
                grouped(reached - within),
                request.max_hops.unwrap_or(deepest)
            ));
        }
        if shown < within {
            parts.push(format!(
                "{} over the {}-node cap (crown-jewel paths kept first); narrow by hops",
                grouped(within - shown),
                grouped(cap)
            ));
        }
        format!(
            "Showing {} of {} reached nodes: {}.",
            grouped(shown),
            grouped(reached),
            parts.join("; ")
        )
    });

    Ok(GraphView {
        from: request.from.clone(),
        at,
        nodes,
        edges,
        width: layout.width,
        height: layout.height,
        crossings: layout.crossings,
        reached: reached as u64,
        within_hops: within as u64,
        max_hops: request.max_hops,
        deepest,
        limited,
        path,
        what_if,
    })
}

/// The part of a neighbourhood within `max_hops` (witness parents are nearer, so they stay).
struct Near {
    subgraph: Subgraph,
}

fn within_hops(full: &Subgraph, max_hops: Option<u32>) -> Near {
    let Some(limit) = max_hops else {
        return Near {
            subgraph: full.clone(),
        };
    };
    let mut index = vec![None; full.nodes.len()];
    let mut nodes = Vec::new();
    for (i, node) in full.nodes.iter().enumerate() {
        if node.hops <= limit {
            index[i] = Some(nodes.len());
            nodes.push(node.clone());
        }
    }
    for node in &mut nodes {
        node.parent = node.parent.and_then(|p| index[p]);
    }
    let edges = full
        .edges
        .iter()
        .filter_map(|e| {
            Some(SubgraphEdge {
                from: index[e.from]?,
                to: index[e.to]?,
                reasons: e.reasons.clone(),
            })
        })
        .collect();
    Near {
        subgraph: Subgraph {
            source: full.source.clone(),
            nodes,
            edges,
            omitted: 0,
        },
    }
}

/// The estate with the what-if edit applied: revoked grants removed, credentials expired at `at`.
fn edited_estate(estate: &Estate, request: &GraphViewRequest, at: Timestamp) -> Estate {
    let revoked: HashSet<&str> = request.revoke_grants.iter().map(String::as_str).collect();
    let expired: HashSet<&str> = request
        .expire_credentials
        .iter()
        .map(String::as_str)
        .collect();
    let mut edited = estate.clone();
    edited.grants.retain(|g| !revoked.contains(g.id.as_str()));
    for credential in &mut edited.credentials {
        if expired.contains(credential.id.as_str()) {
            credential.expires_at = Some(at);
        }
    }
    edited
}

fn names(estate: &Estate) -> HashMap<&str, &str> {
    let agents = estate
        .agents
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()));
    let identities = estate
        .identities
        .iter()
        .map(|i| (i.id.as_str(), i.name.as_str()));
    let resources = estate
        .resources
        .iter()
        .map(|r| (r.id.as_str(), r.name.as_str()));
    let tools = estate
        .tools
        .iter()
        .map(|t| (t.id.as_str(), t.name.as_str()));
    agents
        .chain(identities)
        .chain(resources)
        .chain(tools)
        .collect()
}

fn reason_view(
    reason: &EdgeReason,
    grants: &HashMap<&str, GrantFacts>,
    removed: bool,
) -> EdgeReasonView {
    let (rule, actions, grant) = match reason {
        EdgeReason::AgentRunsAs => ("runs_as", ActionSet::EMPTY, None),
        EdgeReason::Grant { id, actions } => ("grant", *actions, grants.get(id.as_str()).cloned()),
        EdgeReason::ToolRunsAs => ("tool_runs_as", ActionSet::EMPTY, None),
        EdgeReason::ToolActsOn { actions } => ("tool_acts_on", *actions, None),
        EdgeReason::HoldsCredential => ("holds_credentials", ActionSet::EMPTY, None),
        EdgeReason::ResourceRunsAs => ("resource_runs_as", ActionSet::EMPTY, None),
        EdgeReason::CredentialIdentity => ("credential_identity", ActionSet::EMPTY, None),
    };
    EdgeReasonView {
        rule: rule.to_owned(),
        label: reason.to_string(),
        actions: words(actions),
        grant,
        removed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridle_core::estate::{Syntax, parse};
    use bridle_core::synthetic::{Scale, generate};
    use bridle_core::time::parse_utc;

    /// The demo estate's documented evaluation time (assets/demo/README.md).
    fn at() -> Timestamp {
        parse_utc("2026-11-28T12:00:00Z").unwrap()
    }

    fn demo() -> Estate {
        parse(crate::DEMO_ESTATE, Syntax::Json)
            .estate
            .expect("the demo estate is valid")
    }

    fn request(from: &str) -> GraphViewRequest {
        GraphViewRequest {
            from: from.to_owned(),
            ..GraphViewRequest::default()
        }
    }

    fn view(request: &GraphViewRequest) -> GraphView {
        {
            let estate = demo();
            let graph = PrivilegeGraph::build(&estate, at());
            graph_view(&estate, &graph, request, at(), MAX_LAYOUT_NODES).unwrap()
        }
    }

    fn node<'a>(view: &'a GraphView, id: &str) -> &'a GraphNode {
        view.nodes
            .iter()
            .find(|n| n.id == id)
            .unwrap_or_else(|| panic!("{id} is not in the view"))
    }

    const FINANCE: &str = "agent:finance-recon";
    /// The documented five-hop chain through a secret store.
    const LEDGER_CHAIN: [&str; 6] = [
        "agent:finance-recon",
        "arn:aws:iam::123456789012:role/finance-recon",
        "res:vault-kv-finance",
        "cred:ledger-db-password",
        "svc:ledger-writer",
        "res:ledger-db",
    ];

    #[test]
    fn the_view_places_exactly_the_reach_in_layers_by_hops() {
        let estate = demo();
        let view = view(&request(FINANCE));
        let reach = PrivilegeGraph::build(&estate, at()).reach(FINANCE).unwrap();

        assert_eq!(view.nodes[0].id, FINANCE);
        assert_eq!((view.nodes[0].x, view.nodes[0].hops), (0.0, 0));
        let mut shown: Vec<&str> = view.nodes[1..].iter().map(|n| n.id.as_str()).collect();
        shown.sort_unstable();
        let reached: Vec<&str> = reach.reachable.iter().map(|r| r.target.as_str()).collect();
        assert_eq!(shown, reached, "the view shows the reach, nothing more");
        assert_eq!(view.reached as usize, view.nodes.len());
        assert_eq!(view.limited, None);
        for r in &reach.reachable {
            let n = node(&view, &r.target);
            assert_eq!(n.hops, r.hops, "{}", r.target);
            assert_eq!(n.actions, words(r.actions), "{}", r.target);
        }
        // Layers read left to right by hops, and no two nodes share a position.
        for a in &view.nodes {
            for b in &view.nodes {
                assert_eq!(
                    a.hops.cmp(&b.hops),
                    a.x.total_cmp(&b.x),
                    "{} {}",
                    a.id,
                    b.id
                );
                if a.id != b.id {
                    assert!((a.x, a.y) != (b.x, b.y), "{} and {} overlap", a.id, b.id);
                }
            }
        }
        let ledger = node(&view, "res:ledger-db");
        assert_eq!(ledger.hops, 5);
        assert_eq!(ledger.sensitivity.as_deref(), Some("restricted"));
        assert!(
            estate
                .resources
                .iter()
                .any(|r| r.id == ledger.id && r.crown_jewel == ledger.crown_jewel)
        );
        assert_eq!(
            node(&view, "svc:ledger-writer").name.as_deref(),
            estate
                .identities
                .iter()
                .find(|i| i.id == "svc:ledger-writer")
                .map(|i| i.name.as_str())
        );
    }

    #[test]
    fn edges_carry_the_grants_behind_them() {
        let estate = demo();
        let view = view(&request(FINANCE));
        let graph = PrivilegeGraph::build(&estate, at());
        for edge in &view.edges {
            let (from, to) = (&view.nodes[edge.from], &view.nodes[edge.to]);
            let expected: Vec<String> = graph
                .edge_reasons(&from.id, &to.id)
                .unwrap()
                .iter()
                .map(ToString::to_string)
                .collect();
            let labels: Vec<String> = edge.reasons.iter().map(|r| r.label.clone()).collect();
            assert_eq!(labels, expected, "{} -> {}", from.id, to.id);
        }
        let into_vault = view
            .edges
            .iter()
            .find(|e| view.nodes[e.to].id == "res:vault-kv-finance")
            .expect("an edge into the finance secret store");
        let reason = &into_vault.reasons[0];
        assert_eq!(reason.rule, "grant");
        let grant = reason.grant.as_ref().expect("the grant's facts");
        let stated = estate.grants.iter().find(|g| g.id == "g-015").unwrap();
        assert_eq!(grant.id, "g-015");
        assert_eq!(grant.actions, words(stated.actions));
        assert_eq!(
            (grant.standing, grant.expires_at),
            (stated.standing, stated.expires_at)
        );
        assert_eq!(grant.source, stated.source);
    }

    #[test]
    fn a_target_highlights_its_shortest_chain() {
        let view = view(&GraphViewRequest {
            to: Some("res:ledger-db".into()),
            ..request(FINANCE)
        });
        let path = view.path.as_ref().unwrap();
        assert_eq!(path.nodes, LEDGER_CHAIN);
        assert_eq!((path.hops, path.shown), (Some(5), true));
        let on_path: Vec<&str> = view
            .nodes
            .iter()
            .filter(|n| n.on_path)
            .map(|n| n.id.as_str())
            .collect();
        assert_eq!(on_path.len(), 6, "{on_path:?}");
        let steps: Vec<(&str, &str)> = view
            .edges
            .iter()
            .filter(|e| e.on_path)
            .map(|e| (view.nodes[e.from].id.as_str(), view.nodes[e.to].id.as_str()))
            .collect();
        let expected: Vec<(&str, &str)> = LEDGER_CHAIN.windows(2).map(|w| (w[0], w[1])).collect();
        assert_eq!(steps.len(), 5);
        for step in expected {
            assert!(
                steps.contains(&step),
                "{step:?} not highlighted in {steps:?}"
            );
        }

        // A target the source does not reach: an empty path, not an error.
        let estate = demo();
        let graph = PrivilegeGraph::build(&estate, at());
        let unreached = graph_view(
            &estate,
            &graph,
            &GraphViewRequest {
                to: Some("res:hr-db".into()),
                ..request(FINANCE)
            },
            at(),
            MAX_LAYOUT_NODES,
        )
        .unwrap();
        let path = unreached.path.unwrap();
        assert!(path.nodes.is_empty() && path.hops.is_none() && !path.shown);
        assert!(unreached.nodes.iter().all(|n| !n.on_path));
    }

    #[test]
    fn a_hops_limit_narrows_the_view_and_says_so() {
        let all = view(&request(FINANCE));
        let near = view(&GraphViewRequest {
            max_hops: Some(2),
            ..request(FINANCE)
        });
        assert!(near.nodes.iter().all(|n| n.hops <= 2));
        let expected = all.nodes.iter().filter(|n| n.hops <= 2).count();
        assert_eq!(near.nodes.len(), expected);
        assert_eq!(near.within_hops as usize, expected);
        assert_eq!(near.reached, all.reached);
        assert_eq!(near.deepest, 5);
        assert_eq!(
            near.limited.as_deref(),
            Some(
                format!(
                    "Showing {expected} of {} reached nodes: {} beyond 2 hops.",
                    all.reached,
                    all.reached as usize - expected
                )
                .as_str()
            )
        );
        assert!(near.edges.iter().all(|e| near.nodes[e.to].hops <= 2));
    }

    #[test]
    fn the_cap_keeps_crown_jewel_chains_and_says_how_many_are_left_out() {
        let estate = demo();
        let graph = PrivilegeGraph::build(&estate, at());
        let capped = graph_view(&estate, &graph, &request(FINANCE), at(), 7).unwrap();
        assert_eq!(capped.nodes.len(), 7);
        let limited = capped.limited.as_deref().unwrap();
        assert!(
            limited.starts_with(&format!("Showing 7 of {} reached nodes: ", capped.reached))
                && limited.contains("over the 7-node cap"),
            "{limited}"
        );
        // Every placed node's witness chain is placed too (the picture never floats).
        for n in &capped.nodes[1..] {
            assert!(
                capped.edges.iter().any(|e| capped.nodes[e.to].id == n.id),
                "{} has no edge into it",
                n.id
            );
        }
        assert!(
            capped.nodes.iter().any(|n| n.crown_jewel),
            "crown jewels come first"
        );
    }

    #[test]
    fn a_large_neighbourhood_is_capped_at_two_thousand_nodes() {
        let estate = generate(Scale::Medium, 7);
        let graph = PrivilegeGraph::build(&estate, at());
        let blast = graph.blast_radius(false);
        let widest = blast
            .entries
            .iter()
            .max_by_key(|e| e.resources)
            .expect("agents");
        let view = graph_view(
            &estate,
            &graph,
            &request(&widest.source),
            at(),
            MAX_LAYOUT_NODES,
        )
        .unwrap();
        assert!(
            view.reached > 2_000,
            "the test needs a big reach: {}",
            view.reached
        );
        assert_eq!(view.nodes.len(), MAX_LAYOUT_NODES);
        let limited = view.limited.unwrap();
        assert!(
            limited.starts_with(&format!(
                "Showing 2,000 of {} reached nodes",
                grouped(view.reached as usize)
            )),
            "{limited}"
        );
        assert!(
            view.edges
                .iter()
                .all(|e| e.from < view.nodes.len() && e.to < view.nodes.len())
        );
    }

    #[test]
    fn what_if_greys_out_exactly_what_the_edited_estate_no_longer_reaches() {
        let estate = demo();
        let revoke = vec!["g-015".to_owned()];
        let view = view(&GraphViewRequest {
            revoke_grants: revoke.clone(),
            ..request(FINANCE)
        });

        // The oracle: the reach on the estate without the grant, built independently.
        let mut edited = estate.clone();
        edited.grants.retain(|g| g.id != "g-015");
        let before = PrivilegeGraph::build(&estate, at()).reach(FINANCE).unwrap();
        let after = PrivilegeGraph::build(&edited, at()).reach(FINANCE).unwrap();
        let after: HashMap<&str, ActionSet> = after
            .reachable
            .iter()
            .map(|r| (r.target.as_str(), r.actions))
            .collect();
        for r in &before.reachable {
            let expected = match after.get(r.target.as_str()) {
                None => Change::Lost,
                Some(a) if *a != r.actions => Change::Shrunk,
                Some(_) => Change::Kept,
            };
            assert_eq!(node(&view, &r.target).change, expected, "{}", r.target);
        }
        for id in &LEDGER_CHAIN[2..] {
            assert_eq!(node(&view, id).change, Change::Lost, "{id}");
        }
        assert_eq!(view.nodes[0].change, Change::Kept);

        let revoked_edge = view
            .edges
            .iter()
            .find(|e| e.reasons.iter().any(|r| r.removed))
            .expect("the revoked grant's edge");
        assert_eq!(revoked_edge.change, Change::Lost);
        assert_eq!(view.nodes[revoked_edge.to].id, "res:vault-kv-finance");
        for edge in &view.edges {
            let ends_lost = view.nodes[edge.from].change == Change::Lost
                || view.nodes[edge.to].change == Change::Lost;
            assert_eq!(
                edge.change == Change::Lost,
                ends_lost || edge.reasons.iter().all(|r| r.removed)
            );
        }

        let counts = view.what_if.as_ref().unwrap();
        let lost = view
            .nodes
            .iter()
            .filter(|n| n.change == Change::Lost)
            .count();
        assert_eq!(counts.nodes_lost as usize, lost);
        assert!(lost >= 4);
        let diff = PrivilegeGraph::build(&estate, at())
            .what_if(&revoke, &[])
            .unwrap();
        assert_eq!(counts.estate_pairs_lost as usize, diff.lost.len());
        assert_eq!(counts.estate_pairs_shrunk as usize, diff.shrunk.len());
        assert_eq!(counts.revoked_grants, revoke);
    }

    #[test]
    fn expiring_a_credential_cuts_its_identity() {
        let view = view(&GraphViewRequest {
            expire_credentials: vec!["cred:ledger-db-password".into()],
            ..request(FINANCE)
        });
        assert_eq!(node(&view, "cred:ledger-db-password").change, Change::Kept);
        assert_eq!(node(&view, "svc:ledger-writer").change, Change::Lost);
        let cut = view
            .edges
            .iter()
            .find(|e| view.nodes[e.from].id == "cred:ledger-db-password")
            .unwrap();
        assert!(
            cut.reasons
                .iter()
                .all(|r| r.removed && r.rule == "credential_identity")
        );
        assert_eq!(cut.change, Change::Lost);
    }

    #[test]
    fn bad_requests_name_what_is_wrong() {
        let estate = demo();
        let error = |r: GraphViewRequest| {
            let graph = PrivilegeGraph::build(&estate, at());
            graph_view(&estate, &graph, &r, at(), MAX_LAYOUT_NODES).unwrap_err()
        };
        let unknown = error(request("agent:nobody"));
        assert_eq!(unknown.code, ErrorCode::NotFound);
        assert!(unknown.message.contains("agent:nobody"));
        assert_eq!(
            error(request("res:ledger-db")).code,
            ErrorCode::InvalidInput
        );
        let grant = error(GraphViewRequest {
            revoke_grants: vec!["g-nope".into()],
            ..request(FINANCE)
        });
        assert_eq!(grant.code, ErrorCode::NotFound);
        assert!(grant.message.contains("g-nope"));
        let target = error(GraphViewRequest {
            to: Some("res:nowhere".into()),
            ..request(FINANCE)
        });
        assert_eq!(target.code, ErrorCode::NotFound);
    }
}
