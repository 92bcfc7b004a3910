//! Importing an estate file: validated in full before the database is touched, then written in
//! one transaction as a new snapshot of its source.

use std::path::Path;

use bridle_core::estate::{self, Diagnostic, OpenParsed, Syntax};
use bridle_core::time::Timestamp;
use bridle_protocol as protocol;
use bridle_store::{Actor, StoredObservation};

use crate::Bridle;
use crate::convert;
use crate::error::{ApiError, ErrorCode, api_error, store_error};

/// An estate document read and validated on its own, before any database is opened.
#[derive(Debug)]
pub struct PreparedImport {
    /// What the user named (the path as given, or a label such as "demo estate").
    pub origin: String,
    parsed: OpenParsed,
}

/// `import` or `import:<name>`.
pub fn source_name(name: Option<&str>) -> Result<String, ApiError> {
    match name {
        None => Ok("import".to_owned()),
        Some(name)
            if !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(format!("import:{name}"))
        }
        Some(name) => Err(api_error(
            ErrorCode::InvalidInput,
            format!("source name `{name}` must be a non-empty word without spaces"),
        )),
    }
}

impl PreparedImport {
    /// Reads and validates the file at `path` (YAML by its extension, JSON otherwise).
    pub fn read_file(path: &Path) -> Result<PreparedImport, ApiError> {
        let bytes = std::fs::read(path).map_err(|e| {
            api_error(
                ErrorCode::InvalidInput,
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let syntax = Syntax::from_file_name(&path.to_string_lossy());
        Ok(PreparedImport::from_bytes(
            path.display().to_string(),
            &bytes,
            syntax,
        ))
    }

    pub fn from_bytes(origin: String, bytes: &[u8], syntax: Syntax) -> PreparedImport {
        PreparedImport {
            origin,
            parsed: estate::parse_open(bytes, syntax),
        }
    }

    /// The rejection that needs no database: errors in the document itself, or references that
    /// nothing could resolve because there is no database (`database_exists` false) to hold other
    /// sources. `None` when the database must be consulted.
    pub fn rejection_without_database(
        &self,
        database_exists: bool,
    ) -> Option<protocol::ImportOutcome> {
        let unresolvable = !database_exists && !self.parsed.unresolved.is_empty();
        if self.parsed.estate.is_some() && !unresolvable {
            return None;
        }
        let mut diagnostics: Vec<Diagnostic> = self.parsed.diagnostics.clone();
        diagnostics.extend(self.parsed.unresolved.iter().map(|r| r.unknown()));
        diagnostics.sort_by_key(|d| d.severity);
        Some(protocol::ImportOutcome::Rejected {
            diagnostics: diagnostics.iter().map(convert::diagnostic).collect(),
        })
    }
}

impl Bridle {
    /// Imports a prepared document as source `source` (see [`source_name`]). Cross-source
    /// references are resolved and id conflicts checked inside the write transaction; a rejected
    /// import writes nothing.
    ///
    /// The source's file-import observations are replaced by none: an estate file says no broker
    /// facts (see [`Bridle::import_broker_file`]).
    pub async fn import(
        &self,
        prepared: PreparedImport,
        source: &str,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<protocol::ImportOutcome, ApiError> {
        self.import_observed(prepared, source, &[], at, actor).await
    }

    /// [`Bridle::import`] with the source's observations replaced by `observations`, in the same
    /// transaction.
    pub(crate) async fn import_observed(
        &self,
        prepared: PreparedImport,
        source: &str,
        observations: &[StoredObservation],
        at: Timestamp,
        actor: &Actor,
    ) -> Result<protocol::ImportOutcome, ApiError> {
        if let Some(rejected) = prepared.rejection_without_database(true) {
            return Ok(rejected);
        }
        let PreparedImport { origin, parsed } = prepared;
        let warnings: Vec<protocol::Diagnostic> = parsed
            .diagnostics
            .iter()
            .filter(|d| !d.is_error())
            .map(convert::diagnostic)
            .collect();
        let Some(estate) = parsed.estate.as_ref() else {
            return Err(api_error(
                ErrorCode::Internal,
                "a valid estate went missing",
            ));
        };
        let unresolved = &parsed.unresolved;
        let mut rejection: Vec<Diagnostic> = Vec::new();
        let outcome = self
            .store
            .import_with_observations(
                source,
                Some(&origin),
                estate,
                observations,
                at,
                actor,
                |others| check_against_other_sources(estate, unresolved, others, &mut rejection),
            )
            .await
            .map_err(store_error)?;
        match outcome {
            Ok(summary) => {
                tracing::info!(snapshot = summary.snapshot.id, source, "import landed");
                Ok(protocol::ImportOutcome::Imported {
                    snapshot: convert::snapshot(&summary.snapshot),
                    warnings,
                })
            }
            Err(reasons) => {
                let mut diagnostics = rejection;
                // Reasons found after the write was tried (references other sources still hold
                // into what this import removes) concern the inventory as a whole.
                diagnostics.extend(
                    reasons
                        .into_iter()
                        .map(|reason| Diagnostic::error("$", reason)),
                );
                diagnostics.extend(parsed.diagnostics.iter().filter(|d| !d.is_error()).cloned());
                Ok(protocol::ImportOutcome::Rejected {
                    diagnostics: diagnostics.iter().map(convert::diagnostic).collect(),
                })
            }
        }
    }
}

/// The checks that need the other sources (run inside the write transaction): open references
/// resolve to entities of the right kind, and no id is taken from another source. Problems go to
/// `rejection`; `Err` tells the store to write nothing.
pub(crate) fn check_against_other_sources(
    estate: &bridle_core::Estate,
    unresolved: &[estate::Unresolved],
    others: &bridle_store::SourceNamespace,
    rejection: &mut Vec<Diagnostic>,
) -> bridle_store::Verdict {
    for reference in unresolved {
        let problem = match others.ids.get(&reference.id) {
            None => Some(reference.unknown()),
            Some((kind, owner)) => reference.check_external(*kind, owner),
        };
        rejection.extend(problem);
    }
    if !others.ids.is_empty() {
        rejection.extend(owned_elsewhere(estate, &others.ids));
    }
    if rejection.is_empty() {
        Ok(())
    } else {
        Err(Vec::new())
    }
}

/// Ids of this document that another source already owns: one source cannot silently take over
/// another's entity.
fn owned_elsewhere(
    estate: &bridle_core::Estate,
    others: &std::collections::HashMap<String, (bridle_core::EntityKind, String)>,
) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    let mut check = |kind: &str, index: usize, id: &str| {
        if let Some((_, owner)) = others.get(id) {
            found.push(Diagnostic::error(
                format!("{kind}[{index}].id"),
                format!(
                    "id `{id}` already belongs to source `{owner}`; import it there or rename it"
                ),
            ));
        }
    };
    // A valid estate's lists hold every entity of the document in document order, so list
    // positions are the document's array indices.
    for (i, e) in estate.agents.iter().enumerate() {
        check("agents", i, &e.id);
    }
    for (i, e) in estate.identities.iter().enumerate() {
        check("identities", i, &e.id);
    }
    for (i, e) in estate.credentials.iter().enumerate() {
        check("credentials", i, &e.id);
    }
    for (i, e) in estate.resources.iter().enumerate() {
        check("resources", i, &e.id);
    }
    for (i, e) in estate.tools.iter().enumerate() {
        check("tools", i, &e.id);
    }
    for (i, e) in estate.grants.iter().enumerate() {
        check("grants", i, &e.id);
    }
    found
}
