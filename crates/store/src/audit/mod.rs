//! The audit log: every mutation appends an entry holding the hash of the previous one, and an
//! anchor (entry count and head hash) authenticated with a key kept outside the database.
//!
//! A bare hash chain catches an edited entry, but not the deletion of the newest entries or a
//! chain recomputed from scratch; the anchor's HMAC, whose key never enters the database, does.
//! Three more things make it hold against someone who can write the database file but does not
//! hold the key:
//! - every write first checks the whole log (chain, anchor, the record outside the database and
//!   the bound rows) and is refused when anything is broken, so an ordinary write never re-signs
//!   a forged head; the one write allowed on a broken log is an audited acknowledgement, which
//!   records what was broken and starts a new anchored segment, and the broken range stays
//!   visible to every later verification ([`Store::acknowledge_audit`]);
//! - [`anchor`]: a record per database id beside the key that only moves forward, so a rollback
//!   to an older copy, an emptied log or a replaced file fails;
//! - [`state`]: the rows that decide results are bound to the log by digest, so a direct edit of
//!   a risk, an attestation, a flow or a broker profile is reported with the row it concerns.
//!
//! Someone who holds the key can rewrite everything consistently; that is outside what a key
//! file beside the user's data can protect.

mod anchor;
mod state;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use bridle_core::time::{Timestamp, format_utc, parse_utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sqlx::{Row, SqliteConnection};

use crate::transaction::WriteTransaction;
use crate::{Result, Store, StoreError};
use anchor::Recorded;

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
    /// The first entry of an unacknowledged problem, when one concerns an entry.
    pub first_broken_seq: Option<i64>,
    /// Every problem not acknowledged, in order.
    pub problems: Vec<String>,
    /// Breaks someone acknowledged: they stay visible to every later verification.
    pub acknowledged: Vec<AcknowledgedBreak>,
    /// Facts that are not problems (e.g. no record outside the database yet).
    pub notes: Vec<String>,
}

/// An audited acknowledgement of a broken log: who, when, why, and what was broken then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcknowledgedBreak {
    /// The acknowledgement's own entry.
    pub seq: i64,
    pub at: String,
    pub user: String,
    pub host: String,
    pub reason: String,
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
    pub(crate) fn read(&self) -> Result<Option<Vec<u8>>> {
        match fs::read_to_string(&self.path) {
            Ok(text) => hex::decode(text.trim())
                .map(Some)
                .map_err(|_| self.error("not a hex-encoded key")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.error(e.to_string())),
        }
    }

    /// Reads the key, creating a new random one (mode 0600) when there is none yet.
    pub(crate) fn read_or_create(&self) -> Result<Vec<u8>> {
        if let Some(key) = self.read()? {
            return Ok(key);
        }
        let mut key = vec![0u8; 32];
        getrandom::fill(&mut key).map_err(|e| self.error(format!("no randomness: {e}")))?;
        if let Some(dir) = self.path.parent() {
            crate::database::create_private_dir(dir).map_err(|e| self.error(e.to_string()))?;
        }
        match crate::database::owner_only()
            .write(true)
            .create_new(true)
            .open(&self.path)
        {
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

/// One problem, with the entry it concerns when it concerns one.
#[derive(Debug, Clone)]
struct Problem {
    seq: Option<i64>,
    text: String,
}

/// The whole log examined on one connection: what [`Store::verify_audit`] reports and what every
/// write checks first.
#[derive(Debug, Clone)]
pub(crate) struct Examination {
    entries: i64,
    head: Option<String>,
    problems: Vec<Problem>,
    acknowledged: Vec<AcknowledgedBreak>,
    notes: Vec<String>,
    /// The digest every bound row must have, replayed from the log; `None` when no entry has
    /// bound rows yet (a database from before rows were bound: its next write binds them).
    pub(crate) expected_rows: Option<BTreeMap<String, String>>,
    /// The digest of every entry as stored, for an acknowledgement appended next.
    range_digest: String,
}

impl Examination {
    pub(crate) fn intact(&self) -> bool {
        self.problems.is_empty()
    }

    fn first_broken_seq(&self) -> Option<i64> {
        self.problems.iter().find_map(|p| p.seq)
    }

    pub(crate) fn refusal(&self) -> StoreError {
        StoreError::AuditBroken {
            first_broken_seq: self.first_broken_seq(),
            problem: self
                .problems
                .first()
                .map(|p| p.text.clone())
                .unwrap_or_default(),
            more: self.problems.len().saturating_sub(1),
        }
    }

    fn verification(self) -> AuditVerification {
        AuditVerification {
            entries: self.entries as u64,
            head_hash: self.head.clone(),
            first_broken_seq: self.first_broken_seq(),
            problems: self.problems.into_iter().map(|p| p.text).collect(),
            acknowledged: self.acknowledged,
            notes: self.notes,
        }
    }
}

/// The detail of an acknowledgement entry.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct AcknowledgementDetail {
    reason: String,
    /// sha256 over every entry before it, as stored: the range it acknowledges must not change.
    range_digest: String,
    first_broken_seq: Option<i64>,
    problems: Vec<String>,
}

const ACKNOWLEDGE: &str = "audit.acknowledge";

impl Store {
    /// Appends an entry and moves the anchor, on the caller's open transaction. The rows the
    /// transaction changed are bound to its last entry when it commits.
    pub(crate) async fn append_audit(
        &self,
        tx: &mut WriteTransaction,
        entry: NewEntry<'_>,
    ) -> Result<i64> {
        let key = self.audit_key.read_or_create()?;
        let conn = tx.conn();
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
        self.move_anchor(conn, &key, seq, &hash).await?;
        tx.appended(seq);
        Ok(seq)
    }

    async fn move_anchor(
        &self,
        conn: &mut SqliteConnection,
        key: &[u8],
        seq: i64,
        hash: &str,
    ) -> Result<()> {
        let mac = anchor_mac(key, &self.database_id, seq, hash);
        sqlx::query(
            "INSERT INTO audit_anchor (singleton, entries, head_hash, mac) VALUES (1, ?, ?, ?) \
             ON CONFLICT (singleton) DO UPDATE SET entries = excluded.entries, \
             head_hash = excluded.head_hash, mac = excluded.mac",
        )
        .bind(seq)
        .bind(hash)
        .bind(&mac)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Writes the digests of the rows a transaction changed into its last entry (`rows` in the
    /// detail), rehashing that entry and moving the anchor; returns the new head. Runs inside
    /// the transaction, before it commits, so the entry and the rows land together.
    pub(crate) async fn bind_rows(
        &self,
        conn: &mut SqliteConnection,
        seq: i64,
        expected: Option<&BTreeMap<String, String>>,
    ) -> Result<String> {
        let key = self.audit_key.read_or_create()?;
        let after = state::current_rows(conn).await?;
        let changed = state::changes(expected.unwrap_or(&BTreeMap::new()), &after);
        let (at, user, host, action, subject, detail, prev_hash): (
            String,
            String,
            String,
            String,
            String,
            String,
            String,
        ) = sqlx::query_as(
            "SELECT at, user, host, action, subject, detail, prev_hash FROM audit_log WHERE seq = ?",
        )
        .bind(seq)
        .fetch_one(&mut *conn)
        .await?;
        let mut detail = match serde_json::from_str::<serde_json::Value>(&detail) {
            Ok(serde_json::Value::Object(map)) => map,
            Ok(other) => serde_json::Map::from_iter([("detail".to_owned(), other)]),
            Err(_) => serde_json::Map::from_iter([(
                "detail".to_owned(),
                serde_json::Value::String(detail),
            )]),
        };
        detail.insert("rows".to_owned(), serde_json::json!(changed));
        let detail = serde_json::Value::Object(detail).to_string();
        let hash = EntryFields {
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
        sqlx::query("UPDATE audit_log SET detail = ?, hash = ? WHERE seq = ?")
            .bind(&detail)
            .bind(&hash)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
        self.move_anchor(conn, &key, seq, &hash).await?;
        Ok(hash)
    }

    /// After a commit: the record outside the database follows the new head.
    pub(crate) fn record_outside(&self, entries: i64, head: &str, reset: bool) -> Result<()> {
        self.audit_key
            .advance_record(&self.database_id, entries, head, reset)
    }

    /// The newest audit entry's sequence number (0 before the first). Every write that changes
    /// what an evaluation reads (an import, a sync, a flow, a risk) appends an entry, so this is
    /// a version of the whole database for caches.
    pub async fn audit_head(&self) -> Result<i64> {
        let head: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM audit_log")
            .fetch_one(&self.pool)
            .await?;
        Ok(head.unwrap_or(0))
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

    /// Checks every entry's hash and link, the anchor in the database (its count and head must
    /// match the log and its HMAC verify with the key outside the database), the record outside
    /// the database, and every bound row against the digest the log last recorded for it.
    pub async fn verify_audit(&self) -> Result<AuditVerification> {
        // The record first: a write that commits meanwhile can only make the log longer than it.
        let record = self.audit_key.read_record(&self.database_id)?;
        let mut conn = self.pool.acquire().await?;
        sqlx::query("BEGIN").execute(&mut *conn).await?;
        let examined = self.examine(&mut conn, record).await;
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        Ok(examined?.verification())
    }

    /// Records an acknowledgement of a broken log (`reason` is required): the entry keeps what was
    /// broken and a digest of every entry before it, re-anchors the log and the record outside
    /// the database at itself, and binds the rows as they are now. Refused on an intact log.
    pub async fn acknowledge_audit(
        &self,
        reason: &str,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<AcknowledgedBreak> {
        if reason.trim().is_empty() {
            return Err(StoreError::AuditIntact(
                "an acknowledgement needs a reason".to_owned(),
            ));
        }
        let (mut tx, examined) = WriteTransaction::begin_acknowledgement(self).await?;
        if examined.intact() {
            tx.rollback().await?;
            return Err(StoreError::AuditIntact(
                "the audit log is intact: there is nothing to acknowledge".to_owned(),
            ));
        }
        let detail = AcknowledgementDetail {
            reason: reason.to_owned(),
            range_digest: examined.range_digest.clone(),
            first_broken_seq: examined.first_broken_seq(),
            problems: examined.problems.iter().map(|p| p.text.clone()).collect(),
        };
        let seq = self
            .append_audit(
                &mut tx,
                NewEntry {
                    at,
                    actor,
                    action: ACKNOWLEDGE,
                    subject: "audit log".to_owned(),
                    detail: serde_json::to_value(&detail).expect("the detail serialises"),
                },
            )
            .await?;
        tx.commit().await?;
        Ok(AcknowledgedBreak {
            seq,
            at: format_utc(&at),
            user: actor.user.clone(),
            host: actor.host.clone(),
            reason: detail.reason,
            first_broken_seq: detail.first_broken_seq,
            problems: detail.problems,
        })
    }

    /// Examines the whole log on `conn` (inside the caller's transaction).
    pub(crate) async fn examine(
        &self,
        conn: &mut SqliteConnection,
        record: Recorded,
    ) -> Result<Examination> {
        // Read the stored text as it is (not through `audit_entries`, which would normalise it).
        let rows = sqlx::query(
            "SELECT seq, at, user, host, action, subject, detail, prev_hash, hash \
             FROM audit_log ORDER BY seq",
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut problems: Vec<Problem> = Vec::new();
        let mut acknowledged = Vec::new();
        let mut notes = Vec::new();
        let note = |problems: &mut Vec<Problem>, seq: Option<i64>, text: String| {
            problems.push(Problem { seq, text });
        };
        let mut expected_prev = genesis_hash(&self.database_id);
        let mut expected_seq = 1;
        let mut head = None;
        let mut hashes: BTreeMap<i64, String> = BTreeMap::new();
        let mut range = Sha256::new();
        let mut expected_rows: Option<BTreeMap<String, String>> = None;
        // Which entry last recorded each row, for the message.
        let mut recorded_at: BTreeMap<String, i64> = BTreeMap::new();
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
                    &mut problems,
                    Some(expected_seq),
                    format!("entry {expected_seq} is missing (the next entry is {seq})"),
                );
            }
            if prev_hash != expected_prev {
                note(
                    &mut problems,
                    Some(seq),
                    format!("entry {seq} does not link to the entry before it"),
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
                    &mut problems,
                    Some(seq),
                    format!("entry {seq} was altered: its content no longer matches its hash"),
                );
            }
            let parsed: Option<serde_json::Value> = serde_json::from_str(&detail).ok();
            if action == ACKNOWLEDGE {
                let so_far = hex::encode(range.clone().finalize());
                match parsed
                    .clone()
                    .and_then(|v| serde_json::from_value::<AcknowledgementDetail>(v).ok())
                {
                    Some(ack) if ack.range_digest == so_far => {
                        // What was broken before it is acknowledged; its own problems (if any
                        // were found above for this very entry) are not.
                        problems.retain(|p| p.seq == Some(seq));
                        acknowledged.push(AcknowledgedBreak {
                            seq,
                            at: at.clone(),
                            user: user.clone(),
                            host: host.clone(),
                            reason: ack.reason,
                            first_broken_seq: ack.first_broken_seq,
                            problems: ack.problems,
                        });
                    }
                    Some(_) => note(
                        &mut problems,
                        Some(seq),
                        format!("entries before {seq} changed after entry {seq} acknowledged them"),
                    ),
                    None => note(
                        &mut problems,
                        Some(seq),
                        format!("entry {seq} is an acknowledgement Bridle cannot read"),
                    ),
                }
            }
            if let Some(serde_json::Value::Object(rows)) =
                parsed.as_ref().and_then(|d| d.get("rows"))
            {
                let expected = expected_rows.get_or_insert_with(BTreeMap::new);
                for (key, digest) in rows {
                    match digest.as_str() {
                        Some(digest) => {
                            expected.insert(key.clone(), digest.to_owned());
                        }
                        None => {
                            expected.remove(key);
                        }
                    }
                    recorded_at.insert(key.clone(), seq);
                }
            }
            let stored = serde_json::json!([
                seq, at, user, host, action, subject, detail, prev_hash, hash
            ]);
            range.update(stored.to_string().as_bytes());
            range.update(b"\n");
            hashes.insert(seq, hash.clone());
            expected_prev = hash.clone();
            expected_seq = seq + 1;
            head = Some(hash);
        }
        let entries = rows.len() as i64;
        let last_seq = expected_seq - 1;

        let anchor: Option<(i64, String, String)> =
            sqlx::query_as("SELECT entries, head_hash, mac FROM audit_anchor WHERE singleton = 1")
                .fetch_optional(&mut *conn)
                .await?;
        match anchor {
            None if entries > 0 => note(
                &mut problems,
                Some(1),
                "the audit anchor is missing".to_owned(),
            ),
            None => {}
            Some((anchored, anchored_head, mac)) => {
                if anchored > last_seq {
                    note(
                        &mut problems,
                        Some(last_seq + 1),
                        format!(
                            "the newest entries were deleted: the anchor records {anchored} entries, the log ends at {last_seq}"
                        ),
                    );
                } else if anchored < last_seq {
                    note(
                        &mut problems,
                        Some(anchored + 1),
                        format!(
                            "entries after {anchored} were added outside Bridle (the anchor records {anchored})"
                        ),
                    );
                } else if head.as_deref() != Some(anchored_head.as_str()) {
                    note(
                        &mut problems,
                        Some(last_seq),
                        "the newest entry does not match the anchored head hash".to_owned(),
                    );
                }
                match self.audit_key.read()? {
                    None => note(
                        &mut problems,
                        Some(1),
                        format!(
                            "the anchor cannot be authenticated: key file {} not found",
                            self.audit_key.path().display()
                        ),
                    ),
                    Some(key) => {
                        if anchor_mac(&key, &self.database_id, anchored, &anchored_head) != mac {
                            note(
                                &mut problems,
                                Some(1),
                                "the anchor's authentication code does not verify: the anchor (or the chain with it) was rewritten".to_owned(),
                            );
                        }
                    }
                }
            }
        }

        let record_path = self.audit_key.record_path(&self.database_id);
        match record {
            Recorded::Missing if entries > 0 => notes.push(format!(
                "no record of this log outside the database yet ({}); its next write makes one",
                record_path.display()
            )),
            Recorded::Missing => {}
            Recorded::Forged(why) => note(
                &mut problems,
                None,
                format!(
                    "the record outside the database ({}) cannot be trusted: {why}",
                    record_path.display()
                ),
            ),
            Recorded::Authentic(outside) => {
                if last_seq < outside.entries {
                    note(
                        &mut problems,
                        Some(last_seq + 1),
                        format!(
                            "the log ends at entry {last_seq}, but this machine recorded {} entries outside the database: entries were removed (a copy restored from an older backup, or an emptied log)",
                            outside.entries
                        ),
                    );
                } else if hashes.get(&outside.entries) != Some(&outside.head_hash) {
                    note(
                        &mut problems,
                        Some(outside.entries),
                        format!(
                            "entry {} is not the one this machine recorded outside the database: the log was replaced or rewritten",
                            outside.entries
                        ),
                    );
                }
            }
        }

        if let Some(expected) = &expected_rows {
            let current = state::current_rows(conn).await?;
            for (key, digest) in &current {
                match expected.get(key) {
                    None => note(
                        &mut problems,
                        None,
                        format!("{} was added outside Bridle", state::describe(key)),
                    ),
                    Some(audited) if audited != digest => note(
                        &mut problems,
                        None,
                        format!(
                            "{} was changed outside Bridle after entry {} recorded it",
                            state::describe(key),
                            recorded_at.get(key).copied().unwrap_or_default()
                        ),
                    ),
                    Some(_) => {}
                }
            }
            for key in expected.keys() {
                if !current.contains_key(key) {
                    note(
                        &mut problems,
                        None,
                        format!("{} was deleted outside Bridle", state::describe(key)),
                    );
                }
            }
        } else if entries > 0 {
            notes.push(
                "risks, attestations, flows and broker profiles are not bound to this log yet (a database from before that); its next write binds them"
                    .to_owned(),
            );
        }

        Ok(Examination {
            entries,
            head,
            problems,
            acknowledged,
            notes,
            expected_rows,
            range_digest: hex::encode(range.finalize()),
        })
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod hash_tests {
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
