//! Live connectors: each reads one broker (or one exported file) and maps what it finds into the
//! estate model, so a sync is an import like any other: one transaction, one snapshot, the
//! previous state kept whole when anything fails.
//!
//! A connector returns [`Collected`]: the estate fragment (entities with provenance
//! `<kind>:<profile>:<path>`), the broker facts the estate model has no field for (role TTLs,
//! bound claims, token accessors, tool annotations, token lifetimes) as [`Observation`]s, and the
//! parts it could not read with the reason ([`UnknownPart`]) — a missing permission makes a part
//! unknown, it does not fail the sync. Secrets are read through a [`SecretRef`] at the moment they
//! are needed and live in a [`Secret`] whose `Debug` and `Display` print a redaction.
//!
//! No SQL and no clock here: the caller stores the result and passes the time in.

pub mod error;
pub mod kubernetes;
pub mod limits;
pub mod mcp;
pub mod oidc;
pub mod openbao;
pub mod profile;
pub mod secret;
pub mod spire;
#[cfg(test)]
mod test_server;

pub use error::BrokerError;
pub use profile::{BrokerKind, Profile, TlsOptions, Transport, is_loopback};
pub use secret::{Secret, SecretRef};

use bridle_core::model::Estate;
use serde::{Deserialize, Serialize};

/// What one connector read from one broker.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Collected {
    /// Entities mapped into the estate model (the part the privilege graph sees).
    pub estate: Estate,
    /// Facts the estate model has no field for, kept per sync so drift can compare them.
    pub observations: Vec<Observation>,
    /// Parts that could not be read, and why (never silently empty).
    pub unknowns: Vec<UnknownPart>,
}

/// One broker fact: `kind` names what it is (`vault.role`, `vault.token`, `mcp.tool`,
/// `oidc.token`…), `id` is stable across syncs (the drift key), `facts` is a flat JSON object
/// with sorted keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub kind: String,
    pub id: String,
    pub facts: serde_json::Map<String, serde_json::Value>,
}

/// A part of the broker that was not read, e.g. `token accessors` with
/// `403 permission denied on auth/token/accessors (needs sudo)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownPart {
    pub part: String,
    pub reason: String,
}
