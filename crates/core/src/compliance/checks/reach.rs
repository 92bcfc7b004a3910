//! The checks that read what each agent reaches (catalog entries evaluated by
//! [`Evaluation::Reach`](super::Evaluation)). They run together, agent by agent (spread over the
//! cores), on one reach tree per agent that is dropped as soon as its findings are written:
//! holding every agent's reach at once does not fit in memory on a large estate (2,000 agents
//! reaching 100,000 entities each). The tree is classified once ([`Classified`]) into what the
//! checks read, so a check added here costs no further reach computation.

use super::index::{Found, Index};
use super::{CheckInfo, Passes, Status};
use crate::graph::{ReachScanner, ScanReached};
use crate::model::{Action, Agent};

/// A reach check: writes the finding about agent `a` from what it reaches.
pub(super) type ReachCheck = fn(&mut Found<'_>, &Index<'_>, &Agent, &Classified<'_, '_>);

/// A finding lists at most this many reached targets with their witness paths (the nearest,
/// then by id) and counts the rest: on a large estate an agent reaches tens of thousands of
/// resources, and a finding is read by a person (`bridle reach` lists everything).
pub(crate) const LISTED_TARGETS: usize = 20;

/// Runs `checks` over every agent, one reach tree per agent for all of them: the findings of
/// each check, in the order of `checks`, each in agent order.
pub(super) fn evaluate<'c>(
    ix: &Index<'_>,
    checks: &[(&'c CheckInfo, ReachCheck)],
    passes: Passes,
) -> Vec<Found<'c>> {
    let fresh = || -> Vec<Found<'c>> {
        checks
            .iter()
            .map(|(info, _)| Found::new(info, passes))
            .collect()
    };
    if checks.is_empty() {
        return Vec::new();
    }
    // Agent by agent, the findings of every check in turn; one set of findings per slice of
    // agents, joined in agent order.
    let parts: Vec<Vec<Found<'c>>> = crate::graph::parallel_map(&ix.estate.agents, 8, |agents| {
        let mut found = fresh();
        let mut scanner = ix.graph.reach_scanner();
        let mut buffers = Buffers::default();
        for a in agents {
            let scan = scanner.scan(&a.id).is_ok().then_some(&scanner);
            let reached = Classified::of(ix, a, scan, buffers);
            for ((_, run), out) in checks.iter().zip(&mut found) {
                run(out, ix, a, &reached);
            }
            buffers = reached.into_buffers();
        }
        vec![found]
    });
    let mut all = fresh();
    for part in parts {
        for (out, more) in all.iter_mut().zip(part) {
            out.append(more);
        }
    }
    all
}

/// What one agent reaches, sorted once into what the reach checks read (one lookup per reached
/// entity, by its index in the graph, rather than one per check).
pub(super) struct Classified<'s, 'a> {
    /// The agent's scan; `None` when the graph does not know the agent.
    scan: Option<&'s ReachScanner<'a>>,
    lists: Buffers,
}

/// The lists of a [`Classified`], kept from one agent to the next (an agent reaches up to a
/// hundred thousand resources; their lists need not be grown again for each).
#[derive(Default)]
struct Buffers {
    /// Identities of people.
    humans: Vec<ScanReached>,
    /// How many resources are reached.
    resources: usize,
    /// In id order.
    crown_jewels: Vec<ScanReached>,
    /// Secret stores reached with read or admin (their credentials are exposed).
    secret_stores: Vec<ScanReached>,
    /// When the agent has an environment: the resources reached of another one …
    other_environment: Vec<ScanReached>,
    /// … and the resources reached of none, by entity index.
    no_environment: Vec<u32>,
}

impl<'s, 'a> Classified<'s, 'a> {
    /// Classifies what `scan` reached from agent `a` into `lists` (emptied first).
    fn of(
        ix: &Index<'a>,
        a: &Agent,
        scan: Option<&'s ReachScanner<'a>>,
        mut lists: Buffers,
    ) -> Classified<'s, 'a> {
        lists.humans.clear();
        lists.resources = 0;
        lists.crown_jewels.clear();
        lists.secret_stores.clear();
        lists.other_environment.clear();
        lists.no_environment.clear();
        // The agent's environment by number: `Some(None)` when no resource is in it.
        let own = a
            .environment
            .as_deref()
            .map(|env| ix.environment_number(env));
        let Some(scan) = scan else {
            return Classified { scan, lists };
        };
        for entity in scan.entities() {
            let class = ix.reach_classes[entity as usize];
            if class.is_other() {
                continue;
            }
            let r = scan.reached_entity(entity);
            if class.is_human() {
                lists.humans.push(r);
                continue;
            }
            lists.resources += 1;
            if class.is_crown_jewel() {
                lists.crown_jewels.push(r);
            }
            if class.is_secret_store()
                && (r.actions.contains(Action::Read) || r.actions.contains(Action::Admin))
            {
                lists.secret_stores.push(r);
            }
            if let Some(own) = own {
                match class.environment() {
                    None => lists.no_environment.push(entity),
                    Some(other) if Some(other) != own => lists.other_environment.push(r),
                    Some(_) => {}
                }
            }
        }
        lists.crown_jewels.sort_unstable_by_key(|r| r.entity);
        Classified {
            scan: Some(scan),
            lists,
        }
    }

    /// The lists, for the next agent (ending the borrow of the scan).
    fn into_buffers(self) -> Buffers {
        self.lists
    }

    fn id(&self, r: &ScanReached) -> &'a str {
        self.scan
            .expect("only a scanned agent reaches anything")
            .graph()
            .entity_id(r.entity)
    }

    fn path(&self, r: &ScanReached) -> Vec<String> {
        self.scan
            .expect("only a scanned agent reaches anything")
            .path(r)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }
}

/// The targets a finding lists: all of them when few, else the [`LISTED_TARGETS`] nearest; in
/// target order either way.
/// (`hops_and_target` gives a target by its entity index, which orders as its id.)
fn listed<T>(mut items: Vec<T>, hops_and_target: impl Fn(&T) -> (u32, u32)) -> Vec<T> {
    if items.len() > LISTED_TARGETS {
        items.sort_by_key(&hops_and_target);
        items.truncate(LISTED_TARGETS);
    }
    items.sort_by_key(|item| hops_and_target(item).1);
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

/// Up to five ids, then how many more.
fn some_ids(ids: &[String]) -> String {
    match ids.len() {
        0..=5 => ids.join(", "),
        n => format!("{} and {} more", ids[..5].join(", "), n - 5),
    }
}

pub(super) fn impersonates_human(
    out: &mut Found<'_>,
    _ix: &Index<'_>,
    a: &Agent,
    reach: &Classified,
) {
    // Running as a person is reported by `agent-workload-identity`.
    let reached: Vec<ScanReached> = reach
        .lists
        .humans
        .iter()
        .copied()
        .filter(|r| !a.runs_as.iter().any(|id| id == reach.id(r)))
        .collect();
    if reached.is_empty() {
        out.pass(|b| b.finding(&a.id, Status::Pass, "reaches no human identity", vec![]));
        return;
    }
    let total = reached.len();
    let shown = listed(reached, |r| (r.hops, r.entity));
    let paths: Vec<Vec<String>> = shown.iter().map(|r| reach.path(r)).collect();
    let mut evidence: Vec<String> = shown
        .iter()
        .zip(&paths)
        .map(|(r, path)| {
            format!(
                "reaches {} in {} hop(s): {}",
                reach.id(r),
                r.hops,
                path.join(" > ")
            )
        })
        .collect();
    evidence.extend(more_line(total, shown.len(), "person(s)"));
    let mut f = out
        .builder()
        .finding(
            &a.id,
            Status::Fail,
            format!("can act as {total} person(s)"),
            evidence,
        )
        .with_entities(shown.iter().map(|r| reach.id(r)));
    f.paths = paths;
    out.push(f);
}

pub(super) fn crown_jewel_reach(
    out: &mut Found<'_>,
    _ix: &Index<'_>,
    a: &Agent,
    reach: &Classified,
) {
    let jewels = reach.lists.crown_jewels.clone();
    if jewels.is_empty() {
        let resources = reach.lists.resources;
        out.pass(|b| {
            b.finding(
                &a.id,
                Status::Pass,
                "reaches no crown jewel",
                vec![format!(
                    "reaches {resources} resource(s), none a crown jewel"
                )],
            )
        });
        return;
    }
    // Every crown jewel is named (there are few of them); the paths are listed for the nearest.
    let all: Vec<String> = jewels.iter().map(|r| reach.id(r).to_owned()).collect();
    let total = jewels.len();
    let shown = listed(jewels, |r| (r.hops, r.entity));
    let paths: Vec<Vec<String>> = shown.iter().map(|r| reach.path(r)).collect();
    let mut evidence: Vec<String> = shown
        .iter()
        .zip(&paths)
        .map(|(r, path)| {
            format!(
                "{} [{}] in {} hop(s): {}",
                reach.id(r),
                r.actions,
                r.hops,
                path.join(" > ")
            )
        })
        .collect();
    evidence.extend(more_line(total, shown.len(), "crown jewel(s)"));
    let mut f = out
        .builder()
        .finding(
            &a.id,
            Status::Fail,
            format!("reaches {total} crown jewel(s): {}", some_ids(&all)),
            evidence,
        )
        .with_entities(all);
    f.paths = paths;
    out.push(f);
}

pub(super) fn secret_store_exposure(
    out: &mut Found<'_>,
    ix: &Index<'_>,
    a: &Agent,
    reach: &Classified,
) {
    if reach.scan.is_none() {
        out.pass(|b| b.finding(&a.id, Status::Pass, "reaches nothing", vec![]));
        return;
    }
    let store_count = reach.lists.secret_stores.len();
    // (store reached, the credential it exposes, the nearest strong target of its identity)
    let mut exposures = Vec::new();
    for r in &reach.lists.secret_stores {
        for exposure in ix.exposures.get(&r.entity).into_iter().flatten() {
            if !a.runs_as.contains(&exposure.credential.identity) {
                exposures.push((r, exposure));
            }
        }
    }
    if exposures.is_empty() {
        out.pass(|b| {
            b.finding(
                &a.id,
                Status::Pass,
                "no reachable secret store exposes a stronger identity",
                vec![format!("reads {store_count} secret store(s)")],
            )
        });
        return;
    }
    let total = exposures.len();
    let shown = listed(exposures, |(r, _)| (r.hops, r.entity));
    let mut evidence = Vec::new();
    let mut entities = Vec::new();
    let mut paths = Vec::new();
    for (r, exposure) in &shown {
        let credential = exposure.credential;
        let store = reach.id(r);
        evidence.push(format!(
            "{store} (reached in {} hop(s)) holds {} of {}, which reaches {} in {} hop(s)",
            r.hops,
            credential.id,
            credential.identity,
            exposure.strong_target,
            exposure.strong_hops,
        ));
        entities.extend([
            store.to_owned(),
            credential.id.clone(),
            credential.identity.clone(),
        ]);
        paths.push(reach.path(r));
    }
    evidence.extend(more_line(total, shown.len(), "exposed credential(s)"));
    paths.dedup();
    let mut f = out
        .builder()
        .finding(
            &a.id,
            Status::Fail,
            "a reachable secret store exposes credentials of a more privileged identity",
            evidence,
        )
        .with_entities(entities);
    f.paths = paths;
    out.push(f);
}

pub(super) fn environment_isolation(
    out: &mut Found<'_>,
    ix: &Index<'_>,
    a: &Agent,
    reach: &Classified,
) {
    let reached = reach.lists.resources;
    let Some(env) = a.environment.as_deref() else {
        if reached == 0 {
            out.pass(|b| b.finding(&a.id, Status::Pass, "reaches no resource", vec![]));
        } else {
            out.push(out.builder().finding(
                &a.id,
                Status::Unknown,
                "agent environment unknown",
                vec![format!("environment: null; reaches {reached} resource(s)")],
            ));
        }
        return;
    };
    let crossing = reach.lists.other_environment.clone();
    // The first in id order are named.
    let mut unknown = reach.lists.no_environment.clone();
    let unknown_total = unknown.len();
    if unknown_total > LISTED_TARGETS {
        unknown.select_nth_unstable(LISTED_TARGETS - 1);
        unknown.truncate(LISTED_TARGETS);
    }
    unknown.sort_unstable();
    let unknown: Vec<String> = unknown
        .into_iter()
        .map(|entity| ix.graph.entity_id(entity).to_owned())
        .collect();
    let unknown_note = (unknown_total > 0).then(|| {
        format!(
            "environment unknown for {unknown_total} reached resource(s): {}",
            some_ids(&unknown)
        )
    });
    if !crossing.is_empty() {
        let total = crossing.len();
        let shown = listed(crossing, |r| (r.hops, r.entity));
        let paths: Vec<Vec<String>> = shown.iter().map(|r| reach.path(r)).collect();
        let mut evidence: Vec<String> = shown
            .iter()
            .zip(&paths)
            .map(|(r, path)| {
                let other = ix.resource_at[r.entity as usize]
                    .and_then(|resource| resource.environment.as_deref())
                    .unwrap_or_default();
                format!(
                    "{env} agent reaches {} ({other}) in {} hop(s): {}",
                    reach.id(r),
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
        let mut f = out
            .builder()
            .finding(
                &a.id,
                Status::Fail,
                format!("{env} agent reaches {total} resource(s) of another environment"),
                evidence,
            )
            .with_entities(shown.iter().map(|r| reach.id(r)))
            .with_entities(unknown);
        f.paths = paths;
        out.push(f);
    } else if let Some(note) = unknown_note {
        out.push(
            out.builder()
                .finding(
                    &a.id,
                    Status::Unknown,
                    format!("{unknown_total} reached resource(s) have no environment"),
                    vec![note],
                )
                .with_entities(unknown),
        );
    } else {
        out.pass(|b| {
            b.finding(
                &a.id,
                Status::Pass,
                format!("reaches only {env} resources"),
                vec![format!("{reached} resource(s) reached, all {env}")],
            )
        });
    }
}
