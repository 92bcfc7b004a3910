//! Approval flows as policy-as-code: a `bridle.flow/v1` flow compiled to a Cedar schema and
//! policy set ([`compile_flow`]), validated in strict mode before anyone sees it, and a simulator
//! ([`simulate`]) that answers one request the way a Cedar policy decision point would.
//!
//! # The Cedar model
//! Everything lives in the namespace `Bridle`.
//! - `entity Workload = { spiffe_id: String, task: String }`: the task's workload, whose entity
//!   id is its SPIFFE ID; `task` is the flow id.
//! - `entity Resource = { sensitivity?: String }`: a resource, whose entity id is the inventory's
//!   resource id (`res:invoices`).
//! - One action per action word the flow's grants use (`Bridle::Action::"read"`, …), each
//!   `appliesTo { principal: [Workload], resource: [Resource], context: RequestContext }`.
//! - `type RequestContext = { approved: Bool, task_id: String, now: Long, issued_at: Long,
//!   revoked: Bool, condition_met?: Bool }`: `now` is the request time and `issued_at` the issue
//!   time of the task's credential, both in epoch seconds; `revoked` says that a kill switch or
//!   the task's end revoked its access; `condition_met` is the caller's answer to a grant's prose
//!   condition.
//!
//! The policies, each preceded by a `//` comment naming its source and carrying its id in `@id`
//! (which is also its Cedar `PolicyId`):
//! - `grant:<grant id>`, one `permit` per flow grant: a `Workload` whose `spiffe_id` is one of
//!   the task's runs (the identity template with `{agent}` and `{task}` filled in and `{run}` one
//!   non-empty path segment: `like "P*S"`, but not `like "P*/*S"` and not `"PS"`, because Cedar's
//!   `*` also matches `/` and nothing; a template with two `{run}`s is refused),
//!   `context.task_id` equal to the flow id, exactly the grant's actions (no widening:
//!   `admin` does not imply `read` here), the grant's resource; and, where they apply,
//!   `context.approved` (the flow has an approval step), the TTL window
//!   `issued_at <= now < issued_at + ttl` (the grant has a TTL), and `context.condition_met`
//!   (the grant has a condition, whose prose is kept in a `@condition` annotation).
//! - `require-approval` (the flow has an approval step): `forbid` the task's workload anything
//!   `unless { context.approved }`.
//! - `kill-switch` (the revocation triggers include `kill_switch` or `task_end`): `forbid`
//!   anything `when { context.revoked }`.
//!
//! Ids and prose are escaped wherever they enter Cedar text (see `cedar_text.rs`).
//!
//! *Invariant:* no IO, no clock: the request time is a context attribute the caller supplies.

mod cedar_text;
mod compile;
mod simulate;

pub use compile::{CedarBundle, KILL_SWITCH, NAMESPACE, REQUIRE_APPROVAL, compile_flow};
pub use simulate::{Decision, REQUIRED_CONTEXT, SimulationRequest, simulate};

/// Why a flow could not be compiled or a request could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The identity template cannot be turned into a run pattern.
    #[error("flow `{flow}`: flow.identity.spiffe_id `{template}` {message}")]
    Identity {
        flow: String,
        template: String,
        message: String,
    },
    /// A grant's TTL is too long to be a Cedar `Long`.
    #[error("flow `{flow}`: grant `{grant}`: a TTL of {secs} seconds does not fit a Cedar Long")]
    Ttl {
        flow: String,
        grant: String,
        secs: u64,
    },
    /// The generated schema does not parse (a bug in the generator, reported, not hidden).
    #[error("flow `{flow}`: the generated Cedar schema does not parse: {message}")]
    Schema { flow: String, message: String },
    /// A generated policy does not parse or cannot join the set.
    #[error("flow `{flow}`: generated policy `{policy}` is not valid Cedar: {message}")]
    Policy {
        flow: String,
        policy: String,
        message: String,
    },
    /// Strict validation of the policies against the schema failed.
    #[error(
        "flow `{flow}`: the generated policies do not validate against the schema: {}",
        messages.join("; ")
    )]
    Validation { flow: String, messages: Vec<String> },
    /// The request names an action the flow's schema does not declare.
    #[error(
        "request.action: `{action}` is not an action of flow `{flow}` (its grants use: {})",
        if known.is_empty() { "none".to_owned() } else { known.join(", ") }
    )]
    UnknownAction {
        flow: String,
        action: String,
        known: Vec<String>,
    },
    /// The request context lacks required attributes.
    #[error("request.context: missing required attribute(s) {}", missing.join(", "))]
    MissingContext { missing: Vec<String> },
    /// A part of the request that Cedar (or the SPIFFE ID syntax) rejects.
    #[error("request.{field}: {message}")]
    Request { field: String, message: String },
}

#[cfg(test)]
mod tests;
