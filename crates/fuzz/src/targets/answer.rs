//! Generated server answers for the connectors: a JSON template mutated structurally, rendered,
//! damaged byte by byte, with an odd status now and then and sometimes cut short on the wire.
//! Placeholders (`@BASE@`, `@ID@`, …) are filled in after the damage, so a seed gives the same
//! answers whatever port the server got.

use proptest::prelude::*;
use serde_json::Value;

use crate::http::Reply;
use crate::mutate::{
    ByteEdit, JSON_TOKENS, TreeEdit, apply_bytes, apply_tree, byte_edits, to_json, tree_edits,
};

#[derive(Debug, Clone)]
pub struct AnswerPlan {
    pub edits: Vec<TreeEdit>,
    pub damage: Vec<ByteEdit>,
    pub status: u16,
    pub cut: Option<u16>,
    pub pretty: bool,
}

pub fn answer_plan(words: &'static [&'static str]) -> BoxedStrategy<AnswerPlan> {
    (
        tree_edits(words),
        prop_oneof![6 => Just(Vec::new()), 1 => byte_edits(JSON_TOKENS)],
        prop_oneof![
            20 => Just(200u16),
            1 => proptest::sample::select(&[201u16, 202, 204, 301, 400, 401, 403, 404, 500, 503][..]),
        ],
        prop_oneof![20 => Just(None), 1 => any::<u16>().prop_map(Some)],
        any::<bool>(),
    )
        .prop_map(|(edits, damage, status, cut, pretty)| AnswerPlan {
            edits,
            damage,
            status,
            cut,
            pretty,
        })
        .boxed()
}

impl AnswerPlan {
    /// The body: `template` mutated, rendered, damaged, placeholders filled.
    pub fn body(&self, template: &Value, fill: &[(&str, String)]) -> Vec<u8> {
        self.render(&self.tree(template), fill)
    }

    /// `template` mutated.
    pub fn tree(&self, template: &Value) -> Value {
        let mut tree = template.clone();
        apply_tree(&mut tree, &self.edits);
        tree
    }

    /// A mutated tree rendered, damaged, placeholders filled.
    pub fn render(&self, tree: &Value, fill: &[(&str, String)]) -> Vec<u8> {
        let mut bytes = to_json(tree, self.pretty);
        apply_bytes(&mut bytes, &self.damage);
        fill_in(bytes, fill)
    }

    pub fn reply(&self, body: Vec<u8>, headers: Vec<(String, String)>) -> Reply {
        Reply {
            status: self.status,
            headers,
            cut: self.cut.map(|c| usize::from(c) % (body.len() + 1)),
            body,
        }
    }
}

/// Replaces each placeholder by its value.
pub fn fill_in(bytes: Vec<u8>, fill: &[(&str, String)]) -> Vec<u8> {
    let mut text = match String::from_utf8(bytes) {
        Ok(text) => text,
        // Damaged bytes: placeholders are ASCII, so a lossy pass finds them all the same.
        Err(error) => {
            let bytes = error.into_bytes();
            return fill_in_bytes(bytes, fill);
        }
    };
    for (placeholder, value) in fill {
        text = text.replace(placeholder, value);
    }
    text.into_bytes()
}

fn fill_in_bytes(mut bytes: Vec<u8>, fill: &[(&str, String)]) -> Vec<u8> {
    for (placeholder, value) in fill {
        let needle = placeholder.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut rest = bytes.as_slice();
        while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
            out.extend_from_slice(&rest[..at]);
            out.extend_from_slice(value.as_bytes());
            rest = &rest[at + needle.len()..];
        }
        out.extend_from_slice(rest);
        bytes = out;
    }
    bytes
}

/// The requests served and their statuses, for a failure report.
pub fn served_summary(served: &[(crate::http::Request, u16)]) -> String {
    served
        .iter()
        .map(|(r, status)| format!("{} {} -> {status}", r.method, r.target))
        .collect::<Vec<_>>()
        .join(", ")
}
