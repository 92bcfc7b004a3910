//! The streaming reader: walks the top-level object, reads each entity through [`Fields`], and
//! keeps the ids of entities that failed so later checks do not cascade.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::FORMAT_TAG;
use super::Syntax;
use super::derived_grant_id;
use super::diagnostic::{Diagnostic, Location};
use super::fields::Fields;
use crate::model::{
    Agent, Autonomy, Credential, CredentialKind, EntityKind, Estate, Grant, Identity, IdentityKind,
    Resource, ResourceKind, Sensitivity, Tool, ToolAction,
};

/// Where an entity sits in the document: its kind and index in that kind's array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub kind: EntityKind,
    pub index: usize,
}

impl Position {
    pub fn path(self) -> String {
        format!("{}[{}]", self.kind.plural(), self.index)
    }
}

/// An entity whose fields had errors but whose id could be read: its id still occupies the
/// namespace, so references to it are not reported a second time as unknown.
#[derive(Debug)]
pub struct BrokenEntity {
    pub id: String,
    pub position: Position,
    /// The id was derived (a grant written without one): a clash is located on the grant, not
    /// on an `id` field it does not have.
    pub derived: bool,
}

/// Everything the reader gathered: the well-formed entities with their positions, and the
/// diagnostics so far.
#[derive(Debug, Default)]
pub struct Collected {
    pub estate: Estate,
    /// Array index of each well-formed entity, parallel to the estate's lists.
    pub indices: Indices,
    /// Grants whose id was derived rather than written.
    pub derived_grant_ids: Vec<bool>,
    pub broken: Vec<BrokenEntity>,
    pub diagnostics: Vec<Diagnostic>,
    pub unresolved: Vec<super::Unresolved>,
    pub syntax_failed: bool,
}

#[derive(Debug, Default)]
pub struct Indices {
    pub agents: Vec<usize>,
    pub identities: Vec<usize>,
    pub credentials: Vec<usize>,
    pub resources: Vec<usize>,
    pub tools: Vec<usize>,
    pub grants: Vec<usize>,
}

pub fn read_document(bytes: &[u8], syntax: Syntax) -> Collected {
    let mut collected = Collected::default();
    let mut seen_tag = None;
    let result = match syntax {
        Syntax::Json => {
            let mut deserializer = serde_json::Deserializer::from_slice(bytes);
            let result = DocumentSeed {
                collected: &mut collected,
                tag: &mut seen_tag,
            }
            .deserialize(&mut deserializer)
            .and_then(|()| deserializer.end());
            result.map_err(|e| {
                let message = strip_position(&e.to_string());
                Diagnostic::syntax(e.line(), e.column().max(1), message)
            })
        }
        Syntax::Yaml => {
            let deserializer = serde_norway::Deserializer::from_slice(bytes);
            DocumentSeed {
                collected: &mut collected,
                tag: &mut seen_tag,
            }
            .deserialize(deserializer)
            .map_err(|e| {
                let (line, column) = e
                    .location()
                    .map(|l| (l.line(), l.column()))
                    .unwrap_or((1, 1));
                Diagnostic::syntax(line, column, strip_position(&e.to_string()))
            })
        }
    };
    match result {
        Err(diagnostic) => {
            // What was read before a syntax error may be a misreading caused by it (YAML
            // especially): report the syntax error alone.
            collected.syntax_failed = true;
            collected.diagnostics = vec![diagnostic];
        }
        Ok(()) => match seen_tag {
            // A document that is not an object has already been reported as such.
            None if collected.diagnostics.iter().any(|d| d.location == Location::Path("$".into())) => {}
            None => collected.diagnostics.push(Diagnostic::error(
                "$",
                format!("missing `bridle` key: not an estate document (expected \"bridle\": \"{FORMAT_TAG}\")"),
            )),
            Some(Value::String(tag)) if tag == FORMAT_TAG => {}
            Some(other) => collected.diagnostics.push(Diagnostic::error(
                "bridle",
                format!("unsupported format {other}: this version of Bridle reads \"{FORMAT_TAG}\""),
            )),
        },
    }
    collected
}

/// Parser messages embed " at line L column C"; the location is reported separately.
fn strip_position(message: &str) -> String {
    let mut rest = message;
    let mut out = String::with_capacity(message.len());
    while let Some(start) = rest.find(" at line ") {
        out.push_str(&rest[..start]);
        let after = &rest[start + " at line ".len()..];
        // Skip "L column C".
        let skipped = after
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .strip_prefix(" column ")
            .map(|tail| tail.trim_start_matches(|c: char| c.is_ascii_digit()));
        match skipped {
            Some(tail) => rest = tail,
            None => {
                out.push_str(" at line ");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

struct DocumentSeed<'a> {
    collected: &'a mut Collected,
    tag: &'a mut Option<Value>,
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl DocumentSeed<'_> {
    /// A well-formed document that is not an object: a type error of the whole document (`$`),
    /// not a syntax error.
    fn not_an_object(self, found: &str) {
        self.collected.diagnostics.push(Diagnostic::error(
            "$",
            format!(
                "the document must be an object with \"bridle\": \"{FORMAT_TAG}\", found {found}"
            ),
        ));
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "an {FORMAT_TAG} document (an object with \"bridle\": \"{FORMAT_TAG}\")"
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen_keys: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen_keys.contains(&key) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            seen_keys.push(key.clone());
            if key == "bridle" {
                *self.tag = Some(map.next_value::<Value>()?);
                continue;
            }
            match EntityKind::ALL
                .into_iter()
                .find(|kind| kind.plural() == key)
            {
                Some(kind) => map.next_value_seed(ListSeed {
                    kind,
                    collected: self.collected,
                })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                    self.collected.diagnostics.push(Diagnostic::warning(
                        key.clone(),
                        format!(
                            "unknown top-level key `{key}` is ignored (not part of {FORMAT_TAG})"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.not_an_object("an array");
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_an_object("null");
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_an_object("a boolean");
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_an_object("a number");
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_an_object("a number");
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_an_object("a number");
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_an_object("a string");
        Ok(())
    }
}

/// One top-level entity array, streamed element by element.
struct ListSeed<'a> {
    kind: EntityKind,
    collected: &'a mut Collected,
}

impl ListSeed<'_> {
    fn wrong_type(self, found: &str) {
        self.collected.diagnostics.push(Diagnostic::error(
            self.kind.plural(),
            format!("expected an array of {}, found {found}", self.kind.plural()),
        ));
    }
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of {}", self.kind.plural())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(value) = seq.next_element::<Value>()? {
            read_entity(
                self.collected,
                Position {
                    kind: self.kind,
                    index,
                },
                value,
            );
            index += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.wrong_type("an object");
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.wrong_type("null");
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.wrong_type("null");
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.wrong_type("a boolean");
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.wrong_type("a number");
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.wrong_type("a number");
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.wrong_type("a number");
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.wrong_type("a string");
        Ok(())
    }
}

fn read_entity(collected: &mut Collected, position: Position, value: Value) {
    let Some(mut fields) = Fields::new(position.path(), value, &mut collected.diagnostics) else {
        return;
    };
    let mut id_of_broken = None;
    let mut derived_broken = false;
    match position.kind {
        EntityKind::Agent => {
            if let Some(agent) = read_agent(&mut fields, &mut id_of_broken) {
                collected.estate.agents.push(agent);
                collected.indices.agents.push(position.index);
            }
        }
        EntityKind::Identity => {
            if let Some(identity) = read_identity(&mut fields, &mut id_of_broken) {
                collected.estate.identities.push(identity);
                collected.indices.identities.push(position.index);
            }
        }
        EntityKind::Credential => {
            if let Some(credential) = read_credential(&mut fields, &mut id_of_broken) {
                collected.estate.credentials.push(credential);
                collected.indices.credentials.push(position.index);
            }
        }
        EntityKind::Resource => {
            if let Some(resource) = read_resource(&mut fields, &mut id_of_broken) {
                collected.estate.resources.push(resource);
                collected.indices.resources.push(position.index);
            }
        }
        EntityKind::Tool => {
            if let Some(tool) = read_tool(&mut fields, &mut id_of_broken) {
                collected.estate.tools.push(tool);
                collected.indices.tools.push(position.index);
            }
        }
        EntityKind::Grant => {
            if let Some((grant, derived)) =
                read_grant(&mut fields, &mut id_of_broken, &mut derived_broken)
            {
                collected.estate.grants.push(grant);
                collected.indices.grants.push(position.index);
                collected.derived_grant_ids.push(derived);
            }
        }
    }
    if let Some(id) = id_of_broken {
        collected.broken.push(BrokenEntity {
            id,
            position,
            derived: derived_broken,
        });
    }
}

/// Completes an entity read: returns it when every field was read, or remembers its id (when
/// that much could be read) as a broken entity.
fn complete<T>(
    fields: &mut Fields<'_>,
    id: Option<String>,
    id_of_broken: &mut Option<String>,
    build: impl FnOnce(String) -> Option<T>,
) -> Option<T> {
    fields.finish();
    let id = id?;
    // `build` only sees a complete set of fields when it returns `Some`; otherwise the id alone
    // survives.
    let copy = id.clone();
    let built = build(id);
    if built.is_none() {
        *id_of_broken = Some(copy);
    }
    built
}

fn read_agent(fields: &mut Fields<'_>, id_of_broken: &mut Option<String>) -> Option<Agent> {
    let id = fields.id("id");
    let name = fields.required_string("name");
    let owner = fields.optional_string("owner");
    let environment = fields.environment("environment");
    let autonomy = fields.vocabulary(
        "autonomy",
        "autonomy",
        Autonomy::parse,
        Autonomy::expected(),
    );
    let runs_as = fields.id_list("runs_as");
    complete(fields, id, id_of_broken, |id| {
        Some(Agent {
            id,
            name: name?,
            owner: owner?,
            environment: environment?,
            autonomy: autonomy?,
            runs_as: runs_as?,
        })
    })
}

fn read_identity(fields: &mut Fields<'_>, id_of_broken: &mut Option<String>) -> Option<Identity> {
    let id = fields.id("id");
    let kind = fields.vocabulary(
        "kind",
        "identity kind",
        IdentityKind::parse,
        IdentityKind::expected(),
    );
    let name = fields.required_string("name");
    let owner = fields.optional_string("owner");
    let provider = fields.optional_string("provider");
    complete(fields, id, id_of_broken, |id| {
        Some(Identity {
            id,
            kind: kind?,
            name: name?,
            owner: owner?,
            provider: provider?,
        })
    })
}

fn read_credential(
    fields: &mut Fields<'_>,
    id_of_broken: &mut Option<String>,
) -> Option<Credential> {
    let id = fields.id("id");
    let identity = fields.id("identity");
    let kind = fields.vocabulary(
        "kind",
        "credential kind",
        CredentialKind::parse,
        CredentialKind::expected(),
    );
    let issued_at = fields.time("issued_at");
    let expires_at = fields.time("expires_at");
    let last_rotated = fields.time("last_rotated");
    let last_used = fields.time("last_used");
    let fingerprint = fields.optional_string("fingerprint");
    complete(fields, id, id_of_broken, |id| {
        Some(Credential {
            id,
            identity: identity?,
            kind: kind?,
            issued_at: issued_at?,
            expires_at: expires_at?,
            last_rotated: last_rotated?,
            last_used: last_used?,
            fingerprint: fingerprint?,
        })
    })
}

fn read_resource(fields: &mut Fields<'_>, id_of_broken: &mut Option<String>) -> Option<Resource> {
    let id = fields.id("id");
    let kind = fields.vocabulary(
        "kind",
        "resource kind",
        ResourceKind::parse,
        ResourceKind::expected(),
    );
    let name = fields.required_string("name");
    let sensitivity = fields.vocabulary(
        "sensitivity",
        "sensitivity",
        Sensitivity::parse,
        Sensitivity::expected(),
    );
    let crown_jewel = fields.required_bool("crown_jewel");
    let environment = fields.environment("environment");
    let holds_credentials = fields.id_list("holds_credentials");
    let runs_as = fields.id_list("runs_as");
    complete(fields, id, id_of_broken, |id| {
        Some(Resource {
            id,
            kind: kind?,
            name: name?,
            sensitivity: sensitivity?,
            crown_jewel: crown_jewel?,
            environment: environment?,
            holds_credentials: holds_credentials?,
            runs_as: runs_as?,
        })
    })
}

fn read_tool(fields: &mut Fields<'_>, id_of_broken: &mut Option<String>) -> Option<Tool> {
    let id = fields.id("id");
    let name = fields.required_string("name");
    let server = fields.optional_string("server");
    let runs_as = fields.optional_id("runs_as");
    let acts_on = fields.objects("acts_on", |entry| {
        let resource = entry.id("resource");
        let actions = entry.actions("actions");
        Some(ToolAction {
            resource: resource?,
            actions: actions?,
        })
    });
    complete(fields, id, id_of_broken, |id| {
        Some(Tool {
            id,
            name: name?,
            server: server?,
            runs_as: runs_as?,
            acts_on: acts_on?,
        })
    })
}

/// Reads a grant; the flag says whether its id was derived (`derived_broken` says the same of a
/// grant that could not be read).
fn read_grant(
    fields: &mut Fields<'_>,
    id_of_broken: &mut Option<String>,
    derived_broken: &mut bool,
) -> Option<(Grant, bool)> {
    let written_id = fields.optional_id("id");
    let subject = fields.id("subject");
    let target = fields.id("target");
    let actions = fields.actions("actions");
    let standing = fields.required_bool("standing");
    let expires_at = fields.time("expires_at");
    let conditions = fields.optional_string("conditions");
    let source = fields.optional_string("source");
    // An id-less grant's id can be derived only from a readable subject, target and actions.
    let (id, derived) = match (&written_id, &subject, &target, actions) {
        (Some(Some(id)), ..) => (Some(id.clone()), false),
        (Some(None), Some(subject), Some(target), Some(actions)) => {
            (Some(derived_grant_id(subject, target, actions)), true)
        }
        _ => (None, false),
    };
    *derived_broken = derived;
    complete(fields, id, id_of_broken, |id| {
        Some((
            Grant {
                id,
                subject: subject?,
                target: target?,
                actions: actions?,
                standing: standing?,
                expires_at: expires_at?,
                conditions: conditions?,
                source: source?,
            },
            derived,
        ))
    })
}
