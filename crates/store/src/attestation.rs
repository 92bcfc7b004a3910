//! Manual attestations: statements recorded by hand for a control or a framework item, with an
//! optional attached file kept by its sha256; each written with its audit entry.

use bridle_core::time::{Timestamp, format_utc, parse_utc};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::audit::{Actor, NewEntry};
use crate::transaction::WriteTransaction;
use crate::{Result, Store, StoreError};

/// What an attestation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttestationTarget {
    Control,
    Subcategory,
}

impl AttestationTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            AttestationTarget::Control => "control",
            AttestationTarget::Subcategory => "subcategory",
        }
    }

    fn parse(word: &str) -> Option<AttestationTarget> {
        match word {
            "control" => Some(AttestationTarget::Control),
            "subcategory" => Some(AttestationTarget::Subcategory),
            _ => None,
        }
    }
}

/// A file attached to an attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedFile {
    /// The file's name as given (no directories).
    pub name: String,
    pub content: Vec<u8>,
}

/// A recorded attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    pub id: i64,
    pub target_kind: AttestationTarget,
    pub target: String,
    pub statement: String,
    pub at: Timestamp,
    pub user: String,
    pub host: String,
    pub file_name: Option<String>,
    pub file_sha256: Option<String>,
    pub audit_seq: i64,
    /// After this time the attestation no longer counts; `None`: it does not expire.
    pub expires: Option<Timestamp>,
}

/// An attestation to record.
#[derive(Debug, Clone, Copy)]
pub struct NewAttestation<'a> {
    pub target_kind: AttestationTarget,
    pub target: &'a str,
    pub statement: &'a str,
    pub file: Option<&'a AttachedFile>,
    /// After this time it no longer counts; `None`: it does not expire.
    pub expires: Option<Timestamp>,
}

impl Store {
    /// Records an attestation (and its file, stored once per content) with its audit entry.
    pub async fn add_attestation(
        &self,
        new: NewAttestation<'_>,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<Attestation> {
        let NewAttestation {
            target_kind,
            target,
            statement,
            file,
            expires,
        } = new;
        let mut tx = WriteTransaction::begin(self).await?;
        let file_sha256 = file.map(|f| hex::encode(Sha256::digest(&f.content)));
        if let (Some(file), Some(hash)) = (file, &file_sha256) {
            sqlx::query(
                "INSERT INTO attestation_files (sha256, content, size) VALUES (?, ?, ?) \
                 ON CONFLICT (sha256) DO NOTHING",
            )
            .bind(hash)
            .bind(&file.content)
            .bind(file.content.len() as i64)
            .execute(tx.conn())
            .await?;
        }
        let seq = self
            .append_audit(
                &mut tx,
                NewEntry {
                    at,
                    actor,
                    action: "attestation.add",
                    subject: format!("{} {target}", target_kind.as_str()),
                    detail: serde_json::json!({
                        "statement": statement,
                        "file": file.map(|f| f.name.clone()),
                        "file_sha256": file_sha256,
                        "expires": expires.as_ref().map(format_utc),
                    }),
                },
            )
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO attestations (target_kind, target, statement, at, user, host, file_name, \
             file_sha256, audit_seq, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(target_kind.as_str())
        .bind(target)
        .bind(statement)
        .bind(format_utc(&at))
        .bind(&actor.user)
        .bind(&actor.host)
        .bind(file.map(|f| f.name.clone()))
        .bind(&file_sha256)
        .bind(seq)
        .bind(expires.as_ref().map(format_utc))
        .fetch_one(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(Attestation {
            id,
            target_kind,
            target: target.to_owned(),
            statement: statement.to_owned(),
            at,
            user: actor.user.clone(),
            host: actor.host.clone(),
            file_name: file.map(|f| f.name.clone()),
            file_sha256,
            audit_seq: seq,
            expires,
        })
    }

    /// Every attestation, oldest first.
    pub async fn attestations(&self) -> Result<Vec<Attestation>> {
        let rows = sqlx::query(
            "SELECT id, target_kind, target, statement, at, user, host, file_name, file_sha256, \
             audit_seq, expires FROM attestations ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                let corrupt = |reason: String| StoreError::Corrupt {
                    table: "attestations",
                    id: id.to_string(),
                    reason,
                };
                let kind: String = row.try_get("target_kind")?;
                let at: String = row.try_get("at")?;
                Ok(Attestation {
                    id,
                    target_kind: AttestationTarget::parse(&kind)
                        .ok_or_else(|| corrupt(format!("unknown target kind `{kind}`")))?,
                    target: row.try_get("target")?,
                    statement: row.try_get("statement")?,
                    at: parse_utc(&at).map_err(corrupt)?,
                    user: row.try_get("user")?,
                    host: row.try_get("host")?,
                    file_name: row.try_get("file_name")?,
                    file_sha256: row.try_get("file_sha256")?,
                    audit_seq: row.try_get("audit_seq")?,
                    expires: row
                        .try_get::<Option<String>, _>("expires")?
                        .map(|text| parse_utc(&text).map_err(corrupt))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// The content of an attached file, by its sha256.
    pub async fn attestation_file(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT content FROM attestation_files WHERE sha256 = ?")
                .bind(sha256)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tests::{actor, open, time};

    #[tokio::test]
    async fn attestations_are_stored_with_their_file_and_audited() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        let actor = actor();
        let at = time("2026-11-28T12:00:00Z");
        let file = AttachedFile {
            name: "policy.pdf".into(),
            content: b"policy".to_vec(),
        };
        let a = store
            .add_attestation(
                NewAttestation {
                    target_kind: AttestationTarget::Control,
                    target: "C03",
                    statement: "Reviewed quarterly",
                    file: Some(&file),
                    expires: None,
                },
                at,
                &actor,
            )
            .await
            .unwrap();
        let b = store
            .add_attestation(
                NewAttestation {
                    target_kind: AttestationTarget::Subcategory,
                    target: "GOVERN 1.1",
                    statement: "Legal review done",
                    file: Some(&file),
                    expires: None,
                },
                at,
                &actor,
            )
            .await
            .unwrap();
        assert_eq!(a.file_sha256, b.file_sha256);
        assert_eq!(
            a.file_sha256.as_deref(),
            Some(hex::encode(Sha256::digest(b"policy")).as_str())
        );
        let all = store.attestations().await.unwrap();
        assert_eq!(all, vec![a.clone(), b]);
        assert_eq!(
            store
                .attestation_file(a.file_sha256.as_deref().unwrap())
                .await
                .unwrap(),
            Some(b"policy".to_vec())
        );
        let log = store.audit_entries().await.unwrap();
        assert_eq!(log.last().unwrap().action, "attestation.add");
        assert!(store.verify_audit().await.unwrap().intact());
    }
}
