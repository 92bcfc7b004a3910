//! The rows that decide results — risks and their events, attestations and their files, flows,
//! broker profiles — bound to the audit log: each write's entry records the digest of every bound
//! row it changed (`rows` in its detail: `"risks/3": "<sha256>"`, `null` for a deleted row), so
//! replaying the log gives the digest every row must have now, and a direct table edit shows up
//! with the row it concerns.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use sqlx::SqliteConnection;

use crate::Result;

/// One bound table and the query that gives each row's key and the JSON array of every column,
/// as SQLite writes it (`json_array` gives one canonical text per row; blobs are hexed).
struct Bound {
    table: &'static str,
    query: &'static str,
}

const BOUND: [Bound; 8] = [
    Bound {
        table: "risks",
        query: "SELECT CAST(id AS TEXT), json_array(id, title, description, categories, likelihood, \
                impact, residual_likelihood, residual_impact, owner, treatment, status, due, \
                accepted_by, accepted_reason, accepted_at, acceptance_expires, findings, controls, \
                agents, created_at, updated_at) FROM risks",
    },
    Bound {
        table: "risk_events",
        query: "SELECT CAST(id AS TEXT), json_array(id, risk_id, at, user, host, action, detail, \
                audit_seq) FROM risk_events",
    },
    Bound {
        table: "risk_versions",
        query: "SELECT risk_id || '@' || audit_seq, json_array(risk_id, at, audit_seq, title, \
                description, categories, likelihood, impact, residual_likelihood, residual_impact, \
                owner, treatment, status, due, accepted_by, accepted_reason, accepted_at, \
                acceptance_expires, findings, controls, agents, created_at, updated_at) \
                FROM risk_versions",
    },
    Bound {
        table: "attestations",
        query: "SELECT CAST(id AS TEXT), json_array(id, target_kind, target, statement, at, user, \
                host, file_name, file_sha256, audit_seq, expires) FROM attestations",
    },
    Bound {
        table: "attestation_files",
        query: "SELECT sha256, json_array(sha256, size, hex(content)) FROM attestation_files",
    },
    Bound {
        table: "flow_versions",
        query: "SELECT flow_id || '@' || version, json_array(flow_id, version, document, sha256, at, \
                user, host, audit_seq) FROM flow_versions",
    },
    Bound {
        table: "flows",
        query: "SELECT id, json_array(id, agent, version) FROM flows",
    },
    Bound {
        table: "broker_profiles",
        query: "SELECT name, json_array(name, kind, address, profile, created_at, updated_at) \
                FROM broker_profiles",
    },
];

/// `table/key` → sha256 of the row, for every bound row.
pub(crate) async fn current_rows(conn: &mut SqliteConnection) -> Result<BTreeMap<String, String>> {
    let mut rows = BTreeMap::new();
    for bound in &BOUND {
        let found: Vec<(String, String)> =
            sqlx::query_as(bound.query).fetch_all(&mut *conn).await?;
        for (key, json) in found {
            rows.insert(
                format!("{}/{key}", bound.table),
                hex::encode(Sha256::digest(json.as_bytes())),
            );
        }
    }
    Ok(rows)
}

/// What changed from `before` to `after`: the new digest of each changed or added row, `None`
/// for a removed one.
pub(crate) fn changes(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> BTreeMap<String, Option<String>> {
    let mut changed = BTreeMap::new();
    for (key, digest) in after {
        if before.get(key) != Some(digest) {
            changed.insert(key.clone(), Some(digest.clone()));
        }
    }
    for key in before.keys() {
        if !after.contains_key(key) {
            changed.insert(key.clone(), None);
        }
    }
    changed
}

/// A row key as a reader names it: `risks/3` → `risk R-3 (row risks/3)`.
pub(crate) fn describe(key: &str) -> String {
    match key.split_once('/') {
        Some(("risks", id)) => format!("risk R-{id} (row {key})"),
        Some(("attestations", id)) => format!("attestation {id} (row {key})"),
        Some(("flows", id)) => format!("flow {id} (row {key})"),
        Some(("broker_profiles", name)) => format!("broker profile {name} (row {key})"),
        _ => format!("row {key}"),
    }
}
