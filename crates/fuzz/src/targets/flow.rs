//! The approval-flow reader (`flow::parse_flow`): the repository's flow documents, structurally
//! mutated, rendered as YAML or JSON (the reader takes both), sometimes damaged byte by byte.
//!
//! Properties: no panic; a rejection lists at least one problem, each with a non-empty path and
//! message; a path names a node of the document (or a field missing from one that is there); a
//! problem of the whole document (`$`) in text that is not YAML says the line, unless it is about
//! the text as a whole (several documents, say); an accepted flow
//! written back with `flow_to_yaml` reads back to the same flow.

use std::sync::Arc;

use bridle_core::flow::{flow_to_yaml, parse_flow};
use proptest::prelude::*;
use serde_json::Value;

use super::{Input, check_path};
use crate::harness::{Outcome, check, no_panic, with_input};
use crate::mutate::{
    JSON_TOKENS, YAML_TOKENS, apply_bytes, apply_tree, byte_edits, to_json, to_yaml, tree_edits,
};
use crate::seeds;

/// Field names and vocabulary words of bridle.flow/v1.
const WORDS: &[&str] = &[
    "format",
    "bridle.flow/v1",
    "flow",
    "id",
    "agent",
    "purpose",
    "environment",
    "data_sensitivity",
    "author",
    "owner",
    "autonomy",
    "identity",
    "spiffe_id",
    "grants",
    "resource",
    "actions",
    "ttl",
    "condition",
    "revocation",
    "triggers",
    "action",
    "start",
    "steps",
    "kind",
    "title",
    "next",
    "approval",
    "issue",
    "tool_call",
    "revoke",
    "end",
    "approvers",
    "quorum",
    "shows",
    "person",
    "role",
    "members",
    "broker",
    "max_ttl",
    "renewable",
    "single_use",
    "tool",
    "stages",
    "credentials",
    "task_end",
    "anomaly",
    "kill_switch",
    "revoke_leases",
    "revoke_tokens",
    "revoke_all",
    "disable_identity",
    "public",
    "internal",
    "confidential",
    "restricted",
    "assistive",
    "supervised",
    "autonomous",
    "read",
    "write",
    "admin",
    "1h",
    "15m",
    "1h 30m",
    "2years",
    "1month",
    "spiffe://acme.example/agents/{agent}/{task}/{run}",
    "{agent}",
    "{task}",
    "{run}",
    "{nope}",
];

fn documents() -> BoxedStrategy<Input> {
    let trees = Arc::new(seeds::yaml_trees(seeds::FLOWS));
    let count = trees.len();
    (
        0..count,
        tree_edits(WORDS),
        any::<bool>(),
        byte_edits(YAML_TOKENS),
        byte_edits(JSON_TOKENS),
    )
        .prop_map(move |(seed, edits, as_json, yaml_damage, json_damage)| {
            let mut tree = trees[seed].clone();
            apply_tree(&mut tree, &edits);
            let mut bytes = if as_json {
                to_json(&tree, true)
            } else {
                to_yaml(&tree)
            };
            apply_bytes(
                &mut bytes,
                if as_json { &json_damage } else { &yaml_damage },
            );
            Input(bytes)
        })
        .boxed()
}

/// The YAML reader's problems of the text as a whole, which have no one place: several
/// documents in one file, an alias expansion past its limit, no document at all.
fn about_the_whole_text(message: &str) -> bool {
    [
        "more than one document",
        "repetition limit exceeded",
        "EOF while parsing a value",
    ]
    .iter()
    .any(|whole| message.contains(whole))
}

fn property(input: &Input) -> Result<(), String> {
    let bytes = &input.0;
    let fail = |problem: String| with_input(problem, bytes);
    // The reader takes text; bytes that are not UTF-8 never reach it.
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(());
    };
    let result = no_panic(|| parse_flow(text)).map_err(fail)?;
    let tree: Option<Value> = serde_norway::from_str(text).ok();
    match result {
        Ok(flow) => {
            let written = no_panic(|| flow_to_yaml(&flow)).map_err(fail)?;
            match no_panic(|| parse_flow(&written)).map_err(fail)? {
                Ok(again) if again == flow => Ok(()),
                Ok(_) => Err(fail(format!(
                    "the flow written back reads as another flow:\n{written}"
                ))),
                Err(error) => Err(fail(format!(
                    "the flow written back is rejected ({error}):\n{written}"
                ))),
            }
        }
        Err(error) => {
            if error.problems.is_empty() {
                return Err(fail("a rejection without a problem".to_owned()));
            }
            for problem in &error.problems {
                if problem.path.is_empty() || problem.message.trim().is_empty() {
                    return Err(fail(format!("an unlocated or empty problem: `{problem}`")));
                }
                match &tree {
                    Some(tree) => check_path(tree, &problem.path, false)
                        .map_err(|p| fail(format!("`{problem}`: {p}")))?,
                    None if problem.path == "$"
                        && !problem.message.contains("line ")
                        && !about_the_whole_text(&problem.message) =>
                    {
                        return Err(fail(format!("a syntax error without a line: `{problem}`")));
                    }
                    None => {}
                }
            }
            Ok(())
        }
    }
}

pub fn run(seed: u64, cases: u32) -> Outcome {
    check(seed, cases, documents(), property)
}
