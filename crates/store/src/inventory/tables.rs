//! Each entity type's table: its columns, how a row is written and decoded, and the indexes
//! the migrations give it.

use bridle_core::estate::CanonicalEntity;
use bridle_core::time::format_utc;
use bridle_core::{
    ActionSet, Agent, Autonomy, Credential, CredentialKind, EntityKind, Grant, Identity,
    IdentityKind, Resource, ResourceKind, Sensitivity, Tool, ToolAction,
};

use super::codec::{
    Cells, JsonRow, actions_column, corrupt, json_list, list_text, time_column, word,
};
use crate::Result;

/// One entity type's mapping to its table.
pub trait Table: Sized + Send + 'static + CanonicalEntity {
    const TABLE: &'static str;
    const KIND: EntityKind;
    /// The kind's number in `entity_text` row ids (migration `0009`).
    const SEARCH_CODE: i64;
    /// The column `entity_text` indexes next to the id, if the kind has a name.
    const SEARCH_NAME: Option<&'static str>;
    /// The data columns after the common ones (id, origin, valid_from, valid_to, first_seen,
    /// content_digest).
    const COLUMNS: &'static [&'static str];

    /// Columns that may hold NULL: a sort puts their empty rows last in either direction.
    const OPTIONAL: &'static [&'static str] = &[];
    /// Columns stored as 0/1.
    const FLAGS: &'static [&'static str] = &[];
    /// Columns of JSON text (lists of ids, a tool's actions): they name an id by containing it.
    const LISTS: &'static [&'static str] = &[];
    /// Times (RFC 3339 text with as many fraction digits as needed, so not in time order as
    /// text): sorted by their value. `first_seen` is one in every table.
    const TIMES: &'static [&'static str] = &[];
    /// Human text (names, owners…), sorted case-insensitively; ids sort as written.
    const NOCASE: &'static [&'static str] = &[];

    fn id(&self) -> &str;
    /// Whether `column` of this entity names the entity `id`: equals it, or (a list) holds it.
    fn names(&self, column: &str, id: &str) -> bool;
    /// Appends the data cells (in `COLUMNS` order) to a row being written.
    fn write_cells(&self, row: &mut JsonRow);
    fn from_row(row: &mut impl Cells) -> Result<Self>;
}

impl Table for Agent {
    const TABLE: &'static str = "agents";
    const KIND: EntityKind = EntityKind::Agent;
    const SEARCH_CODE: i64 = 1;
    const SEARCH_NAME: Option<&'static str> = Some("name");
    const COLUMNS: &'static [&'static str] =
        &["name", "owner", "environment", "autonomy", "runs_as"];

    const OPTIONAL: &'static [&'static str] = &["owner", "environment"];
    const LISTS: &'static [&'static str] = &["runs_as"];
    const NOCASE: &'static [&'static str] = &["name", "owner", "environment"];

    fn id(&self) -> &str {
        &self.id
    }

    fn names(&self, column: &str, id: &str) -> bool {
        match column {
            "runs_as" => self.runs_as.iter().any(|r| r == id),
            _ => false,
        }
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
    const KIND: EntityKind = EntityKind::Identity;
    const SEARCH_CODE: i64 = 2;
    const SEARCH_NAME: Option<&'static str> = Some("name");
    const COLUMNS: &'static [&'static str] = &["kind", "name", "owner", "provider"];

    const OPTIONAL: &'static [&'static str] = &["owner", "provider"];
    const NOCASE: &'static [&'static str] = &["name", "owner", "provider"];

    fn id(&self) -> &str {
        &self.id
    }

    fn names(&self, _column: &str, _id: &str) -> bool {
        false
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
    const KIND: EntityKind = EntityKind::Credential;
    const SEARCH_CODE: i64 = 3;
    const SEARCH_NAME: Option<&'static str> = None;
    const COLUMNS: &'static [&'static str] = &[
        "identity",
        "kind",
        "issued_at",
        "expires_at",
        "last_rotated",
        "last_used",
        "fingerprint",
    ];

    const OPTIONAL: &'static [&'static str] = &[
        "issued_at",
        "expires_at",
        "last_rotated",
        "last_used",
        "fingerprint",
    ];
    const TIMES: &'static [&'static str] =
        &["issued_at", "expires_at", "last_rotated", "last_used"];

    fn id(&self) -> &str {
        &self.id
    }

    fn names(&self, column: &str, id: &str) -> bool {
        column == "identity" && self.identity == id
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
    const KIND: EntityKind = EntityKind::Resource;
    const SEARCH_CODE: i64 = 4;
    const SEARCH_NAME: Option<&'static str> = Some("name");
    const COLUMNS: &'static [&'static str] = &[
        "kind",
        "name",
        "sensitivity",
        "crown_jewel",
        "environment",
        "holds_credentials",
        "runs_as",
    ];

    const OPTIONAL: &'static [&'static str] = &["environment"];
    const FLAGS: &'static [&'static str] = &["crown_jewel"];
    const LISTS: &'static [&'static str] = &["holds_credentials", "runs_as"];
    const NOCASE: &'static [&'static str] = &["name", "environment"];

    fn id(&self) -> &str {
        &self.id
    }

    fn names(&self, column: &str, id: &str) -> bool {
        match column {
            "holds_credentials" => self.holds_credentials.iter().any(|c| c == id),
            "runs_as" => self.runs_as.iter().any(|r| r == id),
            _ => false,
        }
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
    const KIND: EntityKind = EntityKind::Tool;
    const SEARCH_CODE: i64 = 5;
    const SEARCH_NAME: Option<&'static str> = Some("name");
    const COLUMNS: &'static [&'static str] = &["name", "server", "runs_as", "acts_on"];

    const OPTIONAL: &'static [&'static str] = &["server", "runs_as"];
    const LISTS: &'static [&'static str] = &["acts_on"];
    const NOCASE: &'static [&'static str] = &["name", "server"];

    fn id(&self) -> &str {
        &self.id
    }

    fn names(&self, column: &str, id: &str) -> bool {
        match column {
            "runs_as" => self.runs_as.as_deref() == Some(id),
            "acts_on" => self.acts_on.iter().any(|a| a.resource == id),
            _ => false,
        }
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
    const KIND: EntityKind = EntityKind::Grant;
    const SEARCH_CODE: i64 = 6;
    const SEARCH_NAME: Option<&'static str> = None;
    const COLUMNS: &'static [&'static str] = &[
        "subject",
        "target",
        "actions",
        "standing",
        "expires_at",
        "conditions",
        "source",
    ];

    const OPTIONAL: &'static [&'static str] = &["expires_at", "conditions", "source"];
    const TIMES: &'static [&'static str] = &["expires_at"];
    const FLAGS: &'static [&'static str] = &["standing"];

    fn id(&self) -> &str {
        &self.id
    }

    fn names(&self, column: &str, id: &str) -> bool {
        match column {
            "subject" => self.subject == id,
            "target" => self.target == id,
            _ => false,
        }
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

/// The indexes of the entity tables as migrations `0001` and `0008` define them: (table, name, statement).
/// A bulk load drops and recreates these from here, never from `sqlite_master` (a database file
/// is input: a definition planted there must not be executed); a test pins them to what the
/// migrations create.
pub(super) const ENTITY_INDEXES: &[(&str, &str, &str)] = &[
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
        "CREATE INDEX grants_origin ON grants (origin, id) WHERE valid_to IS NULL",
    ),
    (
        "grants",
        "grants_subject",
        "CREATE INDEX grants_subject ON grants (subject, id) WHERE valid_to IS NULL",
    ),
    (
        "grants",
        "grants_target",
        "CREATE INDEX grants_target ON grants (target, id) WHERE valid_to IS NULL",
    ),
    (
        "credentials",
        "credentials_identity",
        "CREATE INDEX credentials_identity ON credentials (identity, id) WHERE valid_to IS NULL",
    ),
];

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
