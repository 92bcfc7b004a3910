//! Live brokers: connection profiles, sync runs, drift between two syncs, revocations.

use serde::{Deserialize, Serialize};

use crate::{Snapshot, Timestamp};

/// A connection profile as shown to people: where the credential lives, never its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerProfile {
    pub name: String,
    /// `openbao`, `oidc` or `mcp`.
    pub kind: String,
    pub address: String,
    /// `env:NAME`, `file:PATH` or `keychain:SERVICE/ACCOUNT`.
    pub credential: Option<String>,
    /// Whether the local user approved sending that credential to this address from this
    /// database (`None` without a credential). Unapproved, Bridle never reads it.
    #[serde(default)]
    pub credential_approved: Option<bool>,
    pub ca_file: Option<String>,
    pub connect_timeout_secs: u64,
    pub request_timeout_secs: u64,
    /// Kind-specific settings (string values).
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// The import source its syncs write (`broker:<name>`).
    pub source: String,
    pub created_at: Timestamp,
    /// The latest sync, good or failed.
    pub last_sync: Option<SyncRun>,
}

/// What `broker add` takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewBrokerProfile {
    pub name: String,
    /// `openbao` (or `vault`), `oidc`, `mcp`.
    pub kind: String,
    pub address: String,
    pub credential: Option<String>,
    pub ca_file: Option<String>,
    /// Request timeout in seconds (default 30; connecting gets at most 10).
    pub timeout_secs: Option<u64>,
    /// `key=value` settings.
    pub settings: Vec<(String, String)>,
    /// Plain http:// to a host that is not loopback.
    #[serde(default)]
    pub allow_http: bool,
    /// Honour the proxy environment variables.
    #[serde(default)]
    pub use_proxy: bool,
    /// OIDC: endpoints on another https origin than the issuer's.
    #[serde(default)]
    pub allow_other_origins: bool,
}

/// The result of `broker test`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerTest {
    pub profile: String,
    pub address: String,
    pub ok: bool,
    /// What the broker said (version, token policies…) or why it failed.
    pub detail: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    Ok,
    Failed,
}

/// A part of the broker a sync could not read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownPart {
    pub part: String,
    pub reason: String,
}

/// One recorded sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRun {
    pub id: i64,
    pub profile: String,
    pub kind: String,
    pub address: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub status: SyncStatus,
    /// Why it failed (names the address and the API path).
    pub error: Option<String>,
    /// The snapshot a good sync imported.
    pub snapshot: Option<i64>,
    pub unknown_parts: Vec<UnknownPart>,
    pub observations: i64,
}

/// What `sync` returns: the run, and for a good one the snapshot it made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub run: SyncRun,
    pub snapshot: Option<Snapshot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// One field that differs between two syncs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// An entity (`kind` is agent, identity, credential, resource, tool or grant) or an
/// observation (`kind` such as `vault.role`, `vault.token`) that was added, removed or changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftItem {
    pub change: ChangeKind,
    pub kind: String,
    pub id: String,
    /// For a change: each differing field. For an addition or removal: empty.
    pub fields: Vec<FieldChange>,
}

/// Drift of one broker between two snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub profile: String,
    pub from_snapshot: i64,
    pub to_snapshot: i64,
    /// The sync runs whose observations were compared (the last good run at or before each
    /// snapshot), if any.
    pub from_run: Option<i64>,
    pub to_run: Option<i64>,
    pub entities: Vec<DriftItem>,
    pub observations: Vec<DriftItem>,
}

/// What to revoke at a Vault/OpenBao broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "what", content = "id")]
pub enum RevokeTarget {
    Accessor(String),
    Lease(String),
}

/// A revocation done, with the broker's answer and its audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub profile: String,
    pub address: String,
    pub target: RevokeTarget,
    pub answer: String,
    pub at: Timestamp,
    pub by: String,
    pub audit_seq: i64,
}

/// A broker fact the estate model has no field for, as recorded by a sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// `vault.role`, `vault.token`, `vault.denied`…
    pub kind: String,
    /// Stable across syncs (the drift key).
    pub id: String,
    pub facts: serde_json::Value,
}
