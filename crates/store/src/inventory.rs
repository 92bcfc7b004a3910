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
use crate::brokers::StoredObservation;
use crate::transaction::WriteTransaction;
use crate::{Result, Store, StoreError};

/// Marks SQL assembled from this module's own table and column constants (never from input) as
/// safe; every value goes through a bind.
fn trusted_sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

/// SQLite accepts up to 32766 bound parameters per statement; stay well below.
const MAX_BINDS: usize = 30_000;

/// Rows per `INSERT … FROM json_each(?)` statement: a few MiB of JSON each.
const INSERT_CHUNK_ROWS: usize = 16_384;

/// Rows being written, as the JSON array of arrays that the insert's `json_each` unpacks.
#[derive(Default)]
struct JsonRow {
    text: Vec<u8>,
    first_cell: bool,
}

impl JsonRow {
    fn clear(&mut self) {
        self.text.clear();
        self.text.push(b'[');
    }

    fn begin(&mut self) {
        if self.text.len() > 1 {
            self.text.push(b',');
        }
        self.text.push(b'[');
        self.first_cell = true;
    }

    /// One cell: text, NULL (`None`), an integer, or a flag (true/false arrive as 1/0).
    fn cell(&mut self, value: impl serde::Serialize) {
        if !self.first_cell {
            self.text.push(b',');
        }
        self.first_cell = false;
        serde_json::to_writer(&mut self.text, &value)
            .expect("strings, numbers, options and flags serialize");
    }

    fn end(&mut self) {
        self.text.push(b']');
    }

    fn finish(&mut self) -> &str {
        self.text.push(b']');
        std::str::from_utf8(&self.text).expect("serde_json writes UTF-8")
    }
}

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
trait Table: Sized + Send + 'static + CanonicalEntity {
    const TABLE: &'static str;
    /// The data columns after the common ones (id, origin, valid_from, valid_to, first_seen,
    /// content_digest).
    const COLUMNS: &'static [&'static str];

    fn id(&self) -> &str;
    /// Appends the data cells (in `COLUMNS` order) to a row being written.
    fn write_cells(&self, row: &mut JsonRow);
    fn from_row(row: &mut impl Cells) -> Result<Self>;
}

/// One stored row's cells by column name: either a sqlx row or a row of a JSON-aggregated chunk
/// (see [`load`]), so each table's decoding is written once for both.
trait Cells {
    /// The row's entity id, for error messages.
    fn id(&self) -> String;
    /// A TEXT cell; `None` for NULL. May move the value out: read each cell once.
    fn text(&mut self, table: &'static str, name: &str) -> Result<Option<String>>;
    /// An INTEGER 0/1 cell.
    fn flag(&mut self, table: &'static str, name: &str) -> Result<bool>;

    fn required(&mut self, table: &'static str, name: &str) -> Result<String> {
        self.text(table, name)?
            .ok_or_else(|| corrupt(table, self.id(), format!("{name} is missing")))
    }
}

impl Cells for SqliteRow {
    fn id(&self) -> String {
        self.try_get::<String, _>("id").unwrap_or_default()
    }

    fn text(&mut self, _table: &'static str, name: &str) -> Result<Option<String>> {
        Ok(self.try_get(name)?)
    }

    fn flag(&mut self, _table: &'static str, name: &str) -> Result<bool> {
        Ok(self.try_get(name)?)
    }
}

/// A row of a chunk aggregated by SQLite's `json_array`, cells in `columns` order.
struct JsonCells<'a> {
    columns: &'a [&'static str],
    values: Vec<serde_json::Value>,
}

impl JsonCells<'_> {
    fn cell(&mut self, table: &'static str, name: &str) -> Result<serde_json::Value> {
        let position = self.columns.iter().position(|c| *c == name);
        match position.and_then(|i| self.values.get_mut(i)) {
            // The id stays for error messages about later cells.
            Some(value) if name == "id" => Ok(value.clone()),
            Some(value) => Ok(value.take()),
            None => Err(corrupt(
                table,
                self.id(),
                format!("column {name} was not read"),
            )),
        }
    }
}

impl Cells for JsonCells<'_> {
    fn id(&self) -> String {
        let position = self.columns.iter().position(|c| *c == "id");
        position
            .and_then(|i| self.values.get(i))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }

    fn text(&mut self, table: &'static str, name: &str) -> Result<Option<String>> {
        match self.cell(table, name)? {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::String(text) => Ok(Some(text)),
            other => Err(corrupt(
                table,
                self.id(),
                format!("{name}: expected text, found {other}"),
            )),
        }
    }

    fn flag(&mut self, table: &'static str, name: &str) -> Result<bool> {
        match self.cell(table, name)?.as_i64() {
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            _ => Err(corrupt(
                table,
                self.id(),
                format!("{name}: expected 0 or 1"),
            )),
        }
    }
}

fn corrupt(table: &'static str, id: String, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table,
        id,
        reason: reason.into(),
    }
}

fn time_column(table: &'static str, row: &mut impl Cells, name: &str) -> Result<Option<Timestamp>> {
    row.text(table, name)?
        .map(|t| parse_utc(&t).map_err(|reason| corrupt(table, row.id(), reason)))
        .transpose()
}

fn json_list(table: &'static str, row: &mut impl Cells, name: &str) -> Result<Vec<String>> {
    let text = row.required(table, name)?;
    serde_json::from_str(&text).map_err(|e| corrupt(table, row.id(), format!("{name}: {e}")))
}

fn word<T>(
    table: &'static str,
    row: &mut impl Cells,
    name: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T> {
    let text = row.required(table, name)?;
    parse(&text).ok_or_else(|| corrupt(table, row.id(), format!("{name}: unknown value `{text}`")))
}

fn actions_column(table: &'static str, row: &mut impl Cells, name: &str) -> Result<ActionSet> {
    let text = row.required(table, name)?;
    text.split(',')
        .map(|w| {
            bridle_core::Action::parse(w)
                .ok_or_else(|| corrupt(table, row.id(), format!("unknown action `{w}`")))
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

    fn write_cells(&self, row: &mut JsonRow) {
        row.cell(&self.name);
        row.cell(&self.owner);
        row.cell(&self.environment);
        row.cell(self.autonomy.as_str());
        row.cell(list_text(&self.runs_as));
    }

    fn from_row(row: &mut impl Cells) -> Result<Self> {
        Ok(Agent {
            id: row.required(Self::TABLE, "id")?,
            name: row.required(Self::TABLE, "name")?,
            owner: row.text(Self::TABLE, "owner")?,
            environment: row.text(Self::TABLE, "environment")?,
            autonomy: word(Self::TABLE, &mut *row, "autonomy", Autonomy::parse)?,
            runs_as: json_list(Self::TABLE, &mut *row, "runs_as")?,
        })
    }
}

impl Table for Identity {
    const TABLE: &'static str = "identities";
    const COLUMNS: &'static [&'static str] = &["kind", "name", "owner", "provider"];

    fn id(&self) -> &str {
        &self.id
    }

    fn write_cells(&self, row: &mut JsonRow) {
        row.cell(self.kind.as_str());
        row.cell(&self.name);
        row.cell(&self.owner);
        row.cell(&self.provider);
    }

    fn from_row(row: &mut impl Cells) -> Result<Self> {
        Ok(Identity {
            id: row.required(Self::TABLE, "id")?,
            kind: word(Self::TABLE, &mut *row, "kind", IdentityKind::parse)?,
            name: row.required(Self::TABLE, "name")?,
            owner: row.text(Self::TABLE, "owner")?,
            provider: row.text(Self::TABLE, "provider")?,
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

    fn write_cells(&self, row: &mut JsonRow) {
        row.cell(&self.identity);
        row.cell(self.kind.as_str());
        row.cell(self.issued_at.as_ref().map(format_utc));
        row.cell(self.expires_at.as_ref().map(format_utc));
        row.cell(self.last_rotated.as_ref().map(format_utc));
        row.cell(self.last_used.as_ref().map(format_utc));
        row.cell(&self.fingerprint);
    }

    fn from_row(row: &mut impl Cells) -> Result<Self> {
        Ok(Credential {
            id: row.required(Self::TABLE, "id")?,
            identity: row.required(Self::TABLE, "identity")?,
            kind: word(Self::TABLE, &mut *row, "kind", CredentialKind::parse)?,
            issued_at: time_column(Self::TABLE, &mut *row, "issued_at")?,
            expires_at: time_column(Self::TABLE, &mut *row, "expires_at")?,
            last_rotated: time_column(Self::TABLE, &mut *row, "last_rotated")?,
            last_used: time_column(Self::TABLE, &mut *row, "last_used")?,
            fingerprint: row.text(Self::TABLE, "fingerprint")?,
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

    fn write_cells(&self, row: &mut JsonRow) {
        row.cell(self.kind.as_str());
        row.cell(&self.name);
        row.cell(self.sensitivity.as_str());
        row.cell(self.crown_jewel);
        row.cell(&self.environment);
        row.cell(list_text(&self.holds_credentials));
        row.cell(list_text(&self.runs_as));
    }

    fn from_row(row: &mut impl Cells) -> Result<Self> {
        Ok(Resource {
            id: row.required(Self::TABLE, "id")?,
            kind: word(Self::TABLE, &mut *row, "kind", ResourceKind::parse)?,
            name: row.required(Self::TABLE, "name")?,
            sensitivity: word(Self::TABLE, &mut *row, "sensitivity", Sensitivity::parse)?,
            crown_jewel: row.flag(Self::TABLE, "crown_jewel")?,
            environment: row.text(Self::TABLE, "environment")?,
            holds_credentials: json_list(Self::TABLE, &mut *row, "holds_credentials")?,
            runs_as: json_list(Self::TABLE, &mut *row, "runs_as")?,
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

    fn write_cells(&self, row: &mut JsonRow) {
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
        row.cell(&self.name);
        row.cell(&self.server);
        row.cell(&self.runs_as);
        row.cell(serde_json::to_string(&acts_on).expect("tool actions serialize"));
    }

    fn from_row(row: &mut impl Cells) -> Result<Self> {
        let text = row.required(Self::TABLE, "acts_on")?;
        let stored: Vec<StoredToolAction> = serde_json::from_str(&text)
            .map_err(|e| corrupt(Self::TABLE, row.id(), format!("acts_on: {e}")))?;
        let mut acts_on = Vec::with_capacity(stored.len());
        for entry in stored {
            let actions = entry
                .actions
                .iter()
                .map(|w| {
                    bridle_core::Action::parse(w).ok_or_else(|| {
                        corrupt(Self::TABLE, row.id(), format!("unknown action `{w}`"))
                    })
                })
                .collect::<Result<ActionSet>>()?;
            acts_on.push(ToolAction {
                resource: entry.resource,
                actions,
            });
        }
        Ok(Tool {
            id: row.required(Self::TABLE, "id")?,
            name: row.required(Self::TABLE, "name")?,
            server: row.text(Self::TABLE, "server")?,
            runs_as: row.text(Self::TABLE, "runs_as")?,
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

    fn write_cells(&self, row: &mut JsonRow) {
        row.cell(&self.subject);
        row.cell(&self.target);
        row.cell(self.actions.to_string());
        row.cell(self.standing);
        row.cell(self.expires_at.as_ref().map(format_utc));
        row.cell(&self.conditions);
        row.cell(&self.source);
    }

    fn from_row(row: &mut impl Cells) -> Result<Self> {
        Ok(Grant {
            id: row.required(Self::TABLE, "id")?,
            subject: row.required(Self::TABLE, "subject")?,
            target: row.required(Self::TABLE, "target")?,
            actions: actions_column(Self::TABLE, &mut *row, "actions")?,
            standing: row.flag(Self::TABLE, "standing")?,
            expires_at: time_column(Self::TABLE, &mut *row, "expires_at")?,
            conditions: row.text(Self::TABLE, "conditions")?,
            source: row.text(Self::TABLE, "source")?,
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
    Ok(change)
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

/// The indexes of the entity tables as migration `0001` defines them: (table, name, statement).
/// A bulk load drops and recreates these from here, never from `sqlite_master` (a database file
/// is input: a definition planted there must not be executed); a test pins them to what the
/// migrations create.
const ENTITY_INDEXES: &[(&str, &str, &str)] = &[
    (
        "agents",
        "agents_current",
        "CREATE UNIQUE INDEX agents_current ON agents (id) WHERE valid_to IS NULL",
    ),
    (
        "identities",
        "identities_current",
        "CREATE UNIQUE INDEX identities_current ON identities (id) WHERE valid_to IS NULL",
    ),
    (
        "credentials",
        "credentials_current",
        "CREATE UNIQUE INDEX credentials_current ON credentials (id) WHERE valid_to IS NULL",
    ),
    (
        "resources",
        "resources_current",
        "CREATE UNIQUE INDEX resources_current ON resources (id) WHERE valid_to IS NULL",
    ),
    (
        "tools",
        "tools_current",
        "CREATE UNIQUE INDEX tools_current ON tools (id) WHERE valid_to IS NULL",
    ),
    (
        "grants",
        "grants_current",
        "CREATE UNIQUE INDEX grants_current ON grants (id) WHERE valid_to IS NULL",
    ),
    (
        "agents",
        "agents_history",
        "CREATE INDEX agents_history ON agents (valid_from, valid_to)",
    ),
    (
        "identities",
        "identities_history",
        "CREATE INDEX identities_history ON identities (valid_from, valid_to)",
    ),
    (
        "credentials",
        "credentials_history",
        "CREATE INDEX credentials_history ON credentials (valid_from, valid_to)",
    ),
    (
        "resources",
        "resources_history",
        "CREATE INDEX resources_history ON resources (valid_from, valid_to)",
    ),
    (
        "tools",
        "tools_history",
        "CREATE INDEX tools_history ON tools (valid_from, valid_to)",
    ),
    (
        "grants",
        "grants_history",
        "CREATE INDEX grants_history ON grants (valid_from, valid_to)",
    ),
    (
        "agents",
        "agents_origin",
        "CREATE INDEX agents_origin ON agents (origin) WHERE valid_to IS NULL",
    ),
    (
        "identities",
        "identities_origin",
        "CREATE INDEX identities_origin ON identities (origin) WHERE valid_to IS NULL",
    ),
    (
        "credentials",
        "credentials_origin",
        "CREATE INDEX credentials_origin ON credentials (origin) WHERE valid_to IS NULL",
    ),
    (
        "resources",
        "resources_origin",
        "CREATE INDEX resources_origin ON resources (origin) WHERE valid_to IS NULL",
    ),
    (
        "tools",
        "tools_origin",
        "CREATE INDEX tools_origin ON tools (origin) WHERE valid_to IS NULL",
    ),
    (
        "grants",
        "grants_origin",
        "CREATE INDEX grants_origin ON grants (origin) WHERE valid_to IS NULL",
    ),
    (
        "grants",
        "grants_subject",
        "CREATE INDEX grants_subject ON grants (subject) WHERE valid_to IS NULL",
    ),
    (
        "grants",
        "grants_target",
        "CREATE INDEX grants_target ON grants (target) WHERE valid_to IS NULL",
    ),
    (
        "credentials",
        "credentials_identity",
        "CREATE INDEX credentials_identity ON credentials (identity) WHERE valid_to IS NULL",
    ),
];

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

/// A decoding task's result; a panic inside it is re-raised here, as if it had run inline.
fn joined<T>(outcome: std::result::Result<Result<T>, tokio::task::JoinError>) -> Result<T> {
    match outcome {
        Ok(result) => result,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}

/// Decodes one chunk of [`load`]: a JSON array of `[row_id, cells in columns order...]` arrays.
fn decode_chunk<T: Table>(columns: &[&'static str], chunk: &str, after: i64) -> Result<Vec<T>> {
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

async fn load<T: Table>(conn: &mut SqliteConnection, as_of: AsOf) -> Result<Vec<T>> {
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
            let origin: String = row.try_get("origin")?;
            let mut row = row;
            let first_seen = time_column(T::TABLE, &mut row, "first_seen")?
                .ok_or_else(|| corrupt(T::TABLE, row.id(), "first_seen is missing"))?;
            let last_seen = last_seen.get(&origin).copied().unwrap_or(first_seen);
            stored.push(Stored {
                entity: T::from_row(&mut row)?,
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

#[cfg(test)]
mod index_tests {
    use super::ENTITY_INDEXES;

    /// The constants are the migrations' indexes, no more and no fewer.
    #[tokio::test]
    async fn entity_indexes_are_exactly_the_ones_the_migrations_create() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::tests::open(&dir).await;
        let tables = [
            "agents",
            "identities",
            "credentials",
            "resources",
            "tools",
            "grants",
        ];
        let mut created: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        created.retain(|(t, _, _)| tables.contains(&t.as_str()));
        let normal = |sql: &str| sql.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut created: Vec<(String, String, String)> = created
            .into_iter()
            .map(|(t, n, sql)| (t, n, normal(&sql)))
            .collect();
        created.sort();
        let mut ours: Vec<(String, String, String)> = ENTITY_INDEXES
            .iter()
            .map(|(t, n, sql)| ((*t).to_owned(), (*n).to_owned(), normal(sql)))
            .collect();
        ours.sort();
        assert_eq!(ours, created);
    }
}
