//! The privilege graph as BloodHound OpenGraph JSON, so an estate opens in BloodHound CE.
//!
//! # Format
//! OpenGraph (BloodHound CE "generic ingest"): `{"metadata": {"source_kind": …}, "graph":
//! {"nodes": […], "edges": […]}}`.
//! - A node is `{"id", "kinds", "properties"}`: `kinds` holds one to three labels, the first
//!   being the primary kind that picks the icon; property values are strings, numbers, booleans or
//!   homogeneous arrays of them (never objects, never `null`: an unknown value is left out), and
//!   `objectid` is reserved.
//! - An edge is `{"kind", "start": {"value", "match_by": "id"}, "end": {…}, "properties"}`; edge
//!   kinds are `[A-Za-z0-9_]+` (PascalCase by convention, no dashes).
//! - `metadata` accepts `source_kind` only; BloodHound adds it to every node's kinds.
//!
//! # What is drawn
//! Every entity but grants is a node (`BridleAgent`, `BridleIdentity`, `BridleCredential`,
//! `BridleResource`, `BridleTool`; crown jewels also carry `BridleCrownJewel`; all carry
//! `Bridle`). Grants are edges, not nodes: every edge of [`PrivilegeGraph::edges`] is one
//! OpenGraph edge, so an edge exists exactly when a reachability rule applies at the evaluation
//! time the graph was built for (expired grants, expired credentials' identities and meaningless
//! actions are absent). Its kind names the rule (see [`edge_kind`]); its properties name the
//! grant behind it and its actions.
//!
//! One thing an entity-level graph cannot say by its shape alone: a resource's credentials are
//! reached only through `read`/`admin`, and its `runs_as` identity only through `write`/`admin`
//! (rules 4 and 5). `BridleHoldsCredential` and `BridleExecutesAs` edges therefore carry
//! `requires_actions`, and every edge into a resource carries its `actions`, so a Cypher query can
//! keep paths exact; plain shortest-path search in BloodHound may cross a resource through the
//! wrong side.
//!
//! Output is deterministic: nodes by kind then id, edges in [`PrivilegeGraph::edges`] order, keys
//! sorted, one node or edge per line.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

use bridle_core::graph::{EdgeReason, EntityEdge, PrivilegeGraph};
use bridle_core::time::format_utc;
use bridle_core::{Action, ActionSet, Estate, Grant};
use serde::Serialize;

/// The source kind of every node Bridle exports.
pub const SOURCE_KIND: &str = "Bridle";

/// How many nodes and edges an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub nodes: usize,
    pub edges: usize,
}

#[derive(Serialize)]
struct Node<'a> {
    id: &'a str,
    kinds: Vec<&'static str>,
    properties: Properties<'a>,
}

#[derive(Serialize)]
struct Edge<'a> {
    kind: &'static str,
    start: Endpoint<'a>,
    end: Endpoint<'a>,
    properties: Properties<'a>,
}

#[derive(Serialize)]
struct Endpoint<'a> {
    value: &'a str,
    match_by: &'static str,
}

impl<'a> Endpoint<'a> {
    fn id(value: &'a str) -> Endpoint<'a> {
        Endpoint {
            value,
            match_by: "id",
        }
    }
}

/// A property value: only the shapes OpenGraph accepts can be written.
#[derive(Serialize)]
#[serde(untagged)]
enum Property<'a> {
    Text(Cow<'a, str>),
    Flag(bool),
    Number(u64),
    Texts(Vec<&'a str>),
}

type Properties<'a> = BTreeMap<&'static str, Property<'a>>;

/// A property map builder that leaves unknown (`None`) values out, as OpenGraph has no `null`.
#[derive(Default)]
struct Bag<'a>(Properties<'a>);

impl<'a> Bag<'a> {
    fn text(mut self, key: &'static str, value: impl Into<Cow<'a, str>>) -> Self {
        self.0.insert(key, Property::Text(value.into()));
        self
    }

    fn maybe_text(self, key: &'static str, value: Option<impl Into<Cow<'a, str>>>) -> Self {
        match value {
            Some(value) => self.text(key, value),
            None => self,
        }
    }

    fn flag(mut self, key: &'static str, value: bool) -> Self {
        self.0.insert(key, Property::Flag(value));
        self
    }

    fn number(mut self, key: &'static str, value: u64) -> Self {
        self.0.insert(key, Property::Number(value));
        self
    }

    fn texts(mut self, key: &'static str, value: Vec<&'a str>) -> Self {
        self.0.insert(key, Property::Texts(value));
        self
    }
}

fn time(value: &Option<bridle_core::time::Timestamp>) -> Option<String> {
    value.as_ref().map(format_utc)
}

/// Writes `estate` and its privilege graph `graph` (built from that estate) as OpenGraph JSON.
pub fn write_opengraph<W: Write>(
    estate: &Estate,
    graph: &PrivilegeGraph,
    out: &mut W,
) -> io::Result<Written> {
    let at = graph.at();
    let mut written = Written { nodes: 0, edges: 0 };
    write!(
        out,
        "{{\"metadata\":{{\"source_kind\":\"{SOURCE_KIND}\"}},\"graph\":{{\"nodes\":["
    )?;
    let mut write_node = |out: &mut W, node: Node<'_>| -> io::Result<()> {
        out.write_all(if written.nodes == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *out, &node)?;
        written.nodes += 1;
        Ok(())
    };

    for agent in sorted(&estate.agents, |a| &a.id) {
        let bag = Bag::default()
            .text("name", agent.name.as_str())
            .text("entity", "agent")
            .text("autonomy", agent.autonomy.as_str())
            .maybe_text("owner", agent.owner.as_deref())
            .flag("orphaned", agent.owner.is_none())
            .maybe_text("environment", agent.environment.as_deref());
        write_node(out, node(&agent.id, "BridleAgent", bag))?;
    }
    for identity in sorted(&estate.identities, |i| &i.id) {
        let bag = Bag::default()
            .text("name", identity.name.as_str())
            .text("entity", "identity")
            .text("identity_kind", identity.kind.as_str())
            .maybe_text("owner", identity.owner.as_deref())
            .maybe_text("provider", identity.provider.as_deref());
        write_node(out, node(&identity.id, "BridleIdentity", bag))?;
    }
    for credential in sorted(&estate.credentials, |c| &c.id) {
        let bag = Bag::default()
            .text("name", credential.id.as_str())
            .text("entity", "credential")
            .text("credential_kind", credential.kind.as_str())
            .text("identity", credential.identity.as_str())
            .flag("expired", credential.is_expired_at(at))
            .maybe_text("issued_at", time(&credential.issued_at))
            .maybe_text("expires_at", time(&credential.expires_at))
            .maybe_text("last_rotated", time(&credential.last_rotated))
            .maybe_text("last_used", time(&credential.last_used))
            .maybe_text("fingerprint", credential.fingerprint.as_deref());
        write_node(out, node(&credential.id, "BridleCredential", bag))?;
    }
    for resource in sorted(&estate.resources, |r| &r.id) {
        let bag = Bag::default()
            .text("name", resource.name.as_str())
            .text("entity", "resource")
            .text("resource_kind", resource.kind.as_str())
            .text("sensitivity", resource.sensitivity.as_str())
            .flag("crown_jewel", resource.crown_jewel)
            .maybe_text("environment", resource.environment.as_deref());
        let mut node = node(&resource.id, "BridleResource", bag);
        if resource.crown_jewel {
            node.kinds.insert(1, "BridleCrownJewel");
        }
        write_node(out, node)?;
    }
    for tool in sorted(&estate.tools, |t| &t.id) {
        let bag = Bag::default()
            .text("name", tool.name.as_str())
            .text("entity", "tool")
            .maybe_text("server", tool.server.as_deref());
        write_node(out, node(&tool.id, "BridleTool", bag))?;
    }

    out.write_all(if written.nodes == 0 { b"]" } else { b"\n]" })?;
    out.write_all(b",\"edges\":[")?;
    let grants: HashMap<&str, &Grant> = estate.grants.iter().map(|g| (g.id.as_str(), g)).collect();
    for entity_edge in graph.edges() {
        out.write_all(if written.edges == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *out, &edge(&entity_edge, &grants))?;
        written.edges += 1;
    }
    out.write_all(if written.edges == 0 { b"]" } else { b"\n]" })?;
    out.write_all(b"}}\n")?;
    Ok(written)
}

fn sorted<T>(items: &[T], id: impl Fn(&T) -> &String) -> Vec<&T> {
    let mut refs: Vec<&T> = items.iter().collect();
    refs.sort_by(|a, b| id(a).cmp(id(b)));
    refs
}

fn node<'a>(id: &'a str, primary: &'static str, bag: Bag<'a>) -> Node<'a> {
    Node {
        id,
        kinds: vec![primary, SOURCE_KIND],
        properties: bag.0,
    }
}

/// The OpenGraph edge kind of a rule application. Grants are named by what they open: the
/// strongest meaningful action (`admin` over `write` over `read` on a resource, `assume` over
/// `impersonate` on an identity).
pub fn edge_kind(reason: &EdgeReason) -> &'static str {
    match reason {
        EdgeReason::AgentRunsAs | EdgeReason::ToolRunsAs => "BridleRunsAs",
        EdgeReason::Grant { actions, .. } => {
            let ranked = [
                (Action::Assume, "BridleCanAssume"),
                (Action::Impersonate, "BridleCanImpersonate"),
                (Action::Delegate, "BridleCanDelegate"),
                (Action::Invoke, "BridleCanInvoke"),
                (Action::Admin, "BridleCanAdmin"),
                (Action::Write, "BridleCanWrite"),
                (Action::Read, "BridleCanRead"),
            ];
            ranked
                .iter()
                .find(|(action, _)| actions.contains(*action))
                .map_or("BridleGrant", |(_, kind)| kind)
        }
        EdgeReason::ToolActsOn { .. } => "BridleActsOn",
        EdgeReason::HoldsCredential => "BridleHoldsCredential",
        EdgeReason::ResourceRunsAs => "BridleExecutesAs",
        EdgeReason::CredentialIdentity => "BridleAuthenticatesAs",
    }
}

/// The rule of ESTATE-FORMAT.md ("Reachability rules") an edge applies.
fn rule(reason: &EdgeReason) -> u64 {
    match reason {
        EdgeReason::AgentRunsAs => 1,
        EdgeReason::Grant { .. } => 2,
        EdgeReason::ToolRunsAs | EdgeReason::ToolActsOn { .. } => 3,
        EdgeReason::HoldsCredential => 4,
        EdgeReason::ResourceRunsAs => 5,
        EdgeReason::CredentialIdentity => 6,
    }
}

fn edge<'a>(entity_edge: &'a EntityEdge, grants: &HashMap<&str, &'a Grant>) -> Edge<'a> {
    let reason = &entity_edge.reason;
    let mut bag = Bag::default()
        .number("rule", rule(reason))
        .text("reason", reason.to_string());
    match reason {
        EdgeReason::Grant { id, actions } => {
            bag = bag
                .text("grant", id.as_str())
                .texts("actions", actions.words());
            if let Some(grant) = grants.get(id.as_str()) {
                bag = bag
                    .flag("standing", grant.standing)
                    .maybe_text("expires_at", time(&grant.expires_at))
                    .maybe_text("conditions", grant.conditions.as_deref())
                    .maybe_text("grant_source", grant.source.as_deref());
            }
        }
        EdgeReason::ToolActsOn { actions } => bag = bag.texts("actions", actions.words()),
        EdgeReason::HoldsCredential => {
            bag = bag.texts(
                "requires_actions",
                ActionSet::from_iter([Action::Admin, Action::Read]).words(),
            );
        }
        EdgeReason::ResourceRunsAs => {
            bag = bag.texts(
                "requires_actions",
                ActionSet::from_iter([Action::Admin, Action::Write]).words(),
            );
        }
        EdgeReason::AgentRunsAs | EdgeReason::ToolRunsAs | EdgeReason::CredentialIdentity => {}
    }
    Edge {
        kind: edge_kind(reason),
        start: Endpoint::id(&entity_edge.from),
        end: Endpoint::id(&entity_edge.to),
        properties: bag.0,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use bridle_core::estate::{Syntax, parse};
    use bridle_core::time::parse_utc;
    use serde_json::Value;

    use super::*;

    /// One entity of each kind and one edge per rule, plus an expired grant (no edge) and an
    /// expired credential (no identity edge).
    const EVERY_RULE: &str = r#"{
      "bridle": "estate/v1",
      "agents": [{"id": "agent:a", "name": "A", "owner": null, "environment": "prod",
                  "autonomy": "autonomous", "runs_as": ["id:a"]}],
      "identities": [
        {"id": "id:a", "kind": "spiffe", "name": "a", "owner": "o@x", "provider": "spire"},
        {"id": "id:b", "kind": "cloud_role", "name": "b", "owner": null, "provider": null},
        {"id": "id:c", "kind": "human", "name": "c", "owner": null, "provider": null}],
      "credentials": [
        {"id": "cred:b", "identity": "id:b", "kind": "api_key", "issued_at": null,
         "expires_at": null, "last_rotated": null, "last_used": null, "fingerprint": null},
        {"id": "cred:old", "identity": "id:c", "kind": "token", "issued_at": null,
         "expires_at": "2026-01-01T00:00:00Z", "last_rotated": null, "last_used": null,
         "fingerprint": "sha256:00"}],
      "resources": [
        {"id": "res:vault", "kind": "secret_store", "name": "vault", "sensitivity": "restricted",
         "crown_jewel": false, "environment": null, "holds_credentials": ["cred:b", "cred:old"],
         "runs_as": []},
        {"id": "res:ci", "kind": "pipeline", "name": "ci", "sensitivity": "internal",
         "crown_jewel": false, "environment": "dev", "holds_credentials": [], "runs_as": ["id:c"]},
        {"id": "res:db", "kind": "database", "name": "db", "sensitivity": "confidential",
         "crown_jewel": true, "environment": "prod", "holds_credentials": [], "runs_as": []}],
      "tools": [{"id": "tool:q", "name": "q", "server": "mcp://x", "runs_as": "id:b",
                 "acts_on": [{"resource": "res:db", "actions": ["read"]}]}],
      "grants": [
        {"id": "g-1", "subject": "id:a", "target": "res:vault", "actions": ["read"],
         "standing": true, "expires_at": null, "conditions": null, "source": "vault:p"},
        {"id": "g-2", "subject": "agent:a", "target": "tool:q", "actions": ["invoke"],
         "standing": false, "expires_at": "2027-01-01T00:00:00Z", "conditions": "per task",
         "source": null},
        {"id": "g-3", "subject": "id:b", "target": "res:ci", "actions": ["read", "write"],
         "standing": true, "expires_at": null, "conditions": null, "source": null},
        {"id": "g-4", "subject": "id:c", "target": "id:a", "actions": ["impersonate"],
         "standing": true, "expires_at": null, "conditions": null, "source": null},
        {"id": "g-5", "subject": "id:a", "target": "res:db", "actions": ["admin"],
         "standing": true, "expires_at": "2026-02-01T00:00:00Z", "conditions": null,
         "source": null}]
    }"#;

    fn export(estate_json: &str, at: &str) -> String {
        let estate = parse(estate_json.as_bytes(), Syntax::Json)
            .estate
            .expect("the fixture is valid");
        let graph = PrivilegeGraph::build(&estate, parse_utc(at).unwrap());
        let mut out = Vec::new();
        let written = write_opengraph(&estate, &graph, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value["graph"]["nodes"].as_array().unwrap().len(),
            written.nodes
        );
        assert_eq!(
            value["graph"]["edges"].as_array().unwrap().len(),
            written.edges
        );
        text
    }

    #[test]
    fn every_rule_becomes_one_typed_edge() {
        let text = export(EVERY_RULE, "2026-06-01T00:00:00Z");
        assert_eq!(
            shape_problems(&serde_json::from_str(&text).unwrap()),
            Vec::<String>::new()
        );
        expect_test::expect_file!["../tests/snapshots/every_rule.opengraph.json"].assert_eq(&text);
    }

    #[test]
    fn the_demo_estate_has_the_opengraph_shape() {
        let demo = include_str!("../../../assets/demo/estate.json");
        let text = export(demo, "2026-11-28T12:00:00Z");
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(shape_problems(&value), Vec::<String>::new());
        assert!(value["graph"]["edges"].as_array().unwrap().len() > 10);
    }

    #[test]
    fn the_export_is_deterministic_whatever_the_list_order() {
        let mut reversed: Value = serde_json::from_str(EVERY_RULE).unwrap();
        for list in ["identities", "credentials", "resources", "grants"] {
            reversed[list].as_array_mut().unwrap().reverse();
        }
        assert_eq!(
            export(EVERY_RULE, "2026-06-01T00:00:00Z"),
            export(&reversed.to_string(), "2026-06-01T00:00:00Z")
        );
    }

    /// The rules of BloodHound's published OpenGraph schema (opengraph-node.json,
    /// opengraph-edge.json, the metadata object), checked by hand: one message per violation.
    fn shape_problems(document: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        let top = document.as_object().expect("an object");
        for key in top.keys() {
            if !["metadata", "graph", "$schema"].contains(&key.as_str()) {
                problems.push(format!("unknown top-level key {key}"));
            }
        }
        let metadata = document["metadata"].as_object().expect("metadata");
        if metadata.keys().any(|k| k != "source_kind") || !metadata["source_kind"].is_string() {
            problems.push("metadata must hold source_kind only".into());
        }
        let mut ids = HashSet::new();
        for node in document["graph"]["nodes"].as_array().expect("nodes") {
            let id = node["id"].as_str().unwrap_or_default();
            if id.is_empty() || !ids.insert(id.to_owned()) {
                problems.push(format!("node id missing or repeated: {node}"));
            }
            let kinds = node["kinds"].as_array().expect("kinds");
            if kinds.is_empty() || kinds.len() > 3 || !kinds.iter().all(Value::is_string) {
                problems.push(format!("{id}: kinds must be 1 to 3 strings"));
            }
            problems.extend(property_problems(id, &node["properties"]));
        }
        for edge in document["graph"]["edges"].as_array().expect("edges") {
            let kind = edge["kind"].as_str().unwrap_or_default();
            if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                problems.push(format!("bad edge kind {kind:?}"));
            }
            for end in ["start", "end"] {
                let value = edge[end]["value"].as_str().unwrap_or_default();
                if edge[end]["match_by"] != "id" || !ids.contains(value) {
                    problems.push(format!("{end} of {edge} is not a node id"));
                }
            }
            problems.extend(property_problems(kind, &edge["properties"]));
        }
        problems
    }

    fn property_problems(owner: &str, properties: &Value) -> Vec<String> {
        let Some(map) = properties.as_object() else {
            return vec![format!("{owner}: properties is not an object")];
        };
        let mut problems = Vec::new();
        for (key, value) in map {
            let ok = match value {
                Value::String(_) | Value::Number(_) | Value::Bool(_) => key != "objectid",
                Value::Array(items) => {
                    items.iter().all(Value::is_string)
                        || items.iter().all(Value::is_number)
                        || items.iter().all(Value::is_boolean)
                }
                Value::Null | Value::Object(_) => false,
            };
            if !ok {
                problems.push(format!("{owner}: property {key} = {value} is not allowed"));
            }
        }
        problems
    }
}
