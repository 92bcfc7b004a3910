//! The privilege graph of one agent, identity or credential: its reach laid out by the backend
//! (layers by hops from the source to the crown jewels) and drawn here as SVG. Click a node or an
//! edge for what is behind it, pick a target to highlight its shortest path, drag to pan, wheel
//! or buttons to zoom, and revoke grants in a what-if to grey out what would be lost.

use bridle_protocol::ApiError;
use bridle_protocol::console::{EntityData, InventoryKind, InventoryQuery, SearchQuery};
use bridle_protocol::graph_view::{
    Change, EdgeReasonView, GrantFacts, GraphEdge, GraphNode, GraphView, GraphViewRequest,
};
use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::format::{count, number, text_opt, when, when_opt};
use crate::graph_draw::{
    HEADER_SPACE, NODE_HEIGHT, NODE_WIDTH, Viewport, edge_path, hops_heading, shorten,
};
use crate::graph_route::{GraphQuery, graph_href};
use crate::ipc;
use crate::shell::use_shell;
use crate::widgets::{EntityLink, ErrorBanner, Field, KindBadge, Loading};

/// What the side panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selection {
    Nothing,
    Node(usize),
    Edge(usize),
}

/// The page's state, shared by its parts.
#[derive(Clone, Copy)]
struct GraphState {
    from: StoredValue<String>,
    to: RwSignal<Option<String>>,
    hops: RwSignal<Option<u32>>,
    what_if: RwSignal<bool>,
    revoked: RwSignal<Vec<String>>,
    expired: RwSignal<Vec<String>>,
    view: RwSignal<Option<Result<GraphView, ApiError>>>,
    loading: RwSignal<bool>,
    selection: RwSignal<Selection>,
    viewport: RwSignal<Viewport>,
    canvas: NodeRef<html::Div>,
}

impl GraphState {
    fn request(&self) -> GraphViewRequest {
        let applying = self.what_if.get();
        GraphViewRequest {
            from: self.from.get_value(),
            to: self.to.get(),
            max_hops: self.hops.get(),
            revoke_grants: if applying {
                self.revoked.get()
            } else {
                Vec::new()
            },
            expire_credentials: if applying {
                self.expired.get()
            } else {
                Vec::new()
            },
        }
    }

    fn toggle_revoked(&self, grant: &str) {
        self.revoked.update(|list| toggle(list, grant));
        self.what_if.set(true);
    }

    fn toggle_expired(&self, credential: &str) {
        self.expired.update(|list| toggle(list, credential));
        self.what_if.set(true);
    }

    fn canvas_size(&self) -> (f64, f64) {
        self.canvas
            .get_untracked()
            .map(|c| (f64::from(c.client_width()), f64::from(c.client_height())))
            .filter(|(w, h)| *w > 0.0 && *h > 0.0)
            .unwrap_or((960.0, 600.0))
    }

    /// The first view of a new layout (see [`Viewport::initial`]).
    fn place(&self) {
        let (w, h) = self.canvas_size();
        if let Some(Ok(view)) = self.view.get_untracked() {
            let source = view.nodes.first().map_or((0.0, 0.0), |n| (n.x, n.y));
            self.viewport
                .set(Viewport::initial(view.width, view.height, source, w, h));
        }
    }

    fn fit(&self) {
        let (w, h) = self.canvas_size();
        if let Some(Ok(view)) = self.view.get_untracked() {
            self.viewport
                .set(Viewport::fit(view.width, view.height, w, h));
        }
    }

    fn zoom(&self, factor: f64) {
        let (w, h) = self.canvas_size();
        self.viewport
            .update(|v| *v = v.zoom_at(factor, w / 2.0, h / 2.0));
    }
}

fn toggle(list: &mut Vec<String>, id: &str) {
    if let Some(i) = list.iter().position(|x| x == id) {
        list.remove(i);
    } else {
        list.push(id.to_owned());
        list.sort();
    }
}

#[component]
pub fn GraphPage() -> impl IntoView {
    let query = GraphQuery::parse(&window().location().hash().unwrap_or_default());
    match query.from.clone() {
        None => view! { <ChooseSource /> }.into_any(),
        Some(from) => view! { <SourceGraph from query /> }.into_any(),
    }
}

/// Opens the graph of a source chosen by searching.
#[component]
fn SourcePicker(#[prop(optional, into)] placeholder: Option<String>) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let hits = RwSignal::new(Vec::<bridle_protocol::EntityRef>::new());
    let generation = StoredValue::new(0u64);
    let search = move |value: String| {
        text.set(value.clone());
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        if value.trim().is_empty() {
            hits.set(Vec::new());
            return;
        }
        spawn_local(async move {
            let query = SearchQuery {
                text: value,
                limit: 40,
            };
            if let Ok(results) = ipc::search(&query).await
                && generation.try_get_value() == Some(mine)
            {
                let sources = results
                    .hits
                    .into_iter()
                    .filter(|h| matches!(h.kind.as_str(), "agent" | "identity" | "credential"))
                    .take(10)
                    .collect();
                let _ = hits.try_set(sources);
            }
        });
    };
    let placeholder = placeholder.unwrap_or_else(|| "Agent, identity or credential…".to_owned());
    view! {
        <div class="graph-picker">
            <input
                type="search"
                id="graph-source"
                class="graph-picker-input"
                placeholder=placeholder
                autocomplete="off"
                prop:value=move || text.get()
                on:input=move |e| search(event_target_value(&e))
                on:keydown=move |e| {
                    if e.key() == "Escape" {
                        hits.set(Vec::new());
                    } else if e.key() == "Enter"
                        && let Some(first) = hits.get_untracked().first()
                    {
                        let _ = window().location().set_hash(&graph_href(&first.id, None));
                    }
                }
            />
            <Show when=move || !hits.with(Vec::is_empty)>
                <ul class="graph-picker-results" role="listbox">
                    {move || {
                        hits.get()
                            .into_iter()
                            .map(|hit| {
                                let href = graph_href(&hit.id, None);
                                let name = hit.name.clone().unwrap_or_default();
                                view! {
                                    <li>
                                        <a href=href data-source=hit.id.clone()>
                                            <KindBadge kind=hit.kind.clone() />
                                            <span class="hit-name">{name}</span>
                                            <code class="hit-id">{hit.id.clone()}</code>
                                        </a>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
            </Show>
        </div>
    }
}

/// No source yet: search, or pick one of the agents.
#[component]
fn ChooseSource() -> impl IntoView {
    let agents = RwSignal::new(None::<Result<Vec<(String, String)>, ApiError>>);
    spawn_local(async move {
        let query = InventoryQuery {
            kind: InventoryKind::Agents,
            search: String::new(),
            filters: Vec::new(),
            sort: Some("name".to_owned()),
            descending: false,
            offset: 0,
            limit: 200,
        };
        let result = ipc::inventory_page(&query).await.map(|page| {
            page.rows
                .into_iter()
                .map(|row| {
                    let name = row.cells.get(1).cloned().unwrap_or_default();
                    (row.id, name)
                })
                .collect()
        });
        let _ = agents.try_set(Some(result));
    });
    view! {
        <section class="graph-choose">
            <header class="page-header">
                <div>
                    <h1>"Privilege graph"</h1>
                    <p class="muted">
                        "What an agent, an identity or a stolen credential can reach, and by which chain. "
                        "Choose a source."
                    </p>
                </div>
            </header>
            <SourcePicker />
            <h2>"Agents"</h2>
            {move || match agents.get() {
                None => view! { <Loading label="Loading agents…" /> }.into_any(),
                Some(Err(error)) => view! { <ErrorBanner error /> }.into_any(),
                Some(Ok(list)) => {
                    view! {
                        <ul class="graph-agent-list" id="graph-agents">
                            {list
                                .into_iter()
                                .map(|(id, name)| {
                                    let href = graph_href(&id, None);
                                    view! {
                                        <li>
                                            <a class="card graph-agent" href=href data-source=id.clone()>
                                                <span class="graph-agent-name">{name}</span>
                                                <code class="muted">{id.clone()}</code>
                                            </a>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

#[component]
fn SourceGraph(from: String, query: GraphQuery) -> impl IntoView {
    let shell = use_shell();
    let state = GraphState {
        from: StoredValue::new(from),
        to: RwSignal::new(query.to),
        hops: RwSignal::new(query.hops),
        what_if: RwSignal::new(false),
        revoked: RwSignal::new(Vec::new()),
        expired: RwSignal::new(Vec::new()),
        view: RwSignal::new(None),
        loading: RwSignal::new(true),
        selection: RwSignal::new(Selection::Nothing),
        viewport: RwSignal::new(Viewport::default()),
        canvas: NodeRef::new(),
    };
    provide_context(state);

    // One request per change of the inputs; an older answer arriving late is dropped. The view is
    // fitted when the set of nodes changes (a new hops limit), not when only the colours do.
    let sent = StoredValue::new(0u64);
    let fitted_for = StoredValue::new(None::<Option<u32>>);
    Effect::new(move |_| {
        shell.generation.track();
        let request = state.request();
        sent.update_value(|n| *n += 1);
        let ticket = sent.get_value();
        state.loading.set(true);
        spawn_local(async move {
            let result = ipc::graph_view(&request).await;
            if sent.try_get_value() != Some(ticket) {
                return;
            }
            let refit = fitted_for.get_value() != Some(request.max_hops) || result.is_err();
            let node_count = state.view.with_untracked(|v| match v {
                Some(Ok(v)) => v.nodes.len(),
                _ => usize::MAX,
            });
            let same_nodes = matches!(&result, Ok(v) if v.nodes.len() == node_count);
            if !same_nodes {
                let _ = state.selection.try_set(Selection::Nothing);
            }
            let _ = state.view.try_set(Some(result));
            let _ = state.loading.try_set(false);
            if refit {
                fitted_for.set_value(Some(request.max_hops));
                state.place();
            }
        });
    });

    view! {
        <section class="graph-page" data-source=state.from.get_value()>
            <Toolbar />
            <Notices />
            <div class="graph-body">
                <Canvas />
                <Panel />
            </div>
        </section>
    }
}

fn use_state() -> GraphState {
    expect_context::<GraphState>()
}

#[component]
fn Toolbar() -> impl IntoView {
    let state = use_state();
    let source = move || {
        state.view.with(|v| match v {
            Some(Ok(view)) => view.nodes.first().cloned(),
            _ => None,
        })
    };
    let targets = move || {
        state.view.with(|v| match v {
            Some(Ok(view)) => {
                let mut nodes: Vec<(bool, u32, String, String)> = view.nodes[1..]
                    .iter()
                    .map(|n| {
                        (
                            !n.crown_jewel,
                            n.hops,
                            n.id.clone(),
                            n.name.clone().unwrap_or_else(|| n.id.clone()),
                        )
                    })
                    .collect();
                nodes.sort();
                nodes
            }
            _ => Vec::new(),
        })
    };
    let deepest = move || {
        state.view.with(|v| match v {
            Some(Ok(view)) => view.deepest,
            _ => 0,
        })
    };
    view! {
        <header class="graph-toolbar">
            <div class="graph-title">
                <span class="muted graph-title-label">"Privilege graph of"</span>
                {move || {
                    source()
                        .map(|n| {
                            let label = n.name.clone().unwrap_or_else(|| n.id.clone());
                            view! {
                                <KindBadge kind=n.kind.clone() />
                                <h1 id="graph-title" title=n.id.clone()>{label}</h1>
                                <EntityLink id=n.id.clone() />
                            }
                        })
                }}
            </div>
            <div class="graph-controls">
                <SourcePicker placeholder="Another source…" />
                <label class="graph-control">
                    <span>"Path to"</span>
                    <select
                        id="graph-target"
                        on:change=move |e| {
                            let value = event_target_value(&e);
                            state.to.set((!value.is_empty()).then_some(value));
                        }
                    >
                        <option value="" selected=move || state.to.get().is_none()>
                            "— none —"
                        </option>
                        {move || {
                            let chosen = state.to.get();
                            targets()
                                .into_iter()
                                .map(|(not_jewel, hops, id, label)| {
                                    let selected = chosen.as_deref() == Some(id.as_str());
                                    let star = if not_jewel { "" } else { "★ " };
                                    view! {
                                        <option value=id.clone() selected=selected>
                                            {format!("{star}{} · {}", shorten(&label, 40), hops_heading(hops))}
                                        </option>
                                    }
                                })
                                .collect_view()
                        }}
                    </select>
                </label>
                <label class="graph-control">
                    <span>"Hops"</span>
                    <select
                        id="graph-hops"
                        on:change=move |e| {
                            state.hops.set(event_target_value(&e).parse().ok());
                        }
                    >
                        <option value="" selected=move || state.hops.get().is_none()>
                            "all"
                        </option>
                        {move || {
                            let chosen = state.hops.get();
                            let deepest = deepest().max(chosen.unwrap_or(0));
                            (1..=deepest)
                                .map(|h| {
                                    view! {
                                        <option value=h.to_string() selected=chosen == Some(h)>
                                            {format!("≤ {h}")}
                                        </option>
                                    }
                                })
                                .collect_view()
                        }}
                    </select>
                </label>
                <label class="graph-toggle" title="Revoke grants or expire credentials hypothetically; nothing is changed">
                    <input
                        type="checkbox"
                        id="graph-what-if"
                        prop:checked=move || state.what_if.get()
                        on:change=move |e| state.what_if.set(event_target_checked(&e))
                    />
                    <span>"What-if revoke"</span>
                </label>
                <div class="graph-zoom" role="group" aria-label="Zoom">
                    <button class="button small" id="graph-zoom-out" title="Zoom out" on:click=move |_| state.zoom(1.0 / 1.25)>
                        "−"
                    </button>
                    <span class="graph-zoom-level">
                        {move || format!("{:.0}%", state.viewport.get().scale * 100.0)}
                    </span>
                    <button class="button small" id="graph-zoom-in" title="Zoom in" on:click=move |_| state.zoom(1.25)>
                        "+"
                    </button>
                    <button class="button small" id="graph-fit" title="Show everything" on:click=move |_| state.fit()>
                        "Fit"
                    </button>
                </div>
            </div>
        </header>
    }
}

/// The summary line, the cap notice, the path status and the what-if bar.
#[component]
fn Notices() -> impl IntoView {
    let state = use_state();
    move || match state.view.get() {
        None => view! { <Loading label="Laying out the graph…" /> }.into_any(),
        Some(Err(error)) => view! { <ErrorBanner error /> }.into_any(),
        Some(Ok(view)) => {
            let jewels = view.nodes.iter().filter(|n| n.crown_jewel).count() as u64;
            let summary = format!(
                "{} reached from the source · {} of {} drawn · {} · deepest {} · {} · {} · evaluated {}",
                count(view.reached.saturating_sub(1), "node", "nodes"),
                number(view.nodes.len() as u64),
                count(view.reached, "node", "nodes"),
                count(view.edges.len() as u64, "edge", "edges"),
                hops_heading(view.deepest),
                count(jewels, "crown jewel", "crown jewels"),
                count(view.crossings, "crossing", "crossings"),
                when(&view.at),
            );
            let limited = view.limited.clone().map(|text| {
                view! {
                    <div class="banner banner-warn graph-limited" id="graph-limited" role="status">
                        {text}
                    </div>
                }
            });
            let path = view.path.clone().map(|p| {
                let text = match (p.hops, p.shown) {
                    (None, _) => format!("{} is not reached from this source.", p.to),
                    (Some(h), true) => {
                        format!("Shortest path to {}: {}.", p.to, hops_heading(h))
                    }
                    (Some(h), false) => format!(
                        "Shortest path to {} ({}) is not fully drawn: widen the hops limit.",
                        p.to,
                        hops_heading(h)
                    ),
                };
                view! {
                    <span class="graph-path-note" id="graph-path-note">
                        <span class="path-swatch" aria-hidden="true"></span>
                        {text}
                        <button class="link-button" on:click=move |_| state.to.set(None)>
                            "clear"
                        </button>
                    </span>
                }
            });
            let what_if = state
                .what_if
                .get()
                .then(|| view! { <WhatIfBar view=view.clone() /> });
            let jewels = jewel_line(&view, state);
            view! {
                <div class="graph-notices">
                    <p class="graph-summary muted" id="graph-summary">
                        {summary}
                        {move || state.loading.get().then(|| view! { <span class="spinner" aria-label="updating"></span> })}
                    </p>
                    {jewels}
                    {path}
                    {limited}
                    {what_if}
                </div>
            }
                .into_any()
        }
    }
}

#[component]
fn WhatIfBar(view: GraphView) -> impl IntoView {
    let state = use_state();
    let chips = move || {
        let grants = state.revoked.get().into_iter().map(|id| (id, "grant"));
        let credentials = state.expired.get().into_iter().map(|id| (id, "credential"));
        grants
            .chain(credentials)
            .map(|(id, kind)| {
                let remove = id.clone();
                let label = if kind == "grant" {
                    format!("revoke {id}")
                } else {
                    format!("expire {id}")
                };
                view! {
                    <span class="chip what-if-chip" data-item=id.clone()>
                        {label}
                        <button
                            class="chip-remove"
                            title="Keep it"
                            on:click=move |_| {
                                if kind == "grant" {
                                    state.revoked.update(|l| toggle(l, &remove));
                                } else {
                                    state.expired.update(|l| toggle(l, &remove));
                                }
                            }
                        >
                            "×"
                        </button>
                    </span>
                }
            })
            .collect_view()
    };
    let counts = view.what_if.clone().map(|w| {
        format!(
            "This source would lose {}; {} would keep fewer actions. Estate-wide: {} (agent, resource) pairs lost, {} shrunk.",
            count(w.nodes_lost, "node", "nodes"),
            count(w.resources_shrunk, "resource", "resources"),
            number(w.estate_pairs_lost),
            number(w.estate_pairs_shrunk),
        )
    });
    view! {
        <div class="banner what-if-bar" id="what-if-bar">
            <strong>"What-if"</strong>
            {chips}
            {match counts {
                Some(text) => view! { <span id="what-if-counts">{text}</span> }.into_any(),
                None => {
                    view! {
                        <span class="muted">
                            "Select an edge and revoke its grant (or a credential and expire it); nothing is changed in the inventory."
                        </span>
                    }
                        .into_any()
                }
            }}
        </div>
    }
}

/// Classes of a node's group: kind, sensitivity, crown jewel, path, what-if.
fn node_class(node: &GraphNode) -> String {
    let mut class = format!("node kind-{}", node.kind);
    if let Some(s) = &node.sensitivity {
        class.push_str(&format!(" sens-{s}"));
    }
    if node.crown_jewel {
        class.push_str(" crown-jewel");
    }
    if node.on_path {
        class.push_str(" on-path");
    }
    match node.change {
        Change::Kept => {}
        Change::Lost => class.push_str(" lost"),
        Change::Shrunk => class.push_str(" shrunk"),
    }
    class
}

fn edge_class(edge: &GraphEdge) -> String {
    let grant = edge
        .reasons
        .iter()
        .any(|r| r.rule == "grant" || r.rule == "tool_acts_on");
    let mut class = String::from(if grant {
        "edge rule-grant"
    } else {
        "edge rule-structural"
    });
    if edge.on_path {
        class.push_str(" on-path");
    }
    if edge.change == Change::Lost {
        class.push_str(" lost");
    }
    class
}

/// The small shape that says a node's kind (also drawn in the legend).
fn glyph(kind: &str) -> AnyView {
    match kind {
        "agent" => {
            view! { <rect class="glyph" x="-7" y="-7" width="14" height="14" rx="3" /> }.into_any()
        }
        "identity" => view! { <circle class="glyph" r="7.5" /> }.into_any(),
        "credential" => {
            view! { <polygon class="glyph" points="0,-8.5 8.5,0 0,8.5 -8.5,0" /> }.into_any()
        }
        "tool" => {
            view! { <polygon class="glyph" points="-4,-7.5 4,-7.5 8.5,0 4,7.5 -4,7.5 -8.5,0" /> }
                .into_any()
        }
        _ => view! {
            <g class="glyph-group">
                <rect class="glyph" x="-7" y="-6" width="14" height="12" rx="1" />
                <line class="glyph-line" x1="-7" y1="-1.5" x2="7" y2="-1.5" />
            </g>
        }
        .into_any(),
    }
}

fn node_subtitle(node: &GraphNode) -> String {
    match (&node.sensitivity, node.kind.as_str()) {
        (Some(s), _) if !node.actions.is_empty() => format!("{s} · {}", node.actions.join(", ")),
        (Some(s), _) => s.clone(),
        (None, "agent") if node.hops == 0 => "source agent".to_owned(),
        (None, kind) => {
            if node.name.is_some() {
                shorten(&node.id, 30)
            } else {
                kind.to_owned()
            }
        }
    }
}

fn draw_node(index: usize, node: &GraphNode, state: GraphState) -> impl IntoView + use<> {
    let (half_w, half_h) = (NODE_WIDTH / 2.0, NODE_HEIGHT / 2.0);
    let label = shorten(
        node.name.as_deref().unwrap_or(&node.id),
        if node.crown_jewel { 17 } else { 19 },
    );
    let subtitle = shorten(&node_subtitle(node), 23);
    let tooltip = format!(
        "{}\n{} · {}{}",
        node.id,
        node.kind,
        hops_heading(node.hops),
        if node.crown_jewel {
            " · crown jewel"
        } else {
            ""
        }
    );
    let jewel = node
        .crown_jewel
        .then(|| view! { <text class="node-jewel" x=half_w - 14.0 y="-6">"★"</text> });
    view! {
        <g
            class=node_class(node)
            transform=format!("translate({:.1},{:.1})", node.x, node.y)
            data-id=node.id.clone()
            data-index=index.to_string()
            on:click=move |e| {
                e.stop_propagation();
                state.selection.set(Selection::Node(index));
            }
        >
            <title>{tooltip}</title>
            <rect class="node-box" x=-half_w y=-half_h width=NODE_WIDTH height=NODE_HEIGHT rx="6" />
            <rect class="node-stripe" x=-half_w y=-half_h width="5" height=NODE_HEIGHT />
            <g transform=format!("translate({:.1},0)", -half_w + 20.0)>{glyph(&node.kind)}</g>
            <text class="node-label" x=-half_w + 34.0 y="-3">{label}</text>
            <text class="node-sub" x=-half_w + 34.0 y="13">{subtitle}</text>
            {jewel}
        </g>
    }
}

fn draw_edge(
    index: usize,
    edge: &GraphEdge,
    view: &GraphView,
    state: GraphState,
) -> impl IntoView + use<> {
    let (from, to) = (&view.nodes[edge.from], &view.nodes[edge.to]);
    let d = edge_path((from.x, from.y), (to.x, to.y));
    let tooltip = format!(
        "{} → {}\n{}",
        from.id,
        to.id,
        edge.reasons
            .iter()
            .map(|r| r.label.clone())
            .collect::<Vec<_>>()
            .join("\n")
    );
    view! {
        <g
            class=edge_class(edge)
            data-from=from.id.clone()
            data-to=to.id.clone()
            data-index=index.to_string()
            on:click=move |e| {
                e.stop_propagation();
                state.selection.set(Selection::Edge(index));
            }
        >
            <title>{tooltip}</title>
            <path class="edge-hit" d=d.clone() />
            <path class="edge-line" d=d />
        </g>
    }
}

/// The SVG: layer headings, edges, nodes, the selection outline, and the legend.
#[component]
fn Canvas() -> impl IntoView {
    let state = use_state();
    // Dragging: where the pointer went down and the viewport then; `moved` tells a drag from a
    // click so that releasing a drag on a node does not select it.
    let drag = StoredValue::new(None::<(f64, f64, Viewport)>);
    let moved = StoredValue::new(false);

    let content = move || {
        let Some(Ok(view)) = state.view.get() else {
            return None;
        };
        let mut layers: Vec<(u32, f64, f64)> = Vec::new();
        for n in &view.nodes {
            if !layers.iter().any(|(hops, _, _)| *hops == n.hops) {
                layers.push((n.hops, n.x, 0.0));
            }
        }
        let top = view.nodes.iter().map(|n| n.y).fold(0.0_f64, f64::min)
            - NODE_HEIGHT / 2.0
            - HEADER_SPACE / 2.0;
        let headings = layers
            .into_iter()
            .map(|(hops, x, _)| {
                view! {
                    <text class="layer-heading" x=x y=top text-anchor="middle">
                        {hops_heading(hops)}
                    </text>
                }
            })
            .collect_view();
        let edges = view
            .edges
            .iter()
            .enumerate()
            .map(|(i, e)| draw_edge(i, e, &view, state))
            .collect_view();
        let nodes = view
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| draw_node(i, n, state))
            .collect_view();
        Some(view! {
            <g class="layer-headings">{headings}</g>
            <g class="edges" id="graph-edges">{edges}</g>
            <g class="nodes" id="graph-nodes">{nodes}</g>
        })
    };

    let highlight = move || {
        let selection = state.selection.get();
        state.view.with(|v| {
            let Some(Ok(view)) = v else { return None };
            match selection {
                Selection::Nothing => None,
                Selection::Node(i) => view.nodes.get(i).map(|n| {
                    view! {
                        <rect
                            class="selection-outline"
                            x=n.x - NODE_WIDTH / 2.0 - 4.0
                            y=n.y - NODE_HEIGHT / 2.0 - 4.0
                            width=NODE_WIDTH + 8.0
                            height=NODE_HEIGHT + 8.0
                            rx="9"
                        />
                    }
                    .into_any()
                }),
                Selection::Edge(i) => view.edges.get(i).map(|e| {
                    let (a, b) = (&view.nodes[e.from], &view.nodes[e.to]);
                    view! { <path class="selection-edge" d=edge_path((a.x, a.y), (b.x, b.y)) /> }
                        .into_any()
                }),
            }
        })
    };

    view! {
        <div
            class="graph-canvas"
            id="graph-canvas"
            node_ref=state.canvas
            class:dragging=move || drag.with_value(Option::is_some)
            on:mousedown=move |e: ev::MouseEvent| {
                if e.button() == 0 {
                    drag.set_value(Some((f64::from(e.client_x()), f64::from(e.client_y()), state.viewport.get_untracked())));
                    moved.set_value(false);
                }
            }
            on:mousemove=move |e: ev::MouseEvent| {
                if let Some((x0, y0, start)) = drag.get_value() {
                    let (dx, dy) = (f64::from(e.client_x()) - x0, f64::from(e.client_y()) - y0);
                    if dx.abs() + dy.abs() > 3.0 {
                        moved.set_value(true);
                    }
                    state.viewport.set(Viewport { x: start.x + dx, y: start.y + dy, ..start });
                }
            }
            on:mouseup=move |_| drag.set_value(None)
            on:mouseleave=move |_| drag.set_value(None)
            on:click:capture=move |e: ev::MouseEvent| {
                if moved.get_value() {
                    e.stop_propagation();
                    moved.set_value(false);
                }
            }
            on:click=move |_| state.selection.set(Selection::Nothing)
            on:wheel=move |e: ev::WheelEvent| {
                e.prevent_default();
                let factor = if e.delta_y() < 0.0 { 1.15 } else { 1.0 / 1.15 };
                let (px, py) = state
                    .canvas
                    .get_untracked()
                    .map(|c| {
                        let rect = c.get_bounding_client_rect();
                        (f64::from(e.client_x()) - rect.left(), f64::from(e.client_y()) - rect.top())
                    })
                    .unwrap_or((0.0, 0.0));
                state.viewport.update(|v| *v = v.zoom_at(factor, px, py));
            }
        >
            <svg class="graph-svg" id="graph-svg" width="100%" height="100%">
                <defs>
                    <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto">
                        <path class="arrow" fill="#7d8896" d="M0,0 L10,5 L0,10 z" />
                    </marker>
                    <marker id="arrow-path" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto">
                        <path class="arrow-path" fill="#e8590c" d="M0,0 L10,5 L0,10 z" />
                    </marker>
                    <marker id="arrow-lost" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto">
                        <path class="arrow-lost" fill="#b9c0c9" d="M0,0 L10,5 L0,10 z" />
                    </marker>
                </defs>
                <g class="viewport" transform=move || state.viewport.get().transform()>
                    {content}
                    <g class="selection">{highlight}</g>
                </g>
            </svg>
            <Legend />
        </div>
    }
}

#[component]
fn Legend() -> impl IntoView {
    let kinds = ["agent", "identity", "credential", "tool", "resource"];
    let sensitivities = ["public", "internal", "confidential", "restricted"];
    view! {
        <div class="graph-legend" id="graph-legend" aria-label="Legend">
            <div class="legend-row">
                {kinds
                    .into_iter()
                    .map(|kind| {
                        view! {
                            <span class=format!("legend-item kind-{kind}")>
                                <svg width="18" height="18" viewBox="-9 -9 18 18">{glyph(kind)}</svg>
                                {kind}
                            </span>
                        }
                    })
                    .collect_view()}
            </div>
            <div class="legend-row">
                <span class="muted">"Sensitivity"</span>
                {sensitivities
                    .into_iter()
                    .map(|s| {
                        view! {
                            <span class="legend-item">
                                <span class=format!("legend-swatch sens-{s}")></span>
                                {s}
                            </span>
                        }
                    })
                    .collect_view()}
                <span class="legend-item"><span class="legend-jewel">"★"</span>"crown jewel"</span>
            </div>
            <div class="legend-row">
                <span class="legend-item"><span class="legend-line grant"></span>"grant / acts on"</span>
                <span class="legend-item"><span class="legend-line structural"></span>"runs as / holds / authenticates"</span>
                <span class="legend-item"><span class="legend-line path"></span>"path"</span>
                <span class="legend-item"><span class="legend-line lost"></span>"lost in what-if"</span>
            </div>
        </div>
    }
}

/// The side panel: the view's summary, or the selected node or edge.
#[component]
fn Panel() -> impl IntoView {
    let state = use_state();
    view! {
        <Show when=move || state.selection.get() != Selection::Nothing>
            <aside class="graph-panel card" id="graph-panel">
                <button
                    class="panel-close"
                    title="Close"
                    on:click=move |_| state.selection.set(Selection::Nothing)
                >
                    "×"
                </button>
                {move || {
                    let selection = state.selection.get();
                    let Some(Ok(view)) = state.view.get() else {
                        return view! { <p class="muted">"No graph yet."</p> }.into_any();
                    };
                    match selection {
                        Selection::Node(i) if i < view.nodes.len() => {
                            view! { <NodeDetail view index=i /> }.into_any()
                        }
                        Selection::Edge(i) if i < view.edges.len() => {
                            view! { <EdgeDetail view index=i /> }.into_any()
                        }
                        _ => ().into_any(),
                    }
                }}
            </aside>
        </Show>
    }
}

/// How many crown jewels the notice names (the target list has them all).
const JEWELS_LISTED: usize = 8;

/// The crown jewels in view, each a button that highlights its shortest path.
fn jewel_line(view: &GraphView, state: GraphState) -> Option<impl IntoView + use<>> {
    let mut jewels: Vec<GraphNode> = view
        .nodes
        .iter()
        .filter(|n| n.crown_jewel)
        .cloned()
        .collect();
    if jewels.is_empty() {
        return None;
    }
    jewels.sort_by(|a, b| (a.hops, &a.id).cmp(&(b.hops, &b.id)));
    let more = jewels.len().saturating_sub(JEWELS_LISTED);
    jewels.truncate(JEWELS_LISTED);
    let more = (more > 0).then(|| {
        view! { <span class="muted">{format!("and {more} more (in “Path to”)")}</span> }
    });
    Some(view! {
        <p class="graph-jewels" id="graph-jewels">
            <span class="legend-jewel">"★"</span>
            <span class="muted">"Crown jewels reached:"</span>
            {jewels
                .into_iter()
                .map(|n| {
                    let id = n.id.clone();
                    let label = n.name.clone().unwrap_or_else(|| n.id.clone());
                    view! {
                        <button
                            class="link-button"
                            title=format!("Highlight the shortest path ({}, {})", hops_heading(n.hops), n.actions.join(", "))
                            on:click=move |_| state.to.set(Some(id.clone()))
                        >
                            {label}
                        </button>
                    }
                })
                .collect_view()}
            {more}
        </p>
    })
}

#[component]
fn NodeDetail(view: GraphView, index: usize) -> impl IntoView {
    let state = use_state();
    let node = view.nodes[index].clone();
    let incoming: Vec<(usize, GraphEdge)> = view
        .edges
        .iter()
        .enumerate()
        .filter(|(_, e)| e.to == index)
        .map(|(i, e)| (i, e.clone()))
        .collect();
    let outgoing = view.edges.iter().filter(|e| e.from == index).count();
    let title = node.name.clone().unwrap_or_else(|| node.id.clone());
    let change = match node.change {
        Change::Kept => None,
        Change::Lost => Some("Lost in the what-if: no longer reached.".to_owned()),
        Change::Shrunk => Some(format!(
            "Shrunk in the what-if: still reached with {}.",
            node.actions_after.join(", ")
        )),
    };
    let id = node.id.clone();
    let path_button = (index != 0).then(|| {
        let id = id.clone();
        view! {
            <button class="button small" id="graph-path-here" on:click=move |_| state.to.set(Some(id.clone()))>
                "Highlight path from source"
            </button>
        }
    });
    let expire_button = (node.kind == "credential").then(|| {
        let id = id.clone();
        let label = {
            let id = id.clone();
            move || {
                if state.expired.get().contains(&id) {
                    "Keep this credential"
                } else {
                    "Expire in what-if"
                }
            }
        };
        view! {
            <button class="button small" id="graph-expire" on:click=move |_| state.toggle_expired(&id)>
                {label}
            </button>
        }
    });
    let other_graph = (matches!(node.kind.as_str(), "agent" | "identity" | "credential") && index != 0)
        .then(|| view! { <a class="button small" href=graph_href(&node.id, None)>"Graph from here"</a> });
    view! {
        <div class="panel-kind"><KindBadge kind=node.kind.clone() /></div>
        <h2 class="panel-title" id="panel-title">{title}</h2>
        <p class="panel-id"><EntityLink id=node.id.clone() /></p>
        {change.map(|c| view! { <p class="banner banner-warn">{c}</p> })}
        <dl class="fields">
            <Field label="Hops from source">{node.hops.to_string()}</Field>
            {node.sensitivity.clone().map(|s| {
                let class = format!("sensitivity-{s}");
                view! { <Field label="Sensitivity"><span class=class>{s}</span></Field> }
            })}
            {node.crown_jewel.then(|| view! { <Field label="Crown jewel">"yes ★"</Field> })}
            {(!node.actions.is_empty()).then(|| view! { <Field label="Reached with">{node.actions.join(", ")}</Field> })}
            <Field label="Edges">{format!("{} in · {} out", incoming.len(), outgoing)}</Field>
        </dl>
        <div class="panel-actions">{path_button}{expire_button}{other_graph}</div>
        {(!incoming.is_empty()).then(|| {
            view! {
                <h3>"Reached through"</h3>
                <ul class="panel-list">
                    {incoming
                        .into_iter()
                        .map(|(i, e)| {
                            let from = &view.nodes[e.from];
                            let label = from.name.clone().unwrap_or_else(|| from.id.clone());
                            let reasons = e.reasons.iter().map(|r| r.label.clone()).collect::<Vec<_>>().join("; ");
                            view! {
                                <li>
                                    <button class="link-button" on:click=move |_| state.selection.set(Selection::Edge(i))>
                                        {label}
                                    </button>
                                    <span class="muted">{format!(" · {reasons}")}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            }
        })}
    }
}

#[component]
fn EdgeDetail(view: GraphView, index: usize) -> impl IntoView {
    let edge = view.edges[index].clone();
    let (from, to) = (view.nodes[edge.from].clone(), view.nodes[edge.to].clone());
    let lost = (edge.change == Change::Lost)
        .then(|| view! { <p class="banner banner-warn">"Lost in the what-if."</p> });
    view! {
        <div class="panel-kind"><span class="badge">"edge"</span></div>
        <h2 class="panel-title" id="panel-title">
            {shorten(from.name.as_deref().unwrap_or(&from.id), 28)}
            " → "
            {shorten(to.name.as_deref().unwrap_or(&to.id), 28)}
        </h2>
        <p class="panel-id">
            <EntityLink id=from.id.clone() />
            " → "
            <EntityLink id=to.id.clone() />
        </p>
        {lost}
        <h3>{format!("Why ({})", edge.reasons.len())}</h3>
        <div class="reasons" id="edge-reasons">
            {edge.reasons.into_iter().map(|reason| view! { <Reason reason /> }).collect_view()}
        </div>
    }
}

fn rule_sentence(rule: &str) -> &'static str {
    match rule {
        "runs_as" => "The agent runs as this identity (rule 1).",
        "grant" => "A grant (rule 2).",
        "tool_runs_as" => "The tool runs as this identity (rule 3).",
        "tool_acts_on" => "The tool acts on this resource (rule 3).",
        "holds_credentials" => "Whoever reads the resource gets this credential (rule 4).",
        "resource_runs_as" => {
            "Code in the resource runs as this identity; writing to it yields it (rule 5)."
        }
        "credential_identity" => "The credential authenticates as this identity (rule 6).",
        _ => "",
    }
}

#[component]
fn Reason(reason: EdgeReasonView) -> impl IntoView {
    let sentence = rule_sentence(&reason.rule);
    let class = if reason.removed {
        "reason card removed"
    } else {
        "reason card"
    };
    view! {
        <div class=class data-rule=reason.rule.clone()>
            <div class="reason-label"><code>{reason.label.clone()}</code></div>
            <p class="muted reason-rule">{sentence}</p>
            {reason.grant.clone().map(|grant| view! { <GrantCard grant /> })}
        </div>
    }
}

/// A grant's facts, its provenance (read from its entity page) and the what-if switch.
#[component]
fn GrantCard(grant: GrantFacts) -> impl IntoView {
    let state = use_state();
    let provenance = RwSignal::new(None::<Result<bridle_protocol::Provenance, ApiError>>);
    {
        let id = grant.id.clone();
        spawn_local(async move {
            let result = ipc::entity(&id).await.map(|page| match page.entity {
                EntityData::Grant(row) => row.provenance,
                EntityData::Agent(r) => r.provenance,
                EntityData::Identity(r) => r.provenance,
                EntityData::Credential(r) => r.provenance,
                EntityData::Resource(r) => r.provenance,
                EntityData::Tool(r) => r.provenance,
            });
            let _ = provenance.try_set(Some(result));
        });
    }
    let id = grant.id.clone();
    let revoked = {
        let id = id.clone();
        move || state.revoked.get().contains(&id)
    };
    let button_label = {
        let revoked = revoked.clone();
        move || {
            if revoked() {
                "Keep this grant"
            } else {
                "Revoke in what-if"
            }
        }
    };
    let expiry = when_opt(&grant.expires_at);
    let grant_id = grant.id.clone();
    let link_id = grant.id.clone();
    let actions = grant.actions.join(", ");
    let standing = if grant.standing {
        "standing (always on)"
    } else {
        "just in time"
    };
    let conditions = text_opt(&grant.conditions);
    let stated_source = text_opt(&grant.source);
    view! {
        <dl class="fields grant-facts" data-grant=grant_id.clone()>
            <Field label="Grant"><EntityLink id=link_id /></Field>
            <Field label="Actions">{actions}</Field>
            <Field label="Standing">{standing}</Field>
            <Field label="Expires">{expiry}</Field>
            <Field label="Conditions">{conditions}</Field>
            <Field label="Stated source">{stated_source}</Field>
            {move || match provenance.get() {
                None => view! { <Field label="Provenance">"…"</Field> }.into_any(),
                Some(Err(error)) => view! { <Field label="Provenance">{error.message}</Field> }.into_any(),
                Some(Ok(p)) => {
                    view! {
                        <Field label="Provenance">
                            <code>{p.origin}</code>
                            <span class="muted">{format!(" · seen {} – {}", when(&p.first_seen), when(&p.last_seen))}</span>
                        </Field>
                    }
                        .into_any()
                }
            }}
        </dl>
        <button
            class="button small revoke-button"
            class:primary=revoked
            data-grant=id.clone()
            on:click=move |_| state.toggle_revoked(&id)
        >
            {button_label}
        </button>
    }
}
