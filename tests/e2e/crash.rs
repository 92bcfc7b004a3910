//! An import killed at any moment leaves a usable inventory: `bridle import` of a generated
//! estate (`gen --scale medium`: 100,000 grants, 130,000 entities, about 3 s to import in a
//! debug build) is killed with SIGKILL after a
//! range of delays that fall into reading, validating, writing and committing, and stopped
//! with Ctrl-C (SIGINT) at a few more. After each: the database opens, the snapshot taken
//! before is intact (its export is byte-for-byte what it was), every snapshot rebuilds to its
//! hash (`snapshots --verify`), the audit chain verifies, and the import either landed whole
//! or not at all.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::support::{Sandbox, sha256_file};

fn snapshots(sandbox: &Sandbox, verify: bool) -> Vec<Value> {
    let mut args = vec!["snapshots", "--json"];
    if verify {
        args.push("--verify");
    }
    let listed = sandbox.bridle(&args);
    listed.ok();
    listed
        .json()
        .as_array()
        .cloned()
        .expect("a list of snapshots")
}

fn export_of_first(sandbox: &Sandbox, name: &str) -> String {
    sandbox.export(name, Some(1));
    sha256_file(&sandbox.path(name)).expect("the export was written")
}

/// Starts `bridle import FILE --source crash`, signals it after `delay`, and returns its exit
/// code (`None`: killed by the signal).
fn interrupt_import(sandbox: &Sandbox, file: &str, delay: Duration, signal: &str) -> Option<i32> {
    let db = sandbox.db();
    let mut child = sandbox
        .command(&[
            "--db",
            db.to_str().unwrap(),
            "import",
            file,
            "--source",
            "crash",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bridle can be started");
    std::thread::sleep(delay);
    if signal == "KILL" {
        let _ = child.kill();
    } else {
        let _ = std::process::Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status();
    }
    let output = child.wait_with_output().expect("bridle ends");
    if let Some(code) = output.status.code() {
        assert!(
            code == 0 || code == 130,
            "after SIG{signal} at {delay:?}: exit {code}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        if code == 130 {
            assert!(
                String::from_utf8_lossy(&output.stderr).contains("interrupted"),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    output.status.code()
}

#[test]
fn an_import_killed_at_any_point_leaves_the_previous_snapshot_and_the_audit_chain_intact() {
    let sandbox = Sandbox::new();
    let first = sandbox.path("first.json");
    sandbox
        .bridle(&[
            "gen",
            "--scale",
            "medium",
            "--seed",
            "1",
            "--output",
            first.to_str().unwrap(),
        ])
        .ok();
    sandbox.import(&first, &["--source", "crash"]);
    let before = export_of_first(&sandbox, "before.json");

    let delays_ms: [(u64, &str); 8] = [
        (30, "KILL"),
        (300, "KILL"),
        (900, "KILL"),
        (1_600, "KILL"),
        (2_400, "KILL"),
        (3_300, "KILL"),
        (400, "INT"),
        (2_000, "INT"),
    ];
    let mut landed = 0;
    let mut stopped = 0;
    for (round, (delay, signal)) in delays_ms.into_iter().enumerate() {
        // A new estate each round, so an import that lands is always a new snapshot.
        let next = sandbox.path(&format!("next-{round}.json"));
        sandbox
            .bridle(&[
                "gen",
                "--scale",
                "medium",
                "--seed",
                &(100 + round).to_string(),
                "--output",
                next.to_str().unwrap(),
            ])
            .ok();
        let count_before = snapshots(&sandbox, false).len();
        let code = interrupt_import(
            &sandbox,
            next.to_str().unwrap(),
            Duration::from_millis(delay),
            signal,
        );

        let after = snapshots(&sandbox, true);
        for snapshot in &after {
            assert_eq!(
                snapshot["reconstructs"], true,
                "round {round} (SIG{signal} at {delay} ms): {snapshot}"
            );
        }
        match after.len() - count_before {
            0 => {
                stopped += 1;
                assert_ne!(
                    code,
                    Some(0),
                    "round {round}: exit 0 without a new snapshot"
                );
            }
            1 => landed += 1,
            more => panic!("round {round}: {more} new snapshots from one import"),
        }
        sandbox.bridle(&["audit", "verify"]).ok();
        assert_eq!(
            export_of_first(&sandbox, &format!("first-after-{round}.json")),
            before,
            "round {round} (SIG{signal} at {delay} ms): the first snapshot changed"
        );
    }
    eprintln!("crash rounds: {stopped} stopped before landing, {landed} landed whole");
    assert!(
        stopped >= 3,
        "at least the early signals must stop an import before it lands ({stopped} stopped, {landed} landed)"
    );
    // Nothing half-written beside the database, and the next import works.
    let leftovers: Vec<String> = std::fs::read_dir(sandbox.path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".partial"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
    let last = sandbox.path("last.json");
    sandbox
        .bridle(&[
            "gen",
            "--scale",
            "small",
            "--seed",
            "9",
            "--output",
            last.to_str().unwrap(),
        ])
        .ok();
    sandbox.import(&last, &["--source", "crash"]);
}
