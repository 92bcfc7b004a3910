//! Display pieces shared by the Findings, Frameworks and Risk register pages: status, severity
//! and level badges, framework item chips (MAESTRO threat ids marked as Bridle's own), and the
//! link into the graph view. Like `widgets.rs`, they only render what they are given.

use bridle_protocol::compliance::FrameworkRef;
use leptos::prelude::*;

use crate::route;

/// The short name of a framework id, as chips and column heads show it.
pub fn framework_short(id: &str) -> &'static str {
    match id {
        "nist-ai-rmf" => "NIST AI RMF",
        "owasp-asi" => "OWASP ASI",
        "owasp-nhi" => "OWASP NHI",
        "maestro" => "MAESTRO",
        _ => "Other",
    }
}

/// A framework's tag in a table cell.
pub fn framework_abbreviation(id: &str) -> &'static str {
    match id {
        "nist-ai-rmf" => "NIST",
        "owasp-asi" => "ASI",
        "owasp-nhi" => "NHI",
        "maestro" => "MAESTRO",
        _ => "?",
    }
}

/// The graph view's privilege path from an agent to a target (the graph page reads these
/// parameters).
pub fn graph_href(from: &str, to: &str) -> String {
    format!(
        "#/graph?from={}&to={}",
        route::encode(from),
        route::encode(to)
    )
}

/// A finding's status: fail, unknown, accepted or pass.
#[component]
pub fn StatusBadge(#[prop(into)] status: String) -> impl IntoView {
    let label = match status.as_str() {
        "fail" => "Fail",
        "unknown" => "Unknown",
        "accepted" => "Accepted",
        "pass" => "Pass",
        "open" => "Open",
        "closed" => "Closed",
        other => other,
    }
    .to_owned();
    view! { <span class=format!("pill status-{status}") data-status=status.clone()>{label}</span> }
}

/// A severity or a risk level: low, medium, high or critical.
#[component]
pub fn SeverityBadge(#[prop(into)] severity: String) -> impl IntoView {
    let label = {
        let mut chars = severity.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect::<String>())
            .unwrap_or_default()
    };
    view! { <span class=format!("pill severity-{severity}")>{label}</span> }
}

/// A framework item named by a finding or a risk; Bridle's own ids (MAESTRO threats) say so.
#[component]
pub fn FrameworkItemChip(item: FrameworkRef) -> impl IntoView {
    let title = if item.local_id {
        format!(
            "{} {} — a Bridle-local id, not the framework's own numbering",
            framework_short(&item.framework),
            item.item
        )
    } else {
        format!("{} {}", framework_short(&item.framework), item.item)
    };
    view! {
        <span class=format!("fw-chip fw-{}", item.framework) title=title>
            <span class="fw-chip-framework">{framework_short(&item.framework)}</span>
            <span class="fw-chip-item">{item.item.clone()}</span>
            {item.local_id.then(|| view! { <span class="local-id">"local id"</span> })}
        </span>
    }
}
