//! Evidence exports and manual attestations, as the CLI prints them and the console shows them.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// A manual attestation for a control or a NIST AI RMF subcategory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    pub id: i64,
    /// `control` or `subcategory`.
    pub target_kind: String,
    /// `C03` or `GOVERN 1.1`.
    pub target: String,
    pub statement: String,
    pub at: Timestamp,
    pub user: String,
    pub host: String,
    pub file_name: Option<String>,
    pub file_sha256: Option<String>,
    pub audit_seq: i64,
    /// After this time it no longer counts; `None`: it does not expire.
    #[serde(default)]
    pub expires: Option<Timestamp>,
}

/// One file an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrittenFile {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

/// What `evidence pdf` wrote and what the PDF states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceWritten {
    pub pdf: WrittenFile,
    pub snapshot_json: WrittenFile,
    pub findings_json: WrittenFile,
    pub snapshot: i64,
    pub estate_sha256: String,
    pub audit_head: String,
    pub at: Timestamp,
    pub pages: u64,
}

/// The outcome of checking an evidence PDF against the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceVerification {
    pub snapshot: i64,
    pub stated_estate_sha256: String,
    /// The hash the snapshot rebuilds to now (`None`: the snapshot no longer exists).
    pub reconstructed_estate_sha256: Option<String>,
    pub snapshot_holds: bool,
    pub stated_audit_head: String,
    /// The stated head is an entry of the audit log.
    pub head_in_chain: bool,
    /// The whole audit chain verifies (hashes, links, anchor).
    pub chain_intact: bool,
    pub chain_problems: Vec<String>,
    /// Breaks of the log someone acknowledged: the chain verifies from them on, and they stay
    /// listed.
    #[serde(default)]
    pub acknowledged_breaks: Vec<String>,
    /// Facts about the log that are not problems.
    #[serde(default)]
    pub audit_notes: Vec<String>,
    /// The current inventory's hash differs from the snapshot's (a later change, not tampering).
    pub inventory_changed: bool,
    pub current_estate_sha256: String,
}

impl EvidenceVerification {
    /// The pack's statements hold: the snapshot rebuilds to its hash and the head is in an
    /// intact chain.
    pub fn holds(&self) -> bool {
        self.snapshot_holds && self.head_in_chain && self.chain_intact
    }
}

/// The console's request to write the evidence pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceExportRequest {
    /// Where the PDF goes; the snapshot and findings JSON are written beside it.
    pub path: String,
    /// The organisation named on the cover (default: none set).
    pub organisation: Option<String>,
    /// The evaluation time (default: now).
    pub at: Option<Timestamp>,
}
