//! The flow designer through the real window, on the demo estate: a new flow built through the
//! forms (a step added, one removed, the ways between them ticked) with its approval placed after
//! a staging step, which the live diagram and the findings mark as failing
//! `flow-approval-dominates`; the approval moved before issuance through the same forms, and the
//! finding passing; the flow saved, and after a reload the stored flow shows the same verdict.
//! The simulator allows the task's own request under the stored flow's policies.
//!
//! Screenshots: `<target>/e2e-screens/flows-*.png`.

#[path = "../support.rs"]
mod support;

use support::*;

const FLOW: &str = "invoice-staging";

/// Ticks or unticks the checkbox `next` in step `step`'s "Next" row.
async fn set_next(client: &Client, step: &str, next: &str, on: bool) {
    let css = format!(".step-card[data-step='{step}'] input[data-next='{next}']");
    let element = find(client, &css).await;
    let checked = element.prop("checked").await.unwrap().as_deref() == Some("true");
    if checked != on {
        element.click().await.unwrap();
    }
    eventually(&format!("{step} → {next} to be {on}"), || async {
        let now = is_checked(client, &css).await?;
        (now == on).then_some(())
    })
    .await;
}

async fn is_checked(client: &Client, css: &str) -> Option<bool> {
    let element = client.find(Locator::Css(css)).await.ok()?;
    Some(element.prop("checked").await.ok()??.as_str() == "true")
}

/// Takes a screenshot once the window has painted twice (a screenshot right after a scroll or
/// an update can show the frame before it).
async fn shot(client: &Client, name: &str) {
    client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             requestAnimationFrame(() => requestAnimationFrame(() => done()));",
            Vec::new(),
        )
        .await
        .unwrap();
    screenshot(client, name).await;
}

/// Waits until the diagram has no preview pending and draws the edge `from → to` (or not).
async fn edge(client: &Client, from: &str, to: &str, drawn: bool) {
    let css = format!("#flow-diagram .flow-edge[data-from='{from}'][data-to='{to}']");
    eventually(
        &format!("the edge {from} → {to} to be drawn: {drawn}"),
        || async {
            client
                .find(Locator::Css("#flow-diagram-card[data-previewing='false']"))
                .await
                .ok()?;
            (client.find(Locator::Css(&css)).await.is_ok() == drawn).then_some(())
        },
    )
    .await;
}

/// Waits until the diagram shows step `step` with `status` and the findings list has the
/// approval-dominates finding about it with the same status.
async fn approval_verdict(client: &Client, step: &str, status: &str) {
    let node = format!("#flow-diagram .flow-node[data-step='{step}'][data-status='{status}']");
    let finding = format!(
        "#flow-findings .flow-finding[data-finding='flow-approval-dominates@{FLOW}/{step}'][data-status='{status}']"
    );
    eventually(
        &format!("`{step}` to show flow-approval-dominates {status}"),
        || async {
            client.find(Locator::Css(&node)).await.ok()?;
            client.find(Locator::Css(&finding)).await.ok()?;
            Some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_built_in_the_designer_fails_until_its_approval_moves_first() {
    let inventory = Inventory::new();
    inventory.cli(&["demo"]);

    let (_xvfb, display) = start_xvfb();
    let (_driver, port) = start_driver(&display, &inventory);
    let client = open_window(port, &inventory.db).await;

    // The demo's two flows are listed with the totals `bridle flow ls` gives.
    click(&client, "[data-testid=nav-flows]").await;
    let listed: Vec<Value> =
        serde_json::from_str(&inventory.cli(&["flow", "ls", "--json"])).unwrap();
    assert_eq!(listed.len(), 2, "the demo has two flows");
    for flow in &listed {
        let id = flow["id"].as_str().unwrap();
        let row = text(&client, &format!("#flows-table tr[data-flow='{id}']")).await;
        assert!(row.contains(flow["agent"].as_str().unwrap()), "{row}");
        assert!(row.contains(&flow["fail"].to_string()), "{row} vs {flow}");
    }
    click(&client, "#new-flow").await;

    // The skeleton: approve → issue → call → revoke → done, drawn and verified.
    find(&client, ".step-card[data-step='call']").await;
    find(&client, "#flow-diagram .flow-node[data-step='call']").await;
    let resource = find(&client, ".grant-row [data-test=grant-resource]")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        !resource.is_empty(),
        "the skeleton's grant names a resource of the inventory"
    );
    let agent = find(&client, "[data-test=flow-agent]")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        agent.starts_with("agent:"),
        "the agent is chosen from the inventory: {agent}"
    );
    shot(&client, "flows-01-skeleton.png").await;

    // The task, and a grant that may also write.
    type_into(&client, "[data-test=flow-id]", FLOW).await;
    type_into(
        &client,
        "[data-test=flow-purpose]",
        "Stage invoices that need a human review",
    )
    .await;
    choose(&client, "[data-test=flow-sensitivity]", "confidential").await;
    type_into(
        &client,
        ".grant-row [data-test=grant-actions]",
        "read, write",
    )
    .await;

    // A staging step added through the forms; the skeleton's tool call removed.
    choose(&client, "[data-test=new-step-kind]", "tool_call").await;
    click(&client, "[data-test=add-step]").await;
    let added = ".step-card[data-step-index='5']";
    type_into(&client, &format!("{added} [data-test=step-id]"), "stage").await;
    find(&client, ".step-card[data-step='stage']").await;
    let stage = ".step-card[data-step='stage']";
    type_into(
        &client,
        &format!("{stage} [data-test=call-resource]"),
        &resource,
    )
    .await;
    type_into(
        &client,
        &format!("{stage} [data-test=call-actions]"),
        "write",
    )
    .await;
    type_into(
        &client,
        &format!("{stage} [data-test=call-stages]"),
        "invoices that need review",
    )
    .await;
    click(
        &client,
        ".step-card[data-step='call'] [data-test=remove-step]",
    )
    .await;
    eventually("the tool call to be removed", || async {
        client
            .find(Locator::Css(".step-card[data-step='call']"))
            .await
            .is_err()
            .then_some(())
    })
    .await;

    // Approval after the fact: start = issue → stage → approve → revoke → done.
    choose(&client, "[data-test=flow-start]", "issue").await;
    set_next(&client, "issue", "stage", true).await;
    set_next(&client, "stage", "approve", true).await;
    set_next(&client, "approve", "issue", false).await;
    set_next(&client, "approve", "revoke", true).await;
    edge(&client, "approve", "revoke", true).await;
    edge(&client, "approve", "issue", false).await;

    approval_verdict(&client, "stage", "fail").await;
    let finding = text(
        &client,
        &format!("[data-finding='flow-approval-dominates@{FLOW}/stage']"),
    )
    .await;
    assert!(
        finding.contains("runs before its approval") && finding.contains("approve"),
        "the finding says the approval comes too late: {finding}"
    );
    let message = text(
        &client,
        "#flow-diagram .flow-node[data-step='stage'] .node-message",
    )
    .await;
    assert!(
        message.contains("stage"),
        "the failure is written under the node: {message}"
    );
    find(
        &client,
        "#flow-diagram .flow-node[data-step='issue'] .start-marker",
    )
    .await;
    let highlighted = client
        .find_all(Locator::Css(
            "#flow-diagram .flow-edge[data-highlighted='true']",
        ))
        .await
        .unwrap();
    assert!(
        !highlighted.is_empty(),
        "the way to staging without approval is highlighted"
    );
    assert!(
        client.find(Locator::Css("#flow-problems")).await.is_err(),
        "the draft is a valid flow"
    );
    scroll_to(&client, "#flow-diagram-card").await;
    shot(&client, "flows-02-approval-after-staging.png").await;
    scroll_to(&client, "#flow-findings").await;
    shot(&client, "flows-03-failing-finding.png").await;

    // The approval moved first: start = approve → issue → stage → revoke → done.
    choose(&client, "[data-test=flow-start]", "approve").await;
    set_next(&client, "approve", "revoke", false).await;
    set_next(&client, "approve", "issue", true).await;
    set_next(&client, "stage", "approve", false).await;
    set_next(&client, "stage", "revoke", true).await;
    edge(&client, "stage", "revoke", true).await;
    edge(&client, "stage", "approve", false).await;
    edge(&client, "approve", "revoke", false).await;
    approval_verdict(&client, "stage", "pass").await;
    approval_verdict(&client, "issue", "pass").await;
    find(
        &client,
        "#flow-diagram .flow-node[data-step='approve'] .start-marker",
    )
    .await;
    eventually("the document to start with the approval", || async {
        let yaml = client
            .find(Locator::Css("#flow-yaml"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        yaml.contains("start: approve").then_some(())
    })
    .await;
    scroll_to(&client, "#flow-diagram-card").await;
    shot(&client, "flows-04-approval-first.png").await;

    // Saved: the address names the stored flow, and a reload shows what was stored.
    click(&client, "#save-flow").await;
    find(&client, "#flow-version[data-version='1']").await;
    client.refresh().await.unwrap();
    find(&client, "#flow-version[data-version='1']").await;
    approval_verdict(&client, "stage", "pass").await;
    let stored_start = find(&client, "[data-test=flow-start]")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(stored_start.as_deref(), Some("approve"));
    let audit = inventory.cli(&["audit", "log", "--json"]);
    assert!(audit.contains("flow.create"), "the save is audited");
    inventory.cli(&["audit", "verify"]);
    // The CLI reads the same stored flow and the same verdict.
    let checked: Vec<Value> =
        serde_json::from_str(&inventory.cli(&["flow", "check", FLOW, "--json"])).unwrap();
    let stage = checked
        .iter()
        .find(|f| f["id"] == format!("flow-approval-dominates@{FLOW}/stage"))
        .expect("the CLI verifies the stored flow");
    assert_eq!(stage["status"], "pass", "{stage}");
    let shown: Value =
        serde_json::from_str(&inventory.cli(&["flow", "show", FLOW, "--json"])).unwrap();
    assert_eq!(shown["draft"]["start"], "approve");

    // The task's own request is allowed by the stored flow's policies.
    click(&client, "#tab-simulator").await;
    click(&client, "#simulate").await;
    let decision = find(&client, "#simulation-decision").await;
    let verdict = decision.attr("data-decision").await.unwrap();
    let shown = decision.text().await.unwrap();
    assert_eq!(verdict.as_deref(), Some("allow"), "simulator: {shown}");
    scroll_to(&client, "#flow-simulator-tab").await;
    shot(&client, "flows-05-saved-simulator.png").await;

    // The list shows the stored flow with its totals.
    click(&client, "[data-testid=nav-flows]").await;
    let row = text(&client, &format!("#flows-table tr[data-flow='{FLOW}']")).await;
    assert!(row.contains(&agent), "{row}");
    shot(&client, "flows-06-list.png").await;

    client.close().await.unwrap();
}
