//! Named regressions for the ACL semantics; the differential test against a real server lives in
//! `tests/e2e/openbao_acl_differential.rs`.

use super::*;
use crate::openbao::policy::parse_policy;

fn policy(name: &str, text: &str) -> Policy {
    parse_policy(name, text).unwrap_or_else(|e| panic!("{e}"))
}

fn answer(policies: &[&Policy], path: &str) -> String {
    Acl::new(policies.iter().copied(), TemplateScope::NoEntity)
        .decide(path)
        .answer()
        .join(",")
}

#[test]
fn one_acl_per_token_an_exact_rule_of_one_policy_beats_a_glob_of_another() {
    let reader = policy(
        "reader",
        "path \"secret/data/*\" { capabilities = [\"read\"] }",
    );
    let lister = policy(
        "lister",
        "path \"secret/data/app\" { capabilities = [\"list\"] }",
    );
    // Per policy and united this would be `list, read`; the server decides with one rule.
    assert_eq!(answer(&[&reader, &lister], "secret/data/app"), "list");
    assert_eq!(answer(&[&lister, &reader], "secret/data/app"), "list");
    assert_eq!(answer(&[&reader, &lister], "secret/data/other"), "read");
}

#[test]
fn the_same_path_in_several_policies_unites_and_deny_on_it_wins() {
    let a = policy("a", "path \"kv/x\" { capabilities = [\"read\"] }");
    let b = policy("b", "path \"kv/x\" { capabilities = [\"update\"] }");
    let no = policy("no", "path \"kv/x\" { capabilities = [\"deny\"] }");
    assert_eq!(answer(&[&a, &b], "kv/x"), "read,update");
    assert_eq!(answer(&[&a, &no, &b], "kv/x"), "deny");
    assert_eq!(answer(&[&no, &a], "kv/x"), "deny");
    let acl = Acl::new([&a, &b], TemplateScope::NoEntity);
    let Verdict::Rule(rule) = acl.decide("kv/x") else {
        panic!("a rule decides")
    };
    assert_eq!(rule.provenance(), "policies a, b rule `kv/x`");
}

#[test]
fn a_deny_glob_loses_to_a_more_specific_allow() {
    let reader = policy(
        "reader",
        "path \"secret/data/shared/*\" { capabilities = [\"read\"] }",
    );
    let blocker = policy("blocker", "path \"secret/*\" { capabilities = [\"deny\"] }");
    assert_eq!(
        answer(&[&reader, &blocker], "secret/data/shared/readme"),
        "read"
    );
    assert_eq!(answer(&[&reader, &blocker], "secret/data/other"), "deny");
}

#[test]
fn rule_priority_follows_the_server() {
    let p = policy(
        "p",
        r#"
path "a/*" { capabilities = ["read"] }
path "a/b/*" { capabilities = ["list"] }
path "a/+/c" { capabilities = ["update"] }
path "a/+/*" { capabilities = ["create"] }
path "a/b/+" { capabilities = ["delete"] }
path "a/+/+" { capabilities = ["patch"] }
path "x/+/y/ab*" { capabilities = ["read"] }
path "x/+/y/a*" { capabilities = ["list"] }
path "m/ap*" { capabilities = ["sudo", "read"] }
"#,
    );
    // `a/b/+` and the glob `a/b/` share the first wildcard position; not-a-prefix wins.
    assert_eq!(answer(&[&p], "a/b/c"), "delete");
    // Beyond one segment only the glob `a/b/` matches there, and its wildcard is later than
    // the `+` rules' at position 2.
    assert_eq!(answer(&[&p], "a/b/c/d"), "list");
    // No glob beyond `a/`: `+` rules at position 2 outrank it; not-a-prefix beats a prefix,
    // then fewer `+` segments.
    assert_eq!(answer(&[&p], "a/z/c"), "update");
    assert_eq!(answer(&[&p], "a/z/q"), "patch");
    // Two globs from position 2: fewer `+` segments wins, so `a/*` beats `a/+/*`.
    assert_eq!(answer(&[&p], "a/z/q/r"), "read");
    assert_eq!(answer(&[&p], "a/zz"), "read");
    // Longer wins among otherwise equal prefixes.
    assert_eq!(answer(&[&p], "x/1/y/abc"), "read");
    assert_eq!(answer(&[&p], "x/1/y/acc"), "list");
    // A glob matches mid-segment.
    assert_eq!(answer(&[&p], "m/apple/pie"), "read,sudo");
    assert_eq!(answer(&[&p], "m/b"), "deny");
}

#[test]
fn a_list_request_also_matches_the_path_without_its_trailing_slash() {
    let p = policy(
        "p",
        "path \"kv/metadata/app\" { capabilities = [\"list\"] }\npath \"kv/+/team\" { capabilities = [\"read\"] }",
    );
    assert_eq!(answer(&[&p], "kv/metadata/app/"), "list");
    assert_eq!(answer(&[&p], "kv/data/team/"), "read");
}

#[test]
fn no_rule_and_an_empty_rule_are_deny_and_root_is_root() {
    let p = policy("p", "path \"kv/a\" { capabilities = [] }");
    assert_eq!(answer(&[&p], "kv/a"), "deny");
    assert_eq!(answer(&[&p], "kv/b"), "deny");
    let root = Policy {
        name: "root".into(),
        rules: Vec::new(),
    };
    assert_eq!(answer(&[&root], "anything"), "root");
}

fn entity() -> EntityFacts {
    EntityFacts {
        id: "e-1".into(),
        name: "ml-agent".into(),
        metadata: BTreeMap::from([("team".to_owned(), "ml".to_owned())]),
        aliases: vec![AliasFacts {
            mount_accessor: "auth_approle_1".into(),
            name: "role-id-1".into(),
            id: "alias-1".into(),
            ..AliasFacts::default()
        }],
        groups: vec![GroupFacts {
            id: "g-1".into(),
            name: "ops".into(),
            metadata: BTreeMap::new(),
        }],
    }
}

#[test]
fn templated_paths_resolve_for_a_known_entity_and_vanish_without_one() {
    let p = policy(
        "t",
        r#"
path "kv/data/{{identity.entity.name}}/*" { capabilities = ["read"] }
path "kv/data/team-{{ identity.entity.metadata.team }}" { capabilities = ["update"] }
path "kv/data/a/{{identity.entity.aliases.auth_approle_1.name}}" { capabilities = ["list"] }
path "kv/data/g/{{identity.groups.names.ops.id}}" { capabilities = ["patch"] }
path "kv/data/none/{{identity.entity.metadata.missing}}" { capabilities = ["delete"] }
"#,
    );
    let facts = entity();
    let acl = Acl::new([&p], TemplateScope::Entity(&facts));
    assert_eq!(acl.decide("kv/data/ml-agent/x").answer(), vec!["read"]);
    assert_eq!(acl.decide("kv/data/team-ml").answer(), vec!["update"]);
    assert_eq!(acl.decide("kv/data/a/role-id-1").answer(), vec!["list"]);
    assert_eq!(acl.decide("kv/data/g/g-1").answer(), vec!["patch"]);
    assert_eq!(
        acl.rules().count(),
        4,
        "the unresolvable template is dropped"
    );
    let none = Acl::new([&p], TemplateScope::NoEntity);
    assert_eq!(none.rules().count(), 0);
    let unknown = Acl::new([&p], TemplateScope::Unknown);
    assert_eq!(unknown.unresolved().len(), 5);
    // A value that would widen the path is refused, as the server refuses it.
    let mut slashed = entity();
    slashed.name = "a/b".into();
    assert_eq!(substitute("kv/{{identity.entity.name}}", &slashed), None);
}

#[test]
fn list_reveals_names_not_values_and_kv_paths_map_by_what_they_do() {
    let caps = |words: &[&str]| {
        words.iter().fold(Capabilities::NONE, |c, w| {
            c.union(Capabilities::from_word(w).unwrap())
        })
    };
    let show = |set: ActionSet| set.to_string();
    assert_eq!(
        show(actions_for(caps(&["list"]), Some(KvOperation::Data))),
        ""
    );
    assert_eq!(show(actions_for(caps(&["list", "scan"]), None)), "");
    assert_eq!(
        show(actions_for(caps(&["read"]), Some(KvOperation::Data))),
        "read"
    );
    assert_eq!(
        show(actions_for(caps(&["read"]), Some(KvOperation::V1))),
        "read"
    );
    assert_eq!(
        show(actions_for(
            caps(&["read", "list"]),
            Some(KvOperation::Metadata)
        )),
        "",
        "reading metadata is not reading the value"
    );
    assert_eq!(
        show(actions_for(caps(&["delete"]), Some(KvOperation::Metadata))),
        "write"
    );
    assert_eq!(
        show(actions_for(caps(&["update"]), Some(KvOperation::Destroy))),
        "write"
    );
    assert_eq!(
        show(actions_for(caps(&["read"]), Some(KvOperation::Undelete))),
        "",
        "undelete/ has nothing to read"
    );
    assert_eq!(show(actions_for(caps(&["subscribe"]), None)), "");
    assert_eq!(show(actions_for(caps(&["sudo"]), None)), "");
    assert_eq!(
        show(actions_for(caps(&["sudo", "read"]), None)),
        "admin,read"
    );
    assert_eq!(
        show(actions_for(
            caps(&["sudo", "read"]),
            Some(KvOperation::Data)
        )),
        "read"
    );
    assert_eq!(show(actions_for(Capabilities::DENY, None)), "");
}

#[test]
fn kv_v2_paths_name_their_operation() {
    assert_eq!(KvOperation::of_v2_rest("data/a/b"), Some(KvOperation::Data));
    assert_eq!(
        KvOperation::of_v2_rest("metadata/a"),
        Some(KvOperation::Metadata)
    );
    assert_eq!(KvOperation::of_v2_rest("config"), None);
    let paths = KvOperation::v2_paths("secret/", "app/db");
    assert_eq!(paths[2].1, "secret/delete/app/db");
}
