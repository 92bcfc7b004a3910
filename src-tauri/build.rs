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
            "graph_view",
        ]),
    ))
    .expect("tauri-build failed");
}
