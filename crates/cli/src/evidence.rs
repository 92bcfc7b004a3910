//! Adapters for `bridle evidence pdf|verify`, `bridle attest add|ls` and
//! `bridle export --format oscal|csv`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use bridle_app::Bridle;
use bridle_app::DataPaths;
use bridle_app::evidence::{CsvTable, DEFAULT_ORGANISATION, EvidenceRequest};
use bridle_protocol::evidence::Attestation;
use clap::{Subcommand, ValueEnum};

use super::{evaluation_time, with_bridle, with_existing, write_atomically};
use crate::output::say;

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Write the NIST AI RMF evidence pack as PDF, with the snapshot and findings JSON beside it.
    #[command(
        after_help = "Examples:\n  bridle evidence pdf -o pack.pdf --at 2026-11-28T12:00:00Z --organisation \"Acme Corp\"\n\nAlso writes FILE.snapshot.json (the canonical estate export of the snapshot) and FILE.findings.json;\nthe PDF prints their sha256. The same snapshot, organisation and --at give a byte-identical PDF."
    )]
    Pdf {
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        #[command(flatten)]
        scope: Scope,
        #[arg(long)]
        json: bool,
    },
    /// Check an evidence PDF: its snapshot still rebuilds to the stated hash and its audit-chain
    /// head is an entry of an intact chain (exit 1 otherwise).
    #[command(
        after_help = "Examples:\n  bridle evidence verify pack.pdf\n  bridle evidence verify pack.pdf --current\n\nA later import is not tampering: it is reported, and fails only with --current."
    )]
    Verify {
        file: PathBuf,
        /// Also fail when the current inventory differs from the pack's snapshot.
        #[arg(long)]
        current: bool,
        #[arg(long)]
        json: bool,
    },
}

/// What an evidence export is about.
#[derive(Debug, clap::Args)]
pub struct Scope {
    /// The framework the pack is organised by.
    #[arg(long, default_value = "nist-ai-rmf")]
    framework: String,
    /// Evaluation time (RFC 3339; default: now).
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// The organisation named on the cover.
    #[arg(long, env = "BRIDLE_ORGANISATION", default_value = DEFAULT_ORGANISATION)]
    organisation: String,
}

impl Scope {
    pub fn new(framework: String, at: Option<String>, organisation: String) -> Scope {
        Scope {
            framework,
            at,
            organisation,
        }
    }

    fn request(&self) -> Result<EvidenceRequest> {
        Ok(EvidenceRequest {
            framework: bridle_app::parse_framework(&self.framework)?,
            at: evaluation_time(self.at.as_deref())?,
            organisation: self.organisation.clone(),
        })
    }
}

/// `--what` of `export --format csv`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CsvWhat {
    Findings,
    Risks,
    Inventory,
}

#[derive(Debug, Subcommand)]
pub enum AttestCommand {
    /// Record a manual attestation for a control or a NIST AI RMF subcategory (audited).
    #[command(
        after_help = "Examples:\n  bridle attest add --control C03 --statement \"Cedar policies evaluated at every tool call; reviewed 2026-11\" --file review.pdf\n  bridle attest add --subcategory \"GOVERN 1.1\" --statement \"Legal register maintained by Legal\""
    )]
    Add {
        #[arg(
            long,
            value_name = "ID",
            conflicts_with = "subcategory",
            required_unless_present = "subcategory"
        )]
        control: Option<String>,
        #[arg(long, value_name = "LABEL")]
        subcategory: Option<String>,
        #[arg(long)]
        statement: String,
        /// A supporting file, stored in the database by its sha256.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        /// When the attestation stops counting (RFC 3339, e.g. 2027-06-30T00:00:00Z); default:
        /// it does not expire.
        #[arg(long, value_name = "TIME")]
        expires: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List the attestations, oldest first.
    Ls {
        #[arg(long)]
        json: bool,
    },
}

pub async fn evidence(paths: &DataPaths, command: EvidenceCommand) -> Result<ExitCode> {
    match command {
        EvidenceCommand::Pdf {
            output,
            scope,
            json,
        } => {
            let request = scope.request()?;
            let written = with_existing(paths, async |b: &Bridle| {
                Ok(b.write_evidence_pdf(&output, &request).await?)
            })
            .await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&written)?);
            } else {
                say!(
                    "Wrote {} ({} pages, {} bytes)",
                    written.pdf.path,
                    written.pages,
                    written.pdf.bytes
                );
                say!(
                    "  snapshot        {} (sha256 {})",
                    written.snapshot,
                    written.estate_sha256
                );
                say!("  audit head      {}", written.audit_head);
                say!(
                    "  {}  sha256 {}",
                    written.snapshot_json.path,
                    written.snapshot_json.sha256
                );
                say!(
                    "  {}  sha256 {}",
                    written.findings_json.path,
                    written.findings_json.sha256
                );
                say!("  {}  sha256 {}", written.pdf.path, written.pdf.sha256);
            }
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Verify {
            file,
            current,
            json,
        } => {
            let bytes = std::fs::read(&file).map_err(|e| bridle_protocol::ApiError {
                code: bridle_protocol::ErrorCode::InvalidInput,
                message: format!("{}: {e}", file.display()),
            })?;
            let v = with_existing(paths, async |b: &Bridle| {
                Ok(b.verify_evidence(&bytes).await?)
            })
            .await?;
            let ok = v.holds() && !(current && v.inventory_changed);
            if json {
                say!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                let mark = |ok: bool| if ok { "ok  " } else { "FAIL" };
                say!(
                    "{} snapshot {} rebuilds to the stated sha256 {}{}",
                    mark(v.snapshot_holds),
                    v.snapshot,
                    v.stated_estate_sha256,
                    match &v.reconstructed_estate_sha256 {
                        Some(h) if *h != v.stated_estate_sha256 => format!(" (it rebuilds to {h})"),
                        None => " (the snapshot no longer exists)".to_owned(),
                        _ => String::new(),
                    }
                );
                say!(
                    "{} audit-chain head {} is {}an entry of the log",
                    mark(v.head_in_chain),
                    v.stated_audit_head,
                    if v.head_in_chain { "" } else { "not " }
                );
                say!("{} audit chain intact", mark(v.chain_intact));
                for problem in &v.chain_problems {
                    say!("       {problem}");
                }
                for acknowledged in &v.acknowledged_breaks {
                    say!("note acknowledged break: {acknowledged}");
                }
                for note in &v.audit_notes {
                    say!("note {note}");
                }
                if v.inventory_changed {
                    say!(
                        "{} the current inventory differs from snapshot {} (now sha256 {}){}",
                        if current { "FAIL" } else { "note" },
                        v.snapshot,
                        v.current_estate_sha256,
                        if current {
                            ""
                        } else {
                            ": a later change, not tampering"
                        }
                    );
                } else {
                    say!("ok   the current inventory is the one in the pack");
                }
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

pub async fn attest(paths: &DataPaths, command: AttestCommand) -> Result<ExitCode> {
    match command {
        AttestCommand::Add {
            control,
            subcategory,
            statement,
            file,
            expires,
            json,
        } => {
            let at = bridle_app::now();
            let expires =
                match expires.as_deref() {
                    Some(text) => Some(bridle_core::time::parse_utc(text).map_err(|e| {
                        bridle_app::ApiError {
                            code: bridle_app::ErrorCode::InvalidInput,
                            message: format!("--expires: {e}"),
                        }
                    })?),
                    None => None,
                };
            let a = with_bridle(&paths.database, paths, async |b: &Bridle| {
                Ok(b.add_attestation(
                    control.as_deref(),
                    subcategory.as_deref(),
                    &statement,
                    file.as_deref(),
                    expires,
                    at,
                )
                .await?)
            })
            .await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&a)?);
            } else {
                say!(
                    "Recorded attestation A{} for {} {}",
                    a.id,
                    a.target_kind,
                    a.target
                );
                print_attestation(&a)?;
            }
        }
        AttestCommand::Ls { json } => {
            let list = with_existing(paths, async |b: &Bridle| Ok(b.attestations().await?)).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                say!("No attestations.");
            } else {
                for a in &list {
                    say!("A{}  {} {}", a.id, a.target_kind, a.target);
                    print_attestation(a)?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_attestation(a: &Attestation) -> Result<()> {
    say!(
        "  by {}@{} at {} (audit entry {})",
        a.user,
        a.host,
        bridle_core::time::format_utc(&a.at),
        a.audit_seq
    );
    say!("  “{}”", a.statement);
    if let (Some(name), Some(hash)) = (&a.file_name, &a.file_sha256) {
        say!("  file {name} sha256 {hash}");
    }
    Ok(())
}

/// `bridle export --format oscal|csv`.
pub async fn export(
    paths: &DataPaths,
    oscal: bool,
    what: Option<CsvWhat>,
    output: Option<&Path>,
    snapshot: Option<i64>,
    scope: &Scope,
) -> Result<ExitCode> {
    if snapshot.is_some() {
        anyhow::bail!(bridle_protocol::ApiError {
            code: bridle_protocol::ErrorCode::InvalidInput,
            message: "--snapshot applies to --format estate and opengraph only: evidence is computed from the newest snapshot".to_owned(),
        });
    }
    let request = scope.request()?;
    let table = match (oscal, what) {
        (true, Some(_)) => anyhow::bail!(bridle_protocol::ApiError {
            code: bridle_protocol::ErrorCode::InvalidInput,
            message: "--what applies to --format csv only".to_owned(),
        }),
        (true, None) => None,
        (false, what) => Some(match what {
            Some(CsvWhat::Findings) | None => CsvTable::Findings,
            Some(CsvWhat::Risks) => CsvTable::Risks,
            Some(CsvWhat::Inventory) => CsvTable::Inventory,
        }),
    };
    let write = async |b: &Bridle, out: Box<dyn std::io::Write + Send>| -> Result<()> {
        match table {
            None => b.write_oscal(&request, out).await?,
            Some(t) => b.write_csv(&request, t, out).await?,
        }
        Ok(())
    };
    match output {
        Some(path) => {
            write_atomically(path, async |file: std::fs::File| {
                with_existing(paths, async |b: &Bridle| write(b, Box::new(file)).await).await
            })
            .await?
        }
        None => {
            with_existing(paths, async |b: &Bridle| {
                write(b, Box::new(std::io::stdout())).await
            })
            .await?
        }
    }
    Ok(ExitCode::SUCCESS)
}
