//! Approval flows: the stored flows with their verification totals, and the designer. The
//! designer's forms edit the `bridle.flow/v1` document itself (`FlowDraft`); every edit is
//! previewed by the app (debounced), which verifies the draft and lays out its diagram, so the
//! picture, the problems and the findings follow the forms live. The YAML, the Cedar policies and
//! the simulator work on the draft; drift and what-if need the stored flow. Saving goes through
//! the app, whose validation error is shown as it is.

use std::time::Duration;

use bridle_protocol::ApiError;
use bridle_protocol::console::{InventoryKind, InventoryQuery};
use bridle_protocol::flows::{
    ApprovalDraft, ApproverDraft, CedarOutput, FlowDraft, FlowDriftView, FlowFinding, FlowSummary,
    FlowView, FlowWhatIfView, GrantDraft, IdentityDraft, IssueDraft, RevocationDraft,
    SimulationDecision, SimulationRequest, StepDraft, ToolCallDraft,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::flow_diagram::FlowDiagramView;
use crate::format::when;
use crate::ipc;
use crate::pages::risks::split_list;
use crate::route::{self, Route};
use crate::widgets::{ErrorBanner, Loading};
use crate::widgets_compliance::{SeverityBadge, StatusBadge};

const STEP_KINDS: [&str; 5] = ["approval", "issue", "tool_call", "revoke", "end"];
const SENSITIVITIES: [&str; 4] = ["public", "internal", "confidential", "restricted"];
/// The first (empty) choice leaves the agent's autonomy to the inventory.
const AUTONOMIES: [&str; 4] = ["", "assistive", "supervised", "autonomous"];
const TRIGGERS: [&str; 4] = ["task_end", "ttl", "anomaly", "kill_switch"];
const REVOCATION_ACTIONS: [&str; 4] = [
    "revoke_leases",
    "revoke_tokens",
    "revoke_all",
    "disable_identity",
];
/// How long the designer waits after the last edit before it asks for a preview.
const PREVIEW_DELAY: Duration = Duration::from_millis(250);

// ---- The list -------------------------------------------------------------------------------

#[component]
pub fn FlowList() -> impl IntoView {
    let flows = RwSignal::new(None::<Result<Vec<FlowSummary>, ApiError>>);
    spawn_local(async move {
        let _ = flows.try_set(Some(ipc::flow_list().await));
    });
    view! {
        <section class="flows-page">
            <header class="page-header">
                <div>
                    <h1>"Approval flows"</h1>
                    <p class="muted">
                        "How each agent task gets its access: who approves, which short-lived credential is issued, what it may do, and how it is revoked. Each flow is verified and compiled to Cedar policies."
                    </p>
                </div>
                <div class="header-actions">
                    <a class="button primary" id="new-flow" href=Route::FlowEdit(None).href()>
                        "New flow"
                    </a>
                </div>
            </header>
            {move || match flows.get() {
                None => view! { <Loading label="Reading the flows…" /> }.into_any(),
                Some(Err(error)) => view! { <ErrorBanner error /> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <div class="empty-state card" id="flows-empty">
                        <p>"No flow is stored yet."</p>
                        <p class="muted">"Design one with New flow, or import documents with " <code>"bridle flow import"</code> "."</p>
                    </div>
                }
                .into_any(),
                Some(Ok(list)) => view! { <FlowTable flows=list /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn FlowTable(flows: Vec<FlowSummary>) -> impl IntoView {
    let rows = flows
        .into_iter()
        .map(|f| {
            let href = Route::FlowEdit(Some(f.id.clone())).href();
            view! {
                <tr class="flow-row" data-flow=f.id.clone()>
                    <td><a href=href class="flow-link"><code>{f.id.clone()}</code></a></td>
                    <td><code>{f.agent.clone()}</code></td>
                    <td class="ellipsis" title=f.purpose.clone()>{f.purpose.clone()}</td>
                    <td>{match &f.environment {
                        Some(env) => format!("{env} · {}", f.data_sensitivity),
                        None => f.data_sensitivity.clone(),
                    }}</td>
                    <td class="num">{f.steps}</td>
                    <td class="num">{f.grants}</td>
                    <td class="flow-totals">
                        <span class="total-fail" data-total="fail">{format!("{} fail", f.fail)}</span>
                        <span class="total-unknown">{format!("{} unknown", f.unknown)}</span>
                        <span class="total-pass">{format!("{} pass", f.pass)}</span>
                    </td>
                    <td title=format!("saved {} by {}", when(&f.updated_at), f.updated_by)>
                        {format!("v{}", f.version)}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="card table-card">
            <div class="table-scroll">
                <table class="data flows-table" id="flows-table">
                    <thead>
                        <tr>
                            <th>"Flow"</th>
                            <th>"Agent"</th>
                            <th>"Purpose"</th>
                            <th>"Environment · data"</th>
                            <th>"Steps"</th>
                            <th>"Grants"</th>
                            <th>"Verification"</th>
                            <th>"Version"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </div>
    }
}

// ---- The skeleton of a new flow -------------------------------------------------------------

fn step(id: &str, kind: &str, next: &[&str]) -> StepDraft {
    let mut s = StepDraft {
        id: id.to_owned(),
        kind: kind.to_owned(),
        next: next.iter().map(|n| (*n).to_owned()).collect(),
        ..StepDraft::default()
    };
    set_kind(&mut s, kind);
    s
}

/// Sets a step's kind and gives it exactly the detail that kind needs.
fn set_kind(step: &mut StepDraft, kind: &str) {
    step.kind = kind.to_owned();
    step.approval = (kind == "approval").then(|| {
        step.approval.take().unwrap_or(ApprovalDraft {
            approvers: vec![ApproverDraft {
                person: Some(String::new()),
                ..ApproverDraft::default()
            }],
            quorum: 1,
            shows: Vec::new(),
        })
    });
    step.issue = (kind == "issue").then(|| {
        step.issue.take().unwrap_or(IssueDraft {
            ttl: "15m".into(),
            single_use: true,
            ..IssueDraft::default()
        })
    });
    step.tool_call = (kind == "tool_call").then(|| step.tool_call.take().unwrap_or_default());
    step.revoke = (kind == "revoke")
        .then(|| step.revoke.take())
        .flatten()
        .filter(|r| !r.credentials.is_empty());
    if kind == "end" {
        step.next.clear();
    }
}

/// A new flow: approve → issue → call → revoke → done, with one short-lived grant, for the
/// given agent and resource (the first in the inventory, when there is one).
fn skeleton(agent: &str, resource: &str, author: Option<String>) -> FlowDraft {
    let mut approve = step("approve", "approval", &["issue"]);
    if let Some(a) = &mut approve.approval {
        a.approvers = vec![ApproverDraft {
            person: Some("approver@example.org".into()),
            ..ApproverDraft::default()
        }];
        a.shows = vec!["purpose".into(), "grants".into()];
    }
    let mut issue = step("issue", "issue", &["call"]);
    if let Some(i) = &mut issue.issue {
        i.broker = "vault".into();
        i.role = "new-flow".into();
        i.grants = vec!["use-resource".into()];
    }
    let mut call = step("call", "tool_call", &["revoke"]);
    if let Some(c) = &mut call.tool_call {
        c.resource = resource.to_owned();
        c.actions = vec!["read".into()];
    }
    FlowDraft {
        id: "new-flow".into(),
        agent: agent.to_owned(),
        purpose: "Say why the task exists".into(),
        environment: Some("prod".into()),
        data_sensitivity: "internal".into(),
        author,
        owner: None,
        autonomy: None,
        identity: IdentityDraft {
            spiffe_id: "spiffe://example.org/agents/{agent}/{task}/{run}".into(),
        },
        grants: vec![GrantDraft {
            id: "use-resource".into(),
            resource: resource.to_owned(),
            actions: vec!["read".into()],
            ttl: Some("15m".into()),
            condition: None,
        }],
        revocation: RevocationDraft {
            triggers: vec!["task_end".into(), "ttl".into(), "kill_switch".into()],
            action: "revoke_leases".into(),
        },
        start: "approve".into(),
        steps: vec![
            approve,
            issue,
            call,
            step("revoke", "revoke", &["done"]),
            step("done", "end", &[]),
        ],
    }
}

/// The ids of the first page of an inventory table (for the agent select and the skeleton).
async fn inventory_ids(kind: InventoryKind) -> Vec<String> {
    let query = InventoryQuery {
        kind,
        search: String::new(),
        filters: Vec::new(),
        sort: None,
        descending: false,
        offset: 0,
        limit: 1_000,
    };
    ipc::inventory_page(&query)
        .await
        .map(|page| page.rows.into_iter().map(|r| r.id).collect())
        .unwrap_or_default()
}

// ---- The designer ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Yaml,
    Cedar,
    Simulator,
    Drift,
    WhatIf,
}

impl Tab {
    const ALL: [Tab; 5] = [
        Tab::Yaml,
        Tab::Cedar,
        Tab::Simulator,
        Tab::Drift,
        Tab::WhatIf,
    ];

    fn label(self) -> &'static str {
        match self {
            Tab::Yaml => "YAML",
            Tab::Cedar => "Cedar",
            Tab::Simulator => "Simulator",
            Tab::Drift => "Drift",
            Tab::WhatIf => "What-if",
        }
    }

    fn test_id(self) -> &'static str {
        match self {
            Tab::Yaml => "tab-yaml",
            Tab::Cedar => "tab-cedar",
            Tab::Simulator => "tab-simulator",
            Tab::Drift => "tab-drift",
            Tab::WhatIf => "tab-what-if",
        }
    }
}

/// The designer's state, shared by its parts.
#[derive(Debug, Clone, Copy)]
struct Designer {
    draft: RwSignal<FlowDraft>,
    /// The latest preview (or the stored flow's view).
    view: RwSignal<Option<Result<FlowView, ApiError>>>,
    /// A preview has been asked for and not answered yet.
    previewing: RwSignal<bool>,
    /// The stored flow this draft edits, once it is stored.
    stored: RwSignal<Option<FlowSummary>>,
    agents: RwSignal<Vec<String>>,
    tab: RwSignal<Tab>,
}

impl Designer {
    fn edit(&self, f: impl FnOnce(&mut FlowDraft)) {
        self.draft.update(f);
    }

    fn edit_step(&self, index: usize, f: impl FnOnce(&mut StepDraft)) {
        self.draft.update(|d| {
            if let Some(s) = d.steps.get_mut(index) {
                f(s);
            }
        });
    }

    fn edit_grant(&self, index: usize, f: impl FnOnce(&mut GrantDraft)) {
        self.draft.update(|d| {
            if let Some(g) = d.grants.get_mut(index) {
                f(g);
            }
        });
    }

    fn step_value<T: Default>(&self, index: usize, f: impl FnOnce(&StepDraft) -> T) -> T {
        self.draft
            .with(|d| d.steps.get(index).map(f).unwrap_or_default())
    }

    fn grant_value<T: Default>(&self, index: usize, f: impl FnOnce(&GrantDraft) -> T) -> T {
        self.draft
            .with(|d| d.grants.get(index).map(f).unwrap_or_default())
    }
}

/// Empty text is an absent optional field.
fn optional(text: String) -> Option<String> {
    (!text.trim().is_empty()).then_some(text)
}

#[component]
pub fn FlowDesigner(id: Option<String>) -> impl IntoView {
    let designer = Designer {
        draft: RwSignal::new(FlowDraft::default()),
        view: RwSignal::new(None),
        previewing: RwSignal::new(false),
        stored: RwSignal::new(None),
        agents: RwSignal::new(Vec::new()),
        tab: RwSignal::new(Tab::Yaml),
    };
    let loaded = RwSignal::new(None::<Result<(), ApiError>>);

    {
        let id = id.clone();
        spawn_local(async move {
            let agents = inventory_ids(InventoryKind::Agents).await;
            let _ = designer.agents.try_set(agents.clone());
            let result = match id {
                Some(id) => ipc::flow_show(&id).await.map(|view| {
                    designer.draft.set(view.draft.clone());
                    designer.stored.set(view.summary.clone());
                    designer.view.set(Some(Ok(view)));
                }),
                None => {
                    let resources = inventory_ids(InventoryKind::Resources).await;
                    let author = ipc::console_actor().await.ok().map(|a| a.user);
                    let agent = agents.first().cloned().unwrap_or_default();
                    let resource = resources.first().cloned().unwrap_or_default();
                    let _ = designer.draft.try_set(skeleton(&agent, &resource, author));
                    Ok(())
                }
            };
            let _ = loaded.try_set(Some(result));
        });
    }

    // Every edit asks for a preview once the user pauses; an answer to an older draft is dropped.
    let latest = StoredValue::new(0u64);
    let pending = StoredValue::new(None::<TimeoutHandle>);
    Effect::new(move |_| {
        let draft = designer.draft.get();
        if !matches!(loaded.get(), Some(Ok(()))) {
            return;
        }
        if let Some(handle) = pending.get_value() {
            handle.clear();
        }
        let request = latest.get_value() + 1;
        latest.set_value(request);
        designer.previewing.set(true);
        let handle = set_timeout_with_handle(
            move || {
                spawn_local(async move {
                    let result = ipc::flow_preview(&draft).await;
                    if latest.try_get_value() == Some(request) {
                        let _ = designer.previewing.try_set(false);
                        let _ = designer.view.try_set(Some(result));
                    }
                });
            },
            PREVIEW_DELAY,
        )
        .ok();
        pending.set_value(handle);
    });

    let title = {
        let id = id.clone();
        move || match &id {
            Some(id) => format!("Flow {id}"),
            None => "New flow".to_owned(),
        }
    };
    view! {
        <section class="flow-designer" id="flow-designer">
            <header class="page-header">
                <div>
                    <div class="muted"><a href=Route::Flows.href()>"Flows"</a> " / designer"</div>
                    <h1>{title}</h1>
                    {move || designer.stored.get().map(|s| view! {
                        <p class="muted" id="flow-version" data-version=s.version>
                            {format!("Stored version {} · saved {} by {} · sha256 {}…", s.version, when(&s.updated_at), s.updated_by, s.sha256.chars().take(12).collect::<String>())}
                        </p>
                    })}
                </div>
                <SaveBar designer />
            </header>
            {move || match loaded.get() {
                None => view! { <Loading label="Opening the flow…" /> }.into_any(),
                Some(Err(error)) => view! { <ErrorBanner error /> }.into_any(),
                Some(Ok(())) => view! { <DesignerBody designer /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn SaveBar(designer: Designer) -> impl IntoView {
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let saved = RwSignal::new(None::<i64>);
    let confirm_delete = RwSignal::new(false);
    let save = move |_| {
        let draft = designer.draft.get_untracked();
        busy.set(true);
        spawn_local(async move {
            let result = ipc::flow_save(&draft).await;
            let _ = busy.try_set(false);
            match result {
                Ok(view) => {
                    let _ = error.try_set(None);
                    let _ = saved.try_set(view.summary.as_ref().map(|s| s.version));
                    let _ = designer.stored.try_set(view.summary.clone());
                    let id = view.draft.id.clone();
                    let _ = designer.view.try_set(Some(Ok(view)));
                    // The address names the stored flow, so a reload opens what was saved.
                    if route::current() != Route::FlowEdit(Some(id.clone())) {
                        route::go(&Route::FlowEdit(Some(id)));
                    }
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    let delete = move |_| {
        let Some(stored) = designer.stored.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match ipc::flow_delete(&stored.id).await {
                Ok(()) => route::go(&Route::Flows),
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    view! {
        <div class="flow-save">
            <div class="header-actions">
                {move || designer.stored.get().is_some().then(|| view! {
                    <label class="confirm-delete">
                        <input type="checkbox" id="confirm-delete-flow" prop:checked=move || confirm_delete.get() on:change=move |e| confirm_delete.set(event_target_checked(&e)) />
                        " confirm"
                    </label>
                    <button class="button" id="delete-flow" disabled=move || !confirm_delete.get() on:click=delete>"Delete"</button>
                })}
                <button class="button primary" id="save-flow" disabled=move || busy.get() on:click=save>
                    {move || if busy.get() { "Saving…" } else { "Save" }}
                </button>
            </div>
            {move || saved.get().map(|v| view! { <p class="save-ok" id="save-result">{format!("Saved as version {v}.")}</p> })}
            {move || error.get().map(|e| view! {
                <div class="banner banner-error save-error" id="save-error" role="alert">{e.message}</div>
            })}
        </div>
    }
}

#[component]
fn DesignerBody(designer: Designer) -> impl IntoView {
    view! {
        <div class="card diagram-card" id="flow-diagram-card" data-previewing=move || designer.previewing.get().to_string()>
            <div class="diagram-head">
                <strong>"Diagram"</strong>
                <span class="legend">
                    <span class="legend-item kind-approval">"approval"</span>
                    <span class="legend-item kind-issue">"issue"</span>
                    <span class="legend-item kind-tool_call">"tool call"</span>
                    <span class="legend-item kind-revoke">"revoke"</span>
                    <span class="legend-item kind-end">"end"</span>
                    <span class="legend-border status-pass">"pass"</span>
                    <span class="legend-border status-fail">"fail"</span>
                    <span class="legend-border status-unknown">"unknown"</span>
                </span>
                <span class="muted preview-state">{move || if designer.previewing.get() { "checking…" } else { "up to date" }}</span>
            </div>
            <div class="diagram-scroll">
                {move || match designer.view.get() {
                    None => view! { <Loading label="Drawing…" /> }.into_any(),
                    Some(Err(error)) => view! { <ErrorBanner error /> }.into_any(),
                    Some(Ok(view)) => view! { <FlowDiagramView diagram=view.diagram /> }.into_any(),
                }}
            </div>
        </div>
        <div class="designer-grid">
            <div class="designer-forms">
                <TaskForm designer />
                <GrantsForm designer />
                <StepsForm designer />
            </div>
            <div class="designer-side">
                <Verification designer />
                <Tabs designer />
            </div>
        </div>
    }
}

// ---- Form pieces ----------------------------------------------------------------------------

/// A text field bound to the draft. Setting an input's value to what it already holds leaves
/// the caret alone, so binding the property to the draft does not disturb typing.
fn text_field(
    label: &'static str,
    test: &'static str,
    get: impl Fn() -> String + Send + Sync + 'static,
    set: impl Fn(String) + 'static,
) -> impl IntoView {
    view! {
        <label class="flow-field">
            <span class="flow-field-label">{label}</span>
            <input type="text" data-test=test prop:value=get on:input=move |e| set(event_target_value(&e)) />
        </label>
    }
}

/// A comma-separated list field. It keeps what the user typed (`read, ` is `[read]` while the
/// next word is being typed) and follows the draft only when the draft says something else.
fn list_field(
    label: &'static str,
    test: &'static str,
    get: impl Fn() -> Vec<String> + Send + Sync + 'static,
    set: impl Fn(Vec<String>) + 'static,
) -> impl IntoView {
    let value = Memo::new(move |_| get());
    let text = RwSignal::new(value.get_untracked().join(", "));
    Effect::new(move |_| {
        let list = value.get();
        if split_list(&text.get_untracked()) != list {
            text.set(list.join(", "));
        }
    });
    view! {
        <label class="flow-field">
            <span class="flow-field-label">{label}</span>
            <input
                type="text"
                data-test=test
                placeholder="comma-separated"
                prop:value=move || text.get()
                on:input=move |e| {
                    let typed = event_target_value(&e);
                    text.set(typed.clone());
                    set(split_list(&typed));
                }
            />
        </label>
    }
}

fn select_field(
    label: &'static str,
    test: &'static str,
    options: &'static [&'static str],
    get: impl Fn() -> String + Copy + Send + Sync + 'static,
    set: impl Fn(String) + 'static,
) -> impl IntoView {
    view! {
        <label class="flow-field">
            <span class="flow-field-label">{label}</span>
            <select data-test=test on:change=move |e| set(event_target_value(&e))>
                {options
                    .iter()
                    .map(|o| view! { <option value=*o selected=move || get() == *o>{*o}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}

fn check_field(
    label: &'static str,
    test: &'static str,
    get: impl Fn() -> bool + Send + Sync + 'static,
    set: impl Fn(bool) + 'static,
) -> impl IntoView {
    view! {
        <label class="flow-check">
            <input type="checkbox" data-test=test prop:checked=get on:change=move |e| set(event_target_checked(&e)) />
            {label}
        </label>
    }
}

#[component]
fn TaskForm(designer: Designer) -> impl IntoView {
    let d = designer;
    let agent_options = move || {
        let current = d.draft.with(|f| f.agent.clone());
        let mut agents = d.agents.get();
        if !agents.contains(&current) {
            agents.insert(0, current.clone());
        }
        agents
            .into_iter()
            .map(|a| {
                let selected = a == current;
                view! { <option value=a.clone() selected=selected>{a.clone()}</option> }
            })
            .collect_view()
    };
    view! {
        <div class="card flow-form" id="flow-task">
            <h2>"Task"</h2>
            <div class="flow-form-grid">
                {text_field("Flow id", "flow-id", move || d.draft.with(|f| f.id.clone()), move |v| d.edit(|f| f.id = v))}
                <label class="flow-field">
                    <span class="flow-field-label">"Agent"</span>
                    {move || if d.agents.with(Vec::is_empty) {
                        view! {
                            <input type="text" data-test="flow-agent" prop:value=move || d.draft.with(|f| f.agent.clone()) on:input=move |e| d.edit(|f| f.agent = event_target_value(&e)) />
                        }.into_any()
                    } else {
                        view! {
                            <select data-test="flow-agent" on:change=move |e| d.edit(|f| f.agent = event_target_value(&e))>{agent_options}</select>
                        }.into_any()
                    }}
                </label>
                {text_field("Environment", "flow-environment", move || d.draft.with(|f| f.environment.clone().unwrap_or_default()), move |v| d.edit(|f| f.environment = optional(v)))}
                {select_field("Data sensitivity", "flow-sensitivity", &SENSITIVITIES, move || d.draft.with(|f| f.data_sensitivity.clone()), move |v| d.edit(|f| f.data_sensitivity = v))}
                {text_field("Author", "flow-author", move || d.draft.with(|f| f.author.clone().unwrap_or_default()), move |v| d.edit(|f| f.author = optional(v)))}
                {text_field("Agent owner (else the inventory's)", "flow-owner", move || d.draft.with(|f| f.owner.clone().unwrap_or_default()), move |v| d.edit(|f| f.owner = optional(v)))}
                {select_field("Autonomy (else the inventory's)", "flow-autonomy", &AUTONOMIES, move || d.draft.with(|f| f.autonomy.clone().unwrap_or_default()), move |v| d.edit(|f| f.autonomy = optional(v)))}
            </div>
            <label class="flow-field wide">
                <span class="flow-field-label">"Purpose"</span>
                <textarea rows="2" data-test="flow-purpose" prop:value=move || d.draft.with(|f| f.purpose.clone()) on:input=move |e| d.edit(|f| f.purpose = event_target_value(&e))></textarea>
            </label>
            <h3>"Identity template"</h3>
            {text_field("SPIFFE ID ({agent}, {task}, {run})", "flow-spiffe", move || d.draft.with(|f| f.identity.spiffe_id.clone()), move |v| d.edit(|f| f.identity.spiffe_id = v))}
            <h3>"Revocation"</h3>
            <div class="flow-checks" data-test="revocation-triggers">
                {TRIGGERS.iter().map(|t| {
                    let t = *t;
                    view! {
                        <label class="flow-check">
                            <input type="checkbox" data-trigger=t
                                prop:checked=move || d.draft.with(|f| f.revocation.triggers.iter().any(|x| x == t))
                                on:change=move |e| {
                                    let on = event_target_checked(&e);
                                    d.edit(|f| {
                                        f.revocation.triggers.retain(|x| x != t);
                                        if on {
                                            f.revocation.triggers.push(t.to_owned());
                                        }
                                    });
                                }
                            />
                            {t}
                        </label>
                    }
                }).collect_view()}
            </div>
            {select_field("Action", "revocation-action", &REVOCATION_ACTIONS, move || d.draft.with(|f| f.revocation.action.clone()), move |v| d.edit(|f| f.revocation.action = v))}
        </div>
    }
}

#[component]
fn GrantsForm(designer: Designer) -> impl IntoView {
    let d = designer;
    let count = Memo::new(move |_| d.draft.with(|f| f.grants.len()));
    view! {
        <div class="card flow-form" id="flow-grants">
            <div class="flow-form-head">
                <h2>"Grants"</h2>
                <button class="button small" data-test="add-grant" on:click=move |_| d.edit(|f| {
                    let n = f.grants.len() + 1;
                    f.grants.push(GrantDraft { id: format!("grant-{n}"), ttl: Some("15m".into()), ..GrantDraft::default() });
                })>"Add grant"</button>
            </div>
            <For each=move || 0..count.get() key=|i| *i let:i>
                <div class="grant-row" data-grant-index=i data-grant=move || d.grant_value(i, |g| g.id.clone())>
                    {text_field("Id", "grant-id", move || d.grant_value(i, |g| g.id.clone()), move |v| d.edit_grant(i, |g| g.id = v))}
                    {text_field("Resource", "grant-resource", move || d.grant_value(i, |g| g.resource.clone()), move |v| d.edit_grant(i, |g| g.resource = v))}
                    {list_field("Actions", "grant-actions", move || d.grant_value(i, |g| g.actions.clone()), move |v| d.edit_grant(i, |g| g.actions = v))}
                    {text_field("TTL", "grant-ttl", move || d.grant_value(i, |g| g.ttl.clone().unwrap_or_default()), move |v| d.edit_grant(i, |g| g.ttl = optional(v)))}
                    {text_field("Condition", "grant-condition", move || d.grant_value(i, |g| g.condition.clone().unwrap_or_default()), move |v| d.edit_grant(i, |g| g.condition = optional(v)))}
                    <button class="button small remove" data-test="remove-grant" title="Remove this grant" on:click=move |_| d.edit(|f| { if i < f.grants.len() { f.grants.remove(i); } })>"×"</button>
                </div>
            </For>
        </div>
    }
}

#[component]
fn StepsForm(designer: Designer) -> impl IntoView {
    let d = designer;
    let count = Memo::new(move |_| d.draft.with(|f| f.steps.len()));
    let ids = Memo::new(move |_| {
        d.draft
            .with(|f| f.steps.iter().map(|s| s.id.clone()).collect::<Vec<_>>())
    });
    let new_kind = RwSignal::new("tool_call".to_owned());
    let add = move |_| {
        let kind = new_kind.get_untracked();
        d.edit(|f| {
            let mut n = f.steps.len() + 1;
            while f.steps.iter().any(|s| s.id == format!("{kind}-{n}")) {
                n += 1;
            }
            f.steps.push(step(&format!("{kind}-{n}"), &kind, &[]));
        });
    };
    view! {
        <div class="card flow-form" id="flow-steps">
            <div class="flow-form-head">
                <h2>"Steps"</h2>
                <label class="flow-field inline">
                    <span class="flow-field-label">"Start"</span>
                    <select data-test="flow-start" on:change=move |e| d.edit(|f| f.start = event_target_value(&e))>
                        {move || {
                            let start = d.draft.with(|f| f.start.clone());
                            let mut options = ids.get();
                            if !options.contains(&start) {
                                options.insert(0, start.clone());
                            }
                            options.into_iter().map(|id| {
                                let selected = id == start;
                                view! { <option value=id.clone() selected=selected>{id.clone()}</option> }
                            }).collect_view()
                        }}
                    </select>
                </label>
                <span class="add-step">
                    <select data-test="new-step-kind" on:change=move |e| new_kind.set(event_target_value(&e))>
                        {STEP_KINDS.iter().map(|k| view! { <option value=*k selected=move || new_kind.get() == *k>{*k}</option> }).collect_view()}
                    </select>
                    <button class="button small" data-test="add-step" on:click=add>"Add step"</button>
                </span>
            </div>
            <For each=move || 0..count.get() key=|i| *i let:i>
                <StepCard designer=d index=i ids />
            </For>
        </div>
    }
}

#[component]
fn StepCard(designer: Designer, index: usize, ids: Memo<Vec<String>>) -> impl IntoView {
    let d = designer;
    let i = index;
    let kind = Memo::new(move |_| d.step_value(i, |s| s.kind.clone()));
    let id = Memo::new(move |_| d.step_value(i, |s| s.id.clone()));
    let is_start = move || {
        d.draft
            .with(|f| f.steps.get(i).is_some_and(|s| s.id == f.start))
    };
    let next_boxes = move || {
        if kind.get() == "end" {
            return view! { <span class="muted">"an end step finishes the flow"</span> }.into_any();
        }
        let own = id.get();
        ids.get()
            .into_iter()
            .filter(|other| *other != own)
            .map(|other| {
                let target = other.clone();
                let target2 = other.clone();
                view! {
                    <label class="flow-check next-check">
                        <input type="checkbox" data-next=other.clone()
                            prop:checked=move || d.step_value(i, |s| s.next.contains(&target))
                            on:change=move |e| {
                                let on = event_target_checked(&e);
                                let target = target2.clone();
                                d.edit_step(i, |s| {
                                    s.next.retain(|n| *n != target);
                                    if on {
                                        s.next.push(target);
                                    }
                                });
                            }
                        />
                        <code>{other}</code>
                    </label>
                }
            })
            .collect_view()
            .into_any()
    };
    let details = move || match kind.get().as_str() {
        "approval" => approval_fields(d, i).into_any(),
        "issue" => issue_fields(d, i).into_any(),
        "tool_call" => tool_call_fields(d, i).into_any(),
        "revoke" => revoke_fields(d, i).into_any(),
        _ => ().into_any(),
    };
    view! {
        <div class=move || format!("step-card kind-{}", kind.get()) data-step-index=i data-step=move || id.get()>
            <div class="step-head">
                <span class=move || format!("step-kind kind-{}", kind.get())>{move || kind.get()}</span>
                {move || is_start().then(|| view! { <span class="pill start-pill">"start"</span> })}
                {text_field("Id", "step-id", move || id.get(), move |v| {
                    // Renaming a step keeps the ways into it and the start, unless the old or
                    // the new id is also another step's (then the references are ambiguous).
                    let old = id.get_untracked();
                    d.edit(|f| {
                        let old_unique = f.steps.iter().filter(|s| s.id == old).count() == 1;
                        let new_free = !f.steps.iter().any(|s| s.id == v);
                        for s in f.steps.iter_mut().filter(|_| old_unique && new_free) {
                            for n in &mut s.next {
                                if *n == old {
                                    *n = v.clone();
                                }
                            }
                        }
                        if old_unique && new_free && f.start == old {
                            f.start = v.clone();
                        }
                        if let Some(s) = f.steps.get_mut(i) {
                            s.id = v;
                        }
                    })
                })}
                {text_field("Title", "step-title", move || d.step_value(i, |s| s.title.clone().unwrap_or_default()), move |v| d.edit_step(i, |s| s.title = optional(v)))}
                <label class="flow-field">
                    <span class="flow-field-label">"Kind"</span>
                    <select data-test="step-kind" on:change=move |e| { let k = event_target_value(&e); d.edit_step(i, |s| set_kind(s, &k)); }>
                        {STEP_KINDS.iter().map(|k| view! { <option value=*k selected=move || kind.get() == *k>{*k}</option> }).collect_view()}
                    </select>
                </label>
                <button class="button small remove" data-test="remove-step" title="Remove this step" on:click=move |_| d.edit(|f| {
                    if i < f.steps.len() {
                        let gone = f.steps.remove(i).id;
                        for s in &mut f.steps {
                            s.next.retain(|n| *n != gone);
                        }
                    }
                })>"×"</button>
            </div>
            <div class="step-details">{details}</div>
            <div class="step-next">
                <span class="flow-field-label">"Next"</span>
                {next_boxes}
            </div>
        </div>
    }
}

fn approval_fields(d: Designer, i: usize) -> impl IntoView {
    let approval = move |f: fn(&ApprovalDraft) -> Vec<String>| {
        move || d.step_value(i, |s| s.approval.as_ref().map(f).unwrap_or_default())
    };
    let edit = move |f: Box<dyn FnOnce(&mut ApprovalDraft)>| {
        d.edit_step(i, |s| {
            if let Some(a) = &mut s.approval {
                f(a);
            }
        })
    };
    view! {
        <div class="flow-form-grid">
            {list_field("Approvers (people)", "approvers", approval(|a| a.approvers.iter().filter_map(|p| p.person.clone()).collect()), move |people| edit(Box::new(move |a| {
                a.approvers.retain(|p| p.person.is_none());
                let roles = std::mem::take(&mut a.approvers);
                a.approvers = people.into_iter().map(|p| ApproverDraft { person: Some(p), ..ApproverDraft::default() }).collect();
                a.approvers.extend(roles);
            })))}
            {list_field("Approver roles", "approver-roles", approval(|a| a.approvers.iter().filter_map(|p| p.role.clone()).collect()), move |roles| edit(Box::new(move |a| {
                let kept: Vec<ApproverDraft> = a.approvers.iter().filter(|p| p.role.is_some()).cloned().collect();
                a.approvers.retain(|p| p.role.is_none());
                a.approvers.extend(roles.into_iter().map(|r| {
                    kept.iter().find(|k| k.role.as_deref() == Some(r.as_str())).cloned()
                        .unwrap_or(ApproverDraft { role: Some(r), ..ApproverDraft::default() })
                }));
            })))}
            {text_field("Quorum", "quorum", move || d.step_value(i, |s| s.approval.as_ref().map(|a| a.quorum.to_string()).unwrap_or_default()), move |v| {
                let q = v.trim().parse().unwrap_or(0);
                edit(Box::new(move |a| a.quorum = q));
            })}
            {list_field("Shows", "shows", approval(|a| a.shows.clone()), move |v| edit(Box::new(move |a| a.shows = v)))}
        </div>
    }
}

fn issue_fields(d: Designer, i: usize) -> impl IntoView {
    fn get<T: Default>(d: Designer, i: usize, f: impl FnOnce(&IssueDraft) -> T) -> T {
        d.step_value(i, |s| s.issue.as_ref().map(f).unwrap_or_default())
    }
    let edit = move |f: Box<dyn FnOnce(&mut IssueDraft)>| {
        d.edit_step(i, |s| {
            if let Some(x) = &mut s.issue {
                f(x);
            }
        })
    };
    let grant_ids = Memo::new(move |_| {
        d.draft
            .with(|f| f.grants.iter().map(|g| g.id.clone()).collect::<Vec<_>>())
    });
    view! {
        <div class="flow-form-grid">
            {text_field("Broker", "issue-broker", move || get(d, i, |x| x.broker.clone()), move |v| edit(Box::new(move |x| x.broker = v)))}
            {text_field("Role", "issue-role", move || get(d, i, |x| x.role.clone()), move |v| edit(Box::new(move |x| x.role = v)))}
            {text_field("TTL", "issue-ttl", move || get(d, i, |x| x.ttl.clone()), move |v| edit(Box::new(move |x| x.ttl = v)))}
            {text_field("Max TTL", "issue-max-ttl", move || get(d, i, |x| x.max_ttl.clone().unwrap_or_default()), move |v| edit(Box::new(move |x| x.max_ttl = optional(v))))}
            {check_field("renewable", "issue-renewable", move || get(d, i, |x| x.renewable), move |v| edit(Box::new(move |x| x.renewable = v)))}
            {check_field("single use", "issue-single-use", move || get(d, i, |x| x.single_use), move |v| edit(Box::new(move |x| x.single_use = v)))}
        </div>
        <div class="flow-checks">
            <span class="flow-field-label">"Carries grants"</span>
            {move || grant_ids.get().into_iter().map(|g| {
                let (g1, g2) = (g.clone(), g.clone());
                view! {
                    <label class="flow-check">
                        <input type="checkbox" data-issue-grant=g.clone()
                            prop:checked=move || get(d, i, |x| x.grants.contains(&g1))
                            on:change=move |e| {
                                let on = event_target_checked(&e);
                                let g = g2.clone();
                                edit(Box::new(move |x| {
                                    x.grants.retain(|y| *y != g);
                                    if on {
                                        x.grants.push(g);
                                    }
                                }));
                            }
                        />
                        <code>{g}</code>
                    </label>
                }
            }).collect_view()}
        </div>
    }
}

fn tool_call_fields(d: Designer, i: usize) -> impl IntoView {
    fn get<T: Default>(d: Designer, i: usize, f: impl FnOnce(&ToolCallDraft) -> T) -> T {
        d.step_value(i, |s| s.tool_call.as_ref().map(f).unwrap_or_default())
    }
    let edit = move |f: Box<dyn FnOnce(&mut ToolCallDraft)>| {
        d.edit_step(i, |s| {
            if let Some(x) = &mut s.tool_call {
                f(x);
            }
        })
    };
    view! {
        <div class="flow-form-grid">
            {text_field("Tool", "call-tool", move || get(d, i, |x| x.tool.clone().unwrap_or_default()), move |v| edit(Box::new(move |x| x.tool = optional(v))))}
            {text_field("Resource", "call-resource", move || get(d, i, |x| x.resource.clone()), move |v| edit(Box::new(move |x| x.resource = v)))}
            {list_field("Actions", "call-actions", move || get(d, i, |x| x.actions.clone()), move |v| edit(Box::new(move |x| x.actions = v)))}
            {text_field("Stages (what it stages, if anything)", "call-stages", move || get(d, i, |x| x.stages.clone().unwrap_or_default()), move |v| edit(Box::new(move |x| x.stages = optional(v))))}
        </div>
    }
}

fn revoke_fields(d: Designer, i: usize) -> impl IntoView {
    let issues = Memo::new(move |_| {
        d.draft.with(|f| {
            f.steps
                .iter()
                .filter(|s| s.kind == "issue")
                .map(|s| s.id.clone())
                .collect::<Vec<_>>()
        })
    });
    view! {
        <div class="flow-checks">
            <span class="flow-field-label">"Revokes"</span>
            <span class="muted">"(none ticked: everything issued)"</span>
            {move || issues.get().into_iter().map(|c| {
                let (c1, c2) = (c.clone(), c.clone());
                view! {
                    <label class="flow-check">
                        <input type="checkbox" data-revoke=c.clone()
                            prop:checked=move || d.step_value(i, |s| s.revoke.as_ref().is_some_and(|r| r.credentials.contains(&c1)))
                            on:change=move |e| {
                                let on = event_target_checked(&e);
                                let c = c2.clone();
                                d.edit_step(i, |s| {
                                    let mut r = s.revoke.take().unwrap_or_default();
                                    r.credentials.retain(|y| *y != c);
                                    if on {
                                        r.credentials.push(c);
                                    }
                                    s.revoke = (!r.credentials.is_empty()).then_some(r);
                                });
                            }
                        />
                        <code>{c}</code>
                    </label>
                }
            }).collect_view()}
        </div>
    }
}

// ---- Verification ---------------------------------------------------------------------------

fn status_rank(status: &str) -> u8 {
    match status {
        "fail" => 0,
        "unknown" => 1,
        _ => 2,
    }
}

#[component]
fn Verification(designer: Designer) -> impl IntoView {
    move || match designer.view.get() {
        None | Some(Err(_)) => ().into_any(),
        Some(Ok(view)) => {
            let problems = (!view.problems.is_empty()).then(|| {
                let items = view
                    .problems
                    .iter()
                    .map(|p| {
                        view! {
                            <li class="flow-problem" data-path=p.path.clone()>
                                <code class="location">{p.path.clone()}</code>
                                <span class="message">{p.message.clone()}</span>
                            </li>
                        }
                    })
                    .collect_view();
                view! {
                    <div class="card flow-problems">
                        <h2>{format!("Problems ({})", view.problems.len())}</h2>
                        <p class="muted">"The draft is not a flow yet: no verification until these are fixed."</p>
                        <ul class="diagnostics" id="flow-problems">{items}</ul>
                    </div>
                }
            });
            let mut findings = view.findings.clone();
            findings.sort_by(|a, b| {
                status_rank(&a.status)
                    .cmp(&status_rank(&b.status))
                    .then(a.id.cmp(&b.id))
            });
            let count = |s: &str| findings.iter().filter(|f| f.status == s).count();
            let totals = format!(
                "{} fail · {} unknown · {} pass",
                count("fail"),
                count("unknown"),
                count("pass")
            );
            let list = findings
                .into_iter()
                .map(|f| view! { <FindingItem finding=f /> })
                .collect_view();
            view! {
                {problems}
                <div class="card flow-findings">
                    <div class="flow-form-head">
                        <h2>"Verification"</h2>
                        <span class="muted" id="flow-finding-totals">{totals}</span>
                    </div>
                    <ul class="flow-finding-list" id="flow-findings">{list}</ul>
                </div>
            }
            .into_any()
        }
    }
}

#[component]
fn FindingItem(finding: FlowFinding) -> impl IntoView {
    let f = finding;
    let controls = f
        .controls
        .iter()
        .map(|c| view! { <code class="category">{c.clone()}</code> })
        .collect_view();
    view! {
        <li
            class=format!("flow-finding status-{}", f.status)
            data-finding=f.id.clone()
            data-check=f.check.clone()
            data-step=f.step.clone().unwrap_or_default()
            data-subject=f.subject.clone()
            data-status=f.status.clone()
        >
            <div class="finding-line">
                <StatusBadge status=f.status.clone() />
                <SeverityBadge severity=f.severity.clone() />
                <code class="finding-check" title=f.title.clone()>{f.check.clone()}</code>
                <span class="muted">{format!("· {}", f.subject)}</span>
            </div>
            <div class="finding-summary">{f.summary.clone()}</div>
            {f.hint.clone().map(|h| view! { <div class="finding-hint">{h}</div> })}
            {(!f.controls.is_empty()).then(|| view! { <div class="chips finding-controls">{controls}</div> })}
        </li>
    }
}

// ---- Tabs -----------------------------------------------------------------------------------

#[component]
fn Tabs(designer: Designer) -> impl IntoView {
    let tab = designer.tab;
    let buttons = Tab::ALL
        .iter()
        .map(|t| {
            let t = *t;
            view! {
                <button class="tab tab-button" class:active=move || tab.get() == t id=t.test_id() on:click=move |_| tab.set(t)>
                    {t.label()}
                </button>
            }
        })
        .collect_view();
    view! {
        <div class="card flow-tabs">
            <div class="tabs">{buttons}</div>
            {move || match tab.get() {
                Tab::Yaml => view! { <YamlTab designer /> }.into_any(),
                Tab::Cedar => view! { <CedarTab designer /> }.into_any(),
                Tab::Simulator => view! { <SimulatorTab designer /> }.into_any(),
                Tab::Drift => view! { <DriftTab designer /> }.into_any(),
                Tab::WhatIf => view! { <WhatIfTab designer /> }.into_any(),
            }}
        </div>
    }
}

#[component]
fn YamlTab(designer: Designer) -> impl IntoView {
    let stored = RwSignal::new(None::<Result<String, ApiError>>);
    Effect::new(move |_| {
        if let Some(s) = designer.stored.get() {
            spawn_local(async move {
                let _ = stored.try_set(Some(ipc::flow_export(&s.id).await));
            });
        }
    });
    view! {
        <div id="flow-yaml-tab">
            {move || match designer.view.get() {
                Some(Ok(v)) if !v.yaml.is_empty() => view! { <pre class="code-block" id="flow-yaml">{v.yaml}</pre> }.into_any(),
                Some(Ok(_)) => view! { <p class="muted">"The draft is not a flow yet (see its problems); the document appears once it reads."</p> }.into_any(),
                _ => ().into_any(),
            }}
            {move || stored.get().map(|doc| match doc {
                Ok(doc) => view! {
                    <details class="stored-doc">
                        <summary>"The stored document (as saved)"</summary>
                        <pre class="code-block" id="flow-stored-yaml">{doc}</pre>
                    </details>
                }.into_any(),
                Err(error) => view! { <ErrorBanner error /> }.into_any(),
            })}
        </div>
    }
}

#[component]
fn CedarTab(designer: Designer) -> impl IntoView {
    let output = RwSignal::new(None::<Result<CedarOutput, ApiError>>);
    Effect::new(move |_| {
        // Follow the previews, so the policies are those of the draft on screen.
        designer.view.track();
        let draft = designer.draft.get_untracked();
        spawn_local(async move {
            let _ = output.try_set(Some(ipc::flow_cedar_draft(&draft).await));
        });
    });
    view! {
        <div id="flow-cedar-tab">
            {move || match output.get() {
                None => view! { <Loading label="Compiling…" /> }.into_any(),
                Some(Err(e)) => view! { <div class="banner banner-error" id="cedar-error">{e.message}</div> }.into_any(),
                Some(Ok(c)) => view! {
                    <p class="muted">{format!("Policies: {}", c.policy_ids.join(", "))}</p>
                    <h3>"Policies"</h3>
                    <pre class="code-block" id="cedar-policies">{c.policies}</pre>
                    <h3>"Schema"</h3>
                    <pre class="code-block" id="cedar-schema">{c.schema}</pre>
                }.into_any(),
            }}
        </div>
    }
}

/// The simulator's form: a request as the policies see it.
#[derive(Debug, Clone, PartialEq)]
struct SimForm {
    principal: String,
    action: String,
    resource: String,
    approved: bool,
    task_id: String,
    now: String,
    issued_at: String,
    revoked: bool,
    /// `""` (absent), `true` or `false`.
    condition_met: String,
}

fn agent_segment(agent: &str) -> &str {
    agent.rsplit(':').next().unwrap_or(agent)
}

impl SimForm {
    /// A request that the flow should allow: the task's identity for run `run-0001`, the first
    /// grant, approved, issued now.
    fn prefill(draft: &FlowDraft) -> SimForm {
        let now = ipc::epoch_seconds().to_string();
        let grant = draft.grants.first();
        SimForm {
            principal: draft
                .identity
                .spiffe_id
                .replace("{agent}", agent_segment(&draft.agent))
                .replace("{task}", &draft.id)
                .replace("{run}", "run-0001"),
            action: grant
                .and_then(|g| g.actions.first().cloned())
                .unwrap_or_default(),
            resource: grant.map(|g| g.resource.clone()).unwrap_or_default(),
            approved: true,
            task_id: draft.id.clone(),
            now: now.clone(),
            issued_at: now,
            revoked: false,
            condition_met: if grant.is_some_and(|g| g.condition.is_some()) {
                "true".into()
            } else {
                String::new()
            },
        }
    }

    fn request(&self) -> SimulationRequest {
        let mut context = serde_json::Map::new();
        let number = |text: &str| {
            text.trim()
                .parse::<i64>()
                .map(serde_json::Value::from)
                .unwrap_or_else(|_| serde_json::Value::from(text.to_owned()))
        };
        context.insert("approved".into(), self.approved.into());
        context.insert("task_id".into(), self.task_id.clone().into());
        context.insert("now".into(), number(&self.now));
        context.insert("issued_at".into(), number(&self.issued_at));
        context.insert("revoked".into(), self.revoked.into());
        match self.condition_met.as_str() {
            "true" => {
                context.insert("condition_met".into(), true.into());
            }
            "false" => {
                context.insert("condition_met".into(), false.into());
            }
            _ => {}
        }
        SimulationRequest {
            principal: self.principal.clone(),
            action: self.action.clone(),
            resource: self.resource.clone(),
            context,
        }
    }
}

#[component]
fn SimulatorTab(designer: Designer) -> impl IntoView {
    let form = RwSignal::new(SimForm::prefill(&designer.draft.get_untracked()));
    let decision = RwSignal::new(None::<Result<SimulationDecision, ApiError>>);
    let run = move |_| {
        let draft = designer.draft.get_untracked();
        let request = form.get_untracked().request();
        spawn_local(async move {
            let _ = decision.try_set(Some(ipc::flow_simulate_draft(&draft, &request).await));
        });
    };
    let text = |label: &'static str,
                test: &'static str,
                get: fn(&SimForm) -> String,
                set: fn(&mut SimForm, String)| {
        text_field(
            label,
            test,
            move || form.with(get),
            move |v| form.update(|f| set(f, v)),
        )
    };
    view! {
        <div id="flow-simulator-tab" class="simulator">
            <div class="flow-form-grid sim-grid">
                {text("Principal", "sim-principal", |f| f.principal.clone(), |f, v| f.principal = v)}
                {text("Action", "sim-action", |f| f.action.clone(), |f, v| f.action = v)}
                {text("Resource", "sim-resource", |f| f.resource.clone(), |f, v| f.resource = v)}
                {text("task_id", "sim-task-id", |f| f.task_id.clone(), |f, v| f.task_id = v)}
                {text("now (epoch s)", "sim-now", |f| f.now.clone(), |f, v| f.now = v)}
                {text("issued_at (epoch s)", "sim-issued-at", |f| f.issued_at.clone(), |f, v| f.issued_at = v)}
                {check_field("approved", "sim-approved", move || form.with(|f| f.approved), move |v| form.update(|f| f.approved = v))}
                {check_field("revoked", "sim-revoked", move || form.with(|f| f.revoked), move |v| form.update(|f| f.revoked = v))}
                <label class="flow-field">
                    <span class="flow-field-label">"condition_met"</span>
                    <select data-test="sim-condition" on:change=move |e| form.update(|f| f.condition_met = event_target_value(&e))>
                        {[("", "(absent)"), ("true", "true"), ("false", "false")].into_iter().map(|(v, l)| view! {
                            <option value=v selected=move || form.with(|f| f.condition_met == v)>{l}</option>
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <div class="form-actions">
                <button class="button primary small" id="simulate" on:click=run>"Decide"</button>
                <button class="button small" id="simulate-reset" on:click=move |_| form.set(SimForm::prefill(&designer.draft.get_untracked()))>"Prefill again"</button>
            </div>
            {move || decision.get().map(|d| match d {
                Err(e) => view! { <div class="banner banner-error" id="simulation-error">{e.message}</div> }.into_any(),
                Ok(d) => view! {
                    <div class=format!("decision decision-{}", d.decision) id="simulation-decision" data-decision=d.decision.clone()>
                        <strong>{d.decision.to_uppercase()}</strong>
                        <span class="muted">
                            {if d.policies.is_empty() { " no policy matched (default deny)".to_owned() } else { format!(" by {}", d.policies.join(", ")) }}
                        </span>
                        {(!d.errors.is_empty()).then(|| view! { <ul class="sim-errors">{d.errors.iter().map(|e| view! { <li>{e.clone()}</li> }).collect_view()}</ul> })}
                    </div>
                }.into_any(),
            })}
        </div>
    }
}

#[component]
fn DriftTab(designer: Designer) -> impl IntoView {
    let drift = RwSignal::new(None::<Result<FlowDriftView, ApiError>>);
    Effect::new(move |_| {
        if let Some(s) = designer.stored.get() {
            spawn_local(async move {
                let _ = drift.try_set(Some(ipc::flow_drift(&s.id).await));
            });
        }
    });
    view! {
        <div id="flow-drift-tab">
            {move || match (designer.stored.get(), drift.get()) {
                (None, _) => view! { <p class="muted">"Save the flow to compare it with the live inventory and brokers."</p> }.into_any(),
                (Some(_), None) => view! { <Loading label="Comparing with the inventory…" /> }.into_any(),
                (Some(_), Some(Err(error))) => view! { <ErrorBanner error /> }.into_any(),
                (Some(_), Some(Ok(v))) => {
                    let findings = v.findings.into_iter().map(|f| view! { <FindingItem finding=f /> }).collect_view();
                    let excess = match v.excess {
                        None => view! { <p class="muted">"The agent is not in the inventory: no reach to compare."</p> }.into_any(),
                        Some(rows) if rows.is_empty() => view! { <p class="muted">"No access beyond the flow's grants."</p> }.into_any(),
                        Some(rows) => view! {
                            <table class="data" id="drift-excess">
                                <thead><tr><th>"Resource"</th><th>"Actions"</th><th>"Hops"</th><th>"Path"</th></tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|r| view! {
                                        <tr><td><code>{r.resource}</code></td><td>{r.actions.join(", ")}</td><td class="num">{r.hops}</td><td class="path-cell">{r.path.join(" → ")}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    };
                    view! {
                        <p class="muted">{format!("At {}", when(&v.at))}</p>
                        <ul class="flow-finding-list" id="drift-findings">{findings}</ul>
                        <h3>"Access beyond the grants"</h3>
                        {excess}
                    }.into_any()
                }
            }}
        </div>
    }
}

#[component]
fn WhatIfTab(designer: Designer) -> impl IntoView {
    let what_if = RwSignal::new(None::<Result<FlowWhatIfView, ApiError>>);
    Effect::new(move |_| {
        if let Some(s) = designer.stored.get() {
            spawn_local(async move {
                let _ = what_if.try_set(Some(ipc::flow_what_if(&s.id).await));
            });
        }
    });
    view! {
        <div id="flow-what-if-tab">
            {move || match (designer.stored.get(), what_if.get()) {
                (None, _) => view! { <p class="muted">"Save the flow to compare the agent's reach under it with its reach today."</p> }.into_any(),
                (Some(_), None) => view! { <Loading label="Computing the reach…" /> }.into_any(),
                (Some(_), Some(Err(error))) => view! { <ErrorBanner error /> }.into_any(),
                (Some(_), Some(Ok(v))) => view! {
                    <p class="muted" id="what-if-summary">
                        {format!("{} as {}: {} lost, {} shrunk, {} gained, {} kept", v.agent, v.identity, v.lost, v.shrunk, v.gained, v.kept)}
                    </p>
                    <table class="data" id="what-if-table">
                        <thead><tr><th>"Resource"</th><th>"Today"</th><th>"Under the flow"</th><th>"Change"</th></tr></thead>
                        <tbody>
                            {v.rows.into_iter().map(|r| view! {
                                <tr class=format!("change-{}", r.change) data-change=r.change.clone() data-resource=r.resource.clone()>
                                    <td><code>{r.resource.clone()}</code></td>
                                    <td>{r.today.join(", ")}</td>
                                    <td>{r.under_flow.join(", ")}</td>
                                    <td>{r.change.clone()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    {(!v.unknown_resources.is_empty()).then(|| view! {
                        <p class="muted">{format!("Not in the inventory: {}", v.unknown_resources.join(", "))}</p>
                    })}
                }.into_any(),
            }}
        </div>
    }
}
