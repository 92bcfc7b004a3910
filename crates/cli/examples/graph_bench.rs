//! The benchmark's measuring binary, run by `cargo xtask bench` (see docs/PERFORMANCE.md); not
//! a user command. Each phase runs in its own process so that its peak RSS is its own.
//!
//! ```text
//! graph_bench import ESTATE DB AUDIT_KEY
//! graph_bench query DB AUDIT_KEY AT SAMPLE_AGENT...
//! ```
//! Prints one JSON object on stdout: the phase's timings in milliseconds, its peak RSS (VmHWM)
//! in KiB, and for `query` the crown jewels each sample agent reaches (the networkx cross-check).

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use bridle_app::{Bridle, PreparedImport};
use bridle_core::graph::PrivilegeGraph;
use bridle_core::time::parse_utc;
use serde_json::{Value, json};

#[path = "common/rss.rs"]
mod rss;
use rss::peak_rss_kib;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = match args.first().map(String::as_str) {
        Some("import") if args.len() == 4 => runtime.block_on(import(
            Path::new(&args[1]),
            Path::new(&args[2]),
            Path::new(&args[3]),
        ))?,
        Some("query") if args.len() >= 4 => runtime.block_on(query(
            Path::new(&args[1]),
            Path::new(&args[2]),
            &args[3],
            &args[4..],
        ))?,
        _ => {
            bail!("usage: graph_bench import ESTATE DB AUDIT_KEY | query DB AUDIT_KEY AT AGENT...")
        }
    };
    println!("{report}");
    Ok(())
}

fn millis(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

/// The median wall time of five runs of `work`, in milliseconds.
fn median_ms<E>(mut work: impl FnMut() -> Result<(), E>) -> Result<f64, E> {
    let mut times = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        work()?;
        times.push(millis(start));
    }
    times.sort_by(f64::total_cmp);
    Ok(times[2])
}

async fn import(estate: &Path, db: &Path, audit_key: &Path) -> Result<Value> {
    let start = Instant::now();
    let prepared = PreparedImport::read_file(estate)?;
    let parsed_ms = millis(start);
    let bridle = Bridle::open(db, audit_key).await?;
    let outcome = bridle
        .import(
            prepared,
            "import",
            bridle_app::now(),
            &bridle_app::current_actor(),
        )
        .await?;
    bridle.close().await?;
    let total_ms = millis(start);
    let outcome = serde_json::to_value(&outcome)?;
    if outcome["outcome"] != "imported" {
        bail!("the estate was rejected: {outcome}");
    }
    Ok(json!({
        "phase": "import",
        "parse_ms": parsed_ms,
        "import_ms": total_ms,
        "peak_rss_kib": peak_rss_kib(),
    }))
}

async fn query(db: &Path, audit_key: &Path, at: &str, sample: &[String]) -> Result<Value> {
    let at = parse_utc(at).map_err(anyhow::Error::msg)?;
    let bridle = Bridle::open(db, audit_key).await?;

    let start = Instant::now();
    let estate = bridle.estate(None).await?;
    let load_ms = millis(start);
    let built = Instant::now();
    let graph = PrivilegeGraph::build(&estate, at);
    let build_only_ms = millis(built);
    let build_ms = millis(start);
    // Every automated check (20 checks, one finding per check and subject) on the same graph.
    let start = Instant::now();
    let findings = bridle_core::compliance::evaluate(
        &estate,
        &graph,
        at,
        &bridle_core::compliance::Limits::default(),
    );
    let checks_ms = millis(start);
    let findings_count = findings.len();
    drop(findings);
    drop(estate);
    bridle.close().await?;

    // Every agent × every crown jewel (the SCC condensation is built here, on first use).
    let start = Instant::now();
    let blast = graph.blast_radius(false);
    let blast_ms = millis(start);
    let pairs: usize = blast.entries.iter().map(|e| e.crown_jewels.len()).sum();

    // One reach and one shortest-path query from the agent that reaches the most.
    let busiest = blast
        .entries
        .iter()
        .max_by_key(|e| (e.resources, std::cmp::Reverse(e.source.clone())))
        .context("the estate has no agents")?;
    // The query (witness paths as a tree) and the same with every witness materialised as owned
    // ids (what `reach --json` prints): the median of five runs each.
    let reach_tree_ms = median_ms(|| graph.reach_tree(&busiest.source).map(drop))?;
    let reach_ms = median_ms(|| graph.reach(&busiest.source).map(drop))?;
    let reach = graph.reach(&busiest.source)?;
    let reach_path_ids: usize = reach.reachable.iter().map(|r| r.path.len()).sum();
    let jewel = blast
        .jewel_ids(busiest)
        .next()
        .map(str::to_owned)
        .context("the busiest agent reaches no crown jewel")?;
    let start = Instant::now();
    let paths = graph.paths(&busiest.source, &jewel, 5, 12)?;
    let paths_ms = millis(start);

    let start = Instant::now();
    let chokepoints = graph.chokepoints(10);
    let chokepoints_ms = millis(start);

    let sample_jewels: serde_json::Map<String, Value> = sample
        .iter()
        .map(|agent| {
            let count = blast
                .entries
                .iter()
                .find(|e| &e.source == agent)
                .map_or(0, |e| e.crown_jewels.len());
            (agent.clone(), Value::from(count))
        })
        .collect();

    Ok(json!({
        "phase": "query",
        "estate_load_ms": load_ms,
        "graph_build_only_ms": build_only_ms,
        "graph_build_ms": build_ms,
        "graph_nodes": graph.node_count(),
        "graph_edges": graph.edge_count(),
        "agents": blast.entries.len(),
        "crown_jewels": blast.crown_jewels.len(),
        "blast_radius_ms": blast_ms,
        "agent_jewel_pairs": pairs,
        "reach_from": busiest.source,
        "reach_tree_ms": reach_tree_ms,
        "reach_ms": reach_ms,
        "reach_targets": reach.reachable.len(),
        "reach_path_ids": reach_path_ids,
        "paths_to": jewel,
        "paths_ms": paths_ms,
        "paths_found": paths.paths.len(),
        "chokepoints_ms": chokepoints_ms,
        "chokepoints_total_pairs": chokepoints.total_pairs,
        "checks_ms": checks_ms,
        "findings": findings_count,
        "peak_rss_kib": peak_rss_kib(),
        "sample_jewels": sample_jewels,
    }))
}
