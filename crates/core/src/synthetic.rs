//! A deterministic synthetic estate: what `bridle gen` writes and what the benchmark measures.
//!
//! The shape follows the reference generator the benchmark is specified against
//! (`gen_estate.py`: the same entity counts per scale and the same mix of identities, secret
//! stores, pipelines, tools, busy "hot" identities and grant kinds), but the random numbers are our
//! own: a xoshiro256** stream seeded through SplitMix64, both written out below so that the same
//! scale and seed give the same estate on every platform and every release, whatever crate
//! versions change around it. Changing anything here changes every generated estate: treat the
//! draw order as a format.

use std::fmt;

use chrono::{NaiveDate, TimeZone, Utc};

use crate::model::{
    Action, ActionSet, Agent, Autonomy, Credential, CredentialKind, Estate, Grant, Identity,
    IdentityKind, Resource, ResourceKind, Sensitivity, Tool, ToolAction,
};
use crate::time::Timestamp;

/// How big an estate to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scale {
    /// 40 agents, 1,000 identities, 500 resources, 60 tools, 10,000 grants.
    Small,
    /// 400 agents, 10,000 identities, 5,000 resources, 600 tools, 100,000 grants.
    Medium,
    /// 2,000 agents, 100,000 identities, 50,000 resources, 5,000 tools, 1,000,000 grants.
    Large,
}

impl Scale {
    pub const ALL: [Scale; 3] = [Scale::Small, Scale::Medium, Scale::Large];

    pub fn as_str(self) -> &'static str {
        match self {
            Scale::Small => "small",
            Scale::Medium => "medium",
            Scale::Large => "large",
        }
    }

    pub fn parse(word: &str) -> Option<Scale> {
        Scale::ALL.into_iter().find(|s| s.as_str() == word)
    }

    /// The entity counts of this scale (credentials follow from identities: one or two each).
    pub fn sizes(self) -> Sizes {
        let (agents, identities, resources, tools, grants) = match self {
            Scale::Small => (40, 1_000, 500, 60, 10_000),
            Scale::Medium => (400, 10_000, 5_000, 600, 100_000),
            Scale::Large => (2_000, 100_000, 50_000, 5_000, 1_000_000),
        };
        Sizes {
            agents,
            identities,
            resources,
            tools,
            grants,
        }
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Entity counts of a scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub agents: usize,
    pub identities: usize,
    pub resources: usize,
    pub tools: usize,
    pub grants: usize,
}

/// The estate of `scale` for `seed`: always the same estate for the same arguments.
pub fn generate(scale: Scale, seed: u64) -> Estate {
    generate_sizes(scale.sizes(), seed)
}

/// Like [`generate`] with explicit counts (tests use tiny ones). Every count must be at least 1.
pub fn generate_sizes(sizes: Sizes, seed: u64) -> Estate {
    let Sizes {
        agents: n_agents,
        identities: n_identities,
        resources: n_resources,
        tools: n_tools,
        grants: n_grants,
    } = sizes;
    assert!(
        n_agents > 0 && n_identities > 0 && n_resources > 0 && n_tools > 0,
        "every entity count must be at least 1"
    );
    let mut rng = Rng::new(seed);

    let identities: Vec<Identity> = (0..n_identities)
        .map(|i| Identity {
            id: format!("id:{i}"),
            kind: *rng.choose(IdentityKind::ALL),
            name: format!("identity {i}"),
            owner: (!rng.chance(0.1)).then(|| format!("team{}@example.com", i % 97)),
            provider: Some((*rng.choose(&["vault", "spire", "aws", "k8s", "okta"])).to_owned()),
        })
        .collect();

    // `other` is left out, as in the reference generator.
    let credential_kinds = &CredentialKind::ALL[..CredentialKind::ALL.len() - 1];
    let mut credentials = Vec::with_capacity(n_identities * 3 / 2);
    for i in 0..n_identities {
        let count = if rng.chance(0.6) { 1 } else { 2 };
        for k in 0..count {
            let issued = rng.below(300) as u32;
            let long_lived = rng.chance(0.3);
            let kind = *rng.choose(credential_kinds);
            let expires = (!long_lived).then(|| day(335.min(issued + 1 + rng.below(39) as u32)));
            let used = day(335.min(issued + rng.below(60) as u32));
            let fingerprint = format!(
                "sha256:{:016x}{:016x}{:016x}{:016x}",
                rng.next_u64(),
                rng.next_u64(),
                rng.next_u64(),
                rng.next_u64()
            );
            credentials.push(Credential {
                id: format!("cred:{i}.{k}"),
                identity: format!("id:{i}"),
                kind,
                issued_at: Some(day(issued)),
                expires_at: expires,
                last_rotated: Some(day(issued)),
                last_used: Some(used),
                fingerprint: Some(fingerprint),
            });
        }
    }

    // Secret stores and pipelines are drawn first; the rest share the other kinds evenly.
    let plain_kinds: Vec<ResourceKind> = ResourceKind::ALL
        .iter()
        .copied()
        .filter(|k| !matches!(k, ResourceKind::SecretStore | ResourceKind::Pipeline))
        .collect();
    let resources: Vec<Resource> = (0..n_resources)
        .map(|r| {
            let x = rng.unit();
            let kind = if x < 0.05 {
                ResourceKind::SecretStore
            } else if x < 0.07 {
                ResourceKind::Pipeline
            } else {
                *rng.choose(&plain_kinds)
            };
            let sensitivity = *rng.choose(Sensitivity::ALL);
            let crown_jewel = rng.chance(0.01);
            let holds_credentials = if kind == ResourceKind::SecretStore {
                let k = 1 + rng.below(19) as usize;
                rng.distinct(credentials.len(), k)
                    .into_iter()
                    .map(|c| credentials[c].id.clone())
                    .collect()
            } else {
                Vec::new()
            };
            let runs_as = if kind == ResourceKind::Pipeline {
                vec![format!("id:{}", rng.below(n_identities as u64))]
            } else {
                Vec::new()
            };
            Resource {
                id: format!("res:{r}"),
                kind,
                name: format!("{kind} {r}"),
                sensitivity,
                crown_jewel,
                environment: None,
                holds_credentials,
                runs_as,
            }
        })
        .collect();

    let side_actions = [Action::Read, Action::Write, Action::Admin];
    let tools: Vec<Tool> = (0..n_tools)
        .map(|t| {
            let runs_as = rng
                .chance(0.5)
                .then(|| format!("id:{}", rng.below(n_identities as u64)));
            let entries = 1 + rng.below(3) as usize;
            let acts_on = (0..entries)
                .map(|_| {
                    let resource = format!("res:{}", rng.below(n_resources as u64));
                    let k = 1 + rng.below(2) as usize;
                    let actions = rng
                        .distinct(side_actions.len(), k)
                        .into_iter()
                        .map(|a| side_actions[a])
                        .collect();
                    ToolAction { resource, actions }
                })
                .collect();
            Tool {
                id: format!("tool:{t}"),
                name: format!("tool_{t}"),
                server: Some(format!("mcp://server{}", t % 50)),
                runs_as,
                acts_on,
            }
        })
        .collect();

    let agents: Vec<Agent> = (0..n_agents)
        .map(|g| {
            let environment = (*rng.choose(&["prod", "staging", "dev"])).to_owned();
            let autonomy = *rng.choose(Autonomy::ALL);
            let count = 1 + rng.below(2);
            Agent {
                id: format!("agent:{g}"),
                name: format!("agent {g}"),
                owner: Some(format!("team{}@example.com", g % 97)),
                environment: Some(environment),
                autonomy,
                runs_as: (0..count)
                    .map(|_| format!("id:{}", rng.below(n_identities as u64)))
                    .collect(),
            }
        })
        .collect();

    // A few very busy identities: the cube skews them towards the low ids.
    let hot: Vec<u64> = (0..(n_identities / 10).max(1))
        .map(|_| (n_identities as f64 * rng.unit().powi(3)) as u64)
        .collect();
    let mut grants = Vec::with_capacity(n_grants);
    for k in 0..n_grants {
        let x = rng.unit();
        let (subject, target, actions) = if x < 0.04 {
            let action = if rng.chance(0.5) {
                Action::Assume
            } else {
                Action::Impersonate
            };
            (
                format!("id:{}", rng.choose(&hot)),
                format!("id:{}", rng.below(n_identities as u64)),
                ActionSet::from_iter([action]),
            )
        } else if x < 0.06 {
            (
                format!("agent:{}", rng.below(n_agents as u64)),
                format!("tool:{}", rng.below(n_tools as u64)),
                ActionSet::from_iter([Action::Invoke]),
            )
        } else if x < 0.062 {
            (
                format!("agent:{}", rng.below(n_agents as u64)),
                format!("agent:{}", rng.below(n_agents as u64)),
                ActionSet::from_iter([Action::Delegate]),
            )
        } else {
            let subject = if rng.chance(0.3) {
                *rng.choose(&hot)
            } else {
                rng.below(n_identities as u64)
            };
            let target = rng.below(n_resources as u64);
            let count = 1 + rng.below(2) as usize;
            let actions = rng
                .distinct(side_actions.len(), count)
                .into_iter()
                .map(|a| side_actions[a])
                .collect();
            (format!("id:{subject}"), format!("res:{target}"), actions)
        };
        let standing = rng.chance(0.8);
        let expires_at = rng.chance(0.1).then(|| day(rng.below(336) as u32));
        grants.push(Grant {
            id: format!("g-{k}"),
            subject,
            target,
            actions,
            standing,
            expires_at,
            conditions: None,
            source: Some("synthetic".to_owned()),
        });
    }

    Estate {
        agents,
        identities,
        credentials,
        resources,
        tools,
        grants,
    }
}

/// Midnight UTC of a day offset in 2026, on a 28-day month grid (day 0 is 1 January, day 335
/// is 28 December), so every offset is a valid date.
fn day(offset: u32) -> Timestamp {
    let date = NaiveDate::from_ymd_opt(2026, 1 + offset / 28, 1 + offset % 28)
        .expect("offsets below 336 are dates in 2026");
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

/// xoshiro256** (Blackman and Vigna), seeded by expanding the seed with SplitMix64.
struct Rng {
    state: [u64; 4],
}

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut split_mix = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng {
            state: [split_mix(), split_mix(), split_mix(), split_mix()],
        }
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` from the top 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    /// Uniform in `[0, n)`, without modulo bias (Lemire's multiply-and-reject).
    fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0) has no value");
        let threshold = n.wrapping_neg() % n;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(n);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }

    fn choose<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `k` distinct indices below `n` (all of them when `k >= n`), in draw order (Floyd's
    /// algorithm: exactly `k` draws whatever the collisions).
    fn distinct(&mut self, n: usize, k: usize) -> Vec<usize> {
        let k = k.min(n);
        let mut chosen = Vec::with_capacity(k);
        for j in n - k..n {
            let t = self.below(j as u64 + 1) as usize;
            chosen.push(if chosen.contains(&t) { j } else { t });
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estate::{Syntax, parse, write_canonical};

    fn tiny() -> Sizes {
        Sizes {
            agents: 6,
            identities: 40,
            resources: 30,
            tools: 5,
            grants: 200,
        }
    }

    fn canonical(estate: &Estate) -> Vec<u8> {
        let mut bytes = Vec::new();
        write_canonical(estate, &mut bytes).unwrap();
        bytes
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
        let a = canonical(&generate_sizes(tiny(), 7));
        assert_eq!(a, canonical(&generate_sizes(tiny(), 7)));
        assert_ne!(a, canonical(&generate_sizes(tiny(), 8)));
    }

    #[test]
    fn the_generated_estate_is_valid_with_no_warnings() {
        for seed in 0..20 {
            let bytes = canonical(&generate_sizes(tiny(), seed));
            let parsed = parse(&bytes, Syntax::Json);
            let problems: Vec<String> = parsed
                .diagnostics
                .iter()
                .map(|d| format!("{d:?}"))
                .collect();
            assert!(problems.is_empty(), "seed {seed}: {problems:?}");
        }
    }

    #[test]
    fn the_small_scale_has_the_documented_counts_and_mix() {
        let estate = generate(Scale::Small, 1);
        let counts = estate.counts();
        assert_eq!(
            (
                counts.agents,
                counts.identities,
                counts.resources,
                counts.tools,
                counts.grants
            ),
            (40, 1_000, 500, 60, 10_000)
        );
        // One or two credentials per identity, about 1.4 on average.
        assert!((1_300..1_500).contains(&counts.credentials), "{counts:?}");
        let stores = estate
            .resources
            .iter()
            .filter(|r| r.kind == ResourceKind::SecretStore)
            .count();
        assert!((10..45).contains(&stores), "{stores} secret stores");
        let jewels = estate.resources.iter().filter(|r| r.crown_jewel).count();
        assert!((1..15).contains(&jewels), "{jewels} crown jewels");
        let on_resources = estate
            .grants
            .iter()
            .filter(|g| g.target.starts_with("res:"))
            .count();
        assert!((9_200..9_600).contains(&on_resources), "{on_resources}");
    }

    #[test]
    fn the_random_stream_is_pinned() {
        // The draw order is a format: this changes only when every generated estate does.
        let mut rng = Rng::new(1);
        let first: Vec<u64> = (0..3).map(|_| rng.below(1_000_000)).collect();
        expect_test::expect![[r#"
            [
                702921,
                520436,
                574105,
            ]
        "#]]
        .assert_debug_eq(&first);
    }

    #[test]
    fn distinct_never_repeats_and_stays_in_range() {
        let mut rng = Rng::new(3);
        for n in 1..12 {
            for k in 0..14 {
                let picked = rng.distinct(n, k);
                assert_eq!(picked.len(), k.min(n));
                let mut sorted = picked.clone();
                sorted.sort_unstable();
                sorted.dedup();
                assert_eq!(sorted.len(), picked.len());
                assert!(picked.iter().all(|&i| i < n));
            }
        }
    }

    #[test]
    fn days_stay_in_2026() {
        assert_eq!(crate::time::format_utc(&day(0)), "2026-01-01T00:00:00Z");
        assert_eq!(crate::time::format_utc(&day(335)), "2026-12-28T00:00:00Z");
    }
}
