//! Requests and responses of the desktop console: paged inventory tables, global search, imports
//! by path, and what the window needs to know about the database it opened.

use serde::{Deserialize, Serialize};

/// The six entity kinds, as the console's tables name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InventoryKind {
    Agents,
    Identities,
    Credentials,
    Resources,
    Tools,
    Grants,
}

impl InventoryKind {
    pub const ALL: [InventoryKind; 6] = [
        InventoryKind::Agents,
        InventoryKind::Identities,
        InventoryKind::Credentials,
        InventoryKind::Resources,
        InventoryKind::Tools,
        InventoryKind::Grants,
    ];

    /// The plural word used in URLs and by `bridle ls`.
    pub fn as_str(self) -> &'static str {
        match self {
            InventoryKind::Agents => "agents",
            InventoryKind::Identities => "identities",
            InventoryKind::Credentials => "credentials",
            InventoryKind::Resources => "resources",
            InventoryKind::Tools => "tools",
            InventoryKind::Grants => "grants",
        }
    }

    pub fn parse(word: &str) -> Option<InventoryKind> {
        InventoryKind::ALL.into_iter().find(|k| k.as_str() == word)
    }
}

/// One page of one kind's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryQuery {
    pub kind: InventoryKind,
    /// Case-insensitive text that some cell of a row must contain; empty matches every row.
    pub search: String,
    /// Exact values that named columns must have (all must hold).
    pub filters: Vec<ColumnFilter>,
    /// Column key to sort by (default: `id`).
    pub sort: Option<String>,
    pub descending: bool,
    pub offset: u64,
    pub limit: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnFilter {
    pub column: String,
    pub value: String,
}

/// A page of rows with their columns, ready to render in one generic table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryPage {
    pub kind: InventoryKind,
    pub columns: Vec<Column>,
    pub rows: Vec<TableRow>,
    /// Every current entity of this kind.
    pub total: u64,
    /// Rows that pass the search and filters.
    pub matched: u64,
    pub offset: u64,
    /// Columns that can be filtered by value, with each value's count over all rows.
    pub facets: Vec<Facet>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub key: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRow {
    pub id: String,
    /// One cell per column, in column order; empty when the field is unset.
    pub cells: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facet {
    pub column: String,
    pub label: String,
    pub values: Vec<FacetValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
}

/// Global search over ids and names of every current entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    pub text: String,
    pub limit: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    /// Best matches first: exact id, id prefix, then substring of id or name.
    pub hits: Vec<crate::EntityRef>,
    /// All matches, of which `hits` are the first `limit`.
    pub matched: u64,
}

/// Import the estate file at `path` (JSON, or YAML by extension).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRequest {
    pub path: String,
    /// Keep the file's entities as source `import:NAME`; none means the default source `import`.
    pub source: Option<String>,
}

/// What the window shows about the inventory it opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleInfo {
    pub database: String,
    pub log_file: String,
    pub version: String,
}

/// One entity of any kind, tagged from outside (`{"identity": {...}}`): unlike
/// [`crate::Entity`], whose internal `kind` tag collides with the `kind` field of identities,
/// credentials and resources, this reads back what it writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityData {
    Agent(crate::AgentRow),
    Identity(crate::IdentityRow),
    Credential(crate::CredentialRow),
    Resource(crate::ResourceRow),
    Tool(crate::ToolRow),
    Grant(crate::GrantRow),
}

/// An entity and everything directly connected to it, as the console's entity page shows it
/// (the same content as [`crate::EntityDetail`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityPage {
    pub entity: EntityData,
    pub grants_out: Vec<crate::GrantRow>,
    pub grants_in: Vec<crate::GrantRow>,
    pub credentials: Vec<crate::CredentialRow>,
    pub tools: Vec<crate::ToolRow>,
    pub referenced_by: Vec<crate::Reference>,
}
