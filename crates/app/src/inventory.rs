//! Reading the inventory: lists, entity pages, snapshots, exports, the audit log, the overview.

use bridle_core::time::Timestamp;
use bridle_core::{EntityKind, Estate};
use bridle_protocol as protocol;

use crate::Bridle;
use crate::convert;
use crate::error::{ApiError, ErrorCode, api_error, store_error};
use bridle_core::{Agent, Credential, Grant, Identity, Resource, Tool};
use bridle_store::{Actor, Cell, Filter, PageQuery, Stored, StoredEntity};

/// A snapshot's stated hash next to the hash of its reconstruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotCheck {
    pub snapshot: i64,
    pub stated: String,
    pub reconstructed: String,
}

impl SnapshotCheck {
    pub fn holds(&self) -> bool {
        self.stated == self.reconstructed
    }
}

impl Bridle {
    /// The current entities of one kind, ordered by id.
    pub async fn list(&self, kind: EntityKind) -> Result<protocol::EntityList, ApiError> {
        let store = &self.store;
        Ok(match kind {
            EntityKind::Agent => protocol::EntityList::Agents(
                store
                    .current_agents()
                    .await
                    .map_err(store_error)?
                    .iter()
                    .map(convert::agent)
                    .collect(),
            ),
            EntityKind::Identity => protocol::EntityList::Identities(
                store
                    .current_identities()
                    .await
                    .map_err(store_error)?
                    .iter()
                    .map(convert::identity)
                    .collect(),
            ),
            EntityKind::Credential => protocol::EntityList::Credentials(
                store
                    .current_credentials()
                    .await
                    .map_err(store_error)?
                    .iter()
                    .map(convert::credential)
                    .collect(),
            ),
            EntityKind::Resource => protocol::EntityList::Resources(
                store
                    .current_resources()
                    .await
                    .map_err(store_error)?
                    .iter()
                    .map(convert::resource)
                    .collect(),
            ),
            EntityKind::Tool => protocol::EntityList::Tools(
                store
                    .current_tools()
                    .await
                    .map_err(store_error)?
                    .iter()
                    .map(convert::tool)
                    .collect(),
            ),
            EntityKind::Grant => protocol::EntityList::Grants(
                store
                    .current_grants()
                    .await
                    .map_err(store_error)?
                    .iter()
                    .map(convert::grant)
                    .collect(),
            ),
        })
    }

    /// One page of a kind's current rows, sorted, filtered and searched by the store (the
    /// estate is never loaded): what `bridle ls` with paging options and the console's tables
    /// show.
    pub async fn list_page(
        &self,
        kind: EntityKind,
        query: &protocol::ListQuery,
    ) -> Result<protocol::ListPage, ApiError> {
        let page = PageQuery {
            sort: query.sort.clone(),
            descending: query.descending,
            filters: query
                .filters
                .iter()
                .map(|f| Filter {
                    column: f.column.clone(),
                    value: filter_cell(&f.column, &f.value),
                })
                .collect(),
            search: query.search.clone(),
            offset: query.offset,
            limit: query.limit.unwrap_or(u64::MAX),
            known_counts: None,
        };
        // Counting a filter over a million rows is a scan; the next page of the same listing
        // reuses the count while the inventory is unchanged.
        let key = (
            kind,
            query
                .filters
                .iter()
                .map(|f| (f.column.clone(), f.value.clone()))
                .collect(),
            query.search.trim().to_owned(),
        );
        let (version, known) = self.known_list_counts(&key).await?;
        let page = PageQuery {
            known_counts: known,
            ..page
        };
        let store = &self.store;
        let (rows, total, matched) = match kind {
            EntityKind::Agent => {
                let p = store
                    .current_page::<Agent>(&page)
                    .await
                    .map_err(store_error)?;
                let rows = p.rows.iter().map(convert::agent).collect();
                (protocol::EntityList::Agents(rows), p.total, p.matched)
            }
            EntityKind::Identity => {
                let p = store
                    .current_page::<Identity>(&page)
                    .await
                    .map_err(store_error)?;
                let rows = p.rows.iter().map(convert::identity).collect();
                (protocol::EntityList::Identities(rows), p.total, p.matched)
            }
            EntityKind::Credential => {
                let p = store
                    .current_page::<Credential>(&page)
                    .await
                    .map_err(store_error)?;
                let rows = p.rows.iter().map(convert::credential).collect();
                (protocol::EntityList::Credentials(rows), p.total, p.matched)
            }
            EntityKind::Resource => {
                let p = store
                    .current_page::<Resource>(&page)
                    .await
                    .map_err(store_error)?;
                let rows = p.rows.iter().map(convert::resource).collect();
                (protocol::EntityList::Resources(rows), p.total, p.matched)
            }
            EntityKind::Tool => {
                let p = store
                    .current_page::<Tool>(&page)
                    .await
                    .map_err(store_error)?;
                let rows = p.rows.iter().map(convert::tool).collect();
                (protocol::EntityList::Tools(rows), p.total, p.matched)
            }
            EntityKind::Grant => {
                let p = store
                    .current_page::<Grant>(&page)
                    .await
                    .map_err(store_error)?;
                let rows = p.rows.iter().map(convert::grant).collect();
                (protocol::EntityList::Grants(rows), p.total, p.matched)
            }
        };
        if known.is_none() {
            self.remember_list_counts(version, key, (total, matched))
                .await;
        }
        Ok(protocol::ListPage {
            total,
            matched,
            offset: query.offset,
            rows,
        })
    }

    /// How many current rows of `kind` hold each value of `column`, as `ls` prints values
    /// (`yes`/`no` for flags, the empty text for none), ordered by that text.
    pub async fn value_counts(
        &self,
        kind: EntityKind,
        column: &str,
    ) -> Result<Vec<(String, u64)>, ApiError> {
        let store = &self.store;
        let counts = match kind {
            EntityKind::Agent => store.current_value_counts::<Agent>(column).await,
            EntityKind::Identity => store.current_value_counts::<Identity>(column).await,
            EntityKind::Credential => store.current_value_counts::<Credential>(column).await,
            EntityKind::Resource => store.current_value_counts::<Resource>(column).await,
            EntityKind::Tool => store.current_value_counts::<Tool>(column).await,
            EntityKind::Grant => store.current_value_counts::<Grant>(column).await,
        }
        .map_err(store_error)?;
        let mut shown: Vec<(String, u64)> = counts
            .into_iter()
            .map(|(cell, n)| {
                let text = match cell {
                    Cell::Text(text) => text,
                    Cell::Flag(true) => "yes".to_owned(),
                    Cell::Flag(false) => "no".to_owned(),
                    Cell::Empty => String::new(),
                };
                (text, n)
            })
            .collect();
        shown.sort();
        Ok(shown)
    }

    /// One entity and everything directly connected to it, by point queries on the store's
    /// indexes (the estate is never loaded).
    pub async fn show(&self, id: &str) -> Result<protocol::EntityDetail, ApiError> {
        let store = &self.store;
        let Some(found) = store.current_entity(id).await.map_err(store_error)? else {
            return Err(api_error(
                ErrorCode::NotFound,
                format!("no current entity has the id `{id}`"),
            ));
        };
        let mut held_here: Vec<String> = Vec::new();
        let entity = match &found {
            StoredEntity::Agent(a) => protocol::Entity::Agent(convert::agent(a)),
            StoredEntity::Identity(i) => protocol::Entity::Identity(convert::identity(i)),
            StoredEntity::Credential(c) => protocol::Entity::Credential(convert::credential(c)),
            StoredEntity::Resource(r) => {
                held_here.clone_from(&r.entity.holds_credentials);
                protocol::Entity::Resource(convert::resource(r))
            }
            StoredEntity::Tool(t) => protocol::Entity::Tool(convert::tool(t)),
            StoredEntity::Grant(g) => protocol::Entity::Grant(convert::grant(g)),
        };

        let reference = |id: &str, kind: EntityKind, name: &str, field: &str| protocol::Reference {
            from: protocol::EntityRef {
                id: id.to_owned(),
                kind: kind.as_str().to_owned(),
                name: Some(name.to_owned()),
            },
            field: field.to_owned(),
        };
        let mut referenced_by = Vec::new();
        let agents: Vec<Stored<Agent>> = store
            .current_naming("runs_as", id)
            .await
            .map_err(store_error)?;
        for a in &agents {
            referenced_by.push(reference(
                &a.entity.id,
                EntityKind::Agent,
                &a.entity.name,
                "runs_as",
            ));
        }
        let resources = by_id_union(
            store
                .current_naming::<Resource>("runs_as", id)
                .await
                .map_err(store_error)?,
            store
                .current_naming::<Resource>("holds_credentials", id)
                .await
                .map_err(store_error)?,
        );
        for r in &resources {
            if r.entity.runs_as.iter().any(|x| x == id) {
                referenced_by.push(reference(
                    &r.entity.id,
                    EntityKind::Resource,
                    &r.entity.name,
                    "runs_as",
                ));
            }
            if r.entity.holds_credentials.iter().any(|x| x == id) {
                referenced_by.push(reference(
                    &r.entity.id,
                    EntityKind::Resource,
                    &r.entity.name,
                    "holds_credentials",
                ));
            }
        }
        let credentials = by_id_union(
            store
                .current_naming::<Credential>("identity", id)
                .await
                .map_err(store_error)?,
            store
                .current_with_ids::<Credential>(&held_here)
                .await
                .map_err(store_error)?,
        );
        let tools = by_id_union(
            store
                .current_naming::<Tool>("runs_as", id)
                .await
                .map_err(store_error)?,
            store
                .current_naming::<Tool>("acts_on", id)
                .await
                .map_err(store_error)?,
        );
        let grants_out: Vec<Stored<Grant>> = store
            .current_naming("subject", id)
            .await
            .map_err(store_error)?;
        let grants_in: Vec<Stored<Grant>> = store
            .current_naming("target", id)
            .await
            .map_err(store_error)?;
        Ok(protocol::EntityDetail {
            entity,
            grants_out: grants_out.iter().map(convert::grant).collect(),
            grants_in: grants_in.iter().map(convert::grant).collect(),
            credentials: credentials.iter().map(convert::credential).collect(),
            tools: tools.iter().map(convert::tool).collect(),
            referenced_by,
        })
    }

    pub async fn snapshots(&self) -> Result<Vec<protocol::Snapshot>, ApiError> {
        Ok(self
            .store
            .snapshots()
            .await
            .map_err(store_error)?
            .iter()
            .map(convert::snapshot)
            .collect())
    }

    /// Rebuilds every snapshot from the temporal rows and compares its hash with the one stated
    /// when it was taken.
    pub async fn check_snapshots(&self) -> Result<Vec<SnapshotCheck>, ApiError> {
        let mut checks = Vec::new();
        for snapshot in self.store.snapshots().await.map_err(store_error)? {
            let estate = self
                .store
                .estate_at(snapshot.id)
                .await
                .map_err(store_error)?;
            checks.push(SnapshotCheck {
                snapshot: snapshot.id,
                stated: snapshot.estate_sha256,
                reconstructed: bridle_core::estate::canonical_sha256(&estate),
            });
        }
        Ok(checks)
    }

    /// Writes the current inventory (or the one after snapshot `snapshot`) as a canonical
    /// estate/v1 document, streamed to `out`.
    pub async fn write_estate<W: std::io::Write>(
        &self,
        snapshot: Option<i64>,
        out: W,
    ) -> Result<(), ApiError> {
        let estate = self.estate(snapshot).await?;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
        bridle_core::estate::write_canonical(&estate, &mut out)
            .and_then(|()| std::io::Write::flush(&mut out))
            .map_err(|e| api_error(ErrorCode::Internal, format!("writing the estate: {e}")))
    }

    /// The current inventory, or the one after a snapshot.
    pub async fn estate(&self, snapshot: Option<i64>) -> Result<Estate, ApiError> {
        Ok(match snapshot {
            None => self.store.current_estate().await.map_err(store_error)?,
            Some(id) => self.store.estate_at(id).await.map_err(store_error)?,
        })
    }

    pub async fn audit_log(&self) -> Result<Vec<protocol::AuditEntry>, ApiError> {
        Ok(self
            .store
            .audit_entries()
            .await
            .map_err(store_error)?
            .iter()
            .map(convert::audit_entry)
            .collect())
    }

    /// Verifies the audit log (chain, anchors, bound rows); `deep` also rebuilds every snapshot
    /// and checks it against the hash its import recorded.
    pub async fn verify_audit(&self, deep: bool) -> Result<protocol::AuditVerification, ApiError> {
        let v = self.store.verify_audit().await.map_err(store_error)?;
        let mut problems = v.problems;
        let mut snapshots_rebuilt = None;
        if deep {
            let recorded: std::collections::HashMap<i64, String> = self
                .store
                .audit_entries()
                .await
                .map_err(store_error)?
                .iter()
                .filter_map(|e| {
                    let detail: serde_json::Value = serde_json::from_str(&e.detail).ok()?;
                    Some((
                        detail.get("snapshot")?.as_i64()?,
                        detail.get("estate_sha256")?.as_str()?.to_owned(),
                    ))
                })
                .collect();
            let snapshots = self.store.snapshots().await.map_err(store_error)?;
            for snapshot in &snapshots {
                let rebuilt = bridle_core::estate::canonical_sha256(
                    &self
                        .store
                        .estate_at(snapshot.id)
                        .await
                        .map_err(store_error)?,
                );
                if rebuilt != snapshot.estate_sha256 {
                    problems.push(format!(
                        "snapshot {} rebuilds to {rebuilt}, not the {} it records: its rows were changed outside Bridle",
                        snapshot.id, snapshot.estate_sha256
                    ));
                }
                match recorded.get(&snapshot.id) {
                    Some(audited) if *audited != snapshot.estate_sha256 => problems.push(format!(
                        "snapshot {} records {}, but its audited import recorded {audited}",
                        snapshot.id, snapshot.estate_sha256
                    )),
                    Some(_) => {}
                    None => {
                        problems.push(format!("snapshot {} has no audited import", snapshot.id))
                    }
                }
            }
            snapshots_rebuilt = Some(snapshots.len() as u64);
        }
        Ok(protocol::AuditVerification {
            intact: problems.is_empty(),
            entries: v.entries,
            head_hash: v.head_hash,
            first_broken_seq: v.first_broken_seq,
            problems,
            acknowledged: v
                .acknowledged
                .iter()
                .map(convert::acknowledged_break)
                .collect(),
            notes: v.notes,
            snapshots_rebuilt,
        })
    }

    /// Acknowledges a broken audit log (`reason` required), the one write allowed on it.
    pub async fn acknowledge_audit(
        &self,
        reason: &str,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<protocol::AcknowledgedBreak, ApiError> {
        let acknowledged = self
            .store
            .acknowledge_audit(reason, at, actor)
            .await
            .map_err(store_error)?;
        Ok(convert::acknowledged_break(&acknowledged))
    }

    /// The dashboard's figures at time `at`.
    /// The dashboard: counts and the figures a risk officer watches, counted by the store.
    pub async fn overview(&self, at: Timestamp) -> Result<protocol::Overview, ApiError> {
        let limit = chrono::Duration::days(i64::from(self.settings.rotation_limit_days));
        let figures = self
            .store
            // `at - rotated > limit` is `rotated < at - limit`.
            .current_figures(at, at - limit)
            .await
            .map_err(store_error)?;
        Ok(protocol::Overview {
            counts: convert::counts(&figures.counts),
            agents_without_owner: figures.agents_without_owner,
            long_lived_credentials: figures.long_lived_credentials,
            standing_grants: figures.standing_grants,
            rotation_limit_days: self.settings.rotation_limit_days,
            at,
            last_snapshot: self
                .store
                .latest_snapshot()
                .await
                .map_err(store_error)?
                .as_ref()
                .map(convert::snapshot),
        })
    }
}

/// A filter value as printed (`yes`/`no` for the flag columns, or `standing`/`just-in-time` as
/// `ls grants` prints that one; empty for none) as the store compares it.
fn filter_cell(column: &str, value: &str) -> Cell {
    match (column, value) {
        (_, "") => Cell::Empty,
        ("crown_jewel" | "standing", "yes" | "true") | ("standing", "standing") => Cell::Flag(true),
        ("crown_jewel" | "standing", "no" | "false") | ("standing", "just-in-time") => {
            Cell::Flag(false)
        }
        _ => Cell::Text(value.to_owned()),
    }
}

/// Two id-ordered lists of rows as one, each entity once, in id order.
fn by_id_union<T: HasId>(mut a: Vec<Stored<T>>, b: Vec<Stored<T>>) -> Vec<Stored<T>> {
    a.extend(b);
    a.sort_by(|x, y| x.entity.id().cmp(y.entity.id()));
    a.dedup_by(|x, y| x.entity.id() == y.entity.id());
    a
}

trait HasId {
    fn id(&self) -> &str;
}

impl HasId for Resource {
    fn id(&self) -> &str {
        &self.id
    }
}

impl HasId for Credential {
    fn id(&self) -> &str {
        &self.id
    }
}

impl HasId for Tool {
    fn id(&self) -> &str {
        &self.id
    }
}
