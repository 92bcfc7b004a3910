//! What one source held at a snapshot, as ids and content digests: enough to tell added, removed
//! and changed entities between two snapshots without loading either estate.

use std::collections::BTreeMap;

use bridle_core::EntityKind;
use sqlx::Row;

use crate::{Result, Store, StoreError};

/// `(kind, id)` → the entity's content digest, for the rows of one source valid at one snapshot.
pub type SourceDigests = BTreeMap<(EntityKind, String), Vec<u8>>;

const TABLES: [(EntityKind, &str); 6] = [
    (EntityKind::Agent, "agents"),
    (EntityKind::Identity, "identities"),
    (EntityKind::Credential, "credentials"),
    (EntityKind::Resource, "resources"),
    (EntityKind::Tool, "tools"),
    (EntityKind::Grant, "grants"),
];

impl Store {
    /// The entities of `source` valid right after snapshot `snapshot`.
    pub async fn source_digests_at(&self, source: &str, snapshot: i64) -> Result<SourceDigests> {
        let mut conn = self.pool.acquire().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM snapshots WHERE id = ?")
            .bind(snapshot)
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_none() {
            return Err(StoreError::SnapshotNotFound(snapshot));
        }
        let mut digests = SourceDigests::new();
        for (kind, table) in TABLES {
            // Table names are this module's constants; values are bound.
            let sql = format!(
                "SELECT id, content_digest FROM {table} WHERE origin = ?1 \
                 AND valid_from <= ?2 AND (valid_to IS NULL OR valid_to > ?2)"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(source)
                .bind(snapshot)
                .fetch_all(&mut *conn)
                .await?;
            for row in rows {
                digests.insert((kind, row.try_get("id")?), row.try_get("content_digest")?);
            }
        }
        Ok(digests)
    }
}
