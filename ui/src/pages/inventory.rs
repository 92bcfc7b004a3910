//! One table per kind: text search, value filters, sortable columns, and pages of rows fetched
//! from the backend (so a million grants never reach the webview at once).

use bridle_protocol::ApiError;
use bridle_protocol::console::{ColumnFilter, InventoryKind, InventoryPage, InventoryQuery};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::format::number;
use crate::ipc;
use crate::route::{self, Route};
use crate::shell::use_shell;
use crate::widgets::{ErrorBanner, Loading};

const PAGE_SIZE: u64 = 50;

fn title(kind: InventoryKind) -> &'static str {
    match kind {
        InventoryKind::Agents => "Agents",
        InventoryKind::Identities => "Identities",
        InventoryKind::Credentials => "Credentials",
        InventoryKind::Resources => "Resources",
        InventoryKind::Tools => "Tools",
        InventoryKind::Grants => "Grants",
    }
}

fn blurb(kind: InventoryKind) -> &'static str {
    match kind {
        InventoryKind::Agents => {
            "AI agents, workflows and services, with their owners and autonomy."
        }
        InventoryKind::Identities => "Workload identities that agents and tools run as.",
        InventoryKind::Credentials => {
            "Credential metadata: issue, expiry, rotation and use. Never secret values."
        }
        InventoryKind::Resources => {
            "What can be read or changed, with sensitivity and crown jewels."
        }
        InventoryKind::Tools => "Capabilities agents call, and the resources they act on.",
        InventoryKind::Grants => "Who may do what to which target, standing or just-in-time.",
    }
}

#[component]
pub fn Inventory(kind: InventoryKind) -> impl IntoView {
    let shell = use_shell();
    let state = shell.table(kind);
    let page = RwSignal::new(None::<Result<InventoryPage, ApiError>>);
    let request = StoredValue::new(0u64);

    Effect::new(move |_| {
        shell.generation.track();
        let table = state.get();
        let query = InventoryQuery {
            kind,
            search: table.search,
            filters: table.filters,
            sort: table.sort,
            descending: table.descending,
            offset: table.offset,
            limit: PAGE_SIZE,
        };
        request.update_value(|n| *n += 1);
        let mine = request.get_value();
        spawn_local(async move {
            let result = ipc::inventory_page(&query).await;
            if request.try_get_value() == Some(mine) {
                let _ = page.try_set(Some(result));
            }
        });
    });

    let set_search = move |text: String| {
        state.update(|t| {
            t.search = text;
            t.offset = 0;
        })
    };
    let set_filter = move |column: String, value: Option<String>| {
        state.update(|t| {
            t.filters.retain(|f| f.column != column);
            if let Some(value) = value {
                t.filters.push(ColumnFilter { column, value });
            }
            t.offset = 0;
        })
    };

    view! {
        <section class="inventory" data-kind=kind.as_str()>
            <header class="page-header">
                <div>
                    <h1>{title(kind)}</h1>
                    <p class="muted">{blurb(kind)}</p>
                </div>
            </header>
            <nav class="tabs" aria-label="Kinds">
                {InventoryKind::ALL
                    .into_iter()
                    .map(|k| {
                        view! {
                            <a
                                class="tab"
                                class:active=k == kind
                                aria-current=(k == kind).then_some("page")
                                href=Route::Inventory(k).href()
                            >
                                {title(k)}
                            </a>
                        }
                    })
                    .collect_view()}
            </nav>
            <div class="toolbar">
                <input
                    id="table-search"
                    class="table-search"
                    type="search"
                    placeholder=format!("Search {}…", title(kind).to_lowercase())
                    autocomplete="off"
                    spellcheck="false"
                    prop:value=move || state.with(|t| t.search.clone())
                    on:input=move |event| set_search(event_target_value(&event))
                />
                {move || {
                    page.with(|p| match p {
                        Some(Ok(p)) => {
                            p.facets
                                .iter()
                                .map(|facet| {
                                    let column = facet.column.clone();
                                    let current = state
                                        .with(|t| {
                                            t.filters
                                                .iter()
                                                .find(|f| f.column == column)
                                                .map(|f| f.value.clone())
                                        });
                                    let options = facet
                                        .values
                                        .iter()
                                        .map(|v| {
                                            let label = if v.value.is_empty() {
                                                "(none)".to_owned()
                                            } else {
                                                v.value.clone()
                                            };
                                            let selected = current.as_deref() == Some(v.value.as_str());
                                            view! {
                                                <option value=v.value.clone() selected=selected>
                                                    {format!("{label} ({})", number(v.count))}
                                                </option>
                                            }
                                        })
                                        .collect_view();
                                    let on_change = {
                                        let column = column.clone();
                                        move |event| {
                                            let value = event_target_value(&event);
                                            let value = (value != "\u{1}").then_some(value);
                                            set_filter(column.clone(), value);
                                        }
                                    };
                                    view! {
                                        <label class="facet">
                                            <span class="facet-label">{facet.label.clone()}</span>
                                            <select data-column=column.clone() on:change=on_change>
                                                <option value="\u{1}" selected=current.is_none()>
                                                    "Any"
                                                </option>
                                                {options}
                                            </select>
                                        </label>
                                    }
                                })
                                .collect_view()
                                .into_any()
                        }
                        _ => ().into_any(),
                    })
                }}
                <ActiveFilters kind />
            </div>
            {move || match page.get() {
                None => view! { <Loading label="Loading…" /> }.into_any(),
                Some(Err(error)) => view! { <ErrorBanner error /> }.into_any(),
                Some(Ok(p)) => view! { <Table page=p kind /> }.into_any(),
            }}
        </section>
    }
}

/// Filters on columns without a drop-down (set from the dashboard), shown as removable chips.
#[component]
fn ActiveFilters(kind: InventoryKind) -> impl IntoView {
    let shell = use_shell();
    let state = shell.table(kind);
    move || {
        let chips: Vec<ColumnFilter> = state.with(|t| {
            t.filters
                .iter()
                .filter(|f| f.column == "owner")
                .cloned()
                .collect()
        });
        chips
            .into_iter()
            .map(|f| {
                let column = f.column.clone();
                let value = if f.value.is_empty() {
                    "(none)".to_owned()
                } else {
                    f.value.clone()
                };
                view! {
                    <button
                        class="chip"
                        title="Remove this filter"
                        on:click=move |_| {
                            state.update(|t| {
                                t.filters.retain(|x| x.column != column);
                                t.offset = 0;
                            })
                        }
                    >
                        {format!("{}: {value}", f.column)}
                        <span aria-hidden="true">" ×"</span>
                    </button>
                }
            })
            .collect_view()
    }
}

#[component]
fn Table(page: InventoryPage, kind: InventoryKind) -> impl IntoView {
    let shell = use_shell();
    let state = shell.table(kind);
    let noun = title(kind).to_lowercase();
    if page.matched == 0 {
        let message = if page.total == 0 {
            format!("There are no {noun} in the inventory yet.")
        } else {
            format!("No {noun} match this search and these filters.")
        };
        return view! {
            <div class="empty-state card" id="table-empty">
                <p>{message}</p>
                {(page.total > 0)
                    .then(|| {
                        view! {
                            <button
                                class="button"
                                on:click=move |_| state.set(Default::default())
                            >
                                "Clear search and filters"
                            </button>
                        }
                    })}
            </div>
        }
        .into_any();
    }

    let sort_key = state
        .with(|t| t.sort.clone())
        .unwrap_or_else(|| "id".to_owned());
    let descending = state.with(|t| t.descending);
    let headers = page
        .columns
        .iter()
        .map(|column| {
            let key = column.key.clone();
            let active = key == sort_key;
            let aria = match (active, descending) {
                (false, _) => "none",
                (true, false) => "ascending",
                (true, true) => "descending",
            };
            let indicator = match (active, descending) {
                (false, _) => "",
                (true, false) => " ▲",
                (true, true) => " ▼",
            };
            let on_click = move |_| {
                let key = key.clone();
                state.update(|t| {
                    let current = t.sort.clone().unwrap_or_else(|| "id".to_owned());
                    t.descending = current == key && !t.descending;
                    t.sort = Some(key);
                    t.offset = 0;
                })
            };
            view! {
                <th aria-sort=aria data-column=column.key.clone()>
                    <button class="sort" on:click=on_click>
                        {column.label.clone()}
                        <span class="sort-indicator">{indicator}</span>
                    </button>
                </th>
            }
        })
        .collect_view();

    let rows = page
        .rows
        .iter()
        .map(|row| {
            let href = route::entity_href(&row.id);
            let id = row.id.clone();
            let cells = row
                .cells
                .iter()
                .skip(1)
                .map(|cell| {
                    let shown = if cell.is_empty() {
                        "—".to_owned()
                    } else {
                        cell.clone()
                    };
                    view! {
                        <td class:muted=cell.is_empty() title=cell.clone()>
                            {shown}
                        </td>
                    }
                })
                .collect_view();
            view! {
                <tr on:click=move |_| route::go(&Route::Entity(id.clone()))>
                    <td class="id-cell">
                        <a href=href title=row.id.clone() on:click=|event| event.stop_propagation()>
                            {row.id.clone()}
                        </a>
                    </td>
                    {cells}
                </tr>
            }
        })
        .collect_view();

    let first = page.offset + 1;
    let last = page.offset + page.rows.len() as u64;
    let summary = if page.matched == page.total {
        format!(
            "{}–{} of {} {noun}",
            number(first),
            number(last),
            number(page.total)
        )
    } else {
        format!(
            "{}–{} of {} matching (of {} {noun})",
            number(first),
            number(last),
            number(page.matched),
            number(page.total)
        )
    };
    let has_previous = page.offset > 0;
    let has_next = last < page.matched;
    let pages = page.matched.div_ceil(PAGE_SIZE);
    let current_page = page.offset / PAGE_SIZE + 1;

    view! {
        <div class="card table-card">
            <div class="table-scroll">
                <table class="data inventory-table" id="inventory-table">
                    <thead>
                        <tr>{headers}</tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <div class="pager">
                <span class="muted" id="table-summary" data-matched=page.matched data-total=page.total>
                    {summary}
                </span>
                <span class="pager-buttons">
                    <button
                        class="button small"
                        disabled=!has_previous
                        on:click=move |_| state.update(|t| t.offset = t.offset.saturating_sub(PAGE_SIZE))
                    >
                        "← Previous"
                    </button>
                    <span class="muted">{format!("Page {current_page} of {pages}")}</span>
                    <button
                        class="button small"
                        disabled=!has_next
                        on:click=move |_| state.update(|t| t.offset += PAGE_SIZE)
                    >
                        "Next →"
                    </button>
                </span>
            </div>
        </div>
    }
    .into_any()
}
