//! An independent, deliberately plain implementation of the reachability rules (a fixpoint over
//! the estate's lists, no graph), a checker for witness paths, a naive path enumerator, and a
//! tiny deterministic estate generator. The property tests compare the graph against these.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::*;
use crate::time::Timestamp;

/// What one source reaches: target → (hops, actions).
pub type NaiveReach = BTreeMap<String, (u32, ActionSet)>;

fn rw() -> (ActionSet, ActionSet) {
    (
        ActionSet::from_iter([Action::Read, Action::Admin]),
        ActionSet::from_iter([Action::Write, Action::Admin]),
    )
}

pub fn kinds(estate: &Estate) -> HashMap<&str, EntityKind> {
    let mut kinds = HashMap::new();
    kinds.extend(
        estate
            .agents
            .iter()
            .map(|e| (e.id.as_str(), EntityKind::Agent)),
    );
    kinds.extend(
        estate
            .identities
            .iter()
            .map(|e| (e.id.as_str(), EntityKind::Identity)),
    );
    kinds.extend(
        estate
            .credentials
            .iter()
            .map(|e| (e.id.as_str(), EntityKind::Credential)),
    );
    kinds.extend(
        estate
            .resources
            .iter()
            .map(|e| (e.id.as_str(), EntityKind::Resource)),
    );
    kinds.extend(
        estate
            .tools
            .iter()
            .map(|e| (e.id.as_str(), EntityKind::Tool)),
    );
    kinds
}

/// The least fixpoint of rules 1–6 from `from`, iterated until nothing improves.
pub fn reach(estate: &Estate, at: Timestamp, from: &str) -> NaiveReach {
    let kinds = kinds(estate);
    let (read_side, write_side) = rw();
    let mut hops: HashMap<String, u32> = HashMap::new();
    let mut read_hops: HashMap<String, u32> = HashMap::new();
    let mut write_hops: HashMap<String, u32> = HashMap::new();
    let mut actions: HashMap<String, ActionSet> = HashMap::new();
    hops.insert(from.to_owned(), 0);
    fn relax(map: &mut HashMap<String, u32>, id: &str, h: u32) -> bool {
        match map.get(id) {
            Some(&old) if old <= h => false,
            _ => {
                map.insert(id.to_owned(), h);
                true
            }
        }
    }
    loop {
        let mut changed = false;
        let mut reach_resource = |id: &str, set: ActionSet, h: u32, changed: &mut bool| {
            let set = set.intersection(EntityKind::Resource.meaningful_actions());
            if set.is_empty() {
                return;
            }
            let entry = actions.entry(id.to_owned()).or_default();
            if !set.is_subset(*entry) {
                *entry = entry.union(set);
                *changed = true;
            }
            if !set.intersection(read_side).is_empty() {
                *changed |= relax(&mut read_hops, id, h);
            }
            if !set.intersection(write_side).is_empty() {
                *changed |= relax(&mut write_hops, id, h);
            }
        };
        let snapshot = hops.clone();
        for agent in &estate.agents {
            if let Some(&h) = snapshot.get(&agent.id) {
                for identity in &agent.runs_as {
                    changed |= relax(&mut hops, identity, h + 1);
                }
            }
        }
        for grant in &estate.grants {
            if grant.is_expired_at(at) {
                continue;
            }
            let Some(&h) = snapshot.get(&grant.subject) else {
                continue;
            };
            if !matches!(
                kinds.get(grant.subject.as_str()),
                Some(EntityKind::Agent | EntityKind::Identity)
            ) {
                continue;
            }
            let a = grant.actions;
            match kinds.get(grant.target.as_str()) {
                Some(EntityKind::Identity)
                    if a.contains(Action::Assume) || a.contains(Action::Impersonate) =>
                {
                    changed |= relax(&mut hops, &grant.target, h + 1)
                }
                Some(EntityKind::Agent) if a.contains(Action::Delegate) => {
                    changed |= relax(&mut hops, &grant.target, h + 1)
                }
                Some(EntityKind::Tool) if a.contains(Action::Invoke) => {
                    changed |= relax(&mut hops, &grant.target, h + 1)
                }
                Some(EntityKind::Resource) => reach_resource(&grant.target, a, h + 1, &mut changed),
                _ => {}
            }
        }
        for tool in &estate.tools {
            let Some(&h) = snapshot.get(&tool.id) else {
                continue;
            };
            if let Some(identity) = &tool.runs_as {
                changed |= relax(&mut hops, identity, h + 1);
            }
            for entry in &tool.acts_on {
                reach_resource(&entry.resource, entry.actions, h + 1, &mut changed);
            }
        }
        for resource in &estate.resources {
            if let Some(&h) = read_hops.get(&resource.id) {
                for credential in &resource.holds_credentials {
                    changed |= relax(&mut hops, credential, h + 1);
                }
            }
            if let Some(&h) = write_hops.get(&resource.id) {
                for identity in &resource.runs_as {
                    changed |= relax(&mut hops, identity, h + 1);
                }
            }
            let best = [read_hops.get(&resource.id), write_hops.get(&resource.id)]
                .into_iter()
                .flatten()
                .min()
                .copied();
            if let Some(h) = best {
                changed |= relax(&mut hops, &resource.id, h);
            }
        }
        for credential in &estate.credentials {
            if credential.is_expired_at(at) {
                continue;
            }
            if let Some(&h) = snapshot.get(&credential.id) {
                changed |= relax(&mut hops, &credential.identity, h + 1);
            }
        }
        if !changed {
            break;
        }
    }
    hops.remove(from);
    hops.into_iter()
        .map(|(id, h)| {
            let set = actions.get(&id).copied().unwrap_or_default();
            (id, (h, set))
        })
        .collect()
}

/// The action sets with which `a` can enter `b` in one rule application (an empty set for a
/// non-resource `b`); empty when no rule applies.
fn entries(
    estate: &Estate,
    kinds: &HashMap<&str, EntityKind>,
    at: Timestamp,
    a: &str,
    b: &str,
) -> Vec<ActionSet> {
    let mut out = Vec::new();
    let meaningful = |kind: EntityKind, set: ActionSet| set.intersection(kind.meaningful_actions());
    match kinds.get(a) {
        Some(EntityKind::Agent) => {
            let agent = estate.agents.iter().find(|x| x.id == a).unwrap();
            if agent.runs_as.iter().any(|i| i == b) {
                out.push(ActionSet::EMPTY);
            }
        }
        Some(EntityKind::Tool) => {
            let tool = estate.tools.iter().find(|x| x.id == a).unwrap();
            if tool.runs_as.as_deref() == Some(b) {
                out.push(ActionSet::EMPTY);
            }
            for entry in tool.acts_on.iter().filter(|e| e.resource == b) {
                let set = meaningful(EntityKind::Resource, entry.actions);
                if !set.is_empty() {
                    out.push(set);
                }
            }
        }
        Some(EntityKind::Credential) => {
            let credential = estate.credentials.iter().find(|x| x.id == a).unwrap();
            if !credential.is_expired_at(at) && credential.identity == b {
                out.push(ActionSet::EMPTY);
            }
        }
        _ => {}
    }
    if matches!(kinds.get(a), Some(EntityKind::Agent | EntityKind::Identity)) {
        for grant in &estate.grants {
            if grant.subject != a || grant.target != b || grant.is_expired_at(at) {
                continue;
            }
            let Some(&kind) = kinds.get(b) else { continue };
            let set = meaningful(kind, grant.actions);
            if !set.is_empty() {
                out.push(if kind == EntityKind::Resource {
                    set
                } else {
                    ActionSet::EMPTY
                });
            }
        }
    }
    out
}

/// Whether `b` follows `a` by one rule application, given the action sets with which `a` was
/// entered (only used when `a` is a resource). Returns the action sets with which `b` is
/// entered, or `None` when no rule applies.
fn step(
    estate: &Estate,
    kinds: &HashMap<&str, EntityKind>,
    at: Timestamp,
    a: &str,
    entering: &[ActionSet],
    b: &str,
) -> Option<Vec<ActionSet>> {
    let (read_side, write_side) = rw();
    match estate.resources.iter().find(|r| r.id == a) {
        Some(resource) => {
            let opened =
                |side: ActionSet| entering.iter().any(|s| !s.intersection(side).is_empty());
            let ok = (resource.holds_credentials.iter().any(|c| c == b) && opened(read_side))
                || (resource.runs_as.iter().any(|i| i == b) && opened(write_side));
            ok.then(Vec::new)
        }
        None => {
            let next = entries(estate, kinds, at, a, b);
            (!next.is_empty()).then_some(next)
        }
    }
}

/// Whether `path` is a chain of valid rule applications (a resource step needs an edge into the
/// resource that opened the right side).
pub fn valid_path(estate: &Estate, at: Timestamp, path: &[String]) -> bool {
    let kinds = kinds(estate);
    let mut entering: Vec<ActionSet> = Vec::new();
    for pair in path.windows(2) {
        match step(estate, &kinds, at, &pair[0], &entering, &pair[1]) {
            Some(next) => entering = next,
            None => return false,
        }
    }
    true
}

/// Every distinct simple path from `from` to `to` of at most `max_hops` hops, sorted by length
/// and then by ids: a brute-force enumeration over id sequences, one rule check per step.
pub fn all_paths(
    estate: &Estate,
    at: Timestamp,
    from: &str,
    to: &str,
    max_hops: u32,
) -> Vec<Vec<String>> {
    let kinds = kinds(estate);
    let ids: Vec<&str> = kinds.keys().copied().collect();
    let mut found = BTreeSet::new();
    let mut path = vec![from];
    struct Walk<'a> {
        estate: &'a Estate,
        kinds: &'a HashMap<&'a str, EntityKind>,
        at: Timestamp,
        ids: &'a [&'a str],
        to: &'a str,
        max_hops: u32,
    }
    fn walk<'a>(
        w: &Walk<'a>,
        path: &mut Vec<&'a str>,
        entering: &[ActionSet],
        found: &mut BTreeSet<(usize, Vec<String>)>,
    ) {
        if path.len() as u32 > w.max_hops {
            return;
        }
        let last = *path.last().unwrap();
        for &next in w.ids {
            if path.contains(&next) {
                continue;
            }
            let Some(entered) = step(w.estate, w.kinds, w.at, last, entering, next) else {
                continue;
            };
            path.push(next);
            if next == w.to {
                found.insert((path.len(), path.iter().map(|s| s.to_string()).collect()));
            } else {
                walk(w, path, &entered, found);
            }
            path.pop();
        }
    }
    let context = Walk {
        estate,
        kinds: &kinds,
        at,
        ids: &ids,
        to,
        max_hops,
    };
    walk(&context, &mut path, &[], &mut found);
    found.into_iter().map(|(_, p)| p).collect()
}

/// A linear congruential generator: enough randomness for test estates, no dependency.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn below(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % bound as u64) as usize
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &'a [String]) -> &'a String {
        &items[self.below(items.len())]
    }
}

/// A small random estate: every reference valid, some grants and credentials expired (some
/// exactly at `at`), some meaningless actions, cycles likely.
pub fn generate(seed: u64, at: Timestamp) -> Estate {
    let mut rng = Lcg::new(seed);
    let count = |rng: &mut Lcg, low: usize, high: usize| low + rng.below(high - low + 1);
    let agents: Vec<String> = (0..count(&mut rng, 2, 4))
        .map(|i| format!("a{i}"))
        .collect();
    let identities: Vec<String> = (0..count(&mut rng, 3, 7))
        .map(|i| format!("i{i}"))
        .collect();
    let credentials: Vec<String> = (0..count(&mut rng, 2, 5))
        .map(|i| format!("c{i}"))
        .collect();
    let resources: Vec<String> = (0..count(&mut rng, 3, 6))
        .map(|i| format!("r{i}"))
        .collect();
    let tools: Vec<String> = (0..count(&mut rng, 1, 3))
        .map(|i| format!("t{i}"))
        .collect();
    let expiry = |rng: &mut Lcg| -> Option<Timestamp> {
        match rng.below(20) {
            0..=2 => Some(at - chrono::Duration::days(1 + rng.below(30) as i64)),
            3 => Some(at),
            4..=5 => Some(at + chrono::Duration::days(1 + rng.below(30) as i64)),
            _ => None,
        }
    };
    let actions_for = |rng: &mut Lcg, kind: EntityKind| -> ActionSet {
        let pool: Vec<Action> = if rng.chance(15) {
            Action::ALL.to_vec()
        } else {
            kind.meaningful_actions().iter().collect()
        };
        let mut set = ActionSet::EMPTY;
        for _ in 0..1 + rng.below(2) {
            set.insert(pool[rng.below(pool.len())]);
        }
        set
    };
    let mut estate = Estate::default();
    for id in &agents {
        let runs_as = (0..rng.below(3))
            .map(|_| rng.pick(&identities).clone())
            .collect();
        estate.agents.push(Agent {
            id: id.clone(),
            name: id.clone(),
            owner: None,
            environment: None,
            autonomy: Autonomy::Autonomous,
            runs_as,
        });
    }
    for id in &identities {
        estate.identities.push(Identity {
            id: id.clone(),
            kind: IdentityKind::ServiceAccount,
            name: id.clone(),
            owner: None,
            provider: None,
        });
    }
    for id in &credentials {
        let identity = rng.pick(&identities).clone();
        let expires_at = expiry(&mut rng);
        estate.credentials.push(Credential {
            id: id.clone(),
            identity,
            kind: CredentialKind::Token,
            issued_at: None,
            expires_at,
            last_rotated: None,
            last_used: None,
            fingerprint: None,
        });
    }
    for id in &resources {
        let holds = (0..rng.below(3))
            .map(|_| rng.pick(&credentials).clone())
            .collect();
        let runs_as = if rng.chance(35) {
            vec![rng.pick(&identities).clone()]
        } else {
            Vec::new()
        };
        estate.resources.push(Resource {
            id: id.clone(),
            kind: ResourceKind::Other,
            name: id.clone(),
            sensitivity: Sensitivity::ALL[rng.below(4)],
            crown_jewel: rng.chance(40),
            environment: None,
            holds_credentials: holds,
            runs_as,
        });
    }
    for id in &tools {
        let runs_as = rng.chance(50).then(|| rng.pick(&identities).clone());
        let acts_on = (0..rng.below(3))
            .map(|_| ToolAction {
                resource: rng.pick(&resources).clone(),
                actions: actions_for(&mut rng, EntityKind::Resource),
            })
            .collect();
        estate.tools.push(Tool {
            id: id.clone(),
            name: id.clone(),
            server: None,
            runs_as,
            acts_on,
        });
    }
    for g in 0..count(&mut rng, 8, 22) {
        let subject = if rng.chance(25) {
            rng.pick(&agents).clone()
        } else {
            rng.pick(&identities).clone()
        };
        let (target, kind) = match rng.below(10) {
            0 => (rng.pick(&agents).clone(), EntityKind::Agent),
            1..=3 => (rng.pick(&identities).clone(), EntityKind::Identity),
            4 => (rng.pick(&tools).clone(), EntityKind::Tool),
            _ => (rng.pick(&resources).clone(), EntityKind::Resource),
        };
        let actions = actions_for(&mut rng, kind);
        let expires_at = expiry(&mut rng);
        estate.grants.push(Grant {
            id: format!("g{g}"),
            subject,
            target,
            actions,
            standing: true,
            expires_at,
            conditions: None,
            source: None,
        });
    }
    estate
}
