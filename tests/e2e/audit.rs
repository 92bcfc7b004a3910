//! The audit log catches tampering done directly on the SQLite file: an edited entry, deleted
//! newest entries (caught by the anchor), a chain and anchor recomputed without the key (caught by
//! the anchor's MAC), and a missing key file.

use serde_json::Value;

use crate::support::{Sandbox, demo_estate, fixture};

/// A sandbox whose database holds two import entries.
fn two_imports() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.import(&demo_estate(), &[]);
    sandbox.import(&fixture("estates/every-field.json"), &["--source", "odd"]);
    sandbox.bridle(&["audit", "verify"]).ok();
    sandbox
}

/// Edits the database file directly, as an attacker with write access to it would.
fn tamper(sandbox: &Sandbox, sql: &str) {
    let connection = rusqlite::Connection::open(sandbox.db()).expect("the database opens");
    connection.execute_batch(sql).expect("the edit applies");
    connection.close().expect("the database closes");
}

/// `audit verify --json` after asserting its exit code.
fn verify(sandbox: &Sandbox, code: i32) -> Value {
    let run = sandbox.bridle(&["audit", "verify", "--json"]);
    run.expect_code(code);
    run.json()
}

#[test]
fn an_intact_log_verifies_and_lists_its_entries() {
    let sandbox = two_imports();
    let verification = verify(&sandbox, 0);
    assert_eq!(verification["intact"], true);
    assert_eq!(verification["entries"], 2);

    let run = sandbox.bridle(&["audit", "log", "--json"]);
    run.ok();
    let entries = run.json();
    let entries = entries.as_array().expect("an array of entries");
    assert_eq!(entries.len(), 2);
    for (n, entry) in entries.iter().enumerate() {
        assert_eq!(entry["seq"], n + 1);
        for field in ["at", "user", "host", "action", "hash"] {
            assert!(
                entry[field].as_str().is_some_and(|v| !v.is_empty()),
                "entry {} has no `{field}`: {entry}",
                n + 1
            );
        }
    }
    assert_eq!(entries[1]["prev_hash"], entries[0]["hash"]);
    assert_eq!(verification["head_hash"], entries[1]["hash"]);

    // The key that authenticates the anchor is readable by its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sandbox.audit_key())
            .expect("the key file exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "key file mode {mode:o}");
    }
}

#[test]
fn an_edited_entry_is_caught() {
    let sandbox = two_imports();
    tamper(
        &sandbox,
        "UPDATE audit_log SET subject = subject || ' (edited)' WHERE seq = 1",
    );
    let run = sandbox.bridle(&["audit", "verify"]);
    run.expect_code(1);
    assert!(
        run.stdout.contains("entry 1"),
        "verify does not name entry 1:\n{}",
        run.stdout
    );
    let verification = verify(&sandbox, 1);
    assert_eq!(verification["intact"], false);
    assert_eq!(verification["first_broken_seq"], 1);
}

#[test]
fn a_deleted_newest_entry_is_caught_by_the_anchor() {
    let sandbox = two_imports();
    tamper(&sandbox, "DELETE FROM audit_log WHERE seq = 2");
    let verification = verify(&sandbox, 1);
    assert_eq!(verification["intact"], false);
    assert_eq!(verification["first_broken_seq"], 2, "{verification}");
}

#[test]
fn a_recomputed_anchor_without_the_key_is_caught() {
    let sandbox = two_imports();
    // Delete the newest entry and make the anchor agree with the shortened log; without the key
    // the old MAC is all the attacker can leave.
    tamper(
        &sandbox,
        "DELETE FROM audit_log WHERE seq = 2; \
         UPDATE audit_anchor SET entries = 1, \
         head_hash = (SELECT hash FROM audit_log WHERE seq = 1)",
    );
    let verification = verify(&sandbox, 1);
    assert_eq!(verification["intact"], false);
    assert_eq!(verification["entries"], 1);
}

#[test]
fn a_missing_key_file_is_named() {
    let sandbox = two_imports();
    let key = sandbox.audit_key();
    assert!(key.is_file(), "the key lives at {}", key.display());
    std::fs::remove_file(&key).expect("the key file can be removed");
    let run = sandbox.bridle(&["audit", "verify"]);
    run.expect_code(1);
    let output = format!("{}{}", run.stdout, run.stderr);
    assert!(
        output.contains(&key.display().to_string()),
        "the message does not name {}:\n{output}",
        key.display()
    );
}
