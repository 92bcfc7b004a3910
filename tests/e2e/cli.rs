//! The command line itself: help with examples, where databases go (`--db`, `BRIDLE_DB`, the
//! demo database), missing databases, `show`, and `status` agreeing with `ls`.

use std::path::Path;

use crate::support::{KINDS, Sandbox, demo_estate};

#[test]
fn every_subcommand_has_help_with_an_example() {
    let sandbox = Sandbox::new();
    for command in [
        &["import"][..],
        &["export"],
        &["ls"],
        &["show"],
        &["snapshots"],
        &["audit", "log"],
        &["audit", "verify"],
        &["demo"],
        &["status"],
    ] {
        let mut args: Vec<&str> = command.to_vec();
        args.push("--help");
        let run = sandbox.bridle_with(&args, &[]);
        run.ok();
        assert!(
            run.stdout.contains("Example"),
            "bridle {} has no example:\n{}",
            args.join(" "),
            run.stdout
        );
    }
}

#[test]
fn reading_a_missing_database_fails_without_creating_it() {
    let sandbox = Sandbox::new();
    let missing = sandbox.path("missing.db");
    let run = sandbox.bridle_with(
        &[
            "--db".as_ref(),
            missing.as_os_str(),
            "ls".as_ref(),
            "agents".as_ref(),
        ],
        &[],
    );
    run.expect_code(2);
    assert!(
        run.stderr.contains(&missing.display().to_string()),
        "the message does not name the database:\n{}",
        run.stderr
    );
    assert!(!missing.exists());
}

#[test]
fn show_lists_an_agents_grants() {
    let sandbox = Sandbox::new();
    sandbox.import(&demo_estate(), &[]);
    let grants = sandbox.list("grants");
    let subject = grants
        .iter()
        .find_map(|g| g["subject"].as_str().filter(|s| s.starts_with("agent:")))
        .expect("the demo has grants held by agents")
        .to_owned();
    let mut expected: Vec<&str> = grants
        .iter()
        .filter(|g| g["subject"] == subject.as_str())
        .filter_map(|g| g["id"].as_str())
        .collect();
    expected.sort_unstable();

    let run = sandbox.bridle(&["show", &subject, "--json"]);
    run.ok();
    let detail = run.json();
    assert_eq!(detail["entity"]["id"], subject.as_str());
    assert_eq!(detail["entity"]["type"], "agent");

    // An identity has a `kind` of its own, which the entity's tag must not collide with.
    let run = sandbox.bridle(&[
        "show",
        "spiffe://northwind.example/agents/support-bot",
        "--json",
    ]);
    run.ok();
    let identity = run.json();
    assert_eq!(identity["entity"]["type"], "identity");
    assert_eq!(identity["entity"]["kind"], "spiffe");
    let mut listed: Vec<&str> = detail["grants_out"]
        .as_array()
        .expect("grants_out is an array")
        .iter()
        .filter_map(|g| g["id"].as_str())
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, expected);
}

#[test]
fn demo_goes_to_the_demo_database_in_the_data_directory() {
    let sandbox = Sandbox::new();
    sandbox.bridle_with(&["demo"], &[]).ok();
    let data_dir = sandbox.data_dir();
    assert!(
        data_dir.join("demo.db").is_file(),
        "no demo.db in {}",
        data_dir.display()
    );
    assert!(
        !data_dir.join("bridle.db").exists(),
        "the demo went into bridle.db"
    );
}

#[test]
fn bridle_db_environment_variable_names_the_database() {
    let sandbox = Sandbox::new();
    let chosen = sandbox.path("from-env.db");
    let demo = demo_estate();
    sandbox
        .bridle_with(
            &["import".as_ref(), demo.as_os_str()],
            &[("BRIDLE_DB", chosen.as_path())],
        )
        .ok();
    assert!(chosen.is_file(), "BRIDLE_DB was not honoured");
    assert!(!sandbox.data_dir().join("bridle.db").exists());
    assert!(!sandbox.db().exists());
    let run = sandbox.bridle_with(
        &["ls", "agents", "--json"],
        &[("BRIDLE_DB", Path::new(&chosen))],
    );
    run.ok();
    assert!(!run.json().as_array().expect("an array").is_empty());
}

#[test]
fn status_counts_match_the_listings() {
    let sandbox = Sandbox::new();
    sandbox.bridle(&["demo"]).ok();
    let run = sandbox.bridle(&["status", "--json", "--at", "2026-11-28T12:00:00Z"]);
    run.ok();
    let overview = run.json();
    assert_eq!(overview["at"], "2026-11-28T12:00:00Z");
    for kind in KINDS {
        assert_eq!(
            overview["counts"][kind],
            sandbox.list(kind).len(),
            "status counts {kind}"
        );
    }
    assert!(
        !sandbox.data_dir().join("demo.db").exists(),
        "--db was ignored by demo"
    );
}
