//! One entity and everything directly connected to it.

use bridle_protocol::console::{EntityData as Entity, EntityPage as EntityDetail};
use bridle_protocol::{ApiError, CredentialRow, GrantRow, Provenance, Reference, ToolRow};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::format::{number, text_opt, when, when_opt};
use crate::ipc;
use crate::shell::use_shell;
use crate::widgets::{EntityLink, EntityLinks, ErrorBanner, Field, KindBadge, Loading};

#[component]
pub fn EntityPage(id: String) -> impl IntoView {
    let shell = use_shell();
    let detail = RwSignal::new(None::<Result<EntityDetail, ApiError>>);
    let requested = id.clone();
    Effect::new(move |_| {
        shell.generation.track();
        let id = requested.clone();
        spawn_local(async move {
            let result = ipc::entity(&id).await;
            let _ = detail.try_set(Some(result));
        });
    });
    view! {
        <section class="entity-page">
            {move || match detail.get() {
                None => view! { <Loading label="Loading…" /> }.into_any(),
                Some(Err(error)) => {
                    view! {
                        <header class="page-header">
                            <h1>"Entity not found"</h1>
                        </header>
                        <ErrorBanner error />
                        <p>
                            <a href="#/" class="button">"Back to the overview"</a>
                        </p>
                    }
                        .into_any()
                }
                Some(Ok(detail)) => view! { <Detail detail /> }.into_any(),
            }}
        </section>
    }
}

fn heading(entity: &Entity) -> (&'static str, String, String) {
    match entity {
        Entity::Agent(a) => ("agent", a.name.clone(), a.id.clone()),
        Entity::Identity(i) => ("identity", i.name.clone(), i.id.clone()),
        Entity::Credential(c) => ("credential", c.id.clone(), c.id.clone()),
        Entity::Resource(r) => ("resource", r.name.clone(), r.id.clone()),
        Entity::Tool(t) => ("tool", t.name.clone(), t.id.clone()),
        Entity::Grant(g) => ("grant", format!("Grant {}", g.id), g.id.clone()),
    }
}

fn provenance(p: &Provenance) -> impl IntoView + use<> {
    let origin = p.origin.clone();
    let first_seen = when(&p.first_seen);
    let last_seen = when(&p.last_seen);
    view! {
        <Field label="Source">
            <code>{origin}</code>
        </Field>
        <Field label="First seen">{first_seen}</Field>
        <Field label="Last seen">{last_seen}</Field>
    }
}

fn fields(entity: &Entity) -> AnyView {
    match entity.clone() {
        Entity::Agent(a) => view! {
            <Field label="Owner">{text_opt(&a.owner)}</Field>
            <Field label="Environment">{text_opt(&a.environment)}</Field>
            <Field label="Autonomy">{a.autonomy.clone()}</Field>
            <Field label="Runs as">
                <EntityLinks ids=a.runs_as.clone() />
            </Field>
            {provenance(&a.provenance)}
        }
        .into_any(),
        Entity::Identity(i) => view! {
            <Field label="Kind">{i.kind.clone()}</Field>
            <Field label="Owner">{text_opt(&i.owner)}</Field>
            <Field label="Provider">{text_opt(&i.provider)}</Field>
            {provenance(&i.provenance)}
        }
        .into_any(),
        Entity::Credential(c) => view! {
            <Field label="Identity">
                <EntityLink id=c.identity.clone() />
            </Field>
            <Field label="Kind">{c.kind.clone()}</Field>
            <Field label="Issued">{when_opt(&c.issued_at)}</Field>
            <Field label="Expires">{when_opt(&c.expires_at)}</Field>
            <Field label="Last rotated">{when_opt(&c.last_rotated)}</Field>
            <Field label="Last used">{when_opt(&c.last_used)}</Field>
            <Field label="Fingerprint">
                <code>{text_opt(&c.fingerprint)}</code>
            </Field>
            {provenance(&c.provenance)}
        }
        .into_any(),
        Entity::Resource(r) => view! {
            <Field label="Kind">{r.kind.clone()}</Field>
            <Field label="Sensitivity">
                <span class=format!("badge sensitivity-{}", r.sensitivity)>{r.sensitivity.clone()}</span>
            </Field>
            <Field label="Crown jewel">
                {if r.crown_jewel { "yes" } else { "no" }}
            </Field>
            <Field label="Environment">{text_opt(&r.environment)}</Field>
            <Field label="Runs as">
                <EntityLinks ids=r.runs_as.clone() />
            </Field>
            <Field label="Holds credentials">
                <EntityLinks ids=r.holds_credentials.clone() />
            </Field>
            {provenance(&r.provenance)}
        }
        .into_any(),
        Entity::Tool(t) => view! {
            <Field label="Server">{text_opt(&t.server)}</Field>
            <Field label="Runs as">
                <EntityLinks ids=t.runs_as.iter().cloned().collect() />
            </Field>
            <Field label="Acts on">
                <ul class="plain">
                    {t.acts_on
                        .iter()
                        .map(|a| {
                            view! {
                                <li>
                                    <EntityLink id=a.resource.clone() />
                                    " "
                                    <span class="muted">{a.actions.join(", ")}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </Field>
            {provenance(&t.provenance)}
        }
        .into_any(),
        Entity::Grant(g) => view! {
            <Field label="Subject">
                <EntityLink id=g.subject.clone() />
            </Field>
            <Field label="Target">
                <EntityLink id=g.target.clone() />
            </Field>
            <Field label="Actions">{g.actions.join(", ")}</Field>
            <Field label="Standing">
                {if g.standing { "yes, always on" } else { "no, just-in-time" }}
            </Field>
            <Field label="Expires">{when_opt(&g.expires_at)}</Field>
            <Field label="Conditions">{text_opt(&g.conditions)}</Field>
            <Field label="Granted by">{text_opt(&g.source)}</Field>
            {provenance(&g.provenance)}
        }
        .into_any(),
    }
}

#[component]
fn Detail(detail: EntityDetail) -> impl IntoView {
    let (kind, name, id) = heading(&detail.entity);
    let show_id = name != id;
    let is_grant = matches!(detail.entity, Entity::Grant(_));
    view! {
        <header class="page-header entity-header" data-entity-id=id.clone()>
            <div>
                <div class="entity-kind">
                    <KindBadge kind=kind />
                </div>
                <h1 id="entity-title">{name}</h1>
                {show_id.then(|| view! { <code class="entity-id">{id.clone()}</code> })}
            </div>
        </header>
        <div class="entity-grid">
            <div class="card">
                <h2>"Details"</h2>
                <dl class="fields">{fields(&detail.entity)}</dl>
            </div>
            <div class="entity-connections">
                {(!is_grant)
                    .then(|| {
                        view! {
                            <GrantTable
                                title="Grants held"
                                empty="It is the subject of no grant."
                                grants=detail.grants_out.clone()
                                other="Target"
                                outgoing=true
                            />
                            <GrantTable
                                title="Grants on it"
                                empty="It is the target of no grant."
                                grants=detail.grants_in.clone()
                                other="Subject"
                                outgoing=false
                            />
                        }
                    })}
                <CredentialTable credentials=detail.credentials.clone() />
                <ToolTable tools=detail.tools.clone() />
                <ReferenceTable references=detail.referenced_by.clone() />
            </div>
        </div>
    }
}

#[component]
fn Section(title: &'static str, count: usize, children: Children) -> impl IntoView {
    view! {
        <div class="card connection">
            <h2>
                <span class="title">{title}</span>
                <span class="count">{number(count as u64)}</span>
            </h2>
            {children()}
        </div>
    }
}

#[component]
fn GrantTable(
    title: &'static str,
    empty: &'static str,
    grants: Vec<GrantRow>,
    other: &'static str,
    outgoing: bool,
) -> impl IntoView {
    let count = grants.len();
    view! {
        <Section title count>
            {if grants.is_empty() {
                view! { <p class="muted">{empty}</p> }.into_any()
            } else {
                view! {
                    <table class="data compact">
                        <thead>
                            <tr>
                                <th>"Grant"</th>
                                <th>{other}</th>
                                <th>"Actions"</th>
                                <th>"Standing"</th>
                                <th>"Expires"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {grants
                                .into_iter()
                                .map(|g| {
                                    let counterpart = if outgoing { g.target.clone() } else { g.subject.clone() };
                                    view! {
                                        <tr>
                                            <td>
                                                <EntityLink id=g.id.clone() />
                                            </td>
                                            <td>
                                                <EntityLink id=counterpart />
                                            </td>
                                            <td>{g.actions.join(", ")}</td>
                                            <td>{if g.standing { "yes" } else { "no" }}</td>
                                            <td>{when_opt(&g.expires_at)}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
        </Section>
    }
}

#[component]
fn CredentialTable(credentials: Vec<CredentialRow>) -> impl IntoView {
    if credentials.is_empty() {
        return ().into_any();
    }
    let count = credentials.len();
    view! {
        <Section title="Credentials" count>
            <table class="data compact">
                <thead>
                    <tr>
                        <th>"Credential"</th>
                        <th>"Kind"</th>
                        <th>"Expires"</th>
                        <th>"Last rotated"</th>
                    </tr>
                </thead>
                <tbody>
                    {credentials
                        .into_iter()
                        .map(|c| {
                            view! {
                                <tr>
                                    <td>
                                        <EntityLink id=c.id.clone() />
                                    </td>
                                    <td>{c.kind.clone()}</td>
                                    <td>{when_opt(&c.expires_at)}</td>
                                    <td>{when_opt(&c.last_rotated)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </Section>
    }
    .into_any()
}

#[component]
fn ToolTable(tools: Vec<ToolRow>) -> impl IntoView {
    if tools.is_empty() {
        return ().into_any();
    }
    let count = tools.len();
    view! {
        <Section title="Tools" count>
            <table class="data compact">
                <thead>
                    <tr>
                        <th>"Tool"</th>
                        <th>"Runs as"</th>
                        <th>"Acts on"</th>
                    </tr>
                </thead>
                <tbody>
                    {tools
                        .into_iter()
                        .map(|t| {
                            view! {
                                <tr>
                                    <td>
                                        <EntityLink id=t.id.clone() />
                                    </td>
                                    <td>
                                        <EntityLinks ids=t.runs_as.iter().cloned().collect() />
                                    </td>
                                    <td>
                                        <EntityLinks ids=t.acts_on.iter().map(|a| a.resource.clone()).collect() />
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </Section>
    }
    .into_any()
}

#[component]
fn ReferenceTable(references: Vec<Reference>) -> impl IntoView {
    if references.is_empty() {
        return ().into_any();
    }
    let count = references.len();
    view! {
        <Section title="Referenced by" count>
            <table class="data compact">
                <thead>
                    <tr>
                        <th>"Entity"</th>
                        <th>"Kind"</th>
                        <th>"Through"</th>
                    </tr>
                </thead>
                <tbody>
                    {references
                        .into_iter()
                        .map(|r| {
                            view! {
                                <tr>
                                    <td>
                                        <EntityLink id=r.from.id.clone() />
                                    </td>
                                    <td>
                                        <KindBadge kind=r.from.kind.clone() />
                                    </td>
                                    <td>
                                        <code>{r.field.clone()}</code>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </Section>
    }
    .into_any()
}
