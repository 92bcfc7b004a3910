//! `cargo xtask bench --console`: the console benchmark of docs/PERFORMANCE.md.
//!
//! Per scale it generates an estate with `bridle gen`, imports it into a fresh database
//! (`graph_bench import`), then runs `crates/cli/examples/console_bench.rs`, which makes the
//! `app` calls the console's Tauri commands make, in the order a user clicks, and reports each
//! interaction's p50/p95 and the process's peak RSS. Figures only, never assertions; the report
//! is also written to `<target>/bench/console-report.md`.

use std::fmt::Write as _;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::bench::{execute, json_line, load_average, target_dir};
use super::cargo;

/// The evaluation time of every call: the current time, as the console evaluates (a time
/// before the import would show the findings of the inventory as it stood then: none).
const AT: &str = "now";

/// What each interaction cost before this benchmark existed, on the large estate (issue 15,
/// release build, whole `bridle` processes doing the same work the console's command did then):
/// the baseline the report's ratios are against.
const BASELINE_LARGE_MS: &[(&str, f64, &str)] = &[
    ("dashboard", 3_000.0, "`bridle status`"),
    (
        "grants page, sorted by target, filtered standing=yes",
        11_500.0,
        "`bridle ls grants --json` (every page loaded the table)",
    ),
    ("entity page", 11_800.0, "`bridle show agent:5`"),
    (
        "graph view of the busiest agent",
        5_200.0,
        "`bridle reach agent:0` (load + build per request)",
    ),
    (
        "findings page",
        175_000.0,
        "`bridle check --json` (every finding computed per page)",
    ),
];

struct Options {
    scales: Vec<String>,
    seed: u64,
    rounds: u32,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut options = Options {
        scales: Vec::new(),
        seed: 1,
        rounds: 20,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--console" => {}
            "--scale" => {
                let scale = args
                    .next()
                    .context("--scale needs small, medium or large")?;
                if !["small", "medium", "large"].contains(&scale.as_str()) {
                    bail!("--scale must be small, medium or large, not {scale}");
                }
                options.scales.push(scale.clone());
            }
            "--seed" => {
                options.seed = args
                    .next()
                    .context("--seed needs a number")?
                    .parse()
                    .context("--seed needs a number")?;
            }
            "--rounds" => {
                options.rounds = args
                    .next()
                    .context("--rounds needs a number")?
                    .parse()
                    .context("--rounds needs a number")?;
            }
            other => bail!(
                "unknown option {other}\nusage: cargo xtask bench --console [--scale small|medium|large]... [--seed N] [--rounds N]"
            ),
        }
    }
    if options.scales.is_empty() {
        options.scales = vec!["small".into(), "medium".into(), "large".into()];
    }
    Ok(options)
}

pub fn run(args: &[String]) -> Result<()> {
    let options = parse(args)?;
    cargo(&[
        "build",
        "--release",
        "-p",
        "bridle-cli",
        "--bin",
        "bridle",
        "--example",
        "graph_bench",
        "--example",
        "console_bench",
    ])?;
    let target = target_dir();
    let bridle = target.join("release/bridle");
    let importer = target.join("release/examples/graph_bench");
    let measure = target.join("release/examples/console_bench");
    let work = target.join("bench");
    std::fs::create_dir_all(&work)?;
    let audit_key = work.join("audit.key");

    let mut report = format!(
        "# Console benchmark\n\nRelease build, seed {}, {} rounds per interaction, evaluated at the time of the run; \
         load average before the run: {}.\n",
        options.seed,
        options.rounds,
        load_average()
    );
    for scale in &options.scales {
        eprintln!("bench --console: {scale}");
        let estate = work.join(format!("console-{scale}.json"));
        execute(
            Command::new(&bridle)
                .args(["gen", "--scale", scale, "--seed"])
                .arg(options.seed.to_string())
                .arg("-o")
                .arg(&estate),
            "bridle gen",
        )?;
        let db = work.join(format!("console-{scale}.db"));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        execute(
            Command::new(&importer)
                .arg("import")
                .arg(&estate)
                .arg(&db)
                .arg(&audit_key),
            "graph_bench import",
        )?;
        let (stdout, _) = execute(
            Command::new(&measure)
                .arg(&db)
                .arg(&audit_key)
                .arg(AT)
                .arg(options.rounds.to_string()),
            "console_bench",
        )?;
        let figures = json_line(&stdout, "console_bench")?;
        report.push_str(&render(scale, &figures));
    }
    println!("{report}");
    let path = work.join("console-report.md");
    std::fs::write(&path, &report)?;
    eprintln!("report written to {}", path.display());
    Ok(())
}

fn number(value: &Value, key: &str) -> f64 {
    value[key].as_f64().unwrap_or(f64::NAN)
}

fn render(scale: &str, figures: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## bridle gen {scale}\n\nFirst load (open + dashboard): {:.0} ms; first graph request \
         (load the estate, build its graph, once per snapshot): {:.0} ms; busiest agent `{}`; \
         peak RSS {:.0} MiB.\n",
        number(figures, "first_load_ms"),
        number(figures, "first_graph_ms"),
        figures["busiest_agent"].as_str().unwrap_or("?"),
        number(figures, "peak_rss_kib") / 1024.0,
    );
    out.push_str("| interaction | p50 | p95 | max | before (large) | p95 ratio |\n|---|---|---|---|---|---|\n");
    for interaction in figures["interactions"].as_array().into_iter().flatten() {
        let name = interaction["name"].as_str().unwrap_or("?");
        let p95 = number(interaction, "p95_ms");
        let baseline = BASELINE_LARGE_MS.iter().find(|(n, _, _)| *n == name);
        let (before, ratio) = match (scale, baseline) {
            ("large", Some((_, ms, how))) => (
                format!("{:.1} s, {how}", ms / 1000.0),
                format!("{:.0}x faster", ms / p95.max(0.1)),
            ),
            _ => (String::new(), String::new()),
        };
        let _ = writeln!(
            out,
            "| {name} | {:.1} ms | {p95:.1} ms | {:.1} ms | {before} | {ratio} |",
            number(interaction, "p50_ms"),
            number(interaction, "max_ms"),
        );
    }
    out
}
