//! The Findings and Frameworks pages through the real window, checked against the CLI on the
//! same database: the totals are `bridle check`'s; filtering by status, severity and framework
//! leaves exactly the findings the CLI reports for them; a finding opens to its evidence and a
//! link to its privilege path in the graph view; the frameworks' heat maps have every catalog
//! item, MAESTRO's local ids are labelled, and the crosswalk has every mapping.
//!
//! Screenshots: `<target>/e2e-screens/findings-*.png` and `frameworks-*.png`.

#[path = "../support.rs"]
mod support;

use support::*;

/// The CLI's report with every finding listed, passes included, as the Findings page lists them.
fn check(inventory: &Inventory, framework: Option<&str>) -> Value {
    let mut args = vec!["check", "--json", "--include-pass"];
    if let Some(framework) = framework {
        args.extend(["--framework", framework]);
    }
    serde_json::from_str(&inventory.cli(&args)).expect("check --json prints JSON")
}

fn count(report: &Value, status: &str, severity: &str) -> u64 {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == status && f["severity"] == severity)
        .count() as u64
}

/// The number of matching findings once it differs from `not`.
async fn matched(client: &Client, not: Option<u64>) -> u64 {
    eventually("the findings to update", || async {
        let matched = attribute(client, "#findings-summary", "data-matched")
            .await?
            .parse::<u64>()
            .ok()?;
        (Some(matched) != not).then_some(matched)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_filter_like_the_cli_and_frameworks_show_coverage_and_crosswalk() {
    let inventory = Inventory::new();
    inventory.cli(&["demo"]);
    let all = check(&inventory, None);
    let nhi = check(&inventory, Some("owasp-nhi"));
    let total = all["findings"].as_array().unwrap().len() as u64;

    let (_xvfb, display) = start_xvfb();
    let (_driver, port) = start_driver(&display, &inventory);
    let client = open_window(port, &inventory.db).await;

    find(&client, "[data-testid=nav-findings]")
        .await
        .click()
        .await
        .unwrap();
    find(&client, "#findings-table").await;
    assert_eq!(matched(&client, None).await, total);
    for status in ["fail", "unknown", "accepted", "pass"] {
        let shown = text(
            &client,
            &format!("#findings-totals [data-total={status}] .stat-value"),
        )
        .await;
        assert_eq!(
            shown.replace(',', ""),
            all["totals"][status].to_string(),
            "{status} total"
        );
    }
    screenshot(&client, "findings-01-all.png").await;

    // Failing and high: exactly the CLI's.
    choose(&client, "#filter-status", "fail").await;
    let failing = matched(&client, Some(total)).await;
    assert_eq!(failing, all["totals"]["fail"].as_u64().unwrap());
    choose(&client, "#filter-severity", "high").await;
    let failing_high = count(&all, "fail", "high");
    assert!(failing_high > 0 && failing_high < failing);
    assert_eq!(matched(&client, Some(failing)).await, failing_high);
    for row in client
        .find_all(Locator::Css("#findings-table tr.finding-row"))
        .await
        .unwrap()
    {
        assert_eq!(
            row.attr("data-status").await.unwrap().as_deref(),
            Some("fail")
        );
        assert_eq!(
            row.attr("data-severity").await.unwrap().as_deref(),
            Some("high")
        );
    }
    // Narrowed to OWASP NHI, as `check --framework owasp-nhi` narrows.
    choose(&client, "#filter-framework", "owasp-nhi").await;
    let nhi_failing_high = count(&nhi, "fail", "high");
    let shown = eventually("the framework filter", || async {
        let shown = matched(&client, None).await;
        (shown == nhi_failing_high).then_some(shown)
    })
    .await;
    assert_eq!(shown, nhi_failing_high);
    screenshot(&client, "findings-02-filtered.png").await;

    // A crown-jewel finding opens to its evidence and links its path into the graph view.
    choose(&client, "#filter-framework", "").await;
    choose(&client, "#filter-severity", "").await;
    let with_path = all["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["status"] == "fail" && !f["paths"].as_array().unwrap().is_empty())
        .expect("the demo has a failing finding with a privilege path");
    let id = with_path["id"].as_str().unwrap();
    find(&client, "#findings-search")
        .await
        .send_keys(id)
        .await
        .unwrap();
    let row = format!("tr.finding-row[data-finding-id=\"{id}\"]");
    eventually("the searched finding alone", || async {
        let n = matched(&client, None).await;
        (n >= 1 && client.find(Locator::Css(&row)).await.is_ok()).then_some(())
    })
    .await;
    // Typing re-runs the search per key: click once the table has settled on the last one.
    // A click toggles the row, so click only while it is closed, and give the detail time to
    // appear before clicking again (a second click would close it).
    let detail = format!(".finding-detail[data-detail-of=\"{id}\"]");
    eventually("the finding to open", || async {
        if let Ok(open) = client.find(Locator::Css(&detail)).await {
            return Some(open);
        }
        let cell = client
            .find(Locator::Css(&format!("{row} td.check-cell")))
            .await
            .ok()?;
        cell.click().await.ok()?;
        for _ in 0..20 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            if let Ok(open) = client.find(Locator::Css(&detail)).await {
                return Some(open);
            }
        }
        None
    })
    .await;
    find(&client, &detail).await;
    let evidence = client
        .find_all(Locator::Css(&format!("{detail} ul.evidence li")))
        .await
        .unwrap();
    assert_eq!(
        evidence.len(),
        with_path["evidence"].as_array().unwrap().len()
    );
    let path = with_path["paths"][0].as_array().unwrap();
    let href = attribute(&client, &format!("{detail} a.graph-link"), "href")
        .await
        .expect("a link to the graph view");
    let encode = |id: &str| {
        id.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~:".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    let expected = format!(
        "#/graph?from={}&to={}",
        encode(path[0].as_str().unwrap()),
        encode(path.last().unwrap().as_str().unwrap())
    );
    // WebKit's WebDriver answers with the resolved URL (`tauri://localhost#/…`).
    assert!(href.ends_with(&expected), "{href} links to {expected}");
    screenshot(&client, "findings-03-expanded.png").await;

    // Frameworks: NIST's 72 subcategories as tiles grouped by function and category.
    find(&client, "[data-testid=nav-frameworks]")
        .await
        .click()
        .await
        .unwrap();
    find(
        &client,
        ".framework[data-framework=nist-ai-rmf] #coverage-heatmap",
    )
    .await;
    let tiles = client
        .find_all(Locator::Css("#coverage-heatmap .tile"))
        .await
        .unwrap();
    assert_eq!(tiles.len(), 72);
    let groups = client
        .find_all(Locator::Css("#coverage-heatmap .heat-group"))
        .await
        .unwrap();
    assert_eq!(groups.len(), 4, "GOVERN, MAP, MEASURE, MANAGE");
    find(&client, "#coverage-heatmap .tile[data-item='GOVERN 1.6']")
        .await
        .click()
        .await
        .unwrap();
    let statement = text(&client, "#item-detail .statement").await;
    assert!(!statement.is_empty(), "the NIST statement is shown");
    screenshot(&client, "frameworks-01-nist.png").await;

    // MAESTRO: threat ids are Bridle's own, and the page says so; the crosswalk has every
    // mapping the CLI lists, and a mark shows its rationale.
    find(&client, "#framework-tabs [data-framework=maestro]")
        .await
        .click()
        .await
        .unwrap();
    find(&client, ".framework[data-framework=maestro] #local-id-note").await;
    let controls: Value = serde_json::from_str(&inventory.cli(&["controls", "--json"])).unwrap();
    let mappings: Vec<(String, String, String)> = controls
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| {
            c["mappings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["framework"] == "maestro")
                .map(move |m| {
                    (
                        c["id"].as_str().unwrap().to_owned(),
                        m["item"].as_str().unwrap().to_owned(),
                        m["rationale"].as_str().unwrap().to_owned(),
                    )
                })
        })
        .collect();
    assert!(!mappings.is_empty());
    let marks = client
        .find_all(Locator::Css("#crosswalk .cw-mark"))
        .await
        .unwrap();
    assert_eq!(marks.len(), mappings.len());
    let (control, item, rationale) = &mappings[0];
    find(
        &client,
        &format!("#crosswalk .cw-mark[data-control='{control}'][data-item='{item}']"),
    )
    .await
    .click()
    .await
    .unwrap();
    let shown = text(&client, "#crosswalk-rationale").await;
    assert!(shown.contains(rationale.as_str()), "{shown}");
    screenshot(&client, "frameworks-02-maestro.png").await;

    client.close().await.unwrap();
}
