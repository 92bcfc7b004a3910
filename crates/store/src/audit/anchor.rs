//! The anchor outside the database: per database id, the length and head of its audit log as this
//! machine last wrote it, authenticated with the audit key and kept beside it. It only moves
//! forward (an acknowledgement of a broken log is the one audited exception), so a database
//! copied back from an older backup, an emptied log or a replaced file no longer matches it.
//!
//! What it cannot catch: someone who holds the audit key (and so can write both the database and
//! this record). The key and the record live in the user's own data directory, outside every
//! database.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::AuditKey;
use crate::{Result, StoreError};

/// What the record says: the log had `entries` entries ending in `head_hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OutsideRecord {
    pub database_id: String,
    pub entries: i64,
    pub head_hash: String,
    mac: String,
}

/// Reading the record: present and authentic, absent, or present but not authentic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recorded {
    Missing,
    Authentic(OutsideRecord),
    Forged(String),
}

fn record_mac(key: &[u8], database_id: &str, entries: i64, head_hash: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(format!("bridle outside anchor\n{database_id}\n{entries}\n{head_hash}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

impl AuditKey {
    fn anchors_dir(&self) -> PathBuf {
        self.path()
            .parent()
            .map(|dir| dir.join("anchors"))
            .unwrap_or_else(|| PathBuf::from("anchors"))
    }

    pub(crate) fn record_path(&self, database_id: &str) -> PathBuf {
        self.anchors_dir().join(format!("{database_id}.anchor"))
    }

    fn record_error(&self, database_id: &str, reason: impl Into<String>) -> StoreError {
        StoreError::AuditKey {
            path: self.record_path(database_id),
            reason: reason.into(),
        }
    }

    /// The record of `database_id`, checked against the key.
    pub(crate) fn read_record(&self, database_id: &str) -> Result<Recorded> {
        let path = self.record_path(database_id);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Recorded::Missing),
            Err(e) => return Err(self.record_error(database_id, e.to_string())),
        };
        let record: OutsideRecord = match serde_json::from_str(&text) {
            Ok(record) => record,
            Err(e) => {
                return Ok(Recorded::Forged(format!(
                    "it is not a Bridle anchor record ({e})"
                )));
            }
        };
        let Some(key) = self.read()? else {
            return Ok(Recorded::Forged(format!(
                "key file {} not found",
                self.path().display()
            )));
        };
        let expected = record_mac(&key, &record.database_id, record.entries, &record.head_hash);
        if record.database_id != database_id || record.mac != expected {
            return Ok(Recorded::Forged(
                "its authentication code does not verify".to_owned(),
            ));
        }
        Ok(Recorded::Authentic(record))
    }

    /// Moves the record of `database_id` to (`entries`, `head_hash`): forward only, unless
    /// `reset` (an audited acknowledgement). Serialised across processes by a lock file, written
    /// whole (a temporary file renamed over the old one), readable by the owner only.
    pub(crate) fn advance_record(
        &self,
        database_id: &str,
        entries: i64,
        head_hash: &str,
        reset: bool,
    ) -> Result<()> {
        let fail = |e: std::io::Error| self.record_error(database_id, e.to_string());
        let dir = self.anchors_dir();
        crate::database::create_private_dir(&dir).map_err(fail)?;
        let lock = crate::database::owner_only()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(format!("{database_id}.lock")))
            .map_err(fail)?;
        lock.lock().map_err(fail)?;
        let current = self.read_record(database_id)?;
        if !reset
            && let Recorded::Authentic(record) = &current
            && record.entries >= entries
        {
            return Ok(());
        }
        let key = self.read_or_create()?;
        let record = OutsideRecord {
            database_id: database_id.to_owned(),
            entries,
            head_hash: head_hash.to_owned(),
            mac: record_mac(&key, database_id, entries, head_hash),
        };
        let path = self.record_path(database_id);
        let temporary = dir.join(format!("{database_id}.anchor.new"));
        let mut file = crate::database::owner_only()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temporary)
            .map_err(fail)?;
        file.write_all(
            serde_json::to_string(&record)
                .expect("a record serialises")
                .as_bytes(),
        )
        .and_then(|()| file.sync_all())
        .map_err(fail)?;
        fs::rename(&temporary, &path).map_err(fail)?;
        drop(lock);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_moves_forward_only_unless_reset_and_detects_rewriting() {
        let dir = tempfile::tempdir().unwrap();
        let key = AuditKey::at(dir.path().join("audit.key"));
        assert_eq!(key.read_record("db1").unwrap(), Recorded::Missing);
        key.advance_record("db1", 3, "h3", false).unwrap();
        key.advance_record("db1", 2, "h2", false).unwrap();
        let Recorded::Authentic(record) = key.read_record("db1").unwrap() else {
            panic!("not authentic");
        };
        assert_eq!((record.entries, record.head_hash.as_str()), (3, "h3"));
        key.advance_record("db1", 1, "h1", true).unwrap();
        let Recorded::Authentic(record) = key.read_record("db1").unwrap() else {
            panic!("not authentic");
        };
        assert_eq!(record.entries, 1);
        // Rewritten without the key: no longer authentic.
        let path = key.record_path("db1");
        let text = fs::read_to_string(&path)
            .unwrap()
            .replace("\"entries\":1", "\"entries\":9");
        fs::write(&path, text).unwrap();
        assert!(matches!(
            key.read_record("db1").unwrap(),
            Recorded::Forged(_)
        ));
    }
}
