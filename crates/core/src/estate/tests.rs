use expect_test::{Expect, expect};

use super::*;

/// Parses `text` and renders every diagnostic as the CLI prints it, then the counts.
fn check(syntax: Syntax, text: &str, expected: Expect) {
    let parsed = parse(text.as_bytes(), syntax);
    let mut rendered: Vec<String> = parsed.diagnostics.iter().map(ToString::to_string).collect();
    match &parsed.estate {
        Some(estate) => rendered.push(format!("ok {:?}", estate.counts())),
        None => rendered.push("rejected".to_owned()),
    }
    expected.assert_eq(&rendered.join("\n"));
}

const MINIMAL: &str = r#"{"bridle":"estate/v1",
 "agents":[{"id":"agent:a","name":"A","owner":null,"environment":"prod","autonomy":"autonomous","runs_as":["id:a"]}],
 "identities":[{"id":"id:a","kind":"spiffe","name":"a","owner":null,"provider":null},
               {"id":"id:b","kind":"human","name":"b","owner":null,"provider":null}],
 "credentials":[{"id":"cred:b","identity":"id:b","kind":"token","issued_at":"2026-01-01T00:00:00Z","expires_at":null,"last_rotated":null,"last_used":null,"fingerprint":null}],
 "resources":[{"id":"res:s","kind":"secret_store","name":"s","sensitivity":"restricted","crown_jewel":false,"holds_credentials":["cred:b"],"runs_as":[]}],
 "tools":[],
 "grants":[{"subject":"id:a","target":"res:s","actions":["read"],"standing":true,"expires_at":null,"conditions":null,"source":null}]}"#;

#[test]
fn reads_a_minimal_estate_and_derives_grant_ids() {
    check(
        Syntax::Json,
        MINIMAL,
        expect![[
            r#"ok Counts { agents: 1, identities: 2, credentials: 1, resources: 1, tools: 0, grants: 1 }"#
        ]],
    );
    let estate = parse(MINIMAL.as_bytes(), Syntax::Json).estate.unwrap();
    let actions = ActionSet::from_iter([crate::model::Action::Read]);
    assert_eq!(
        estate.grants[0].id,
        derived_grant_id("id:a", "res:s", actions)
    );
    assert!(estate.grants[0].id.starts_with("g:") && estate.grants[0].id.len() == 18);
}

#[test]
fn reports_every_problem_with_its_path() {
    let text = MINIMAL
        .replace(r#""autonomy":"autonomous""#, r#""autonomy":"rogue""#)
        .replace(r#""standing":true"#, r#""standing":"yes""#)
        .replace(r#""target":"res:s""#, r#""target":"cred:b""#)
        .replace(
            r#""issued_at":"2026-01-01T00:00:00Z""#,
            r#""issued_at":"2026-13-01T00:00:00Z""#,
        );
    check(
        Syntax::Json,
        &text,
        expect![[r#"
        agents[0].autonomy: unknown autonomy `rogue` (expected one of: assistive, supervised, autonomous)
        credentials[0].issued_at: `2026-13-01T00:00:00Z` is not an RFC 3339 timestamp (input is out of range)
        grants[0].standing: expected true or false, found a string
        rejected"#]],
    );
}

#[test]
fn checks_references_and_kinds() {
    let text = MINIMAL
        .replace(r#""runs_as":["id:a"]"#, r#""runs_as":["id:nobody"]"#)
        .replace(
            r#""subject":"id:a","target":"res:s""#,
            r#""subject":"res:s","target":"cred:b""#,
        );
    check(
        Syntax::Json,
        &text,
        expect![[r#"
            grants[0].subject: `res:s` is a resource (resources[0]), but this must name an agent or identity
            grants[0].target: `cred:b` is a credential (credentials[0]), but this must name an agent, identity, tool or resource
            agents[0].runs_as[0]: unknown id `id:nobody`: no entity in this estate has it (expected an identity)
            rejected"#]],
    );
}

#[test]
fn duplicate_ids_point_at_the_second_occurrence() {
    let text = MINIMAL.replace(r#""id":"res:s""#, r#""id":"agent:a""#);
    let parsed = parse(text.as_bytes(), Syntax::Json);
    let first = parsed.errors().next().unwrap().to_string();
    assert_eq!(
        first,
        "resources[0].id: duplicate id `agent:a`: already used by agents[0]"
    );
}

#[test]
fn meaningless_actions_are_warnings_not_errors() {
    let text = MINIMAL.replace(
        r#""target":"res:s","actions":["read"]"#,
        r#""target":"id:b","actions":["read","assume"]"#,
    );
    check(
        Syntax::Json,
        &text,
        expect![[r#"
        grants[0].actions: warning: `read` means nothing on an identity (`id:b`): kept, but creates no privilege edge (meaningful there: assume,impersonate)
        ok Counts { agents: 1, identities: 2, credentials: 1, resources: 1, tools: 0, grants: 1 }"#]],
    );
}

#[test]
fn syntax_errors_carry_line_and_column() {
    check(
        Syntax::Json,
        "{\"bridle\":\"estate/v1\",\n \"agents\":[,]}",
        expect![[r#"
        line 2 column 12: expected value
        rejected"#]],
    );
    check(
        Syntax::Yaml,
        "bridle: estate/v1\nagents:\n  - id: a\n   name: b\n",
        expect![[r#"
        line 4 column 4: did not find expected '-' indicator, while parsing a block collection
        rejected"#]],
    );
    check(
        Syntax::Json,
        "[1]",
        expect![[r#"
            $: the document must be an object with "bridle": "estate/v1", found an array
            rejected"#]],
    );
}

#[test]
fn yaml_reads_like_json() {
    let yaml = "bridle: estate/v1\nagents:\n  - id: agent:a\n    name: Zoë\n    autonomy: supervised\n    runs_as: []\n";
    check(
        Syntax::Yaml,
        yaml,
        expect![[
            r#"ok Counts { agents: 1, identities: 0, credentials: 0, resources: 0, tools: 0, grants: 0 }"#
        ]],
    );
}

#[test]
fn canonical_form_round_trips() {
    let estate = parse(MINIMAL.as_bytes(), Syntax::Json).estate.unwrap();
    let canonical = CanonicalEstate::of(&estate);
    let again = parse(&canonical.bytes, Syntax::Json).estate.unwrap();
    assert_eq!(again, estate);
    assert_eq!(CanonicalEstate::of(&again).sha256, canonical.sha256);
}

#[test]
fn a_broken_grant_whose_derived_id_clashes_is_located_on_the_grant() {
    // Found by the fuzz tests: the clash was reported at `grants[1].id`, a field this grant
    // does not have.
    let text = MINIMAL.replace(
        r#""conditions":null,"source":null}]}"#,
        r#""conditions":null,"source":null},
  {"subject":"id:a","target":"res:s","actions":["read"],"standing":true,"expires_at":null,"conditions":[],"source":null}]}"#,
    );
    check(
        Syntax::Json,
        &text,
        expect![[r#"
            grants[1].conditions: expected a string, found an array
            grants[1]: the derived id `g:383dab6e5593c364` of this grant (written without an id) is already used by grants[0]: the same subject, target and actions appear twice
            rejected"#]],
    );
}
