//! Estate file, version 1: reading (JSON and YAML) with located diagnostics, and the canonical
//! JSON form that exports and snapshot hashes use.
//!
//! Reading streams the document: each entity is materialised on its own, read field by field, and
//! dropped, so a million-grant estate never exists as one generic JSON tree. Every problem is
//! reported with its JSON path; validation never stops at the first one.

mod canonical;
mod diagnostic;
mod fields;
mod read;
mod references;
mod validate;

pub use canonical::{CanonicalEntity, CanonicalEstate, canonical_sha256, write_canonical};
pub use diagnostic::{Diagnostic, Location, Severity};
pub use fields::{MAX_ID_BYTES, check_environment, check_id};
pub use references::dangling_references;
pub use validate::Unresolved;

use sha2::{Digest, Sha256};

use crate::model::{ActionSet, Estate};

/// The value of the `bridle` key that identifies this format.
pub const FORMAT_TAG: &str = "estate/v1";

/// The syntax an estate document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Json,
    Yaml,
}

impl Syntax {
    /// YAML for `.yaml`/`.yml` files, JSON otherwise (JSON is the canonical form).
    pub fn from_file_name(name: &str) -> Syntax {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Syntax::Yaml
        } else {
            Syntax::Json
        }
    }
}

/// The outcome of reading a document: the estate when it has no errors, and every diagnostic.
#[derive(Debug)]
pub struct Parsed {
    pub estate: Option<Estate>,
    pub diagnostics: Vec<Diagnostic>,
}

/// A document read with its references to undefined ids left open, for an import that can
/// resolve them against other sources. `estate` is present when nothing else is wrong.
#[derive(Debug)]
pub struct OpenParsed {
    pub estate: Option<Estate>,
    pub diagnostics: Vec<Diagnostic>,
    pub unresolved: Vec<Unresolved>,
}

impl OpenParsed {
    /// Closes the open references: each is resolved by `lookup` (kind and source of an id defined
    /// elsewhere) or becomes an error.
    pub fn resolve(
        self,
        mut lookup: impl FnMut(&str) -> Option<(crate::model::EntityKind, String)>,
    ) -> Parsed {
        let OpenParsed {
            mut estate,
            mut diagnostics,
            unresolved,
        } = self;
        for reference in unresolved {
            let problem = match lookup(&reference.id) {
                None => Some(reference.unknown()),
                Some((kind, source)) => reference.check_external(kind, &source),
            };
            diagnostics.extend(problem);
        }
        diagnostics.sort_by_key(|d| d.severity);
        if diagnostics.iter().any(Diagnostic::is_error) {
            estate = None;
        }
        Parsed {
            estate,
            diagnostics,
        }
    }
}

impl Parsed {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }
}

/// Reads and validates an estate/v1 document. The estate is returned only when there is no
/// error; warnings (e.g. an action that means nothing for its target) do not reject it.
pub fn parse(bytes: &[u8], syntax: Syntax) -> Parsed {
    parse_open(bytes, syntax).resolve(|_| None)
}

/// Reads and validates a document like [`parse`], but leaves references to ids the document does
/// not define open for the caller to resolve.
pub fn parse_open(bytes: &[u8], syntax: Syntax) -> OpenParsed {
    let mut collected = read::read_document(bytes, syntax);
    if !collected.syntax_failed {
        validate::validate(&mut collected);
    }
    let mut diagnostics = collected.diagnostics;
    // Errors first, then warnings; each group in document order (sorting is stable).
    diagnostics.sort_by_key(|d| d.severity);
    let estate = (!diagnostics.iter().any(Diagnostic::is_error)).then_some(collected.estate);
    OpenParsed {
        estate,
        diagnostics,
        unresolved: collected.unresolved,
    }
}

/// The id of a grant written without one: `g:` + the first 16 hex digits of
/// sha256(subject + "\n" + target + "\n" + sorted actions joined by ",").
pub fn derived_grant_id(subject: &str, target: &str, actions: ActionSet) -> String {
    let mut hasher = Sha256::new();
    hasher.update(subject.as_bytes());
    hasher.update(b"\n");
    hasher.update(target.as_bytes());
    hasher.update(b"\n");
    hasher.update(actions.to_string().as_bytes());
    let digest = hex::encode(hasher.finalize());
    format!("g:{}", &digest[..16])
}

#[cfg(test)]
mod tests;
