//! Differential test of Bridle's OpenBao ACL semantics against the real server.
//!
//! A seeded generator writes random policy sets (exact paths, globs at the end of a segment and
//! mid-segment, `+` segments, rules overlapping across policies, legacy `policy` words, `deny`,
//! list-only rules, identity templates) over KV v1 and v2 mounts with nested secrets into a real
//! `bao` dev server, and creates tokens holding random subsets of the policies — some with an
//! entity whose own and group (nested) policies join the token's. For every (token, path acting
//! on a secret), the capabilities Bridle derives must equal the server's `sys/capabilities`
//! answer, twice: from the pure ACL module given the same policy texts, and from the real
//! `bridle sync` into a real SQLite file (its `vault.access` observations and grants).
//!
//! `BRIDLE_ACL_SEED=N` replays a seed; `BRIDLE_ACL_TOKENS=N` runs a larger case (default 24
//! tokens, about 2,600 pairs). A failure prints the seed, the policies and the pairs.

use std::collections::{BTreeMap, BTreeSet};

use bridle_brokers::openbao::acl::{Acl, AliasFacts, EntityFacts, TemplateScope};
use bridle_brokers::openbao::policy::parse_policy;
use serde_json::{Value, json};

use crate::broker_support::Bao;
use crate::support::Sandbox;

/// SplitMix64: small, seedable, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const SEGMENTS: [&str; 9] = [
    "app", "app-db", "apps", "team", "shared", "ops", "config", "db", "x",
];
const CAPABILITIES: [&str; 8] = [
    "create", "read", "update", "delete", "list", "sudo", "patch", "scan",
];
const ENTITY_NAMES: [&str; 3] = ["app", "team", "ops"];

struct Secret {
    mount: &'static str,
    version: u8,
    key: String,
}

impl Secret {
    fn paths(&self) -> Vec<String> {
        if self.version == 2 {
            ["data", "metadata", "delete", "undelete", "destroy"]
                .iter()
                .map(|op| format!("{}{op}/{}", self.mount, self.key))
                .collect()
        } else {
            vec![format!("{}{}", self.mount, self.key)]
        }
    }
}

const MOUNTS: [(&str, u8); 3] = [("secret/", 2), ("kv2/", 2), ("kv1/", 1)];

fn secrets(rng: &mut Rng) -> Vec<Secret> {
    let mut keys = BTreeSet::new();
    let mut out = Vec::new();
    while out.len() < 26 {
        let (mount, version) = *rng.pick(&MOUNTS);
        let depth = 1 + rng.below(3);
        let key: Vec<&str> = (0..depth).map(|_| *rng.pick(&SEGMENTS)).collect();
        let key = key.join("/");
        // A key cannot also be a folder of another key in the generated tree's listing sense;
        // both exist in KV, so keep them: `app` and `app/db` side by side.
        if keys.insert((mount, key.clone())) {
            out.push(Secret {
                mount,
                version,
                key,
            });
        }
    }
    out
}

/// A rule path derived from a real secret path, so rules overlap the secrets and each other.
fn rule_path(rng: &mut Rng, secrets: &[Secret]) -> String {
    let secret = rng.pick(secrets);
    let concrete = rng.pick(&secret.paths()).clone();
    let parts: Vec<&str> = concrete.split('/').collect();
    match rng.below(10) {
        0 | 1 => concrete,
        2 => {
            // A folder glob.
            let keep = 1 + rng.below(parts.len() - 1);
            format!("{}/*", parts[..keep].join("/"))
        }
        3 => {
            // A glob in the middle of a segment.
            let last = parts[parts.len() - 1];
            let cut = 1 + rng.below(last.len().max(1));
            format!(
                "{}/{}*",
                parts[..parts.len() - 1].join("/"),
                &last[..cut.min(last.len())]
            )
        }
        4 | 5 => {
            // One segment (not the mount) as `+`.
            let mut owned: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
            let at = 1 + rng.below(owned.len() - 1);
            owned[at] = "+".into();
            owned.join("/")
        }
        6 => {
            // `+` and a trailing glob.
            let mut owned: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
            owned[1] = "+".into();
            let keep = 2 + rng.below(owned.len().saturating_sub(1).max(1));
            let keep = keep.min(owned.len());
            format!("{}/*", owned[..keep].join("/"))
        }
        7 => format!("{}*", secret.mount),
        8 => {
            // An identity template where a key segment is.
            let mut owned: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
            let at = (owned.len() - 1).max(1);
            owned[at] = "{{identity.entity.name}}".into();
            owned.join("/")
        }
        _ => {
            let mut owned: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
            owned.truncate(2.max(owned.len() - 1));
            format!("{}/+", owned.join("/"))
        }
    }
}

fn block(rng: &mut Rng, path: &str) -> String {
    let roll = rng.below(100);
    let mut words: Vec<&str> = Vec::new();
    if roll < 10 {
        words.push("deny");
    } else if roll < 18 {
        words.push("list");
    } else {
        for _ in 0..(1 + rng.below(3)) {
            words.push(*rng.pick(&CAPABILITIES));
        }
        if rng.chance(4) {
            words.push("deny");
        }
    }
    words.sort();
    words.dedup();
    let list = words
        .iter()
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(", ");
    if rng.chance(10) {
        let legacy = *rng.pick(&["read", "write", "deny", "sudo"]);
        if rng.chance(50) {
            format!("path \"{path}\" {{\n  policy = \"{legacy}\"\n}}\n")
        } else {
            format!("path \"{path}\" {{\n  policy = \"{legacy}\"\n  capabilities = [{list}]\n}}\n")
        }
    } else {
        format!("path \"{path}\" {{\n  capabilities = [{list}]\n}}\n")
    }
}

struct Case {
    policies: BTreeMap<String, String>,
    secrets: Vec<Secret>,
}

fn generate(rng: &mut Rng) -> Case {
    let secrets = secrets(rng);
    // A shared pool of rule paths, so several policies write on the same path.
    let pool: Vec<String> = (0..40).map(|_| rule_path(rng, &secrets)).collect();
    let mut policies = BTreeMap::new();
    for i in 0..14 {
        let mut text = String::new();
        for _ in 0..(1 + rng.below(5)) {
            let path = if rng.chance(70) {
                rng.pick(&pool).clone()
            } else {
                rule_path(rng, &secrets)
            };
            text.push_str(&block(rng, &path));
        }
        policies.insert(format!("p{i:02}"), text);
    }
    Case { policies, secrets }
}

fn seed() -> u64 {
    match std::env::var("BRIDLE_ACL_SEED") {
        Ok(text) => text.parse().expect("BRIDLE_ACL_SEED is a number"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_nanos() as u64,
    }
}

fn token_count() -> usize {
    std::env::var("BRIDLE_ACL_TOKENS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(24)
}

/// A generated token: who it is and what the server was told.
struct GeneratedToken {
    token: String,
    accessor: String,
    policies: Vec<String>,
    entity: Option<String>,
}

fn server_capabilities(bao: &Bao, token: &str, paths: &[String]) -> BTreeMap<String, Vec<String>> {
    let (code, stdout, stderr) = bao.cli_with_input(
        &["write", "-format=json", "sys/capabilities", "-"],
        Some(&json!({"token": token, "paths": paths}).to_string()),
    );
    assert_eq!(code, 0, "sys/capabilities failed: {stdout}\n{stderr}");
    let answer: Value = serde_json::from_str(&stdout).expect("sys/capabilities answers JSON");
    paths
        .iter()
        .map(|p| {
            let mut words: Vec<String> = answer["data"][p]
                .as_array()
                .unwrap_or_else(|| panic!("no answer for {p}: {answer}"))
                .iter()
                .map(|w| w.as_str().expect("a capability word").to_owned())
                .collect();
            words.sort();
            (p.clone(), words)
        })
        .collect()
}

#[test]
fn bridle_derives_the_capabilities_the_real_server_answers() {
    let seed = seed();
    let mut rng = Rng(seed);
    let case = generate(&mut rng);
    let sandbox = Sandbox::new();
    let bao = Bao::start(&sandbox.path(""));
    bao.run(&["secrets", "enable", "-path=kv2", "-version=2", "kv"]);
    bao.run(&["secrets", "enable", "-path=kv1", "-version=1", "kv"]);
    for secret in &case.secrets {
        let path = format!("{}{}", secret.mount, secret.key);
        bao.run(&["kv", "put", &path, "k=v"]);
    }
    for (name, text) in &case.policies {
        let (code, stdout, stderr) =
            bao.cli_with_input(&["policy", "write", name, "-"], Some(text));
        assert_eq!(
            code, 0,
            "seed {seed}: the server refused generated policy {name}:\n{text}\n{stdout}{stderr}"
        );
    }
    let names: Vec<String> = case.policies.keys().cloned().collect();

    // Entities named like key segments (so templates resolve to real paths), with their own
    // policies, in internal groups nested two deep.
    let mut entity_policies: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut entity_ids: BTreeMap<String, String> = BTreeMap::new();
    for name in ENTITY_NAMES {
        let own = vec![rng.pick(&names).clone()];
        let out = bao.run(&[
            "write",
            "-format=json",
            "identity/entity",
            &format!("name={name}"),
            &format!("policies={}", own.join(",")),
        ]);
        let id = serde_json::from_str::<Value>(&out).unwrap()["data"]["id"]
            .as_str()
            .expect("an entity id")
            .to_owned();
        entity_ids.insert(name.to_owned(), id);
        entity_policies.insert(name.to_owned(), own);
    }
    let inner_members: Vec<&String> = entity_ids.values().take(2).collect();
    let inner_policy = rng.pick(&names).clone();
    let inner = bao.run(&[
        "write",
        "-format=json",
        "identity/group",
        "name=inner",
        &format!("policies={inner_policy}"),
        &format!(
            "member_entity_ids={}",
            inner_members
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ),
    ]);
    let inner_id = serde_json::from_str::<Value>(&inner).unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let outer_policy = rng.pick(&names).clone();
    bao.run(&[
        "write",
        "identity/group",
        "name=outer",
        &format!("policies={outer_policy}"),
        &format!("member_group_ids={inner_id}"),
    ]);
    // Tokens through a token role may name an entity alias, which joins them to the entity.
    bao.write_json(
        "auth/token/roles/diff",
        &json!({"allowed_policies": names, "allowed_entity_aliases": ENTITY_NAMES, "orphan": true}),
    );
    let token_mount = serde_json::from_str::<Value>(&bao.run(&["auth", "list", "-format=json"]))
        .unwrap()["token/"]["accessor"]
        .as_str()
        .unwrap()
        .to_owned();
    // The alias names the entity, so a token created with `-entity-alias=<name>` joins it.
    for (name, id) in &entity_ids {
        bao.run(&[
            "write",
            "identity/entity-alias",
            &format!("name={name}"),
            &format!("canonical_id={id}"),
            &format!("mount_accessor={token_mount}"),
        ]);
    }

    let mut tokens = Vec::new();
    for i in 0..token_count() {
        let mut held: Vec<String> = (0..(1 + rng.below(4)))
            .map(|_| rng.pick(&names).clone())
            .collect();
        held.sort();
        held.dedup();
        let mut args: Vec<String> = held.iter().map(|p| format!("-policy={p}")).collect();
        args.push("-ttl=2h".into());
        args.push(format!("-display-name=diff-{i}"));
        if rng.chance(25) {
            args.push("-no-default-policy".into());
        }
        let entity = if rng.chance(30) {
            let name = rng.pick(&ENTITY_NAMES).to_string();
            args.push("-role=diff".into());
            args.push(format!("-entity-alias={name}"));
            Some(name)
        } else {
            None
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (token, accessor) = bao.token(&args);
        tokens.push(GeneratedToken {
            token,
            accessor,
            policies: held,
            entity,
        });
    }
    let paths: Vec<String> = case.secrets.iter().flat_map(Secret::paths).collect();
    let answers: Vec<BTreeMap<String, Vec<String>>> = tokens
        .iter()
        .map(|t| server_capabilities(&bao, &t.token, &paths))
        .collect();
    let show_case = || {
        let mut text = format!("seed {seed} (replay with BRIDLE_ACL_SEED={seed})\n");
        for (name, policy) in &case.policies {
            text.push_str(&format!("--- policy {name}\n{policy}"));
        }
        text.push_str(&format!(
            "--- entities {entity_policies:?}; group inner ({inner_policy}) has {inner_members:?}, group outer ({outer_policy}) has inner\n"
        ));
        text
    };

    // 1. The pure ACL module, given the policy texts and what the server says the token holds.
    let parsed: BTreeMap<String, _> = case
        .policies
        .iter()
        .map(|(n, t)| {
            (
                n.clone(),
                parse_policy(n, t).unwrap_or_else(|e| panic!("seed {seed}: {e}")),
            )
        })
        .chain(std::iter::once((
            "default".to_owned(),
            parse_policy("default", &bao.run(&["policy", "read", "default"]))
                .expect("the default policy parses"),
        )))
        .collect();
    let mut mismatches = Vec::new();
    let mut pairs = 0;
    for (token, answer) in tokens.iter().zip(&answers) {
        let lookup: Value = serde_json::from_str(&bao.run(&[
            "token",
            "lookup",
            "-format=json",
            "-accessor",
            &token.accessor,
        ]))
        .unwrap();
        let data = &lookup["data"];
        let mut holds: Vec<String> = Vec::new();
        for key in ["policies", "identity_policies"] {
            holds.extend(
                data[key]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.as_str().map(str::to_owned)),
            );
        }
        let entity = data["entity_id"]
            .as_str()
            .filter(|id| !id.is_empty())
            .map(|id| {
                let read: Value = serde_json::from_str(&bao.run(&[
                    "read",
                    "-format=json",
                    &format!("identity/entity/id/{id}"),
                ]))
                .unwrap();
                let entity = &read["data"];
                let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
                EntityFacts {
                    id: text(&entity["id"]),
                    name: text(&entity["name"]),
                    aliases: entity["aliases"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| AliasFacts {
                            mount_accessor: text(&a["mount_accessor"]),
                            id: text(&a["id"]),
                            name: text(&a["name"]),
                            ..AliasFacts::default()
                        })
                        .collect(),
                    ..EntityFacts::default()
                }
            });
        if token.entity.is_some() {
            assert_eq!(
                entity.as_ref().map(|e| e.name.as_str()),
                token.entity.as_deref(),
                "seed {seed}: the token joined its entity through the alias"
            );
        }
        let scope = match &entity {
            Some(facts) => TemplateScope::Entity(facts),
            None => TemplateScope::NoEntity,
        };
        let acl = Acl::new(holds.iter().filter_map(|p| parsed.get(p)), scope);
        for path in &paths {
            pairs += 1;
            let ours: Vec<String> = acl
                .decide(path)
                .answer()
                .iter()
                .map(|w| (*w).to_owned())
                .collect();
            if ours != answer[path] {
                mismatches.push(format!(
                    "token {} (policies {holds:?}, entity {:?}) path {path}: server {:?}, acl module {ours:?}",
                    token.accessor, token.entity, answer[path]
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{}\n{} of {pairs} pairs differ:\n{}",
        show_case(),
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(pairs >= 1_000 || token_count() < 24, "only {pairs} pairs");

    // 2. The real sync: what Bridle stores equals what the server answers.
    let root_file = sandbox.write_secret("root-token", &bao.root_token);
    sandbox
        .bridle(&[
            "broker",
            "add",
            "bao",
            "--kind",
            "openbao",
            "--address",
            &bao.address(),
            "--credential",
            &format!("file:{}", root_file.display()),
            "--timeout",
            "30",
        ])
        .ok();
    let run = sandbox.bridle(&["sync", "bao", "--json"]);
    run.ok();
    let report = run.json();
    assert_eq!(report["run"]["status"], "ok", "{report}");
    let observed = sandbox.bridle(&[
        "broker",
        "observations",
        "bao",
        "--kind",
        "vault.access",
        "--json",
    ]);
    observed.ok();
    let mut derived: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for observation in observed.json().as_array().expect("a list") {
        let facts = &observation["facts"];
        let subject = facts["subject"].as_str().unwrap().to_owned();
        for (path, words) in facts["capabilities"].as_object().unwrap() {
            let words = words
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_str().unwrap().to_owned())
                .collect();
            derived.insert((subject.clone(), path.clone()), words);
        }
    }
    let grants = sandbox.list("grants");
    let deny = vec!["deny".to_owned()];
    let mut synced_pairs = 0;
    for (token, answer) in tokens.iter().zip(&answers) {
        let subject = format!("vault:bao:token/{}", token.accessor);
        for secret in &case.secrets {
            let value_path = secret.paths()[0].clone();
            for path in secret.paths() {
                synced_pairs += 1;
                let ours = derived
                    .get(&(subject.clone(), path.clone()))
                    .unwrap_or(&deny);
                if *ours != answer[&path] {
                    mismatches.push(format!(
                        "token {} (policies {:?}, entity {:?}) path {path}: server {:?}, bridle sync {ours:?}",
                        token.accessor, token.policies, token.entity, answer[&path]
                    ));
                }
            }
            // Reading the value is what reaches a secret: the grant says `read` exactly when
            // the server allows `read` on the value's path.
            let target = format!("vault:bao:{value_path}");
            let grant = grants
                .iter()
                .find(|g| g["subject"] == subject.as_str() && g["target"] == target.as_str());
            let granted_read =
                grant.is_some_and(|g| g["actions"].as_array().unwrap().iter().any(|a| a == "read"));
            let server_read = answer[&value_path].iter().any(|w| w == "read");
            if granted_read != server_read {
                mismatches.push(format!(
                    "token {} grant on {value_path}: server capabilities {:?}, grant {:?}",
                    token.accessor,
                    answer[&value_path],
                    grant.map(|g| (&g["actions"], &g["conditions"]))
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{}\n{} of {synced_pairs} synced pairs differ:\n{}",
        show_case(),
        mismatches.len(),
        mismatches.join("\n")
    );
    eprintln!("seed {seed}: {pairs} (token, path) pairs equal the server's answer");
}
