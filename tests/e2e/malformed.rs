//! Every malformed estate in `fixtures/malformed/` is rejected with exit code 2, one
//! `FILE: LOCATION: message` line per expected location, and no trace in the database: a fresh
//! database is never created, an existing one (and its WAL) stays byte-for-byte the same.

use std::path::PathBuf;

use crate::support::{Sandbox, demo_estate, fixture, sha256_file, with_suffix};

/// One line of `MANIFEST.tsv`: a file and the locations its errors must be reported at.
struct Case {
    file: PathBuf,
    locations: Vec<String>,
}

fn manifest() -> Vec<Case> {
    let text = std::fs::read_to_string(fixture("malformed/MANIFEST.tsv"))
        .expect("the malformed manifest exists");
    let cases: Vec<Case> = text
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (file, locations) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("manifest line without a tab: {line:?}"));
            Case {
                file: fixture(&format!("malformed/{file}")),
                locations: locations.split(',').map(str::to_owned).collect(),
            }
        })
        .collect();
    // Every fixture in the directory is listed, so none is silently skipped.
    let listed: Vec<_> = cases.iter().map(|c| c.file.clone()).collect();
    for entry in std::fs::read_dir(fixture("malformed")).expect("the fixture directory exists") {
        let path = entry.expect("a directory entry").path();
        if path.file_name().is_some_and(|n| n != "MANIFEST.tsv") {
            assert!(
                listed.contains(&path),
                "{} is not in MANIFEST.tsv",
                path.display()
            );
        }
    }
    assert!(cases.len() >= 20, "only {} malformed cases", cases.len());
    cases
}

/// Imports the case into the sandbox database and returns what is wrong with the rejection
/// (empty when it is exactly as the manifest says).
fn rejection_problems(sandbox: &Sandbox, case: &Case) -> Vec<String> {
    let run = sandbox.bridle(&["import".as_ref(), case.file.as_os_str()]);
    let shown = case.file.display().to_string();
    let mut problems = Vec::new();
    if run.code != 2 {
        problems.push(format!("exit code {} instead of 2", run.code));
    }
    for location in &case.locations {
        let prefix = format!("{shown}: {location}: ");
        if !run.stderr.lines().any(|line| line.starts_with(&prefix)) {
            problems.push(format!("no line starting with `{prefix}`"));
        }
    }
    if !problems.is_empty() {
        problems.push(format!("stderr was:\n{}", run.stderr));
    }
    problems
}

fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} malformed case(s) misreported:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn each_malformed_file_is_rejected_without_creating_the_database() {
    let sandbox = Sandbox::new();
    let db = sandbox.db();
    let mut failures = Vec::new();
    for case in manifest() {
        let mut problems = rejection_problems(&sandbox, &case);
        for file in [
            db.clone(),
            with_suffix(&db, "-wal"),
            with_suffix(&db, "-shm"),
        ] {
            if file.exists() {
                problems.push(format!("{} was created", file.display()));
                std::fs::remove_file(&file).expect("the stray file can be removed");
            }
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}", case.file.display(), problems.join("; ")));
        }
    }
    report(failures);
}

#[test]
fn each_malformed_file_leaves_an_existing_database_and_wal_unchanged() {
    let sandbox = Sandbox::new();
    sandbox.import(&demo_estate(), &[]);
    let db = sandbox.db();
    let wal = with_suffix(&db, "-wal");
    let before = (sha256_file(&db), sha256_file(&wal));
    assert!(before.0.is_some(), "the demo import created the database");
    let mut failures = Vec::new();
    for case in manifest() {
        let mut problems = rejection_problems(&sandbox, &case);
        let after = (sha256_file(&db), sha256_file(&wal));
        if after.0 != before.0 {
            problems.push("the database file changed".to_owned());
        }
        if after.1 != before.1 {
            problems.push(format!(
                "the WAL changed (before: {:?}, after: {:?})",
                before.1, after.1
            ));
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}", case.file.display(), problems.join("; ")));
        }
    }
    report(failures);
}

#[test]
fn multi_error_file_reports_every_error_and_the_summary() {
    let sandbox = Sandbox::new();
    let file = fixture("malformed/multi-error.json");
    let run = sandbox.bridle(&["import".as_ref(), file.as_os_str()]);
    run.expect_code(2);
    let shown = file.display().to_string();
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.starts_with(&format!("{shown}: ")) && !line.contains(": warning: "))
        .filter(|line| !line.contains(": rejected with "))
        .collect();
    assert!(errors.len() >= 4, "expected 4 errors, got:\n{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("{shown}: rejected with {} error(s)", errors.len())),
        "no summary counting {} errors:\n{}",
        errors.len(),
        run.stderr
    );
}
