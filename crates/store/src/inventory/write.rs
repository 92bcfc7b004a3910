//! Writing a source's entities as a new snapshot: diffing against its current rows, closing
//! what changed or left, inserting what is new, and recording the snapshot and its audit entry.

use std::collections::HashMap;

use bridle_core::EntityKind;
use bridle_core::Estate;
use bridle_core::estate::{canonical_sha256, dangling_references};
use bridle_core::time::{Timestamp, format_utc};
use futures_util::TryStreamExt;
use sqlx::sqlite::Sqlite;
use sqlx::{QueryBuilder, Row, SqliteConnection};

use super::codec::{JsonRow, trusted_sql};
use super::read::{AsOf, count_current, load_estate};
use super::tables::{ENTITY_INDEXES, Table};
use super::{ImportSummary, SnapshotRecord, SourceNamespace};
use crate::audit::{Actor, NewEntry};
use crate::brokers::StoredObservation;
use crate::transaction::WriteTransaction;
use crate::{Result, Store};

/// SQLite accepts up to 32766 bound parameters per statement; stay well below.
const MAX_BINDS: usize = 30_000;

/// Rows per `INSERT … FROM json_each(?)` statement: a few MiB of JSON each.
const INSERT_CHUNK_ROWS: usize = 16_384;

#[derive(Default)]
struct Change {
    added: u64,
    changed: u64,
    removed: u64,
}

/// Replaces the current rows of `origin` for one table with `incoming`, keeping unchanged rows
/// and the first-seen time of changed ones.
async fn replace_source<T: Table>(
    conn: &mut SqliteConnection,
    origin: &str,
    snapshot: i64,
    now: &str,
    incoming: &[T],
) -> Result<Change> {
    let mut existing: HashMap<String, (i64, Vec<u8>, String)> = HashMap::new();
    let mut rows = sqlx::query(trusted_sql(format!(
        "SELECT row_id, id, content_digest, first_seen FROM {} WHERE origin = ? AND valid_to IS NULL",
        T::TABLE
    )))
    .bind(origin)
    .fetch(&mut *conn);
    // Streamed: materialising a million rows first would double the peak memory.
    while let Some(row) = rows.try_next().await? {
        existing.insert(
            row.try_get("id")?,
            (
                row.try_get("row_id")?,
                row.try_get("content_digest")?,
                row.try_get("first_seen")?,
            ),
        );
    }
    drop(rows);

    let mut change = Change::default();
    let mut to_close: Vec<i64> = Vec::new();
    let mut to_insert: Vec<(&T, [u8; 16], String)> = Vec::new();
    for entity in incoming {
        let digest = entity.content_digest();
        match existing.remove(entity.id()) {
            Some((_, old_digest, _)) if old_digest == digest => {}
            Some((row_id, _, first_seen)) => {
                change.changed += 1;
                to_close.push(row_id);
                to_insert.push((entity, digest, first_seen));
            }
            None => {
                change.added += 1;
                to_insert.push((entity, digest, now.to_owned()));
            }
        }
    }
    change.removed = existing.len() as u64;
    to_close.extend(existing.into_values().map(|(row_id, _, _)| row_id));

    for chunk in to_close.chunks(MAX_BINDS) {
        let mut query = QueryBuilder::<Sqlite>::new(format!("UPDATE {} SET valid_to = ", T::TABLE));
        query.push_bind(snapshot).push(" WHERE row_id IN (");
        let mut list = query.separated(", ");
        for row_id in chunk {
            list.push_bind(*row_id);
        }
        query.push(")");
        query.build().execute(&mut *conn).await?;
    }

    // Rows go to SQLite as one JSON text per chunk, unpacked by `json_each` in one cached
    // statement: binding a dozen values per row and preparing a fresh 30,000-parameter
    // statement per chunk cost more than the writes themselves.
    let common = ["id", "origin", "valid_from", "first_seen", "content_digest"];
    let column_list = common
        .iter()
        .chain(T::COLUMNS)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    let cells = (0..common.len() + T::COLUMNS.len())
        .map(|i| match common.get(i) {
            Some(&"content_digest") => format!("unhex(value ->> {i})"),
            _ => format!("value ->> {i}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let insert = format!(
        "INSERT INTO {} ({column_list}) SELECT {cells} FROM json_each(?)",
        T::TABLE
    );
    let rebuilt_indexes = if is_bulk(&mut *conn, T::TABLE, to_insert.len()).await? {
        drop_indexes(&mut *conn, T::TABLE).await?
    } else {
        Vec::new()
    };
    let mut rows = JsonRow::default();
    for chunk in to_insert.chunks(INSERT_CHUNK_ROWS) {
        rows.clear();
        for (entity, digest, first_seen) in chunk {
            rows.begin();
            rows.cell(entity.id());
            rows.cell(origin);
            rows.cell(snapshot);
            rows.cell(first_seen);
            rows.cell(hex::encode(digest));
            entity.write_cells(&mut rows);
            rows.end();
        }
        sqlx::query(trusted_sql(insert.clone()))
            .bind(rows.finish())
            .execute(&mut *conn)
            .await?;
    }
    for index in rebuilt_indexes {
        sqlx::query(trusted_sql(index)).execute(&mut *conn).await?;
    }
    update_search_text::<T>(conn, origin, snapshot, &to_close).await?;
    Ok(change)
}

/// Keeps `entity_text` (migration `0009`) equal to the current rows: the text of the rows just
/// closed goes, that of the rows this snapshot inserted for `origin` comes.
async fn update_search_text<T: Table>(
    conn: &mut SqliteConnection,
    origin: &str,
    snapshot: i64,
    closed: &[i64],
) -> Result<()> {
    for chunk in closed.chunks(MAX_BINDS) {
        let mut query = QueryBuilder::<Sqlite>::new("DELETE FROM entity_text WHERE rowid IN (");
        let mut list = query.separated(", ");
        for row_id in chunk {
            list.push_bind(row_id * 8 + T::SEARCH_CODE);
        }
        query.push(")");
        query.build().execute(&mut *conn).await?;
    }
    sqlx::query(trusted_sql(format!(
        "INSERT INTO entity_text (rowid, kind, id, name) \
         SELECT row_id * 8 + {code}, '{kind}', id, {name} FROM {table} \
         WHERE valid_from = ? AND origin = ? AND valid_to IS NULL",
        code = T::SEARCH_CODE,
        kind = T::KIND.as_str(),
        name = T::SEARCH_NAME.unwrap_or("NULL"),
        table = T::TABLE,
    )))
    .bind(snapshot)
    .bind(origin)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Inserts of at least this many rows may rebuild the table's indexes (see [`is_bulk`]).
const BULK_ROWS: usize = 50_000;

/// Whether `rows` new rows are a bulk load for `table`: many, and a large share of the table.
/// Then building the indexes afterwards (one sort per index) beats updating them row by row,
/// which for keys in random order (grant subjects and targets) costs more than twice as much.
async fn is_bulk(conn: &mut SqliteConnection, table: &'static str, rows: usize) -> Result<bool> {
    if rows < BULK_ROWS {
        return Ok(false);
    }
    let existing: Option<i64> =
        sqlx::query_scalar(trusted_sql(format!("SELECT max(row_id) FROM {table}")))
            .fetch_one(&mut *conn)
            .await?;
    Ok(existing.unwrap_or(0) as usize <= rows.saturating_mul(4))
}

/// Drops the indexes of `table` and returns the statements that recreate them
/// ([`ENTITY_INDEXES`]). Runs inside the import's transaction: a failure, including a
/// uniqueness violation found while recreating, rolls the indexes back with everything else.
async fn drop_indexes(conn: &mut SqliteConnection, table: &'static str) -> Result<Vec<String>> {
    let mut recreate = Vec::new();
    for (_, name, statement) in ENTITY_INDEXES.iter().filter(|(t, _, _)| *t == table) {
        sqlx::query(trusted_sql(format!("DROP INDEX IF EXISTS \"{name}\"")))
            .execute(&mut *conn)
            .await?;
        recreate.push((*statement).to_owned());
    }
    Ok(recreate)
}

/// What the caller decides once the other sources' ids are known: go on, or stop with reasons.
pub type Verdict = std::result::Result<(), Vec<String>>;

impl Store {
    /// Replaces the entities of `source` with `estate` in one transaction and records a snapshot
    /// and its audit entry. The source's file-import observations are replaced by none (see
    /// [`Store::import_with_observations`]).
    ///
    /// `check` sees the ids other sources own (for cross-source references and conflicts) inside
    /// the transaction; when it returns `Err`, nothing is written and its reasons are returned as
    /// `Ok(Err(..))`.
    pub async fn import(
        &self,
        source: &str,
        origin: Option<&str>,
        estate: &Estate,
        at: Timestamp,
        actor: &Actor,
        check: impl FnOnce(&SourceNamespace) -> Verdict,
    ) -> Result<std::result::Result<ImportSummary, Vec<String>>> {
        self.import_with_observations(source, origin, estate, &[], at, actor, check)
            .await
    }

    /// [`Store::import`] of an imported broker file: the source's observations (the facts the
    /// estate model has no field for) are replaced by `observations` in the same transaction, so
    /// they land with the snapshot or not at all.
    #[allow(clippy::too_many_arguments)]
    pub async fn import_with_observations(
        &self,
        source: &str,
        origin: Option<&str>,
        estate: &Estate,
        observations: &[StoredObservation],
        at: Timestamp,
        actor: &Actor,
        check: impl FnOnce(&SourceNamespace) -> Verdict,
    ) -> Result<std::result::Result<ImportSummary, Vec<String>>> {
        let mut tx = WriteTransaction::begin(self).await?;
        let outcome = self
            .import_in(
                &mut tx,
                source,
                origin,
                estate,
                Some(observations),
                at,
                actor,
                check,
            )
            .await?;
        match outcome {
            Ok(_) => tx.commit().await?,
            Err(_) => tx.rollback().await?,
        }
        Ok(outcome)
    }

    /// [`Store::import`] on the caller's open transaction (a broker sync adds its own rows to
    /// the same transaction); the caller commits on `Ok(Ok(..))` and rolls back otherwise.
    /// `observations`: `Some` replaces the source's file-import observations; `None` (a broker
    /// sync, which keeps its observations per run) leaves that table alone.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn import_in(
        &self,
        tx: &mut WriteTransaction,
        source: &str,
        origin: Option<&str>,
        estate: &Estate,
        observations: Option<&[StoredObservation]>,
        at: Timestamp,
        actor: &Actor,
        check: impl FnOnce(&SourceNamespace) -> Verdict,
    ) -> Result<std::result::Result<ImportSummary, Vec<String>>> {
        let namespace = other_sources(tx.conn(), source).await?;
        if let Err(reasons) = check(&namespace) {
            return Ok(Err(reasons));
        }
        let now = format_utc(&at);
        let snapshot_id: i64 = sqlx::query_scalar(
            "INSERT INTO snapshots (taken_at, source, origin, estate_sha256, agents, identities, \
             credentials, resources, tools, grants, added, changed, removed) \
             VALUES (?, ?, ?, '', 0, 0, 0, 0, 0, 0, 0, 0, 0) RETURNING id",
        )
        .bind(&now)
        .bind(source)
        .bind(origin)
        .fetch_one(tx.conn())
        .await?;

        let mut total = Change::default();
        for change in [
            replace_source(tx.conn(), source, snapshot_id, &now, &estate.agents).await?,
            replace_source(tx.conn(), source, snapshot_id, &now, &estate.identities).await?,
            replace_source(tx.conn(), source, snapshot_id, &now, &estate.credentials).await?,
            replace_source(tx.conn(), source, snapshot_id, &now, &estate.resources).await?,
            replace_source(tx.conn(), source, snapshot_id, &now, &estate.tools).await?,
            replace_source(tx.conn(), source, snapshot_id, &now, &estate.grants).await?,
        ] {
            total.added += change.added;
            total.changed += change.changed;
            total.removed += change.removed;
        }

        // The hash covers the whole inventory. When this source is all there is, that is the
        // estate in hand; otherwise it is read back (inside the transaction).
        let estate_sha256 = if namespace.ids.is_empty() {
            canonical_sha256(estate)
        } else {
            // Other sources may name entities this import removed: the import would leave their
            // references dangling, so it is refused whole.
            let whole = load_estate(tx.conn(), AsOf::Current).await?;
            let dangling = dangling_references(&whole);
            if !dangling.is_empty() {
                return Ok(Err(dangling));
            }
            canonical_sha256(&whole)
        };
        let counts = count_current(tx.conn()).await?;
        sqlx::query(
            "UPDATE snapshots SET estate_sha256 = ?, agents = ?, identities = ?, credentials = ?, \
             resources = ?, tools = ?, grants = ?, added = ?, changed = ?, removed = ? WHERE id = ?",
        )
        .bind(&estate_sha256)
        .bind(counts.agents as i64)
        .bind(counts.identities as i64)
        .bind(counts.credentials as i64)
        .bind(counts.resources as i64)
        .bind(counts.tools as i64)
        .bind(counts.grants as i64)
        .bind(total.added as i64)
        .bind(total.changed as i64)
        .bind(total.removed as i64)
        .bind(snapshot_id)
        .execute(tx.conn())
        .await?;

        let snapshot = SnapshotRecord {
            id: snapshot_id,
            taken_at: at,
            source: source.to_owned(),
            origin: origin.map(str::to_owned),
            estate_sha256,
            counts,
            added: total.added,
            changed: total.changed,
            removed: total.removed,
        };
        let mut detail = serde_json::json!({
            "snapshot": snapshot.id,
            "source": source,
            "origin": origin,
            "estate_sha256": snapshot.estate_sha256,
            "added": total.added,
            "changed": total.changed,
            "removed": total.removed,
        });
        if let Some(observations) = observations {
            let before =
                crate::observations::replace(tx.conn(), source, snapshot_id, observations).await?;
            // Said whenever the source has or had facts; an estate file's import says nothing.
            if before > 0 || !observations.is_empty() {
                detail["observations"] = serde_json::json!(observations.len());
            }
        }
        let audit_seq = self
            .append_audit(
                tx,
                NewEntry {
                    at,
                    actor,
                    action: "import",
                    subject: format!("snapshot {snapshot_id}"),
                    detail,
                },
            )
            .await?;
        Ok(Ok(ImportSummary {
            snapshot,
            audit_seq,
        }))
    }
}

async fn other_sources(conn: &mut SqliteConnection, source: &str) -> Result<SourceNamespace> {
    let mut namespace = SourceNamespace::default();
    for kind in EntityKind::ALL {
        let mut rows = sqlx::query(trusted_sql(format!(
            "SELECT id, origin FROM {} WHERE valid_to IS NULL AND origin <> ?",
            kind.plural()
        )))
        .bind(source)
        .fetch(&mut *conn);
        while let Some(row) = rows.try_next().await? {
            namespace
                .ids
                .insert(row.try_get("id")?, (kind, row.try_get("origin")?));
        }
    }
    Ok(namespace)
}
