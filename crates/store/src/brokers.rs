//! Broker profiles, sync runs and their observations (migration `0003`).
//!
//! A good sync is one `BEGIN IMMEDIATE` transaction: the estate import of source
//! `broker:<name>` (the same code as a file import), the sync-run row, its observations and the
//! audit entries. A failed sync writes only its failed run and audit entry; the inventory stays
//! as it was. Profiles hold a credential *reference*; this crate never sees a secret value.

use bridle_core::Estate;
use bridle_core::time::{Timestamp, format_utc, parse_utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::audit::{Actor, NewEntry};
use crate::inventory::{ImportSummary, SourceNamespace, Verdict};
use crate::transaction::WriteTransaction;
use crate::{Result, Store, StoreError};

/// A stored connection profile. `profile` is the full profile as JSON (it names where the
/// credential lives, never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProfile {
    pub name: String,
    pub kind: String,
    pub address: String,
    pub profile: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What is known of a sync before its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncStart {
    pub profile: String,
    pub kind: String,
    pub address: String,
    pub started_at: Timestamp,
}

/// One recorded sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRun {
    pub id: i64,
    pub profile: String,
    pub kind: String,
    pub address: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    /// `ok` or `failed`.
    pub status: String,
    pub error: Option<String>,
    pub snapshot_id: Option<i64>,
    /// `(part, reason)` of what could not be read.
    pub unknown_parts: Vec<(String, String)>,
    pub observations: i64,
    pub audit_seq: i64,
}

/// A broker fact as stored: `facts` is a JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObservation {
    pub kind: String,
    pub id: String,
    pub facts: String,
}

fn time(row: &SqliteRow, table: &'static str, column: &str) -> Result<Timestamp> {
    let text: String = row.try_get(column)?;
    parse_utc(&text).map_err(|reason| StoreError::Corrupt {
        table,
        id: row.try_get::<String, _>(0).unwrap_or_default(),
        reason: format!("{column}: {reason}"),
    })
}

fn profile_from_row(row: &SqliteRow) -> Result<StoredProfile> {
    Ok(StoredProfile {
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        address: row.try_get("address")?,
        profile: row.try_get("profile")?,
        created_at: time(row, "broker_profiles", "created_at")?,
        updated_at: time(row, "broker_profiles", "updated_at")?,
    })
}

fn run_from_row(row: &SqliteRow) -> Result<SyncRun> {
    let unknown_text: String = row.try_get("unknown_parts")?;
    let unknown: Vec<(String, String)> =
        serde_json::from_str::<Vec<serde_json::Value>>(&unknown_text)
            .map_err(|e| StoreError::Corrupt {
                table: "broker_sync_runs",
                id: row.try_get::<i64, _>("id").unwrap_or_default().to_string(),
                reason: format!("unknown_parts: {e}"),
            })?
            .into_iter()
            .map(|v| {
                (
                    v["part"].as_str().unwrap_or_default().to_owned(),
                    v["reason"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
    Ok(SyncRun {
        id: row.try_get("id")?,
        profile: row.try_get("profile")?,
        kind: row.try_get("kind")?,
        address: row.try_get("address")?,
        started_at: time(row, "broker_sync_runs", "started_at")?,
        finished_at: time(row, "broker_sync_runs", "finished_at")?,
        status: row.try_get("status")?,
        error: row.try_get("error")?,
        snapshot_id: row.try_get("snapshot_id")?,
        unknown_parts: unknown,
        observations: row.try_get("observations")?,
        audit_seq: row.try_get("audit_seq")?,
    })
}

fn unknown_json(unknown: &[(String, String)]) -> String {
    serde_json::Value::Array(
        unknown
            .iter()
            .map(|(part, reason)| serde_json::json!({"part": part, "reason": reason}))
            .collect(),
    )
    .to_string()
}

impl Store {
    /// Adds a profile; `Ok(false)` when one with that name exists (nothing written).
    pub async fn add_broker_profile(&self, profile: &StoredProfile, actor: &Actor) -> Result<bool> {
        let mut tx = WriteTransaction::begin(self).await?;
        let exists: Option<String> =
            sqlx::query_scalar("SELECT name FROM broker_profiles WHERE name = ?")
                .bind(&profile.name)
                .fetch_optional(tx.conn())
                .await?;
        if exists.is_some() {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO broker_profiles (name, kind, address, profile, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&profile.name)
        .bind(&profile.kind)
        .bind(&profile.address)
        .bind(&profile.profile)
        .bind(format_utc(&profile.created_at))
        .bind(format_utc(&profile.updated_at))
        .execute(tx.conn())
        .await?;
        let detail: serde_json::Value =
            serde_json::from_str(&profile.profile).unwrap_or(serde_json::Value::Null);
        self.append_audit(
            &mut tx,
            NewEntry {
                at: profile.created_at,
                actor,
                action: "broker.add",
                subject: format!("broker {}", profile.name),
                detail,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn broker_profiles(&self) -> Result<Vec<StoredProfile>> {
        sqlx::query("SELECT * FROM broker_profiles ORDER BY name")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(profile_from_row)
            .collect()
    }

    pub async fn broker_profile(&self, name: &str) -> Result<Option<StoredProfile>> {
        sqlx::query("SELECT * FROM broker_profiles WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(profile_from_row)
            .transpose()
    }

    /// Removes a profile (its sync history and the entities it synced stay); `Ok(false)` when
    /// there is none by that name.
    pub async fn remove_broker_profile(
        &self,
        name: &str,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<bool> {
        let mut tx = WriteTransaction::begin(self).await?;
        let removed = sqlx::query("DELETE FROM broker_profiles WHERE name = ?")
            .bind(name)
            .execute(tx.conn())
            .await?
            .rows_affected();
        if removed == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        self.append_audit(
            &mut tx,
            NewEntry {
                at,
                actor,
                action: "broker.rm",
                subject: format!("broker {name}"),
                detail: serde_json::json!({"profile": name}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records a failed sync: its run and audit entry, nothing else.
    pub async fn record_failed_sync(
        &self,
        start: &SyncStart,
        error: &str,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<SyncRun> {
        let mut tx = WriteTransaction::begin(self).await?;
        let audit_seq = self
            .append_audit(
                &mut tx,
                NewEntry {
                    at,
                    actor,
                    action: "broker.sync",
                    subject: format!("broker {}", start.profile),
                    detail: serde_json::json!({
                        "profile": start.profile,
                        "address": start.address,
                        "status": "failed",
                        "error": error,
                    }),
                },
            )
            .await?;
        let id = insert_run(&mut tx, start, at, Err(error), &[], 0, audit_seq).await?;
        let run = read_run(&mut tx, id).await?;
        tx.commit().await?;
        Ok(run)
    }

    /// Imports a broker's estate as source `source` and records the good run with its
    /// observations, all in one transaction. `Ok(Err(reasons))` (nothing written) when `check`
    /// or the import refuses.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_sync(
        &self,
        start: &SyncStart,
        source: &str,
        estate: &Estate,
        observations: &[StoredObservation],
        unknown_parts: &[(String, String)],
        at: Timestamp,
        actor: &Actor,
        check: impl FnOnce(&SourceNamespace) -> Verdict,
    ) -> Result<std::result::Result<(SyncRun, ImportSummary), Vec<String>>> {
        let mut tx = WriteTransaction::begin(self).await?;
        let origin = format!("{} {}", start.kind, start.address);
        let summary = match self
            .import_in(
                &mut tx,
                source,
                Some(&origin),
                estate,
                None,
                at,
                actor,
                check,
            )
            .await?
        {
            Ok(summary) => summary,
            Err(reasons) => {
                tx.rollback().await?;
                return Ok(Err(reasons));
            }
        };
        let audit_seq = self
            .append_audit(
                &mut tx,
                NewEntry {
                    at,
                    actor,
                    action: "broker.sync",
                    subject: format!("broker {}", start.profile),
                    detail: serde_json::json!({
                        "profile": start.profile,
                        "address": start.address,
                        "status": "ok",
                        "snapshot": summary.snapshot.id,
                        "observations": observations.len(),
                        "unknown_parts": unknown_parts.iter().map(|(p, _)| p).collect::<Vec<_>>(),
                    }),
                },
            )
            .await?;
        let id = insert_run(
            &mut tx,
            start,
            at,
            Ok(summary.snapshot.id),
            unknown_parts,
            observations.len() as i64,
            audit_seq,
        )
        .await?;
        for observation in observations {
            sqlx::query(
                "INSERT INTO broker_observations (run_id, kind, id, facts) VALUES (?, ?, ?, ?)",
            )
            .bind(id)
            .bind(&observation.kind)
            .bind(&observation.id)
            .bind(&observation.facts)
            .execute(tx.conn())
            .await?;
        }
        let run = read_run(&mut tx, id).await?;
        tx.commit().await?;
        Ok(Ok((run, summary)))
    }

    /// A profile's sync runs, oldest first.
    pub async fn sync_runs(&self, profile: &str) -> Result<Vec<SyncRun>> {
        sqlx::query("SELECT * FROM broker_sync_runs WHERE profile = ? ORDER BY id")
            .bind(profile)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(run_from_row)
            .collect()
    }

    /// The observations of one run, by kind and id.
    pub async fn sync_observations(&self, run_id: i64) -> Result<Vec<StoredObservation>> {
        let rows = sqlx::query(
            "SELECT kind, id, facts FROM broker_observations WHERE run_id = ? ORDER BY kind, id",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredObservation {
                    kind: row.try_get("kind")?,
                    id: row.try_get("id")?,
                    facts: row.try_get("facts")?,
                })
            })
            .collect()
    }

    /// Records the local user's decision about a profile's credential in the audit log (the
    /// approval itself lives in that user's configuration, outside the database).
    pub async fn record_credential_decision(
        &self,
        profile: &str,
        decision: CredentialDecision,
        detail: serde_json::Value,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<i64> {
        let action = match decision {
            CredentialDecision::Approve => "broker.credential.approve",
            CredentialDecision::Withdraw => "broker.credential.withdraw",
        };
        self.audit_broker_event(profile, action, detail, at, actor)
            .await
    }

    /// Records a revocation step: `broker.revoke.intent` before the call to the broker,
    /// `broker.revoke` with its outcome after it (so a crash in between still leaves the intent).
    pub async fn record_revocation(
        &self,
        profile: &str,
        step: RevocationStep,
        detail: serde_json::Value,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<i64> {
        let action = match step {
            RevocationStep::Intent => "broker.revoke.intent",
            RevocationStep::Outcome => "broker.revoke",
        };
        self.audit_broker_event(profile, action, detail, at, actor)
            .await
    }

    /// One audit entry about broker `profile`, in a transaction of its own; its sequence number.
    async fn audit_broker_event(
        &self,
        profile: &str,
        action: &'static str,
        detail: serde_json::Value,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<i64> {
        let mut tx = WriteTransaction::begin(self).await?;
        let seq = self
            .append_audit(
                &mut tx,
                NewEntry {
                    at,
                    actor,
                    action,
                    subject: format!("broker {profile}"),
                    detail,
                },
            )
            .await?;
        tx.commit().await?;
        Ok(seq)
    }
}

/// What the local user decided about a profile's use of their credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialDecision {
    /// The credential may be sent to the profile's address (`broker.credential.approve`).
    Approve,
    /// The approval is withdrawn (`broker.credential.withdraw`).
    Withdraw,
}

/// Which audit entry of a revocation is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationStep {
    /// Before the call: what is about to be revoked, where, by whom.
    Intent,
    /// After it: the broker's answer or the failure.
    Outcome,
}

async fn insert_run(
    tx: &mut WriteTransaction,
    start: &SyncStart,
    finished_at: Timestamp,
    outcome: std::result::Result<i64, &str>,
    unknown_parts: &[(String, String)],
    observations: i64,
    audit_seq: i64,
) -> Result<i64> {
    let (status, error, snapshot) = match outcome {
        Ok(snapshot) => ("ok", None, Some(snapshot)),
        Err(error) => ("failed", Some(error), None),
    };
    Ok(sqlx::query_scalar(
        "INSERT INTO broker_sync_runs (profile, kind, address, started_at, finished_at, status, \
         error, snapshot_id, unknown_parts, observations, audit_seq) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&start.profile)
    .bind(&start.kind)
    .bind(&start.address)
    .bind(format_utc(&start.started_at))
    .bind(format_utc(&finished_at))
    .bind(status)
    .bind(error)
    .bind(snapshot)
    .bind(unknown_json(unknown_parts))
    .bind(observations)
    .bind(audit_seq)
    .fetch_one(tx.conn())
    .await?)
}

async fn read_run(tx: &mut WriteTransaction, id: i64) -> Result<SyncRun> {
    let row = sqlx::query("SELECT * FROM broker_sync_runs WHERE id = ?")
        .bind(id)
        .fetch_one(tx.conn())
        .await?;
    run_from_row(&row)
}

#[cfg(test)]
mod tests {
    use bridle_core::estate::{Syntax, parse};
    use bridle_core::time::parse_utc;

    use super::*;
    use crate::AuditKey;

    const ESTATE: &str = r#"{"bridle":"estate/v1",
     "identities":[{"id":"vault:b:auth/approle/role/ci","kind":"vault_role","name":"ci"}],
     "resources":[{"id":"vault:b:secret/","kind":"secret_store","name":"kv","sensitivity":"restricted","crown_jewel":false}],
     "grants":[{"id":"vault:b:g","subject":"vault:b:auth/approle/role/ci","target":"vault:b:secret/","actions":["read"],"standing":true}]}"#;

    fn actor() -> Actor {
        Actor {
            user: "tester".into(),
            host: "test-host".into(),
        }
    }

    fn start() -> SyncStart {
        SyncStart {
            profile: "b".into(),
            kind: "openbao".into(),
            address: "http://127.0.0.1:1/".into(),
            started_at: parse_utc("2026-11-28T10:00:00Z").unwrap(),
        }
    }

    #[tokio::test]
    async fn a_sync_lands_whole_and_a_refused_or_failed_one_writes_only_its_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &dir.path().join("x.db"),
            AuditKey::at(dir.path().join("audit.key")),
        )
        .await
        .unwrap();
        let estate = parse(ESTATE.as_bytes(), Syntax::Json).estate.unwrap();
        let at = parse_utc("2026-11-28T10:00:01Z").unwrap();
        let observations = vec![StoredObservation {
            kind: "vault.role".into(),
            id: "vault:b:auth/approle/role/ci".into(),
            facts: r#"{"token_ttl":3600}"#.into(),
        }];
        let unknown = vec![("token accessors".to_owned(), "403".to_owned())];
        let (run, summary) = store
            .record_sync(
                &start(),
                "broker:b",
                &estate,
                &observations,
                &unknown,
                at,
                &actor(),
                |_| Ok(()),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(run.status, "ok");
        assert_eq!(run.snapshot_id, Some(summary.snapshot.id));
        assert_eq!(run.unknown_parts, unknown);
        assert_eq!(store.sync_observations(run.id).await.unwrap(), observations);

        // Refused inside the transaction: no snapshot, no run, no observation, no audit entry.
        let audit_before = store.audit_entries().await.unwrap().len();
        let refused = store
            .record_sync(
                &start(),
                "broker:b",
                &estate,
                &observations,
                &[],
                at,
                &actor(),
                |_| Err(vec!["conflict".into()]),
            )
            .await
            .unwrap();
        assert_eq!(refused.unwrap_err(), vec!["conflict".to_owned()]);
        assert_eq!(store.snapshots().await.unwrap().len(), 1);
        assert_eq!(store.sync_runs("b").await.unwrap().len(), 1);
        assert_eq!(store.audit_entries().await.unwrap().len(), audit_before);

        // A failed sync: its run and audit entry only; the inventory is as it was.
        let failed = store
            .record_failed_sync(&start(), "refused", at, &actor())
            .await
            .unwrap();
        assert_eq!(
            (failed.status.as_str(), failed.snapshot_id),
            ("failed", None)
        );
        assert_eq!(failed.error.as_deref(), Some("refused"));
        assert_eq!(store.snapshots().await.unwrap().len(), 1);
        assert_eq!(store.current_estate().await.unwrap(), {
            let mut e = estate.clone();
            e.sort();
            e
        });
        let entries = store.audit_entries().await.unwrap();
        assert_eq!(entries.len(), audit_before + 1);
        assert_eq!(entries.last().unwrap().action, "broker.sync");
        assert!(store.verify_audit().await.unwrap().intact());
        let digests = store
            .source_digests_at("broker:b", summary.snapshot.id)
            .await
            .unwrap();
        assert_eq!(digests.len(), 3);
    }
}
