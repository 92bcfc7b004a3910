//! `bridle check`, `controls`, `coverage` and `risk …`: argument types, the adapters over
//! `bridle_app`, and their human and `--json` output.

use std::process::ExitCode;

use anyhow::Result;
use bridle_app::{Bridle, DataPaths, parse_framework, parse_risk_id, parse_severity};
use bridle_core::compliance::Passes;
use bridle_core::time::Timestamp;
use bridle_protocol::compliance::{
    CheckReport, Control, Coverage, NewRisk, Risk, RiskChange, RiskDetail, RiskSuggestion,
};
use bridle_protocol::{ApiError, ErrorCode};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::output::say;
use crate::{evaluation_time, with_existing};

/// Exit code of `check` when a finding at or above `--fail-on` fails.
pub const EXIT_GATE_FAILED: u8 = 3;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  bridle check --at 2026-11-28T12:00:00Z\n  bridle check --framework owasp-nhi --fail-on high\n  bridle check --json --include-pass\n\nExit codes: 0 ok; 3 when a finding at or above --fail-on fails (unknown never fails the gate; a failure covered by an accepted, unexpired risk is shown as accepted and does not fail it); 1 failure; 2 bad input."
)]
pub struct CheckArgs {
    /// Evaluation time (RFC 3339; default: now).
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// Narrow the report and the gate to the checks mapped to one framework.
    #[arg(long, value_name = "nist-ai-rmf|owasp-asi|owasp-nhi|maestro")]
    framework: Option<String>,
    /// Exit with code 3 when a finding of this severity or above fails.
    #[arg(long, value_name = "low|medium|high|critical")]
    fail_on: Option<String>,
    /// Also list the passing findings, one by one (otherwise they are counted per check and
    /// subject kind: `unlisted_passes` in the JSON; a large estate has millions).
    #[arg(long, visible_alias = "all")]
    include_pass: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  bridle controls\n  bridle controls --framework owasp-nhi --matrix\n  bridle controls --json"
)]
pub struct ControlsArgs {
    /// Show only the mappings to one framework.
    #[arg(long, value_name = "nist-ai-rmf|owasp-asi|owasp-nhi|maestro")]
    framework: Option<String>,
    /// Print the crosswalk as a matrix (controls × framework items); needs --framework.
    #[arg(long)]
    matrix: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  bridle coverage --framework nist-ai-rmf\n  bridle coverage --framework maestro --json --at 2026-11-28T12:00:00Z"
)]
pub struct CoverageArgs {
    #[arg(long, value_name = "nist-ai-rmf|owasp-asi|owasp-nhi|maestro")]
    framework: String,
    /// Evaluation time (RFC 3339; default: now).
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RiskCommand {
    /// List the register as it stands at --at (an acceptance past its expiry shows as reopened).
    #[command(
        after_help = "Examples:\n  bridle risk ls\n  bridle risk ls --at 2027-01-01T00:00:00Z --json"
    )]
    Ls {
        #[arg(long, value_name = "RFC3339")]
        at: Option<String>,
        /// Only risks with this status at --at: open, accepted or closed.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// One risk with its full history.
    #[command(after_help = "Example:\n  bridle risk show R-1")]
    Show {
        id: String,
        #[arg(long, value_name = "RFC3339")]
        at: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Risks proposed from the failing checks, with the reasoning behind their ratings.
    #[command(after_help = "Example:\n  bridle risk suggest --at 2026-11-28T12:00:00Z")]
    Suggest {
        #[arg(long, value_name = "RFC3339")]
        at: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Record a risk (or, with --suggested CHECK, the risk `risk suggest` proposes for it).
    #[command(
        after_help = "Examples:\n  bridle risk add --title 'Static deploy key' --likelihood 4 --impact 5 --owner cro@example.com --finding credential-short-lived@cred:deploy-ssh-key --category owasp-nhi:NHI7\n  bridle risk add --suggested crown-jewel-reach --at 2026-11-28T12:00:00Z"
    )]
    Add {
        #[arg(long, required_unless_present = "suggested")]
        title: Option<String>,
        #[arg(long, required_unless_present = "suggested")]
        likelihood: Option<u8>,
        #[arg(long, required_unless_present = "suggested")]
        impact: Option<u8>,
        /// Record the suggestion for this check instead (see `risk suggest`).
        #[arg(long, value_name = "CHECK", conflicts_with_all = ["title", "likelihood", "impact"])]
        suggested: Option<String>,
        /// With --suggested: the evaluation time of the findings (default: now).
        #[arg(long, value_name = "RFC3339")]
        at: Option<String>,
        #[command(flatten)]
        fields: RiskFields,
        #[arg(long)]
        json: bool,
    },
    /// Change a risk's fields.
    #[command(
        after_help = "Example:\n  bridle risk update R-1 --residual-likelihood 2 --residual-impact 4 --treatment mitigate"
    )]
    Update {
        id: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        likelihood: Option<u8>,
        #[arg(long)]
        impact: Option<u8>,
        #[command(flatten)]
        fields: RiskFields,
        #[arg(long)]
        json: bool,
    },
    /// Accept a risk until an expiry; when it expires the risk is open again.
    #[command(
        after_help = "Example:\n  bridle risk accept R-1 --reason 'compensating monitoring' --expires 2027-03-31T00:00:00Z"
    )]
    Accept {
        id: String,
        #[arg(long)]
        reason: String,
        #[arg(long, value_name = "RFC3339")]
        expires: String,
        /// Who accepts (default: the current user).
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Close a risk.
    #[command(after_help = "Example:\n  bridle risk close R-1 --reason 'key rotated and vaulted'")]
    Close {
        id: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// Add a comment to a risk's history.
    #[command(after_help = "Example:\n  bridle risk comment R-1 'owner confirmed the plan'")]
    Comment {
        id: String,
        text: String,
        #[arg(long)]
        json: bool,
    },
}

/// The optional fields shared by `risk add` and `risk update`.
#[derive(Debug, Args)]
pub struct RiskFields {
    #[arg(long)]
    description: Option<String>,
    /// A framework item, e.g. owasp-nhi:NHI7 or "nist-ai-rmf:MANAGE 1.4" (repeatable).
    #[arg(long = "category", value_name = "FRAMEWORK:ITEM")]
    categories: Vec<String>,
    #[arg(long)]
    owner: Option<String>,
    /// mitigate (default), accept, transfer or avoid.
    #[arg(long)]
    treatment: Option<String>,
    #[arg(long, value_name = "RFC3339")]
    due: Option<String>,
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
    residual_likelihood: Option<u8>,
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
    residual_impact: Option<u8>,
    /// A finding id (check@subject) or a whole check (repeatable).
    #[arg(long = "finding", value_name = "ID")]
    findings: Vec<String>,
    /// A control id such as C06 (repeatable).
    #[arg(long = "control", value_name = "ID")]
    controls: Vec<String>,
    /// An agent id (repeatable).
    #[arg(long = "agent", value_name = "ID")]
    agents: Vec<String>,
}

fn bad_input(message: String) -> anyhow::Error {
    ApiError {
        code: ErrorCode::InvalidInput,
        message,
    }
    .into()
}

fn time_arg(name: &str, text: &str) -> Result<Timestamp> {
    bridle_core::time::parse_utc(text).map_err(|m| bad_input(format!("{name}: {m}")))
}

fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    say!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// [`print_json`] written as it is serialised, the same bytes: a report listing its passes is
/// gigabytes of JSON on a large estate, which need not be held as one string first.
fn write_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // As an I/O error, so that `main` sees a closed pipe as one.
    serde_json::to_writer_pretty(&mut out, value).map_err(std::io::Error::from)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

fn rfc3339(t: &Timestamp) -> String {
    bridle_core::time::format_utc(t)
}

// ---- check ----

pub async fn check(paths: &DataPaths, args: CheckArgs) -> Result<ExitCode> {
    let at = evaluation_time(args.at.as_deref())?;
    let framework = args.framework.as_deref().map(parse_framework).transpose()?;
    let fail_on = args.fail_on.as_deref().map(parse_severity).transpose()?;
    let passes = if args.include_pass {
        Passes::List
    } else {
        Passes::Count
    };
    let report = with_existing(paths, async |b: &Bridle| {
        Ok(b.check(at, framework, fail_on, passes).await?)
    })
    .await?;
    if args.json {
        write_json(&report)?;
    } else {
        print_check(&report)?;
    }
    Ok(if report.gate_failures > 0 {
        ExitCode::from(EXIT_GATE_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// The report as text: every finding it lists (the passes only when they are), then the totals.
fn print_check(report: &CheckReport) -> Result<()> {
    say!(
        "Findings at {} (snapshot {}){}",
        rfc3339(&report.at),
        report
            .snapshot
            .map_or_else(|| "none".to_owned(), |s| s.to_string()),
        report
            .framework
            .as_deref()
            .map(|f| format!(", checks mapped to {f}"))
            .unwrap_or_default()
    );
    for f in &report.findings {
        let accepted = f
            .accepted_by
            .map(|id| format!(" (risk R-{id})"))
            .unwrap_or_default();
        say!(
            "\n{:<8} {:<8} {}{accepted}\n         {}",
            f.status.to_uppercase(),
            f.severity,
            f.id,
            f.summary
        );
        for line in &f.evidence {
            say!("         - {line}");
        }
    }
    let t = &report.totals;
    say!(
        "\n{} pass, {} fail, {} unknown, {} accepted (limits: rotation {} d, unused {} d, TTL {} d)",
        t.pass,
        t.fail,
        t.unknown,
        t.accepted,
        report.limits.rotation_days,
        report.limits.unused_days,
        report.limits.max_ttl_days
    );
    if let Some(level) = &report.fail_on {
        if report.gate_failures > 0 {
            say!(
                "gate --fail-on {level}: {} failing finding(s) at or above {level} (exit {EXIT_GATE_FAILED})",
                report.gate_failures
            );
        } else {
            say!("gate --fail-on {level}: passed");
        }
    }
    Ok(())
}

// ---- controls and coverage ----

pub fn controls(args: ControlsArgs) -> Result<ExitCode> {
    let framework = args.framework.as_deref().map(parse_framework).transpose()?;
    let controls = bridle_app::controls(framework);
    if args.json {
        print_json(&controls)?;
    } else if args.matrix {
        let Some(framework) = framework else {
            return Err(bad_input(
                "--matrix needs --framework (the columns are that framework's items)".to_owned(),
            ));
        };
        print_matrix(&controls, framework.as_str())?;
    } else {
        for c in &controls {
            say!("{} {}  [{}]", c.id, c.title, c.assessment);
            say!("    {}", c.practice);
            if !c.checks.is_empty() {
                say!("    checks: {}", c.checks.join(", "));
            }
            for m in &c.mappings {
                let local = if m.local_id { " (local id)" } else { "" };
                say!(
                    "    {} {}{local} {}: {}",
                    m.framework,
                    m.item,
                    m.title,
                    m.rationale
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_matrix(controls: &[Control], framework: &str) -> Result<()> {
    let catalog = bridle_app::catalog(parse_framework(framework)?);
    let columns: Vec<&str> = catalog
        .iter()
        .map(|i| i.id.as_str())
        .filter(|id| {
            controls
                .iter()
                .any(|c| c.mappings.iter().any(|m| m.item == *id))
        })
        .collect();
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::NOTHING);
    let mut header = vec!["CONTROL".to_owned()];
    header.extend(columns.iter().map(|c| c.to_string()));
    table.set_header(header);
    for c in controls {
        let mut row = vec![c.id.clone()];
        for column in &columns {
            row.push(if c.mappings.iter().any(|m| m.item == *column) {
                "x".to_owned()
            } else {
                ".".to_owned()
            });
        }
        table.add_row(row);
    }
    say!("{table}");
    if catalog.iter().any(|i| i.local_id) {
        say!("\nMAESTRO threat ids (Lx-Tnn, XL-Tnn) are local to Bridle, not CSA identifiers.");
    }
    Ok(())
}

pub async fn coverage(paths: &DataPaths, args: CoverageArgs) -> Result<ExitCode> {
    let framework = parse_framework(&args.framework)?;
    let at = evaluation_time(args.at.as_deref())?;
    let coverage = with_existing(paths, async |b: &Bridle| {
        Ok(b.coverage(framework, at).await?)
    })
    .await?;
    if args.json {
        print_json(&coverage)?;
    } else {
        print_coverage(&coverage)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_coverage(coverage: &Coverage) -> Result<()> {
    let fw = &coverage.framework;
    say!(
        "{} — {} (at {})",
        fw.name,
        fw.version,
        rfc3339(&coverage.at)
    );
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .set_header(vec![
            "ITEM",
            "STATUS",
            "PASS",
            "FAIL",
            "UNKNOWN",
            "ACCEPTED",
            "CONTROLS",
            "STATEMENT",
        ]);
    for item in &coverage.items {
        let text = item.text.clone().unwrap_or_else(|| item.title.clone());
        let short: String = if text.chars().count() > 70 {
            text.chars().take(69).chain(['…']).collect()
        } else {
            text
        };
        table.add_row(vec![
            format!("{}{}", item.id, if item.local_id { "*" } else { "" }),
            item.status.clone(),
            item.pass.to_string(),
            item.fail.to_string(),
            item.unknown.to_string(),
            item.accepted.to_string(),
            item.controls.join(","),
            short,
        ]);
    }
    say!("{table}");
    if let Some(note) = &fw.id_note {
        say!("\n* {note}");
    }
    say!(
        "\nSource: {}\nLicence: {}",
        fw.source.join("; "),
        fw.licence
    );
    Ok(())
}

// ---- risk register ----

pub async fn risk(paths: &DataPaths, command: RiskCommand) -> Result<ExitCode> {
    let now = bridle_app::now();
    let actor = bridle_app::current_actor();
    match command {
        RiskCommand::Ls { at, status, json } => {
            let at = evaluation_time(at.as_deref())?;
            if let Some(s) = &status
                && !["open", "accepted", "closed"].contains(&s.as_str())
            {
                return Err(bad_input(format!(
                    "--status `{s}`: expected open, accepted or closed"
                )));
            }
            let mut risks = with_existing(paths, async |b: &Bridle| Ok(b.risks(at).await?)).await?;
            risks.retain(|r| status.as_ref().is_none_or(|s| &r.status == s));
            if json {
                print_json(&risks)?;
            } else {
                print_risks(&risks, at)?;
            }
        }
        RiskCommand::Show { id, at, json } => {
            let id = parse_risk_id(&id)?;
            let at = evaluation_time(at.as_deref())?;
            let detail = with_existing(paths, async |b: &Bridle| Ok(b.risk(id, at).await?)).await?;
            if json {
                print_json(&detail)?;
            } else {
                print_risk_detail(&detail)?;
            }
        }
        RiskCommand::Suggest { at, json } => {
            let at = evaluation_time(at.as_deref())?;
            let suggestions =
                with_existing(paths, async |b: &Bridle| Ok(b.suggest_risks(at).await?)).await?;
            if json {
                print_json(&suggestions)?;
            } else {
                print_suggestions(&suggestions)?;
            }
        }
        RiskCommand::Add {
            title,
            likelihood,
            impact,
            suggested,
            at,
            fields,
            json,
        } => {
            let risk = if let Some(check) = suggested {
                let evaluated = evaluation_time(at.as_deref())?;
                with_existing(paths, async |b: &Bridle| {
                    Ok(b.add_suggested_risk(&check, evaluated, now, &actor).await?)
                })
                .await?
            } else {
                let new = NewRisk {
                    title: title.unwrap_or_default(),
                    description: fields.description.unwrap_or_default(),
                    categories: fields.categories,
                    likelihood: likelihood.unwrap_or_default(),
                    impact: impact.unwrap_or_default(),
                    residual_likelihood: fields.residual_likelihood,
                    residual_impact: fields.residual_impact,
                    owner: fields.owner,
                    treatment: fields.treatment,
                    due: fields
                        .due
                        .as_deref()
                        .map(|d| time_arg("--due", d))
                        .transpose()?,
                    findings: fields.findings,
                    controls: fields.controls,
                    agents: fields.agents,
                };
                with_existing(paths, async |b: &Bridle| {
                    Ok(b.add_risk(&new, now, &actor).await?)
                })
                .await?
            };
            print_changed("added", &risk, json)?;
        }
        RiskCommand::Update {
            id,
            title,
            likelihood,
            impact,
            fields,
            json,
        } => {
            let id = parse_risk_id(&id)?;
            let non_empty = |v: Vec<String>| (!v.is_empty()).then_some(v);
            let change = RiskChange {
                title,
                description: fields.description,
                categories: non_empty(fields.categories),
                likelihood,
                impact,
                residual_likelihood: fields.residual_likelihood,
                residual_impact: fields.residual_impact,
                owner: fields.owner,
                treatment: fields.treatment,
                due: fields
                    .due
                    .as_deref()
                    .map(|d| time_arg("--due", d))
                    .transpose()?,
                findings: non_empty(fields.findings),
                controls: non_empty(fields.controls),
                agents: non_empty(fields.agents),
            };
            let risk = with_existing(paths, async |b: &Bridle| {
                Ok(b.update_risk(id, &change, now, &actor).await?)
            })
            .await?;
            print_changed("updated", &risk, json)?;
        }
        RiskCommand::Accept {
            id,
            reason,
            expires,
            by,
            json,
        } => {
            let id = parse_risk_id(&id)?;
            let expires = time_arg("--expires", &expires)?;
            let risk = with_existing(paths, async |b: &Bridle| {
                Ok(
                    b.accept_risk(id, by.as_deref(), &reason, expires, now, &actor)
                        .await?,
                )
            })
            .await?;
            print_changed("accepted", &risk, json)?;
        }
        RiskCommand::Close { id, reason, json } => {
            let id = parse_risk_id(&id)?;
            let risk = with_existing(paths, async |b: &Bridle| {
                Ok(b.close_risk(id, &reason, now, &actor).await?)
            })
            .await?;
            print_changed("closed", &risk, json)?;
        }
        RiskCommand::Comment { id, text, json } => {
            let id = parse_risk_id(&id)?;
            let risk = with_existing(paths, async |b: &Bridle| {
                Ok(b.comment_risk(id, &text, now, &actor).await?)
            })
            .await?;
            print_changed("commented", &risk, json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_changed(what: &str, risk: &Risk, json: bool) -> Result<()> {
    if json {
        print_json(risk)
    } else {
        say!("R-{} {what}: {} [{}]", risk.id, risk.title, risk.status);
        Ok(())
    }
}

fn status_word(r: &Risk) -> String {
    if r.reopened {
        "open (reopened: acceptance expired)".to_owned()
    } else {
        r.status.clone()
    }
}

fn print_risks(risks: &[Risk], at: Timestamp) -> Result<()> {
    say!("Risk register at {}", rfc3339(&at));
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .set_header(vec![
            "ID",
            "STATUS",
            "L×I",
            "INHERENT",
            "RESIDUAL",
            "TREATMENT",
            "OWNER",
            "ACCEPTED UNTIL",
            "TITLE",
        ]);
    for r in risks {
        table.add_row(vec![
            format!("R-{}", r.id),
            status_word(r),
            format!("{}×{}", r.likelihood, r.impact),
            format!("{} {}", r.inherent_score, r.inherent_level),
            format!("{} {}", r.residual_score, r.residual_level),
            r.treatment.clone(),
            r.owner.clone().unwrap_or_else(|| "-".to_owned()),
            r.acceptance
                .as_ref()
                .map_or_else(|| "-".to_owned(), |a| rfc3339(&a.expires)),
            r.title.clone(),
        ]);
    }
    say!("{table}");
    Ok(())
}

fn print_risk_detail(detail: &RiskDetail) -> Result<()> {
    let r = &detail.risk;
    say!("R-{} {}", r.id, r.title);
    say!("status      {} (at {})", status_word(r), rfc3339(&r.at));
    say!(
        "rating      likelihood {} × impact {} = {} {}; residual {} {}",
        r.likelihood,
        r.impact,
        r.inherent_score,
        r.inherent_level,
        r.residual_score,
        r.residual_level
    );
    say!("treatment   {}", r.treatment);
    say!("owner       {}", r.owner.as_deref().unwrap_or("-"));
    if let Some(due) = &r.due {
        say!("due         {}", rfc3339(due));
    }
    if let Some(a) = &r.acceptance {
        say!(
            "accepted    by {} on {} until {}{}: {}",
            a.by,
            rfc3339(&a.at),
            rfc3339(&a.expires),
            if a.expired { " (expired)" } else { "" },
            a.reason
        );
    }
    for (name, list) in [
        ("categories", &r.categories),
        ("findings", &r.findings),
        ("controls", &r.controls),
        ("agents", &r.agents),
    ] {
        if !list.is_empty() {
            say!("{name:<11} {}", list.join(", "));
        }
    }
    if !r.description.is_empty() {
        say!("\n{}", r.description);
    }
    say!("\nHistory:");
    for e in &detail.history {
        say!(
            "  {} {}@{} {} {} (audit #{})",
            rfc3339(&e.at),
            e.user,
            e.host,
            e.action,
            e.detail,
            e.audit_seq
        );
    }
    Ok(())
}

fn print_suggestions(suggestions: &[RiskSuggestion]) -> Result<()> {
    for s in suggestions {
        say!(
            "{}  likelihood {} × impact {} = {} {}\n    {}",
            s.check,
            s.likelihood,
            s.impact,
            s.score,
            s.level,
            s.title
        );
        for line in &s.reasoning {
            say!("    - {line}");
        }
    }
    if !suggestions.is_empty() {
        say!("\nRecord one with: bridle risk add --suggested CHECK");
    }
    Ok(())
}
