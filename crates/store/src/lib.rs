//! Bridle's store: one SQLite file (WAL, foreign keys) holding the temporal inventory, its
//! snapshots and the hash-chained audit log.
//!
//! Architecture invariant: every multi-row change happens in one `BEGIN IMMEDIATE` transaction
//! that also appends its audit entry, so an import lands whole or not at all, and the audit log
//! never misses a mutation. Migrations in `migrations/` are embedded and never edited. The
//! database holds credential metadata only; no secret value ever reaches this crate.

mod attestation;
mod audit;
mod brokers;
mod database;
mod drift;
mod flows;
mod inventory;
mod observations;
mod risk;
mod transaction;

pub use attestation::{AttachedFile, Attestation, AttestationTarget, NewAttestation};
pub use audit::{AcknowledgedBreak, Actor, AuditEntry, AuditKey, AuditVerification};
pub use brokers::{
    CredentialDecision, RevocationStep, StoredObservation, StoredProfile, SyncRun, SyncStart,
};
pub use database::{Store, create_private_dir, owner_only};
pub use drift::SourceDigests;
pub use flows::{FlowSaved, NewFlowVersion, StoredFlow};
pub use inventory::{
    Cell, Figures, Filter, ImportSummary, Page, PageQuery, SearchHit, SnapshotRecord,
    SourceNamespace, Stored, StoredEntity, ValueCounts, Verdict,
};
pub use observations::SourceObservation;
pub use risk::{NewRisk, RiskChange, RiskEvent};

use std::path::PathBuf;

/// What can go wrong in the store. Callers branch on the first variants.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "database {path} was written by a newer Bridle (schema version {found}; this build knows up to {known}); open it with that version or newer"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("cannot use {path} as a Bridle database: {reason}")]
    Unusable { path: PathBuf, reason: String },
    #[error("snapshot {0} does not exist")]
    SnapshotNotFound(i64),
    #[error(
        "the audit log is broken, so nothing was written: {problem}{}{}. `bridle audit verify` says what broke; `bridle audit acknowledge --reason …` records it and starts a new anchored segment",
        if *more > 0 { format!(" (and {more} more problems)") } else { String::new() },
        first_broken_seq.map(|s| format!("; the first broken entry is {s}")).unwrap_or_default()
    )]
    AuditBroken {
        first_broken_seq: Option<i64>,
        problem: String,
        more: usize,
    },
    #[error("{0}")]
    AuditIntact(String),
    #[error("audit key {path}: {reason}")]
    AuditKey { path: PathBuf, reason: String },
    #[error("stored {table} row `{id}` is corrupt: {reason}")]
    Corrupt {
        table: &'static str,
        id: String,
        reason: String,
    },
    #[error("{table} have no column `{column}`; they have: {known}")]
    UnknownColumn {
        table: &'static str,
        column: String,
        known: String,
    },
    #[error("column `{column}` of {table} cannot hold {value}")]
    UnfitFilter {
        table: &'static str,
        column: &'static str,
        value: String,
    },
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests;
