//! A broker profile planted in a database cannot make Bridle read the local user's secret and
//! send it anywhere: whoever writes the database (here: another user with their own
//! configuration) adds profiles naming *our* environment variable and credential file and a
//! listener of theirs; our test, sync and revocation are refused before anything is read or
//! sent (the listener records every connection), until we approve that exact use. A profile
//! changed in the database after the approval needs a new one.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::support::Sandbox;

/// A loopback listener that records what every connection sends (and answers 503).
struct Listener {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Listener {
    fn start() -> Listener {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { continue };
                let record = Arc::clone(&record);
                std::thread::spawn(move || {
                    let _ = client.set_read_timeout(Some(Duration::from_millis(500)));
                    let mut bytes = Vec::new();
                    let mut buffer = [0u8; 4096];
                    while let Ok(n) = client.read(&mut buffer) {
                        if n == 0 {
                            break;
                        }
                        bytes.extend_from_slice(&buffer[..n]);
                        if bytes.windows(4).any(|w| w == b"\r\n\r\n") {
                            break;
                        }
                    }
                    record
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&bytes).into_owned());
                    let _ = std::io::Write::write_all(
                        &mut client,
                        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                });
            }
        });
        Listener { port, seen }
    }

    fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<String> {
        // A connection that was made is recorded within the read timeout.
        std::thread::sleep(Duration::from_millis(600));
        self.seen.lock().unwrap().clone()
    }
}

const SECRET_ENV: &str = "BRIDLE_PLANTED_VICTIM_TOKEN";
const SECRET_VALUE: &str = "s.victim-secret-7f3a";
const SECRET_FILE_VALUE: &str = "s.victim-file-secret-91c2";

fn audit_actions(sandbox: &Sandbox) -> Vec<(String, Value)> {
    let log = sandbox.bridle(&["audit", "log", "--json"]);
    log.ok();
    log.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                serde_json::from_str(e["detail"].as_str().unwrap()).unwrap_or(Value::Null),
            )
        })
        .collect()
}

#[test]
fn a_planted_profile_sends_nothing_until_the_local_user_approves_exactly_that_use() {
    let sandbox = Sandbox::new();
    let listener = Listener::start();
    let secret_file = sandbox.write_secret("my-token", SECRET_FILE_VALUE);
    let victim_env: [(&str, &Path); 1] = [(SECRET_ENV, Path::new(SECRET_VALUE))];
    let db = sandbox.db().display().to_string();

    // The writer of the database, with their own configuration, plants two profiles that
    // name our environment variable and our credential file.
    let writer_config = sandbox.path("writer-config");
    let writer = |args: &[&str]| {
        let mut full = vec!["--db", db.as_str()];
        full.extend_from_slice(args);
        sandbox.bridle_with(&full, &[("XDG_CONFIG_HOME", &writer_config)])
    };
    let file_reference = format!("file:{}", secret_file.display());
    for (name, reference) in [
        ("planted-env", format!("env:{SECRET_ENV}")),
        ("planted-file", file_reference.clone()),
    ] {
        writer(&[
            "broker",
            "add",
            name,
            "--kind",
            "openbao",
            "--address",
            &listener.address(),
            "--credential",
            &reference,
        ])
        .ok();
    }

    // We see them as not approved here.
    let listed = sandbox.bridle_with(
        &["--db", db.as_str(), "broker", "ls", "--json"],
        &victim_env,
    );
    listed.ok();
    for profile in listed.json().as_array().unwrap() {
        assert_eq!(profile["credential_approved"], false, "{profile}");
    }
    let table = sandbox.bridle(&["broker", "ls"]);
    assert!(
        table.ok().stdout.contains("(not approved here)"),
        "{}",
        table.stdout
    );

    // Test, sync and revocation are refused before anything is read or sent.
    for name in ["planted-env", "planted-file"] {
        let reference = if name == "planted-env" {
            format!("env:{SECRET_ENV}")
        } else {
            file_reference.clone()
        };
        for command in [
            vec!["broker", "test", name],
            vec!["sync", name],
            vec![
                "revoke",
                name,
                "--accessor",
                "some-accessor",
                "--yes",
                "--force",
            ],
        ] {
            let mut full = vec!["--db", db.as_str()];
            full.extend_from_slice(&command);
            let run = sandbox.bridle_with(&full, &victim_env);
            run.expect_code(2);
            assert!(
                run.stderr.contains("have not approved")
                    && run.stderr.contains(&listener.address())
                    && run.stderr.contains(&reference)
                    && run
                        .stderr
                        .contains(&format!("bridle broker approve {name}")),
                "{command:?}: {}",
                run.stderr
            );
        }
    }
    assert_eq!(
        listener.requests(),
        Vec::<String>::new(),
        "nothing was sent"
    );
    // A refused sync is not a sync run: nothing about it in the inventory.
    let shown = sandbox.bridle(&["broker", "show", "planted-env", "--json"]);
    assert_eq!(shown.ok().json()["runs"], Value::Array(Vec::new()));

    // Approval needs a confirmation: without a terminal and without --yes it is refused.
    sandbox
        .bridle(&["broker", "approve", "planted-env"])
        .expect_code(2);
    assert!(
        !audit_actions(&sandbox)
            .iter()
            .any(|(action, _)| action == "broker.credential.approve")
    );
    let approved = sandbox.bridle(&["broker", "approve", "planted-env", "--yes"]);
    assert!(
        approved
            .ok()
            .stdout
            .contains(&format!("sends the secret read from env:{SECRET_ENV}")),
        "{}",
        approved.stdout
    );
    let approval = audit_actions(&sandbox)
        .into_iter()
        .find(|(action, _)| action == "broker.credential.approve")
        .expect("the approval is audited")
        .1;
    assert_eq!(approval["profile"], "planted-env");
    assert_eq!(approval["address"], format!("{}/", listener.address()));
    assert_eq!(approval["credential"], format!("env:{SECRET_ENV}"));
    // Kept in our own configuration, owner-only, not in the database.
    let approvals_file = sandbox.path("config/bridle/broker-credentials.json");
    let text = std::fs::read_to_string(&approvals_file).unwrap();
    assert!(
        text.contains("planted-env") && !text.contains("planted-file"),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&approvals_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Now, and only for the approved profile, the token goes to the approved address.
    let mut full = vec!["--db", db.as_str()];
    full.extend_from_slice(&["broker", "test", "planted-env"]);
    let _ = sandbox.bridle_with(&full, &victim_env);
    let requests = listener.requests();
    assert!(
        requests.iter().any(|r| r.contains(SECRET_VALUE)),
        "{requests:?}"
    );
    let mut full = vec!["--db", db.as_str()];
    full.extend_from_slice(&["sync", "planted-file"]);
    sandbox.bridle_with(&full, &victim_env).expect_code(2);
    assert!(
        !listener
            .requests()
            .iter()
            .any(|r| r.contains(SECRET_FILE_VALUE)),
        "the unapproved file secret was never sent"
    );

    // Withdrawing is audited too.
    sandbox
        .bridle(&["broker", "approve", "planted-env", "--withdraw"])
        .ok();
    assert!(
        audit_actions(&sandbox)
            .iter()
            .any(|(action, _)| action == "broker.credential.withdraw")
    );
    let listed = sandbox.bridle(&["broker", "show", "planted-env", "--json"]);
    assert_eq!(listed.ok().json()["profile"]["credential_approved"], false);
    sandbox
        .bridle(&["broker", "approve", "planted-env", "--yes"])
        .ok();

    // The writer moves the approved profile to another listener of theirs, behind Bridle's
    // back: a new use, refused (the audit chain also shows the edit).
    let elsewhere = Listener::start();
    let connection = rusqlite::Connection::open(sandbox.db()).unwrap();
    let stored: String = connection
        .query_row(
            "SELECT profile FROM broker_profiles WHERE name = 'planted-env'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let mut profile: Value = serde_json::from_str(&stored).unwrap();
    profile["address"] = Value::String(format!("{}/", elsewhere.address()));
    connection
        .execute(
            "UPDATE broker_profiles SET address = ?1, profile = ?2 WHERE name = 'planted-env'",
            rusqlite::params![elsewhere.address(), profile.to_string()],
        )
        .unwrap();
    drop(connection);
    let mut full = vec!["--db", db.as_str()];
    full.extend_from_slice(&["sync", "planted-env"]);
    let moved = sandbox.bridle_with(&full, &victim_env);
    moved.expect_code(2);
    assert!(
        moved.stderr.contains(&elsewhere.address()),
        "{}",
        moved.stderr
    );
    assert_eq!(elsewhere.requests(), Vec::<String>::new());
}

#[test]
fn a_profile_added_here_is_approved_here_and_removing_it_forgets_the_approval() {
    let sandbox = Sandbox::new();
    let listener = Listener::start();
    sandbox
        .bridle(&[
            "broker",
            "add",
            "mine",
            "--kind",
            "openbao",
            "--address",
            &listener.address(),
            "--credential",
            &format!("env:{SECRET_ENV}"),
        ])
        .ok();
    let shown = sandbox.bridle(&["broker", "show", "mine", "--json"]);
    assert_eq!(shown.ok().json()["profile"]["credential_approved"], true);
    sandbox.bridle(&["broker", "rm", "mine"]).ok();
    let text =
        std::fs::read_to_string(sandbox.path("config/bridle/broker-credentials.json")).unwrap();
    assert!(!text.contains("\"mine\""), "{text}");
    // A profile without a credential sends no secret and needs no approval.
    sandbox
        .bridle(&[
            "broker",
            "add",
            "tools",
            "--kind",
            "mcp",
            "--address",
            &format!("{}/mcp", listener.address()),
        ])
        .ok();
    let shown = sandbox.bridle(&["broker", "show", "tools", "--json"]);
    assert_eq!(
        shown.ok().json()["profile"]["credential_approved"],
        Value::Null
    );
}
