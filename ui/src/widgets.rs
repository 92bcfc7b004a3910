//! Small display components: they take values and callbacks, never call the backend.

use bridle_protocol::{ApiError, Diagnostic, Severity};
use leptos::prelude::*;

use crate::route;

#[component]
pub fn KindBadge(#[prop(into)] kind: String) -> impl IntoView {
    let class = format!("badge kind-{kind}");
    view! { <span class=class>{kind}</span> }
}

/// An id that opens its entity page.
#[component]
pub fn EntityLink(#[prop(into)] id: String) -> impl IntoView {
    let href = route::entity_href(&id);
    view! {
        <a class="entity-link" href=href title=id.clone()>
            {id.clone()}
        </a>
    }
}

/// A comma-separated list of entity links, or a dash.
#[component]
pub fn EntityLinks(ids: Vec<String>) -> impl IntoView {
    if ids.is_empty() {
        return view! { <span class="muted">"—"</span> }.into_any();
    }
    view! {
        <span class="link-list">
            {ids.into_iter().map(|id| view! { <EntityLink id /> }).collect_view()}
        </span>
    }
    .into_any()
}

#[component]
pub fn ErrorBanner(error: ApiError) -> impl IntoView {
    view! {
        <div class="banner banner-error" role="alert">
            <strong>"Something went wrong. "</strong>
            {error.message}
        </div>
    }
}

#[component]
pub fn Loading(#[prop(into)] label: String) -> impl IntoView {
    view! {
        <div class="loading" aria-busy="true">
            <span class="spinner" aria-hidden="true"></span>
            {label}
        </div>
    }
}

/// Located diagnostics of an import, errors first.
#[component]
pub fn DiagnosticList(diagnostics: Vec<Diagnostic>) -> impl IntoView {
    view! {
        <ul class="diagnostics" id="diagnostics">
            {diagnostics
                .into_iter()
                .map(|d| {
                    let (class, label) = match d.severity {
                        Severity::Error => ("diagnostic error", "error"),
                        Severity::Warning => ("diagnostic warning", "warning"),
                    };
                    view! {
                        <li class=class>
                            <span class="severity">{label}</span>
                            <code class="location">{d.location}</code>
                            <span class="message">{d.message}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// A label and value pair in a definition list.
#[component]
pub fn Field(#[prop(into)] label: String, children: Children) -> impl IntoView {
    view! {
        <div class="field">
            <dt>{label}</dt>
            <dd>{children()}</dd>
        </div>
    }
}
