//! Importing files exported by systems Bridle does not connect to (SPIRE entries, Kubernetes
//! RBAC). The file is read and mapped by `bridle_brokers`, written out as a canonical estate/v1
//! document and then goes through exactly the import path of an estate file
//! ([`PreparedImport`] and [`crate::Bridle::import`]): the same validation, the same
//! all-or-nothing transaction, snapshot and audit entry.

use std::path::Path;

use bridle_brokers::{BrokerError, Observation, UnknownPart};
use bridle_core::estate::Syntax;
use bridle_protocol as protocol;

use crate::error::{ApiError, ErrorCode, api_error};
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
        let bridle = crate::Bridle::open(&dir.path().join("b.db"), &dir.path().join("audit.key"))
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
        let outcome = bridle
            .import(
                file.prepared,
                &file.source,
                crate::now(),
                &crate::current_actor(),
            )
            .await
            .unwrap();
        let protocol::ImportOutcome::Imported { snapshot, .. } = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(snapshot.source, "import:prod");
        assert_eq!(snapshot.counts.identities, 6);
        assert_eq!(snapshot.counts.grants, 21);
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
