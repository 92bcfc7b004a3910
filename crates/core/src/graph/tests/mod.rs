//! Tests of the privilege graph: data-driven snapshots (one estate fixture per rule and edge
//! case, rendered as stable text) and properties checked against a naive implementation of the
//! rules on generated estates.

mod fixtures;
mod naive;
mod properties;

use std::fmt::Write;

use super::*;
use crate::estate::{Syntax, parse};
use crate::model::Estate;
use crate::time::{Timestamp, parse_utc};

/// The evaluation time of every fixture.
fn at() -> Timestamp {
    parse_utc("2026-06-01T00:00:00Z").unwrap()
}

/// Reads a fixture from `graph/fixtures/`; fixtures must parse without errors.
fn fixture(name: &str) -> Estate {
    let path = format!("{}/src/graph/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let parsed = parse(&bytes, Syntax::Json);
    let errors: Vec<String> = parsed.errors().map(ToString::to_string).collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}");
    parsed.estate.unwrap()
}

fn graph(name: &str) -> PrivilegeGraph {
    PrivilegeGraph::build(&fixture(name), at())
}

/// `reach` as the CLI's human output would list it.
fn render_reach(reach: &Reach) -> String {
    let mut out = format!("reach {}\n", reach.from);
    for r in &reach.reachable {
        let actions = if r.actions.is_empty() {
            String::new()
        } else {
            format!(" [{}]", r.actions)
        };
        writeln!(
            out,
            "  {} {}{} hops={} path={}",
            r.target,
            r.kind,
            actions,
            r.hops,
            r.path.join(" > ")
        )
        .unwrap();
    }
    out
}
