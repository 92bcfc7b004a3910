//! Approval flows: how one agent task gets its workload identity, its just-in-time grants, its
//! approval and its revocation (`model.rs`, read and written by `document.rs`), the static
//! verification of a design (`verify.rs`: dominators and post-dominators over the flow graph,
//! standing access, least privilege, separation of duties, identity), and the design compared
//! with the live inventory (`drift.rs`: excess reach, broker role and SVID TTLs, missing
//! identities, and the agent's reach under the flow next to today's).
//!
//! Like every analysis in core: no IO and no clock; the inventory, the brokers' facts and the
//! evaluation time are arguments.

mod document;
mod drift;
mod model;
pub mod spiffe;
mod verify;

pub use document::{FlowDocumentError, FlowProblem, flow_to_yaml, parse_flow, validate_flow};
pub use drift::{
    BrokerFacts, BrokerRole, DRIFT_CHECKS, ExcessAccess, FlowDrift, FlowWhatIf, ReachComparison,
    SpireEntry, flow_drift, flow_what_if,
};
pub use model::{
    Approval, Approver, FLOW_FORMAT, Flow, FlowDocument, FlowGrant, Issue, REVOCATION_ACTIONS,
    REVOCATION_TRIGGERS, Revocation, RevokeStep, Step, StepKind, ToolCall, Ttl, WorkloadIdentity,
};
pub use verify::{
    FLOW_CHECKS, FlowContext, FlowFinding, FlowGraph, FlowLimits, step_order, verify_flow,
};

use crate::compliance::CheckInfo;

/// Every check about flows (design and drift), for the control library and reports.
pub fn flow_check_info(id: &str) -> Option<&'static CheckInfo> {
    FLOW_CHECKS.iter().chain(DRIFT_CHECKS).find(|c| c.id == id)
}

#[cfg(test)]
mod tests;
