//! Bridle's desktop console: a Leptos client-side app rendered in the Tauri window.
//!
//! Architecture invariant: this crate depends on `bridle-protocol` only (no app, store or core)
//! and reaches the backend solely through `ipc.rs`, the one file that touches `wasm_bindgen`.
//! Pages own their requests and error display; `widgets.rs` only renders what it is given.

mod flow_diagram;
mod format;
mod graph_draw;
mod graph_route;
mod ipc;
mod pages;
mod route;
mod shell;
mod widgets;
mod widgets_compliance;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(shell::App);
}
