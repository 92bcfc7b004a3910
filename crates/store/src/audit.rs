//! The audit log: every mutation appends an entry holding the hash of the previous one, and an
//! anchor (entry count and head hash) authenticated with a key kept outside the database.
//!
//! A bare hash chain catches an edited entry, but not the deletion of the newest entries or a
//! chain recomputed from scratch; the anchor's HMAC, whose key never enters the database, does.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use bridle_core::time::{Timestamp, format_utc, parse_utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sqlx::{Row, SqliteConnection};

use crate::{Result, Store, StoreError};

/// Who made a change: the OS user and host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: String,
    pub host: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: Timestamp,
    pub user: String,
    pub host: String,
    pub action: String,
    pub subject: String,
    /// JSON with the particulars (e.g. the snapshot's counts).
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditVerification {
    pub entries: u64,
    pub head_hash: Option<String>,
    pub first_broken_seq: Option<i64>,
    pub problems: Vec<String>,
}

impl AuditVerification {
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Where the anchor key lives: a file readable by its owner only, outside the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditKey {
    path: PathBuf,
}

impl AuditKey {
    pub fn at(path: impl Into<PathBuf>) -> AuditKey {
        AuditKey { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, reason: impl Into<String>) -> StoreError {
        StoreError::AuditKey {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    /// Reads the key, or `None` when the file does not exist.
    fn read(&self) -> Result<Option<Vec<u8>>> {
        match fs::read_to_string(&self.path) {
            Ok(text) => hex::decode(text.trim())
                .map(Some)
                .map_err(|_| self.error("not a hex-encoded key")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.error(e.to_string())),
        }
    }

    /// Reads the key, creating a new random one (mode 0600) when there is none yet.
    fn read_or_create(&self) -> Result<Vec<u8>> {
        if let Some(key) = self.read()? {
            return Ok(key);
        }
        let mut key = vec![0u8; 32];
        getrandom::fill(&mut key).map_err(|e| self.error(format!("no randomness: {e}")))?;
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(|e| self.error(e.to_string()))?;
        }
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&self.path) {
            Ok(mut file) => {
                file.write_all(hex::encode(&key).as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| self.error(e.to_string()))?;
                Ok(key)
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => self
                .read()?
                .ok_or_else(|| self.error("vanished while being created")),
            Err(e) => Err(self.error(e.to_string())),
        }
    }
}

fn genesis_hash(database_id: &str) -> String {
    hex::encode(Sha256::digest(
        format!("bridle audit genesis {database_id}").as_bytes(),
    ))
}

/// The fields an entry's hash covers, in order.
struct EntryFields<'a> {
    prev_hash: &'a str,
    seq: i64,
    at: &'a str,
    user: &'a str,
    host: &'a str,
    action: &'a str,
    subject: &'a str,
    detail: &'a str,
}

impl EntryFields<'_> {
    fn hash(&self) -> String {
        // A JSON array is an unambiguous encoding of the fields (no separator can be forged).
        let fields = serde_json::json!([
            self.prev_hash,
            self.seq,
            self.at,
            self.user,
            self.host,
            self.action,
            self.subject,
            self.detail
        ]);
        hex::encode(Sha256::digest(fields.to_string().as_bytes()))
    }
}

fn anchor_mac(key: &[u8], database_id: &str, entries: i64, head_hash: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(format!("{database_id}\n{entries}\n{head_hash}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The change to record, appended inside the transaction that makes it.
pub(crate) struct NewEntry<'a> {
    pub at: Timestamp,
    pub actor: &'a Actor,
    pub action: &'a str,
    pub subject: String,
    pub detail: serde_json::Value,
}

impl Store {
    /// Appends an entry and moves the anchor, on the caller's open transaction.
    pub(crate) async fn append_audit(
        &self,
        conn: &mut SqliteConnection,
        entry: NewEntry<'_>,
    ) -> Result<i64> {
        let key = self.audit_key.read_or_create()?;
        let last: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *conn)
                .await?;
        let (seq, prev_hash) = match last {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, genesis_hash(&self.database_id)),
        };
        let at = format_utc(&entry.at);
        let detail = entry.detail.to_string();
        let hash = EntryFields {
            prev_hash: &prev_hash,
            seq,
            at: &at,
            user: &entry.actor.user,
            host: &entry.actor.host,
            action: entry.action,
            subject: &entry.subject,
            detail: &detail,
        }
        .hash();
        sqlx::query(
            "INSERT INTO audit_log (seq, at, user, host, action, subject, detail, prev_hash, hash) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(seq)
        .bind(&at)
        .bind(&entry.actor.user)
        .bind(&entry.actor.host)
        .bind(entry.action)
        .bind(&entry.subject)
        .bind(&detail)
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
        let mac = anchor_mac(&key, &self.database_id, seq, &hash);
        sqlx::query(
            "INSERT INTO audit_anchor (singleton, entries, head_hash, mac) VALUES (1, ?, ?, ?) \
             ON CONFLICT (singleton) DO UPDATE SET entries = excluded.entries, \
             head_hash = excluded.head_hash, mac = excluded.mac",
        )
        .bind(seq)
        .bind(&hash)
        .bind(&mac)
        .execute(&mut *conn)
        .await?;
        Ok(seq)
    }

    /// Every audit entry, oldest first.
    pub async fn audit_entries(&self) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT seq, at, user, host, action, subject, detail, prev_hash, hash \
             FROM audit_log ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let seq: i64 = row.try_get("seq")?;
                let at: String = row.try_get("at")?;
                let at = parse_utc(&at).map_err(|reason| StoreError::Corrupt {
                    table: "audit_log",
                    id: seq.to_string(),
                    reason,
                })?;
                Ok(AuditEntry {
                    seq,
                    at,
                    user: row.try_get("user")?,
                    host: row.try_get("host")?,
                    action: row.try_get("action")?,
                    subject: row.try_get("subject")?,
                    detail: row.try_get("detail")?,
                    prev_hash: row.try_get("prev_hash")?,
                    hash: row.try_get("hash")?,
                })
            })
            .collect()
    }

    /// Checks every entry's hash and link, then the anchor: its count and head must match the
    /// log and its HMAC must verify with the key outside the database.
    pub async fn verify_audit(&self) -> Result<AuditVerification> {
        // Read the stored text as it is (not through `audit_entries`, which would normalise it).
        let rows = sqlx::query(
            "SELECT seq, at, user, host, action, subject, detail, prev_hash, hash \
             FROM audit_log ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut problems = Vec::new();
        let mut first_broken = None;
        let mut note = |seq: i64, problem: String, first: &mut Option<i64>| {
            first.get_or_insert(seq);
            problems.push(problem);
        };
        let mut expected_prev = genesis_hash(&self.database_id);
        let mut expected_seq = 1;
        let mut head = None;
        for row in &rows {
            let seq: i64 = row.try_get("seq")?;
            let text = |name: &str| row.try_get::<String, _>(name);
            let (at, user, host, action, subject, detail, prev_hash, hash) = (
                text("at")?,
                text("user")?,
                text("host")?,
                text("action")?,
                text("subject")?,
                text("detail")?,
                text("prev_hash")?,
                text("hash")?,
            );
            if seq != expected_seq {
                note(
                    expected_seq,
                    format!("entry {expected_seq} is missing (the next entry is {seq})"),
                    &mut first_broken,
                );
            }
            if prev_hash != expected_prev {
                note(
                    seq,
                    format!("entry {seq} does not link to the entry before it"),
                    &mut first_broken,
                );
            }
            let recomputed = EntryFields {
                prev_hash: &prev_hash,
                seq,
                at: &at,
                user: &user,
                host: &host,
                action: &action,
                subject: &subject,
                detail: &detail,
            }
            .hash();
            if recomputed != hash {
                note(
                    seq,
                    format!("entry {seq} was altered: its content no longer matches its hash"),
                    &mut first_broken,
                );
            }
            expected_prev = hash.clone();
            expected_seq = seq + 1;
            head = Some(hash);
        }
        let entries = rows.len() as i64;
        let last_seq = expected_seq - 1;

        let anchor: Option<(i64, String, String)> =
            sqlx::query_as("SELECT entries, head_hash, mac FROM audit_anchor WHERE singleton = 1")
                .fetch_optional(&self.pool)
                .await?;
        match anchor {
            None if entries > 0 => note(
                1,
                "the audit anchor is missing".to_owned(),
                &mut first_broken,
            ),
            None => {}
            Some((anchored, anchored_head, mac)) => {
                if anchored > last_seq {
                    note(
                        last_seq + 1,
                        format!(
                            "the newest entries were deleted: the anchor records {anchored} entries, the log ends at {last_seq}"
                        ),
                        &mut first_broken,
                    );
                } else if anchored < last_seq {
                    note(
                        anchored + 1,
                        format!(
                            "entries after {anchored} were added outside Bridle (the anchor records {anchored})"
                        ),
                        &mut first_broken,
                    );
                } else if head.as_deref() != Some(anchored_head.as_str()) {
                    note(
                        last_seq,
                        "the newest entry does not match the anchored head hash".to_owned(),
                        &mut first_broken,
                    );
                }
                match self.audit_key.read()? {
                    None => note(
                        1,
                        format!(
                            "the anchor cannot be authenticated: key file {} not found",
                            self.audit_key.path().display()
                        ),
                        &mut first_broken,
                    ),
                    Some(key) => {
                        if anchor_mac(&key, &self.database_id, anchored, &anchored_head) != mac {
                            note(
                                1,
                                "the anchor's authentication code does not verify: the anchor (or the chain with it) was rewritten".to_owned(),
                                &mut first_broken,
                            );
                        }
                    }
                }
            }
        }
        Ok(AuditVerification {
            entries: entries as u64,
            head_hash: head,
            first_broken_seq: first_broken,
            problems,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_hash_is_unambiguous() {
        let fields = |action, subject| EntryFields {
            prev_hash: "p",
            seq: 1,
            at: "t",
            user: "u",
            host: "h",
            action,
            subject,
            detail: "{}",
        };
        let a = fields(
            "import", "a
b",
        )
        .hash();
        let b = fields(
            "import
a", "b",
        )
        .hash();
        assert_ne!(a, b);
    }
}
