//! Findings: every check's verdict per subject, filtered by framework, severity, status and
//! text (by the backend), worst first. A row expands to the evidence that decided it, the
//! entities involved, the framework items it bears on through its controls, and the privilege
//! paths behind it, each with a link to the graph view.

use bridle_protocol::ApiError;
use bridle_protocol::Timestamp;
use bridle_protocol::compliance::{Finding, FrameworkInfo};
use bridle_protocol::console_compliance::{FindingsPage, FindingsQuery};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::format::{number, when};
use crate::ipc;
use crate::route;
use crate::shell::use_shell;
use crate::widgets::{EntityLink, ErrorBanner, Loading};
use crate::widgets_compliance::{
    FrameworkItemChip, SeverityBadge, StatusBadge, framework_abbreviation, framework_short,
    graph_href,
};

const PAGE_SIZE: u64 = 50;

/// The filters, kept when the user leaves the page and comes back.
#[derive(Debug, Clone, Default, PartialEq)]
struct Filters {
    framework: String,
    severity: String,
    status: String,
    search: String,
    offset: u64,
}

#[component]
pub fn Findings() -> impl IntoView {
    let shell = use_shell();
    let filters = RwSignal::new(Filters {
        framework: route::query_param("framework").unwrap_or_default(),
        severity: route::query_param("severity").unwrap_or_default(),
        status: route::query_param("status").unwrap_or_default(),
        ..Filters::default()
    });
    let page = RwSignal::new(None::<Result<FindingsPage, ApiError>>);
    let frameworks = RwSignal::new(Vec::<FrameworkInfo>::new());
    let request = StoredValue::new(0u64);
    spawn_local(async move {
        if let Ok(list) = ipc::frameworks().await {
            let _ = frameworks.try_set(list);
        }
    });
    // The first page is evaluated now; its filters and further pages keep that evaluation time
    // (stated in the header), so the backend answers them from one evaluation instead of
    // re-running every check per click. A data change (a new generation) evaluates afresh.
    let pinned = RwSignal::new(None::<(u64, Timestamp)>);
    Effect::new(move |_| {
        let generation = shell.generation.get();
        let f = filters.get();
        let some = |s: String| (!s.is_empty()).then_some(s);
        let at = pinned
            .get_untracked()
            .filter(|(of, _)| *of == generation)
            .map(|(_, at)| at);
        let query = FindingsQuery {
            at,
            framework: some(f.framework),
            severity: some(f.severity),
            status: some(f.status),
            search: f.search,
            offset: f.offset,
            limit: PAGE_SIZE,
        };
        request.update_value(|n| *n += 1);
        let mine = request.get_value();
        spawn_local(async move {
            let result = ipc::findings_page(&query).await;
            if request.try_get_value() == Some(mine) {
                if let (None, Ok(evaluated)) = (query.at, &result) {
                    let _ = pinned.try_set(Some((generation, evaluated.at)));
                }
                let _ = page.try_set(Some(result));
            }
        });
    });

    let set = move |change: fn(&mut Filters, String)| {
        move |event: leptos::ev::Event| {
            let value = event_target_value(&event);
            filters.update(|f| {
                change(f, value);
                f.offset = 0;
            });
        }
    };
    let facet_options =
        move |name: &'static str, values: &'static [(&'static str, &'static str)]| {
            let current = move || {
                filters.with(|f| match name {
                    "status" => f.status.clone(),
                    _ => f.severity.clone(),
                })
            };
            let counts = move |value: &str| {
                page.with(|p| match p {
                    Some(Ok(p)) => {
                        let map = if name == "status" {
                            &p.by_status
                        } else {
                            &p.by_severity
                        };
                        map.get(value).map(|n| format!(" ({})", number(*n)))
                    }
                    _ => None,
                })
                .unwrap_or_default()
            };
            view! {
                <option value="" selected=move || current().is_empty()>
                    "Any"
                </option>
                {values
                    .iter()
                    .map(|(value, label)| {
                        view! {
                            <option value=*value selected=move || current() == *value>
                                {move || format!("{label}{}", counts(value))}
                            </option>
                        }
                    })
                    .collect_view()}
            }
        };

    view! {
        <section class="findings-page">
            <header class="page-header">
                <div>
                    <h1>"Findings"</h1>
                    <p class="muted" id="findings-basis">
                        {move || {
                            page.with(|p| match p {
                                Some(Ok(p)) => {
                                    format!(
                                        "Checks evaluated at {} on snapshot {} · rotation limit {} days, unused after {} days, max TTL {} days.",
                                        when(&p.at),
                                        p.snapshot.map_or("—".to_owned(), |s| format!("#{s}")),
                                        p.limits.rotation_days,
                                        p.limits.unused_days,
                                        p.limits.max_ttl_days,
                                    )
                                }
                                _ => "Each automated check's verdict for each subject.".to_owned(),
                            })
                        }}
                    </p>
                </div>
                <a class="button" href="#/risks">"Risk register"</a>
            </header>
            <Totals page filters />
            <div class="toolbar">
                <input
                    id="findings-search"
                    class="table-search"
                    type="search"
                    placeholder="Search ids, subjects, entities…"
                    autocomplete="off"
                    spellcheck="false"
                    prop:value=move || filters.with(|f| f.search.clone())
                    on:input=set(|f, v| f.search = v)
                />
                <label class="facet">
                    <span class="facet-label">"Framework"</span>
                    <select id="filter-framework" on:change=set(|f, v| f.framework = v)>
                        <option value="" selected=move || filters.with(|f| f.framework.is_empty())>
                            "All frameworks"
                        </option>
                        {move || {
                            frameworks
                                .get()
                                .into_iter()
                                .map(|fw| {
                                    let id = fw.id.clone();
                                    let selected = {
                                        let id = id.clone();
                                        move || filters.with(|f| f.framework == id)
                                    };
                                    view! {
                                        <option value=id.clone() selected=selected>
                                            {fw.name.clone()}
                                        </option>
                                    }
                                })
                                .collect_view()
                        }}
                    </select>
                </label>
                <label class="facet">
                    <span class="facet-label">"Severity"</span>
                    <select id="filter-severity" on:change=set(|f, v| f.severity = v)>
                        {facet_options(
                            "severity",
                            &[
                                ("critical", "Critical"),
                                ("high", "High"),
                                ("medium", "Medium"),
                                ("low", "Low"),
                            ],
                        )}
                    </select>
                </label>
                <label class="facet">
                    <span class="facet-label">"Status"</span>
                    <select id="filter-status" on:change=set(|f, v| f.status = v)>
                        {facet_options(
                            "status",
                            &[
                                ("fail", "Fail"),
                                ("unknown", "Unknown"),
                                ("accepted", "Accepted"),
                                ("pass", "Pass"),
                            ],
                        )}
                    </select>
                </label>
                {move || {
                    (filters.get() != Filters::default())
                        .then(|| {
                            view! {
                                <button
                                    class="button small"
                                    id="clear-filters"
                                    on:click=move |_| filters.set(Filters::default())
                                >
                                    "Clear filters"
                                </button>
                            }
                        })
                }}
            </div>
            {move || match page.get() {
                None => view! { <Loading label="Running the checks…" /> }.into_any(),
                Some(Err(error)) => view! { <ErrorBanner error /> }.into_any(),
                Some(Ok(p)) => view! { <FindingsTable page=p filters /> }.into_any(),
            }}
        </section>
    }
}

/// The four status figures of the chosen framework; clicking one filters by it.
#[component]
fn Totals(
    page: RwSignal<Option<Result<FindingsPage, ApiError>>>,
    filters: RwSignal<Filters>,
) -> impl IntoView {
    let figure = move |status: &'static str, label: &'static str, blurb: &'static str| {
        let value = move || {
            page.with(|p| match p {
                Some(Ok(p)) => {
                    let t = p.totals;
                    number(match status {
                        "fail" => t.fail,
                        "unknown" => t.unknown,
                        "accepted" => t.accepted,
                        _ => t.pass,
                    })
                }
                _ => "…".to_owned(),
            })
        };
        view! {
            <button
                class=format!("status-figure status-{status}")
                class:selected=move || filters.with(|f| f.status == status)
                data-total=status
                on:click=move |_| {
                    filters
                        .update(|f| {
                            f.status = if f.status == status { String::new() } else { status.to_owned() };
                            f.offset = 0;
                        })
                }
            >
                <span class="stat-value">{value}</span>
                <span class="attention-title">{label}</span>
                <span class="muted">{blurb}</span>
            </button>
        }
    };
    view! {
        <div class="status-figures" id="findings-totals">
            {figure("fail", "Failing", "A control is not met.")}
            {figure("unknown", "Unknown", "The data needed to decide is missing.")}
            {figure("accepted", "Accepted", "Failing, covered by an accepted risk.")}
            {figure("pass", "Passing", "The control is met.")}
        </div>
    }
}

#[component]
fn FindingsTable(page: FindingsPage, filters: RwSignal<Filters>) -> impl IntoView {
    let open = RwSignal::new(None::<String>);
    if page.matched == 0 {
        return view! {
            <div class="empty-state card" id="findings-empty">
                <p>"No finding matches these filters."</p>
                <button class="button" on:click=move |_| filters.set(Filters::default())>
                    "Clear filters"
                </button>
            </div>
        }
        .into_any();
    }
    let first = page.offset + 1;
    let last = page.offset + page.findings.len() as u64;
    let has_previous = page.offset > 0;
    let has_next = last < page.matched;
    let rows = page
        .findings
        .into_iter()
        .map(|finding| view! { <FindingRow finding open /> })
        .collect_view();
    view! {
        <div class="card table-card">
            <div class="table-scroll">
                <table class="data findings-table" id="findings-table">
                    <thead>
                        <tr>
                            <th class="col-toggle"></th>
                            <th>"Status"</th>
                            <th>"Severity"</th>
                            <th>"Check"</th>
                            <th>"Subject"</th>
                            <th>"Summary"</th>
                            <th>"Frameworks"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <div class="pager">
                <span class="muted" id="findings-summary" data-matched=page.matched>
                    {format!(
                        "{}–{} of {} matching findings",
                        number(first),
                        number(last),
                        number(page.matched),
                    )}
                </span>
                <span class="pager-buttons">
                    <button
                        class="button small"
                        disabled=!has_previous
                        on:click=move |_| {
                            filters.update(|f| f.offset = f.offset.saturating_sub(PAGE_SIZE))
                        }
                    >
                        "← Previous"
                    </button>
                    <button
                        class="button small"
                        disabled=!has_next
                        on:click=move |_| filters.update(|f| f.offset += PAGE_SIZE)
                    >
                        "Next →"
                    </button>
                </span>
            </div>
        </div>
    }
    .into_any()
}

#[component]
fn FindingRow(finding: Finding, open: RwSignal<Option<String>>) -> impl IntoView {
    let id = finding.id.clone();
    let is_open = {
        let id = id.clone();
        move || open.with(|o| o.as_deref() == Some(id.as_str()))
    };
    let toggle = {
        let id = id.clone();
        move |_| {
            open.update(|o| {
                *o = if o.as_deref() == Some(id.as_str()) {
                    None
                } else {
                    Some(id.clone())
                }
            })
        }
    };
    let mut frameworks: Vec<&str> = finding
        .framework_items
        .iter()
        .map(|i| i.framework.as_str())
        .collect();
    frameworks.dedup();
    let framework_labels = frameworks
        .iter()
        .map(|f| view! { <span class="fw-tag" title=framework_short(f)>{framework_abbreviation(f)}</span> })
        .collect_view();
    let detail = finding.clone();
    let is_open_detail = is_open.clone();
    let is_open_class = is_open.clone();
    let is_open_aria = is_open.clone();
    view! {
        <tr
            class="finding-row"
            class:open=is_open_class
            data-finding-id=finding.id.clone()
            data-status=finding.status.clone()
            data-severity=finding.severity.clone()
            on:click=toggle
            aria-expanded=move || is_open_aria().to_string()
        >
            <td class="col-toggle" aria-hidden="true">
                {move || if is_open() { "▾" } else { "▸" }}
            </td>
            <td>
                <StatusBadge status=finding.status.clone() />
            </td>
            <td>
                <SeverityBadge severity=finding.severity.clone() />
            </td>
            <td class="check-cell" title=finding.check.clone()>
                {finding.title.clone()}
            </td>
            <td class="subject-cell" title=finding.subject.clone()>
                <code>{finding.subject.clone()}</code>
            </td>
            <td class="summary-cell" title=finding.summary.clone()>
                {finding.summary.clone()}
            </td>
            <td class="fw-cell">{framework_labels}</td>
        </tr>
        <Show when=is_open_detail>
            <tr class="finding-detail-row">
                <td colspan="7">
                    <FindingDetail finding=detail.clone() />
                </td>
            </tr>
        </Show>
    }
}

#[component]
fn FindingDetail(finding: Finding) -> impl IntoView {
    let evidence = finding
        .evidence
        .iter()
        .map(|line| view! { <li>{line.clone()}</li> })
        .collect_view();
    let entities = finding
        .entities
        .iter()
        .map(|id| view! { <li><EntityLink id=id.clone() /></li> })
        .collect_view();
    let paths = finding
        .paths
        .iter()
        .map(|path| {
            let from = path.first().cloned().unwrap_or_default();
            let to = path.last().cloned().unwrap_or_default();
            let hops = path
                .iter()
                .enumerate()
                .map(|(index, id)| {
                    view! {
                        {(index > 0).then(|| view! { <span class="hop-arrow">"→"</span> })}
                        <EntityLink id=id.clone() />
                    }
                })
                .collect_view();
            view! {
                <li class="privilege-path">
                    <span class="hops">{hops}</span>
                    <a class="button small graph-link" href=graph_href(&from, &to)>
                        "Open in graph"
                    </a>
                </li>
            }
        })
        .collect_view();
    let items = finding
        .framework_items
        .iter()
        .map(|item| view! { <FrameworkItemChip item=item.clone() /> })
        .collect_view();
    let controls = finding.controls.join(", ");
    view! {
        <div class="finding-detail" data-detail-of=finding.id.clone()>
            <div class="detail-main">
                <p class="detail-summary">{finding.summary.clone()}</p>
                <h3>"Evidence"</h3>
                <ul class="evidence">{evidence}</ul>
                {(!finding.paths.is_empty())
                    .then(|| {
                        view! {
                            <h3>"Privilege paths"</h3>
                            <ul class="plain paths">{paths}</ul>
                        }
                    })}
                {finding
                    .accepted_by
                    .map(|risk| {
                        view! {
                            <p class="accepted-note">
                                "Accepted under "
                                <a href="#/risks">{format!("R-{risk}")}</a>
                                ": this failure does not fail the gate while the acceptance holds."
                            </p>
                        }
                    })}
            </div>
            <div class="detail-side">
                <h3>"Entities"</h3>
                <ul class="plain entity-list">{entities}</ul>
                <h3>"Controls"</h3>
                <p class="muted">
                    <code>{finding.check.clone()}</code>
                    " · "
                    {if controls.is_empty() { "no control".to_owned() } else { controls }}
                </p>
                <h3>"Framework items (via its controls)"</h3>
                <div class="chips">{items}</div>
            </div>
        </div>
    }
}
