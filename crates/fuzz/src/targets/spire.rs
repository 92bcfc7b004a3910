//! The SPIRE entry file importer (`spire::read`): the SPIRE fixtures (current and older protojson
//! forms), structurally mutated; the properties are those of [`super::broker_file`].

use super::broker_file::{ScratchFile, documents, property};
use crate::harness::{Outcome, check};
use crate::seeds;

/// Field names (both protojson spellings) and values of a SPIRE entry list.
const WORDS: &[&str] = &[
    "entries",
    "next_page_token",
    "nextPageToken",
    "id",
    "spiffe_id",
    "spiffeId",
    "parent_id",
    "parentId",
    "trust_domain",
    "trustDomain",
    "path",
    "selectors",
    "type",
    "value",
    "ttl",
    "x509_svid_ttl",
    "x509SvidTtl",
    "jwt_svid_ttl",
    "jwtSvidTtl",
    "federates_with",
    "admin",
    "downstream",
    "expires_at",
    "expiresAt",
    "dns_names",
    "revision_number",
    "store_svid",
    "hint",
    "created_at",
    "additional_attributes",
    "disable_x509_svid_prefetch",
    "jwt_svid_include_jti",
    "northwind.example",
    "/spire/server",
    "/spire/agent/k8s_psat/x",
    "k8s:ns:default",
    "unix:uid:0",
    "0",
    "3600",
    "-1",
    "9223372036854775807",
    "9223372036854775808",
    "1767225600",
    "8210298413199",
];

pub fn run(seed: u64, cases: u32) -> Outcome {
    let file = ScratchFile::new("entries.json");
    check(seed, cases, documents(seeds::SPIRE, WORDS), |input| {
        property(input, &file, bridle_brokers::spire::read)
    })
}
