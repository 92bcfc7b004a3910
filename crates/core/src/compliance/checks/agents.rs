//! The checks about each agent: its owner, the identity it runs as, and the standing grants it
//! holds (directly or through its identities).

use super::index::{Found, Index, describe_grant};
use super::{Limits, Severity, Status};
use crate::model::{
    Action, ActionSet, Agent, Autonomy, Grant, IdentityKind, Resource, ResourceKind, Sensitivity,
};

/// `agent-owner`: one finding for every agent.
pub(super) fn owner(out: &mut Found<'_>, ix: &Index<'_>, _limits: &Limits) {
    for a in &ix.estate.agents {
        match &a.owner {
            Some(owner) => out.pass(|b| {
                b.finding(
                    &a.id,
                    Status::Pass,
                    format!("owned by {owner}"),
                    vec![format!("owner: {owner}")],
                )
            }),
            None => out.push(out.builder().finding(
                &a.id,
                Status::Fail,
                "agent has no owner",
                vec!["owner: null (unknown or orphaned)".to_owned()],
            )),
        }
    }
}

/// `agent-workload-identity`: one finding for every agent.
pub(super) fn workload_identity(out: &mut Found<'_>, ix: &Index<'_>, _limits: &Limits) {
    for a in &ix.estate.agents {
        agent_workload_identity(out, ix, a);
    }
}

/// `autonomous-standing-access`: one finding for every autonomous agent.
pub(super) fn standing_access(out: &mut Found<'_>, ix: &Index<'_>, _limits: &Limits) {
    for a in ix
        .estate
        .agents
        .iter()
        .filter(|a| a.autonomy == Autonomy::Autonomous)
    {
        let standing: Vec<&Grant> = ix
            .agent_grants(a)
            .into_iter()
            .filter(|g| g.standing)
            .collect();
        if standing.is_empty() {
            out.pass(|b| b.finding(&a.id, Status::Pass, "no standing grant", vec![]));
            continue;
        }
        // Standing admin, or standing access to restricted data, a crown jewel or a secret
        // store, is the severe case; other standing grants are medium.
        let severe = standing.iter().any(|g| {
            g.actions.contains(Action::Admin)
                || ix.resources.get(g.target.as_str()).is_some_and(|r| {
                    r.crown_jewel
                        || r.sensitivity == Sensitivity::Restricted
                        || r.kind == ResourceKind::SecretStore
                })
        });
        out.push(
            out.builder()
                .finding(
                    &a.id,
                    Status::Fail,
                    format!(
                        "autonomous agent holds {} standing grant(s)",
                        standing.len()
                    ),
                    standing.iter().map(|g| describe_grant(g)).collect(),
                )
                .with_entities(standing.iter().map(|g| g.id.clone()))
                .with_severity(if severe {
                    Severity::High
                } else {
                    Severity::Medium
                }),
        );
    }
}

/// `approval-gated-data-access`: one finding for every supervised or assistive agent.
pub(super) fn approval_gated(out: &mut Found<'_>, ix: &Index<'_>, _limits: &Limits) {
    for a in ix
        .estate
        .agents
        .iter()
        .filter(|a| a.autonomy != Autonomy::Autonomous)
    {
        approval_gated_agent(out, ix, a);
    }
}

fn agent_workload_identity(out: &mut Found<'_>, ix: &Index<'_>, a: &Agent) {
    if a.runs_as.is_empty() {
        out.push(out.builder().finding(
            &a.id,
            Status::Fail,
            "agent has no identity of its own",
            vec!["runs_as: [] (it acts only through grants made to the agent itself)".to_owned()],
        ));
        return;
    }
    let mut problems = Vec::new();
    let mut unknown = Vec::new();
    let mut others = Vec::new();
    for id in &a.runs_as {
        match ix.identities.get(id.as_str()) {
            None => unknown.push(format!("{id} is not in the inventory")),
            Some(i) if i.kind == IdentityKind::Human => {
                problems.push(format!("runs as {id}, a human identity"))
            }
            Some(_) => {
                let sharing: Vec<&str> = ix
                    .agents_of_identity
                    .get(id.as_str())
                    .into_iter()
                    .flatten()
                    .filter(|other| other.id != a.id)
                    .map(|other| other.id.as_str())
                    .collect();
                if !sharing.is_empty() {
                    problems.push(format!("{id} is shared with {}", sharing.join(", ")));
                    others.extend(sharing.iter().map(|s| s.to_string()));
                }
            }
        }
    }
    let identities = a.runs_as.iter().cloned();
    if !problems.is_empty() {
        out.push(
            out.builder()
                .finding(&a.id, Status::Fail, problems[0].clone(), problems)
                .with_entities(identities)
                .with_entities(others),
        );
    } else if !unknown.is_empty() {
        out.push(
            out.builder()
                .finding(
                    &a.id,
                    Status::Unknown,
                    "identity not in the inventory",
                    unknown,
                )
                .with_entities(identities),
        );
    } else {
        out.pass(|b| {
            let kinds: Vec<String> = a
                .runs_as
                .iter()
                .filter_map(|id| ix.identities.get(id.as_str()))
                .map(|i| format!("{} ({})", i.id, i.kind))
                .collect();
            b.finding(
                &a.id,
                Status::Pass,
                format!("runs as {}", a.runs_as.join(", ")),
                vec![format!("own workload identity: {}", kinds.join(", "))],
            )
            .with_entities(identities)
        });
    }
}

/// A supervised or assistive agent is meant to act only after a person approves; standing grants
/// that read confidential data or change anything let it collect or stage before that approval.
fn approval_gated_agent(out: &mut Found<'_>, ix: &Index<'_>, a: &Agent) {
    let mut evidence = Vec::new();
    let mut entities = Vec::new();
    for g in ix.agent_grants(a).into_iter().filter(|g| g.standing) {
        let opens = |actions: ActionSet, r: &Resource| {
            actions.contains(Action::Write)
                || actions.contains(Action::Admin)
                || (actions.contains(Action::Read) && r.sensitivity >= Sensitivity::Confidential)
        };
        if let Some(r) = ix.resources.get(g.target.as_str()) {
            if opens(g.actions, r) {
                evidence.push(describe_grant(g));
                entities.push(g.id.clone());
            }
        } else if let Some(tool) = ix.tools.get(g.target.as_str())
            && g.actions.contains(Action::Invoke)
        {
            for entry in &tool.acts_on {
                if let Some(r) = ix.resources.get(entry.resource.as_str())
                    && opens(entry.actions, r)
                {
                    evidence.push(format!(
                        "{}; {} acts on {} [{}]",
                        describe_grant(g),
                        tool.id,
                        r.id,
                        entry.actions
                    ));
                    entities.push(g.id.clone());
                }
            }
        }
    }
    if evidence.is_empty() {
        out.pass(|b| {
            b.finding(
                &a.id,
                Status::Pass,
                format!("{} agent holds no standing data access", a.autonomy),
                vec![],
            )
        });
    } else {
        out.push(
            out.builder()
                .finding(
                    &a.id,
                    Status::Fail,
                    format!(
                        "{} agent can collect or change data before any approval",
                        a.autonomy
                    ),
                    evidence,
                )
                .with_entities(entities),
        );
    }
}
