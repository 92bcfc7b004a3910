//! The checks about credentials: how long they live, how old and how idle they are, what their
//! identity may do with them, and where they are kept.

use super::index::{Found, Index, day, days_between};
use super::{Limits, Severity, Status};
use crate::model::{Action, Credential, Estate, Grant, Resource, ResourceKind};
use crate::time::Timestamp;

/// `credential-short-lived`: one finding for every live credential.
pub(super) fn short_lived(out: &mut Found<'_>, ix: &Index<'_>, limits: &Limits) {
    for c in live_credentials(ix.estate, ix.at) {
        let entities = || [c.identity.clone()];
        match (c.expires_at, c.issued_at) {
            (None, _) => out.push(
                out.builder()
                    .finding(
                        &c.id,
                        Status::Fail,
                        "credential never expires",
                        vec![format!("{} of {}: expires_at null", c.kind, c.identity)],
                    )
                    .with_entities(entities()),
            ),
            (Some(expires), None) => out.push(
                out.builder()
                    .finding(
                        &c.id,
                        Status::Unknown,
                        "validity unknown: issue time not recorded",
                        vec![format!("expires {}, issued_at null", day(&expires))],
                    )
                    .with_entities(entities()),
            ),
            (Some(expires), Some(issued)) => {
                let ttl = expires - issued;
                let limit = chrono::Duration::days(i64::from(limits.max_ttl_days));
                let evidence = || {
                    vec![format!(
                        "issued {}, expires {}: valid {}",
                        day(&issued),
                        day(&expires),
                        duration(ttl)
                    )]
                };
                if ttl > limit {
                    out.push(
                        out.builder()
                            .finding(
                                &c.id,
                                Status::Fail,
                                format!(
                                    "valid for {} (limit {} days)",
                                    duration(ttl),
                                    limits.max_ttl_days
                                ),
                                evidence(),
                            )
                            .with_severity(Severity::Medium)
                            .with_entities(entities()),
                    );
                } else {
                    out.pass(|b| {
                        b.finding(
                            &c.id,
                            Status::Pass,
                            format!("valid for {}", duration(ttl)),
                            evidence(),
                        )
                        .with_entities(entities())
                    });
                }
            }
        }
    }
}

/// `credential-rotation`: one finding for every live credential.
pub(super) fn rotation(out: &mut Found<'_>, ix: &Index<'_>, limits: &Limits) {
    let at = ix.at;
    for c in live_credentials(ix.estate, at) {
        let entities = || [c.identity.clone()];
        let from = c
            .last_rotated
            .map(|t| ("last rotated", t))
            .or(c.issued_at.map(|t| ("issued (never rotated)", t)));
        match from {
            None => out.push(
                out.builder()
                    .finding(
                        &c.id,
                        Status::Unknown,
                        "age unknown: neither issue nor rotation time recorded",
                        vec!["issued_at null, last_rotated null".to_owned()],
                    )
                    .with_entities(entities()),
            ),
            Some((what, time)) => {
                let age = days_between(time, at);
                let evidence = || {
                    vec![format!(
                        "{what} {} ({age} days before {}), limit {} days",
                        day(&time),
                        day(&at),
                        limits.rotation_days
                    )]
                };
                if age > i64::from(limits.rotation_days) {
                    out.push(
                        out.builder()
                            .finding(
                                &c.id,
                                Status::Fail,
                                format!("not rotated for {age} days"),
                                evidence(),
                            )
                            .with_entities(entities()),
                    );
                } else {
                    out.pass(|b| {
                        b.finding(&c.id, Status::Pass, format!("{age} days old"), evidence())
                            .with_entities(entities())
                    });
                }
            }
        }
    }
}

/// `credential-unused`: one finding for every live credential.
pub(super) fn unused(out: &mut Found<'_>, ix: &Index<'_>, limits: &Limits) {
    let at = ix.at;
    for c in live_credentials(ix.estate, at) {
        let entities = || [c.identity.clone()];
        match c.last_used {
            None => out.push(
                out.builder()
                    .finding(
                        &c.id,
                        Status::Unknown,
                        "last use unknown",
                        vec![match c.issued_at {
                            Some(issued) => format!(
                                "last_used null; issued {} ({} days before {})",
                                day(&issued),
                                days_between(issued, at),
                                day(&at)
                            ),
                            None => "last_used null, issued_at null".to_owned(),
                        }],
                    )
                    .with_entities(entities()),
            ),
            Some(used) => {
                let idle = days_between(used, at);
                let evidence = || {
                    vec![format!(
                        "last used {} ({idle} days before {}), limit {} days",
                        day(&used),
                        day(&at),
                        limits.unused_days
                    )]
                };
                if idle > i64::from(limits.unused_days) {
                    out.push(
                        out.builder()
                            .finding(
                                &c.id,
                                Status::Fail,
                                format!("unused for {idle} days"),
                                evidence(),
                            )
                            .with_entities(entities()),
                    );
                } else {
                    out.pass(|b| {
                        b.finding(
                            &c.id,
                            Status::Pass,
                            format!("used {idle} days ago"),
                            evidence(),
                        )
                        .with_entities(entities())
                    });
                }
            }
        }
    }
}

/// `credential-crown-jewel-admin`: one finding for every live credential.
pub(super) fn crown_jewel_admin(out: &mut Found<'_>, ix: &Index<'_>, _limits: &Limits) {
    for c in live_credentials(ix.estate, ix.at) {
        // Whoever holds such a credential owns the crown jewel outright (a Vault root token:
        // admin on every path), whatever the paths through the graph say.
        let held: Vec<&Grant> = ix
            .grants_of_subject
            .get(c.identity.as_str())
            .into_iter()
            .flatten()
            .copied()
            .filter(|g| {
                g.actions.contains(Action::Admin)
                    && ix
                        .resources
                        .get(g.target.as_str())
                        .is_some_and(|r| r.crown_jewel)
            })
            .collect();
        if held.is_empty() {
            out.pass(|b| {
                b.finding(
                    &c.id,
                    Status::Pass,
                    "no admin grant on a crown jewel",
                    vec![format!("{} of {}", c.kind, c.identity)],
                )
                .with_entities([c.identity.clone()])
            });
            continue;
        }
        let targets: Vec<&str> = held.iter().map(|g| g.target.as_str()).collect();
        let expiry = match c.expires_at {
            Some(t) => format!("expires {}", day(&t)),
            None => "never expires".to_owned(),
        };
        let mut evidence = vec![format!("{} of {}: {expiry}", c.kind, c.identity)];
        evidence.extend(held.iter().map(|g| {
            format!(
                "grant {}: {} -> {} [{}]{}",
                g.id,
                g.subject,
                g.target,
                g.actions,
                g.conditions
                    .as_deref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default()
            )
        }));
        out.push(
            out.builder()
                .finding(
                    &c.id,
                    Status::Fail,
                    format!(
                        "live credential with admin on crown jewel {}",
                        targets.join(", ")
                    ),
                    evidence,
                )
                .with_entities([c.identity.clone()])
                .with_entities(targets.iter().map(|t| (*t).to_owned())),
        );
    }
}

/// `expired-credential-stored`: one finding for every expired credential.
pub(super) fn expired_stored(out: &mut Found<'_>, ix: &Index<'_>, _limits: &Limits) {
    let at = ix.at;
    for c in ix.estate.credentials.iter().filter(|c| c.is_expired_at(at)) {
        let expired = || c.expires_at.map(|t| day(&t)).unwrap_or_default();
        match ix.holders.get(c.id.as_str()) {
            Some(holders) if !holders.is_empty() => {
                let expired = expired();
                out.push(
                    out.builder()
                        .finding(
                            &c.id,
                            Status::Fail,
                            format!("expired {expired} but still kept in {}", ids(holders)),
                            vec![format!("expired {expired}; held by {}", ids(holders))],
                        )
                        .with_entities(holders.iter().map(|r| r.id.clone()))
                        .with_entities([c.identity.clone()]),
                );
            }
            _ => out.pass(|b| {
                b.finding(
                    &c.id,
                    Status::Pass,
                    "expired and not held by any resource",
                    vec![format!("expired {}", expired())],
                )
                .with_entities([c.identity.clone()])
            }),
        }
    }
}

/// `secret-outside-secret-store`: one finding for every credential held by a resource.
pub(super) fn outside_secret_store(out: &mut Found<'_>, ix: &Index<'_>, _limits: &Limits) {
    for (credential, holders) in &ix.holders {
        let bad: Vec<&&Resource> = holders
            .iter()
            .filter(|r| {
                matches!(
                    r.kind,
                    ResourceKind::CodeRepo
                        | ResourceKind::Ticketing
                        | ResourceKind::MessageChannel
                        | ResourceKind::Filesystem
                )
            })
            .collect();
        let evidence = || {
            let places: Vec<String> = holders
                .iter()
                .map(|r| format!("{} ({})", r.id, r.kind))
                .collect();
            vec![format!("held by {}", places.join(", "))]
        };
        let holder_ids = holders.iter().map(|r| r.id.clone());
        if bad.is_empty() {
            out.pass(|b| {
                b.finding(
                    credential,
                    Status::Pass,
                    "kept in a secret store or pipeline",
                    evidence(),
                )
                .with_entities(holder_ids)
            });
        } else {
            out.push(
                out.builder()
                    .finding(
                        credential,
                        Status::Fail,
                        format!(
                            "kept in {}",
                            bad.iter()
                                .map(|r| r.id.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        evidence(),
                    )
                    .with_entities(holder_ids),
            );
        }
    }
}

fn live_credentials(estate: &Estate, at: Timestamp) -> impl Iterator<Item = &Credential> {
    estate
        .credentials
        .iter()
        .filter(move |c| !c.is_expired_at(at))
}

fn ids(resources: &[&Resource]) -> String {
    resources
        .iter()
        .map(|r| r.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn duration(d: chrono::Duration) -> String {
    if d.num_days() >= 2 {
        format!("{} days", d.num_days())
    } else {
        format!("{} hours", d.num_hours())
    }
}
