//! `bridle broker add|ls|show|test|rm`, `bridle sync`, `bridle drift`, `bridle revoke`: adapters
//! over `bridle_app` with human tables and `--json`.

use std::process::ExitCode;

use anyhow::Result;
use bridle_app::{Bridle, DataPaths};
use bridle_protocol::brokers::{
    BrokerProfile, BrokerTest, ChangeKind, Drift, DriftItem, NewBrokerProfile, Revocation,
    RevokeTarget, SyncReport, SyncRun, SyncStatus,
};
use bridle_protocol::{ApiError, ErrorCode};
use clap::{Args, Subcommand};
use comfy_table::{Table, presets};
use serde::Serialize;

use crate::output::say;
use crate::{with_bridle, with_existing};

#[derive(Debug, Subcommand)]
pub enum BrokerCommand {
    /// Add a connection profile. The credential is a reference (where the token lives), never
    /// the token itself.
    #[command(
        after_help = "Examples:\n  bridle broker add bao --kind openbao --address https://bao.example:8200 --credential env:BAO_TOKEN --ca-file ca.pem\n  bridle broker add idp --kind oidc --address https://issuer.example --setting client_id=bridle --credential file:/run/secrets/idp\n  bridle broker add tools --kind mcp --address http://127.0.0.1:9000/mcp"
    )]
    Add(AddArgs),
    /// List the profiles with their last sync.
    Ls {
        #[arg(long)]
        json: bool,
    },
    /// One profile and all its sync runs.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// The broker facts of the latest good sync (role TTLs, bound claims, token accessors…).
    #[command(
        after_help = "Examples:\n  bridle broker observations bao --kind vault.role\n  bridle broker observations bao --run 4 --json"
    )]
    Observations {
        name: String,
        /// Only this kind (vault.role, vault.token, vault.denied, vault.kv_secret…).
        #[arg(long)]
        kind: Option<String>,
        /// A sync run id (default: the latest good one).
        #[arg(long)]
        run: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Check that the broker answers and the credential works (writes nothing).
    Test {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Approve sending a profile's credential to its address from this database (needed once
    /// on this machine for a profile you did not add here, and again after its address or
    /// reference changes). Shows what would be sent where, then asks.
    #[command(
        after_help = "Examples:\n  bridle broker approve bao\n  bridle broker approve bao --yes\n  bridle broker approve bao --withdraw\n\nThe approval is kept in your own configuration (broker-credentials.json in the platform's config directory, e.g. ~/.config/bridle), never in the database, and the decision is written to the database's audit log."
    )]
    Approve {
        name: String,
        /// Approve without asking (for scripts that have checked the address and reference).
        #[arg(long)]
        yes: bool,
        /// Withdraw the approval instead.
        #[arg(long, conflicts_with = "yes")]
        withdraw: bool,
        #[arg(long)]
        json: bool,
    },
    /// Remove a profile (its sync history and the entities it synced stay).
    Rm {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    name: String,
    /// openbao (or vault), oidc, mcp.
    #[arg(long)]
    kind: String,
    /// The broker's base URL.
    #[arg(long, value_name = "URL")]
    address: String,
    /// Where the credential lives: env:NAME, file:PATH (or keychain:SERVICE/ACCOUNT where a
    /// keychain exists).
    #[arg(long, value_name = "REF")]
    credential: Option<String>,
    /// A PEM file of CA certificates to trust for this broker (certificates are always checked).
    #[arg(long, value_name = "PEM")]
    ca_file: Option<String>,
    /// Request timeout in seconds (default 30).
    #[arg(long, value_name = "SECS")]
    timeout: Option<u64>,
    /// A kind-specific setting, KEY=VALUE (repeatable), e.g. namespace=team-a, environment=prod.
    #[arg(long = "setting", value_name = "KEY=VALUE")]
    settings: Vec<String>,
    /// Allow plain http:// to a host that is not loopback (tokens then travel in clear text);
    /// recorded in the profile and its audit entry.
    #[arg(long)]
    allow_http: bool,
    /// Connect through the proxy named by HTTPS_PROXY/HTTP_PROXY/ALL_PROXY (default: directly).
    #[arg(long)]
    use_proxy: bool,
    /// OIDC: accept a token endpoint or JWKS on another https origin than the issuer's.
    #[arg(long)]
    allow_other_origins: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  bridle sync bao\n  bridle sync bao --json\n\nA failed sync changes nothing in the inventory; it is recorded (bridle broker show NAME) and exits with 1."
)]
pub struct SyncArgs {
    name: String,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  bridle drift bao\n  bridle drift bao --from 3 --to 7 --json\n\nWithout --from/--to: between the broker's last two good syncs."
)]
pub struct DriftArgs {
    name: String,
    /// Snapshot id to compare from.
    #[arg(long, value_name = "SNAPSHOT")]
    from: Option<i64>,
    /// Snapshot id to compare to (default: the broker's latest good sync).
    #[arg(long, value_name = "SNAPSHOT")]
    to: Option<i64>,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  bridle revoke bao --accessor hmac-accessor-id --yes\n  bridle revoke bao --lease auth/approle/login/h3b… --yes\n\nRevocation cannot be undone; without --yes nothing is sent. Only an accessor or lease seen in the broker's latest good sync is revoked, unless --force. An intent entry is written to the audit log before the call and the broker's answer after it."
)]
pub struct RevokeArgs {
    name: String,
    /// Revoke the token with this accessor (auth/token/revoke-accessor).
    #[arg(
        long,
        value_name = "ACCESSOR",
        conflicts_with = "lease",
        required_unless_present = "lease"
    )]
    accessor: Option<String>,
    /// Revoke this lease (sys/leases/revoke).
    #[arg(long, value_name = "LEASE_ID")]
    lease: Option<String>,
    /// Confirm the revocation.
    #[arg(long)]
    yes: bool,
    /// Revoke an accessor or lease that the broker's latest good sync did not show.
    #[arg(long)]
    force: bool,
    #[arg(long)]
    json: bool,
}

fn bad_input(message: String) -> anyhow::Error {
    ApiError {
        code: ErrorCode::InvalidInput,
        message,
    }
    .into()
}

fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    say!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_header(header.iter().map(|h| h.to_uppercase()));
    table
}

fn time(t: &bridle_protocol::Timestamp) -> String {
    bridle_core::time::format_utc(t)
}

fn status_word(run: &SyncRun) -> &'static str {
    match run.status {
        SyncStatus::Ok => "ok",
        SyncStatus::Failed => "failed",
    }
}

fn print_profiles(profiles: &[BrokerProfile]) -> Result<()> {
    if profiles.is_empty() {
        say!("no brokers (add one with `bridle broker add`)");
        return Ok(());
    }
    let mut t = table(&[
        "name",
        "kind",
        "address",
        "credential",
        "last sync",
        "result",
    ]);
    for p in profiles {
        let (when, result) = match &p.last_sync {
            None => ("-".to_owned(), "never synced".to_owned()),
            Some(run) => (
                time(&run.finished_at),
                match run.status {
                    SyncStatus::Ok => format!(
                        "ok, snapshot {}{}",
                        run.snapshot.unwrap_or_default(),
                        if run.unknown_parts.is_empty() {
                            String::new()
                        } else {
                            format!(", {} unknown part(s)", run.unknown_parts.len())
                        }
                    ),
                    SyncStatus::Failed => "failed".to_owned(),
                },
            ),
        };
        t.add_row(vec![
            p.name.clone(),
            p.kind.clone(),
            p.address.clone(),
            match (&p.credential, p.credential_approved) {
                (None, _) => "-".to_owned(),
                (Some(c), Some(false)) => format!("{c} (not approved here)"),
                (Some(c), _) => c.clone(),
            },
            when,
            result,
        ]);
    }
    say!("{t}");
    Ok(())
}

fn print_run(run: &SyncRun) -> Result<()> {
    say!(
        "sync {} of {} ({}): {} at {}",
        run.id,
        run.profile,
        run.address,
        status_word(run),
        time(&run.finished_at)
    );
    if let Some(error) = &run.error {
        say!("  error: {error}");
    }
    if let Some(snapshot) = run.snapshot {
        say!("  snapshot {snapshot}, {} observations", run.observations);
    }
    for part in &run.unknown_parts {
        say!("  unknown: {}: {}", part.part, part.reason);
    }
    Ok(())
}

fn print_items(title: &str, items: &[DriftItem]) -> Result<()> {
    say!("{title}: {}", items.len());
    for item in items {
        let sign = match item.change {
            ChangeKind::Added => "+",
            ChangeKind::Removed => "-",
            ChangeKind::Changed => "~",
        };
        say!("  {sign} {} {}", item.kind, item.id);
        for field in &item.fields {
            say!("      {}: {} -> {}", field.field, field.before, field.after);
        }
    }
    Ok(())
}

fn print_drift(drift: &Drift) -> Result<()> {
    say!(
        "drift of {} from snapshot {} to snapshot {}",
        drift.profile,
        drift.from_snapshot,
        drift.to_snapshot
    );
    print_items("entities", &drift.entities)?;
    print_items("observations", &drift.observations)?;
    Ok(())
}

pub async fn broker(paths: &DataPaths, command: BrokerCommand) -> Result<ExitCode> {
    let actor = bridle_app::current_actor();
    match command {
        BrokerCommand::Add(args) => {
            let mut settings = Vec::new();
            for text in &args.settings {
                let (key, value) = text
                    .split_once('=')
                    .ok_or_else(|| bad_input(format!("--setting `{text}`: expected KEY=VALUE")))?;
                settings.push((key.trim().to_owned(), value.to_owned()));
            }
            let new = NewBrokerProfile {
                name: args.name,
                kind: args.kind,
                address: args.address,
                credential: args.credential,
                ca_file: args.ca_file,
                timeout_secs: args.timeout,
                settings,
                allow_http: args.allow_http,
                use_proxy: args.use_proxy,
                allow_other_origins: args.allow_other_origins,
            };
            let at = bridle_app::now();
            let profile = with_bridle(&paths.database, paths, async |b: &Bridle| {
                Ok(b.broker_add(&new, at, &actor).await?)
            })
            .await?;
            if args.json {
                print_json(&profile)?;
            } else {
                say!(
                    "added broker {} ({} at {}); sync it with `bridle sync {}`",
                    profile.name,
                    profile.kind,
                    profile.address,
                    profile.name
                );
            }
        }
        BrokerCommand::Ls { json } => {
            let profiles =
                with_existing(paths, async |b: &Bridle| Ok(b.broker_list().await?)).await?;
            if json {
                print_json(&profiles)?;
            } else {
                print_profiles(&profiles)?;
            }
        }
        BrokerCommand::Show { name, json } => {
            let (profile, runs) =
                with_existing(paths, async |b: &Bridle| Ok(b.broker_show(&name).await?)).await?;
            if json {
                print_json(&serde_json::json!({"profile": profile, "runs": runs}))?;
            } else {
                print_profiles(std::slice::from_ref(&profile))?;
                say!("");
                for run in &runs {
                    print_run(run)?;
                }
            }
        }
        BrokerCommand::Observations {
            name,
            kind,
            run,
            json,
        } => {
            let observations = with_existing(paths, async |b: &Bridle| {
                Ok(b.broker_observations(&name, run, kind.as_deref()).await?)
            })
            .await?;
            if json {
                print_json(&observations)?;
            } else {
                let mut t = table(&["kind", "id", "facts"]);
                for o in &observations {
                    t.add_row(vec![o.kind.clone(), o.id.clone(), o.facts.to_string()]);
                }
                say!("{t}");
                say!("{} observations", observations.len());
            }
        }
        BrokerCommand::Test { name, json } => {
            let test: BrokerTest =
                with_existing(paths, async |b: &Bridle| Ok(b.broker_test(&name).await?)).await?;
            if json {
                print_json(&test)?;
            } else {
                say!(
                    "{} ({}): {}",
                    test.profile,
                    test.address,
                    if test.ok { "ok" } else { "FAILED" }
                );
                for line in &test.detail {
                    say!("  {line}");
                }
            }
            if !test.ok {
                return Ok(ExitCode::FAILURE);
            }
        }
        BrokerCommand::Approve {
            name,
            yes,
            withdraw,
            json,
        } => return approve(paths, &name, yes, withdraw, json).await,
        BrokerCommand::Rm { name, json } => {
            let at = bridle_app::now();
            with_existing(paths, async |b: &Bridle| {
                Ok(b.broker_remove(&name, at, &actor).await?)
            })
            .await?;
            if json {
                print_json(&serde_json::json!({"removed": name}))?;
            } else {
                say!("removed broker {name} (its sync history and synced entities stay)");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `broker approve`: shows the use, asks (unless `--yes`), records it.
async fn approve(
    paths: &DataPaths,
    name: &str,
    yes: bool,
    withdraw: bool,
    json: bool,
) -> Result<ExitCode> {
    let actor = bridle_app::current_actor();
    let at = bridle_app::now();
    if withdraw {
        let withdrawn = with_existing(paths, async |b: &Bridle| {
            Ok(b.broker_withdraw_approval(name, at, &actor).await?)
        })
        .await?;
        if json {
            print_json(&serde_json::json!({"profile": name, "withdrawn": withdrawn}))?;
        } else if withdrawn {
            say!("withdrew your approval of broker {name}'s credential");
        } else {
            say!("broker {name} had no approval on this machine");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (profile, _) =
        with_existing(paths, async |b: &Bridle| Ok(b.broker_show(name).await?)).await?;
    let Some(credential) = &profile.credential else {
        return Err(bad_input(format!(
            "broker `{name}` names no credential: there is nothing to approve"
        )));
    };
    if !json {
        say!(
            "broker {name} ({}) in {} sends the secret read from {credential} on this machine to {}{}",
            profile.kind,
            paths.database.display(),
            profile.address,
            profile
                .ca_file
                .as_ref()
                .map(|ca| format!(", trusting the CA in {ca}"))
                .unwrap_or_default()
        );
    }
    if !yes {
        use std::io::{BufRead, IsTerminal, Write};
        if !std::io::stdin().is_terminal() {
            return Err(bad_input(format!(
                "approving broker `{name}` needs your confirmation: run it in a terminal, or pass \
                 --yes once you have checked the address and the reference"
            )));
        }
        eprint!("Approve? [y/N] ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            say!("not approved; nothing changed");
            return Ok(ExitCode::from(crate::EXIT_BAD_INPUT));
        }
    }
    let approved = with_existing(paths, async |b: &Bridle| {
        Ok(b.broker_approve(name, at, &actor).await?)
    })
    .await?;
    if json {
        print_json(&approved)?;
    } else {
        say!(
            "approved: broker {name} may send {credential} to {} (recorded in {} and the audit log)",
            approved.address,
            paths.credential_approvals.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn sync(paths: &DataPaths, args: SyncArgs) -> Result<ExitCode> {
    let actor = bridle_app::current_actor();
    let report: SyncReport = with_existing(paths, async |b: &Bridle| {
        Ok(b.sync(&args.name, &actor).await?)
    })
    .await?;
    if args.json {
        print_json(&report)?;
    } else {
        print_run(&report.run)?;
        if let Some(s) = &report.snapshot {
            say!(
                "  inventory: {} identities, {} credentials, {} resources, {} tools, {} grants ({} added, {} changed, {} removed)",
                s.counts.identities,
                s.counts.credentials,
                s.counts.resources,
                s.counts.tools,
                s.counts.grants,
                s.added,
                s.changed,
                s.removed
            );
        }
    }
    Ok(match report.run.status {
        SyncStatus::Ok => ExitCode::SUCCESS,
        SyncStatus::Failed => ExitCode::FAILURE,
    })
}

pub async fn drift(paths: &DataPaths, args: DriftArgs) -> Result<ExitCode> {
    let drift = with_existing(paths, async |b: &Bridle| {
        Ok(b.drift(&args.name, args.from, args.to).await?)
    })
    .await?;
    if args.json {
        print_json(&drift)?;
    } else {
        print_drift(&drift)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn revoke(paths: &DataPaths, args: RevokeArgs) -> Result<ExitCode> {
    let target = match (args.accessor, args.lease) {
        (Some(a), None) => RevokeTarget::Accessor(a),
        (None, Some(l)) => RevokeTarget::Lease(l),
        _ => {
            return Err(bad_input(
                "give exactly one of --accessor or --lease".into(),
            ));
        }
    };
    let actor = bridle_app::current_actor();
    let revocation: Revocation = with_existing(paths, async |b: &Bridle| {
        Ok(b.revoke(&args.name, &target, args.yes, args.force, &actor)
            .await?)
    })
    .await?;
    if args.json {
        print_json(&revocation)?;
    } else {
        say!(
            "{} at {}: {} (audit entry {})",
            revocation.profile,
            revocation.address,
            revocation.answer,
            revocation.audit_seq
        );
    }
    Ok(ExitCode::SUCCESS)
}
