//! Export the NIST AI RMF evidence pack: choose where the PDF goes (save dialog or a typed
//! path), name the organisation, and see the files written with their sha256, or the error.

use std::time::Duration;

use bridle_protocol::ApiError;
use bridle_protocol::evidence::{EvidenceExportRequest, EvidenceWritten, WrittenFile};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::format::number;
use crate::ipc;
use crate::widgets::ErrorBanner;

#[derive(Debug, Clone)]
enum Status {
    Idle,
    Running,
    Done(Result<EvidenceWritten, ApiError>),
}

#[component]
pub fn Evidence() -> impl IntoView {
    let path = RwSignal::new(String::new());
    let organisation = RwSignal::new(String::new());
    let status = RwSignal::new(Status::Idle);
    let elapsed = RwSignal::new(0u32);
    let dialog_error = RwSignal::new(None::<ApiError>);

    let browse = move |_| {
        spawn_local(async move {
            match ipc::pick_evidence_path().await {
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
        let name = organisation.get_untracked().trim().to_owned();
        let request = EvidenceExportRequest {
            path: file,
            organisation: (!name.is_empty()).then_some(name),
            at: None,
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
            let result = ipc::export_evidence(&request).await;
            if let Some(ticker) = ticker {
                ticker.clear();
            }
            let _ = status.try_set(Status::Done(result));
        });
    };

    view! {
        <section class="import-page evidence-page">
            <header class="page-header">
                <div>
                    <h1>"Evidence pack"</h1>
                    <p class="muted">
                        "The NIST AI RMF evidence pack of the newest snapshot, evaluated now: a PDF "
                        "for auditors, with the snapshot and findings JSON written beside it. "
                        "Check it later with "
                        <code>"bridle evidence verify FILE"</code>
                        "."
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
                <label class="form-row" for="evidence-path">
                    <span class="form-label">"PDF file"</span>
                    <span class="input-with-button">
                        <input
                            id="evidence-path"
                            type="text"
                            placeholder="/path/to/evidence-pack.pdf"
                            autocomplete="off"
                            spellcheck="false"
                            prop:value=move || path.get()
                            on:input=move |event| path.set(event_target_value(&event))
                        />
                        <button type="button" class="button secondary" id="evidence-browse" on:click=browse>
                            "Choose…"
                        </button>
                    </span>
                </label>
                <label class="form-row" for="evidence-organisation">
                    <span class="form-label">"Organisation"</span>
                    <input
                        id="evidence-organisation"
                        type="text"
                        placeholder="named on the cover"
                        autocomplete="off"
                        prop:value=move || organisation.get()
                        on:input=move |event| organisation.set(event_target_value(&event))
                    />
                </label>
                <div class="form-actions">
                    <button
                        type="submit"
                        class="button primary"
                        id="evidence-button"
                        disabled=move || {
                            path.with(|p| p.trim().is_empty())
                                || matches!(status.get(), Status::Running)
                        }
                    >
                        "Write the evidence pack"
                    </button>
                </div>
                {move || dialog_error.get().map(|error| view! { <ErrorBanner error /> })}
            </form>
            {move || match status.get() {
                Status::Idle => ().into_any(),
                Status::Running => {
                    view! {
                        <div class="card progress-card" id="evidence-progress" aria-live="polite">
                            <div class="progress" role="progressbar" aria-label="Writing">
                                <div class="progress-bar"></div>
                            </div>
                            <p>
                                {move || {
                                    format!(
                                        "Evaluating the checks and writing the pack… {} s",
                                        elapsed.get(),
                                    )
                                }}
                            </p>
                        </div>
                    }
                        .into_any()
                }
                Status::Done(Err(error)) => {
                    view! {
                        <div id="evidence-result" data-outcome="failed">
                            <h2>"Could not write the evidence pack"</h2>
                            <ErrorBanner error />
                        </div>
                    }
                        .into_any()
                }
                Status::Done(Ok(written)) => view! { <Written written /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn Written(written: EvidenceWritten) -> impl IntoView {
    let row = |label: &'static str, file: WrittenFile| {
        view! {
            <tr>
                <th scope="row">{label}</th>
                <td><code>{file.path}</code></td>
                <td class="num">{number(file.bytes)}</td>
                <td><code class="hash">{file.sha256}</code></td>
            </tr>
        }
    };
    view! {
        <div class="card result imported" id="evidence-result" data-outcome="written">
            <h2>{format!("Wrote the evidence pack ({} pages)", written.pages)}</h2>
            <p class="muted">
                {format!(
                    "Snapshot #{} (sha256 {}), audit-chain head {}.",
                    written.snapshot, written.estate_sha256, written.audit_head
                )}
            </p>
            <table class="data-table">
                <thead>
                    <tr>
                        <th>"File"</th>
                        <th>"Path"</th>
                        <th class="num">"Bytes"</th>
                        <th>"sha256"</th>
                    </tr>
                </thead>
                <tbody>
                    {row("PDF", written.pdf)}
                    {row("Snapshot JSON", written.snapshot_json)}
                    {row("Findings JSON", written.findings_json)}
                </tbody>
            </table>
        </div>
    }
}
