//! The commands of the Findings, Frameworks and Risk register pages (each allowed by name in
//! `capabilities/default.json`). Reads take an optional evaluation time (default now); every
//! change is made now, as the OS user, through the app (which audits it).

use bridle_protocol::compliance::{
    CatalogItem, Control, Coverage, FrameworkInfo, NewRisk, Risk, RiskChange, RiskDetail,
    RiskSuggestion,
};
use bridle_protocol::console_compliance::{ConsoleActor, FindingsPage, FindingsQuery};
use bridle_protocol::{ApiError, Timestamp};
use tauri::State;

use crate::Console;

#[tauri::command]
pub async fn findings_page(
    console: State<'_, Console>,
    query: FindingsQuery,
) -> Result<FindingsPage, ApiError> {
    console
        .bridle()?
        .findings_page(&query, bridle_app::now())
        .await
}

#[tauri::command]
pub async fn frameworks(console: State<'_, Console>) -> Result<Vec<FrameworkInfo>, ApiError> {
    console.bridle()?;
    Ok(bridle_app::frameworks())
}

#[tauri::command]
pub async fn catalog(
    console: State<'_, Console>,
    framework: String,
) -> Result<Vec<CatalogItem>, ApiError> {
    console.bridle()?;
    Ok(bridle_app::catalog(bridle_app::parse_framework(
        &framework,
    )?))
}

#[tauri::command]
pub async fn coverage(
    console: State<'_, Console>,
    framework: String,
    at: Option<Timestamp>,
) -> Result<Coverage, ApiError> {
    let framework = bridle_app::parse_framework(&framework)?;
    let at = at.unwrap_or_else(bridle_app::now);
    console.bridle()?.coverage(framework, at).await
}

#[tauri::command]
pub async fn controls(console: State<'_, Console>) -> Result<Vec<Control>, ApiError> {
    console.bridle()?;
    Ok(bridle_app::controls(None))
}

#[tauri::command]
pub async fn console_actor(console: State<'_, Console>) -> Result<ConsoleActor, ApiError> {
    console.bridle()?;
    Ok(bridle_app::console_actor())
}

#[tauri::command]
pub async fn risks(
    console: State<'_, Console>,
    at: Option<Timestamp>,
) -> Result<Vec<Risk>, ApiError> {
    let at = at.unwrap_or_else(bridle_app::now);
    console.bridle()?.risks(at).await
}

#[tauri::command]
pub async fn risk(
    console: State<'_, Console>,
    id: i64,
    at: Option<Timestamp>,
) -> Result<RiskDetail, ApiError> {
    let at = at.unwrap_or_else(bridle_app::now);
    console.bridle()?.risk(id, at).await
}

#[tauri::command]
pub async fn add_risk(console: State<'_, Console>, new: NewRisk) -> Result<Risk, ApiError> {
    let actor = bridle_app::current_actor();
    console
        .bridle()?
        .add_risk(&new, bridle_app::now(), &actor)
        .await
}

#[tauri::command]
pub async fn update_risk(
    console: State<'_, Console>,
    id: i64,
    change: RiskChange,
) -> Result<Risk, ApiError> {
    let actor = bridle_app::current_actor();
    console
        .bridle()?
        .update_risk(id, &change, bridle_app::now(), &actor)
        .await
}

#[tauri::command]
pub async fn accept_risk(
    console: State<'_, Console>,
    id: i64,
    reason: String,
    expires: Timestamp,
) -> Result<Risk, ApiError> {
    let actor = bridle_app::current_actor();
    console
        .bridle()?
        .accept_risk(id, None, &reason, expires, bridle_app::now(), &actor)
        .await
}

#[tauri::command]
pub async fn close_risk(
    console: State<'_, Console>,
    id: i64,
    reason: String,
) -> Result<Risk, ApiError> {
    let actor = bridle_app::current_actor();
    console
        .bridle()?
        .close_risk(id, &reason, bridle_app::now(), &actor)
        .await
}

#[tauri::command]
pub async fn reopen_risk(
    console: State<'_, Console>,
    id: i64,
    reason: String,
) -> Result<Risk, ApiError> {
    let actor = bridle_app::current_actor();
    console
        .bridle()?
        .reopen_risk(id, &reason, bridle_app::now(), &actor)
        .await
}

#[tauri::command]
pub async fn comment_risk(
    console: State<'_, Console>,
    id: i64,
    text: String,
) -> Result<Risk, ApiError> {
    let actor = bridle_app::current_actor();
    console
        .bridle()?
        .comment_risk(id, &text, bridle_app::now(), &actor)
        .await
}

#[tauri::command]
pub async fn risk_suggestions(
    console: State<'_, Console>,
    at: Option<Timestamp>,
) -> Result<Vec<RiskSuggestion>, ApiError> {
    let at = at.unwrap_or_else(bridle_app::now);
    console.bridle()?.suggest_risks(at).await
}

/// Creates the risk suggested for `check` from the findings at `at` (the time the user saw the
/// suggestion).
#[tauri::command]
pub async fn add_suggested_risk(
    console: State<'_, Console>,
    check: String,
    at: Option<Timestamp>,
) -> Result<Risk, ApiError> {
    let actor = bridle_app::current_actor();
    let now = bridle_app::now();
    console
        .bridle()?
        .add_suggested_risk(&check, at.unwrap_or(now), now, &actor)
        .await
}
