//! Live brokers: every profile with its last sync, and per profile: test the connection, sync
//! now (with elapsed time), the drift between its last two good syncs, and revocation of a
//! token accessor or lease (OpenBao/Vault) behind an explicit confirmation. Profiles are added
//! with `bridle broker add`. A profile whose credential this user has not approved on this
//! machine says so, and its Approve button asks in a native dialog that shows the address and
//! the reference.

use std::collections::HashMap;
use std::time::Duration;

use bridle_protocol::ApiError;
use bridle_protocol::brokers::{
    BrokerProfile, BrokerTest, ChangeKind, Drift, DriftItem, Revocation, RevokeTarget, SyncReport,
    SyncStatus,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::format::when;
use crate::ipc;
use crate::shell::use_shell;
use crate::widgets::{ErrorBanner, Loading};

/// What the last action on one profile produced.
#[derive(Debug, Clone)]
enum Outcome {
    Running(&'static str),
    Test(Result<BrokerTest, ApiError>),
    Sync(Result<SyncReport, ApiError>),
    Drift(Result<Drift, ApiError>),
    Revoke(Result<Revocation, ApiError>),
    Approve(Result<BrokerProfile, ApiError>),
}

#[component]
pub fn Brokers() -> impl IntoView {
    let shell = use_shell();
    let reload = RwSignal::new(0u32);
    // Each profile's last outcome lives at page level, so it survives the list reloading after
    // a sync (which re-creates the cards).
    let owner = Owner::current().expect("a page renders inside an owner");
    let outcomes: StoredValue<HashMap<String, RwSignal<Option<Outcome>>>> =
        StoredValue::new(HashMap::new());
    let outcome_of = move |name: &str| {
        if let Some(signal) = outcomes.with_value(|m| m.get(name).copied()) {
            return signal;
        }
        let signal = owner.with(|| RwSignal::new(None));
        outcomes.update_value(|m| {
            m.insert(name.to_owned(), signal);
        });
        signal
    };
    let profiles = LocalResource::new(move || {
        reload.track();
        shell.generation.track();
        async move { ipc::broker_list().await }
    });
    view! {
        <section class="brokers-page">
            <header class="page-header">
                <div>
                    <h1>"Brokers"</h1>
                    <p class="muted">
                        "Live sources: each sync reads the whole broker and becomes one snapshot; "
                        "a failed sync is recorded and changes nothing. Add a profile with "
                        <code>"bridle broker add"</code>
                        "."
                    </p>
                </div>
            </header>
            {move || match profiles.get() {
                None => view! { <Loading label="Reading the profiles…" /> }.into_any(),
                Some(Err(error)) => view! { <ErrorBanner error /> }.into_any(),
                Some(Ok(list)) if list.is_empty() => {
                    view! {
                        <div class="card empty-state" id="brokers-empty">
                            <p>"No brokers yet."</p>
                            <p class="muted">
                                <code>
                                    "bridle broker add bao --kind openbao --address https://bao:8200 --credential env:BAO_TOKEN"
                                </code>
                            </p>
                        </div>
                    }
                        .into_any()
                }
                Some(Ok(list)) => {
                    list.into_iter()
                        .map(|profile| {
                            let outcome = outcome_of(&profile.name);
                            view! { <ProfileCard profile reload outcome /> }
                        })
                        .collect_view()
                        .into_any()
                }
            }}
        </section>
    }
}

fn last_result(profile: &BrokerProfile) -> String {
    match &profile.last_sync {
        None => "never synced".to_owned(),
        Some(run) => match run.status {
            SyncStatus::Ok => format!(
                "ok at {}: snapshot {}, {} observations{}",
                when(&run.finished_at),
                run.snapshot.unwrap_or_default(),
                run.observations,
                if run.unknown_parts.is_empty() {
                    String::new()
                } else {
                    format!(", {} unknown part(s)", run.unknown_parts.len())
                }
            ),
            SyncStatus::Failed => format!(
                "failed at {}: {}",
                when(&run.finished_at),
                run.error.clone().unwrap_or_default()
            ),
        },
    }
}

#[component]
fn ProfileCard(
    profile: BrokerProfile,
    reload: RwSignal<u32>,
    outcome: RwSignal<Option<Outcome>>,
) -> impl IntoView {
    let shell = use_shell();
    let elapsed = RwSignal::new(0u32);
    let name = profile.name.clone();
    let is_vault = profile.kind == "openbao";
    let running = move || matches!(outcome.get(), Some(Outcome::Running(_)));

    let test = {
        let name = name.clone();
        move |_| {
            let name = name.clone();
            outcome.set(Some(Outcome::Running("Testing the connection…")));
            spawn_local(async move {
                let result = ipc::broker_test(&name).await;
                let _ = outcome.try_set(Some(Outcome::Test(result)));
            });
        }
    };
    let syncing = RwSignal::new(false);
    let cancel_sync = {
        let name = name.clone();
        move |_| {
            let name = name.clone();
            spawn_local(async move {
                let _ = ipc::broker_cancel_sync(&name).await;
            });
        }
    };
    let sync = {
        let name = name.clone();
        move |_| {
            let name = name.clone();
            syncing.set(true);
            outcome.set(Some(Outcome::Running("Syncing…")));
            elapsed.set(0);
            let ticker = set_interval_with_handle(
                move || {
                    let _ = elapsed.try_update(|s| *s += 1);
                },
                Duration::from_secs(1),
            )
            .ok();
            spawn_local(async move {
                let result = ipc::broker_sync(&name).await;
                let _ = syncing.try_set(false);
                if let Some(ticker) = ticker {
                    ticker.clear();
                }
                if matches!(&result, Ok(r) if r.run.status == SyncStatus::Ok) {
                    let _ = shell.generation.try_update(|g| *g += 1);
                } else {
                    let _ = reload.try_update(|g| *g += 1);
                }
                let _ = outcome.try_set(Some(Outcome::Sync(result)));
            });
        }
    };
    let drift = {
        let name = name.clone();
        move |_| {
            let name = name.clone();
            outcome.set(Some(Outcome::Running("Comparing the last two syncs…")));
            spawn_local(async move {
                let result = ipc::broker_drift(&name).await;
                let _ = outcome.try_set(Some(Outcome::Drift(result)));
            });
        }
    };

    let revoke_kind = RwSignal::new("accessor".to_owned());
    let revoke_id = RwSignal::new(String::new());
    let confirmed = RwSignal::new(false);
    let revoke = {
        let name = name.clone();
        move || {
            let id = revoke_id.get_untracked().trim().to_owned();
            if id.is_empty() || !confirmed.get_untracked() {
                return;
            }
            let target = if revoke_kind.get_untracked() == "lease" {
                RevokeTarget::Lease(id)
            } else {
                RevokeTarget::Accessor(id)
            };
            let name = name.clone();
            outcome.set(Some(Outcome::Running("Revoking at the broker…")));
            spawn_local(async move {
                let result = ipc::broker_revoke(&name, &target, true).await;
                if result.is_ok() {
                    let _ = revoke_id.try_set(String::new());
                    let _ = confirmed.try_set(false);
                }
                let _ = outcome.try_set(Some(Outcome::Revoke(result)));
            });
        }
    };

    let approve = {
        let name = name.clone();
        move |_| {
            let name = name.clone();
            outcome.set(Some(Outcome::Running(
                "Waiting for your answer in the dialog…",
            )));
            spawn_local(async move {
                let result = ipc::broker_approve(&name).await;
                if result.is_ok() {
                    let _ = reload.try_update(|g| *g += 1);
                }
                let _ = outcome.try_set(Some(Outcome::Approve(result)));
            });
        }
    };
    let unapproved = profile.credential_approved == Some(false);

    let card_id = format!("broker-{}", profile.name);
    view! {
        <article class="card broker-card" id=card_id data-kind=profile.kind.clone()>
            <header class="broker-head">
                <h2>{profile.name.clone()}</h2>
                <span class="badge">{profile.kind.clone()}</span>
                <code class="muted">{profile.address.clone()}</code>
            </header>
            <p class="muted">
                "Credential: "
                <code>{profile.credential.clone().unwrap_or_else(|| "none".into())}</code>
                " · source "
                <code>{profile.source.clone()}</code>
            </p>
            <Show when=move || unapproved>
                <div class="banner banner-error" data-testid="broker-unapproved">
                    <strong>"Not approved on this machine. "</strong>
                    "Bridle will not read this credential or send it to this address until you \
                     approve that use; a profile in a database cannot decide where your secrets go."
                    " "
                    <button class="button secondary" disabled=running on:click=approve.clone()>
                        "Approve…"
                    </button>
                </div>
            </Show>
            <p class="broker-last" data-testid="broker-last">
                "Last sync: "
                {last_result(&profile)}
            </p>
            <div class="form-actions">
                <button class="button secondary" disabled=running on:click=test>
                    "Test connection"
                </button>
                <button class="button primary" disabled=running on:click=sync>
                    "Sync now"
                </button>
                <button class="button secondary" disabled=running on:click=drift>
                    "Drift"
                </button>
            </div>
            {move || match outcome.get() {
                None => ().into_any(),
                Some(Outcome::Running(label)) => {
                    let cancel_sync = cancel_sync.clone();
                    view! {
                        <div class="progress-card" aria-live="polite">
                            <div class="progress" role="progressbar" aria-label=label>
                                <div class="progress-bar"></div>
                            </div>
                            <p>{move || format!("{label} {} s", elapsed.get())}</p>
                            <Show when=move || syncing.get()>
                                <button
                                    class="button secondary"
                                    data-testid="broker-cancel-sync"
                                    on:click=cancel_sync.clone()
                                >
                                    "Cancel sync"
                                </button>
                            </Show>
                        </div>
                    }
                        .into_any()
                }
                Some(Outcome::Test(Err(error)))
                | Some(Outcome::Sync(Err(error)))
                | Some(Outcome::Drift(Err(error)))
                | Some(Outcome::Revoke(Err(error)))
                | Some(Outcome::Approve(Err(error))) => view! { <ErrorBanner error /> }.into_any(),
                Some(Outcome::Approve(Ok(profile))) => {
                    view! {
                        <div class="banner" data-testid="broker-approved">
                            <strong>"Approved. "</strong>
                            {format!(
                                "{} may now send {} to {}",
                                profile.name,
                                profile.credential.unwrap_or_default(),
                                profile.address,
                            )}
                        </div>
                    }
                        .into_any()
                }
                Some(Outcome::Test(Ok(test))) => {
                    let class = if test.ok { "banner" } else { "banner banner-error" };
                    view! {
                        <div class=class data-testid="broker-test">
                            <strong>{if test.ok { "Connected. " } else { "Failed. " }}</strong>
                            {test.detail.join(" · ")}
                        </div>
                    }
                        .into_any()
                }
                Some(Outcome::Sync(Ok(report))) => view! { <SyncResult report /> }.into_any(),
                Some(Outcome::Drift(Ok(drift))) => view! { <DriftView drift /> }.into_any(),
                Some(Outcome::Revoke(Ok(done))) => {
                    view! {
                        <div class="banner" data-testid="broker-revoked">
                            <strong>"Revoked. "</strong>
                            {format!("{} (audit entry {})", done.answer, done.audit_seq)}
                        </div>
                    }
                        .into_any()
                }
            }}
            <Show when=move || is_vault>
                <form
                    class="revoke-form"
                    on:submit={
                        let revoke = revoke.clone();
                        move |event| {
                            event.prevent_default();
                            revoke();
                        }
                    }
                >
                    <h3>"Revoke"</h3>
                    <span class="input-with-button">
                        <select
                            aria-label="What to revoke"
                            on:change=move |event| revoke_kind.set(event_target_value(&event))
                        >
                            <option value="accessor" selected=true>"Token accessor"</option>
                            <option value="lease">"Lease id"</option>
                        </select>
                        <input
                            type="text"
                            placeholder="accessor or lease id"
                            autocomplete="off"
                            spellcheck="false"
                            prop:value=move || revoke_id.get()
                            on:input=move |event| revoke_id.set(event_target_value(&event))
                        />
                    </span>
                    <label class="confirm">
                        <input
                            type="checkbox"
                            prop:checked=move || confirmed.get()
                            on:change=move |event| confirmed.set(event_target_checked(&event))
                        />
                        " I understand this revokes it at the broker now and cannot be undone."
                    </label>
                    <button
                        type="submit"
                        class="button"
                        disabled=move || {
                            running() || !confirmed.get() || revoke_id.with(|i| i.trim().is_empty())
                        }
                    >
                        "Revoke"
                    </button>
                </form>
            </Show>
        </article>
    }
}

#[component]
fn SyncResult(report: SyncReport) -> impl IntoView {
    let run = report.run;
    let ok = run.status == SyncStatus::Ok;
    let class = if ok { "banner" } else { "banner banner-error" };
    let headline = match (&run.error, &report.snapshot) {
        (Some(error), _) => format!("Sync failed; nothing changed. {error}"),
        (None, Some(s)) => format!(
            "Snapshot {}: {} added, {} changed, {} removed; {} observations.",
            s.id, s.added, s.changed, s.removed, run.observations
        ),
        (None, None) => "Synced.".to_owned(),
    };
    view! {
        <div class=class data-testid="broker-sync">
            <p>{headline}</p>
            <ul>
                {run
                    .unknown_parts
                    .into_iter()
                    .map(|u| view! { <li>{format!("Unknown: {} — {}", u.part, u.reason)}</li> })
                    .collect_view()}
            </ul>
        </div>
    }
}

fn sign(change: ChangeKind) -> &'static str {
    match change {
        ChangeKind::Added => "added",
        ChangeKind::Removed => "removed",
        ChangeKind::Changed => "changed",
    }
}

fn drift_rows(items: Vec<DriftItem>) -> impl IntoView {
    items
        .into_iter()
        .map(|item| {
            let fields = item
                .fields
                .iter()
                .map(|f| format!("{}: {} → {}", f.field, f.before, f.after))
                .collect::<Vec<_>>()
                .join("; ");
            view! {
                <tr>
                    <td>{sign(item.change)}</td>
                    <td>{item.kind}</td>
                    <td title=item.id.clone()>{item.id.clone()}</td>
                    <td title=fields.clone()>{fields.clone()}</td>
                </tr>
            }
        })
        .collect_view()
}

#[component]
fn DriftView(drift: Drift) -> impl IntoView {
    let total = drift.entities.len() + drift.observations.len();
    view! {
        <div class="drift" data-testid="broker-drift">
            <h3>
                {format!(
                    "Drift from snapshot {} to {}: {} change(s)",
                    drift.from_snapshot,
                    drift.to_snapshot,
                    total,
                )}
            </h3>
            <table class="data compact">
                <thead>
                    <tr>
                        <th>"Change"</th>
                        <th>"Kind"</th>
                        <th>"Id"</th>
                        <th>"Fields"</th>
                    </tr>
                </thead>
                <tbody>{drift_rows(drift.entities)} {drift_rows(drift.observations)}</tbody>
            </table>
        </div>
    }
}
