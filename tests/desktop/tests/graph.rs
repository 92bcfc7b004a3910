//! The privilege graph view, for real: the `bridle-desktop` window on the demo inventory, driven
//! through WebDriver. What it draws is checked against the CLI (`reach`, `paths`, `what-if`,
//! `ls grants` in `--json`), and each step is saved as a PNG under `<target>/e2e-screens/`.

#[path = "../support.rs"]
mod support;

use std::collections::BTreeSet;

use support::*;

/// The demo agent with the documented five-hop chain through a secret store.
const AGENT: &str = "agent:finance-recon";
/// The grant that opens that secret store.
const VAULT_GRANT: &str = "g-015";
const VAULT: &str = "res:vault-kv-finance";
const LEDGER: &str = "res:ledger-db";

/// Every `attribute` of the elements matching `css`, in one round trip.
async fn attributes(client: &Client, css: &str, attribute: &str) -> Vec<String> {
    let values = client
        .execute(
            "return Array.from(document.querySelectorAll(arguments[0]))\
                 .map(e => e.getAttribute(arguments[1]));",
            vec![json!(css), json!(attribute)],
        )
        .await
        .unwrap_or_else(|e| panic!("reading `{attribute}` of `{css}`: {e}"));
    values
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until no graph request is in flight (the summary's spinner is gone).
async fn settled(client: &Client) {
    eventually("the graph to settle", || async {
        attributes(client, "#graph-summary .spinner", "class")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).expect("the CLI prints JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_view_draws_explains_highlights_and_greys_out_a_what_if() {
    let inventory = Inventory::new();
    inventory.cli(&["demo"]);
    let reach = json_of(&inventory.cli(&["reach", AGENT, "--json"]));
    let mut expected_nodes: BTreeSet<String> = reach["reachable"]
        .as_array()
        .expect("reach lists what is reachable")
        .iter()
        .map(|r| r["target"].as_str().unwrap().to_owned())
        .collect();
    expected_nodes.insert(AGENT.to_owned());
    let paths = json_of(&inventory.cli(&["paths", AGENT, LEDGER, "--json"]));
    let shortest_path: Vec<String> = paths["paths"][0]["nodes"]
        .as_array()
        .expect("a path to the ledger")
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    let what_if = json_of(&inventory.cli(&["what-if", "--revoke", VAULT_GRANT, "--json"]));
    let pairs = |key: &str| -> BTreeSet<String> {
        what_if[key]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["agent"] == AGENT)
            .map(|p| p["resource"].as_str().unwrap().to_owned())
            .collect()
    };
    let (lost_resources, shrunk_resources) = (pairs("lost"), pairs("shrunk"));
    assert!(
        !lost_resources.is_empty(),
        "revoking {VAULT_GRANT} costs {AGENT} something"
    );
    let grant = inventory
        .list("grants")
        .into_iter()
        .find(|g| g["id"] == VAULT_GRANT)
        .expect("the demo has the grant");

    let (_xvfb, display) = start_xvfb();
    let (_driver, port) = start_driver(&display, &inventory);
    let client = open_window(port, &inventory.db).await;

    // From the navigation to the list of agents, then the agent's graph.
    find(&client, "[data-testid=nav-graph]")
        .await
        .click()
        .await
        .unwrap();
    find(
        &client,
        &format!("#graph-agents a[data-source=\"{AGENT}\"]"),
    )
    .await
    .click()
    .await
    .unwrap();

    // Every node the CLI says is reached is drawn, and nothing else; every node but the source
    // has an edge into it.
    let drawn = eventually("the graph to be drawn", || async {
        let ids: BTreeSet<String> = attributes(&client, "#graph-nodes > g.node", "data-id")
            .await
            .into_iter()
            .collect();
        (ids.len() == expected_nodes.len()).then_some(ids)
    })
    .await;
    assert_eq!(drawn, expected_nodes);
    let edge_targets: BTreeSet<String> = attributes(&client, "#graph-edges > g.edge", "data-to")
        .await
        .into_iter()
        .collect();
    let mut reached = expected_nodes.clone();
    reached.remove(AGENT);
    assert_eq!(
        edge_targets, reached,
        "every reached node has an edge into it"
    );
    let edge_count = attributes(&client, "#graph-edges > g.edge", "data-from")
        .await
        .len();
    assert!(edge_count >= reached.len(), "{edge_count} edges");
    assert_eq!(
        attributes(&client, "#graph-nodes > g.node.crown-jewel", "data-id")
            .await
            .len(),
        reach["reachable"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                inventory
                    .list("resources")
                    .iter()
                    .any(|res| res["id"] == r["target"] && res["crown_jewel"] == true)
            })
            .count(),
        "crown jewels are marked"
    );
    find(&client, "#graph-legend").await;
    settled(&client).await;
    screenshot(&client, "20-graph.png").await;

    // The path to the ledger is the CLI's shortest path.
    find(&client, "#graph-target")
        .await
        .select_by_value(LEDGER)
        .await
        .unwrap();
    let on_path = eventually("the path to be highlighted", || async {
        let ids = attributes(&client, "#graph-nodes > g.node.on-path", "data-id").await;
        (ids.len() == shortest_path.len()).then_some(ids)
    })
    .await;
    assert_eq!(
        on_path.into_iter().collect::<BTreeSet<_>>(),
        shortest_path.iter().cloned().collect::<BTreeSet<_>>()
    );
    assert_eq!(
        attributes(&client, "#graph-edges > g.edge.on-path", "data-to")
            .await
            .len(),
        shortest_path.len() - 1
    );

    // Zoom in and out, then fit: the viewport's transform follows.
    let transform = || attributes(&client, "#graph-svg g.viewport", "transform");
    find(&client, "#graph-fit").await.click().await.unwrap();
    let fitted = transform().await;
    find(&client, "#graph-zoom-in").await.click().await.unwrap();
    assert_ne!(transform().await, fitted, "zooming in changes the view");
    find(&client, "#graph-fit").await.click().await.unwrap();
    assert_eq!(transform().await, fitted, "fit returns to the whole graph");

    // Clicking the edge into the finance secret store shows the grant behind it.
    find(
        &client,
        &format!("#graph-edges > g.edge[data-to=\"{VAULT}\"] path.edge-hit"),
    )
    .await
    .click()
    .await
    .unwrap();
    let facts = format!("#graph-panel .grant-facts[data-grant=\"{VAULT_GRANT}\"]");
    find(&client, &facts).await;
    let origin = grant["provenance"]["origin"].as_str().unwrap().to_owned();
    let panel = eventually("the grant's provenance", || async {
        let text = client
            .find(Locator::Css(&facts))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.contains(&origin).then_some(text)
    })
    .await;
    for action in grant["actions"].as_array().unwrap() {
        assert!(panel.contains(action.as_str().unwrap()), "{panel}");
    }
    let standing = if grant["standing"] == true {
        "standing"
    } else {
        "just in time"
    };
    assert!(panel.contains(standing), "{panel}");
    settled(&client).await;
    screenshot(&client, "21-graph-edge.png").await;

    // What-if: revoke the grant from the panel; what the agent loses is greyed out, exactly the
    // resources the CLI's what-if lists for it.
    find(&client, "#graph-what-if").await.click().await.unwrap();
    find(&client, "#what-if-bar").await;
    find(
        &client,
        &format!(".revoke-button[data-grant=\"{VAULT_GRANT}\"]"),
    )
    .await
    .click()
    .await
    .unwrap();
    let lost = eventually("the lost nodes to grey out", || async {
        let ids = attributes(
            &client,
            "#graph-nodes > g.node.lost.kind-resource",
            "data-id",
        )
        .await;
        (!ids.is_empty()).then_some(ids)
    })
    .await;
    assert_eq!(lost.into_iter().collect::<BTreeSet<_>>(), lost_resources);
    let shrunk: BTreeSet<String> = attributes(&client, "#graph-nodes > g.node.shrunk", "data-id")
        .await
        .into_iter()
        .collect();
    assert_eq!(shrunk, shrunk_resources);
    let greyed_edges = attributes(&client, "#graph-edges > g.edge.lost", "data-to").await;
    assert!(
        greyed_edges.iter().any(|to| to == VAULT),
        "the revoked grant's edge is greyed: {greyed_edges:?}"
    );
    let counts = text(&client, "#what-if-counts").await;
    let estate_lost = what_if["lost"].as_array().unwrap().len();
    assert!(
        counts.contains(&format!(
            "Estate-wide: {estate_lost} (agent, resource) pairs lost"
        )),
        "{counts}"
    );
    assert!(
        attributes(&client, "#graph-nodes > g.node.lost", "data-id")
            .await
            .iter()
            .all(|id| id != AGENT),
        "the source is never lost"
    );
    settled(&client).await;
    screenshot(&client, "22-graph-what-if.png").await;

    // Turning the what-if off restores the picture; the grant stays selected.
    find(&client, "#graph-what-if").await.click().await.unwrap();
    eventually("the what-if to clear", || async {
        attributes(&client, "#graph-nodes > g.node.lost", "data-id")
            .await
            .is_empty()
            .then_some(())
    })
    .await;

    // A link from elsewhere (a finding's path) opens the graph with the path and a hops limit.
    client
        .execute(
            "location.hash = arguments[0];",
            vec![json!(format!("#/graph?from={AGENT}&to={LEDGER}&hops=3"))],
        )
        .await
        .unwrap();
    let limited = text(&client, "#graph-limited").await;
    assert!(limited.contains("beyond 3 hops"), "{limited}");
    let note = text(&client, "#graph-path-note").await;
    assert!(note.contains("not fully drawn"), "{note}");
    let hops: Vec<u64> = reach["reachable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["hops"].as_u64().unwrap())
        .collect();
    let within = 1 + hops.iter().filter(|h| **h <= 3).count();
    eventually("the narrowed graph", || async {
        let ids = attributes(&client, "#graph-nodes > g.node", "data-id").await;
        (ids.len() == within).then_some(())
    })
    .await;
    settled(&client).await;
    screenshot(&client, "23-graph-hops.png").await;

    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_neighbourhood_beyond_two_thousand_nodes_is_capped_and_says_so() {
    let inventory = Inventory::new();
    let estate = inventory.db.with_file_name("medium.json");
    let generated = inventory.cli(&["gen", "--scale", "medium", "--seed", "7"]);
    std::fs::write(&estate, generated).expect("the generated estate can be written");
    inventory.cli(&["import", estate.to_str().unwrap()]);
    let blast = json_of(&inventory.cli(&["blast-radius", "--json"]));
    let widest = blast["entries"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|e| e["resources"].as_u64().unwrap())
        .expect("agents");
    let source = widest["source"].as_str().unwrap();
    let reach = json_of(&inventory.cli(&["reach", source, "--json"]));
    let reached = 1 + reach["reachable"].as_array().unwrap().len();
    assert!(reached > 2_000, "the test needs a big reach: {reached}");

    let (_xvfb, display) = start_xvfb();
    let (_driver, port) = start_driver(&display, &inventory);
    let client = open_window(port, &inventory.db).await;
    find(&client, "[data-testid=nav-dashboard]").await;
    client
        .execute(
            "location.hash = arguments[0];",
            vec![json!(format!("#/graph?from={source}"))],
        )
        .await
        .unwrap();
    let limited = text(&client, "#graph-limited").await;
    let grouped = |n: usize| {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    assert!(
        limited.starts_with(&format!(
            "Showing 2,000 of {} reached nodes",
            grouped(reached)
        )),
        "{limited}"
    );
    let drawn = eventually("2,000 nodes to be drawn", || async {
        let ids = attributes(&client, "#graph-nodes > g.node", "data-id").await;
        (!ids.is_empty()).then_some(ids.len())
    })
    .await;
    assert_eq!(drawn, 2_000);
    settled(&client).await;
    screenshot(&client, "24-graph-capped.png").await;
    client.close().await.unwrap();
}
