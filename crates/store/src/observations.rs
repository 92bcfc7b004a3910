//! The facts of imported broker files (migration `0006`): per import source, the observations of
//! its latest import. They are replaced inside the import's own transaction
//! ([`Store::import_with_observations`]), so a failed or refused import leaves the previous facts
//! and a re-import never adds a second copy. Broker syncs keep theirs per run
//! (`broker_observations`, `brokers.rs`).

use sqlx::{Row, SqliteConnection};

use crate::brokers::StoredObservation;
use crate::{Result, Store};

/// Rows per `INSERT … FROM json_each(?)`.
const CHUNK: usize = 8_192;

/// Replaces the observations of `source` with `observations`, recorded against `snapshot_id`;
/// returns how many rows were there before.
pub(crate) async fn replace(
    conn: &mut SqliteConnection,
    source: &str,
    snapshot_id: i64,
    observations: &[StoredObservation],
) -> Result<u64> {
    let removed = sqlx::query("DELETE FROM import_observations WHERE source = ?")
        .bind(source)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    for chunk in observations.chunks(CHUNK) {
        let rows = serde_json::Value::Array(
            chunk
                .iter()
                .map(|o| serde_json::json!([o.kind, o.id, o.facts]))
                .collect(),
        )
        .to_string();
        sqlx::query(
            "INSERT INTO import_observations (source, kind, id, facts, snapshot_id) \
             SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), \
             json_extract(value, '$[2]'), ? FROM json_each(?)",
        )
        .bind(source)
        .bind(snapshot_id)
        .bind(rows)
        .execute(&mut *conn)
        .await?;
    }
    Ok(removed)
}

/// An import source's observation as stored, with the snapshot that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceObservation {
    pub source: String,
    pub snapshot_id: i64,
    pub observation: StoredObservation,
}

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<SourceObservation> {
    Ok(SourceObservation {
        source: row.try_get("source")?,
        snapshot_id: row.try_get("snapshot_id")?,
        observation: StoredObservation {
            kind: row.try_get("kind")?,
            id: row.try_get("id")?,
            facts: row.try_get("facts")?,
        },
    })
}

impl Store {
    /// The observations of import source `source` (`import:<name>`), optionally of one kind, by
    /// kind and id.
    pub async fn import_observations(
        &self,
        source: &str,
        kind: Option<&str>,
    ) -> Result<Vec<SourceObservation>> {
        sqlx::query(
            "SELECT source, kind, id, facts, snapshot_id FROM import_observations \
             WHERE source = ? AND (? IS NULL OR kind = ?) ORDER BY kind, id",
        )
        .bind(source)
        .bind(kind)
        .bind(kind)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(from_row)
        .collect()
    }

    /// Every import source's observations of `kind`, by source and id.
    pub async fn import_observations_of_kind(&self, kind: &str) -> Result<Vec<SourceObservation>> {
        sqlx::query(
            "SELECT source, kind, id, facts, snapshot_id FROM import_observations \
             WHERE kind = ? ORDER BY source, id",
        )
        .bind(kind)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(from_row)
        .collect()
    }

    /// The newest snapshot of `source`, if it was ever imported.
    pub async fn latest_snapshot_of(&self, source: &str) -> Result<Option<crate::SnapshotRecord>> {
        sqlx::query("SELECT * FROM snapshots WHERE source = ? ORDER BY id DESC LIMIT 1")
            .bind(source)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(crate::inventory::snapshot_from_row)
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use bridle_core::Estate;
    use bridle_core::estate::{Syntax, parse};

    use super::*;
    use crate::tests::{actor, open, time};

    fn observation(id: &str, ttl: u32) -> StoredObservation {
        StoredObservation {
            kind: "spire.entry".into(),
            id: id.into(),
            facts: format!(r#"{{"x509_svid_ttl":{ttl}}}"#),
        }
    }

    fn facts(rows: &[SourceObservation]) -> Vec<(&str, &str)> {
        rows.iter()
            .map(|r| (r.observation.id.as_str(), r.observation.facts.as_str()))
            .collect()
    }

    #[tokio::test]
    async fn an_import_replaces_its_sources_facts_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        let estate = parse(
            br#"{"bridle":"estate/v1","identities":[{"id":"spiffe://td/w","kind":"spiffe","name":"w"}]}"#,
            Syntax::Json,
        )
        .estate
        .unwrap();
        let at = time("2026-12-01T00:00:00Z");
        let import = |observations: Vec<StoredObservation>, refuse: bool| {
            let store = store.clone();
            let estate = estate.clone();
            async move {
                store
                    .import_with_observations(
                        "import:spire",
                        Some("entries.json"),
                        &estate,
                        &observations,
                        at,
                        &actor(),
                        |_| {
                            if refuse {
                                Err(vec!["no".into()])
                            } else {
                                Ok(())
                            }
                        },
                    )
                    .await
                    .unwrap()
            }
        };
        let first = import(
            vec![observation("e-1", 3600), observation("e-2", 60)],
            false,
        )
        .await
        .unwrap();
        let rows = store
            .import_observations("import:spire", None)
            .await
            .unwrap();
        assert_eq!(
            facts(&rows),
            [
                ("e-1", r#"{"x509_svid_ttl":3600}"#),
                ("e-2", r#"{"x509_svid_ttl":60}"#)
            ]
        );
        assert!(rows.iter().all(|r| r.snapshot_id == first.snapshot.id));

        // A re-import replaces: e-2 is gone, e-1 changed, nothing doubled.
        let second = import(vec![observation("e-1", 900)], false).await.unwrap();
        let rows = store
            .import_observations("import:spire", Some("spire.entry"))
            .await
            .unwrap();
        assert_eq!(facts(&rows), [("e-1", r#"{"x509_svid_ttl":900}"#)]);
        assert_eq!(rows[0].snapshot_id, second.snapshot.id);

        // A refused import leaves them as they were.
        assert!(import(vec![observation("e-9", 1)], true).await.is_err());
        assert_eq!(
            store
                .import_observations_of_kind("spire.entry")
                .await
                .unwrap(),
            rows
        );
        assert!(
            store
                .import_observations("import:spire", Some("k8s.grant"))
                .await
                .unwrap()
                .is_empty()
        );

        // The audit entry counts them; an estate import of the source clears them and says so.
        let last_detail = |entries: Vec<crate::AuditEntry>| -> serde_json::Value {
            serde_json::from_str(&entries.last().unwrap().detail).unwrap()
        };
        assert_eq!(
            last_detail(store.audit_entries().await.unwrap())["observations"],
            1
        );
        store
            .import(
                "import:spire",
                None,
                &Estate::default(),
                at,
                &actor(),
                |_| Ok(()),
            )
            .await
            .unwrap()
            .unwrap();
        assert!(
            store
                .import_observations("import:spire", None)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            last_detail(store.audit_entries().await.unwrap())["observations"],
            0
        );
        assert_eq!(
            store
                .latest_snapshot_of("import:spire")
                .await
                .unwrap()
                .map(|s| s.id),
            Some(second.snapshot.id + 1)
        );
        assert!(
            store
                .latest_snapshot_of("import:none")
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.verify_audit().await.unwrap().intact());
    }
}
