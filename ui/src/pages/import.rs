//! Import an estate file: pick it (file dialog) or type its path, then see either every located
//! problem or the snapshot it became.

use std::time::Duration;

use bridle_protocol::console::ImportRequest;
use bridle_protocol::{ApiError, Diagnostic, ImportOutcome, Severity, Snapshot};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::format::{count, number, when};
use crate::ipc;
use crate::shell::use_shell;
use crate::widgets::{DiagnosticList, ErrorBanner};

#[derive(Debug, Clone)]
enum Status {
    Idle,
    Running,
    Done {
        path: String,
        result: Result<ImportOutcome, ApiError>,
    },
}

#[component]
pub fn Import() -> impl IntoView {
    let shell = use_shell();
    let path = RwSignal::new(String::new());
    let source = RwSignal::new(String::new());
    let status = RwSignal::new(Status::Idle);
    let elapsed = RwSignal::new(0u32);
    let dialog_error = RwSignal::new(None::<ApiError>);

    let browse = move |_| {
        spawn_local(async move {
            match ipc::pick_estate_file().await {
                Ok(Some(chosen)) => {
                    let _ = path.try_set(chosen);
                    let _ = dialog_error.try_set(None);
                }
                Ok(None) => {}
                Err(error) => {
                    let _ = dialog_error.try_set(Some(error));
                }
            }
        });
    };

    let start = move || {
        let file = path.get_untracked().trim().to_owned();
        if file.is_empty() || matches!(status.get_untracked(), Status::Running) {
            return;
        }
        let name = source.get_untracked().trim().to_owned();
        let request = ImportRequest {
            path: file.clone(),
            source: (!name.is_empty()).then_some(name),
        };
        status.set(Status::Running);
        elapsed.set(0);
        let ticker = set_interval_with_handle(
            move || {
                let _ = elapsed.try_update(|s| *s += 1);
            },
            Duration::from_secs(1),
        )
        .ok();
        spawn_local(async move {
            let result = ipc::import_file(&request).await;
            if let Some(ticker) = ticker {
                ticker.clear();
            }
            if matches!(result, Ok(ImportOutcome::Imported { .. })) {
                let _ = shell.generation.try_update(|g| *g += 1);
            }
            let _ = status.try_set(Status::Done { path: file, result });
        });
    };

    view! {
        <section class="import-page">
            <header class="page-header">
                <div>
                    <h1>"Import"</h1>
                    <p class="muted">
                        "Read an estate/v1 file (JSON or YAML). It is validated in full first: "
                        "a file with any error changes nothing."
                    </p>
                </div>
            </header>
            <form
                class="card import-form"
                on:submit=move |event| {
                    event.prevent_default();
                    start();
                }
            >
                <label class="form-row" for="import-path">
                    <span class="form-label">"Estate file"</span>
                    <span class="input-with-button">
                        <input
                            id="import-path"
                            type="text"
                            placeholder="/path/to/estate.json"
                            autocomplete="off"
                            spellcheck="false"
                            prop:value=move || path.get()
                            on:input=move |event| path.set(event_target_value(&event))
                        />
                        <button type="button" class="button secondary" id="import-browse" on:click=browse>
                            "Browse…"
                        </button>
                    </span>
                </label>
                <label class="form-row" for="import-source">
                    <span class="form-label">"Source name"</span>
                    <input
                        id="import-source"
                        type="text"
                        placeholder="optional, e.g. hr"
                        autocomplete="off"
                        spellcheck="false"
                        prop:value=move || source.get()
                        on:input=move |event| source.set(event_target_value(&event))
                    />
                    <span class="form-help muted">
                        "Files with different source names live side by side; re-importing a source replaces its entities."
                    </span>
                </label>
                <div class="form-actions">
                    <button
                        type="submit"
                        class="button primary"
                        id="import-button"
                        disabled=move || {
                            path.with(|p| p.trim().is_empty())
                                || matches!(status.get(), Status::Running)
                        }
                    >
                        "Validate and import"
                    </button>
                </div>
                {move || dialog_error.get().map(|error| view! { <ErrorBanner error /> })}
            </form>
            {move || match status.get() {
                Status::Idle => ().into_any(),
                Status::Running => {
                    view! {
                        <div class="card progress-card" id="import-progress" aria-live="polite">
                            <div class="progress" role="progressbar" aria-label="Importing">
                                <div class="progress-bar"></div>
                            </div>
                            <p>
                                {move || {
                                    format!(
                                        "Reading, validating and writing the snapshot… {} s",
                                        elapsed.get(),
                                    )
                                }}
                            </p>
                        </div>
                    }
                        .into_any()
                }
                Status::Done { path, result: Err(error) } => {
                    view! {
                        <div id="import-result" data-outcome="failed">
                            <h2>{format!("Could not import {path}")}</h2>
                            <ErrorBanner error />
                        </div>
                    }
                        .into_any()
                }
                Status::Done { path, result: Ok(ImportOutcome::Rejected { diagnostics }) } => {
                    view! { <Rejected path diagnostics /> }.into_any()
                }
                Status::Done { path, result: Ok(ImportOutcome::Imported { snapshot, warnings }) } => {
                    view! { <Imported path snapshot warnings /> }.into_any()
                }
            }}
        </section>
    }
}

#[component]
fn Rejected(path: String, diagnostics: Vec<Diagnostic>) -> impl IntoView {
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count() as u64;
    view! {
        <div class="card result rejected" id="import-result" data-outcome="rejected">
            <h2>{format!("Rejected: {}", count(errors, "error", "errors"))}</h2>
            <p class="muted">
                "Nothing was written. Fix these places in " <code>{path}</code> " and import again."
            </p>
            <DiagnosticList diagnostics />
        </div>
    }
}

#[component]
fn Imported(path: String, snapshot: Snapshot, warnings: Vec<Diagnostic>) -> impl IntoView {
    let c = snapshot.counts;
    let figure = |label: &'static str, value: u64| {
        view! {
            <div class="mini-stat">
                <span class="mini-value">{number(value)}</span>
                <span class="muted">{label}</span>
            </div>
        }
    };
    view! {
        <div
            class="card result imported"
            id="import-result"
            data-outcome="imported"
            data-snapshot=snapshot.id
        >
            <h2>{format!("Imported as snapshot #{}", snapshot.id)}</h2>
            <p class="muted">
                <code>{path}</code>
                {format!(
                    " became source {} at {}: {} added, {} changed, {} removed.",
                    snapshot.source,
                    when(&snapshot.taken_at),
                    number(snapshot.added),
                    number(snapshot.changed),
                    number(snapshot.removed),
                )}
            </p>
            <div class="mini-stats">
                {figure("agents", c.agents)}
                {figure("identities", c.identities)}
                {figure("credentials", c.credentials)}
                {figure("resources", c.resources)}
                {figure("tools", c.tools)}
                {figure("grants", c.grants)}
            </div>
            {(!warnings.is_empty())
                .then(|| {
                    view! {
                        <h3>{count(warnings.len() as u64, "warning", "warnings")}</h3>
                        <DiagnosticList diagnostics=warnings />
                    }
                })}
            <p>
                <a class="button" href="#/">"See the overview"</a>
            </p>
        </div>
    }
}
