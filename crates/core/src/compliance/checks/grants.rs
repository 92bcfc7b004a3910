//! The checks about each grant on record: expiry, provenance, and removal once expired.

use super::index::{Found, Index, day, describe_grant};
use super::{Limits, Status};

/// `jit-grant-expiry`: one finding for every live just-in-time grant.
pub(super) fn jit_expiry(out: &mut Found<'_>, ix: &Index<'_>, _limits: &Limits) {
    let at = ix.at;
    for g in ix
        .estate
        .grants
        .iter()
        .filter(|g| !g.standing && !g.is_expired_at(at))
    {
        let entities = || [g.subject.clone(), g.target.clone()];
        match g.expires_at {
            None => out.push(
                out.builder()
                    .finding(
                        &g.id,
                        Status::Fail,
                        "just-in-time grant never expires",
                        vec![describe_grant(g)],
                    )
                    .with_entities(entities()),
            ),
            Some(expires) => out.pass(|b| {
                b.finding(
                    &g.id,
                    Status::Pass,
                    format!("expires {}", day(&expires)),
                    vec![describe_grant(g)],
                )
                .with_entities(entities())
            }),
        }
    }
}

/// `grant-provenance`: one finding for every grant.
pub(super) fn provenance(out: &mut Found<'_>, ix: &Index<'_>, _limits: &Limits) {
    for g in &ix.estate.grants {
        let entities = || [g.subject.clone(), g.target.clone()];
        match &g.source {
            Some(source) => out.pass(|b| {
                b.finding(
                    &g.id,
                    Status::Pass,
                    format!("from {source}"),
                    vec![format!("source: {source}")],
                )
                .with_entities(entities())
            }),
            None => out.push(
                out.builder()
                    .finding(
                        &g.id,
                        Status::Fail,
                        "grant has no recorded source",
                        vec![describe_grant(g), "source: null".to_owned()],
                    )
                    .with_entities(entities()),
            ),
        }
    }
}

/// `grant-expired-on-record`: one finding for every grant.
pub(super) fn expired_on_record(out: &mut Found<'_>, ix: &Index<'_>, _limits: &Limits) {
    let at = ix.at;
    for g in &ix.estate.grants {
        let entities = || [g.subject.clone(), g.target.clone()];
        match g.expires_at {
            Some(expires) if expires <= at => out.push(
                out.builder()
                    .finding(
                        &g.id,
                        Status::Fail,
                        format!("expired {} but still on record", day(&expires)),
                        vec![describe_grant(g)],
                    )
                    .with_entities(entities()),
            ),
            _ => out.pass(|b| {
                b.finding(&g.id, Status::Pass, "not expired", vec![describe_grant(g)])
                    .with_entities(entities())
            }),
        }
    }
}
