//! The window's frame: start-up (or the error screen), navigation, the router outlet, and the
//! Ctrl+K search palette.

use bridle_protocol::console::{ColumnFilter, ConsoleInfo, InventoryKind, SearchQuery};
use bridle_protocol::{ApiError, EntityRef, ErrorCode};
use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::ipc;
use crate::pages;
use crate::route::{self, Route};
use crate::widgets::KindBadge;

/// What one inventory table remembers while the user visits entity pages and comes back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableState {
    pub search: String,
    pub filters: Vec<ColumnFilter>,
    pub sort: Option<String>,
    pub descending: bool,
    pub offset: u64,
}

/// State shared by every page, provided as context.
#[derive(Debug, Clone, Copy)]
pub struct Shell {
    pub route: RwSignal<Route>,
    pub palette_open: RwSignal<bool>,
    /// Bumped after every import so that pages reload what they show.
    pub generation: RwSignal<u64>,
    tables: [RwSignal<TableState>; 6],
}

impl Shell {
    pub fn table(&self, kind: InventoryKind) -> RwSignal<TableState> {
        let index = InventoryKind::ALL
            .iter()
            .position(|k| *k == kind)
            .unwrap_or_default();
        self.tables[index]
    }

    /// Opens a table with exactly these filters (used by the dashboard's figures).
    pub fn open_filtered(&self, kind: InventoryKind, filters: Vec<ColumnFilter>) {
        self.table(kind).set(TableState {
            filters,
            ..TableState::default()
        });
        route::go(&Route::Inventory(kind));
    }
}

pub fn use_shell() -> Shell {
    expect_context::<Shell>()
}

#[component]
pub fn App() -> impl IntoView {
    let info = RwSignal::new(None::<Result<ConsoleInfo, ApiError>>);
    spawn_local(async move {
        let _ = info.try_set(Some(ipc::console_info().await));
    });
    move || match info.get() {
        None => view! { <div class="splash">"Opening the inventory…"</div> }.into_any(),
        Some(Err(error)) => view! { <StartupError error /> }.into_any(),
        Some(Ok(info)) => view! { <Console info /> }.into_any(),
    }
}

#[component]
fn StartupError(error: ApiError) -> impl IntoView {
    let hint = match error.code {
        ErrorCode::DatabaseUnusable => {
            "The database was written by a newer version of Bridle, or it is not a Bridle database. \
             Bridle did not change it. Start Bridle with --db PATH (or BRIDLE_DB) to open another \
             inventory, or upgrade Bridle."
        }
        _ => {
            "Check that the file and its folder are readable and writable, or start Bridle with \
             --db PATH (or BRIDLE_DB) to open another inventory."
        }
    };
    view! {
        <main class="startup-error" role="alert" id="startup-error">
            <div class="startup-error-card">
                <div class="brand brand-large">
                    <span class="brand-mark">"B"</span>
                    "Bridle"
                </div>
                <h1>"Bridle cannot open this inventory"</h1>
                <p class="error-message">{error.message.clone()}</p>
                <p class="muted">{hint}</p>
            </div>
        </main>
    }
}

#[component]
fn Console(info: ConsoleInfo) -> impl IntoView {
    let shell = Shell {
        route: RwSignal::new(route::current()),
        palette_open: RwSignal::new(false),
        generation: RwSignal::new(0),
        tables: std::array::from_fn(|_| RwSignal::new(TableState::default())),
    };
    provide_context(shell);

    let hash_listener = window_event_listener(ev::hashchange, move |_| {
        shell.route.set(route::current());
        shell.palette_open.set(false);
    });
    let key_listener = window_event_listener(ev::keydown, move |event| {
        if (event.ctrl_key() || event.meta_key()) && event.key().eq_ignore_ascii_case("k") {
            event.prevent_default();
            shell.palette_open.update(|open| *open = !*open);
        } else if event.key() == "Escape" {
            shell.palette_open.set(false);
        }
    });
    on_cleanup(move || {
        hash_listener.remove();
        key_listener.remove();
    });

    let database = info.database.clone();
    view! {
        <div class="layout">
            <Navigation />
            <div class="main">
                <header class="topbar">
                    <button
                        class="search-trigger"
                        id="open-search"
                        on:click=move |_| shell.palette_open.set(true)
                    >
                        <span class="search-icon" aria-hidden="true">"⌕"</span>
                        <span>"Search ids and names"</span>
                        <kbd>"Ctrl K"</kbd>
                    </button>
                    <span class="database" title=database.clone()>
                        <span class="muted">"Inventory "</span>
                        <code>{database.clone()}</code>
                    </span>
                </header>
                <main class="page" id="page">
                    {move || match shell.route.get() {
                        Route::Dashboard => view! { <pages::dashboard::Dashboard /> }.into_any(),
                        Route::Inventory(kind) => {
                            view! { <pages::inventory::Inventory kind /> }.into_any()
                        }
                        Route::Entity(id) => view! { <pages::entity::EntityPage id /> }.into_any(),
                        Route::Import => view! { <pages::import::Import /> }.into_any(),
                        Route::Brokers => view! { <pages::brokers::Brokers /> }.into_any(),
                        Route::Evidence => view! { <pages::evidence::Evidence /> }.into_any(),
                        Route::Graph => view! { <pages::graph::GraphPage /> }.into_any(),
                        Route::Findings => view! { <pages::findings::Findings /> }.into_any(),
                        Route::Frameworks => {
                            view! { <pages::frameworks::Frameworks /> }.into_any()
                        }
                        Route::Risks => view! { <pages::risks::RiskRegister /> }.into_any(),
                        Route::Flows => view! { <pages::flows::FlowList /> }.into_any(),
                        Route::FlowEdit(id) => {
                            view! { <pages::flows::FlowDesigner id /> }.into_any()
                        }
                        Route::NotFound(path) => {
                            view! {
                                <section class="empty-state">
                                    <h1>"No such page"</h1>
                                    <p class="muted">"Nothing lives at " <code>{path}</code> "."</p>
                                    <a class="button" href="#/">"Back to the overview"</a>
                                </section>
                            }
                                .into_any()
                        }
                    }}
                </main>
            </div>
            <Show when=move || shell.palette_open.get()>
                <Palette />
            </Show>
        </div>
    }
}

#[component]
fn Navigation() -> impl IntoView {
    let shell = use_shell();
    let link = move |target: Route, label: &'static str, test_id: &'static str| {
        let href = target.href();
        let active = {
            let target = target.clone();
            move || {
                let current = shell.route.get();
                match (&target, &current) {
                    (Route::Inventory(a), Route::Inventory(b)) => a == b,
                    (Route::Flows, Route::FlowEdit(_)) => true,
                    _ => target == current,
                }
            }
        };
        view! {
            <a
                href=href
                class="nav-link"
                class:active=active.clone()
                aria-current=move || active().then_some("page")
                data-testid=test_id
            >
                {label}
            </a>
        }
    };
    view! {
        <nav class="sidebar" aria-label="Main">
            <a class="brand" href="#/">
                <span class="brand-mark">"B"</span>
                "Bridle"
            </a>
            <div class="nav-group">
                {link(Route::Dashboard, "Overview", "nav-dashboard")}
                {link(Route::Import, "Import", "nav-import")}
                {link(Route::Brokers, "Brokers", "nav-brokers")}
                {link(Route::Evidence, "Evidence", "nav-evidence")}
            </div>
            <div class="nav-group">
                <div class="nav-heading">"Inventory"</div>
                {link(Route::Inventory(InventoryKind::Agents), "Agents", "nav-agents")}
                {link(Route::Inventory(InventoryKind::Identities), "Identities", "nav-identities")}
                {link(Route::Inventory(InventoryKind::Credentials), "Credentials", "nav-credentials")}
                {link(Route::Inventory(InventoryKind::Resources), "Resources", "nav-resources")}
                {link(Route::Inventory(InventoryKind::Tools), "Tools", "nav-tools")}
                {link(Route::Inventory(InventoryKind::Grants), "Grants", "nav-grants")}
            </div>
            <div class="nav-group">
                <div class="nav-heading">"Compliance"</div>
                {link(Route::Findings, "Findings", "nav-findings")}
                {link(Route::Frameworks, "Frameworks", "nav-frameworks")}
                {link(Route::Risks, "Risk register", "nav-risks")}
                {link(Route::Flows, "Flows", "nav-flows")}
            </div>
            <div class="nav-group">
                <div class="nav-heading">"Analysis"</div>
                {link(Route::Graph, "Privilege graph", "nav-graph")}
            </div>
        </nav>
    }
}

#[component]
fn Palette() -> impl IntoView {
    let shell = use_shell();
    let text = RwSignal::new(String::new());
    let hits = RwSignal::new(Vec::<EntityRef>::new());
    let matched = RwSignal::new(0u64);
    let selected = RwSignal::new(0usize);
    let failure = RwSignal::new(None::<String>);
    let request = StoredValue::new(0u64);
    let input: NodeRef<html::Input> = NodeRef::new();

    Effect::new(move |_| {
        if let Some(element) = input.get() {
            let _ = element.focus();
        }
    });
    Effect::new(move |_| {
        let query = SearchQuery {
            text: text.get(),
            limit: 12,
        };
        request.update_value(|n| *n += 1);
        let mine = request.get_value();
        spawn_local(async move {
            let result = ipc::search(&query).await;
            if request.try_get_value() != Some(mine) {
                return;
            }
            match result {
                Ok(results) => {
                    let _ = hits.try_set(results.hits);
                    let _ = matched.try_set(results.matched);
                    let _ = failure.try_set(None);
                }
                Err(error) => {
                    let _ = failure.try_set(Some(error.message));
                }
            }
            let _ = selected.try_set(0);
        });
    });

    let open = move |id: String| {
        shell.palette_open.set(false);
        route::go(&Route::Entity(id));
    };
    let on_key = move |event: ev::KeyboardEvent| match event.key().as_str() {
        "ArrowDown" => {
            event.prevent_default();
            let count = hits.with(Vec::len);
            if count > 0 {
                selected.update(|s| *s = (*s + 1) % count);
            }
        }
        "ArrowUp" => {
            event.prevent_default();
            let count = hits.with(Vec::len);
            if count > 0 {
                selected.update(|s| *s = (*s + count - 1) % count);
            }
        }
        "Enter" => {
            event.prevent_default();
            if let Some(hit) = hits.with(|h| h.get(selected.get()).cloned()) {
                open(hit.id);
            }
        }
        _ => {}
    };

    view! {
        <div class="palette-backdrop" on:click=move |_| shell.palette_open.set(false)>
            <div
                class="palette"
                role="dialog"
                aria-label="Search"
                on:click=|event| event.stop_propagation()
            >
                <input
                    id="palette-input"
                    node_ref=input
                    type="search"
                    placeholder="Search agents, identities, credentials, resources, tools, grants…"
                    autocomplete="off"
                    spellcheck="false"
                    prop:value=move || text.get()
                    on:input=move |event| text.set(event_target_value(&event))
                    on:keydown=on_key
                    role="combobox"
                    aria-controls="palette-results"
                    aria-expanded="true"
                />
                <ul class="palette-results" id="palette-results" role="listbox">
                    {move || {
                        hits.get()
                            .into_iter()
                            .enumerate()
                            .map(|(index, hit)| {
                                let id = hit.id.clone();
                                view! {
                                    <li
                                        role="option"
                                        class:selected=move || selected.get() == index
                                        aria-selected=move || (selected.get() == index).to_string()
                                        on:mouseenter=move |_| selected.set(index)
                                        on:click=move |_| open(id.clone())
                                    >
                                        <KindBadge kind=hit.kind.clone() />
                                        <span class="hit-name">
                                            {hit.name.clone().unwrap_or_else(|| hit.id.clone())}
                                        </span>
                                        <code class="hit-id">{hit.id.clone()}</code>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
                <div class="palette-footer muted">
                    {move || match failure.get() {
                        Some(message) => message,
                        None if text.with(|t| t.trim().is_empty()) => {
                            "Type part of an id or a name.".to_owned()
                        }
                        None if matched.get() == 0 => "Nothing matches.".to_owned(),
                        None => {
                            let shown = hits.with(Vec::len) as u64;
                            let total = matched.get();
                            if total > shown {
                                format!("{shown} of {total} matches")
                            } else {
                                crate::format::count(total, "match", "matches")
                            }
                        }
                    }}
                    <span class="keys">
                        <kbd>"↑"</kbd>
                        <kbd>"↓"</kbd>
                        " move "
                        <kbd>"Enter"</kbd>
                        " open "
                        <kbd>"Esc"</kbd>
                        " close"
                    </span>
                </div>
            </div>
        </div>
    }
}
