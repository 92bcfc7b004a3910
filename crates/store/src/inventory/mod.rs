//! The temporal inventory: importing a source's entities as a new snapshot, and reading the
//! current state or any past snapshot back.

mod codec;
mod query;
mod read;
mod tables;
mod write;

use std::collections::HashMap;

use bridle_core::time::Timestamp;
use bridle_core::{Counts, EntityKind};

pub use query::{Cell, Figures, Filter, Page, PageQuery, SearchHit, StoredEntity, ValueCounts};
#[cfg(test)]
pub(crate) use read::LOAD_CHUNK_ROWS;
pub(crate) use read::snapshot_from_row;
pub use write::Verdict;

/// An entity as stored, with its provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored<T> {
    pub entity: T,
    /// The source it came from (`import`, `import:<name>`, `vault:<profile>`…).
    pub origin: String,
    pub first_seen: Timestamp,
    /// When its source last reported it (the latest snapshot of that source it is part of).
    pub last_seen: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRecord {
    pub id: i64,
    pub taken_at: Timestamp,
    pub source: String,
    pub origin: Option<String>,
    pub estate_sha256: String,
    pub counts: Counts,
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub snapshot: SnapshotRecord,
    pub audit_seq: i64,
}

/// The ids of other sources' current entities, to resolve cross-source references and refuse ids
/// that another source owns.
#[derive(Debug, Default)]
pub struct SourceNamespace {
    pub ids: HashMap<String, (EntityKind, String)>,
}
