//! The overview: what is in the inventory, what needs attention, and the latest snapshots.

use bridle_protocol::console::{ColumnFilter, InventoryKind};
use bridle_protocol::{ApiError, Overview, Snapshot};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::format::{count, number, when};
use crate::ipc;
use crate::route::Route;
use crate::shell::use_shell;
use crate::widgets::{ErrorBanner, Loading};

#[component]
pub fn Dashboard() -> impl IntoView {
    let shell = use_shell();
    let data = RwSignal::new(None::<Result<(Overview, Vec<Snapshot>), ApiError>>);
    Effect::new(move |_| {
        shell.generation.track();
        spawn_local(async move {
            let result = async { Ok((ipc::overview().await?, ipc::snapshots().await?)) }.await;
            let _ = data.try_set(Some(result));
        });
    });

    view! {
        <section class="dashboard">
            <header class="page-header">
                <div>
                    <h1>"Overview"</h1>
                    <p class="muted">"What the inventory holds and where access needs attention."</p>
                </div>
                <a class="button" href="#/import">"Import an estate file"</a>
            </header>
            {move || match data.get() {
                None => view! { <Loading label="Reading the inventory…" /> }.into_any(),
                Some(Err(error)) => view! { <ErrorBanner error /> }.into_any(),
                Some(Ok((overview, snapshots))) => {
                    view! { <Figures overview snapshots /> }.into_any()
                }
            }}
        </section>
    }
}

#[component]
fn Figures(overview: Overview, snapshots: Vec<Snapshot>) -> impl IntoView {
    let shell = use_shell();
    let c = overview.counts;
    let stat = |kind: InventoryKind, label: &'static str, value: u64| {
        view! {
            <a class="stat" href=Route::Inventory(kind).href() data-count=kind.as_str()>
                <span class="stat-value">{number(value)}</span>
                <span class="stat-label">{label}</span>
            </a>
        }
    };
    let rotation = overview.rotation_limit_days;
    let empty = c.agents + c.identities + c.credentials + c.resources + c.tools + c.grants == 0;
    view! {
        {empty
            .then(|| {
                view! {
                    <div class="banner banner-info">
                        "The inventory is empty. "
                        <a href="#/import">"Import an estate file"</a>
                        " to see your agents and their access."
                    </div>
                }
            })}
        <div class="stats" id="counts">
            {stat(InventoryKind::Agents, "Agents", c.agents)}
            {stat(InventoryKind::Identities, "Identities", c.identities)}
            {stat(InventoryKind::Credentials, "Credentials", c.credentials)}
            {stat(InventoryKind::Grants, "Grants", c.grants)}
            {stat(InventoryKind::Resources, "Resources", c.resources)}
            {stat(InventoryKind::Tools, "Tools", c.tools)}
        </div>
        <h2>"Needs attention"</h2>
        <div class="attention">
            <button
                class="attention-card"
                class:warn={overview.agents_without_owner > 0}
                data-figure="agents-without-owner"
                on:click=move |_| {
                    shell
                        .open_filtered(
                            InventoryKind::Agents,
                            vec![ColumnFilter { column: "owner".into(), value: String::new() }],
                        )
                }
            >
                <span class="stat-value">{number(overview.agents_without_owner)}</span>
                <span class="attention-title">"Agents without an owner"</span>
                <span class="muted">"Nobody answers for what these agents do."</span>
            </button>
            <button
                class="attention-card"
                class:warn={overview.long_lived_credentials > 0}
                data-figure="long-lived-credentials"
                on:click=move |_| {
                    shell.table(InventoryKind::Credentials).update(|t| {
                        t.sort = Some("expires_at".into());
                        t.descending = true;
                        t.offset = 0;
                    });
                    crate::route::go(&Route::Inventory(InventoryKind::Credentials));
                }
            >
                <span class="stat-value">{number(overview.long_lived_credentials)}</span>
                <span class="attention-title">"Long-lived credentials"</span>
                <span class="muted">
                    {format!("No expiry, or not rotated for more than {rotation} days.")}
                </span>
            </button>
            <button
                class="attention-card"
                class:warn={overview.standing_grants > 0}
                data-figure="standing-grants"
                on:click=move |_| {
                    shell
                        .open_filtered(
                            InventoryKind::Grants,
                            vec![ColumnFilter { column: "standing".into(), value: "yes".into() }],
                        )
                }
            >
                <span class="stat-value">{number(overview.standing_grants)}</span>
                <span class="attention-title">"Standing grants"</span>
                <span class="muted">"Always-on access instead of just-in-time."</span>
            </button>
        </div>
        <h2>"Snapshots"</h2>
        <SnapshotTable snapshots at=when(&overview.at) />
    }
}

#[component]
fn SnapshotTable(snapshots: Vec<Snapshot>, at: String) -> impl IntoView {
    if snapshots.is_empty() {
        return view! { <p class="muted">"No snapshot yet: nothing has been imported."</p> }
            .into_any();
    }
    let total = snapshots.len() as u64;
    let shown: Vec<Snapshot> = snapshots.into_iter().rev().take(8).collect();
    view! {
        <div class="card table-card">
            <table class="data" id="snapshots">
                <thead>
                    <tr>
                        <th>"Snapshot"</th>
                        <th>"Taken"</th>
                        <th>"Source"</th>
                        <th>"From"</th>
                        <th class="num">"Added"</th>
                        <th class="num">"Changed"</th>
                        <th class="num">"Removed"</th>
                        <th>"Estate sha256"</th>
                    </tr>
                </thead>
                <tbody>
                    {shown
                        .into_iter()
                        .enumerate()
                        .map(|(index, s)| {
                            view! {
                                <tr class:latest=index == 0>
                                    <td>
                                        <strong>{format!("#{}", s.id)}</strong>
                                        {(index == 0).then(|| view! { <span class="badge">"latest"</span> })}
                                    </td>
                                    <td>{when(&s.taken_at)}</td>
                                    <td>{s.source.clone()}</td>
                                    <td class="ellipsis" title=s.origin.clone().unwrap_or_default()>
                                        {s.origin.clone().unwrap_or_else(|| "—".into())}
                                    </td>
                                    <td class="num">{number(s.added)}</td>
                                    <td class="num">{number(s.changed)}</td>
                                    <td class="num">{number(s.removed)}</td>
                                    <td>
                                        <code title=s.estate_sha256.clone()>
                                            {s.estate_sha256.chars().take(12).collect::<String>()}
                                        </code>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            <p class="table-footer muted">
                {format!("{}; figures evaluated at {at}.", count(total, "snapshot", "snapshots"))}
            </p>
        </div>
    }
    .into_any()
}
