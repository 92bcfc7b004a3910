//! The commands the console window may call (each allowed by name in
//! `capabilities/default.json`). One request in, one protocol type or `ApiError` out.

use bridle_app::evidence::EvidenceRequest;
use bridle_protocol::console::{
    ConsoleInfo, EntityPage, ImportRequest, InventoryPage, InventoryQuery, SearchQuery,
    SearchResults,
};
use bridle_protocol::evidence::{EvidenceExportRequest, EvidenceWritten};
use bridle_protocol::graph_view::{GraphView, GraphViewRequest};
use bridle_protocol::{ApiError, ImportOutcome, Overview, Snapshot};
use tauri::State;

use crate::Console;
use crate::chosen_paths::{self, Purpose};

/// Fails with the start-up error when the inventory could not be opened.
#[tauri::command]
pub async fn console_info(console: State<'_, Console>) -> Result<ConsoleInfo, ApiError> {
    console.bridle()?;
    Ok(console.info.clone())
}

#[tauri::command]
pub async fn overview(console: State<'_, Console>) -> Result<Overview, ApiError> {
    console.bridle()?.overview(bridle_app::now()).await
}

#[tauri::command]
pub async fn snapshots(console: State<'_, Console>) -> Result<Vec<Snapshot>, ApiError> {
    console.bridle()?.snapshots().await
}

#[tauri::command]
pub async fn inventory_page(
    console: State<'_, Console>,
    query: InventoryQuery,
) -> Result<InventoryPage, ApiError> {
    console.bridle()?.inventory_page(&query).await
}

#[tauri::command]
pub async fn entity(console: State<'_, Console>, id: String) -> Result<EntityPage, ApiError> {
    console.bridle()?.entity_page(&id).await
}

#[tauri::command]
pub async fn search(
    console: State<'_, Console>,
    query: SearchQuery,
) -> Result<SearchResults, ApiError> {
    console.bridle()?.search(&query).await
}

/// Opens the open dialog for an estate file; the path picked is the one `import_file` may use.
#[tauri::command]
pub async fn choose_estate_file(
    app: tauri::AppHandle,
    console: State<'_, Console>,
) -> Result<Option<String>, ApiError> {
    choose(&app, &console, Purpose::ReadEstate).await
}

/// Opens the save dialog for the evidence pack; the path picked is the one `export_evidence`
/// may write.
#[tauri::command]
pub async fn choose_evidence_path(
    app: tauri::AppHandle,
    console: State<'_, Console>,
) -> Result<Option<String>, ApiError> {
    choose(&app, &console, Purpose::WriteEvidence).await
}

async fn choose(
    app: &tauri::AppHandle,
    console: &Console,
    purpose: Purpose,
) -> Result<Option<String>, ApiError> {
    let picked = chosen_paths::pick(app, purpose).await?;
    Ok(picked.map(|path| {
        let shown = path.display().to_string();
        console.chosen_paths.remember(purpose, path);
        shown
    }))
}

#[tauri::command]
pub async fn import_file(
    app: tauri::AppHandle,
    console: State<'_, Console>,
    request: ImportRequest,
) -> Result<ImportOutcome, ApiError> {
    console
        .chosen_paths
        .take(
            &app,
            Purpose::ReadEstate,
            std::path::Path::new(&request.path),
        )
        .await?;
    let actor = bridle_app::current_actor();
    console
        .bridle()?
        .import_request(&request, bridle_app::now(), &actor)
        .await
}

#[tauri::command]
pub async fn broker_list(
    console: State<'_, Console>,
) -> Result<Vec<bridle_protocol::brokers::BrokerProfile>, ApiError> {
    console.bridle()?.broker_list().await
}

/// Runs a broker read on a blocking thread with its own `block_on`: a connector's future need
/// not be `Send` (the OIDC connector's is not), and a slow broker never occupies an async worker.
async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|e| ApiError {
            code: bridle_protocol::ErrorCode::Internal,
            message: format!("the broker task failed: {e}"),
        })?
}

#[tauri::command]
pub async fn broker_test(
    console: State<'_, Console>,
    name: String,
) -> Result<bridle_protocol::brokers::BrokerTest, ApiError> {
    let bridle = console.bridle()?.clone();
    off_the_runtime(move || {
        tauri::async_runtime::block_on(async move { bridle.broker_test(&name).await })
    })
    .await
}

#[tauri::command]
pub async fn broker_sync(
    console: State<'_, Console>,
    name: String,
) -> Result<bridle_protocol::brokers::SyncReport, ApiError> {
    let actor = bridle_app::current_actor();
    let bridle = console.bridle()?.clone();
    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    {
        let mut running = console.running_syncs();
        if running.contains_key(&name) {
            return Err(ApiError {
                code: bridle_protocol::ErrorCode::Conflict,
                message: format!("broker {name} is being synced already"),
            });
        }
        running.insert(name.clone(), cancel);
    }
    let profile = name.clone();
    let report = off_the_runtime(move || {
        tauri::async_runtime::block_on(async move {
            // A dropped sender (the sync finished) is not a cancellation.
            let cancelled = async move {
                if cancelled.await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            bridle.sync_until(&profile, &actor, cancelled).await
        })
    })
    .await;
    console.running_syncs().remove(&name);
    report
}

/// Cancels the running sync of `name` (its read stops, the run is recorded as cancelled);
/// whether one was running.
#[tauri::command]
pub async fn broker_cancel_sync(
    console: State<'_, Console>,
    name: String,
) -> Result<bool, ApiError> {
    Ok(match console.running_syncs().remove(&name) {
        Some(cancel) => cancel.send(()).is_ok(),
        None => false,
    })
}

/// Approves a profile's credential use after the local user confirms it in a native dialog
/// that shows the address and the reference: the webview alone cannot approve (it could be
/// made to click anything), the person at the screen must.
#[tauri::command]
pub async fn broker_approve(
    app: tauri::AppHandle,
    console: State<'_, Console>,
    name: String,
) -> Result<bridle_protocol::brokers::BrokerProfile, ApiError> {
    let bridle = console.bridle()?.clone();
    let (profile, _) = bridle.broker_show(&name).await?;
    let credential = profile.credential.clone().unwrap_or_default();
    let question = format!(
        "Broker {name} ({}) asks to send the secret read from {credential} on this computer to\n\n{}\n\nThe profile comes from the database {}. Approve only if you know this address and this reference.",
        profile.kind,
        profile.address,
        bridle.database_path().display(),
    );
    let confirmed =
        chosen_paths::confirm(&app, "Approve a broker credential", question, "Approve").await;
    if !confirmed {
        return Err(ApiError {
            code: bridle_protocol::ErrorCode::NeedsApproval,
            message: format!("not approved: broker {name} still cannot use {credential}"),
        });
    }
    let actor = bridle_app::current_actor();
    bridle
        .broker_approve(&name, bridle_app::now(), &actor)
        .await
}

#[tauri::command]
pub async fn broker_drift(
    console: State<'_, Console>,
    name: String,
) -> Result<bridle_protocol::brokers::Drift, ApiError> {
    console.bridle()?.drift(&name, None, None).await
}

#[tauri::command]
pub async fn broker_revoke(
    console: State<'_, Console>,
    name: String,
    target: bridle_protocol::brokers::RevokeTarget,
    confirmed: bool,
) -> Result<bridle_protocol::brokers::Revocation, ApiError> {
    let actor = bridle_app::current_actor();
    // The console revokes only what it shows: ids from the broker's latest good sync.
    console
        .bridle()?
        .revoke(&name, &target, confirmed, false, &actor)
        .await
}

#[tauri::command]
pub async fn export_evidence(
    app: tauri::AppHandle,
    console: State<'_, Console>,
    request: EvidenceExportRequest,
) -> Result<EvidenceWritten, ApiError> {
    console
        .chosen_paths
        .take(
            &app,
            Purpose::WriteEvidence,
            std::path::Path::new(&request.path),
        )
        .await?;
    let evidence = EvidenceRequest::from_console(&request, bridle_app::now());
    console
        .bridle()?
        .write_evidence_pdf(std::path::Path::new(&request.path), &evidence)
        .await
}

#[tauri::command]
pub async fn graph_view(
    console: State<'_, Console>,
    request: GraphViewRequest,
) -> Result<GraphView, ApiError> {
    console
        .bridle()?
        .graph_view(&request, bridle_app::now())
        .await
}
