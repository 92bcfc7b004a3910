//! The checks that read what each agent reaches (catalog entries evaluated by
//! [`Evaluation::Reach`](super::Evaluation)). They run together, agent by agent (spread over the
//! cores), on one reach tree per agent that is dropped as soon as its findings are written:
//! holding every agent's reach at once does not fit in memory on a large estate (2,000 agents
//! reaching 100,000 entities each). The tree is classified once ([`Classified`]) into what the
//! checks read, so a check added here costs no further reach computation.

use super::index::{Builder, Index};
use super::{Finding, Status};
use crate::graph::{ReachTree, TreeReached};
use crate::model::{Action, Agent, EntityKind, Resource, ResourceKind};

/// A reach check: the finding about agent `a` from what it reaches.
pub(super) type ReachCheck = fn(&Builder<'_>, &Index<'_>, &Agent, &Classified<'_, '_>) -> Finding;

/// A finding lists at most this many reached targets with their witness paths (the nearest,
/// then by id) and counts the rest: on a large estate an agent reaches tens of thousands of
/// resources, and a finding is read by a person (`bridle reach` lists everything).
pub(crate) const LISTED_TARGETS: usize = 20;

/// Runs `checks` over every agent, one reach tree per agent for all of them: one list of
/// findings per check, in the order of `checks`, each in agent order.
pub(super) fn evaluate(ix: &Index<'_>, checks: &[(Builder<'_>, ReachCheck)]) -> Vec<Vec<Finding>> {
    let per_agent = checks.len();
    if per_agent == 0 {
        return Vec::new();
    }
    // Agent by agent, the findings of every check in turn.
    let all: Vec<Finding> = crate::graph::parallel_map(&ix.estate.agents, 8, |agents| {
        let mut found = Vec::with_capacity(agents.len() * per_agent);
        for a in agents {
            let tree = ix.graph.reach_tree(&a.id).ok();
            let reached = Classified::of(ix, tree.as_ref());
            found.extend(checks.iter().map(|(b, run)| run(b, ix, a, &reached)));
        }
        found
    });
    let mut found: Vec<Vec<Finding>> = checks
        .iter()
        .map(|_| Vec::with_capacity(ix.estate.agents.len()))
        .collect();
    for (n, finding) in all.into_iter().enumerate() {
        found[n % per_agent].push(finding);
    }
    found
}

/// What one agent reaches, sorted once into what the reach checks read (one lookup per reached
/// entity rather than one per check).
pub(super) struct Classified<'t, 'a> {
    tree: Option<&'t ReachTree>,
    /// Identities of people.
    humans: Vec<&'t TreeReached>,
    /// Every reached resource.
    resources: Vec<(&'t TreeReached, &'a Resource)>,
    crown_jewels: Vec<&'t TreeReached>,
    /// Secret stores reached with read or admin (their credentials are exposed).
    secret_stores: Vec<(&'t TreeReached, &'a Resource)>,
}

impl<'t, 'a> Classified<'t, 'a> {
    fn of(ix: &Index<'a>, tree: Option<&'t ReachTree>) -> Classified<'t, 'a> {
        let mut classified = Classified {
            tree,
            humans: Vec::new(),
            resources: Vec::new(),
            crown_jewels: Vec::new(),
            secret_stores: Vec::new(),
        };
        for r in tree.into_iter().flat_map(|t| t.reachable.iter()) {
            match r.kind {
                EntityKind::Identity if ix.is_human(&r.target) => classified.humans.push(r),
                EntityKind::Resource => {
                    let Some(&resource) = ix.resources.get(r.target.as_str()) else {
                        continue;
                    };
                    classified.resources.push((r, resource));
                    if resource.crown_jewel {
                        classified.crown_jewels.push(r);
                    }
                    if resource.kind == ResourceKind::SecretStore
                        && (r.actions.contains(Action::Read) || r.actions.contains(Action::Admin))
                    {
                        classified.secret_stores.push((r, resource));
                    }
                }
                _ => {}
            }
        }
        classified
    }
}

/// The targets a finding lists: all of them when few, else the [`LISTED_TARGETS`] nearest; in
/// target order either way.
fn listed<T>(mut items: Vec<T>, hops_and_target: impl Fn(&T) -> (u32, &str)) -> Vec<T> {
    if items.len() > LISTED_TARGETS {
        items.sort_by(|a, b| hops_and_target(a).cmp(&hops_and_target(b)));
        items.truncate(LISTED_TARGETS);
    }
    items.sort_by(|a, b| hops_and_target(a).1.cmp(hops_and_target(b).1));
    items
}

/// The evidence line that counts what a finding does not list.
fn more_line(total: usize, listed: usize, what: &str) -> Option<String> {
    (total > listed).then(|| {
        format!(
            "and {} more {what} not listed here (the {listed} nearest are; `bridle reach` lists all)",
            total - listed
        )
    })
}

fn owned_path(tree: &ReachTree, reached: &TreeReached) -> Vec<String> {
    tree.path(reached).into_iter().map(str::to_owned).collect()
}

/// Up to five ids, then how many more.
fn some_ids(ids: &[String]) -> String {
    match ids.len() {
        0..=5 => ids.join(", "),
        n => format!("{} and {} more", ids[..5].join(", "), n - 5),
    }
}

pub(super) fn impersonates_human(
    b: &Builder<'_>,
    _ix: &Index<'_>,
    a: &Agent,
    reach: &Classified,
) -> Finding {
    // Running as a person is reported by `agent-workload-identity`.
    let reached: Vec<&TreeReached> = reach
        .humans
        .iter()
        .copied()
        .filter(|r| !a.runs_as.contains(&r.target))
        .collect();
    let (Some(tree), false) = (reach.tree, reached.is_empty()) else {
        return b.finding(&a.id, Status::Pass, "reaches no human identity", vec![]);
    };
    let total = reached.len();
    let shown = listed(reached, |r| (r.hops, r.target.as_str()));
    let paths: Vec<Vec<String>> = shown.iter().map(|r| owned_path(tree, r)).collect();
    let mut evidence: Vec<String> = shown
        .iter()
        .zip(&paths)
        .map(|(r, path)| {
            format!(
                "reaches {} in {} hop(s): {}",
                r.target,
                r.hops,
                path.join(" > ")
            )
        })
        .collect();
    evidence.extend(more_line(total, shown.len(), "person(s)"));
    let mut f = b
        .finding(
            &a.id,
            Status::Fail,
            format!("can act as {total} person(s)"),
            evidence,
        )
        .with_entities(shown.iter().map(|r| r.target.clone()));
    f.paths = paths;
    f
}

pub(super) fn crown_jewel_reach(
    b: &Builder<'_>,
    _ix: &Index<'_>,
    a: &Agent,
    reach: &Classified,
) -> Finding {
    let jewels = reach.crown_jewels.clone();
    let (Some(tree), false) = (reach.tree, jewels.is_empty()) else {
        let resources = reach.resources.len();
        return b.finding(
            &a.id,
            Status::Pass,
            "reaches no crown jewel",
            vec![format!(
                "reaches {resources} resource(s), none a crown jewel"
            )],
        );
    };
    // Every crown jewel is named (there are few of them); the paths are listed for the nearest.
    let all: Vec<String> = jewels.iter().map(|r| r.target.clone()).collect();
    let total = jewels.len();
    let shown = listed(jewels, |r| (r.hops, r.target.as_str()));
    let paths: Vec<Vec<String>> = shown.iter().map(|r| owned_path(tree, r)).collect();
    let mut evidence: Vec<String> = shown
        .iter()
        .zip(&paths)
        .map(|(r, path)| {
            format!(
                "{} [{}] in {} hop(s): {}",
                r.target,
                r.actions,
                r.hops,
                path.join(" > ")
            )
        })
        .collect();
    evidence.extend(more_line(total, shown.len(), "crown jewel(s)"));
    let mut f = b
        .finding(
            &a.id,
            Status::Fail,
            format!("reaches {total} crown jewel(s): {}", some_ids(&all)),
            evidence,
        )
        .with_entities(all);
    f.paths = paths;
    f
}

pub(super) fn secret_store_exposure(
    b: &Builder<'_>,
    ix: &Index<'_>,
    a: &Agent,
    reach: &Classified,
) -> Finding {
    let Some(tree) = reach.tree else {
        return b.finding(&a.id, Status::Pass, "reaches nothing", vec![]);
    };
    let store_count = reach.secret_stores.len();
    // (store reached, the credential it exposes, the nearest strong target of its identity)
    let mut exposures = Vec::new();
    for &(r, store) in &reach.secret_stores {
        for credential_id in &store.holds_credentials {
            let Some(credential) = ix.credentials.get(credential_id.as_str()) else {
                continue;
            };
            if credential.is_expired_at(ix.at) || a.runs_as.contains(&credential.identity) {
                continue;
            }
            if let Some(strong) = ix.strong.get(&credential.identity) {
                exposures.push((r, credential, strong));
            }
        }
    }
    if exposures.is_empty() {
        return b.finding(
            &a.id,
            Status::Pass,
            "no reachable secret store exposes a stronger identity",
            vec![format!("reads {store_count} secret store(s)")],
        );
    }
    let total = exposures.len();
    let shown = listed(exposures, |(r, _, _)| (r.hops, r.target.as_str()));
    let mut evidence = Vec::new();
    let mut entities = Vec::new();
    let mut paths = Vec::new();
    for (r, credential, strong) in &shown {
        let (strong_target, strong_hops) = strong;
        evidence.push(format!(
            "{} (reached in {} hop(s)) holds {} of {}, which reaches {strong_target} in \
             {strong_hops} hop(s)",
            r.target, r.hops, credential.id, credential.identity,
        ));
        entities.extend([
            r.target.clone(),
            credential.id.clone(),
            credential.identity.clone(),
        ]);
        paths.push(owned_path(tree, r));
    }
    evidence.extend(more_line(total, shown.len(), "exposed credential(s)"));
    paths.dedup();
    let mut f = b
        .finding(
            &a.id,
            Status::Fail,
            "a reachable secret store exposes credentials of a more privileged identity",
            evidence,
        )
        .with_entities(entities);
    f.paths = paths;
    f
}

pub(super) fn environment_isolation(
    b: &Builder<'_>,
    _ix: &Index<'_>,
    a: &Agent,
    reach: &Classified,
) -> Finding {
    let reached = &reach.resources;
    let tree = reach.tree;
    let Some(env) = a.environment.as_deref() else {
        return if reached.is_empty() {
            b.finding(&a.id, Status::Pass, "reaches no resource", vec![])
        } else {
            b.finding(
                &a.id,
                Status::Unknown,
                "agent environment unknown",
                vec![format!(
                    "environment: null; reaches {} resource(s)",
                    reached.len()
                )],
            )
        };
    };
    let mut crossing = Vec::new();
    let mut unknown = Vec::new();
    for (r, res) in reached {
        match res.environment.as_deref() {
            None => unknown.push(res.id.clone()),
            Some(other) if other != env => crossing.push((*r, other)),
            Some(_) => {}
        }
    }
    let unknown_total = unknown.len();
    unknown.truncate(LISTED_TARGETS);
    let unknown_note = (unknown_total > 0).then(|| {
        format!(
            "environment unknown for {unknown_total} reached resource(s): {}",
            some_ids(&unknown)
        )
    });
    if let (Some(tree), false) = (tree, crossing.is_empty()) {
        let total = crossing.len();
        let shown = listed(crossing, |(r, _)| (r.hops, r.target.as_str()));
        let paths: Vec<Vec<String>> = shown.iter().map(|(r, _)| owned_path(tree, r)).collect();
        let mut evidence: Vec<String> = shown
            .iter()
            .zip(&paths)
            .map(|((r, other), path)| {
                format!(
                    "{env} agent reaches {} ({other}) in {} hop(s): {}",
                    r.target,
                    r.hops,
                    path.join(" > ")
                )
            })
            .collect();
        evidence.extend(more_line(
            total,
            shown.len(),
            "resource(s) of another environment",
        ));
        evidence.extend(unknown_note);
        let mut f = b
            .finding(
                &a.id,
                Status::Fail,
                format!("{env} agent reaches {total} resource(s) of another environment"),
                evidence,
            )
            .with_entities(shown.iter().map(|(r, _)| r.target.clone()))
            .with_entities(unknown);
        f.paths = paths;
        f
    } else if let Some(note) = unknown_note {
        b.finding(
            &a.id,
            Status::Unknown,
            format!("{unknown_total} reached resource(s) have no environment"),
            vec![note],
        )
        .with_entities(unknown)
    } else {
        b.finding(
            &a.id,
            Status::Pass,
            format!("reaches only {env} resources"),
            vec![format!("{} resource(s) reached, all {env}", reached.len())],
        )
    }
}
