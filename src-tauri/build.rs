//! Generates the Tauri context and the permissions of the app's own commands, so that the
//! capability file can allow exactly these and nothing else.

fn main() {
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(
        tauri_build::AppManifest::new().commands(&[
            "console_info",
            "overview",
            "snapshots",
            "inventory_page",
            "entity",
            "search",
            "import_file",
            "broker_list",
            "broker_test",
            "broker_sync",
            "broker_drift",
            "broker_revoke",
            "export_evidence",
            "graph_view",
            "findings_page",
            "frameworks",
            "catalog",
            "coverage",
            "controls",
            "console_actor",
            "risks",
            "risk",
            "add_risk",
            "update_risk",
            "accept_risk",
            "close_risk",
            "reopen_risk",
            "comment_risk",
            "risk_suggestions",
            "add_suggested_risk",
        ]),
    ))
    .expect("tauri-build failed");
}
