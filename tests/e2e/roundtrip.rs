//! An estate that uses every estate/v1 field and odd but valid ids (ARNs, SPIFFE and other URIs,
//! spaces, non-ASCII, a 500-byte id) survives import, `ls --json` and export unchanged, and the
//! export re-imports to byte-identical output. The YAML form gives the same bytes.

use serde_json::Value;

use crate::support::{KINDS, Sandbox, array, fixture, normalised_estate, read_json};

/// Every field of every fixture entity appears, with the same value, in `ls KIND --json`.
fn assert_listed_like(sandbox: &Sandbox, expected: &Value) {
    for kind in KINDS {
        let rows = sandbox.list(kind);
        let entities = array(expected, kind);
        assert_eq!(
            rows.len(),
            entities.len(),
            "ls {kind} --json lists {} rows for {} entities",
            rows.len(),
            entities.len()
        );
        for entity in entities {
            let id = entity["id"].as_str().expect("every entity has an id");
            let row = rows
                .iter()
                .find(|row| row["id"] == id)
                .unwrap_or_else(|| panic!("ls {kind} --json does not list `{id}`"));
            for (field, value) in entity.as_object().expect("an entity is an object") {
                assert_eq!(
                    &row[field], value,
                    "ls {kind} --json: `{id}` field `{field}` differs"
                );
            }
        }
    }
}

fn assert_round_trip(fixture_name: &str) -> Vec<u8> {
    let sandbox = Sandbox::new();
    let file = fixture(fixture_name);
    let snapshot = sandbox.import(&file, &[]);
    let expected = normalised_estate(&read_json(&fixture("estates/every-field.json")));

    assert_listed_like(&sandbox, &expected);

    let first = sandbox.export("out.json", None);
    let exported: Value = serde_json::from_slice(&first).expect("the export is JSON");
    assert_eq!(
        exported, expected,
        "the export of {fixture_name} is not the fixture (ids filled in, lists sorted by id)"
    );

    // Re-import the export into a second database and export again: the same bytes.
    let second = Sandbox::new();
    let second_snapshot = second.import(&sandbox.path("out.json"), &[]);
    assert_eq!(second.export("again.json", None), first);
    assert_eq!(second_snapshot["estate_sha256"], snapshot["estate_sha256"]);
    assert_eq!(second_snapshot["counts"], snapshot["counts"]);
    first
}

#[test]
fn every_field_json_round_trips() {
    assert_round_trip("estates/every-field.json");
}

#[test]
fn every_field_yaml_gives_the_same_export_as_json() {
    let from_yaml = assert_round_trip("estates/every-field.yaml");
    let sandbox = Sandbox::new();
    sandbox.import(&fixture("estates/every-field.json"), &[]);
    let from_json = sandbox.export("json.json", None);
    assert_eq!(
        String::from_utf8(from_yaml).expect("UTF-8"),
        String::from_utf8(from_json).expect("UTF-8")
    );
}

#[test]
fn ls_grants_lists_every_grant_with_derived_ids() {
    let sandbox = Sandbox::new();
    sandbox.import(&fixture("estates/every-field.json"), &[]);
    let expected = normalised_estate(&read_json(&fixture("estates/every-field.json")));
    let mut listed: Vec<String> = sandbox
        .list("grants")
        .iter()
        .map(|g| g["id"].as_str().expect("a grant id").to_owned())
        .collect();
    let mut wanted: Vec<String> = array(&expected, "grants")
        .iter()
        .map(|g| g["id"].as_str().expect("a grant id").to_owned())
        .collect();
    listed.sort();
    wanted.sort();
    assert_eq!(listed, wanted);
    assert!(
        wanted
            .iter()
            .any(|id| id.starts_with("g:") && id.len() == 18),
        "the fixture has a grant without id, so a derived id is listed"
    );
}
