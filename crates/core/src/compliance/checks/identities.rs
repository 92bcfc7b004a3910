//! The checks about identities: who runs as them, who owns them, and whether a person may act as
//! an agent's identity.

use std::collections::{BTreeSet, HashMap};

use super::index::{Found, Index};
use super::{Limits, Status};
use crate::model::{Action, Grant, IdentityKind};

/// `identity-not-shared`: one finding for every identity an agent runs as.
pub(super) fn not_shared(out: &mut Found<'_>, ix: &Index<'_>, _limits: &Limits) {
    for (identity, agents) in &ix.agents_of_identity {
        let names = || -> Vec<String> {
            agents
                .iter()
                .map(|a| {
                    format!(
                        "{} ({})",
                        a.id,
                        a.environment.as_deref().unwrap_or("environment unknown")
                    )
                })
                .collect()
        };
        if agents.len() > 1 {
            let environments: BTreeSet<_> =
                agents.iter().map(|a| a.environment.as_deref()).collect();
            let mut evidence = vec![format!(
                "{} agents run as it: {}",
                agents.len(),
                names().join(", ")
            )];
            if environments.len() > 1 {
                evidence.push("the agents run in different environments".to_owned());
            }
            out.push(
                out.builder()
                    .finding(
                        identity,
                        Status::Fail,
                        format!("identity shared by {} agents", agents.len()),
                        evidence,
                    )
                    .with_entities(agents.iter().map(|a| a.id.clone())),
            );
        } else {
            out.pass(|b| {
                b.finding(
                    identity,
                    Status::Pass,
                    format!("used by {} only", agents[0].id),
                    vec![format!("runs_as of {}", names().join(", "))],
                )
                .with_entities([agents[0].id.clone()])
            });
        }
    }
}

/// `identity-owner`: one finding for every non-human identity.
pub(super) fn owner(out: &mut Found<'_>, ix: &Index<'_>, _limits: &Limits) {
    for i in ix
        .estate
        .identities
        .iter()
        .filter(|i| i.kind != IdentityKind::Human)
    {
        match &i.owner {
            Some(owner) => out.pass(|b| {
                b.finding(
                    &i.id,
                    Status::Pass,
                    format!("owned by {owner}"),
                    vec![format!("owner: {owner}")],
                )
            }),
            None => out.push(out.builder().finding(
                &i.id,
                Status::Fail,
                "identity has no owner",
                vec![format!("{} identity with owner: null", i.kind)],
            )),
        }
    }
}

/// `human-use-of-nhi`: one finding for every non-human identity an agent runs as.
pub(super) fn human_use_of_nhi(out: &mut Found<'_>, ix: &Index<'_>, _limits: &Limits) {
    let at = ix.at;
    // One pass over the grants (in estate order, as the evidence lists them): the live grants
    // by which a person may assume or impersonate an identity some agent runs as.
    let mut human_grants: HashMap<&str, Vec<&Grant>> = HashMap::new();
    for grant in &ix.estate.grants {
        if ix.agents_of_identity.contains_key(grant.target.as_str())
            && (grant.actions.contains(Action::Assume)
                || grant.actions.contains(Action::Impersonate))
            && !grant.is_expired_at(at)
            && ix.is_human(&grant.subject)
        {
            human_grants
                .entry(grant.target.as_str())
                .or_default()
                .push(grant);
        }
    }
    for (identity, agents) in ix
        .agents_of_identity
        .iter()
        .filter(|(identity, _)| !ix.is_human(identity))
    {
        let runs_as = || {
            format!(
                "runs_as of {}",
                agents
                    .iter()
                    .map(|a| a.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let agent_ids = agents.iter().map(|a| a.id.clone());
        let Some(grants) = human_grants.get(identity) else {
            out.pass(|b| {
                b.finding(
                    identity,
                    Status::Pass,
                    "no person may act as it",
                    vec![runs_as()],
                )
                .with_entities(agent_ids)
            });
            continue;
        };
        let mut humans = Vec::new();
        let mut evidence = vec![runs_as()];
        for grant in grants {
            evidence.push(format!(
                "{} may {} it (grant {})",
                grant.subject, grant.actions, grant.id
            ));
            humans.push(grant.subject.clone());
            humans.push(grant.id.clone());
        }
        out.push(
            out.builder()
                .finding(
                    identity,
                    Status::Fail,
                    "a person may act as this agent identity",
                    evidence,
                )
                .with_entities(humans)
                .with_entities(agent_ids),
        );
    }
}
