//! The one way this crate writes: a `BEGIN IMMEDIATE` transaction that also carries the audit
//! entry of the change.
//!
//! Opening one examines the whole audit log under the write lock and refuses when anything is
//! broken (so an ordinary write can never re-sign a forged head); committing binds the rows the
//! transaction changed to its last audit entry and moves the record outside the database.

use std::collections::BTreeMap;

use sqlx::SqliteConnection;
use sqlx::sqlite::Sqlite;

use crate::audit::Examination;
use crate::{Result, Store};

/// An open `BEGIN IMMEDIATE` transaction: it takes the write lock up front, so two writers
/// queue on the busy timeout instead of failing on a lock upgrade. Rolled back unless committed.
pub(crate) struct WriteTransaction {
    conn: Option<sqlx::pool::PoolConnection<Sqlite>>,
    store: Store,
    /// The bound rows' digests as the log recorded them when the transaction began.
    expected_rows: Option<BTreeMap<String, String>>,
    /// The audit entries this transaction appended.
    appended: Vec<i64>,
    /// An acknowledgement of a broken log: the record outside the database is reset to it.
    acknowledgement: bool,
}

impl WriteTransaction {
    pub(crate) async fn begin(store: &Store) -> Result<WriteTransaction> {
        let (tx, examined) = Self::open(store, false).await?;
        if !examined.intact() {
            tx.rollback().await?;
            return Err(examined.refusal());
        }
        Ok(tx)
    }

    /// A transaction for [`Store::acknowledge_audit`], the one write allowed on a broken log;
    /// the caller decides from the examination.
    pub(crate) async fn begin_acknowledgement(
        store: &Store,
    ) -> Result<(WriteTransaction, Examination)> {
        Self::open(store, true).await
    }

    async fn open(store: &Store, acknowledgement: bool) -> Result<(WriteTransaction, Examination)> {
        // The record first: under the write lock no other write can move it past this log.
        let record = store.audit_key.read_record(store.database_id())?;
        let mut conn = store.pool.acquire().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let mut tx = WriteTransaction {
            conn: Some(conn),
            store: store.clone(),
            expected_rows: None,
            appended: Vec::new(),
            acknowledgement,
        };
        let examined = store.examine(tx.conn(), record).await?;
        tx.expected_rows = examined.expected_rows.clone();
        Ok((tx, examined))
    }

    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        self.conn.as_mut().expect("transaction is open")
    }

    pub(crate) fn appended(&mut self, seq: i64) {
        self.appended.push(seq);
    }

    pub(crate) async fn commit(mut self) -> Result<()> {
        let mut conn = self.conn.take().expect("transaction is open");
        let head = match self.appended.last() {
            Some(&last) => Some((
                last,
                self.store
                    .bind_rows(&mut conn, last, self.expected_rows.as_ref())
                    .await?,
            )),
            None => None,
        };
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        if let Some((entries, hash)) = head {
            // Committed: a crash before this line leaves the record one write behind, which
            // verification accepts (the log extends it).
            self.store
                .record_outside(entries, &hash, self.acknowledgement)?;
        }
        Ok(())
    }

    pub(crate) async fn rollback(mut self) -> Result<()> {
        let mut conn = self.conn.take().expect("transaction is open");
        sqlx::query("ROLLBACK").execute(&mut *conn).await?;
        Ok(())
    }
}

impl Drop for WriteTransaction {
    fn drop(&mut self) {
        // Dropped on an error path before commit or rollback: the connection must not go back to
        // the pool inside a transaction, so it is detached and closed instead.
        if let Some(conn) = self.conn.take() {
            drop(conn.detach());
        }
    }
}
