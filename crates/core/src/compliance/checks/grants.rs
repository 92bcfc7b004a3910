//! The checks about each grant on record: expiry, provenance, and removal once expired.

use super::index::{Builder, Index, day, describe_grant};
use super::{Finding, Limits, Status};

/// `jit-grant-expiry`: one finding for every live just-in-time grant.
pub(super) fn jit_expiry(b: &Builder<'_>, ix: &Index<'_>, _limits: &Limits) -> Vec<Finding> {
    let estate = ix.estate;
    let at = ix.at;
    estate
        .grants
        .iter()
        .filter(|g| !g.standing && !g.is_expired_at(at))
        .map(|g| {
            match g.expires_at {
                None => b.finding(
                    &g.id,
                    Status::Fail,
                    "just-in-time grant never expires",
                    vec![describe_grant(g)],
                ),
                Some(expires) => b.finding(
                    &g.id,
                    Status::Pass,
                    format!("expires {}", day(&expires)),
                    vec![describe_grant(g)],
                ),
            }
            .with_entities([g.subject.clone(), g.target.clone()])
        })
        .collect()
}

/// `grant-provenance`: one finding for every grant.
pub(super) fn provenance(b: &Builder<'_>, ix: &Index<'_>, _limits: &Limits) -> Vec<Finding> {
    let estate = ix.estate;
    estate
        .grants
        .iter()
        .map(|g| {
            match &g.source {
                Some(source) => b.finding(
                    &g.id,
                    Status::Pass,
                    format!("from {source}"),
                    vec![format!("source: {source}")],
                ),
                None => b.finding(
                    &g.id,
                    Status::Fail,
                    "grant has no recorded source",
                    vec![describe_grant(g), "source: null".to_owned()],
                ),
            }
            .with_entities([g.subject.clone(), g.target.clone()])
        })
        .collect()
}

/// `grant-expired-on-record`: one finding for every grant.
pub(super) fn expired_on_record(b: &Builder<'_>, ix: &Index<'_>, _limits: &Limits) -> Vec<Finding> {
    let estate = ix.estate;
    let at = ix.at;
    estate
        .grants
        .iter()
        .map(|g| {
            match g.expires_at {
                Some(expires) if expires <= at => b.finding(
                    &g.id,
                    Status::Fail,
                    format!("expired {} but still on record", day(&expires)),
                    vec![describe_grant(g)],
                ),
                _ => b.finding(&g.id, Status::Pass, "not expired", vec![describe_grant(g)]),
            }
            .with_entities([g.subject.clone(), g.target.clone()])
        })
        .collect()
}
