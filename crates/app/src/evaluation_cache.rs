//! The current inventory and its privilege graph, loaded and built once and shared by every
//! request until the inventory changes.
//!
//! Loading a million grants from SQLite and building their graph takes seconds; a console that
//! did it per click would need seconds per click. The inventory changes only by a new snapshot
//! (an import or a sync), so the newest snapshot's id is the key: a request first asks the store
//! for it (one indexed read) and reuses what was built for it. The graph also depends on the
//! evaluation time, but only through expiry: a graph built at one time is reused for another
//! when no grant or credential expires between the two (`PrivilegeGraph::unchanged_at`), so the
//! console's clicks, each at its own "now", share one graph until something actually expires.
//! Results then state the time asked for, not the time the graph was built at.
//! The locks are async and held while loading, so concurrent requests wait for one load instead
//! of running several.

use std::collections::HashMap;
use std::sync::Arc;

use bridle_core::graph::PrivilegeGraph;
use bridle_core::time::Timestamp;
use bridle_core::{EntityKind, Estate};
use tokio::sync::Mutex;

use bridle_core::compliance::Passes;

use crate::Bridle;
use crate::compliance::Checked;
use crate::error::{ApiError, store_error};

/// The key: the newest snapshot's id (`None` before the first import).
type Version = Option<i64>;

/// How many current rows hold each value of one column of one kind, as shown.
pub(crate) type ValueCounts = Vec<(String, u64)>;

/// Values worked out at one inventory version, by key; storing one for a newer version drops
/// the rest.
struct PerVersion<K, V> {
    version: Version,
    values: HashMap<K, V>,
}

impl<K, V> Default for PerVersion<K, V> {
    fn default() -> Self {
        PerVersion {
            version: None,
            values: HashMap::new(),
        }
    }
}

impl<K: Eq + std::hash::Hash, V: Clone> PerVersion<K, V> {
    fn get(&self, version: Version, key: &K) -> Option<V> {
        (self.version == version)
            .then(|| self.values.get(key).cloned())
            .flatten()
    }

    fn insert(&mut self, version: Version, key: K, value: V) {
        if self.version != version {
            self.version = version;
            self.values.clear();
        }
        self.values.insert(key, value);
    }
}

#[derive(Default)]
pub(crate) struct EvaluationCache {
    estate: Mutex<Option<(Version, Arc<Estate>)>>,
    graph: Mutex<Option<(Version, Arc<PrivilegeGraph>)>>,
    /// The console's facets: (kind, column) → counts, for one version. Counting a column of a
    /// million grants is a scan; the counts change only with the inventory.
    value_counts: Mutex<PerVersion<(EntityKind, String), ValueCounts>>,
    /// (total, matched) of the listings asked for, by (kind, filters, search), for one version.
    list_counts: Mutex<PerVersion<ListingKey, (u64, u64)>>,
    /// The last evaluation of the checks, by (newest audit entry, time, passes listed or not).
    pub(crate) checked: Mutex<Option<(CheckedKey, Arc<Checked>)>>,
}

pub(crate) type CheckedKey = (i64, Timestamp, Passes);

/// The filters (column, value) and search text of one listing of one kind.
pub(crate) type ListingKey = (EntityKind, Vec<(String, String)>, String);

impl std::fmt::Debug for EvaluationCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EvaluationCache")
    }
}

impl Bridle {
    async fn inventory_version(&self) -> Result<Version, ApiError> {
        Ok(self
            .store
            .latest_snapshot()
            .await
            .map_err(store_error)?
            .map(|s| s.id))
    }

    /// The current inventory, loaded once per snapshot.
    pub async fn current_estate(&self) -> Result<Arc<Estate>, ApiError> {
        let version = self.inventory_version().await?;
        let mut cached = self.cache.estate.lock().await;
        if let Some((at_version, estate)) = cached.as_ref()
            && *at_version == version
        {
            return Ok(Arc::clone(estate));
        }
        let estate = Arc::new(self.store.current_estate().await.map_err(store_error)?);
        *cached = Some((version, Arc::clone(&estate)));
        Ok(estate)
    }

    /// The (total, matched) counts of a listing, if one with the same filters and search was
    /// counted at the current version (the version is returned to store a new count under).
    pub(crate) async fn known_list_counts(
        &self,
        key: &ListingKey,
    ) -> Result<(Version, Option<(u64, u64)>), ApiError> {
        let version = self.inventory_version().await?;
        let known = self.cache.list_counts.lock().await.get(version, key);
        Ok((version, known))
    }

    pub(crate) async fn remember_list_counts(
        &self,
        version: Version,
        key: ListingKey,
        counts: (u64, u64),
    ) {
        self.cache
            .list_counts
            .lock()
            .await
            .insert(version, key, counts);
    }

    /// [`Bridle::value_counts`] kept per inventory version.
    pub(crate) async fn cached_value_counts(
        &self,
        kind: EntityKind,
        column: &str,
    ) -> Result<ValueCounts, ApiError> {
        let version = self.inventory_version().await?;
        let mut cached = self.cache.value_counts.lock().await;
        let key = (kind, column.to_owned());
        if let Some(counts) = cached.get(version, &key) {
            return Ok(counts);
        }
        let counts = self.value_counts(kind, column).await?;
        cached.insert(version, key, counts.clone());
        Ok(counts)
    }

    /// The privilege graph of the current inventory at `at`: built once per snapshot and reused
    /// for every time at which it is the same graph. Its [`PrivilegeGraph::at`] may be another
    /// such time; callers report `at`.
    pub async fn current_graph(&self, at: Timestamp) -> Result<Arc<PrivilegeGraph>, ApiError> {
        let estate = self.current_estate().await?;
        let version = self.inventory_version().await?;
        let mut cached = self.cache.graph.lock().await;
        if let Some((at_version, graph)) = cached.as_ref()
            && *at_version == version
            && graph.unchanged_at(at)
        {
            return Ok(Arc::clone(graph));
        }
        let graph = Arc::new(
            tokio::task::spawn_blocking(move || PrivilegeGraph::build(&estate, at))
                .await
                .map_err(|e| crate::error::api_error(crate::ErrorCode::Internal, e.to_string()))?,
        );
        *cached = Some((version, Arc::clone(&graph)));
        Ok(graph)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bridle_core::estate::Syntax;

    use crate::PreparedImport;
    use crate::test_support::{actor, empty, import_demo};

    const ONLY_ONE_AGENT: &str = r#"{"bridle":"estate/v1","agents":[{"id":"agent:only","name":"Only","autonomy":"supervised","runs_as":[]}]}"#;

    #[tokio::test]
    async fn an_import_replaces_the_cached_estate_and_graph() {
        let (_dir, bridle) = empty().await;
        let empty = bridle.current_estate().await.unwrap();
        assert!(empty.agents.is_empty());
        let at = crate::now();
        import_demo(&bridle, at).await;
        let first = bridle.current_estate().await.unwrap();
        assert!(!first.agents.is_empty(), "the import is seen");
        assert!(Arc::ptr_eq(&first, &bridle.current_estate().await.unwrap()));
        let graph = bridle.current_graph(at).await.unwrap();
        assert!(Arc::ptr_eq(
            &graph,
            &bridle.current_graph(at).await.unwrap()
        ));
        // A second later nothing has expired: the same graph. Past the demo's expiries: another.
        let soon = at + chrono::Duration::seconds(1);
        assert!(Arc::ptr_eq(
            &graph,
            &bridle.current_graph(soon).await.unwrap()
        ));
        let later = at + chrono::Duration::days(400);
        assert!(!Arc::ptr_eq(
            &graph,
            &bridle.current_graph(later).await.unwrap()
        ));

        let prepared =
            PreparedImport::from_bytes("s".into(), ONLY_ONE_AGENT.as_bytes(), Syntax::Json);
        bridle
            .import(prepared, crate::DEMO_SOURCE, at, &actor())
            .await
            .unwrap();
        let second = bridle.current_estate().await.unwrap();
        assert_eq!(second.agents.len(), 1);
        let graph = bridle.current_graph(later).await.unwrap();
        assert!(graph.reach("agent:only").is_ok());
        assert!(graph.reach("agent:support-bot").is_err());
    }

    /// A cached evaluation is never served after the database changed: an import between two
    /// checks at the same time shows in the second.
    #[tokio::test]
    async fn checks_are_evaluated_again_after_any_write() {
        let (_dir, bridle) = empty().await;
        let at = crate::now();
        import_demo(&bridle, at).await;
        let passes = bridle_core::compliance::Passes::Count;
        let first = bridle.check(at, None, None, passes).await.unwrap();
        assert_eq!(first, bridle.check(at, None, None, passes).await.unwrap());
        let prepared =
            PreparedImport::from_bytes("s".into(), ONLY_ONE_AGENT.as_bytes(), Syntax::Json);
        bridle
            .import(prepared, crate::DEMO_SOURCE, at, &actor())
            .await
            .unwrap();
        let second = bridle.check(at, None, None, passes).await.unwrap();
        assert_ne!(second.totals, first.totals);
        assert!(
            second
                .findings
                .iter()
                .all(|f| !f.id.contains("support-bot"))
        );
    }
}
