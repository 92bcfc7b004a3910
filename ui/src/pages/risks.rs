//! The risk register: the risks with their status at an evaluation time (now, or a date the
//! user picks to see which acceptances will have lapsed), inherent and residual 5×5 heat maps
//! whose cells filter the table, the selected risk with its links, acceptance and full history,
//! and dialogs to create, edit, accept, close, reopen and comment. Every change goes through
//! the app, which validates it, records it in the history and the audit log; its `ApiError` is
//! shown in the dialog.

use std::collections::BTreeMap;

use bridle_protocol::compliance::{
    NewRisk, Risk, RiskChange, RiskDetail, RiskEvent, RiskSuggestion,
};
use bridle_protocol::console_compliance::ConsoleActor;
use bridle_protocol::{ApiError, ErrorCode, Timestamp};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::format::{number, when};
use crate::ipc;
use crate::shell::use_shell;
use crate::widgets::{EntityLink, ErrorBanner, Loading};
use crate::widgets_compliance::{SeverityBadge, StatusBadge};

/// `2027-03-31` → midnight UTC of that day.
pub fn parse_day(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if text.len() != 10 {
        return None;
    }
    format!("{text}T00:00:00Z").parse().ok()
}

fn day(t: &Timestamp) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// `a, b ,, c` → `[a, b, c]`.
pub fn split_list(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError {
        code: ErrorCode::InvalidInput,
        message: message.into(),
    }
}

/// The band of a 5×5 score (the app's `level`).
fn level(score: u8) -> &'static str {
    match score {
        0..=4 => "low",
        5..=9 => "medium",
        10..=16 => "high",
        _ => "critical",
    }
}

fn residual(risk: &Risk) -> (u8, u8) {
    (
        risk.residual_likelihood.unwrap_or(risk.likelihood),
        risk.residual_impact.unwrap_or(risk.impact),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Matrix {
    Inherent,
    Residual,
}

impl Matrix {
    fn label(self) -> &'static str {
        match self {
            Matrix::Inherent => "Inherent",
            Matrix::Residual => "Residual",
        }
    }

    fn rating(self, risk: &Risk) -> (u8, u8) {
        match self {
            Matrix::Inherent => (risk.likelihood, risk.impact),
            Matrix::Residual => residual(risk),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    Id,
    Inherent,
    Residual,
    Status,
    Due,
}

fn status_rank(status: &str) -> u8 {
    match status {
        "open" => 0,
        "accepted" => 1,
        _ => 2,
    }
}

fn sorted(mut risks: Vec<Risk>, key: SortKey, descending: bool) -> Vec<Risk> {
    risks.sort_by(|a, b| {
        let order = match key {
            SortKey::Id => a.id.cmp(&b.id),
            SortKey::Inherent => {
                (a.inherent_score, a.residual_score).cmp(&(b.inherent_score, b.residual_score))
            }
            SortKey::Residual => {
                (a.residual_score, a.inherent_score).cmp(&(b.residual_score, b.inherent_score))
            }
            SortKey::Status => status_rank(&a.status).cmp(&status_rank(&b.status)),
            // Risks without a due date sort after every dated one.
            SortKey::Due => (a.due.is_none(), a.due).cmp(&(b.due.is_none(), b.due)),
        };
        let order = if descending { order.reverse() } else { order };
        order.then(a.id.cmp(&b.id))
    });
    risks
}

/// Which dialog is open.
#[derive(Debug, Clone, PartialEq)]
enum Dialog {
    New(Option<NewRisk>),
    Edit(Risk),
    Accept(Risk),
    Close(Risk),
    Reopen(Risk),
}

#[derive(Debug, Clone, Copy)]
struct Register {
    /// The evaluation time; `None`: now.
    at: RwSignal<Option<Timestamp>>,
    risks: RwSignal<Option<Result<Vec<Risk>, ApiError>>>,
    selected: RwSignal<Option<i64>>,
    detail: RwSignal<Option<Result<RiskDetail, ApiError>>>,
    dialog: RwSignal<Option<Dialog>>,
    /// Bumped after every change, to reload the list and the selected risk.
    changes: RwSignal<u64>,
    actor: RwSignal<Option<ConsoleActor>>,
}

impl Register {
    fn changed(&self, risk: &Risk) {
        self.selected.set(Some(risk.id));
        self.changes.update(|n| *n += 1);
    }
}

#[component]
pub fn RiskRegister() -> impl IntoView {
    let shell = use_shell();
    let register = Register {
        at: RwSignal::new(None),
        risks: RwSignal::new(None),
        selected: RwSignal::new(None),
        detail: RwSignal::new(None),
        dialog: RwSignal::new(None),
        changes: RwSignal::new(0),
        actor: RwSignal::new(None),
    };
    let cell = RwSignal::new(None::<(Matrix, u8, u8)>);
    let status_filter = RwSignal::new(String::new());
    let sort = RwSignal::new((SortKey::Residual, true));
    let suggestions_open = RwSignal::new(false);

    spawn_local(async move {
        if let Ok(actor) = ipc::console_actor().await {
            let _ = register.actor.try_set(Some(actor));
        }
    });
    Effect::new(move |_| {
        shell.generation.track();
        register.changes.track();
        let at = register.at.get();
        spawn_local(async move {
            let result = ipc::risks(at).await;
            let _ = register.risks.try_set(Some(result));
        });
    });
    Effect::new(move |_| {
        register.changes.track();
        let at = register.at.get();
        let Some(id) = register.selected.get() else {
            let _ = register.detail.try_set(None);
            return;
        };
        spawn_local(async move {
            let result = ipc::risk(id, at).await;
            let _ = register.detail.try_set(Some(result));
        });
    });

    let at_text = RwSignal::new(String::new());
    let at_error = RwSignal::new(None::<String>);
    let apply_at = move || {
        let text = at_text.get();
        if text.trim().is_empty() {
            register.at.set(None);
            at_error.set(None);
        } else if let Some(t) = parse_day(&text) {
            register.at.set(Some(t));
            at_error.set(None);
        } else {
            at_error.set(Some(format!("`{text}` is not a date (YYYY-MM-DD)")));
        }
    };

    view! {
        <section class="risks-page">
            <header class="page-header">
                <div>
                    <h1>"Risk register"</h1>
                    <p class="muted">
                        "Risks to the organisation from its agents' access, rated on a 5×5 matrix, treated, accepted for a time, and audited."
                    </p>
                </div>
                <div class="header-actions">
                    <button
                        class="button"
                        id="suggest-risks"
                        class:active=move || suggestions_open.get()
                        on:click=move |_| suggestions_open.update(|o| *o = !*o)
                    >
                        "Suggest from failing findings"
                    </button>
                    <button
                        class="button primary"
                        id="new-risk"
                        on:click=move |_| register.dialog.set(Some(Dialog::New(None)))
                    >
                        "New risk"
                    </button>
                </div>
            </header>
            <div class="eval-bar card" id="evaluation">
                <span class="eval-label">"Status evaluated at"</span>
                <strong id="evaluation-time">
                    {move || match register.at.get() {
                        None => "now".to_owned(),
                        Some(t) => when(&t),
                    }}
                </strong>
                <input
                    type="date"
                    id="evaluate-at"
                    aria-label="Evaluate the register at this date"
                    prop:value=move || at_text.get()
                    on:input=move |e| at_text.set(event_target_value(&e))
                    on:change=move |e| at_text.set(event_target_value(&e))
                />
                <button class="button small" id="evaluate-button" on:click=move |_| apply_at()>
                    "Evaluate"
                </button>
                <button
                    class="button small"
                    id="evaluate-now"
                    disabled=move || register.at.get().is_none()
                    on:click=move |_| {
                        at_text.set(String::new());
                        register.at.set(None);
                    }
                >
                    "Now"
                </button>
                <span class="muted eval-help">
                    "An acceptance holds until its expiry: pick a later date to see which risks will be open again."
                </span>
                {move || at_error.get().map(|m| view! { <span class="field-error">{m}</span> })}
            </div>
            <Show when=move || suggestions_open.get()>
                <Suggestions register />
            </Show>
            {move || match register.risks.get() {
                None => view! { <Loading label="Reading the register…" /> }.into_any(),
                Some(Err(error)) => view! { <ErrorBanner error /> }.into_any(),
                Some(Ok(risks)) => {
                    view! { <RegisterBody risks register cell status_filter sort /> }.into_any()
                }
            }}
            {move || register.dialog.get().map(|dialog| view! { <DialogView dialog register /> })}
        </section>
    }
}

#[component]
fn RegisterBody(
    risks: Vec<Risk>,
    register: Register,
    cell: RwSignal<Option<(Matrix, u8, u8)>>,
    status_filter: RwSignal<String>,
    sort: RwSignal<(SortKey, bool)>,
) -> impl IntoView {
    let on_map: Vec<Risk> = risks
        .iter()
        .filter(|r| r.status != "closed")
        .cloned()
        .collect();
    let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
    for risk in &risks {
        *by_status.entry(risk.status.as_str()).or_default() += 1;
    }
    let reopened = risks.iter().filter(|r| r.reopened).count() as u64;
    let figure = |status: &'static str, label: &'static str| {
        let n = by_status.get(status).copied().unwrap_or_default();
        view! {
            <button
                class=format!("status-figure risk-figure status-{status}")
                class:selected=move || status_filter.with(|s| s == status)
                data-total=status
                on:click=move |_| status_filter.update(|s| *s = if s == status { String::new() } else { status.to_owned() })
            >
                <span class="stat-value">{number(n)}</span>
                <span class="attention-title">{label}</span>
            </button>
        }
    };
    let total = risks.len();
    let all = risks.clone();
    view! {
        <div class="register-top">
            <div class="status-figures risk-figures" id="risk-totals">
                {figure("open", "Open")}
                {figure("accepted", "Accepted")}
                {figure("closed", "Closed")}
                <div class="status-figure static">
                    <span class="stat-value">{number(reopened)}</span>
                    <span class="attention-title">"Acceptance expired"</span>
                    <span class="muted">"Open again at this time."</span>
                </div>
            </div>
            <div class="heatmaps">
                <HeatMap5 kind=Matrix::Inherent risks=on_map.clone() cell />
                <HeatMap5 kind=Matrix::Residual risks=on_map cell />
            </div>
        </div>
        <div class="table-filters">
            {move || {
                cell.get()
                    .map(|(kind, l, i)| {
                        view! {
                            <button class="chip" id="cell-filter" on:click=move |_| cell.set(None)>
                                {format!("{}: likelihood {l} × impact {i}", kind.label())}
                                <span aria-hidden="true">" ×"</span>
                            </button>
                        }
                    })
            }}
            {move || {
                let s = status_filter.get();
                (!s.is_empty())
                    .then(|| {
                        view! {
                            <button class="chip" on:click=move |_| status_filter.set(String::new())>
                                {format!("status: {s}")}
                                <span aria-hidden="true">" ×"</span>
                            </button>
                        }
                    })
            }}
        </div>
        {move || {
            let (key, descending) = sort.get();
            let shown: Vec<Risk> = all
                .iter()
                .filter(|r| cell.get().is_none_or(|(kind, l, i)| kind.rating(r) == (l, i)))
                .filter(|r| status_filter.with(|s| s.is_empty() || *s == r.status))
                .cloned()
                .collect();
            let shown = sorted(shown, key, descending);
            view! { <RiskTable risks=shown total register sort /> }
        }}
        <RiskDetailPanel register />
    }
}

/// Likelihood across, impact up; each cell counts the (not closed) risks rated there.
#[component]
fn HeatMap5(
    kind: Matrix,
    risks: Vec<Risk>,
    cell: RwSignal<Option<(Matrix, u8, u8)>>,
) -> impl IntoView {
    let mut counts = [[0u64; 6]; 6];
    for risk in &risks {
        let (l, i) = kind.rating(risk);
        counts[usize::from(l.min(5))][usize::from(i.min(5))] += 1;
    }
    let rows = (1..=5u8)
        .rev()
        .map(|impact| {
            let cells = (1..=5u8)
                .map(|likelihood| {
                    let n = counts[usize::from(likelihood)][usize::from(impact)];
                    let score = likelihood * impact;
                    let selected = move || cell.get() == Some((kind, likelihood, impact));
                    view! {
                        <button
                            class=format!("cell level-{}", level(score))
                            class:empty=n == 0
                            class:selected=selected
                            data-likelihood=likelihood
                            data-impact=impact
                            data-count=n
                            title=format!(
                                "{}: likelihood {likelihood} × impact {impact} = {score} ({}); {n} risk(s)",
                                kind.label(),
                                level(score),
                            )
                            on:click=move |_| {
                                cell.update(|c| {
                                    *c = if *c == Some((kind, likelihood, impact)) {
                                        None
                                    } else {
                                        Some((kind, likelihood, impact))
                                    }
                                })
                            }
                        >
                            {(n > 0).then(|| n.to_string())}
                        </button>
                    }
                })
                .collect_view();
            view! {
                <div class="matrix-row">
                    <span class="axis-value">{impact}</span>
                    {cells}
                </div>
            }
        })
        .collect_view();
    let id = match kind {
        Matrix::Inherent => "heatmap-inherent",
        Matrix::Residual => "heatmap-residual",
    };
    view! {
        <div class="card matrix-card" id=id>
            <div class="matrix-title">
                <strong>{kind.label()}</strong>
                <span class="muted">
                    {match kind {
                        Matrix::Inherent => " before treatment",
                        Matrix::Residual => " after treatment",
                    }}
                </span>
            </div>
            <div class="matrix-body">
                <span class="axis-title axis-y">"Impact"</span>
                <div class="matrix">
                    {rows}
                    <div class="matrix-row axis-x">
                        <span class="axis-value"></span>
                        {(1..=5u8).map(|l| view! { <span class="axis-value">{l}</span> }).collect_view()}
                    </div>
                </div>
            </div>
            <div class="axis-title axis-x-title">"Likelihood"</div>
        </div>
    }
}

#[component]
fn RiskTable(
    risks: Vec<Risk>,
    total: usize,
    register: Register,
    sort: RwSignal<(SortKey, bool)>,
) -> impl IntoView {
    if total == 0 {
        return view! {
            <div class="empty-state card" id="risks-empty">
                <p>"The register is empty."</p>
                <p class="muted">
                    "Create a risk, or let Bridle suggest risks from the failing findings."
                </p>
            </div>
        }
        .into_any();
    }
    let header = move |key: SortKey, label: &'static str| {
        let aria = move || match sort.get() {
            (k, false) if k == key => "ascending",
            (k, true) if k == key => "descending",
            _ => "none",
        };
        let indicator = move || match sort.get() {
            (k, false) if k == key => " ▲",
            (k, true) if k == key => " ▼",
            _ => "",
        };
        view! {
            <th aria-sort=aria>
                <button
                    class="sort"
                    data-sort=format!("{key:?}").to_lowercase()
                    on:click=move |_| sort.update(|(k, d)| {
                        *d = *k == key && !*d;
                        *k = key;
                    })
                >
                    {label}
                    <span class="sort-indicator">{indicator}</span>
                </button>
            </th>
        }
    };
    let shown = risks.len();
    let rows = risks
        .into_iter()
        .map(|risk| {
            let id = risk.id;
            let (rl, ri) = residual(&risk);
            let selected = move || register.selected.get() == Some(id);
            view! {
                <tr
                    class="risk-row"
                    class:selected=selected
                    data-risk-id=risk.id
                    data-status=risk.status.clone()
                    on:click=move |_| register.selected.set(Some(id))
                >
                    <td class="risk-id">{format!("R-{}", risk.id)}</td>
                    <td class="risk-title" title=risk.title.clone()>{risk.title.clone()}</td>
                    <td>
                        <StatusBadge status=risk.status.clone() />
                        {risk.reopened.then(|| view! { <span class="reopened" title="The acceptance expired">"expired"</span> })}
                    </td>
                    <td class="num">
                        <span class=format!("score level-{}", risk.inherent_level)>{risk.inherent_score}</span>
                        <span class="muted rating">{format!(" {}×{}", risk.likelihood, risk.impact)}</span>
                    </td>
                    <td class="num">
                        <span class=format!("score level-{}", risk.residual_level)>{risk.residual_score}</span>
                        <span class="muted rating">{format!(" {rl}×{ri}")}</span>
                    </td>
                    <td>{risk.treatment.clone()}</td>
                    <td title=risk.owner.clone().unwrap_or_default()>{risk.owner.clone().unwrap_or_else(|| "—".into())}</td>
                    <td>{risk.due.as_ref().map(day).unwrap_or_else(|| "—".into())}</td>
                    <td>
                        {risk
                            .acceptance
                            .as_ref()
                            .map(|a| day(&a.expires))
                            .unwrap_or_else(|| "—".into())}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="card table-card">
            <div class="table-scroll">
                <table class="data risks-table" id="risks-table">
                    <thead>
                        <tr>
                            {header(SortKey::Id, "Risk")}
                            <th>"Title"</th>
                            {header(SortKey::Status, "Status")}
                            {header(SortKey::Inherent, "Inherent")}
                            {header(SortKey::Residual, "Residual")}
                            <th>"Treatment"</th>
                            <th>"Owner"</th>
                            {header(SortKey::Due, "Due")}
                            <th>"Accepted until"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <p class="table-footer muted" id="risks-summary" data-shown=shown>
                {format!("{shown} of {total} risks shown. Click a risk for its details and history.")}
            </p>
        </div>
    }
    .into_any()
}

#[component]
fn RiskDetailPanel(register: Register) -> impl IntoView {
    move || match register.detail.get() {
        None => ().into_any(),
        Some(Err(error)) => view! { <ErrorBanner error /> }.into_any(),
        Some(Ok(detail)) => view! { <RiskCard detail register /> }.into_any(),
    }
}

#[component]
fn RiskCard(detail: RiskDetail, register: Register) -> impl IntoView {
    let risk = detail.risk.clone();
    let comment = RwSignal::new(String::new());
    let comment_error = RwSignal::new(None::<ApiError>);
    let id = risk.id;
    let send_comment = move |_| {
        let text = comment.get();
        spawn_local(async move {
            match ipc::comment_risk(id, &text).await {
                Ok(risk) => {
                    let _ = comment.try_set(String::new());
                    let _ = comment_error.try_set(None);
                    register.changed(&risk);
                }
                Err(error) => {
                    let _ = comment_error.try_set(Some(error));
                }
            }
        });
    };
    let links = |ids: &[String], entity: bool| {
        if ids.is_empty() {
            return view! { <span class="muted">"—"</span> }.into_any();
        }
        ids.iter()
            .map(|id| {
                if entity {
                    view! { <EntityLink id=id.clone() /> }.into_any()
                } else {
                    view! { <code class="link-code">{id.clone()}</code> }.into_any()
                }
            })
            .collect_view()
            .into_any()
    };
    let categories = risk
        .categories
        .iter()
        .map(|c| view! { <code class="category">{c.clone()}</code> })
        .collect_view();
    let can_reopen = risk.status != "open";
    let can_accept = risk.status != "closed";
    let can_close = risk.status != "closed";
    let (r_edit, r_accept, r_close, r_reopen) =
        (risk.clone(), risk.clone(), risk.clone(), risk.clone());
    let history = detail
        .history
        .iter()
        .rev()
        .map(|event| view! { <HistoryEntry event=event.clone() /> })
        .collect_view();
    let (rl, ri) = residual(&risk);
    view! {
        <div class="card risk-card" id="risk-detail" data-risk-id=risk.id data-status=risk.status.clone()>
            <div class="risk-card-head">
                <div>
                    <div class="muted">{format!("R-{}", risk.id)}</div>
                    <h2 id="risk-detail-title">{risk.title.clone()}</h2>
                    <div class="risk-badges">
                        <StatusBadge status=risk.status.clone() />
                        {risk.reopened.then(|| view! {
                            <span class="reopened" id="risk-reopened">
                                "acceptance expired: open again"
                            </span>
                        })}
                        <span class="muted">{format!("treatment: {}", risk.treatment)}</span>
                    </div>
                </div>
                <div class="risk-actions">
                    <button class="button small" id="edit-risk" on:click=move |_| register.dialog.set(Some(Dialog::Edit(r_edit.clone())))>
                        "Edit"
                    </button>
                    {can_accept.then(|| view! {
                        <button class="button small" id="accept-risk" on:click=move |_| register.dialog.set(Some(Dialog::Accept(r_accept.clone())))>
                            "Accept…"
                        </button>
                    })}
                    {can_close.then(|| view! {
                        <button class="button small" id="close-risk" on:click=move |_| register.dialog.set(Some(Dialog::Close(r_close.clone())))>
                            "Close…"
                        </button>
                    })}
                    {can_reopen.then(|| view! {
                        <button class="button small" id="reopen-risk" on:click=move |_| register.dialog.set(Some(Dialog::Reopen(r_reopen.clone())))>
                            "Reopen…"
                        </button>
                    })}
                </div>
            </div>
            <div class="risk-card-body">
                <div class="risk-facts">
                    {(!risk.description.is_empty()).then(|| view! { <p class="description">{risk.description.clone()}</p> })}
                    <dl class="fields">
                        <div class="field"><dt>"Inherent"</dt><dd>
                            <span class=format!("score level-{}", risk.inherent_level)>{risk.inherent_score}</span>
                            {format!(" likelihood {} × impact {} ", risk.likelihood, risk.impact)}
                            <SeverityBadge severity=risk.inherent_level.clone() />
                        </dd></div>
                        <div class="field"><dt>"Residual"</dt><dd>
                            <span class=format!("score level-{}", risk.residual_level)>{risk.residual_score}</span>
                            {format!(" likelihood {rl} × impact {ri} ")}
                            <SeverityBadge severity=risk.residual_level.clone() />
                            {(risk.residual_likelihood.is_none() && risk.residual_impact.is_none())
                                .then(|| view! { <span class="muted">" (not assessed: the inherent rating stands)"</span> })}
                        </dd></div>
                        <div class="field"><dt>"Owner"</dt><dd>{risk.owner.clone().unwrap_or_else(|| "—".into())}</dd></div>
                        <div class="field"><dt>"Due"</dt><dd>{risk.due.as_ref().map(day).unwrap_or_else(|| "—".into())}</dd></div>
                        <div class="field"><dt>"Categories"</dt><dd class="chips">
                            {if risk.categories.is_empty() { view! { <span class="muted">"—"</span> }.into_any() } else { categories.into_any() }}
                        </dd></div>
                        <div class="field"><dt>"Findings"</dt><dd class="link-list">{links(&risk.findings, false)}</dd></div>
                        <div class="field"><dt>"Controls"</dt><dd class="link-list">{links(&risk.controls, false)}</dd></div>
                        <div class="field"><dt>"Agents"</dt><dd class="link-list">{links(&risk.agents, true)}</dd></div>
                        <div class="field"><dt>"Created"</dt><dd>{when(&risk.created_at)}</dd></div>
                        <div class="field"><dt>"Updated"</dt><dd>{when(&risk.updated_at)}</dd></div>
                    </dl>
                    {risk.acceptance.clone().map(|a| view! {
                        <div class="acceptance" class:expired=a.expired id="acceptance">
                            <strong>{if a.expired { "Acceptance expired" } else { "Accepted" }}</strong>
                            {format!(" by {} on {}, until {}", a.by, day(&a.at), day(&a.expires))}
                            <p class="muted">{a.reason.clone()}</p>
                        </div>
                    })}
                </div>
                <div class="risk-history">
                    <h3>"History"</h3>
                    <div class="comment-box">
                        <textarea
                            id="comment-text"
                            rows="2"
                            placeholder="Add a comment to the history…"
                            prop:value=move || comment.get()
                            on:input=move |e| comment.set(event_target_value(&e))
                        ></textarea>
                        <button class="button small" id="comment-button" on:click=send_comment>"Comment"</button>
                    </div>
                    {move || comment_error.get().map(|error| view! { <ErrorBanner error /> })}
                    <ol class="history" id="risk-history">{history}</ol>
                </div>
            </div>
        </div>
    }
}

/// One history entry: what happened, who did it and where, and its particulars.
#[component]
fn HistoryEntry(event: RiskEvent) -> impl IntoView {
    let detail: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&event.detail).unwrap_or_default();
    let particulars = detail
        .into_iter()
        .filter(|(_, v)| match v {
            serde_json::Value::Null => false,
            serde_json::Value::Array(items) => !items.is_empty(),
            serde_json::Value::String(text) => !text.is_empty(),
            _ => true,
        })
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            view! {
                <div class="particular">
                    <span class="muted">{key}</span>
                    " "
                    {text}
                </div>
            }
        })
        .collect_view();
    let action = event.action.clone();
    view! {
        <li class=format!("history-entry action-{action}") data-action=action.clone()>
            <div class="history-head">
                <span class="history-action">{action.clone()}</span>
                <span class="muted">
                    {format!("{} · {}@{} · audit #{}", when(&event.at), event.user, event.host, event.audit_seq)}
                </span>
            </div>
            <div class="particulars">{particulars}</div>
        </li>
    }
}

#[component]
fn Suggestions(register: Register) -> impl IntoView {
    let list = RwSignal::new(None::<Result<Vec<RiskSuggestion>, ApiError>>);
    let failure = RwSignal::new(None::<ApiError>);
    Effect::new(move |_| {
        let at = register.at.get();
        spawn_local(async move {
            let _ = list.try_set(Some(ipc::risk_suggestions(at).await));
        });
    });
    view! {
        <div class="card suggestions" id="suggestions">
            <h2>"Suggested from failing findings"</h2>
            <p class="muted">
                "One per check that fails. Likelihood comes from the privilege graph (how short and how many the paths behind the findings are) or from how widespread the failures are; impact from the worst severity."
            </p>
            {move || failure.get().map(|error| view! { <ErrorBanner error /> })}
            {move || match list.get() {
                None => view! { <Loading label="Evaluating the findings…" /> }.into_any(),
                Some(Err(error)) => view! { <ErrorBanner error /> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="muted">"No check fails: nothing to suggest."</p> }.into_any(),
                Some(Ok(list)) => list
                    .into_iter()
                    .map(|s| {
                        let check = s.check.clone();
                        let create = move |_| {
                            let check = check.clone();
                            let at = register.at.get_untracked();
                            spawn_local(async move {
                                match ipc::add_suggested_risk(&check, at).await {
                                    Ok(risk) => {
                                        let _ = failure.try_set(None);
                                        register.changed(&risk);
                                    }
                                    Err(error) => {
                                        let _ = failure.try_set(Some(error));
                                    }
                                }
                            });
                        };
                        let reasoning = s.reasoning.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view();
                        view! {
                            <div class="suggestion" data-check=s.check.clone()>
                                <div class="suggestion-head">
                                    <span class=format!("score level-{}", s.level)>{s.score}</span>
                                    <strong>{s.title.clone()}</strong>
                                    <span class="muted">{format!("likelihood {} × impact {} · {} findings", s.likelihood, s.impact, s.findings.len())}</span>
                                    <button class="button small primary create-suggested" on:click=create>"Create risk"</button>
                                </div>
                                <ul class="reasoning">{reasoning}</ul>
                            </div>
                        }
                    })
                    .collect_view()
                    .into_any(),
            }}
        </div>
    }
}

/// The form of the create/edit dialog, as text the user types.
#[derive(Debug, Clone, Default, PartialEq)]
struct RiskForm {
    title: String,
    description: String,
    categories: String,
    likelihood: String,
    impact: String,
    residual_likelihood: String,
    residual_impact: String,
    owner: String,
    treatment: String,
    due: String,
    findings: String,
    controls: String,
    agents: String,
}

impl RiskForm {
    fn of(risk: &Risk) -> RiskForm {
        RiskForm {
            title: risk.title.clone(),
            description: risk.description.clone(),
            categories: risk.categories.join(", "),
            likelihood: risk.likelihood.to_string(),
            impact: risk.impact.to_string(),
            residual_likelihood: risk
                .residual_likelihood
                .map(|v| v.to_string())
                .unwrap_or_default(),
            residual_impact: risk
                .residual_impact
                .map(|v| v.to_string())
                .unwrap_or_default(),
            owner: risk.owner.clone().unwrap_or_default(),
            treatment: risk.treatment.clone(),
            due: risk.due.as_ref().map(day).unwrap_or_default(),
            findings: risk.findings.join(", "),
            controls: risk.controls.join(", "),
            agents: risk.agents.join(", "),
        }
    }

    fn of_new(new: &NewRisk) -> RiskForm {
        RiskForm {
            title: new.title.clone(),
            description: new.description.clone(),
            categories: new.categories.join(", "),
            likelihood: new.likelihood.to_string(),
            impact: new.impact.to_string(),
            treatment: "mitigate".into(),
            findings: new.findings.join(", "),
            controls: new.controls.join(", "),
            agents: new.agents.join(", "),
            ..RiskForm::default()
        }
    }

    /// The ratings and the due date as the app takes them; the app checks the rest.
    fn rating(name: &str, text: &str) -> Result<Option<u8>, ApiError> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        text.trim()
            .parse::<u8>()
            .map(Some)
            .map_err(|_| invalid(format!("{name} must be a number from 1 to 5")))
    }

    fn due(&self) -> Result<Option<Timestamp>, ApiError> {
        if self.due.trim().is_empty() {
            return Ok(None);
        }
        parse_day(&self.due).map(Some).ok_or_else(|| {
            invalid(format!(
                "the due date `{}` is not a date (YYYY-MM-DD)",
                self.due
            ))
        })
    }

    fn to_new(&self) -> Result<NewRisk, ApiError> {
        Ok(NewRisk {
            title: self.title.clone(),
            description: self.description.clone(),
            categories: split_list(&self.categories),
            likelihood: RiskForm::rating("likelihood", &self.likelihood)?
                .ok_or_else(|| invalid("choose a likelihood"))?,
            impact: RiskForm::rating("impact", &self.impact)?
                .ok_or_else(|| invalid("choose an impact"))?,
            residual_likelihood: RiskForm::rating(
                "residual likelihood",
                &self.residual_likelihood,
            )?,
            residual_impact: RiskForm::rating("residual impact", &self.residual_impact)?,
            owner: Some(self.owner.trim().to_owned()).filter(|o| !o.is_empty()),
            treatment: Some(self.treatment.clone()).filter(|t| !t.is_empty()),
            due: self.due()?,
            findings: split_list(&self.findings),
            controls: split_list(&self.controls),
            agents: split_list(&self.agents),
        })
    }

    /// Only what differs from `before`, so the history records what was changed.
    fn to_change(&self, before: &RiskForm) -> Result<RiskChange, ApiError> {
        fn changed<T>(
            now: &str,
            then: &str,
            value: impl FnOnce() -> Result<T, ApiError>,
        ) -> Result<Option<T>, ApiError> {
            if now.trim() == then.trim() {
                Ok(None)
            } else {
                value().map(Some)
            }
        }
        Ok(RiskChange {
            title: changed(&self.title, &before.title, || Ok(self.title.clone()))?,
            description: changed(&self.description, &before.description, || {
                Ok(self.description.clone())
            })?,
            categories: changed(&self.categories, &before.categories, || {
                Ok(split_list(&self.categories))
            })?,
            likelihood: changed(&self.likelihood, &before.likelihood, || {
                RiskForm::rating("likelihood", &self.likelihood)?
                    .ok_or_else(|| invalid("choose a likelihood"))
            })?,
            impact: changed(&self.impact, &before.impact, || {
                RiskForm::rating("impact", &self.impact)?.ok_or_else(|| invalid("choose an impact"))
            })?,
            residual_likelihood: changed(
                &self.residual_likelihood,
                &before.residual_likelihood,
                || {
                    RiskForm::rating("residual likelihood", &self.residual_likelihood)?
                    .ok_or_else(|| invalid("a residual likelihood, once assessed, cannot be removed; choose 1 to 5"))
                },
            )?,
            residual_impact: changed(&self.residual_impact, &before.residual_impact, || {
                RiskForm::rating("residual impact", &self.residual_impact)?.ok_or_else(|| {
                    invalid("a residual impact, once assessed, cannot be removed; choose 1 to 5")
                })
            })?,
            owner: changed(&self.owner, &before.owner, || {
                Ok(self.owner.trim().to_owned())
            })?,
            treatment: changed(&self.treatment, &before.treatment, || {
                Ok(self.treatment.clone())
            })?,
            due: changed(&self.due, &before.due, || {
                self.due()?
                    .ok_or_else(|| invalid("a due date, once set, cannot be removed; pick a date"))
            })?,
            findings: changed(&self.findings, &before.findings, || {
                Ok(split_list(&self.findings))
            })?,
            controls: changed(&self.controls, &before.controls, || {
                Ok(split_list(&self.controls))
            })?,
            agents: changed(&self.agents, &before.agents, || {
                Ok(split_list(&self.agents))
            })?,
        })
    }
}

#[component]
fn DialogView(dialog: Dialog, register: Register) -> impl IntoView {
    let close = move || register.dialog.set(None);
    let body = match dialog {
        Dialog::New(prefill) => {
            let form = prefill
                .as_ref()
                .map(RiskForm::of_new)
                .unwrap_or_else(|| RiskForm {
                    treatment: "mitigate".into(),
                    ..RiskForm::default()
                });
            view! { <RiskFormDialog form before=None register /> }.into_any()
        }
        Dialog::Edit(risk) => {
            let form = RiskForm::of(&risk);
            view! { <RiskFormDialog form=form.clone() before=Some((risk.id, form)) register /> }
                .into_any()
        }
        Dialog::Accept(risk) => view! { <AcceptDialog risk register /> }.into_any(),
        Dialog::Close(risk) => view! { <ReasonDialog risk register reopen=false /> }.into_any(),
        Dialog::Reopen(risk) => view! { <ReasonDialog risk register reopen=true /> }.into_any(),
    };
    view! {
        <div class="dialog-backdrop" on:click=move |_| close()>
            <div class="dialog" role="dialog" aria-modal="true" on:click=|e| e.stop_propagation()>
                {body}
            </div>
        </div>
    }
}

fn rating_select(
    id: &'static str,
    value: RwSignal<RiskForm>,
    get: fn(&RiskForm) -> String,
    set: fn(&mut RiskForm, String),
    optional: bool,
) -> impl IntoView {
    let options = [
        ("1", "1 · rare / negligible"),
        ("2", "2 · unlikely / minor"),
        ("3", "3 · possible / moderate"),
        ("4", "4 · likely / major"),
        ("5", "5 · almost certain / severe"),
    ];
    view! {
        <select id=id on:change=move |e| { let v = event_target_value(&e); value.update(|f| set(f, v)); }>
            <option value="" selected=move || value.with(|f| get(f).is_empty())>
                {if optional { "— not assessed" } else { "— choose" }}
            </option>
            {options
                .into_iter()
                .map(|(v, label)| view! { <option value=v selected=move || value.with(|f| get(f) == v)>{label}</option> })
                .collect_view()}
        </select>
    }
}

#[component]
fn RiskFormDialog(
    form: RiskForm,
    before: Option<(i64, RiskForm)>,
    register: Register,
) -> impl IntoView {
    let value = RwSignal::new(form);
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let editing = before.as_ref().map(|(id, _)| *id);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let form = value.get();
        let before = before.clone();
        busy.set(true);
        spawn_local(async move {
            let result = match &before {
                None => match form.to_new() {
                    Ok(new) => ipc::add_risk(&new).await,
                    Err(e) => Err(e),
                },
                Some((id, original)) => match form.to_change(original) {
                    Ok(change) => ipc::update_risk(*id, &change).await,
                    Err(e) => Err(e),
                },
            };
            let _ = busy.try_set(false);
            match result {
                Ok(risk) => {
                    register.dialog.set(None);
                    register.changed(&risk);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    let text = move |id: &'static str,
                     label: &'static str,
                     help: &'static str,
                     get: fn(&RiskForm) -> String,
                     set: fn(&mut RiskForm, String)| {
        view! {
            <label class="form-row" for=id>
                <span class="form-label">{label}</span>
                <input
                    type="text"
                    id=id
                    autocomplete="off"
                    spellcheck="false"
                    prop:value=move || value.with(get)
                    on:input=move |e| { let v = event_target_value(&e); value.update(|f| set(f, v)); }
                />
                {(!help.is_empty()).then(|| view! { <span class="form-help muted">{help}</span> })}
            </label>
        }
    };
    view! {
        <form class="risk-form" id="risk-form" on:submit=submit novalidate=true>
            <h2>{match editing { Some(id) => format!("Edit R-{id}"), None => "New risk".to_owned() }}</h2>
            {text("risk-title", "Title", "", |f| f.title.clone(), |f, v| f.title = v)}
            <label class="form-row" for="risk-description">
                <span class="form-label">"Description"</span>
                <textarea
                    id="risk-description"
                    rows="3"
                    prop:value=move || value.with(|f| f.description.clone())
                    on:input=move |e| { let v = event_target_value(&e); value.update(|f| f.description = v); }
                ></textarea>
            </label>
            <div class="form-grid">
                <label class="form-row"><span class="form-label">"Likelihood"</span>
                    {rating_select("risk-likelihood", value, |f| f.likelihood.clone(), |f, v| f.likelihood = v, false)}
                </label>
                <label class="form-row"><span class="form-label">"Impact"</span>
                    {rating_select("risk-impact", value, |f| f.impact.clone(), |f, v| f.impact = v, false)}
                </label>
                <label class="form-row"><span class="form-label">"Residual likelihood"</span>
                    {rating_select("risk-residual-likelihood", value, |f| f.residual_likelihood.clone(), |f, v| f.residual_likelihood = v, true)}
                </label>
                <label class="form-row"><span class="form-label">"Residual impact"</span>
                    {rating_select("risk-residual-impact", value, |f| f.residual_impact.clone(), |f, v| f.residual_impact = v, true)}
                </label>
                <label class="form-row"><span class="form-label">"Treatment"</span>
                    <select id="risk-treatment" on:change=move |e| { let v = event_target_value(&e); value.update(|f| f.treatment = v); }>
                        {["mitigate", "accept", "transfer", "avoid"]
                            .into_iter()
                            .map(|t| view! { <option value=t selected=move || value.with(|f| f.treatment == t)>{t}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label class="form-row" for="risk-due"><span class="form-label">"Due"</span>
                    <input type="date" id="risk-due"
                        prop:value=move || value.with(|f| f.due.clone())
                        on:input=move |e| { let v = event_target_value(&e); value.update(|f| f.due = v); }
                        on:change=move |e| { let v = event_target_value(&e); value.update(|f| f.due = v); }
                    />
                </label>
            </div>
            {text("risk-owner", "Owner", "Who answers for this risk (a person or a team).", |f| f.owner.clone(), |f, v| f.owner = v)}
            {text("risk-categories", "Categories", "Framework items, comma-separated: owasp-nhi:NHI7, owasp-asi:ASI03, nist-ai-rmf:MANAGE 1.4, maestro:L7-T03.", |f| f.categories.clone(), |f, v| f.categories = v)}
            {text("risk-findings", "Linked findings", "Finding ids (check@subject) or whole checks, comma-separated.", |f| f.findings.clone(), |f, v| f.findings = v)}
            {text("risk-controls", "Linked controls", "Control ids, comma-separated: C01, C13.", |f| f.controls.clone(), |f, v| f.controls = v)}
            {text("risk-agents", "Linked agents", "Agent ids, comma-separated.", |f| f.agents.clone(), |f, v| f.agents = v)}
            {move || error.get().map(|e| view! { <div class="banner banner-error" role="alert" id="dialog-error">{e.message}</div> })}
            <div class="dialog-actions">
                <button type="button" class="button" on:click=move |_| register.dialog.set(None)>"Cancel"</button>
                <button type="submit" class="button primary" id="save-risk" disabled=move || busy.get()>
                    {if editing.is_some() { "Save changes" } else { "Create risk" }}
                </button>
            </div>
        </form>
    }
}

#[component]
fn AcceptDialog(risk: Risk, register: Register) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    let expires = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let id = risk.id;
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let text = reason.get();
        let Some(until) = parse_day(&expires.get()) else {
            error.set(Some(invalid(
                "pick the date the acceptance expires (every acceptance expires)",
            )));
            return;
        };
        spawn_local(async move {
            match ipc::accept_risk(id, &text, until).await {
                Ok(risk) => {
                    register.dialog.set(None);
                    register.changed(&risk);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    view! {
        <form class="risk-form" id="accept-form" on:submit=submit novalidate=true>
            <h2>{format!("Accept R-{}", risk.id)}</h2>
            <p class="muted">{risk.title.clone()}</p>
            <div class="field accepted-by">
                <span class="form-label">"Accepted by"</span>
                <span id="accepting-user">
                    {move || register.actor.get().map(|a| format!("{}@{}", a.user, a.host)).unwrap_or_else(|| "…".into())}
                </span>
                <span class="muted form-help">"The user this console runs as; recorded in the history and the audit log."</span>
            </div>
            <label class="form-row" for="accept-reason">
                <span class="form-label">"Reason"</span>
                <textarea id="accept-reason" rows="3"
                    placeholder="Why the residual risk is tolerable, and what compensates for it"
                    prop:value=move || reason.get()
                    on:input=move |e| reason.set(event_target_value(&e))
                ></textarea>
            </label>
            <label class="form-row" for="accept-expires">
                <span class="form-label">"Expires"</span>
                <input type="date" id="accept-expires"
                    prop:value=move || expires.get()
                    on:input=move |e| expires.set(event_target_value(&e))
                    on:change=move |e| expires.set(event_target_value(&e))
                />
                <span class="form-help muted">"On this day the risk is open again, and its findings fail again."</span>
            </label>
            {move || error.get().map(|e| view! { <div class="banner banner-error" role="alert" id="dialog-error">{e.message}</div> })}
            <div class="dialog-actions">
                <button type="button" class="button" on:click=move |_| register.dialog.set(None)>"Cancel"</button>
                <button type="submit" class="button primary" id="confirm-accept">"Accept risk"</button>
            </div>
        </form>
    }
}

#[component]
fn ReasonDialog(risk: Risk, register: Register, reopen: bool) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let id = risk.id;
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let text = reason.get();
        spawn_local(async move {
            let result = if reopen {
                ipc::reopen_risk(id, &text).await
            } else {
                ipc::close_risk(id, &text).await
            };
            match result {
                Ok(risk) => {
                    register.dialog.set(None);
                    register.changed(&risk);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    let (title, button, help) = if reopen {
        (
            "Reopen",
            "Reopen risk",
            "The risk becomes open; any acceptance is withdrawn (it stays in the history).",
        )
    } else {
        (
            "Close",
            "Close risk",
            "Closed risks leave the heat maps; they can be reopened.",
        )
    };
    view! {
        <form class="risk-form" id="reason-form" on:submit=submit novalidate=true>
            <h2>{format!("{title} R-{}", risk.id)}</h2>
            <p class="muted">{risk.title.clone()}</p>
            <label class="form-row" for="reason-text">
                <span class="form-label">"Reason"</span>
                <textarea id="reason-text" rows="3"
                    prop:value=move || reason.get()
                    on:input=move |e| reason.set(event_target_value(&e))
                ></textarea>
                <span class="form-help muted">{help}</span>
            </label>
            {move || error.get().map(|e| view! { <div class="banner banner-error" role="alert" id="dialog-error">{e.message}</div> })}
            <div class="dialog-actions">
                <button type="button" class="button" on:click=move |_| register.dialog.set(None)>"Cancel"</button>
                <button type="submit" class="button primary" id="confirm-reason">{button}</button>
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_lists_read_as_typed() {
        assert_eq!(
            parse_day("2027-03-31").map(|t| t.to_rfc3339()),
            Some("2027-03-31T00:00:00+00:00".to_owned())
        );
        assert_eq!(parse_day("31/03/2027"), None);
        assert_eq!(parse_day("2027-02-30"), None);
        assert_eq!(
            split_list(" owasp-nhi:NHI7, ,C01\nC13 "),
            ["owasp-nhi:NHI7", "C01", "C13"]
        );
    }

    #[test]
    fn an_edit_sends_only_what_changed() {
        let before = RiskForm {
            title: "A".into(),
            likelihood: "3".into(),
            impact: "4".into(),
            treatment: "mitigate".into(),
            ..RiskForm::default()
        };
        let after = RiskForm {
            impact: "5".into(),
            owner: "cro".into(),
            ..before.clone()
        };
        let change = after.to_change(&before).unwrap();
        assert_eq!(
            change,
            RiskChange {
                impact: Some(5),
                owner: Some("cro".into()),
                ..RiskChange::default()
            }
        );
        let bad = RiskForm {
            due: "tomorrow".into(),
            ..before.clone()
        };
        assert!(
            bad.to_change(&before)
                .unwrap_err()
                .message
                .contains("`tomorrow`")
        );
    }

    #[test]
    fn sorting_by_due_puts_undated_risks_last() {
        let risk = |id: i64, due: Option<&str>| Risk {
            id,
            due: due.and_then(parse_day),
            ..sample()
        };
        let order: Vec<i64> = sorted(
            vec![
                risk(1, None),
                risk(2, Some("2027-01-01")),
                risk(3, Some("2026-12-01")),
            ],
            SortKey::Due,
            false,
        )
        .iter()
        .map(|r| r.id)
        .collect();
        assert_eq!(order, [3, 2, 1]);
    }

    fn sample() -> Risk {
        let t = parse_day("2026-11-01").unwrap();
        Risk {
            id: 0,
            title: String::new(),
            description: String::new(),
            categories: vec![],
            likelihood: 1,
            impact: 1,
            inherent_score: 1,
            inherent_level: "low".into(),
            residual_likelihood: None,
            residual_impact: None,
            residual_score: 1,
            residual_level: "low".into(),
            owner: None,
            treatment: "mitigate".into(),
            status: "open".into(),
            reopened: false,
            due: None,
            acceptance: None,
            findings: vec![],
            controls: vec![],
            agents: vec![],
            created_at: t,
            updated_at: t,
            at: t,
        }
    }
}
