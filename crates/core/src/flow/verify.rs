//! Static verification of a flow: the design rules, each a finding with the offending step, the
//! facts that decided it and a fix.
//!
//! The flow is a directed graph of steps with one virtual exit after every `end` step. Approval
//! must *dominate* every step that issues a credential, stages or collects data, or touches
//! confidential or restricted data (every path from the start passes an approval first);
//! revocation of a credential must *post-dominate* its issuance (every way from the issuance out
//! of the flow passes a revocation of it). Both use petgraph's dominator trees; where no single
//! step dominates, the rule still holds if every path passes *some* approval (or revocation),
//! which a search that avoids those steps decides, and a failure names the path that escapes.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use petgraph::algo::dominators::{self, Dominators};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::Reversed;

use super::model::{Flow, Step, StepKind, Ttl};
use super::spiffe;
use crate::compliance::{CheckInfo, Severity, Status};
use crate::model::{Action, ActionSet, Autonomy, Estate, IdentityKind, Sensitivity};

/// The design limits flows are checked against (settings, with these defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowLimits {
    /// The longest a just-in-time grant may live once issued.
    pub max_grant_ttl: Ttl,
    /// The longest a credential (its max TTL, or TTL when it has none) may live.
    pub max_credential_ttl: Ttl,
}

impl Default for FlowLimits {
    fn default() -> Self {
        FlowLimits {
            max_grant_ttl: Ttl::from_secs(3600),
            max_credential_ttl: Ttl::from_secs(3600),
        }
    }
}

/// The checks a flow is verified with, in report order (drift checks are in `drift.rs`).
pub const FLOW_CHECKS: &[CheckInfo] = &[
    CheckInfo {
        id: "flow-structure",
        title: "Every step is reachable from the start and leads to an end",
        severity: Severity::High,
        subject: "every flow",
    },
    CheckInfo {
        id: "flow-approval-dominates",
        title: "Approval comes before credential issuance, staging and sensitive data",
        severity: Severity::Critical,
        subject: "every step that issues, stages or touches confidential data",
    },
    CheckInfo {
        id: "flow-revocation-postdominates",
        title: "Every way out of the flow revokes each issued credential",
        severity: Severity::High,
        subject: "every issue step",
    },
    CheckInfo {
        id: "flow-no-standing-access",
        title: "Grants and credentials are short-lived and gated",
        severity: Severity::High,
        subject: "every grant and issue step",
    },
    CheckInfo {
        id: "flow-least-privilege",
        title: "Grants match what the steps use",
        severity: Severity::Medium,
        subject: "every grant and tool call",
    },
    CheckInfo {
        id: "flow-separation-of-duties",
        title: "Approvers are neither the agent's owner nor the flow's author",
        severity: Severity::High,
        subject: "every approval step",
    },
    CheckInfo {
        id: "flow-workload-identity",
        title: "The task's identity is its own and not a person's",
        severity: Severity::High,
        subject: "every flow",
    },
];

/// One verification result about one subject of one flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFinding {
    /// `check@flow/subject`, stable across runs.
    pub id: String,
    pub check: &'static str,
    pub flow: String,
    /// The step the finding is about (absent for findings about the flow or a grant).
    pub step: Option<String>,
    /// The step, grant or flow id the finding is about.
    pub subject: String,
    pub status: Status,
    pub severity: Severity,
    pub summary: String,
    /// The facts that decided it, one per line.
    pub evidence: Vec<String>,
    /// How to fix a failure.
    pub hint: Option<String>,
    /// Step ids of the path that shows a failure (e.g. the way from start to staging that
    /// passes no approval).
    pub path: Vec<String>,
    /// Inventory entities involved (agent, resources, identities).
    pub entities: Vec<String>,
}

/// What a flow is verified against besides itself.
#[derive(Debug, Clone, Copy)]
pub struct FlowContext<'a> {
    /// The inventory (sensitivity of resources, the agent's owner and autonomy, identities).
    pub estate: Option<&'a Estate>,
    /// The other stored flows (an identity must not be shared with another task).
    pub other_flows: &'a [Flow],
    pub limits: FlowLimits,
}

/// The flow as a petgraph graph: node `i` is `flow.steps[i]`, the last node the virtual exit.
#[derive(Debug)]
pub struct FlowGraph {
    pub graph: DiGraph<(), ()>,
    pub start: Option<NodeIndex>,
    pub exit: NodeIndex,
}

impl FlowGraph {
    pub fn build(flow: &Flow) -> FlowGraph {
        let mut graph = DiGraph::with_capacity(flow.steps.len() + 1, flow.steps.len() * 2);
        let index: BTreeMap<&str, NodeIndex> = flow
            .steps
            .iter()
            .map(|s| (s.id.as_str(), graph.add_node(())))
            .collect();
        let exit = graph.add_node(());
        for (i, step) in flow.steps.iter().enumerate() {
            let from = NodeIndex::new(i);
            for next in &step.next {
                if let Some(&to) = index.get(next.as_str()) {
                    graph.update_edge(from, to, ());
                }
            }
            if step.kind == StepKind::End {
                graph.update_edge(from, exit, ());
            }
        }
        FlowGraph {
            start: index.get(flow.start.as_str()).copied(),
            graph,
            exit,
        }
    }

    /// The nodes reachable from `from` without entering `blocked`, and a BFS parent of each.
    fn search(
        &self,
        from: NodeIndex,
        blocked: &dyn Fn(NodeIndex) -> bool,
        reversed: bool,
    ) -> BTreeMap<NodeIndex, Option<NodeIndex>> {
        let mut parent = BTreeMap::from([(from, None)]);
        let mut queue = VecDeque::from([from]);
        let direction = if reversed {
            petgraph::Direction::Incoming
        } else {
            petgraph::Direction::Outgoing
        };
        while let Some(node) = queue.pop_front() {
            for next in self.graph.neighbors_directed(node, direction) {
                if !blocked(next) && !parent.contains_key(&next) {
                    parent.insert(next, Some(node));
                    queue.push_back(next);
                }
            }
        }
        parent
    }

    /// A shortest path from `from` to `to` that enters no `blocked` step, as step ids.
    fn escaping_path(
        &self,
        flow: &Flow,
        from: NodeIndex,
        to: NodeIndex,
        blocked: &dyn Fn(NodeIndex) -> bool,
    ) -> Option<Vec<String>> {
        let parent = self.search(from, blocked, false);
        parent.get(&to)?;
        let mut path = Vec::new();
        let mut at = Some(to);
        while let Some(node) = at {
            if node != self.exit {
                path.push(flow.steps[node.index()].id.clone());
            }
            at = parent[&node];
        }
        path.reverse();
        Some(path)
    }
}

/// Verifies `flow` in full; findings come out in [`FLOW_CHECKS`] order, then in step order.
pub fn verify_flow(flow: &Flow, context: &FlowContext<'_>) -> Vec<FlowFinding> {
    let graph = FlowGraph::build(flow);
    let facts = Facts::new(flow, context);
    let mut out = Vec::new();
    structure(flow, &graph, &mut out);
    if let Some(start) = graph.start {
        let dominators = dominators::simple_fast(&graph.graph, start);
        let post_dominators = dominators::simple_fast(Reversed(&graph.graph), graph.exit);
        approval_dominates(flow, &graph, &dominators, &facts, &mut out);
        revocation_post_dominates(flow, &graph, &post_dominators, &mut out);
        no_standing_access(flow, &graph, &facts, context, &mut out);
        least_privilege(flow, &graph, &mut out);
    }
    separation_of_duties(flow, &facts, &mut out);
    workload_identity(flow, context, &mut out);
    out
}

/// What the inventory (and, where it is silent, the flow) says about the agent and resources.
struct Facts<'a> {
    /// The agent's owners: the inventory's and the one the flow names (usually the same).
    owners: Vec<String>,
    /// Why no owner is known, when none is.
    owner_unknown: Option<String>,
    autonomy: Option<Autonomy>,
    /// Where the autonomy comes from, for the evidence.
    autonomy_source: &'static str,
    sensitivity: BTreeMap<&'a str, Sensitivity>,
}

impl<'a> Facts<'a> {
    fn new(flow: &Flow, context: &FlowContext<'a>) -> Facts<'a> {
        let agent = context
            .estate
            .and_then(|e| e.agents.iter().find(|a| a.id == flow.agent));
        let mut owners: Vec<String> = agent
            .and_then(|a| a.owner.clone())
            .into_iter()
            .chain(flow.owner.clone())
            .collect();
        owners.dedup_by(|a, b| same_person(a, b));
        let owner_unknown = owners.is_empty().then(|| match agent {
            None => format!(
                "agent {} is not in the inventory and the flow names no owner",
                flow.agent
            ),
            Some(_) => format!("agent {} has no owner recorded", flow.agent),
        });
        let (autonomy, autonomy_source) = match agent {
            Some(a) => (Some(a.autonomy), "the inventory"),
            None => (
                flow.autonomy.as_deref().and_then(Autonomy::parse),
                "the flow (the agent is not in the inventory)",
            ),
        };
        Facts {
            owners,
            owner_unknown,
            autonomy,
            autonomy_source,
            sensitivity: context
                .estate
                .map(|e| {
                    e.resources
                        .iter()
                        .map(|r| (r.id.as_str(), r.sensitivity))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

fn finding(
    check: &'static str,
    flow: &Flow,
    step: Option<&Step>,
    subject: &str,
    status: Status,
    summary: String,
) -> FlowFinding {
    let mut f = FlowFinding::new(
        FLOW_CHECKS,
        check,
        flow,
        step.map(|s| s.id.as_str()),
        subject,
    );
    f.status = status;
    f.summary = summary;
    f
}

impl FlowFinding {
    /// A passing finding of `check` (one of `checks`) about `subject` of `flow`, to be filled in.
    pub(super) fn new(
        checks: &'static [CheckInfo],
        check: &'static str,
        flow: &Flow,
        step: Option<&str>,
        subject: &str,
    ) -> FlowFinding {
        let info = checks
            .iter()
            .find(|c| c.id == check)
            .expect("every flow check is listed");
        FlowFinding {
            id: format!("{check}@{}/{subject}", flow.id),
            check,
            flow: flow.id.clone(),
            step: step.map(str::to_owned),
            subject: subject.to_owned(),
            status: Status::Pass,
            severity: info.severity,
            summary: String::new(),
            evidence: Vec::new(),
            hint: None,
            path: Vec::new(),
            entities: vec![flow.agent.clone()],
        }
    }
}

fn structure(flow: &Flow, graph: &FlowGraph, out: &mut Vec<FlowFinding>) {
    let mut f = finding(
        "flow-structure",
        flow,
        None,
        "graph",
        Status::Pass,
        format!(
            "All {} steps lie on a way from `{}` to an end",
            flow.steps.len(),
            flow.start
        ),
    );
    let Some(start) = graph.start else {
        f.status = Status::Fail;
        f.summary = format!("The start step `{}` does not exist", flow.start);
        out.push(f);
        return;
    };
    let from_start = graph.search(start, &|_| false, false);
    let to_exit = graph.search(graph.exit, &|_| false, true);
    let unreachable: Vec<&str> = flow
        .steps
        .iter()
        .enumerate()
        .filter(|(i, _)| !from_start.contains_key(&NodeIndex::new(*i)))
        .map(|(_, s)| s.id.as_str())
        .collect();
    let trapped: Vec<&str> = flow
        .steps
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            from_start.contains_key(&NodeIndex::new(*i))
                && !to_exit.contains_key(&NodeIndex::new(*i))
        })
        .map(|(_, s)| s.id.as_str())
        .collect();
    if !unreachable.is_empty() {
        f.evidence.push(format!(
            "not reachable from `{}`: {}",
            flow.start,
            unreachable.join(", ")
        ));
    }
    if !trapped.is_empty() {
        f.evidence.push(format!(
            "no way on to an `end` step from: {}",
            trapped.join(", ")
        ));
    }
    if !f.evidence.is_empty() {
        f.status = Status::Fail;
        f.summary = "Some steps are not on any way from the start to an end".to_owned();
        f.hint = Some(
            "Connect every step with `next` so that it is reached from the start and leads to an `end` step; a loop with no way out never revokes."
                .to_owned(),
        );
    }
    out.push(f);
}

/// Why a step needs approval before it, if it does.
fn needs_approval(flow: &Flow, step: &Step, facts: &Facts<'_>) -> Option<String> {
    match (&step.issue, &step.tool_call) {
        (Some(issue), _) => Some(format!(
            "issues a credential ({} role {})",
            issue.broker, issue.role
        )),
        (_, Some(call)) => {
            if let Some(data) = &call.stages {
                return Some(format!("stages or collects data ({data})"));
            }
            match facts.sensitivity.get(call.resource.as_str()) {
                Some(&s) if s >= Sensitivity::Confidential => Some(format!(
                    "touches {} ({} in the inventory)",
                    call.resource,
                    s.as_str()
                )),
                Some(_) => None,
                None => match Sensitivity::parse(&flow.data_sensitivity) {
                    Some(s) if s >= Sensitivity::Confidential => Some(format!(
                        "touches {} (not in the inventory; the task's data is {})",
                        call.resource,
                        s.as_str()
                    )),
                    _ => None,
                },
            }
        }
        _ => None,
    }
}

fn is_approval(flow: &Flow, node: NodeIndex) -> bool {
    flow.steps
        .get(node.index())
        .is_some_and(|s| s.kind == StepKind::Approval)
}

fn approval_dominates(
    flow: &Flow,
    graph: &FlowGraph,
    dominators: &Dominators<NodeIndex>,
    facts: &Facts<'_>,
    out: &mut Vec<FlowFinding>,
) {
    let start = graph.start.expect("checked by the caller");
    for (i, step) in flow.steps.iter().enumerate() {
        let node = NodeIndex::new(i);
        let Some(reason) = needs_approval(flow, step, facts) else {
            continue;
        };
        let Some(mut chain) = dominators.strict_dominators(node) else {
            continue; // unreachable: the structure finding says so
        };
        let mut f = finding(
            "flow-approval-dominates",
            flow,
            Some(step),
            &step.id,
            Status::Pass,
            String::new(),
        );
        f.evidence.push(format!("`{}` {reason}", step.id));
        if let Some(call) = &step.tool_call {
            f.entities.push(call.resource.clone());
        }
        if let Some(approval) = chain.find(|&d| is_approval(flow, d)) {
            let approval = &flow.steps[approval.index()].id;
            f.summary = format!(
                "Approval `{approval}` comes before `{}` on every path",
                step.id
            );
            f.evidence.push(format!(
                "`{approval}` dominates `{}` in the flow graph",
                step.id
            ));
        } else if let Some(path) = graph.escaping_path(flow, start, node, &|n| is_approval(flow, n))
        {
            f.status = Status::Fail;
            let later: Vec<&str> = flow
                .steps
                .iter()
                .enumerate()
                .filter(|(j, s)| {
                    s.kind == StepKind::Approval
                        && dominators
                            .strict_dominators(NodeIndex::new(*j))
                            .is_some_and(|mut d| d.any(|d| d == node))
                })
                .map(|(_, s)| s.id.as_str())
                .collect();
            f.summary = if later.is_empty() {
                format!("`{}` can run without any approval before it", step.id)
            } else {
                format!(
                    "`{}` runs before its approval {}: approval after the fact is not control",
                    step.id,
                    later
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            f.evidence
                .push(format!("path with no approval: {}", path.join(" → ")));
            f.hint = Some(match later.first() {
                Some(approval) => match path.len().checked_sub(2).map(|i| &path[i]) {
                    Some(before) => format!(
                        "Move approval `{approval}` before `{}` (e.g. between `{before}` and `{}`).",
                        step.id, step.id
                    ),
                    // `step` is the start itself.
                    None => format!(
                        "Move approval `{approval}` before `{}`: make it the start, leading to `{}`.",
                        step.id, step.id
                    ),
                },
                None => format!(
                    "Add an approval step on every way from `{}` to `{}`.",
                    flow.start, step.id
                ),
            });
            f.path = path;
        } else {
            f.summary = format!(
                "Every path to `{}` passes an approval (on each branch its own)",
                step.id
            );
            f.evidence
                .push("no path from the start avoids every approval step".to_owned());
        }
        out.push(f);
    }
}

fn revocation_post_dominates(
    flow: &Flow,
    graph: &FlowGraph,
    post_dominators: &Dominators<NodeIndex>,
    out: &mut Vec<FlowFinding>,
) {
    for (i, step) in flow.steps.iter().enumerate() {
        if step.kind != StepKind::Issue {
            continue;
        }
        let node = NodeIndex::new(i);
        let revokes = |n: NodeIndex| {
            flow.steps.get(n.index()).is_some_and(|s| {
                s.kind == StepKind::Revoke && s.revoke.as_ref().is_none_or(|r| r.covers(&step.id))
            })
        };
        let mut f = finding(
            "flow-revocation-postdominates",
            flow,
            Some(step),
            &step.id,
            Status::Pass,
            String::new(),
        );
        let Some(mut chain) = post_dominators.strict_dominators(node) else {
            // No way to an end at all: the structure finding names it; nothing revokes here.
            f.status = Status::Fail;
            f.summary = format!(
                "No way from `{}` reaches an end, so nothing revokes it",
                step.id
            );
            f.hint = Some(format!(
                "Lead `{}` on to a revoke step and an end.",
                step.id
            ));
            out.push(f);
            continue;
        };
        if let Some(revoke) = chain.find(|&d| revokes(d)) {
            let revoke = &flow.steps[revoke.index()].id;
            f.summary = format!(
                "Revocation `{revoke}` follows `{}` on every way out",
                step.id
            );
            f.evidence.push(format!(
                "`{revoke}` post-dominates `{}` in the flow graph",
                step.id
            ));
        } else if let Some(path) = graph.escaping_path(flow, node, graph.exit, &revokes) {
            f.status = Status::Fail;
            f.summary = format!(
                "A way out of the flow after `{}` never revokes its credential",
                step.id
            );
            f.evidence
                .push(format!("path with no revocation: {}", path.join(" → ")));
            f.hint = Some(format!(
                "Add a revoke step (covering `{}`) before `{}`, or on every branch to an end.",
                step.id,
                path.last().map_or("the end", String::as_str)
            ));
            f.path = path;
        } else {
            f.summary = format!(
                "Every way out after `{}` passes a revocation of it",
                step.id
            );
            f.evidence
                .push("no path to an end avoids every revoke step that covers it".to_owned());
        }
        out.push(f);
    }
}

/// Whether every path from the start to `node` passes an approval.
fn approval_gated(flow: &Flow, graph: &FlowGraph, node: NodeIndex) -> bool {
    let Some(start) = graph.start else {
        return false;
    };
    is_approval(flow, start)
        || graph
            .escaping_path(flow, start, node, &|n| is_approval(flow, n))
            .is_none()
}

fn no_standing_access(
    flow: &Flow,
    graph: &FlowGraph,
    facts: &Facts<'_>,
    context: &FlowContext<'_>,
    out: &mut Vec<FlowFinding>,
) {
    let limits = context.limits;
    for grant in &flow.grants {
        let mut f = finding(
            "flow-no-standing-access",
            flow,
            None,
            &grant.id,
            Status::Pass,
            String::new(),
        );
        f.entities.push(grant.resource.clone());
        match grant.ttl {
            None => {
                f.status = Status::Fail;
                f.summary = format!("Grant `{}` has no TTL: it is standing access", grant.id);
                f.hint = Some(format!(
                    "Give `{}` a `ttl` of at most {}.",
                    grant.id, limits.max_grant_ttl
                ));
            }
            Some(ttl) if ttl > limits.max_grant_ttl => {
                f.status = Status::Fail;
                f.summary = format!(
                    "Grant `{}` lives {ttl}, above the limit of {}",
                    grant.id, limits.max_grant_ttl
                );
                f.hint = Some(format!(
                    "Shorten its `ttl` to {} or less.",
                    limits.max_grant_ttl
                ));
            }
            Some(ttl) => {
                f.evidence
                    .push(format!("ttl {ttl} ≤ limit {}", limits.max_grant_ttl));
            }
        }
        if f.status == Status::Pass {
            let carriers: Vec<usize> = flow
                .steps
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    s.issue
                        .as_ref()
                        .is_some_and(|i| i.grants.contains(&grant.id))
                })
                .map(|(i, _)| i)
                .collect();
            let gated = !carriers.is_empty()
                && carriers
                    .iter()
                    .all(|&i| approval_gated(flow, graph, NodeIndex::new(i)));
            match facts.autonomy {
                None => {
                    f.status = Status::Unknown;
                    f.summary = format!(
                        "Grant `{}` is short-lived; whether it needs a gate is unknown",
                        grant.id
                    );
                    f.evidence.push(format!(
                        "agent {} is not in the inventory and the flow does not declare its autonomy",
                        flow.agent
                    ));
                }
                Some(Autonomy::Autonomous) if !gated && grant.condition.is_none() => {
                    f.status = Status::Fail;
                    f.summary = format!(
                        "Autonomous agent gets grant `{}` with neither an approval nor a policy condition",
                        grant.id
                    );
                    f.evidence.push(format!(
                        "{} is autonomous (from {})",
                        flow.agent, facts.autonomy_source
                    ));
                    f.hint = Some(format!(
                        "Issue `{}` only after an approval step, or give it a `condition` the policy checks.",
                        grant.id
                    ));
                }
                Some(autonomy) => {
                    f.summary = format!("Grant `{}` is just in time", grant.id);
                    f.evidence.push(format!(
                        "{} is {}; {}",
                        flow.agent,
                        autonomy.as_str(),
                        if gated {
                            "its issuance is approval-gated".to_owned()
                        } else if let Some(c) = &grant.condition {
                            format!("condition: {c}")
                        } else {
                            "no gate is required".to_owned()
                        }
                    ));
                }
            }
        }
        out.push(f);
    }
    for step in &flow.steps {
        let Some(issue) = &step.issue else { continue };
        let mut f = finding(
            "flow-no-standing-access",
            flow,
            Some(step),
            &step.id,
            Status::Pass,
            String::new(),
        );
        let lifetime = issue.max_ttl.unwrap_or(issue.ttl);
        let mut problems = Vec::new();
        if issue.ttl > limits.max_credential_ttl {
            problems.push(format!(
                "ttl {} > limit {}",
                issue.ttl, limits.max_credential_ttl
            ));
        }
        if let Some(max) = issue.max_ttl
            && max > limits.max_credential_ttl
        {
            problems.push(format!(
                "max_ttl {max} > limit {}",
                limits.max_credential_ttl
            ));
        }
        if issue.renewable && issue.max_ttl.is_none() {
            problems.push("renewable without a max_ttl: it can be renewed forever".to_owned());
        }
        if problems.is_empty() {
            f.summary = format!("Credential from `{}` lives at most {lifetime}", step.id);
            f.evidence.push(format!(
                "ttl {}, max_ttl {}, renewable {}, single use {}",
                issue.ttl,
                issue.max_ttl.map_or("none".to_owned(), |t| t.to_string()),
                issue.renewable,
                issue.single_use
            ));
        } else {
            f.status = Status::Fail;
            f.summary = format!("Credential from `{}` can outlive the limit", step.id);
            f.evidence = problems;
            f.hint = Some(format!(
                "Set ttl and max_ttl of `{}` to {} or less.",
                step.id, limits.max_credential_ttl
            ));
        }
        out.push(f);
    }
}

fn action_set(words: &[String]) -> ActionSet {
    let mut set = ActionSet::EMPTY;
    for word in words {
        if let Some(action) = Action::parse(word) {
            set.insert(action);
        }
    }
    set
}

/// Whether a grant of `granted` covers the need for `needed` (admin includes read and write).
fn covers(granted: ActionSet, needed: Action) -> bool {
    granted.contains(needed)
        || (granted.contains(Action::Admin) && matches!(needed, Action::Read | Action::Write))
}

fn least_privilege(flow: &Flow, graph: &FlowGraph, out: &mut Vec<FlowFinding>) {
    let calls: Vec<(usize, &Step, &super::model::ToolCall)> = flow
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.tool_call.as_ref().map(|c| (i, s, c)))
        .collect();
    for grant in &flow.grants {
        let granted = action_set(&grant.actions);
        let mut used = ActionSet::EMPTY;
        let mut users = Vec::new();
        for (_, step, call) in &calls {
            if call.resource != grant.resource {
                continue;
            }
            for needed in action_set(&call.actions).iter() {
                if granted.contains(needed) {
                    used.insert(needed);
                    users.push(step.id.as_str());
                } else if covers(granted, needed) {
                    used.insert(Action::Admin);
                    users.push(step.id.as_str());
                }
            }
        }
        users.dedup();
        let issued = flow.steps.iter().any(|s| {
            s.issue
                .as_ref()
                .is_some_and(|i| i.grants.contains(&grant.id))
        });
        let unused = granted.difference(used);
        let mut f = finding(
            "flow-least-privilege",
            flow,
            None,
            &grant.id,
            Status::Pass,
            format!("Grant `{}` is used by {}", grant.id, users.join(", ")),
        );
        f.entities.push(grant.resource.clone());
        if users.is_empty() {
            f.status = Status::Fail;
            f.summary = format!("Grant `{}` is used by no step", grant.id);
            f.evidence.push(format!(
                "no tool call touches {} with {}",
                grant.resource,
                grant.actions.join(", ")
            ));
            f.hint = Some(format!("Remove grant `{}`.", grant.id));
        } else if !unused.is_empty() {
            f.status = Status::Fail;
            f.summary = format!(
                "Grant `{}` allows {} that no step uses",
                grant.id,
                unused.words().join(", ")
            );
            f.evidence.push(format!(
                "used: {} by {}",
                used.words().join(", "),
                users.join(", ")
            ));
            f.hint = Some(format!(
                "Narrow `{}` to {}.",
                grant.id,
                used.words().join(", ")
            ));
        } else if !issued {
            f.status = Status::Fail;
            f.summary = format!("Grant `{}` is never issued by an issue step", grant.id);
            f.hint = Some(format!(
                "Name `{}` in the `grants` of an issue step.",
                grant.id
            ));
        }
        out.push(f);
    }
    for (i, step, call) in calls {
        let mut f = finding(
            "flow-least-privilege",
            flow,
            Some(step),
            &step.id,
            Status::Pass,
            String::new(),
        );
        f.entities.push(call.resource.clone());
        let mut missing = Vec::new();
        let mut not_issued_before = Vec::new();
        for needed in action_set(&call.actions).iter() {
            let grants: Vec<&str> = flow
                .grants
                .iter()
                .filter(|g| g.resource == call.resource && covers(action_set(&g.actions), needed))
                .map(|g| g.id.as_str())
                .collect();
            if grants.is_empty() {
                missing.push(needed.as_str());
                continue;
            }
            // The credential carrying one of those grants must be issued on every way here.
            let carries = |n: NodeIndex| {
                flow.steps.get(n.index()).is_some_and(|s| {
                    s.issue.as_ref().is_some_and(|issue| {
                        issue.grants.iter().any(|g| grants.contains(&g.as_str()))
                    })
                })
            };
            if let Some(start) = graph.start
                && !carries(start)
                && graph
                    .escaping_path(flow, start, NodeIndex::new(i), &carries)
                    .is_some()
            {
                not_issued_before.push(format!("{} (via {})", needed.as_str(), grants.join(", ")));
            }
        }
        if !missing.is_empty() {
            f.status = Status::Fail;
            f.summary = format!(
                "`{}` needs {} on {} that the flow does not declare",
                step.id,
                missing.join(", "),
                call.resource
            );
            f.hint = Some(format!(
                "Declare a grant of {} on {} (with a TTL) and issue it before `{}`.",
                missing.join(", "),
                call.resource,
                step.id
            ));
        } else if !not_issued_before.is_empty() {
            f.status = Status::Fail;
            f.summary = format!(
                "`{}` can run before the credential it needs is issued",
                step.id
            );
            f.evidence.push(format!(
                "not issued on every way here: {}",
                not_issued_before.join("; ")
            ));
            f.hint = Some(format!("Issue the credential before `{}`.", step.id));
        } else {
            f.summary = format!(
                "`{}` uses only declared grants ({} on {})",
                step.id,
                call.actions.join(", "),
                call.resource
            );
        }
        out.push(f);
    }
}

fn same_person(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn separation_of_duties(flow: &Flow, facts: &Facts<'_>, out: &mut Vec<FlowFinding>) {
    for step in &flow.steps {
        let Some(approval) = &step.approval else {
            continue;
        };
        let mut f = finding(
            "flow-separation-of-duties",
            flow,
            Some(step),
            &step.id,
            Status::Pass,
            String::new(),
        );
        let mut conflicts = Vec::new();
        let mut unknowns = Vec::new();
        let mut people: Vec<(&str, String)> = Vec::new();
        for approver in &approval.approvers {
            if let Some(person) = &approver.person {
                people.push((person, format!("person {person}")));
            } else if let Some(role) = &approver.role {
                if approver.members.is_empty() {
                    unknowns.push(format!("role {role} lists no members"));
                }
                for member in &approver.members {
                    people.push((member, format!("{member} (role {role})")));
                }
            }
        }
        if let Some(why) = &facts.owner_unknown {
            unknowns.push(why.clone());
        }
        for owner in &facts.owners {
            for (person, label) in &people {
                if same_person(person, owner) {
                    conflicts.push(format!("{label} owns the agent {}", flow.agent));
                }
            }
        }
        match &flow.author {
            None => unknowns.push("the flow names no author".to_owned()),
            Some(author) => {
                for (person, label) in &people {
                    if same_person(person, author) {
                        conflicts.push(format!("{label} is the flow's author"));
                    }
                }
            }
        }
        if !conflicts.is_empty() {
            f.status = Status::Fail;
            f.summary = format!("`{}` can be approved by someone it should not be", step.id);
            f.evidence = conflicts;
            f.hint =
                Some("Name an approver who neither owns the agent nor wrote the flow.".to_owned());
        } else if !unknowns.is_empty() {
            f.status = Status::Unknown;
            f.summary = format!("Separation of duties at `{}` cannot be decided", step.id);
            f.evidence = unknowns;
            f.hint =
                Some("Record the agent's owner, the flow's author and role members.".to_owned());
        } else {
            f.summary = format!(
                "Approvers of `{}` are independent of the agent's owner and the author",
                step.id
            );
            f.evidence.push(format!(
                "approvers: {}",
                people
                    .iter()
                    .map(|(_, l)| l.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out.push(f);
    }
}

fn workload_identity(flow: &Flow, context: &FlowContext<'_>, out: &mut Vec<FlowFinding>) {
    let mut f = finding(
        "flow-workload-identity",
        flow,
        None,
        "identity",
        Status::Pass,
        String::new(),
    );
    let Ok(pattern) = spiffe::run_pattern(&flow.identity.spiffe_id, &flow.agent, &flow.id) else {
        return; // a document error, reported when the flow was read
    };
    f.evidence.push(format!("runs as {pattern}"));
    let mut problems = Vec::new();
    for other in context.other_flows {
        if other.id == flow.id {
            continue;
        }
        let Ok(theirs) = spiffe::run_pattern(&other.identity.spiffe_id, &other.agent, &other.id)
        else {
            continue;
        };
        if spiffe::patterns_overlap(&pattern, &theirs) {
            problems.push(format!(
                "flow {} (agent {}) can run as the same ID ({theirs})",
                other.id, other.agent
            ));
        }
    }
    if let Some(estate) = context.estate {
        for identity in estate
            .identities
            .iter()
            .filter(|i| spiffe::pattern_matches(&pattern, &i.id) || i.id == pattern)
        {
            f.entities.push(identity.id.clone());
            if identity.kind == IdentityKind::Human {
                problems.push(format!("{} is a human identity", identity.id));
            }
            for agent in estate
                .agents
                .iter()
                .filter(|a| a.id != flow.agent && a.runs_as.contains(&identity.id))
            {
                problems.push(format!(
                    "{} is also used by agent {}",
                    identity.id, agent.id
                ));
            }
        }
    }
    if !pattern.contains('*') && !flow.identity.spiffe_id.contains("{task}") {
        f.evidence.push(
            "the ID names neither the task nor the run: other tasks of the agent must not reuse it"
                .to_owned(),
        );
    }
    if problems.is_empty() {
        f.summary = "The task's workload identity is its own".to_owned();
    } else {
        f.status = Status::Fail;
        f.summary = "The task's workload identity is shared or a person's".to_owned();
        f.evidence.extend(problems);
        f.hint = Some(
            "Give the task its own SPIFFE ID, e.g. spiffe://<trust domain>/agents/{agent}/{task}/{run}."
                .to_owned(),
        );
    }
    out.push(f);
}

/// Steps in the order a reader follows them: breadth first from the start, then the rest.
pub fn step_order(flow: &Flow) -> Vec<usize> {
    let graph = FlowGraph::build(flow);
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    if let Some(start) = graph.start {
        let mut queue = VecDeque::from([start]);
        seen.insert(start);
        while let Some(node) = queue.pop_front() {
            if node == graph.exit {
                continue;
            }
            order.push(node.index());
            for next in &flow.steps[node.index()].next {
                if let Some(j) = flow.steps.iter().position(|s| &s.id == next) {
                    let n = NodeIndex::new(j);
                    if seen.insert(n) {
                        queue.push_back(n);
                    }
                }
            }
        }
    }
    for i in 0..flow.steps.len() {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    order
}
