//! The canonical JSON form of an estate: what `export --format estate` writes and what snapshot
//! hashes are computed over.
//!
//! Canonical means: every list sorted by id (byte order), every estate/v1 field present in the
//! order of ESTATE-FORMAT.md (unknown values as `null`), grant ids always written (derived ones
//! included), times in the one format of [`crate::time::format_utc`], and one entity per line so
//! that two exports diff line by line.

use std::io::{self, Write};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::FORMAT_TAG;
use crate::model::{Agent, Credential, Estate, Grant, Identity, Resource, Tool};
use crate::time::{Timestamp, format_utc};

#[derive(Serialize)]
struct AgentLine<'a> {
    id: &'a str,
    name: &'a str,
    owner: &'a Option<String>,
    environment: &'a Option<String>,
    autonomy: &'static str,
    runs_as: &'a [String],
}

#[derive(Serialize)]
struct IdentityLine<'a> {
    id: &'a str,
    kind: &'static str,
    name: &'a str,
    owner: &'a Option<String>,
    provider: &'a Option<String>,
}

#[derive(Serialize)]
struct CredentialLine<'a> {
    id: &'a str,
    identity: &'a str,
    kind: &'static str,
    issued_at: Option<String>,
    expires_at: Option<String>,
    last_rotated: Option<String>,
    last_used: Option<String>,
    fingerprint: &'a Option<String>,
}

#[derive(Serialize)]
struct ResourceLine<'a> {
    id: &'a str,
    kind: &'static str,
    name: &'a str,
    sensitivity: &'static str,
    crown_jewel: bool,
    environment: &'a Option<String>,
    holds_credentials: &'a [String],
    runs_as: &'a [String],
}

#[derive(Serialize)]
struct ToolActionLine<'a> {
    resource: &'a str,
    actions: Vec<&'static str>,
}

#[derive(Serialize)]
struct ToolLine<'a> {
    id: &'a str,
    name: &'a str,
    server: &'a Option<String>,
    runs_as: &'a Option<String>,
    acts_on: Vec<ToolActionLine<'a>>,
}

#[derive(Serialize)]
struct GrantLine<'a> {
    id: &'a str,
    subject: &'a str,
    target: &'a str,
    actions: Vec<&'static str>,
    standing: bool,
    expires_at: Option<String>,
    conditions: &'a Option<String>,
    source: &'a Option<String>,
}

fn time(value: &Option<Timestamp>) -> Option<String> {
    value.as_ref().map(format_utc)
}

fn agent_line(a: &Agent) -> AgentLine<'_> {
    AgentLine {
        id: &a.id,
        name: &a.name,
        owner: &a.owner,
        environment: &a.environment,
        autonomy: a.autonomy.as_str(),
        runs_as: &a.runs_as,
    }
}

fn identity_line(i: &Identity) -> IdentityLine<'_> {
    IdentityLine {
        id: &i.id,
        kind: i.kind.as_str(),
        name: &i.name,
        owner: &i.owner,
        provider: &i.provider,
    }
}

fn credential_line(c: &Credential) -> CredentialLine<'_> {
    CredentialLine {
        id: &c.id,
        identity: &c.identity,
        kind: c.kind.as_str(),
        issued_at: time(&c.issued_at),
        expires_at: time(&c.expires_at),
        last_rotated: time(&c.last_rotated),
        last_used: time(&c.last_used),
        fingerprint: &c.fingerprint,
    }
}

fn resource_line(r: &Resource) -> ResourceLine<'_> {
    ResourceLine {
        id: &r.id,
        kind: r.kind.as_str(),
        name: &r.name,
        sensitivity: r.sensitivity.as_str(),
        crown_jewel: r.crown_jewel,
        environment: &r.environment,
        holds_credentials: &r.holds_credentials,
        runs_as: &r.runs_as,
    }
}

fn tool_line(t: &Tool) -> ToolLine<'_> {
    ToolLine {
        id: &t.id,
        name: &t.name,
        server: &t.server,
        runs_as: &t.runs_as,
        acts_on: t
            .acts_on
            .iter()
            .map(|entry| ToolActionLine {
                resource: &entry.resource,
                actions: entry.actions.words(),
            })
            .collect(),
    }
}

fn grant_line(g: &Grant) -> GrantLine<'_> {
    GrantLine {
        id: &g.id,
        subject: &g.subject,
        target: &g.target,
        actions: g.actions.words(),
        standing: g.standing,
        expires_at: time(&g.expires_at),
        conditions: &g.conditions,
        source: &g.source,
    }
}

fn write_list<'a, W: Write, T, L: Serialize>(
    out: &mut W,
    key: &str,
    items: &'a [T],
    id: fn(&T) -> &str,
    line: fn(&'a T) -> L,
    last: bool,
) -> io::Result<()> {
    let mut sorted: Vec<&'a T> = items.iter().collect();
    sorted.sort_by(|a, b| id(a).cmp(id(b)));
    write!(out, "\"{key}\":[")?;
    for (n, item) in sorted.into_iter().enumerate() {
        out.write_all(if n == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *out, &line(item))?;
    }
    out.write_all(if items.is_empty() { b"]" } else { b"\n]" })?;
    out.write_all(if last { b"\n" } else { b",\n" })
}

/// Writes the canonical JSON of `estate`.
pub fn write_canonical<W: Write>(estate: &Estate, out: &mut W) -> io::Result<()> {
    writeln!(out, "{{\"bridle\":\"{FORMAT_TAG}\",")?;
    write_list(out, "agents", &estate.agents, |e| &e.id, agent_line, false)?;
    write_list(
        out,
        "identities",
        &estate.identities,
        |e| &e.id,
        identity_line,
        false,
    )?;
    write_list(
        out,
        "credentials",
        &estate.credentials,
        |e| &e.id,
        credential_line,
        false,
    )?;
    write_list(
        out,
        "resources",
        &estate.resources,
        |e| &e.id,
        resource_line,
        false,
    )?;
    write_list(out, "tools", &estate.tools, |e| &e.id, tool_line, false)?;
    write_list(out, "grants", &estate.grants, |e| &e.id, grant_line, true)?;
    out.write_all(b"}\n")
}

/// The canonical bytes of an estate and their sha256.
#[derive(Debug, Clone)]
pub struct CanonicalEstate {
    pub bytes: Vec<u8>,
    /// Lower-case hex sha256 of `bytes`.
    pub sha256: String,
}

impl CanonicalEstate {
    pub fn of(estate: &Estate) -> CanonicalEstate {
        let mut bytes = Vec::new();
        write_canonical(estate, &mut bytes).expect("writing to a Vec cannot fail");
        let sha256 = hex::encode(Sha256::digest(&bytes));
        debug_assert_eq!(sha256, canonical_sha256(estate));
        CanonicalEstate { bytes, sha256 }
    }
}

/// An entity with a canonical JSON line: what exports write and what change detection digests.
pub trait CanonicalEntity {
    fn write_canonical_json(&self, out: &mut Vec<u8>);

    /// The first 16 bytes of the sha256 of the canonical line: equal digests, equal content.
    fn content_digest(&self) -> [u8; 16] {
        let mut line = Vec::new();
        self.write_canonical_json(&mut line);
        let digest = Sha256::digest(&line);
        let mut first = [0; 16];
        first.copy_from_slice(&digest[..16]);
        first
    }
}

macro_rules! canonical_entity {
    ($type:ty, $line:ident) => {
        impl CanonicalEntity for $type {
            fn write_canonical_json(&self, out: &mut Vec<u8>) {
                serde_json::to_writer(out, &$line(self)).expect("writing to a Vec cannot fail");
            }
        }
    };
}

canonical_entity!(Agent, agent_line);
canonical_entity!(Identity, identity_line);
canonical_entity!(Credential, credential_line);
canonical_entity!(Resource, resource_line);
canonical_entity!(Tool, tool_line);
canonical_entity!(Grant, grant_line);

/// Feeds written bytes into a hasher, so a large estate is hashed without being held as bytes.
struct HashingWriter(Sha256);

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The sha256 (lower-case hex) of the canonical JSON of `estate`, streamed.
pub fn canonical_sha256(estate: &Estate) -> String {
    let mut writer = io::BufWriter::with_capacity(1 << 16, HashingWriter(Sha256::new()));
    write_canonical(estate, &mut writer).expect("hashing cannot fail");
    let hasher = writer
        .into_inner()
        .unwrap_or_else(|_| unreachable!("flushing a hasher cannot fail"));
    hex::encode(hasher.0.finalize())
}
