//! The console benchmark's measuring binary, run by `cargo xtask bench --console` (see
//! docs/PERFORMANCE.md); not a user command.
//!
//! ```text
//! console_bench DB AUDIT_KEY AT|now ROUNDS
//! ```
//! `now` evaluates as the console does, at the current time (the inventory's snapshot is then in
//! the past; an earlier time would evaluate the findings of the inventory as it stood then).
//! Opens the database as the console does and makes the `app` calls its Tauri commands make, in
//! the order a user clicks through the pages (dashboard, a grants page sorted and filtered, an
//! entity page, a search typed key by key, the graph of the busiest agent, a what-if toggle,
//! findings and a findings filter, the risk register, Frameworks), `ROUNDS` times each with
//! varied arguments. Prints one JSON object: the first load, per interaction its samples' p50,
//! p95 and maximum in milliseconds, and the peak RSS (VmHWM) in KiB.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use bridle_app::Bridle;
use bridle_core::EntityKind;
use bridle_core::time::{Timestamp, parse_utc};
use bridle_protocol::console::{ColumnFilter, InventoryKind, InventoryQuery, SearchQuery};
use bridle_protocol::console_compliance::FindingsQuery;
use bridle_protocol::graph_view::GraphViewRequest;
use bridle_protocol::{EntityList, ListQuery};
use serde_json::{Value, json};

#[path = "common/rss.rs"]
mod rss;
use rss::peak_rss_kib;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [db, key, at, rounds] = args.as_slice() else {
        bail!("usage: console_bench DB AUDIT_KEY AT|now ROUNDS");
    };
    let at = if at == "now" {
        bridle_app::now()
    } else {
        parse_utc(at).map_err(anyhow::Error::msg)?
    };
    let rounds: usize = rounds.parse().context("ROUNDS is a number")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(run(Path::new(db), Path::new(key), at, rounds.max(1)))?;
    println!("{report}");
    Ok(())
}

/// The samples of one interaction, in milliseconds.
struct Timings {
    name: &'static str,
    samples: Vec<f64>,
}

impl Timings {
    fn new(name: &'static str) -> Timings {
        Timings {
            name,
            samples: Vec::new(),
        }
    }

    async fn time<T>(&mut self, call: impl AsyncFnOnce() -> Result<T>) -> Result<T> {
        let start = Instant::now();
        let value = call().await?;
        self.samples.push(start.elapsed().as_secs_f64() * 1e3);
        Ok(value)
    }

    fn summary(&self) -> Value {
        let mut sorted = self.samples.clone();
        sorted.sort_by(f64::total_cmp);
        let rank =
            |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
        json!({
            "name": self.name,
            "samples": sorted.len(),
            "p50_ms": round(rank(0.50)),
            "p95_ms": round(rank(0.95)),
            "max_ms": round(*sorted.last().unwrap_or(&0.0)),
        })
    }
}

fn round(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}

/// A spread of indexes into `0..len`, different each round.
fn spread(round: usize, len: usize) -> usize {
    if len == 0 {
        0
    } else {
        (round.wrapping_mul(7919) + round * round * 104_729) % len
    }
}

async fn run(db: &Path, key: &Path, at: Timestamp, rounds: usize) -> Result<Value> {
    // First load: open the database and show the dashboard.
    let start = Instant::now();
    let bridle = Bridle::open(db, key).await?;
    bridle.overview(at).await?;
    let first_load_ms = start.elapsed().as_secs_f64() * 1e3;
    // The first graph request loads the estate and builds its graph (once per snapshot).
    let start = Instant::now();
    let graph = bridle.privilege_graph(at).await?;
    let first_graph_ms = start.elapsed().as_secs_f64() * 1e3;

    let busiest = graph
        .blast_radius(false)
        .entries
        .into_iter()
        .max_by_key(|e| (e.resources, std::cmp::Reverse(e.source.clone())))
        .map(|e| e.source)
        .context("the estate has agents")?;
    let busiest_grants = bridle
        .list_page(
            EntityKind::Grant,
            &ListQuery {
                filters: vec![ColumnFilter {
                    column: "subject".into(),
                    value: busiest.clone(),
                }],
                limit: Some(5),
                ..ListQuery::default()
            },
        )
        .await?;
    let EntityList::Grants(grants) = busiest_grants.rows else {
        bail!("a grants page holds grants");
    };
    let sample_ids: Vec<String> = {
        let mut ids = Vec::new();
        for kind in [InventoryKind::Agents, InventoryKind::Resources] {
            let page = bridle
                .inventory_page(&InventoryQuery {
                    kind,
                    search: String::new(),
                    filters: Vec::new(),
                    sort: None,
                    descending: false,
                    offset: 0,
                    limit: 200,
                })
                .await?;
            ids.extend(page.rows.into_iter().map(|r| r.id));
        }
        ids
    };
    let typed = busiest.clone();

    let mut dashboard = Timings::new("dashboard");
    let mut inventory = Timings::new("grants page, sorted by target, filtered standing=yes");
    let mut entity = Timings::new("entity page");
    let mut keystroke = Timings::new("search keystroke (Ctrl+K)");
    let mut graph_view = Timings::new("graph view of the busiest agent");
    let mut what_if = Timings::new("what-if toggle on that graph");
    let mut findings = Timings::new("findings page");
    let mut findings_filter = Timings::new("findings filter (fail, high)");
    let mut register = Timings::new("risk register");
    let mut frameworks = Timings::new("frameworks (coverage of NIST AI RMF)");
    let total_grants = bridle.overview(at).await?.counts.grants;
    for round in 0..rounds {
        dashboard
            .time(async || Ok(bridle.overview(at).await?))
            .await?;
        inventory
            .time(async || {
                Ok(bridle
                    .inventory_page(&InventoryQuery {
                        kind: InventoryKind::Grants,
                        search: String::new(),
                        filters: vec![ColumnFilter {
                            column: "standing".into(),
                            value: "yes".into(),
                        }],
                        sort: Some("target".into()),
                        descending: round % 2 == 1,
                        offset: spread(round, (total_grants / 4) as usize) as u64,
                        limit: 50,
                    })
                    .await?)
            })
            .await?;
        let id = &sample_ids[spread(round, sample_ids.len())];
        entity
            .time(async || Ok(bridle.entity_page(id).await?))
            .await?;
        // One keystroke of typing the busiest agent's id: 1, 2, … characters.
        let typed_so_far: String = typed.chars().take(1 + round % typed.len()).collect();
        keystroke
            .time(async || {
                Ok(bridle
                    .search(&SearchQuery {
                        text: typed_so_far.clone(),
                        limit: 20,
                    })
                    .await?)
            })
            .await?;
        let request = GraphViewRequest {
            from: busiest.clone(),
            to: None,
            max_hops: Some(3),
            revoke_grants: Vec::new(),
            expire_credentials: Vec::new(),
        };
        graph_view
            .time(async || Ok(bridle.graph_view(&request, at).await?))
            .await?;
        let toggled = GraphViewRequest {
            revoke_grants: grants
                .get(round % grants.len().max(1))
                .map(|g| vec![g.id.clone()])
                .unwrap_or_default(),
            ..request.clone()
        };
        what_if
            .time(async || Ok(bridle.graph_view(&toggled, at).await?))
            .await?;
        findings
            .time(async || {
                Ok(bridle
                    .findings_page(
                        &FindingsQuery {
                            at: None,
                            framework: None,
                            severity: None,
                            status: None,
                            search: String::new(),
                            offset: (round * 50) as u64,
                            limit: 50,
                        },
                        at,
                    )
                    .await?)
            })
            .await?;
        findings_filter
            .time(async || {
                Ok(bridle
                    .findings_page(
                        &FindingsQuery {
                            at: None,
                            framework: None,
                            severity: Some("high".into()),
                            status: Some("fail".into()),
                            search: String::new(),
                            offset: 0,
                            limit: 50,
                        },
                        at,
                    )
                    .await?)
            })
            .await?;
        register.time(async || Ok(bridle.risks(at).await?)).await?;
        frameworks
            .time(async || {
                let framework = bridle_app::parse_framework("nist-ai-rmf")?;
                Ok((
                    bridle_app::frameworks(),
                    bridle.coverage(framework, at).await?,
                ))
            })
            .await?;
    }
    Ok(json!({
        "first_load_ms": round(first_load_ms),
        "first_graph_ms": round(first_graph_ms),
        "busiest_agent": busiest,
        "rounds": rounds,
        "interactions": [
            dashboard.summary(),
            inventory.summary(),
            entity.summary(),
            keystroke.summary(),
            graph_view.summary(),
            what_if.summary(),
            findings.summary(),
            findings_filter.summary(),
            register.summary(),
            frameworks.summary(),
        ],
        "peak_rss_kib": peak_rss_kib(),
    }))
}
