//! Properties on generated estates: every query agrees with the naive implementation of the
//! rules or with brute-force recomputation on an edited estate.

use std::collections::{BTreeMap, BTreeSet};

use super::naive::{self, NaiveReach, generate};
use super::*;
use crate::model::{ActionSet, EntityKind, Estate};

/// Generated estates per property (each is small; the naive side is quadratic at worst).
const SEEDS: u64 = 250;

fn sources(estate: &Estate) -> Vec<String> {
    let mut ids: Vec<String> = estate
        .agents
        .iter()
        .map(|a| a.id.clone())
        .chain(estate.identities.iter().map(|i| i.id.clone()))
        .chain(estate.credentials.iter().map(|c| c.id.clone()))
        .collect();
    ids.sort();
    ids
}

fn as_map(reach: &Reach) -> NaiveReach {
    reach
        .reachable
        .iter()
        .map(|r| (r.target.clone(), (r.hops, r.actions)))
        .collect()
}

/// (agent, resource) → actions, naively.
fn agent_resources(estate: &Estate) -> BTreeMap<(String, String), ActionSet> {
    let resources: BTreeSet<&str> = estate.resources.iter().map(|r| r.id.as_str()).collect();
    let mut pairs = BTreeMap::new();
    for agent in &estate.agents {
        for (target, (_, actions)) in naive::reach(estate, at(), &agent.id) {
            if resources.contains(target.as_str()) {
                pairs.insert((agent.id.clone(), target), actions);
            }
        }
    }
    pairs
}

/// (agent, crown jewel) pairs, naively.
fn jewel_pairs(estate: &Estate) -> BTreeSet<(String, String)> {
    let jewels: BTreeSet<&str> = estate
        .resources
        .iter()
        .filter(|r| r.crown_jewel)
        .map(|r| r.id.as_str())
        .collect();
    agent_resources(estate)
        .into_keys()
        .filter(|(_, r)| jewels.contains(r.as_str()))
        .collect()
}

/// Every removable item, with the estate edit that removes it.
fn items(estate: &Estate) -> Vec<(RemovableItem, Estate)> {
    let mut out = Vec::new();
    for grant in &estate.grants {
        let mut edited = estate.clone();
        edited.grants.retain(|g| g.id != grant.id);
        out.push((
            RemovableItem::Grant {
                id: grant.id.clone(),
                subject: grant.subject.clone(),
                target: grant.target.clone(),
            },
            edited,
        ));
    }
    let mut holdings = BTreeSet::new();
    for resource in &estate.resources {
        for credential in &resource.holds_credentials {
            holdings.insert((resource.id.clone(), credential.clone()));
        }
    }
    for (resource, credential) in holdings {
        let mut edited = estate.clone();
        for r in edited.resources.iter_mut().filter(|r| r.id == resource) {
            r.holds_credentials.retain(|c| *c != credential);
        }
        out.push((
            RemovableItem::Holding {
                resource,
                credential,
            },
            edited,
        ));
    }
    for credential in &estate.credentials {
        let mut edited = estate.clone();
        for c in edited
            .credentials
            .iter_mut()
            .filter(|c| c.id == credential.id)
        {
            c.expires_at = Some(at());
        }
        out.push((
            RemovableItem::Credential {
                id: credential.id.clone(),
                identity: credential.identity.clone(),
            },
            edited,
        ));
    }
    out
}

#[test]
fn reach_equals_the_naive_fixpoint_with_valid_witnesses() {
    for seed in 0..SEEDS {
        let estate = generate(seed, at());
        let graph = PrivilegeGraph::build(&estate, at());
        let kinds = naive::kinds(&estate);
        for source in sources(&estate) {
            let reach = graph.reach(&source).unwrap();
            assert_eq!(
                as_map(&reach),
                naive::reach(&estate, at(), &source),
                "seed {seed}, reach {source}"
            );
            let mut sorted = reach.reachable.clone();
            sorted.sort_by(|a, b| a.target.cmp(&b.target));
            assert_eq!(sorted, reach.reachable, "seed {seed}: sorted by target");
            for r in &reach.reachable {
                assert_eq!(r.kind, kinds[r.target.as_str()]);
                assert_eq!(r.path.len() as u32, r.hops + 1, "seed {seed}: {r:?}");
                assert_eq!(r.path.first(), Some(&source));
                assert_eq!(r.path.last(), Some(&r.target));
                assert!(
                    naive::valid_path(&estate, at(), &r.path),
                    "seed {seed}: invalid witness {r:?}"
                );
                if r.kind != EntityKind::Resource {
                    assert!(r.actions.is_empty());
                }
            }
        }
    }
}

/// One scanner over every source in turn (its buffers reused, so a scan must not see what the
/// one before it reached) gives what `reach` gives: the same entities, kinds, actions, hops and
/// witnesses.
#[test]
fn reach_scans_in_sequence_equal_reach() {
    for seed in 0..SEEDS {
        let estate = generate(seed, at());
        let graph = PrivilegeGraph::build(&estate, at());
        let mut scanner = graph.reach_scanner();
        // Forwards and backwards, so every source is scanned after a different one.
        let sources = sources(&estate);
        for source in sources.iter().chain(sources.iter().rev()) {
            scanner.scan(source).unwrap();
            let mut scanned: Vec<Reached> = scanner
                .reached()
                .map(|r| Reached {
                    target: graph.entity_id(r.entity).to_owned(),
                    kind: r.kind,
                    actions: r.actions,
                    hops: r.hops,
                    path: scanner.path(&r).into_iter().map(str::to_owned).collect(),
                })
                .collect();
            scanned.sort_by(|a, b| a.target.cmp(&b.target));
            assert_eq!(
                scanned,
                graph.reach(source).unwrap().reachable,
                "seed {seed}, scan {source}"
            );
            for r in scanner.reached() {
                assert_eq!(
                    graph.entity_index(graph.entity_id(r.entity)),
                    Some(r.entity)
                );
            }
        }
        let unknown = scanner.scan("no-such-id").unwrap_err();
        assert_eq!(unknown, GraphError::UnknownId("no-such-id".to_owned()));
        assert_eq!(
            scanner.reached().count(),
            0,
            "seed {seed}: a failed scan reaches nothing"
        );
    }
}

#[test]
fn who_can_reach_is_reach_reversed() {
    for seed in 0..SEEDS {
        let estate = generate(seed, at());
        let graph = PrivilegeGraph::build(&estate, at());
        let mut expected: BTreeMap<String, Vec<(String, u32)>> = BTreeMap::new();
        for source in sources(&estate) {
            for (target, (hops, _)) in naive::reach(&estate, at(), &source) {
                expected
                    .entry(target)
                    .or_default()
                    .push((source.clone(), hops));
            }
        }
        for (target, _) in naive::kinds(&estate) {
            let who = graph.who_can_reach(target).unwrap();
            let got: Vec<(String, u32)> = who
                .sources
                .iter()
                .map(|s| (s.source.clone(), s.hops))
                .collect();
            let mut want = expected.get(target).cloned().unwrap_or_default();
            want.sort();
            assert_eq!(got, want, "seed {seed}, who can reach {target}");
        }
    }
}

#[test]
fn nearest_of_many_targets_is_the_minimum_of_reach() {
    for seed in 0..SEEDS {
        let estate = generate(seed, at());
        let graph = PrivilegeGraph::build(&estate, at());
        // Every third resource, in id order (the tie-break among equally near targets).
        let targets: Vec<&str> = estate
            .resources
            .iter()
            .step_by(3)
            .map(|r| r.id.as_str())
            .collect();
        let got = graph.nearest_of(targets.iter().copied());
        for source in sources(&estate) {
            let reached = naive::reach(&estate, at(), &source);
            let nearest = targets
                .iter()
                .filter(|t| **t != source)
                .filter_map(|t| reached.get(*t).map(|(hops, _)| (*hops, *t)))
                .min_by_key(|(hops, _)| *hops);
            match (got.get(&source), nearest) {
                (None, None) => {}
                (Some((target, hops)), Some((want_hops, _))) => {
                    assert_eq!(*hops, want_hops, "seed {seed}, {source}");
                    assert_eq!(
                        reached.get(target.as_str()).map(|(h, _)| *h),
                        Some(want_hops),
                        "seed {seed}, {source}: {target} is not reached in {want_hops} hop(s)"
                    );
                }
                (got, want) => panic!("seed {seed}, {source}: got {got:?}, want {want:?}"),
            }
        }
    }
}

#[test]
fn paths_equal_brute_force_enumeration() {
    for seed in 0..SEEDS / 2 {
        let estate = generate(seed, at());
        let graph = PrivilegeGraph::build(&estate, at());
        let targets: Vec<String> = naive::kinds(&estate)
            .keys()
            .map(|s| s.to_string())
            .collect();
        for agent in &estate.agents {
            for target in &targets {
                if *target == agent.id {
                    continue;
                }
                let all = naive::all_paths(&estate, at(), &agent.id, target, 5);
                let got = graph.paths(&agent.id, target, 4, 5).unwrap();
                let got_nodes: Vec<Vec<String>> =
                    got.paths.iter().map(|p| p.nodes.clone()).collect();
                let want: Vec<Vec<String>> = all.iter().take(4).cloned().collect();
                assert_eq!(
                    got_nodes, want,
                    "seed {seed}: paths {} -> {target}",
                    agent.id
                );
                let shortest = naive::reach(&estate, at(), &agent.id)
                    .get(target)
                    .map(|(hops, _)| *hops);
                assert_eq!(got.shortest, shortest, "seed {seed}");
                for path in &got.paths {
                    assert_eq!(path.via.len() as u32, path.hops);
                    assert!(path.via.iter().all(|v| !v.is_empty()));
                }
            }
        }
    }
}

#[test]
fn blast_radius_equals_naive_summaries() {
    for seed in 0..SEEDS {
        let estate = generate(seed, at());
        let graph = PrivilegeGraph::build(&estate, at());
        let facts: BTreeMap<&str, &crate::model::Resource> = estate
            .resources
            .iter()
            .map(|r| (r.id.as_str(), r))
            .collect();
        let radius = graph.blast_radius(true);
        assert_eq!(
            radius.entries.len(),
            estate.agents.len() + estate.credentials.len()
        );
        for entry in &radius.entries {
            let reach = naive::reach(&estate, at(), &entry.source);
            let reached: Vec<&&crate::model::Resource> = reach
                .keys()
                .filter_map(|id| facts.get(id.as_str()))
                .collect();
            let jewels: Vec<String> = reached
                .iter()
                .filter(|r| r.crown_jewel)
                .map(|r| r.id.clone())
                .collect();
            assert_eq!(entry.resources as usize, reached.len(), "seed {seed}");
            let got: Vec<&str> = radius.jewel_ids(entry).collect();
            assert_eq!(got, jewels, "seed {seed}");
            assert_eq!(entry.crown_jewels.len(), jewels.len());
            assert_eq!(
                entry.worst_sensitivity,
                reached.iter().map(|r| r.sensitivity).max(),
                "seed {seed}"
            );
        }
        let hops = graph.blast_radius_hops();
        for h in hops {
            let reach = naive::reach(&estate, at(), &h.source);
            assert_eq!(h.reached as usize, reach.len());
            assert_eq!(
                h.max_hops,
                reach.values().map(|(h, _)| *h).max().unwrap_or(0)
            );
        }
    }
}

#[test]
fn chokepoint_counts_equal_brute_force_removal() {
    for seed in 0..SEEDS {
        let estate = generate(seed, at());
        let graph = PrivilegeGraph::build(&estate, at());
        let before = jewel_pairs(&estate);
        let chokepoints = graph.chokepoints(usize::MAX);
        assert_eq!(chokepoints.total_pairs, before.len() as u64, "seed {seed}");
        let counted: BTreeMap<RemovableItem, u64> = chokepoints
            .items
            .iter()
            .map(|c| (c.item.clone(), c.cut_pairs))
            .collect();
        for (item, edited) in items(&estate) {
            let after = jewel_pairs(&edited);
            assert!(after.is_subset(&before));
            let cut = (before.len() - after.len()) as u64;
            assert_eq!(
                counted.get(&item).copied().unwrap_or(0),
                cut,
                "seed {seed}: {item:?}"
            );
        }
        let cuts: Vec<u64> = chokepoints.items.iter().map(|c| c.cut_pairs).collect();
        assert!(cuts.windows(2).all(|w| w[0] >= w[1]), "sorted, most first");
    }
}

#[test]
fn greedy_chokepoint_sets_are_verified_by_recomputation() {
    for seed in 0..SEEDS / 2 {
        let estate = generate(seed, at());
        let graph = PrivilegeGraph::build(&estate, at());
        let set = graph.chokepoint_set(3);
        let mut edited = estate.clone();
        for chosen in &set.items {
            match &chosen.item {
                RemovableItem::Grant { id, .. } => edited.grants.retain(|g| g.id != *id),
                RemovableItem::Holding {
                    resource,
                    credential,
                } => {
                    for r in edited.resources.iter_mut().filter(|r| r.id == *resource) {
                        r.holds_credentials.retain(|c| c != credential);
                    }
                }
                RemovableItem::Credential { id, .. } => {
                    for c in edited.credentials.iter_mut().filter(|c| c.id == *id) {
                        c.expires_at = Some(at());
                    }
                }
            }
        }
        let before = jewel_pairs(&estate).len() as u64;
        let after = jewel_pairs(&edited).len() as u64;
        assert_eq!(set.combined_cut, before - after, "seed {seed}");
        assert_eq!(
            set.items.iter().map(|c| c.cut_pairs).sum::<u64>(),
            set.combined_cut,
            "seed {seed}: marginal cuts add up"
        );
    }
}

#[test]
fn what_if_equals_recomputation_on_the_edited_estate() {
    for seed in 0..SEEDS {
        let estate = generate(seed, at());
        let graph = PrivilegeGraph::build(&estate, at());
        let mut rng = naive::Lcg::new(seed + 7);
        let revoke: Vec<String> = estate
            .grants
            .iter()
            .filter(|_| rng.chance(25))
            .map(|g| g.id.clone())
            .collect();
        let expire: Vec<String> = estate
            .credentials
            .iter()
            .filter(|_| rng.chance(30))
            .map(|c| c.id.clone())
            .collect();
        let what_if = graph.what_if(&revoke, &expire).unwrap();

        let mut edited = estate.clone();
        edited.grants.retain(|g| !revoke.contains(&g.id));
        for c in edited.credentials.iter_mut() {
            if expire.contains(&c.id) {
                c.expires_at = Some(at());
            }
        }
        let before = agent_resources(&estate);
        let after = agent_resources(&edited);
        let mut lost = Vec::new();
        let mut shrunk = Vec::new();
        let mut kept = 0;
        for ((agent, resource), actions) in &before {
            match after.get(&(agent.clone(), resource.clone())) {
                None => lost.push((agent.clone(), resource.clone(), *actions)),
                Some(now) if now != actions => {
                    assert!(now.is_subset(*actions));
                    shrunk.push((agent.clone(), resource.clone(), *actions, *now));
                }
                Some(_) => kept += 1,
            }
        }
        let got_lost: Vec<_> = what_if
            .lost
            .iter()
            .map(|p| (p.agent.clone(), p.resource.clone(), p.actions))
            .collect();
        let got_shrunk: Vec<_> = what_if
            .shrunk
            .iter()
            .map(|p| (p.agent.clone(), p.resource.clone(), p.before, p.after))
            .collect();
        assert_eq!(got_lost, lost, "seed {seed}");
        assert_eq!(got_shrunk, shrunk, "seed {seed}");
        assert_eq!(what_if.kept, kept, "seed {seed}");
    }
}

/// A graph reused for another time answers exactly as the graph built for it whenever
/// `unchanged_at` says so, and `unchanged_at` says no across every expiry.
#[test]
fn a_graph_unchanged_at_another_time_answers_as_the_graph_built_then() {
    let mut reused = 0;
    for seed in 0..SEEDS {
        let estate = generate(seed, at());
        let built = PrivilegeGraph::build(&estate, at());
        let mut times: Vec<Timestamp> = estate
            .grants
            .iter()
            .filter_map(|g| g.expires_at)
            .chain(estate.credentials.iter().filter_map(|c| c.expires_at))
            .flat_map(|e| {
                [
                    e - chrono::Duration::nanoseconds(1),
                    e,
                    e + chrono::Duration::seconds(1),
                ]
            })
            .collect();
        times.push(at() + chrono::Duration::days(3650));
        times.push(at() - chrono::Duration::days(3650));
        for other in times {
            let expiry_between = estate
                .grants
                .iter()
                .filter_map(|g| g.expires_at)
                .chain(estate.credentials.iter().filter_map(|c| c.expires_at))
                .any(|e| (e > at().min(other)) && (e <= at().max(other)));
            assert_eq!(
                built.unchanged_at(other),
                !expiry_between,
                "seed {seed}: at {other}"
            );
            if !built.unchanged_at(other) {
                continue;
            }
            reused += 1;
            let fresh = PrivilegeGraph::build(&estate, other);
            for source in sources(&estate) {
                assert_eq!(
                    as_map(&built.reach(&source).unwrap()),
                    as_map(&fresh.reach(&source).unwrap()),
                    "seed {seed}: {source} at {other}"
                );
            }
        }
    }
    assert!(reused > 100, "only {reused} reuses were checked");
}
