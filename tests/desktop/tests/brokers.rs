//! A broker profile that came with the database, through the real window: the Brokers page says
//! its credential is not approved on this machine, Approve… asks in a native dialog (answered
//! by the test hook that debug builds honour, since WebDriver cannot click a native dialog),
//! and then the page and the CLI show it approved, with the approval in the audit log.
//!
//! Screenshots: `<target>/e2e-screens/brokers-*.png`.

#[path = "../support.rs"]
mod support;

use std::process::Command;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_profile_is_marked_unapproved_until_approved_in_the_window() {
    let inventory = Inventory::new();
    inventory.cli(&["demo"]);
    // Someone else (their own configuration) adds a profile naming a credential of ours.
    let mut planted = Command::new(&build().cli);
    planted.arg("--db").arg(&inventory.db).args([
        "broker",
        "add",
        "planted",
        "--kind",
        "openbao",
        "--address",
        "http://127.0.0.1:9",
        "--credential",
        "env:BRIDLE_DESKTOP_PLANTED_TOKEN",
    ]);
    inventory.env(&mut planted);
    let writer_config = tempfile::tempdir().unwrap();
    planted.env("XDG_CONFIG_HOME", writer_config.path());
    let out = planted.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (_xvfb, display) = start_xvfb();
    let (_driver, port) = start_driver(&display, &inventory);
    let client = open_window(port, &inventory.db).await;
    click(&client, "[data-testid=nav-brokers]").await;
    let banner = text(&client, "#broker-planted [data-testid=broker-unapproved]").await;
    assert!(banner.contains("Not approved on this machine"), "{banner}");
    screenshot(&client, "brokers-unapproved.png").await;

    click(
        &client,
        "#broker-planted [data-testid=broker-unapproved] button",
    )
    .await;
    let approved = text(&client, "#broker-planted [data-testid=broker-approved]").await;
    assert!(
        approved.contains("env:BRIDLE_DESKTOP_PLANTED_TOKEN")
            && approved.contains("http://127.0.0.1:9/"),
        "{approved}"
    );
    eventually("the banner to go", || async {
        client
            .find(Locator::Css(
                "#broker-planted [data-testid=broker-unapproved]",
            ))
            .await
            .is_err()
            .then_some(())
    })
    .await;
    screenshot(&client, "brokers-approved.png").await;
    client.close().await.unwrap();

    let shown: Value =
        serde_json::from_str(&inventory.cli(&["broker", "show", "planted", "--json"])).unwrap();
    assert_eq!(shown["profile"]["credential_approved"], true);
    let log = inventory.cli(&["audit", "log", "--json"]);
    assert!(log.contains("broker.credential.approve"), "{log}");
}
