//! The desktop console, for real: the `bridle-desktop` binary in an Xvfb display, driven through
//! WebDriver (`tauri-driver` in front of Debian's `WebKitWebDriver`). One test walks what a user
//! does on a demo inventory and checks each page against the CLI's `--json` output; a second
//! opens a file that is not a Bridle database and expects the error screen.
//!
//! Every page visited is saved as a PNG under `<target>/e2e-screens/`.

mod support;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_filters_searches_and_imports() {
    let inventory = Inventory::new();
    inventory.cli(&["demo"]);
    let before = inventory.counts();
    let agents = inventory.list("agents");
    let grants = inventory.list("grants");

    let (_xvfb, display) = start_xvfb();
    let (_driver, port) = start_driver(&display, &inventory);
    let client = open_window(port, &inventory.db).await;

    // The dashboard's figures are the CLI's.
    assert_eq!(dashboard_counts(&client).await, before, "dashboard counts");
    screenshot(&client, "01-dashboard.png").await;

    // The agents table lists every agent.
    find(&client, "[data-testid=nav-agents]")
        .await
        .click()
        .await
        .unwrap();
    find(&client, "[data-kind=agents] #inventory-table").await;
    assert_eq!(matched_rows(&client, None).await, before["agents"]);
    screenshot(&client, "02-inventory-agents.png").await;

    // An agent's page (the one whose identity holds the most grants) shows its details.
    let held = |id: &str| grants.iter().filter(|g| g["subject"] == id).count();
    let agent = agents
        .iter()
        .filter(|a| a["runs_as"][0].is_string())
        .max_by_key(|a| held(a["runs_as"][0].as_str().unwrap()))
        .expect("demo agents run as identities");
    let agent_id = agent["id"].as_str().unwrap();
    find(
        &client,
        &format!(
            "#inventory-table td.id-cell a[href=\"{}\"]",
            entity_href(agent_id)
        ),
    )
    .await
    .click()
    .await
    .unwrap();
    let title = eventually("the entity page", || async {
        let title = client.find(Locator::Css("#entity-title")).await.ok()?;
        title.text().await.ok()
    })
    .await;
    assert_eq!(title, agent["name"].as_str().unwrap());
    assert_eq!(
        connection_counts(&client).await.get("Grants held").copied(),
        Some(held(agent_id) as u64),
        "grants held by {agent_id}"
    );
    screenshot(&client, "03-entity-agent.png").await;

    // Its identity (a link on the agent's page) lists the grants it holds.
    let identity = agent["runs_as"][0]
        .as_str()
        .expect("demo agents run as something");
    find(
        &client,
        &format!(".fields a[href=\"{}\"]", entity_href(identity)),
    )
    .await
    .click()
    .await
    .unwrap();
    find(
        &client,
        &format!("[data-entity-id=\"{identity}\"] #entity-title"),
    )
    .await;
    assert_eq!(
        connection_counts(&client).await.get("Grants held").copied(),
        Some(held(identity) as u64),
        "grants held by {identity}"
    );
    screenshot(&client, "04-entity-identity.png").await;

    // Filtering the grants table by a value and by text.
    find(&client, "[data-testid=nav-grants]")
        .await
        .click()
        .await
        .unwrap();
    find(&client, "[data-kind=grants] #inventory-table").await;
    assert_eq!(matched_rows(&client, None).await, before["grants"]);
    let standing = grants.iter().filter(|g| g["standing"] == true).count() as u64;
    assert!(standing > 0 && standing < before["grants"]);
    find(&client, "select[data-column=standing]")
        .await
        .select_by_value("yes")
        .await
        .unwrap();
    assert_eq!(
        matched_rows(&client, Some(before["grants"])).await,
        standing
    );
    let needle = "finance-recon";
    let expected = grants
        .iter()
        .filter(|g| g["standing"] == true)
        .filter(|g| {
            ["id", "subject", "target"]
                .iter()
                .any(|f| g[*f].as_str().unwrap_or_default().contains(needle))
        })
        .count() as u64;
    assert!(expected > 0, "the demo has standing grants naming {needle}");
    find(&client, "#table-search")
        .await
        .send_keys(needle)
        .await
        .unwrap();
    assert_eq!(matched_rows(&client, Some(standing)).await, expected);
    screenshot(&client, "05-grants-filtered.png").await;

    // Ctrl+K finds an agent by its id and opens it with the keyboard.
    let wanted = &agents[1];
    let chord = format!("{}k{}", char::from(Key::Control), char::from(Key::Null));
    find(&client, "#table-search")
        .await
        .send_keys(&chord)
        .await
        .unwrap();
    let search = find(&client, "#palette-input").await;
    search
        .send_keys(wanted["id"].as_str().unwrap())
        .await
        .unwrap();
    eventually("a search hit", || async {
        let selected = client
            .execute(
                "const hit = document.querySelector('.palette-results li.selected .hit-id');\
                 return hit ? hit.textContent : null;",
                Vec::new(),
            )
            .await
            .ok()?;
        (selected.as_str()? == wanted["id"].as_str()?).then_some(())
    })
    .await;
    screenshot(&client, "06-search.png").await;
    search
        .send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    let title = eventually("the searched entity", || async {
        let title = client.find(Locator::Css("#entity-title")).await.ok()?;
        let title = title.text().await.ok()?;
        (title == wanted["name"].as_str().unwrap()).then_some(title)
    })
    .await;
    assert_eq!(title, wanted["name"].as_str().unwrap());

    // A malformed file is rejected with every error located, and nothing changes.
    find(&client, "[data-testid=nav-import]")
        .await
        .click()
        .await
        .unwrap();
    let path = find(&client, "#import-path").await;
    path.send_keys(&fixture("malformed/multi-error.json"))
        .await
        .unwrap();
    find(&client, "#import-button").await.click().await.unwrap();
    find(&client, "[data-outcome=rejected]").await;
    let mut locations = Vec::new();
    for element in client
        .find_all(Locator::Css("#diagnostics .diagnostic.error .location"))
        .await
        .unwrap()
    {
        locations.push(element.text().await.unwrap());
    }
    for expected in [
        "agents[0].environment",
        "credentials[0].identity",
        "tools[0].acts_on[0].resource",
        "grants[2].actions",
    ] {
        assert!(
            locations.iter().any(|l| l == expected),
            "`{expected}` should be listed among {locations:?}"
        );
    }
    screenshot(&client, "07-import-rejected.png").await;
    assert_eq!(
        inventory.counts(),
        before,
        "a rejected import changes nothing"
    );

    // A good file, as a second source, becomes a new snapshot and the counts change.
    path.clear().await.unwrap();
    path.send_keys(&fixture("estates/every-field.json"))
        .await
        .unwrap();
    find(&client, "#import-source")
        .await
        .send_keys("every-field")
        .await
        .unwrap();
    find(&client, "#import-button").await.click().await.unwrap();
    find(&client, "[data-outcome=imported]").await;
    screenshot(&client, "08-import-imported.png").await;
    let after = inventory.counts();
    assert!(
        after["agents"] > before["agents"],
        "{after:?} vs {before:?}"
    );

    find(&client, "[data-testid=nav-dashboard]")
        .await
        .click()
        .await
        .unwrap();
    let shown = eventually("the dashboard to show the new counts", || async {
        let counts = dashboard_counts(&client).await;
        (counts == after).then_some(counts)
    })
    .await;
    assert_ne!(shown, before);
    screenshot(&client, "09-dashboard-after-import.png").await;

    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_a_database_gets_an_error_screen() {
    let inventory = Inventory::new();
    std::fs::write(
        &inventory.db,
        "this is a text file, not a Bridle database\n".repeat(200),
    )
    .unwrap();
    let original = std::fs::read(&inventory.db).unwrap();

    let (_xvfb, display) = start_xvfb();
    let (_driver, port) = start_driver(&display, &inventory);
    let client = open_window(port, &inventory.db).await;

    let heading = text(&client, "#startup-error h1").await;
    assert_eq!(heading, "Bridle cannot open this inventory");
    let message = text(&client, "#startup-error .error-message").await;
    assert!(!message.is_empty());
    screenshot(&client, "10-startup-error.png").await;
    client.close().await.unwrap();

    assert_eq!(
        std::fs::read(&inventory.db).unwrap(),
        original,
        "an unusable database is left untouched"
    );
}
