//! What the SPIRE and Kubernetes file importers share: documents mutated from the fixtures, a
//! scratch file the reader opens, and the properties of a file reader.
//!
//! Properties: no panic; every rejection is a `BrokerError::File` naming the file, with a
//! non-empty location and message; in a document that is JSON, the location names a node of it
//! (or a field missing from one that is there); a rejection of text that is not JSON as a whole
//! (`$`) says the line; an accepted file maps to an estate that the estate reader accepts as it stands (the
//! import writes that estate out and reads it back, and a rejection there would point into a
//! document the user never wrote).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bridle_brokers::{BrokerError, Collected};
use bridle_core::estate::{self, Syntax};
use proptest::prelude::*;
use serde_json::Value;

use super::{Input, check_path, errors_text};
use crate::harness::{no_panic, with_input};
use crate::mutate::{JSON_TOKENS, apply_bytes, apply_tree, byte_edits, to_json, tree_edits};
use crate::seeds;

/// A temporary directory holding the one file each case is written to.
pub struct ScratchFile {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl ScratchFile {
    pub fn new(name: &str) -> ScratchFile {
        let dir = tempfile::tempdir().expect("a temporary directory for the scratch file");
        let path = dir.path().join(name);
        ScratchFile { _dir: dir, path }
    }

    fn write(&self, bytes: &[u8]) -> Result<(), String> {
        std::fs::write(&self.path, bytes).map_err(|e| format!("writing the scratch file: {e}"))
    }
}

/// The fixtures as trees, mutated and rendered as JSON, sometimes damaged or random.
pub fn documents(fixtures: &[&str], words: &'static [&'static str]) -> BoxedStrategy<Input> {
    let trees = Arc::new(seeds::json_trees(fixtures));
    let count = trees.len();
    let mutated = (
        0..count,
        tree_edits(words),
        byte_edits(JSON_TOKENS),
        any::<bool>(),
    )
        .prop_map(move |(seed, edits, damage, pretty)| {
            let mut tree = trees[seed].clone();
            apply_tree(&mut tree, &edits);
            let mut bytes = to_json(&tree, pretty);
            apply_bytes(&mut bytes, &damage);
            Input(bytes)
        });
    prop_oneof![
        12 => mutated,
        1 => proptest::collection::vec(any::<u8>(), 0..128).prop_map(Input),
    ]
    .boxed()
}

pub fn property(
    input: &Input,
    file: &ScratchFile,
    read: impl Fn(&Path) -> Result<Collected, BrokerError>,
) -> Result<(), String> {
    let bytes = &input.0;
    let fail = |problem: String| with_input(problem, bytes);
    file.write(bytes).map_err(fail)?;
    match no_panic(|| read(&file.path)).map_err(fail)? {
        Err(BrokerError::File {
            file: named,
            location,
            message,
        }) => {
            if named != file.path.display().to_string() {
                return Err(fail(format!("the error names the file `{named}`")));
            }
            if location.is_empty() || message.trim().is_empty() {
                return Err(fail(format!(
                    "an unlocated or empty rejection: `{location}`: `{message}`"
                )));
            }
            match serde_json::from_slice::<Value>(bytes) {
                Ok(tree) => check_path(&tree, &location, false)
                    .map_err(|p| fail(format!("`{location}: {message}`: {p}"))),
                // Not a JSON tree (a syntax error, or a number only an ignored field holds):
                // the document as a whole must then say the line.
                Err(_) if location == "$" && !message.contains("line ") => Err(fail(format!(
                    "a syntax error without a line: `{location}: {message}`"
                ))),
                Err(_) => Ok(()),
            }
        }
        Err(other) => Err(fail(format!("a rejection that is not located: {other}"))),
        Ok(collected) => {
            let mut canonical = Vec::new();
            estate::write_canonical(&collected.estate, &mut canonical)
                .map_err(|e| fail(format!("writing the mapped estate: {e}")))?;
            let parsed = no_panic(|| estate::parse(&canonical, Syntax::Json)).map_err(fail)?;
            if parsed.estate.is_none() {
                return Err(fail(format!(
                    "accepted, but the mapped estate is rejected: {}",
                    errors_text(&parsed.diagnostics)
                )));
            }
            Ok(())
        }
    }
}
