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

pub use attestation::{AttachedFile, Attestation, AttestationTarget};
pub use audit::{Actor, AuditEntry, AuditKey, AuditVerification};
pub use brokers::{StoredObservation, StoredProfile, SyncRun, SyncStart};
pub use database::Store;
pub use drift::SourceDigests;
pub use flows::{FlowSaved, NewFlowVersion, StoredFlow};
pub use inventory::{ImportSummary, SnapshotRecord, SourceNamespace, Stored, Verdict};
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
    #[error("audit key {path}: {reason}")]
    AuditKey { path: PathBuf, reason: String },
    #[error("stored {table} row `{id}` is corrupt: {reason}")]
    Corrupt {
        table: &'static str,
        id: String,
        reason: String,
    },
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests;
