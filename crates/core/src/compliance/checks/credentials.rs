//! The checks about credentials: how long they live, how old and how idle they are, what their
//! identity may do with them, and where they are kept.

use super::index::{Builder, Index, day, days_between};
use super::{Finding, Limits, Severity, Status};
use crate::model::{Action, Credential, Estate, Grant, Resource, ResourceKind};
use crate::time::Timestamp;

/// `credential-short-lived`: one finding for every live credential.
pub(super) fn short_lived(b: &Builder<'_>, ix: &Index<'_>, limits: &Limits) -> Vec<Finding> {
    let estate = ix.estate;
    let at = ix.at;
    live_credentials(estate, at)
        .map(|c| {
            let entities = [c.identity.clone()];
            match (c.expires_at, c.issued_at) {
                (None, _) => b.finding(
                    &c.id,
                    Status::Fail,
                    "credential never expires",
                    vec![format!("{} of {}: expires_at null", c.kind, c.identity)],
                ),
                (Some(expires), None) => b.finding(
                    &c.id,
                    Status::Unknown,
                    "validity unknown: issue time not recorded",
                    vec![format!("expires {}, issued_at null", day(&expires))],
                ),
                (Some(expires), Some(issued)) => {
                    let ttl = expires - issued;
                    let limit = chrono::Duration::days(i64::from(limits.max_ttl_days));
                    let evidence = vec![format!(
                        "issued {}, expires {}: valid {}",
                        day(&issued),
                        day(&expires),
                        duration(ttl)
                    )];
                    if ttl > limit {
                        b.finding(
                            &c.id,
                            Status::Fail,
                            format!(
                                "valid for {} (limit {} days)",
                                duration(ttl),
                                limits.max_ttl_days
                            ),
                            evidence,
                        )
                        .with_severity(Severity::Medium)
                    } else {
                        b.finding(
                            &c.id,
                            Status::Pass,
                            format!("valid for {}", duration(ttl)),
                            evidence,
                        )
                    }
                }
            }
            .with_entities(entities)
        })
        .collect()
}

/// `credential-rotation`: one finding for every live credential.
pub(super) fn rotation(b: &Builder<'_>, ix: &Index<'_>, limits: &Limits) -> Vec<Finding> {
    let estate = ix.estate;
    let at = ix.at;
    live_credentials(estate, at)
        .map(|c| {
            let from = c
                .last_rotated
                .map(|t| ("last rotated", t))
                .or(c.issued_at.map(|t| ("issued (never rotated)", t)));
            match from {
                None => b.finding(
                    &c.id,
                    Status::Unknown,
                    "age unknown: neither issue nor rotation time recorded",
                    vec!["issued_at null, last_rotated null".to_owned()],
                ),
                Some((what, time)) => {
                    let age = days_between(time, at);
                    let evidence = vec![format!(
                        "{what} {} ({age} days before {}), limit {} days",
                        day(&time),
                        day(&at),
                        limits.rotation_days
                    )];
                    if age > i64::from(limits.rotation_days) {
                        b.finding(
                            &c.id,
                            Status::Fail,
                            format!("not rotated for {age} days"),
                            evidence,
                        )
                    } else {
                        b.finding(&c.id, Status::Pass, format!("{age} days old"), evidence)
                    }
                }
            }
            .with_entities([c.identity.clone()])
        })
        .collect()
}

/// `credential-unused`: one finding for every live credential.
pub(super) fn unused(b: &Builder<'_>, ix: &Index<'_>, limits: &Limits) -> Vec<Finding> {
    let estate = ix.estate;
    let at = ix.at;
    live_credentials(estate, at)
        .map(|c| {
            match c.last_used {
                None => b.finding(
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
                ),
                Some(used) => {
                    let idle = days_between(used, at);
                    let evidence = vec![format!(
                        "last used {} ({idle} days before {}), limit {} days",
                        day(&used),
                        day(&at),
                        limits.unused_days
                    )];
                    if idle > i64::from(limits.unused_days) {
                        b.finding(
                            &c.id,
                            Status::Fail,
                            format!("unused for {idle} days"),
                            evidence,
                        )
                    } else {
                        b.finding(
                            &c.id,
                            Status::Pass,
                            format!("used {idle} days ago"),
                            evidence,
                        )
                    }
                }
            }
            .with_entities([c.identity.clone()])
        })
        .collect()
}

/// `credential-crown-jewel-admin`: one finding for every live credential.
pub(super) fn crown_jewel_admin(b: &Builder<'_>, ix: &Index<'_>, _limits: &Limits) -> Vec<Finding> {
    let estate = ix.estate;
    let at = ix.at;
    live_credentials(estate, at)
        .map(|c| {
            // Whoever holds such a credential owns the crown jewel outright (a Vault root
            // token: admin on every path), whatever the paths through the graph say.
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
                b.finding(
                    &c.id,
                    Status::Pass,
                    "no admin grant on a crown jewel",
                    vec![format!("{} of {}", c.kind, c.identity)],
                )
                .with_entities([c.identity.clone()])
            } else {
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
                b.finding(
                    &c.id,
                    Status::Fail,
                    format!(
                        "live credential with admin on crown jewel {}",
                        targets.join(", ")
                    ),
                    evidence,
                )
                .with_entities([c.identity.clone()])
                .with_entities(targets.iter().map(|t| (*t).to_owned()))
            }
        })
        .collect()
}

/// `expired-credential-stored`: one finding for every expired credential.
pub(super) fn expired_stored(b: &Builder<'_>, ix: &Index<'_>, _limits: &Limits) -> Vec<Finding> {
    let estate = ix.estate;
    let at = ix.at;
    estate
        .credentials
        .iter()
        .filter(|c| c.is_expired_at(at))
        .map(|c| {
            let expired = c.expires_at.map(|t| day(&t)).unwrap_or_default();
            let holders = ix.holders.get(c.id.as_str()).cloned().unwrap_or_default();
            if holders.is_empty() {
                b.finding(
                    &c.id,
                    Status::Pass,
                    "expired and not held by any resource",
                    vec![format!("expired {expired}")],
                )
            } else {
                b.finding(
                    &c.id,
                    Status::Fail,
                    format!("expired {expired} but still kept in {}", ids(&holders)),
                    vec![format!("expired {expired}; held by {}", ids(&holders))],
                )
                .with_entities(holders.iter().map(|r| r.id.clone()))
            }
            .with_entities([c.identity.clone()])
        })
        .collect()
}

/// `secret-outside-secret-store`: one finding for every credential held by a resource.
pub(super) fn outside_secret_store(
    b: &Builder<'_>,
    ix: &Index<'_>,
    _limits: &Limits,
) -> Vec<Finding> {
    ix.holders
        .iter()
        .map(|(credential, holders)| {
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
            let places: Vec<String> = holders
                .iter()
                .map(|r| format!("{} ({})", r.id, r.kind))
                .collect();
            let evidence = vec![format!("held by {}", places.join(", "))];
            if bad.is_empty() {
                b.finding(
                    credential,
                    Status::Pass,
                    "kept in a secret store or pipeline",
                    evidence,
                )
            } else {
                b.finding(
                    credential,
                    Status::Fail,
                    format!(
                        "kept in {}",
                        bad.iter()
                            .map(|r| r.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    evidence,
                )
            }
            .with_entities(holders.iter().map(|r| r.id.clone()))
        })
        .collect()
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
