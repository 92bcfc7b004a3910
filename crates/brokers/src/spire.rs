//! SPIRE registration entries from `spire-server entry show -output json`, for servers Bridle
//! cannot reach over HTTP (the SPIRE server API is gRPC on a local socket).
//!
//! Mapping:
//! - every SPIFFE ID (an entry's `spiffe_id`, and every `parent_id`) becomes an identity of kind
//!   `spiffe`, provider `spire`;
//! - every entry becomes a grant *parent → SPIFFE ID* with action `impersonate`: the parent (a
//!   SPIRE agent, or the server for node entries) hands out the entry's SVIDs to any workload
//!   matching the selectors, so whoever controls the parent can obtain that identity. The
//!   selectors are the grant's conditions; an entry's expiry is the grant's expiry;
//! - an `admin` or `downstream` entry is also a grant *SPIFFE ID → the trust domain's server*
//!   (`impersonate`): its holder can register entries or obtain a CA, i.e. become anything the
//!   server issues;
//! - the facts the estate model has no field for (selectors, x509/JWT SVID TTLs, admin,
//!   downstream, federation, DNS names) are a `spire.entry` observation per entry.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use bridle_core::model::{Action, ActionSet, Grant, Identity, IdentityKind};
use bridle_core::time::{Timestamp, format_utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::{BrokerError, Collected, Observation};

/// Reads a JSON document into `T`, locating every problem by its JSON path (`entries[3].spiffe_id`;
/// `$` for the document itself). Shared by the file importers.
pub(crate) fn read_json_document<T: DeserializeOwned>(path: &Path) -> Result<T, BrokerError> {
    let bytes = std::fs::read(path).map_err(|e| BrokerError::File {
        file: path.display().to_string(),
        location: "$".to_owned(),
        message: format!("cannot read the file: {e}"),
    })?;
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let location = match e.path().to_string() {
            dot if dot == "." => "$".to_owned(),
            other => other,
        };
        BrokerError::File {
            file: path.display().to_string(),
            location,
            message: e.into_inner().to_string(),
        }
    })?;
    deserializer.end().map_err(|e| BrokerError::File {
        file: path.display().to_string(),
        location: "$".to_owned(),
        message: e.to_string(),
    })?;
    Ok(value)
}

/// A protojson int64: SPIRE's CLI writes 64-bit integers as strings (`"expires_at": "0"`), older
/// versions as numbers. Both are accepted.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Int64 {
    Number(i64),
    Text(String),
}

impl Int64 {
    fn value(&self) -> Option<i64> {
        match self {
            Int64::Number(n) => Some(*n),
            Int64::Text(text) => text.parse().ok(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct EntryList {
    entries: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct SpiffeId {
    trust_domain: String,
    path: String,
}

#[derive(Debug, Deserialize)]
struct Selector {
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

#[derive(Debug, Deserialize)]
struct Entry {
    id: String,
    spiffe_id: SpiffeId,
    parent_id: SpiffeId,
    selectors: Vec<Selector>,
    #[serde(default)]
    x509_svid_ttl: Option<i64>,
    #[serde(default)]
    jwt_svid_ttl: Option<i64>,
    #[serde(default)]
    federates_with: Vec<String>,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    downstream: bool,
    #[serde(default)]
    expires_at: Option<Int64>,
    #[serde(default)]
    dns_names: Vec<String>,
    #[serde(default)]
    hint: Option<String>,
    #[serde(default)]
    created_at: Option<Int64>,
}

/// Reads a `spire-server entry show -output json` file. Every problem is a
/// [`BrokerError::File`] naming the JSON path; nothing is returned partially.
pub fn read(path: &Path) -> Result<Collected, BrokerError> {
    let list: EntryList = read_json_document(path)?;
    let file = path.display().to_string();
    let label = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.clone());
    let fail = |location: String, message: String| BrokerError::File {
        file: file.clone(),
        location,
        message,
    };

    let mut identities: BTreeMap<String, Identity> = BTreeMap::new();
    let mut parents: BTreeSet<String> = BTreeSet::new();
    let mut grants = Vec::new();
    let mut observations = Vec::new();
    let mut seen_entries = BTreeSet::new();

    for (index, entry) in list.entries.iter().enumerate() {
        let at = |field: &str| format!("entries[{index}].{field}");
        if entry.id.trim().is_empty() {
            return Err(fail(at("id"), "the entry id is empty".into()));
        }
        if !seen_entries.insert(entry.id.as_str()) {
            return Err(fail(
                at("id"),
                format!("entry id `{}` appears twice", entry.id),
            ));
        }
        let spiffe_id = spiffe_uri(&entry.spiffe_id).map_err(|m| fail(at("spiffe_id"), m))?;
        let parent_id = spiffe_uri(&entry.parent_id).map_err(|m| fail(at("parent_id"), m))?;
        if entry.selectors.is_empty() {
            return Err(fail(
                at("selectors"),
                "an entry without selectors matches no workload; SPIRE refuses such entries".into(),
            ));
        }
        for (s, selector) in entry.selectors.iter().enumerate() {
            if selector.kind.is_empty() || selector.value.is_empty() {
                return Err(fail(
                    at(&format!("selectors[{s}]")),
                    "a selector needs a non-empty type and value".into(),
                ));
            }
        }
        for (field, ttl) in [
            ("x509_svid_ttl", entry.x509_svid_ttl),
            ("jwt_svid_ttl", entry.jwt_svid_ttl),
        ] {
            if ttl.is_some_and(|t| t < 0) {
                return Err(fail(at(field), "a TTL cannot be negative".into()));
            }
        }
        let expires_at = match &entry.expires_at {
            None => None,
            Some(raw) => {
                let seconds = raw.value().ok_or_else(|| {
                    fail(
                        at("expires_at"),
                        "expected Unix seconds (a number or a decimal string)".into(),
                    )
                })?;
                unix_time(seconds).map_err(|m| fail(at("expires_at"), m))?
            }
        };
        let created_at = match &entry.created_at {
            None => None,
            Some(raw) => raw
                .value()
                .map(unix_time)
                .transpose()
                .map_err(|m| fail(at("created_at"), m))?
                .flatten(),
        };

        identities
            .entry(spiffe_id.clone())
            .or_insert_with(|| spiffe_identity(&spiffe_id, &entry.spiffe_id.path));
        parents.insert(parent_id.clone());

        let selectors: Vec<String> = entry
            .selectors
            .iter()
            .map(|s| format!("{}:{}", s.kind, s.value))
            .collect();
        grants.push(Grant {
            id: format!("spire:entry:{}", entry.id),
            subject: parent_id.clone(),
            target: spiffe_id.clone(),
            actions: ActionSet::from_iter([Action::Impersonate]),
            standing: true,
            expires_at,
            conditions: Some(format!(
                "SVID issued to workloads matching {}",
                selectors.join(", ")
            )),
            source: Some(format!("spire:{label}:entry/{}", entry.id)),
        });

        // An admin SVID may call the server's registration API (create any entry); a downstream
        // SVID may mint a signing CA. Either way its holder can become any identity the server
        // issues: a grant on the server's own identity, which mints everything.
        for (flag, set, what) in [
            (
                "admin",
                entry.admin,
                "admin entry: may register any entry through the SPIRE server API",
            ),
            (
                "downstream",
                entry.downstream,
                "downstream entry: may obtain a CA from the SPIRE server",
            ),
        ] {
            if set {
                let server = format!("spiffe://{}/spire/server", entry.spiffe_id.trust_domain);
                parents.insert(server.clone());
                grants.push(Grant {
                    id: format!("spire:entry:{}:{flag}", entry.id),
                    subject: spiffe_id.clone(),
                    target: server,
                    actions: ActionSet::from_iter([Action::Impersonate]),
                    standing: true,
                    expires_at,
                    conditions: Some(what.to_owned()),
                    source: Some(format!("spire:{label}:entry/{}", entry.id)),
                });
            }
        }

        let mut facts = Map::new();
        facts.insert("spiffe_id".into(), json!(spiffe_id));
        facts.insert("parent_id".into(), json!(parent_id));
        facts.insert("selectors".into(), json!(selectors));
        // 0 (or absent) means "the server's default TTL", which the file does not say.
        facts.insert(
            "x509_svid_ttl_seconds".into(),
            ttl_fact(entry.x509_svid_ttl),
        );
        facts.insert("jwt_svid_ttl_seconds".into(), ttl_fact(entry.jwt_svid_ttl));
        facts.insert("admin".into(), json!(entry.admin));
        facts.insert("downstream".into(), json!(entry.downstream));
        facts.insert("federates_with".into(), json!(entry.federates_with));
        facts.insert("dns_names".into(), json!(entry.dns_names));
        facts.insert(
            "expires_at".into(),
            expires_at.map_or(Value::Null, |t| json!(format_utc(&t))),
        );
        facts.insert(
            "created_at".into(),
            created_at.map_or(Value::Null, |t| json!(format_utc(&t))),
        );
        facts.insert(
            "hint".into(),
            entry
                .hint
                .as_deref()
                .filter(|h| !h.is_empty())
                .map_or(Value::Null, |h| json!(h)),
        );
        observations.push(Observation {
            kind: "spire.entry".into(),
            id: entry.id.clone(),
            facts: sorted(facts),
        });
    }

    // Parents that are not themselves registered (SPIRE agents, the server) still hold the
    // power to mint their children's SVIDs: they are identities of the estate.
    for parent in parents {
        identities.entry(parent.clone()).or_insert_with(|| {
            let path = parent.splitn(4, '/').nth(3).unwrap_or_default();
            let name = if path == "spire/server" {
                "SPIRE server".to_owned()
            } else if path.starts_with("spire/agent/") {
                format!("SPIRE agent /{path}")
            } else {
                format!("/{path}")
            };
            Identity {
                id: parent.clone(),
                kind: IdentityKind::Spiffe,
                name,
                owner: None,
                provider: Some("spire".into()),
            }
        });
    }

    let mut collected = Collected::default();
    collected.estate.identities = identities.into_values().collect();
    collected.estate.grants = grants;
    collected.observations = observations;
    Ok(collected)
}

fn spiffe_identity(uri: &str, path: &str) -> Identity {
    Identity {
        id: uri.to_owned(),
        kind: IdentityKind::Spiffe,
        name: path.to_owned(),
        owner: None,
        provider: Some("spire".into()),
    }
}

/// `spiffe://<trust domain><path>`, checked against the SPIFFE ID rules that matter here.
fn spiffe_uri(id: &SpiffeId) -> Result<String, String> {
    let domain = &id.trust_domain;
    if domain.is_empty()
        || !domain
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(c))
    {
        return Err(format!(
            "trust domain `{domain}` must be non-empty lower-case letters, digits, `-`, `.` or `_`"
        ));
    }
    if !id.path.starts_with('/') || id.path.ends_with('/') || id.path.contains("//") {
        return Err(format!(
            "path `{}` must start with `/`, not end with `/` and have no empty segment",
            id.path
        ));
    }
    Ok(format!("spiffe://{domain}{}", id.path))
}

/// SPIRE's `0` means "never" for expiry.
fn unix_time(seconds: i64) -> Result<Option<Timestamp>, String> {
    if seconds == 0 {
        return Ok(None);
    }
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(Some)
        .ok_or_else(|| format!("{seconds} is not a representable Unix time"))
}

fn ttl_fact(ttl: Option<i64>) -> Value {
    match ttl {
        Some(seconds) if seconds > 0 => json!(seconds),
        _ => json!("server default"),
    }
}

/// Observation facts are kept with sorted keys (a stable drift key and stable snapshots).
pub(crate) fn sorted(facts: Map<String, Value>) -> Map<String, Value> {
    let ordered: BTreeMap<String, Value> = facts.into_iter().collect();
    ordered.into_iter().collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use expect_test::expect_file;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/brokers")
            .join(name)
    }

    /// The collected state as text: the canonical estate, then one observation per line.
    pub(crate) fn render(collected: &Collected) -> String {
        let mut out = Vec::new();
        bridle_core::estate::write_canonical(&collected.estate, &mut out).unwrap();
        let mut text = String::from_utf8(out).unwrap();
        text.push_str("\nobservations:\n");
        for observation in &collected.observations {
            text.push_str(&format!(
                "{} {} {}\n",
                observation.kind,
                observation.id,
                Value::Object(observation.facts.clone())
            ));
        }
        text.push_str("unknowns:\n");
        for unknown in &collected.unknowns {
            text.push_str(&format!("{}: {}\n", unknown.part, unknown.reason));
        }
        text
    }

    #[test]
    fn entries_become_identities_grants_and_observations() {
        let collected = read(&fixture("spire-entries.json")).unwrap();
        expect_file!["snapshots/spire-entries.txt"].assert_eq(&render(&collected));
        // The mapped estate is a valid estate/v1 document on its own.
        let mut bytes = Vec::new();
        bridle_core::estate::write_canonical(&collected.estate, &mut bytes).unwrap();
        let parsed = bridle_core::estate::parse(&bytes, bridle_core::estate::Syntax::Json);
        assert!(parsed.estate.is_some(), "{:?}", parsed.diagnostics);
    }

    #[test]
    fn bad_files_are_located() {
        let cases = [
            (
                "spire-bad-selector.json",
                "entries[1].selectors[0]",
                "missing field `value`",
            ),
            (
                "spire-bad-spiffe-id.json",
                "entries[0].spiffe_id",
                "must start with `/`",
            ),
            ("spire-truncated.json", "entries[1]", "EOF"),
        ];
        for (name, location, message) in cases {
            match read(&fixture(name)) {
                Err(BrokerError::File {
                    location: found,
                    message: text,
                    file,
                }) => {
                    assert!(file.ends_with(name), "{file}");
                    assert!(found.starts_with(location), "{name}: {found}: {text}");
                    assert!(text.contains(message), "{name}: {found}: {text}");
                }
                other => panic!("{name}: expected a located file error, got {other:?}"),
            }
        }
    }
}
