//! The one vocabulary of Bridle's front ends: the types the Tauri commands return, the UI
//! renders, and `bridle … --json` prints. Field names are stable; new fields may be added.
//!
//! Architecture invariant: plain serde data, no behaviour, and it builds for `wasm32`. Only the
//! `app` crate converts domain types into these.

pub mod brokers;
pub mod compliance;
pub mod console;
pub mod console_compliance;
pub mod evidence;
pub mod flows;
pub mod graph_view;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub type Timestamp = DateTime<Utc>;

/// The error every front end sees: a stable machine-readable code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

/// Error codes exist only where a consumer branches on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The input (a file, an argument) is wrong; the message says where.
    InvalidInput,
    /// No entity, snapshot or entry with that id.
    NotFound,
    /// The request collides with the current state (e.g. an id owned by another source).
    Conflict,
    /// The database was written by a newer Bridle, or cannot be read.
    DatabaseUnusable,
    /// The local user has not approved this use of one of their credentials (a broker profile
    /// from the database names it); the message says what to approve and how.
    NeedsApproval,
    /// Anything else; the message has the detail.
    Internal,
}

/// Where an entity came from and when Bridle saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// `import`, `import:<name>` or a broker profile such as `vault:<profile>`.
    pub origin: String,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRow {
    pub id: String,
    pub name: String,
    pub owner: Option<String>,
    pub environment: Option<String>,
    pub autonomy: String,
    pub runs_as: Vec<String>,
    pub provenance: Provenance,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityRow {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub owner: Option<String>,
    pub provider: Option<String>,
    pub provenance: Provenance,
}

/// Credential metadata; Bridle never holds the secret value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRow {
    pub id: String,
    pub identity: String,
    pub kind: String,
    pub issued_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub last_rotated: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
    pub fingerprint: Option<String>,
    pub provenance: Provenance,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRow {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub sensitivity: String,
    pub crown_jewel: bool,
    pub environment: Option<String>,
    pub holds_credentials: Vec<String>,
    pub runs_as: Vec<String>,
    pub provenance: Provenance,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolActionRow {
    pub resource: String,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolRow {
    pub id: String,
    pub name: String,
    pub server: Option<String>,
    pub runs_as: Option<String>,
    pub acts_on: Vec<ToolActionRow>,
    pub provenance: Provenance,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRow {
    pub id: String,
    pub subject: String,
    pub target: String,
    pub actions: Vec<String>,
    pub standing: bool,
    pub expires_at: Option<Timestamp>,
    pub conditions: Option<String>,
    pub source: Option<String>,
    pub provenance: Provenance,
}

/// One kind's rows, as `ls KIND` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "rows", rename_all = "snake_case")]
pub enum EntityList {
    Agents(Vec<AgentRow>),
    Identities(Vec<IdentityRow>),
    Credentials(Vec<CredentialRow>),
    Resources(Vec<ResourceRow>),
    Tools(Vec<ToolRow>),
    Grants(Vec<GrantRow>),
}

/// Which of a kind's current rows a listing returns: `bridle ls` with `--sort`, `--filter`,
/// `--offset`, `--limit`, and the console's table pages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    /// A column (`target`, `name`, `expires_at`…; default `id`). Ties go by id in the same
    /// direction; rows without a value come last either way.
    pub sort: Option<String>,
    pub descending: bool,
    /// Each column must hold exactly this value, as `ls` and the console print it (`yes`/`no`
    /// for flags, the empty text for no value).
    pub filters: Vec<console::ColumnFilter>,
    /// Text the id or some text column contains (ASCII case-insensitive).
    pub search: String,
    pub offset: u64,
    /// At most this many rows (`None`: all from `offset`).
    pub limit: Option<u64>,
}

/// One page of a kind's rows and how many there are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPage {
    /// Every current row of the kind.
    pub total: u64,
    /// The rows the filters and search select.
    pub matched: u64,
    pub offset: u64,
    #[serde(flatten)]
    pub rows: EntityList,
}

impl EntityList {
    pub fn len(&self) -> usize {
        match self {
            EntityList::Agents(rows) => rows.len(),
            EntityList::Identities(rows) => rows.len(),
            EntityList::Credentials(rows) => rows.len(),
            EntityList::Resources(rows) => rows.len(),
            EntityList::Tools(rows) => rows.len(),
            EntityList::Grants(rows) => rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One entity of any kind, tagged `"type"` (identities, credentials and resources have a `kind`
/// field of their own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entity {
    Agent(AgentRow),
    Identity(IdentityRow),
    Credential(CredentialRow),
    Resource(ResourceRow),
    Tool(ToolRow),
    Grant(GrantRow),
}

/// A short reference to an entity, for lists of neighbours and search results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityRef {
    pub id: String,
    /// `agent`, `identity`, `credential`, `resource`, `tool` or `grant`.
    pub kind: String,
    pub name: Option<String>,
}

/// An entity and everything directly connected to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityDetail {
    pub entity: Entity,
    /// Grants whose subject is this entity.
    pub grants_out: Vec<GrantRow>,
    /// Grants whose target is this entity.
    pub grants_in: Vec<GrantRow>,
    /// Credentials of this identity, or held by this resource.
    pub credentials: Vec<CredentialRow>,
    /// Tools that run as this identity or act on this resource.
    pub tools: Vec<ToolRow>,
    /// Other entities that name this one (agents and resources running as it, stores holding
    /// it...), with how.
    pub referenced_by: Vec<Reference>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    pub from: EntityRef,
    /// The field that names the entity, e.g. `runs_as` or `holds_credentials`.
    pub field: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub agents: u64,
    pub identities: u64,
    pub credentials: u64,
    pub resources: u64,
    pub tools: u64,
    pub grants: u64,
}

/// The state of the inventory after one import or sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub id: i64,
    pub taken_at: Timestamp,
    /// The source whose entities this snapshot replaced.
    pub source: String,
    /// What was read, e.g. the imported file's path.
    pub origin: Option<String>,
    /// sha256 of the canonical estate of the whole inventory at this snapshot.
    pub estate_sha256: String,
    /// Counts of the whole inventory at this snapshot.
    pub counts: Counts,
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// A located message about an input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A JSON path such as `grants[17].target`, or `line L column C`.
    pub location: String,
    pub message: String,
}

/// What an import did, or why it did nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ImportOutcome {
    Imported {
        snapshot: Snapshot,
        warnings: Vec<Diagnostic>,
    },
    /// Nothing was written; `diagnostics` lists every error (and warning).
    Rejected { diagnostics: Vec<Diagnostic> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: Timestamp,
    pub user: String,
    pub host: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The result of checking the audit chain and its authenticated anchor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerification {
    pub intact: bool,
    pub entries: u64,
    pub head_hash: Option<String>,
    /// The first entry that fails, when one does.
    pub first_broken_seq: Option<i64>,
    /// Every problem not acknowledged, in order.
    pub problems: Vec<String>,
    /// Breaks someone acknowledged (`bridle audit acknowledge`): visible in every later
    /// verification and evidence pack.
    #[serde(default)]
    pub acknowledged: Vec<AcknowledgedBreak>,
    /// Facts that are not problems (e.g. a database not yet bound to a record outside it).
    #[serde(default)]
    pub notes: Vec<String>,
    /// `--deep`: how many snapshots were rebuilt and checked against their recorded hashes.
    #[serde(default)]
    pub snapshots_rebuilt: Option<u64>,
}

/// An audited acknowledgement of a broken audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcknowledgedBreak {
    /// The acknowledgement's own entry.
    pub seq: i64,
    pub at: String,
    pub user: String,
    pub host: String,
    pub reason: String,
    pub first_broken_seq: Option<i64>,
    /// What was broken when it was acknowledged.
    pub problems: Vec<String>,
}

impl AcknowledgedBreak {
    /// One line for a report: `entry 12 (2026-…, by ann@host): "reason" — what broke`.
    pub fn summary(&self) -> String {
        format!(
            "entry {} ({}, by {}@{}): \"{}\" — acknowledged: {}",
            self.seq,
            self.at,
            self.user,
            self.host,
            self.reason,
            self.problems.join("; ")
        )
    }
}

/// What the dashboard shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub counts: Counts,
    pub agents_without_owner: u64,
    pub long_lived_credentials: u64,
    pub standing_grants: u64,
    pub rotation_limit_days: u32,
    pub at: Timestamp,
    pub last_snapshot: Option<Snapshot>,
}

/// What one agent, identity or credential reaches (`bridle reach ID --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reach {
    pub from: String,
    pub at: Timestamp,
    /// Sorted by `target`; never contains `from`.
    pub reachable: Vec<Reached>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reached {
    pub target: String,
    /// `agent`, `identity`, `credential`, `resource` or `tool`.
    pub kind: String,
    /// Sorted; empty for anything but a resource.
    pub actions: Vec<String>,
    pub hops: u32,
    /// One shortest chain of ids from `from` to `target`.
    pub path: Vec<String>,
}

/// Chains from one entity to another (`bridle paths`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paths {
    pub from: String,
    pub to: String,
    pub at: Timestamp,
    /// The fewest hops, or `None` when `to` is not reached.
    pub shortest: Option<u32>,
    /// Distinct simple chains, shortest first.
    pub paths: Vec<PrivilegePath>,
    /// The search budget ran out before enough chains were found.
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivilegePath {
    pub hops: u32,
    pub nodes: Vec<String>,
    /// Per step, what makes it valid (e.g. `grant g-7 (read)`), with the grant's conditions when
    /// it has any (`grant g:… (impersonate) — via: bind roles (…)`).
    pub via: Vec<Vec<String>>,
}

/// Everything that reaches one entity (`bridle who-can-reach`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhoCanReach {
    pub target: String,
    pub at: Timestamp,
    pub sources: Vec<Reaching>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaching {
    pub source: String,
    pub kind: String,
    pub hops: u32,
}

/// Per agent (and credential) what it reaches, riskiest first (`bridle blast-radius`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlastRadius {
    pub at: Timestamp,
    pub crown_jewels: u64,
    pub entries: Vec<BlastEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlastEntry {
    pub source: String,
    pub kind: String,
    pub resources: u32,
    pub crown_jewels: Vec<String>,
    pub worst_sensitivity: Option<String>,
    /// With `--hops`: the largest hops among what it reaches.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub max_hops: Option<u32>,
}

/// Removable items that cut the most (agent, crown jewel) pairs (`bridle chokepoints`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chokepoints {
    pub at: Timestamp,
    pub total_pairs: u64,
    pub items: Vec<Chokepoint>,
    /// With `--set K`: a greedy set and its combined cut, recomputed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub greedy_set: Option<ChokepointSet>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chokepoint {
    /// `grant`, `holding` or `credential`.
    pub item: String,
    /// The grant or credential id; for a holding, `resource -> credential`.
    pub id: String,
    pub description: String,
    pub cut_pairs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChokepointSet {
    pub items: Vec<Chokepoint>,
    pub combined_cut: u64,
}

/// The reachability diff of a hypothetical revocation (`bridle what-if`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhatIf {
    pub at: Timestamp,
    pub revoked_grants: Vec<String>,
    pub expired_credentials: Vec<String>,
    pub lost: Vec<PairLost>,
    pub shrunk: Vec<PairShrunk>,
    pub kept: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairLost {
    pub agent: String,
    pub resource: String,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairShrunk {
    pub agent: String,
    pub resource: String,
    pub before: Vec<String>,
    pub after: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_with_a_kind_field_round_trip() {
        let at: Timestamp = "2026-11-28T00:00:00Z".parse().unwrap();
        let entity = Entity::Identity(IdentityRow {
            id: "id:a".into(),
            kind: "spiffe".into(),
            name: "a".into(),
            owner: None,
            provider: None,
            provenance: Provenance {
                origin: "import".into(),
                first_seen: at,
                last_seen: at,
            },
        });
        let json = serde_json::to_string(&entity).unwrap();
        assert_eq!(json.matches("\"kind\"").count(), 1, "{json}");
        assert_eq!(serde_json::from_str::<Entity>(&json).unwrap(), entity);
    }

    #[test]
    fn errors_serialize_as_code_and_message() {
        let error = ApiError {
            code: ErrorCode::NotFound,
            message: "no entity `x`".into(),
        };
        assert_eq!(
            serde_json::to_string(&error).unwrap(),
            r#"{"code":"not_found","message":"no entity `x`"}"#
        );
    }
}
