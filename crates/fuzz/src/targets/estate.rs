//! The estate reader (`estate::parse_open`), JSON and YAML: the repository's estates and
//! malformed fixtures, structurally mutated, rendered, sometimes damaged byte by byte, sometimes
//! random bytes.
//!
//! Properties: no panic; the estate is returned exactly when no diagnostic is an error; every
//! diagnostic is located (a syntax error's line and column inside the text, a path that names a
//! node of the document); every open reference names a node; an accepted estate written in the
//! canonical form reads back to the same canonical form.

use std::sync::Arc;

use bridle_core::estate::{self, Diagnostic, Location, Syntax};
use proptest::prelude::*;
use serde_json::Value;

use super::{Input, check_path};
use crate::harness::{Outcome, check, no_panic, with_input};
use crate::located::{check_line_column, check_yaml_line_column};
use crate::mutate::{
    JSON_TOKENS, YAML_TOKENS, apply_bytes, apply_tree, byte_edits, to_json, to_yaml, tree_edits,
};
use crate::seeds;

/// Field names and vocabulary words of estate/v1.
const WORDS: &[&str] = &[
    "bridle",
    "estate/v1",
    "estate/v2",
    "agents",
    "identities",
    "credentials",
    "resources",
    "tools",
    "grants",
    "id",
    "name",
    "owner",
    "environment",
    "autonomy",
    "runs_as",
    "kind",
    "provider",
    "identity",
    "issued_at",
    "expires_at",
    "last_rotated",
    "last_used",
    "fingerprint",
    "sensitivity",
    "crown_jewel",
    "holds_credentials",
    "server",
    "acts_on",
    "resource",
    "actions",
    "subject",
    "target",
    "standing",
    "conditions",
    "source",
    "assistive",
    "supervised",
    "autonomous",
    "service_account",
    "human",
    "oidc_client",
    "spiffe",
    "k8s_service_account",
    "vault_role",
    "api_key_principal",
    "cloud_role",
    "token",
    "api_key",
    "oauth_client_secret",
    "password",
    "ssh_key",
    "x509_svid",
    "database",
    "secret_store",
    "api",
    "filesystem",
    "code_repo",
    "pipeline",
    "ticketing",
    "message_channel",
    "cloud_api",
    "other",
    "public",
    "internal",
    "confidential",
    "restricted",
    "read",
    "write",
    "admin",
    "impersonate",
    "assume",
    "delegate",
    "invoke",
    "prod",
    "Prod",
    "dev",
    "agent:a",
    "id:x",
    "g:0000000000000000",
    "2026-01-05T10:00:00Z",
];

fn documents(syntax: Syntax) -> BoxedStrategy<Input> {
    let trees = Arc::new(match syntax {
        Syntax::Json => seeds::json_trees(seeds::ESTATE_JSON),
        Syntax::Yaml => {
            let mut trees = seeds::yaml_trees(seeds::ESTATE_YAML);
            trees.extend(seeds::json_trees(seeds::ESTATE_JSON));
            trees
        }
    });
    let tokens = match syntax {
        Syntax::Json => JSON_TOKENS,
        Syntax::Yaml => YAML_TOKENS,
    };
    let count = trees.len();
    let mutated = (
        0..count,
        tree_edits(WORDS),
        byte_edits(tokens),
        any::<bool>(),
    )
        .prop_map(move |(seed, edits, damage, pretty)| {
            let mut tree = trees[seed].clone();
            apply_tree(&mut tree, &edits);
            let mut bytes = match syntax {
                Syntax::Json => to_json(&tree, pretty),
                Syntax::Yaml => to_yaml(&tree),
            };
            apply_bytes(&mut bytes, &damage);
            Input(bytes)
        });
    prop_oneof![
        9 => mutated,
        1 => proptest::collection::vec(any::<u8>(), 0..256).prop_map(Input),
    ]
    .boxed()
}

/// The document as a tree, when it is one (locations are checked against it).
fn tree_of(bytes: &[u8], syntax: Syntax) -> Option<Value> {
    match syntax {
        Syntax::Json => serde_json::from_slice(bytes).ok(),
        Syntax::Yaml => serde_norway::from_slice(bytes).ok(),
    }
}

fn check_diagnostic(
    diagnostic: &Diagnostic,
    bytes: &[u8],
    syntax: Syntax,
    tree: Option<&Value>,
) -> Result<(), String> {
    if diagnostic.message.trim().is_empty() {
        return Err(format!(
            "a diagnostic without a message at {}",
            diagnostic.location
        ));
    }
    match &diagnostic.location {
        Location::LineColumn { line, column } => match syntax {
            Syntax::Json => check_line_column(bytes, *line, *column),
            Syntax::Yaml => check_yaml_line_column(bytes, *line, *column),
        }
        .map_err(|problem| format!("`{diagnostic}`: {problem}")),
        Location::Path(path) => {
            if path.is_empty() && diagnostic.is_error() {
                return Err(format!("an error without a location: `{diagnostic}`"));
            }
            match tree {
                Some(tree) => check_path(tree, path, true)
                    .map_err(|problem| format!("`{diagnostic}`: {problem}")),
                None => Ok(()),
            }
        }
    }
}

fn property(input: &Input, syntax: Syntax) -> Result<(), String> {
    let bytes = &input.0;
    let fail = |problem: String| with_input(problem, bytes);
    let parsed = no_panic(|| estate::parse_open(bytes, syntax)).map_err(fail)?;
    let has_error = parsed.diagnostics.iter().any(Diagnostic::is_error);
    if parsed.estate.is_some() == has_error {
        return Err(fail(format!(
            "estate returned: {}, errors: {has_error}",
            parsed.estate.is_some()
        )));
    }
    let tree = tree_of(bytes, syntax);
    for diagnostic in &parsed.diagnostics {
        check_diagnostic(diagnostic, bytes, syntax, tree.as_ref()).map_err(fail)?;
    }
    if let Some(tree) = &tree {
        for open in &parsed.unresolved {
            check_path(tree, &open.path, true)
                .map_err(|problem| fail(format!("open reference `{}`: {problem}", open.id)))?;
        }
    }
    if let Some(accepted) = &parsed.estate {
        let mut canonical = Vec::new();
        estate::write_canonical(accepted, &mut canonical)
            .map_err(|e| fail(format!("writing the canonical form: {e}")))?;
        let again = no_panic(|| estate::parse_open(&canonical, Syntax::Json)).map_err(fail)?;
        let Some(reread) = again.estate else {
            return Err(fail(format!(
                "the canonical form of an accepted estate is rejected: {}",
                super::errors_text(&again.diagnostics)
            )));
        };
        let mut second = Vec::new();
        estate::write_canonical(&reread, &mut second)
            .map_err(|e| fail(format!("writing the canonical form: {e}")))?;
        if second != canonical {
            return Err(fail(
                "the canonical form does not read back to itself".to_owned(),
            ));
        }
    }
    Ok(())
}

pub fn run_json(seed: u64, cases: u32) -> Outcome {
    check(seed, cases, documents(Syntax::Json), |input| {
        property(input, Syntax::Json)
    })
}

pub fn run_yaml(seed: u64, cases: u32) -> Outcome {
    check(seed, cases, documents(Syntax::Yaml), |input| {
        property(input, Syntax::Yaml)
    })
}
