//! Reading the inventory back: the current state or a snapshot's, whole or by kind, and the
//! snapshot records.

use std::collections::HashMap;

use bridle_core::time::{Timestamp, parse_utc};
use bridle_core::{Agent, Counts, Credential, EntityKind, Estate, Grant, Identity, Resource, Tool};
use futures_util::TryStreamExt;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::codec::{Cells, JsonCells, corrupt, time_column, trusted_sql};
use super::tables::Table;
use super::{SnapshotRecord, Stored};
use crate::{Result, Store, StoreError};

/// Which rows a read selects.
#[derive(Debug, Clone, Copy)]
pub(super) enum AsOf {
    Current,
    Snapshot(i64),
}

impl AsOf {
    fn filter(self) -> &'static str {
        match self {
            AsOf::Current => "valid_to IS NULL",
            AsOf::Snapshot(_) => "valid_from <= ?1 AND (valid_to IS NULL OR valid_to > ?1)",
        }
    }
}

/// A decoding task's result; a panic inside it is re-raised here, as if it had run inline.
pub(super) fn joined<T>(
    outcome: std::result::Result<Result<T>, tokio::task::JoinError>,
) -> Result<T> {
    match outcome {
        Ok(result) => result,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}

/// Decodes one chunk of [`load`]: a JSON array of `[row_id, cells in columns order...]` arrays.
pub(super) fn decode_chunk<T: Table>(
    columns: &[&'static str],
    chunk: &str,
    after: i64,
) -> Result<Vec<T>> {
    let rows: Vec<Vec<serde_json::Value>> = serde_json::from_str(chunk).map_err(|e| {
        corrupt(
            T::TABLE,
            String::new(),
            format!("rows after row_id {after}: {e}"),
        )
    })?;
    let mut entities = Vec::with_capacity(rows.len());
    for mut values in rows {
        // Drop the leading row_id: the cells then line up with `columns`.
        values.remove(0);
        entities.push(T::from_row(&mut JsonCells { columns, values })?);
    }
    Ok(entities)
}

/// Rows per JSON-aggregated chunk in [`load`]: a few MiB of text each.
pub(crate) const LOAD_CHUNK_ROWS: i64 = 32_768;

pub(super) async fn load<T: Table>(conn: &mut SqliteConnection, as_of: AsOf) -> Result<Vec<T>> {
    // SQLite builds each chunk of rows as one JSON text (`json_group_array(json_array(..))`) and
    // serde_json splits it: one value crosses sqlx per chunk instead of one row with a dozen
    // decoded cells per entity, which made loading a million grants take seconds. Chunks follow
    // the rowid (a table scan in storage order) so no index is walked and memory stays bounded.
    let columns: Vec<&'static str> = std::iter::once("id")
        .chain(T::COLUMNS.iter().copied())
        .collect();
    let column_list = columns.join(", ");
    let sql = format!(
        "SELECT json_group_array(json_array(row_id, {column_list})), max(row_id) \
         FROM (SELECT row_id, {column_list} FROM {} NOT INDEXED \
               WHERE ({}) AND row_id > ?2 ORDER BY row_id LIMIT {LOAD_CHUNK_ROWS})",
        T::TABLE,
        as_of.filter()
    );
    let snapshot = match as_of {
        AsOf::Current => None,
        AsOf::Snapshot(id) => Some(id),
    };
    // Decoding a chunk costs about twice what SQLite spends building it, so chunks are decoded
    // on blocking threads, at most `in_flight` at a time, while the next one is fetched.
    let in_flight = std::thread::available_parallelism().map_or(2, usize::from);
    let columns = std::sync::Arc::new(columns);
    let mut decoding = std::collections::VecDeque::new();
    let mut entities = Vec::new();
    let mut after: i64 = 0;
    loop {
        let (chunk, last): (String, Option<i64>) = sqlx::query_as(trusted_sql(sql.clone()))
            .bind(snapshot)
            .bind(after)
            .fetch_one(&mut *conn)
            .await?;
        let Some(last) = last else { break };
        let columns = std::sync::Arc::clone(&columns);
        decoding.push_back(tokio::task::spawn_blocking(move || {
            decode_chunk::<T>(&columns, &chunk, after)
        }));
        if decoding.len() >= in_flight {
            let done = decoding.pop_front().expect("a chunk is decoding");
            entities.append(&mut joined(done.await)?);
        }
        after = last;
    }
    for done in decoding {
        entities.append(&mut joined(done.await)?);
    }
    // Ids are unique within a table, so the unstable sort is deterministic.
    entities.sort_unstable_by(|a, b| a.id().cmp(b.id()));
    Ok(entities)
}

pub(super) async fn load_estate(conn: &mut SqliteConnection, as_of: AsOf) -> Result<Estate> {
    Ok(Estate {
        agents: load(conn, as_of).await?,
        identities: load(conn, as_of).await?,
        credentials: load(conn, as_of).await?,
        resources: load(conn, as_of).await?,
        tools: load(conn, as_of).await?,
        grants: load(conn, as_of).await?,
    })
}

pub(super) async fn count_current(conn: &mut SqliteConnection) -> Result<Counts> {
    let mut counts = [0u64; 6];
    for (slot, kind) in counts.iter_mut().zip(EntityKind::ALL) {
        let n: i64 = sqlx::query_scalar(trusted_sql(format!(
            "SELECT count(*) FROM {} WHERE valid_to IS NULL",
            kind.plural()
        )))
        .fetch_one(&mut *conn)
        .await?;
        *slot = n as u64;
    }
    let [agents, identities, credentials, resources, tools, grants] = counts;
    Ok(Counts {
        agents,
        identities,
        credentials,
        resources,
        tools,
        grants,
    })
}

pub(crate) fn snapshot_from_row(row: &SqliteRow) -> Result<SnapshotRecord> {
    let taken_at: String = row.try_get("taken_at")?;
    let count = |name: &str| row.try_get::<i64, _>(name).map(|n| n as u64);
    Ok(SnapshotRecord {
        id: row.try_get("id")?,
        taken_at: parse_utc(&taken_at).map_err(|reason| StoreError::Corrupt {
            table: "snapshots",
            id: row.try_get::<i64, _>("id").unwrap_or_default().to_string(),
            reason,
        })?,
        source: row.try_get("source")?,
        origin: row.try_get("origin")?,
        estate_sha256: row.try_get("estate_sha256")?,
        counts: Counts {
            agents: count("agents")?,
            identities: count("identities")?,
            credentials: count("credentials")?,
            resources: count("resources")?,
            tools: count("tools")?,
            grants: count("grants")?,
        },
        added: count("added")?,
        changed: count("changed")?,
        removed: count("removed")?,
    })
}

impl Store {
    /// The current inventory.
    pub async fn current_estate(&self) -> Result<Estate> {
        let mut conn = self.pool.acquire().await?;
        load_estate(&mut conn, AsOf::Current).await
    }

    /// The inventory as it was right after snapshot `id`.
    pub async fn estate_at(&self, id: i64) -> Result<Estate> {
        let mut conn = self.pool.acquire().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM snapshots WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_none() {
            return Err(StoreError::SnapshotNotFound(id));
        }
        load_estate(&mut conn, AsOf::Snapshot(id)).await
    }

    /// Every snapshot, oldest first.
    pub async fn snapshots(&self) -> Result<Vec<SnapshotRecord>> {
        sqlx::query("SELECT * FROM snapshots ORDER BY id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(snapshot_from_row)
            .collect()
    }

    pub async fn snapshot(&self, id: i64) -> Result<SnapshotRecord> {
        let row = sqlx::query("SELECT * FROM snapshots WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::SnapshotNotFound(id))?;
        snapshot_from_row(&row)
    }

    /// The newest snapshot taken at or before `at`: the inventory as Bridle knew it then.
    pub async fn snapshot_at(&self, at: Timestamp) -> Result<Option<SnapshotRecord>> {
        Ok(self
            .snapshots()
            .await?
            .into_iter()
            .rfind(|s| s.taken_at <= at))
    }

    pub async fn latest_snapshot(&self) -> Result<Option<SnapshotRecord>> {
        sqlx::query("SELECT * FROM snapshots ORDER BY id DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(snapshot_from_row)
            .transpose()
    }

    /// The current entities of each kind with their provenance, ordered by id.
    pub async fn current_agents(&self) -> Result<Vec<Stored<Agent>>> {
        self.current_stored().await
    }

    pub async fn current_identities(&self) -> Result<Vec<Stored<Identity>>> {
        self.current_stored().await
    }

    pub async fn current_credentials(&self) -> Result<Vec<Stored<Credential>>> {
        self.current_stored().await
    }

    pub async fn current_resources(&self) -> Result<Vec<Stored<Resource>>> {
        self.current_stored().await
    }

    pub async fn current_tools(&self) -> Result<Vec<Stored<Tool>>> {
        self.current_stored().await
    }

    pub async fn current_grants(&self) -> Result<Vec<Stored<Grant>>> {
        self.current_stored().await
    }

    async fn current_stored<T: Table>(&self) -> Result<Vec<Stored<T>>> {
        let mut conn = self.pool.acquire().await?;
        let last_seen = last_seen_by_source(&mut conn).await?;
        let mut rows = sqlx::query(trusted_sql(format!(
            "SELECT * FROM {} WHERE valid_to IS NULL ORDER BY id",
            T::TABLE
        )))
        .fetch(&mut *conn);
        let mut stored = Vec::new();
        while let Some(row) = rows.try_next().await? {
            stored.push(stored_from_row(row, &last_seen)?);
        }
        Ok(stored)
    }
}

/// A current row with its provenance; `last_seen` is [`last_seen_by_source`].
pub(super) fn stored_from_row<T: Table>(
    mut row: SqliteRow,
    last_seen: &HashMap<String, Timestamp>,
) -> Result<Stored<T>> {
    let origin: String = row.try_get("origin")?;
    let first_seen = time_column(T::TABLE, &mut row, "first_seen")?
        .ok_or_else(|| corrupt(T::TABLE, row.id(), "first_seen is missing"))?;
    let last_seen = last_seen.get(&origin).copied().unwrap_or(first_seen);
    Ok(Stored {
        entity: T::from_row(&mut row)?,
        origin,
        first_seen,
        last_seen,
    })
}

/// The time of each source's latest snapshot: when it last reported its current entities.
pub(super) async fn last_seen_by_source(
    conn: &mut SqliteConnection,
) -> Result<HashMap<String, Timestamp>> {
    let rows = sqlx::query(
        "SELECT source, taken_at FROM snapshots WHERE id IN (SELECT max(id) FROM snapshots GROUP BY source)",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut map = HashMap::new();
    for row in rows {
        let taken_at: String = row.try_get("taken_at")?;
        let taken_at = parse_utc(&taken_at).map_err(|reason| StoreError::Corrupt {
            table: "snapshots",
            id: taken_at.clone(),
            reason,
        })?;
        map.insert(row.try_get("source")?, taken_at);
    }
    Ok(map)
}
