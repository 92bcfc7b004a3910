//! Point and paged reads of the current inventory: one entity by id, the rows whose column names
//! an id, one sorted and filtered page of a kind with its counts, and a column's value counts.
//! Each is answered in SQL on the tables' indexes, so a request costs what it returns rather than
//! the size of the estate (a page deep into a million grants sorted by target walks the
//! `(target, id)` index; it never loads the table).

use std::collections::HashMap;

use bridle_core::time::{Timestamp, format_utc};
use bridle_core::{Agent, Counts, Credential, Grant, Identity, Resource, Tool};
use futures_util::TryStreamExt;
use sqlx::sqlite::Sqlite;
use sqlx::{QueryBuilder, Row, SqliteConnection};

use super::Stored;
use super::read::{last_seen_by_source, stored_from_row};
use super::tables::Table;
use crate::{Result, Store, StoreError};

/// A current entity of any kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredEntity {
    Agent(Stored<Agent>),
    Identity(Stored<Identity>),
    Credential(Stored<Credential>),
    Resource(Stored<Resource>),
    Tool(Stored<Tool>),
    Grant(Stored<Grant>),
}

/// What a filter requires a column to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    /// A 0/1 column (`crown_jewel`, `standing`).
    Flag(bool),
    /// No value (NULL).
    Empty,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub column: String,
    pub value: Cell,
}

/// One page of a kind's current rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageQuery {
    /// The column to sort by (default `id`); ties are broken by id in the same direction, and
    /// rows without a value come last in either direction.
    pub sort: Option<String>,
    pub descending: bool,
    /// Every filter must hold.
    pub filters: Vec<Filter>,
    /// Text that the id or some text column must contain (ASCII case-insensitive); empty matches
    /// every row.
    pub search: String,
    pub offset: u64,
    pub limit: u64,
    /// `(total, matched)` when the caller already knows them for these filters and search
    /// (counting a filter over a million rows is a scan): the page then does not count again.
    pub known_counts: Option<(u64, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub rows: Vec<Stored<T>>,
    /// Every current row of the kind.
    pub total: u64,
    /// The rows the filters and search select.
    pub matched: u64,
}

/// A current entity whose id or name matched a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    /// `agent`, `identity`, … (the singular kind word).
    pub kind: String,
    pub id: String,
    pub name: Option<String>,
}

/// The dashboard's figures of the current inventory at one time (see
/// [`Store::current_figures`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    pub counts: Counts,
    pub agents_without_owner: u64,
    /// Credentials that never expire, or were last rotated (else issued) before the limit.
    pub long_lived_credentials: u64,
    /// Standing grants not expired at the time.
    pub standing_grants: u64,
}

/// How many current rows hold each value of one column (`Cell::Empty` for NULL).
pub type ValueCounts = Vec<(Cell, u64)>;

impl Store {
    /// The current entity with this id, of whichever kind holds it.
    pub async fn current_entity(&self, id: &str) -> Result<Option<StoredEntity>> {
        let mut conn = self.pool.acquire().await?;
        let last_seen = last_seen_by_source(&mut conn).await?;
        if let Some(row) = by_id::<Agent>(&mut conn, id, &last_seen).await? {
            return Ok(Some(StoredEntity::Agent(row)));
        }
        if let Some(row) = by_id::<Identity>(&mut conn, id, &last_seen).await? {
            return Ok(Some(StoredEntity::Identity(row)));
        }
        if let Some(row) = by_id::<Credential>(&mut conn, id, &last_seen).await? {
            return Ok(Some(StoredEntity::Credential(row)));
        }
        if let Some(row) = by_id::<Resource>(&mut conn, id, &last_seen).await? {
            return Ok(Some(StoredEntity::Resource(row)));
        }
        if let Some(row) = by_id::<Tool>(&mut conn, id, &last_seen).await? {
            return Ok(Some(StoredEntity::Tool(row)));
        }
        Ok(by_id::<Grant>(&mut conn, id, &last_seen)
            .await?
            .map(StoredEntity::Grant))
    }

    /// The current rows of `T` with these ids (those that exist), ordered by id.
    pub async fn current_with_ids<T: Table>(&self, ids: &[String]) -> Result<Vec<Stored<T>>> {
        let mut conn = self.pool.acquire().await?;
        let last_seen = last_seen_by_source(&mut conn).await?;
        let mut rows = Vec::new();
        for id in ids {
            if let Some(row) = by_id::<T>(&mut conn, id, &last_seen).await? {
                rows.push(row);
            }
        }
        rows.sort_by(|a, b| a.entity.id().cmp(b.entity.id()));
        rows.dedup_by(|a, b| a.entity.id() == b.entity.id());
        Ok(rows)
    }

    /// The current rows of `T` whose `column` names `id`: equals it, or for a JSON list column
    /// (`runs_as`, `holds_credentials`, `acts_on`) holds it. Ordered by id.
    pub async fn current_naming<T: Table>(&self, column: &str, id: &str) -> Result<Vec<Stored<T>>> {
        let column = known_column::<T>(column)?;
        let mut conn = self.pool.acquire().await?;
        let last_seen = last_seen_by_source(&mut conn).await?;
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT * FROM {} WHERE valid_to IS NULL AND ",
            T::TABLE
        ));
        if T::LISTS.contains(&column) {
            // The JSON text holds the id as a quoted string; the decoded row decides exactly.
            let quoted = serde_json::to_string(id).expect("a string serializes");
            query
                .push(format!("instr({column}, "))
                .push_bind(quoted)
                .push(") > 0");
        } else {
            query.push(format!("{column} = ")).push_bind(id.to_owned());
        }
        query.push(" ORDER BY id");
        let mut found = Vec::new();
        let mut rows = query.build().fetch(&mut *conn);
        while let Some(row) = rows.try_next().await? {
            let row: Stored<T> = stored_from_row(row, &last_seen)?;
            if column == "id" || row.entity.names(column, id) {
                found.push(row);
            }
        }
        Ok(found)
    }

    /// One page of `T`'s current rows, sorted, filtered and searched in SQL.
    pub async fn current_page<T: Table>(&self, query: &PageQuery) -> Result<Page<T>> {
        let conditions = Conditions::new::<T>(query)?;
        let sort = match query.sort.as_deref() {
            Some(column) => known_column::<T>(column)?,
            None => "id",
        };
        let mut conn = self.pool.acquire().await?;
        let last_seen = last_seen_by_source(&mut conn).await?;
        let (total, matched) = match query.known_counts {
            Some(counts) => counts,
            None => {
                let total = count::<T>(&mut conn, &Conditions::default(), None).await?;
                let matched = if conditions.is_empty() {
                    total
                } else {
                    count::<T>(&mut conn, &conditions, None).await?
                };
                (total, matched)
            }
        };

        let direction = if query.descending { "DESC" } else { "ASC" };
        let ordered = if T::NOCASE.contains(&sort) {
            format!("{sort} COLLATE NOCASE {direction}")
        } else if sort == "first_seen" || T::TIMES.contains(&sort) {
            // To the tens of microseconds (a julian day number is a double).
            format!("julianday({sort}) {direction}")
        } else {
            format!("{sort} {direction}")
        };
        let by_id = format!("id {direction}");
        let mut rows = Vec::new();
        if T::OPTIONAL.contains(&sort) {
            // Two ranges, each in index order: the rows with a value, then those without. One
            // `ORDER BY (col IS NULL), col` would be the same order but could walk no index.
            let with_value = count::<T>(&mut conn, &conditions, Some((sort, true))).await?;
            if query.offset < with_value {
                let order = format!("{ordered}, {by_id}");
                let slice = (query.offset, query.limit);
                rows = select::<T>(&mut conn, &conditions, Some((sort, true)), &order, slice)
                    .await?
                    .into_iter()
                    .map(|row| stored_from_row(row, &last_seen))
                    .collect::<Result<_>>()?;
            }
            let left = query.limit.saturating_sub(rows.len() as u64);
            if left > 0 {
                let slice = (query.offset.saturating_sub(with_value), left);
                for row in
                    select::<T>(&mut conn, &conditions, Some((sort, false)), &by_id, slice).await?
                {
                    rows.push(stored_from_row(row, &last_seen)?);
                }
            }
        } else {
            let order = if sort == "id" {
                by_id
            } else {
                format!("{ordered}, {by_id}")
            };
            let slice = (query.offset, query.limit);
            for row in select::<T>(&mut conn, &conditions, None, &order, slice).await? {
                rows.push(stored_from_row(row, &last_seen)?);
            }
        }
        Ok(Page {
            rows,
            total,
            matched,
        })
    }

    /// Current entities whose id or name contains `text` (case-insensitive), best first: an id
    /// or name equal to it, then those starting with it (or whose id does after its `kind:`
    /// prefix), then the rest, each by id. Returns at most `limit` hits and how many matched.
    /// Three or more characters are looked up in the trigram index (`entity_text`); shorter
    /// text is matched by a scan of it.
    pub async fn search_current(&self, text: &str, limit: u64) -> Result<(Vec<SearchHit>, u64)> {
        let needle = text.trim().to_lowercase();
        if needle.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let escaped = like_escaped(&needle);
        let (condition, term) = if needle.chars().count() >= 3 {
            // A phrase of the text's trigrams: the text as a substring of id or name.
            (
                "entity_text MATCH ?3",
                format!("{{id name}} : \"{}\"", needle.replace('"', "\"\"")),
            )
        } else {
            (
                "(id LIKE ?3 ESCAPE '\\' OR name LIKE ?3 ESCAPE '\\')",
                format!("%{escaped}%"),
            )
        };
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(super::codec::trusted_sql(format!(
            "SELECT kind, id, name, CASE \
               WHEN lower(id) = ?1 OR lower(name) = ?1 THEN 0 \
               WHEN id LIKE ?2 ESCAPE '\\' OR name LIKE ?2 ESCAPE '\\' \
                 OR substr(id, instr(id, ':') + 1) LIKE ?2 ESCAPE '\\' THEN 1 \
               ELSE 2 END AS rank \
             FROM entity_text WHERE {condition} ORDER BY rank, id LIMIT ?4"
        )))
        .bind(&needle)
        .bind(format!("{escaped}%"))
        .bind(&term)
        .bind(limit.min(i64::MAX as u64) as i64)
        .fetch_all(&mut *conn)
        .await?;
        let hits = rows
            .iter()
            .map(|row| {
                Ok(SearchHit {
                    kind: row.try_get("kind")?,
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let matched: i64 = sqlx::query_scalar(super::codec::trusted_sql(format!(
            "SELECT count(*) FROM entity_text WHERE {}",
            condition.replace("?3", "?1")
        )))
        .bind(&term)
        .fetch_one(&mut *conn)
        .await?;
        Ok((hits, matched as u64))
    }

    /// The dashboard's figures at `at`, counted in SQL without loading the estate. A credential
    /// last rotated (else issued) before `rotated_before` is long-lived.
    pub async fn current_figures(
        &self,
        at: Timestamp,
        rotated_before: Timestamp,
    ) -> Result<Figures> {
        let mut conn = self.pool.acquire().await?;
        let counts = super::read::count_current(&mut conn).await?;
        let scalar = async |conn: &mut SqliteConnection, sql: &'static str, time: String| {
            let n: i64 = sqlx::query_scalar(sql).bind(time).fetch_one(conn).await?;
            Ok::<u64, StoreError>(n as u64)
        };
        let agents_without_owner: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM agents WHERE valid_to IS NULL AND owner IS NULL",
        )
        .fetch_one(&mut *conn)
        .await?;
        let agents_without_owner = agents_without_owner as u64;
        // Times are compared by value (julianday), never as text: their fraction digits vary.
        let long_lived_credentials = scalar(
            &mut conn,
            "SELECT count(*) FROM credentials WHERE valid_to IS NULL AND (expires_at IS NULL \
             OR julianday(coalesce(last_rotated, issued_at)) < julianday(?1))",
            format_utc(&rotated_before),
        )
        .await?;
        // Expired means `expires_at <= at`.
        let standing_grants = scalar(
            &mut conn,
            "SELECT count(*) FROM grants WHERE valid_to IS NULL AND standing = 1 \
             AND (expires_at IS NULL OR julianday(expires_at) > julianday(?1))",
            format_utc(&at),
        )
        .await?;
        Ok(Figures {
            counts,
            agents_without_owner,
            long_lived_credentials,
            standing_grants,
        })
    }

    /// How many current rows of `T` hold each value of `column`, ordered by value.
    pub async fn current_value_counts<T: Table>(&self, column: &str) -> Result<ValueCounts> {
        let column = known_column::<T>(column)?;
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(super::codec::trusted_sql(format!(
            "SELECT {column} AS value, count(*) AS n FROM {} WHERE valid_to IS NULL \
             GROUP BY {column} ORDER BY {column}",
            T::TABLE
        )))
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                let n: i64 = row.try_get("n")?;
                let value = if T::FLAGS.contains(&column) {
                    let flag: Option<i64> = row.try_get("value")?;
                    flag.map_or(Cell::Empty, |f| Cell::Flag(f != 0))
                } else {
                    let text: Option<String> = row.try_get("value")?;
                    text.map_or(Cell::Empty, Cell::Text)
                };
                Ok((value, n as u64))
            })
            .collect()
    }
}

/// The columns a read may name: the common ones every table has, then the table's own.
fn columns<T: Table>() -> impl Iterator<Item = &'static str> {
    ["id", "origin", "first_seen"]
        .into_iter()
        .chain(T::COLUMNS.iter().copied())
}

/// `name` as one of `T`'s columns (the SQL is then built from our constant, never the input).
fn known_column<T: Table>(name: &str) -> Result<&'static str> {
    columns::<T>()
        .find(|column| *column == name)
        .ok_or_else(|| StoreError::UnknownColumn {
            table: T::TABLE,
            column: name.to_owned(),
            known: columns::<T>().collect::<Vec<_>>().join(", "),
        })
}

async fn by_id<T: Table>(
    conn: &mut SqliteConnection,
    id: &str,
    last_seen: &HashMap<String, Timestamp>,
) -> Result<Option<Stored<T>>> {
    let row = sqlx::query(super::codec::trusted_sql(format!(
        "SELECT * FROM {} WHERE id = ? AND valid_to IS NULL",
        T::TABLE
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| stored_from_row(row, last_seen)).transpose()
}

/// The WHERE clause of a page: current rows, the filters, the search.
#[derive(Default)]
struct Conditions {
    filters: Vec<(&'static str, Cell)>,
    /// A `LIKE` pattern and the columns it is tried on.
    search: Option<(String, Vec<&'static str>)>,
}

impl Conditions {
    fn new<T: Table>(query: &PageQuery) -> Result<Conditions> {
        let mut filters = Vec::new();
        for filter in &query.filters {
            let column = known_column::<T>(&filter.column)?;
            let fits = match &filter.value {
                Cell::Flag(_) => T::FLAGS.contains(&column),
                Cell::Text(_) => !T::FLAGS.contains(&column),
                Cell::Empty => T::OPTIONAL.contains(&column),
            };
            if !fits {
                return Err(StoreError::UnfitFilter {
                    table: T::TABLE,
                    column,
                    value: match &filter.value {
                        Cell::Text(text) => format!("`{text}`"),
                        Cell::Flag(flag) => format!("{flag}"),
                        Cell::Empty => "no value".to_owned(),
                    },
                });
            }
            filters.push((column, filter.value.clone()));
        }
        let needle = query.search.trim();
        let search = (!needle.is_empty()).then(|| {
            let pattern = format!("%{}%", like_escaped(needle));
            let text = columns::<T>()
                .filter(|c| *c != "first_seen" && !T::FLAGS.contains(c))
                .collect();
            (pattern, text)
        });
        Ok(Conditions { filters, search })
    }

    fn is_empty(&self) -> bool {
        self.filters.is_empty() && self.search.is_none()
    }

    /// Appends ` WHERE …`; `present` adds `column IS [NOT] NULL`.
    fn push(&self, query: &mut QueryBuilder<Sqlite>, present: Option<(&str, bool)>) {
        query.push(" WHERE valid_to IS NULL");
        for (column, value) in &self.filters {
            match value {
                Cell::Text(text) => {
                    query
                        .push(format!(" AND {column} = "))
                        .push_bind(text.clone());
                }
                Cell::Flag(flag) => {
                    query
                        .push(format!(" AND {column} = "))
                        .push_bind(i64::from(*flag));
                }
                Cell::Empty => {
                    query.push(format!(" AND {column} IS NULL"));
                }
            }
        }
        if let Some((pattern, columns)) = &self.search {
            query.push(" AND (");
            for (i, column) in columns.iter().enumerate() {
                if i > 0 {
                    query.push(" OR ");
                }
                query
                    .push(format!("{column} LIKE "))
                    .push_bind(pattern.clone())
                    .push(" ESCAPE '\\'");
            }
            query.push(")");
        }
        if let Some((column, with_value)) = present {
            let test = if with_value { "IS NOT NULL" } else { "IS NULL" };
            query.push(format!(" AND {column} {test}"));
        }
    }
}

/// `text` with the `LIKE` wildcards and the escape character escaped (by a backslash).
fn like_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

async fn count<T: Table>(
    conn: &mut SqliteConnection,
    conditions: &Conditions,
    present: Option<(&str, bool)>,
) -> Result<u64> {
    let mut query = QueryBuilder::<Sqlite>::new(format!("SELECT count(*) FROM {}", T::TABLE));
    conditions.push(&mut query, present);
    let n: i64 = query.build_query_scalar().fetch_one(&mut *conn).await?;
    Ok(n as u64)
}

async fn select<T: Table>(
    conn: &mut SqliteConnection,
    conditions: &Conditions,
    present: Option<(&str, bool)>,
    order: &str,
    (offset, limit): (u64, u64),
) -> Result<Vec<sqlx::sqlite::SqliteRow>> {
    let mut query = QueryBuilder::<Sqlite>::new(format!("SELECT * FROM {}", T::TABLE));
    conditions.push(&mut query, present);
    query
        .push(format!(" ORDER BY {order} LIMIT "))
        .push_bind(limit.min(i64::MAX as u64) as i64)
        .push(" OFFSET ")
        .push_bind(offset.min(i64::MAX as u64) as i64);
    Ok(query.build().fetch_all(&mut *conn).await?)
}
