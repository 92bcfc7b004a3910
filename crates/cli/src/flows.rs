//! `bridle flow import|export|ls|show|check|cedar|simulate|drift|what-if|rm`: adapters over the
//! app's flow API with human output and `--json`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use bridle_app::{Bridle, DataPaths, FlowFile};
use bridle_protocol::flows::{FlowFinding, SimulationRequest};
use bridle_protocol::{ApiError, ErrorCode};
use clap::{Args, Subcommand};

use crate::compliance::EXIT_GATE_FAILED;
use crate::output::{print_json, say, table};
use crate::{evaluation_time, with_bridle, with_existing};

#[derive(Debug, Subcommand)]
pub enum FlowCommand {
    /// Import `bridle.flow/v1` documents (YAML or JSON): all of them, or none when any has a
    /// problem (each reported with its file and path in the document).
    #[command(
        after_help = "Examples:\n  bridle flow import flows/*.yaml\n  bridle flow import invoice-triage.yaml --json"
    )]
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Write a stored flow's document (as imported or saved) to stdout or a file.
    #[command(
        after_help = "Examples:\n  bridle flow export invoice-triage -o flows/invoice-triage.yaml"
    )]
    Export {
        id: String,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// List the stored flows with their verification totals.
    #[command(after_help = "Examples:\n  bridle flow ls\n  bridle flow ls --json")]
    Ls {
        #[arg(long)]
        json: bool,
    },
    /// One flow: its steps and its verification findings.
    #[command(after_help = "Examples:\n  bridle flow show invoice-triage")]
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Verify flows (one or all): approval dominance, revocation post-dominance, standing access,
    /// least privilege, separation of duties, identity; `--drift` adds the live comparison.
    #[command(
        after_help = "Examples:\n  bridle flow check\n  bridle flow check invoice-triage --drift --json\n  bridle flow check --fail-on high   # exit 3 when a failure is high or critical\n  bridle flow check --file flows/invoice-triage.yaml --fail-on high   # a change under review, not saved"
    )]
    Check(CheckArgs),
    /// The Cedar schema and policies generated from a flow (validated against each other).
    #[command(
        after_help = "Examples:\n  bridle flow cedar invoice-triage\n  bridle flow cedar invoice-triage -o policies/   # writes invoice-triage.cedarschema and invoice-triage.cedar"
    )]
    Cedar {
        id: String,
        /// A directory to write `<id>.cedarschema` and `<id>.cedar` into.
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Ask the flow's Cedar policies one question: may this principal do this to that resource?
    #[command(
        after_help = "Examples:\n  bridle flow simulate invoice-triage --principal spiffe://acme.example/agents/invoice-bot/invoice-triage/run-7 --action read --resource res:invoices\n  bridle flow simulate invoice-triage --principal … --action read --resource res:invoices --approved --issued-at 2026-11-28T12:00:00Z --now 2026-11-28T12:05:00Z"
    )]
    Simulate(SimulateArgs),
    /// The flow against the live inventory: excess standing reach, broker role TTLs, identities.
    #[command(after_help = "Examples:\n  bridle flow drift invoice-triage --json")]
    Drift {
        id: String,
        #[command(flatten)]
        eval: crate::Evaluation,
    },
    /// The agent's reach under the flow (only its JIT grants) next to its reach today.
    #[command(
        name = "what-if",
        after_help = "Examples:\n  bridle flow what-if invoice-triage"
    )]
    WhatIf {
        id: String,
        #[command(flatten)]
        eval: crate::Evaluation,
    },
    /// Remove a flow (its versions stay in the database and the audit log).
    #[command(after_help = "Examples:\n  bridle flow rm invoice-triage")]
    Rm { id: String },
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only this stored flow.
    #[arg(conflicts_with = "file")]
    id: Option<String>,
    /// Check these flow documents instead of stored flows, without saving them (e.g. a change
    /// under review); each takes the place of the stored flow with its id.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    file: Vec<PathBuf>,
    /// Also compare with the live inventory and the brokers' last syncs.
    #[arg(long)]
    drift: bool,
    /// Exit 3 when a failing finding has this severity or more (low, medium, high, critical).
    #[arg(long, value_name = "SEVERITY")]
    fail_on: Option<String>,
    #[command(flatten)]
    eval: crate::Evaluation,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    id: String,
    /// The requesting workload's SPIFFE ID.
    #[arg(long)]
    principal: String,
    #[arg(long)]
    action: String,
    #[arg(long)]
    resource: String,
    /// The task's approval was given.
    #[arg(long)]
    approved: bool,
    /// The task's access was revoked (kill switch, task end).
    #[arg(long)]
    revoked: bool,
    /// The grant's condition holds (for grants with a `condition`).
    #[arg(long)]
    condition_met: bool,
    /// The task id the request claims (default: the flow's id).
    #[arg(long)]
    task_id: Option<String>,
    /// The request time (RFC 3339; default: now).
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    /// When the task's credential was issued (RFC 3339; default: the request time).
    #[arg(long, value_name = "RFC3339")]
    issued_at: Option<String>,
    #[arg(long)]
    json: bool,
}

fn read_files(files: &[PathBuf]) -> Result<Vec<FlowFile>> {
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).map_err(|e| ApiError {
                code: ErrorCode::InvalidInput,
                message: format!("{}: cannot be read: {e}", path.display()),
            })?;
            Ok(FlowFile {
                name: path.display().to_string(),
                text,
            })
        })
        .collect()
}

pub async fn flow(paths: &DataPaths, command: FlowCommand) -> Result<ExitCode> {
    let actor = bridle_app::current_actor();
    match command {
        FlowCommand::Import { files, json } => {
            let files = read_files(&files)?;
            let at = bridle_app::now();
            let report = with_bridle(&paths.database, paths, async |b: &Bridle| {
                Ok(b.flow_import(&files, at, &actor).await?)
            })
            .await?;
            if json {
                print_json(&report)?;
            } else {
                for flow in &report.flows {
                    match flow.version {
                        Some(version) => say!(
                            "{} flow {} (version {version}) from {}",
                            flow.outcome,
                            flow.id,
                            flow.file
                        ),
                        None => say!("flow {} from {} is unchanged", flow.id, flow.file),
                    }
                }
            }
        }
        FlowCommand::Export { id, output } => {
            let yaml =
                with_existing(paths, async |b: &Bridle| Ok(b.flow_export(&id).await?)).await?;
            match output {
                Some(path) => bridle_app::files::write_private(&path, yaml.as_bytes())
                    .with_context(|| format!("writing {}", path.display()))?,
                None => {
                    use std::io::Write as _;
                    std::io::stdout().lock().write_all(yaml.as_bytes())?;
                }
            }
        }
        FlowCommand::Ls { json } => {
            let flows = with_existing(paths, async |b: &Bridle| Ok(b.flow_list().await?)).await?;
            if json {
                print_json(&flows)?;
            } else if flows.is_empty() {
                say!("no flows; import one with `bridle flow import FILE`");
            } else {
                let mut t = table(&[
                    "id", "agent", "version", "steps", "pass", "fail", "unknown", "purpose",
                ]);
                for f in &flows {
                    t.add_row(vec![
                        f.id.clone(),
                        f.agent.clone(),
                        f.version.to_string(),
                        f.steps.to_string(),
                        f.pass.to_string(),
                        f.fail.to_string(),
                        f.unknown.to_string(),
                        f.purpose.clone(),
                    ]);
                }
                say!("{t}");
            }
        }
        FlowCommand::Show { id, json } => {
            let view = with_existing(paths, async |b: &Bridle| Ok(b.flow_show(&id).await?)).await?;
            if json {
                print_json(&view)?;
            } else {
                let d = &view.draft;
                say!("flow {} — {}", d.id, d.purpose);
                say!(
                    "agent {}  ·  data {}  ·  identity {}",
                    d.agent,
                    d.data_sensitivity,
                    d.identity.spiffe_id
                );
                if let Some(s) = &view.summary {
                    say!(
                        "version {} saved {} by {} (sha256 {})",
                        s.version,
                        s.updated_at.format("%Y-%m-%dT%H:%M:%SZ"),
                        s.updated_by,
                        s.sha256
                    );
                }
                say!("");
                let mut t = table(&["step", "kind", "detail", "next", "status"]);
                for node in &view.diagram.nodes {
                    let next: Vec<&str> = view
                        .diagram
                        .edges
                        .iter()
                        .filter(|e| e.from == node.id)
                        .map(|e| e.to.as_str())
                        .collect();
                    let marker = if node.is_start { "▶ " } else { "" };
                    t.add_row(vec![
                        format!("{marker}{}", node.id),
                        node.kind.clone(),
                        node.detail.clone(),
                        next.join(", "),
                        node.status.clone(),
                    ]);
                }
                say!("{t}");
                say!("");
                print_findings(&view.findings)?;
            }
        }
        FlowCommand::Check(args) => {
            let at = evaluation_time(args.eval.at.as_deref())?;
            let fail_on = args
                .fail_on
                .as_deref()
                .map(bridle_app::parse_severity)
                .transpose()?;
            let files = read_files(&args.file)?;
            let findings = with_existing(paths, async |b: &Bridle| {
                Ok(if files.is_empty() {
                    b.flow_check(args.id.as_deref(), args.drift, at).await?
                } else {
                    b.flow_check_files(&files, args.drift, at).await?
                })
            })
            .await?;
            if args.eval.json {
                print_json(&findings)?;
            } else {
                print_findings(&findings)?;
            }
            if let Some(level) = fail_on {
                let failing = findings
                    .iter()
                    .filter(|f| f.status == "fail")
                    .filter(|f| bridle_app::parse_severity(&f.severity).is_ok_and(|s| s >= level))
                    .count();
                if failing > 0 {
                    eprintln!(
                        "gate --fail-on {}: {failing} failing flow finding(s) at or above it (exit {EXIT_GATE_FAILED})",
                        level.as_str()
                    );
                    return Ok(ExitCode::from(EXIT_GATE_FAILED));
                }
            }
        }
        FlowCommand::Cedar { id, output, json } => {
            let cedar =
                with_existing(paths, async |b: &Bridle| Ok(b.flow_cedar(&id).await?)).await?;
            if let Some(dir) = &output {
                bridle_app::files::create_private_dir(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                let schema = dir.join(format!("{}.cedarschema", cedar.flow));
                let policies = dir.join(format!("{}.cedar", cedar.flow));
                bridle_app::files::write_private(&schema, cedar.schema.as_bytes())
                    .with_context(|| format!("writing {}", schema.display()))?;
                bridle_app::files::write_private(&policies, cedar.policies.as_bytes())
                    .with_context(|| format!("writing {}", policies.display()))?;
                if !json {
                    say!("wrote {} and {}", schema.display(), policies.display());
                }
            }
            if json {
                print_json(&cedar)?;
            } else if output.is_none() {
                say!(
                    "// schema ({}.cedarschema)\n{}\n",
                    cedar.flow,
                    cedar.schema.trim_end()
                );
                say!(
                    "// policies ({}.cedar)\n{}",
                    cedar.flow,
                    cedar.policies.trim_end()
                );
            }
        }
        FlowCommand::Simulate(args) => {
            let now = evaluation_time(args.now.as_deref())?;
            let issued_at = match &args.issued_at {
                Some(text) => evaluation_time(Some(text))?,
                None => now,
            };
            let mut context = serde_json::Map::new();
            context.insert("approved".into(), args.approved.into());
            context.insert("revoked".into(), args.revoked.into());
            context.insert(
                "task_id".into(),
                args.task_id
                    .clone()
                    .unwrap_or_else(|| args.id.clone())
                    .into(),
            );
            context.insert("now".into(), now.timestamp().into());
            context.insert("issued_at".into(), issued_at.timestamp().into());
            if args.condition_met {
                context.insert("condition_met".into(), true.into());
            }
            let request = SimulationRequest {
                principal: args.principal.clone(),
                action: args.action.clone(),
                resource: args.resource.clone(),
                context,
            };
            let decision = with_existing(paths, async |b: &Bridle| {
                Ok(b.flow_simulate(&args.id, &request).await?)
            })
            .await?;
            if args.json {
                print_json(&serde_json::json!({"request": request, "decision": decision}))?;
            } else {
                say!(
                    "{}: {} {} {} — decided by {}",
                    decision.decision.to_uppercase(),
                    request.principal,
                    request.action,
                    request.resource,
                    if decision.policies.is_empty() {
                        "no policy (default deny)".to_owned()
                    } else {
                        decision.policies.join(", ")
                    }
                );
                for error in &decision.errors {
                    say!("  error: {error}");
                }
            }
        }
        FlowCommand::Drift { id, eval } => {
            let at = evaluation_time(eval.at.as_deref())?;
            let drift =
                with_existing(paths, async |b: &Bridle| Ok(b.flow_drift(&id, at).await?)).await?;
            if eval.json {
                print_json(&drift)?;
            } else {
                print_findings(&drift.findings)?;
                if let Some(excess) = drift.excess.as_ref().filter(|e| !e.is_empty()) {
                    say!("");
                    let mut t = table(&["resource", "actions beyond the flow", "hops", "path"]);
                    for e in excess {
                        t.add_row(vec![
                            e.resource.clone(),
                            e.actions.join(","),
                            e.hops.to_string(),
                            e.path.join(" → "),
                        ]);
                    }
                    say!("{t}");
                }
            }
        }
        FlowCommand::WhatIf { id, eval } => {
            let at = evaluation_time(eval.at.as_deref())?;
            let view = with_existing(paths, async |b: &Bridle| {
                Ok(b.flow_what_if(&id, at).await?)
            })
            .await?;
            if eval.json {
                print_json(&view)?;
            } else {
                say!(
                    "{} under flow {} (as {}): {} lost, {} shrunk, {} gained, {} kept",
                    view.agent,
                    view.flow,
                    view.identity,
                    view.lost,
                    view.shrunk,
                    view.gained,
                    view.kept
                );
                let mut t = table(&["resource", "today", "under the flow", "change"]);
                for r in &view.rows {
                    t.add_row(vec![
                        r.resource.clone(),
                        r.today.join(","),
                        r.under_flow.join(","),
                        r.change.clone(),
                    ]);
                }
                say!("{t}");
                if !view.unknown_resources.is_empty() {
                    say!(
                        "not in the inventory (left out): {}",
                        view.unknown_resources.join(", ")
                    );
                }
            }
        }
        FlowCommand::Rm { id } => {
            let at = bridle_app::now();
            with_existing(paths, async |b: &Bridle| {
                Ok(b.flow_delete(&id, at, &actor).await?)
            })
            .await?;
            say!("removed flow {id} (its versions stay in the history)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_findings(findings: &[FlowFinding]) -> Result<()> {
    let count = |s: &str| findings.iter().filter(|f| f.status == s).count();
    say!(
        "{} findings: {} fail, {} unknown, {} pass",
        findings.len(),
        count("fail"),
        count("unknown"),
        count("pass")
    );
    let mut t = table(&["status", "severity", "finding", "summary", "fix"]);
    for f in findings {
        t.add_row(vec![
            f.status.clone(),
            f.severity.clone(),
            f.id.clone(),
            f.summary.clone(),
            f.hint.clone().unwrap_or_default(),
        ]);
    }
    say!("{t}");
    Ok(())
}
