//! The commands the console window may call (each allowed by name in
//! `capabilities/default.json`). One request in, one protocol type or `ApiError` out.

use bridle_protocol::console::{
    ConsoleInfo, EntityPage, ImportRequest, InventoryPage, InventoryQuery, SearchQuery,
    SearchResults,
};
use bridle_protocol::graph_view::{GraphView, GraphViewRequest};
use bridle_protocol::{ApiError, ImportOutcome, Overview, Snapshot};
use tauri::State;

use crate::Console;

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

#[tauri::command]
pub async fn import_file(
    console: State<'_, Console>,
    request: ImportRequest,
) -> Result<ImportOutcome, ApiError> {
    let actor = bridle_app::current_actor();
    console
        .bridle()?
        .import_request(&request, bridle_app::now(), &actor)
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
