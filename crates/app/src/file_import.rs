//! Importing files exported by systems Bridle does not connect to (SPIRE entries, Kubernetes
//! RBAC). The file is read and mapped by `bridle_brokers`, written out as a canonical estate/v1
//! document and then goes through exactly the import path of an estate file
//! ([`PreparedImport`] and [`crate::Bridle::import`]): the same validation, the same
//! all-or-nothing transaction, snapshot and audit entry. The reader's observations (the facts the
//! estate model has no field for) are stored in that transaction too, as the source's facts in
//! place of its previous ones ([`Bridle::import_broker_file`], [`Bridle::import_observations`]).

use std::collections::BTreeSet;
use std::path::Path;

use bridle_brokers::{BrokerError, Observation, UnknownPart};
use bridle_core::estate::Syntax;
use bridle_core::time::Timestamp;
use bridle_protocol as protocol;
use bridle_protocol::brokers as wire;
use bridle_store::{Actor, StoredObservation};

use crate::Bridle;
use crate::brokers::sorted_facts;
use crate::error::{ApiError, ErrorCode, api_error, store_error};
use crate::import::{PreparedImport, source_name};

/// The exported-file formats `bridle import --format` reads besides estate/v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerFileFormat {
    /// `spire-server entry show -output json`.
    Spire,
    /// `kubectl get serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings -A -o json`.
    Kubernetes,
}

impl BrokerFileFormat {
    /// The name used when `--source` is not given (and, for Kubernetes, the cluster name in ids).
    pub fn default_name(self) -> &'static str {
        match self {
            BrokerFileFormat::Spire => "spire",
            BrokerFileFormat::Kubernetes => "kubernetes",
        }
    }
}

/// A broker file read and mapped, ready for [`crate::Bridle::import`].
#[derive(Debug)]
pub struct PreparedBrokerFile {
    pub prepared: PreparedImport,
    /// The import source: `import:<name>`.
    pub source: String,
    /// Facts the estate model has no field for (SVID TTLs, selectors, which binding gave a grant).
    pub observations: Vec<Observation>,
    /// What the file cannot tell (group members, roles a binding names but the file lacks).
    pub unknowns: Vec<UnknownPart>,
}

/// Reads `path` in `format`. `name` (from `--source`) names the source `import:<name>` and, for
/// Kubernetes, the cluster in every id; it defaults to [`BrokerFileFormat::default_name`].
///
/// A bad file is not an `Err`: it is `Ok(Err(outcome))` with a rejected [`protocol::ImportOutcome`]
/// whose diagnostic carries the JSON path, exactly like a rejected estate file; nothing is
/// written. `Err` is reserved for a bad argument.
pub fn prepare_broker_file(
    format: BrokerFileFormat,
    path: &Path,
    name: Option<&str>,
) -> Result<Result<PreparedBrokerFile, protocol::ImportOutcome>, ApiError> {
    let name = name.unwrap_or(format.default_name());
    let source = source_name(Some(name))?;
    let read = match format {
        BrokerFileFormat::Spire => bridle_brokers::spire::read(path),
        BrokerFileFormat::Kubernetes => bridle_brokers::kubernetes::read(path, name),
    };
    let collected = match read {
        Ok(collected) => collected,
        Err(BrokerError::File {
            location, message, ..
        }) => {
            return Ok(Err(protocol::ImportOutcome::Rejected {
                diagnostics: vec![protocol::Diagnostic {
                    severity: protocol::Severity::Error,
                    location,
                    message,
                }],
            }));
        }
        Err(other) => return Err(api_error(ErrorCode::InvalidInput, other.to_string())),
    };
    let mut document = Vec::new();
    bridle_core::estate::write_canonical(&collected.estate, &mut document).map_err(|e| {
        api_error(
            ErrorCode::Internal,
            format!("writing the mapped estate in memory: {e}"),
        )
    })?;
    Ok(Ok(PreparedBrokerFile {
        prepared: PreparedImport::from_bytes(path.display().to_string(), &document, Syntax::Json),
        source,
        observations: collected.observations,
        unknowns: collected.unknowns,
    }))
}

/// The import source an observation read names: `import`, `import:<name>`, or a bare `<name>`
/// (as given to `--source`).
fn import_source(name: &str) -> Result<String, ApiError> {
    if name == "import" || name.starts_with("import:") {
        return Ok(name.to_owned());
    }
    if let Some(profile) = name.strip_prefix("broker:") {
        return Err(api_error(
            ErrorCode::InvalidInput,
            format!(
                "`{name}` is a broker's source; its facts are per sync (`bridle broker observations {profile}`)"
            ),
        ));
    }
    source_name(Some(name))
}

impl Bridle {
    /// Imports a prepared broker file: its estate as a new snapshot of its source (exactly as
    /// [`Bridle::import`]) and its observations in place of the source's previous ones, in the
    /// same transaction. A rejected import writes neither.
    pub async fn import_broker_file(
        &self,
        file: PreparedBrokerFile,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<protocol::ImportOutcome, ApiError> {
        let mut seen = BTreeSet::new();
        let mut observations = Vec::with_capacity(file.observations.len());
        for o in &file.observations {
            if !seen.insert((o.kind.as_str(), o.id.as_str())) {
                return Err(api_error(
                    ErrorCode::Internal,
                    format!(
                        "the {} reader produced observation {} {} twice",
                        file.prepared.origin, o.kind, o.id
                    ),
                ));
            }
            observations.push(StoredObservation {
                kind: o.kind.clone(),
                id: o.id.clone(),
                facts: sorted_facts(&o.facts),
            });
        }
        self.import_observed(file.prepared, &file.source, &observations, at, actor)
            .await
    }

    /// The observations of an imported broker file's source (`import:<name>` or `<name>`) as its
    /// latest import left them, optionally of one kind, by kind and id; like
    /// [`Bridle::broker_observations`] for a sync. A source never imported is `NotFound`.
    pub async fn import_observations(
        &self,
        source: &str,
        kind: Option<&str>,
    ) -> Result<Vec<wire::Observation>, ApiError> {
        let source = import_source(source)?;
        if self
            .store
            .latest_snapshot_of(&source)
            .await
            .map_err(store_error)?
            .is_none()
        {
            return Err(api_error(
                ErrorCode::NotFound,
                format!("source `{source}` has never been imported (see `bridle snapshots`)"),
            ));
        }
        Ok(self
            .store
            .import_observations(&source, kind)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|row| wire::Observation {
                facts: serde_json::from_str(&row.observation.facts)
                    .unwrap_or(serde_json::Value::Null),
                kind: row.observation.kind,
                id: row.observation.id,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/brokers")
            .join(name)
    }

    #[tokio::test]
    async fn a_broker_file_lands_as_one_snapshot_of_its_source() {
        let dir = tempfile::tempdir().unwrap();
        let bridle = Bridle::open(&dir.path().join("b.db"), &dir.path().join("audit.key"))
            .await
            .unwrap();
        let file = prepare_broker_file(
            BrokerFileFormat::Kubernetes,
            &fixture("k8s-rbac.json"),
            Some("prod"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(file.source, "import:prod");
        assert_eq!(file.unknowns.len(), 2);
        let observed = file.observations.len();
        let outcome = bridle
            .import_broker_file(file, crate::now(), &crate::current_actor())
            .await
            .unwrap();
        let protocol::ImportOutcome::Imported { snapshot, .. } = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(snapshot.source, "import:prod");
        // As the reader's snapshot (`k8s-rbac.txt`) has them: the accounts, groups, user and
        // cluster-admin identities, rule and technique grants.
        assert_eq!(snapshot.counts.identities, 9);
        assert_eq!(snapshot.counts.grants, 33);
        let stored = bridle.import_observations("prod", None).await.unwrap();
        assert_eq!(stored.len(), observed);
        bridle.close().await.unwrap();
    }

    #[tokio::test]
    async fn the_facts_of_a_source_are_its_latest_imports() {
        let dir = tempfile::tempdir().unwrap();
        let bridle = Bridle::open(&dir.path().join("b.db"), &dir.path().join("audit.key"))
            .await
            .unwrap();
        let actor = crate::current_actor();
        let import = async |name: &str, source: &str| {
            let file = prepare_broker_file(BrokerFileFormat::Spire, &fixture(name), Some(source))
                .unwrap()
                .unwrap();
            bridle
                .import_broker_file(file, crate::now(), &actor)
                .await
                .unwrap()
        };
        let entries = |list: Vec<wire::Observation>| -> Vec<(String, serde_json::Value)> {
            list.into_iter()
                .map(|o| (o.id, o.facts["x509_svid_ttl"].clone()))
                .collect()
        };
        import("spire-entries-current.json", "spire").await;
        let first = entries(
            bridle
                .import_observations("import:spire", Some("spire.entry"))
                .await
                .unwrap(),
        );
        assert_eq!(first.len(), 5);
        assert!(first.contains(&(
            "e1d7c0de-0002-4a11-9b00-00000000aa02".to_owned(),
            serde_json::json!(14400)
        )));

        // The same file again: the same facts, not twice as many.
        import("spire-entries-current.json", "spire").await;
        assert_eq!(
            entries(bridle.import_observations("spire", None).await.unwrap()),
            first
        );

        // Refused inside the transaction (another source owns one of its ids): nothing changes.
        let other = PreparedImport::from_bytes(
            "other".into(),
            br#"{"bridle":"estate/v1","identities":[{"id":"spiffe://example.org/agents/support-bot","kind":"spiffe","name":"s"}]}"#,
            Syntax::Json,
        );
        bridle
            .import(other, "import:other", crate::now(), &actor)
            .await
            .unwrap();
        let refused = import("spire-entries.json", "spire").await;
        assert!(
            matches!(refused, protocol::ImportOutcome::Rejected { .. }),
            "{refused:?}"
        );
        assert_eq!(
            entries(bridle.import_observations("spire", None).await.unwrap()),
            first
        );
        assert!(
            bridle
                .import_observations("other", None)
                .await
                .unwrap()
                .is_empty()
        );
        let missing = bridle
            .import_observations("nowhere", None)
            .await
            .unwrap_err();
        assert_eq!(missing.code, ErrorCode::NotFound);
        let broker = bridle
            .import_observations("broker:bao", None)
            .await
            .unwrap_err();
        assert_eq!(broker.code, ErrorCode::InvalidInput);
        bridle.close().await.unwrap();
    }

    #[test]
    fn a_bad_file_is_a_located_rejection() {
        let outcome = prepare_broker_file(
            BrokerFileFormat::Spire,
            &fixture("spire-bad-spiffe-id.json"),
            None,
        )
        .unwrap()
        .unwrap_err();
        let protocol::ImportOutcome::Rejected { diagnostics } = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(diagnostics[0].location, "entries[0].spiffe_id");
        assert!(
            prepare_broker_file(
                BrokerFileFormat::Spire,
                &fixture("spire-entries.json"),
                Some("two words")
            )
            .is_err()
        );
    }
}
