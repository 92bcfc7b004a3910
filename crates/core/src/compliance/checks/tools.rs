//! The checks about tools.

use super::index::{Found, Index};
use super::{Limits, Status};
use crate::model::Sensitivity;

/// `tool-own-identity`: one finding for every tool.
pub(super) fn own_identity(out: &mut Found<'_>, ix: &Index<'_>, _limits: &Limits) {
    for t in &ix.estate.tools {
        if let Some(identity) = &t.runs_as {
            out.pass(|b| {
                b.finding(
                    &t.id,
                    Status::Pass,
                    format!("runs as {identity}"),
                    vec![format!("runs_as: {identity}")],
                )
                .with_entities([identity.clone()])
            });
            continue;
        }
        let mut sensitive = Vec::new();
        let mut missing = Vec::new();
        for entry in &t.acts_on {
            match ix.resources.get(entry.resource.as_str()) {
                Some(r) if r.crown_jewel || r.sensitivity == Sensitivity::Restricted => sensitive
                    .push(format!(
                        "acts on {} ({}{}) with [{}]",
                        r.id,
                        r.sensitivity,
                        if r.crown_jewel { ", crown jewel" } else { "" },
                        entry.actions
                    )),
                Some(_) => {}
                None => missing.push(entry.resource.clone()),
            }
        }
        let resources = t.acts_on.iter().map(|e| e.resource.clone());
        if !sensitive.is_empty() {
            let mut evidence = vec!["runs_as: null (acts with its callers' rights)".to_owned()];
            evidence.extend(sensitive);
            out.push(
                out.builder()
                    .finding(
                        &t.id,
                        Status::Fail,
                        "tool without its own identity acts on restricted data",
                        evidence,
                    )
                    .with_entities(resources),
            );
        } else if !missing.is_empty() {
            out.push(
                out.builder()
                    .finding(
                        &t.id,
                        Status::Unknown,
                        "acts on resources not in the inventory",
                        vec![format!(
                            "runs_as: null; unknown resources {}",
                            missing.join(", ")
                        )],
                    )
                    .with_entities(resources),
            );
        } else {
            out.pass(|b| {
                b.finding(
                    &t.id,
                    Status::Pass,
                    "no identity of its own, but acts on no restricted data",
                    vec![
                        "runs_as: null; every acts_on resource is below restricted and not \
                             a crown jewel"
                            .to_owned(),
                    ],
                )
                .with_entities(resources)
            });
        }
    }
}
