//! `bridle`: the command line over Bridle's API. Each subcommand parses its arguments, calls
//! `bridle_app`, and prints the result as a table or as `--json` (protocol types).

mod analysis;
mod brokers;
mod compliance;
mod evidence;
mod file_import;
mod flows;
mod output;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use bridle_app::{Bridle, DataPaths, PreparedImport};
use bridle_core::EntityKind;
use bridle_core::time::{Timestamp, parse_utc};
use bridle_protocol::console::ColumnFilter;
use bridle_protocol::{ApiError, ErrorCode, ImportOutcome, ListQuery};
use clap::{Parser, Subcommand, ValueEnum};

/// Exit code for bad input (a rejected file, a bad argument).
const EXIT_BAD_INPUT: u8 = 2;
/// Stopped by Ctrl-C (128 + SIGINT, as shells report it).
const EXIT_INTERRUPTED: u8 = 130;

#[derive(Debug, Parser)]
#[command(
    name = "bridle",
    version,
    about = "Governance console and risk register for the identities and access of AI agents",
    after_help = "Examples:\n  bridle demo\n  bridle --db estate.db import estate.json\n  bridle --db estate.db ls agents\n  bridle --db estate.db audit verify"
)]
struct Cli {
    /// The inventory database (default: bridle.db in the platform data directory).
    #[arg(long, global = true, env = "BRIDLE_DB", value_name = "PATH")]
    db: Option<PathBuf>,

    /// The key file that authenticates the audit log's anchor (default: audit.key in the data
    /// directory).
    #[arg(
        long,
        global = true,
        env = "BRIDLE_AUDIT_KEY_FILE",
        value_name = "PATH",
        hide = true
    )]
    audit_key: Option<PathBuf>,

    /// Log more to stderr (-v: info, -vv: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate an estate file (JSON or YAML) and import it as a new snapshot of its source.
    #[command(
        after_help = "Examples:\n  bridle import estate.json\n  bridle --db team.db import hr.yaml --source hr\n  bridle import --format spire entries.json\n  bridle import --format kubernetes rbac.json --source prod-eu\n\nEvery error is printed as FILE: LOCATION: message. A rejected file changes nothing (exit code 2)."
    )]
    Import {
        /// The estate/v1 file (.json, .yaml or .yml), or an exported broker file (see --format).
        file: PathBuf,
        /// Keep this file's entities as source `import:NAME`, side by side with other files.
        /// With --format kubernetes, NAME is also the cluster name in ids (default kubernetes).
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
        /// What the file is: estate/v1, `spire-server entry show -output json`, or `kubectl get
        /// serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings -A -o json`.
        #[arg(long, value_enum, default_value_t = ImportFormat::Estate)]
        format: ImportFormat,
        #[arg(long)]
        json: bool,
    },
    /// The facts an imported broker file left for its source (`--format spire|kubernetes`):
    /// SVID TTLs, selectors, admin and downstream entries, which binding gave a grant…
    #[command(
        after_help = "Examples:\n  bridle observations spire\n  bridle observations import:prod-eu --kind k8s.grant --json\n\nThe facts are those of the source's latest import; a broker's are per sync (bridle broker observations NAME)."
    )]
    Observations {
        /// The import source: NAME as given to `import --source` (default `spire` or
        /// `kubernetes`), or `import:NAME`.
        source: String,
        /// Only this kind (spire.entry, k8s.grant, k8s.group_binding…).
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Write the inventory (or a past snapshot) as a canonical estate file.
    #[command(
        after_help = "Examples:\n  bridle export --format estate -o estate.json\n  bridle export --format estate --snapshot 3"
    )]
    Export {
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Write here instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Export the inventory as it was right after this snapshot.
        #[arg(long, value_name = "ID")]
        snapshot: Option<i64>,
        /// With `--format opengraph`: evaluation time (RFC 3339; default: now). Grants and
        /// credentials expired at this time are not edges.
        #[arg(long, value_name = "RFC3339")]
        at: Option<String>,
        /// With `--format csv`: which table (default: findings).
        #[arg(long, value_enum)]
        what: Option<evidence::CsvWhat>,
        /// With `--format oscal|csv`: the framework (NIST AI RMF).
        #[arg(long, default_value = "nist-ai-rmf")]
        framework: String,
        /// With `--format oscal|csv`: the organisation named in the document.
        #[arg(long, env = "BRIDLE_ORGANISATION", default_value = bridle_app::evidence::DEFAULT_ORGANISATION)]
        organisation: String,
    },
    /// Write a synthetic estate (deterministic: the same scale and seed give the same bytes).
    #[command(
        after_help = "Examples:\n  bridle gen --scale small --seed 1 -o small.json\n  bridle gen --scale large -o large.json && bridle --db large.db import large.json"
    )]
    Gen {
        #[arg(long, value_enum, default_value = "small")]
        scale: analysis::ScaleArg,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write here instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// List the current entities of one kind, all of them or one sorted, filtered page.
    #[command(
        after_help = "Examples:\n  bridle ls agents\n  bridle ls grants --json\n  bridle ls grants --sort target --offset 500000 --limit 50\n  bridle ls grants --filter standing=yes --filter origin=vault:prod --sort expires_at:desc --json\n\nFIELDs are the columns of `--json` rows (id, origin, first_seen, name, subject, target, expires_at…).\nFilter values are written as printed: yes/no for crown_jewel and standing, an empty value for none.\nWith any paging option, --json prints {\"total\", \"matched\", \"offset\", \"kind\", \"rows\"}."
    )]
    Ls {
        #[arg(value_enum)]
        kind: KindArg,
        /// At most N rows.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        /// Skip the first M rows of the sorted, filtered listing.
        #[arg(long, value_name = "M")]
        offset: Option<u64>,
        /// Sort by a field, ascending (`:desc` for descending); ties go by id. Default: id.
        #[arg(long, value_name = "FIELD[:desc]")]
        sort: Option<String>,
        /// Only rows whose FIELD is exactly VALUE (repeatable; all must hold).
        #[arg(long, value_name = "FIELD=VALUE")]
        filter: Vec<String>,
        /// Only rows whose id or a text field contains TEXT (ASCII case-insensitive).
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one entity and everything connected to it.
    #[command(after_help = "Example:\n  bridle show agent:support-bot")]
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// List snapshots; `--verify` rebuilds each one and checks its hash.
    #[command(after_help = "Examples:\n  bridle snapshots\n  bridle snapshots --verify")]
    Snapshots {
        #[arg(long)]
        verify: bool,
        #[arg(long)]
        json: bool,
    },
    /// Read or verify the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Load the demo estate (a fictional company) into the demo database and show it.
    #[command(
        after_help = "Examples:\n  bridle demo\n  bridle --db /tmp/demo.db demo\n\nWithout --db the demo goes to demo.db in the data directory, never into your real inventory."
    )]
    Demo {
        #[arg(long)]
        json: bool,
    },
    /// What an agent, identity or credential can reach, with actions, hops and a witness path.
    #[command(
        after_help = "Examples:\n  bridle reach agent:support-bot\n  bridle reach cred:crm-api-key --json --at 2026-11-28T00:00:00Z"
    )]
    Reach {
        /// An agent, identity or credential id.
        id: String,
        #[command(flatten)]
        eval: Evaluation,
    },
    /// The shortest chain and up to N distinct simple chains from one entity to another.
    #[command(
        after_help = "Example:\n  bridle paths agent:finance-recon res:ledger-db --max-paths 5"
    )]
    Paths {
        from: String,
        to: String,
        #[arg(long, default_value_t = 5)]
        max_paths: usize,
        #[arg(long, default_value_t = 12)]
        max_hops: u32,
        #[command(flatten)]
        eval: Evaluation,
    },
    /// Every agent, identity and credential that reaches an entity, with hops.
    #[command(
        name = "who-can-reach",
        after_help = "Example:\n  bridle who-can-reach res:ledger-db"
    )]
    WhoCanReach {
        id: String,
        #[command(flatten)]
        eval: Evaluation,
    },
    /// Per agent: resources reached, crown jewels reached, worst sensitivity; riskiest first.
    #[command(
        name = "blast-radius",
        after_help = "Examples:\n  bridle blast-radius\n  bridle blast-radius --credentials --hops --json"
    )]
    BlastRadius {
        /// Also rank every credential (as if stolen).
        #[arg(long)]
        credentials: bool,
        /// Add each agent's largest hop count (one traversal per agent).
        #[arg(long)]
        hops: bool,
        #[command(flatten)]
        eval: Evaluation,
    },
    /// The grants and credential holdings whose removal alone cuts the most (agent, crown jewel)
    /// pairs, counted exactly.
    #[command(
        after_help = "Examples:\n  bridle chokepoints --top 10\n  bridle chokepoints --set 3 --json"
    )]
    Chokepoints {
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// Also pick a greedy set of K items and verify their combined cut.
        #[arg(long, value_name = "K")]
        set: Option<usize>,
        #[command(flatten)]
        eval: Evaluation,
    },
    /// What agents would lose if grants were revoked or credentials expired (nothing is changed).
    #[command(
        name = "what-if",
        after_help = "Example:\n  bridle what-if --revoke g-015 --expire cred:ledger-db-password"
    )]
    WhatIf {
        #[arg(long = "revoke", value_name = "GRANT_ID", num_args = 1..)]
        revoke: Vec<String>,
        #[arg(long = "expire", value_name = "CRED_ID", num_args = 1..)]
        expire: Vec<String>,
        #[command(flatten)]
        eval: Evaluation,
    },
    /// The dashboard figures: counts, owner-less agents, long-lived credentials, standing grants.
    #[command(after_help = "Example:\n  bridle status --at 2026-11-28T00:00:00Z")]
    Status {
        /// Evaluation time (RFC 3339; default: now).
        #[arg(long, value_name = "RFC3339")]
        at: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Run the automated checks: findings (pass, fail, unknown) with evidence and framework items.
    Check(compliance::CheckArgs),
    /// The control library and its crosswalk to NIST AI RMF, OWASP ASI, OWASP NHI and MAESTRO.
    Controls(compliance::ControlsArgs),
    /// Per framework item: the mapped controls and their findings' status.
    Coverage(compliance::CoverageArgs),
    /// The risk register: ls, show, suggest, add, update, accept, close, comment.
    #[command(subcommand)]
    Risk(compliance::RiskCommand),
    /// Live brokers (OpenBao/Vault, OIDC issuers, MCP servers): add, ls, show, test, rm.
    #[command(subcommand)]
    Broker(brokers::BrokerCommand),
    /// Read a broker and import what it holds as a new snapshot of source `broker:NAME`.
    Sync(brokers::SyncArgs),
    /// What changed at a broker between two syncs (entities and broker facts).
    Drift(brokers::DriftArgs),
    /// Revoke a token (by accessor) or a lease at an OpenBao/Vault broker; needs --yes.
    Revoke(brokers::RevokeArgs),
    /// The NIST AI RMF evidence pack: write it as PDF, or verify a written one.
    #[command(subcommand)]
    Evidence(evidence::EvidenceCommand),
    /// Manual attestations for controls and NIST AI RMF subcategories.
    #[command(subcommand)]
    Attest(evidence::AttestCommand),
    /// Approval flows: import, export, ls, show, check, cedar, simulate, drift, what-if, rm.
    #[command(subcommand)]
    Flow(flows::FlowCommand),
}

/// `--at` and `--json`, shared by every analysis.
#[derive(Debug, clap::Args)]
pub(crate) struct Evaluation {
    /// Evaluation time (RFC 3339; default: now). Grants and credentials expired at this time
    /// are not edges.
    #[arg(long, value_name = "RFC3339")]
    pub(crate) at: Option<String>,
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Print the audit log, oldest first.
    #[command(after_help = "Example:\n  bridle audit log --json")]
    Log {
        #[arg(long)]
        json: bool,
    },
    /// Check the hash chain, its anchors (in the database and beside the audit key) and the
    /// rows bound to it (risks, attestations, flows, broker profiles); exit 1 on any problem
    /// not acknowledged.
    #[command(after_help = "Examples:\n  bridle audit verify\n  bridle audit verify --deep --json")]
    Verify {
        /// Also rebuild every snapshot and check it against the hash its import recorded.
        #[arg(long)]
        deep: bool,
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge a broken audit log: the one write allowed on it. Records who, when, why and
    /// what was broken, and starts a new anchored segment; the broken range stays visible to
    /// every later verification and evidence pack.
    #[command(
        after_help = "Example:\n  bridle audit acknowledge --reason \"restored from the 2026-11-30 backup after disk failure\""
    )]
    Acknowledge {
        /// Why the break is accepted (required).
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
}

/// The file formats `bridle import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ImportFormat {
    /// An estate/v1 document (JSON or YAML).
    Estate,
    /// SPIRE registration entries (`spire-server entry show -output json`).
    Spire,
    /// Kubernetes service accounts and RBAC (`kubectl get … -A -o json`).
    Kubernetes,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// estate/v1 JSON, canonical (sorted, one entity per line).
    Estate,
    /// BloodHound CE OpenGraph JSON of the privilege graph at `--at`.
    Opengraph,
    /// OSCAL assessment-results JSON of the evidence at `--at` (NIST AI RMF).
    Oscal,
    /// CSV of the evidence at `--at`: `--what findings|risks|inventory`.
    Csv,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Agents,
    Identities,
    Credentials,
    Resources,
    Tools,
    Grants,
}

impl KindArg {
    fn kind(self) -> EntityKind {
        match self {
            KindArg::Agents => EntityKind::Agent,
            KindArg::Identities => EntityKind::Identity,
            KindArg::Credentials => EntityKind::Credential,
            KindArg::Resources => EntityKind::Resource,
            KindArg::Tools => EntityKind::Tool,
            KindArg::Grants => EntityKind::Grant,
        }
    }
}

/// `ls` paging options as the query the app answers; a malformed `--sort` or `--filter` is an
/// input error naming the option.
fn list_query(
    limit: Option<u64>,
    offset: Option<u64>,
    sort: Option<String>,
    filters: &[String],
    search: Option<String>,
) -> Result<ListQuery> {
    let (sort, descending) = match sort {
        None => (None, false),
        Some(spec) => match spec.split_once(':') {
            None => (Some(spec), false),
            Some((field, "desc")) => (Some(field.to_owned()), true),
            Some((field, "asc")) => (Some(field.to_owned()), false),
            Some((_, other)) => {
                return Err(input_error(format!(
                    "--sort {spec}: the direction is `asc` or `desc`, not `{other}`"
                )));
            }
        },
    };
    let filters = filters
        .iter()
        .map(|spec| {
            let (column, value) = spec
                .split_once('=')
                .ok_or_else(|| input_error(format!("--filter {spec}: write it as FIELD=VALUE")))?;
            Ok(ColumnFilter {
                column: column.to_owned(),
                value: value.to_owned(),
            })
        })
        .collect::<Result<_>>()?;
    Ok(ListQuery {
        sort,
        descending,
        filters,
        search: search.unwrap_or_default(),
        offset: offset.unwrap_or(0),
        limit,
    })
}

fn input_error(message: String) -> anyhow::Error {
    anyhow::Error::new(ApiError {
        code: ErrorCode::InvalidInput,
        message,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Ctrl-C drops the running command: an open transaction is rolled back (SQLite never
    // keeps half of one), a file being written is a temporary that is removed, never the
    // target. What a command had committed before stays.
    let outcome = runtime.block_on(async {
        tokio::select! {
            result = run(cli) => Some(result),
            Ok(()) = tokio::signal::ctrl_c() => None,
        }
    });
    let Some(outcome) = outcome else {
        runtime.shutdown_timeout(std::time::Duration::from_secs(2));
        eprintln!("interrupted: the command stopped; what it had not finished was not written");
        return ExitCode::from(EXIT_INTERRUPTED);
    };
    match outcome {
        Ok(code) => code,
        Err(error)
            if error.chain().any(|cause| {
                cause
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            // The reader went away (`| head`): not an error of ours.
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            let bad_input = error.downcast_ref::<ApiError>().is_some_and(|e| {
                matches!(
                    e.code,
                    ErrorCode::InvalidInput | ErrorCode::NotFound | ErrorCode::NeedsApproval
                )
            });
            ExitCode::from(if bad_input { EXIT_BAD_INPUT } else { 1 })
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        // sqlx reports slow statements at warn; a large inventory makes that noise, not news.
        0 => "warn,sqlx=error",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BRIDLE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let paths = DataPaths::resolve(cli.db.clone(), cli.audit_key.clone())?;
    match cli.command {
        Command::Import {
            file,
            source,
            json,
            format,
        } => {
            let broker_format = match format {
                ImportFormat::Estate => {
                    return import(&paths, &file, source.as_deref(), json).await;
                }
                ImportFormat::Spire => bridle_app::BrokerFileFormat::Spire,
                ImportFormat::Kubernetes => bridle_app::BrokerFileFormat::Kubernetes,
            };
            file_import::import(&paths, broker_format, &file, source.as_deref(), json).await
        }
        Command::Observations { source, kind, json } => {
            file_import::observations(&paths, &source, kind.as_deref(), json).await
        }
        Command::Export {
            format: ExportFormat::Opengraph,
            output,
            snapshot,
            at,
            ..
        } => analysis::export_opengraph(&paths, output, snapshot, at.as_deref()).await,
        Command::Export {
            format: format @ (ExportFormat::Oscal | ExportFormat::Csv),
            output,
            snapshot,
            at,
            what,
            framework,
            organisation,
        } => {
            let scope = evidence::Scope::new(framework, at, organisation);
            let oscal = matches!(format, ExportFormat::Oscal);
            evidence::export(&paths, oscal, what, output.as_deref(), snapshot, &scope).await
        }
        Command::Export {
            format: ExportFormat::Estate,
            at: Some(_),
            ..
        } => bail!(ApiError {
            code: ErrorCode::InvalidInput,
            message:
                "--at applies to --format opengraph only: an estate export has no evaluation time"
                    .to_owned(),
        }),
        Command::Gen {
            scale,
            seed,
            output,
        } => analysis::generate(scale, seed, output.as_deref()).await,
        Command::Export {
            format: ExportFormat::Estate,
            output,
            snapshot,
            at: None,
            ..
        } => {
            match output {
                Some(path) => {
                    write_atomically(&path, async |file: std::fs::File| {
                        with_existing(&paths, async |b: &Bridle| {
                            Ok(b.write_estate(snapshot, file).await?)
                        })
                        .await
                    })
                    .await?
                }
                None => {
                    with_existing(&paths, async |b: &Bridle| {
                        Ok(b.write_estate(snapshot, std::io::stdout().lock()).await?)
                    })
                    .await?
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Ls {
            kind,
            limit,
            offset,
            sort,
            filter,
            search,
            json,
        } => {
            if limit.is_none()
                && offset.is_none()
                && sort.is_none()
                && filter.is_empty()
                && search.is_none()
            {
                let list =
                    with_existing(&paths, async |b: &Bridle| Ok(b.list(kind.kind()).await?))
                        .await?;
                output::entity_list(&list, json)?;
                return Ok(ExitCode::SUCCESS);
            }
            let query = list_query(limit, offset, sort, &filter, search)?;
            let page = with_existing(&paths, async |b: &Bridle| {
                Ok(b.list_page(kind.kind(), &query).await?)
            })
            .await?;
            output::entity_page(&page, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { id, json } => {
            let detail = with_existing(&paths, async |b: &Bridle| Ok(b.show(&id).await?)).await?;
            output::entity_detail(&detail, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Snapshots { verify, json } => {
            let (snapshots, checks) = with_existing(&paths, async |b: &Bridle| {
                let checks = if verify {
                    Some(b.check_snapshots().await?)
                } else {
                    None
                };
                Ok((b.snapshots().await?, checks))
            })
            .await?;
            output::snapshots(&snapshots, checks.as_deref(), json)?;
            let broken = checks.iter().flatten().any(|c| !c.holds());
            Ok(if broken {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Audit(AuditCommand::Log { json }) => {
            let entries =
                with_existing(&paths, async |b: &Bridle| Ok(b.audit_log().await?)).await?;
            output::audit_log(&entries, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(AuditCommand::Acknowledge { reason, json }) => {
            let at = bridle_app::now();
            let actor = bridle_app::current_actor();
            let acknowledged = with_existing(&paths, async |b: &Bridle| {
                Ok(b.acknowledge_audit(&reason, at, &actor).await?)
            })
            .await?;
            output::audit_acknowledged(&acknowledged, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(AuditCommand::Verify { deep, json }) => {
            let verification =
                with_existing(&paths, async |b: &Bridle| Ok(b.verify_audit(deep).await?)).await?;
            output::audit_verification(&verification, json)?;
            Ok(if verification.intact {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Reach { id, eval } => {
            let at = evaluation_time(eval.at.as_deref())?;
            if eval.json {
                // Streamed from the search's tree: no path is materialised before it is written.
                let tree =
                    with_existing(&paths, async |b: &Bridle| Ok(b.reach_tree(&id, at).await?))
                        .await?;
                output::print_json_streamed(&bridle_app::ReachJson(&tree))?;
                return Ok(ExitCode::SUCCESS);
            }
            let reach =
                with_existing(&paths, async |b: &Bridle| Ok(b.reach(&id, at).await?)).await?;
            output::reach(&reach, false)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Paths {
            from,
            to,
            max_paths,
            max_hops,
            eval,
        } => {
            let at = evaluation_time(eval.at.as_deref())?;
            let found = with_existing(&paths, async |b: &Bridle| {
                Ok(b.paths(&from, &to, max_paths, max_hops, at).await?)
            })
            .await?;
            output::paths(&found, eval.json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::WhoCanReach { id, eval } => {
            let at = evaluation_time(eval.at.as_deref())?;
            let who = with_existing(&paths, async |b: &Bridle| {
                Ok(b.who_can_reach(&id, at).await?)
            })
            .await?;
            output::who_can_reach(&who, eval.json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::BlastRadius {
            credentials,
            hops,
            eval,
        } => {
            let at = evaluation_time(eval.at.as_deref())?;
            let blast = with_existing(&paths, async |b: &Bridle| {
                Ok(b.blast_radius(credentials, hops, at).await?)
            })
            .await?;
            output::blast_radius(&blast, eval.json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Chokepoints { top, set, eval } => {
            let at = evaluation_time(eval.at.as_deref())?;
            let found = with_existing(&paths, async |b: &Bridle| {
                Ok(b.chokepoints(top, set, at).await?)
            })
            .await?;
            output::chokepoints(&found, eval.json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::WhatIf {
            revoke,
            expire,
            eval,
        } => {
            let at = evaluation_time(eval.at.as_deref())?;
            let diff = with_existing(&paths, async |b: &Bridle| {
                Ok(b.what_if(&revoke, &expire, at).await?)
            })
            .await?;
            output::what_if(&diff, eval.json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { json } => demo(&paths, cli.db.is_some(), json).await,
        Command::Status { at, json } => {
            let at = evaluation_time(at.as_deref())?;
            let overview =
                with_existing(&paths, async |b: &Bridle| Ok(b.overview(at).await?)).await?;
            output::overview(&overview, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(args) => compliance::check(&paths, args).await,
        Command::Controls(args) => compliance::controls(args),
        Command::Coverage(args) => compliance::coverage(&paths, args).await,
        Command::Risk(command) => compliance::risk(&paths, command).await,
        Command::Broker(command) => brokers::broker(&paths, command).await,
        Command::Sync(args) => brokers::sync(&paths, args).await,
        Command::Drift(args) => brokers::drift(&paths, args).await,
        Command::Revoke(args) => brokers::revoke(&paths, args).await,
        Command::Evidence(command) => evidence::evidence(&paths, command).await,
        Command::Attest(command) => evidence::attest(&paths, command).await,
        Command::Flow(command) => flows::flow(&paths, command).await,
    }
}

fn evaluation_time(at: Option<&str>) -> Result<Timestamp> {
    match at {
        None => Ok(bridle_app::now()),
        Some(text) => parse_utc(text).map_err(|message| {
            ApiError {
                code: ErrorCode::InvalidInput,
                message: format!("--at: {message}"),
            }
            .into()
        }),
    }
}

/// Opens the database, runs `body`, and closes (checkpointing the WAL) whatever `body` returned.
async fn with_bridle<T>(
    db: &Path,
    paths: &DataPaths,
    body: impl AsyncFnOnce(&Bridle) -> Result<T>,
) -> Result<T> {
    DataPaths::ensure_parent(db)?;
    let bridle = Bridle::open(db, &paths.audit_key)
        .await
        .with_context(|| format!("opening {}", db.display()))?
        .with_credential_approvals(&paths.credential_approvals);
    let result = body(&bridle).await;
    let closed = bridle.close().await;
    let value = result?;
    closed?;
    Ok(value)
}

/// Like [`with_bridle`] on the configured database, for commands that only read: a missing
/// database is an error rather than a new empty file.
async fn with_existing<T>(
    paths: &DataPaths,
    body: impl AsyncFnOnce(&Bridle) -> Result<T>,
) -> Result<T> {
    if !paths.database.exists() {
        bail!(ApiError {
            code: ErrorCode::InvalidInput,
            message: format!(
                "no database at {}: import an estate (bridle import FILE) or load the demo (bridle demo) first",
                paths.database.display()
            ),
        });
    }
    with_bridle(&paths.database, paths, body).await
}

async fn import(
    paths: &DataPaths,
    file: &Path,
    source: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    let source = bridle_app::source_name(source)?;
    let prepared = PreparedImport::read_file(file)?;
    // Validation comes first: a rejected file never opens (let alone creates) the database.
    let outcome = match prepared.rejection_without_database(paths.database.exists()) {
        Some(rejected) => rejected,
        None => {
            let at = bridle_app::now();
            let actor = bridle_app::current_actor();
            with_bridle(&paths.database, paths, async |b: &Bridle| {
                Ok(b.import(prepared, &source, at, &actor).await?)
            })
            .await?
        }
    };
    output::import_outcome(&file.display().to_string(), &outcome, json)?;
    Ok(match outcome {
        ImportOutcome::Imported { .. } => ExitCode::SUCCESS,
        ImportOutcome::Rejected { .. } => ExitCode::from(EXIT_BAD_INPUT),
    })
}

async fn demo(paths: &DataPaths, db_given: bool, json: bool) -> Result<ExitCode> {
    let db = if db_given {
        paths.database.clone()
    } else {
        paths.demo_database.clone()
    };
    let at = bridle_app::now();
    let actor = bridle_app::current_actor();
    let (outcome, overview, agents) = with_bridle(&db, paths, async |b: &Bridle| {
        let outcome = b.load_demo(at, &actor).await?;
        Ok((
            outcome,
            b.overview(at).await?,
            b.list(EntityKind::Agent).await?,
        ))
    })
    .await?;
    if let ImportOutcome::Rejected { .. } = outcome {
        output::import_outcome("demo estate", &outcome, json)?;
        bail!("the built-in demo estate was rejected; this is a bug");
    }
    if json {
        output::overview(&overview, true)?;
    } else {
        output::say!("Demo estate loaded into {}\n", db.display());
        output::overview(&overview, false)?;
        output::say!();
        output::entity_list(&agents, false)?;
        output::say!(
            "\nExplore it with: bridle --db {} ls grants | show ID | flow check | audit verify",
            db.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes through a new owner-only temporary file in the same directory
/// (`bridle_app::files::Temporary`), so a failed write never leaves half a file where a good
/// one was and nobody else can read the output.
async fn write_atomically(
    path: &Path,
    write: impl AsyncFnOnce(std::fs::File) -> Result<()>,
) -> Result<()> {
    let mut temporary = bridle_app::files::Temporary::beside(path)
        .with_context(|| format!("creating a file beside {}", path.display()))?;
    let file = temporary
        .file()
        .try_clone()
        .with_context(|| format!("writing {}", path.display()))?;
    write(file).await?;
    temporary
        .persist(path)
        .with_context(|| format!("writing {}", path.display()))
}
