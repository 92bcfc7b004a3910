//! The only bridge to the Tauri backend: one `invoke` binding (declared with `catch`, so a
//! command error is a `Result`, never a panic) and one typed function per command.

use bridle_protocol::console::{
    ConsoleInfo, EntityPage, ImportRequest, InventoryPage, InventoryQuery, SearchQuery,
    SearchResults,
};
use bridle_protocol::{ApiError, ErrorCode, ImportOutcome, Overview, Snapshot};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], catch)]
    async fn invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

fn internal(message: String) -> ApiError {
    ApiError {
        code: ErrorCode::Internal,
        message,
    }
}

async fn call<A: Serialize, T: DeserializeOwned>(command: &str, args: &A) -> Result<T, ApiError> {
    let args = serde_wasm_bindgen::to_value(args)
        .map_err(|e| internal(format!("cannot encode the request to `{command}`: {e}")))?;
    match invoke(command, args).await {
        Ok(value) => serde_wasm_bindgen::from_value(value)
            .map_err(|e| internal(format!("cannot read the answer of `{command}`: {e}"))),
        Err(error) => Err(serde_wasm_bindgen::from_value::<ApiError>(error.clone())
            .unwrap_or_else(|_| {
                internal(
                    error
                        .as_string()
                        .unwrap_or_else(|| format!("`{command}` failed: {error:?}")),
                )
            })),
    }
}

#[derive(Serialize)]
struct NoArgs {}

#[derive(Serialize)]
struct Query<'a, T> {
    query: &'a T,
}

pub async fn console_info() -> Result<ConsoleInfo, ApiError> {
    call("console_info", &NoArgs {}).await
}

pub async fn overview() -> Result<Overview, ApiError> {
    call("overview", &NoArgs {}).await
}

pub async fn snapshots() -> Result<Vec<Snapshot>, ApiError> {
    call("snapshots", &NoArgs {}).await
}

pub async fn inventory_page(query: &InventoryQuery) -> Result<InventoryPage, ApiError> {
    call("inventory_page", &Query { query }).await
}

pub async fn search(query: &SearchQuery) -> Result<SearchResults, ApiError> {
    call("search", &Query { query }).await
}

pub async fn entity(id: &str) -> Result<EntityPage, ApiError> {
    #[derive(Serialize)]
    struct Args<'a> {
        id: &'a str,
    }
    call("entity", &Args { id }).await
}

pub async fn import_file(request: &ImportRequest) -> Result<ImportOutcome, ApiError> {
    #[derive(Serialize)]
    struct Args<'a> {
        request: &'a ImportRequest,
    }
    call("import_file", &Args { request }).await
}

/// Asks the app to open its file dialog for an estate file; `None` when the user cancels. The
/// app remembers the pick: `import_file` of that path needs no further confirmation.
pub async fn pick_estate_file() -> Result<Option<String>, ApiError> {
    call("choose_estate_file", &NoArgs {}).await
}

pub async fn broker_list() -> Result<Vec<bridle_protocol::brokers::BrokerProfile>, ApiError> {
    call("broker_list", &NoArgs {}).await
}

#[derive(Serialize)]
struct Named<'a> {
    name: &'a str,
}

pub async fn broker_test(name: &str) -> Result<bridle_protocol::brokers::BrokerTest, ApiError> {
    call("broker_test", &Named { name }).await
}

pub async fn broker_sync(name: &str) -> Result<bridle_protocol::brokers::SyncReport, ApiError> {
    call("broker_sync", &Named { name }).await
}

/// Asks the user (in a native dialog opened by the app, not the page) to approve the profile's
/// credential use.
pub async fn broker_approve(
    name: &str,
) -> Result<bridle_protocol::brokers::BrokerProfile, ApiError> {
    call("broker_approve", &Named { name }).await
}

/// Cancels the running sync of `name`; whether one was running.
pub async fn broker_cancel_sync(name: &str) -> Result<bool, ApiError> {
    call("broker_cancel_sync", &Named { name }).await
}

pub async fn broker_drift(name: &str) -> Result<bridle_protocol::brokers::Drift, ApiError> {
    call("broker_drift", &Named { name }).await
}

pub async fn broker_revoke(
    name: &str,
    target: &bridle_protocol::brokers::RevokeTarget,
    confirmed: bool,
) -> Result<bridle_protocol::brokers::Revocation, ApiError> {
    #[derive(Serialize)]
    struct Args<'a> {
        name: &'a str,
        target: &'a bridle_protocol::brokers::RevokeTarget,
        confirmed: bool,
    }
    call(
        "broker_revoke",
        &Args {
            name,
            target,
            confirmed,
        },
    )
    .await
}

pub async fn export_evidence(
    request: &bridle_protocol::evidence::EvidenceExportRequest,
) -> Result<bridle_protocol::evidence::EvidenceWritten, ApiError> {
    #[derive(Serialize)]
    struct Args<'a> {
        request: &'a bridle_protocol::evidence::EvidenceExportRequest,
    }
    call("export_evidence", &Args { request }).await
}

/// Asks the app to open its save dialog for the evidence PDF; `None` when the user cancels.
pub async fn pick_evidence_path() -> Result<Option<String>, ApiError> {
    call("choose_evidence_path", &NoArgs {}).await
}

// Findings, frameworks and the risk register.

use bridle_protocol::Timestamp;
use bridle_protocol::compliance::{
    CatalogItem, Control, Coverage, FrameworkInfo, NewRisk, Risk, RiskChange, RiskDetail,
    RiskSuggestion,
};
use bridle_protocol::console_compliance::{ConsoleActor, FindingsPage, FindingsQuery};

#[derive(Serialize)]
struct At {
    at: Option<Timestamp>,
}

pub async fn findings_page(query: &FindingsQuery) -> Result<FindingsPage, ApiError> {
    call("findings_page", &Query { query }).await
}

pub async fn frameworks() -> Result<Vec<FrameworkInfo>, ApiError> {
    call("frameworks", &NoArgs {}).await
}

pub async fn catalog(framework: &str) -> Result<Vec<CatalogItem>, ApiError> {
    #[derive(Serialize)]
    struct Args<'a> {
        framework: &'a str,
    }
    call("catalog", &Args { framework }).await
}

pub async fn coverage(framework: &str, at: Option<Timestamp>) -> Result<Coverage, ApiError> {
    #[derive(Serialize)]
    struct Args<'a> {
        framework: &'a str,
        at: Option<Timestamp>,
    }
    call("coverage", &Args { framework, at }).await
}

pub async fn controls() -> Result<Vec<Control>, ApiError> {
    call("controls", &NoArgs {}).await
}

pub async fn console_actor() -> Result<ConsoleActor, ApiError> {
    call("console_actor", &NoArgs {}).await
}

pub async fn risks(at: Option<Timestamp>) -> Result<Vec<Risk>, ApiError> {
    call("risks", &At { at }).await
}

pub async fn risk(id: i64, at: Option<Timestamp>) -> Result<RiskDetail, ApiError> {
    #[derive(Serialize)]
    struct Args {
        id: i64,
        at: Option<Timestamp>,
    }
    call("risk", &Args { id, at }).await
}

pub async fn add_risk(new: &NewRisk) -> Result<Risk, ApiError> {
    #[derive(Serialize)]
    struct Args<'a> {
        new: &'a NewRisk,
    }
    call("add_risk", &Args { new }).await
}

pub async fn update_risk(id: i64, change: &RiskChange) -> Result<Risk, ApiError> {
    #[derive(Serialize)]
    struct Args<'a> {
        id: i64,
        change: &'a RiskChange,
    }
    call("update_risk", &Args { id, change }).await
}

pub async fn accept_risk(id: i64, reason: &str, expires: Timestamp) -> Result<Risk, ApiError> {
    #[derive(Serialize)]
    struct Args<'a> {
        id: i64,
        reason: &'a str,
        expires: Timestamp,
    }
    call(
        "accept_risk",
        &Args {
            id,
            reason,
            expires,
        },
    )
    .await
}

pub async fn close_risk(id: i64, reason: &str) -> Result<Risk, ApiError> {
    #[derive(Serialize)]
    struct Args<'a> {
        id: i64,
        reason: &'a str,
    }
    call("close_risk", &Args { id, reason }).await
}

pub async fn reopen_risk(id: i64, reason: &str) -> Result<Risk, ApiError> {
    #[derive(Serialize)]
    struct Args<'a> {
        id: i64,
        reason: &'a str,
    }
    call("reopen_risk", &Args { id, reason }).await
}

pub async fn comment_risk(id: i64, text: &str) -> Result<Risk, ApiError> {
    #[derive(Serialize)]
    struct Args<'a> {
        id: i64,
        text: &'a str,
    }
    call("comment_risk", &Args { id, text }).await
}

pub async fn risk_suggestions(at: Option<Timestamp>) -> Result<Vec<RiskSuggestion>, ApiError> {
    call("risk_suggestions", &At { at }).await
}

pub async fn add_suggested_risk(check: &str, at: Option<Timestamp>) -> Result<Risk, ApiError> {
    #[derive(Serialize)]
    struct Args<'a> {
        check: &'a str,
        at: Option<Timestamp>,
    }
    call("add_suggested_risk", &Args { check, at }).await
}

// The privilege graph view.

pub async fn graph_view(
    request: &bridle_protocol::graph_view::GraphViewRequest,
) -> Result<bridle_protocol::graph_view::GraphView, ApiError> {
    #[derive(Serialize)]
    struct Args<'a> {
        request: &'a bridle_protocol::graph_view::GraphViewRequest,
    }
    call("graph_view", &Args { request }).await
}

// Approval flows and their designer.

use bridle_protocol::flows::{
    CedarOutput, FlowDraft, FlowDriftView, FlowSummary, FlowView, FlowWhatIfView,
    SimulationDecision, SimulationRequest,
};

#[derive(Serialize)]
struct Id<'a> {
    id: &'a str,
}

#[derive(Serialize)]
struct Draft<'a> {
    draft: &'a FlowDraft,
}

pub async fn flow_list() -> Result<Vec<FlowSummary>, ApiError> {
    call("flow_list", &NoArgs {}).await
}

pub async fn flow_show(id: &str) -> Result<FlowView, ApiError> {
    call("flow_show", &Id { id }).await
}

pub async fn flow_preview(draft: &FlowDraft) -> Result<FlowView, ApiError> {
    call("flow_preview", &Draft { draft }).await
}

pub async fn flow_save(draft: &FlowDraft) -> Result<FlowView, ApiError> {
    call("flow_save", &Draft { draft }).await
}

pub async fn flow_delete(id: &str) -> Result<(), ApiError> {
    call("flow_delete", &Id { id }).await
}

pub async fn flow_export(id: &str) -> Result<String, ApiError> {
    call("flow_export", &Id { id }).await
}

pub async fn flow_cedar_draft(draft: &FlowDraft) -> Result<CedarOutput, ApiError> {
    call("flow_cedar_draft", &Draft { draft }).await
}

pub async fn flow_simulate_draft(
    draft: &FlowDraft,
    request: &SimulationRequest,
) -> Result<SimulationDecision, ApiError> {
    #[derive(Serialize)]
    struct Args<'a> {
        draft: &'a FlowDraft,
        request: &'a SimulationRequest,
    }
    call("flow_simulate_draft", &Args { draft, request }).await
}

pub async fn flow_drift(id: &str) -> Result<FlowDriftView, ApiError> {
    #[derive(Serialize)]
    struct Args<'a> {
        id: &'a str,
        at: Option<Timestamp>,
    }
    call("flow_drift", &Args { id, at: None }).await
}

pub async fn flow_what_if(id: &str) -> Result<FlowWhatIfView, ApiError> {
    #[derive(Serialize)]
    struct Args<'a> {
        id: &'a str,
        at: Option<Timestamp>,
    }
    call("flow_what_if", &Args { id, at: None }).await
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

/// The current time in whole seconds since the Unix epoch (the simulator's `now`).
pub fn epoch_seconds() -> i64 {
    (date_now() / 1000.0).floor() as i64
}
