//! Approval-flow documents: every saved version kept, the current one per flow named in `flows`,
//! each save and delete in one transaction with its audit entry. The store keeps the text as
//! written; reading and checking it is the app's and core's business.

use bridle_core::time::{Timestamp, format_utc, parse_utc};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::audit::{Actor, NewEntry};
use crate::transaction::WriteTransaction;
use crate::{Result, Store, StoreError};

/// The current version of each flow (a macro, so queries stay string literals for sqlx).
macro_rules! current_flows {
    () => {
        "SELECT f.id, f.agent, v.version, v.document, v.sha256, v.at, v.user, v.host \
         FROM flows f JOIN flow_versions v ON v.flow_id = f.id AND v.version = f.version"
    };
}

/// A flow document to save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFlowVersion {
    pub id: String,
    pub agent: String,
    pub document: String,
}

/// One stored version of a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFlow {
    pub id: String,
    pub agent: String,
    pub version: i64,
    pub document: String,
    pub sha256: String,
    pub at: Timestamp,
    pub user: String,
    pub host: String,
}

/// What saving one flow did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowSaved {
    Created,
    /// A new version; the number it got.
    Updated(i64),
    /// The document equals the current version: nothing written.
    Unchanged,
}

impl Store {
    /// Saves every flow in one transaction (all or nothing); a flow whose document equals its
    /// current version is left alone.
    pub async fn save_flows(
        &self,
        flows: &[NewFlowVersion],
        at: Timestamp,
        actor: &Actor,
    ) -> Result<Vec<FlowSaved>> {
        let mut tx = WriteTransaction::begin(self).await?;
        let mut outcomes = Vec::with_capacity(flows.len());
        for flow in flows {
            let sha256 = hex::encode(Sha256::digest(flow.document.as_bytes()));
            let current: Option<(i64, String)> = sqlx::query_as(
                "SELECT v.version, v.sha256 FROM flows f JOIN flow_versions v \
                 ON v.flow_id = f.id AND v.version = f.version WHERE f.id = ?",
            )
            .bind(&flow.id)
            .fetch_optional(tx.conn())
            .await?;
            let version = match &current {
                Some((_, hash)) if *hash == sha256 => {
                    outcomes.push(FlowSaved::Unchanged);
                    continue;
                }
                Some((version, _)) => version + 1,
                None => 1,
            };
            let seq = self
                .append_audit(
                    &mut tx,
                    NewEntry {
                        at,
                        actor,
                        action: if current.is_some() {
                            "flow.update"
                        } else {
                            "flow.create"
                        },
                        subject: format!("flow {}", flow.id),
                        detail: serde_json::json!({
                            "agent": flow.agent,
                            "version": version,
                            "sha256": sha256,
                        }),
                    },
                )
                .await?;
            sqlx::query(
                "INSERT INTO flow_versions (flow_id, version, document, sha256, at, user, host, \
                 audit_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&flow.id)
            .bind(version)
            .bind(&flow.document)
            .bind(&sha256)
            .bind(format_utc(&at))
            .bind(&actor.user)
            .bind(&actor.host)
            .bind(seq)
            .execute(tx.conn())
            .await?;
            sqlx::query(
                "INSERT INTO flows (id, agent, version) VALUES (?, ?, ?) \
                 ON CONFLICT (id) DO UPDATE SET agent = excluded.agent, version = excluded.version",
            )
            .bind(&flow.id)
            .bind(&flow.agent)
            .bind(version)
            .execute(tx.conn())
            .await?;
            outcomes.push(if version == 1 {
                FlowSaved::Created
            } else {
                FlowSaved::Updated(version)
            });
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// The current version of every flow, by id.
    pub async fn flows(&self) -> Result<Vec<StoredFlow>> {
        let rows = sqlx::query(concat!(current_flows!(), " ORDER BY f.id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(stored_flow).collect()
    }

    /// The current version of one flow.
    pub async fn flow(&self, id: &str) -> Result<Option<StoredFlow>> {
        let row = sqlx::query(concat!(current_flows!(), " WHERE f.id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(stored_flow).transpose()
    }

    /// Every saved version of a flow, oldest first (also those of a deleted flow).
    pub async fn flow_history(&self, id: &str) -> Result<Vec<StoredFlow>> {
        let rows = sqlx::query(
            "SELECT v.flow_id AS id, NULL AS agent, v.version, v.document, v.sha256, v.at, v.user, \
             v.host FROM flow_versions v WHERE v.flow_id = ? ORDER BY v.version",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored_flow).collect()
    }

    /// The flows as they stood at `at`: per flow, its newest version saved at or before `at`,
    /// unless the flow was deleted after that version and at or before `at`. The agent is the
    /// one recorded now (empty for a deleted flow); the document names its own.
    pub async fn flows_at(&self, at: Timestamp) -> Result<Vec<StoredFlow>> {
        let versions = sqlx::query(
            "SELECT v.flow_id AS id, f.agent, v.version, v.document, v.sha256, v.at, v.user, \
             v.host, v.audit_seq FROM flow_versions v LEFT JOIN flows f ON f.id = v.flow_id \
             ORDER BY v.flow_id, v.audit_seq",
        )
        .fetch_all(&self.pool)
        .await?;
        let deletions: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT seq, at, subject FROM audit_log WHERE action = 'flow.delete' ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        // Per flow: its newest version at `at`, with the audit entry that saved it.
        let mut newest: std::collections::BTreeMap<String, (i64, StoredFlow)> =
            std::collections::BTreeMap::new();
        for row in &versions {
            let flow = stored_flow(row)?;
            if flow.at <= at {
                newest.insert(flow.id.clone(), (row.try_get("audit_seq")?, flow));
            }
        }
        for (seq, when, subject) in deletions {
            let when = parse_utc(&when).map_err(|reason| StoreError::Corrupt {
                table: "audit_log",
                id: seq.to_string(),
                reason,
            })?;
            let Some(id) = subject.strip_prefix("flow ") else {
                continue;
            };
            if when <= at && newest.get(id).is_some_and(|(saved, _)| *saved < seq) {
                newest.remove(id);
            }
        }
        Ok(newest.into_values().map(|(_, flow)| flow).collect())
    }

    /// Removes a flow from the current set (its versions stay for the record); false when there
    /// was no such flow.
    pub async fn delete_flow(&self, id: &str, at: Timestamp, actor: &Actor) -> Result<bool> {
        let mut tx = WriteTransaction::begin(self).await?;
        let deleted = sqlx::query("DELETE FROM flows WHERE id = ?")
            .bind(id)
            .execute(tx.conn())
            .await?
            .rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        self.append_audit(
            &mut tx,
            NewEntry {
                at,
                actor,
                action: "flow.delete",
                subject: format!("flow {id}"),
                detail: serde_json::json!({}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

fn stored_flow(row: &sqlx::sqlite::SqliteRow) -> Result<StoredFlow> {
    let id: String = row.try_get("id")?;
    let at: String = row.try_get("at")?;
    let at = parse_utc(&at).map_err(|reason| StoreError::Corrupt {
        table: "flow_versions",
        id: id.clone(),
        reason,
    })?;
    Ok(StoredFlow {
        agent: row
            .try_get::<Option<String>, _>("agent")?
            .unwrap_or_default(),
        version: row.try_get("version")?,
        document: row.try_get("document")?,
        sha256: row.try_get("sha256")?,
        user: row.try_get("user")?,
        host: row.try_get("host")?,
        at,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tests::{actor, open, time};

    #[tokio::test]
    async fn flows_keep_every_version_and_their_audit_entries() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        let actor = actor();
        let at = time("2026-11-28T12:00:00Z");
        let v1 = NewFlowVersion {
            id: "triage".into(),
            agent: "agent:a".into(),
            document: "format: bridle.flow/v1\n# one\n".into(),
        };
        let other = NewFlowVersion {
            id: "nightly".into(),
            agent: "agent:b".into(),
            document: "format: bridle.flow/v1\n# other\n".into(),
        };
        assert_eq!(
            store
                .save_flows(&[v1.clone(), other], at, &actor)
                .await
                .unwrap(),
            [FlowSaved::Created, FlowSaved::Created]
        );
        assert_eq!(
            store
                .save_flows(std::slice::from_ref(&v1), at, &actor)
                .await
                .unwrap(),
            [FlowSaved::Unchanged]
        );
        let v2 = NewFlowVersion {
            document: "format: bridle.flow/v1\n# two\n".into(),
            ..v1
        };
        assert_eq!(
            store.save_flows(&[v2], at, &actor).await.unwrap(),
            [FlowSaved::Updated(2)]
        );
        let current = store.flow("triage").await.unwrap().unwrap();
        assert_eq!(
            (current.version, current.document.as_str()),
            (2, "format: bridle.flow/v1\n# two\n")
        );
        assert_eq!(
            store
                .flows()
                .await
                .unwrap()
                .iter()
                .map(|f| f.id.as_str())
                .collect::<Vec<_>>(),
            ["nightly", "triage"]
        );
        assert!(store.delete_flow("triage", at, &actor).await.unwrap());
        assert!(!store.delete_flow("triage", at, &actor).await.unwrap());
        assert!(store.flow("triage").await.unwrap().is_none());
        assert_eq!(store.flow_history("triage").await.unwrap().len(), 2);
        let actions: Vec<String> = store
            .audit_entries()
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            actions,
            ["flow.create", "flow.create", "flow.update", "flow.delete"]
        );
        assert!(store.verify_audit().await.unwrap().intact());
    }

    #[tokio::test]
    async fn flows_at_an_earlier_time_are_the_versions_saved_by_then() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        let actor = actor();
        let doc = |n: &str| NewFlowVersion {
            id: "triage".into(),
            agent: "agent:a".into(),
            document: format!("format: bridle.flow/v1\n# {n}\n"),
        };
        // Fractional seconds: a text comparison would order 10:00:00.5Z before 10:00:00Z.
        store
            .save_flows(&[doc("one")], time("2026-11-01T10:00:00Z"), &actor)
            .await
            .unwrap();
        store
            .save_flows(&[doc("two")], time("2026-11-02T10:00:00.5Z"), &actor)
            .await
            .unwrap();
        store
            .delete_flow("triage", time("2026-11-03T10:00:00Z"), &actor)
            .await
            .unwrap();
        let at = |t: &str| {
            let store = &store;
            let t = time(t);
            async move {
                store
                    .flows_at(t)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|f| f.version)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(at("2026-10-31T00:00:00Z").await, Vec::<i64>::new());
        assert_eq!(at("2026-11-02T10:00:00Z").await, [1]);
        assert_eq!(at("2026-11-02T10:00:00.5Z").await, [2]);
        assert_eq!(at("2026-11-02T23:00:00Z").await, [2]);
        assert_eq!(at("2026-11-03T10:00:00Z").await, Vec::<i64>::new());
    }
}
