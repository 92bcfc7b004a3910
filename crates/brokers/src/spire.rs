//! SPIRE registration entries from `spire-server entry show -output json`, for servers Bridle
//! cannot reach over HTTP (the SPIRE server API is gRPC on a local socket).
//!
//! The file is one `ListEntriesResponse` of the SPIRE server API in protojson: `{"entries":
//! [types.Entry...], "next_page_token": ""}`. SPIRE prints it compact with sorted keys and every
//! field present (64-bit integers as strings, TTLs as numbers, unset messages dropped); older
//! releases wrote the X.509-SVID TTL as `ttl`, and other protojson writers omit default fields or
//! use lowerCamel names. All of these are read (see [`Entry`]).
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
//! - the facts the estate model has no field for are a `spire.entry` observation per entry (id:
//!   the entry id): `spiffe_id`, `parent_id`, `selectors`, `x509_svid_ttl` and `jwt_svid_ttl`
//!   (seconds, `0` for the server's default), `admin`, `downstream`, `federates_with`,
//!   `dns_names`, `store_svid`, `hint`, `expires_at`, `created_at`, and the additional
//!   attributes `disable_x509_svid_prefetch` and `jwt_svid_include_jti`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use bridle_core::estate::check_id;
use bridle_core::model::{Action, ActionSet, Estate, Grant, Identity, IdentityKind};
use bridle_core::time::{Timestamp, format_utc};
use std::fmt;

use serde::de::{self, DeserializeOwned};
use serde::{Deserialize, Deserializer};
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
            // The document itself, or a top-level field named `` (whose path is empty).
            dot if dot == "." || dot.is_empty() => "$".to_owned(),
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

/// A protojson integer. protojson writes 64-bit integers as decimal strings (`"expires_at": "0"`)
/// and 32-bit ones as numbers (`"x509_svid_ttl": 3600`), and a protojson reader accepts either
/// form for any integer field; so does this one. `null` is the field's default (`0`), as in
/// protojson.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Int64(i64);

impl<'de> Deserialize<'de> for Int64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Int64, D::Error> {
        struct Integer;
        impl de::Visitor<'_> for Integer {
            type Value = Int64;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer (a JSON number or a decimal string)")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int64, E> {
                Ok(Int64(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int64, E> {
                i64::try_from(v)
                    .map(Int64)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }

            // protojson also accepts an integral number written with a fraction or exponent.
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Int64, E> {
                if v.fract() == 0.0 && v >= i64::MIN as f64 && v < i64::MAX as f64 {
                    Ok(Int64(v as i64))
                } else {
                    Err(E::invalid_value(de::Unexpected::Float(v), &self))
                }
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Int64, E> {
                v.parse()
                    .map(Int64)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Int64, E> {
                Ok(Int64(0))
            }
        }
        deserializer.deserialize_any(Integer)
    }
}

/// protojson reads `null` as a field's default value (an empty list, `false`, `""`).
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `entry show -output json` prints one `ListEntriesResponse`: `{"entries": [...],
/// "next_page_token": ""}` (the CLI follows every page before it prints). The field names are
/// protojson's proto names; the lowerCamel JSON names (`nextPageToken`, `spiffeId`, ...) that
/// other protojson writers use (e.g. `grpcurl` against the server API) are read too.
#[derive(Debug, Deserialize)]
struct EntryList {
    entries: Vec<Entry>,
    #[serde(default, alias = "nextPageToken", deserialize_with = "nullable")]
    next_page_token: String,
}

#[derive(Debug, Deserialize)]
struct SpiffeId {
    #[serde(alias = "trustDomain")]
    trust_domain: String,
    path: String,
}

#[derive(Debug, Deserialize)]
struct Selector {
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

/// `types.Entry` of spire-api-sdk. Fields default as protojson's do when absent or `null`.
#[derive(Debug, Deserialize)]
struct Entry {
    id: String,
    #[serde(alias = "spiffeId")]
    spiffe_id: SpiffeId,
    #[serde(alias = "parentId")]
    parent_id: SpiffeId,
    selectors: Vec<Selector>,
    /// The X.509-SVID TTL before spire-api-sdk renamed field 5 to `x509_svid_ttl` (SPIRE 1.5,
    /// 2022); while both existed, a non-zero `x509_svid_ttl` overrode it.
    #[serde(default)]
    ttl: Option<Int64>,
    #[serde(default, alias = "x509SvidTtl")]
    x509_svid_ttl: Option<Int64>,
    #[serde(default, alias = "jwtSvidTtl")]
    jwt_svid_ttl: Option<Int64>,
    #[serde(default, alias = "federatesWith", deserialize_with = "nullable")]
    federates_with: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    admin: bool,
    #[serde(default, deserialize_with = "nullable")]
    downstream: bool,
    #[serde(default, alias = "expiresAt")]
    expires_at: Option<Int64>,
    #[serde(default, alias = "dnsNames", deserialize_with = "nullable")]
    dns_names: Vec<String>,
    /// Read (so a wrong type is reported) but not kept: it counts updates, it is no fact of
    /// access.
    #[serde(default, alias = "revisionNumber")]
    #[allow(dead_code)]
    revision_number: Option<Int64>,
    #[serde(default, alias = "storeSvid", deserialize_with = "nullable")]
    store_svid: bool,
    #[serde(default, deserialize_with = "nullable")]
    hint: String,
    #[serde(default, alias = "createdAt")]
    created_at: Option<Int64>,
    /// Present only when set (SPIRE 1.13 and later; an unset message is printed as `null` and
    /// the CLI drops nulls).
    #[serde(default, alias = "additionalAttributes", deserialize_with = "nullable")]
    additional_attributes: AdditionalAttributes,
}

#[derive(Debug, Default, Deserialize)]
struct AdditionalAttributes {
    #[serde(
        default,
        alias = "disableX509SvidPrefetch",
        deserialize_with = "nullable"
    )]
    disable_x509_svid_prefetch: bool,
    #[serde(default, alias = "jwtSvidIncludeJti", deserialize_with = "nullable")]
    jwt_svid_include_jti: bool,
}

/// A TTL field (protojson `int32`, seconds; `0` is "the server's default").
fn ttl_seconds(raw: Option<Int64>) -> Result<i64, String> {
    match raw {
        None => Ok(0),
        Some(Int64(t)) if t < 0 => Err(format!("a TTL cannot be negative (found {t})")),
        Some(Int64(t)) if t > i64::from(i32::MAX) => Err(format!(
            "{t} seconds does not fit the field (a 32-bit integer)"
        )),
        Some(Int64(t)) => Ok(t),
    }
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
    // A file holding one page of a longer list would replace the whole source with part of it.
    if !list.next_page_token.is_empty() {
        return Err(fail(
            "next_page_token".into(),
            "the file is one page of a longer list; export every entry (`spire-server entry show \
             -output json` follows every page)"
                .into(),
        ));
    }

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
        let x509_svid_ttl =
            ttl_seconds(entry.x509_svid_ttl).map_err(|m| fail(at("x509_svid_ttl"), m))?;
        let old_ttl = ttl_seconds(entry.ttl).map_err(|m| fail(at("ttl"), m))?;
        // The old `ttl` is the X.509-SVID TTL; a non-zero `x509_svid_ttl` overrides it.
        let x509_svid_ttl = if x509_svid_ttl > 0 {
            x509_svid_ttl
        } else {
            old_ttl
        };
        let jwt_svid_ttl =
            ttl_seconds(entry.jwt_svid_ttl).map_err(|m| fail(at("jwt_svid_ttl"), m))?;
        let expires_at = match entry.expires_at {
            None => None,
            Some(Int64(seconds)) => unix_time(seconds).map_err(|m| fail(at("expires_at"), m))?,
        };
        let created_at = match entry.created_at {
            None => None,
            Some(Int64(seconds)) => unix_time(seconds).map_err(|m| fail(at("created_at"), m))?,
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
        // Seconds; 0 means "the server's default TTL", which the file does not say.
        facts.insert("x509_svid_ttl".into(), json!(x509_svid_ttl));
        facts.insert("jwt_svid_ttl".into(), json!(jwt_svid_ttl));
        facts.insert("admin".into(), json!(entry.admin));
        facts.insert("downstream".into(), json!(entry.downstream));
        facts.insert("federates_with".into(), json!(entry.federates_with));
        facts.insert("dns_names".into(), json!(entry.dns_names));
        facts.insert("store_svid".into(), json!(entry.store_svid));
        facts.insert(
            "disable_x509_svid_prefetch".into(),
            json!(entry.additional_attributes.disable_x509_svid_prefetch),
        );
        facts.insert(
            "jwt_svid_include_jti".into(),
            json!(entry.additional_attributes.jwt_svid_include_jti),
        );
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
            if entry.hint.is_empty() {
                Value::Null
            } else {
                json!(entry.hint)
            },
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
    check_mapped_ids(&collected.estate, &file)?;
    Ok(collected)
}

/// Checks every id a file maps to against the estate's id rules. The import reads the mapped
/// estate back and would refuse such an id there, at a place in a generated document the user
/// never saw; here the refusal names the file and the id (which holds the name that is too long).
pub(crate) fn check_mapped_ids(estate: &Estate, file: &str) -> Result<(), BrokerError> {
    let ids = estate
        .agents
        .iter()
        .map(|e| &e.id)
        .chain(estate.identities.iter().map(|e| &e.id))
        .chain(estate.credentials.iter().map(|e| &e.id))
        .chain(estate.resources.iter().map(|e| &e.id))
        .chain(estate.tools.iter().map(|e| &e.id))
        .chain(
            estate
                .grants
                .iter()
                .flat_map(|g| [&g.id, &g.subject, &g.target]),
        );
    for id in ids {
        if let Err(message) = check_id(id) {
            let shown: String = id.chars().take(80).collect();
            let more = if shown.len() < id.len() { "…" } else { "" };
            return Err(BrokerError::File {
                file: file.to_owned(),
                location: "$".to_owned(),
                message: format!("the file maps to the id `{shown}{more}`: {message}"),
            });
        }
    }
    Ok(())
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
    use chrono::Datelike as _;
    // RFC 3339, the estate's time format, writes four-digit years only.
    chrono::DateTime::from_timestamp(seconds, 0)
        .filter(|time| (0..=9999).contains(&time.year()))
        .map(Some)
        .ok_or_else(|| {
            format!("{seconds} is not a Unix time between the years 0 and 9999 (RFC 3339)")
        })
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

    /// Writes `text` as a file and reads it.
    fn read_text(text: &str) -> Result<Collected, BrokerError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entries.json");
        std::fs::write(&path, text).unwrap();
        read(&path)
    }

    /// One entry with `fields` (a JSON object's members, without braces) added to its required
    /// ones, in an `entry show` document.
    fn one_entry(fields: &str) -> String {
        let comma = if fields.is_empty() { "" } else { "," };
        format!(
            r#"{{"entries":[{{"id":"e-1","spiffe_id":{{"trust_domain":"td.example","path":"/w"}},
            "parent_id":{{"trust_domain":"td.example","path":"/node"}},
            "selectors":[{{"type":"unix","value":"uid:1"}}]{comma}{fields}}}],"next_page_token":""}}"#
        )
    }

    #[test]
    fn what_the_estate_could_not_hold_is_refused_naming_the_file() {
        // Found by the fuzz tests: a trust domain this long made an identity id the import then
        // refused in the generated estate, and a top-level key `` left the location empty.
        let long = "t".repeat(600);
        let text = one_entry("").replace(
            "td.example\",\"path\":\"/w",
            &format!("{long}\",\"path\":\"/w"),
        );
        match read_text(&text) {
            Err(BrokerError::File {
                location, message, ..
            }) => {
                assert_eq!(location, "$");
                assert!(message.contains("at most 512 bytes"), "{message}");
            }
            other => panic!("expected a located file error, got {other:?}"),
        }
        // Found by the fuzz tests: the year 10000 was mapped, then refused by the import.
        match read_text(&one_entry(r#""expires_at":"253402300800""#)) {
            Err(BrokerError::File {
                location, message, ..
            }) => assert_eq!(location, "entries[0].expires_at", "{message}"),
            other => panic!("expected a located file error, got {other:?}"),
        }
        assert!(read_text(&one_entry(r#""expires_at":"253402300799""#)).is_ok());
        match read_text("{\"\": [1}") {
            Err(BrokerError::File {
                location, message, ..
            }) => assert_eq!(location, "$", "{message}"),
            other => panic!("expected a located file error, got {other:?}"),
        }
    }

    fn facts(collected: &Collected) -> &Map<String, Value> {
        &collected.observations[0].facts
    }

    #[test]
    fn the_current_format_as_spire_prints_it() {
        // Compact, sorted keys, every field present, `additional_attributes` where set.
        let collected = read(&fixture("spire-entries-current.json")).unwrap();
        expect_file!["snapshots/spire-entries-current.txt"].assert_eq(&render(&collected));
        let mut bytes = Vec::new();
        bridle_core::estate::write_canonical(&collected.estate, &mut bytes).unwrap();
        let parsed = bridle_core::estate::parse(&bytes, bridle_core::estate::Syntax::Json);
        assert!(parsed.estate.is_some(), "{:?}", parsed.diagnostics);
    }

    #[test]
    fn the_old_ttl_is_the_x509_ttl_and_x509_svid_ttl_overrides_it() {
        let old = read_text(&one_entry(r#""ttl":900"#)).unwrap();
        assert_eq!(facts(&old)["x509_svid_ttl"], json!(900));
        assert_eq!(facts(&old)["jwt_svid_ttl"], json!(0));
        let both = read_text(&one_entry(
            r#""ttl":900,"x509_svid_ttl":"600","jwt_svid_ttl":"60""#,
        ))
        .unwrap();
        assert_eq!(facts(&both)["x509_svid_ttl"], json!(600));
        assert_eq!(facts(&both)["jwt_svid_ttl"], json!(60));
        let unset = read_text(&one_entry(r#""ttl":900,"x509_svid_ttl":0"#)).unwrap();
        assert_eq!(facts(&unset)["x509_svid_ttl"], json!(900));
    }

    #[test]
    fn protojson_variants_read_the_same() {
        // Defaults omitted, lowerCamel names, nulls for unset fields, strings for int32.
        let camel = read_text(
            r#"{"entries":[{"id":"e-1","spiffeId":{"trustDomain":"td.example","path":"/w"},
            "parentId":{"trustDomain":"td.example","path":"/node"},
            "selectors":[{"type":"unix","value":"uid:1"}],"x509SvidTtl":"3600","jwtSvidTtl":300,
            "federatesWith":["spiffe://other.example"],"storeSvid":true,"expiresAt":"1798761600",
            "additionalAttributes":{"jwtSvidIncludeJti":true},"hint":null,"dnsNames":null}],
            "nextPageToken":""}"#,
        )
        .unwrap();
        let proto = read_text(&one_entry(
            r#""x509_svid_ttl":3600,"jwt_svid_ttl":"300","federates_with":["spiffe://other.example"],
            "store_svid":true,"expires_at":1798761600,
            "additional_attributes":{"jwt_svid_include_jti":true,"disable_x509_svid_prefetch":false}"#,
        ))
        .unwrap();
        assert_eq!(render(&camel), render(&proto));
        assert_eq!(facts(&proto)["jwt_svid_include_jti"], json!(true));
        assert_eq!(facts(&proto)["store_svid"], json!(true));
        assert_eq!(
            facts(&proto)["federates_with"],
            json!(["spiffe://other.example"])
        );
        // Nothing but the required fields: every fact at its default.
        let bare = read_text(&one_entry("")).unwrap();
        expect_test::expect![[r#"{"admin":false,"created_at":null,"disable_x509_svid_prefetch":false,"dns_names":[],"downstream":false,"expires_at":null,"federates_with":[],"hint":null,"jwt_svid_include_jti":false,"jwt_svid_ttl":0,"parent_id":"spiffe://td.example/node","selectors":["unix:uid:1"],"spiffe_id":"spiffe://td.example/w","store_svid":false,"x509_svid_ttl":0}"#]]
            .assert_eq(&Value::Object(facts(&bare).clone()).to_string());
    }

    #[test]
    fn a_wrong_type_in_any_field_is_located() {
        let cases = [
            (
                r#""x509_svid_ttl":"1h""#,
                "entries[0].x509_svid_ttl",
                "an integer",
            ),
            (
                r#""x509_svid_ttl":true"#,
                "entries[0].x509_svid_ttl",
                "an integer",
            ),
            (
                r#""x509_svid_ttl":-5"#,
                "entries[0].x509_svid_ttl",
                "cannot be negative",
            ),
            (
                r#""x509_svid_ttl":4294967296"#,
                "entries[0].x509_svid_ttl",
                "32-bit",
            ),
            (
                r#""jwt_svid_ttl":[300]"#,
                "entries[0].jwt_svid_ttl",
                "an integer",
            ),
            (
                r#""jwt_svid_ttl":1.5"#,
                "entries[0].jwt_svid_ttl",
                "an integer",
            ),
            (r#""ttl":"soon""#, "entries[0].ttl", "an integer"),
            (r#""ttl":-1"#, "entries[0].ttl", "cannot be negative"),
            (
                r#""admin":"true""#,
                "entries[0].admin",
                "expected a boolean",
            ),
            (
                r#""downstream":1"#,
                "entries[0].downstream",
                "expected a boolean",
            ),
            (
                r#""store_svid":"no""#,
                "entries[0].store_svid",
                "expected a boolean",
            ),
            (
                r#""federates_with":"spiffe://x""#,
                "entries[0].federates_with",
                "a sequence",
            ),
            (
                r#""federates_with":[7]"#,
                "entries[0].federates_with[0]",
                "a string",
            ),
            (
                r#""dns_names":{"a":1}"#,
                "entries[0].dns_names",
                "a sequence",
            ),
            (r#""hint":42"#, "entries[0].hint", "a string"),
            (
                r#""expires_at":"never""#,
                "entries[0].expires_at",
                "an integer",
            ),
            (r#""created_at":{}"#, "entries[0].created_at", "an integer"),
            (
                r#""revision_number":"r2""#,
                "entries[0].revision_number",
                "an integer",
            ),
            (
                r#""additional_attributes":{"jwt_svid_include_jti":"yes"}"#,
                "entries[0].additional_attributes.jwt_svid_include_jti",
                "expected a boolean",
            ),
            (
                r#""additional_attributes":"on""#,
                "entries[0].additional_attributes",
                "struct AdditionalAttributes",
            ),
            (
                r#""x509SvidTtl":"x""#,
                "entries[0].x509SvidTtl",
                "an integer",
            ),
        ];
        for (fields, location, message) in cases {
            match read_text(&one_entry(fields)) {
                Err(BrokerError::File {
                    location: found,
                    message: text,
                    ..
                }) => {
                    assert_eq!(found, location, "{fields}: {text}");
                    assert!(text.contains(message), "{fields}: {found}: {text}");
                }
                other => panic!("{fields}: expected a located file error, got {other:?}"),
            }
        }
    }

    #[test]
    fn one_page_of_a_longer_list_is_refused() {
        let text =
            one_entry("").replace(r#""next_page_token":"""#, r#""next_page_token":"cGFnZS0y""#);
        match read_text(&text) {
            Err(BrokerError::File {
                location, message, ..
            }) => {
                assert_eq!(location, "next_page_token");
                assert!(message.contains("one page"), "{message}");
            }
            other => panic!("expected a located file error, got {other:?}"),
        }
        match read_text(r#"{"entries":{},"next_page_token":""}"#) {
            Err(BrokerError::File { location, .. }) => assert_eq!(location, "entries"),
            other => panic!("expected a located file error, got {other:?}"),
        }
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
