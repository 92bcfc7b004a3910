//! `cargo xtask bench`: the privilege-graph benchmark of docs/PERFORMANCE.md.
//!
//! For each scale it generates an estate with `bridle gen` (and with the reference generator
//! `gen_estate.py` when that file is present: the repository does not depend on it), then, per
//! estate, in separate processes so each peak RSS is its own: the import, the graph build from
//! SQLite and the queries (`crates/cli/examples/graph_bench.rs`), and the same all-agent
//! crown-jewel reachability as a plain networkx per-agent BFS (`xtask/bench/networkx_blast.py`,
//! networkx pinned and installed into a venv under the target directory) on a sample of agents,
//! extrapolated to all of them. The sample's crown-jewel counts are compared with ours.
//!
//! Benchmarks are never assertions: this prints figures and writes them to
//! `<target>/bench/report.md`; it fails only when a step fails or the two implementations
//! disagree.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::{cargo, workspace_root};

/// networkx version installed into the benchmark's venv.
/// The version `xtask/bench-requirements.txt` pins (with its hashes).
const NETWORKX: &str = "networkx==3.5";

/// The evaluation time of every query (fixed, so runs are comparable; mid-2026, so some
/// generated grants and credentials have expired).
const AT: &str = "2026-06-01T00:00:00Z";

/// Agents the networkx baseline times (at least 20, as the benchmark requires).
const SAMPLE: usize = 20;

const GOALS: &str = "Goals (2-core machine, large): all-agent crown-jewel reachability < 1 s and \
>= 1000x the networkx loop; one reach < 50 ms; graph build < 3 s; import < 15 s; peak RSS < 1 GiB.";

struct Options {
    scales: Vec<String>,
    seed: u64,
    networkx: bool,
    reference: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut options = Options {
        scales: Vec::new(),
        seed: 1,
        networkx: true,
        reference: std::env::var_os("BRIDLE_BENCH_REFERENCE")
            .map(PathBuf::from)
            .or_else(|| Some(workspace_root().join("../shared/bench/gen_estate.py"))),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
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
            "--no-networkx" => options.networkx = false,
            "--no-reference" => options.reference = None,
            "--reference" => {
                options.reference = Some(args.next().context("--reference needs a path")?.into());
            }
            other => bail!(
                "unknown bench option {other}\nusage: cargo xtask bench [--scale small|medium|large]... [--seed N] [--no-networkx] [--reference PATH | --no-reference]"
            ),
        }
    }
    if options.scales.is_empty() {
        options.scales = vec!["small".into(), "medium".into(), "large".into()];
    }
    Ok(options)
}

pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                workspace_root().join(p)
            }
        })
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Runs a command, failing with its stderr when it fails; returns its stdout and wall time.
pub(crate) fn execute(command: &mut Command, what: &str) -> Result<(String, f64)> {
    let start = Instant::now();
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting {what}"))?;
    let seconds = start.elapsed().as_secs_f64();
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok((String::from_utf8(output.stdout)?, seconds))
}

pub(crate) fn json_line(stdout: &str, what: &str) -> Result<Value> {
    serde_json::from_str(stdout.trim()).with_context(|| format!("{what} printed no JSON: {stdout}"))
}

/// The venv's python with networkx, created and filled on first use.
fn networkx_python(target: &Path) -> Result<PathBuf> {
    let venv = target.join("bench-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        eprintln!("$ python3 -m venv {}", venv.display());
        execute(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
        )?;
    }
    let check = format!(
        "import networkx, sys; sys.exit(networkx.__version__ != '{}')",
        NETWORKX.trim_start_matches("networkx==")
    );
    let installed = Command::new(&python)
        .args(["-c", &check])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        let pins = workspace_root().join("xtask/bench-requirements.txt");
        eprintln!(
            "$ {} -m pip install --require-hashes -r {}",
            python.display(),
            pins.display()
        );
        execute(
            Command::new(&python)
                .args(["-m", "pip", "install", "-q", "--require-hashes", "-r"])
                .arg(&pins),
            "pip install networkx",
        )?;
    }
    Ok(python)
}

/// The figures of one estate.
struct Row {
    label: String,
    import: Value,
    query: Value,
    networkx: Option<Value>,
    agreement: Option<(usize, usize)>,
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
    ])?;
    let target = target_dir();
    let bridle = target.join("release/bridle");
    let measure = target.join("release/examples/graph_bench");
    let work = target.join("bench");
    std::fs::create_dir_all(&work)?;
    let audit_key = work.join("audit.key");
    let python = if options.networkx {
        Some(networkx_python(&target)?)
    } else {
        None
    };
    let reference = options.reference.filter(|path| path.is_file());
    let mut notes = vec![format!("Load average before the run: {}.", load_average())];
    if reference.is_none() {
        notes.push(
            "The reference generator gen_estate.py is not present: only `bridle gen` estates were measured."
                .to_owned(),
        );
    }

    let mut rows = Vec::new();
    for scale in &options.scales {
        let mut estates = Vec::new();
        let ours = work.join(format!("bridle-gen-{scale}.json"));
        let (_, seconds) = execute(
            Command::new(&bridle)
                .args(["gen", "--scale", scale, "--seed"])
                .arg(options.seed.to_string())
                .arg("-o")
                .arg(&ours),
            "bridle gen",
        )?;
        notes.push(format!(
            "`bridle gen --scale {scale} --seed {}`: {seconds:.1} s, {:.0} MB.",
            options.seed,
            std::fs::metadata(&ours)?.len() as f64 / 1e6
        ));
        estates.push((format!("bridle gen {scale}"), ours));
        if let Some(generator) = &reference {
            let file = work.join(format!("gen_estate-{scale}.json"));
            let start = Instant::now();
            let status = Command::new("python3")
                .arg(generator)
                .args(["--scale", scale, "--seed"])
                .arg(options.seed.to_string())
                .stdout(std::fs::File::create(&file)?)
                .status()
                .context("running gen_estate.py")?;
            if !status.success() {
                bail!("gen_estate.py failed ({status})");
            }
            notes.push(format!(
                "`gen_estate.py --scale {scale} --seed {}`: {:.1} s.",
                options.seed,
                start.elapsed().as_secs_f64()
            ));
            estates.push((format!("gen_estate.py {scale}"), file));
        }

        for (label, estate) in estates {
            eprintln!("bench: {label}");
            let db = work.join(format!("{}.db", label.replace([' ', '.'], "-")));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
            }
            let (stdout, _) = execute(
                Command::new(&measure)
                    .arg("import")
                    .arg(&estate)
                    .arg(&db)
                    .arg(&audit_key),
                "graph_bench import",
            )?;
            let import = json_line(&stdout, "graph_bench import")?;

            let networkx = match &python {
                Some(python) => {
                    let (stdout, _) = execute(
                        Command::new(python)
                            .arg(workspace_root().join("xtask/bench/networkx_blast.py"))
                            .arg(&estate)
                            .arg(AT)
                            .args(["--sample", &SAMPLE.to_string()]),
                        "networkx_blast.py",
                    )?;
                    Some(json_line(&stdout, "networkx_blast.py")?)
                }
                None => None,
            };
            let sample: Vec<String> = networkx
                .as_ref()
                .and_then(|n| n["sample_jewels"].as_object())
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            let (stdout, _) = execute(
                Command::new(&measure)
                    .arg("query")
                    .arg(&db)
                    .arg(&audit_key)
                    .arg(AT)
                    .args(&sample),
                "graph_bench query",
            )?;
            let query = json_line(&stdout, "graph_bench query")?;
            let agreement = networkx.as_ref().map(|n| {
                let agree = sample
                    .iter()
                    .filter(|a| {
                        n["sample_jewels"][a.as_str()] == query["sample_jewels"][a.as_str()]
                    })
                    .count();
                (agree, sample.len())
            });
            if let Some((agree, total)) = agreement
                && agree != total
            {
                bail!(
                    "{label}: networkx and Bridle disagree on crown jewels reached for {} of {total} sampled agents:\nnetworkx {}\nbridle   {}",
                    total - agree,
                    n_or_null(&networkx, "sample_jewels"),
                    query["sample_jewels"]
                );
            }
            rows.push(Row {
                label,
                import,
                query,
                networkx,
                agreement,
            });
        }
    }

    notes.push(evidence_export(&bridle, &work, &audit_key)?);
    notes.push(format!("Load average after the run: {}.", load_average()));
    let report = render(&rows, &notes);
    println!("{report}");
    let path = work.join("report.md");
    std::fs::write(&path, &report)?;
    eprintln!("bench: figures written to {}", path.display());
    Ok(())
}

/// The evidence pack of the demo estate: `bridle evidence pdf` (PDF, snapshot and findings
/// JSON) timed as a whole process, five runs; the issue's budget is 2 s.
fn evidence_export(bridle: &Path, work: &Path, audit_key: &Path) -> Result<String> {
    let db = work.join("evidence-demo.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let with_db = |command: &mut Command| {
        command
            .arg("--db")
            .arg(&db)
            .arg("--audit-key")
            .arg(audit_key);
    };
    let mut import = Command::new(bridle);
    with_db(&mut import);
    import
        .arg("import")
        .arg(workspace_root().join("assets/demo/estate.json"));
    execute(&mut import, "bridle import (demo)")?;
    let pdf = work.join("evidence-demo.pdf");
    let mut times = Vec::new();
    for _ in 0..5 {
        let mut export = Command::new(bridle);
        with_db(&mut export);
        export.args(["evidence", "pdf", "--at", AT, "-o"]).arg(&pdf);
        times.push(execute(&mut export, "bridle evidence pdf")?.1);
    }
    times.sort_by(f64::total_cmp);
    Ok(format!(
        "Evidence pack of the demo estate (`bridle evidence pdf`, whole process, {} bytes): median {:.3} s, min {:.3} s, max {:.3} s over 5 runs.",
        std::fs::metadata(&pdf)?.len(),
        times[2],
        times[0],
        times[4]
    ))
}

/// `/proc/loadavg`'s 1, 5 and 15 minute figures: other work on the machine skews every timing.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn n_or_null<'a>(value: &'a Option<Value>, key: &str) -> &'a Value {
    value.as_ref().map_or(&Value::Null, |v| &v[key])
}

fn f(value: &Value) -> f64 {
    value.as_f64().unwrap_or(f64::NAN)
}

fn render(rows: &[Row], notes: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Evaluation time {AT}; release build; times are wall clock; RSS is VmHWM of each process.\n"
    );
    let _ = writeln!(
        out,
        "| estate | import | import RSS | graph build (load + build) | query RSS | all-agent blast radius | one reach: query (+ owned paths) | one paths | chokepoints | all checks |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let (i, q) = (&row.import, &row.query);
        let _ = writeln!(
            out,
            "| {} | {:.1} s | {:.0} MiB | {:.2} s ({:.2} + {:.2}) | {:.0} MiB | {:.0} ms ({} agents x {} jewels) | {:.1} ms ({:.1} ms; {} targets, {} path ids) | {:.1} ms | {:.0} ms | {:.0} ms ({} findings) |",
            row.label,
            f(&i["import_ms"]) / 1e3,
            f(&i["peak_rss_kib"]) / 1024.0,
            f(&q["graph_build_ms"]) / 1e3,
            f(&q["estate_load_ms"]) / 1e3,
            f(&q["graph_build_only_ms"]) / 1e3,
            f(&q["peak_rss_kib"]) / 1024.0,
            f(&q["blast_radius_ms"]),
            q["agents"],
            q["crown_jewels"],
            f(&q["reach_tree_ms"]),
            f(&q["reach_ms"]),
            q["reach_targets"],
            q["reach_path_ids"],
            f(&q["paths_ms"]),
            f(&q["chokepoints_ms"]),
            f(&q["checks_ms"]),
            q["findings"],
        );
    }
    if rows.iter().any(|r| r.networkx.is_some()) {
        let _ = writeln!(
            out,
            "\nnetworkx baseline: one `nx.descendants` BFS per agent on the same file, timed on a sample of agents and extrapolated linearly to all agents (the full loop is not run).\n"
        );
        let _ = writeln!(
            out,
            "| estate | networkx per agent | sample | extrapolated, all agents | Bridle, all agents | ratio | sample agrees |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|");
        for row in rows {
            let Some(n) = &row.networkx else { continue };
            let ours_s = f(&row.query["blast_radius_ms"]) / 1e3;
            let theirs_s = f(&n["extrapolated_all_agents_s"]);
            let (agree, total) = row.agreement.unwrap_or((0, 0));
            let _ = writeln!(
                out,
                "| {} | {:.2} s | {} agents in {:.1} s | {:.0} s | {:.3} s | {:.0}x | {agree}/{total} |",
                row.label,
                f(&n["per_agent_s"]),
                n["sampled_agents"],
                f(&n["sample_s"]),
                theirs_s,
                ours_s,
                theirs_s / ours_s,
            );
        }
    }
    let _ = writeln!(out, "\n{GOALS}");
    for note in notes {
        let _ = writeln!(out, "- {note}");
    }
    out
}
