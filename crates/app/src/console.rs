//! What the desktop console asks for beyond the CLI's commands: one generic, paged, filtered and
//! sorted table per kind, global search over ids and names, and imports named by a path.
//!
//! The tables are built from the same protocol rows `list` returns, so the console and
//! `bridle ls --json` can never disagree about what exists.

use std::path::Path;

use bridle_core::EntityKind;
use bridle_core::time::Timestamp;
use bridle_protocol as protocol;
use bridle_protocol::console::{
    Column, EntityData, EntityPage, Facet, FacetValue, ImportRequest, InventoryKind, InventoryPage,
    InventoryQuery, SearchQuery, SearchResults, TableRow,
};
use bridle_store::Actor;

use crate::error::{ApiError, store_error};
use crate::{Bridle, PreparedImport};

/// The most rows one page may hold; the UI asks for far fewer.
const MAX_PAGE: u64 = 1_000;

impl Bridle {
    /// One page of a kind's table: rows matching `search` (the id or a text column contains it,
    /// ASCII case-insensitive) and every column filter, sorted by one column (then by id), with
    /// value counts for the filterable columns. Sorting, filtering and paging happen in the
    /// store ([`Bridle::list_page`]), so a page costs the same on ten rows or a million.
    pub async fn inventory_page(&self, query: &InventoryQuery) -> Result<InventoryPage, ApiError> {
        let kind = entity_kind(query.kind);
        let page = self
            .list_page(
                kind,
                &protocol::ListQuery {
                    sort: query.sort.clone(),
                    descending: query.descending,
                    filters: query.filters.clone(),
                    search: query.search.clone(),
                    offset: query.offset,
                    limit: Some(query.limit.clamp(1, MAX_PAGE)),
                },
            )
            .await?;
        let (columns, facet_columns, rows) = table(&page.rows);
        let mut facets = Vec::with_capacity(facet_columns.len());
        for key in facet_columns {
            let label = columns
                .iter()
                .find(|c| c.key == *key)
                .map(|c| c.label.clone())
                .unwrap_or_default();
            facets.push(Facet {
                column: (*key).to_owned(),
                label,
                values: self
                    .cached_value_counts(kind, key)
                    .await?
                    .into_iter()
                    .map(|(value, count)| FacetValue { value, count })
                    .collect(),
            });
        }
        Ok(InventoryPage {
            kind: query.kind,
            columns,
            rows,
            total: page.total,
            matched: page.matched,
            offset: query.offset.min(page.matched),
            facets,
        })
    }

    /// Entities whose id or name contains `text` (case-insensitive), best matches first: exact
    /// ids and names, then prefixes, then the rest (the store's trigram index answers it).
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchResults, ApiError> {
        let (hits, matched) = self
            .store
            .search_current(&query.text, query.limit.clamp(1, MAX_PAGE))
            .await
            .map_err(store_error)?;
        Ok(SearchResults {
            hits: hits
                .into_iter()
                .map(|hit| protocol::EntityRef {
                    id: hit.id,
                    kind: hit.kind,
                    name: hit.name,
                })
                .collect(),
            matched,
        })
    }

    /// [`Bridle::show`] in the console's shape (see [`EntityData`]).
    pub async fn entity_page(&self, id: &str) -> Result<EntityPage, ApiError> {
        let detail = self.show(id).await?;
        Ok(EntityPage {
            entity: match detail.entity {
                protocol::Entity::Agent(row) => EntityData::Agent(row),
                protocol::Entity::Identity(row) => EntityData::Identity(row),
                protocol::Entity::Credential(row) => EntityData::Credential(row),
                protocol::Entity::Resource(row) => EntityData::Resource(row),
                protocol::Entity::Tool(row) => EntityData::Tool(row),
                protocol::Entity::Grant(row) => EntityData::Grant(row),
            },
            grants_out: detail.grants_out,
            grants_in: detail.grants_in,
            credentials: detail.credentials,
            tools: detail.tools,
            referenced_by: detail.referenced_by,
        })
    }

    /// Reads, validates and imports the file a request names (see [`Bridle::import`]).
    pub async fn import_request(
        &self,
        request: &ImportRequest,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<protocol::ImportOutcome, ApiError> {
        let source = crate::source_name(
            request
                .source
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty()),
        )?;
        let prepared = PreparedImport::read_file(Path::new(request.path.trim()))?;
        self.import(prepared, &source, at, actor).await
    }
}

fn entity_kind(kind: InventoryKind) -> EntityKind {
    match kind {
        InventoryKind::Agents => EntityKind::Agent,
        InventoryKind::Identities => EntityKind::Identity,
        InventoryKind::Credentials => EntityKind::Credential,
        InventoryKind::Resources => EntityKind::Resource,
        InventoryKind::Tools => EntityKind::Tool,
        InventoryKind::Grants => EntityKind::Grant,
    }
}

fn time(t: Option<Timestamp>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn text(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// Columns, the keys of the filterable ones, and one row of cells per entity.
fn table(list: &protocol::EntityList) -> (Vec<Column>, &'static [&'static str], Vec<TableRow>) {
    fn columns(spec: &[(&str, &str)]) -> Vec<Column> {
        spec.iter()
            .map(|(key, label)| Column {
                key: (*key).to_owned(),
                label: (*label).to_owned(),
            })
            .collect()
    }
    fn rows<T>(items: &[T], cells: impl Fn(&T) -> (String, Vec<String>)) -> Vec<TableRow> {
        items
            .iter()
            .map(|item| {
                let (id, cells) = cells(item);
                TableRow { id, cells }
            })
            .collect()
    }
    match list {
        protocol::EntityList::Agents(items) => (
            columns(&[
                ("id", "ID"),
                ("name", "Name"),
                ("owner", "Owner"),
                ("environment", "Environment"),
                ("autonomy", "Autonomy"),
                ("runs_as", "Runs as"),
                ("origin", "Source"),
            ]),
            &["environment", "autonomy", "origin"],
            rows(items, |r| {
                (
                    r.id.clone(),
                    vec![
                        r.id.clone(),
                        r.name.clone(),
                        text(&r.owner),
                        text(&r.environment),
                        r.autonomy.clone(),
                        r.runs_as.join(", "),
                        r.provenance.origin.clone(),
                    ],
                )
            }),
        ),
        protocol::EntityList::Identities(items) => (
            columns(&[
                ("id", "ID"),
                ("kind", "Kind"),
                ("name", "Name"),
                ("owner", "Owner"),
                ("provider", "Provider"),
                ("origin", "Source"),
            ]),
            &["kind", "provider", "origin"],
            rows(items, |r| {
                (
                    r.id.clone(),
                    vec![
                        r.id.clone(),
                        r.kind.clone(),
                        r.name.clone(),
                        text(&r.owner),
                        text(&r.provider),
                        r.provenance.origin.clone(),
                    ],
                )
            }),
        ),
        protocol::EntityList::Credentials(items) => (
            columns(&[
                ("id", "ID"),
                ("identity", "Identity"),
                ("kind", "Kind"),
                ("issued_at", "Issued"),
                ("expires_at", "Expires"),
                ("last_rotated", "Rotated"),
                ("last_used", "Last used"),
                ("origin", "Source"),
            ]),
            &["kind", "origin"],
            rows(items, |r| {
                (
                    r.id.clone(),
                    vec![
                        r.id.clone(),
                        r.identity.clone(),
                        r.kind.clone(),
                        time(r.issued_at),
                        time(r.expires_at),
                        time(r.last_rotated),
                        time(r.last_used),
                        r.provenance.origin.clone(),
                    ],
                )
            }),
        ),
        protocol::EntityList::Resources(items) => (
            columns(&[
                ("id", "ID"),
                ("kind", "Kind"),
                ("name", "Name"),
                ("sensitivity", "Sensitivity"),
                ("crown_jewel", "Crown jewel"),
                ("environment", "Environment"),
                ("origin", "Source"),
            ]),
            &[
                "kind",
                "sensitivity",
                "crown_jewel",
                "environment",
                "origin",
            ],
            rows(items, |r| {
                (
                    r.id.clone(),
                    vec![
                        r.id.clone(),
                        r.kind.clone(),
                        r.name.clone(),
                        r.sensitivity.clone(),
                        yes_no(r.crown_jewel),
                        text(&r.environment),
                        r.provenance.origin.clone(),
                    ],
                )
            }),
        ),
        protocol::EntityList::Tools(items) => (
            columns(&[
                ("id", "ID"),
                ("name", "Name"),
                ("server", "Server"),
                ("runs_as", "Runs as"),
                ("acts_on", "Acts on"),
                ("origin", "Source"),
            ]),
            &["server", "origin"],
            rows(items, |r| {
                (
                    r.id.clone(),
                    vec![
                        r.id.clone(),
                        r.name.clone(),
                        text(&r.server),
                        text(&r.runs_as),
                        r.acts_on
                            .iter()
                            .map(|a| format!("{} ({})", a.resource, a.actions.join(" ")))
                            .collect::<Vec<_>>()
                            .join(", "),
                        r.provenance.origin.clone(),
                    ],
                )
            }),
        ),
        protocol::EntityList::Grants(items) => (
            columns(&[
                ("id", "ID"),
                ("subject", "Subject"),
                ("target", "Target"),
                ("actions", "Actions"),
                ("standing", "Standing"),
                ("expires_at", "Expires"),
                ("origin", "Source"),
            ]),
            &["standing", "origin"],
            rows(items, |r| {
                (
                    r.id.clone(),
                    vec![
                        r.id.clone(),
                        r.subject.clone(),
                        r.target.clone(),
                        r.actions.join(" "),
                        yes_no(r.standing),
                        time(r.expires_at),
                        r.provenance.origin.clone(),
                    ],
                )
            }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridle_protocol::console::ColumnFilter;

    async fn demo() -> (tempfile::TempDir, Bridle) {
        crate::test_support::with_demo().await
    }

    fn query(kind: InventoryKind) -> InventoryQuery {
        InventoryQuery {
            kind,
            search: String::new(),
            filters: Vec::new(),
            sort: None,
            descending: false,
            offset: 0,
            limit: 10,
        }
    }

    #[tokio::test]
    async fn pages_filters_and_sorts_agree_with_list() {
        let (_dir, bridle) = demo().await;
        let all = bridle.list(EntityKind::Grant).await.unwrap().len() as u64;
        let page = bridle
            .inventory_page(&query(InventoryKind::Grants))
            .await
            .unwrap();
        assert_eq!(page.total, all);
        assert_eq!(page.matched, all);
        assert_eq!(page.rows.len() as u64, all.min(10));

        let standing = page.facets.iter().find(|f| f.column == "standing").unwrap();
        let yes = standing.values.iter().find(|v| v.value == "yes").unwrap();
        let mut filtered = query(InventoryKind::Grants);
        filtered.filters.push(ColumnFilter {
            column: "standing".into(),
            value: "yes".into(),
        });
        filtered.limit = 1_000;
        let page = bridle.inventory_page(&filtered).await.unwrap();
        assert_eq!(page.matched, yes.count);
        assert!(page.rows.iter().all(|r| r.cells[4] == "yes"));

        let mut sorted = query(InventoryKind::Agents);
        sorted.sort = Some("name".into());
        sorted.descending = true;
        sorted.limit = 1_000;
        let names: Vec<String> = bridle
            .inventory_page(&sorted)
            .await
            .unwrap()
            .rows
            .into_iter()
            .map(|r| r.cells[1].to_lowercase())
            .collect();
        let mut expected = names.clone();
        expected.sort_by(|a, b| b.cmp(a));
        assert_eq!(names, expected);
    }

    #[tokio::test]
    async fn search_ranks_exact_ids_first() {
        let (_dir, bridle) = demo().await;
        let agents = bridle.list(EntityKind::Agent).await.unwrap();
        let protocol::EntityList::Agents(agents) = agents else {
            unreachable!()
        };
        let first = &agents[0];
        let results = bridle
            .search(&SearchQuery {
                text: first.id.to_uppercase(),
                limit: 5,
            })
            .await
            .unwrap();
        assert_eq!(results.hits[0].id, first.id);
        assert_eq!(results.hits[0].kind, "agent");
    }
}
