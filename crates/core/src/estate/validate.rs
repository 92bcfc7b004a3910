//! Checks across entities: the one id namespace, references and their kinds, and actions that
//! mean nothing for their target.

use std::collections::HashMap;

use super::diagnostic::Diagnostic;
use super::read::{Collected, Position};
use crate::model::{ActionSet, EntityKind};

pub fn validate(collected: &mut Collected) {
    let Collected {
        estate,
        indices,
        derived_grant_ids,
        broken,
        diagnostics,
        unresolved,
        ..
    } = collected;

    // Every id with where it was written, in document order within each kind.
    let mut ids: Vec<(&str, Position, bool)> = Vec::with_capacity(
        (estate.counts().agents
            + estate.counts().identities
            + estate.counts().credentials
            + estate.counts().resources
            + estate.counts().tools
            + estate.counts().grants) as usize
            + broken.len(),
    );
    let at = |kind, index| Position { kind, index };
    ids.extend(
        estate
            .agents
            .iter()
            .zip(&indices.agents)
            .map(|(e, &i)| (e.id.as_str(), at(EntityKind::Agent, i), false)),
    );
    ids.extend(
        estate
            .identities
            .iter()
            .zip(&indices.identities)
            .map(|(e, &i)| (e.id.as_str(), at(EntityKind::Identity, i), false)),
    );
    ids.extend(
        estate
            .credentials
            .iter()
            .zip(&indices.credentials)
            .map(|(e, &i)| (e.id.as_str(), at(EntityKind::Credential, i), false)),
    );
    ids.extend(
        estate
            .resources
            .iter()
            .zip(&indices.resources)
            .map(|(e, &i)| (e.id.as_str(), at(EntityKind::Resource, i), false)),
    );
    ids.extend(
        estate
            .tools
            .iter()
            .zip(&indices.tools)
            .map(|(e, &i)| (e.id.as_str(), at(EntityKind::Tool, i), false)),
    );
    ids.extend(
        estate
            .grants
            .iter()
            .zip(&indices.grants)
            .zip(derived_grant_ids.iter())
            .map(|((e, &i), &derived)| (e.id.as_str(), at(EntityKind::Grant, i), derived)),
    );
    ids.extend(
        broken
            .iter()
            .map(|b| (b.id.as_str(), b.position, b.derived)),
    );
    ids.sort_by_key(|(_, position, _)| (position.kind, position.index));

    let mut namespace: HashMap<&str, Position> = HashMap::with_capacity(ids.len());
    for (id, position, derived) in ids {
        if let Some(first) = namespace.get(id) {
            let message = if derived {
                format!(
                    "the derived id `{id}` of this grant (written without an id) is already used by {}: the same subject, target and actions appear twice",
                    first.path()
                )
            } else {
                format!("duplicate id `{id}`: already used by {}", first.path())
            };
            let location = if derived {
                position.path()
            } else {
                format!("{}.id", position.path())
            };
            diagnostics.push(Diagnostic::error(location, message));
        } else {
            namespace.insert(id, position);
        }
    }

    let mut references = References {
        namespace: &namespace,
        diagnostics: Vec::new(),
        unresolved: Vec::new(),
    };
    for (agent, &index) in estate.agents.iter().zip(&indices.agents) {
        for (i, id) in agent.runs_as.iter().enumerate() {
            references.expect(
                format!("agents[{index}].runs_as[{i}]"),
                id,
                &[EntityKind::Identity],
            );
        }
    }
    for (credential, &index) in estate.credentials.iter().zip(&indices.credentials) {
        references.expect(
            format!("credentials[{index}].identity"),
            &credential.identity,
            &[EntityKind::Identity],
        );
    }
    for (resource, &index) in estate.resources.iter().zip(&indices.resources) {
        for (i, id) in resource.holds_credentials.iter().enumerate() {
            references.expect(
                format!("resources[{index}].holds_credentials[{i}]"),
                id,
                &[EntityKind::Credential],
            );
        }
        for (i, id) in resource.runs_as.iter().enumerate() {
            references.expect(
                format!("resources[{index}].runs_as[{i}]"),
                id,
                &[EntityKind::Identity],
            );
        }
    }
    for (tool, &index) in estate.tools.iter().zip(&indices.tools) {
        if let Some(id) = &tool.runs_as {
            references.expect(
                format!("tools[{index}].runs_as"),
                id,
                &[EntityKind::Identity],
            );
        }
        for (i, entry) in tool.acts_on.iter().enumerate() {
            let path = format!("tools[{index}].acts_on[{i}]");
            references.expect(
                format!("{path}.resource"),
                &entry.resource,
                &[EntityKind::Resource],
            );
            references.meaningless_actions(
                format!("{path}.actions"),
                &entry.resource,
                EntityKind::Resource,
                entry.actions,
            );
        }
    }
    for (grant, &index) in estate.grants.iter().zip(&indices.grants) {
        let path = format!("grants[{index}]");
        references.expect(
            format!("{path}.subject"),
            &grant.subject,
            &[EntityKind::Agent, EntityKind::Identity],
        );
        let target_kind = references.expect(
            format!("{path}.target"),
            &grant.target,
            &[
                EntityKind::Agent,
                EntityKind::Identity,
                EntityKind::Tool,
                EntityKind::Resource,
            ],
        );
        if let Some(kind) = target_kind {
            references.meaningless_actions(
                format!("{path}.actions"),
                &grant.target,
                kind,
                grant.actions,
            );
        }
    }
    diagnostics.extend(references.diagnostics);
    unresolved.extend(references.unresolved);
}

struct References<'a> {
    namespace: &'a HashMap<&'a str, Position>,
    diagnostics: Vec<Diagnostic>,
    unresolved: Vec<Unresolved>,
}

/// A reference to an id this document does not define. On its own that is an error; an import
/// with `--source` may resolve it against the entities of other sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub path: String,
    pub id: String,
    pub expected: &'static [EntityKind],
}

impl Unresolved {
    /// The error when nothing defines the id.
    pub fn unknown(&self) -> Diagnostic {
        Diagnostic::error(
            self.path.clone(),
            format!(
                "unknown id `{}`: no entity in this estate has it (expected {})",
                self.id,
                kind_list(self.expected)
            ),
        )
    }

    /// The error when another source defines the id with the wrong kind; `None` when the kind
    /// fits.
    pub fn check_external(&self, kind: EntityKind, source: &str) -> Option<Diagnostic> {
        (!self.expected.contains(&kind)).then(|| {
            Diagnostic::error(
                self.path.clone(),
                format!(
                    "`{}` is a {kind} of source `{source}`, but this must name {}",
                    self.id,
                    kind_list(self.expected)
                ),
            )
        })
    }
}

/// "an identity", "an agent or identity", "an agent, identity, tool or resource".
fn kind_list(kinds: &[EntityKind]) -> String {
    let words: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    let article = match words.first() {
        Some(first) if first.starts_with(['a', 'e', 'i', 'o', 'u']) => "an",
        _ => "a",
    };
    match words.as_slice() {
        [] => String::new(),
        [one] => format!("{article} {one}"),
        [init @ .., last] => format!("{article} {} or {last}", init.join(", ")),
    }
}

impl References<'_> {
    /// Checks that `id` names an entity of one of `kinds`; returns its kind when it does.
    fn expect(
        &mut self,
        path: String,
        id: &str,
        kinds: &'static [EntityKind],
    ) -> Option<EntityKind> {
        match self.namespace.get(id) {
            None => {
                // Left open: another source may define it (see `OpenParsed::resolve`).
                self.unresolved.push(Unresolved {
                    path,
                    id: id.to_owned(),
                    expected: kinds,
                });
                None
            }
            Some(position) if !kinds.contains(&position.kind) => {
                self.diagnostics.push(Diagnostic::error(
                    path,
                    format!(
                        "`{id}` is a {} ({}), but this must name {}",
                        position.kind,
                        position.path(),
                        kind_list(kinds)
                    ),
                ));
                None
            }
            Some(position) => Some(position.kind),
        }
    }

    /// Warns about actions that mean nothing for a target of this kind: they are kept, but create
    /// no edge in the privilege graph.
    fn meaningless_actions(
        &mut self,
        path: String,
        target: &str,
        kind: EntityKind,
        actions: ActionSet,
    ) {
        let meaningful = kind.meaningful_actions();
        let extra = actions.difference(meaningful);
        if extra.is_empty() {
            return;
        }
        self.diagnostics.push(Diagnostic::warning(
            path,
            format!(
                "`{extra}` means nothing on {} (`{target}`): kept, but creates no privilege edge (meaningful there: {meaningful})",
                kind_list(&[kind])
            ),
        ));
    }
}
