//! How entity rows cross the SQLite boundary: the JSON text bulk inserts unpack, and the cells a
//! stored row is decoded from (a sqlx row or a row of a JSON-aggregated chunk).

use bridle_core::ActionSet;
use bridle_core::time::{Timestamp, parse_utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::{Result, StoreError};

/// Marks SQL assembled from this module's own table and column constants (never from input) as
/// safe; every value goes through a bind.
pub(super) fn trusted_sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

/// Rows being written, as the JSON array of arrays that the insert's `json_each` unpacks.
#[derive(Default)]
pub struct JsonRow {
    text: Vec<u8>,
    first_cell: bool,
}

impl JsonRow {
    pub(super) fn clear(&mut self) {
        self.text.clear();
        self.text.push(b'[');
    }

    pub(super) fn begin(&mut self) {
        if self.text.len() > 1 {
            self.text.push(b',');
        }
        self.text.push(b'[');
        self.first_cell = true;
    }

    /// One cell: text, NULL (`None`), an integer, or a flag (true/false arrive as 1/0).
    pub(super) fn cell(&mut self, value: impl serde::Serialize) {
        if !self.first_cell {
            self.text.push(b',');
        }
        self.first_cell = false;
        serde_json::to_writer(&mut self.text, &value)
            .expect("strings, numbers, options and flags serialize");
    }

    pub(super) fn end(&mut self) {
        self.text.push(b']');
    }

    pub(super) fn finish(&mut self) -> &str {
        self.text.push(b']');
        std::str::from_utf8(&self.text).expect("serde_json writes UTF-8")
    }
}

/// One stored row's cells by column name: either a sqlx row or a row of a JSON-aggregated chunk
/// (see [`load`]), so each table's decoding is written once for both.
pub trait Cells {
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
pub(super) struct JsonCells<'a> {
    pub(super) columns: &'a [&'static str],
    pub(super) values: Vec<serde_json::Value>,
}

impl JsonCells<'_> {
    pub(super) fn cell(&mut self, table: &'static str, name: &str) -> Result<serde_json::Value> {
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

pub(super) fn corrupt(table: &'static str, id: String, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table,
        id,
        reason: reason.into(),
    }
}

pub(super) fn time_column(
    table: &'static str,
    row: &mut impl Cells,
    name: &str,
) -> Result<Option<Timestamp>> {
    row.text(table, name)?
        .map(|t| parse_utc(&t).map_err(|reason| corrupt(table, row.id(), reason)))
        .transpose()
}

pub(super) fn json_list(
    table: &'static str,
    row: &mut impl Cells,
    name: &str,
) -> Result<Vec<String>> {
    let text = row.required(table, name)?;
    serde_json::from_str(&text).map_err(|e| corrupt(table, row.id(), format!("{name}: {e}")))
}

pub(super) fn word<T>(
    table: &'static str,
    row: &mut impl Cells,
    name: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T> {
    let text = row.required(table, name)?;
    parse(&text).ok_or_else(|| corrupt(table, row.id(), format!("{name}: unknown value `{text}`")))
}

pub(super) fn actions_column(
    table: &'static str,
    row: &mut impl Cells,
    name: &str,
) -> Result<ActionSet> {
    let text = row.required(table, name)?;
    text.split(',')
        .map(|w| {
            bridle_core::Action::parse(w)
                .ok_or_else(|| corrupt(table, row.id(), format!("unknown action `{w}`")))
        })
        .collect()
}

pub(super) fn list_text(list: &[String]) -> String {
    serde_json::to_string(list).expect("a list of strings serializes")
}
