//! `bridle-desktop`: the Tauri 2 window around the Leptos console.
//!
//! Architecture invariant: this is the only crate that depends on `tauri`. Each command is a
//! one-to-three-line adapter over `bridle_app::Bridle` (one request in, one protocol type or
//! `ApiError` out); no SQL, no graph code, no formatting here.

mod chosen_paths;
mod commands;
mod compliance_commands;
mod flow_commands;

use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::{Context, Result};
use bridle_app::{Bridle, DataPaths};
use bridle_protocol::console::ConsoleInfo;
use bridle_protocol::{ApiError, ImportOutcome};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "bridle-desktop",
    version,
    about = "Bridle's desktop console",
    after_help = "Examples:\n  bridle-desktop\n  bridle-desktop --db team.db\n  bridle-desktop --demo"
)]
struct Args {
    /// The inventory database (default: bridle.db in the platform data directory).
    #[arg(long, env = "BRIDLE_DB", value_name = "PATH")]
    db: Option<PathBuf>,

    /// The key file that authenticates the audit log's anchor.
    #[arg(long, env = "BRIDLE_AUDIT_KEY_FILE", value_name = "PATH", hide = true)]
    audit_key: Option<PathBuf>,

    /// Load the demo estate first (into demo.db in the data directory, or into --db), as
    /// `bridle demo` does, and open that.
    #[arg(long)]
    demo: bool,
}

/// The inventory the window works on, opened once at start-up. When it could not be opened the
/// error is kept, and every command answers with it, so the UI shows an error screen.
pub struct Console {
    bridle: Result<Bridle, ApiError>,
    info: ConsoleInfo,
    /// The syncs running now, by profile: sending on the channel cancels that sync's read.
    running_syncs: Mutex<std::collections::HashMap<String, tokio::sync::oneshot::Sender<()>>>,
    /// Files picked in a native dialog, for the command that uses them.
    chosen_paths: chosen_paths::ChosenPaths,
}

impl Console {
    pub fn bridle(&self) -> Result<&Bridle, ApiError> {
        self.bridle.as_ref().map_err(Clone::clone)
    }

    fn running_syncs(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        std::collections::HashMap<String, tokio::sync::oneshot::Sender<()>>,
    > {
        self.running_syncs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let paths = DataPaths::resolve(None, args.audit_key.clone())?;
    let database = match (&args.db, args.demo) {
        (Some(db), _) => db.clone(),
        (None, true) => paths.demo_database.clone(),
        (None, false) => paths.database.clone(),
    };
    init_logging(&paths.log_file);
    tracing::info!(database = %database.display(), "starting the console");

    let bridle = tauri::async_runtime::block_on(open(&database, &paths, args.demo));
    if let Err(error) = &bridle {
        tracing::error!(%error, "cannot open the inventory");
    }
    let console = Console {
        info: ConsoleInfo {
            database: database.display().to_string(),
            log_file: paths.log_file.display().to_string(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        bridle,
        running_syncs: Mutex::default(),
        chosen_paths: chosen_paths::ChosenPaths::default(),
    };
    let closing = console.bridle.as_ref().ok().cloned();

    let app = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(console)
        .invoke_handler(tauri::generate_handler![
            commands::console_info,
            commands::overview,
            commands::snapshots,
            commands::inventory_page,
            commands::entity,
            commands::search,
            commands::import_file,
            commands::broker_list,
            commands::broker_test,
            commands::broker_sync,
            commands::broker_drift,
            commands::broker_revoke,
            commands::broker_approve,
            commands::broker_cancel_sync,
            commands::choose_estate_file,
            commands::choose_evidence_path,
            commands::export_evidence,
            commands::graph_view,
            compliance_commands::findings_page,
            compliance_commands::frameworks,
            compliance_commands::catalog,
            compliance_commands::coverage,
            compliance_commands::controls,
            compliance_commands::console_actor,
            compliance_commands::risks,
            compliance_commands::risk,
            compliance_commands::add_risk,
            compliance_commands::update_risk,
            compliance_commands::accept_risk,
            compliance_commands::close_risk,
            compliance_commands::reopen_risk,
            compliance_commands::comment_risk,
            compliance_commands::risk_suggestions,
            compliance_commands::add_suggested_risk,
            flow_commands::flow_list,
            flow_commands::flow_show,
            flow_commands::flow_preview,
            flow_commands::flow_save,
            flow_commands::flow_delete,
            flow_commands::flow_export,
            flow_commands::flow_cedar_draft,
            flow_commands::flow_simulate_draft,
            flow_commands::flow_drift,
            flow_commands::flow_what_if,
        ])
        .build(tauri::generate_context!())
        .context("cannot start the window")?;
    app.run(move |_, event| {
        if let tauri::RunEvent::Exit = event
            && let Some(bridle) = closing.clone()
            && let Err(error) = tauri::async_runtime::block_on(bridle.close())
        {
            tracing::warn!(%error, "closing the database");
        }
    });
    Ok(())
}

/// Opens (creating if needed) the inventory; with `demo`, loads the demo (estate and flows) first.
async fn open(
    database: &std::path::Path,
    paths: &DataPaths,
    demo: bool,
) -> Result<Bridle, ApiError> {
    DataPaths::ensure_parent(database)?;
    DataPaths::ensure_parent(&paths.audit_key)?;
    let bridle = Bridle::open(database, &paths.audit_key)
        .await?
        .with_credential_approvals(&paths.credential_approvals);
    if demo {
        let actor = bridle_app::current_actor();
        let outcome = bridle.load_demo(bridle_app::now(), &actor).await?;
        if let ImportOutcome::Rejected { diagnostics } = outcome {
            tracing::error!(?diagnostics, "the built-in demo estate was rejected");
        }
    }
    Ok(bridle)
}

/// Logs go to the data directory's log file (`BRIDLE_LOG` sets the filter); a log that cannot
/// be written must not keep the window from opening.
fn init_logging(log_file: &std::path::Path) {
    let _ = DataPaths::ensure_parent(log_file);
    let Ok(file) = bridle_app::files::open_private_append(log_file) else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BRIDLE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
}
