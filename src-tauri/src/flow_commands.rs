//! The commands of the Flows page and its designer (each allowed by name in
//! `capabilities/default.json`). Drafts are previewed, compiled to Cedar and simulated without
//! touching the database; saving and deleting are done now, as the OS user, through the app
//! (which validates and audits them).

use bridle_app::Bridle;
use bridle_protocol::flows::{
    CedarOutput, FlowDraft, FlowDriftView, FlowSummary, FlowView, FlowWhatIfView,
    SimulationDecision, SimulationRequest,
};
use bridle_protocol::{ApiError, Timestamp};
use tauri::State;

use crate::Console;

#[tauri::command]
pub async fn flow_list(console: State<'_, Console>) -> Result<Vec<FlowSummary>, ApiError> {
    console.bridle()?.flow_list().await
}

#[tauri::command]
pub async fn flow_show(console: State<'_, Console>, id: String) -> Result<FlowView, ApiError> {
    console.bridle()?.flow_show(&id).await
}

#[tauri::command]
pub async fn flow_preview(
    console: State<'_, Console>,
    draft: FlowDraft,
) -> Result<FlowView, ApiError> {
    console.bridle()?.flow_preview(&draft).await
}

#[tauri::command]
pub async fn flow_save(
    console: State<'_, Console>,
    draft: FlowDraft,
) -> Result<FlowView, ApiError> {
    let actor = bridle_app::current_actor();
    console
        .bridle()?
        .flow_save(&draft, bridle_app::now(), &actor)
        .await
}

#[tauri::command]
pub async fn flow_delete(console: State<'_, Console>, id: String) -> Result<(), ApiError> {
    let actor = bridle_app::current_actor();
    console
        .bridle()?
        .flow_delete(&id, bridle_app::now(), &actor)
        .await
}

#[tauri::command]
pub async fn flow_export(console: State<'_, Console>, id: String) -> Result<String, ApiError> {
    console.bridle()?.flow_export(&id).await
}

#[tauri::command]
pub async fn flow_cedar_draft(
    console: State<'_, Console>,
    draft: FlowDraft,
) -> Result<CedarOutput, ApiError> {
    console.bridle()?;
    Bridle::flow_cedar_draft(&draft)
}

#[tauri::command]
pub async fn flow_simulate_draft(
    console: State<'_, Console>,
    draft: FlowDraft,
    request: SimulationRequest,
) -> Result<SimulationDecision, ApiError> {
    console.bridle()?;
    Bridle::flow_simulate_draft(&draft, &request)
}

#[tauri::command]
pub async fn flow_drift(
    console: State<'_, Console>,
    id: String,
    at: Option<Timestamp>,
) -> Result<FlowDriftView, ApiError> {
    let at = at.unwrap_or_else(bridle_app::now);
    console.bridle()?.flow_drift(&id, at).await
}

#[tauri::command]
pub async fn flow_what_if(
    console: State<'_, Console>,
    id: String,
    at: Option<Timestamp>,
) -> Result<FlowWhatIfView, ApiError> {
    let at = at.unwrap_or_else(bridle_app::now);
    console.bridle()?.flow_what_if(&id, at).await
}
