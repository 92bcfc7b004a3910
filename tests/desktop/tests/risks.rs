//! The risk register through the real window: a risk created in the dialog (after the app
//! refused a bad category), accepted with an expiry, seen open again when the register is
//! evaluated after that expiry, closed, reopened and commented, with every step in its history
//! and in the CLI's view of the same database; and a risk created from Bridle's suggestions,
//! found again through a heat-map cell.
//!
//! Screenshots: `<target>/e2e-screens/risks-*.png`.

#[path = "../support.rs"]
mod support;

use support::*;

/// Enters a day into a date input. WebKitGTK's date field takes keystrokes segment by segment
/// in the locale's order (MM/DD/YYYY here), so typing ISO text depends on the machine's locale;
/// instead the value is set as the picker sets it, with the `input` and `change` events the page
/// listens to.
async fn type_day(client: &Client, css: &str, day: &str) {
    let element = find(client, css).await;
    client
        .execute(
            "const [field, day] = arguments; field.value = day; \
             field.dispatchEvent(new Event('input', { bubbles: true })); \
             field.dispatchEvent(new Event('change', { bubbles: true }));",
            vec![serde_json::to_value(&element).unwrap(), json!(day)],
        )
        .await
        .unwrap_or_else(|e| panic!("cannot enter {day} into `{css}`: {e}"));
    let value = element.prop("value").await.unwrap().unwrap_or_default();
    assert_eq!(value, day, "`{css}` holds the day");
}

/// The selected risk's status as the detail card shows it, once it equals `wanted`.
async fn detail_status(client: &Client, wanted: &str) {
    eventually(&format!("the risk to show as {wanted}"), || async {
        let status = attribute(client, "#risk-detail", "data-status").await?;
        (status == wanted).then_some(())
    })
    .await;
}

/// The history actions the window lists, oldest first (read in one script: the list is
/// re-rendered after each change).
async fn history_actions(client: &Client) -> Option<Vec<String>> {
    let listed = client
        .execute(
            "return [...document.querySelectorAll('#risk-history .history-entry')]\
             .map(e => e.dataset.action).reverse();",
            Vec::new(),
        )
        .await
        .ok()?;
    serde_json::from_value(listed).ok()
}

async fn wait_for_history(client: &Client, expected: &[&str]) -> Vec<String> {
    eventually(&format!("the history {expected:?}"), || async {
        let actions = history_actions(client).await?;
        (actions == expected).then_some(actions)
    })
    .await
}

fn risk_json(inventory: &Inventory, id: &str, at: Option<&str>) -> Value {
    let mut args = vec!["risk", "show", id, "--json"];
    if let Some(at) = at {
        args.extend(["--at", at]);
    }
    serde_json::from_str(&inventory.cli(&args)).expect("risk show --json prints JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_risk_is_created_accepted_lapses_and_is_reopened_through_the_window() {
    let inventory = Inventory::new();
    inventory.cli(&["demo"]);

    let (_xvfb, display) = start_xvfb();
    let (_driver, port) = start_driver(&display, &inventory);
    let client = open_window(port, &inventory.db).await;

    click(&client, "[data-testid=nav-risks]").await;
    find(&client, "#risks-empty").await;

    // The dialog sends what was typed; the app refuses a category that is no framework item and
    // the dialog says so, keeping what was typed.
    click(&client, "#new-risk").await;
    type_into(
        &client,
        "#risk-title",
        "Autonomous agents hold standing access to finance data",
    )
    .await;
    type_into(
        &client,
        "#risk-description",
        "Reconciliation agents keep always-on write grants on the ledger.",
    )
    .await;
    choose(&client, "#risk-likelihood", "4").await;
    choose(&client, "#risk-impact", "5").await;
    choose(&client, "#risk-residual-likelihood", "2").await;
    type_into(&client, "#risk-owner", "finance-platform@northwind.example").await;
    type_into(
        &client,
        "#risk-categories",
        "owasp-nhi:NHI7, owasp-asi:ASI99",
    )
    .await;
    type_into(&client, "#risk-controls", "C01").await;
    type_day(&client, "#risk-due", "2027-01-31").await;
    click(&client, "#save-risk").await;
    let error = text(&client, "#dialog-error").await;
    assert!(
        error.contains("owasp-asi:ASI99") && error.contains("not a framework item"),
        "the app's validation error is shown: {error}"
    );
    screenshot(&client, "risks-01-dialog-error.png").await;
    assert_eq!(
        inventory.cli(&["risk", "ls", "--json"]).trim(),
        "[]",
        "a refused risk is not recorded"
    );

    type_into(
        &client,
        "#risk-categories",
        "owasp-nhi:NHI7, owasp-asi:ASI03",
    )
    .await;
    click(&client, "#save-risk").await;
    find(&client, "#risk-detail[data-risk-id='1']").await;
    assert_eq!(
        text(&client, "#risk-detail-title").await,
        "Autonomous agents hold standing access to finance data"
    );
    let stored = risk_json(&inventory, "R-1", None);
    assert_eq!(stored["risk"]["inherent_score"], 20);
    assert_eq!(stored["risk"]["residual_score"], 10);
    assert_eq!(
        stored["risk"]["categories"],
        json!(["owasp-nhi:NHI7", "owasp-asi:ASI03"])
    );
    assert_eq!(stored["risk"]["due"], "2027-01-31T00:00:00Z");
    // The heat maps place it: inherent 4×5, residual 2×5.
    assert_eq!(
        attribute(
            &client,
            "#heatmap-inherent .cell[data-likelihood='4'][data-impact='5']",
            "data-count"
        )
        .await
        .as_deref(),
        Some("1")
    );
    assert_eq!(
        attribute(
            &client,
            "#heatmap-residual .cell[data-likelihood='2'][data-impact='5']",
            "data-count"
        )
        .await
        .as_deref(),
        Some("1")
    );
    screenshot(&client, "risks-02-created.png").await;

    // Accept it until the end of March 2027, as the user the console runs as.
    click(&client, "#accept-risk").await;
    let accepting = eventually("the accepting user", || async {
        let shown = text(&client, "#accepting-user").await;
        (shown != "…").then_some(shown)
    })
    .await;
    type_into(
        &client,
        "#accept-reason",
        "Compensating control: ledger writes are reviewed daily until JIT grants ship.",
    )
    .await;
    type_day(&client, "#accept-expires", "2027-03-31").await;
    screenshot(&client, "risks-03-accept-dialog.png").await;
    click(&client, "#confirm-accept").await;
    detail_status(&client, "accepted").await;
    let acceptance = text(&client, "#acceptance").await;
    assert!(acceptance.contains("until 2027-03-31"), "{acceptance}");
    let stored = risk_json(&inventory, "R-1", None);
    assert_eq!(stored["risk"]["status"], "accepted");
    assert_eq!(
        stored["risk"]["acceptance"]["expires"],
        "2027-03-31T00:00:00Z"
    );
    let by = stored["risk"]["acceptance"]["by"].as_str().unwrap();
    assert!(
        accepting.starts_with(&format!("{by}@")),
        "the dialog named {accepting}, the app recorded {by}"
    );
    scroll_to(&client, "#risk-detail").await;
    screenshot(&client, "risks-04-accepted.png").await;

    // Evaluated on 1 April 2027 the acceptance has lapsed: the risk is open again, as the CLI
    // says for the same time.
    type_day(&client, "#evaluate-at", "2027-04-01").await;
    click(&client, "#evaluate-button").await;
    detail_status(&client, "open").await;
    find(&client, "#risk-reopened").await;
    find(&client, "#acceptance.expired").await;
    let later = risk_json(&inventory, "R-1", Some("2027-04-01T00:00:00Z"));
    assert_eq!(later["risk"]["status"], "open");
    assert_eq!(later["risk"]["reopened"], true);
    screenshot(&client, "risks-05-acceptance-expired.png").await;
    click(&client, "#evaluate-now").await;
    detail_status(&client, "accepted").await;

    // Closed, then reopened, then commented: each lands in the history.
    click(&client, "#close-risk").await;
    type_into(&client, "#reason-text", "The agents were retired.").await;
    click(&client, "#confirm-reason").await;
    detail_status(&client, "closed").await;
    click(&client, "#reopen-risk").await;
    type_into(
        &client,
        "#reason-text",
        "One agent was brought back for year-end.",
    )
    .await;
    click(&client, "#confirm-reason").await;
    detail_status(&client, "open").await;
    type_into(
        &client,
        "#comment-text",
        "Year-end review booked with the CFO.",
    )
    .await;
    click(&client, "#comment-button").await;
    let shown = wait_for_history(&client, &["add", "accept", "close", "reopen", "comment"]).await;
    let stored = risk_json(&inventory, "R-1", None);
    let recorded: Vec<&str> = stored["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(shown, recorded, "the window shows the recorded history");
    assert_eq!(stored["risk"]["status"], "open");
    assert!(stored["risk"]["acceptance"].is_null());
    let history = text(&client, "#risk-history").await;
    assert!(history.contains("One agent was brought back for year-end."));
    assert!(history.contains("Compensating control"));
    scroll_to(&client, "#risk-detail").await;
    screenshot(&client, "risks-06-history.png").await;

    // Every change is in the audit log, which is intact.
    let audit = inventory.cli(&["audit", "log", "--json"]);
    for action in [
        "risk.add",
        "risk.accept",
        "risk.close",
        "risk.reopen",
        "risk.comment",
    ] {
        assert!(audit.contains(action), "{action} is audited");
    }
    inventory.cli(&["audit", "verify"]);

    // A suggested risk, created on a click, shows its reasoning first; its heat-map cell
    // filters the table to it.
    click(&client, "#suggest-risks").await;
    let first = find(&client, "#suggestions .suggestion").await;
    let reasons = first.find_all(Locator::Css(".reasoning li")).await.unwrap();
    assert!(!reasons.is_empty(), "a suggestion shows its reasoning");
    screenshot(&client, "risks-07-suggestions.png").await;
    first
        .find(Locator::Css(".create-suggested"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    find(&client, "#risk-detail[data-risk-id='2']").await;
    let suggested = risk_json(&inventory, "R-2", None);
    let (l, i) = (
        suggested["risk"]["likelihood"].as_u64().unwrap(),
        suggested["risk"]["impact"].as_u64().unwrap(),
    );
    assert_eq!(
        attribute(&client, "#risks-summary", "data-shown")
            .await
            .as_deref(),
        Some("2")
    );
    click(
        &client,
        &format!("#heatmap-inherent .cell[data-likelihood='{l}'][data-impact='{i}']"),
    )
    .await;
    let mut expected = vec!["2".to_owned()];
    if (l, i) == (4, 5) {
        expected.insert(0, "1".to_owned());
    }
    eventually("the cell to filter the table", || async {
        let rows = client
            .find_all(Locator::Css("#risks-table tr.risk-row"))
            .await
            .ok()?;
        let mut ids = Vec::new();
        for row in rows {
            ids.push(row.attr("data-risk-id").await.ok()??);
        }
        ids.sort();
        (ids == expected).then_some(())
    })
    .await;
    screenshot(&client, "risks-08-cell-filter.png").await;

    client.close().await.unwrap();
}
