//! The one way this crate writes: a `BEGIN IMMEDIATE` transaction that also carries the audit
//! entry of the change.

use sqlx::SqliteConnection;
use sqlx::sqlite::Sqlite;

use crate::{Result, Store};

/// An open `BEGIN IMMEDIATE` transaction: it takes the write lock up front, so two writers
/// queue on the busy timeout instead of failing on a lock upgrade. Rolled back unless committed.
pub(crate) struct WriteTransaction {
    conn: Option<sqlx::pool::PoolConnection<Sqlite>>,
}

impl WriteTransaction {
    pub(crate) async fn begin(store: &Store) -> Result<WriteTransaction> {
        let mut conn = store.pool.acquire().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        Ok(WriteTransaction { conn: Some(conn) })
    }

    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        self.conn.as_mut().expect("transaction is open")
    }

    pub(crate) async fn commit(mut self) -> Result<()> {
        let mut conn = self.conn.take().expect("transaction is open");
        sqlx::query("COMMIT").execute(&mut *conn).await?;
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
