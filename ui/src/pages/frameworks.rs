//! Frameworks: per catalog, a coverage heat map (every item coloured by what the findings of its
//! controls say: failing, unknown, passing, attested by hand, or not covered by any control),
//! grouped the way the framework is (NIST: function → category → subcategory; MAESTRO: layer →
//! threat), and the crosswalk matrix of the control library against the framework's items, with
//! each mapping's rationale.

use std::collections::BTreeMap;

use bridle_protocol::ApiError;
use bridle_protocol::compliance::{CatalogItem, Control, Coverage, CoverageItem, FrameworkInfo};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::format::{number, when};
use crate::ipc;
use crate::route;
use crate::shell::use_shell;
use crate::widgets::{ErrorBanner, Loading};
use crate::widgets_compliance::framework_short;

/// What one framework tab shows.
#[derive(Debug, Clone, PartialEq)]
struct FrameworkData {
    coverage: Coverage,
    catalog: Vec<CatalogItem>,
    controls: Vec<Control>,
}

async fn load(framework: String) -> Result<FrameworkData, ApiError> {
    Ok(FrameworkData {
        coverage: ipc::coverage(&framework, None).await?,
        catalog: ipc::catalog(&framework).await?,
        controls: ipc::controls().await?,
    })
}

/// The rulebook's labels (the evidence pack uses the same words).
fn status_label(status: &str) -> &'static str {
    match status {
        "met" => "met",
        "partly_met" => "partly met",
        "not_met" => "not met",
        "exception_accepted" => "not met — exception accepted",
        "out_of_scope" => "out of scope",
        _ => "not assessed",
    }
}

#[component]
pub fn Frameworks() -> impl IntoView {
    let shell = use_shell();
    let list = RwSignal::new(None::<Result<Vec<FrameworkInfo>, ApiError>>);
    let chosen =
        RwSignal::new(route::query_param("framework").unwrap_or_else(|| "nist-ai-rmf".to_owned()));
    let data = RwSignal::new(None::<Result<FrameworkData, ApiError>>);
    let request = StoredValue::new(0u64);
    spawn_local(async move {
        let _ = list.try_set(Some(ipc::frameworks().await));
    });
    Effect::new(move |_| {
        shell.generation.track();
        let framework = chosen.get();
        request.update_value(|n| *n += 1);
        let mine = request.get_value();
        let _ = data.try_set(None);
        spawn_local(async move {
            let result = load(framework).await;
            if request.try_get_value() == Some(mine) {
                let _ = data.try_set(Some(result));
            }
        });
    });

    view! {
        <section class="frameworks-page">
            <header class="page-header">
                <div>
                    <h1>"Frameworks"</h1>
                    <p class="muted">
                        "Coverage of each framework by the control library, from the current findings, and the crosswalk behind it."
                    </p>
                </div>
                <a class="button" href="#/findings">"Findings"</a>
            </header>
            <nav class="tabs" aria-label="Frameworks" id="framework-tabs">
                {move || match list.get() {
                    Some(Ok(list)) => {
                        list.into_iter()
                            .map(|fw| {
                                let id = fw.id.clone();
                                let active = {
                                    let id = id.clone();
                                    move || chosen.with(|c| *c == id)
                                };
                                view! {
                                    <button
                                        class="tab tab-button"
                                        class:active=active.clone()
                                        aria-current=move || active().then_some("page")
                                        data-framework=id.clone()
                                        on:click=move |_| chosen.set(id.clone())
                                    >
                                        {framework_short(&fw.id)}
                                    </button>
                                }
                            })
                            .collect_view()
                            .into_any()
                    }
                    Some(Err(error)) => view! { <ErrorBanner error /> }.into_any(),
                    None => ().into_any(),
                }}
            </nav>
            {move || match data.get() {
                None => view! { <Loading label="Evaluating coverage…" /> }.into_any(),
                Some(Err(error)) => view! { <ErrorBanner error /> }.into_any(),
                Some(Ok(data)) => view! { <FrameworkView data /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn FrameworkView(data: FrameworkData) -> impl IntoView {
    let info = data.coverage.framework.clone();
    let selected = RwSignal::new(None::<String>);
    let coverage: BTreeMap<String, CoverageItem> = data
        .coverage
        .items
        .iter()
        .map(|i| (i.id.clone(), i.clone()))
        .collect();
    let mut tally: BTreeMap<&str, u64> = BTreeMap::new();
    for item in &data.coverage.items {
        *tally.entry(item.status.as_str()).or_default() += 1;
    }
    let legend = [
        "not_met",
        "exception_accepted",
        "partly_met",
        "met",
        "not_assessed",
        "out_of_scope",
    ]
    .into_iter()
    .map(|status| {
        let n = tally.get(status).copied().unwrap_or_default();
        view! {
            <span class="legend-entry" data-legend=status>
                <span class=format!("swatch cov-{status}")></span>
                {format!("{} {}", number(n), status_label(status))}
            </span>
        }
    })
    .collect_view();
    let counts = info
        .counts
        .iter()
        .map(|(kind, n)| match kind.strip_suffix('y') {
            Some(stem) => format!("{} {stem}ies", number(*n)),
            None => format!("{} {kind}s", number(*n)),
        })
        .collect::<Vec<_>>()
        .join(" · ");
    let sources = info
        .source
        .iter()
        .map(|s| {
            if s.starts_with("http") {
                view! { <li><a href=s.clone() target="_blank" rel="noreferrer">{s.clone()}</a></li> }
                    .into_any()
            } else {
                view! { <li class="muted">{s.clone()}</li> }.into_any()
            }
        })
        .collect_view();
    let detail_coverage = coverage.clone();
    let detail_controls = data.controls.clone();
    let detail_catalog = data.catalog.clone();
    let framework_id = info.id.clone();

    view! {
        <div class="framework" data-framework=info.id.clone()>
            <div class="card framework-info">
                <div class="framework-title">
                    <h2>{info.name.clone()}</h2>
                    <span class="muted">
                        {format!("{} · {} · {counts}", info.publisher, info.version)}
                    </span>
                </div>
                {info
                    .id_note
                    .clone()
                    .map(|note| {
                        view! {
                            <div class="banner banner-warn" id="local-id-note">
                                <strong>"Local identifiers. "</strong>
                                {note}
                            </div>
                        }
                    })}
                <details class="provenance">
                    <summary>"Source and licence"</summary>
                    <ul class="plain">{sources}</ul>
                    <p class="muted">{info.licence.clone()}</p>
                </details>
            </div>
            <h2>
                "Coverage"
                <span class="muted heading-note">
                    {format!("evaluated at {}", when(&data.coverage.at))}
                </span>
            </h2>
            <div class="legend">{legend}</div>
            <div class="coverage-layout">
                <div class="card heatmap" id="coverage-heatmap">
                    <HeatMap catalog=data.catalog.clone() coverage=coverage.clone() selected />
                </div>
                <aside class="card item-detail" id="item-detail">
                    {move || match selected.get() {
                        None => {
                            view! {
                                <p class="muted">
                                    "Select an item to see its statement, the controls mapped to it and why, and its findings."
                                </p>
                            }
                                .into_any()
                        }
                        Some(id) => {
                            view! {
                                <ItemDetail
                                    framework=framework_id.clone()
                                    id
                                    catalog=detail_catalog.clone()
                                    coverage=detail_coverage.clone()
                                    controls=detail_controls.clone()
                                />
                            }
                                .into_any()
                        }
                    }}
                </aside>
            </div>
            <h2>"Crosswalk"</h2>
            <p class="muted crosswalk-help">
                "Each mark maps a control of the library to an item of this framework; hover or click it for the one-line rationale."
            </p>
            <Crosswalk framework=info.id.clone() catalog=data.catalog.clone() controls=data.controls.clone() />
        </div>
    }
}

/// Items grouped as the catalog nests them; only coverage items are tiles.
#[component]
fn HeatMap(
    catalog: Vec<CatalogItem>,
    coverage: BTreeMap<String, CoverageItem>,
    selected: RwSignal<Option<String>>,
) -> impl IntoView {
    let children = |parent: Option<&str>| -> Vec<CatalogItem> {
        catalog
            .iter()
            .filter(|i| i.parent.as_deref() == parent)
            .cloned()
            .collect()
    };
    let tile = move |item: &CatalogItem, cov: &CoverageItem| {
        let id = item.id.clone();
        let statement = item
            .text
            .clone()
            .or_else(|| item.summary.clone())
            .unwrap_or_default();
        let name = if item.title != item.id {
            format!("{}: {}", item.id, item.title)
        } else {
            item.id.clone()
        };
        let hover = format!(
            "{name}\n{statement}\n\n{} · fail {} · unknown {} · pass {} · accepted {}\n{}",
            status_label(&cov.status),
            cov.fail,
            cov.unknown,
            cov.pass,
            cov.accepted,
            cov.reason
        );
        let is_selected = {
            let id = id.clone();
            move || selected.with(|s| s.as_deref() == Some(id.as_str()))
        };
        let label = if item.title != item.id && item.id.len() <= 6 {
            item.title.clone()
        } else {
            String::new()
        };
        let figures = if cov.fail + cov.unknown + cov.pass + cov.accepted > 0 {
            // Accepted failures are not passes: they get their own mark.
            let accepted = if cov.accepted > 0 {
                format!(" {}⚑", cov.accepted)
            } else {
                String::new()
            };
            format!("{}✗ {}? {}✓{accepted}", cov.fail, cov.unknown, cov.pass)
        } else {
            String::new()
        };
        view! {
            <button
                class=format!("tile cov-{}", cov.status)
                class:selected=is_selected
                class:wide=!label.is_empty()
                data-item=id.clone()
                data-status=cov.status.clone()
                title=hover
                on:click=move |_| selected.set(Some(id.clone()))
            >
                <span class="tile-id">
                    {item.id.clone()}
                    {item.local_id.then(|| view! { <span class="local-mark" title="Bridle-local id">"*"</span> })}
                </span>
                {(!label.is_empty()).then(|| view! { <span class="tile-title">{label.clone()}</span> })}
                <span class="tile-figures">{figures}</span>
            </button>
        }
    };

    let groups = children(None)
        .into_iter()
        .map(|top| {
            let header_status = coverage.get(&top.id).map(|c| c.status.clone());
            let direct = children(Some(&top.id));
            let has_grandchildren = direct
                .iter()
                .any(|c| catalog.iter().any(|i| i.parent.as_deref() == Some(c.id.as_str())));
            let body = if has_grandchildren {
                direct
                    .iter()
                    .map(|category| {
                        let tiles = children(Some(&category.id))
                            .iter()
                            .filter_map(|leaf| coverage.get(&leaf.id).map(|c| tile(leaf, c)))
                            .collect_view();
                        let hover = category.text.clone().or_else(|| category.summary.clone()).unwrap_or_default();
                        view! {
                            <div class="heat-subgroup">
                                <div class="heat-subgroup-title" title=hover>
                                    <strong>{category.id.clone()}</strong>
                                    <span class="muted heat-subgroup-text">{subtitle(category)}</span>
                                </div>
                                <div class="tiles">{tiles}</div>
                            </div>
                        }
                    })
                    .collect_view()
                    .into_any()
            } else {
                let tiles = direct
                    .iter()
                    .filter_map(|leaf| coverage.get(&leaf.id).map(|c| tile(leaf, c)))
                    .collect_view();
                view! { <div class="tiles">{tiles}</div> }.into_any()
            };
            let own_tile = coverage.get(&top.id).map(|c| tile(&top, c));
            // A flat catalog (OWASP): its items are themselves top-level tiles.
            if direct.is_empty() {
                return own_tile.into_any();
            }
            view! {
                <div class="heat-group" data-group=top.id.clone()>
                    <div class="heat-group-title" title=top.text.clone().or(top.summary.clone()).unwrap_or_default()>
                        <strong>{top.id.clone()}</strong>
                        " "
                        {(top.title != top.id).then(|| top.title.clone())}
                        {header_status
                            .map(|s| {
                                view! {
                                    <span class=format!("pill cov-pill cov-{s}")>{status_label(&s)}</span>
                                }
                            })}
                    </div>
                    {body}
                </div>
            }
            .into_any()
        })
        .collect_view();
    view! { <div class="heat-groups">{groups}</div> }
}

#[component]
fn ItemDetail(
    framework: String,
    id: String,
    catalog: Vec<CatalogItem>,
    coverage: BTreeMap<String, CoverageItem>,
    controls: Vec<Control>,
) -> impl IntoView {
    let item = catalog.iter().find(|i| i.id == id).cloned();
    let cov = coverage.get(&id).cloned();
    let Some(item) = item else {
        return view! { <p class="muted">"No such item."</p> }.into_any();
    };
    let mappings = controls
        .iter()
        .flat_map(|c| {
            c.mappings
                .iter()
                .filter(|m| m.framework == framework && (m.item == id || is_below(&catalog, &m.item, &id)))
                .map(move |m| (c.clone(), m.clone()))
        })
        .map(|(control, mapping)| {
            view! {
                <li>
                    <div>
                        <strong>{control.id.clone()}</strong>
                        " "
                        {control.title.clone()}
                        <span class=format!("badge assess-{}", control.assessment)>{control.assessment.clone()}</span>
                    </div>
                    <div class="muted rationale">
                        {(mapping.item != id).then(|| format!("via {}: ", mapping.item))}
                        {mapping.rationale.clone()}
                    </div>
                </li>
            }
        })
        .collect_view();
    let findings_href = format!("#/findings?framework={framework}");
    view! {
        <div class="item-detail-body" data-item=id.clone()>
            <h3>
                {item.id.clone()}
                {item.local_id.then(|| view! { <span class="local-id">"Bridle-local id"</span> })}
            </h3>
            {(item.title != item.id).then(|| view! { <p class="item-title">{item.title.clone()}</p> })}
            {item
                .text
                .clone()
                .map(|text| {
                    view! {
                        <blockquote class="statement" title="The framework's statement, verbatim">
                            {text}
                        </blockquote>
                    }
                })}
            {item.summary.clone().map(|s| view! { <p class="summary">{s}<span class="muted">" (Bridle's summary)"</span></p> })}
            {cov
                .map(|c| {
                    view! {
                        <p class="coverage-figures">
                            <span class=format!("pill cov-pill cov-{}", c.status)>{status_label(&c.status)}</span>
                            {format!(
                                " fail {} · unknown {} · pass {} · accepted {}",
                                c.fail,
                                c.unknown,
                                c.pass,
                                c.accepted,
                            )}
                        </p>
                        <p class="coverage-reason muted">{c.reason.clone()}</p>
                    }
                })}
            <h3>"Mapped controls"</h3>
            <ul class="plain mappings">{mappings}</ul>
            <a class="button small" href=findings_href>"Findings of this framework"</a>
        </div>
    }
    .into_any()
}

/// A group's line under its id: its title, or (NIST, whose categories are titled by their id)
/// its statement.
fn subtitle(item: &CatalogItem) -> String {
    if item.title != item.id {
        item.title.clone()
    } else {
        item.text
            .clone()
            .or(item.summary.clone())
            .unwrap_or_default()
    }
}

/// Whether `item` sits below `ancestor` in the catalog.
fn is_below(catalog: &[CatalogItem], item: &str, ancestor: &str) -> bool {
    let mut current = item.to_owned();
    while let Some(parent) = catalog
        .iter()
        .find(|i| i.id == current)
        .and_then(|i| i.parent.clone())
    {
        if parent == ancestor {
            return true;
        }
        current = parent;
    }
    false
}

/// Controls × the framework's mapped items, in catalog order.
#[component]
fn Crosswalk(
    framework: String,
    catalog: Vec<CatalogItem>,
    controls: Vec<Control>,
) -> impl IntoView {
    let shown = RwSignal::new(None::<(String, String, String)>);
    let columns: Vec<CatalogItem> = catalog
        .iter()
        .filter(|item| {
            controls.iter().any(|c| {
                c.mappings
                    .iter()
                    .any(|m| m.framework == framework && m.item == item.id)
            })
        })
        .cloned()
        .collect();
    let heads = columns
        .iter()
        .map(|item| {
            let hover = format!(
                "{}{}\n{}",
                item.id,
                if item.local_id {
                    " (Bridle-local id)"
                } else {
                    ""
                },
                item.text
                    .clone()
                    .or(item.summary.clone())
                    .unwrap_or(item.title.clone())
            );
            view! {
                <th class="cw-col" title=hover>
                    <span class="cw-col-label">
                        {item.id.clone()}
                        {item.local_id.then_some("*")}
                    </span>
                </th>
            }
        })
        .collect_view();
    let rows = controls
        .iter()
        .map(|control| {
            let cells = columns
                .iter()
                .map(|item| {
                    let mapping = control
                        .mappings
                        .iter()
                        .find(|m| m.framework == framework && m.item == item.id)
                        .cloned();
                    match mapping {
                        Some(m) => {
                            let key = (control.id.clone(), m.item.clone(), m.rationale.clone());
                            let hover = format!("{} → {}: {}", control.id, m.item, m.rationale);
                            let is_shown = {
                                let key = key.clone();
                                move || shown.with(|s| s.as_ref() == Some(&key))
                            };
                            view! {
                                <td class="cw-cell">
                                    <button
                                        class="cw-mark"
                                        class:selected=is_shown
                                        title=hover
                                        data-control=control.id.clone()
                                        data-item=m.item.clone()
                                        on:click=move |_| shown.set(Some(key.clone()))
                                    >
                                        "●"
                                    </button>
                                </td>
                            }
                            .into_any()
                        }
                        None => view! { <td class="cw-cell"></td> }.into_any(),
                    }
                })
                .collect_view();
            view! {
                <tr>
                    <th class="cw-row" title=control.practice.clone()>
                        <strong>{control.id.clone()}</strong>
                        " "
                        {control.title.clone()}
                        {(control.assessment == "manual").then(|| view! { <span class="badge">"manual"</span> })}
                    </th>
                    {cells}
                </tr>
            }
        })
        .collect_view();
    let empty = columns.is_empty();
    view! {
        <div class="card crosswalk-card">
            {empty.then(|| view! { <p class="muted">"No control maps to this framework."</p> })}
            <div class="table-scroll">
                <table class="crosswalk" id="crosswalk">
                    <thead>
                        <tr>
                            <th class="cw-corner">"Control"</th>
                            {heads}
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <div class="cw-rationale" id="crosswalk-rationale">
                {move || match shown.get() {
                    Some((control, item, rationale)) => {
                        view! {
                            <p>
                                <strong>{format!("{control} → {item}")}</strong>
                                " "
                                {rationale}
                            </p>
                        }
                            .into_any()
                    }
                    None => view! { <p class="muted">"Click a mark to read why the control maps to the item."</p> }.into_any(),
                }}
            </div>
        </div>
    }
}
