//! The temporal inventory: importing a source's entities as a new snapshot, and reading the
//! current state or any past snapshot back.

use std::collections::HashMap;

use bridle_core::estate::{CanonicalEntity, canonical_sha256, dangling_references};
use bridle_core::time::{Timestamp, format_utc, parse_utc};
use bridle_core::{
    ActionSet, Agent, Autonomy, Counts, Credential, CredentialKind, EntityKind, Estate, Grant,
    Identity, IdentityKind, Resource, ResourceKind, Sensitivity, Tool, ToolAction,
};
use futures_util::TryStreamExt;
use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::{QueryBuilder, Row, SqliteConnection};

use crate::audit::{Actor, NewEntry};
use crate::transaction::WriteTransaction;
use crate::{Result, Store, StoreError};

/// Marks SQL assembled from this module's own table and column constants (never from input) as
/// safe; every value goes through a bind.
fn trusted_sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

/// SQLite accepts up to 32766 bound parameters per statement; stay well below.
const MAX_BINDS: usize = 30_000;

/// An entity as stored, with its provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored<T> {
    pub entity: T,
    /// The source it came from (`import`, `import:<name>`, `vault:<profile>`…).
    pub origin: String,
    pub first_seen: Timestamp,
    /// When its source last reported it (the latest snapshot of that source it is part of).
    pub last_seen: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRecord {
    pub id: i64,
    pub taken_at: Timestamp,
    pub source: String,
    pub origin: Option<String>,
    pub estate_sha256: String,
    pub counts: Counts,
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub snapshot: SnapshotRecord,
    pub audit_seq: i64,
}

/// The ids of other sources' current entities, to resolve cross-source references and refuse ids
/// that another source owns.
#[derive(Debug, Default)]
pub struct SourceNamespace {
    pub ids: HashMap<String, (EntityKind, String)>,
}

/// One entity type's mapping to its table.
trait Table: Sized + CanonicalEntity {
    const TABLE: &'static str;
    /// The data columns after the common ones (id, origin, valid_from, valid_to, first_seen,
    /// content_digest).
    const COLUMNS: &'static [&'static str];

    fn id(&self) -> &str;
    fn bind_columns(&self, row: &mut sqlx::query_builder::Separated<'_, Sqlite, &'static str>);
    fn from_row(row: &SqliteRow) -> Result<Self>;
}

fn corrupt(table: &'static str, row: &SqliteRow, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table,
        id: row.try_get::<String, _>("id").unwrap_or_default(),
        reason: reason.into(),
    }
}

fn time_column(table: &'static str, row: &SqliteRow, name: &str) -> Result<Option<Timestamp>> {
    let text: Option<String> = row.try_get(name)?;
    text.map(|t| parse_utc(&t).map_err(|reason| corrupt(table, row, reason)))
        .transpose()
}

fn json_list(table: &'static str, row: &SqliteRow, name: &str) -> Result<Vec<String>> {
    let text: String = row.try_get(name)?;
    serde_json::from_str(&text).map_err(|e| corrupt(table, row, format!("{name}: {e}")))
}

fn word<T>(
    table: &'static str,
    row: &SqliteRow,
    name: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T> {
    let text: String = row.try_get(name)?;
    parse(&text).ok_or_else(|| corrupt(table, row, format!("{name}: unknown value `{text}`")))
}

fn actions_column(table: &'static str, row: &SqliteRow, name: &str) -> Result<ActionSet> {
    let text: String = row.try_get(name)?;
    text.split(',')
        .map(|w| {
            bridle_core::Action::parse(w)
                .ok_or_else(|| corrupt(table, row, format!("unknown action `{w}`")))
        })
        .collect()
}

fn list_text(list: &[String]) -> String {
    serde_json::to_string(list).expect("a list of strings serializes")
}

impl Table for Agent {
    const TABLE: &'static str = "agents";
    const COLUMNS: &'static [&'static str] =
        &["name", "owner", "environment", "autonomy", "runs_as"];

    fn id(&self) -> &str {
        &self.id
    }

    fn bind_columns(&self, row: &mut sqlx::query_builder::Separated<'_, Sqlite, &'static str>) {
        row.push_bind(self.name.clone())
            .push_bind(self.owner.clone())
            .push_bind(self.environment.clone())
            .push_bind(self.autonomy.as_str())
            .push_bind(list_text(&self.runs_as));
    }

    fn from_row(row: &SqliteRow) -> Result<Self> {
        Ok(Agent {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            owner: row.try_get("owner")?,
            environment: row.try_get("environment")?,
            autonomy: word(Self::TABLE, row, "autonomy", Autonomy::parse)?,
            runs_as: json_list(Self::TABLE, row, "runs_as")?,
        })
    }
}

impl Table for Identity {
    const TABLE: &'static str = "identities";
    const COLUMNS: &'static [&'static str] = &["kind", "name", "owner", "provider"];

    fn id(&self) -> &str {
        &self.id
    }

    fn bind_columns(&self, row: &mut sqlx::query_builder::Separated<'_, Sqlite, &'static str>) {
        row.push_bind(self.kind.as_str())
            .push_bind(self.name.clone())
            .push_bind(self.owner.clone())
            .push_bind(self.provider.clone());
    }

    fn from_row(row: &SqliteRow) -> Result<Self> {
        Ok(Identity {
            id: row.try_get("id")?,
            kind: word(Self::TABLE, row, "kind", IdentityKind::parse)?,
            name: row.try_get("name")?,
            owner: row.try_get("owner")?,
            provider: row.try_get("provider")?,
        })
    }
}

impl Table for Credential {
    const TABLE: &'static str = "credentials";
    const COLUMNS: &'static [&'static str] = &[
        "identity",
        "kind",
        "issued_at",
        "expires_at",
        "last_rotated",
        "last_used",
        "fingerprint",
    ];

    fn id(&self) -> &str {
        &self.id
    }

    fn bind_columns(&self, row: &mut sqlx::query_builder::Separated<'_, Sqlite, &'static str>) {
        row.push_bind(self.identity.clone())
            .push_bind(self.kind.as_str())
            .push_bind(self.issued_at.as_ref().map(format_utc))
            .push_bind(self.expires_at.as_ref().map(format_utc))
            .push_bind(self.last_rotated.as_ref().map(format_utc))
            .push_bind(self.last_used.as_ref().map(format_utc))
            .push_bind(self.fingerprint.clone());
    }

    fn from_row(row: &SqliteRow) -> Result<Self> {
        Ok(Credential {
            id: row.try_get("id")?,
            identity: row.try_get("identity")?,
            kind: word(Self::TABLE, row, "kind", CredentialKind::parse)?,
            issued_at: time_column(Self::TABLE, row, "issued_at")?,
            expires_at: time_column(Self::TABLE, row, "expires_at")?,
            last_rotated: time_column(Self::TABLE, row, "last_rotated")?,
            last_used: time_column(Self::TABLE, row, "last_used")?,
            fingerprint: row.try_get("fingerprint")?,
        })
    }
}

impl Table for Resource {
    const TABLE: &'static str = "resources";
    const COLUMNS: &'static [&'static str] = &[
        "kind",
        "name",
        "sensitivity",
        "crown_jewel",
        "environment",
        "holds_credentials",
        "runs_as",
    ];

    fn id(&self) -> &str {
        &self.id
    }

    fn bind_columns(&self, row: &mut sqlx::query_builder::Separated<'_, Sqlite, &'static str>) {
        row.push_bind(self.kind.as_str())
            .push_bind(self.name.clone())
            .push_bind(self.sensitivity.as_str())
            .push_bind(self.crown_jewel)
            .push_bind(self.environment.clone())
            .push_bind(list_text(&self.holds_credentials))
            .push_bind(list_text(&self.runs_as));
    }

    fn from_row(row: &SqliteRow) -> Result<Self> {
        Ok(Resource {
            id: row.try_get("id")?,
            kind: word(Self::TABLE, row, "kind", ResourceKind::parse)?,
            name: row.try_get("name")?,
            sensitivity: word(Self::TABLE, row, "sensitivity", Sensitivity::parse)?,
            crown_jewel: row.try_get("crown_jewel")?,
            environment: row.try_get("environment")?,
            holds_credentials: json_list(Self::TABLE, row, "holds_credentials")?,
            runs_as: json_list(Self::TABLE, row, "runs_as")?,
        })
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredToolAction {
    resource: String,
    actions: Vec<String>,
}

impl Table for Tool {
    const TABLE: &'static str = "tools";
    const COLUMNS: &'static [&'static str] = &["name", "server", "runs_as", "acts_on"];

    fn id(&self) -> &str {
        &self.id
    }

    fn bind_columns(&self, row: &mut sqlx::query_builder::Separated<'_, Sqlite, &'static str>) {
        let acts_on: Vec<StoredToolAction> = self
            .acts_on
            .iter()
            .map(|entry| StoredToolAction {
                resource: entry.resource.clone(),
                actions: entry
                    .actions
                    .words()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            })
            .collect();
        row.push_bind(self.name.clone())
            .push_bind(self.server.clone())
            .push_bind(self.runs_as.clone())
            .push_bind(serde_json::to_string(&acts_on).expect("tool actions serialize"));
    }

    fn from_row(row: &SqliteRow) -> Result<Self> {
        let text: String = row.try_get("acts_on")?;
        let stored: Vec<StoredToolAction> = serde_json::from_str(&text)
            .map_err(|e| corrupt(Self::TABLE, row, format!("acts_on: {e}")))?;
        let mut acts_on = Vec::with_capacity(stored.len());
        for entry in stored {
            let actions = entry
                .actions
                .iter()
                .map(|w| {
                    bridle_core::Action::parse(w)
                        .ok_or_else(|| corrupt(Self::TABLE, row, format!("unknown action `{w}`")))
                })
                .collect::<Result<ActionSet>>()?;
            acts_on.push(ToolAction {
                resource: entry.resource,
                actions,
            });
        }
        Ok(Tool {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            server: row.try_get("server")?,
            runs_as: row.try_get("runs_as")?,
            acts_on,
        })
    }
}

impl Table for Grant {
    const TABLE: &'static str = "grants";
    const COLUMNS: &'static [&'static str] = &[
        "subject",
        "target",
        "actions",
        "standing",
        "expires_at",
        "conditions",
        "source",
    ];

    fn id(&self) -> &str {
        &self.id
    }

    fn bind_columns(&self, row: &mut sqlx::query_builder::Separated<'_, Sqlite, &'static str>) {
        row.push_bind(self.subject.clone())
            .push_bind(self.target.clone())
            .push_bind(self.actions.to_string())
            .push_bind(self.standing)
            .push_bind(self.expires_at.as_ref().map(format_utc))
            .push_bind(self.conditions.clone())
            .push_bind(self.source.clone());
    }

    fn from_row(row: &SqliteRow) -> Result<Self> {
        Ok(Grant {
            id: row.try_get("id")?,
            subject: row.try_get("subject")?,
            target: row.try_get("target")?,
            actions: actions_column(Self::TABLE, row, "actions")?,
            standing: row.try_get("standing")?,
            expires_at: time_column(Self::TABLE, row, "expires_at")?,
            conditions: row.try_get("conditions")?,
            source: row.try_get("source")?,
        })
    }
}

/// Which rows a read selects.
#[derive(Debug, Clone, Copy)]
enum AsOf {
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

    let columns_per_row = 6 + T::COLUMNS.len();
    let rows_per_statement = MAX_BINDS / columns_per_row;
    let column_list = ["id", "origin", "valid_from", "first_seen", "content_digest"]
        .iter()
        .chain(T::COLUMNS)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    for chunk in to_insert.chunks(rows_per_statement) {
        let mut query =
            QueryBuilder::<Sqlite>::new(format!("INSERT INTO {} ({column_list}) ", T::TABLE));
        query.push_values(chunk, |mut row, (entity, digest, first_seen)| {
            row.push_bind(entity.id().to_owned())
                .push_bind(origin.to_owned())
                .push_bind(snapshot)
                .push_bind(first_seen.clone())
                .push_bind(digest.to_vec());
            entity.bind_columns(&mut row);
        });
        query.build().execute(&mut *conn).await?;
    }
    Ok(change)
}

async fn load<T: Table>(conn: &mut SqliteConnection, as_of: AsOf) -> Result<Vec<T>> {
    // A sequential scan of the table and a sort in memory beat walking an index in id order and
    // fetching each row from wherever it lies (about 4x on a million grants).
    // Only the entity's own columns: every extra column is decoded and copied per row.
    let columns = std::iter::once("id")
        .chain(T::COLUMNS.iter().copied())
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns} FROM {} NOT INDEXED WHERE {}",
        T::TABLE,
        as_of.filter()
    );
    let mut query = sqlx::query(trusted_sql(sql));
    if let AsOf::Snapshot(id) = as_of {
        query = query.bind(id);
    }
    let mut rows = query.fetch(&mut *conn);
    let mut entities = Vec::new();
    while let Some(row) = rows.try_next().await? {
        entities.push(T::from_row(&row)?);
    }
    // Ids are unique within a table, so the unstable sort is deterministic.
    entities.sort_unstable_by(|a, b| a.id().cmp(b.id()));
    Ok(entities)
}

async fn load_estate(conn: &mut SqliteConnection, as_of: AsOf) -> Result<Estate> {
    Ok(Estate {
        agents: load(conn, as_of).await?,
        identities: load(conn, as_of).await?,
        credentials: load(conn, as_of).await?,
        resources: load(conn, as_of).await?,
        tools: load(conn, as_of).await?,
        grants: load(conn, as_of).await?,
    })
}

async fn count_current(conn: &mut SqliteConnection) -> Result<Counts> {
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

fn snapshot_from_row(row: &SqliteRow) -> Result<SnapshotRecord> {
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

/// What the caller decides once the other sources' ids are known: go on, or stop with reasons.
pub type Verdict = std::result::Result<(), Vec<String>>;

impl Store {
    /// Replaces the entities of `source` with `estate` in one transaction and records a snapshot
    /// and its audit entry.
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
        let mut tx = WriteTransaction::begin(self).await?;
        let outcome = self
            .import_in(&mut tx, source, origin, estate, at, actor, check)
            .await?;
        match outcome {
            Ok(_) => tx.commit().await?,
            Err(_) => tx.rollback().await?,
        }
        Ok(outcome)
    }

    /// [`Store::import`] on the caller's open transaction (a broker sync adds its own rows to
    /// the same transaction); the caller commits on `Ok(Ok(..))` and rolls back otherwise.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn import_in(
        &self,
        tx: &mut WriteTransaction,
        source: &str,
        origin: Option<&str>,
        estate: &Estate,
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
        let detail = serde_json::json!({
            "snapshot": snapshot.id,
            "source": source,
            "origin": origin,
            "estate_sha256": snapshot.estate_sha256,
            "added": total.added,
            "changed": total.changed,
            "removed": total.removed,
        });
        let audit_seq = self
            .append_audit(
                tx.conn(),
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
            let origin: String = row.try_get("origin")?;
            let first_seen = time_column(T::TABLE, &row, "first_seen")?
                .ok_or_else(|| corrupt(T::TABLE, &row, "first_seen is missing"))?;
            let last_seen = last_seen.get(&origin).copied().unwrap_or(first_seen);
            stored.push(Stored {
                entity: T::from_row(&row)?,
                origin,
                first_seen,
                last_seen,
            });
        }
        Ok(stored)
    }
}

/// The time of each source's latest snapshot: when it last reported its current entities.
async fn last_seen_by_source(conn: &mut SqliteConnection) -> Result<HashMap<String, Timestamp>> {
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
