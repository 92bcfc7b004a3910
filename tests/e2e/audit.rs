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

/// `bridle risk add` with a title, asserting nothing about its outcome.
fn add_risk(sandbox: &Sandbox, title: &str) -> crate::support::Run {
    sandbox.bridle(&[
        "risk",
        "add",
        "--title",
        title,
        "--likelihood",
        "3",
        "--impact",
        "4",
    ])
}

/// What a forger with the published scheme does: edit entry `seq`, recompute every hash after it
/// and point the anchor's head at the new chain (its MAC needs the key, which they lack).
fn forge(sandbox: &Sandbox, seq: i64, detail: &str) {
    use sha2::{Digest, Sha256};
    let connection = rusqlite::Connection::open(sandbox.db()).expect("the database opens");
    connection
        .execute(
            "UPDATE audit_log SET detail = ?1 WHERE seq = ?2",
            rusqlite::params![detail, seq],
        )
        .unwrap();
    let database_id: String = connection
        .query_row(
            "SELECT value FROM meta WHERE key = 'database_id'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut prev = hex::encode(Sha256::digest(
        format!("bridle audit genesis {database_id}").as_bytes(),
    ));
    let rows: Vec<(i64, String, String, String, String, String, String)> = connection
        .prepare("SELECT seq, at, user, host, action, subject, detail FROM audit_log ORDER BY seq")
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (seq, at, user, host, action, subject, detail) in rows {
        let fields = serde_json::json!([prev, seq, at, user, host, action, subject, detail]);
        let hash = hex::encode(Sha256::digest(fields.to_string().as_bytes()));
        connection
            .execute(
                "UPDATE audit_log SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
                rusqlite::params![prev, hash, seq],
            )
            .unwrap();
        prev = hash;
    }
    connection
        .execute("UPDATE audit_anchor SET head_hash = ?1", [&prev])
        .unwrap();
    connection.close().unwrap();
}

#[test]
fn a_forged_chain_stays_broken_after_the_next_write_until_acknowledged() {
    let sandbox = two_imports();
    forge(&sandbox, 1, "{\"snapshot\":1,\"forged\":true}");
    verify(&sandbox, 1);
    // The owner's next ordinary write is refused and says what broke and what to do.
    let run = add_risk(&sandbox, "after the forgery");
    run.expect_code(1);
    assert!(
        run.stderr.contains("audit log is broken")
            && run.stderr.contains("bridle audit acknowledge"),
        "{}",
        run.stderr
    );
    let verification = verify(&sandbox, 1);
    assert_eq!(verification["intact"], false);

    // The acknowledgement is the one write allowed; the break stays listed afterwards.
    sandbox
        .bridle(&[
            "audit",
            "acknowledge",
            "--reason",
            "forged entry found in review 2026-12-07",
        ])
        .ok();
    let verification = verify(&sandbox, 0);
    let acknowledged = verification["acknowledged"].as_array().unwrap();
    assert_eq!(acknowledged.len(), 1, "{verification}");
    assert_eq!(
        acknowledged[0]["reason"],
        "forged entry found in review 2026-12-07"
    );
    add_risk(&sandbox, "after the acknowledgement").ok();
    let run = sandbox.bridle(&["audit", "verify"]);
    run.ok();
    assert!(run.stdout.contains("acknowledged break"), "{}", run.stdout);
}

#[test]
fn a_database_copied_back_from_an_older_backup_fails() {
    let sandbox = Sandbox::new();
    sandbox.import(&demo_estate(), &[]);
    let backup = sandbox.path("backup.db");
    std::fs::copy(sandbox.db(), &backup).unwrap();
    sandbox.import(&fixture("estates/every-field.json"), &["--source", "odd"]);
    std::fs::copy(&backup, sandbox.db()).unwrap();
    let verification = verify(&sandbox, 1);
    let problems = verification["problems"].to_string();
    assert!(problems.contains("entries were removed"), "{problems}");
    add_risk(&sandbox, "on the restored copy").expect_code(1);
}

#[test]
fn an_emptied_log_fails() {
    let sandbox = two_imports();
    tamper(&sandbox, "DELETE FROM audit_log; DELETE FROM audit_anchor;");
    let verification = verify(&sandbox, 1);
    let problems = verification["problems"].to_string();
    assert!(problems.contains("entries were removed"), "{problems}");
}

#[test]
fn a_risk_accepted_by_editing_the_table_is_reported_with_its_row() {
    let sandbox = two_imports();
    add_risk(&sandbox, "standing admin tokens").ok();
    verify(&sandbox, 0);
    tamper(
        &sandbox,
        "UPDATE risks SET status = 'accepted', treatment = 'accept', accepted_by = 'mallory', \
         acceptance_expires = '2027-06-01T00:00:00Z' WHERE id = 1",
    );
    let verification = verify(&sandbox, 1);
    let problems = verification["problems"].to_string();
    assert!(
        problems.contains("risk R-1 (row risks/1) was changed outside Bridle"),
        "{problems}"
    );
    // The CI gate sees it too: evidence verify and every later write.
    add_risk(&sandbox, "another").expect_code(1);
}

#[test]
fn snapshots_are_rebuilt_by_a_deep_verification() {
    let sandbox = two_imports();
    let run = sandbox.bridle(&["audit", "verify", "--deep", "--json"]);
    run.ok();
    assert_eq!(run.json()["snapshots_rebuilt"], 2);
    tamper(
        &sandbox,
        "UPDATE snapshots SET estate_sha256 = 'deadbeef' || substr(estate_sha256, 9) WHERE id = 1",
    );
    let run = sandbox.bridle(&["audit", "verify", "--deep", "--json"]);
    run.expect_code(1);
    assert!(run.json()["problems"].to_string().contains("snapshot 1"));
}

#[test]
fn ordinary_concurrent_use_never_trips_the_checks() {
    let sandbox = two_imports();
    std::thread::scope(|scope| {
        for n in 0..4 {
            let sandbox = &sandbox;
            scope.spawn(move || {
                for k in 0..3 {
                    add_risk(sandbox, &format!("risk {n}.{k}")).ok();
                }
            });
        }
        scope.spawn(|| {
            // The same file again: an import entry all the same.
            sandbox.import(&fixture("estates/every-field.json"), &["--source", "odd"]);
        });
    });
    let verification = verify(&sandbox, 0);
    assert_eq!(verification["entries"], 2 + 12 + 1);
}
